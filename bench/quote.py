"""Quote benchmark: how fast is "when could someone be there?" (issue 21, item 5).

For each generated problem (``--sizes``, ``--seeds``; :func:`dispatcher.generate.generate_problem`)
a plan is made with ``--publish-limit`` seconds and published; a
:class:`dispatcher.quote.QuoteBook` is built for it (timed: once per published plan and
problem version); then ``--quotes`` new tickets of the same generator are quoted by
``--clients`` threads at once, each taking the next ticket as soon as its last answer came
(closed loop). Latency is per quote, waiting for the book included. The bar (issue 21): p95
at most 100 ms and p99 at most 200 ms at 1,000 open orders x 100 engineers, 4 clients.

With ``--api`` the same tickets are also quoted through the HTTP API (``POST /v1/quotes``
on an in-process ``dispatch serve``-like server on SQLite, the problem's engineers and
orders stored, the plan published; the first quote builds the book and is reported apart).

Results: a markdown table on stdout and ``quote.json`` under ``--out``; numbers in
docs/performance.md, "Quotes".
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from bench.field import add_generated_problem_arguments
from bench.vrptw import bench_subparsers, write_results
from dispatcher.argtypes import positive_int

BAR_P95_MS = 100.0
BAR_P99_MS = 200.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values``, nearest rank (the value below which ``q`` of
    them lie); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 1))))
    return ordered[rank - 1]


def closed_loop(call: Callable[[Any], Any], items: Sequence[Any], clients: int) -> list[float]:
    """Seconds each call of ``call(item)`` took, ``clients`` threads taking the next item as
    soon as their last call returned."""
    lock = threading.Lock()
    todo = list(reversed(items))
    out: list[float] = []

    def client() -> None:
        while True:
            with lock:
                if not todo:
                    return
                item = todo.pop()
            t0 = time.perf_counter()
            call(item)
            took = time.perf_counter() - t0
            with lock:
                out.append(took)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def latency_row(seconds: Sequence[float]) -> dict[str, Any]:
    ms = [s * 1000.0 for s in seconds]
    return {
        "quotes": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p95_ms": round(percentile(ms, 0.95), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "max_ms": round(max(ms), 1) if ms else 0.0,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else 0.0,
    }


def world(size: tuple[int, int], seed: int, quotes: int, publish_limit: float) -> tuple[Any, list]:
    """The published problem and the tickets to quote."""
    from dispatcher.codec import problem_from_dict
    from dispatcher.diff import published_visits
    from dispatcher.generate import generate_problem
    from dispatcher.planner import PlanOptions, plan_problem

    orders, engineers = size
    full = problem_from_dict(generate_problem(orders + quotes, engineers, seed))
    base = replace(full, orders=full.orders[:orders])
    plan = plan_problem(base, PlanOptions(time_limit_s=publish_limit))
    tickets = [replace(o, id=f"Q-{o.id}") for o in full.orders[orders:]]
    return replace(base, published=published_visits(plan)), tickets


def run_one(size: tuple[int, int], seed: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Publish, build the book, quote in-process (and through the API with ``--api``)."""
    from dispatcher.quote import QuoteBook

    problem, tickets = world(size, seed, args.quotes, args.publish_limit)
    t0 = time.perf_counter()
    book = QuoteBook(problem)
    book_s = time.perf_counter() - t0
    answers: dict[str, Any] = {}

    def ask(order: Any) -> None:
        answers[order.id] = book.quote(order, args.limit)

    book.quote(tickets[0], args.limit)  # warm (imports, caches)
    seconds = closed_loop(ask, tickets, args.clients)
    row = {
        "size": f"{size[0]}x{size[1]}",
        "seed": seed,
        "via": "in-process",
        "clients": args.clients,
        "book_s": round(book_s, 2),
        "with_options": sum(1 for q in answers.values() if q.options),
        **latency_row(seconds),
    }
    rows = [row]
    if args.api:
        rows.append(_via_api(args, size, seed))
    return rows


