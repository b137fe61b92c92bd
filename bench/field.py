"""Field-service scale benchmark: the product's planner on generated problems, with VROOM.

For each size ``ORDERSxENGINEERS`` a problem is generated (:func:`dispatcher.generate.
generate_problem`, seeded, 4-day horizon) and planned in a **fresh subprocess** per solver, so
that peak memory (``VmHWM``) belongs to that solve alone. Measured for ours:

- compile time (Problem → arrays), OR-Tools model build time, time to first feasible plan;
- the anytime curve: best objective and on-time count over time (progress callback);
- time-limit overrun: search wall time / limit, and total wall time / limit;
- peak RSS; on-time orders, travel (km, hours) of the decoded plan and the independent
  checker's hard violations.

The VROOM baseline (pyvroom) gets the same compiled arrays: vehicles with skills (one skill
per distinct set of allowed engineers), the engineer's work window on the work clock and their
rest as breaks; jobs with service, hard time windows = site windows ∩ ``[now, deadline]``
(VROOM has no soft deadline) and a priority from the order's priority. Its routes are decoded
and checked by the same code as ours, so KPIs are comparable.

``--demo`` plans ``fixtures/demo.json`` at 10 s and at 120 s and checks the issue's bar: the
10-second plan has at most 1 % fewer on-time orders and at most 3 % more travel.

Run ``python -m bench.field --help`` or ``dispatch bench field --help``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.vrptw import bench_subparsers, default_out_dir, machine_info, parts_arg

DEFAULT_SIZES = "200x30,1000x100,2000x200"
DEMO_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "demo.json"
VROOM_EXPLORATION_LEVEL = 5
# PlanOptions fields for our runs beyond the time limit (--first-solution, --parts,
# --workers); empty:
# the planner's defaults.
PLAN_OPTIONS: dict[str, Any] = {}
# Policy weights that put on-time service first (--on-time-first): a breach (20 M) costs more
# than half an unserved order (30 M), so no order is made late to serve another of its
# priority, and dropping still costs more than a breach plus 96 hours of lateness (5.76 M).
ON_TIME_FIRST = {"unassigned": 30_000_000, "late_per_breach": 20_000_000}
# Deadlines as VROOM takes them (--hard-deadlines): a breach (20 M) costs more than leaving
# the order out (10 M), so no order is served late; VROOM's problem exactly.
HARD_DEADLINES = {"unassigned": 10_000_000, "late_per_breach": 20_000_000}
WEIGHTS: dict[str, int] = {}  # weights set on every generated problem (empty: the defaults)
SOLVERS = ("ours", "vroom")
CSV_COLUMNS = (
    "size",
    "orders",
    "engineers",
    "solver",
    "cores",
    "time_limit_s",
    "compile_s",
    "build_s",
    "first_feasible_s",
    "search_s",
    "total_s",
    "overrun",
    "total_overrun",
    "peak_rss_mb",
    "modelled",
    "assigned",
    "on_time",
    "late",
    "unassigned",
    "travel_km",
    "travel_hours",
    "hard_violations",
    "objective",
    "note",
)


def parse_size(text: str) -> tuple[int, int]:
    """``"1000x100"`` → ``(1000, 100)``.

    Raises
    ------
    argparse.ArgumentTypeError
        If the text is not two positive integers joined by ``x``.
    """
    parts = text.lower().split("x")
    try:
        orders, engineers = (int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected ORDERSxENGINEERS, got {text!r}") from None
    if orders < 1 or engineers < 1:
        raise argparse.ArgumentTypeError(f"expected positive counts, got {text!r}")
    return orders, engineers


def add_generated_problem_arguments(parser: argparse.ArgumentParser) -> None:
    """``--sizes`` (ORDERSxENGINEERS, comma-separated) and ``--seeds`` of generated problems,
    as the re-planning and quote benchmarks take them (default: 1000x100, seed 1)."""
    parser.add_argument(
        "--sizes",
        type=lambda t: [parse_size(x) for x in t.split(",")],
        default=[(1000, 100)],
        help="problems as ORDERSxENGINEERS, comma-separated (default 1000x100)",
    )
    parser.add_argument(
        "--seeds",
        type=lambda t: [int(x) for x in t.split(",")],
        default=[1],
        help="generator seeds, comma-separated (default 1)",
    )


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (``VmHWM``, else ``ru_maxrss``), plus the
    largest finished child's (a portfolio worker, ``--workers 2``): a bound on the two
    processes' peak together."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0 + children
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0 + children


# ------------------------------------------------------------------ one solve (in a subprocess)


def _kpis(plan: Any, problem: Any) -> dict[str, Any]:
    k = plan.kpis
    priority = {o.id: o.priority for o in problem.orders}
    by_priority = dict.fromkeys(("critical", "high", "normal", "low"), 0)
    for route in plan.routes:
        for visit in route.visits:
            if visit.on_time:
                by_priority[priority[visit.order_id]] += 1
    return {
        "on_time_by_priority": by_priority,
        "assigned": k.assigned,
        "on_time": k.on_time,
        "late": k.late,
        "unassigned": k.unassigned,
        "travel_km": round(k.travel_km, 1),
        "travel_hours": round(k.travel_hours, 2),
    }


def solve_ours(problem: Any, time_limit_s: float) -> dict[str, Any]:
    """Plan with the product's planner; measure every phase and the anytime curve."""
    from dispatcher.check import check_plan
    from dispatcher.planner import PlanOptions, PlanProgress, plan_problem

    curve: list[dict[str, Any]] = []

    def record(p: PlanProgress) -> None:
        curve.append({"t": round(p.elapsed_s, 3), "objective": p.best_cost, "on_time": p.on_time})

    t0 = time.perf_counter()
    options = PlanOptions(time_limit_s=time_limit_s, **PLAN_OPTIONS)
    plan = plan_problem(problem, options, record)
    total = time.perf_counter() - t0
    meta = plan.meta
    search = float(meta["solve_seconds"])  # type: ignore[arg-type]
    hard = [v for v in check_plan(problem, plan) if v.hard]
    return {
        "compile_s": meta.get("compile_seconds"),
        "build_s": meta.get("build_seconds"),
        "first_feasible_s": meta.get("first_solution_seconds"),
        "search_s": round(search, 3),
        "total_s": round(total, 3),
        "overrun": round(search / time_limit_s, 4),
        "total_overrun": round(total / time_limit_s, 4),
        "objective": meta.get("objective"),
        "hard_violations": len(hard),
        "curve": curve,
        "note": "; ".join(sorted({v.code for v in hard})),
        **_kpis(plan, problem),
    }


