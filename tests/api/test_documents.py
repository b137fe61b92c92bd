"""api/documents.py: how stored documents become the Problem a plan job solves."""

from __future__ import annotations

from datetime import UTC, datetime

from api.documents import build_problem


def _engineer(eid: str) -> dict:
    return {
        "id": eid,
        "name": eid,
        "home": {"lat": 36.65, "lon": 117.0},
        "timezone": "Asia/Shanghai",
        "skills": ["mechanical"],
        "shifts": [{"start": "2026-11-23T08:00:00+08:00", "end": "2026-11-23T17:00:00+08:00"}],
    }


def test_a_stored_ticket_naming_an_engineer_who_left_still_plans() -> None:
    # The ticket excludes E1 and E9 and prefers E9; E9 has left the roster since. The file
    # format rejects such an id as a typo, a plan job over stored documents drops it.
    order = {
        "id": "T1",
        "site": {"lat": 36.7, "lon": 117.1, "country": "CN"},
        "received_at": "2026-11-23T07:00:00+08:00",
        "service_minutes": 60,
        "required_skills": ["mechanical"],
        "excluded_engineers": ["E1", "E9"],
        "preferred_engineers": ["E9"],
    }
    problem = build_problem(
        datetime(2026, 11, 23, 0, 0, tzinfo=UTC),
        24,
        None,
        [(_engineer("E1"), []), (_engineer("E2"), [])],
        [order],
    )
    (built,) = problem.orders
    assert built.excluded_engineers == ("E1",)
    assert built.preferred_engineers == ()
