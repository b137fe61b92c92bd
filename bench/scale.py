"""Scale: the whole ``dispatch plan`` command, as a new user runs it, at growing sizes.

Per size (``ORDERSxENGINEERS``): the problem is generated first (``dispatch generate
--seed``, outside the timing), then ``dispatch plan FILE --time-limit T --quiet --out PLAN``
runs as a child process. Measured: its wall time, its CPU time and its peak resident memory
(``os.wait4``: CPU summed over the child and the workers it waited for, ``ru_maxrss`` the
largest of them); the phases the plan reports
(``meta``: set-up, compile, build, the search's limit and its time, decode, fixes, and the
wall time outside them); orders on time; and the independent checker
(``dispatch check``'s :func:`dispatcher.check_travel.verify_plan`) on the plan written.

Command: ``dispatch bench scale --sizes 1000x100,2000x200,5000x500 --time-limit 60 --seed 3``
(rows as JSON lines with ``--out``). Each row names the cores the machine offers and the load
average when the plan began and ended (docs/performance.md, "Scale").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.field import parse_size
from bench.vrptw import bench_subparsers, machine_info

PHASES = (
    "setup_seconds", "compile_seconds", "build_seconds", "solve_seconds", "decode_seconds",
    "fix_seconds",
)  # fmt: skip


def _dispatch() -> list[str]:
    """The ``dispatch`` command of this interpreter (the same code as the benchmark)."""
    return [sys.executable, "-c", "import sys; from dispatcher.cli import main; sys.exit(main())"]


def generate(orders: int, engineers: int, seed: int, path: Path) -> None:
    """``dispatch generate`` into ``path`` (not timed)."""
    subprocess.run(
        [*_dispatch(), "generate", "--orders", str(orders), "--engineers", str(engineers),
         "--seed", str(seed), "--out", str(path)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def run_plan(problem: Path, plan: Path, time_limit: float) -> dict[str, Any]:
    """``dispatch plan`` as a child: exit code, wall and CPU seconds, peak RSS (MB)."""
    cmd = [*_dispatch(), "plan", str(problem), "--time-limit", str(time_limit), "--quiet",
           "--out", str(plan)]  # fmt: skip
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.stderr:
        child.stderr.close()
    return {
        "exit": child.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),  # ru_maxrss is in KiB on Linux
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "stderr": err.strip().splitlines()[-1] if err.strip() else "",
    }


def check_plan(problem: Path, plan: Path) -> int:
    """Hard violations the independent checker finds in the plan written."""
    from dispatcher.check_travel import verify_plan
    from dispatcher.codec import load_plan, load_problem

    return sum(1 for v in verify_plan(load_problem(problem), load_plan(plan)) if v.hard)


def measure(
    orders: int, engineers: int, time_limit: float, seed: int, workdir: Path, check: bool = True
) -> dict[str, Any]:
    """One row: generate, plan, read the plan's phases and KPIs, check it."""
    problem = workdir / f"problem_{orders}x{engineers}_s{seed}.json"
    plan = workdir / f"plan_{orders}x{engineers}_s{seed}.json"
    if not problem.exists():
        generate(orders, engineers, seed, problem)
    row: dict[str, Any] = {
        "size": f"{orders}x{engineers}", "orders": orders, "engineers": engineers,
        "seed": seed, "time_limit_s": time_limit,
    }  # fmt: skip
    row.update(run_plan(problem, plan, time_limit))
    row["over_limit"] = round(row["wall_s"] / time_limit - 1, 3)
    if row["exit"] != 0 or not plan.exists():
        return row
    doc = json.loads(plan.read_text(encoding="utf-8"))
    meta, kpis = doc.get("meta", {}), doc.get("kpis", {})
    row.update({k.removesuffix("_seconds") + "_s": meta.get(k) for k in PHASES})
    row["solve_limit_s"] = meta.get("solve_limit_seconds")
    # The wall time no phase reports: the interpreter's start and imports before the
    # command's clock, writing the plan, the exit.
    phases = [row[k.removesuffix("_seconds") + "_s"] for k in PHASES]
    if all(isinstance(x, int | float) for x in phases):
        row["outside_s"] = round(row["wall_s"] - sum(phases), 2)
    row["on_time_rate"] = kpis.get("on_time_rate")
    row["unassigned"] = kpis.get("unassigned")
    row["objective"] = meta.get("objective")
    if check:
        row["hard_violations"] = check_plan(problem, plan)
    return row


def _table(rows: list[dict[str, Any]]) -> str:
    cols = ("size", "wall_s", "cpu_s", "peak_rss_mb", "setup_s", "compile_s", "build_s",
            "solve_limit_s", "solve_s", "decode_s", "fix_s", "outside_s", "on_time_rate",
            "hard_violations", "load_before", "load_after")  # fmt: skip
    lines = ["  ".join(f"{c:>13}" for c in cols)]
    for r in rows:
        lines.append("  ".join(f"{'' if r.get(c) is None else r.get(c)!s:>13}" for c in cols))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    machine = machine_info()
    print(f"cores offered: {machine['nproc']} of {machine['cpu_count']} ({machine['cpu']}); "
          "each plan is one process unless the strategy starts workers", file=sys.stderr)  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        workdir = Path(args.workdir) if args.workdir else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for orders, engineers in args.sizes:
            row = measure(orders, engineers, args.time_limit, args.seed, workdir, not args.no_check)
            row["cores"] = machine["nproc"]
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
            if args.out:
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps({**row, "machine": machine}) + "\n")
    print(_table(rows))
    return 0 if all(r["exit"] == 0 and not r.get("hard_violations") for r in rows) else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sizes",
        type=lambda s: [parse_size(x) for x in s.split(",") if x],
        default=[parse_size("1000x100"), parse_size("2000x200")],
        help="comma-separated ORDERSxENGINEERS (default 1000x100,2000x200)",
    )
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--seed", type=int, default=3, help="generator seed (default 3)")
    parser.add_argument("--workdir", help="keep problems and plans here (default: a temp dir)")
    parser.add_argument("--out", help="append the rows as JSON lines to this file")
    parser.add_argument("--no-check", action="store_true", help="skip the plan checker")


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add ``bench scale`` (creating ``bench`` if needed)."""
    nested = bench_subparsers(subparsers)
    if "scale" not in nested.choices:
        parser = nested.add_parser(
            "scale",
            help="the whole `dispatch plan` command per size: wall, CPU, peak memory, on time",
            description=__doc__.split("\n\n")[0] if __doc__ else None,
        )
        add_arguments(parser)
        parser.set_defaults(func=run)
    return nested


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bench.scale [--sizes ...] [--time-limit T] [--seed S]``."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
