"""ETA quotes: "when could someone be there?" for a ticket not yet stored (issue 21, item 5).

A quote answers with the place the next incremental re-plan would give the new order when
nothing else changes (:func:`dispatcher.planner.plan_problem`, ``mode="incremental"``: the
published routes kept, the order inserted by the solver's final fill), and the cheapest place
on each other engineer: engineer, arrival (ETA), service start, whether it is on time, and
which published visits it would make late.

The work is split for speed (docs/performance.md, "Quotes"). A :class:`QuoteBook` is built
once per problem and published plan: the problem compiled (the published plan as starting
routes, :func:`dispatcher.planner.from_published`), and the routes timed, repaired and made
ready for the fill's insertion (:class:`solver.quote.FixedRoutes`; no OR-Tools model). A quote
then compiles only the new order (against the same roster), computes its travel to and from
every node, asks the solver's insertion where it goes, and decodes the few routes it answers
with (:mod:`dispatcher.decode`, the plan's own wall-clock arithmetic).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from dispatcher.codec import format_datetime
from dispatcher.compile import Compiled, allowed_starts, compile_problem
from dispatcher.decode import decode_route
from dispatcher.domain import Order, Problem, Reason, Visit, eligible_engineers
from dispatcher.errors import InputError
from dispatcher.explain import explain_unassigned
from dispatcher.osrm import travel_times
from dispatcher.planner import from_published
from dispatcher.timeline import site_windows_s, to_s
from dispatcher.travel import GeodesicTravelTimes, TravelMatrix, TravelTimes, geodesic_km
from solver.quote import FixedRoutes, NewOrder, with_slot

DEFAULT_LIMIT = 3
MAX_LIMIT = 20


@dataclass(frozen=True)
class QuoteOption:
    """One engineer's cheapest place for the order (wall-clock times, as a plan gives them)."""

    engineer_id: str
    eta: datetime  # arrival on site
    start: datetime  # service start
    on_time: bool  # arrival by the deadline
    deadline: datetime
    slack_minutes: float  # deadline - arrival (negative when late)
    extra_travel_km: float  # the engineer's route with the order minus without (return included)
    displaces: tuple[str, ...]  # published orders on time before, late with this insertion
    position: int = 0  # visits of the engineer's route before the order (not in the document)

    def to_dict(self) -> dict[str, Any]:
        return {
            "engineer_id": self.engineer_id,
            "eta": format_datetime(self.eta),
            "start": format_datetime(self.start),
            "on_time": self.on_time,
            "deadline": format_datetime(self.deadline),
            "slack_minutes": round(self.slack_minutes, 1),
            "extra_travel_km": round(self.extra_travel_km, 1),
            "displaces": list(self.displaces),
        }


@dataclass(frozen=True)
class Quote:
    """Options best first (the first is where the re-plan puts the order); none with the
    reason code (docs/reasons.md) and its sentence when nobody can serve it."""

    order_id: str
    options: tuple[QuoteOption, ...]
    reason: Reason | None = None
    detail: str | None = None
    rebuilt: bool = False  # the order changed the solver's time rewrite: quoted the slow way

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "options": [o.to_dict() for o in self.options],
            "reason": None if self.reason is None else self.reason.value,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class OrderFacts:
    """What :func:`dispatcher.compile.compile_problem` would compile for one more order of
    the problem (its node's per-order arrays), travel aside."""

    service_s: int
    windows: list[tuple[int, int]]
    allowed: list[int] | None
    drop_penalty: int
    deadline_s: int
    late_cost_per_s: int
    breach_cost: int
    vehicle_cost: np.ndarray | None


