"""Phased solves: the most orders on time first, then the whole objective from there.

Each phase is a solve of its own; :func:`solver.routing.solve` passes itself as ``solve`` so
that a phase may be a portfolio, the decomposition runs them in process
(:func:`solve_in_process`).

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from solver.incumbent import Progress
from solver.params import SearchParams
from solver.problem import NO_DEADLINE, RoutingInput, RoutingResult
from solver.search import solve_one
from solver.strategy import wants_on_time_first
from solver.twins import starts_by

Solve = Callable[..., RoutingResult]  # solve_one's arguments


def on_time_only(data: RoutingInput) -> RoutingInput:
    """``data`` with every deadline hard: an order with a deadline may only start by it (an
    order that cannot is left to no vehicle), and there is no lateness cost."""
    windows = list(data.windows)
    allowed = list(data.allowed_vehicles)
    for node in data.order_nodes():
        dl = int(data.deadline_s[node])
        if dl == NO_DEADLINE:
            continue
        _, cut = starts_by(data, node, dl)
        windows[node] = cut
        if not cut:
            allowed[node] = []
    return replace(
        data,
        windows=windows,
        allowed_vehicles=allowed,
        deadline_s=np.full(data.n_nodes, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(data.n_nodes, dtype=np.int64),
        breach_cost=None,
    )


def solve_on_time_first(
    data: RoutingInput,
    params: SearchParams,
    on_progress: Callable[[Progress], None] | None,
    progress_every_s: float,
    should_stop: Callable[[], bool] | None,
    solve: Solve = solve_one,
) -> RoutingResult:
    """Lexicographic in two phases: first the most orders on time (:func:`on_time_only`, for
    ``on_time_phase`` of the time limit), then the whole objective from those routes (late
    orders inserted, everything traded off) for the rest. ``solve`` runs each phase (the
    front door passes itself, so a phase may be a portfolio)."""
    t0 = time.perf_counter()
    first = solve(
        on_time_only(data),
        replace(params, time_limit_s=max(0.05, params.time_limit_s * params.on_time_phase)),
        should_stop=should_stop,
    )
    return finish_from(
        data,
        replace(params, on_time_phase=0.0),
        t0,
        first.routes if first.status != "no_solution" else None,
        "on_time_first",
        on_progress,
        progress_every_s,
        should_stop,
        solve=solve,
    )


def finish_from(
    data: RoutingInput,
    params: SearchParams,
    t0: float,
    routes: Sequence[Sequence[int]] | None,
    label: str,
    on_progress: Callable[[Progress], None] | None,
    progress_every_s: float,
    should_stop: Callable[[], bool] | None,
    min_s: float = 0.05,
    solve: Solve = solve_one,
) -> RoutingResult:
    """The last phase of a phased search: the whole model from a first phase's ``routes``,
    for what is left of ``params.time_limit_s`` since ``t0`` (at least ``min_s``), run by
    ``solve``. The result says ``initial == label`` when it started from those routes, and
    its ``solve_s`` covers every phase."""
    rest = max(min_s, params.time_limit_s - (time.perf_counter() - t0))
    result = solve(
        data,
        replace(params, time_limit_s=rest),
        on_progress,
        progress_every_s,
        initial_routes=routes,
        should_stop=should_stop,
    )
    if result.initial == "given":
        result.initial = label
    result.solve_s = time.perf_counter() - t0 - result.build_s
    return result


def solve_in_process(
    data: RoutingInput,
    params: SearchParams,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 0.25,
    should_stop: Callable[[], bool] | None = None,
) -> RoutingResult:
    """One process, no split (``workers`` and ``parts`` not read): the on-time-first phases
    when asked (:func:`solver.strategy.wants_on_time_first`), else one search."""
    if wants_on_time_first(data, params):
        return solve_on_time_first(data, params, on_progress, progress_every_s, should_stop)
    return solve_one(data, params, on_progress, progress_every_s, should_stop=should_stop)
