"""Decomposition of large problems: improve groups of nearby routes in parallel, polish the
whole.

Why: OR-Tools' local search slows down with the size of the model — every accepted move is
restored and propagated over the whole model (77 % of the search at 1,000 × 100 is that
restore), and the operators scan all pairs of nodes. A part of ~100–300 orders reaches good
routes many times faster per second than the whole model does, and two parts run at once on
two cores.

The method (:func:`solve_decomposed`), a route-based decomposition in the spirit of
POPMUSIC / the decomposition phase of hybrid genetic search:

1. the whole model is solved for a short first phase (``thresholds.first_share`` of the
   limit);
2. rounds: the used routes are grouped into parts of nearby routes (:func:`route_groups`,
   farthest-point seeds over the routes' medoids, a different first seed every round); each
   part is a :class:`~solver.problem.RoutingInput` of its own (:func:`subproblem`, every
   constraint of the product) with its routes, a share of the idle vehicles and the orders left
   unserved nearest to it, solved from its routes for a few seconds; a part's result replaces
   its routes only when that search started from them (so it is never worse: the objective is a
   sum over vehicles plus the penalties of unserved orders);
3. the whole model from the merged routes for the rest of the limit
   (``thresholds.final_share``).

Measured on Gehring–Homberger 1000, 12 instances at 60 s: average gap 20.2 % (whole model) →
10.1 % (docs/performance.md, "Route-based decomposition"), 4.8 % with ruin and recreate in
the parts — but the whole model's own ruin and recreate (granular insertion, two seeds side
by side) reached 3.1 %, so the automatic split starts at ``thresholds.auto_from_orders``
(:func:`solver.strategy.n_parts`).

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from solver.cluster import PartRunner, part_runner
from solver.incumbent import Progress
from solver.params import SearchParams
from solver.phases import finish_from, solve_in_process
from solver.problem import RoutingInput, RoutingResult
from solver.search import solve_one
from solver.strategy import n_parts, wants_greedy


@dataclass(frozen=True)
class Part:
    """One part: its problem and where its nodes and vehicles come from."""

    data: RoutingInput
    nodes: np.ndarray  # local node -> node of the whole problem
    vehicles: list[int]  # local vehicle -> vehicle of the whole problem


def _medoids(data: RoutingInput, routes: Sequence[Sequence[int]]) -> np.ndarray:
    """Per route, the node with the least travel to and from the route's other nodes."""
    out = []
    for route in routes:
        r = np.asarray(route, dtype=np.int64)
        t = data.travel_s[np.ix_(r, r)].astype(np.int64)
        out.append(int(r[np.argmin((t + t.T).sum(axis=1))]))
    return np.asarray(out, dtype=np.int64)