def _vroom_priority(drop_penalty: int, lowest: int) -> int:
    """VROOM priority in [0, 100] from the drop penalty (×10 per priority class)."""
    import math

    if drop_penalty <= 0 or lowest <= 0:
        return 0
    return max(0, min(100, round(25 * math.log10(drop_penalty / lowest))))


def solve_vroom(problem: Any, time_limit_s: float) -> dict[str, Any]:
    """The VROOM baseline on the compiled arrays, decoded and checked like ours."""
    import numpy as np
    import vroom

    from dispatcher.check import check_plan
    from dispatcher.compile import compile_problem
    from dispatcher.decode import decode

    t0 = time.perf_counter()
    c = compile_problem(problem)
    compile_s = time.perf_counter() - t0
    d = c.data
    orders = d.order_nodes()
    skill_of: dict[tuple[int, ...], int] = {}
    job_skill: dict[int, int] = {}
    for node in orders:
        allowed = d.allowed_vehicles[node]
        if allowed is not None:
            key = tuple(sorted(int(v) for v in allowed))
            job_skill[node] = skill_of.setdefault(key, len(skill_of) + 1)
    vehicle_skills: list[set[int]] = [set() for _ in range(d.n_vehicles)]
    for key, skill in skill_of.items():
        for v in key:
            vehicle_skills[v].add(skill)

    t1 = time.perf_counter()
    inp = vroom.Input()
    inp.set_durations_matrix("car", np.ascontiguousarray(d.travel_s, dtype=np.uint32))
    inp.set_costs_matrix("car", np.ascontiguousarray(d.arc_cost, dtype=np.uint32))
    for v in range(d.n_vehicles):
        rests = d.breaks[v] if d.breaks else []
        inp.add_vehicle(
            vroom.Vehicle(
                v,
                start=int(d.starts[v]),
                end=int(d.ends[v]),
                time_window=vroom.TimeWindow(int(d.start_min_s[v]), int(d.horizon_s)),
                skills=vehicle_skills[v],
                breaks=[
                    vroom.Break(k, time_windows=[vroom.TimeWindow(int(s), int(s))], service=int(r))
                    for k, (s, r) in enumerate(rests)
                ],
            )
        )
    lowest = int(min(d.drop_penalty[n] for n in orders)) if orders else 1
    no_window = 0
    for node in orders:
        deadline = int(d.deadline_s[node]) if d.deadline_s[node] >= 0 else d.horizon_s
        wins = [(a, min(b, deadline)) for a, b in (d.windows[node] or [(0, d.horizon_s)])]
        wins = [(int(a), int(b)) for a, b in wins if a <= b]
        if not wins:
            no_window += 1  # cannot start by its deadline anywhere: VROOM cannot take it
            continue
        inp.add_job(
            vroom.Job(
                node,
                location=node,
                default_service=int(d.service_s[node]),
                time_windows=[vroom.TimeWindow(a, b) for a, b in wins],
                skills={job_skill[node]} if node in job_skill else set(),
                priority=_vroom_priority(int(d.drop_penalty[node]), lowest),
            )
        )
    solution = inp.solve(
        exploration_level=VROOM_EXPLORATION_LEVEL,
        nb_threads=1,
        timeout=dt.timedelta(seconds=time_limit_s),
    )
    search = time.perf_counter() - t1
    routes: list[list[int]] = [[] for _ in range(d.n_vehicles)]
    for step in np.asarray(solution._routes_numpy()):
        if bytes(step["type"]).decode().strip("\x00 ") == "job":
            routes[int(step["vehicle_id"])].append(int(step["id"]))
    plan = decode(c, routes, "feasible", {"solver": "vroom"})
    hard = [v for v in check_plan(problem, plan) if v.hard]
    total = time.perf_counter() - t0
    return {
        "compile_s": round(compile_s, 3),
        "build_s": None,
        "first_feasible_s": None,
        "search_s": round(search, 3),
        "total_s": round(total, 3),
        "overrun": round(search / time_limit_s, 4),
        "total_overrun": round(total / time_limit_s, 4),
        "objective": int(solution.summary.cost),
        "hard_violations": len(hard),
        "curve": [],
        "note": "; ".join(
            [f"{no_window} orders cannot start by their deadline"] * bool(no_window)
            + sorted({v.code for v in hard})
        ),
        **_kpis(plan, problem),
    }


