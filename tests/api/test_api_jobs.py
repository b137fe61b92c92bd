"""Plan jobs: progress, cancel, failure, queue limit, and no job stuck after a crash.

These servers run ``slow_planner`` (it sleeps out its time limit, reporting progress), so
the timing of a job is under the test's control.
"""

from __future__ import annotations

import time

import pytest
from api_harness import Server, ServerFactory
from api_helpers import engineer_doc, order_doc, wait_for_state


@pytest.fixture(scope="module")
def slow_server(server_factory: ServerFactory) -> Server:
    server = server_factory(
        planner="slow_planner:plan_problem", job_workers="1", job_queue_limit="2"
    )
    with server.client(server.admin_key) as admin:
        admin.put("/v1/engineers/E1", json=engineer_doc())
        admin.post("/v1/orders", json=order_doc("O-1"))
    return server


def test_running_job_reports_progress_and_can_be_cancelled(slow_server: Server) -> None:
    with slow_server.client(slow_server.admin_key) as admin:
        job_id = admin.post("/v1/plans", json={"time_limit_s": 4}).json()["id"]
        deadline = time.monotonic() + 30
        while (job := admin.get(f"/v1/plans/{job_id}").json())["progress"] is None:
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        assert job["state"] == "running"
        assert job["progress"]["solutions"] >= 1
        r = admin.delete(f"/v1/plans/{job_id}")
        assert r.status_code == 200
        assert r.json()["state"] == "cancelled"
        assert admin.delete(f"/v1/plans/{job_id}").status_code == 409
        assert admin.post(f"/v1/plans/{job_id}/publish").status_code == 409
        actions = {(e["action"], e["subject_id"]) for e in admin.get("/v1/audit").json()["items"]}
        assert ("plan.cancel", job_id) in actions


def test_full_queue_answers_429_with_retry_after(slow_server: Server) -> None:
    with slow_server.client(slow_server.admin_key) as admin:
        # The cancelled job of the previous test may still occupy the solver process.
        first = admin.post("/v1/plans", json={"time_limit_s": 3}).json()["id"]
        second = admin.post("/v1/plans", json={"time_limit_s": 3}).json()["id"]
        r = admin.post("/v1/plans", json={"time_limit_s": 3})
        assert r.status_code == 429
        assert r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["retry-after"]) >= 1
        for job_id in (first, second):
            assert wait_for_state(admin, job_id, {"done", "failed"}, 90)["state"] == "done"
        assert admin.post("/v1/plans", json={"time_limit_s": 0.5}).status_code == 202


def test_a_failing_solve_fails_the_job_with_the_reason(slow_server: Server) -> None:
    with slow_server.client(slow_server.admin_key) as admin:
        admin.patch("/v1/orders/O-1", json={"status": "cancelled"})
        admin.post("/v1/orders", json=order_doc("FAIL-1"))
        job_id = admin.post("/v1/plans", json={"time_limit_s": 0.2}).json()["id"]
        job = wait_for_state(admin, job_id, {"done", "failed"}, 90)
        assert job["state"] == "failed"
        assert "told to fail" in job["error"]


def test_options_are_validated(slow_server: Server) -> None:
    with slow_server.client(slow_server.admin_key) as admin:
        r = admin.post("/v1/plans", json={"time_limit_s": 1e6})
        assert r.status_code == 422
        assert r.json()["errors"][0]["path"] == "time_limit_s"
        r = admin.post("/v1/plans", json={"planning_start": "tomorrow"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["path"] == "planning_start"


def test_jobs_interrupted_by_a_crash_are_failed_on_restart(server_factory: ServerFactory) -> None:
    # Start-up recovery is the pool executor's; the queue's (the default on PostgreSQL)
    # leases: tests/api/test_worker.py.
    server = server_factory(
        planner="slow_planner:plan_problem", job_workers="1", job_executor="pool"
    )
    with server.client(server.admin_key) as admin:
        admin.post("/v1/orders", json=order_doc())
        running = admin.post("/v1/plans", json={"time_limit_s": 60}).json()["id"]
        queued = admin.post("/v1/plans", json={"time_limit_s": 60}).json()["id"]
        wait_for_state(admin, running, {"running"})
    server.kill()
    server.start()
    with server.client(server.admin_key) as admin:
        for job_id in (running, queued):
            job = admin.get(f"/v1/plans/{job_id}").json()
            assert job["state"] == "failed"
            assert job["error"].startswith("interrupted")


def test_cancelling_a_running_job_stops_its_solve_and_frees_the_solver_process(
    server_factory: ServerFactory,
) -> None:
    # One solver process: job B can only run once job A's solve has actually stopped.
    server = server_factory(planner="slow_planner:plan_problem", job_workers="1")
    with server.client(server.admin_key) as admin:
        admin.put("/v1/engineers/E1", json=engineer_doc())
        admin.post("/v1/orders", json=order_doc("O-stop"))
        a = admin.post("/v1/plans", json={"time_limit_s": 120}).json()["id"]
        wait_for_state(admin, a, {"running"})
        assert admin.delete(f"/v1/plans/{a}").status_code == 200
        cancelled_at = time.monotonic()
        b = admin.post("/v1/plans", json={"time_limit_s": 1}).json()["id"]
        wait_for_state(admin, b, {"done"})
        # Without the stop, A would hold the process for its full 120 s.
        assert time.monotonic() - cancelled_at < 30
