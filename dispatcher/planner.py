"""Plan a problem: compile, solve, decode."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from dispatcher.codec import input_hash
from dispatcher.compile import Compiled, compile_problem
from dispatcher.decode import decode
from dispatcher.domain import PLAN_MODES, Plan, Problem
from dispatcher.errors import InputError
from dispatcher.fixes import with_fixes
from dispatcher.osrm import describe, travel_times
from dispatcher.travel import TravelTimes, matrix_legs_digest, plan_leg_ends
from solver.cluster import probe as probe_cluster
from solver.routing import (
    SOLVER_VERSION,
    ParamError,
    Progress,
    RoutingInput,
    RoutingResult,
    SearchParams,
    solve,
)

_NO_TIMED_LNS = (
    "local_search_operators {"
    " use_global_cheapest_insertion_path_lns: BOOL_FALSE"
    " use_local_cheapest_insertion_path_lns: BOOL_FALSE"
    " use_global_cheapest_insertion_visit_types_lns: BOOL_FALSE"
    " use_local_cheapest_insertion_visit_types_lns: BOOL_FALSE"
    " use_relocate_path_global_cheapest_insertion_insert_unperformed: BOOL_FALSE"
    " }"
)


LIMIT_COVERS = ("search", "command")
# Set-up and wind-down of a plan as shares of its measured compile time, for the budget of a
# whole command (search_budget). Issue 25's scale runs (docs/performance.md, "The construction
# bounded by the limit"): the model build took about 0.25 of the compile, decoding, writing the
# plan and exiting 0.66 (10,000 x 1,000) and 0.93 (5,000 x 500) of it, so 0.8 in all had left
# the 10,000-order command 2-3 s over its limit; 1.0 in all now.
BUILD_PER_COMPILE = 0.3
WIND_DOWN_PER_COMPILE = 0.7
COMMAND_MARGIN_S = 1.0  # the interpreter's start and exit, the kernel's cache load
MIN_SEARCH_SHARE = 0.1  # the search keeps at least this share of the limit


@dataclass(frozen=True)
class PlanOptions:
    """How to plan.

    ``solution_limit`` makes a run deterministic (tests); ``time_limit_s`` bounds
    wall time of the search (model build not included), or with ``limit_covers="command"``
    the whole plan from the caller's start: reading, compiling, building, searching,
    decoding, fixes and writing (:func:`search_budget`).
    """

    time_limit_s: float = 10.0
    solution_limit: int | None = None
    # Parallel cheapest insertion: with late twins (per-breach cost) local cheapest insertion
    # needs 2.8 s for a first demo plan instead of 0.2 s (docs/performance.md, "Per-breach
    # cost"). Without twins LCI had been the better start.
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    # Decomposition into this many parts of nearby routes (solver/decompose.py); 1 = none,
    # 0 = automatic (from solver.thresholds.Thresholds.auto_from_orders orders).
    parts: int = 1
    # Share of the limit for the ruin and recreate where the insertion construction builds
    # the first plan (field problems from 20,000 order x engineer pairs): 1,000 x 100, 60 s,
    # 0.95 against 0.75 gave a lower objective under both the default weights (8.73e9 vs
    # 9.03e9) and the on-time-first ones (2.66e10 vs 2.90e10; docs/performance.md).
    recreate_share: float = 0.95
    # Searches side by side, one process each (solver/portfolio.py): with 2 the second runs
    # the ruin and recreate on the next seed and the better plan wins. 1 by default: a
    # service planning several jobs at once already uses the cores.
    workers: int = 1
    # "full": plan from scratch (moves from the published plan are still priced);
    # "incremental": start from the published plan (Problem.published), keep every
    # published visit with its engineer unless that engineer can no longer serve it, and
    # fit the rest in (docs/model.md, "Re-planning").
    mode: str = "full"
    # Seconds for the fixes of late and unassigned orders after the solve (dispatcher/fixes.py,
    # docs/reasons.md "Fixes"); 0: none looked for.
    fix_budget_s: float = 2.0
    # "search": time_limit_s is the search's own (the set-up and the decoding come on top);
    # "command": it bounds the whole plan from ``plan_problem(started_at=...)``, as a user of
    # `dispatch plan --time-limit` reads it (docs/performance.md, "Scale").
    limit_covers: str = "search"
    # Where the parts of a decomposition run (parts other than 1): None, a local process
    # pool; a Ray address ("local", "auto", "HOST:PORT", "ray://HOST:PORT"), Ray tasks on that
    # cluster (solver/cluster.py, docs/operations.md "Decomposed solves on a Ray cluster").
    cluster: str | None = None

    def __post_init__(self) -> None:
        if self.limit_covers not in LIMIT_COVERS:
            raise InputError(
                "limit_covers",
                f"expected one of {', '.join(LIMIT_COVERS)}, got {self.limit_covers!r}",
            )
        if not (isinstance(self.fix_budget_s, int | float) and 0 <= self.fix_budget_s <= 3600):
            raise InputError(
                "fix_budget_s", f"expected seconds in [0, 3600], got {self.fix_budget_s!r}"
            )
        if not (isinstance(self.time_limit_s, int | float) and 0 < self.time_limit_s <= 24 * 3600):
            raise InputError(
                "time_limit_s", f"expected seconds in (0, 86400], got {self.time_limit_s!r}"
            )
        if self.mode not in PLAN_MODES:
            raise InputError("mode", f"expected one of {', '.join(PLAN_MODES)}, got {self.mode!r}")
        if self.solution_limit is not None and not (
            isinstance(self.solution_limit, int) and self.solution_limit >= 1
        ):
            raise InputError(
                "solution_limit", f"expected a positive integer, got {self.solution_limit!r}"
            )

    def search_params(self) -> SearchParams:
        try:
            return SearchParams(
                time_limit_s=float(self.time_limit_s),
                solution_limit=self.solution_limit,
                first_solution=self.first_solution,
                metaheuristic=self.metaheuristic,
                parts=self.parts,
                recreate_share=self.recreate_share,
                workers=self.workers,
                cluster=self.cluster,
                # OR-Tools stops each insertion-LNS sub-search after lns_time_limit (100 ms),
                # so under CPU load the same solution limit could give another plan. Without
                # those operators a solution-limited run depends on the count only (measured:
                # 8 of 8 identical replays under load, 3 of 8 with them; docs/simulation.md).
                extra=_NO_TIMED_LNS if self.solution_limit is not None else "",
            )
        except ParamError as exc:
            raise InputError(exc.field, exc.message) from None


@dataclass(frozen=True)
class PlanProgress:
    elapsed_s: float
    best_cost: int
    on_time: int | None
    solutions: int


def search_budget(options: PlanOptions, spent_s: float, compile_s: float) -> tuple[float, float]:
    """The search's time limit and the fixes' budget of a plan whose limit covers the whole
    command (``limit_covers="command"``), ``spent_s`` seconds after its start of which
    ``compile_s`` compiled; under ``"search"``, or a solution limit (whose run must not depend
    on the clock), the options' own.

    What is left after the time spent goes to the search, less the model build and the
    wind-down (decoding, the fixes, writing the plan), estimated from the compile time (both
    grow with the problem the way the compile does), and a margin for the interpreter's start
    and exit. The fixes get at most a tenth of the limit; the search at least
    :data:`MIN_SEARCH_SHARE` of it.
    """
    limit = float(options.time_limit_s)
    if options.limit_covers == "search" or options.solution_limit is not None:
        return limit, options.fix_budget_s
    fixes = min(options.fix_budget_s, 0.1 * limit)
    rest = compile_s * (BUILD_PER_COMPILE + WIND_DOWN_PER_COMPILE) + fixes + COMMAND_MARGIN_S
    return max(MIN_SEARCH_SHARE * limit, limit - spent_s - rest), fixes


def plan_problem(
    problem: Problem,
    options: PlanOptions | None = None,
    on_progress: Callable[[PlanProgress], None] | None = None,
    travel: TravelTimes | None = None,
    should_stop: Callable[[], bool] | None = None,
    started_at: float | None = None,
) -> Plan:
    """Solve ``problem`` and return the decoded, explained plan.

    ``should_stop`` is asked at each solution; True ends the search with the best so far.
    ``started_at`` (``time.perf_counter()``): when the caller began (reading the problem),
    for a limit that covers the whole command (``options.limit_covers``); default now.
    """
    options = options or PlanOptions()
    t0 = time.perf_counter()
    started = t0 if started_at is None else started_at
    travel = travel or travel_times(problem.policy.travel)
    compiled = compile_problem(problem, travel)
    compile_s = time.perf_counter() - t0
    search_s, fix_budget_s = search_budget(options, time.perf_counter() - started, compile_s)

    def relay(p: Progress) -> None:
        if on_progress is not None:
            on_progress(PlanProgress(p.elapsed_s, p.objective, p.on_time, p.solutions))

    params = options.search_params()
    if search_s != params.time_limit_s:
        params = replace(params, time_limit_s=search_s)
    if compiled.data.n_vehicles == 0 or not compiled.node_order:
        # Nothing for a solver to decide (no engineers, or no order anyone may serve).
        result = RoutingResult(
            status="optimal",
            objective=0,
            routes=[[] for _ in problem.engineers],
            dropped=[],
            build_s=0.0,
            solve_s=0.0,
            first_solution_s=0.0,
            solutions=1,
            phase="trivial",
        )
    else:
        data, initial = compiled.data, None
        if options.mode == "incremental" and problem.published:
            data, initial, displaced = from_published(compiled)
            # Nothing displaced: keep the routes, insert the rest. Displaced visits: the ruin
            # and recreate starts from the published routes (not from a construction of its
            # own), so the pinned visits stay and the free ones are placed around them.
            params = replace(params, given_only=not displaced, recreate_given=displaced)
        try:
            if options.cluster is not None:
                probe_cluster(options.cluster)
            result = solve(
                data,
                params,
                relay if on_progress else None,
                initial_routes=initial,
                should_stop=should_stop,
            )
        except ParamError as exc:  # a cluster that cannot be reached (solver/cluster.py)
            raise InputError(exc.field, exc.message) from None
    t1 = time.perf_counter()
    meta: dict[str, object] = {
        "solver": "ortools-routing",
        "mode": options.mode,
        "solver_version": SOLVER_VERSION,
        "time_limit_s": options.time_limit_s,
        "solution_limit": options.solution_limit,
        "first_solution": options.first_solution,
        "metaheuristic": options.metaheuristic,
        "objective": result.objective,
        "initial_solution": result.initial,
        "final_phase": result.phase,
        **{f"candidates_{k}": v for k, v in result.candidates.items()},
        "solutions": result.solutions,
        "limit_covers": options.limit_covers,
        "solve_limit_seconds": round(search_s, 3),
        "setup_seconds": round(t0 - started, 3),
        "compile_seconds": round(compile_s, 3),
        "build_seconds": round(result.build_s, 3),
        "first_solution_seconds": None
        if result.first_solution_s is None
        else round(result.first_solution_s, 3),
        "solve_seconds": round(result.solve_s, 3),
        "input_hash": input_hash(problem),
        "policy": {
            "commitments": dict(problem.policy.commitments),
            "home_country": problem.policy.home_country,
        },
    }
    if result.errors:
        meta["solver_errors"] = list(result.errors)
    untried = frozenset(compiled.node_order[j].id for j in result.unplanned)
    meta["orders_not_planned_in_time"] = len(untried)
    plan = decode(compiled, result.routes, result.status, meta, untried)
    travel_meta = _travel_meta(compiled, travel, plan)
    meta["travel"] = travel_meta
    # Pairs the road provider could not route, priced by the geodesic model instead.
    meta["travel_fallback_pairs"] = travel_meta.get("fallback_pairs", 0)
    meta["decode_seconds"] = round(time.perf_counter() - t1, 3)
    if fix_budget_s > 0:
        t2 = time.perf_counter()
        plan = with_fixes(compiled, plan, travel, fix_budget_s)
        meta["fix_seconds"] = round(time.perf_counter() - t2, 3)
    return plan


def _travel_meta(compiled: Compiled, travel: TravelTimes, plan: Plan) -> dict[str, object]:
    """The provider, its cost, and the digest of the matrix entries the plan's legs use
    (what ``dispatch check`` compares a re-queried matrix with; docs/travel.md)."""
    problem = compiled.problem
    points = [e.start_location for e in problem.engineers] + [e.home for e in problem.engineers]
    points += [compiled.node_order[j].site.location for j in sorted(compiled.node_order)]
    digest = matrix_legs_digest(points, compiled.travel, plan_leg_ends(problem, plan))
    return {**describe(travel), "matrix_digest": digest}


def from_published(compiled: Compiled) -> tuple[RoutingInput, list[list[int]], bool]:
    """The published plan as starting routes, the solver input with every published visit
    that stays pinned to its engineer, and whether a visit was displaced.

    A published visit stays (in its published order on its engineer's route, pinned to
    them) if its engineer may still serve it. One whose engineer no longer can (gone from
    the roster, absent, no longer qualified) is displaced: left out of the starting routes,
    free to go to anyone. Without a displaced visit the published routes are kept as they
    are and every other order (new, or left out before) is fitted in by cheapest feasible
    insertion (``SearchParams.given_only``) — where a quote (``dispatcher.quote``) puts
    it; with one, the search re-plans around the pinned visits.
    """
    data = compiled.data
    index = {e.id: v for v, e in enumerate(compiled.problem.engineers)}
    stays: list[list[tuple[datetime, int]]] = [[] for _ in range(data.n_vehicles)]
    allowed = list(data.allowed_vehicles)
    displaced = False
    for pub in compiled.problem.published:
        node = compiled.order_node.get(pub.order_id)
        if node is None:
            continue  # no longer open, or nobody may serve it at all
        v = index.get(pub.engineer_id)
        may = allowed[node]
        if v is None or (may is not None and v not in may):
            displaced = True
            continue
        stays[v].append((pub.start, node))
        allowed[node] = [v]
    routes = [[node for _, node in sorted(route)] for route in stays]
    return replace(data, allowed_vehicles=allowed), routes, displaced