def _via_api(args: argparse.Namespace, size: tuple[int, int], seed: int) -> dict[str, Any]:
    """The tickets through ``POST /v1/quotes`` of a ``dispatch serve`` on a fresh SQLite
    database: the problem's policy, engineers and orders stored, planned with
    ``--publish-limit`` seconds and published. The world is generated from now (the API
    plans from its own clock). The first quote builds the book: it is reported as
    ``book_s`` and left out of the percentiles."""
    import tempfile
    from datetime import UTC, datetime

    import httpx

    from bench.api_load import create_key, serve
    from dispatcher.codec import problem_from_dict, problem_to_dict
    from dispatcher.generate import generate_problem

    orders, engineers = size
    now = datetime.now(UTC).replace(microsecond=0)
    full = problem_from_dict(
        generate_problem(orders + args.quotes, engineers, seed, planning_start=now)
    )
    doc = problem_to_dict(full)
    stored, tickets = doc["orders"][:orders], doc["orders"][orders:]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/quote.db"
        with serve(url, 1) as base:
            key = create_key(url, "admin")
            headers = {"Authorization": f"Bearer {key}"}
            with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
                client.put("/v1/policy", json=doc["policy"]).raise_for_status()
                for e in doc["engineers"]:
                    client.put(f"/v1/engineers/{e['id']}", json=e).raise_for_status()
                for k in range(0, len(stored), 1000):
                    chunk = {"orders": stored[k : k + 1000]}
                    client.post("/v1/orders:batch", json=chunk).raise_for_status()
                job = client.post(
                    "/v1/plans",
                    json={"time_limit_s": args.publish_limit, "horizon_hours": full.horizon_hours},
                ).json()
                while job["state"] not in ("done", "failed"):
                    time.sleep(0.5)
                    job = client.get(f"/v1/plans/{job['id']}").json()
                assert job["state"] == "done", job.get("error")
                client.post(f"/v1/plans/{job['id']}/publish").raise_for_status()
                t0 = time.perf_counter()
                client.post("/v1/quotes", json=tickets[0]).raise_for_status()
                first_s = time.perf_counter() - t0
            with_options = [0]
            books: set[str] = set()
            local = threading.local()

            def ask(ticket: dict[str, Any]) -> None:
                if not hasattr(local, "client"):
                    local.client = httpx.Client(base_url=base, headers=headers, timeout=60)
                r = local.client.post("/v1/quotes", json=ticket, params={"limit": args.limit})
                r.raise_for_status()
                with_options[0] += bool(r.json()["options"])
                books.add(r.json()["planning_start"])  # a new book starts from a new moment

            seconds = closed_loop(ask, tickets, args.clients)
    return {
        "size": f"{orders}x{engineers}",
        "seed": seed,
        "via": "api",
        "clients": args.clients,
        "book_s": round(first_s, 2),
        "with_options": with_options[0],
        "books": len(books),
        **latency_row(seconds),
    }


COLUMNS = (
    "size", "seed", "via", "clients", "quotes", "with_options", "book_s", "p50_ms", "p95_ms",
    "p99_ms", "max_ms", "mean_ms",
)  # fmt: skip


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(str(r.get(c, "")) for c in COLUMNS) + " |")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rows = []
    for size in args.sizes:
        for seed in args.seeds:
            rows.extend(run_one(size, seed, args))
    print(markdown_table(rows))
    for r in rows:
        ok = r["p95_ms"] <= BAR_P95_MS and r["p99_ms"] <= BAR_P99_MS
        print(
            f"{r['size']} seed {r['seed']} {r['via']}: p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms "
            f"-> {'meets' if ok else 'MISSES'} the bar (p95 <= {BAR_P95_MS:.0f}, "
            f"p99 <= {BAR_P99_MS:.0f})"
        )
    path = write_results(args.out, "quote", {"args": _args(args), "rows": rows})
    print(f"results: {path}")
    return 0


def _args(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "sizes": [f"{o}x{e}" for o, e in args.sizes],
        "seeds": args.seeds,
        "publish_limit": args.publish_limit,
        "quotes": args.quotes,
        "clients": args.clients,
        "limit": args.limit,
        "api": args.api,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_generated_problem_arguments(parser)
    parser.add_argument(
        "--publish-limit", type=float, default=10.0, help="seconds for the published plan"
    )
    parser.add_argument(
        "--quotes", type=positive_int, default=400, help="new tickets quoted (default 400)"
    )
    parser.add_argument(
        "--clients", type=positive_int, default=4, help="concurrent clients (default 4)"
    )
    parser.add_argument(
        "--limit", type=positive_int, default=3, help="options per quote (default 3)"
    )
    parser.add_argument(
        "--api", action="store_true", help="also quote through the HTTP API (POST /v1/quotes)"
    )
    parser.add_argument("--out", help="directory for quote.json (default bench/results/quote)")


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add ``bench quote`` (creating ``bench`` if needed)."""
    nested = bench_subparsers(subparsers)
    if "quote" not in nested.choices:
        parser = nested.add_parser(
            "quote",
            help="ETA quote latency percentiles against a published plan, concurrent clients",
            description=__doc__.split("\n\n")[0] if __doc__ else None,
        )
        add_arguments(parser)
        parser.set_defaults(func=run)
    return nested


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bench.quote [--sizes ...] [--quotes N] [--clients C]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.quote", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
