"""Order-intake load benchmark: POST /v1/orders against a real ``dispatch serve``.

Starts the API (uvicorn, N workers) on a fresh database, drives it with concurrent
keep-alive clients for a fixed duration, then checks that every acknowledged order is
stored exactly once. Prints one JSON line with throughput and latency percentiles.

    .venv/bin/python bench/api_load.py --backend postgresql --seconds 20 --concurrency 32

The load generator shares the machine with the server: on 2 cores it takes about one
of them, so the numbers are a lower bound for the server alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="postgresql")
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url, pg_name = _database(args.backend, Path(tmp))
        env = {**os.environ, "DISPATCH_DATABASE_URL": url, "DISPATCH_LOG_LEVEL": "WARNING"}
        key = subprocess.run(
            [sys.executable, "-m", "api", "keys", "create", "--role", "ticketing"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[0]
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "api",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            result = asyncio.run(_drive(port, key, args.seconds, args.concurrency))
            stored = _stored_ids(base, key)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(30)
            _drop(pg_name)
    acked = set(result.pop("acked"))
    stored_set = set(stored)
    result.update(
        backend=args.backend,
        workers=args.workers,
        concurrency=args.concurrency,
        seconds=args.seconds,
        lost=len(acked - stored_set),
        duplicates=len(stored) - len(stored_set),
    )
    print(json.dumps(result))
    return 0 if result["lost"] == 0 and result["duplicates"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
