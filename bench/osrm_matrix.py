"""OSRM matrix benchmark: a ``--points`` matrix through the OSRM provider, against a local router.

Without ``--url`` it builds Monaco's graph (``--algorithm``: ``ch`` with osrm-contract, or
``mld`` with osrm-partition and osrm-customize) from the extract ``make install`` downloads
(bench/osrm_local.py) and serves it with ``osrm-routed --max-table-size``; points are sampled
uniformly in Monaco's bounding box (``--seed``). Each of ``--repeats`` runs starts from an
empty cache and times ``OsrmTravelTimes.matrix`` (chunking, concurrent requests, JSON, the
mapping to the travel model); then one more run with the cache warm (a re-plan) must query
nothing. Prints a table and the verdict against ``--bar`` seconds (the median of the cold
runs); writes osrm_matrix.json under ``--out``. Numbers: docs/performance.md, "OSRM matrix".
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import osrm_local
from bench.vrptw import bench_subparsers, write_results


def sample_points(n: int, seed: int) -> list[Any]:
    import numpy as np

    from dispatcher.domain import Location

    rng = np.random.default_rng(seed)
    lat0, lon0, lat1, lon1 = osrm_local.MONACO_BBOX
    lat, lon = rng.uniform(lat0, lat1, n), rng.uniform(lon0, lon1, n)
    return [Location(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]


def measure(url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    from dispatcher.domain import TravelParams
    from dispatcher.osrm import OsrmTravelTimes, clear_cache

    points = sample_points(args.points, args.seed)
    params = TravelParams(provider="osrm", url=url, max_table_size=args.max_table_size)
    rows = []
    for run in range(args.repeats + 1):
        warm = run == args.repeats
        if not warm:
            clear_cache()
        provider = OsrmTravelTimes(params, workers=args.workers)
        t0 = time.perf_counter()
        provider.matrix(points)
        seconds = time.perf_counter() - t0
        s = provider.stats
        rows.append({
            "run": "warm" if warm else f"cold {run + 1}", "seconds": round(seconds, 3),
            "requests": s.requests, "queried_pairs": s.queried_pairs,
            "cached_pairs": s.cached_pairs, "fallback_pairs": s.fallback_pairs,
        })  # fmt: skip
    clear_cache()
    return rows


def run(args: argparse.Namespace) -> int:
    if args.url:
        rows = measure(args.url, args)
    else:
        inst = osrm_local.find()
        if isinstance(inst, str):
            print(f"no local OSRM: {inst}")
            return 2
        with tempfile.TemporaryDirectory(prefix="osrm-bench-") as tmp:
            t0 = time.perf_counter()
            base = osrm_local.build(inst, inst.monaco_pbf, Path(tmp), args.algorithm)
            print(f"Monaco graph ({args.algorithm}) built in {time.perf_counter() - t0:.1f} s")
            with osrm_local.Router(
                inst, base, args.algorithm, args.max_table_size, args.server_threads
            ) as router:
                rows = measure(router.url, args)
    cold = [r["seconds"] for r in rows if r["run"] != "warm"]
    warm = rows[-1]
    median = statistics.median(cold)
    ok = median <= args.bar and warm["queried_pairs"] == 0
    print("| run | seconds | requests | queried pairs | cached pairs | fallback pairs |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['run']} | {r['seconds']:.3f} | {r['requests']} | {r['queried_pairs']} | "
              f"{r['cached_pairs']} | {r['fallback_pairs']} |")  # fmt: skip
    print(
        f"{args.points} points, {args.algorithm}, max table size {args.max_table_size}: "
        f"median {median:.3f} s (bar {args.bar} s), warm re-run queried "
        f"{warm['queried_pairs']} pairs: {'OK' if ok else 'FAILS THE BAR'}"
    )
    settings = {k: getattr(args, k) for k in ("points", "seed", "algorithm", "max_table_size",
                                              "workers", "server_threads", "repeats", "bar", "url")}  # fmt: skip
    doc = {"args": settings, "median_s": median, "ok": ok, "rows": rows}
    path = write_results(args.out, "osrm_matrix", doc)
    print(f"results: {path}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--points", type=int, default=1000, help="matrix size (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="of the sampled points")
    parser.add_argument(
        "--algorithm",
        choices=("ch", "mld"),
        default="ch",
        help="the local router's: contraction hierarchies or multi-level Dijkstra",
    )
    parser.add_argument(
        "--max-table-size", type=int, default=1000, help="osrm-routed's, and the provider's"
    )
    parser.add_argument("--workers", type=int, default=8, help="concurrent requests")
    parser.add_argument("--server-threads", type=int, default=2, help="osrm-routed -t")
    parser.add_argument("--repeats", type=int, default=5, help="cold runs (empty cache)")
    parser.add_argument("--bar", type=float, default=2.0, help="seconds for the median cold run")
    parser.add_argument("--url", help="an OSRM server to use instead of a local Monaco one")
    parser.add_argument("--out", help="directory for osrm_matrix.json (default bench/results)")


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add ``bench osrm-matrix`` (creating ``bench`` if needed)."""
    nested = bench_subparsers(subparsers)
    if "osrm-matrix" not in nested.choices:
        parser = nested.add_parser(
            "osrm-matrix",
            help="a 1,000-point matrix through the OSRM provider against a local router",
            description=__doc__.split("\n\n")[0] if __doc__ else None,
        )
        add_arguments(parser)
        parser.set_defaults(func=run)
    return nested
