"""Benchmark of the what-if simulation (docs/simulation.md, "Performance").

Two bars:

* ``replication``: one 7-day rolling-horizon replication with 200 tickets/day and 30
  engineers, re-planning every 2 hours (and on each critical ticket), on one core.
  Bar: <= 120 s.
* ``scale``: 3 variants x 10 replications with 1 worker, then with 2 workers (local process
  pool). Bar: >= 1.7x faster with 2 workers. The machine's load average is printed before
  and after, since other jobs share the cores.

Usage::

    .venv/bin/python bench/simulate_bench.py replication [--days 7] [--tickets 200]
    .venv/bin/python bench/simulate_bench.py scale [--days 2] [--tickets 60] [--replications 10]

Results are printed and appended as JSON lines to ``bench/results/simulate.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispatcher.whatif.model import Scenario
from dispatcher.whatif.scenario_file import scenario_from_dict
from dispatcher.whatif.simulate import Task, run_task, run_tasks, tasks_for

RESULTS = Path(__file__).resolve().parent / "results" / "simulate.jsonl"


def bench_scenario(tickets: float, engineers: int, days: float, replications: int) -> Scenario:
    return scenario_from_dict(
        {
            "name": "bench",
            "seed": 1,
            "base": {
                "roster": {"engineers": engineers, "seed": 7},
                "demand": {"tickets_per_day": tickets},
            },
            "simulation": {
                "days": days,
                "warmup_days": 0,
                "drain_days": 1,
                "replan_every_hours": 2,
                "replications": replications,
                # The scenario defaults: solution_limit 5, GREEDY_DESCENT, time cap 10 s,
                # at most 250 orders per re-plan.
            },
            "variants": [
                {
                    "name": "hire 3",
                    "modifications": [
                        {"type": "add_engineers", "engineers": 3, "station": "Jinan"}
                    ],
                },
                {"name": "demand +20%", "modifications": [{"type": "demand", "multiplier": 1.2}]},
            ],
        }
    )


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _record(doc: dict[str, Any]) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write(json.dumps(doc) + "\n")
    print(json.dumps(doc, indent=1))


def replication(args: argparse.Namespace) -> None:
    scenario = bench_scenario(args.tickets, args.engineers, args.days, 1)
    load_before = _load()
    t0 = time.perf_counter()
    result = run_task(Task(scenario, scenario.variants[0], 0))
    wall = time.perf_counter() - t0
    _record(
        {
            "bench": "replication",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "days": args.days,
            "tickets_per_day": args.tickets,
            "engineers": args.engineers,
            "orders": result.orders,
            "replans": result.replans,
            "solves_at_time_limit": result.solves_at_time_limit,
            "solve_seconds": result.solve_seconds,
            "wall_seconds": round(wall, 2),
            "bar_seconds": 120,
            "ok": wall <= 120,
            "on_time_rate": round(result.metrics["on_time_rate"], 4),
            "utilisation": round(result.metrics["utilisation"], 4),
            "load_before": load_before,
            "load_after": _load(),
            "cpu_count": os.cpu_count(),
        }
    )


def scale(args: argparse.Namespace) -> None:
    scenario = bench_scenario(args.tickets, args.engineers, args.days, args.replications)
    tasks = tasks_for(scenario)
    walls: dict[int, float] = {}
    loads: dict[int, list[list[float]]] = {}
    identities = {}
    task_seconds: dict[int, float] = {}
    for workers in (1, 2):
        before = _load()
        t0 = time.perf_counter()
        results = run_tasks(tasks, workers)
        walls[workers] = time.perf_counter() - t0
        loads[workers] = [before, _load()]
        identities[workers] = [r.identity() for r in results]
        task_seconds[workers] = round(sum(r.wall_seconds for r in results), 2)
    speedup = walls[1] / walls[2]
    _record(
        {
            "bench": "scale",
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "variants": len(scenario.variants),
            "replications": args.replications,
            "days": args.days,
            "tickets_per_day": args.tickets,
            "engineers": args.engineers,
            "wall_seconds_1_worker": round(walls[1], 2),
            "wall_seconds_2_workers": round(walls[2], 2),
            "task_seconds_1_worker": task_seconds[1],
            "task_seconds_2_workers": task_seconds[2],
            "speedup": round(speedup, 3),
            "bar_speedup": 1.7,
            "ok": speedup >= 1.7,
            "identical_results": identities[1] == identities[2],
            "load_1_worker": loads[1],
            "load_2_workers": loads[2],
            "cpu_count": os.cpu_count(),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="bench", required=True)
    r = sub.add_parser("replication")
    r.add_argument("--days", type=float, default=7.0)
    r.add_argument("--tickets", type=float, default=200.0)
    r.add_argument("--engineers", type=int, default=30)
    r.set_defaults(func=replication)
    s = sub.add_parser("scale")
    s.add_argument("--days", type=float, default=2.0)
    s.add_argument("--tickets", type=float, default=60.0)
    s.add_argument("--engineers", type=int, default=30)
    s.add_argument("--replications", type=int, default=10)
    s.set_defaults(func=scale)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
