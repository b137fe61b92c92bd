"""Order-read benchmark: ``GET /v1/orders/{id}`` with 100,000 orders stored.

1. A fresh database (PostgreSQL by default) is migrated, then bulk-loaded **directly through
   the persistence layer** (``api.persistence.models`` rows, documents canonicalized by
   ``api.documents`` and deadlines from the policy, exactly the columns the service writes):
   N orders, each with its status history, and two published plans (an older one and the
   current one) with a plan-visit row for every order, so that the published-plan lookup
   runs against 2·N visits. The intake API would take minutes for 100,000 orders at a few
   hundred per second; the bulk load takes about a minute on the 2-core machine.
2. The statements one ``OrderService.get`` issues are captured (SQLAlchemy event) and each
   is run with ``EXPLAIN ANALYZE``: the count must not depend on the data (no N+1) and
   every table must be reached through an index (no sequential scan).
3. ``dispatch serve`` (N uvicorn workers) is started on the database and wrk with
   ``bench/wrk_read.lua`` GETs orders picked uniformly at random for ``--seconds`` after a
   2 s warm-up, once per ``--load`` spec (connections, and optionally an offered rate). One
   JSON line per run reports throughput, p50/p90/p99 and errors.

    .venv/bin/python bench/api_read.py --orders 100000 --seconds 20 --load 1 2 4 4@200

``--during-plan``: the N orders are history (``done``), and a generated problem (1,000 open
orders, 100 engineers) is stored through the API and planned by a 60-s plan job while wrk
runs (bench/api_load.py, ``during_plan``): each JSON line says the job's state before and
after its measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.documents import order_document  # noqa: E402
from api.persistence import migrate  # noqa: E402
from api.persistence.db import create_db_engine, create_session_factory  # noqa: E402
from api.persistence.models import (  # noqa: E402
    OrderRow,
    OrderStatusRow,
    PlanJobRow,
    PlanRow,
    PlanVisitRow,
)
from api.services import build_services  # noqa: E402
from api.services.policy import PolicyService  # noqa: E402
from api.settings import Settings  # noqa: E402
from bench.api_load import (  # noqa: E402
    PLAN_ENGINEERS,
    PLAN_ORDERS,
    _database,
    _drop,
    create_key,
    during_plan,
    plan_size,
    run_wrk,
    serve,
)
from dispatcher.codec import order_from_dict  # noqa: E402

PREFIX = "R-"
CHUNK = 5000
COUNTRIES = ("CN", "CN", "CN", "SG", "DE")
PRIORITIES = ("critical", "high", "normal", "normal", "low")
RECEIVED = datetime(2026, 11, 20, tzinfo=UTC)
BIG_TABLES = ("orders", "order_status_history", "plan_visits")


def order_id(i: int) -> str:
    return f"{PREFIX}{i:06d}"


def _documents(i: int) -> dict[str, Any]:
    return {
        "id": order_id(i),
        "site": {
            "lat": 20 + (i % 2000) / 100,
            "lon": 100 + (i % 1700) / 100,
            "country": COUNTRIES[i % len(COUNTRIES)],
            "name": f"site {i}",
        },
        "received_at": (RECEIVED + timedelta(seconds=7 * i)).isoformat(),
        "priority": PRIORITIES[i % len(PRIORITIES)],
        "required_skills": ["hydraulics"] if i % 3 else ["plc", "electrical"],
        "service_minutes": 60 + 30 * (i % 5),
    }


def bulk_load(engine: sa.Engine, count: int, status: str = "published") -> dict[str, Any]:
    """N orders with history, and two published plans with a visit for every order; the
    orders' status is ``published``, or ``done`` for a database whose orders are history
    (a plan job then takes none of them)."""
    started = time.perf_counter()
    sessions = create_session_factory(engine)
    now = datetime.now(UTC)
    plans = ("bench-plan-old", "bench-plan-current")
    with sessions() as session, session.begin():
        policy = PolicyService.load(session)
        for n, job_id in enumerate(plans):
            published = now - timedelta(hours=2 - n)
            session.add(
                PlanJobRow(
                    id=job_id,
                    state="done",
                    options={},
                    planning_start=published,
                    horizon_hours=96,
                    problem={"orders": [], "engineers": []},
                    input_hash="bench",
                    progress=None,
                    error=None,
                    created_by=None,
                    created_at=published,
                    started_at=published,
                    finished_at=published,
                )
            )
            session.flush()
            session.add(
                PlanRow(
                    job_id=job_id,
                    status="feasible",
                    document={"note": "bench: plan-visit rows only"},
                    created_at=published,
                    published_at=published,
                    published_by=None,
                )
            )
    for start in range(1, count + 1, CHUNK):
        orders, history, visits = [], [], []
        for i in range(start, min(start + CHUNK, count + 1)):
            order = order_from_dict(_documents(i))
            canonical = order_document(order)
            deadline = policy.deadline(order)
            orders.append(
                {
                    "id": order.id,
                    "document": canonical,
                    "body_hash": "bench",
                    "status": status,
                    "priority": order.priority,
                    "commitment_class": policy.commitment_class(order),
                    "deadline": deadline,
                    "received_at": order.received_at,
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                }
            )
            steps = [("open", None), ("planned", "open"), ("published", "planned")]
            if status == "done":
                steps += [("in_progress", "published"), ("done", "in_progress")]
            for to, frm in steps:
                history.append(
                    {
                        "order_id": order.id,
                        "from_status": frm,
                        "to_status": to,
                        "at": now,
                        "actor": None,
                        "note": None,
                    }
                )
            for job_id in plans:
                arrival = order.received_at + timedelta(hours=3 + i % 17)
                assigned = i % 50 != 0
                visits.append(
                    {
                        "job_id": job_id,
                        "order_id": order.id,
                        "engineer_id": f"E{i % 40}" if assigned else None,
                        "arrival": arrival if assigned else None,
                        "start": arrival if assigned else None,
                        "end": arrival + timedelta(hours=2) if assigned else None,
                        "on_time": assigned and arrival < deadline,
                        "slack_minutes": (deadline - arrival).total_seconds() / 60
                        if assigned
                        else None,
                        "reason": None if assigned else "no_skilled_engineer",
                    }
                )
        with sessions() as session, session.begin():
            session.execute(sa.insert(OrderRow), orders)
            session.execute(sa.insert(OrderStatusRow), history)
            session.execute(sa.insert(PlanVisitRow), visits)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # fresh statistics, as autovacuum would give
    return {"orders": count, "plan_visits": 2 * count, "load_s": time.perf_counter() - started}


def explain_get(engine: sa.Engine, url: str, ids: list[str]) -> dict[str, Any]:
    """The statements ``OrderService.get`` issues for each id, and their plans."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        captured.append((statement, params))

    sessions = create_session_factory(engine)
    services = build_services(Settings(database_url=url), sessions)
    counts = []
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        for oid in ids:
            before = len(captured)
            services.orders.get(oid)
            counts.append(len(captured) - before)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    statements = captured[-counts[-1] :]
    plans = []
    sequential = []
    prefix = "EXPLAIN ANALYZE " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    with engine.connect() as conn:
        for statement, params in statements:
            if not statement.lstrip().upper().startswith("SELECT"):
                continue
            rows = conn.exec_driver_sql(prefix + statement, params).all()
            text = "\n".join(" ".join(str(c) for c in row) for row in rows)
            plans.append({"sql": " ".join(statement.split()), "plan": text})
            for line in text.splitlines():
                # A full scan of a table that grows with the orders (the plans table holds
                # one row per plan job: a sequential scan of it is the planner's choice).
                full = "Seq Scan on " in line or ("SCAN " in line and "USING" not in line)
                if full and any(f" {table} " in f"{line} " for table in BIG_TABLES):
                    sequential.append(line.strip())
    return {
        "statements_per_get": sorted(set(counts)),
        "sequential_scans": sequential,
        "plans": plans,
    }


