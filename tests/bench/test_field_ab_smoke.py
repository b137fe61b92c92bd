"""Smoke test of the field A/B (``bench/field_ab.py``) on a tiny size."""

from __future__ import annotations

import functools
import json

import pytest

from bench import field, field_ab
from solver import fastrr
from solver.params import SearchParams


def test_a_variant_sets_search_fields_and_thresholds() -> None:
    name, fields = field_ab.parse_variant("cool:recreate_share=0.9,th.cycle_moves_per_order=0")
    assert name == "cool"
    params = field_ab.variant_params(SearchParams(), fields)
    assert params.recreate_share == 0.9
    assert params.thresholds.cycle_moves_per_order == 0
    assert params.population == SearchParams().population  # the rest as given


def test_one_solve_reports_the_checked_kpis_of_the_benchmark() -> None:
    out = field_ab.solve_variant(20, 3, seed=1, time_limit_s=5.0, fields={"solution_limit": 20})
    assert out["hard_violations"] == 0
    assert out["assigned"] + out["unassigned"] <= 20
    assert out["on_time"] + out["late"] == out["assigned"]
    assert out["travel_km"] > 0 and out["objective"] > 0


def test_a_kernel_keyword_reaches_the_compiled_moves_of_that_solve(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(fastrr, "improve", fastrr.improve)  # restored after the test
    monkeypatch.setattr(field, "WEIGHTS", {})
    argv = ["--one", "--size", "20x3", "--seed", "1", "--time-limit", "0.5", "--hard-deadlines",
            "--fields", json.dumps({"fr.cool_share": 0.5})]  # fmt: skip
    assert field_ab.main(argv) == 0
    assert isinstance(fastrr.improve, functools.partial)
    assert fastrr.improve.keywords == {"cool_share": 0.5}
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["late"] == 0 and out["hard_violations"] == 0  # VROOM's problem: none late


def test_the_run_compares_each_variant_with_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--size", "20x3", "--seeds", "1", "--time-limit", "0.5", "--jobs", "2",
            "--variants", "few:solution_limit=5"]  # fmt: skip
    assert field_ab.main(argv) == 0
    text = capsys.readouterr().out
    assert "seed 1 base" in text and "seed 1 few" in text
    assert "few/base over seeds [1]" in text
