"""Decomposition of large problems: split by geography, solve the parts in parallel, polish
the whole.

Why: OR-Tools' local search slows down with the size of the model (every move is checked
against every route's time dimension, and GLS penalties spread thin), while the orders of a
field-service problem cluster around the engineers' stations. At 1,000 orders the parts of a
few hundred orders each reach good routes much faster than the whole model does, and two
parts run at once on two cores. The whole model then starts from the union of the parts'
routes and repairs what the split got wrong (orders better served from another part, orders a
part could not place).

The split (:func:`partition`):

1. vehicles are grouped by where they start: farthest-point seeds over the start nodes, each
   vehicle to its nearest seed (travel time both ways);
2. each order goes to the group of the nearest vehicle that may serve it.

Every part is a :class:`~solver.routing.RoutingInput` of its own (:func:`subproblem`), so it is
solved by the same :func:`~solver.routing.solve` with every constraint of the product.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from solver.routing import (
    Progress,
    RoutingInput,
    RoutingResult,
    SearchParams,
    finish_from,
    solve,
)

PART_SHARE = 0.5  # share of the time limit the parts get; the whole model gets the rest
START_METHOD = "spawn"  # OR-Tools is not fork-safe once its solver exists


@dataclass(frozen=True)
class Part:
    """One part: its problem and where its nodes and vehicles come from."""

    data: RoutingInput
    nodes: np.ndarray  # local node -> node of the whole problem
    vehicles: list[int]  # local vehicle -> vehicle of the whole problem


def n_parts(data: RoutingInput, params: SearchParams) -> int:
    """How many parts :func:`solve_decomposed` makes: ``params.parts``, never more parts than
    vehicles (1: no split)."""
    return max(1, min(params.parts, data.n_vehicles))


def _vehicle_groups(data: RoutingInput, parts: int) -> list[list[int]]:
    """Vehicles grouped by start node into ``parts`` groups of at most ``ceil(v / parts)``.

    Farthest-point seeds over the start nodes (travel time both ways), then vehicles are
    given to seeds closest pair first while a seed's group has room: without the cap an
    outlying station made a part of two vehicles and a neighbouring one of fifty.
    """
    starts = np.asarray(data.starts, dtype=np.int64)
    t = data.travel_s[np.ix_(starts, starts)].astype(np.int64)
    d = t + t.T
    seeds = [0]
    dist = d[0].copy()
    while len(seeds) < parts:
        nxt = int(np.argmax(dist))
        if dist[nxt] == 0:
            break  # fewer distinct start places than parts
        seeds.append(nxt)
        dist = np.minimum(dist, d[nxt])
    room = [math.ceil(len(starts) / len(seeds))] * len(seeds)
    owner = np.full(len(starts), -1, dtype=np.int64)
    pairs = d[:, seeds]
    for flat in np.argsort(pairs, axis=None, kind="stable"):
        v, g = divmod(int(flat), len(seeds))
        if owner[v] < 0 and room[g] > 0:
            owner[v] = g
            room[g] -= 1
    groups = [[int(v) for v in np.flatnonzero(owner == g)] for g in range(len(seeds))]
    return [g for g in groups if g]


def partition(data: RoutingInput, parts: int) -> list[tuple[list[int], list[int]]]:
    """``(vehicles, orders)`` of each part; every order is in exactly one part.

    An order goes to the part of the nearest vehicle start among the vehicles allowed to
    serve it (all vehicles when it has no restriction); an order no vehicle may serve goes
    to the first part, where it is dropped like in the whole model.
    """
    groups = _vehicle_groups(data, parts)
    group_of = np.empty(data.n_vehicles, dtype=np.int64)
    for g, vs in enumerate(groups):
        group_of[vs] = g
    starts = np.asarray(data.starts, dtype=np.int64)
    orders: list[list[int]] = [[] for _ in groups]
    for j in data.order_nodes():
        allowed = data.allowed_vehicles[j]
        cand = np.arange(data.n_vehicles) if allowed is None else np.asarray(allowed, np.int64)
        if cand.size == 0:
            orders[0].append(j)
            continue
        near = int(cand[np.argmin(data.travel_s[starts[cand], j])])
        orders[int(group_of[near])].append(j)
    return [(vs, os) for vs, os in zip(groups, orders, strict=True)]


def subproblem(data: RoutingInput, vehicles: Sequence[int], orders: Sequence[int]) -> Part:
    """The part of ``data`` with only ``vehicles`` and ``orders`` (nodes renumbered)."""
    vs = list(vehicles)
    nodes = np.asarray(
        [data.starts[v] for v in vs] + [data.ends[v] for v in vs] + list(orders), dtype=np.int64
    )
    # Vehicles may share start/end nodes (a depot): keep each node once, in first-seen order.
    _, first = np.unique(nodes, return_index=True)
    nodes = nodes[np.sort(first)]
    local = {int(g): k for k, g in enumerate(nodes)}
    vehicle_local = {v: k for k, v in enumerate(vs)}
    ix = np.ix_(nodes, nodes)

    def allowed(g: int) -> list[int] | None:
        a = data.allowed_vehicles[g]
        if a is None:
            return None
        return [vehicle_local[v] for v in a if v in vehicle_local]

    def pick(seq: Sequence[int] | None) -> list[int] | None:
        return None if seq is None else [seq[v] for v in vs]

    sub = RoutingInput(
        travel_s=data.travel_s[ix],
        arc_cost=data.arc_cost[ix],
        service_s=data.service_s[nodes],
        starts=[local[data.starts[v]] for v in vs],
        ends=[local[data.ends[v]] for v in vs],
        start_min_s=[data.start_min_s[v] for v in vs],
        start_max_s=[data.start_max_s[v] for v in vs],
        horizon_s=data.horizon_s,
        windows=[data.windows[int(g)] for g in nodes],
        allowed_vehicles=[allowed(int(g)) for g in nodes],
        drop_penalty=data.drop_penalty[nodes],
        deadline_s=data.deadline_s[nodes],
        late_cost_per_s=data.late_cost_per_s[nodes],
        breaks=[data.breaks[v] for v in vs] if data.breaks else (),
        end_soft_max_s=pick(data.end_soft_max_s),
        end_late_cost_per_s=data.end_late_cost_per_s,
        vehicle_node_cost=None
        if data.vehicle_node_cost is None
        else data.vehicle_node_cost[np.ix_(np.asarray(vs, dtype=np.int64), nodes)],
        demand=None if data.demand is None else data.demand[nodes],
        capacity=pick(data.capacity),
        vehicle_fixed_cost=pick(data.vehicle_fixed_cost),
        breach_cost=None if data.breach_cost is None else data.breach_cost[nodes],
    )
    return Part(sub, nodes, vs)


def _solve_part(data: RoutingInput, params: SearchParams) -> list[list[int]]:
    """Process-pool body: the part's routes (local nodes)."""
    return solve(data, params).routes


