"""The published JSON Schemas (dispatcher/schema.py) against the documents the project
reads and writes: every fixture is a valid Problem, every plan the planner writes a valid
Plan, and a bad value fails with its path."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError

from dispatcher.cli import main
from dispatcher.codec import load_problem, plan_to_dict, problem_from_dict, problem_to_dict
from dispatcher.errors import InputError, NotFound
from dispatcher.generate import generate_problem
from dispatcher.planner import PlanOptions, plan_problem
from dispatcher.schema import json_schema, schema_names

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
PROBLEM_FILES = sorted([*FIXTURES.glob("*.json"), *(FIXTURES / "small").glob("*.json")])
SMALL = FIXTURES / "small" / "two_engineers_four_orders.json"


def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(json_schema(name))


def _leaves(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    """The errors with no sub-errors: inside an ``anyOf`` (an optional member), the
    alternative's own errors."""
    for e in errors:
        if e.context:
            yield from _leaves(e.context)
        else:
            yield e


def _errors(name: str, doc: Any) -> list[str]:
    """Each error as ``json_path: message``."""
    return [f"{e.json_path}: {e.message}" for e in _leaves(_validator(name).iter_errors(doc))]


def _names(errors: list[str], field: str) -> bool:
    """Some error is at ``field``, or at a parent of it naming the rest (a missing or an
    unexpected member is reported at its object)."""
    for error in errors:
        path, _, message = error.partition(": ")
        at = path.removeprefix("$").removeprefix(".")
        if at == field or field.startswith(f"{at}.") and field[len(at) + 1 :] in message:
            return True
        if not at and f"'{field}'" in message:  # a member of the top level
            return True
    return False


@pytest.mark.parametrize("name", schema_names())
def test_each_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = json_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert json.loads(json.dumps(schema)) == schema  # plain JSON, nothing else


def test_unknown_schema_name_is_not_found() -> None:
    with pytest.raises(NotFound, match="problem, plan, order"):
        json_schema("nope")


def test_fixture_set_is_not_empty() -> None:
    assert FIXTURES / "demo.json" in PROBLEM_FILES and len(PROBLEM_FILES) >= 5


