"""Order-intake load benchmark: POST /v1/orders against a real ``dispatch serve``.

Starts the API (uvicorn, N workers) on a fresh database, drives it for a fixed duration
after a 2 s warm-up, then checks that every acknowledged order is stored exactly once.
Prints one JSON line with throughput and latency percentiles. Two load generators:

- ``--tool python`` (default): N keep-alive connections speaking raw HTTP/1.1 from asyncio;
- ``--tool wrk``: wrk (``apt-get install wrk``) with ``bench/wrk_orders.lua``, which gives
  each request a unique ticket id and records the id of every 2xx answer; the stored rows
  are then read straight from the database and compared.

    .venv/bin/python bench/api_load.py --backend postgresql --seconds 20 --concurrency 8
    .venv/bin/python bench/api_load.py --tool wrk --backend postgresql --seconds 20 \\
        --concurrency 8 --threads 2

``--during-plan`` first stores a generated problem (1,000 orders, 100 engineers) through the
API and starts a 60-s plan job on it (``POST /v1/plans``), waits until the job is
``running``, and measures while it runs; the JSON line says the job's state before and after
the measurement (``plan_job``), and the job is cancelled afterwards.

The load generator shares the machine with the server: on 2 cores it takes part of one,
so the numbers are a lower bound for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _database(backend: str, tmp: Path) -> tuple[str, str | None]:
    name = f"dispatch_bench_{uuid.uuid4().hex[:10]}"
    if backend == "sqlite":
        return f"sqlite:///{tmp / (name + '.db')}", None
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def _drop(name: str | None) -> None:
    if name is None:
        return
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _order(order_id: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "site": {"lat": 30.66, "lon": 104.07, "country": "CN", "name": "Chengdu mill"},
        "received_at": "2026-11-23T07:40:00+08:00",
        "priority": "normal",
        "required_skills": ["hydraulics"],
        "service_minutes": 120,
    }


async def _client(
    port: int,
    key: str,
    tag: str,
    worker: int,
    until: float,
    latencies: list[float],
    acked: list[str],
    errors: list[int],
) -> None:
    """One keep-alive connection speaking raw HTTP/1.1: a load generator that costs the
    shared CPU far less than a full client library would."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /v1/orders HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\n"
    )
    try:
        i = 0
        while time.perf_counter() < until:
            order_id = f"{tag}-{worker}-{i}"
            body = json.dumps(_order(order_id)).encode()
            started = time.perf_counter()
            writer.write(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            if status in (200, 201):
                acked.append(order_id)
            else:
                errors.append(status)
            i += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _drive(port: int, key: str, seconds: float, concurrency: int) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    latencies: list[float] = []
    acked: list[str] = []
    errors: list[int] = []
    warmup_until = time.perf_counter() + 2
    await asyncio.gather(
        *(_client(port, key, "w" + tag, w, warmup_until, [], [], []) for w in range(concurrency))
    )
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(_client(port, key, tag, w, until, latencies, acked, errors) for w in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
        "p99_ms": round(q[98] * 1000, 1),
        "errors": len(errors),
        "acked": acked,
    }


PLAN_ORDERS, PLAN_ENGINEERS, PLAN_TIME_LIMIT_S = 1000, 100, 60.0


def start_plan_job(
    base: str,
    admin_key: str,
    orders: int = PLAN_ORDERS,
    engineers: int = PLAN_ENGINEERS,
    time_limit_s: float = PLAN_TIME_LIMIT_S,
) -> dict[str, Any]:
    """Store a generated problem through the API, start a plan job on it and wait until the
    job is ``running``: the job's view (``id``, ``state``, ``started_at``)."""
    from dispatcher.generate import generate_problem

    problem = generate_problem(orders, engineers, seed=1)
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=300) as c:
        c.put("/v1/policy", json=problem["policy"]).raise_for_status()
        for engineer in problem["engineers"]:
            c.put(f"/v1/engineers/{engineer['id']}", json=engineer).raise_for_status()
        for start in range(0, len(problem["orders"]), 500):
            batch = c.post("/v1/orders:batch", json={"orders": problem["orders"][start:][:500]})
            batch.raise_for_status()
            assert all(r["status"] in (200, 201) for r in batch.json()["results"]), batch.text
        options = {
            "time_limit_s": time_limit_s,
            "planning_start": problem["planning_start"],
            "horizon_hours": problem["horizon_hours"],
        }
        job = c.post("/v1/plans", json=options)
        job.raise_for_status()
        job_id = job.json()["id"]
        deadline = time.monotonic() + 120
        while (view := c.get(f"/v1/plans/{job_id}").json())["state"] == "queued":
            if time.monotonic() > deadline:
                raise RuntimeError(f"plan job {job_id} still queued after 120 s")
            time.sleep(0.2)
    if view["state"] != "running":
        raise RuntimeError(f"plan job {job_id} is {view['state']}: {view.get('error')}")
    return view


