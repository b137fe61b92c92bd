"""The ``dispatch`` command line.

Exit codes: 0 success, 1 violations found (``check``), 2 bad input (one line on
stderr naming the field), 3 travel-time provider failure. Sub-commands that live
outside ``dispatcher/`` (``serve``, ``bench`` …) plug in through the
``dispatch.commands`` entry-point group, so this package never imports them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from dispatcher.argtypes import (
    bounded_int,
    fraction,
    non_negative_int,
    positive_float,
    positive_int,
)
from dispatcher.codec import load_plan, load_problem, plan_to_dict
from dispatcher.domain import Fix, Plan, Problem
from dispatcher.errors import DispatchError, InputError
from dispatcher.generate import (
    DEFAULT_HORIZON_HOURS,
    DEFAULT_OUT_OF_AREA_SHARE,
    DEFAULT_OVERSEAS_SHARE,
    DEFAULT_PLANNED_SHARE,
    DEFAULT_PLANNING_START,
    MAX_HORIZON_HOURS,
    generate_problem,
    problem_json,
)


def _progress_printer(total: int, stream: Any) -> Any:
    def show(p: Any) -> None:
        on_time = "?" if p.on_time is None else str(p.on_time)
        stream.write(
            f"\r  solving… best cost {p.best_cost:>14,}  on time {on_time:>5}/{total}  "
            f"{p.elapsed_s:6.1f} s  ({p.solutions} solutions)"
        )
        stream.flush()

    return show


def _fix_lines(fix: Fix | None, note: str | None) -> list[str]:
    """The fix line under a late or unassigned order (none when fixes were not looked for)."""
    if fix is not None:
        return [f"        fix ({fix.lever}): {fix.sentence}"]
    return [f"        no fix: {note}"] if note else []


def format_summary(problem: Problem, plan: Plan) -> str:
    """A readable plan summary: KPIs, one line per engineer, at-risk and unassigned orders."""
    k = plan.kpis
    lines = [
        f"Plan status: {plan.status}",
        f"  orders {k.orders}  assigned {k.assigned}  on time {k.on_time} ({k.on_time_rate:.1%})  "
        f"late {k.late}  unassigned {k.unassigned}",
        f"  travel {k.travel_km:,.0f} km / {k.travel_hours:,.1f} h  overtime {k.overtime_minutes:,.0f} min  "
        f"hotel nights {k.hotel_nights}  engineers used {k.engineers_used}/{len(problem.engineers)}",
        "",
        "Engineers:",
    ]
    names = {e.id: e.name for e in problem.engineers}
    for r in plan.routes:
        if not r.visits:
            lines.append(f"  {r.engineer_id:<10} {names.get(r.engineer_id, ''):<20} idle")
            continue
        stops = " → ".join(
            f"{v.order_id}@{v.arrival.astimezone(problem.planning_start.tzinfo):%a %H:%M}"
            + ("" if v.on_time else "(LATE)")
            + ("✈" if v.travel_mode == "flight" else "")
            for v in r.visits
        )
        km = sum(v.travel_km for v in r.visits) + (r.return_leg.travel_km if r.return_leg else 0.0)
        hotel = sum(1 for n in r.overnights if n.hotel)
        lines.append(
            f"  {r.engineer_id:<10} {names.get(r.engineer_id, ''):<20} {len(r.visits):>2} visits "
            f"{km:>7,.0f} km {hotel} hotel  {stops}"
        )
    at_risk = [
        (r.engineer_id, v)
        for r in plan.routes
        for v in r.visits
        if v.on_time and v.slack_minutes < 120
    ]
    if plan.late or at_risk:
        lines += ["", "At risk (late, or under 2 h of slack):"]
        for x in plan.late:
            lines.append(
                f"  LATE  {x.order_id:<12} {x.minutes_late:7.0f} min  {x.reason.value}: {x.detail}"
            )
            lines += _fix_lines(x.fix, x.fix_note)
        for eng, v in at_risk:
            lines.append(f"  risk  {v.order_id:<12} {v.slack_minutes:7.0f} min slack  ({eng})")
    if plan.unassigned:
        lines += ["", "Unassigned:"]
        for u in plan.unassigned:
            lines.append(f"  {u.order_id:<12} {u.reason.value}: {u.detail}")
            lines += _fix_lines(u.fix, u.fix_note)
    meta = plan.meta
    first = meta.get("first_solution_seconds")
    found = (
        "no plan found within the time limit" if first is None else f"first plan after {first} s"
    )
    limit = f"limit {meta.get('time_limit_s')} s"
    if meta.get("limit_covers") == "command":
        limit += f" for the whole command, {meta.get('solve_limit_seconds')} s of it to search"
    lines += [
        "",
        f"Solved by {meta.get('solver')} {meta.get('solver_version')} in {meta.get('solve_seconds')} s "
        f"({limit}), {found}",
    ]
    return "\n".join(lines)


def check_out_path(out: str) -> Path:
    """The ``--out`` file, checked before any work: not a directory, in an existing one."""
    path = Path(out)
    if path.is_dir():
        raise InputError("--out", f"expected a file path, got the directory {out}")
    parent = path.parent
    if not parent.is_dir():
        raise InputError("--out", f"expected a file in an existing directory, found no {parent}")
    return path


def _write_out(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError("--out", f"could not write {path}: {exc.strerror or exc}") from None


def _cmd_plan(args: argparse.Namespace) -> int:
    started = time.perf_counter()  # --time-limit covers the whole command from here
    from dispatcher.diff import plan_changes, published_visits
    from dispatcher.planner import PlanOptions, plan_problem

    out = check_out_path(args.out) if args.out else None
    problem = load_problem(args.problem)
    if args.published:
        problem = replace(problem, published=published_visits(load_plan(args.published)))
    mode = args.mode or ("incremental" if problem.published else "full")
    options = PlanOptions(
        time_limit_s=args.time_limit,
        solution_limit=args.solution_limit,
        mode=mode,
        limit_covers="command",
        # Naming a cluster without --parts splits automatically: the parts are what runs there.
        parts=args.parts if args.parts is not None else (0 if args.cluster else 1),
        cluster=args.cluster,
    )
    show = None if args.json or args.quiet else _progress_printer(len(problem.orders), sys.stderr)
    plan = plan_problem(problem, options, show, started_at=started)
    if show is not None:
        sys.stderr.write("\n")
    doc = plan_to_dict(plan)
    if out is not None:
        _write_out(out, json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    else:
        print(format_summary(problem, plan))
        if problem.published:
            print(format_changes(plan_changes(problem, plan), problem.planning_start.tzinfo))
        if args.out:
            print(f"Plan written to {args.out}")
    return 0


def format_changes(changes: Sequence[Any], tz: Any = None) -> str:
    """The plan's changes against the published plan, one line each (times in ``tz``)."""
    if not changes:
        return "\nChanges against the published plan: none"
    lines = [f"\nChanges against the published plan: {len(changes)}"]
    for c in changes:
        move = f"{c.from_engineer or '-'} → {c.to_engineer or '-'}"
        when = " ".join(
            f"{label} {t:%a %H:%M}"
            for label, t in (("was", c.old_start), ("now", c.new_start))
            if t
        )
        lines.append(f"  {c.kind:<10} {c.order_id:<12} {move:<22} {when}  ({c.reason})")
    return "\n".join(lines)


