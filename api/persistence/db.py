"""Engine and session factory for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
CONNECT_TIMEOUT_S = 10


def create_db_engine(url: str, pool_size: int = 10) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE``.

    Every engine tests a pooled connection before handing it out (``pool_pre_ping``), so
    connections a database restart killed are replaced instead of failing a request; a
    PostgreSQL connection attempt gives up after ``CONNECT_TIMEOUT_S`` unless the URL sets
    ``connect_timeout``. What still fails while the database is away is answered 503
    (``api.problems``).
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_pre_ping=True,
        )
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def _configure_sqlite(engine: sa.Engine) -> None:
    # pysqlite's own deferred BEGIN makes concurrent writers fail with "database is locked"
    # when a read transaction tries to upgrade; take the write lock up front instead
    # (SQLAlchemy's documented recipe) and let busy_timeout queue the writers.
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_session_factory(engine: sa.Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def create_read_session_factory(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """Sessions for read-only work of one request.

    On PostgreSQL they run in autocommit: no ``BEGIN`` and ``ROLLBACK`` round trips around
    the reads. Under READ COMMITTED every statement takes its own snapshot anyway, so a
    transaction adds nothing for a handful of independent SELECTs. SQLite keeps ``factory``
    (its transactions are local and its ``BEGIN IMMEDIATE`` recipe needs them).
    """
    engine = factory.kw["bind"]
    if engine.dialect.name != "postgresql":
        return factory
    return sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any exception."""
    with factory() as session, session.begin():
        yield session
