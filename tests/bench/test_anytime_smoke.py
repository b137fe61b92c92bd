"""The anytime benchmark (``bench/anytime.py``): its verdicts on hand-made numbers, and one
end-to-end run of the entry point on a tiny generated problem at two limits."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from bench import anytime, cli


def _row(problem: str, limit_s: float, objective: int | None, **more: object) -> dict:
    return {"problem": problem, "limit_s": limit_s, "objective": objective,
            "initial_solution": "ortools", **more}  # fmt: skip


def test_a_longer_limit_more_than_one_percent_worse_is_flagged_with_its_phases() -> None:
    rows = [
        _row("a", 2, 1000),
        _row("a", 5, 1010),  # +1.0 % over 2 s: within the tolerance
        _row("a", 10, 1020, final_phase="restore"),  # +2.0 % over 2 s, +0.99 % over 5 s
        _row("b", 2, 500),
        _row("b", 5, 400),
    ]
    verdicts = anytime.check_pairs(rows)
    # a: (2,5) (2,10) (5,10); b: (2,5).
    assert [(v.problem, v.t1_s, v.t2_s) for v in verdicts] == [
        ("a", 2, 5), ("a", 2, 10), ("a", 5, 10), ("b", 2, 5)
    ]  # fmt: skip
    (bad,) = [v for v in verdicts if not v.ok]
    assert (bad.problem, bad.t1_s, bad.t2_s) == ("a", 2, 10)
    assert (bad.objective_t1, bad.objective_t2, bad.ratio) == (1000, 1020, 1.02)
    assert (bad.phase_t1, bad.phase_t2) == ("ortools", "ortools->restore")
    text = anytime.report(rows, verdicts, None)
    assert "EXCEPTION a: 2 s -> 10 s objective 1000 -> 1020 (ratio 1.0200)" in text
    assert "pairs checked 4, exceptions 1" in text


def test_a_failed_solve_takes_part_in_no_pair_and_a_zero_objective_has_no_ratio() -> None:
    rows = [_row("a", 2, 0), _row("a", 5, None, error="timeout"), _row("a", 10, 1)]
    (pair,) = anytime.check_pairs(rows)
    assert (pair.t1_s, pair.t2_s, pair.ratio, pair.ok) == (2, 10, None, False)


def test_the_demo_bar_allows_one_percent_fewer_on_time_and_three_percent_more_travel() -> None:
    long = {"limit_s": 120, "on_time": 100, "travel_km": 1000.0}
    assert anytime.compare_demo({"limit_s": 10, "on_time": 99, "travel_km": 1030.0}, long)["passes"]
    fails = anytime.compare_demo({"limit_s": 10, "on_time": 98, "travel_km": 1000.0}, long)
    assert (fails["on_time_fewer_pct"], fails["passes"]) == (2.0, False)
    assert not anytime.compare_demo({"limit_s": 10, "on_time": 100, "travel_km": 1031.0}, long)[
        "passes"
    ]


def test_problem_names_read_back_and_bench_registers_anytime() -> None:
    spec = anytime.ProblemSpec.generated(20, 4, 7)
    assert anytime.ProblemSpec.parse(spec.name) == spec
    assert anytime.ProblemSpec.parse("demo") == anytime.ProblemSpec("demo")
    with pytest.raises(argparse.ArgumentTypeError):
        anytime.ProblemSpec.parse("20x4")
    parser = argparse.ArgumentParser(prog="dispatch")
    nested = cli.register(parser.add_subparsers(dest="command"))
    assert {"vrptw", "field", "anytime"} <= set(nested.choices)
    args = parser.parse_args(["bench", "anytime", "--sizes", "20x4", "--limits", "2,1,2"])
    assert (args.sizes, args.limits, args.jobs) == ([(20, 4)], [1.0, 2.0], 1)


def test_the_entry_point_writes_a_row_per_problem_and_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--sizes", "20x4", "--seeds", "1", "--limits", "1,2", "--jobs", "2"]
    assert anytime.main([*argv, "--out", str(tmp_path), "--quiet"]) == 0
    with (tmp_path / "results.csv").open(newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert set(anytime.CSV_COLUMNS) <= set(reader.fieldnames or ())
    assert [(r["problem"], float(r["limit_s"])) for r in rows] == [
        ("20x4-s1", 1.0), ("20x4-s1", 2.0)
    ]  # fmt: skip
    for r in rows:
        assert r["error"] == "" and r["objective"] and r["initial_solution"]
        assert int(r["hard_violations"]) == 0
        assert int(r["on_time"]) + int(r["late"]) + int(r["unassigned"]) == 20
    doc = json.loads((tmp_path / "results.json").read_text())
    assert len(doc["pairs"]) == 1 and set(doc["max_overrun"]) == {"20x4-s1"}
    out = capsys.readouterr().out
    assert "| 20x4-s1 | 1 |" in out and "SUMMARY: pairs checked 1," in out
