"""Smoke test of the field-service benchmark (``bench/field.py``) on a tiny size."""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench import cli, field


def test_parse_size() -> None:
    assert field.parse_size("1000x100") == (1000, 100)
    with pytest.raises(argparse.ArgumentTypeError):
        field.parse_size("1000")
    with pytest.raises(argparse.ArgumentTypeError):
        field.parse_size("0x3")


def test_register_puts_both_benchmarks_under_bench() -> None:
    parser = argparse.ArgumentParser(prog="dispatch")
    top = parser.add_subparsers(dest="command")
    nested = cli.register(top)
    assert {"vrptw", "field"} <= set(nested.choices)
    args = parser.parse_args(["bench", "field", "--sizes", "20x3", "--time-limit", "1"])
    assert callable(args.func)
    assert (args.sizes, args.time_limit, args.demo) == ("20x3", 1.0, False)


def test_run_one_measures_every_phase() -> None:
    out = field.run_one(20, 3, seed=1, solver="ours", time_limit_s=0.5)
    assert out["hard_violations"] == 0
    assert out["first_feasible_s"] is not None and out["build_s"] is not None
    assert out["assigned"] + out["unassigned"] <= 20
    assert out["peak_rss_mb"] > 0
    assert out["overrun"] > 0  # measured, not bounded: no elapsed-time bar in the suite


def test_main_writes_results_with_a_vroom_row(tmp_path: Path) -> None:
    code = field.main(["--sizes", "20x3", "--time-limit", "0.5", "--out", str(tmp_path), "--quiet"])
    assert code == 0
    (csv_path,) = tmp_path.glob("field-*.csv")
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["solver"] for r in rows] == ["ours", "vroom"]
    assert [r["cores"] for r in rows] == ["1", "1"]  # equal resources by default
    doc = json.loads(next(tmp_path.glob("field-*.json")).read_text())
    assert doc["meta"]["machine"]["versions"]["ortools"]
    assert doc["rows"][0]["curve"], "no anytime curve"
    assert next(tmp_path.glob("field-*.png")).read_bytes()[:4] == b"\x89PNG"


@contextmanager
def _weights(**flags: object) -> Iterator[None]:
    """The bench's plan flags (weights, workers; as parsed from its command line) for the
    block, then none."""
    field._set_plan_options(argparse.Namespace(**flags))
    try:
        yield
    finally:
        field._set_plan_options(argparse.Namespace())


def test_on_time_first_weights_reach_the_problem_and_priorities_add_up() -> None:
    with _weights(on_time_first=True):
        weights = field.generated_problem(20, 3, seed=1).policy.weights
        assert (weights.unassigned, weights.late_per_breach) == (30_000_000, 20_000_000)
        out = field.run_one(20, 3, seed=1, solver="ours", time_limit_s=0.5)
    assert field.WEIGHTS == {}
    assert field.generated_problem(20, 3, seed=1).policy.weights.unassigned == 10_000_000
    assert sum(out["on_time_by_priority"].values()) == out["on_time"]
    # The weights themselves: a breach dearer than the rest of a drop, a drop dearer than a
    # breach plus 96 hours of lateness at the default 1,000 per minute.
    w = field.ON_TIME_FIRST
    assert w["late_per_breach"] > w["unassigned"] - w["late_per_breach"]
    assert w["unassigned"] > w["late_per_breach"] + 96 * 60 * 1_000


def test_hard_deadlines_weights_serve_nothing_late_and_exclude_on_time_first() -> None:
    # 30 orders / 3 engineers: the default weights serve some late (4 at 0.5 s when written).
    default = field.run_one(30, 3, seed=1, solver="ours", time_limit_s=0.5)
    assert default["late"] > 0
    with _weights(hard_deadlines=True):
        weights = field.generated_problem(30, 3, seed=1).policy.weights
        assert (weights.unassigned, weights.late_per_breach) == (10_000_000, 20_000_000)
        out = field.run_one(30, 3, seed=1, solver="ours", time_limit_s=0.5)
    assert out["late"] == 0  # a breach costs more than leaving the order out
    parser = argparse.ArgumentParser()
    field.add_arguments(parser)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--on-time-first", "--hard-deadlines"])
    assert exc.value.code == 2


def test_workers_flag_reaches_the_plan_options_and_the_command_line() -> None:
    parser = argparse.ArgumentParser()
    field.add_arguments(parser)
    args = parser.parse_args(["--sizes", "20x3", "--workers", "2"])
    with _weights(workers=2):
        assert field.PLAN_OPTIONS == {"workers": 2}
        out = field.run_one(20, 3, seed=1, solver="ours", time_limit_s=1.0)
    assert out["hard_violations"] == 0 and out["on_time"] + out["late"] + out["unassigned"] == 20
    assert field.PLAN_OPTIONS == {}
    assert "--workers 2" in field._command_line(args)
    with pytest.raises(SystemExit) as exc:
        parser.parse_args(["--workers", "0"])
    assert exc.value.code == 2