def plan_job_state(base: str, admin_key: str, job_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        view = c.get(f"/v1/plans/{job_id}").json()
    return {k: view.get(k) for k in ("id", "state", "started_at", "finished_at")}


def cancel_plan_job(base: str, admin_key: str, job_id: str) -> None:
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        c.delete(f"/v1/plans/{job_id}")


def plan_size(text: str) -> tuple[int, int]:
    """``ORDERSxENGINEERS``, e.g. ``1000x100``."""
    orders, _, engineers = text.partition("x")
    return int(orders), int(engineers)


@contextmanager
def during_plan(
    url: str, base: str, enabled: bool, size: tuple[int, int] = (PLAN_ORDERS, PLAN_ENGINEERS)
) -> Iterator[dict[str, Any]]:
    """With ``enabled``: a running 60-s plan job on the server at ``base`` for the body of
    the block; the dict it yields gets ``plan_job``: the job's state before and after."""
    report: dict[str, Any] = {}
    if not enabled:
        yield report
        return
    admin = create_key(url, "admin")
    started = time.perf_counter()
    job = start_plan_job(base, admin, *size)
    before = {
        "id": job["id"],
        "state": job["state"],
        "orders": job["orders"],
        "engineers": job["engineers"],
        "time_limit_s": job["options"]["time_limit_s"],
        "setup_s": round(time.perf_counter() - started, 1),
    }
    try:
        yield report
    finally:
        after = plan_job_state(base, admin, job["id"])
        report["plan_job"] = {**before, "state_after": after["state"]}
        cancel_plan_job(base, admin, job["id"])


def _stored_ids(base: str, key: str) -> list[str]:
    out: list[str] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = c.get("/v1/orders", params=params).json()
            out += [o["id"] for o in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return out


@contextmanager
def serve(url: str, workers: int) -> Iterator[str]:
    """``dispatch serve`` (``python -m api serve``) on ``url``: yields its base URL."""
    env = {**os.environ, "DISPATCH_DATABASE_URL": url, "DISPATCH_LOG_LEVEL": "WARNING"}
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port), "--workers", str(workers)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                raise RuntimeError(f"dispatch serve exited with {server.returncode}")
            time.sleep(0.1)
        else:
            raise RuntimeError("dispatch serve did not become ready")
        yield base
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)