def _cmd_quote(args: argparse.Namespace) -> int:
    from dispatcher.codec import _read_json, order_from_dict
    from dispatcher.diff import published_visits
    from dispatcher.quote import quote

    problem = load_problem(args.problem)
    problem = replace(problem, published=published_visits(load_plan(args.plan)))
    order = order_from_dict(_read_json(args.order))
    answer = quote(problem, order, args.limit)
    if args.json:
        sys.stdout.write(json.dumps(answer.to_dict(), indent=1, ensure_ascii=False) + "\n")
    else:
        print(format_quote(answer, problem.planning_start.tzinfo))
    return 0


def format_quote(answer: Any, tz: Any = None) -> str:
    """A quote as a table, best option first (times in ``tz``)."""
    if not answer.options:
        return (
            f"Quote for {answer.order_id}: nobody can serve it\n  {answer.reason}: {answer.detail}"
        )
    lines = [
        f"Quote for {answer.order_id}: {len(answer.options)} option(s), best first",
        f"  {'engineer':<12} {'ETA':<16} {'start':<16} {'on time':<8} {'slack min':>10} "
        f"{'extra km':>9}  displaces",
    ]
    for o in answer.options:
        lines.append(
            f"  {o.engineer_id:<12} {o.eta.astimezone(tz):%a %d %H:%M}     "
            f"{o.start.astimezone(tz):%a %d %H:%M}     {'yes' if o.on_time else 'LATE':<8} "
            f"{o.slack_minutes:>10.0f} {o.extra_travel_km:>9.1f}  {', '.join(o.displaces) or '-'}"
        )
    return "\n".join(lines)


