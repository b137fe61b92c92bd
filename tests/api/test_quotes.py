"""``POST /v1/quotes`` on the real server: quotes against the published plan agree with the
next incremental plan, nothing is stored, orders are validated like ``POST /v1/orders``,
the cached book follows the stored data, and the role is checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from api_harness import ServerFactory
from api_helpers import engineer_doc, order_doc, unique, wait_for_state

RECEIVED = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
SITES = [(30.66, 104.07), (30.70, 104.20), (30.52, 103.95), (30.80, 104.10), (30.60, 104.30)]


def _ticket(k: int, **changes: Any) -> dict[str, Any]:
    lat, lon = SITES[k % len(SITES)]
    site = {"lat": lat, "lon": lon, "country": "CN", "name": f"site {k}"}
    fields: dict[str, Any] = {"site": site, "received_at": RECEIVED, "service_minutes": 90}
    return order_doc(unique("Q"), **{**fields, **changes})


def _plan(client: httpx.Client, **options: Any) -> dict[str, Any]:
    r = client.post("/v1/plans", json={"solution_limit": 20, **options})
    assert r.status_code == 202, r.text
    job = wait_for_state(client, r.json()["id"], {"done", "failed"})
    assert job["state"] == "done", job["error"]
    return job


def _published_world(server_factory: ServerFactory) -> tuple[Any, str]:
    """Two hydraulics engineers in Chengdu, four orders planned and published."""
    server = server_factory()
    with server.client(server.admin_key) as admin:
        for name in ("E1", "E2"):
            home = {"lat": 30.57, "lon": 104.06 if name == "E1" else 104.25}
            r = admin.put(f"/v1/engineers/{name}", json=engineer_doc(home=home))
            assert r.status_code == 201, r.text
        for k in range(4):
            assert admin.post("/v1/orders", json=_ticket(k)).status_code == 201
        job = _plan(admin)
        assert admin.post(f"/v1/plans/{job['id']}/publish").status_code == 200
    return server, job["id"]


def test_a_quote_is_where_the_next_incremental_plan_puts_the_ticket(
    server_factory: ServerFactory,
) -> None:
    server, plan_id = _published_world(server_factory)
    ticketing_key = server.new_key("ticketing")
    ticket = _ticket(7)
    with server.client(ticketing_key) as ticketing, server.client(server.admin_key) as admin:
        r = ticketing.post("/v1/quotes", json=ticket, params={"limit": 2})
        assert r.status_code == 200, r.text
        quote = r.json()
        assert quote["plan_id"] == plan_id and quote["reason"] is None
        assert 1 <= len(quote["options"]) <= 2
        assert len({o["engineer_id"] for o in quote["options"]}) == len(quote["options"])
        best = quote["options"][0]
        assert best["engineer_id"] in ("E1", "E2") and best["on_time"] is True
        assert best["start"] >= best["eta"] and best["displaces"] == []
        # Nothing stored.
        assert ticketing.get(f"/v1/orders/{ticket['id']}").status_code == 404
        # The ticket stored, the next incremental plan from the same moment agrees.
        assert ticketing.post("/v1/orders", json=ticket).status_code == 201
        job = _plan(admin, mode="incremental", planning_start=quote["planning_start"])
        visits = [(route["engineer_id"], v["arrival"]) for route in job["plan"]["routes"]
                  for v in route["visits"] if v["order_id"] == ticket["id"]]  # fmt: skip
        assert visits == [(best["engineer_id"], best["eta"])]
        # The book follows the stored data: the stored ticket is no longer quotable.
        r = ticketing.post("/v1/quotes", json=ticket)
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "id", r.text


def test_quotes_are_validated_like_orders_and_need_a_key(server_factory: ServerFactory) -> None:
    server = server_factory()
    with server.client(server.admin_key) as admin:
        assert admin.put("/v1/engineers/E1", json=engineer_doc()).status_code == 201
    ticketing_key = server.new_key("ticketing")
    with server.client(ticketing_key) as ticketing:
        bad = _ticket(0, service_minutes=-5)
        r = ticketing.post("/v1/quotes", json=bad)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["path"] == "service_minutes"
        r = ticketing.post("/v1/quotes", json={**_ticket(0), "priorty": "high"})
        assert r.status_code == 422 and "priorty" in r.text
        for limit in (0, 21):
            r = ticketing.post("/v1/quotes", json=_ticket(0), params={"limit": limit})
            assert r.status_code == 422, r.text
            assert r.json()["errors"][0]["path"] == "query.limit"
        # Nothing published: quoted against empty routes.
        r = ticketing.post("/v1/quotes", json=_ticket(0))
        assert r.status_code == 200, r.text
        assert r.json()["plan_id"] is None and r.json()["options"][0]["engineer_id"] == "E1"
        # Nobody has the skill: no option, the reason code.
        r = ticketing.post("/v1/quotes", json=_ticket(1, required_skills=["nuclear"]))
        assert r.status_code == 200, r.text
        assert r.json()["options"] == [] and r.json()["reason"] == "no_skilled_engineer"
    with server.client() as anonymous:
        assert anonymous.post("/v1/quotes", json=_ticket(0)).status_code == 401


def test_the_cached_book_is_rebuilt_when_the_roster_changes(server_factory: ServerFactory) -> None:
    server = server_factory()
    with server.client(server.admin_key) as admin:
        assert admin.put("/v1/engineers/E1", json=engineer_doc()).status_code == 201
        ticket = _ticket(2, required_skills=["welding"])
        r = admin.post("/v1/quotes", json=ticket)
        assert r.json()["reason"] == "no_skilled_engineer"
        welder = engineer_doc(skills=["hydraulics", "welding"])
        assert admin.put("/v1/engineers/E2", json=welder).status_code == 201
        r = admin.post("/v1/quotes", json=ticket)
        assert r.status_code == 200 and r.json()["reason"] is None, r.text
        assert [o["engineer_id"] for o in r.json()["options"]] == ["E2"]
