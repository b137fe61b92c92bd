"""One search on a built model, in the calling process: :func:`solve_one`.

Its phases, each offering its plans to one incumbent (:mod:`solver.incumbent`): the given
routes, a construction (:mod:`solver.greedy`, :mod:`solver.insertion`) and its ruin and
recreate, OR-Tools' search from them, an overtime polish, and a final fill of the orders
still left out.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
from ortools.constraint_solver import routing_enums_pb2

from solver import bounded, fastrr, population
from solver.greedy import greedy_routes
from solver.incumbent import Incumbent, Progress
from solver.insertion import Insertion, insertion_routes
from solver.model import (
    Model,
    all_starts,
    bound_routes,
    build,
    exact_timing,
    original,
    restore_routes,
    search_parameters,
    solution_routes,
    to_twins,
)
from solver.params import SearchParams
from solver.problem import Infeasible, RoutingInput, RoutingResult
from solver.strategy import construction, cycle_moves, population_size
from solver.timing import overtime_cost, prices_overtime
from solver.twins import without_twins


def solve_one(
    data: RoutingInput,
    params: SearchParams | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 0.25,
    initial_routes: Sequence[Sequence[int]] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RoutingResult:
    """Build the model and search it, in this process; never raises on an infeasible problem
    (it reports it). ``params.workers``, ``parts`` and ``on_time_phase`` are not read here:
    :func:`solver.routing.solve` picks the strategy; the arguments are the same as there.

    Every candidate plan found on the way is offered to one incumbent
    (:mod:`solver.incumbent`): timed by the exact rules, repaired where a visit cannot be
    timed, priced with overtime included; the solve returns the best of them.
    """
    params = params or SearchParams()
    fastrr.warm_up()  # once per process, before any clock: compiling is not searching
    bounded.warm_up()
    if population_size(data, params) > 0:
        population.warm_up()
    t0 = time.perf_counter()
    try:
        m = build(data, params)
    except (
        Infeasible
    ):  # no assignment exists (e.g. a vehicle that may only leave after the horizon)
        empty: list[list[int]] = [[] for _ in data.starts]
        build_s = time.perf_counter() - t0
        return RoutingResult("no_solution", None, empty, [], build_s, 0.0, None, 0, [], empty)
    build_s = time.perf_counter() - t0
    try:
        return _search(m, data, params, build_s, on_progress, progress_every_s, initial_routes,
                       should_stop)  # fmt: skip
    finally:
        m.release()


def _search(
    m: Model,
    data: RoutingInput,
    params: SearchParams,
    build_s: float,
    on_progress: Callable[[Progress], None] | None,
    progress_every_s: float,
    initial_routes: Sequence[Sequence[int]] | None,
    should_stop: Callable[[], bool] | None,
) -> RoutingResult:
    """One solve on a built model (see :func:`solve_one`); every phase offers its plans to the
    incumbent.

    The phases: the given routes; a construction (the greedy at once where OR-Tools' own
    first-solution heuristic starts the search, else the chosen construction and its ruin
    and recreate, whose best routes are offered as they improve); OR-Tools' search, whose
    improving solutions are offered at most every ``thresholds.offer_every_s`` (under a
    solution limit every one, after the search) and whose last one is offered at its end; the overtime polish;
    and a final fill that tries every order still left out (``thresholds.fill_share`` of the
    limit).
    """
    t1 = time.perf_counter()
    th = params.thresholds
    limited = params.solution_limit is not None
    solutions = [0]  # reported by OR-Tools' search

    def stopping() -> bool:
        return should_stop is not None and should_stop()

    prepared: list[tuple[RoutingInput, np.ndarray]] = []

    def inputs() -> tuple[RoutingInput, np.ndarray]:
        """The constructions' problem (:func:`_construction_inputs`), made once per solve:
        seconds at 10,000 orders."""
        if not prepared:
            prepared.append(_construction_inputs(m))
        return prepared[0]

    def reinsert(routes: list[list[int]], removed: list[int]) -> list[list[int]]:
        return original(m, _greedy(m, "insertion", initial=routes, insert=removed,
                                   prepared=inputs()))  # fmt: skip

    timing = exact_timing(m, data)
    inc = Incumbent(
        timing, t1, on_progress, progress_every_s, reinsert, solutions=lambda: solutions[0]
    )
    search_best = [np.iinfo(np.int64).max]  # the search's own best cost so far
    offered_at = [-1e9]
    held: list[list[list[int]]] = []  # a solution-limited search's solutions, offered after it

    def at_solution() -> None:
        if stopping():
            m.routing.solver().FinishCurrentSearch()
        solutions[0] += 1
        obj = int(m.routing.CostVar().Value())
        if obj >= search_best[0]:
            return  # the metaheuristic also reports non-improving moves
        search_best[0] = obj
        now = time.perf_counter() - t1
        if not limited and now - offered_at[0] < th.offer_every_s:
            return
        routes = bound_routes(m)
        if routes is None:
            return
        if limited:
            held.append(routes)  # timed after the search: the callback stays light
        else:
            offered_at[0] = now
            inc.offer(routes, "search")

    offer_after = [0.0]  # perf_counter before which the moves' best routes wait

    def improved(routes: list[list[int]]) -> None:
        """Offer the moves' best routes, the offers taking at most ``th.offer_time_share`` of
        the moves' time: a plan is timed exactly, 0.15 s at 10,000 orders, and offered every
        0.25 s the moves there spent half their time on it. The last best routes are offered
        when the moves end in any case."""
        now = time.perf_counter()
        if now < offer_after[0]:
            return
        inc.offer(routes, "ruin_and_recreate")
        spent = time.perf_counter() - now
        offer_after[0] = now + spent / max(th.offer_time_share, 1e-3)

    m.routing.AddAtSolutionCallback(at_solution)
    search = search_parameters(params)
    how = construction(data, params)
    recreates = not limited and (
        (params.recreate_share > 0 and how == "insertion") or params.recreate_given
    )
    polish = prices_overtime(data) and not recreates and (limited or params.polish_share > 0)
    n_orders = len(data.order_nodes())

    def remaining() -> float:
        """Seconds left for the search: the polish keeps its share, and so does the fill
        while the incumbent leaves an order out (a plan serving every order needs none)."""
        best = inc.best
        fill = th.fill_share if best is None or len(best.served()) < n_orders else 0.0
        reserve = params.time_limit_s * ((params.polish_share if polish else 0.0) + fill)
        return max(0.001, params.time_limit_s - reserve - (time.perf_counter() - t1))

    if initial_routes is not None:
        inc.offer(original(m, initial_routes), "given")
    given_only = params.given_only and initial_routes is not None
    if given_only:
        how, polish = None, False
    if how is None and not given_only:
        # OR-Tools' own first solution starts the search; the greedy is a plan at once.
        inc.offer(original(m, _greedy(m, "greedy", prepared=inputs())), "greedy")
    candidates: list[tuple[str, Sequence[Sequence[int]] | None]] = []
    if initial_routes is not None and not given_only:
        candidates.append(("given", initial_routes))
    if how is not None:
        candidates.append((how, None))
    if candidates:
        m.routing.CloseModelWithParameters(search)
    solution = None
    initial = "ortools"
    short = False
    for name, given in candidates:
        if stopping() and inc.best is not None:
            break
        if given is None:
            recreate = params.recreate_share if not limited else 0.0

            def built(routes: list[list[int]], name: str = name) -> None:
                inc.offer(routes, name)

            # Under a time limit the construction hurries from a share of it on, so the
            # restore, the search and the fill keep theirs (:mod:`solver.bounded`).
            hurry = None if limited else t1 + params.time_limit_s * th.construct_share
            variant = _greedy(
                m, name, recreate * remaining(), built, should_stop, seed=params.seed,
                on_improved=improved, cycle_moves=cycle_moves(data, params),
                population=population_size(data, params), sisr=params.sisr, deadline=hurry,
                cap_penalty=params.cap_penalty,
                prepared=inputs(),
            )  # fmt: skip
            inc.offer(original(m, variant), "ruin_and_recreate" if recreate > 0 else name)
            variants = [variant]
        else:
            if m.twins is None:
                variants = [[list(r) for r in given]]
            else:
                # Late twins chosen by the model's lower-bound timing first, then by the
                # construction's conservative one (:func:`to_twins`).
                variants = [to_twins(m, given, optimistic=True)]
                variants += [v for v in [to_twins(m, given)] if v != variants[0]]
            if params.recreate_given and not limited:
                # Ruin and recreate from the given routes first; they themselves next.
                share = params.recreate_share * remaining()
                recreated = _greedy(
                    m, "insertion", share, None, should_stop, given, seed=params.seed,
                    on_improved=improved, cycle_moves=cycle_moves(data, params),
                    prepared=inputs(),
                )  # fmt: skip
                inc.offer(original(m, recreated), "ruin_and_recreate")
                variants.insert(0, recreated)
        short = not limited and remaining() < th.search_min_s
        if short:
            # No time to restore and search: this candidate's routes (offered above) are
            # where the plan comes from; no later candidate, no search from scratch.
            initial = name
            break
        for variant in variants:
            # Restored first (a completion search not cut at 100 ms, see
            # :func:`solver.model.restore_routes`), then searched from the complete solution.
            # Within the limit: the routes are the incumbent already, a failed restore only
            # means no search after them.
            restored = restore_routes(m, params, variant, min(remaining(), th.restore_s))
            if restored is None:
                continue
            start = m.routing.solver().Assignment(restored)
            solution = m.routing.SolveFromAssignmentWithParameters(
                start, search_parameters(params, remaining())
            )
            # The search restores its start again, with the 100-ms completion: if that
            # fails, the restored routes are the solution.
            solution = start if solution is None else solution
            break
        if solution is not None:
            initial = name
            break
    # OR-Tools' own first solution: where nothing was constructed, or where the constructed
    # routes could not be restored with a tenth of the limit still left (a first solution
    # from scratch takes a tenth of a second and more at 1,000 orders: not past the limit).
    scratch = not given_only and not short
    scratch = scratch and (not candidates or remaining() >= 0.1 * params.time_limit_s)
    if solution is None and scratch and not (stopping() and inc.best is not None):
        solution = m.routing.SolveWithParameters(search_parameters(params, remaining()))
    for routes in held:
        inc.offer(routes, "search")
    if solution is not None:
        inc.offer(solution_routes(m, solution), "search")
    best = inc.best
    if (
        polish
        and best is not None
        and not stopping()
        and overtime_cost(data, best.routes, best.starts_s) > 0
    ):
        # Ruin and recreate around the visits with overtime, which the search cannot price.
        moves = th.polish_moves if limited else None
        left = max(0.0, params.time_limit_s * (1 - th.fill_share) - (time.perf_counter() - t1))
        polished = _greedy(
            m, "insertion", 3600.0 if limited else left, None, should_stop, best.routes,
            moves, True, seed=params.seed, prepared=inputs(),
        )  # fmt: skip
        inc.offer(original(m, polished), "polish")
    best = inc.best
    unplanned: list[int] = []
    if best is not None:
        served = best.served()
        left_out = [j for j in data.order_nodes() if j not in served]
        if left_out and stopping():
            unplanned = left_out
        elif left_out:
            until = None if limited else t1 + params.time_limit_s
            filled, unplanned = _fill(m, best.routes, left_out, until, inputs())
            inc.offer(filled, "fill")
    best = inc.finish()
    solve_s = time.perf_counter() - t1
    if best is None:
        empty: list[list[int]] = [[] for _ in data.starts]
        return RoutingResult(
            "no_solution", None, empty, [], build_s, solve_s, None, solutions[0], inc.history,
            empty, initial, candidates=inc.counts.as_dict(),
        )  # fmt: skip
    served = best.served()
    status_name = routing_enums_pb2.RoutingSearchStatus.Value.Name(m.routing.status())
    optimal = best.phase == "search" and status_name == "ROUTING_OPTIMAL"
    return RoutingResult(
        status="optimal" if optimal else "feasible",
        objective=best.objective,
        routes=best.routes,
        dropped=[j for j in data.order_nodes() if j not in served],
        build_s=build_s,
        solve_s=solve_s,
        first_solution_s=inc.first_s,
        solutions=solutions[0],
        history=inc.history,
        start_s=best.starts_s,
        initial=initial,
        phase=best.phase,
        candidates=inc.counts.as_dict(),
        unplanned=[j for j in unplanned if j not in served],
        on_time=best.on_time,
    )


def _construction_inputs(m: Model) -> tuple[RoutingInput, np.ndarray]:
    """The problem the constructions (:func:`solver.greedy.greedy_routes`,
    :func:`solver.insertion.insertion_routes`, :class:`solver.insertion.Insertion`) work on,
    over the model as built (windows after the break rewrite, boundary breaks), and its visit
    lengths.

    With late twins the constructions work on the orders as they are (every start allowed,
    soft deadline, the breach cost on the order) and the twins are switched off (no vehicle,
    no drop penalty: a twin's penalty is its order's, one disjunction), so their routes hold
    original order nodes only.
    """
    d = m.data
    windows, visit = all_starts(m)
    allowed = d.allowed_vehicles
    deadline, late_cost, breach, drop = d.deadline_s, d.late_cost_per_s, None, d.drop_penalty
    if m.twins is not None:
        allowed = list(allowed)
        deadline, late_cost, drop = m.twins.deadline_s, late_cost.copy(), drop.copy()
        breach = np.zeros(d.n_nodes, dtype=np.int64)
        for on, twin in m.twins.late.items():
            late_cost[on] = late_cost[twin]
            breach[on] = m.twins.breach_cost[twin]
            allowed[twin] = []
            drop[twin] = 0
    inputs = replace(
        d,
        windows=windows,
        allowed_vehicles=allowed,
        drop_penalty=drop,
        deadline_s=deadline,
        late_cost_per_s=late_cost,
        breaks=d.breaks or [[] for _ in d.starts],
        breach_cost=breach,
    )
    # The twins switched off, the constructions work on the orders alone (and the matrices
    # the expanded input reads through its node_source).
    return (inputs, visit) if m.twins is None else without_twins(m.twins, inputs, visit)


def _greedy(
    m: Model,
    how: str = "greedy",
    improve_s: float = 0.0,
    on_built: Callable[[list[list[int]]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    initial: Sequence[Sequence[int]] | None = None,
    improve_moves: int | None = None,
    around_overtime: bool = False,
    seed: int = 0,
    on_improved: Callable[[list[list[int]]], None] | None = None,
    insert: Sequence[int] | None = None,
    cycle_moves: int = 0,
    population: int = 0,
    sisr: bool = False,
    deadline: float | None = None,
    cap_penalty: bool = False,
    prepared: tuple[RoutingInput, np.ndarray] | None = None,
) -> list[list[int]]:
    """:func:`solver.greedy.greedy_routes` (or ``insertion_routes`` when ``how`` is
    ``"insertion"``, then ``improve_s`` seconds of ruin and recreate, ``on_built`` called
    with the constructed routes in between) on the model (:func:`_construction_inputs`).
    ``initial`` (order nodes, no twins): improve these routes instead of constructing, after
    inserting the orders ``insert`` into them. ``on_built`` and ``on_improved`` get order
    nodes without twins; the routes returned are the model's (late visits on their twins).
    ``deadline``: when the construction hurries (:mod:`solver.bounded`); ``prepared``: the
    :func:`_construction_inputs` of ``m`` when made already."""
    inputs, visit = prepared or _construction_inputs(m)
    if how == "insertion":
        routes = insertion_routes(
            inputs,
            visit,
            m.time.boundaries,
            improve_s=improve_s,
            on_built=on_built,
            should_stop=should_stop,
            initial_routes=initial,
            improve_moves=improve_moves,
            around_overtime=around_overtime,
            seed=seed,
            on_improved=on_improved,
            insert=insert,
            cycle_moves=cycle_moves,
            population=population,
            sisr=sisr,
            deadline=deadline,
            cap_penalty=cap_penalty,
        )
    else:
        routes = greedy_routes(inputs, visit, m.time.boundaries)
    return routes if m.twins is None else to_twins(m, routes)


def _fill(
    m: Model,
    routes: Sequence[Sequence[int]],
    orders: Sequence[int],
    until: float | None,
    prepared: tuple[RoutingInput, np.ndarray] | None = None,
) -> tuple[list[list[int]], list[int]]:
    """``orders`` inserted into ``routes`` (order nodes, no twins) where a place costs less
    than leaving them out (on-time places first), until ``until`` (``time.perf_counter()``);
    the routes and the orders not tried by then. ``prepared``: as in :func:`_greedy`."""
    inputs, visit = prepared or _construction_inputs(m)
    ins = Insertion(inputs, visit, m.time.boundaries, 40)
    if not ins.take(routes, freeze=True):
        return [list(r) for r in routes], list(orders)
    key = {j: k for k, j in enumerate(ins.orders)}  # by deadline, then the dearest first
    untried = ins.place(sorted(orders, key=key.__getitem__), True, until)
    return ins.routes, untried