def _load_spec(text: str) -> tuple[int, float]:
    """``C`` (C connections, flat out) or ``C@R`` (C connections offering R requests/s)."""
    connections, _, rate = text.partition("@")
    return int(connections), float(rate or 0)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument(
        "--load",
        type=_load_spec,
        nargs="+",
        default=[(4, 0.0)],
        metavar="C[@R]",
        help="wrk runs, one after the other on the same data: C connections flat out, or "
        "C@R offering R requests/s (a pause between requests on each connection)",
    )
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    p.add_argument("--plans", action="store_true", help="print the query plans")
    p.add_argument(
        "--during-plan",
        action="store_true",
        help="the orders are history (done); measure while a 60-s plan job of 1,000 other "
        "orders and 100 engineers runs on the server",
    )
    p.add_argument(
        "--plan-size",
        type=plan_size,
        default=(PLAN_ORDERS, PLAN_ENGINEERS),
        metavar="ORDERSxENGINEERS",
        help="the problem of --during-plan's job (default 1000x100)",
    )
    args = p.parse_args()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        url, pg_name = _database(args.backend, Path(tmp))
        try:
            engine = create_db_engine(url)
            migrate.upgrade(engine)
            loaded = bulk_load(engine, args.orders, "done" if args.during_plan else "published")
            sample = [order_id(1 + (k * 7919) % args.orders) for k in range(5)]
            explained = explain_get(engine, url, sample)
            engine.dispose()
            if args.plans:
                for item in explained["plans"]:
                    print(f"\n{item['sql']}\n{item['plan']}", file=sys.stderr)
            key = create_key(url, "ticketing")
            with serve(url, args.workers) as base:
                for connections, rate in args.load:
                    stack = ExitStack()
                    pause_ms = round(1000 * connections / rate) if rate else 0
                    wrk_args = [key, str(args.orders), PREFIX, str(pause_ms)]
                    run_wrk(base, "wrk_read.lua", 2, args.threads, connections, wrk_args)
                    job = stack.enter_context(
                        during_plan(url, base, args.during_plan, args.plan_size)
                    )
                    started_at = datetime.now(UTC).isoformat(timespec="seconds")
                    load_before = [round(x, 2) for x in os.getloadavg()]
                    result, report, command = run_wrk(
                        base, "wrk_read.lua", args.seconds, args.threads, connections, wrk_args
                    )
                    print(report, file=sys.stderr)
                    print(f"command: {command}", file=sys.stderr)
                    result.update(
                        backend=args.backend,
                        workers=args.workers,
                        connections=connections,
                        rate=rate or None,
                        threads=min(args.threads, connections),
                        seconds=args.seconds,
                        load_s=round(loaded["load_s"], 1),
                        orders=loaded["orders"],
                        plan_visits=loaded["plan_visits"],
                        statements_per_get=explained["statements_per_get"],
                        sequential_scans=explained["sequential_scans"],
                        started_at=started_at,
                        load_average_before=load_before,
                        load_average_after=[round(x, 2) for x in os.getloadavg()],
                    )
                    stack.close()  # the plan job's state after, and it is cancelled
                    result.update(job)
                    print(json.dumps(result), flush=True)
                    results.append(result)
        finally:
            _drop(pg_name)
    ok = all(r["non_2xx"] == 0 and r["socket_errors"] == 0 for r in results)
    ok = ok and all(r["plan_job"]["state_after"] == "running" for r in results if "plan_job" in r)
    plans_ok = not explained["sequential_scans"] and len(explained["statements_per_get"]) == 1
    return 0 if ok and plans_ok else 1


if __name__ == "__main__":
    sys.exit(main())