@pytest.mark.parametrize("path", PROBLEM_FILES, ids=lambda p: p.name)
def test_every_fixture_problem_validates_against_the_problem_schema(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert _errors("problem", doc) == []
    for order in doc["orders"]:
        assert _errors("order", order) == []
    # The codec's own dump (nulls for absent members, shifts as windows) is valid too.
    assert _errors("problem", problem_to_dict(load_problem(path))) == []


def test_generated_problem_with_every_awkward_order_validates_against_the_schema() -> None:
    doc = generate_problem(orders=40, engineers=5, seed=7, awkward=True)
    assert _errors("problem", doc) == []


@pytest.mark.parametrize(
    "name", ["two_engineers_four_orders.json", "reasons.json", "overseas_overnight.json"]
)
def test_planner_output_validates_against_the_plan_schema(name: str) -> None:
    problem = load_problem(FIXTURES / "small" / name)
    plan = plan_to_dict(plan_problem(problem, PlanOptions(time_limit_s=60, solution_limit=20)))
    assert _errors("plan", plan) == []
    assert plan["meta"]["orders_not_planned_in_time"] == 0


def _set(path: list[Any], value: Any) -> Callable[[dict], None]:
    def edit(doc: dict) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return edit


_DELETE = object()

# (edit of the small fixture, the path both the schema and the codec name)
BAD_PROBLEMS = [
    (_set(["orders", 1, "site", "lat"], 123), "orders[1].site.lat"),
    (_set(["orders", 0, "service_minutes"], _DELETE), "orders[0].service_minutes"),
    (_set(["orders", 2, "priority"], "urgent"), "orders[2].priority"),
    (_set(["orders", 0, "received_at"], "2026-11-23T08:00:00"), "orders[0].received_at"),
    (_set(["engineers", 0, "max_overtime_minutes"], -5), "engineers[0].max_overtime_minutes"),
    (_set(["horizon_hours"], 0), "horizon_hours"),
    (_set(["policy", "commitments"], {"express": 4}), "policy.commitments.express"),
    # The bounds the codec writes inline, just past their edge.
    (_set(["horizon_hours"], 1441), "horizon_hours"),
    (_set(["orders", 0, "service_minutes"], 10081), "orders[0].service_minutes"),
    (_set(["engineers", 1, "max_overtime_minutes"], 1441), "engineers[1].max_overtime_minutes"),
    (_set(["policy", "travel", "circuity"], 10.5), "policy.travel.circuity"),
    (_set(["policy", "travel", "max_drive_km"], 0), "policy.travel.max_drive_km"),
    (_set(["policy", "travel", "flight_overhead_h"], 241), "policy.travel.flight_overhead_h"),
    (_set(["policy", "weights"], {"travel_per_km": 10**8 + 1}), "policy.weights.travel_per_km"),
    (
        _set(["engineers", 0, "weekly_shifts"], {"mon": ["24:00-08:00"]}),
        "engineers[0].weekly_shifts.mon[0]",
    ),
    # Members the contract does not name, at every level of the Problem.
    (_set(["orders", 0, "priorty"], "high"), "orders[0].priorty"),
    (_set(["orders", 1, "site", "city"], "Chengdu"), "orders[1].site.city"),
    (_set(["engineers", 0, "skill"], ["plc"]), "engineers[0].skill"),
    (_set(["engineers", 0, "home", "alt"], 3), "engineers[0].home.alt"),
    (_set(["policy", "travel", "speed"], 80), "policy.travel.speed"),
    (_set(["policy", "weight"], {}), "policy.weight"),
    (_set(["horizon"], 48), "horizon"),
    # The id character set and the list bounds (issue 22).
    (_set(["orders", 0, "id"], "T/1"), "orders[0].id"),
    (_set(["engineers", 0, "id"], "E 1"), "engineers[0].id"),
    (
        _set(["orders", 0, "required_skills"], [f"s{i}" for i in range(51)]),
        "orders[0].required_skills",
    ),
]


@pytest.mark.parametrize(("edit", "field"), BAD_PROBLEMS, ids=[f for _, f in BAD_PROBLEMS])
def test_bad_problem_fails_schema_and_codec_naming_the_same_field(
    edit: Callable[[dict], None], field: str
) -> None:
    doc = json.loads(SMALL.read_text())
    edit(doc)
    errors = _errors("problem", doc)
    assert _names(errors, field), errors
    with pytest.raises(InputError) as exc:
        problem_from_dict(doc)
    assert exc.value.path == field


def test_bad_plan_fails_the_plan_schema_naming_the_field() -> None:
    plan = plan_to_dict(
        plan_problem(load_problem(SMALL), PlanOptions(time_limit_s=60, solution_limit=20))
    )
    plan["routes"][0]["visits"][0]["travel_mode"] = "teleport"
    plan["unassigned"] = [{"order_id": "X", "reason": "bad_luck", "detail": ""}]
    del plan["kpis"]["on_time_rate"]
    errors = _errors("plan", plan)
    assert _names(errors, "routes[0].visits[0].travel_mode"), errors
    assert _names(errors, "unassigned[0].reason"), errors
    assert _names(errors, "kpis.on_time_rate"), errors


def test_reason_enum_of_the_plan_schema_includes_not_planned_in_time() -> None:
    assert "not_planned_in_time" in json_schema("plan")["$defs"]["Reason"]["enum"]


@pytest.mark.parametrize("name", schema_names())
def test_cli_schema_prints_the_schema_as_json(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["schema", name]) == 0
    assert json.loads(capsys.readouterr().out) == json_schema(name)


def test_cli_schema_of_an_unknown_name_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema", "nope"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().count("\n") == 0
    assert "no schema 'nope'" in captured.err


def test_the_schema_and_the_codec_name_the_same_members() -> None:
    """One list of members per object: the schema publishes the codec's."""
    from dispatcher import codec

    defs = json_schema("problem")["$defs"]
    pairs = {
        "Problem": codec.PROBLEM_FIELDS,
        "Order": codec.ORDER_FIELDS,
        "Site": codec.SITE_FIELDS,
        "Engineer": codec.ENGINEER_FIELDS,
        "CurrentPosition": codec.CURRENT_FIELDS,
        "Location": codec.LOCATION_FIELDS,
        "Window": codec.WINDOW_FIELDS,
        "Policy": codec.POLICY_FIELDS,
        "InProgress": codec.IN_PROGRESS_FIELDS,
        "PublishedVisit": codec.PUBLISHED_FIELDS,
    }
    for name, fields in pairs.items():
        assert list(defs[name]["properties"]) == list(fields), name
        assert defs[name]["additionalProperties"] is False, name
    policy = defs["Policy"]["properties"]
    travel, weights, stability = (policy[k] for k in ("travel", "weights", "stability"))
    assert list(travel["properties"]) == list(codec.TRAVEL_FIELDS)
    assert list(stability["properties"]) == list(codec.STABILITY_FIELDS)
    assert list(weights["properties"]) == list(codec.WEIGHTS_FIELDS)


def test_notes_at_the_top_of_a_problem_pass_the_schema_and_the_codec() -> None:
    doc = json.loads(SMALL.read_text())
    doc["$schema"] = "https://example.com/problem.schema.json"
    doc["_note"] = ["a file has no comments"]
    assert _errors("problem", doc) == []
    problem_from_dict(doc)
    doc["orders"][0]["_note"] = "but an order is not a file"
    assert _names(_errors("problem", doc), "orders[0]._note")
    with pytest.raises(InputError) as exc:
        problem_from_dict(doc)
    assert exc.value.path == "orders[0]._note"
