"""Input that used to crash later or be silently accepted: rejected at load, naming the field.

Each case comes from an input sweep (a traceback, or nonsense the planner acted on); the
document is the two-engineer, four-order problem of ``fixtures/small`` trimmed to what
matters.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dispatcher.codec import load_problem, order_from_dict, problem_from_dict
from dispatcher.errors import InputError
from dispatcher.reader import parse_datetime

SHIFT = {"start": "2026-11-23T08:00:00Z", "end": "2026-11-23T17:00:00Z"}
BASE: dict[str, Any] = {
    "planning_start": "2026-11-23T08:00:00Z",
    "horizon_hours": 24,
    "policy": {"home_country": "KE"},
    "engineers": [
        {"id": "E1", "home": {"lat": 0.0, "lon": 0.0}, "skills": ["mechanical"], "shifts": [SHIFT]},
        {"id": "E2", "home": {"lat": 0.0, "lon": 2.0}, "skills": ["electrical"], "shifts": [SHIFT]},
    ],
    "orders": [
        {
            "id": "A",
            "site": {"lat": 0.5, "lon": 0.0, "country": "KE"},
            "received_at": "2026-11-23T07:00:00Z",
            "service_minutes": 60,
            "required_skills": ["mechanical"],
        },
        {
            "id": "B",
            "site": {"lat": 1.0, "lon": 2.0, "country": "KE"},
            "received_at": "2026-11-23T07:00:00Z",
            "service_minutes": 60,
            "required_skills": ["electrical"],
        },
    ],
}

_DELETE = object()


def _with(path: str, value: Any) -> dict[str, Any]:
    """BASE with the value at ``path`` (``orders[0].site.lat``) replaced or deleted."""
    doc = copy.deepcopy(BASE)
    *parents, last = path.replace("[", ".").replace("]", "").split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    if value is _DELETE:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return doc


def _rejects(doc: Any, message: str) -> None:
    with pytest.raises(InputError) as info:
        problem_from_dict(doc)
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


# ----------------------------------------------------------- 1: crashes turned into errors


@pytest.mark.parametrize(
    "path,value,message",
    [
        # planning_start + horizon overflowed datetime.
        (
            "planning_start",
            "9999-12-31T23:00:00Z",
            "planning_start: expected a datetime between 1970 and 9000",
        ),
        # received_at + commitment overflowed when computing the deadline.
        (
            "orders[0].received_at",
            "9999-12-31T23:59:59Z",
            "orders[0].received_at: expected a datetime between 1970 and 9000",
        ),
        (
            "orders[0].deadline",
            "1969-12-31T23:59:59Z",
            "orders[0].deadline: expected a datetime between 1970 and 9000",
        ),
        # 1e300 hours overflowed timedelta.
        (
            "policy.commitments",
            {"domestic": 1e300},
            "policy.commitments.domestic: expected a number in [0.01, 87660], got 1e+300",
        ),
        # Weights and factors overflowed the solver's int64 costs.
        (
            "policy.weights",
            {"unassigned": 10**30},
            "policy.weights.unassigned: expected an integer in [0, 100000000]",
        ),
        (
            "policy.weights",
            {"priority_factor": {"normal": 10**15}},
            "policy.weights.priority_factor.normal: expected an integer in [1, 10000]",
        ),
        (
            "policy.travel",
            {"max_drive_km": float("inf")},
            "policy.travel.max_drive_km: expected a number in [0, 40000], got Infinity",
        ),
        (
            "policy.travel",
            {"circuity": 1e300},
            "policy.travel.circuity: expected a number in [1, 10]",
        ),
    ],
)
def test_value_that_overflowed_later_is_rejected_with_its_bound(
    path: str, value: Any, message: str
) -> None:
    _rejects(_with(path, value), message)


def test_bounds_are_inclusive_and_the_defaults_are_inside_them() -> None:
    policy = {
        "home_country": "KE",
        "commitments": {"domestic": 87_660, "overseas": 0.01},
        "weights": {"unassigned": 100_000_000, "priority_factor": {"critical": 10_000}},
    }
    p = problem_from_dict({**BASE, "policy": policy, "planning_start": "9000-01-01T00:00:00Z"})
    assert p.policy.weights.unassigned * p.policy.weights.priority_factor["critical"] == 10**12
    # The latest deadline: received 10 years (87,660 hours) before the end of year 9000,
    # so that the deadline a plan shows reads back (tests/dispatcher/test_reader_bounds.py).
    late = _with("orders[0].received_at", "8990-12-31T11:59:59+00:00")
    late["policy"] = policy
    q = problem_from_dict(late)
    assert q.policy.deadline(q.orders[0]) == datetime(8990, 12, 31, 11, 59, 59, tzinfo=UTC) + (
        timedelta(hours=87_660)
    )
    assert q.policy.deadline(q.orders[0]) < datetime(9001, 1, 1, tzinfo=UTC)


def test_weekly_pattern_before_1970_is_rejected_not_overflowing_in_expansion() -> None:
    doc = _with("planning_start", "0001-01-01T00:00:00Z")
    doc["engineers"][0]["weekly_shifts"] = {"mon": ["08:00-17:00"]}
    _rejects(doc, "planning_start: expected a datetime between 1970 and 9000")


@pytest.mark.parametrize("text", ["08:00+05:00-17:00", "8-17", "08:00:00-17:00", "25:00-26:00", 8])
def test_weekly_span_that_is_not_hh_mm_dash_hh_mm_is_rejected(text: Any) -> None:
    # "08:00+05:00" parsed as an aware time, then compared with a naive one: TypeError.
    doc = copy.deepcopy(BASE)
    doc["engineers"][0]["weekly_shifts"] = {"mon": [text]}
    _rejects(doc, 'engineers[0].weekly_shifts.mon[0]: expected "HH:MM-HH:MM"')


def test_integer_of_5000_digits_is_rejected_naming_its_field(tmp_path: Path) -> None:
    doc = copy.deepcopy(BASE)
    doc["orders"][0]["service_minutes"] = 0
    text = json.dumps(doc).replace('"service_minutes": 0', '"service_minutes": ' + "9" * 5000)
    path = tmp_path / "huge.json"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_problem(path)
    assert str(info.value) == (
        "orders[0].service_minutes: expected an integer in [0, 10080], "
        "got an integer of 5000 digits"
    )


def test_deeply_nested_json_is_a_one_line_file_error(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"planning_start": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InputError) as info:
        load_problem(path)
    assert str(info.value).startswith(f"{path}: expected JSON nested less deeply")


# ----------------------------------------------------------- 3: required top-level lists


@pytest.mark.parametrize("key", ["engineers", "orders"])
@pytest.mark.parametrize("value", [_DELETE, None])
def test_missing_or_null_engineers_or_orders_is_rejected(key: str, value: Any) -> None:
    _rejects(_with(key, value), f"{key}: expected a list, got nothing")


def test_explicitly_empty_engineers_and_orders_stay_valid() -> None:
    p = problem_from_dict({**BASE, "engineers": [], "orders": []})
    assert p.engineers == () and p.orders == ()


# ----------------------------------------------------------- 4: nonsense no longer accepted


def test_deadline_before_received_at_is_rejected() -> None:
    _rejects(
        _with("orders[1].deadline", "2026-11-20T07:00:00Z"),
        "orders[1].deadline: expected a datetime at or after received_at (2026-11-23T07:00:00Z)",
    )


def test_deadline_equal_to_received_at_is_accepted() -> None:
    p = problem_from_dict(_with("orders[0].deadline", "2026-11-23T07:00:00Z"))
    assert p.orders[0].deadline == p.orders[0].received_at


@pytest.mark.parametrize("key", ["excluded_engineers", "preferred_engineers"])
def test_unknown_engineer_id_in_exclusions_or_preferences_is_rejected(key: str) -> None:
    # A typo in an exclusion ("E9" for "E1") would silently let E1 be sent.
    _rejects(
        _with(f"orders[0].{key}", ["E2", "E9"]),
        f"orders[0].{key}[1]: expected the id of an engineer in the roster, got 'E9'",
    )


def test_unknown_pinned_engineer_stays_accepted_as_a_reason_not_an_error() -> None:
    p = problem_from_dict(_with("orders[0].pinned_engineer", "E9"))
    assert p.orders[0].pinned_engineer == "E9"


def test_an_order_validated_without_a_roster_may_name_engineers() -> None:
    doc = _with("orders[0].excluded_engineers", ["E9"])
    doc["engineers"] = []
    assert problem_from_dict(doc).orders[0].excluded_engineers == ("E9",)
    # The API validates a lone ticket this way.
    assert order_from_dict(doc["orders"][0]).excluded_engineers == ("E9",)


@pytest.mark.parametrize(
    "path,value,message",
    [
        (
            "policy.commitments",
            {"express": 5},
            "policy.commitments.express: unknown field; expected one of domestic, overseas, remote",
        ),
        (
            "policy.weights",
            {"priority_factor": {"urgent": 5}},
            "policy.weights.priority_factor.urgent: unknown field; "
            "expected one of critical, high, normal, low",
        ),
    ],
)
def test_unknown_commitment_class_or_priority_is_rejected_listing_the_allowed(
    path: str, value: Any, message: str
) -> None:
    _rejects(_with(path, value), message)


@pytest.mark.parametrize(
    "text",
    [
        "2026-W48-1T08:00:00Z",  # ISO week date
        "20261123T080000Z",  # basic format
        "2026-11-23T08Z",  # hour only
        "2026-11-23T08:00Z",  # no seconds
        "2026-11-23T08:00:00+0800",  # offset without colon
        "2026-11-23T08:00:00,5Z",  # comma decimal
        "2026-11-23T08:00:00+08",  # offset hours only
        "2026-11-23T08:00:00+24:00",  # offset out of range
        "2026-11-23T24:00:00Z",  # hour 24
        "2026-02-30T08:00:00Z",  # no such day
        " 2026-11-23T08:00:00Z",
    ],
)
def test_timestamp_python_accepts_but_rfc3339_does_not_is_rejected(text: str) -> None:
    _rejects(
        _with("planning_start", text), "planning_start: expected an RFC 3339 datetime with offset"
    )


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2026-11-23T08:00:00Z", datetime(2026, 11, 23, 8, tzinfo=UTC)),
        ("2026-11-23 08:00:00Z", datetime(2026, 11, 23, 8, tzinfo=UTC)),
        ("2026-11-23t08:00:00z", datetime(2026, 11, 23, 8, tzinfo=UTC)),
        ("2026-11-23T16:00:00+08:00", datetime(2026, 11, 23, 8, tzinfo=UTC)),
        ("2026-11-23T08:00:00.5Z", datetime(2026, 11, 23, 8, 0, 0, 500_000, tzinfo=UTC)),
        # Beyond microseconds the fraction is truncated.
        ("2026-11-23T08:00:00.123456789Z", datetime(2026, 11, 23, 8, 0, 0, 123_456, tzinfo=UTC)),
        ("2026-11-23T02:30:00-05:30", datetime(2026, 11, 23, 8, tzinfo=UTC)),
    ],
)
def test_rfc3339_variants_are_accepted(text: str, expected: datetime) -> None:
    assert parse_datetime(text, "t") == expected


# ----------------------------------------------------------- 5: clock changes in weekly shifts


@pytest.mark.parametrize(
    "span,start,end",
    [
        # Starts in the skipped hour: work begins when the clocks jump to 03:00 CEST.
        ("02:30-03:30", "2027-03-28T01:00:00Z", "2027-03-28T01:30:00Z"),
        ("02:45-03:15", "2027-03-28T01:00:00Z", "2027-03-28T01:15:00Z"),
        # Across the gap: one real hour, not two wall-clock ones.
        ("01:30-03:30", "2027-03-28T00:30:00Z", "2027-03-28T01:30:00Z"),
        # Ends in the skipped hour: work ends when the clocks jump.
        ("01:30-02:30", "2027-03-28T00:30:00Z", "2027-03-28T01:00:00Z"),
        # Wholly in the skipped hour: no such time exists, the occurrence is left out.
        ("02:15-02:45", None, None),
    ],
)
def test_weekly_shift_in_a_dst_gap_lasts_the_time_really_worked(
    span: str, start: str | None, end: str | None
) -> None:
    """Europe/Berlin skips 02:00-03:00 on Sunday 2027-03-28 (01:00Z).

    The choice: a wall-clock time in the gap means the instant the gap ends (03:00 CEST,
    the first time the clocks show), so a shift keeps its true UTC length; an occurrence
    whose UTC length is then zero lies wholly in the gap and is dropped silently. Before,
    "02:30-03:30" gave a 0-minute shift and "02:45-03:15" one ending before it started,
    because datetimes sharing a ZoneInfo compare by wall clock.
    """
    doc = _with("planning_start", "2027-03-27T06:00:00+01:00")
    doc["horizon_hours"] = 72
    doc["engineers"][0] |= {"timezone": "Europe/Berlin", "shifts": [], "weekly_shifts": {}}
    doc["engineers"][0]["weekly_shifts"] = {"sun": [span], "sat": ["08:00-17:00"]}
    doc["engineers"][1]["shifts"] = []
    for o in doc["orders"]:
        o["received_at"] = "2027-03-27T06:00:00+01:00"
    shifts = problem_from_dict(doc).engineers[0].shifts
    assert all(s.end - s.start > timedelta(0) for s in shifts)
    sunday = [(s.start, s.end) for s in shifts if s.start.date() != datetime(2027, 3, 27).date()]
    if start is None:
        assert sunday == []
    else:
        assert sunday == [(parse_datetime(start, "s"), parse_datetime(end, "e"))]


def test_weekly_shift_across_the_autumn_change_lasts_the_time_really_worked() -> None:
    # Berlin repeats 02:00-03:00 on 2027-10-31: 01:00-03:00 is three hours of work.
    doc = _with("planning_start", "2027-10-30T06:00:00+02:00")
    doc["horizon_hours"] = 48
    doc["engineers"][0] |= {"timezone": "Europe/Berlin", "shifts": []}
    doc["engineers"][0]["weekly_shifts"] = {"sun": ["01:00-03:00"]}
    for o in doc["orders"]:
        o["received_at"] = "2027-10-30T06:00:00+02:00"
    (shift,) = problem_from_dict(doc).engineers[0].shifts
    assert shift.start == datetime(2027, 10, 30, 23, tzinfo=UTC)
    assert shift.end - shift.start == timedelta(hours=3)
