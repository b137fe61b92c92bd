"""The one validating reader (dispatcher/reader.py) and the codec's per-document readers
built on it: full paths, unknown members named with the closest known one, notes only at
the top of a file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from dispatcher.codec import engineer_from_dict, order_from_dict, policy_from_dict
from dispatcher.errors import InputError
from dispatcher.reader import Node, at, join, parse_datetime, rebase, unknown_member

ORDER = {
    "id": "T-1",
    "site": {"lat": 30.66, "lon": 104.07, "country": "CN"},
    "received_at": "2026-11-23T07:40:00+08:00",
    "service_minutes": 60,
}


def _error(fn: Callable[..., object], *args: Any, **kwargs: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        fn(*args, **kwargs)
    return caught.value


def test_an_unknown_member_is_named_with_the_closest_known_one() -> None:
    err = _error(Node, {"id": 1, "priorty": "high"}, "orders[2]", ("id", "priority", "site"))
    assert err.path == "orders[2].priorty"
    assert (
        err.message == "unknown field (did you mean priority?); expected one of id, priority, site"
    )


def test_an_unknown_member_far_from_every_name_gets_no_guess() -> None:
    assert unknown_member("zzz", ("lat", "lon")) == "unknown field; expected one of lat, lon"


def test_a_table_names_its_members_keys() -> None:
    err = _error(Node, {"dayz": 3}, "simulation", ("days",), noun="table")
    assert err.message.startswith("unknown key (did you mean days?)")


def test_notes_pass_only_where_annotations_are_allowed() -> None:
    data = {"id": "x", "_comment": "why", "$schema": "s"}
    assert Node(data, "", ("id",), annotations=True).text("id") == "x"
    assert _error(Node, data, "", ("id",)).path == "_comment"


def test_a_non_object_is_refused_at_its_path() -> None:
    err = _error(Node, [1, 2], "orders[0].site")
    assert (err.path, err.message) == ("orders[0].site", "expected an object, got [1, 2]")


@pytest.mark.parametrize(
    ("value", "lo", "hi", "expected"),
    [
        (-1, 0, None, "expected a non-negative integer, got -1"),
        (0, 1, None, "expected a positive integer, got 0"),
        (11, 0, 10, "expected an integer in [0, 10], got 11"),
        (2.5, 0, None, "expected a non-negative integer, got 2.5"),
        (True, 0, None, "expected a non-negative integer, got true"),
    ],
)
def test_integers_say_what_range_they_wanted(
    value: object, lo: int, hi: int | None, expected: str
) -> None:
    err = _error(Node({"n": value}, "x").integer, "n", lo=lo, hi=hi)
    assert (err.path, err.message) == ("x.n", expected)


def test_an_integral_float_is_an_integer_and_a_number_keeps_its_type() -> None:
    node = Node({"n": 3.0, "m": 2}, "")
    assert node.integer("n") == 3 and isinstance(node.integer("n"), int)
    assert node.num("m") == 2 and isinstance(node.num("m"), int)
    assert isinstance(node.real("m"), float)


def test_a_lone_string_is_a_list_of_one_only_when_asked() -> None:
    node = Node({"skills": "plc"}, "t")
    assert node.strings("skills", lone=True) == ("plc",)
    assert _error(node.strings, "skills").message == 'expected a list, got "plc"'
    err = _error(Node({"p": ["high", "urgent"]}, "t").strings, "p", ("high", "low"))
    assert (err.path, err.message) == ("t.p[1]", 'expected one of high, low, got "urgent"')


def test_an_optional_object_reads_as_empty_and_keeps_its_members_checked() -> None:
    node = Node({"solver": {"time_limt_s": 3}}, "simulation", noun="table")
    assert node.obj("base", ("x",), optional=True).data == {}
    err = _error(node.obj, "solver", ("time_limit_s",), optional=True)
    assert err.path == "simulation.solver.time_limt_s"


def test_timestamps_from_a_toml_file_are_taken_when_aware() -> None:
    aware = datetime(2026, 11, 23, 8, tzinfo=UTC)
    assert parse_datetime(aware, "start") == aware
    err = _error(parse_datetime, aware.replace(tzinfo=None), "base.start")
    assert err.message.startswith("expected a datetime with a UTC offset")
    err = _error(parse_datetime, "9001-01-01T00:00:00Z", "t")
    assert err.message.startswith("expected a datetime between 1970 and 9000")


def test_paths_join_and_rebase() -> None:
    assert join("", "a") == "a" and join("a", "") == "a"
    assert join("orders", "[3].site") == "orders[3].site"
    assert join("policy", "travel.circuity") == "policy.travel.circuity"
    moved = rebase(InputError("orders[0].site.lat", "m"), "orders[0]", "order")
    assert moved.path == "order.site.lat"
    assert rebase(InputError("orders[10]", "m"), "orders[1]").path == "orders[10]"


def test_at_prefixes_an_inner_error_once() -> None:
    with pytest.raises(InputError) as caught, at("orders[1]"):
        raise InputError("site.lat", "bad")
    assert caught.value.path == "orders[1].site.lat"
    with pytest.raises(InputError) as caught, at("orders[1]"):
        raise InputError("orders[1].id", "bad")
    assert caught.value.path == "orders[1].id"


def test_lone_documents_are_read_at_their_own_path() -> None:
    assert order_from_dict(ORDER).id == "T-1"
    err = _error(order_from_dict, {**ORDER, "site": {**ORDER["site"], "lat": 123}}, "order")
    assert err.path == "order.site.lat"
    err = _error(order_from_dict, {**ORDER, "sevice_minutes": 5})
    assert err.path == "sevice_minutes"
    assert "did you mean service_minutes?" in err.message


def test_a_lone_engineer_expands_its_week_and_refuses_unknown_days() -> None:
    doc = {"id": "E1", "home": {"lat": 0, "lon": 0}, "weekly_shifts": {"mon": ["08:00-12:00"]}}
    engineer = engineer_from_dict(doc)
    assert len(engineer.shifts) == 1  # one Monday in the default week after the anchor
    bad = {**doc, "weekly_shifts": {"monday": ["08:00-12:00"]}}
    err = _error(engineer_from_dict, bad, "engineers[4]")
    assert err.path == "engineers[4].weekly_shifts.monday"
    assert "did you mean mon?" in err.message


def test_a_policy_refuses_a_misspelt_weight() -> None:
    assert policy_from_dict(None).home_country == policy_from_dict({}).home_country
    err = _error(policy_from_dict, {"weights": {"late_per_minutes": 3}})
    assert err.path == "policy.weights.late_per_minutes"
    assert "did you mean late_per_minute?" in err.message
