"""Re-planning benchmark: how much a re-plan keeps, how fast, at what cost.

For each generated problem (``--sizes``, ``--seeds``) a first plan is made with
``--publish-limit`` seconds and published. Then two events, each re-planned incrementally
(``dispatcher.planner.PlanOptions(mode="incremental")``) and compared with a full re-plan
of ``--full-limit`` seconds of the same world (moves from the published plan priced the
same way, so the objectives compare):

- **new ticket**: one more order arrives (``--ticket-limit`` seconds for the incremental
  re-plan);
- **sick engineer**: the engineer with the most published visits loses every shift
  (``--sick-limit`` seconds).

Reported per event: wall seconds, objective and its ratio to the full re-plan's, on-time
orders, published visits reassigned (share), and for the sick engineer how many of their
visits were reassigned or dropped with a reason. One thread each (OR-Tools routing is
single-threaded; ``workers=1``). Results: a markdown table on stdout and JSON under
``--out``; numbers in docs/performance.md, "Re-planning".
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from typing import Any

from bench.field import add_generated_problem_arguments
from bench.vrptw import bench_subparsers, write_results


def _event_row(
    event: str, problem: Any, published: Any, plan: Any, seconds: float, full: Any
) -> dict[str, Any]:
    from dispatcher.diff import plan_changes

    changes = plan_changes(problem, plan)
    n_published = sum(len(r.visits) for r in published.routes)
    reassigned = [c for c in changes if c.kind == "reassigned"]
    objective = plan.meta.get("objective")
    full_objective = full.meta.get("objective")
    return {
        "event": event,
        "seconds": round(seconds, 2),
        "objective": objective,
        "full_objective": full_objective,
        "ratio": None
        if not objective or not full_objective
        else round(objective / full_objective, 4),
        "on_time": plan.kpis.on_time,
        "full_on_time": full.kpis.on_time,
        "assigned": plan.kpis.assigned,
        "published_visits": n_published,
        "reassigned": len(reassigned),
        "reassigned_share": round(len(reassigned) / max(1, n_published), 4),
        "full_reassigned": sum(1 for c in plan_changes(problem, full) if c.kind == "reassigned"),
        "final_phase": plan.meta.get("final_phase"),
    }


def run_one(size: tuple[int, int], seed: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Publish, then the two events, each incremental and full."""
    from dispatcher.codec import problem_from_dict
    from dispatcher.diff import plan_changes, published_visits
    from dispatcher.generate import generate_problem
    from dispatcher.planner import PlanOptions, plan_problem

    orders, engineers = size
    world = problem_from_dict(generate_problem(orders + 1, engineers, seed))
    ticket = world.orders[-1]
    base = replace(world, orders=world.orders[:-1])
    first = plan_problem(base, PlanOptions(time_limit_s=args.publish_limit))
    now = replace(base, published=published_visits(first))
    rows = []

    def timed(problem: Any, limit: float, mode: str) -> tuple[Any, float]:
        t0 = time.perf_counter()
        plan = plan_problem(problem, PlanOptions(time_limit_s=limit, mode=mode))
        return plan, time.perf_counter() - t0

    with_ticket = replace(now, orders=(*now.orders, ticket))
    plan, seconds = timed(with_ticket, args.ticket_limit, "incremental")
    full, _ = timed(with_ticket, args.full_limit, "full")
    rows.append(_event_row("new_ticket", with_ticket, first, plan, seconds, full))

    busiest = max(first.routes, key=lambda r: len(r.visits))
    roster = tuple(
        replace(e, shifts=()) if e.id == busiest.engineer_id else e for e in now.engineers
    )
    sick = replace(now, engineers=roster)
    plan, seconds = timed(sick, args.sick_limit, "incremental")
    full, _ = timed(sick, args.full_limit, "full")
    row = _event_row("sick_engineer", sick, first, plan, seconds, full)
    theirs = {v.order_id for v in busiest.visits}
    moved = {c.order_id: c for c in plan_changes(sick, plan) if c.order_id in theirs}
    row["sick_visits"] = len(theirs)
    row["sick_visits_explained"] = sum(
        1 for c in moved.values() if c.kind in ("reassigned", "dropped") and c.reason
    )
    row["others_reassigned"] = sum(
        1 for c in plan_changes(sick, plan) if c.kind == "reassigned" and c.order_id not in theirs
    )
    rows.append(row)
    for r in rows:
        r.update(size=f"{orders}x{engineers}", seed=seed)
    return rows


COLUMNS = (
    "size", "seed", "event", "seconds", "ratio", "on_time", "full_on_time", "assigned",
    "reassigned", "reassigned_share", "full_reassigned", "final_phase",
)  # fmt: skip


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append(
            "| " + " | ".join("" if r.get(c) is None else str(r[c]) for c in COLUMNS) + " |"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rows = []
    for size in args.sizes:
        for seed in args.seeds:
            rows.extend(run_one(size, seed, args))
    print(markdown_table(rows))
    for r in rows:
        if r["event"] == "sick_engineer":
            print(
                f"{r['size']} seed {r['seed']}: sick engineer's visits {r['sick_visits']}, "
                f"reassigned or dropped with a reason {r['sick_visits_explained']}, "
                f"other visits reassigned {r['others_reassigned']}"
            )
    path = write_results(args.out, "replan", {"args": _args(args), "rows": rows})
    print(f"results: {path}")
    return 0


def _args(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "sizes": [f"{o}x{e}" for o, e in args.sizes],
        "seeds": args.seeds,
        "publish_limit": args.publish_limit,
        "ticket_limit": args.ticket_limit,
        "sick_limit": args.sick_limit,
        "full_limit": args.full_limit,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_generated_problem_arguments(parser)
    parser.add_argument(
        "--publish-limit", type=float, default=30.0, help="seconds for the published plan"
    )
    parser.add_argument(
        "--ticket-limit", type=float, default=4.0, help="seconds for the re-plan after a ticket"
    )
    parser.add_argument(
        "--sick-limit", type=float, default=8.0, help="seconds for the re-plan after a sick call"
    )
    parser.add_argument(
        "--full-limit", type=float, default=60.0, help="seconds for the full re-plans compared"
    )
    parser.add_argument("--out", help="directory for replan.json (default bench/results/...)")


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add ``bench replan`` (creating ``bench`` if needed)."""
    nested = bench_subparsers(subparsers)
    if "replan" not in nested.choices:
        parser = nested.add_parser(
            "replan",
            help="incremental re-plans after a new ticket and a sick engineer, against full ones",
            description=__doc__.split("\n\n")[0] if __doc__ else None,
        )
        add_arguments(parser)
        parser.set_defaults(func=run)
    return nested
