"""The ticketing flow end to end: engineers and orders in, plan, publish, ETAs out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from api_harness import ROOT, ServerFactory
from api_helpers import order_doc, wait_for_state

SMALL = ROOT / "fixtures" / "small" / "two_engineers_four_orders.json"
# From the fixture's hand-checked comment: each engineer reaches the first site at 08:55:17
# and the second at 10:50:34.
EXPECTED_ETAS = {
    "A": "2026-11-23T08:55:17Z",
    "B": "2026-11-23T10:50:34Z",
    "C": "2026-11-23T08:55:17Z",
    "D": "2026-11-23T10:50:34Z",
}
PLAN_OPTIONS = {"planning_start": "2026-11-23T08:00:00Z", "horizon_hours": 24, "time_limit_s": 20}


def _small_problem() -> dict[str, Any]:
    return json.loads(Path(SMALL).read_text())


def _load(server_factory: ServerFactory) -> Any:
    server = server_factory()
    problem = _small_problem()
    with server.client(server.admin_key) as admin:
        assert admin.put("/v1/policy", json=problem["policy"]).status_code == 200
        for engineer in problem["engineers"]:
            r = admin.put(f"/v1/engineers/{engineer['id']}", json=engineer)
            assert r.status_code == 201, r.text
    return server, problem


def test_orders_are_planned_published_and_report_their_etas(server_factory: ServerFactory) -> None:
    server, problem = _load(server_factory)
    ticketing_key = server.new_key("ticketing")
    with server.client(ticketing_key) as ticketing, server.client(server.admin_key) as coordinator:
        for order in problem["orders"]:
            r = ticketing.post("/v1/orders", json=order)
            assert r.status_code == 201, r.text
            assert r.json()["status"] == "open"
            assert r.json()["assignment"] is None

        r = coordinator.post("/v1/plans", json={**PLAN_OPTIONS, "solution_limit": 50})
        assert r.status_code == 202, r.text
        assert r.headers["location"] == f"/v1/plans/{r.json()['id']}"
        job = wait_for_state(coordinator, r.json()["id"], {"done", "failed"})
        assert job["state"] == "done", job["error"]
        assert job["plan"]["kpis"]["on_time"] == 4
        assert ticketing.get("/v1/orders/A").json()["status"] == "planned"

        r = coordinator.post(f"/v1/plans/{job['id']}/publish")
        assert r.status_code == 200, r.text
        assert coordinator.get("/v1/plans/current").json()["id"] == job["id"]

        for order_id, eta in EXPECTED_ETAS.items():
            view = ticketing.get(f"/v1/orders/{order_id}").json()
            assert view["status"] == "published"
            assert view["assignment"]["eta"] == eta
            assert view["assignment"]["on_time"] is True
            assert view["at_risk"] is False
            history = [h["to"] for h in view["status_history"]]
            assert history == ["open", "planned", "published"]
        assert ticketing.get("/v1/orders/A").json()["assignment"]["engineer_id"] == "E1"


def test_publishing_a_plan_built_from_changed_data_needs_force(
    server_factory: ServerFactory,
) -> None:
    server, problem = _load(server_factory)
    with server.client(server.admin_key) as admin:
        for order in problem["orders"]:
            assert admin.post("/v1/orders", json=order).status_code == 201
        job_id = admin.post("/v1/plans", json={**PLAN_OPTIONS, "solution_limit": 20}).json()["id"]
        assert wait_for_state(admin, job_id, {"done", "failed"})["state"] == "done"

        late_order = order_doc("LATE-1", site={"lat": 0.2, "lon": 0.0, "country": "KE"})
        assert admin.post("/v1/orders", json=late_order).status_code == 201

        r = admin.post(f"/v1/plans/{job_id}/publish")
        assert r.status_code == 409
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["stale"] is True

        r = admin.post(f"/v1/plans/{job_id}/publish", json={"force": True})
        assert r.status_code == 200, r.text
        actions = [e["action"] for e in admin.get("/v1/audit").json()["items"]]
        assert "plan.publish" in actions
        # The order the plan never saw stays open.
        assert admin.get("/v1/orders/LATE-1").json()["status"] == "open"


def test_stateless_solve_returns_a_plan_and_stores_nothing(server_factory: ServerFactory) -> None:
    server = server_factory()
    with server.client(server.admin_key) as admin:
        r = admin.post(
            "/v1/solve", params={"time_limit_s": 10, "solution_limit": 50}, json=_small_problem()
        )
        assert r.status_code == 200, r.text
        plan = r.json()
        assert plan["kpis"]["assigned"] == 4
        visits = {v["order_id"]: v["arrival"] for route in plan["routes"] for v in route["visits"]}
        assert visits == EXPECTED_ETAS
        assert admin.get("/v1/orders").json()["items"] == []

        r = admin.post("/v1/solve", params={"time_limit_s": 10_000}, json=_small_problem())
        assert r.status_code == 422
        assert r.json()["errors"][0]["path"] == "query.time_limit_s"

        bad = _small_problem()
        bad["orders"][2]["site"]["lat"] = 123
        r = admin.post("/v1/solve", json=bad)
        assert r.status_code == 422
        assert r.json()["errors"] == [
            {"path": "orders[2].site.lat", "message": "expected a number in [-90, 90], got 123"}
        ]
