"""``dispatch serve``, ``dispatch worker``, ``dispatch db upgrade``, ``dispatch keys create|list|revoke`` and
``dispatch kpis``.

Plugged into the ``dispatch`` command through the ``dispatch.commands`` entry point
(``api = "api.cli:register"``); ``python -m api`` runs the same commands on their own.
Handlers return an exit code and raise :mod:`dispatcher.errors` types for user errors.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from api.observability import logging_config
from api.persistence import migrate
from api.persistence.db import create_db_engine, create_session_factory
from api.services import build_services
from api.services.keys import ROLES, KeyService
from api.settings import Settings
from dispatcher.errors import NotFound

log = logging.getLogger("api.cli")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the API's sub-commands to the ``dispatch`` parser."""
    _add_serve(subparsers)
    _add_worker(subparsers)
    _add_db(subparsers)
    _add_keys(subparsers)
    _add_kpis(subparsers)


def _add_database_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--database-url",
        help="SQLAlchemy URL (default: $DISPATCH_DATABASE_URL or sqlite:///dispatch.db)",
    )


def _add_serve(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the HTTP API (uvicorn)")
    p.add_argument("--host", help="listen address (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="listen port (default 8000)")
    p.add_argument("--workers", type=int, help="uvicorn worker processes (default 1)")
    p.add_argument(
        "--demo",
        nargs="?",
        const=True,
        default=False,
        metavar="FILE",
        help="load fixtures/demo.json (or FILE) and print an admin API key",
    )
    _add_database_url(p)
    p.set_defaults(func=serve)


def _add_worker(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "worker",
        help="run plan jobs and simulations from the PostgreSQL queue (DISPATCH_JOB_EXECUTOR=queue)",
    )
    p.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)  # serve's local workers
    _add_database_url(p)
    p.set_defaults(func=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    from api.jobs.queue import run_worker as run

    settings = _settings(args, job_executor="queue")
    logging.config.dictConfig(logging_config(settings.log_level))
    return run(settings, parent_pid=args.parent_pid)


def _start_local_workers(settings: Settings) -> list[subprocess.Popen[bytes]]:
    """``DISPATCH_LOCAL_WORKERS`` ``dispatch worker`` processes beside this ``serve`` (queue
    executor only); they die with it, even when it is SIGKILLed."""
    if settings.job_executor != "queue":
        return []
    env = {**os.environ, **settings.to_env()}
    command = [sys.executable, "-m", "api", "worker", "--parent-pid", str(os.getpid())]
    return [subprocess.Popen(command, env=env) for _ in range(settings.local_workers)]


def _stop_local_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in workers:
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _add_db(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("db", help="database administration")
    sub = p.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", help="apply Alembic migrations up to the newest")
    _add_database_url(up)
    up.set_defaults(func=db_upgrade)


def _add_keys(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("keys", help="API keys")
    sub = p.add_subparsers(dest="keys_command", required=True)
    create = sub.add_parser("create", help="create an API key and print it (shown once)")
    create.add_argument(
        "--role",
        required=True,
        choices=ROLES,
        help="what the key may do: ticketing (orders, ETAs), coordinator (also engineers, "
        "plans, publishing), admin (also policy, keys)",
    )
    create.add_argument("--name", help="who or what the key is for")
    _add_database_url(create)
    create.set_defaults(func=keys_create)
    listing = sub.add_parser("list", help="list the keys: id, role, name, created, revoked")
    _add_database_url(listing)
    listing.set_defaults(func=keys_list)
    revoke = sub.add_parser(
        "revoke",
        help="revoke a key by its id (a running server stops accepting it within 10 s, its cache)",
    )
    revoke.add_argument("key_id", help="the key's public id, as `keys list` shows it")
    _add_database_url(revoke)
    revoke.set_defaults(func=keys_revoke)


def _add_kpis(subparsers: argparse._SubParsersAction) -> None:
    from api.services.kpis import GROUPS

    p = subparsers.add_parser(
        "kpis",
        help="commitment compliance of the orders received in a window (as GET /v1/kpis)",
    )
    p.add_argument("--from", dest="start", help="RFC 3339 or a date (default: 30 days before --to)")
    p.add_argument("--to", dest="end", help="RFC 3339 or a date, exclusive (default: now)")
    p.add_argument("--group-by", choices=GROUPS, help="one line per group, then the total")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="default csv")
    _add_database_url(p)
    p.set_defaults(func=kpis_report)


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    return Settings.from_env(database_url=getattr(args, "database_url", None), **overrides)


def db_upgrade(args: argparse.Namespace) -> int:
    settings = _settings(args)
    engine = create_db_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        print(f"database at revision {migrate.current_revision(engine)}")
    finally:
        engine.dispose()
    return 0


@contextmanager
def _key_service(args: argparse.Namespace) -> Iterator[KeyService]:
    """The key service on the database of ``args`` (migrated first); the engine is disposed
    after."""
    settings = _settings(args)
    engine = create_db_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        yield build_services(settings, create_session_factory(engine)).keys
    finally:
        engine.dispose()


def keys_create(args: argparse.Namespace) -> int:
    with _key_service(args) as keys:
        key_id, key = keys.create(args.role, args.name, actor="cli")
    print(key)
    print(f"key id {key_id}, role {args.role}; store it now, it is not shown again", flush=True)
    return 0


def keys_list(args: argparse.Namespace) -> int:
    with _key_service(args) as keys:
        listed = keys.list_keys()
    print(f"{'id':<14} {'role':<12} {'created':<26} {'revoked':<26} name")
    for k in listed:
        revoked = k.revoked_at.isoformat() if k.revoked_at else "-"
        print(
            f"{k.key_id:<14} {k.role:<12} {k.created_at.isoformat():<26} {revoked:<26} {k.name or ''}"
        )
    return 0


def keys_revoke(args: argparse.Namespace) -> int:
    with _key_service(args) as keys:
        if not keys.revoke(args.key_id, actor="cli"):
            raise NotFound(f"key {args.key_id!r}: no such active key")
    print(f"key {args.key_id} revoked")
    return 0


def kpis_report(args: argparse.Namespace) -> int:
    """The figures of ``GET /v1/kpis`` from the database (the same function computes them)."""
    import json

    from api.services import utc_now
    from api.services.kpis import KpiService, kpis_csv, region_table_from_env

    settings = _settings(args)
    engine = create_db_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        service = KpiService(create_session_factory(engine), utc_now, region_table_from_env())
        report = service.report(args.start, args.end, args.group_by, prefix="--")
    finally:
        engine.dispose()
    print(json.dumps(report, indent=2) if args.format == "json" else kpis_csv(report), end="")
    if args.format == "json":
        print()
    return 0


def serve(args: argparse.Namespace) -> int:
    settings = _settings(args, host=args.host, port=args.port, workers=args.workers)
    config = logging_config(settings.log_level)
    logging.config.dictConfig(config)
    _prepare_database(settings, demo=args.demo)
    # uvicorn (one process) raises the SIGTERM it shut down on again, under the handler it
    # found: with the default one, serve would die there and its local workers with it
    # (SIGKILLed as orphans) before they fail their running jobs as interrupted. Stop them
    # first, then die of the SIGTERM all the same.
    signal.signal(signal.SIGTERM, _raise_terminated)
    local_workers: list[subprocess.Popen[bytes]] = []
    terminated = False
    try:
        local_workers = _start_local_workers(settings)
        _run_uvicorn(settings, config)
    except _Terminated:
        terminated = True
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM: no waiting
        _stop_local_workers(local_workers)
    if terminated:
        signal.raise_signal(signal.SIGTERM)
    return 0


class _Terminated(Exception):
    """``serve`` got SIGTERM outside uvicorn's own handling of it."""


def _raise_terminated(_signum: int, _frame: Any) -> None:
    raise _Terminated


def _run_uvicorn(settings: Settings, config: dict[str, Any]) -> None:
    import uvicorn

    if settings.workers == 1:
        from api.app import create_app

        # Migrations and recovery ran above; doing them again at start-up is a no-op.
        app = create_app(settings.with_(recover_jobs_on_startup=False))
        uvicorn.run(
            app, host=settings.host, port=settings.port, log_config=config, access_log=False
        )
        return
    # Several workers import the app themselves: hand them the settings through the
    # environment, with migrations and job recovery already done here, once.
    os.environ.update(
        settings.with_(migrate_on_startup=False, recover_jobs_on_startup=False).to_env()
    )
    uvicorn.run(
        "api.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_config=config,
        access_log=False,
    )


def _prepare_database(settings: Settings, demo: bool | str) -> None:
    """Migrate, fail jobs a previous run left unfinished, and load the demo if asked.

    With the queue executor nothing is failed here: other replicas' workers may be running
    those jobs, and the workers' sweep fails the jobs of a lost worker (api.jobs.queue)."""
    from api.demo import DEMO_FIXTURE, load_document, load_problem_into
    from api.jobs.store import recover_interrupted

    engine = create_db_engine(settings.database_url)
    try:
        migrate.upgrade(engine)
        services = build_services(settings, create_session_factory(engine))
        if settings.job_executor != "queue":
            recover_interrupted(services)  # plan and simulation jobs alike
        if demo:
            path = DEMO_FIXTURE if demo is True else Path(demo)
            counts = load_problem_into(services, load_document(path), actor="demo")
            _, key = services.keys.create("admin", "demo", actor="demo")
            _print_demo_banner(settings, path, counts, key)
    finally:
        engine.dispose()


def _print_demo_banner(settings: Settings, path: Path, counts: dict[str, object], key: str) -> None:
    base = f"http://{settings.host}:{settings.port}"
    start = counts.get("planning_start")
    plan_body = f'{{"planning_start": "{start}", "time_limit_s": 10}}' if start else "{}"
    # The key rides in the fragment (never sent to the server); the board keeps it per tab.
    board = f"{base}/board#key={key}" + (
        f"&planning_start={quote(str(start), safe='')}" if start else ""
    )
    print(
        f"demo loaded from {path}: {counts['engineers']} engineers, "
        f"{counts['orders_created']} new orders ({counts['orders_already_there']} already there)\n"
        f"admin API key (shown once): {key}\n"
        f"try:  curl -s -H 'Authorization: Bearer {key}' {base}/v1/orders\n"
        f"      curl -s -X POST -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
        f"-d '{plan_body}' {base}/v1/plans\n"
        f"board: {board}\n"
        f"docs: {base}/docs  (ReDoc: {base}/redoc)",
        flush=True,
    )