def generated_problem(orders: int, engineers: int, seed: int) -> Any:
    """The benchmark's problem of this size and seed, with :data:`WEIGHTS` in its policy."""
    from dispatcher.codec import problem_from_dict
    from dispatcher.generate import generate_problem

    doc = generate_problem(orders, engineers, seed)
    if WEIGHTS:
        doc["policy"]["weights"] = {**doc["policy"].get("weights", {}), **WEIGHTS}
    return problem_from_dict(doc)


def run_one(orders: int, engineers: int, seed: int, solver: str, time_limit_s: float) -> dict:
    """Generate the problem and solve it with one solver in this process."""
    from dispatcher.compile import compile_problem

    problem = generated_problem(orders, engineers, seed)
    modelled = len(compile_problem(problem).order_node)
    run = solve_ours if solver == "ours" else solve_vroom
    out = run(problem, time_limit_s)
    out.update(
        size=f"{orders}x{engineers}",
        orders=orders,
        engineers=engineers,
        solver=solver,
        time_limit_s=time_limit_s,
        modelled=modelled,
        peak_rss_mb=round(peak_rss_mb(), 1),
    )
    return out


def run_in_subprocess(
    orders: int, engineers: int, seed: int, solver: str, time_limit_s: float
) -> dict:
    """:func:`run_one` in a fresh interpreter (clean peak-memory reading); JSON over stdout."""
    cmd = [
        sys.executable,
        "-m",
        "bench.field",
        "--one",
        f"{orders}x{engineers}",
        "--solver",
        solver,
        "--seed",
        str(seed),
        "--time-limit",
        f"{time_limit_s:g}",
    ]
    if "first_solution" in PLAN_OPTIONS:
        cmd += ["--first-solution", PLAN_OPTIONS["first_solution"]]
    if "parts" in PLAN_OPTIONS:
        cmd += ["--parts", str(PLAN_OPTIONS["parts"])]
    if "workers" in PLAN_OPTIONS:
        cmd += ["--workers", str(PLAN_OPTIONS["workers"])]
    if WEIGHTS == ON_TIME_FIRST:
        cmd.append("--on-time-first")
    elif WEIGHTS == HARD_DEADLINES:
        cmd.append("--hard-deadlines")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=root, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ demo bar