def _cmd_check(args: argparse.Namespace) -> int:
    from dispatcher.check import format_violations
    from dispatcher.check_travel import verify_plan

    problem = load_problem(args.problem)
    plan = load_plan(args.plan)
    violations = verify_plan(problem, plan)  # travel against the problem's own provider
    hard = [v for v in violations if v.hard]
    if violations:
        print(format_violations(violations))
    print(f"{len(hard)} violation(s), {len(violations) - len(hard)} warning(s)")
    return 1 if hard else 0


def _cmd_generate(args: argparse.Namespace) -> int:
    from datetime import datetime

    from dispatcher.reader import parse_datetime

    out = check_out_path(args.out) if args.out else None
    start: datetime | None = parse_datetime(args.start, "--start") if args.start else None
    doc = generate_problem(
        orders=args.orders,
        engineers=args.engineers,
        seed=args.seed,
        planning_start=start,
        horizon_hours=args.horizon_hours,
        overseas_share=args.overseas_share,
        planned_share=args.planned_share,
        out_of_area_share=args.out_of_area_share,
        awkward=args.awkward,
    )
    text = problem_json(doc)
    if out is not None:
        _write_out(out, text)
        print(
            f"Wrote {args.out}: {args.orders} orders, {args.engineers} engineers, "
            f"planning start {doc['planning_start']}"
        )
    else:
        sys.stdout.write(text)
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from dispatcher.schema import json_schema

    sys.stdout.write(json.dumps(json_schema(args.name), indent=2, ensure_ascii=False) + "\n")
    return 0


# The largest sizes `dispatch generate` accepts (the largest of both takes about 30 s).
MAX_GENERATED_ORDERS = 100_000
MAX_GENERATED_ENGINEERS = 10_000
# The sizes `dispatch generate` makes when not told: the demo's (fixtures/demo.json).
DEFAULT_GENERATED_ORDERS = 200
DEFAULT_GENERATED_ENGINEERS = 30


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage as one line and exit code 2."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise InputError("", f"{self.prog}: {message}")


