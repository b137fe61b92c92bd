"""KPI benchmark: ``GET /v1/kpis`` latency with N orders of recorded history.

1. A fresh database (PostgreSQL by default) is migrated and bulk-loaded **directly through
   the persistence layer** (the columns the service writes: documents canonicalized,
   deadlines from the policy, country and nearest station, arrival, finish, the ETA of the
   plan in force): N orders received over 30 days, each with its status history, and two
   published plans with a plan-visit row for every order. Outcomes by order number: 5 %
   cancelled, 5 % still open (overdue), 5 % done without a recorded arrival, the rest
   arrived 1-30 h after receipt (late when past the 24 h / 72 h commitment).
2. ``dispatch serve`` (one uvicorn worker) is started on it and a coordinator key GETs
   ``/v1/kpis`` over the whole window, one request at a time, ``--requests`` times per
   grouping (none, then each ``group_by``) after ``--warmup`` requests. One row per grouping
   reports p50 / p95 / max in ms; the bar is p95 <= 300 ms on PostgreSQL.

    .venv/bin/dispatch bench kpis --orders 100000 --requests 40
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.vrptw import bench_subparsers, machine_info

BAR_MS = 300.0
START = datetime(2026, 10, 1, tzinfo=UTC)
SPAN = timedelta(days=30)
CHUNK = 5000
COUNTRIES = ("CN", "CN", "CN", "CN", "CN", "CN", "CN", "SG", "VN", "KZ")
PRIORITIES = ("critical", "high", "normal", "normal", "low")
GROUPINGS = (None, "commitment", "region", "priority", "engineer", "station", "week")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in (0, 1]); 0 when empty."""
    if not values:
        return 0.0
    xs = sorted(values)
    return xs[max(0, min(len(xs) - 1, int(-(-q * len(xs) // 1)) - 1))]


def _document(i: int, count: int) -> dict[str, Any]:
    received = START + SPAN * ((i - 1) / count)
    return {
        "id": f"KPI-{i:06d}",
        "site": {
            "lat": 22 + (i * 37 % 2000) / 100,
            "lon": 100 + (i * 53 % 2100) / 100,
            "country": COUNTRIES[i % len(COUNTRIES)],
            "name": f"site {i}",
        },
        "received_at": received.isoformat(),
        "priority": PRIORITIES[i % len(PRIORITIES)],
        "required_skills": ["hydraulics"] if i % 3 else ["plc", "electrical"],
        "service_minutes": 60 + 30 * (i % 5),
    }


def bulk_load(url: str, count: int) -> dict[str, Any]:
    """N orders with history and two published plans with a visit for every order."""
    import sqlalchemy as sa

    from api.documents import order_document
    from api.persistence import migrate
    from api.persistence.db import create_db_engine, create_session_factory
    from api.persistence.models import OrderRow, OrderStatusRow, PlanJobRow, PlanRow, PlanVisitRow
    from api.services.kpis import site_place
    from api.services.policy import PolicyService
    from dispatcher.codec import order_from_dict

    started = time.perf_counter()
    engine = create_db_engine(url)
    migrate.upgrade(engine)
    sessions = create_session_factory(engine)
    plans = (("bench-kpi-old", START - timedelta(days=1)), ("bench-kpi-mid", START + SPAN / 2))
    with sessions() as session, session.begin():
        policy = PolicyService.load(session)
        for job_id, published in plans:
            session.add(
                PlanJobRow(
                    id=job_id, state="done", options={}, planning_start=published,
                    horizon_hours=96, problem={"orders": [], "engineers": []}, input_hash="bench",
                    progress=None, error=None, created_by=None, created_at=published,
                    started_at=published, finished_at=published,
                )
            )  # fmt: skip
            session.flush()
            session.add(
                PlanRow(
                    job_id=job_id, status="feasible", document={"note": "bench"},
                    created_at=published, published_at=published, published_by=None,
                )
            )  # fmt: skip
    now = datetime.now(UTC)
    for first in range(1, count + 1, CHUNK):
        orders, history, visits = [], [], []
        for i in range(first, min(first + CHUNK, count + 1)):
            order = order_from_dict(_document(i, count))
            canonical = order_document(order)
            deadline = policy.deadline(order)
            country, station = site_place(canonical["site"])
            kind = i % 20
            arrived = finished = published_eta = None
            engineer = plan = None
            status = {0: "cancelled", 1: "published", 2: "done"}.get(kind, "done")
            if kind >= 3:
                engineer = f"E{i % 60:02d}"
                arrived = order.received_at + timedelta(minutes=60 + (i * 7919) % (30 * 60))
                finished = arrived + timedelta(minutes=canonical["service_minutes"])
                plan = plans[0] if arrived < plans[1][1] else plans[1]
                published_eta = arrived + timedelta(minutes=(i * 31) % 181 - 90)
            orders.append(
                {
                    "id": order.id, "document": canonical, "body_hash": "bench", "status": status,
                    "priority": order.priority, "commitment_class": policy.commitment_class(order),
                    "deadline": deadline, "received_at": order.received_at, "created_at": now,
                    "updated_at": now, "version": 1, "engineer_id": engineer,
                    "arrived_at": arrived, "finished_at": finished,
                    "published_eta": published_eta, "country": country, "station": station,
                }
            )  # fmt: skip
            steps = [("open", None), ("planned", "open"), ("published", "planned")]
            if status != "published":
                steps.append((status, "published"))
            for to, frm in steps:
                history.append(
                    {"order_id": order.id, "from_status": frm, "to_status": to,
                     "at": order.received_at, "actor": None, "note": None}
                )  # fmt: skip
            for job_id, _ in plans:
                eta = published_eta if plan is not None and job_id == plan[0] else None
                at = eta or order.received_at + timedelta(hours=4)
                visits.append(
                    {"job_id": job_id, "order_id": order.id, "engineer_id": f"E{i % 60:02d}",
                     "arrival": at, "start": at, "end": at + timedelta(hours=2),
                     "on_time": at <= deadline, "slack_minutes": 0.0, "reason": None}
                )  # fmt: skip
        with sessions() as session, session.begin():
            session.execute(sa.insert(OrderRow), orders)
            session.execute(sa.insert(OrderStatusRow), history)
            session.execute(sa.insert(PlanVisitRow), visits)
    # Fresh statistics and visibility map, as autovacuum would give (index-only scans).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
    engine.dispose()
    return {"orders": count, "plan_visits": 2 * count, "load_s": time.perf_counter() - started}


def measure(base: str, key: str, requests: int, warmup: int) -> list[dict[str, Any]]:
    """Sequential GETs of ``/v1/kpis`` over the loaded window, per grouping."""
    import httpx

    window = {"from": START.isoformat(), "to": (START + SPAN).isoformat()}
    rows = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as client:
        for group_by in GROUPINGS:
            params = {**window, **({"group_by": group_by} if group_by else {})}
            seconds: list[float] = []
            answer: dict[str, Any] = {}
            for n in range(warmup + requests):
                t0 = time.perf_counter()
                r = client.get("/v1/kpis", params=params, timeout=60)
                spent = time.perf_counter() - t0
                if r.status_code != 200:
                    raise RuntimeError(f"GET /v1/kpis answered {r.status_code}: {r.text[:300]}")
                if n >= warmup:
                    seconds.append(spent * 1000)
                answer = r.json()
            rows.append(
                {
                    "group_by": group_by or "-",
                    "groups": len(answer["groups"]),
                    "orders": answer["total"]["orders"],
                    "requests": len(seconds),
                    "p50_ms": round(percentile(seconds, 0.50), 1),
                    "p95_ms": round(percentile(seconds, 0.95), 1),
                    "max_ms": round(max(seconds), 1),
                    "total": answer["total"],
                }
            )
    return rows


def run(args: argparse.Namespace) -> int:
    from bench.api_load import _database, _drop, create_key, serve

    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:  # loaded by an earlier run with --keep: measure only
            url, pg_name = args.database_url, None
            load = {"orders": args.orders, "plan_visits": 2 * args.orders, "load_s": 0.0}
        else:
            url, pg_name = _database(args.backend, Path(tmp))
        try:
            if not args.database_url:
                load = bulk_load(url, args.orders)
            key = create_key(url, "coordinator")
            with serve(url, 1) as base:
                rows = measure(base, key, args.requests, args.warmup)
        finally:
            if args.keep:
                print(f"kept the database: --database-url {url}")
            else:
                _drop(pg_name)
    worst = max(r["p95_ms"] for r in rows)
    doc = {
        "args": {k: v for k, v in vars(args).items() if k != "func"},
        "machine": machine_info(),
        "load": load,
        "rows": rows,
        "p95_ms": worst,
        "bar_ms": BAR_MS,
        "load_avg_before": load_before,
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(f"loaded {load['orders']} orders in {load['load_s']:.1f} s ({args.backend})")
    print("| group_by | groups | orders | requests | p50 ms | p95 ms | max ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['group_by']} | {r['groups']} | {r['orders']} | {r['requests']} | "
            f"{r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} |"
        )
    verdict = "within" if worst <= BAR_MS else "OVER"
    print(f"worst p95 {worst} ms: {verdict} the bar of {BAR_MS:g} ms ({args.backend})")
    print(f"load average before {doc['load_avg_before']}, after {doc['load_avg_after']}")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "kpis.json").write_text(json.dumps(doc, indent=2) + "\n")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=100_000, help="orders loaded (100000)")
    parser.add_argument(
        "--backend", choices=("postgresql", "sqlite"), default="postgresql", help="postgresql"
    )
    parser.add_argument("--requests", type=int, default=40, help="measured GETs per grouping")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured GETs per grouping")
    parser.add_argument("--out", help="directory for kpis.json")
    parser.add_argument("--keep", action="store_true", help="keep the loaded database")
    parser.add_argument(
        "--database-url", help="measure a database an earlier --keep run loaded (no load)"
    )


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add ``bench kpis`` (creating ``bench`` if needed)."""
    nested = bench_subparsers(subparsers)
    if "kpis" not in nested.choices:
        parser = nested.add_parser(
            "kpis",
            help="GET /v1/kpis latency over N orders of recorded history",
            description=__doc__.split("\n\n")[0] if __doc__ else None,
        )
        add_arguments(parser)
        parser.set_defaults(func=run)
    return nested


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bench.kpis [--orders N] [--backend B] [--requests R]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.kpis", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
