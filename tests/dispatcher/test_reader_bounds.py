"""Bounds the one reader enforces so that anything accepted can be planned (issue 22):
the UTC instant of a timestamp, instants derived from it, ids that fit in a URL path, and
list sizes inside one order or engineer."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatcher.codec import (
    MAX_ENGINEER_REFS,
    MAX_REQUIRED_SKILLS,
    MAX_SHIFTS,
    MAX_SITE_WINDOWS,
    MAX_SKILLS,
    MAX_SPANS_PER_DAY,
    engineer_from_dict,
    order_from_dict,
    problem_from_dict,
    problem_to_dict,
)
from dispatcher.errors import InputError
from dispatcher.reader import ID_PATTERN, parse_datetime

SHIFT = {"start": "2026-11-23T08:00:00Z", "end": "2026-11-23T17:00:00Z"}
ENGINEER: dict[str, Any] = {
    "id": "ENG-001",
    "home": {"lat": 0.0, "lon": 0.0},
    "skills": ["mechanical"],
    "shifts": [SHIFT],
}
ORDER: dict[str, Any] = {
    "id": "T-100001",
    "site": {"lat": 0.5, "lon": 0.0, "country": "KE"},
    "received_at": "2026-11-23T07:00:00Z",
    "service_minutes": 60,
    "required_skills": ["mechanical"],
}
PROBLEM: dict[str, Any] = {
    "planning_start": "2026-11-23T08:00:00Z",
    "horizon_hours": 24,
    "policy": {"home_country": "KE"},
    "engineers": [ENGINEER],
    "orders": [ORDER],
}


def _error(fn: Any, *args: Any) -> InputError:
    with pytest.raises(InputError) as info:
        fn(*args)
    return info.value


# ------------------------------------------------------------ datetimes: local and UTC


@pytest.mark.parametrize(
    "text",
    [
        "9000-12-31T23:59:00-14:00",  # the probe's received_at: year 9001 in UTC
        "9000-12-31T23:00:00-05:00",  # the probe's shift end
        "1970-01-01T00:30:00+01:00",  # 1969 in UTC
    ],
)
def test_a_datetime_whose_utc_instant_leaves_the_range_is_refused(text: str) -> None:
    err = _error(parse_datetime, text, "x")
    assert err.path == "x"
    assert err.message.startswith("expected a datetime between 1970 and 9000 (in UTC too)")


def test_the_range_ends_are_inclusive_in_utc() -> None:
    assert parse_datetime("1970-01-01T00:00:00Z", "x") == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_datetime("9000-12-31T23:59:59Z", "x").year == 9000
    assert parse_datetime("9000-12-31T09:00:00-14:00", "x").astimezone(UTC).year == 9000


def test_the_probes_order_is_refused_naming_received_at() -> None:
    err = _error(order_from_dict, {**ORDER, "received_at": "9000-12-31T23:59:00-14:00"})
    assert err.path == "received_at"


def test_a_received_at_whose_longest_commitment_leaves_the_range_is_refused() -> None:
    err = _error(order_from_dict, {**ORDER, "received_at": "8995-01-01T00:00:00Z"})
    assert err.path == "received_at"
    assert "deadline by the longest commitment (87660 hours)" in err.message
    assert order_from_dict({**ORDER, "received_at": "8990-12-31T11:59:59Z"}).id == "T-100001"


def test_the_probes_engineer_shift_is_refused_naming_it() -> None:
    shift = {"start": "9000-12-31T08:00:00-05:00", "end": "9000-12-31T23:00:00-05:00"}
    err = _error(engineer_from_dict, {**ENGINEER, "shifts": [shift]})
    assert err.path == "shifts[0].end"


def test_a_planning_start_whose_horizon_leaves_the_range_is_refused() -> None:
    doc = {**PROBLEM, "planning_start": "9000-12-30T00:00:00Z", "horizon_hours": 24}
    err = _error(problem_from_dict, doc)
    assert err.path == "planning_start"
    assert "horizon end plus 7 days" in err.message


@pytest.mark.parametrize(
    "change",
    [
        {"orders": [{**ORDER, "received_at": "8990-12-31T11:59:59-00:00"}]},
        {"orders": [{**ORDER, "deadline": "9000-12-31T23:59:59Z"}]},
        {
            "engineers": [
                {
                    **ENGINEER,
                    "shifts": [
                        {"start": "9000-12-31T08:00:00+14:00", "end": "9000-12-31T23:59:59+00:00"}
                    ],
                }
            ]
        },
        {"planning_start": "9000-12-20T00:00:00Z", "horizon_hours": 24},
    ],
)
def test_anything_accepted_reads_back_from_its_utc_form(change: dict[str, Any]) -> None:
    """What a plan job does: the stored UTC document is read again by the worker."""
    problem = problem_from_dict({**copy.deepcopy(PROBLEM), **change})
    again = problem_from_dict(problem_to_dict(problem))
    assert problem_to_dict(again) == problem_to_dict(problem)
    for order in again.orders:
        assert again.policy.deadline(order) + timedelta(0) < datetime(9001, 1, 1, tzinfo=UTC)


# ------------------------------------------------------------------------------ ids


@pytest.mark.parametrize("bad", ["T/1", "T 1", "T?1", "T#1", "T%2F1", "é", "x" * 201])
def test_an_order_or_engineer_id_outside_the_safe_set_is_refused(bad: str) -> None:
    err = _error(order_from_dict, {**ORDER, "id": bad})
    assert err.path == "id"
    assert err.message.startswith("expected an id of 1 to 200 letters, digits or . _ : ~ -")
    err = _error(engineer_from_dict, {**ENGINEER, "id": bad})
    assert err.path == "id"


@pytest.mark.parametrize("good", ["T-100001", "ENG-001", "a.b_c:d~e-f", "x" * 200])
def test_ids_in_the_safe_set_are_read(good: str) -> None:
    assert order_from_dict({**ORDER, "id": good}).id == good
    assert engineer_from_dict({**ENGINEER, "id": good}).id == good


def test_the_published_pattern_is_the_readers() -> None:
    assert ID_PATTERN == r"^[A-Za-z0-9._:~-]{1,200}$"


# ---------------------------------------------------------------------- list bounds

WINDOW = {"start": "2026-11-23T08:00:00Z", "end": "2026-11-23T17:00:00Z"}


def _days(n: int) -> list[dict[str, str]]:
    """``n`` non-overlapping one-hour windows, one a day."""
    first = datetime(2026, 1, 1, 8, tzinfo=UTC)
    out = []
    for i in range(n):
        start = first + timedelta(days=i)
        out.append(
            {
                "start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
            }
        )
    return out


@pytest.mark.parametrize(
    "reader,doc,key,item,limit",
    [
        (order_from_dict, ORDER, "site_windows", WINDOW, MAX_SITE_WINDOWS),
        (order_from_dict, ORDER, "required_skills", "s", MAX_REQUIRED_SKILLS),
        (order_from_dict, ORDER, "preferred_engineers", "E", MAX_ENGINEER_REFS),
        (order_from_dict, ORDER, "excluded_engineers", "E", MAX_ENGINEER_REFS),
        (engineer_from_dict, ENGINEER, "shifts", WINDOW, MAX_SHIFTS),
        (engineer_from_dict, ENGINEER, "skills", "s", MAX_SKILLS),
    ],
)
def test_lists_inside_a_document_are_bounded(
    reader: Any, doc: dict[str, Any], key: str, item: Any, limit: int
) -> None:
    def many(n: int) -> list[Any]:
        return _days(n) if key == "shifts" else [item] * n

    reader({**doc, key: many(limit)})
    err = _error(reader, {**doc, key: many(limit + 1)})
    assert err.path == key
    assert err.message == f"expected a list of at most {limit} items, got {limit + 1} items"


def test_a_weekday_of_a_weekly_pattern_is_bounded() -> None:
    doc = {**ENGINEER, "weekly_shifts": {"mon": ["08:00-09:00"] * (MAX_SPANS_PER_DAY + 1)}}
    err = _error(engineer_from_dict, doc)
    assert err.path == "weekly_shifts.mon"
