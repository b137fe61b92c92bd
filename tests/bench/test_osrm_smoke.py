"""The OSRM matrix benchmark's entry point, end to end on a small matrix against a local
Monaco router (skipped where ``make install`` could not download the OSRM programs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import osrm_local
from dispatcher.cli import main


def test_bench_osrm_matrix_times_cold_runs_and_a_warm_one_that_queries_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reason = osrm_local.find()
    if isinstance(reason, str):
        pytest.skip(f"no local OSRM: {reason}")
    code = main(
        [
            "bench", "osrm-matrix", "--points", "120", "--repeats", "2", "--algorithm", "mld",
            "--max-table-size", "50", "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0
    doc = json.loads((tmp_path / "osrm_matrix.json").read_text())
    cold, warm = doc["rows"][:2], doc["rows"][2]
    assert [r["run"] for r in doc["rows"]] == ["cold 1", "cold 2", "warm"]
    assert all(r["requests"] == 3 * 3 and r["queried_pairs"] == 120 * 120 for r in cold)
    assert (warm["requests"], warm["queried_pairs"], warm["cached_pairs"]) == (0, 0, 120 * 120)
    assert "warm re-run queried 0 pairs" in capsys.readouterr().out
