"""The moves benchmark's entry point (``dispatch bench moves``), end to end on one Solomon
instance with a fixed number of moves: the same moves every run, so the result is exact."""

from __future__ import annotations

import json

import pytest

from bench.vrptw import default_bench_dir
from dispatcher.cli import main


def test_bench_moves_makes_exactly_the_moves_asked_and_ends_feasible(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not (default_bench_dir() / "solomon" / "C101.txt").exists():
        pytest.skip("no Solomon instances next to the repository (../shared/bench)")
    code = main(["bench", "moves", "--problems", "C101", "--moves", "300", "--json"])
    assert code == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (row["problem"], row["orders"], row["moves"]) == ("C101", 100, 300)
    assert row["feasible"] and row["cost"] <= row["cost_constructed"]
    assert row["distance"] > 0 and row["moves_per_cpu_s"] > 0
