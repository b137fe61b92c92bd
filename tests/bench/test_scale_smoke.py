"""The scale benchmark (``bench/scale.py``) end to end at a tiny size: the whole ``dispatch
plan`` command as a child, its peak memory and CPU from ``os.wait4``, the plan's phases, and
the checker on the plan written."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from bench import scale
from dispatcher.cli import main


def test_sizes_parse_and_bad_ones_name_the_form() -> None:
    assert scale.parse_size("5000x500") == (5000, 500)
    with pytest.raises(argparse.ArgumentTypeError, match="ORDERSxENGINEERS"):
        scale.parse_size("5000")


def test_bench_scale_measures_the_whole_plan_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rows.jsonl"
    argv = ["bench", "scale", "--sizes", "24x3", "--time-limit", "1", "--seed", "3",
            "--workdir", str(tmp_path), "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["exit"] == 0 and row["size"] == "24x3"
    assert row["peak_rss_mb"] > 50  # a Python process with numpy and OR-Tools loaded
    assert row["cpu_s"] > 0 and row["wall_s"] > 0
    assert row["solve_s"] is not None and row["compile_s"] is not None
    assert row["setup_s"] >= 0 and row["solve_limit_s"] > 0
    # What no phase reports (start, writing, exit) is the wall time less the phases.
    phases = ("setup_s", "compile_s", "build_s", "solve_s", "decode_s", "fix_s")
    assert row["outside_s"] == pytest.approx(row["wall_s"] - sum(row[k] for k in phases), abs=0.02)
    assert 0 <= row["on_time_rate"] <= 1
    assert row["hard_violations"] == 0
    assert row["machine"]["nproc"] >= 1 and row["cores"] == row["machine"]["nproc"]
    assert "24x3" in capsys.readouterr().out
