"""Fixes: for each late or unassigned order, the cheapest single change that makes it on time
(issue 24; docs/reasons.md, "Fixes").

A fix is found by exact re-insertion into the plan's routes under one relaxed rule. Routes are
timed with the plan's own arithmetic (:func:`dispatcher.decode.decode_route`, docs/model.md:
leave at the first work instant, travel in work time, the earliest start a work window and a
site window hold), so a fix's routes, decoded and checked by :func:`dispatcher.check.check_plan`
on the changed problem (:func:`apply_fix`), serve the order on time
(tests/dispatcher/test_fixes.py). A place is valid when every route it changes stays
feasible, no other visit arrives later than its deadline (or, already late, later than it did)
and the order arrives by its deadline.

The levers, tried in this order; the first that works is the fix (within a lever: the fewest
minutes, then the least cost):

``insert``
    an on-time place exists as the plan stands (the solve did not find it, e.g.
    ``not_planned_in_time``);
``overtime``
    engineer X works N more minutes on day D (that shift's end moved N minutes later, at most
    :data:`MAX_OVERTIME_MIN`);
``swap``
    order Y (priority no higher than the order's) leaves X's route for a place on time on
    another engineer's route (or later on X's), and the order takes its time;
``other_engineer``
    an engineer barred by exactly one rule (a missing skill, an exclusion, overseas travel, a
    pin to someone else) would serve it on time;
``deadline``
    on time if the deadline were N minutes later (a late order where it is; an unassigned one
    at its best place allowing lateness);
``add_engineer``
    one more engineer with the order's skills based at a station (:data:`dispatcher.places.STATIONS`,
    or a roster engineer's home) and working the shifts of the roster engineer based nearest
    to it, serving only this order.

``cost`` is the change in travel cost of the routes the fix changes (the objective's
``travel_per_hour``/``travel_per_km`` arcs, the way home included) plus, for ``overtime``, the
N minutes at ``overtime_per_hour``: a documented proxy for the objective change, without the
lateness or drop penalties it saves.

Bounded: only the :data:`SHORTLIST` engineers (and stations) nearest to the site are tried
per lever, and :func:`with_fixes` stops at its time budget (orders in priority, then deadline
order; those not reached get ``fix: null`` with :data:`NOT_COMPUTED`).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np

from dispatcher.compile import Compiled, compile_problem, start_instant
from dispatcher.decode import decode
from dispatcher.domain import (
    Eligibility,
    Engineer,
    Fix,
    LateOrder,
    Location,
    Order,
    Plan,
    Problem,
    UnassignedOrder,
)
from dispatcher.places import STATIONS
from dispatcher.timeline import (
    Interval,
    advance,
    earliest_fit,
    first_work_instant,
    from_s,
    merge_intervals,
    site_windows_s,
    to_s,
    work_windows,
)
from dispatcher.travel import GeodesicTravelTimes, TravelMatrix, TravelTimes, geodesic_km

SHORTLIST = 5  # engineers (or stations) tried per lever, nearest to the order's site first
SWAP_SHORTLIST = 3  # engineers tried for a swap, for the order and for the order moved
OVERTIME_SHORTLIST = 3  # engineers tried for overtime
MAX_OVERTIME_MIN = 240  # the most overtime one fix asks of one engineer on one day
NOT_COMPUTED = "not computed within the budget"
NEW_ENGINEER = "new@"  # id prefix of the engineer an add_engineer fix adds
STATION_RADIUS_KM = 5.0  # a roster home this near a named station is that station

Timed = list[tuple[int, int, int]]  # per visit: arrival, start, end (seconds from planning start)


@dataclass
class _Place:
    """A valid route of engineer ``v`` with the order in it."""

    v: int
    nodes: list[int]
    times: Timed
    cost: int  # travel cost of the new route minus the old one
    arrival: int  # the order's


def _fmt(problem: Problem, s: int) -> str:
    return from_s(s, problem.planning_start).strftime("%Y-%m-%d %H:%M %z")


def _rule_broken(problem: Problem, order: Order, e: Engineer) -> tuple[str, str | None] | None:
    """The one rule that bars ``e`` from ``order`` (rule, missing skills), or None if none or
    several do."""
    broken: list[tuple[str, str | None]] = []
    missing = order.required_skills - e.skills
    if missing:
        broken.append(("skill", ", ".join(sorted(missing))))
    if e.id in order.excluded_engineers:
        broken.append(("excluded", None))
    if problem.policy.is_overseas(order) and not e.can_travel_overseas:
        broken.append(("overseas", None))
    if order.pinned_engineer is not None and e.id != order.pinned_engineer:
        broken.append(("pin", None))
    return broken[0] if len(broken) == 1 else None


def _stations(problem: Problem) -> list[tuple[str, Location]]:
    """Where one more engineer could be based: the named stations, then each roster home not
    within :data:`STATION_RADIUS_KM` of one (named after its engineer)."""
    out = [(s.name, Location(s.lat, s.lon)) for s in STATIONS]
    lats = np.asarray([s.lat for s in STATIONS], dtype=np.float64)
    lons = np.asarray([s.lon for s in STATIONS], dtype=np.float64)
    for e in problem.engineers:
        if not (geodesic_km(e.home.lat, e.home.lon, lats, lons) <= STATION_RADIUS_KM).any():
            out.append((f"home of {e.id}", e.home))
    return out


def new_engineer(problem: Problem, station: str, loc: Location, skills: frozenset[str]) -> Engineer:
    """The engineer an ``add_engineer`` fix adds: based at ``loc``, with ``skills``, working
    the shifts (and time zone) of the roster engineer whose home is nearest."""
    engs = problem.engineers
    km = geodesic_km(
        loc.lat,
        loc.lon,
        np.asarray([e.home.lat for e in engs], dtype=np.float64),
        np.asarray([e.home.lon for e in engs], dtype=np.float64),
    )
    template = min(zip(km.tolist(), (e.id for e in engs), engs, strict=True))[2]
    return Engineer(
        id=f"{NEW_ENGINEER}{station}",
        name=f"one more engineer at {station}",
        home=loc,
        timezone=template.timezone,
        skills=skills,
        shifts=template.shifts,
    )


def _extended(e: Engineer, day: str, minutes: int) -> Engineer | None:
    """``e`` with the last shift starting on local date ``day`` ending ``minutes`` later, or
    None if there is none or it would run into the next shift."""
    tz = ZoneInfo(e.timezone)
    shifts = list(e.shifts)
    idx = [k for k, s in enumerate(shifts) if s.start.astimezone(tz).date().isoformat() == day]
    if not idx:
        return None
    k = idx[-1]
    end = shifts[k].end + timedelta(minutes=minutes)
    if k + 1 < len(shifts) and end > shifts[k + 1].start:
        return None
    shifts[k] = replace(shifts[k], end=end)
    return replace(e, shifts=tuple(shifts))


def apply_fix(problem: Problem, order_id: str, fix: Fix) -> Problem:
    """``problem`` with the change ``fix`` asks for, so that a re-plan makes ``order_id`` on
    time: ``insert`` and ``swap`` pin the orders they place (the order to ``engineer_id``; a
    swap's other order to ``moved_to``); ``overtime`` ends the shift later; ``other_engineer``
    waives the rule (the engineer gains the skills, the exclusion or the pin goes, the engineer
    may travel overseas); ``deadline`` moves the deadline; ``add_engineer`` adds the engineer."""
    orders = {o.id: o for o in problem.orders}
    order = orders[order_id]
    engs = list(problem.engineers)
    index = {e.id: k for k, e in enumerate(engs)}

    def pin(oid: str, eid: str | None) -> None:
        orders[oid] = replace(orders[oid], pinned_engineer=eid)

    if fix.lever in ("insert", "swap"):
        pin(order_id, fix.engineer_id)
        if fix.lever == "swap" and fix.order_id is not None:
            pin(fix.order_id, fix.moved_to)
    elif fix.lever == "overtime":
        assert fix.engineer_id is not None and fix.day is not None and fix.minutes is not None
        k = index[fix.engineer_id]
        longer = _extended(engs[k], fix.day, fix.minutes)
        assert longer is not None
        engs[k] = longer
    elif fix.lever == "other_engineer":
        assert fix.engineer_id is not None
        k = index[fix.engineer_id]
        if fix.rule == "skill":
            engs[k] = replace(engs[k], skills=engs[k].skills | order.required_skills)
        elif fix.rule == "overseas":
            engs[k] = replace(engs[k], can_travel_overseas=True)
        elif fix.rule == "excluded":
            kept = tuple(x for x in order.excluded_engineers if x != fix.engineer_id)
            orders[order_id] = replace(order, excluded_engineers=kept)
        elif fix.rule == "pin":
            pin(order_id, fix.engineer_id)
    elif fix.lever == "deadline":
        assert fix.minutes is not None
        late = problem.policy.deadline(order) + timedelta(minutes=fix.minutes)
        orders[order_id] = replace(order, deadline=late)
    elif fix.lever == "add_engineer":
        assert fix.station is not None and fix.location is not None
        engs.append(new_engineer(problem, fix.station, fix.location, order.required_skills))
    return replace(
        problem, engineers=tuple(engs), orders=tuple(orders[o.id] for o in problem.orders)
    )


def fixed_plan(problem: Problem, plan: Plan, order_id: str, fix: Fix) -> tuple[Problem, Plan]:
    """The changed problem (:func:`apply_fix`) and the plan's routes with the fix's routes
    in place, decoded on it: what :func:`dispatcher.check.check_plan` re-checks."""
    changed = apply_fix(problem, order_id, fix)
    c = compile_problem(changed)
    routes = {r.engineer_id: [x.order_id for x in r.visits] for r in plan.routes}
    routes.update({eid: list(ids) for eid, ids in fix.routes})
    nodes = [[c.order_node[o] for o in routes.get(e.id, [])] for e in changed.engineers]
    return changed, decode(c, nodes, "feasible", {})


class _Book:
    """The plan's routes, timed, and the moves a fix tries on them."""

    def __init__(self, c: Compiled, plan: Plan, travel: TravelTimes | None, extra: list[Order]):
        p = c.problem
        self.c, self.problem, self.travel = c, p, travel
        self.eligible = Eligibility(p)  # who may serve an order, for every order asked
        self.h = p.horizon_hours * 3600
        engs = p.engineers
        self.n_v = n_v = len(engs)
        self.node = dict(c.order_node)
        self.order_at = dict(c.node_order)
        m = c.travel
        if extra:  # orders kept out of the model: one more node each
            n = m.seconds.shape[0]
            points = [e.start_location for e in engs] + [e.home for e in engs]
            points += [c.node_order[j].site.location for j in sorted(c.node_order)]
            assert travel is not None
            m = travel.matrix(points + [o.site.location for o in extra])
            for k, o in enumerate(extra):
                self.node[o.id] = n + k
                self.order_at[n + k] = o
        self.sec: np.ndarray = np.asarray(m.seconds, dtype=np.int64)
        self.km: np.ndarray = np.asarray(m.km, dtype=np.float64)
        w = p.policy.weights
        self.per_s, self.per_km = w.travel_per_hour / 3600.0, w.travel_per_km
        self.dl: dict[int, int] = {}
        self.site: dict[int, list[Interval]] = {}
        self.svc: dict[int, int] = {}
        for j, o in self.order_at.items():
            self.dl[j] = to_s(p.policy.deadline(o), p.planning_start)
            self.site[j] = site_windows_s(o.site_windows, p.planning_start)
            self.svc[j] = o.service_minutes * 60
        by_id = {e.id: v for v, e in enumerate(engs)}
        self.routes: list[list[int]] = [[] for _ in engs]
        for r in plan.routes:
            self.routes[by_id[r.engineer_id]] = [self.node[x.order_id] for x in r.visits]
        self.times: list[Timed] = []
        for v in range(n_v):
            timed = self.run(c.work[v], c.start_s[v] or 0, v, self.routes[v])
            self.times.append(timed or [])
        self.old: dict[int, int] = {
            j: t[0] for v in range(n_v) for j, t in zip(self.routes[v], self.times[v], strict=True)
        }
        self.engineer_of = {j: v for v in range(n_v) for j in self.routes[v]}
        self.factor = p.policy.weights.priority_factor
        self.stations: list[tuple[str, Location]] | None = None  # for add_engineer, once

    # --- timing -------------------------------------------------------------------------

    def arc(self, i: int, j: int) -> float:
        return float(self.sec[i, j]) * self.per_s + float(self.km[i, j]) * self.per_km

    def route_cost(self, v: int, nodes: Sequence[int]) -> int:
        path = [v, *nodes, self.n_v + v]
        return int(round(sum(self.arc(a, b) for a, b in zip(path, path[1:], strict=False))))

    def run(
        self,
        work: Sequence[Interval],
        t: int,
        prev: int,
        nodes: Sequence[int],
        was: Timed | None = None,
    ) -> Timed | None:
        """Arrival, start and end of ``nodes`` in turn from ``prev`` free at ``t`` (as
        :func:`dispatcher.decode.decode_route` times them), None where one cannot be served.
        ``was``: the times of ``nodes[1:]`` without the first node (in the same work windows):
        once a visit starts as it did, the rest is as it was."""
        out: Timed = []
        starts = [a for a, _ in work]
        for k, node in enumerate(nodes):
            if was is not None and k >= 2 and out[-1][1] == was[k - 2][1]:
                return out + was[k - 1 :]
            # first_work_instant(work, t), else t (as decode_route leaves)
            i = bisect_right(starts, t) - 1
            dep = t if (i >= 0 and t < work[i][1]) or i + 1 >= len(work) else work[i + 1][0]
            arr = advance(work, dep, int(self.sec[prev, node]), open_end=True)
            if arr is None:
                return None
            svc = self.svc[node]
            begin = earliest_fit(work, self.site[node], arr, svc)
            if begin is None or begin + svc > self.h:
                return None
            out.append((arr, begin, begin + svc))
            prev, t = node, begin + svc
        return out

    def ok(self, nodes: Sequence[int], times: Timed, target: int, late_ok: bool = False) -> bool:
        """No visit later than its deadline or, already late, than it was; the target on time
        unless ``late_ok``."""
        for j, (arr, _, _) in zip(nodes, times, strict=True):
            if j == target:
                if not late_ok and arr > self.dl[j]:
                    return False
            elif arr > max(self.dl[j], self.old.get(j, self.dl[j])):
                return False
        return True

    def insert(
        self,
        v: int,
        base: list[int],
        work: Sequence[Interval],
        start: int,
        target: int,
        late_ok: bool = False,
        base_times: Timed | None = None,
        only: int | None = None,
    ) -> _Place | None:
        """The cheapest valid place of ``target`` in route ``base`` of engineer ``v`` (at
        position ``only``, when given)."""
        if base_times is None:
            base_times = self.run(work, start, v, base)
            if base_times is None:
                return None
        home = self.n_v + v
        best: _Place | None = None
        for p in range(len(base) + 1) if only is None else (only,):
            t, prev = (start, v) if p == 0 else (base_times[p - 1][2], base[p - 1])
            if not late_ok and t + int(self.sec[prev, target]) > self.dl[target]:
                break  # arrival is at least that late here and further on
            nodes = [*base[:p], target, *base[p:]]
            tail = self.run(work, t, prev, nodes[p:], base_times[p:])
            if tail is None:
                continue
            times = base_times[:p] + tail
            if not self.ok(nodes, times, target, late_ok):
                continue
            after = base[p] if p < len(base) else home
            extra = self.arc(prev, target) + self.arc(target, after) - self.arc(prev, after)
            cost = int(round(extra))
            arrival = times[p][0]
            key = (arrival, cost) if late_ok else (cost, arrival)
            if best is None or key < (
                (best.arrival, best.cost) if late_ok else (best.cost, best.arrival)
            ):
                best = _Place(v, nodes, times, cost, arrival)
        return best

    def near(self, cands: Sequence[int], target: int, k: int) -> list[int]:
        """The ``k`` engineers of ``cands`` whose route (start included) passes nearest."""

        def dist(v: int) -> int:
            return int(self.sec[[v, *self.routes[v]], target].min())

        return sorted(cands, key=lambda v: (dist(v), v))[:k]


def _fix_order(book: _Book, order: Order, until: float) -> tuple[Fix | None, str | None]:
    """The fix of one late or unassigned order, or the note why there is none."""
    p = book.problem
    c = book.c
    j = book.node[order.id]
    engs = p.engineers
    dl = book.dl[j]
    u = book.engineer_of.get(j)  # a late order's engineer
    working = [v for v in range(book.n_v) if c.start_s[v] is not None]
    elig = [v for v in book.eligible(order) if c.start_s[v] is not None]

    def base(v: int) -> list[int]:
        return [x for x in book.routes[v] if x != j]

    def routes_of(*places: _Place) -> tuple[tuple[str, tuple[str, ...]], ...]:
        out = {pl.v: pl.nodes for pl in places}
        if u is not None and u not in out:
            out[u] = base(u)
        return tuple(
            (engs[v].id, tuple(book.order_at[x].id for x in nodes))
            for v, nodes in sorted(out.items())
        )

    def removal_cost() -> int:
        return 0 if u is None else book.route_cost(u, base(u)) - book.route_cost(u, book.routes[u])

    def times_wo(v: int) -> Timed | None:
        if v != u:
            return book.times[v]
        return book.run(c.work[v], c.start_s[v] or 0, v, base(v))

    shortlist = book.near(elig, j, SHORTLIST)
    if u is not None and u not in shortlist:
        shortlist = [u, *shortlist[:-1]] if len(shortlist) >= SHORTLIST else [u, *shortlist]

    # insert: on time as the plan stands.
    best: _Place | None = None
    for v in shortlist:
        bt = times_wo(v)
        pl = (
            None
            if bt is None
            else book.insert(v, base(v), c.work[v], c.start_s[v] or 0, j, base_times=bt)
        )
        if pl is not None and (best is None or pl.cost < best.cost):
            best = pl
    if best is not None:
        e = engs[best.v]
        cost = best.cost + removal_cost()
        return Fix(
            "insert",
            f"{e.id} can take it on time as the plan stands: arrival {_fmt(p, best.arrival)}, "
            f"{(dl - best.arrival) / 60:.0f} min before the deadline (travel cost {cost:+d})",
            cost=cost, engineer_id=e.id, routes=routes_of(best),
        ), None  # fmt: skip
    if time.perf_counter() > until:
        return None, NOT_COMPUTED

    # overtime: one engineer works N more minutes on one day.
    found: tuple[int, int, _Place, str, Engineer] | None = None
    ot_rate = p.policy.weights.overtime_per_hour
    for v in shortlist[:OVERTIME_SHORTLIST]:
        e = engs[v]
        tz = ZoneInfo(e.timezone)
        # A shift ending (with its overtime) after the deadline: working longer cannot help.
        ot_s = e.max_overtime_minutes * 60
        days = sorted({s.start.astimezone(tz).date().isoformat() for s in e.shifts
                       if to_s(s.end, p.planning_start) + ot_s < min(dl, book.h)})  # fmt: skip

        def attempt(
            day: str, minutes: int, only: int | None = None, v: int = v, e: Engineer = e
        ) -> tuple[_Place, Engineer] | None:
            longer = _extended(e, day, minutes)
            if longer is None:
                return None
            work = merge_intervals(work_windows(longer, p.planning_start))
            start = start_instant(p, longer, work)
            if start is None or start >= book.h:
                return None
            pl = book.insert(v, base(v), work, start, j, only=only)
            return None if pl is None else (pl, longer)

        for day in days:
            # The cheapest place with the most overtime, then the fewest minutes keeping it.
            most = attempt(day, MAX_OVERTIME_MIN)
            if most is None:
                continue
            at = most[0].nodes.index(j)
            lo, hi = 1, MAX_OVERTIME_MIN
            while lo < hi:
                mid = (lo + hi) // 2
                if attempt(day, mid, at) is not None:
                    hi = mid
                else:
                    lo = mid + 1
            got = attempt(day, lo, at)
            if got is None:
                continue
            pl, longer = got
            cost = pl.cost + removal_cost() + int(round(lo * ot_rate / 60))
            if found is None or (lo, cost) < (found[0], found[1]):
                found = (lo, cost, pl, day, longer)
    if found is not None:
        minutes, cost, pl, day, longer = found
        e = engs[pl.v]
        old_end = next(
            s.end for s, s2 in zip(e.shifts, longer.shifts, strict=True) if s.end != s2.end
        )
        tz = ZoneInfo(e.timezone)
        return Fix(
            "overtime",
            f"{e.id} works {minutes} more minutes on {day} (shift end "
            f"{old_end.astimezone(tz):%H:%M} -> {(old_end + timedelta(minutes=minutes)).astimezone(tz):%H:%M}"
            f" local): arrival {_fmt(p, pl.arrival)}, on time (cost {cost:+d})",
            cost=cost, engineer_id=e.id, minutes=minutes, day=day, routes=routes_of(pl),
        ), None  # fmt: skip
    if time.perf_counter() > until:
        return None, NOT_COMPUTED

    # swap: an order of no higher priority on the engineer's route moves elsewhere, on time.
    mine = book.factor[order.priority]
    swap: tuple[int, _Place, _Place, int] | None = None
    for v in shortlist[:SWAP_SHORTLIST]:
        route = base(v)
        for y in route:
            oy = book.order_at[y]
            if book.factor[oy.priority] > mine or book.old.get(y, book.dl[y]) > book.dl[y]:
                continue  # only an order of no higher priority, on time now
            rest = [x for x in route if x != y]
            pl = book.insert(v, rest, c.work[v], c.start_s[v] or 0, j)
            if pl is None:
                continue
            ely = [w for w in book.eligible(oy) if c.start_s[w] is not None]
            for w in book.near(ely, y, SWAP_SHORTLIST + 1):
                if w == v:
                    into = pl.nodes
                elif w == u:
                    into = base(u)
                else:
                    into = book.routes[w]
                old_w = book.route_cost(w, base(w) if w == u else book.routes[w])
                py = book.insert(w, into, c.work[w], c.start_s[w] or 0, y)
                if py is None or book.dl[y] < py.arrival:
                    continue
                if w == v:
                    if py.times[py.nodes.index(j)][0] > dl:
                        continue  # the order must stay on time
                    cost = book.route_cost(v, py.nodes) - book.route_cost(v, route)
                    pv = py
                else:
                    cost = pl.cost + book.route_cost(v, rest) - book.route_cost(v, route)
                    cost += book.route_cost(w, py.nodes) - old_w
                    pv = pl
                cost += removal_cost()
                if swap is None or cost < swap[0]:
                    swap = (cost, pv, py, y)
        if time.perf_counter() > until:
            return None, NOT_COMPUTED
    if swap is not None:
        cost, pv, py, y = swap
        e, ey, oy = engs[pv.v], engs[py.v], book.order_at[y]
        target_at = (
            pv.times[pv.nodes.index(j)][0] if pv.v != py.v else py.times[py.nodes.index(j)][0]
        )
        y_at = py.times[py.nodes.index(y)][0]
        slack = (book.dl[y] - y_at) / 60
        where = "later on the same route" if py.v == pv.v else f"to {ey.id}"
        places = (py,) if py.v == pv.v else (pv, py)
        return Fix(
            "swap",
            f"{e.id} takes it on time (arrival {_fmt(p, target_at)}) if {oy.id} ({oy.priority}) "
            f"moves {where}, arriving {_fmt(p, y_at)} with {slack:.0f} min of slack "
            f"(travel cost {cost:+d})",
            cost=cost, engineer_id=e.id, order_id=oy.id, moved_to=ey.id,
            slack_minutes=round(slack, 1), routes=routes_of(*places),
        ), None  # fmt: skip

    # other_engineer: one barred by exactly one rule would make it.
    barred = [(v, rb) for v in working if v not in elig and (rb := _rule_broken(p, order, engs[v]))]
    other: tuple[_Place, str, str | None] | None = None
    rules = dict(barred)
    tried = book.near([v for v, _ in barred], j, SHORTLIST)
    pinned = next((v for v, e in enumerate(engs) if e.id == order.pinned_engineer), None)
    if pinned in rules and pinned not in tried:
        tried = [pinned, *tried]  # the pinned engineer, barred by one rule, is always tried
    for v in tried:
        pl = book.insert(
            v, book.routes[v], c.work[v], c.start_s[v] or 0, j, base_times=book.times[v]
        )
        if pl is not None and (other is None or pl.cost < other[0].cost):
            other = (pl, *rules[v])
    if other is not None:
        pl, rule, skill = other
        e = engs[pl.v]
        why = {
            "skill": f"lacks {skill}",
            "excluded": "is excluded from the order",
            "overseas": f"may not travel overseas ({order.site.country})",
            "pin": f"the order is pinned to {order.pinned_engineer}",
        }[rule]
        cost = pl.cost + removal_cost()
        return Fix(
            "other_engineer",
            f"{e.id} could arrive {_fmt(p, pl.arrival)}, on time, but {why} (travel cost {cost:+d})",
            cost=cost, engineer_id=e.id, rule=rule, skill=skill, routes=routes_of(pl),
        ), None  # fmt: skip
    if time.perf_counter() > until:
        return None, NOT_COMPUTED

    # deadline: where the order is (late), or its best place allowing lateness.
    late_place: _Place | None = None
    if u is not None:
        k = book.routes[u].index(j)
        late_place = _Place(u, book.routes[u], book.times[u], 0, book.times[u][k][0])
    else:
        for v in shortlist:
            pl = book.insert(v, book.routes[v], c.work[v], c.start_s[v] or 0, j, late_ok=True,
                             base_times=book.times[v])  # fmt: skip
            if pl is not None and (
                late_place is None or (pl.arrival, pl.cost) < (late_place.arrival, late_place.cost)
            ):
                late_place = pl
    if late_place is not None:
        minutes = max(1, math.ceil((late_place.arrival - dl) / 60))
        e = engs[late_place.v]
        new_dl = from_s(dl + minutes * 60, p.planning_start)
        return Fix(
            "deadline",
            f"on time if the deadline were {minutes} min later ({new_dl:%Y-%m-%d %H:%M %z}): "
            f"{e.id} arrives {_fmt(p, late_place.arrival)} (travel cost {late_place.cost:+d})",
            cost=late_place.cost, engineer_id=e.id, minutes=minutes,
            routes=() if u is not None else routes_of(late_place),
        ), None  # fmt: skip

    # add_engineer: one more engineer at a station near the site.
    if order.pinned_engineer is None and engs and book.travel is not None:
        site = order.site.location
        if book.stations is None:
            book.stations = _stations(p)
        km = geodesic_km(
            site.lat,
            site.lon,
            np.asarray([loc.lat for _, loc in book.stations], dtype=np.float64),
            np.asarray([loc.lon for _, loc in book.stations], dtype=np.float64),
        )
        stations = [book.stations[k] for k in np.argsort(km, kind="stable")[:SHORTLIST]]
        m: TravelMatrix = book.travel.matrix([site] + [loc for _, loc in stations])
        best_add: tuple[int, str, Location, int] | None = None
        for k, (name, loc) in enumerate(stations, start=1):
            ne = new_engineer(p, name, loc, order.required_skills)
            work = merge_intervals(work_windows(ne, p.planning_start))
            start = first_work_instant(work, 0)
            if start is None or start >= book.h:
                continue
            arr = advance(work, start, int(m.seconds[k, 0]), open_end=True)
            if arr is None or arr > dl:
                continue
            begin = earliest_fit(work, book.site[j], arr, book.svc[j])
            if begin is None or begin + book.svc[j] > book.h:
                continue
            cost = int(round(
                (m.seconds[k, 0] + m.seconds[0, k]) * book.per_s + (m.km[k, 0] + m.km[0, k]) * book.per_km
            ))  # fmt: skip
            cost += removal_cost()
            if best_add is None or cost < best_add[0]:
                best_add = (cost, name, loc, arr)
        if best_add is not None:
            cost, name, loc, arr = best_add
            skills = ", ".join(sorted(order.required_skills)) or None
            nid = f"{NEW_ENGINEER}{name}"
            extra = (
                () if u is None else ((engs[u].id, tuple(book.order_at[x].id for x in base(u))),)
            )
            return Fix(
                "add_engineer",
                f"one more engineer {'with ' + skills + ' ' if skills else ''}based at {name} "
                f"would arrive {_fmt(p, arr)}, on time (travel cost {cost:+d})",
                cost=cost, skill=skills, station=name, location=loc,
                routes=((nid, (order.id,)), *extra),
            ), None  # fmt: skip
    missing = [
        f"none of the {len(shortlist)} nearest eligible engineers has an on-time place with up "
        f"to {MAX_OVERTIME_MIN} min of overtime or a swap, or any place in the horizon"
        if elig
        else "nobody may serve it as the rules stand",
        f"none of the {len(tried)} nearest engineers barred by one rule only has an on-time place"
        if tried
        else "no engineer is barred by one rule only",
        f"it is pinned to {order.pinned_engineer}, so one more engineer would not do"
        if order.pinned_engineer is not None
        else f"one more engineer at the {SHORTLIST} stations nearest the site would not be "
        "there on time in the horizon",
    ]
    return None, "no single change makes it on time: " + "; ".join(missing)


def with_fixes(c: Compiled, plan: Plan, travel: TravelTimes | None, budget_s: float) -> Plan:
    """``plan`` with a fix (or the note why none) on every late and unassigned order, within
    ``budget_s`` seconds: orders of higher priority, then earlier deadline, first."""
    if not (plan.late or plan.unassigned):
        return plan
    until = time.perf_counter() + budget_s
    p = c.problem
    travel = travel or GeodesicTravelTimes(p.policy.travel)
    orders = {o.id: o for o in p.orders}
    extra = [orders[u.order_id] for u in plan.unassigned if u.order_id not in c.order_node]
    book = _Book(c, plan, travel, extra)
    factor = p.policy.weights.priority_factor
    ids = [x.order_id for x in plan.late] + [x.order_id for x in plan.unassigned]
    ids.sort(key=lambda o: (-factor[orders[o].priority], p.policy.deadline(orders[o]), o))
    found: dict[str, tuple[Fix | None, str | None]] = {}
    for oid in ids:
        if time.perf_counter() > until:
            found[oid] = (None, NOT_COMPUTED)
            continue
        found[oid] = _fix_order(book, orders[oid], until)
    late = tuple(
        replace(x, fix=found[x.order_id][0], fix_note=found[x.order_id][1]) for x in plan.late
    )
    unassigned = tuple(
        replace(x, fix=found[x.order_id][0], fix_note=found[x.order_id][1]) for x in plan.unassigned
    )
    return replace(plan, late=late, unassigned=unassigned)


__all__ = ["Fix", "LateOrder", "UnassignedOrder", "apply_fix", "fixed_plan", "with_fixes"]
