"""The front door of the solver: :func:`solve` picks the strategy and runs it.

The strategies: the decomposition into parts of nearby routes (:mod:`solver.decompose`), the
most orders on time first (:mod:`solver.phases`), a portfolio of searches in parallel
processes (:mod:`solver.portfolio`), or one search in this process
(:func:`solver.search.solve_one`). The rooms never import this module; it imports them, and
re-exports the names callers use (the problem and result types, the parameters, the
strategy's choices, the model's builder and exact timing).

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from solver import fastrr
from solver.decompose import solve_decomposed
from solver.incumbent import Progress
from solver.model import CONSTRAINTS, build, exact_timing
from solver.params import SOLVER_VERSION, SearchParams
from solver.phases import finish_from, on_time_only, solve_on_time_first
from solver.portfolio import solve_portfolio
from solver.problem import NO_DEADLINE, Infeasible, ParamError, RoutingInput, RoutingResult
from solver.search import solve_one
from solver.strategy import construction, is_plain, n_parts, wants_greedy, wants_on_time_first
from solver.thresholds import Thresholds
from solver.timing import overtime_cost

__all__ = [
    "CONSTRAINTS",
    "NO_DEADLINE",
    "SOLVER_VERSION",
    "Infeasible",
    "ParamError",
    "Progress",
    "RoutingInput",
    "RoutingResult",
    "SearchParams",
    "Thresholds",
    "build",
    "construction",
    "exact_timing",
    "finish_from",
    "is_plain",
    "on_time_only",
    "overtime_cost",
    "solve",
    "solve_one",
    "wants_greedy",
]


def solve(
    data: RoutingInput,
    params: SearchParams | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 0.25,
    initial_routes: Sequence[Sequence[int]] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RoutingResult:
    """Solve ``data``; never raises on an infeasible problem (it reports it).

    The strategy, in this order: the decomposition when :func:`solver.strategy.n_parts`
    asks for parts (and no routes are given); the on-time-first phases when
    :func:`solver.strategy.wants_on_time_first` says so (each phase solved by this function);
    a portfolio when ``params.workers > 1``; else one search in this process. Every candidate
    plan found on the way is offered to one incumbent (:mod:`solver.incumbent`): timed by
    the exact rules, repaired where a visit cannot be timed, priced with overtime included;
    the solve returns the best of them.

    Parameters
    ----------
    data
        The problem arrays.
    params
        Search settings (default :class:`SearchParams`).
    on_progress
        Called with the incumbent when it improves, at most every ``progress_every_s``
        seconds, and once at the end with the plan returned.
    progress_every_s
        Minimum seconds between two progress calls (0: every improvement).
    initial_routes
        Optional warm start: order nodes per vehicle (e.g. a published plan). Offered as a
        plan (repaired where it breaks a rule) and, if OR-Tools accepts it, searched from.
    should_stop
        Asked at each solution found and between phases; when it answers True the solve ends
        with the incumbent (a cancelled job stops instead of running to its limit).

    Returns
    -------
    RoutingResult
        ``status`` is ``"no_solution"`` when no plan satisfies the hard constraints of the
        vehicles themselves (orders are optional, so that means e.g. a vehicle that cannot
        reach its end within the horizon).
    """
    params = params or SearchParams()
    fastrr.warm_up()  # once per process, before any clock: compiling is not searching
    if params.given_only and initial_routes is not None:
        return solve_one(data, params, on_progress, progress_every_s, initial_routes, should_stop)
    if initial_routes is None and n_parts(data, params) > 1:
        return solve_decomposed(data, params, on_progress, progress_every_s, should_stop)
    if wants_on_time_first(data, params, initial_routes):
        return solve_on_time_first(
            data, params, on_progress, progress_every_s, should_stop, solve=solve
        )
    if params.workers > 1:
        return solve_portfolio(data, params, on_progress, progress_every_s, initial_routes)
    return solve_one(data, params, on_progress, progress_every_s, initial_routes, should_stop)
