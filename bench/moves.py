"""Moves benchmark: how many ruin-and-recreate moves the compiled kernel makes, and where it ends.

For each problem — Solomon instances by name (read with :mod:`bench.vrptw`'s reader) and
``field`` (the generated 1,000-order, 100-engineer problem of ``bench field``, seed 1) — the
routing input is built as the planner builds it (the OR-Tools model's construction inputs:
:func:`solver.search._construction_inputs`), the insertion construction runs
(:class:`solver.insertion.Insertion`), then :meth:`Insertion.improve` runs the compiled ruin
and recreate (:mod:`solver.fastrr`) in this process for ``--seconds`` (or ``--moves`` moves,
then annealing over the moves: the same moves every run). Printed per problem: moves, seconds,
moves a second and the final cost (the kernel's objective: route costs plus the drop
penalties of orders left out; for Solomon also the distance, DIMACS units).

The kernel is compiled (or loaded from its cache) before any clock. One process, one core.

Run ``python -m bench.moves --help`` or ``dispatch bench moves --help``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench.vrptw import (
    bench_subparsers,
    build_routing_input,
    default_bench_dir,
    dimacs_matrix,
    parse_instance,
    verify,
)

DEFAULT_PROBLEMS = "R201,RC207,field"
FIELD_SIZE = (1000, 100)
FIELD_SEED = 1


def _routing_input(name: str, bench_dir: Path) -> tuple[Any, Any]:
    """(RoutingInput, the Solomon instance or None) of a problem name."""
    if name == "field":
        from bench.field import generated_problem
        from dispatcher.compile import compile_problem
        from dispatcher.osrm import travel_times

        problem = generated_problem(*FIELD_SIZE, FIELD_SEED)
        return compile_problem(problem, travel_times(problem.policy.travel)).data, None
    inst = parse_instance(bench_dir / "solomon" / f"{name.upper()}.txt")
    return build_routing_input(inst), inst


def run_one(
    name: str, bench_dir: Path, seconds: float, moves: int | None, seed: int
) -> dict[str, Any]:
    """Construct and improve one problem; its row of results."""
    from solver import fastrr
    from solver.insertion import Insertion
    from solver.model import build
    from solver.search import _construction_inputs

    fastrr.warm_up()
    data, inst = _routing_input(name, bench_dir)
    m = build(data)
    inputs, visit = _construction_inputs(m)
    t0 = time.perf_counter()
    ins = Insertion(inputs, visit, m.time.boundaries, 40)
    ins.place(ins.orders, True)
    construct_s = time.perf_counter() - t0
    before = objective(ins)
    t1, c1 = time.perf_counter(), time.process_time()
    done = ins.improve(seconds if moves is None else 1e9, seed, True, moves)
    took, cpu = time.perf_counter() - t1, time.process_time() - c1
    row: dict[str, Any] = {
        "problem": name,
        "orders": len(ins.orders),
        "vehicles": ins.n_v,
        "construct_s": round(construct_s, 3),
        "moves": int(done),
        "seconds": round(took, 3),
        "moves_per_s": round(done / took) if took > 0 else None,
        "cpu_s": round(cpu, 3),
        "moves_per_cpu_s": round(done / cpu) if cpu > 0 else None,
        "cost_constructed": before,
        "cost": objective(ins),
        "unserved": _unserved(ins),
    }
    if inst is not None:
        check = verify(inst, ins.routes, dimacs_matrix(inst))
        row["distance"] = round(check.cost / 10, 1)
        row["feasible"] = check.feasible
    return row


def _unserved(ins: Any) -> int:
    served = {j for r in ins.routes for j in r}
    return sum(1 for j in ins.orders if j not in served)


def objective(ins: Any) -> int:
    """Route costs (arcs, lateness, vehicle-node, overtime) plus drop penalties of the orders
    left out, as the ruin and recreate counts them."""
    served = {j for r in ins.routes for j in r}
    drops = sum(int(ins.drop_penalty[j]) for j in ins.orders if j not in served)
    return int(sum(ins.route_cost(v) for v in range(ins.n_v)) + drops)


def format_table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'problem':<8} {'orders':>6} {'moves':>9} {'s':>6} {'moves/s':>9} {'cpu s':>6} "
        f"{'moves/cpu s':>11} {'cost':>12} {'dist':>8}"
    )
    lines = [head]
    for r in rows:
        dist = f"{r['distance']:.1f}" if "distance" in r else "-"
        lines.append(
            f"{r['problem']:<8} {r['orders']:>6} {r['moves']:>9} {r['seconds']:>6.2f} "
            f"{r['moves_per_s']:>9} {r['cpu_s']:>6.2f} {r['moves_per_cpu_s']:>11} "
            f"{r['cost']:>12} {dist:>8}"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    rows = []
    for name in [p.strip() for p in args.problems.split(",") if p.strip()]:
        row = run_one(name, Path(args.bench_dir), args.seconds, args.moves, args.seed)
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
    if not args.json:
        print(format_table(rows))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--problems",
        default=DEFAULT_PROBLEMS,
        help=f"comma-separated Solomon names and/or 'field' (default {DEFAULT_PROBLEMS})",
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="moves for this long")
    parser.add_argument(
        "--moves", type=int, default=None, help="exactly this many moves (no time limit)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the moves' random seed")
    parser.add_argument(
        "--bench-dir",
        default=str(default_bench_dir()),
        help="benchmark data folder (default: $DISPATCH_BENCH_DIR or ../shared/bench)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON line per problem")


def add_moves_parser(nested: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``moves`` under an existing ``bench`` sub-parsers object."""
    parser = nested.add_parser(
        "moves", help="compiled ruin-and-recreate moves a second", description=__doc__
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Entry point helper: add ``bench moves`` (creating ``bench`` if needed)."""
    nested = bench_subparsers(subparsers)
    if "moves" not in nested.choices:
        add_moves_parser(nested)
    return nested


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.moves", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
