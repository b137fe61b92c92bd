"""Loading the JSON contract: defaults, derived values, and errors that name the field."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from dispatcher.codec import problem_from_dict, problem_to_dict
from dispatcher.errors import InputError

BASE: dict[str, Any] = {
    "planning_start": "2026-11-23T08:00:00+08:00",
    "engineers": [
        {
            "id": "E1",
            "name": "Li",
            "home": {"lat": 36.65, "lon": 117.0},
            "timezone": "Asia/Shanghai",
            "skills": ["plc"],
            "shifts": [{"start": "2026-11-23T08:00:00+08:00", "end": "2026-11-23T17:00:00+08:00"}],
        }
    ],
    "orders": [
        {
            "id": "T1",
            "site": {"lat": 36.07, "lon": 120.38, "country": "CN"},
            "received_at": "2026-11-23T06:00:00+08:00",
            "service_minutes": 120,
        },
        {
            "id": "T2",
            "site": {"lat": -6.2, "lon": 106.8, "country": "ID"},
            "received_at": "2026-11-23T06:00:00+08:00",
            "service_minutes": 60,
        },
    ],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


_DELETE = object()


def test_defaults_follow_design() -> None:
    p = problem_from_dict(BASE)
    assert p.horizon_hours == 96
    assert p.policy.commitments == {"domestic": 24.0, "overseas": 72.0, "remote": 72.0}
    assert p.policy.travel.circuity == 1.3 and p.policy.travel.max_drive_km == 600
    assert p.orders[0].priority == "normal"
    assert p.engineers[0].can_travel_overseas is True


def test_commitment_is_derived_from_country_and_deadline_is_received_plus_hours() -> None:
    p = problem_from_dict(BASE)
    domestic, overseas = p.orders
    assert p.policy.commitment_class(domestic) == "domestic"
    assert p.policy.commitment_class(overseas) == "overseas"
    assert p.policy.deadline(domestic) == domestic.received_at + timedelta(hours=24)
    assert p.policy.deadline(overseas) == overseas.received_at + timedelta(hours=72)


def test_explicit_deadline_overrides_class() -> None:
    p = problem_from_dict(_with("orders[0].deadline", "2026-11-23T12:00:00+08:00"))
    assert p.policy.deadline(p.orders[0]) == datetime.fromisoformat("2026-11-23T12:00:00+08:00")


def test_policy_commitment_hours_are_configurable() -> None:
    p = problem_from_dict(_with("policy", {"commitments": {"domestic": 12}}))
    assert p.policy.deadline(p.orders[0]) == p.orders[0].received_at + timedelta(hours=12)


def test_weekly_pattern_generates_absolute_shifts_in_the_engineer_timezone() -> None:
    doc = _with("engineers[0].shifts", [])
    doc["engineers"][0]["weekly_shifts"] = {"mon": ["08:00-17:00"], "tue": ["22:00-06:00"]}
    doc["horizon_hours"] = 72
    shifts = problem_from_dict(doc).engineers[0].shifts
    # 2026-11-23 is a Monday.
    assert [s.start.isoformat() for s in shifts] == [
        "2026-11-23T08:00:00+08:00",
        "2026-11-24T22:00:00+08:00",
    ]
    assert shifts[1].end.isoformat() == "2026-11-25T06:00:00+08:00"


@pytest.mark.parametrize(
    "path,value,message",
    [
        ("orders[1].site.lat", 123, "orders[1].site.lat: expected a number in [-90, 90], got 123"),
        ("orders[0].site.lon", "east", "orders[0].site.lon: expected a number in [-180, 180]"),
        ("orders[0].site.country", "CHN", "orders[0].site.country: expected an ISO-3166 alpha-2"),
        (
            "orders[0].received_at",
            "2026-11-23T06:00:00",
            "orders[0].received_at: expected a datetime with a UTC offset",
        ),
        (
            "orders[0].received_at",
            "yesterday",
            "orders[0].received_at: expected an RFC 3339 datetime",
        ),
        (
            "orders[0].service_minutes",
            -1,
            "orders[0].service_minutes: expected an integer in [0, 10080]",
        ),
        (
            "orders[0].priority",
            "urgent",
            "orders[0].priority: expected one of critical, high, normal, low",
        ),
        (
            "orders[0].commitment",
            "express",
            "orders[0].commitment: expected one of domestic, overseas, remote",
        ),
        ("orders[0].required_skills", "plc", "orders[0].required_skills: expected a list"),
        ("orders[0].id", _DELETE, "orders[0].id: expected a value, got nothing"),
        ("engineers[0].home", _DELETE, "engineers[0].home: expected a value"),
        ("engineers[0].timezone", "Mars/Base", "engineers[0].timezone: expected an IANA timezone"),
        (
            "engineers[0].max_overtime_minutes",
            -5,
            "engineers[0].max_overtime_minutes: expected an integer",
        ),
        (
            "engineers[0].can_travel_overseas",
            "yes",
            "engineers[0].can_travel_overseas: expected true or false",
        ),
        (
            "engineers[0].shifts[0].end",
            "2026-11-23T07:00:00+08:00",
            "engineers[0].shifts[0].end: expected end after start",
        ),
        ("horizon_hours", 0, "horizon_hours: expected an integer in [1, 1440]"),
        ("planning_start", None, "planning_start: expected a value"),
        (
            "policy",
            {"travel": {"circuity": 0.5}},
            "policy.travel.circuity: expected a number in [1, 10]",
        ),
        (
            "policy",
            {"commitments": {"domestic": -3}},
            "policy.commitments.domestic: expected a number in [0.01, 87660]",
        ),
        (
            "policy",
            {"weights": {"late_per_breach": -1}},
            "policy.weights.late_per_breach: expected an integer",
        ),
        ("engineers", {"E1": {}}, "engineers: expected a list"),
    ],
)
def test_bad_value_is_rejected_with_its_path_and_expectation(
    path: str, value: Any, message: str
) -> None:
    with pytest.raises(InputError) as info:
        problem_from_dict(_with(path, value))
    assert str(info.value).startswith(message), str(info.value)


def test_duplicate_order_id_is_named() -> None:
    doc = copy.deepcopy(BASE)
    doc["orders"][1]["id"] = "T1"
    with pytest.raises(InputError, match=r"orders\[1\]\.id: expected a unique id"):
        problem_from_dict(doc)


def test_problem_round_trips_through_json() -> None:
    p = problem_from_dict(BASE)
    again = problem_from_dict(json.loads(json.dumps(problem_to_dict(p))))
    assert again == p
