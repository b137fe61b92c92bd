"""What-if simulation jobs: submit a scenario, follow it to its results; bad input, roles."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from api_harness import ServerFactory

TINY_SCENARIO = """\
name = "tiny"
seed = 5

[base]
start = 2026-11-23T00:00:00+08:00

[base.roster]
engineers = 4
seed = 7

[base.demand]
tickets_per_day = 4

[simulation]
days = 1
drain_days = 0.5
replan_every_hours = 6

[simulation.solver]
time_limit_s = 2
solution_limit = 3

[[variants]]
name = "more demand"
[[variants.modifications]]
type = "demand"
multiplier = 1.5
"""


def _wait_done(client: httpx.Client, location: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(location).json()
        if body["state"] not in ("queued", "running"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def _invalid(r: httpx.Response) -> list[str]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/problems/invalid-input")
    return [e["path"] for e in r.json()["errors"]]


def test_a_tiny_scenario_runs_to_results_for_every_variant(coordinator: httpx.Client) -> None:
    r = coordinator.post(
        "/v1/simulations", json={"scenario": TINY_SCENARIO, "replications": 2, "seed": 11}
    )
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == f"/v1/simulations/{job['id']}"
    assert job["state"] in ("queued", "running")
    assert job["variants"] == ["base", "more demand"]
    assert job["progress"] == {"replications_done": 0, "replications_total": 4}

    done = _wait_done(coordinator, r.headers["location"])
    assert done["state"] == "done", done
    assert done["progress"]["replications_done"] == 4
    results = done["results"]
    assert results["scenario"]["seed"] == 11
    assert results["scenario"]["simulation"]["replications"] == 2
    variants = {v["name"]: v for v in results["comparison"]["variants"]}
    assert set(variants) == {"base", "more demand"}
    on_time = variants["more demand"]["metrics"]["on_time_rate"]
    assert on_time["n"] == 2 and on_time["low"] is not None
    assert "on_time_rate" in variants["more demand"]["difference_to_base"]
    assert isinstance(results["comparison"]["warnings"], list)
    assert len(results["replications"]) == 4


def test_bad_scenarios_are_422_naming_the_field(coordinator: httpx.Client) -> None:
    post = coordinator.post
    assert _invalid(post("/v1/simulations", json={"scenario": "name = ["})) == ["scenario"]
    bad_value = TINY_SCENARIO.replace("tickets_per_day = 4", "tickets_per_day = -4")
    assert _invalid(post("/v1/simulations", json={"scenario": bad_value})) == [
        "scenario.base.demand.tickets_per_day"
    ]
    bad_mod = TINY_SCENARIO.replace("multiplier = 1.5", "multiplier = 1.5\nshout = 1")
    assert _invalid(post("/v1/simulations", json={"scenario": bad_mod}))[0].startswith(
        "scenario.variants[0].modifications[0]"
    )
    file_base = '[base]\nproblem = "../small/two_engineers_four_orders.json"\n'
    assert _invalid(post("/v1/simulations", json={"scenario": file_base})) == [
        "scenario.base.problem"
    ]
    history = TINY_SCENARIO.replace("tickets_per_day = 4", 'history = "/etc/passwd"')
    assert _invalid(post("/v1/simulations", json={"scenario": history})) == [
        "scenario.base.demand.history"
    ]
    too_many = {"scenario": TINY_SCENARIO, "replications": 51}
    assert _invalid(post("/v1/simulations", json=too_many)) == ["replications"]
    warm = TINY_SCENARIO.replace("days = 1\n", "days = 1\nwarmup_days = 0.5\n")
    assert _invalid(post("/v1/simulations", json={"scenario": warm, "days": 0.5})) == ["days"]


def test_roles_and_unknown_ids(
    ticketing: httpx.Client, coordinator: httpx.Client, admin: httpx.Client
) -> None:
    r = ticketing.post("/v1/simulations", json={"scenario": TINY_SCENARIO})
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert ticketing.get("/v1/simulations/nope").status_code == 403
    r = coordinator.get("/v1/simulations/0123456789abcdef")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert admin.get("/v1/simulations/0123456789abcdef").status_code == 404


def _descendants(pid: int) -> list[int]:
    """The live processes under ``pid`` (Linux ``/proc``), children first."""
    found: list[int] = []
    for tasks in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = [int(c) for c in tasks.read_text().split()]
        except OSError:
            continue
        for child in children:
            found += [child, *_descendants(child)]
    return found


def test_simulations_interrupted_by_a_crash_are_failed_on_restart(
    server_factory: ServerFactory,
) -> None:
    # One simulation process, room for two jobs: one runs, one waits, when the server dies.
    # Start-up recovery is the pool executor's; the queue's (the default on PostgreSQL)
    # leases: tests/api/test_worker.py.
    server = server_factory(job_workers="1", job_queue_limit="2", job_executor="pool")
    long_run = {"scenario": TINY_SCENARIO, "replications": 20}
    try:
        with server.client(server.admin_key) as admin:
            running = admin.post("/v1/simulations", json=long_run).json()["id"]
            queued = admin.post("/v1/simulations", json=long_run).json()["id"]
            deadline = time.monotonic() + 60
            while admin.get(f"/v1/simulations/{running}").json()["state"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert admin.get(f"/v1/simulations/{queued}").json()["state"] == "queued"
        assert server.process is not None
        orphans = _descendants(server.process.pid)
        server.kill()
        for pid in orphans:  # the simulation process would run its 40 replications on
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

        server.start()
        with server.client(server.admin_key) as admin:
            for job_id in (running, queued):
                job = admin.get(f"/v1/simulations/{job_id}").json()
                assert job["state"] == "failed", job
                assert job["error"].startswith("interrupted")
            # Neither counts against the queue limit any more.
            quick = {"scenario": TINY_SCENARIO, "replications": 1}
            for _ in range(2):
                r = admin.post("/v1/simulations", json=quick)
                assert r.status_code == 202, r.text
    finally:
        server.stop()


def test_the_simulations_list_shows_the_newest_first_without_results(
    ticketing: httpx.Client, coordinator: httpx.Client
) -> None:
    first = coordinator.post("/v1/simulations", json={"scenario": TINY_SCENARIO})
    second = coordinator.post("/v1/simulations", json={"scenario": TINY_SCENARIO})
    assert first.status_code == 202 and second.status_code == 202, (first.text, second.text)
    r = coordinator.get("/v1/simulations", params={"limit": 100})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    ids = [item["id"] for item in items]
    assert ids.index(second.json()["id"]) < ids.index(first.json()["id"])
    assert all(item["results"] is None for item in items)
    assert {item["scenario"] for item in items if item["id"] == first.json()["id"]} == {"tiny"}
    assert len(coordinator.get("/v1/simulations", params={"limit": 1}).json()["items"]) == 1
    assert coordinator.get("/v1/simulations", params={"limit": 0}).status_code == 422
    assert ticketing.get("/v1/simulations").status_code == 403
