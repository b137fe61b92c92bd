"""Jobs on ``dispatch worker`` processes through the PostgreSQL queue (issue 22, item 2).

Servers here run ``DISPATCH_JOB_EXECUTOR=queue`` with ``DISPATCH_LOCAL_WORKERS=0`` unless a
test says otherwise, so a job is done only if a separate ``python -m api worker`` process
took it; the job row's ``worker_id`` (``host:pid:random``) names the worker that ran it.
Leases are 3 s so that lost workers are found quickly; every wait is bounded by a
deadline and asserts an outcome, never a duration.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_harness import Databases, Server, ServerFactory, Worker, pg_query
from api_helpers import engineer_doc, order_doc, unique, wait_for_state

from api.settings import Settings
from dispatcher.errors import InputError

SLOW = "slow_planner:plan_problem"
LEASE_S = "3"
WorkerFactory = Callable[[Server], Worker]

TINY_SCENARIO = """\
name = "tiny"
seed = 5

[base]
start = 2026-11-23T00:00:00+08:00

[base.roster]
engineers = 2
seed = 7

[base.demand]
tickets_per_day = 3

[simulation]
days = 1
drain_days = 0.5
replan_every_hours = 12

[simulation.solver]
time_limit_s = 1
solution_limit = 2
"""


@pytest.fixture
def pg(databases: Databases) -> None:
    if databases.backend != "postgresql":
        pytest.skip("the queue executor needs PostgreSQL")


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[WorkerFactory]:
    started: list[Worker] = []

    def start(server: Server) -> Worker:
        worker = Worker(database_url=server.database_url, log_dir=tmp_path, env=server.env)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop()


def queue_server(server_factory: ServerFactory, **env: str) -> Server:
    settings = {"job_executor": "queue", "local_workers": "0", "job_lease_seconds": LEASE_S}
    return server_factory(**{**settings, **env})


def _load(client: httpx.Client, orders: int = 2) -> None:
    assert client.put("/v1/engineers/E1", json=engineer_doc()).status_code in (200, 201)
    for _ in range(orders):
        assert client.post("/v1/orders", json=order_doc(unique("Q"))).status_code == 201


def _job_row(server: Server, table: str, job_id: str) -> tuple[Any, ...]:
    rows = pg_query(
        server.database_url, f"SELECT state, error, worker_id FROM {table} WHERE id = %s", job_id
    )
    assert len(rows) == 1
    return rows[0]


def _wait_row(
    server: Server, table: str, job_id: str, states: set[str], timeout_s: float = 90
) -> tuple[Any, ...]:
    deadline = time.monotonic() + timeout_s
    while True:
        row = _job_row(server, table, job_id)
        if row[0] in states:
            return row
        assert time.monotonic() < deadline, f"{table} {job_id} still {row} after {timeout_s}s"
        time.sleep(0.2)


def _ran_on(worker: Worker, worker_id: str | None) -> bool:
    assert worker.process is not None
    return worker_id is not None and f":{worker.process.pid}:" in worker_id


def test_a_worker_process_runs_plan_jobs_and_simulations(
    pg: None, server_factory: ServerFactory, worker_factory: WorkerFactory
) -> None:
    server = queue_server(server_factory)
    with server.client(server.admin_key) as admin:
        _load(admin)
        job_id = admin.post("/v1/plans", json={"time_limit_s": 2, "solution_limit": 5}).json()["id"]
        # No worker yet: the job waits on the queue, the API process does not run it.
        time.sleep(1.0)
        assert admin.get(f"/v1/plans/{job_id}").json()["state"] == "queued"
        worker = worker_factory(server)
        done = wait_for_state(admin, job_id, {"done", "failed"}, timeout_s=120)
        assert done["state"] == "done", done
        assert done["plan"]["kpis"]["assigned"] == 2
        assert _ran_on(worker, _job_row(server, "plan_jobs", job_id)[2])

        r = admin.post("/v1/simulations", json={"scenario": TINY_SCENARIO, "replications": 1})
        assert r.status_code == 202, r.text
        sim_id = r.json()["id"]
        state, error, worker_id = _wait_row(
            server, "simulation_jobs", sim_id, {"done", "failed"}, 180
        )
        assert (state, error) == ("done", None)
        assert _ran_on(worker, worker_id)
        assert admin.get(f"/v1/simulations/{sim_id}").json()["results"] is not None


def test_a_killed_workers_job_is_failed_by_the_other_workers_sweep(
    pg: None, server_factory: ServerFactory, worker_factory: WorkerFactory
) -> None:
    server = queue_server(server_factory, planner=SLOW)
    workers = [worker_factory(server), worker_factory(server)]
    with server.client(server.admin_key) as admin:
        _load(admin, orders=1)
        job_id = admin.post("/v1/plans", json={"time_limit_s": 240}).json()["id"]
        wait_for_state(admin, job_id, {"running"})
        worker_id = _job_row(server, "plan_jobs", job_id)[2]
        victim = next(w for w in workers if _ran_on(w, worker_id))
        survivor = next(w for w in workers if w is not victim)
        its_processes = victim.tagged_pids()
        assert len(its_processes) >= 2, its_processes  # the worker and its solver process

        assert victim.process is not None
        os.kill(victim.process.pid, signal.SIGKILL)
        victim.process.wait(10)
        deadline = time.monotonic() + 30
        while victim.tagged_pids() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not victim.tagged_pids(), "the killed worker's solver outlived it"

        state, error, _ = _wait_row(server, "plan_jobs", job_id, {"failed", "done"}, 60)
        assert state == "failed"
        assert error.startswith("worker lost"), error
        # The survivor still takes work.
        again = admin.post("/v1/plans", json={"time_limit_s": 0.5}).json()["id"]
        assert wait_for_state(admin, again, {"done", "failed"}, 120)["state"] == "done"
        assert _ran_on(survivor, _job_row(server, "plan_jobs", again)[2])


def test_a_job_whose_task_was_lost_is_queued_again_by_the_sweep(
    pg: None, server_factory: ServerFactory, worker_factory: WorkerFactory
) -> None:
    server = queue_server(server_factory, planner=SLOW)
    with server.client(server.admin_key) as admin:
        _load(admin, orders=1)
        job_id = admin.post("/v1/plans", json={"time_limit_s": 0.5}).json()["id"]
        deadline = time.monotonic() + 30
        while not pg_query(server.database_url, "SELECT id FROM procrastinate_jobs"):
            assert time.monotonic() < deadline, "the job's task was never queued"
            time.sleep(0.1)
        # The API process died between the job's commit and its task: no task is left.
        pg_query(server.database_url, "DELETE FROM procrastinate_jobs")
        worker = worker_factory(server)
        assert wait_for_state(admin, job_id, {"done", "failed"}, 120)["state"] == "done"
        assert _ran_on(worker, _job_row(server, "plan_jobs", job_id)[2])
    assert "its task was lost; queued again" in worker.log_text()


def test_a_starting_replica_leaves_the_running_jobs_of_the_others_alone(
    pg: None, server_factory: ServerFactory, worker_factory: WorkerFactory
) -> None:
    server = queue_server(server_factory, planner=SLOW)
    worker_factory(server)
    with server.client(server.admin_key) as admin:
        _load(admin, orders=1)
        job_id = admin.post("/v1/plans", json={"time_limit_s": 8}).json()["id"]
        wait_for_state(admin, job_id, {"running"})
        replica = Server(server.database_url, server.log_dir, env=dict(server.env)).start()
        try:
            assert admin.get(f"/v1/plans/{job_id}").json()["state"] == "running"
            with replica.client(server.admin_key) as other:
                done = wait_for_state(other, job_id, {"done", "failed"}, 120)
            assert done["state"] == "done", done
        finally:
            replica.stop()


def test_by_default_on_postgresql_a_crashed_servers_jobs_are_settled_by_leases(
    pg: None, server_factory: ServerFactory
) -> None:
    """One command, no executor named: ``serve`` on PostgreSQL runs jobs on its local
    worker. After a SIGKILL and a restart the running job is failed ``worker lost`` by the
    new worker's sweep (no start-up recovery: never ``interrupted``) and the queued one is
    run by the new worker."""
    server = server_factory(planner=SLOW, job_workers="1", job_lease_seconds=LEASE_S)
    with server.client(server.admin_key) as admin:
        _load(admin, orders=1)
        running = admin.post("/v1/plans", json={"time_limit_s": 240}).json()["id"]
        queued = admin.post("/v1/plans", json={"time_limit_s": 0.5}).json()["id"]
        wait_for_state(admin, running, {"running"})
        first_worker = _job_row(server, "plan_jobs", running)[2]
        assert first_worker is not None  # a worker process claimed it, not the API
        assert admin.get(f"/v1/plans/{queued}").json()["state"] == "queued"
    server.kill()
    server.start()
    state, error, _ = _wait_row(server, "plan_jobs", running, {"failed", "done"}, 60)
    assert state == "failed" and error.startswith("worker lost"), (state, error)
    state, error, second_worker = _wait_row(server, "plan_jobs", queued, {"failed", "done"}, 120)
    assert (state, error) == ("done", None)
    assert second_worker is not None and second_worker != first_worker


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_local_workers_of_a_killed_server_and_their_solvers_die_with_it(
    pg: None, server_factory: ServerFactory
) -> None:
    server = queue_server(server_factory, planner=SLOW, local_workers="1")
    with server.client(server.admin_key) as admin:
        _load(admin, orders=1)
        job_id = admin.post("/v1/plans", json={"time_limit_s": 240}).json()["id"]
        wait_for_state(admin, job_id, {"running"})
    processes = server.tagged_pids()
    # serve, its worker, the worker's solver, the API's stateless pool and resource trackers
    assert len(processes) >= 3, processes
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(10)
    deadline = time.monotonic() + 30
    while server.tagged_pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    left = server.tagged_pids()
    server.kill()  # the harness's clean-up, in case the assertion fails
    assert not left, f"processes outlived the killed server: {left}"


def test_the_queue_executor_refuses_sqlite_naming_the_setting(tmp_path: Path) -> None:
    server = Server(
        database_url=f"sqlite:///{tmp_path / 'q.db'}",
        log_dir=tmp_path,
        env={"DISPATCH_JOB_EXECUTOR": "queue"},
    )
    done = server.cli_run("worker")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "DISPATCH_JOB_EXECUTOR" in done.stderr and "PostgreSQL" in done.stderr


def test_a_cancelled_job_never_starts_and_a_running_one_stops(
    pg: None, server_factory: ServerFactory, worker_factory: WorkerFactory
) -> None:
    server = queue_server(server_factory, planner=SLOW)
    with server.client(server.admin_key) as admin:
        _load(admin, orders=1)
        queued = admin.post("/v1/plans", json={"time_limit_s": 0.5}).json()["id"]
        assert admin.delete(f"/v1/plans/{queued}").status_code == 200
        worker = worker_factory(server)
        running = admin.post("/v1/plans", json={"time_limit_s": 240}).json()["id"]
        wait_for_state(admin, running, {"running"})
        assert admin.delete(f"/v1/plans/{running}").status_code == 200
        # The worker is free again well before 240 s: the next job is done.
        after = admin.post("/v1/plans", json={"time_limit_s": 0.5}).json()["id"]
        assert wait_for_state(admin, after, {"done", "failed"}, 120)["state"] == "done"
        assert _ran_on(worker, _job_row(server, "plan_jobs", after)[2])
    state, _, worker_id = _job_row(server, "plan_jobs", queued)
    assert (state, worker_id) == ("cancelled", None)  # never claimed by a worker
    assert _job_row(server, "plan_jobs", running)[0] == "cancelled"


def test_a_worker_stopped_gracefully_fails_its_running_job_itself(
    pg: None, server_factory: ServerFactory, worker_factory: WorkerFactory
) -> None:
    server = queue_server(server_factory, planner=SLOW)
    worker = worker_factory(server)
    with server.client(server.admin_key) as admin:
        _load(admin, orders=1)
        job_id = admin.post("/v1/plans", json={"time_limit_s": 240}).json()["id"]
        wait_for_state(admin, job_id, {"running"})
    processes = worker.tagged_pids()
    assert worker.process is not None
    worker.process.send_signal(signal.SIGTERM)
    assert worker.process.wait(60) == 0
    state, error, _ = _job_row(server, "plan_jobs", job_id)
    assert state == "failed" and error.startswith("interrupted"), (state, error)
    deadline = time.monotonic() + 30
    while worker.tagged_pids() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not worker.tagged_pids(), f"left after the stop: {processes}"


PG_URL = "postgresql+psycopg://dispatch@db:5432/dispatch"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"DISPATCH_JOB_EXECUTOR": "queue"}, "DISPATCH_JOB_EXECUTOR"),  # SQLite by default
        (
            {"DISPATCH_JOB_EXECUTOR": "ray", "DISPATCH_DATABASE_URL": PG_URL},
            "DISPATCH_JOB_EXECUTOR",
        ),
        ({"DISPATCH_LOCAL_WORKERS": "-1"}, "DISPATCH_LOCAL_WORKERS"),
        ({"DISPATCH_JOB_LEASE_SECONDS": "0"}, "DISPATCH_JOB_LEASE_SECONDS"),
    ],
)
def test_queue_settings_are_checked_naming_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(InputError) as error:
        Settings.from_env(env)
    assert error.value.path == variable


def test_queue_settings_from_the_environment() -> None:
    env = {
        "DISPATCH_JOB_EXECUTOR": "queue",
        "DISPATCH_DATABASE_URL": PG_URL,
        "DISPATCH_LOCAL_WORKERS": "0",
        "DISPATCH_JOB_LEASE_SECONDS": "7.5",
    }
    settings = Settings.from_env(env)
    assert (settings.job_executor, settings.local_workers, settings.job_lease_seconds) == (
        "queue",
        0,
        7.5,
    )
    assert Settings.from_env({}).job_executor == "pool"


@pytest.mark.parametrize(
    ("env", "executor"),
    [
        ({}, "pool"),  # SQLite by default
        ({"DISPATCH_DATABASE_URL": PG_URL}, "queue"),
        ({"DISPATCH_DATABASE_URL": PG_URL, "DISPATCH_JOB_EXECUTOR": "auto"}, "queue"),
        ({"DISPATCH_DATABASE_URL": "sqlite:///x.db", "DISPATCH_JOB_EXECUTOR": "auto"}, "pool"),
        ({"DISPATCH_DATABASE_URL": PG_URL, "DISPATCH_JOB_EXECUTOR": "pool"}, "pool"),
    ],
)
def test_the_default_executor_is_the_queue_on_postgresql_and_the_pool_on_sqlite(
    env: dict[str, str], executor: str
) -> None:
    settings = Settings.from_env(env)
    assert settings.job_executor == executor
    assert Settings.from_env(settings.to_env()).job_executor == executor
