"""Solver capacity and solver processes (issue 22, findings 5 and 6).

- ``POST /v1/solve`` has its own solver processes (``DISPATCH_SOLVE_WORKERS``, default 1):
  it answers while a long plan job holds the job pool, and when its own capacity is busy it
  answers 429 with ``Retry-After`` instead of queueing.
- Every process a server starts dies with it: after a SIGKILL of the server (no shutdown
  hook runs) its solver processes, busy or idle, exit on their own.
- A graceful stop (SIGTERM) fails its own running job as ``interrupted`` itself.

The servers run ``slow_planner`` (it sleeps out its time limit, then returns the real
planner's first solution), so the tests decide how long a solve holds its process; they
assert orders of events, never durations.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from api_harness import Server, ServerFactory, process_alive
from api_helpers import engineer_doc, order_doc, wait_for_state

from api.persistence.db import create_db_engine

SLOW = "slow_planner:plan_problem"


def _problem() -> dict[str, Any]:
    engineer = {"id": "E1", **engineer_doc()}
    order = order_doc("S-1")
    return {
        "planning_start": "2026-11-23T08:00:00+08:00",
        "horizon_hours": 48,
        "policy": {"home_country": "CN"},
        "engineers": [engineer],
        "orders": [order],
    }


def _solve(client: httpx.Client, time_limit_s: float) -> httpx.Response:
    return client.post(
        "/v1/solve",
        params={"time_limit_s": time_limit_s, "solution_limit": 1},
        json=_problem(),
        timeout=120,
    )


@pytest.fixture(scope="module")
def slow_server(server_factory: ServerFactory) -> Server:
    server = server_factory(planner=SLOW, job_workers="1")
    with server.client(server.admin_key) as admin:
        assert admin.put("/v1/engineers/E1", json=engineer_doc()).status_code in (200, 201)
        assert admin.post("/v1/orders", json=order_doc("ISO-1")).status_code == 201
    return server


def test_a_stateless_solve_does_not_wait_behind_a_running_plan_job(slow_server: Server) -> None:
    with slow_server.client(slow_server.admin_key) as admin:
        job_id = admin.post("/v1/plans", json={"time_limit_s": 240}).json()["id"]
        try:
            wait_for_state(admin, job_id, {"running"})
            r = _solve(admin, 0.5)
            assert r.status_code == 200, r.text
            assert r.json()["kpis"]["assigned"] == 1
            # The job's one solver process is still busy: the solve did not wait for it.
            assert admin.get(f"/v1/plans/{job_id}").json()["state"] == "running"
        finally:
            admin.delete(f"/v1/plans/{job_id}")


def test_busy_stateless_capacity_answers_429_with_retry_after(slow_server: Server) -> None:
    long_answers: list[httpx.Response] = []

    def long_solve() -> None:
        with slow_server.client(slow_server.admin_key) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                r = _solve(client, 10)
                if r.status_code != 429:  # a short probe held the process: try again
                    long_answers.append(r)
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=long_solve)
    thread.start()
    try:
        busy = None
        with slow_server.client(slow_server.admin_key) as admin:
            deadline = time.monotonic() + 120
            while busy is None and thread.is_alive() and time.monotonic() < deadline:
                r = _solve(admin, 0.2)
                if r.status_code == 429:
                    busy = r
                else:  # the long solve was not admitted yet
                    assert r.status_code == 200, r.text
                    time.sleep(0.1)
        assert busy is not None, "the long solve never held the stateless solver process"
        assert busy.headers["content-type"] == "application/problem+json"
        assert busy.json()["type"] == "/problems/too-many-requests"
        assert 1 <= int(busy.headers["retry-after"]) <= 11
    finally:
        thread.join(150)
    assert [r.status_code for r in long_answers] == [200]


# ---------------------------------------------------------------------------- SIGKILL


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, from /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[19])


def _descendants(root: int) -> dict[int, int]:
    """pid → start time of every live process below ``root``."""
    parents: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        stat = _stat(int(entry.name))
        if stat is not None:
            parents[int(entry.name)] = stat
    found: dict[int, int] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, started) in parents.items():
            if ppid == parent and pid not in found and process_alive(pid):
                found[pid] = started
                frontier.append(pid)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _still_there(processes: dict[int, int]) -> dict[int, str]:
    return {
        pid: _cmdline(pid)
        for pid, started in processes.items()
        if process_alive(pid) and (_stat(pid) or (0, -1))[1] == started
    }


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("workers", ["1", "2"])
def test_solver_processes_die_with_a_killed_server(
    server_factory: ServerFactory, workers: str
) -> None:
    server = server_factory(planner=SLOW, job_workers="1", workers=workers)
    assert server.process is not None
    with server.client(server.admin_key) as admin:
        admin.put("/v1/engineers/E1", json=engineer_doc())
        admin.post("/v1/orders", json=order_doc("KILL-1"))
        # An idle stateless solver process, and a job's solver process busy for minutes.
        assert _solve(admin, 0.2).status_code == 200
        job_id = admin.post("/v1/plans", json={"time_limit_s": 280}).json()["id"]
        wait_for_state(admin, job_id, {"running"})
    children = _descendants(server.process.pid)
    solvers = [pid for pid in children if "spawn_main" in _cmdline(pid)]
    assert len(solvers) >= 2 + (int(workers) if workers != "1" else 0), {
        pid: _cmdline(pid) for pid in children
    }

    os.kill(server.process.pid, signal.SIGKILL)  # a crash: no shutdown hook runs
    server.process.wait(30)
    deadline = time.monotonic() + 30
    while _still_there(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _still_there(children)
    server.kill()  # the harness's clean-up, in case the assertion fails
    assert not left, f"processes outlived the killed server: {left}"


def test_a_graceful_stop_fails_its_running_job_itself(server_factory: ServerFactory) -> None:
    server = server_factory(planner=SLOW, job_workers="1")
    with server.client(server.admin_key) as admin:
        admin.post("/v1/orders", json=order_doc("STOP-1"))
        job_id = admin.post("/v1/plans", json={"time_limit_s": 280}).json()["id"]
        wait_for_state(admin, job_id, {"running"})
    server.stop()  # SIGTERM; no server starts after it, so no start-up recovery ran
    engine = create_db_engine(server.database_url)
    try:
        with engine.connect() as conn:
            state, error = conn.execute(
                sa.text("SELECT state, error FROM plan_jobs WHERE id = :id"), {"id": job_id}
            ).one()
    finally:
        engine.dispose()
    assert state == "failed", (state, error)
    assert error.startswith("interrupted"), error