def order_facts(c: Compiled, order: Order) -> OrderFacts | None:
    """``order`` compiled as :func:`dispatcher.compile.compile_problem` compiles each order of
    ``c.problem`` (the same clock, roster and policy), or None where it would keep the order
    out of the model (nobody may serve it, no usable window).

    Why not compile the problem with the order: at 1,000 orders x 100 engineers that takes
    0.3 s; the roster part alone 8 ms (tests/dispatcher/test_quote.py checks the two agree).
    """
    problem = c.problem
    w = problem.policy.weights
    origin = problem.planning_start
    horizon_s = problem.horizon_hours * 3600
    n_v = len(problem.engineers)
    allowed = [v for v in eligible_engineers(problem, order) if c.start_s[v] is not None]
    site = site_windows_s(order.site_windows, origin) if order.site_windows else None
    wins = allowed_starts(c.clock, site, order.service_minutes * 60, horizon_s)
    if not allowed or wins is None:
        return None
    factor = w.priority_factor[order.priority]
    dl = to_s(problem.policy.deadline(order), origin)
    vehicle_cost = None
    if order.preferred_engineers:
        preferred = set(order.preferred_engineers)
        vehicle_cost = np.asarray(
            [0 if e.id in preferred else w.not_preferred * factor for e in problem.engineers],
            dtype=np.int64,
        )
    return OrderFacts(
        service_s=order.service_minutes * 60,
        windows=[(int(a), int(b)) for a, b in wins],
        allowed=allowed if len(allowed) < n_v else None,
        drop_penalty=w.unassigned * factor,
        deadline_s=max(0, c.clock.at(dl) - (0 if c.clock.working(dl) else 1)),
        late_cost_per_s=max(1, w.late_per_minute * factor // 60),
        breach_cost=w.late_per_breach * factor,
        vehicle_cost=vehicle_cost,
    )


@dataclass(frozen=True)
class _Legs:
    """Travel from every node to the new order's site (``_to``) and back (``_from``)."""

    seconds_to: np.ndarray
    seconds_from: np.ndarray
    km_to: np.ndarray
    km_from: np.ndarray
    flight_to: np.ndarray
    flight_from: np.ndarray


@dataclass
class _Decoded:
    visits: list[Visit]
    km: float  # every leg of the route, the way home included


@dataclass
class QuoteBook:
    """Everything a quote needs that does not depend on the new order (see the module
    docstring). Build one per problem version and published plan; :meth:`quote` may be
    called from several threads (quotes on one book take turns)."""

    problem: Problem
    travel: TravelTimes | None = None
    compiled: Compiled = field(init=False)
    fixed: FixedRoutes | None = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _decoded: dict[tuple[int, tuple[int, ...]], _Decoded] = field(init=False, default_factory=dict)
    _open: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        self.travel = self.travel or travel_times(self.problem.policy.travel)
        self.compiled = compile_problem(self.problem, self.travel)
        c = self.compiled
        n_v = len(self.problem.engineers)
        self.fixed = None
        if c.data.n_vehicles:
            if self.problem.published:
                data, routes, _ = from_published(c)
            else:
                data, routes = c.data, [[] for _ in range(n_v)]
            self.fixed = FixedRoutes(with_slot(data), routes)
        sites = [c.node_order[j].site.location for j in sorted(c.node_order)]
        points = [e.start_location for e in self.problem.engineers]
        points += [e.home for e in self.problem.engineers] + sites
        self._lat = np.asarray([p.lat for p in points], dtype=np.float64)
        self._lon = np.asarray([p.lon for p in points], dtype=np.float64)
        self._points = points
        self._open = frozenset(o.id for o in self.problem.orders)

    # --- the new order as solver arrays -----------------------------------------------

    def _legs(self, order: Order) -> _Legs:
        """Travel between the order's site and every node, both ways."""
        loc = order.site.location
        travel = self.travel
        if isinstance(travel, GeodesicTravelTimes):
            # GeodesicTravelTimes.matrix, one row and one column of it.
            p = travel.params
            out = []
            for geo in (
                geodesic_km(self._lat, self._lon, loc.lat, loc.lon),
                geodesic_km(loc.lat, loc.lon, self._lat, self._lon),
            ):
                road = geo * p.circuity
                fly = road > p.max_drive_km
                dist = np.where(fly, geo, road)
                hours = np.where(fly, p.flight_overhead_h + geo / p.flight_kmh, road / p.drive_kmh)
                out.append((np.rint(hours * 3600.0).astype(np.int64), dist, fly))
            (s_to, k_to, f_to), (s_from, k_from, f_from) = out
            return _Legs(s_to, s_from, k_to, k_from, f_to, f_from)
        assert travel is not None
        m = travel.matrix([*self._points, loc])  # another provider: the whole matrix
        n = len(self._points)
        return _Legs(
            m.seconds[:n, n], m.seconds[n, :n], m.km[:n, n], m.km[n, :n],
            m.flight[:n, n], m.flight[n, :n],
        )  # fmt: skip

    def _new_order(self, facts: OrderFacts, legs: _Legs) -> NewOrder:
        """The order's solver arrays: its own facts, its travel from ``legs``; the slot's
        own entries zero."""
        w = self.problem.policy.weights
        n = len(self._points)
        n_v = len(self.problem.engineers)
        sec_to = np.zeros(n + 1, dtype=np.int64)
        sec_from = np.zeros(n + 1, dtype=np.int64)
        sec_to[:n], sec_from[:n] = legs.seconds_to, legs.seconds_from
        km_to = np.zeros(n + 1)
        km_from = np.zeros(n + 1)
        km_to[:n], km_from[:n] = legs.km_to, legs.km_from
        # As compile_problem prices an arc, and the way home takes no plan time there.
        arc_to = np.rint(sec_to * (w.travel_per_hour / 3600.0) + km_to * w.travel_per_km)
        arc_from = np.rint(sec_from * (w.travel_per_hour / 3600.0) + km_from * w.travel_per_km)
        travel_from = sec_from.copy()
        travel_from[n_v : 2 * n_v] = 0
        return NewOrder(
            travel_to=sec_to,
            travel_from=travel_from,
            arc_to=arc_to.astype(np.int64),
            arc_from=arc_from.astype(np.int64),
            service_s=facts.service_s,
            windows=facts.windows,
            allowed=facts.allowed,
            drop_penalty=facts.drop_penalty,
            deadline_s=facts.deadline_s,
            late_cost_per_s=facts.late_cost_per_s,
            breach_cost=facts.breach_cost,
            vehicle_cost=facts.vehicle_cost,
        )

    # --- decoding ---------------------------------------------------------------------

    def _decode(self, v: int, nodes: list[int], slot: int, order: Order, legs: _Legs) -> _Decoded:
        """Route ``nodes`` of engineer ``v`` (``slot``: the new order) in wall-clock time, as
        :func:`dispatcher.decode.decode` times a plan's route."""
        key = (v, tuple(nodes))
        if slot not in nodes and key in self._decoded:
            return self._decoded[key]
        c = self.compiled
        n_v = len(self.problem.engineers)
        own = [j for j in nodes if j != slot]
        index = list(range(2 * n_v)) + own
        size = len(index) + 1
        seconds = np.zeros((size, size), dtype=np.int64)
        km = np.zeros((size, size), dtype=np.float64)
        flight = np.zeros((size, size), dtype=bool)
        base = np.asarray(index, dtype=np.int64)
        sub = np.ix_(base, base)
        seconds[:-1, :-1] = c.travel.seconds[sub]
        km[:-1, :-1] = c.travel.km[sub]
        flight[:-1, :-1] = c.travel.flight[sub]
        seconds[-1, :-1], seconds[:-1, -1] = legs.seconds_from[base], legs.seconds_to[base]
        km[-1, :-1], km[:-1, -1] = legs.km_from[base], legs.km_to[base]
        flight[-1, :-1], flight[:-1, -1] = legs.flight_from[base], legs.flight_to[base]
        seconds[-1, -1], km[-1, -1], flight[-1, -1] = 0, 0.0, False
        renumber = {j: 2 * n_v + k for k, j in enumerate(own)}
        renumber[slot] = size - 1
        node_order = {renumber[j]: c.node_order[j] for j in own}
        node_order[size - 1] = order
        mini = replace(c, travel=TravelMatrix(seconds, km, flight), node_order=node_order)
        route, visits = decode_route(mini, v, [renumber[j] for j in nodes])
        total = sum(x.travel_km for x in visits)
        if route.return_leg is not None:
            total += route.return_leg.travel_km
        out = _Decoded(visits, total)
        if slot not in nodes:
            self._decoded[key] = out
        return out

    # --- the quote --------------------------------------------------------------------

    def quote(self, order: Order, limit: int = DEFAULT_LIMIT) -> Quote:
        """Where ``order`` (not among the book's orders) would go, best first, at most
        ``limit`` options, at most one per engineer."""
        if not (isinstance(limit, int) and 1 <= limit <= MAX_LIMIT):
            raise InputError("limit", f"expected an integer in [1, {MAX_LIMIT}], got {limit!r}")
        if order.id in self._open:
            raise InputError("id", f"expected an order not yet open, got {order.id!r}")
        facts = order_facts(self.compiled, order)
        if facts is None or self.fixed is None:
            reason, detail = explain_unassigned(self.compiled, order)
            return Quote(order.id, (), reason, detail)
        legs = self._legs(order)
        new = self._new_order(facts, legs)
        with self._lock:
            answer = self.fixed.quote(new, limit)
            options = []
            for place in answer.places[:limit]:
                v = place.vehicle
                before = answer.routes[v]
                after = before[: place.position] + [answer.slot] + before[place.position :]
                old = self._decode(v, before, answer.slot, order, legs)
                now = self._decode(v, after, answer.slot, order, legs)
                options.append(self._option(v, place.position, old, now, order))
        if not options:
            reason, detail = explain_unassigned(self.compiled, order)
            return Quote(order.id, (), reason, detail)
        return Quote(order.id, tuple(options), rebuilt=answer.rebuilt)

    def _option(
        self, v: int, position: int, old: _Decoded, now: _Decoded, order: Order
    ) -> QuoteOption:
        visit = next(x for x in now.visits if x.order_id == order.id)
        was = {x.order_id: x.on_time for x in old.visits}
        displaced = tuple(x.order_id for x in now.visits if not x.on_time and was.get(x.order_id))
        return QuoteOption(
            engineer_id=self.problem.engineers[v].id,
            eta=visit.arrival,
            start=visit.start,
            on_time=visit.on_time,
            deadline=visit.deadline,
            slack_minutes=visit.slack_minutes,
            extra_travel_km=now.km - old.km,
            displaces=displaced,
            position=position,
        )


def quote(
    problem: Problem, order: Order, limit: int = DEFAULT_LIMIT, travel: TravelTimes | None = None
) -> Quote:
    """Quote ``order`` against ``problem`` (its open orders, roster and ``published`` plan):
    see :class:`QuoteBook`, built for this one call."""
    return QuoteBook(problem, travel).quote(order, limit)
