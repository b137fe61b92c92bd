"""The database going away (issue 22, finding 8): 503 with ``Retry-After``, never a 500.

- The mapping (``api.problems``): connectivity errors of SQLAlchemy, psycopg and SQLite
  ("database is locked") are 503 ``/problems/service-unavailable`` with ``Retry-After`` and
  one warning line without a traceback; a mistake in a statement stays a 500.
- On PostgreSQL, a running server whose database sessions are all terminated (what a
  restart does to them) while a client posts orders: no 500, no dropped connection, every
  order acknowledged with 201 is stored, and it serves again at once.
- On PostgreSQL, a database that refuses connections (``ALLOW_CONNECTIONS false`` on the
  test's own database; the machine's PostgreSQL is never stopped): ``/readyz`` is 503 and
  requests get 503, then both recover when it accepts connections again; a plan job whose
  solve ends meanwhile is stored as done once it is back.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy.exc as sa_exc
from api_harness import PG_ADMIN_URL, Databases, Server, ServerFactory
from api_helpers import engineer_doc, order_doc, unique, wait_for_state
from fastapi import FastAPI

from api.problems import database_unavailable, install_problem_handlers


def _sa_error(cls: type[sa_exc.DBAPIError], orig: Exception) -> sa_exc.DBAPIError:
    return cls("INSERT INTO orders ...", {"secret": "x"}, orig)


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (_sa_error(sa_exc.OperationalError, sqlite3.OperationalError("database is locked")), True),
        (_sa_error(sa_exc.OperationalError, psycopg.OperationalError("connection refused")), True),
        (_sa_error(sa_exc.OperationalError, psycopg.errors.AdminShutdown("terminating")), True),
        (sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"), True),
        (sa_exc.DisconnectionError("gone"), True),
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (_sa_error(sa_exc.OperationalError, sqlite3.OperationalError("no such column: x")), False),
        (_sa_error(sa_exc.IntegrityError, sqlite3.IntegrityError("UNIQUE failed")), False),
        (_sa_error(sa_exc.ProgrammingError, psycopg.ProgrammingError("syntax error")), False),
        (ValueError("database is locked"), False),
    ],
)
def test_which_errors_mean_the_database_is_unavailable(error: Exception, unavailable: bool) -> None:
    assert database_unavailable(error) is unavailable


def test_an_invalidated_connection_is_unavailable_whatever_the_driver_said() -> None:
    error = sa_exc.DBAPIError("SELECT 1", None, Exception("closed"), connection_invalidated=True)
    assert database_unavailable(error)


def test_the_mapping_answers_503_with_retry_after_and_logs_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/locked")
    def locked() -> None:
        raise _sa_error(sa_exc.OperationalError, sqlite3.OperationalError("database is locked"))

    @app.get("/bug")
    def bug() -> None:
        raise _sa_error(sa_exc.OperationalError, sqlite3.OperationalError("no such column: x"))

    async def get(path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get(path)

    def run(path: str) -> httpx.Response:
        # In a thread of its own: an earlier test of the session may leave an event loop
        # running in this one, where asyncio.run refuses to start.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, get(path)).result()

    with caplog.at_level(logging.INFO):
        r = run("/locked")
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/service-unavailable"
        assert int(r.headers["retry-after"]) >= 1
        assert "secret" not in r.text and "INSERT" not in r.text
        warnings = [rec for rec in caplog.records if rec.name == "api.errors"]
        assert [(rec.levelname, rec.exc_info) for rec in warnings] == [("WARNING", None)]
        assert "database is locked" in warnings[0].getMessage()
        assert "secret" not in warnings[0].getMessage()

        r = run("/bug")
        assert r.status_code == 500
        assert r.json()["type"] == "/problems/internal-error"


# ---------------------------------------------------------------------------- PostgreSQL


def _require_postgresql(databases: Databases) -> None:
    if databases.backend != "postgresql":
        pytest.skip("PostgreSQL sessions are terminated here; SQLite has none to terminate")


def _db_name(server: Server) -> str:
    return server.database_url.rsplit("/", 1)[1]


@contextmanager
def _connect(database: str) -> Iterator[psycopg.Connection[Any]]:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/{database}", autocommit=True, connect_timeout=10) as conn:
        yield conn


def _server_log(server: Server) -> str:
    return "\n".join(p.read_text(errors="replace") for p in Path(server.log_dir).glob("*.log"))


def test_terminated_sessions_under_load_give_no_500_and_lose_no_order(
    databases: Databases, server_factory: ServerFactory
) -> None:
    _require_postgresql(databases)
    server = server_factory()
    key = server.new_key("ticketing")
    tag = unique("OUT")
    statuses: list[int] = []
    acknowledged: list[str] = []
    dropped: list[str] = []
    stop = threading.Event()

    def send(lane: int) -> None:
        with server.client(key) as client:
            i = 0
            while not stop.is_set():
                order_id = f"{tag}-{lane}-{i}"
                i += 1
                try:
                    r = client.post("/v1/orders", json=order_doc(order_id))
                except httpx.TransportError as exc:
                    dropped.append(f"{order_id}: {type(exc).__name__}: {exc}")
                    continue
                statuses.append(r.status_code)
                if r.status_code == 201:
                    acknowledged.append(order_id)

    senders = [threading.Thread(target=send, args=(lane,)) for lane in range(2)]
    for sender in senders:
        sender.start()
    terminated = 0
    try:
        with _connect(_db_name(server)) as conn:
            for _ in range(8):
                time.sleep(0.4)
                terminated += conn.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()[0]  # type: ignore[index]
    finally:
        time.sleep(0.5)
        stop.set()
        for sender in senders:
            sender.join(60)

    assert terminated > 0, "no session of the service was terminated: the test proved nothing"
    assert len(acknowledged) > 10, "too few orders sent to prove anything"
    assert set(statuses) <= {201, 503}, sorted(set(statuses))
    assert not dropped, dropped[:5]

    # It serves again (the pool replaces the dead connections).
    with server.client(key) as client:
        deadline = time.monotonic() + 30
        while (r := client.post("/v1/orders", json=order_doc(f"{tag}-after"))).status_code == 503:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.5)
        assert r.status_code == 201, r.text
        assert client.get("/readyz").status_code == 200

    with _connect(_db_name(server)) as conn:
        stored = {
            row[0] for row in conn.execute("SELECT id FROM orders WHERE id LIKE %s", (f"{tag}-%",))
        }
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged orders lost: {sorted(missing)[:5]}"
    log = _server_log(server)
    assert "unhandled error" not in log, log[-3000:]


def test_readyz_is_503_while_the_database_refuses_connections_and_ready_after(
    databases: Databases, server_factory: ServerFactory
) -> None:
    _require_postgresql(databases)
    server = server_factory()
    name = _db_name(server)
    key = server.new_key("ticketing")
    with _connect("test") as admin, server.client(key) as client:
        assert client.get("/readyz").status_code == 200
        try:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            r = client.get("/readyz")
            assert r.status_code == 503, r.text
            assert r.json()["type"] == "/problems/service-unavailable"
            r = client.post("/v1/orders", json=order_doc(unique("DOWN")))
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert int(r.headers["retry-after"]) >= 1
            assert client.get("/healthz").status_code == 200  # alive, just not ready
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        deadline = time.monotonic() + 30
        while (r := client.get("/readyz")).status_code != 200:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.5)
        assert client.post("/v1/orders", json=order_doc(unique("BACK"))).status_code == 201
    log = _server_log(server)
    assert "database unavailable on POST /v1/orders" in log
    assert "unhandled error" not in log, log[-3000:]


def test_a_job_finishing_while_the_database_is_away_is_stored_when_it_is_back(
    databases: Databases, server_factory: ServerFactory
) -> None:
    _require_postgresql(databases)
    server = server_factory(planner="slow_planner:plan_problem", job_workers="1")
    name = _db_name(server)
    with server.client(server.admin_key) as admin:
        admin.put("/v1/engineers/E1", json=engineer_doc())
        admin.post("/v1/orders", json=order_doc("AWAY-1"))
        job_id = admin.post("/v1/plans", json={"time_limit_s": 3}).json()["id"]
        wait_for_state(admin, job_id, {"running"})
        with _connect("test") as pg:
            try:
                pg.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                pg.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
                # The solve ends while the database is away: wait until storing it failed.
                deadline = time.monotonic() + 120
                while f"job {job_id}: database unavailable" not in _server_log(server):
                    assert time.monotonic() < deadline, _server_log(server)[-3000:]
                    time.sleep(0.5)
            finally:
                pg.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        job = wait_for_state(admin, job_id, {"done", "failed"}, 120)
        assert job["state"] == "done", job
        assert job["plan"]["kpis"]["assigned"] == 1
