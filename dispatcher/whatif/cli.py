"""``dispatch simulate``: the command line of the what-if simulation (docs/simulation.md).

This module imports nothing heavy at import time (the parser is built on every ``dispatch``
call); the simulation itself is imported when the command runs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from dispatcher.argtypes import positive_float, positive_int
from dispatcher.errors import InputError

if TYPE_CHECKING:
    from dispatcher.whatif.simulate import ReplicationResult, SearchPoint


class _Bars:
    """One progress bar per variant on stderr (redrawn in place on a terminal)."""

    def __init__(self, names: Sequence[str], total: int, stream: TextIO) -> None:
        self.names = list(names)
        self.total = total
        self.done = dict.fromkeys(names, 0)
        self.stream = stream
        self.tty = stream.isatty()
        self.width = max(len(n) for n in names) if names else 0
        self.drawn = False
        self.t0 = time.perf_counter()

    def line(self, name: str) -> str:
        k = self.done[name]
        filled = int(24 * k / self.total) if self.total else 24
        return f"  {name:<{self.width}} [{'#' * filled}{'.' * (24 - filled)}] {k}/{self.total}"

    def update(self, r: ReplicationResult) -> None:
        self.done[r.variant] = self.done.get(r.variant, 0) + 1
        if self.tty:
            if self.drawn:
                self.stream.write(f"\x1b[{len(self.names)}F")
            for n in self.names:
                self.stream.write("\x1b[2K" + self.line(n) + "\n")
            self.drawn = True
        else:
            self.stream.write(self.line(r.variant) + f"  ({time.perf_counter() - self.t0:.0f} s)\n")
        self.stream.flush()


def _cmd_simulate(args: argparse.Namespace) -> int:
    from dispatcher.whatif import report
    from dispatcher.whatif.model import with_overrides
    from dispatcher.whatif.scenario_file import load_scenario
    from dispatcher.whatif.simulate import compare, headcount_search, run_tasks, snapshot, tasks_for

    scenario = with_overrides(
        load_scenario(args.scenario), replications=args.replications, days=args.days
    )
    if args.seed is not None:
        scenario = replace(scenario, seed=args.seed)
    sim = scenario.simulation
    if sim.warmup_days >= sim.days:
        raise InputError(
            "--days", f"expected more days than the warm-up ({sim.warmup_days:g}), got {sim.days:g}"
        )
    out = Path(args.out or f"simulation-{Path(args.scenario).stem}")
    out.mkdir(parents=True, exist_ok=True)
    ray_address = args.ray_address or os.environ.get("DISPATCH_RAY_ADDRESS") or None
    workers = args.workers or os.cpu_count() or 1
    err = sys.stderr
    t0 = time.perf_counter()
    if scenario.mode == "snapshot":
        if not args.quiet:
            print(
                f"Snapshot what-if '{scenario.name}': {len(scenario.variants)} variants", file=err
            )
        snaps = snapshot(scenario)
        paths = report.write_snapshot(out, scenario, snaps)
        print(report.format_snapshot(snaps))
    else:
        tasks = tasks_for(scenario)
        if not args.quiet:
            where = f"Ray at {ray_address}" if ray_address else f"{workers} worker(s)"
            print(
                f"Simulating '{scenario.name}': {len(scenario.variants)} variants × "
                f"{sim.replications} replications × {sim.days:g} days on {where}",
                file=err,
            )
        bars = (
            None
            if args.quiet
            else _Bars([v.name for v in scenario.variants], sim.replications, err)
        )
        results = run_tasks(tasks, workers, ray_address, bars.update if bars else None)
        comparison = compare(results)
        search = None
        if scenario.search is not None:
            if not args.quiet:
                print(
                    f"Searching head count ({scenario.search.station}) for "
                    f"{scenario.search.target:.0%} on time…",
                    file=err,
                )

            def show(p: SearchPoint) -> None:
                if not args.quiet:
                    iv = p.on_time
                    print(
                        f"  {p.engineers:>4} engineers: on time {iv.mean:.1%} "
                        f"[{iv.low:.1%}, {iv.high:.1%}]",
                        file=err,
                    )

            search = headcount_search(scenario, workers, ray_address, show)
        paths = report.write_simulation(out, scenario, results, comparison, search)
        print(report.format_comparison(comparison, search))
    print(f"\nWrote {', '.join(str(p) for p in paths)} in {time.perf_counter() - t0:.1f} s")
    return 0


def register_simulate(subparsers: Any) -> None:
    """Add ``dispatch simulate`` to the CLI's sub-parsers (called by dispatcher/cli.py)."""
    p = subparsers.add_parser(
        "simulate",
        help="what-if: compare scenario variants (snapshot, or rolling-horizon over days)",
    )
    p.add_argument("scenario", help="scenario file (TOML; see docs/simulation.md)")
    p.add_argument(
        "--replications", type=positive_int, default=None, help="replications per variant"
    )
    p.add_argument("--days", type=positive_float, default=None, help="days of ticket arrivals")
    p.add_argument(
        "--workers",
        type=positive_int,
        default=None,
        help="local worker processes (default: all cores)",
    )
    p.add_argument("--out", default=None, help="output directory (default simulation-<scenario>)")
    p.add_argument(
        "--ray-address",
        default=None,
        help="run replications as Ray tasks on this cluster ('auto', 'ray://host:10001', "
        "'local'); default $DISPATCH_RAY_ADDRESS",
    )
    p.add_argument("--seed", type=int, default=None, help="override the scenario's seed")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_cmd_simulate)
