"""A/B of search variants: ours with SearchParams fields changed against ours as it is and
the peers, on VRPTW instances, every solver one process, one after the other, in one run.

Each variant is ``NAME:field=value[,field=value]`` (values parsed as Python literals), e.g.
``--variants pop:population=6``. Printed: per instance the distance and gap to the best-known
of each solver, then the mean over instances of each variant's cost over each other
solver's (a ratio below 1: the variant is cheaper). The load average is printed at the start
and the end (the machine is shared: read ratios within one run, not across runs).

Run ``python -m bench.search_ab --help``.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from bench.vrptw import (
    DEFAULT_PYVRP_SEED,
    default_bench_dir,
    dimacs_matrix,
    instance_files,
    parse_bks,
    parse_instance,
    run_ours,
    run_pyvrp,
    score,
)
from solver import fastrr, population
from solver.params import SearchParams


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``NAME:field=value,...`` as (name, fields)."""
    name, _, spec = text.partition(":")
    fields: dict[str, Any] = {}
    for part in filter(None, spec.split(",")):
        key, _, value = part.partition("=")
        fields[key.strip()] = ast.literal_eval(value.strip())
    return name.strip(), fields


def run(args: argparse.Namespace) -> int:
    bench_dir = Path(args.bench_dir)
    names = [n.strip() for n in args.instances.split(",") if n.strip()]
    files = instance_files(bench_dir, args.set, names or None)
    bks = parse_bks(bench_dir / "bks.csv")
    base = SearchParams(time_limit_s=args.time_limit, workers=1)
    variants = {"ours": base}
    for text in args.variants:
        name, fields = parse_variant(text)
        variants[name] = replace(base, **fields)
    solvers = [*variants, *(["pyvrp"] if args.pyvrp else [])]
    print(f"load average at start: {os.getloadavg()}", flush=True)
    fastrr.warm_up()
    population.warm_up()
    rows = []
    for path in files:
        inst = parse_instance(path)
        matrix = dimacs_matrix(inst)
        for s in solvers:
            if s == "pyvrp":
                outcome = run_pyvrp(inst, matrix, args.time_limit, args.seed)
            else:
                outcome = run_ours(inst, matrix, args.time_limit, variants[s])
            row = score(inst, s, outcome, matrix, bks.get(inst.name.upper()))
            rows.append(row)
            print(
                f"{inst.name:<10} {s:<10} {row.cost!s:>10} gap={row.gap_pct}% "
                f"feasible={row.feasible}",
                flush=True,
            )
    print(f"load average at end: {os.getloadavg()}")
    cost = {(r.instance, r.solver): r.objective for r in rows if r.feasible}
    gaps = {
        s: [r.gap_pct for r in rows if r.solver == s and r.gap_pct is not None] for s in solvers
    }
    print("mean gap %: " + ", ".join(f"{s} {np.mean(g):.3f}" for s, g in gaps.items() if g))
    insts = sorted({r.instance for r in rows})
    for a in solvers:
        for b in solvers:
            if a == b or a == "pyvrp":
                continue
            ratios = [cost[i, a] / cost[i, b] for i in insts if (i, a) in cost and (i, b) in cost]
            if ratios:
                print(f"{a}/{b}: mean ratio {np.mean(ratios):.5f} over {len(ratios)}")
    return 0 if all(r.feasible for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_ab", description=__doc__)
    parser.add_argument("--set", default="solomon", choices=["solomon", "gh200", "gh1000"])
    parser.add_argument("--instances", default="")
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--variants", nargs="*", default=[], help="NAME:field=value,...")
    parser.add_argument("--pyvrp", action="store_true", help="PyVRP alongside (1 thread)")
    parser.add_argument("--seed", type=int, default=DEFAULT_PYVRP_SEED, help="PyVRP seed")
    parser.add_argument("--bench-dir", default=str(default_bench_dir()))
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