def create_key(url: str, role: str) -> str:
    """A new API key of ``role`` in the database at ``url`` (``dispatch keys create``)."""
    env = {**os.environ, "DISPATCH_DATABASE_URL": url, "DISPATCH_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "api", "keys", "create", "--role", role],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]


def run_wrk(
    base: str, script: str, seconds: float, threads: int, connections: int, args: list[str]
) -> tuple[dict[str, Any], str, str]:
    """Run wrk with ``--latency``: (the script's WRK_JSON summary, wrk's report, command)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    command = [
        "wrk",
        f"-t{min(threads, connections)}",  # wrk needs a connection per thread
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(ROOT / "bench" / script),
        base,
        "--",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    summary = next(
        json.loads(line.removeprefix("WRK_JSON "))
        for line in done.stdout.splitlines()
        if line.startswith("WRK_JSON ")
    )
    report = "\n".join(ln for ln in done.stdout.splitlines() if not ln.startswith("WRK_JSON"))
    shown = [c if c != args[0] else "$KEY" for c in command]
    shown[shown.index("-s") + 1] = f"bench/{script}"
    return summary, report, " ".join(shown)


def _wrk_intake(url: str, base: str, key: str, args: argparse.Namespace) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:6]
    conc, threads = args.concurrency, args.threads
    run_wrk(base, "wrk_orders.lua", 2, threads, conc, [key, "w" + tag])  # warm-up
    with tempfile.TemporaryDirectory() as out:
        result, report, command = run_wrk(
            base, "wrk_orders.lua", args.seconds, threads, conc, [key, tag, out]
        )
        acked_lines = [
            line for f in Path(out).glob("acked-*.txt") for line in f.read_text().splitlines()
        ]
    acked = set(acked_lines)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            # One statement, one snapshot: an order and its history commit together, so a
            # request still in flight when wrk stops is seen whole or not at all.
            rows = conn.execute(
                sa.text(
                    "SELECT o.id, (SELECT count(*) FROM order_status_history h"
                    " WHERE h.order_id = o.id AND h.to_status = 'open')"
                    " FROM orders o WHERE o.id LIKE :p"
                ),
                {"p": f"{tag}-%"},
            ).all()
            stored = [r[0] for r in rows]
            opened = sum(r[1] for r in rows)
            for order_id, count in rows:
                if count != 1:
                    print(f"order {order_id}: {count} 'open' history rows", file=sys.stderr)
    finally:
        engine.dispose()
    stored_set = set(stored)
    print(report, file=sys.stderr)
    print(f"command: {command}", file=sys.stderr)
    result.update(
        tool="wrk",
        threads=threads,
        acked=len(acked_lines),
        acked_ids_repeated=len(acked_lines) - len(acked),
        stored=len(stored),
        lost=len(acked - stored_set),
        duplicates=len(stored) - len(stored_set) + (opened - len(stored_set)),
        stored_unacked=len(stored_set - acked),
    )
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    p.add_argument("--tool", choices=("python", "wrk"), default="python")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--concurrency", type=int, default=32, help="connections")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    p.add_argument(
        "--during-plan",
        action="store_true",
        help="measure while a 60-s plan job (1,000 orders, 100 engineers) runs on the server",
    )
    p.add_argument(
        "--plan-size",
        type=plan_size,
        default=(PLAN_ORDERS, PLAN_ENGINEERS),
        metavar="ORDERSxENGINEERS",
        help="the problem of --during-plan's job (default 1000x100)",
    )
    args = p.parse_args()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        url, pg_name = _database(args.backend, Path(tmp))
        try:
            key = create_key(url, "ticketing")
            with (
                serve(url, args.workers) as base,
                during_plan(url, base, args.during_plan, args.plan_size) as job,
            ):
                started_at = datetime.now(UTC).isoformat(timespec="seconds")
                load_before = [round(x, 2) for x in os.getloadavg()]
                if args.tool == "wrk":
                    result = _wrk_intake(url, base, key, args)
                else:
                    port = int(base.rsplit(":", 1)[1])
                    result = asyncio.run(_drive(port, key, args.seconds, args.concurrency))
                    stored = _stored_ids(base, key)
                    acked = set(result.pop("acked"))
                    stored_set = set(stored)
                    result.update(
                        tool="python",
                        lost=len(acked - stored_set),
                        duplicates=len(stored) - len(stored_set),
                    )
            result.update(job)
        finally:
            _drop(pg_name)
    result.update(
        backend=args.backend,
        workers=args.workers,
        concurrency=args.concurrency,
        seconds=args.seconds,
        started_at=started_at,
        load_average_before=load_before,
        load_average_after=[round(x, 2) for x in os.getloadavg()],
    )
    print(json.dumps(result))
    ran = not args.during_plan or result["plan_job"]["state_after"] == "running"
    return 0 if result["lost"] == 0 and result["duplicates"] == 0 and ran else 1


if __name__ == "__main__":
    sys.exit(main())
