"""Scenarios as data: parsing with named errors, and modifications as pure functions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from dispatcher import cli
from dispatcher.codec import load_problem
from dispatcher.errors import InputError
from dispatcher.whatif.cli import register_simulate
from dispatcher.whatif.roster import build_roster
from dispatcher.whatif.scenario_file import load_scenario, scenario_from_dict
from dispatcher.whatif.simulate import Headcount, demand_stream, snapshot

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = ROOT / "fixtures" / "scenarios"
SMALL = ROOT / "fixtures" / "small" / "two_engineers_four_orders.json"


def _doc(*mods: dict[str, Any], **base: Any) -> dict[str, Any]:
    return {
        "name": "t",
        "base": base or {"problem": str(SMALL)},
        "variants": [{"name": "v", "modifications": list(mods)}],
    }


def _main_with_simulate(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """``dispatch`` with the simulate command, whether or not cli.py registers it yet."""
    build = cli.build_parser

    def patched() -> argparse.ArgumentParser:
        parser = build()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction) and "simulate" not in action.choices:
                register_simulate(action)
        return parser

    monkeypatch.setattr(cli, "build_parser", patched)
    return cli.main(argv)


def test_every_fixture_scenario_loads() -> None:
    for path in sorted(SCENARIOS.glob("*.toml")):
        s = load_scenario(path)
        assert s.variants[0].name == "base" and len(s.variants) >= 2, path


def test_modifications_never_mutate_the_base() -> None:
    s = load_scenario(SCENARIOS / "all_modifications.toml")
    roster = build_roster(s)
    before = (roster.engineers, roster.policy)
    derived = [v.apply_problem(roster) for v in s.variants]
    assert (roster.engineers, roster.policy) == before
    assert len(derived[1].engineers) == len(roster.engineers) + 2  # hire 2 in Chengdu
    assert len(derived[2].engineers) == len(roster.engineers) - 1  # one Shanghai leaver
    assert derived[5].policy.commitments["domestic"] == 18
    assert derived[6].policy.travel.drive_kmh == 50 and roster.policy.travel.drive_kmh == 65


def test_absence_cuts_the_shifts_of_the_selected_engineers_only() -> None:
    s = load_scenario(SCENARIOS / "all_modifications.toml")
    roster = build_roster(s)
    after = s.variants[2].apply_problem(roster)
    before = {e.id: e for e in roster.engineers}
    changed = [(before[b.id], b) for b in after.engineers if b.shifts != before[b.id].shifts]
    assert len(changed) == 2
    start = roster.planning_start.timestamp() + 2 * 86400
    for _, b in changed:
        assert all(
            w.end.timestamp() <= start or w.start.timestamp() >= start + 3 * 86400 for w in b.shifts
        )


def test_training_adds_skills_and_overtime_applies_to_everyone() -> None:
    s = load_scenario(SCENARIOS / "all_modifications.toml")
    roster = build_roster(s)
    after = s.variants[3].apply_problem(roster)
    gained = [
        b for a, b in zip(roster.engineers, after.engineers, strict=True) if b.skills != a.skills
    ]
    assert len(gained) == 2 and all({"high_voltage", "electrical"} <= e.skills for e in gained)
    assert {e.max_overtime_minutes for e in after.engineers} == {90}


def test_demand_multiplier_thins_one_shared_stream() -> None:
    s = load_scenario(SCENARIOS / "all_modifications.toml")
    stream = demand_stream(s, 0)
    base = {t.id for t in s.variants[0].apply_demand(stream).realized()}
    mix = s.variants[4].apply_demand(stream).realized()
    chengdu = {t.id for t in mix if t.region == "Chengdu"}
    # Common random numbers: outside the changed cells the variant sees exactly the base tickets.
    untouched = {t.id for t in mix if t.region != "Chengdu" and "welding" not in t.required_skills}
    assert untouched <= base
    assert chengdu - base, "x1.5 in Chengdu adds tickets there"
    assert {t.id for t in s.variants[1].apply_demand(stream).realized()} == base


def test_premium_class_tightens_deadlines_of_a_fixed_customer_share() -> None:
    s = load_scenario(SCENARIOS / "all_modifications.toml")
    stream = s.variants[5].apply_demand(demand_stream(s, 0))
    premium = [t for t in stream.realized() if t.premium_hours is not None]
    assert premium and all(t.segment_u < 0.2 for t in premium)
    t = premium[0]
    assert (t.to_order().deadline - t.received_at).total_seconds() <= 12 * 3600


def test_removing_every_engineer_with_a_skill_leaves_those_orders_no_skilled_engineer() -> None:
    s = load_scenario(SCENARIOS / "snapshot_small.toml")
    results = {r.variant: r for r in snapshot(s)}
    assert results["base"].kpis["on_time"] == 4
    assert results["no electrician"].unassigned_reasons == {"no_skilled_engineer": 2}


def test_snapshot_variant_leaves_the_loaded_problem_unchanged() -> None:
    s = load_scenario(SCENARIOS / "snapshot_small.toml")
    assert s.base.problem == load_problem(SMALL)
    s.variants[1].apply_problem(s.base.problem)
    assert s.base.problem == load_problem(SMALL)


def test_headcount_adds_or_removes_at_a_station() -> None:
    s = load_scenario(SCENARIOS / "all_modifications.toml")
    roster = build_roster(s)
    assert len(Headcount("all", 40).apply_problem(roster).engineers) == 40
    assert len(Headcount("all", 20).apply_problem(roster).engineers) == 20
    more = Headcount("Chengdu", 6).apply_problem(roster)
    assert (
        len(more.engineers) - len(roster.engineers) == 6 - Headcount("all", 30).targets()["Chengdu"]
    )


@pytest.mark.parametrize(
    ("mods", "path", "message"),
    [
        (
            [{"type": "add_engineers", "engineers": -2, "station": "Chengdu"}],
            "variants[0].modifications[0].engineers",
            "expected a positive integer, got -2",
        ),
        ([{"type": "hire"}], "variants[0].modifications[0].type", "expected one of add_engineers"),
        (
            [{"type": "demand", "multiplier": 0}],
            "variants[0].modifications[0].multiplier",
            "positive",
        ),
        (
            [{"type": "add_engineers", "engineers": 1, "station": "Atlantis"}],
            "variants[0].modifications[0].station",
            "expected a station",
        ),
        (
            [{"type": "commitment", "hours": 12, "priority": ["urgent"]}],
            "variants[0].modifications[0].priority[0]",
            "critical",
        ),
        ([{"type": "travel", "circuity": 0.5}], "variants[0].modifications[0].circuity", ">= 1"),
        (
            [{"type": "remove_engineers", "nme": "x"}],
            "variants[0].modifications[0].nme",
            "unknown key",
        ),
    ],
)
def test_bad_values_name_the_field(mods: list[dict[str, Any]], path: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        scenario_from_dict(_doc(*mods))
    assert info.value.path == path
    assert message in info.value.message


def test_bad_demand_value_names_the_field() -> None:
    with pytest.raises(InputError) as info:
        scenario_from_dict(_doc(start="2026-11-23T00:00:00+08:00", demand={"tickets_per_day": -5}))
    assert info.value.path == "base.demand.tickets_per_day"


def test_bad_scenario_file_exits_2_naming_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        f'name = "bad"\n[base]\nproblem = "{SMALL}"\n'
        '[[variants]]\nname = "ok"\n'
        '[[variants]]\nname = "hire"\n[[variants.modifications]]\n'
        'type = "add_engineers"\nengineers = -2\nstation = "Chengdu"\n',
        encoding="utf-8",
    )
    code = _main_with_simulate(["simulate", str(bad), "--out", str(tmp_path / "out")], monkeypatch)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "error: variants[1].modifications[0].engineers: expected a positive integer, got -2"
    ]


def test_snapshot_cli_writes_a_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = _main_with_simulate(
        ["simulate", str(SCENARIOS / "snapshot_small.toml"), "--out", str(out), "--quiet"],
        monkeypatch,
    )
    assert code == 0
    assert "no electrician" in capsys.readouterr().out
    assert {"results.json", "summary.csv", "on_time.png", "report.html"} <= {
        p.name for p in out.iterdir()
    }
