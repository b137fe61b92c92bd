"""The choices of a solve: how to start the search, whether to split or phase it.

Every threshold these choices read is in :class:`solver.thresholds.Thresholds`
(``SearchParams.thresholds``); the measurements behind them are in docs/performance.md.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import numpy as np

from solver import fastrr
from solver.params import SearchParams
from solver.problem import NO_DEADLINE, RoutingInput


def is_plain(data: RoutingInput) -> bool:
    """A plain time-window problem: no rests, deadlines, vehicle restrictions, vehicle-node,
    fixed, overtime or soft-end costs (Solomon, Gehring–Homberger). Its ruin and recreate
    runs compiled (:mod:`solver.fastrr`, about 100 times the moves of the Python one)."""
    return (
        fastrr.AVAILABLE
        and not any(data.breaks)
        and all(a is None for a in data.allowed_vehicles)
        and bool((np.asarray(data.deadline_s) == NO_DEADLINE).all())
        and data.vehicle_node_cost is None
        and not any(data.overtime_bands)
        and data.end_soft_max_s is None
        and not any(data.vehicle_fixed_cost or ())
    )


def _plain_insertion(data: RoutingInput, params: SearchParams) -> bool:
    """Whether "auto" builds a plain problem with the insertion construction (from
    ``thresholds.plain_construct_from_orders`` orders and a 1-s limit: under it OR-Tools' own first
    solution, which serves every order of a Solomon instance at once, where the append-only
    greedy may not)."""
    return (
        params.time_limit_s >= 1.0
        and len(data.order_nodes()) >= params.thresholds.plain_construct_from_orders
        and is_plain(data)
    )


def _field_insertion(data: RoutingInput, params: SearchParams) -> bool:
    """Whether "auto" builds a field problem (not :func:`is_plain`) with the insertion
    construction and its compiled ruin and recreate (``thresholds.field_construct_from_orders``
    orders, ``thresholds.field_insertion_from_limit_s`` seconds, no solution limit: the moves
    are bounded by time)."""
    th = params.thresholds
    return (
        fastrr.AVAILABLE
        and params.solution_limit is None
        and params.time_limit_s >= th.field_insertion_from_limit_s
        and len(data.order_nodes()) >= th.field_construct_from_orders
        and not is_plain(data)
    )


def cycle_moves(data: RoutingInput, params: SearchParams) -> int:
    """Moves of the first annealing cycle of the ruin and recreate (0: one anneal over the
    clock): ``thresholds.cycle_moves_per_order`` per order on a field problem, none on a plain
    one (Solomon, Gehring–Homberger keep the anneal their results were measured with)."""
    if is_plain(data):
        return 0
    return params.thresholds.cycle_moves_per_order * len(data.order_nodes())


def population_size(data: RoutingInput, params: SearchParams) -> int:
    """Individuals of the population search around the compiled ruin and recreate
    (:mod:`solver.population`), 0 for one anneal: ``params.population``, where the moves
    anneal over the clock (:func:`cycle_moves` 0: plain problems), numba runs them and there
    are at most ``thresholds.population_up_to_orders`` orders."""
    if not fastrr.AVAILABLE or cycle_moves(data, params) > 0:
        return 0
    if len(data.order_nodes()) > params.thresholds.population_up_to_orders:
        return 0
    return params.population


def wants_greedy(data: RoutingInput, params: SearchParams) -> bool:
    """Whether the search starts from a construction (:func:`solver.insertion.insertion_routes`
    for ``"auto"`` from ``thresholds.insertion_from_limit_s``, else
    :func:`solver.greedy.greedy_routes`).

    ``"auto"`` picks it for large problems (orders × vehicles at least
    ``thresholds.greedy_from_order_vehicle_pairs``) in which an order has several service
    windows: there OR-Tools' insertion heuristics find no first solution within 10 s (1,000
    orders / 100 vehicles), while on smaller ones they give a better start than the greedy
    (docs/performance.md). It also picks it from ``thresholds.construct_from_orders`` orders,
    whatever their windows: there the insertion construction's ruin and recreate beats
    OR-Tools' own search by far (Gehring–Homberger 1000 at 60 s, R1_10_1 / RC1_10_1: 4.5–5.5 %
    above the best-known against 17–22 % for parallel cheapest insertion + GLS;
    docs/performance.md); and from ``thresholds.plain_construct_from_orders`` orders on a
    plain problem (:func:`is_plain`), whose ruin and recreate runs compiled: Solomon R101 /
    RC101 at the best-known within 8 s (docs/performance.md).
    """
    if params.initial in ("greedy", "insertion"):
        return True
    if params.initial == "ortools":
        return False
    th = params.thresholds
    orders = data.order_nodes()
    if len(orders) >= th.construct_from_orders:
        return True
    if _plain_insertion(data, params) or _field_insertion(data, params):
        return True
    if len(orders) * data.n_vehicles < th.greedy_from_order_vehicle_pairs:
        return False
    return any(len(data.windows[n]) > 1 for n in orders)


def construction(data: RoutingInput, params: SearchParams) -> str | None:
    """What the search builds its first solution with: ``"greedy"`` or ``"insertion"``
    (:func:`wants_greedy`), None for OR-Tools' own first-solution heuristic."""
    if not wants_greedy(data, params):
        return None
    if params.initial != "auto":
        return params.initial
    if _plain_insertion(data, params) or _field_insertion(data, params):
        return "insertion"
    # The insertion takes ~0.7 s at 1,000 x 100 and ~1.9 s at 2,000 x 200: under a short
    # limit it would eat the search, so the append-only greedy builds instead.
    th = params.thresholds
    return "greedy" if params.time_limit_s < th.insertion_from_limit_s else th.auto_construction


def wants_on_time_first(
    data: RoutingInput, params: SearchParams, initial_routes: object | None = None
) -> bool:
    """Whether the solve runs in two phases, the most orders on time first
    (:func:`solver.phases.solve_on_time_first`): asked for (``on_time_phase``), with breach
    costs to trade against, and no given routes to start from."""
    return initial_routes is None and params.on_time_phase > 0 and data.breach_cost is not None


def n_parts(data: RoutingInput, params: SearchParams, used_routes: int | None = None) -> int:
    """How many parts :func:`solver.decompose.solve_decomposed` makes (1: no split).

    ``params.parts`` when it is 2 or more (never more than the vehicles); ``0`` = automatic:
    from ``thresholds.auto_from_orders`` orders, about ``thresholds.orders_per_part`` orders
    and at least ``thresholds.routes_per_part`` routes per part (``used_routes``, the first
    phase's, when known). Not from 1,000 orders: there the whole model's ruin and recreate on
    two seeds (:mod:`solver.portfolio`) beat the split by 1.7 points on Gehring–Homberger 1000
    (3.13 % against 4.81 %, 12 instances, 60 s; docs/performance.md); larger VRPTW instances
    are not at hand, so the split is kept for them untested.
    """
    if params.parts >= 1:
        return max(1, min(params.parts, data.n_vehicles))
    th = params.thresholds
    orders = len(data.order_nodes())
    if orders < th.auto_from_orders:
        return 1
    routes = data.n_vehicles if used_routes is None else used_routes
    return max(2, min(orders // th.orders_per_part, routes // th.routes_per_part))
