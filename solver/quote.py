"""Where one more order would go in fixed routes: the final fill's choice, without OR-Tools.

An incremental re-plan whose only change is new orders keeps the given routes
(``SearchParams.given_only``): :func:`solver.search.solve_one` times and repairs them
(:class:`solver.timing.ExactTiming`), then its final fill (``solver.search._fill``) inserts every
order they leave out, by deadline, on-time places first (:class:`solver.insertion.Insertion`).
:class:`FixedRoutes` does the same work once for the routes without the new order, over the
same inputs the model would give the fill — late twins (:func:`solver.twins.with_late_twins`)
and the time rewrite (:func:`solver.timemodel.rewrite`) computed as :func:`solver.model.build`
computes them, but no OR-Tools model built — with one spare order node, the *slot*. A quote
(:meth:`FixedRoutes.quote`) writes the new order into the slot (its travel row and column, its
windows after the rewrite, its costs) and asks the fill's own insertion where it goes, and
where on each vehicle (cheapest place per vehicle).

The fill tries the orders the routes leave out in one sequence, so the new order's place can
depend on an order left out before it that the fill now places: :class:`FixedRoutes` replays
the fill of those orders once and keeps the routes after each one it places (none, usually:
the published plan's own fill already failed to place them), and a quote starts from the
routes the fill would have reached at the new order's turn.

The time rewrite turns holes before common boundaries into breaks for every node at once; an
order whose windows would change that set of boundaries (it straddles one, or brings a new
one) changes every node's rules: the quote then rebuilds everything for it (slow, rare).

This module imports nothing from ``dispatcher`` or ``api``, and nothing of OR-Tools.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from solver.insertion import Insertion, insertion_routes
from solver.problem import NO_DEADLINE, RoutingInput
from solver.timemodel import (
    BOUNDARY_BREAK_S,
    MAX_LOSS_S,
    TimeModel,
    _measure,
    _minus,
    _straddle_free,
    rewrite,
)
from solver.timing import ExactTiming
from solver.twins import Twins, with_late_twins

MAX_EXACT = 40  # pairs simulated exactly per insertion, as in the final fill


@dataclass(frozen=True)
class NewOrder:
    """The order to quote, as solver arrays (what the compiled problem would hold for it).

    Attributes
    ----------
    travel_to, travel_from
        ``[n]`` travel seconds from every node of the routes' input to the order, and from
        the order to every node.
    arc_to, arc_from
        ``[n]`` arc costs the same way.
    service_s
        Seconds on site.
    windows
        Allowed service starts (inclusive intervals; empty: any time by the horizon).
    allowed
        Vehicles that may serve it, None for all.
    drop_penalty, deadline_s, late_cost_per_s, breach_cost
        As in :class:`solver.problem.RoutingInput` (``NO_DEADLINE`` for no deadline).
    vehicle_cost
        ``[vehicles]`` extra cost per vehicle serving it (not preferred), or None.
    """

    travel_to: np.ndarray
    travel_from: np.ndarray
    arc_to: np.ndarray
    arc_from: np.ndarray
    service_s: int
    windows: Sequence[tuple[int, int]]
    allowed: Sequence[int] | None
    drop_penalty: int
    deadline_s: int
    late_cost_per_s: int
    breach_cost: int
    vehicle_cost: np.ndarray | None = None


@dataclass(frozen=True)
class Place:
    """One place of the quoted order: on ``vehicle`` before its visit at ``position``.

    ``cost`` is the insertion's price in the model's currency (arcs, the order's lateness and
    the later visits' extra lateness, vehicle cost, the order's overtime); ``on_time`` says it
    is an on-time place (the order and every later visit by their deadlines, the fill's first
    pass); ``starts_s`` the service starts on the work clock from the order on.
    """

    vehicle: int
    position: int
    cost: int
    on_time: bool
    starts_s: tuple[int, ...]


@dataclass(frozen=True)
class Quote:
    """The answer of :meth:`FixedRoutes.quote`.

    ``places`` is best first, at most one per vehicle: the fill's own choice first (where the
    re-plan puts the order), then each other vehicle's cheapest place (on-time places before
    late ones, then by cost); empty when the fill would leave the order out. ``routes`` are
    the routes the places refer to (order nodes; the order itself is node ``slot``), and
    ``rebuilt`` says the order changed the time rewrite and everything was built again.
    """

    places: list[Place]
    routes: list[list[int]]
    slot: int
    rebuilt: bool = False


def with_slot(data: RoutingInput) -> RoutingInput:
    """``data`` with one more order node (the last, ``data.n_nodes``) that no vehicle may
    serve, nothing costs and no window binds: the place :class:`FixedRoutes` writes each quoted
    order into. Matrices and per-node arrays are new copies."""
    n = data.n_nodes

    def grow(a: np.ndarray, fill: int = 0) -> np.ndarray:
        out = np.full(n + 1, fill, dtype=np.int64)
        out[:n] = a
        return out

    def square(a: np.ndarray) -> np.ndarray:
        out = np.zeros((n + 1, n + 1), dtype=np.int64)
        out[:n, :n] = a
        return out

    def opt(a: np.ndarray | None, fill: int = 0) -> np.ndarray | None:
        return None if a is None else grow(a, fill)

    vnc = data.vehicle_node_cost
    return replace(
        data,
        travel_s=square(data.travel_s),
        arc_cost=square(data.arc_cost),
        service_s=grow(data.service_s),
        windows=[*data.windows, []],
        allowed_vehicles=[*data.allowed_vehicles, []],
        drop_penalty=grow(data.drop_penalty),
        deadline_s=grow(data.deadline_s, NO_DEADLINE),
        late_cost_per_s=grow(data.late_cost_per_s),
        vehicle_node_cost=None
        if vnc is None
        else np.concatenate([vnc, np.zeros((vnc.shape[0], 1), dtype=np.int64)], axis=1),
        demand=opt(data.demand),
        breach_cost=opt(data.breach_cost),
        target_s=opt(data.target_s, NO_DEADLINE),
        retime_cost_per_hour=opt(data.retime_cost_per_hour),
    )


def _starts_in_horizon(windows: Sequence[tuple[int, int]], horizon_s: int) -> bool:
    """As :func:`solver.model._starts_in_horizon` (that module imports OR-Tools)."""
    return any(a <= horizon_s and b >= 0 and a <= b for a, b in windows)


@dataclass
class _Rules:
    """The time rules the model would give every node (:func:`solver.model.all_starts`)."""

    tm: TimeModel
    twins: Twins | None
    windows: list[list[tuple[int, int]]]
    visit: np.ndarray  # [vehicles, nodes of the twinned input]


def _rules(data: RoutingInput, holes_as_breaks: bool) -> tuple[RoutingInput, _Rules]:
    """The twinned input and the time rules of :func:`solver.model.build` and
    :func:`solver.model.all_starts`, without building the model."""
    d, twins = with_late_twins(data)
    tm = rewrite(
        d.n_nodes, d.order_nodes(), d.windows, d.service_s, d.breaks, d.n_vehicles,
        d.start_min_s, d.horizon_s, enabled=holes_as_breaks,
    )  # fmt: skip
    horizon = d.horizon_s
    never = [(horizon + 1, horizon + 1)]
    windows = [
        never if hull is not None and not _starts_in_horizon(w, horizon) else list(w)
        for w, hull in zip(tm.windows, tm.hull, strict=True)
    ]
    visit = tm.visit_v.copy() if tm.visit_v is not None else np.tile(tm.visit_s, (d.n_vehicles, 1))
    if twins is not None:
        for on, twin in twins.late.items():
            windows[on] = windows[twin]
            visit[:, on] = visit[:, twin]
    return d, _Rules(tm, twins, windows, visit)


def _construction(d: RoutingInput, rules: _Rules) -> RoutingInput:
    """The input the fill's insertion works on (``solver.search._construction_inputs``), with
    arrays of its own (a quote writes the slot into them)."""
    allowed = list(d.allowed_vehicles)
    deadline = np.asarray(d.deadline_s, dtype=np.int64).copy()
    late_cost = np.asarray(d.late_cost_per_s, dtype=np.int64).copy()
    drop = np.asarray(d.drop_penalty, dtype=np.int64).copy()
    breach = None
    if rules.twins is not None:
        deadline = rules.twins.deadline_s.astype(np.int64).copy()
        breach = np.zeros(d.n_nodes, dtype=np.int64)
        for on, twin in rules.twins.late.items():
            late_cost[on] = late_cost[twin]
            breach[on] = rules.twins.breach_cost[twin]
            allowed[twin] = []
            drop[twin] = 0
    return replace(
        d,
        travel_s=np.array(d.travel_s, dtype=np.int64),
        arc_cost=np.array(d.arc_cost, dtype=np.int64),
        service_s=np.array(d.service_s, dtype=np.int64),
        windows=rules.windows,
        allowed_vehicles=allowed,
        drop_penalty=drop,
        deadline_s=deadline,
        late_cost_per_s=late_cost,
        breaks=d.breaks or [[] for _ in d.starts],
        breach_cost=np.zeros(d.n_nodes, dtype=np.int64) if breach is None else breach,
        vehicle_node_cost=None
        if d.vehicle_node_cost is None
        else np.array(d.vehicle_node_cost, dtype=np.int64),
    )


def node_time_rules(
    windows: Sequence[tuple[int, int]],
    service_s: int,
    boundaries: Sequence[int],
    breaks: Sequence[Sequence[tuple[int, int]]],
    n_vehicles: int,
    horizon_s: int,
) -> tuple[list[tuple[int, int]], list[int]]:
    """One order's allowed starts and visit length per vehicle under the time rewrite with
    ``boundaries`` (the per-node part of :func:`solver.timemodel.rewrite`, and the "never"
    window of :func:`solver.model.all_starts`): what a rewrite of the whole input gives the
    node when it does not change the boundaries."""
    w = sorted((int(a), int(b)) for a, b in windows if a <= b)
    service = int(service_s)
    bset = set(boundaries)
    visit = service
    held: list[tuple[int, int]] = []
    exact: list[tuple[int, int]] = list(w)
    if w:
        span = (w[0][0], w[-1][1])
        gaps = [(b + 1, a2 - 1) for (_, b), (a2, _) in zip(w, w[1:], strict=False) if a2 > b + 1]
        converted = [g for g in gaps if g[1] + 1 in bset]
        kept = [g for g in gaps if g[1] + 1 not in bset]
        length = max([service] + [g[1] + 1 - (g[0] - 1) for g in converted])
        allowed: list[tuple[int, int]] = [span]
        for g in kept:
            allowed = _minus(allowed, g)
        for t in boundaries:
            allowed = _minus(allowed, (t - length + 1, t))
        loss = _measure(w) - _measure(allowed)
        if converted and loss > MAX_LOSS_S + len(boundaries) * BOUNDARY_BREAK_S:
            allowed = [span]
            for g in gaps:
                allowed = _minus(allowed, g)
            for t in boundaries:
                allowed = _minus(allowed, (t - service + 1, t))
        else:
            visit = length
            held = [(g[0] - 1, g[1] + 1) for g in converted]
        exact = allowed
    if boundaries and len(w) <= 1:
        allowed = list(w) if w else [(0, horizon_s)]
        for t in boundaries:
            allowed = _minus(allowed, (t - service + 1, t))
        exact = allowed
    row = [visit] * n_vehicles
    if held:
        lengths: dict[tuple[tuple[int, int], ...], int] = {}  # by rests, as _visit_v shares rows
        for v in range(n_vehicles):
            rests = tuple(
                sorted((int(s), int(d)) for s, d in (breaks[v] if v < len(breaks) else []))
            )
            if not rests:
                continue
            if rests not in lengths:
                need = service
                for b, t in held:
                    cover = next((s for s, d in rests if s <= t <= s + d), None)
                    need = max(need, t - b if cover is None else cover - b)
                lengths[rests] = need
            row[v] = lengths[rests]
    if w and not _starts_in_horizon(exact, horizon_s):
        exact = [(horizon_s + 1, horizon_s + 1)]
    return exact, row


def _gaps_starts(windows: Sequence[tuple[int, int]], service_s: int) -> list[int]:
    """The boundary candidates of one node (:func:`solver.timemodel.rewrite`): the start of
    each window after a gap."""
    if service_s <= 0:
        return []
    w = sorted((int(a), int(b)) for a, b in windows if a <= b)
    return [a2 for (_, b), (a2, _) in zip(w, w[1:], strict=False) if a2 > b + 1]


class FixedRoutes:
    """Routes as the given-only re-plan keeps them, ready to quote one more order.

    Parameters
    ----------
    data
        The input the re-plan solves, with a slot (:func:`with_slot`): node ``slot`` is an
        order on no route.
    routes
        Per vehicle, the given routes (order nodes, no slot).
    slot
        The spare order node (default: the last node).
    holes_as_breaks
        ``SearchParams.holes_as_breaks`` of the re-plan.
    """

    def __init__(
        self,
        data: RoutingInput,
        routes: Sequence[Sequence[int]],
        slot: int | None = None,
        holes_as_breaks: bool = True,
    ) -> None:
        self.data = data
        self.slot = data.n_nodes - 1 if slot is None else slot
        self.holes_as_breaks = holes_as_breaks
        self.given = [[int(j) for j in r] for r in routes]
        d, rules = _rules(data, holes_as_breaks)
        self.boundaries = list(rules.tm.boundaries)
        inputs = _construction(d, rules)
        # Nodes of the twinned input as nodes of ``data``, and what the twins add to the arcs
        # into a node (the breach of an order that cannot be on time): a quoted order's row
        # and column are written in the twinned numbering.
        n = data.n_nodes
        self._source = np.arange(n) if rules.twins is None else rules.twins.source
        self._arc_extra = inputs.arc_cost[0] - np.asarray(data.arc_cost[0], np.int64)[self._source]
        timing = ExactTiming(
            data, rules.windows[: data.n_nodes], rules.tm.breaks[: data.n_vehicles]
        )
        # The given routes as the incumbent takes them: timed, repaired, the visits taken out
        # placed again by the insertion construction (solver.incumbent.Incumbent.offer).
        plan, removed = timing.plan(self.given, "given")
        kept = plan.routes
        if removed:
            again = insertion_routes(
                inputs, rules.visit, rules.tm.boundaries, initial_routes=plan.routes,
                insert=removed,
            )  # fmt: skip
            plan2, more = timing.plan(again, "given")
            if not more and plan2.objective <= plan.objective:
                kept = plan2.routes
        ins = Insertion(inputs, rules.visit, rules.tm.boundaries, MAX_EXACT)
        ins.take(kept, freeze=True)
        self._rank = {j: k for k, j in enumerate(ins.orders)}
        # The fill of the orders the routes leave out, replayed: the routes after each order
        # it places, in the fill's sequence (strict pass, then the rest anywhere).
        served = {j for r in kept for j in r}
        left_out = [
            j for j in data.order_nodes() if j not in served and j != self.slot
        ]  # the re-plan's fill tries these and the new order, in the fill's order
        left_out.sort(key=self._rank.__getitem__)
        self.base = self._state(ins)
        self.strict_marks: list[tuple[int, Insertion]] = []
        self.late_marks: list[tuple[int, Insertion]] = []
        rest: list[int] = []
        for j in left_out:
            if ins.insert(j, True):
                self.strict_marks.append((self._rank[j], self._state(ins)))
            else:
                rest.append(j)
        self.after_strict = self._state(ins) if self.strict_marks else self.base
        for j in rest:
            if ins.insert(j, False):
                self.late_marks.append((self._rank[j], self._state(ins)))
        self._written: dict[int, NewOrder] = {}  # state -> the order its slot holds
        # The full input's per-order facts a new order's boundaries are checked against.
        self._orders = [j for j in data.order_nodes() if j != self.slot]

    @staticmethod
    def _state(ins: Insertion) -> Insertion:
        """A copy of ``ins`` with its own routes (matrices and node data shared)."""
        out = copy.copy(ins)
        out.routes = [r[:] for r in ins.routes]
        out.times = [t[:] for t in ins.times]
        out._table = list(ins._table)
        out.size = ins.size.copy()
        out.load = ins.load.copy()
        return out

    def _key(self, order: NewOrder) -> tuple[int, int]:
        """Where the slot order comes in the fill's sequence: (deadline, -penalty); it comes
        after every order of the input with the same key (the re-plan numbers it last)."""
        big = np.iinfo(np.int64).max // 4
        dl = big if order.deadline_s == NO_DEADLINE else int(order.deadline_s)
        return dl, -int(order.drop_penalty)

    def _before(self, marks: list[tuple[int, Insertion]], key: tuple[int, int]) -> Insertion | None:
        """The state after the last mark whose order comes before ``key`` in the fill."""
        out = None
        ins = self.base
        for rank, state in marks:
            j = ins.orders[rank]
            if (int(ins.dl[j]), -int(ins.drop_penalty[j])) <= key:
                out = state
        return out

    def _boundaries_kept(self, order: NewOrder) -> bool:
        """Whether the time rewrite of the input with ``order`` keeps this input's
        boundaries (then only the order's own rules are new)."""
        d = self.data
        h = d.horizon_s
        own = list(order.windows) or [(0, h)]
        if order.service_s > 0:
            svc = int(order.service_s)
            for t in self.boundaries:
                if any(a < t and b > t - svc for a, b in own):
                    return False  # it straddles a boundary: that boundary goes
        new = [t for t in _gaps_starts(order.windows, order.service_s) if 0 < t < h]
        new = [t for t in new if t not in set(self.boundaries)]
        if not new:
            return True
        full = [list(d.windows[i]) or [(0, h)] for i in range(d.n_nodes)]
        full[self.slot] = own
        service = np.asarray(d.service_s, dtype=np.int64).copy()
        service[self.slot] = order.service_s
        nodes = [*self._orders, self.slot]
        return not any(_straddle_free(t, nodes, full, service) for t in new)

    def _write(self, ins: Insertion, order: NewOrder) -> None:
        """``order`` into the slot of ``ins`` (the fill's inputs: late twins, time rewrite)."""
        if self._written.get(id(ins)) is order:
            return
        self._written[id(ins)] = order
        d = self.data
        h = d.horizon_s
        windows, visit = node_time_rules(
            order.windows, order.service_s, self.boundaries, d.breaks, d.n_vehicles, h
        )
        src = self._source
        arc_to = np.asarray(order.arc_to, dtype=np.int64)[src]
        breach = 0
        if d.breach_cost is not None and order.deadline_s != NO_DEADLINE and order.breach_cost > 0:
            wins = [(int(a), int(b)) for a, b in order.windows] or [(0, h)]
            cut = [(a, min(b, order.deadline_s)) for a, b in wins if a <= order.deadline_s]
            if cut and cut != wins:
                breach = int(order.breach_cost)  # a late twin: the breach on the order
            elif not cut:
                arc_to = arc_to + int(order.breach_cost)  # always late: on the arcs into it
        ins.set_order(
            self.slot,
            np.asarray(order.travel_to, dtype=np.int64)[src],
            np.asarray(order.travel_from, dtype=np.int64)[src],
            arc_to,
            np.asarray(order.arc_from, dtype=np.int64)[src] + self._arc_extra,
            int(order.service_s),
            windows,
            visit,
            int(order.deadline_s),
            int(order.late_cost_per_s),
            breach,
            int(order.drop_penalty),
            order.allowed,
            order.vehicle_cost,
        )

    def with_order(self, order: NewOrder) -> RoutingInput:
        """The input with ``order`` in the slot (new arrays)."""
        d = self.data
        s = self.slot
        travel, arc = d.travel_s.copy(), d.arc_cost.copy()
        travel[:, s], travel[s, :] = order.travel_to, order.travel_from
        arc[:, s], arc[s, :] = order.arc_to, order.arc_from
        travel[s, s] = arc[s, s] = 0

        def put(a: np.ndarray | None, value: int) -> np.ndarray | None:
            if a is None:
                return None
            out = np.array(a, dtype=np.int64)
            out[s] = value
            return out

        vnc = d.vehicle_node_cost
        if order.vehicle_cost is not None and order.vehicle_cost.any():
            vnc = np.zeros((d.n_vehicles, d.n_nodes), dtype=np.int64) if vnc is None else vnc.copy()
            vnc[:, s] = order.vehicle_cost
        windows = list(d.windows)
        windows[s] = list(order.windows)
        allowed = list(d.allowed_vehicles)
        allowed[s] = None if order.allowed is None else list(order.allowed)
        breach = d.breach_cost
        if breach is None and order.breach_cost > 0:
            breach = np.zeros(d.n_nodes, dtype=np.int64)
        return replace(
            d,
            travel_s=travel,
            arc_cost=arc,
            service_s=put(d.service_s, order.service_s),  # type: ignore[arg-type]
            windows=windows,
            allowed_vehicles=allowed,
            drop_penalty=put(d.drop_penalty, order.drop_penalty),  # type: ignore[arg-type]
            deadline_s=put(d.deadline_s, order.deadline_s),  # type: ignore[arg-type]
            late_cost_per_s=put(d.late_cost_per_s, order.late_cost_per_s),  # type: ignore[arg-type]
            breach_cost=put(breach, order.breach_cost),
            vehicle_node_cost=vnc,
        )

    def quote(self, order: NewOrder, limit: int | None = None) -> Quote:
        """Where the fill puts ``order`` and each vehicle's cheapest place (see :class:`Quote`),
        at most ``limit`` places (None: every vehicle's).

        Not thread-safe: the slot is shared; a caller serialises quotes on one object.
        """
        if not self._boundaries_kept(order):
            again = FixedRoutes(self.with_order(order), self.given, self.slot, self.holes_as_breaks)
            return replace(again._quote(None, limit), rebuilt=True)
        return self._quote(order, limit)

    def _quote(self, order: NewOrder | None, limit: int | None) -> Quote:
        """The quote of the slot's order (``order`` written into it first, unless None: the
        slot already holds it)."""
        key: tuple[int, int]
        if order is not None:
            key = self._key(order)
        else:
            j = self.slot
            key = (int(self.base.dl[j]), -int(self.base.drop_penalty[j]))
        strict = self._before(self.strict_marks, key) or self.base
        if order is not None:
            self._write(strict, order)
        best = strict.best_place(self.slot, True)
        state, on_time = strict, True
        if best is None:
            state = self._before(self.late_marks, key) or self.after_strict
            if order is not None and state is not strict:
                self._write(state, order)
            best = state.best_place(self.slot, False)
            on_time = False
        if best is None:
            return Quote([], [r[:] for r in state.routes], self.slot)
        cost, v_best, pos, starts = best
        first = Place(v_best, pos, cost, on_time, tuple(starts))
        drop = int(state.drop_penalty[self.slot])
        wanted = None if limit is None else max(0, limit - 1)
        others: list[Place] = []
        if wanted != 0:
            for c, v, p, new in state.cheapest_per_vehicle(self.slot, True, wanted, [v_best]):
                if c < drop:
                    others.append(Place(v, p, c, True, tuple(new)))
        if wanted is None or len(others) < wanted:
            more = None if wanted is None else wanted - len(others)
            skip = [v_best, *(o.vehicle for o in others)]
            for c, v, p, new in state.cheapest_per_vehicle(self.slot, False, more, skip):
                if c < drop:
                    others.append(Place(v, p, c, False, tuple(new)))
        others.sort(key=lambda p: (not p.on_time, p.cost, p.vehicle))
        places = [first, *others]
        return Quote(places if limit is None else places[:limit], [r[:] for r in state.routes],
                     self.slot)  # fmt: skip
