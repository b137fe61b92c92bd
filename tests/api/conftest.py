"""Fixtures of the API end-to-end tests: every test runs once per database backend.

PostgreSQL gets a fresh database per server (``CREATE DATABASE dispatch_test_<random>``
through the ``test`` database), dropped at the end; the PostgreSQL half is skipped, with
the reason, when the server is unreachable.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

# The suite runs with --import-mode=importlib, which puts no test directory on sys.path;
# the harness and helpers next to this file are imported by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_harness import (  # noqa: E402
    BACKENDS,
    PG_ADMIN_URL,
    Databases,
    Keys,
    Server,
    ServerFactory,
    pg_unreachable_reason,
)


@pytest.fixture(scope="session", params=BACKENDS)
def databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Databases]:
    backend = request.param
    if backend == "postgresql":
        reason = pg_unreachable_reason()
        if reason is not None:
            pytest.skip(
                f"PostgreSQL at {PG_ADMIN_URL} unreachable ({reason}); API tests ran on SQLite only"
            )
    dbs = Databases(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    yield dbs
    dbs.drop_all()


_STARTED: list[Server] = []  # every server of the session, in the order they started


@pytest.fixture(autouse=True)
def _stop_the_servers_a_test_started() -> Iterator[None]:
    """Stop, when a test ends, the servers it (or its function-scoped fixtures) started;
    those of session- and module-scoped fixtures started before this fixture and live on.
    An idle server holds database connections, and on PostgreSQL, where the default
    executor is the queue, a ``dispatch worker`` with more; kept to the end of the session
    they add up past PostgreSQL's ``max_connections``."""
    mark = len(_STARTED)
    yield
    for server in _STARTED[mark:]:
        server.stop()


@pytest.fixture(scope="session")
def server_factory(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerFactory]:
    """Start servers on fresh databases of the session's backend; all stopped at the end."""
    started: list[Server] = []

    def start(**env: str) -> Server:
        server = Server(
            database_url=databases.fresh(),
            log_dir=tmp_path_factory.mktemp("server"),
            env={f"DISPATCH_{k.upper()}": v for k, v in env.items()},
        )
        server.admin_key = server.cli("keys", "create", "--role", "admin").split()[0]
        started.append(server)
        _STARTED.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def server(server_factory: ServerFactory) -> Server:
    """The shared server of a backend; tests keep apart by unique ids."""
    return server_factory()


@pytest.fixture(scope="session")
def keys(server: Server) -> Keys:
    return Keys(
        ticketing=server.new_key("ticketing"),
        coordinator=server.new_key("coordinator"),
        admin=server.admin_key,
    )


@pytest.fixture
def ticketing(server: Server, keys: Keys) -> Iterator[httpx.Client]:
    with server.client(keys.ticketing) as client:
        yield client


@pytest.fixture
def coordinator(server: Server, keys: Keys) -> Iterator[httpx.Client]:
    with server.client(keys.coordinator) as client:
        yield client


@pytest.fixture
def admin(server: Server, keys: Keys) -> Iterator[httpx.Client]:
    with server.client(keys.admin) as client:
        yield client
