"""Cheapest insertion with the exact time rules, and its ruin and recreate.

:func:`insertion_routes` is the better start than :mod:`solver.greedy`
(``SearchParams.initial="insertion"``, and ``"auto"`` from a 5 s limit): cheapest insertion at
any position of a route, re-timing the later visits exactly, on-time placements first, by
a deadline when given (:mod:`solver.bounded`; docs/performance.md). It then improves its own routes by *ruin and recreate* with simulated annealing
(:meth:`Insertion.improve`, 75 % of the time limit by default, 95 % in the planner,
``SearchParams.recreate_share``) before OR-Tools' local search polishes them: the same exact
time rules, about 800-1,100 moves a second on 1,000 Gehring–Homberger customers with
*granular* insertion (an order is first offered only to the routes of its 40 nearest orders
and one empty vehicle of each kind, then to every route if none of those will do) and a
bound that skips places breaking a later visit's window, and on that scale a better
optimiser than guided local search, and than the decomposition (docs/performance.md, "Ruin
and recreate", "Granular insertion"). The moves run compiled by :mod:`solver.fastrr` (the
same rules and costs, one to two orders of magnitude more moves a second) wherever numba
imports; the Python moves here are the reference and the fallback.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from solver import fastrr
from solver.bounded import construct, moves_left
from solver.fastrr_sisr import BLINK, SPLIT_SHARE
from solver.neighbours import nearest_orders
from solver.population import evolve as evolve_population
from solver.problem import NO_DEADLINE, RoutingInput
from solver.timing import (
    Bands,
    earliest_start,
    latest_departure,
    pass_breaks,
    vehicle_rests,
    visit_overtime_s,
    visit_rows,
)

# Simulated annealing of the ruin and recreate: the temperature falls geometrically from
# ANNEAL_START to ANNEAL_END times the mean arc cost of the constructed routes.
ANNEAL_START = 5.0
ANNEAL_END = 0.05
RANDOM_ORDER_SHARE = 0.5  # ruin-and-recreate moves that put orders back in a random order
STRING_SHARE = 0.5  # moves that remove strings of consecutive visits (SISR) instead of single ones
MAX_STRING = 10


def insertion_routes(
    data: RoutingInput,
    visit_s: np.ndarray | None = None,
    boundaries: Sequence[int] = (),
    max_exact: int = 40,
    on_time_first: bool = True,
    improve_s: float = 0.0,
    seed: int = 0,
    improve_moves: int | None = None,
    on_built: Callable[[list[list[int]]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    initial_routes: Sequence[Sequence[int]] | None = None,
    around_overtime: bool = False,
    on_improved: Callable[[list[list[int]]], None] | None = None,
    insert: Sequence[int] | None = None,
    cycle_moves: int = 0,
    population: int = 0,
    sisr: bool = False,
    deadline: float | None = None,
    cap_penalty: bool = False,
) -> list[list[int]]:
    """Cheapest insertion at any position of any route, with the exact time rules.

    Orders are taken by deadline (then drop penalty, largest first). For each order, every
    (vehicle, position) pair gets a *lower bound* on its cost, vectorised: arc cost increase
    + the order's own lateness + vehicle-node cost, with the order's earliest start computed
    from the previous visit's finish (travel across boundaries, windows; vehicles with rests
    are bounded by their rest-free arrival). Pairs are then simulated exactly in ascending
    bound order — the order and every later visit of the route re-timed (breaks, windows,
    horizon, the way back), adding the later visits' extra lateness — until the next bound
    cannot beat the best exact cost or ``max_exact`` pairs were simulated. An order whose
    cheapest place costs at least its drop penalty stays out.

    Parameters
    ----------
    data
        The problem (as :func:`solver.greedy.greedy_routes` reads it), and its overtime
        bands and price: per vehicle, its overtime bands on the clock (``[a, b)``), and the
        price of an hour of travel or service in them (:func:`solver.timing.visit_overtime_s`),
        part of every route's cost in the ruin and recreate, and of an order's own insertion
        cost.
    visit_s, boundaries
        Visit lengths and boundaries of the model's time rewrite (solver/timemodel.py).
    max_exact
        Most (vehicle, position) pairs simulated exactly per order.
    on_time_first
        Two passes: first insert each order only where it and every later visit stay on
        time (VROOM's hard deadlines), then insert the rest anywhere feasible.
    improve_s
        Seconds from the call to the end of the ruin and recreate after the construction
        (:meth:`Insertion.improve`): the construction and ``on_built`` take their time from
        it, so a caller's time budget holds (1,000 orders take ~0.4 s to construct; counted
        from after it, a 10-s plan would run its moves into the time kept for restoring
        their result).
    seed
        Seed of the ruin and recreate's random choices.
    improve_moves
        Most ruin-and-recreate moves (None: until ``improve_s`` runs out); with a seed, a
        move count that ends before the time does gives the same routes every run.
    on_built
        Called with the constructed routes before the ruin and recreate starts (a caller
        can make a plan of them at once).
    should_stop
        Asked before each ruin-and-recreate move; True ends it with the routes so far.
    initial_routes
        Routes to improve instead of constructing (order nodes per vehicle); a route this
        module's timing cannot place (its visit lengths are stricter than OR-Tools' check)
        stays as it is, out of the moves.
    around_overtime
        Start every ruin-and-recreate move from an order served with overtime in the given
        or constructed routes (none: no moves).
    on_improved
        Called during the ruin and recreate with the best routes as they improve (``on_best``
        of :meth:`Insertion.improve`).
    cycle_moves
        Anneal in cycles of this many moves (doubling) rather than over the time: the same
        moves whatever the limit (:func:`solver.fastrr.improve`). 0: one anneal over the time.
    insert
        With ``initial_routes``: orders to insert into them (on-time places first) before the
        ruin and recreate, e.g. the visits a repair took out.
    population
        Individuals of the population search (:mod:`solver.population`) that runs the
        compiled ruin and recreate instead of one anneal; 0: none (``Insertion.population``).
    sisr
        The compiled moves with SISR's split strings and blinks, strings up to half the mean
        route (``Insertion.sisr``).
    cap_penalty
        The population's adaptive capacity penalties (:mod:`solver.penalty`).
    deadline
        ``perf_counter()`` from which the rest is placed compiled (:mod:`solver.bounded`).

    Returns
    -------
    list[list[int]]
        Per vehicle, the order nodes in visiting order; orders no vehicle could take are
        absent.
    """
    called = time.perf_counter()
    ins = Insertion(data, visit_s, boundaries, max_exact)
    if initial_routes is not None:
        if not ins.take(initial_routes, freeze=True):
            return [list(r) for r in initial_routes]
        if insert:
            ins.place(insert, on_time_first)
    else:
        construct(ins, on_time_first, deadline)
    if on_built is not None:
        on_built([r[:] for r in ins.routes])
    left_s = moves_left(improve_s - (time.perf_counter() - called), deadline, len(ins.orders))
    ins.population, ins.sisr, ins.cap_penalty = population, sisr, cap_penalty
    if left_s > 0:
        seeds = ins.overtime_visits() if around_overtime else None
        ins.improve(
            left_s, seed, on_time_first, improve_moves, should_stop, seeds=seeds,
            on_best=on_improved, cycle_moves=cycle_moves,
        )  # fmt: skip
    return ins.routes


class Insertion:
    """Routes under construction with their exact service starts (see
    :func:`insertion_routes`), and the moves on them: insert, remove, ruin and recreate."""

    def __init__(
        self,
        data: RoutingInput,
        visit_s: np.ndarray | None = None,
        boundaries: Sequence[int] = (),
        max_exact: int = 40,
    ) -> None:
        travel_s, arc_cost, service_s = data.travel_s, data.arc_cost, data.service_s
        starts, ends, start_min_s = data.starts, data.ends, data.start_min_s
        horizon_s, windows, breaks = data.horizon_s, data.windows, data.breaks
        drop_penalty, deadline_s = data.drop_penalty, data.deadline_s
        vehicle_node_cost, demand, capacity = data.vehicle_node_cost, data.demand, data.capacity
        breach_cost, overtime_bands = data.breach_cost, data.overtime_bands
        overtime_per_hour = data.overtime_cost_per_hour
        n_v = len(starts)
        n = int(travel_s.shape[0])
        self.n_v = n_v
        self.travel_s, self.arc_cost, self.service_s = travel_s, arc_cost, service_s
        self.starts, self.ends = list(starts), list(ends)
        self.start_min_s = [int(x) for x in start_min_s]
        self.horizon_s = int(horizon_s)
        self.allowed_vehicles = data.allowed_vehicles
        self.drop_penalty = drop_penalty
        self.late_cost_per_s = data.late_cost_per_s
        self.vehicle_node_cost = vehicle_node_cost
        self.demand = demand
        self.max_exact = max_exact
        depots = set(starts) | set(ends)
        self.big = big = np.iinfo(np.int64).max // 4
        self.dl = dl = np.where(deadline_s == NO_DEADLINE, big, deadline_s)
        self.orders = [i for i in range(n) if i not in depots]
        self.orders.sort(key=lambda i: (int(dl[i]), -int(drop_penalty[i]), i))
        self.visit = visit_rows(service_s if visit_s is None else visit_s, n_v)
        self.svc: list[int] = [int(x) for x in service_s]
        self.dl_list: list[int] = [int(x) for x in dl]
        self.bounds = sorted(int(t) for t in boundaries)
        self.bounds_arr = np.asarray(self.bounds, dtype=np.int64)
        self.rests = vehicle_rests(breaks, boundaries, start_min_s)
        self.wins_of = [sorted(windows[i]) if windows[i] else [(0, horizon_s)] for i in range(n)]
        self.last_end = [max(b for _, b in w) for w in self.wins_of]  # latest allowed start
        self.cap = (
            None if capacity is None or demand is None else np.asarray(capacity, dtype=np.int64)
        )
        self.load = np.zeros(n_v, dtype=np.int64)
        self.breach = np.zeros(n, dtype=np.int64) if breach_cost is None else breach_cost
        self.routes: list[list[int]] = [[] for _ in range(n_v)]
        self.times: list[list[int]] = [[] for _ in range(n_v)]  # service starts per position
        self.all_v = np.arange(n_v)
        self.journal: dict[int, tuple[list[int], list[int], int]] | None = None
        self._table: list[np.ndarray | None] = [None] * n_v
        self.frozen: set[int] = set()  # vehicles whose given routes this timing cannot place
        # Overtime is priced here, exactly, though OR-Tools' search cannot price it (decision #18).
        self.ot_per_hour = int(overtime_per_hour)
        bands = list(overtime_bands) + [[]] * (n_v - len(overtime_bands))
        self.bands = [Bands(b) if b and self.ot_per_hour else None for b in bands]
        self.size = np.zeros(n_v, dtype=np.int64)  # visits per route
        self._band_lists = bands
        self.kind, self.kinds = self._vehicle_kinds()
        self.population, self.sisr, self.cap_penalty = 0, False, False  # insertion_routes sets
        self._kinds_but: tuple[int, np.ndarray] | None = None  # set_order: kinds but a column
        # During the ruin and recreate (granular insertion): each order's nearest orders
        # and the route of every node; an insertion first tries only the routes of the
        # order's neighbours (and the empty vehicles), then every route if none will do.
        self.near: np.ndarray | None = None
        self.route_of: np.ndarray | None = None

    def _vehicle_kinds(self) -> tuple[np.ndarray, int]:
        """Each vehicle's kind and the number of kinds. Empty vehicles of one kind (same
        start, end, shift start, rests, capacity, bands and vehicle-node costs) offer the same
        places: an insertion tries one of them."""
        kinds: dict[tuple[object, ...], int] = {}
        vnc, bands = self.vehicle_node_cost, self._band_lists
        kind = np.asarray(
            [
                kinds.setdefault(
                    (
                        self.starts[v],
                        self.ends[v],
                        self.start_min_s[v],
                        tuple(self.rests[v]),
                        None if self.cap is None else int(self.cap[v]),
                        tuple(bands[v]) if self.ot_per_hour else (),
                        None if vnc is None else vnc[v].tobytes(),
                    ),
                    len(kinds),
                )
                for v in range(self.n_v)
            ],
            dtype=np.int64,
        )
        return kind, len(kinds)

    def set_order(
        self,
        j: int,
        travel_to: np.ndarray,
        travel_from: np.ndarray,
        arc_to: np.ndarray,
        arc_from: np.ndarray,
        service_s: int,
        windows: Sequence[tuple[int, int]],
        visit_s: Sequence[int],
        deadline_s: int,
        late_cost_per_s: int,
        breach_cost: int,
        drop_penalty: int,
        allowed: Sequence[int] | None,
        vehicle_cost: np.ndarray | None,
    ) -> None:
        """Give order node ``j``, on no route, new data: its travel and arc costs to and from
        every node (``[n]``), service, allowed starts (the model's, after the time rewrite),
        visit length per vehicle (``[vehicles]``), deadline (``NO_DEADLINE`` for none),
        lateness and breach costs, drop penalty, allowed vehicles (None: all) and cost per
        vehicle (``[vehicles]`` or None). The arrays this object was built on are written:
        a caller that shares them shares the change (:mod:`solver.quote` uses one slot node
        for every order it quotes)."""
        assert all(j not in r for r in self.routes), "the node must be on no route"
        self.travel_s[:, j], self.travel_s[j, :] = travel_to, travel_from
        self.arc_cost[:, j], self.arc_cost[j, :] = arc_to, arc_from
        self.travel_s[j, j] = self.arc_cost[j, j] = 0
        self.service_s[j] = service_s
        self.svc[j] = int(service_s)
        self.wins_of[j] = sorted(windows) if windows else [(0, self.horizon_s)]
        self.last_end[j] = max(b for _, b in self.wins_of[j])
        for v in range(self.n_v):
            self.visit[v][j] = int(visit_s[v])
        dl = self.big if deadline_s == NO_DEADLINE else int(deadline_s)
        self.dl[j] = dl
        self.dl_list[j] = dl
        self.late_cost_per_s[j] = late_cost_per_s
        self.breach[j] = breach_cost
        self.drop_penalty[j] = drop_penalty
        self.allowed_vehicles[j] = None if allowed is None else [int(v) for v in allowed]  # type: ignore[index]
        if vehicle_cost is not None and self.vehicle_node_cost is None and vehicle_cost.any():
            self.vehicle_node_cost = np.zeros((self.n_v, len(self.svc)), dtype=np.int64)
        if self.vehicle_node_cost is not None:
            vnc = self.vehicle_node_cost
            if self._kinds_but is None or self._kinds_but[0] != j:
                # The kinds by everything but column j, once: j's column then refines them.
                column = vnc[:, j].copy()
                vnc[:, j] = 0
                self._kinds_but = (j, self._vehicle_kinds()[0])
                vnc[:, j] = column
            vnc[:, j] = 0 if vehicle_cost is None else vehicle_cost
            kinds: dict[tuple[int, int], int] = {}
            self.kind = np.asarray(
                [
                    kinds.setdefault((int(k), int(c)), len(kinds))
                    for k, c in zip(self._kinds_but[1].tolist(), vnc[:, j].tolist(), strict=True)
                ],
                dtype=np.int64,
            )
            self.kinds = len(kinds)
        if self.demand is not None:
            self.demand[j] = 0

    def _positions(self, v: int) -> np.ndarray:
        """Insertion positions of route ``v`` as rows: vehicle, previous node, next node,
        the previous visit's finish, position, and the latest arrival at the next node
        that keeps the rest of the route feasible (cached until the route changes).

        The latest arrival is computed backwards from the way home (back by the horizon):
        the latest departure from a visit that still arrives at the next one by its latest
        arrival, the vehicle's rests pausing the travel (:func:`latest_departure`), less
        the visit's service, moved back to the latest start its windows and rests allow
        (:meth:`_latest_start`). An arrival by that time finds a start no later, so the rest
        of the route stays feasible; boundary pauses of a vehicle without rests are left
        out, which only makes the bound later. A place that misses it is infeasible; one
        that meets it is simulated exactly (the new visit's own rests are not in the bound).
        """
        table = self._table[v]
        if table is None:
            route, st = self.routes[v], self.times[v]
            size = len(route) + 1
            table = np.empty((6, size), dtype=np.int64)
            table[0] = v
            table[1, 0], table[1, 1:] = self.starts[v], route
            table[2, :-1], table[2, -1] = route, self.ends[v]
            table[3, 0] = self.start_min_s[v]
            if route:
                table[3, 1:] = np.asarray(st, dtype=np.int64) + self.service_s[route]
            table[4] = np.arange(size)
            latest = self.horizon_s  # arrival at the end
            table[5, -1] = latest
            nxt, svc, travel, rests = self.ends[v], self.svc, self.travel_s, self.rests[v]
            for k in range(len(route) - 1, -1, -1):
                node = route[k]
                leave = latest_departure(latest, int(travel[node, nxt]), rests)
                latest = self._latest_start(v, node, leave - svc[node])
                table[5, k] = latest
                nxt = node
            self._table[v] = table
        return table

    def _latest_start(self, v: int, node: int, by: int) -> int:
        """The latest service start of ``node`` on vehicle ``v`` no later than ``by``: in
        one of its windows, its visit clear of the vehicle's rests, its service done by the
        horizon; ``-big`` if there is none."""
        rests, visit = self.rests[v], self.visit[v][node]
        by = min(by, self.horizon_s - self.svc[node])
        for a, b in reversed(self.wins_of[node]):
            s = min(b, by)
            moved = True
            while moved and s >= a:
                moved = False
                for r, d in reversed(rests):
                    if r - visit < s < r + d:  # the visit would overlap this rest
                        s, moved = r - visit, True
                        break
            if s >= a:
                return s
            by = s
        return -self.big

    # --- timing -----------------------------------------------------------------------

    def cross(self, t: int, travel: int) -> int:
        """Arrival after ``travel`` from ``t`` with a one-second pause at each boundary."""
        arrival = t + travel
        if not self.bounds:
            return arrival
        for _ in range(len(self.bounds) + 1):
            k = int(np.searchsorted(self.bounds_arr, arrival) - np.searchsorted(self.bounds_arr, t))
            nxt = t + travel + k
            if nxt == arrival:
                break
            arrival = nxt
        return arrival

    def start_at(self, v: int, t_free: int, prev: int, node: int) -> int | None:
        """Earliest service start of ``node`` after leaving ``prev`` at ``t_free``."""
        if self.rests[v]:
            arr = pass_breaks(t_free, int(self.travel_s[prev, node]), self.rests[v])
            return earliest_start(
                arr, self.visit[v][node], self.wins_of[node], self.rests[v], self.horizon_s
            )
        arr = self.cross(t_free, int(self.travel_s[prev, node]))
        for a, b in self.wins_of[node]:
            if arr <= b:
                return max(arr, a)
        return None

    def back_at(self, v: int, t_free: int, last: int) -> int:
        if self.rests[v]:
            return pass_breaks(t_free, int(self.travel_s[last, self.ends[v]]), self.rests[v])
        return self.cross(t_free, int(self.travel_s[last, self.ends[v]]))

    def lateness(self, node: int, s: int) -> int:
        if self.dl[node] >= self.big or s <= self.dl[node]:
            return 0
        return (s - int(self.dl[node])) * int(self.late_cost_per_s[node]) + int(self.breach[node])

    def simulate(
        self, v: int, pos: int, j: int, strict: bool = False
    ) -> tuple[int, list[int]] | None:
        """Extra lateness of the later visits and the new starts, or None if infeasible
        (``strict``: also if ``j`` or any later visit would be later than its deadline, or
        more late than it was)."""
        route, st = self.routes[v], self.times[v]
        svc, dl, horizon = self.svc, self.dl_list, self.horizon_s
        prev = self.starts[v] if pos == 0 else route[pos - 1]
        t = self.start_min_s[v] if pos == 0 else st[pos - 1] + svc[prev]
        s = self.start_at(v, t, prev, j)
        if s is None or s + svc[j] > horizon or (strict and s > dl[j]):
            return None
        new = [s]
        extra = 0
        prev, t = j, s + svc[j]
        latest = self._positions(v)[5]
        for k in range(pos, len(route)):
            node = route[k]
            s2 = self.start_at(v, t, prev, node)
            if s2 is None or s2 > latest[k]:  # the rest of the route cannot follow
                return None
            if s2 == st[k]:  # later visits unchanged from here on
                return extra, new + st[k:]
            if s2 > dl[node]:  # later than its deadline (it may have been before)
                more = self.lateness(node, s2) - self.lateness(node, st[k])
                if strict and more > 0:
                    return None
                extra += more
            new.append(s2)
            prev, t = node, s2 + svc[node]
        if self.back_at(v, t, prev) > self.horizon_s:
            return None
        return extra, new

    def retime(self, v: int, route: list[int]) -> list[int] | None:
        """Service starts of ``route`` on vehicle ``v`` from scratch, or None if infeasible."""
        svc = self.service_s
        prev, t = self.starts[v], self.start_min_s[v]
        out: list[int] = []
        for node in route:
            s = self.start_at(v, t, prev, node)
            if s is None or s + int(svc[node]) > self.horizon_s:
                return None
            out.append(s)
            prev, t = node, s + int(svc[node])
        if route and self.back_at(v, t, prev) > self.horizon_s:
            return None
        return out

    # --- moves ------------------------------------------------------------------------

    def insert(self, j: int, strict: bool) -> bool:
        """Insert ``j`` at its cheapest place; ``strict``: only where nothing is late."""
        best = self.best_place(j, strict)
        if best is None:
            return False  # nowhere, or dearer than leaving the order out
        _, v, pos, new = best
        self._touch(v)
        self.routes[v].insert(pos, j)
        self.times[v][pos:] = new
        self._table[v] = None
        self.size[v] += 1
        if self.route_of is not None:
            self.route_of[j] = v
        if self.demand is not None:
            self.load[v] += int(self.demand[j])
        return True

    def best_place(self, j: int, strict: bool) -> tuple[int, int, int, list[int]] | None:
        """Where :meth:`insert` puts ``j`` (nothing changes): its cost, vehicle, position and
        the new service starts from there on; None where :meth:`insert` leaves it out
        (nowhere, or dearer than leaving it out). ``strict``: only where nothing is late."""
        allowed = self.allowed_vehicles[j]
        cand = self.all_v if allowed is None else np.asarray(sorted(allowed), dtype=np.int64)
        if self.frozen:
            cand = cand[~np.isin(cand, list(self.frozen))]
        if self.cap is not None and self.demand is not None:
            cand = cand[self.load[cand] + int(self.demand[j]) <= self.cap[cand]]
        busy = self.size[cand] > 0
        used, empty = cand[busy], cand[~busy]
        if empty.size > 1 and self.kinds == 1:
            empty = empty[:1]
        elif empty.size > 1 and self.kinds < self.n_v:
            empty = empty[np.unique(self.kind[empty], return_index=True)[1]]
        cand = np.concatenate([used, empty])
        best = None
        if self.near is not None and self.route_of is not None and used.size:
            hit = np.zeros(self.n_v + 2, dtype=bool)
            hit[self.route_of[self.near[j]] + 2] = True  # -1 unserved, -2 frozen: no route
            near = used[hit[used + 2]]
            if near.size + empty.size > 0 and near.size < used.size:
                best = self._cheapest(j, np.concatenate([near, empty]), strict)
        if best is None or best[0] >= int(self.drop_penalty[j]):
            best = self._cheapest(j, cand, strict) if cand.size else None
        if best is None or best[0] >= int(self.drop_penalty[j]):
            return None
        return best

    def _bounds(
        self, j: int, cand: np.ndarray, strict: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every (vehicle, position) of the vehicles ``cand`` for ``j``: vehicle, previous
        node, next node, the previous visit's finish, position, and a lower bound on the cost
        of placing ``j`` there (``big`` where the place is infeasible)."""
        arc, dl, big = self.arc_cost, self.dl, self.big
        # Every (vehicle, position): previous node, next node, previous visit's finish.
        table = np.concatenate([self._positions(v) for v in cand.tolist()], axis=1)
        v_a, p_a, n_a, free_a, pos_in_route, latest_a = table
        arrival = free_a + self.travel_s[p_a, j]
        start = np.full(arrival.size, -1, dtype=np.int64)
        pending = np.ones(arrival.size, dtype=bool)
        for a, b in self.wins_of[j]:
            ok = pending & (arrival <= b)
            start[ok] = np.maximum(arrival[ok], a)
            pending &= ~ok
        bound = (arc[p_a, j] + arc[j, n_a] - arc[p_a, n_a]).astype(np.int64)
        if dl[j] < big:
            late = np.maximum(0, start - dl[j])
            bound = (
                bound + late * int(self.late_cost_per_s[j]) + np.where(late > 0, self.breach[j], 0)
            )
        if self.vehicle_node_cost is not None:
            bound = bound + self.vehicle_node_cost[v_a, j]
        # The next visit (or the way home) reached by its latest arrival (see _positions).
        usable = (start >= 0) & (start + self.svc[j] + self.travel_s[j, n_a] <= latest_a)
        if strict:
            usable &= start <= dl[j]
        bound = np.where(usable, bound, big)
        return v_a, p_a, n_a, free_a, pos_in_route, bound

    def _exact(
        self, j: int, v: int, prev: int, nxt: int, t_free: int, new: list[int], extra: int
    ) -> int:
        """The cost of ``j`` between ``prev`` and ``nxt`` on vehicle ``v`` (leaving ``prev``
        at ``t_free``), simulated: starts ``new`` from ``j`` on, the later visits' ``extra``
        lateness."""
        arc = self.arc_cost
        exact = int(arc[prev, j] + arc[j, nxt] - arc[prev, nxt])
        exact += self.lateness(j, new[0]) + extra
        if self.vehicle_node_cost is not None:
            exact += int(self.vehicle_node_cost[v, j])
        bands = self.bands[v]
        if bands is not None:  # the order's own overtime (its travel in and its service)
            s = new[0]
            arr = pass_breaks(t_free, int(self.travel_s[prev, j]), self.rests[v])
            ot = bands.within(t_free, min(arr, s)) + bands.within(s, s + self.svc[j])
            exact += ot * self.ot_per_hour // 3600
        return exact

    def _cheapest(
        self, j: int, cand: np.ndarray, strict: bool
    ) -> tuple[int, int, int, list[int]] | None:
        """The cheapest place of ``j`` on the vehicles ``cand``: cost, vehicle, position and
        the new service starts from there on; None if there is none."""
        big = self.big
        v_a, p_a, n_a, free_a, pos_in_route, bound = self._bounds(j, cand, strict)
        order = np.argsort(bound, kind="stable")[: self.max_exact]
        best: tuple[int, int, int, list[int]] | None = None
        for k in order.tolist():
            if bound[k] >= big or (best is not None and bound[k] >= best[0]):
                break
            v, pos = int(v_a[k]), int(pos_in_route[k])
            sim = self.simulate(v, pos, j, strict)
            if sim is None:
                continue
            extra, new = sim
            exact = self._exact(j, v, int(p_a[k]), int(n_a[k]), int(free_a[k]), new, extra)
            if best is None or exact < best[0]:
                best = (exact, v, pos, new)
        return best

    def cheapest_per_vehicle(
        self, j: int, strict: bool, wanted: int | None = None, skip: Sequence[int] = ()
    ) -> list[tuple[int, int, int, list[int]]]:
        """Each vehicle's cheapest place of ``j`` (nothing changes), as :meth:`place_on` finds
        it, cheapest first (then by vehicle): cost, vehicle, position, new starts; vehicles
        ``skip`` left out. With ``wanted``, the search stops once no other vehicle can come
        before the ``wanted`` cheapest found (those are then the first ``wanted`` answers)."""
        allowed = self.allowed_vehicles[j]
        cand = self.all_v if allowed is None else np.asarray(sorted(allowed), dtype=np.int64)
        out_of = set(self.frozen) | {int(v) for v in skip}
        if out_of:
            cand = cand[~np.isin(cand, sorted(out_of))]
        if self.cap is not None and self.demand is not None:
            cand = cand[self.load[cand] + int(self.demand[j]) <= self.cap[cand]]
        if not cand.size:
            return []
        big = self.big
        v_a, p_a, n_a, free_a, pos_in_route, bound = self._bounds(j, cand, strict)
        best: dict[int, tuple[int, int, int, list[int]]] = {}
        costs: list[int] = []  # the best cost of each vehicle found, sorted
        for k in np.argsort(bound, kind="stable").tolist():
            b = int(bound[k])
            if b >= big:
                break
            if wanted is not None and len(costs) >= wanted and b > costs[wanted - 1]:
                break
            v, pos = int(v_a[k]), int(pos_in_route[k])
            if v in best and b >= best[v][0]:
                continue
            sim = self.simulate(v, pos, j, strict)
            if sim is None:
                continue
            extra, new = sim
            exact = self._exact(j, v, int(p_a[k]), int(n_a[k]), int(free_a[k]), new, extra)
            if v not in best or exact < best[v][0]:
                if v in best:
                    costs.remove(best[v][0])
                best[v] = (exact, v, pos, new)
                costs.append(exact)
                costs.sort()
        return sorted(best.values(), key=lambda x: (x[0], x[1]))

    def _touch(self, v: int) -> None:
        """Keep route ``v`` as it was before the first change of the current move."""
        if self.journal is not None and v not in self.journal:
            self.journal[v] = (self.routes[v][:], self.times[v][:], int(self.load[v]))

    def remove(self, v: int, nodes: Sequence[int]) -> bool:
        """Take ``nodes`` out of route ``v`` and re-time the route; False (and no change) if
        the route would break without them (the travel times need not obey the triangle
        inequality)."""
        out = set(nodes)
        route = [x for x in self.routes[v] if x not in out]
        st = self.retime(v, route)
        if st is None:
            return False
        self._touch(v)
        self.routes[v], self.times[v] = route, st
        self._table[v] = None
        self.size[v] = len(route)
        if self.route_of is not None:
            self.route_of[list(out)] = -1
        if self.demand is not None:
            self.load[v] -= int(self.demand[list(out)].sum())
        return True

    def take(self, routes: Sequence[Sequence[int]], freeze: bool = False) -> bool:
        """Take ``routes`` as the current ones; False (nothing taken) if one cannot be timed,
        unless ``freeze``: then such a route is kept as it is, out of every move (its
        vehicle takes no order, its orders stay; :meth:`route_cost` counts it as 0)."""
        times = [self.retime(v, [int(j) for j in r]) for v, r in enumerate(routes)]
        if len(routes) != self.n_v or (not freeze and any(t is None for t in times)):
            return False
        self.frozen = {v for v, t in enumerate(times) if t is None}
        self.routes = [[int(j) for j in r] for r in routes]
        self.times = [[] if t is None else t for t in times]
        if self.demand is not None:
            self.load = np.asarray(
                [int(self.demand[r].sum()) if r else 0 for r in self.routes], dtype=np.int64
            )
        self._table = [None] * self.n_v
        self.size = np.asarray([len(r) for r in self.routes], dtype=np.int64)
        return True

    def place(
        self, nodes: Sequence[int], on_time_first: bool, until: float | None = None
    ) -> list[int]:
        """Insert ``nodes`` in this order: on-time places first, then any place. ``until``
        (a ``time.perf_counter()`` value): no order is tried from then on. Returns the
        orders not tried (in ``nodes`` order)."""
        left: list[int] = []
        for k, j in enumerate(nodes):
            if until is not None and time.perf_counter() >= until:
                return [*nodes[k:], *left]
            if not (on_time_first and self.insert(j, True)):
                left.append(j)
        if not on_time_first:
            return []
        for k, j in enumerate(left):
            if until is not None and time.perf_counter() >= until:
                return left[k:]
            self.insert(j, False)
        return []

    def route_cost(self, v: int) -> int:
        """Arc costs (the way home included), lateness, vehicle-node and overtime costs of
        route ``v``."""
        route, st = self.routes[v], self.times[v]
        if not route or v in self.frozen:
            return 0
        path = [self.starts[v], *route, self.ends[v]]
        cost = int(self.arc_cost[path[:-1], path[1:]].sum())
        cost += sum(self.lateness(j, s) for j, s in zip(route, st, strict=True))
        if self.vehicle_node_cost is not None:
            cost += int(self.vehicle_node_cost[v, route].sum())
        return cost + sum(self._overtime(v)) * self.ot_per_hour // 3600

    def _overtime(self, v: int) -> list[int]:
        """Overtime seconds of each visit of route ``v`` (none without bands)."""
        bands = self.bands[v]
        if bands is None or v in self.frozen:
            return []
        return visit_overtime_s(
            self.routes[v],
            self.times[v],
            self.starts[v],
            self.start_min_s[v],
            self.travel_s,
            self.service_s,
            self.rests[v],
            bands,
        )

    def overtime_visits(self) -> list[int]:
        """The orders served with some overtime."""
        return [
            j
            for v in range(self.n_v)
            for j, ot in zip(self.routes[v], self._overtime(v), strict=False)
            if ot > 0
        ]

    def improve(
        self,
        seconds: float,
        seed: int,
        on_time_first: bool,
        max_moves: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        anneal: bool = True,
        seeds: Sequence[int] | None = None,
        on_best: Callable[[list[list[int]]], None] | None = None,
        cycle_moves: int = 0,
    ) -> int:
        """Ruin and recreate for ``seconds`` (or ``max_moves`` moves, whichever ends first);
        returns the number of moves tried. ``on_best``: called with the best routes as they
        improve, at most every 0.25 s (the compiled moves only, :func:`solver.fastrr.improve`;
        the Python moves report nothing). ``cycle_moves`` > 0: the compiled moves anneal in
        cycles of a fixed number of moves instead of over the time (see
        :func:`solver.fastrr.improve`); the Python moves ignore it.

        A move takes a random order and the served orders among its 4-20 nearest
        neighbours (by travel time both ways) out of their routes, then puts them and the
        unserved ones among those neighbours back with :meth:`place`, the dearest to leave
        out (the drop penalty, so the priority) first, and within one penalty in a random
        order (:data:`RANDOM_ORDER_SHARE` of the moves) or in deadline order with up to 1/24 of
        the horizon of noise (4 hours on a 4-day plan). The cost is the
        model's objective (arc costs, lateness and breaches, vehicle-node costs, drop
        penalties) plus overtime (:meth:`route_cost`). A cheaper result is kept; a dearer one by ``delta`` is kept with
        probability ``exp(-delta / T)`` when ``anneal`` (simulated annealing, ``T`` from
        :data:`ANNEAL_START` to :data:`ANNEAL_END` times the mean arc cost, geometrically
        over the time or the moves), so only travel-sized detours are ever accepted, never a
        drop or a breach. The best routes seen are the result. ``seeds``: the orders a move
        starts from (default: any). Insertions during the moves are granular: first among the
        routes of the order's nearest neighbours and the empty vehicles, then, only if
        nothing there beats leaving the order out, among all routes.
        """
        stop_at = time.perf_counter() + seconds  # the neighbour lists count against it too
        rng = np.random.default_rng(seed)
        orders = np.asarray(self.orders, dtype=np.int64)
        pick = orders if seeds is None else np.asarray(seeds, dtype=np.int64)
        if orders.size == 0 or pick.size == 0 or seconds <= 0:
            return 0
        near_k = int(min(orders.size - 1, 40))
        neighbours = nearest_orders(self.travel_s, orders, near_k)
        row = np.full(int(self.travel_s.shape[0]), -1, dtype=np.int64)
        row[orders] = np.arange(orders.size)
        route_of = np.full(row.size, -1, dtype=np.int64)
        for v, r in enumerate(self.routes):
            route_of[r] = -2 if v in self.frozen else v  # -1: unserved, -2: on a frozen route
        if self.compiled():
            return self._improve_compiled(
                stop_at, seed, on_time_first, max_moves, should_stop, anneal, neighbours, row, pick,
                on_best, cycle_moves,
            )  # fmt: skip
        self.near = np.zeros((row.size, near_k + 1), dtype=np.int64)
        self.near[orders] = neighbours
        self.route_of = route_of  # kept up to date by insert and remove from here on
        costs = [self.route_cost(v) for v in range(self.n_v)]
        dl, drop = np.minimum(self.dl, self.big - 1), self.drop_penalty
        total = sum(costs) + sum(int(drop[j]) for j in self.orders if route_of[j] == -1)
        best_total, best = total, self._snapshot()
        t_hot = self._t_hot()
        noise_s = max(1, self.horizon_s // 24)
        moves = 0
        t0 = time.perf_counter()
        stop = t0 + seconds
        while (now := time.perf_counter()) < stop and (max_moves is None or moves < max_moves):
            if should_stop is not None and should_stop():
                break
            moves += 1
            progress = (now - t0) / seconds if max_moves is None else moves / max_moves
            temperature = t_hot * (ANNEAL_END / ANNEAL_START) ** progress
            size = int(rng.integers(4, max(5, near_k // 2 + 1)))
            near = neighbours[row[int(pick[rng.integers(pick.size)])]]
            around = near[: size + 1]
            self.journal = {}
            removed = [int(j) for j in around if route_of[j] == -1]
            was_out = len(removed)
            if rng.random() < STRING_SHARE:
                # Strings: from each route of the nearest served orders, in turn, a run of
                # consecutive visits through that order, until ``size`` are out.
                for j in near.tolist():
                    v = int(route_of[j])
                    if len(removed) - was_out >= size:
                        break
                    if v < 0 or v in self.journal:
                        continue
                    r = self.routes[v]
                    k = r.index(j)
                    length = int(rng.integers(1, min(len(r), MAX_STRING) + 1))
                    a = max(0, min(k - int(rng.integers(0, length)), len(r) - length))
                    if self.remove(v, r[a : a + length]):
                        removed.extend(r[a : a + length])
            else:
                for j in around.tolist():
                    v = int(route_of[j])
                    if v >= 0 and self.remove(v, [j]):
                        removed.append(j)
            if rng.random() < RANDOM_ORDER_SHARE:
                keys = rng.permutation(len(removed))
            else:
                keys = dl[removed] + rng.integers(0, noise_s, size=len(removed))
            order = np.lexsort((keys, -drop[removed]))  # the dearest to leave out first
            self.place([removed[k] for k in order], on_time_first)
            touched, self.journal = self.journal, None
            new_costs = {v: self.route_cost(v) for v in touched}
            back = set()
            for v in touched:
                back.update(self.routes[v])
            delta = sum(new_costs[v] - costs[v] for v in touched)
            delta += sum(int(drop[j]) for j in removed[was_out:] if j not in back)
            delta -= sum(int(drop[j]) for j in removed[:was_out] if j in back)
            if delta > 0 and (not anneal or delta >= -temperature * np.log(rng.random())):
                for v in touched:
                    route_of[self.routes[v]] = -1
                for v, (r, st, load) in touched.items():
                    self.routes[v], self.times[v] = r, st
                    self._table[v] = None
                    self.load[v] = load
                    self.size[v] = len(r)
                    route_of[r] = v
                continue
            for r, _, _ in touched.values():
                route_of[r] = -1
            for v in touched:
                route_of[self.routes[v]] = v
                costs[v] = new_costs[v]
            total += delta
            if total < best_total:
                best_total, best = total, self._snapshot()
        if best_total < total:
            self._restore(best)
        self.near = self.route_of = None
        return moves

    def _t_hot(self) -> float:
        """The annealing's starting temperature: :data:`ANNEAL_START` mean arcs."""
        arcs = [
            int(self.arc_cost[a, b])
            for v, r in enumerate(self.routes)
            if r
            for a, b in zip([self.starts[v], *r], [*r, self.ends[v]], strict=True)
        ]
        return ANNEAL_START * (float(np.mean(arcs)) if arcs else 1.0)

    def compiled(self) -> bool:
        """:mod:`solver.fastrr` runs the ruin and recreate (numba importable, no frozen
        route)."""
        return fastrr.AVAILABLE and not self.frozen

    def problem(self) -> fastrr.Problem:
        """This problem as :class:`solver.fastrr.Problem`."""
        return fastrr.problem(
            self.travel_s,
            self.arc_cost,
            self.service_s,
            self.wins_of,
            self.horizon_s,
            self.starts,
            self.ends,
            self.start_min_s,
            self.cap,
            self.demand,
            rests=self.rests,
            visit=self.visit,
            boundaries=self.bounds,
            deadline=self.dl,
            late_cost=self.late_cost_per_s,
            breach=self.breach,
            vehicle_node_cost=self.vehicle_node_cost,
            allowed=self.allowed_vehicles,
            bands=[
                [] if b is None else list(zip(b.starts, b.ends, strict=True)) for b in self.bands
            ],
            overtime_per_hour=self.ot_per_hour,
        )

    def _improve_compiled(
        self,
        stop_at: float,
        seed: int,
        on_time_first: bool,
        max_moves: int | None,
        should_stop: Callable[[], bool] | None,
        anneal: bool,
        neighbours: np.ndarray,
        row: np.ndarray,
        pick: np.ndarray,
        on_best: Callable[[list[list[int]]], None] | None = None,
        cycle_moves: int = 0,
    ) -> int:
        """:meth:`improve` by :func:`solver.fastrr.improve` (the same moves, compiled), or by
        :func:`solver.population.evolve` around them (``population`` individuals, one anneal
        over the time only)."""
        t_hot = self._t_hot()
        evolve = self.population > 0 and anneal and cycle_moves == 0
        way: dict[str, Any] = {"anneal": anneal, "cycle_moves": cycle_moves}
        if evolve:
            way = {"size": self.population, "cap_penalty": self.cap_penalty}
        routes, moves = (evolve_population if evolve else fastrr.improve)(
            self.problem(),
            self.drop_penalty,
            self.kind,
            neighbours,
            row,
            pick,
            self.routes,
            max(0.0, stop_at - time.perf_counter()),
            seed,
            max_moves,
            should_stop,
            t_hot=t_hot,
            t_ratio=ANNEAL_END / ANNEAL_START,
            max_string=self._max_string(),
            string_share=STRING_SHARE,
            split_share=SPLIT_SHARE if self.sisr else 0.0,
            blink=BLINK if self.sisr else 0.0,
            random_share=RANDOM_ORDER_SHARE,
            noise=max(1, self.horizon_s // 24),
            on_time_first=on_time_first and bool((self.dl < self.big).any()),
            max_exact=self.max_exact,
            on_best=on_best,
            orders=np.asarray(self.orders, dtype=np.int64),
            **way,
        )
        times = [self.retime(v, r) for v, r in enumerate(routes)]
        if any(t is None for t in times):  # the kernel keeps every route feasible: a bug
            warnings.warn(
                "the compiled ruin and recreate returned a route the exact timing rejects; "
                "its result is not used",
                RuntimeWarning,
                stacklevel=2,
            )
            return moves
        self.routes = routes
        self.times = [t for t in times if t is not None]
        self.size = np.asarray([len(r) for r in routes], dtype=np.int64)
        self._table = [None] * self.n_v
        if self.demand is not None:
            self.load = np.asarray(
                [int(self.demand[r].sum()) if r else 0 for r in routes], dtype=np.int64
            )
        return moves

    def _max_string(self) -> int:
        """Longest string of the compiled moves: :data:`MAX_STRING`, with ``sisr`` up to half
        the mean length of the used routes (R2/RC2's long routes)."""
        used = [len(r) for r in self.routes if r]
        if not self.sisr or not used:
            return MAX_STRING
        return max(MAX_STRING, sum(used) // (2 * len(used)))

    def _snapshot(self) -> tuple[list[list[int]], list[list[int]], np.ndarray]:
        return [r[:] for r in self.routes], [t[:] for t in self.times], self.load.copy()

    def _restore(self, snap: tuple[list[list[int]], list[list[int]], np.ndarray]) -> None:
        routes, times, load = snap
        self.routes, self.times, self.load = [r[:] for r in routes], [t[:] for t in times], load
        self._table = [None] * self.n_v
        self.size = np.asarray([len(r) for r in self.routes], dtype=np.int64)
