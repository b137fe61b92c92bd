"""A/B of search variants on the field benchmark's generated problems (:mod:`bench.field`).

Each variant is ``NAME:field=value[,field=value]`` over :class:`solver.params.SearchParams`
(``th.NAME=value`` sets a :class:`solver.thresholds.Thresholds` field, ``fr.NAME=value`` a
keyword of :func:`solver.fastrr.improve`); ``base`` is the
planner's own parameters (``PlanOptions(parts=1, workers=1)``). For every seed, the variants
run side by side (``--jobs`` at a time), each one solve in a fresh process, on the problem
``bench.field`` generates with ``--hard-deadlines`` (VROOM's problem) or the default weights.
Each plan is decoded and checked the way ``bench.field`` reports it: on-time orders, travel
km and hours, the checker's hard violations. Printed per seed, then per variant the median
over seeds of its on-time count minus the base's and its travel over the base's (km and
hours); the load average at the start and the end (the machine is shared: compare within a
run).

Run ``python -m bench.field_ab --help``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from statistics import median
from typing import Any

from bench import field
from bench.search_ab import parse_variant  # ``th.x=v`` is a threshold here
from solver import fastrr


def variant_params(base: Any, fields: dict[str, Any]) -> Any:
    """``base`` (SearchParams) with ``fields`` set; ``th.`` fields go to its thresholds."""
    th = {k[3:]: v for k, v in fields.items() if k.startswith("th.")}
    rest = {k: v for k, v in fields.items() if not k.startswith("th.")}
    params = replace(base, **rest)
    return replace(params, thresholds=replace(params.thresholds, **th)) if th else params


def solve_variant(
    orders: int, engineers: int, seed: int, time_limit_s: float, fields: dict[str, Any]
) -> dict[str, Any]:
    """One solve of the generated problem with the variant's parameters, in this process:
    its KPIs as ``bench.field`` reports them, the checker's hard violations, the objective."""
    from dispatcher.check import check_plan
    from dispatcher.compile import compile_problem
    from dispatcher.decode import decode
    from dispatcher.planner import PlanOptions
    from solver.routing import solve

    problem = field.generated_problem(orders, engineers, seed)
    compiled = compile_problem(problem)
    params = PlanOptions(time_limit_s=time_limit_s, parts=1, workers=1).search_params()
    params = variant_params(params, fields)
    t0 = time.perf_counter()
    result = solve(compiled.data, params)
    wall = time.perf_counter() - t0
    plan = decode(compiled, result.routes, result.status, {})
    hard = [v for v in check_plan(problem, plan) if v.hard]
    out = field._kpis(plan, problem)
    out.update(
        objective=result.objective,
        phase=result.phase,
        solve_s=round(result.solve_s, 2),
        wall_s=round(wall, 2),
        hard_violations=len(hard),
        cpu_s=round(time.process_time(), 1),
    )
    return out


def _one(args: argparse.Namespace) -> int:
    orders, engineers = field.parse_size(args.size)
    if args.hard_deadlines:
        field.WEIGHTS.update(field.HARD_DEADLINES)
    fields = json.loads(args.fields)
    kernel = {k[3:]: fields.pop(k) for k in list(fields) if k.startswith("fr.")}
    if kernel:
        # Keywords of the compiled ruin and recreate that no SearchParams field reaches: this
        # process's solve calls it with them (the A/B's only way to run the other side).
        fastrr.improve = functools.partial(fastrr.improve, **kernel)
    print(json.dumps(solve_variant(orders, engineers, args.seed, args.time_limit, fields)))
    return 0


def _spawn(args: argparse.Namespace, seed: int, fields: dict[str, Any]) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "bench.field_ab", "--one", "--size", args.size, "--seed",
           str(seed), "--time-limit", f"{args.time_limit:g}", "--fields", json.dumps(fields)]  # fmt: skip
    cmd += ["--hard-deadlines"] * bool(args.hard_deadlines)
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=root, env=env)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    variants = dict([("base", {}), *(parse_variant(t) for t in args.variants)])
    print(f"load average at start: {os.getloadavg()}", flush=True)
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    jobs = [(seed, name) for seed in args.seeds for name in variants]
    ok = True
    while jobs:
        batch, jobs = jobs[: args.jobs], jobs[args.jobs :]
        procs = [(s, n, _spawn(args, s, variants[n])) for s, n in batch]
        for seed, name, proc in procs:
            out, err = proc.communicate()
            if proc.returncode != 0:
                print(f"seed {seed} {name} failed:\n{err[-2000:]}", flush=True)
                ok = False
                continue
            r = json.loads(out.strip().splitlines()[-1])
            rows[name, seed] = r
            ok = ok and r["hard_violations"] == 0
            print(
                f"seed {seed} {name:<12} on_time={r['on_time']} late={r['late']} "
                f"unassigned={r['unassigned']} km={r['travel_km']} h={r['travel_hours']} "
                f"obj={r['objective']} hard={r['hard_violations']} solve_s={r['solve_s']} "
                f"cpu_s={r['cpu_s']} load={os.getloadavg()[0]:.2f}",
                flush=True,
            )
    print(f"load average at end: {os.getloadavg()}")
    for name in variants:
        if name == "base":
            continue
        seeds = [s for s in args.seeds if (name, s) in rows and ("base", s) in rows]
        if not seeds:
            continue
        d_on = [rows[name, s]["on_time"] - rows["base", s]["on_time"] for s in seeds]
        km = [rows[name, s]["travel_km"] / rows["base", s]["travel_km"] for s in seeds]
        hours = [rows[name, s]["travel_hours"] / rows["base", s]["travel_hours"] for s in seeds]
        print(
            f"{name}/base over seeds {seeds}: on time {d_on} (median {median(d_on):+g}), "
            f"km {[round(x, 4) for x in km]} (median {median(km):.4f}), "
            f"hours median {median(hours):.4f}"
        )
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.field_ab", description=__doc__)
    parser.add_argument("--size", default="1000x100", help="ORDERSxENGINEERS")
    parser.add_argument("--seeds", type=lambda t: [int(x) for x in t.split(",")], default=[5])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--variants", nargs="*", default=[], help="NAME:field=value,...")
    parser.add_argument("--jobs", type=int, default=2, help="solves side by side")
    parser.add_argument("--hard-deadlines", action="store_true", help="VROOM's problem")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--fields", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    return _one(args) if args.one else run(args)


if __name__ == "__main__":
    sys.exit(main())