def _add_generate(sub: argparse._SubParsersAction) -> None:
    """``dispatch generate``, the one command line of :mod:`dispatcher.generate`."""
    g = sub.add_parser(
        "generate",
        help="write a realistic generated problem (the generator of fixtures/demo.json)",
        description="Write a seeded, realistic Problem JSON (docs/demo.md): the same options "
        "give the same file, byte for byte. Without options it has the demo's size; the demo "
        "itself is `dispatch generate --orders 200 --engineers 30 --seed 7 --awkward "
        "--out fixtures/demo.json`.",
    )
    g.add_argument(
        "--orders",
        type=bounded_int(MAX_GENERATED_ORDERS),
        default=DEFAULT_GENERATED_ORDERS,
        help=f"number of orders, 1-{MAX_GENERATED_ORDERS:,} (default %(default)s, the demo's)",
    )
    g.add_argument(
        "--engineers",
        type=bounded_int(MAX_GENERATED_ENGINEERS),
        default=DEFAULT_GENERATED_ENGINEERS,
        help=f"number of engineers, 1-{MAX_GENERATED_ENGINEERS:,} "
        "(default %(default)s, the demo's)",
    )
    g.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the generator's one random stream (default %(default)s; the demo's is 7)",
    )
    g.add_argument(
        "--start",
        metavar="TIME",
        help="planning start, RFC 3339 with offset "
        f"(default {DEFAULT_PLANNING_START.isoformat()}, a Monday)",
    )
    g.add_argument(
        "--horizon-hours",
        type=bounded_int(MAX_HORIZON_HOURS),
        default=DEFAULT_HORIZON_HOURS,
        metavar="H",
        help=f"planning horizon in hours, 1-{MAX_HORIZON_HOURS} (default %(default)s)",
    )
    g.add_argument(
        "--overseas-share",
        type=fraction,
        default=DEFAULT_OVERSEAS_SHARE,
        metavar="F",
        help="share of orders at sites abroad, 0-1 (default %(default)s)",
    )
    g.add_argument(
        "--out-of-area-share",
        type=fraction,
        default=DEFAULT_OUT_OF_AREA_SHARE,
        metavar="F",
        help="share of orders in Chinese cities beyond every station's area, 0-1 "
        "(default %(default)s)",
    )
    g.add_argument(
        "--planned-share",
        type=fraction,
        default=DEFAULT_PLANNED_SHARE,
        metavar="F",
        help="chance that a domestic order is planned work with a deadline days out rather "
        "than a fault on the 24 h clock, 0-1 (default %(default)s)",
    )
    g.add_argument(
        "--awkward",
        action="store_true",
        help="turn a few orders into ones nobody can serve, one per reason code (as the demo)",
    )
    g.add_argument("--out", metavar="FILE", help="file to write (default: stdout)")
    g.set_defaults(func=_cmd_generate)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dispatch", description="Field-engineer dispatch optimizer")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("plan", help="plan a problem file and print the summary")
    p.add_argument("problem", help="Problem JSON (docs/contract.md; `dispatch schema problem`)")
    p.add_argument(
        "--time-limit",
        type=positive_float,
        default=10.0,
        help="seconds for the whole command: reading, planning, writing (default 10)",
    )
    p.add_argument(
        "--solution-limit",
        type=positive_int,
        default=None,
        help="stop after N solutions (deterministic)",
    )
    p.add_argument(
        "--published",
        metavar="PLAN.json",
        help="the plan in force: moves from it are priced and listed (docs/model.md, "
        "Re-planning); the problem's own `published` otherwise",
    )
    p.add_argument(
        "--mode",
        choices=("full", "incremental"),
        help="incremental: keep published visits with their engineers, fit the rest in; "
        "full: plan afresh (default: incremental when a plan is published)",
    )
    p.add_argument(
        "--parts",
        type=non_negative_int,
        default=None,
        metavar="N",
        help="decompose into N parts of nearby routes improved side by side "
        "(solver/decompose.py); 0 = automatic (from 1,000 orders), 1 = none (default, or 0 "
        "with --cluster)",
    )
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=os.environ.get("DISPATCH_RAY_ADDRESS") or None,
        help="run the parts on a Ray cluster: HOST:PORT, ray://HOST:PORT, auto or local "
        "(docs/operations.md; default $DISPATCH_RAY_ADDRESS, else this machine's processes)",
    )
    p.add_argument("--out", help="write the Plan JSON here")
    p.add_argument("--json", action="store_true", help="print the Plan JSON instead of the summary")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_cmd_plan)

    c = sub.add_parser("check", help="check a plan against its problem (exit 1 on violations)")
    c.add_argument("problem", help="the Problem JSON the plan was made for")
    c.add_argument("plan", help="the Plan JSON to check (e.g. `dispatch plan --out`)")
    c.set_defaults(func=_cmd_check)

    q = sub.add_parser(
        "quote",
        help="when could someone be there? ETA options for a new order against a plan",
        description="Quote a new order (not among the problem's orders) against the plan in "
        "force: where the next incremental re-plan would put it, and each other engineer's "
        "cheapest place (docs/api.md, Quotes). Nothing is planned or written.",
    )
    q.add_argument("problem", help="Problem JSON: the open orders and the roster")
    q.add_argument("plan", help="Plan JSON in force (its visits are the published plan)")
    q.add_argument("order", help="Order JSON of the new ticket (`dispatch schema order`)")
    q.add_argument(
        "--limit",
        type=bounded_int(20),
        default=3,
        help="most options, one per engineer, 1-20 (default %(default)s)",
    )
    q.add_argument("--json", action="store_true", help="print the quote as JSON instead of a table")
    q.set_defaults(func=_cmd_quote)

    _add_generate(sub)

    s = sub.add_parser(
        "schema",
        help="print the JSON Schema of a contract document (docs/contract.md)",
        description="Print the JSON Schema (draft 2020-12) of the problem, plan or order "
        "document. The codec checks a few rules a schema cannot say (docs/contract.md).",
    )
    # Not argparse choices: an unknown name is the NotFound the API also answers (404).
    s.add_argument("name", metavar="{problem,plan,order}", help="which document")
    s.set_defaults(func=_cmd_schema)

    from dispatcher.whatif.cli import register_simulate

    register_simulate(sub)
    for ep in entry_points(group="dispatch.commands"):
        ep.load()(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args))
    except DispatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

__all__ = ["main", "build_parser", "format_summary", "format_quote"]