def run_demo(short_s: float = 10.0, long_s: float = 120.0, path: Path = DEMO_FIXTURE) -> dict:
    """Plan the demo fixture at ``short_s`` and ``long_s``; the issue's 1 % / 3 % bar."""
    from dispatcher.codec import load_problem

    problem = load_problem(path)
    runs = {}
    for limit in (short_s, long_s):
        runs[f"{limit:g}s"] = solve_ours(problem, limit)
    s, lng = runs[f"{short_s:g}s"], runs[f"{long_s:g}s"]
    fewer = (lng["on_time"] - s["on_time"]) / lng["on_time"] if lng["on_time"] else 0.0
    more = (s["travel_km"] - lng["travel_km"]) / lng["travel_km"] if lng["travel_km"] else 0.0
    return {
        "fixture": str(path),
        "orders": len(problem.orders),
        "engineers": len(problem.engineers),
        "runs": runs,
        "on_time_fewer_pct": round(100 * fewer, 2),
        "travel_more_pct": round(100 * more, 2),
        "passes": fewer <= 0.01 and more <= 0.03,
    }


# ------------------------------------------------------------------ outputs


def plot_curves(rows: Sequence[dict], path: Path, title: str) -> None:
    """Anytime chart: best objective and on-time count over time, one line per size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for r in rows:
        curve = r.get("curve") or []
        if not curve:
            continue
        ts = [p["t"] for p in curve]
        base = curve[-1]["objective"] or 1
        ax1.plot(
            ts, [p["objective"] / base for p in curve], label=r["size"], drawstyle="steps-post"
        )
        pts = [(p["t"], p["on_time"]) for p in curve if p["on_time"] is not None]
        if pts:
            ax2.plot(*zip(*pts, strict=True), label=r["size"], drawstyle="steps-post")
        if r.get("vroom_on_time") is not None:
            ax2.axhline(r["vroom_on_time"], linestyle=":", linewidth=0.8, color="grey")
    ax1.set_xlabel("search seconds")
    ax1.set_ylabel("best objective / final objective")
    ax1.set_yscale("log")
    ax2.set_xlabel("search seconds")
    ax2.set_ylabel("orders on time (dotted: VROOM)")
    for ax in (ax1, ax2):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def cores(solver: str) -> int:
    """The cores a solver's plan used: VROOM one thread; ours one process unless
    ``--workers`` or a decomposition (``--parts`` other than 1: its parts run in two
    processes) asks for more."""
    if solver != "ours":
        return 1
    parts = PLAN_OPTIONS.get("parts", 1)
    return max(int(PLAN_OPTIONS.get("workers", 1)), 1 if parts == 1 else 2)


def format_table(rows: Sequence[dict]) -> str:
    """Text table of the main columns."""
    cols = [
        ("size", 10),
        ("solver", 6),
        ("cores", 5),
        ("compile_s", 9),
        ("build_s", 8),
        ("first_feasible_s", 9),
        ("overrun", 8),
        ("peak_rss_mb", 8),
        ("modelled", 8),
        ("on_time", 8),
        ("on_time_by_priority", 16),
        ("late", 5),
        ("unassigned", 6),
        ("travel_km", 10),
        ("hard_violations", 5),
    ]
    heads = ["size", "solver", "cores", "compile", "build", "first", "overrun", "rss MB", "modelled",
             "on time", "crit/high/norm/low", "late", "unas.", "travel km", "hard"]  # fmt: skip
    lines = ["".join(f"{h:>{w}} " for h, (_, w) in zip(heads, cols, strict=True))]
    for r in rows:
        cells = []
        for key, w in cols:
            v = r.get(key)
            if isinstance(v, dict):
                v = "/".join(str(x) for x in v.values())
            cells.append(f"{'-' if v is None else v:>{w}} ")
        lines.append("".join(cells))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; exit 0 when every plan of ours passes the checker, else 1."""
    started = dt.datetime.now(dt.UTC)
    out_dir = Path(args.out) if args.out else default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"field-{started.strftime('%Y%m%dT%H%M%SZ')}"
    load_before = os.getloadavg()
    meta: dict[str, Any] = {
        "started_utc": started.isoformat(timespec="seconds"),
        "command": args.command_line,
        "seed": args.seed,
        "time_limit_s": args.time_limit,
        "vroom": {"exploration_level": VROOM_EXPLORATION_LEVEL, "nb_threads": 1},
        "machine": machine_info(),
        "loadavg_before": load_before,
    }
    doc: dict[str, Any] = {"meta": meta}
    ok = True
    if args.demo:
        demo = run_demo(args.demo_short, args.demo_long)
        doc["demo"] = demo
        for name, r in demo["runs"].items():
            print(
                f"demo {name}: on_time={r['on_time']} late={r['late']} "
                f"unassigned={r['unassigned']} travel_km={r['travel_km']} "
                f"search={r['search_s']}s hard={r['hard_violations']}"
            )
        print(
            f"demo bar: on-time fewer {demo['on_time_fewer_pct']} % (<= 1 %), travel more "
            f"{demo['travel_more_pct']} % (<= 3 %): {'PASS' if demo['passes'] else 'FAIL'}"
        )
    rows: list[dict] = []
    if args.sizes:
        solvers = ["ours"] + ([] if args.no_vroom else ["vroom"])
        for text in args.sizes.split(","):
            orders, engineers = parse_size(text.strip())
            by_solver = {}
            for s in solvers:
                if not args.quiet:
                    print(f"  {orders}x{engineers} {s} ...", file=sys.stderr, flush=True)
                by_solver[s] = run_in_subprocess(orders, engineers, args.seed, s, args.time_limit)
                by_solver[s]["cores"] = cores(s)
            if "vroom" in by_solver:
                by_solver["ours"]["vroom_on_time"] = by_solver["vroom"]["on_time"]
            rows += list(by_solver.values())
        doc["rows"] = rows
        with (out_dir / f"{stem}.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        plot_curves(
            [r for r in rows if r["solver"] == "ours"],
            out_dir / f"{stem}.png",
            f"field benchmark, seed {args.seed}, {args.time_limit:g} s: anytime curves",
        )
        print(format_table(rows))
        ok = all(r["hard_violations"] == 0 for r in rows if r["solver"] == "ours")
    meta["loadavg_after"] = os.getloadavg()
    (out_dir / f"{stem}.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"results: {out_dir / stem}.{{json,csv,png}}  load average {meta['loadavg_after']}")
    return 0 if ok else 1


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _sizes(text: str) -> str:
    for part in text.split(","):
        parse_size(part.strip())
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``python -m bench.field`` and ``dispatch bench field``."""
    parser.add_argument(
        "--sizes", type=_sizes, default=DEFAULT_SIZES, help="comma-separated ORDERSxENGINEERS"
    )
    parser.add_argument(
        "--time-limit", type=_positive_float, default=10.0, metavar="S", help="search seconds"
    )
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    parser.add_argument("--no-vroom", action="store_true", help="skip the VROOM baseline")
    parser.add_argument(
        "--demo", action="store_true", help="also plan fixtures/demo.json at 10 s and 120 s"
    )
    parser.add_argument("--demo-short", type=_positive_float, default=10.0, help=argparse.SUPPRESS)
    parser.add_argument("--demo-long", type=_positive_float, default=120.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--first-solution",
        default=None,
        metavar="NAME",
        help="OR-Tools first-solution strategy for our plans (default: the planner's)",
    )
    parser.add_argument(
        "--parts",
        type=parts_arg,
        default=None,
        metavar="N",
        help="decomposition parts for our plans (0: automatic, 1: none; default: the planner's)",
    )
    parser.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help="searches side by side for our plans, one process each (default: the planner's, 1)",
    )
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument(
        "--on-time-first",
        action="store_true",
        help="generated problems carry the on-time-first weights (unassigned 30,000,000, "
        "late_per_breach 20,000,000): no order is made late to serve another",
    )
    weights.add_argument(
        "--hard-deadlines",
        action="store_true",
        help="generated problems carry weights under which no order is served late "
        "(unassigned 10,000,000, late_per_breach 20,000,000): VROOM's problem exactly",
    )
    parser.add_argument("--out", default=None, help="output folder (default: bench/results)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _command_line(args: argparse.Namespace) -> str:
    parts = ["python -m bench.field", f"--sizes {args.sizes}", f"--time-limit {args.time_limit:g}"]
    parts.append(f"--seed {args.seed}")
    parts += ["--no-vroom"] * bool(args.no_vroom) + ["--demo"] * bool(args.demo)
    if args.first_solution:
        parts.append(f"--first-solution {args.first_solution}")
    if args.parts is not None:
        parts.append(f"--parts {args.parts}")
    if getattr(args, "workers", None) is not None:
        parts.append(f"--workers {args.workers}")
    parts += ["--on-time-first"] * bool(getattr(args, "on_time_first", False))
    parts += ["--hard-deadlines"] * bool(getattr(args, "hard_deadlines", False))
    return " ".join(parts)


def _set_plan_options(args: argparse.Namespace) -> None:
    """Copy --first-solution / --parts / --workers into :data:`PLAN_OPTIONS` (subprocesses
    get them too)."""
    PLAN_OPTIONS.clear()
    if getattr(args, "first_solution", None):
        PLAN_OPTIONS["first_solution"] = args.first_solution
    if getattr(args, "parts", None) is not None:
        PLAN_OPTIONS["parts"] = args.parts
    if getattr(args, "workers", None) is not None:
        PLAN_OPTIONS["workers"] = args.workers
    WEIGHTS.clear()
    if getattr(args, "on_time_first", False):
        WEIGHTS.update(ON_TIME_FIRST)
    if getattr(args, "hard_deadlines", False):
        WEIGHTS.update(HARD_DEADLINES)


def _run_from_cli(args: argparse.Namespace) -> int:
    _set_plan_options(args)
    if not getattr(args, "command_line", None):
        args.command_line = _command_line(args)
    return run(args)


def add_field_parser(bench_subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``field`` under an existing ``bench`` sub-parsers object.

    Parameters
    ----------
    bench_subparsers
        The nested sub-parsers of the ``bench`` command (:func:`bench.vrptw.bench_subparsers`).

    Returns
    -------
    argparse.ArgumentParser
        The ``field`` parser, its handler set as ``func``.
    """
    parser = bench_subparsers.add_parser(
        "field",
        help="field-service scale: build time, first plan, anytime curve, memory, vs VROOM",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_arguments(parser)
    parser.set_defaults(func=_run_from_cli)
    return parser


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Entry point helper: add ``bench field`` (creating ``bench`` if needed)."""
    nested = bench_subparsers(subparsers)
    if "field" not in nested.choices:
        add_field_parser(nested)
    return nested


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bench.field [--sizes ...] [--time-limit S] [--demo]``.

    ``--one SIZE --solver NAME`` (internal) solves one size in this process and prints one
    JSON line; :func:`run_in_subprocess` uses it.
    """
    parser = argparse.ArgumentParser(
        prog="python -m bench.field", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add_arguments(parser)
    parser.add_argument("--one", type=parse_size, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--solver", choices=SOLVERS, default="ours", help=argparse.SUPPRESS)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    _set_plan_options(args)
    if args.one is not None:
        orders, engineers = args.one
        result = run_one(orders, engineers, args.seed, args.solver, args.time_limit)
        print(json.dumps(result))
        return 0
    args.command_line = " ".join(["python -m bench.field", *argv])
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
