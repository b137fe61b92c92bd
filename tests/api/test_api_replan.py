"""The present in every plan, through the real service: plan and publish, a visit starts,
an engineer falls sick, plan again. The visit under way is never overlapped nor planned
again, only the sick engineer's visits move, every move is listed, and the plan passes the
independent checker against the Problem the job solved."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from api_harness import ServerFactory
from api_helpers import wait_for_state

from dispatcher.check import check_plan
from dispatcher.codec import format_datetime, plan_from_dict, problem_from_dict
from dispatcher.generate import generate_problem
from dispatcher.reader import parse_datetime

START = "2026-11-23T08:00:00Z"
OPTIONS = {"planning_start": START, "horizon_hours": 96, "solution_limit": 40, "time_limit_s": 60}


def _plan(client: httpx.Client, **extra: Any) -> dict[str, Any]:
    r = client.post("/v1/plans", json={**OPTIONS, **extra})
    assert r.status_code == 202, r.text
    job = wait_for_state(client, r.json()["id"], {"done", "failed"})
    assert job["state"] == "done", job["error"]
    problem = problem_from_dict(client.get(f"/v1/plans/{job['id']}/problem").json())
    violations = [v for v in check_plan(problem, plan_from_dict(job["plan"])) if v.hard]
    assert not violations, violations
    return job


def _visits(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        v["order_id"]: {**v, "engineer_id": r["engineer_id"]}
        for r in job["plan"]["routes"]
        for v in r["visits"]
    }


def test_a_replan_keeps_the_present_and_moves_only_what_must_move(
    server_factory: ServerFactory,
) -> None:
    server = server_factory()
    world = generate_problem(40, 6, seed=11, planning_start=parse_datetime(START, "start"))
    with server.client(server.admin_key) as admin:
        assert admin.put("/v1/policy", json=world["policy"]).status_code == 200
        for engineer in world["engineers"]:
            assert admin.put(f"/v1/engineers/{engineer['id']}", json=engineer).status_code == 201
        for order in world["orders"]:
            assert admin.post("/v1/orders", json=order).status_code == 201

        first = _plan(admin)
        assert first["options"]["mode"] == "full"  # nothing published yet
        assert admin.post(f"/v1/plans/{first['id']}/publish").status_code == 200
        published = _visits(first)

        # A visit starts, and is reported to run 3 hours.
        route = next(r for r in first["plan"]["routes"] if len(r["visits"]) >= 2)
        on_site = route["visits"][0]
        started = parse_datetime(on_site["start"], "start")
        end = started + timedelta(hours=3)
        r = admin.patch(
            f"/v1/orders/{on_site['order_id']}",
            json={
                "status": "in_progress",
                "arrived_at": format_datetime(started),
                "expected_end": format_datetime(end),
            },
        )
        assert r.status_code == 200, r.text
        under_way = r.json()["under_way"]
        assert under_way["engineer_id"] == route["engineer_id"]  # from the published plan
        assert under_way["expected_end"] == format_datetime(end)

        # Another engineer is off sick for the whole horizon.
        sick = next(
            r["engineer_id"]
            for r in first["plan"]["routes"]
            if r["visits"] and r["engineer_id"] != route["engineer_id"]
        )
        absence = {"start": START, "end": "2026-11-30T00:00:00Z", "reason": "sick"}
        r = admin.post(f"/v1/engineers/{sick}/status", json={"absences": [absence]})
        assert r.status_code == 200, r.text

        second = _plan(admin)
        assert second["options"]["mode"] == "incremental"  # the default once published
        now = _visits(second)
        assert on_site["order_id"] not in now
        mine = next(r for r in second["plan"]["routes"] if r["engineer_id"] == route["engineer_id"])
        if mine["visits"]:
            assert parse_datetime(mine["visits"][0]["departure"], "departure") >= end
        changes = {c["order_id"]: c for c in second["changes"]}
        for order_id, visit in published.items():
            if order_id == on_site["order_id"]:
                continue
            if visit["engineer_id"] == sick:
                assert changes[order_id]["kind"] in ("reassigned", "dropped")
                assert changes[order_id]["from_engineer"] == sick
            elif order_id in now:
                assert now[order_id]["engineer_id"] == visit["engineer_id"], order_id
            else:
                assert changes[order_id]["kind"] == "dropped"

        # Publishing records the changes in the audit log.
        assert admin.post(f"/v1/plans/{second['id']}/publish").status_code == 200
        events = admin.get("/v1/audit").json()["items"]
        mine_event = next(
            e for e in events if e["action"] == "plan.publish" and e["subject_id"] == second["id"]
        )
        assert mine_event["detail"]["changes"] == second["changes"]


def test_an_order_under_way_names_its_engineer_when_no_plan_does(
    server_factory: ServerFactory,
) -> None:
    server = server_factory()
    world = generate_problem(3, 1, seed=2, planning_start=parse_datetime(START, "start"))
    with server.client(server.admin_key) as admin:
        first, second = world["orders"][:2]
        for order in (first, second):
            assert admin.post("/v1/orders", json=order).status_code == 201
        # In no published plan and no engineer given: out of planning, nobody fixed.
        r = admin.patch(f"/v1/orders/{first['id']}", json={"status": "in_progress"})
        assert r.status_code == 200, r.text
        assert r.json()["under_way"] is None
        r = admin.patch(
            f"/v1/orders/{second['id']}", json={"status": "in_progress", "engineer_id": "ENG-001"}
        )
        assert r.status_code == 200, r.text
        assert r.json()["under_way"]["engineer_id"] == "ENG-001"
        r = admin.patch(f"/v1/orders/{second['id']}", json={"expected_end": "2000-01-01T00:00:00Z"})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "expected_end"
        r = admin.patch(f"/v1/orders/{second['id']}", json={"engineer_id": "ENG-002"})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "engineer_id"


def test_a_quoted_slot_is_held_until_the_next_published_plan(
    server_factory: ServerFactory,
) -> None:
    server = server_factory()
    world = generate_problem(12, 3, seed=5, planning_start=parse_datetime(START, "start"))
    with server.client(server.admin_key) as admin:
        assert admin.put("/v1/policy", json=world["policy"]).status_code == 200
        for engineer in world["engineers"]:
            assert admin.put(f"/v1/engineers/{engineer['id']}", json=engineer).status_code == 201
        *first, last = world["orders"]
        for order in first:
            assert admin.post("/v1/orders", json=order).status_code == 201
        job = _plan(admin)
        assert admin.post(f"/v1/plans/{job['id']}/publish").status_code == 200

        hold = {"engineer_id": "ENG-002", "eta": "2026-11-24T09:00:00Z"}
        r = admin.post("/v1/orders", json={**last, "quote": hold})
        assert r.status_code == 201, r.text
        assert r.json()["hold"] == {"engineer_id": "ENG-002", "start": "2026-11-24T09:00:00Z"}
        assert "quote" not in r.json()["order"]  # not part of the stored Order document
        again = admin.post("/v1/orders", json=last)
        assert again.status_code == 200  # the same ticket: idempotent without the quote too

        job = _plan(admin)
        problem = admin.get(f"/v1/plans/{job['id']}/problem").json()
        held = [v for v in problem["published"] if v["order_id"] == last["id"]]
        assert held == [{"order_id": last["id"], "engineer_id": "ENG-002", "start": hold["eta"]}]
        assert admin.post(f"/v1/plans/{job['id']}/publish").status_code == 200
        assert admin.get(f"/v1/orders/{last['id']}").json()["hold"] is None
