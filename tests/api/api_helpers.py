"""Helpers shared by the API end-to-end tests: valid documents and polling."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx


def unique(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def order_doc(order_id: str | None = None, **changes: Any) -> dict[str, Any]:
    """A valid Order document (Chengdu, domestic, hydraulics)."""
    doc: dict[str, Any] = {
        "id": order_id or unique(),
        "site": {"lat": 30.66, "lon": 104.07, "country": "CN", "name": "Chengdu mill"},
        "received_at": "2026-11-23T07:40:00+08:00",
        "priority": "normal",
        "required_skills": ["hydraulics"],
        "service_minutes": 120,
    }
    doc.update(changes)
    return doc


def engineer_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": "Li Wei",
        "home": {"lat": 30.57, "lon": 104.06},
        "timezone": "Asia/Shanghai",
        "skills": ["hydraulics"],
        "weekly_shifts": {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    }
    doc.update(changes)
    return doc


def wait_for_state(
    client: httpx.Client, plan_id: str, states: set[str], timeout_s: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"/v1/plans/{plan_id}").json()
        if body["state"] in states:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"plan {plan_id} still {body['state']} after {timeout_s}s")
        time.sleep(0.2)