def route_groups(
    data: RoutingInput, routes: Sequence[Sequence[int]], parts: int, first: int = 0
) -> list[list[int]]:
    """The vehicles of the used routes in ``parts`` groups of nearby routes, idle vehicles
    spread over the groups.

    Farthest-point seeds over the routes' medoids (travel both ways), the first one the used
    route number ``first`` (modulo their count): every round starts from another one so the
    borders move. Routes join their nearest seed, closest pair first, while the group holds
    fewer than its share of the orders (plus one route). Idle vehicles go to the group whose
    seed route is nearest to their start, about a fifth of its route count (at least two)
    each; the rest sit this round out.
    """
    used = [v for v, r in enumerate(routes) if r]
    idle = [v for v, r in enumerate(routes) if not r]
    if not used:
        return [list(range(data.n_vehicles))]
    parts = max(1, min(parts, len(used)))
    med = _medoids(data, [routes[v] for v in used])
    t = data.travel_s[np.ix_(med, med)].astype(np.int64)
    d = t + t.T
    seeds = [first % len(used)]
    dist = d[seeds[0]].copy()
    while len(seeds) < parts:
        nxt = int(np.argmax(dist))
        if dist[nxt] == 0 and nxt in seeds:
            break
        seeds.append(nxt)
        dist = np.minimum(dist, d[nxt])
    size = np.asarray([len(routes[v]) for v in used], dtype=np.int64)
    room = [int(math.ceil(size.sum() / len(seeds)) + size.max())] * len(seeds)
    owner = np.full(len(used), -1, dtype=np.int64)
    for flat in np.argsort(d[:, seeds], axis=None, kind="stable"):
        k, g = divmod(int(flat), len(seeds))
        if owner[k] < 0 and room[g] >= size[k]:
            owner[k] = g
            room[g] -= int(size[k])
    for k in np.flatnonzero(owner < 0).tolist():
        owner[k] = int(np.argmin(d[k, seeds]))
    groups = [[used[k] for k in np.flatnonzero(owner == g)] for g in range(len(seeds))]
    if idle:
        # Idle vehicles to the group whose seed route is nearest to their start, closest
        # pair first, up to a fifth of the group's routes (at least two) each.
        starts = np.asarray([data.starts[v] for v in idle], dtype=np.int64)
        anchor = med[seeds]
        near = data.travel_s[np.ix_(starts, anchor)] + data.travel_s[np.ix_(anchor, starts)].T
        room = [max(2, len(g) // 5) for g in groups]
        taken = np.zeros(len(idle), dtype=bool)
        for flat in np.argsort(near, axis=None, kind="stable").tolist():
            k, g = divmod(flat, len(seeds))
            if not taken[k] and room[g] > 0:
                taken[k] = True
                room[g] -= 1
                groups[g].append(idle[k])
    return [g for g in groups if g]


def left_orders(
    data: RoutingInput, routes: Sequence[Sequence[int]], groups: Sequence[Sequence[int]]
) -> list[list[int]]:
    """The unserved orders of each group: an order goes to the group of the served node
    nearest to it (travel both ways) among the groups with a vehicle allowed to serve it;
    an order no group may serve stays out of every part."""
    served_set = {j for r in routes for j in r}
    served = np.asarray(sorted(served_set), dtype=np.int64)
    out: list[list[int]] = [[] for _ in groups]
    left = [j for j in data.order_nodes() if j not in served_set]
    if not left:
        return out
    group_of = np.full(data.n_vehicles, -1, dtype=np.int64)
    for g, vs in enumerate(groups):
        group_of[list(vs)] = g
    node_group = np.full(data.n_nodes, -1, dtype=np.int64)
    for v, r in enumerate(routes):
        node_group[list(r)] = group_of[v]
    for j in left:
        allowed = data.allowed_vehicles[j]
        ok = set(range(len(groups))) if allowed is None else {int(group_of[v]) for v in allowed}
        ok.discard(-1)
        if not ok:
            continue
        cand = served[np.isin(node_group[served], list(ok))] if served.size else served
        if cand.size == 0:
            out[min(ok)].append(j)
            continue
        near = cand[np.argmin(data.travel_s[cand, j] + data.travel_s[j, cand])]
        out[int(node_group[near])].append(j)
    return out


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
        overtime_bands=[data.overtime_bands[v] for v in vs] if data.overtime_bands else (),
        overtime_cost_per_hour=data.overtime_cost_per_hour,
        target_s=None if data.target_s is None else data.target_s[nodes],
        retime_tolerance_s=data.retime_tolerance_s,
        retime_cost_per_hour=None
        if data.retime_cost_per_hour is None
        else data.retime_cost_per_hour[nodes],
    )
    return Part(sub, nodes, vs)


def _solve_part(
    data: RoutingInput, params: SearchParams, routes: list[list[int]]
) -> list[list[int]] | None:
    """Process-pool body: the part's routes (local nodes) when its search started from the
    given ``routes`` (so it is no worse than them), else None."""
    result = solve_one(data, params, initial_routes=routes)
    return result.routes if result.initial == "given" else None


def _round_parts(
    data: RoutingInput, routes: list[list[int]], parts: int, first: int
) -> list[tuple[Part, list[list[int]]]]:
    """The parts of one round with their routes in local node numbers."""
    groups = route_groups(data, routes, parts, first)
    out = []
    for vs, extra in zip(groups, left_orders(data, routes, groups), strict=True):
        part = subproblem(data, vs, [j for v in vs for j in routes[v]] + extra)
        local = {int(g): k for k, g in enumerate(part.nodes)}
        out.append((part, [[local[j] for j in routes[v]] for v in vs]))
    return out


def solve_decomposed(
    data: RoutingInput,
    params: SearchParams,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 0.25,
    should_stop: Callable[[], bool] | None = None,
) -> RoutingResult:
    """First phase on the whole model, rounds of parts (``params.workers`` processes, at
    least 2, or Ray tasks on ``params.cluster``: :mod:`solver.cluster`), then the whole
    model from the merged routes (see the module docstring).

    With ``solution_limit`` set, every phase uses it with the whole ``time_limit_s`` (the
    count ends it, not the clock) and there are exactly two rounds: deterministic, the same
    on a cluster as in the local pool, whatever the load. The result is the whole
    model's, ``initial == "parts"`` when the last phase started from the merged routes.
    """
    t0 = time.perf_counter()
    workers = max(2, params.workers)
    with part_runner(params, workers) as runner:  # a bad cluster fails here, before any search
        routes = _rounds(data, params, runner, t0, on_progress, progress_every_s, should_stop)
    whole = replace(params, workers=1, parts=1)
    return finish_from(
        data, whole, t0, routes, "parts", on_progress, progress_every_s, should_stop, min_s=0.5,
        solve=solve_one,
    )  # fmt: skip


def _rounds(
    data: RoutingInput,
    params: SearchParams,
    runner: PartRunner,
    t0: float,
    on_progress: Callable[[Progress], None] | None,
    progress_every_s: float,
    should_stop: Callable[[], bool] | None,
) -> list[list[int]]:
    """The first phase, then the rounds of parts on ``runner``: the merged routes."""
    th = params.thresholds
    limit = params.time_limit_s
    whole = replace(params, workers=1, parts=1)
    # Under a solution limit the count ends each phase, never the clock: a part of a few
    # seconds run by a freshly spawned process (importing, loading the compiled moves) on a
    # loaded machine would otherwise stop by time, and the plan would depend on the load.
    counted = params.solution_limit is not None
    first_s = limit if counted else min(limit, max(th.first_min_s, limit * th.first_share))
    # The first phase is short: under insertion_from_limit_s "auto" would build with the
    # append-only greedy, a far worse start at field scale than the insertion construction.
    auto = whole.initial == "auto" and wants_greedy(data, whole)
    initial = th.auto_construction if auto else None
    first = solve_in_process(
        data,
        replace(whole, time_limit_s=first_s, initial=initial or whole.initial),
        on_progress,
        progress_every_s,
    )
    routes = [list(r) for r in first.routes]
    used = sum(1 for r in routes if r)
    parts = n_parts(data, params, used)
    end_rounds = t0 + limit * (1 - th.final_share)
    rounds = 0
    while True:
        if counted:
            if rounds == 2:
                break
        elif should_stop is not None and should_stop():
            break
        batch = _round_parts(data, routes, parts, first=rounds * 7)
        orders = max(len(p.data.order_nodes()) for p, _ in batch)
        part_s = limit if counted else min(5.0, max(1.0, orders * th.part_s_per_order))
        waves = math.ceil(len(batch) / runner.slots)
        if not counted and time.perf_counter() + waves * part_s > end_rounds:
            break
        part_params = replace(whole, time_limit_s=part_s, initial="auto", recreate_given=True)
        results = runner.map(_solve_part, [(p.data, part_params, lr) for p, lr in batch])
        for (part, _), new in zip(batch, results, strict=True):
            if new is None:
                continue
            for k, route in enumerate(new):
                routes[part.vehicles[k]] = [int(part.nodes[j]) for j in route]
        rounds += 1
    return routes