def solve_decomposed(
    data: RoutingInput,
    params: SearchParams,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 0.25,
    should_stop: Callable[[], bool] | None = None,
) -> RoutingResult:
    """Solve the parts (``params.workers`` processes, at least 2) for :data:`PART_SHARE` of
    the time limit, then the whole model from their routes for the rest.

    With ``solution_limit`` set, each part and the whole search use it (deterministic).
    The result is the whole model's, with ``initial == "parts"`` when it started from the
    parts' routes.
    """
    t0 = time.perf_counter()
    parts = [subproblem(data, vs, os) for vs, os in partition(data, n_parts(data, params)) if vs]
    workers = max(2, params.workers)
    rounds = math.ceil(len(parts) / workers)
    part_s = max(0.5, params.time_limit_s * PART_SHARE / rounds)
    # The parts start from the insertion construction whatever their size: OR-Tools' own
    # insertion took 4.9 s for a first plan of a 459-order part with late twins.
    initial = "insertion" if params.initial == "auto" else params.initial
    part_params = replace(params, time_limit_s=part_s, workers=1, parts=1, initial=initial)
    ctx = mp.get_context(START_METHOD)
    with ProcessPoolExecutor(max_workers=min(workers, len(parts)), mp_context=ctx) as pool:
        futures = [pool.submit(_solve_part, p.data, part_params) for p in parts]
        local_routes = [f.result() for f in futures]
    routes: list[list[int]] = [[] for _ in range(data.n_vehicles)]
    for part, sub_routes in zip(parts, local_routes, strict=True):
        for k, route in enumerate(sub_routes):
            routes[part.vehicles[k]] = [int(part.nodes[j]) for j in route]
    return finish_from(
        data,
        replace(params, workers=1, parts=1),
        t0,
        routes,
        "parts",
        on_progress,
        progress_every_s,
        should_stop,
        min_s=0.5,
    )
