"""The order API answers a late order's reason, its sentence and its fix (issue 24)."""

from __future__ import annotations

import json
from typing import Any

from api_harness import ROOT, ServerFactory
from api_helpers import wait_for_state

FIXTURE = ROOT / "fixtures" / "small" / "fix_deadline.json"


def test_a_late_order_answers_its_reason_sentence_and_fix(server_factory: ServerFactory) -> None:
    problem: dict[str, Any] = json.loads(FIXTURE.read_text())
    server = server_factory()
    with server.client(server.admin_key) as admin:
        assert admin.put("/v1/policy", json=problem["policy"]).status_code == 200
        for engineer in problem["engineers"]:
            assert admin.put(f"/v1/engineers/{engineer['id']}", json=engineer).status_code == 201
        for order in problem["orders"]:
            assert admin.post("/v1/orders", json=order).status_code == 201
        options = {"planning_start": problem["planning_start"], "horizon_hours": 24}
        r = admin.post("/v1/plans", json={**options, "time_limit_s": 20, "solution_limit": 50})
        assert r.status_code == 202, r.text
        job = wait_for_state(admin, r.json()["id"], {"done", "failed"})
        assert job["state"] == "done", job["error"]
        assert admin.post(f"/v1/plans/{job['id']}/publish").status_code == 200
        assignment = admin.get("/v1/orders/T").json()["assignment"]
    # fixtures/small/fix_deadline.json: E1 arrives 11:41:09, 101.15 min after 10:00.
    assert assignment["reason"] == "unreachable_before_deadline"
    assert assignment["detail"].startswith("the earliest any eligible engineer can arrive")
    fix = assignment["fix"]
    assert (fix["lever"], fix["engineer_id"], fix["minutes"]) == ("deadline", "E1", 102)
    assert fix["sentence"].startswith("on time if the deadline were 102 min later")
