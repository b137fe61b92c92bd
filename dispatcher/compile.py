"""Compile a :class:`~dispatcher.domain.Problem` into solver arrays.

Node layout: ``[start of each engineer][end (home) of each engineer][orders]``.
Orders that no engineer may serve at all (skills, exclusions, pins, overseas
permission, no usable site window) are kept out of the model; :mod:`dispatcher.explain`
gives them their reason.

**The work clock.** The solver's time axis is not wall-clock time but *work time*: the
instants at which some engineer works (the union of everyone's shifts and overtime bands in
the horizon). Time nobody works is simply absent from the axis, so travel pauses overnight
for free and no OR-Tools break interval is needed for an engineer who works all of it.
Everybody else gets break intervals for the parts of the clock they do not work (a
colleague's overtime band, another time zone's shift) — docs/model.md, "Solver calendar".
Until 2026-12-02 the clock was the calendar most engineers share (plus overtime bands right
after it), which left an engineer whose shifts never overlapped it without any usable time.

**Overtime** is offered this way, and its bands go to the solver on the work clock
(``RoutingInput.overtime_bands``) with ``weights.overtime_per_hour``. OR-Tools' own search
cannot price them (it prices a cumul only by a non-decreasing function, and a copy of each
order for its starts in overtime bands — tried, docs/performance.md "Overtime offered to the
solver" — made the demo model 27 % larger, its first plan 40x slower and its 10-second plan
serve fewer orders on time); the solver's construction, its ruin and recreate and its
choice between candidate plans do (decision #24).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from dispatcher.domain import Eligibility, Engineer, Order, Problem, PublishedVisit
from dispatcher.timeline import (
    Interval,
    first_work_instant,
    merge_intervals,
    overtime_bands,
    site_windows_s,
    to_s,
    work_windows,
)
from dispatcher.travel import BLOCK_PAIRS, GeodesicTravelTimes, TravelMatrix, TravelTimes
from solver.routing import NO_DEADLINE, RoutingInput


@dataclass(frozen=True)
class WorkClock:
    """Maps wall-clock seconds to work seconds of the offered calendar."""

    windows: tuple[Interval, ...]  # offered work windows, wall-clock seconds, inside the horizon
    offsets: tuple[int, ...]  # work seconds elapsed at the start of each window
    starts: tuple[int, ...]  # window starts, for bisection

    @staticmethod
    def of(windows: list[Interval]) -> WorkClock:
        offsets, total = [], 0
        for a, b in windows:
            offsets.append(total)
            total += b - a
        return WorkClock(tuple(windows), tuple(offsets), tuple(a for a, _ in windows))

    @property
    def total(self) -> int:
        if not self.windows:
            return 0
        a, b = self.windows[-1]
        return self.offsets[-1] + b - a

    def at(self, t: int) -> int:
        """Work seconds elapsed by wall-clock ``t``."""
        k = bisect_right(self.starts, t) - 1
        if k < 0:
            return 0
        a, b = self.windows[k]
        return self.offsets[k] + min(t, b) - a

    def working(self, t: int) -> bool:
        k = bisect_right(self.starts, t) - 1
        return k >= 0 and t < self.windows[k][1]

    def day_ends(self) -> list[int]:
        """Work-clock instants at which a clock window closes (service may not straddle)."""
        return [o + b - a for o, (a, b) in zip(self.offsets, self.windows, strict=True)]


def intersect(xs: list[Interval], ys: list[Interval]) -> list[Interval]:
    out, i, j = [], 0, 0
    while i < len(xs) and j < len(ys):
        a, b = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if a < b:
            out.append((a, b))
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return out


def _offered_calendar(calendars: list[list[Interval]]) -> list[Interval]:
    """The work clock's windows: every instant at which some engineer works (the union of
    their work windows, shifts and overtime bands). An engineer who works all of it needs no
    break interval; everybody else rests in the parts they do not work."""
    return merge_intervals([window for calendar in calendars for window in calendar])


def allowed_starts(
    clock: WorkClock, site: list[Interval] | None, service: int, horizon_s: int
) -> list[Interval] | None:
    """Allowed service-start intervals on the work clock (inclusive), or None if none."""
    total = clock.total
    if site is None:
        base: list[Interval] = [(0, total - service)]
    else:
        base = []
        for a, b in site:
            lo, end = clock.at(max(0, a)), clock.at(min(b, horizon_s))
            hi = end - service
            # A window with no work time inside maps to a single instant: unusable.
            if lo <= hi and end > lo:
                base.append((lo, hi))
    if service > 0:
        # A service may not straddle the close of a clock window (nobody works past it).
        for end in clock.day_ends():
            cut: Interval = (end - service + 1, end - 1)
            base = [piece for a, b in base for piece in _subtract((a, b), cut)]
    base = [(a, b) for a, b in base if a <= b and b >= 0]
    return base or None


def _subtract(span: Interval, cut: Interval) -> list[Interval]:
    a, b = span
    c, d = cut
    if d < a or c > b or c > d:
        return [span]
    return [(x, y) for x, y in ((a, c - 1), (d + 1, b)) if x <= y]


@dataclass(frozen=True)
class Compiled:
    problem: Problem
    data: RoutingInput
    travel: TravelMatrix
    order_node: dict[str, int]  # order id -> node (only modelled orders)
    node_order: dict[int, Order]
    work: list[
        list[Interval]
    ]  # per engineer, the solver calendar (then true windows past the horizon)
    rest_work: list[
        list[Interval]
    ]  # per engineer, true work windows: what overnights are counted on
    start_s: list[int | None]  # per engineer, first work instant (None: cannot work)
    left_out: list[Order]  # orders kept out of the model
    clock: WorkClock


def arc_costs(
    tm: TravelMatrix, per_hour: float, per_km: float, block_pairs: int = BLOCK_PAIRS
) -> np.ndarray:
    """``[n, n]`` cost of each leg: its hours and km priced, rounded to whole units.

    In row blocks of about ``block_pairs`` pairs: the whole matrix at once made three
    ``[n, n]`` float64 temporaries (0.9 GB at 5,000 orders / 500 engineers).
    """
    n = int(tm.seconds.shape[0])
    out = np.empty((n, n), dtype=np.int64)
    step = max(1, block_pairs // max(n, 1))
    cost_rows = np.empty((step, n), dtype=np.float64)  # one block's buffers, reused
    km_rows = np.empty((step, n), dtype=np.float64)
    for a in range(0, n, step):
        b = min(n, a + step)
        cost, price = cost_rows[: b - a], km_rows[: b - a]
        np.multiply(tm.seconds[a:b], per_hour / 3600.0, out=cost)
        np.multiply(tm.km[a:b], per_km, out=price)
        np.add(cost, price, out=cost)
        np.rint(cost, out=cost)
        out[a:b] = cost
    return out


def start_instant(problem: Problem, engineer: Engineer, work: list[Interval]) -> int | None:
    """First work instant at or after max(planning start, available_from)."""
    t = 0
    if engineer.current is not None:
        t = max(0, to_s(engineer.current.available_from, problem.planning_start))
    return first_work_instant(work, t)


def _solver_calendar(true: list[Interval], ref: list[Interval], horizon_s: int) -> list[Interval]:
    """Inside the horizon, the engineer's time within the offered calendar; after it, all."""
    after = [(max(a, horizon_s), b) for a, b in true if b > horizon_s]
    return merge_intervals(intersect(true, ref) + after)


@dataclass
class _StabilityInput:
    """Where the published plan enters the solver input (:func:`_keep_published`)."""

    problem: Problem
    clock: WorkClock
    engineer_index: dict[str, int]
    allowed_vehicles: list[list[int] | None]
    vehicle_node_cost: np.ndarray
    target_s: np.ndarray
    retime_cost_per_hour: np.ndarray


def _keep_published(
    pub: PublishedVisit, node: int, allowed: list[int], factor: int, into: _StabilityInput
) -> None:
    """Price moving the published visit of ``node`` (docs/model.md, "Re-planning").

    Its start is the target that drift beyond the tolerance is priced against. If its
    engineer may still serve it, a visit starting within the frozen hours stays with them
    (the only engineer allowed); a later one costs ``reassign`` on any other engineer. If
    its engineer no longer can, it must move and nothing is charged for that.
    """
    policy = into.problem.policy
    start = to_s(pub.start, into.problem.planning_start)
    into.target_s[node] = into.clock.at(max(0, start))
    into.retime_cost_per_hour[node] = policy.weights.retime_per_hour * factor
    v = into.engineer_index.get(pub.engineer_id)
    if v is None or v not in allowed:
        return
    if start < policy.stability.frozen_hours * 3600:
        into.allowed_vehicles[node] = [v]
        return
    for other in allowed:
        if other != v:
            into.vehicle_node_cost[other, node] += policy.weights.reassign * factor


def compile_problem(problem: Problem, travel: TravelTimes | None = None) -> Compiled:
    """Build the solver input: matrices, windows, breaks, costs."""
    travel = travel or GeodesicTravelTimes(problem.policy.travel)
    w = problem.policy.weights
    engs = problem.engineers
    n_v = len(engs)
    horizon_s = problem.horizon_hours * 3600
    origin = problem.planning_start

    true_work = [work_windows(e, origin) for e in engs]
    inside = [intersect(w, [(0, horizon_s)]) for w in true_work]
    clock = WorkClock.of(_offered_calendar(inside))
    work = [_solver_calendar(true_work[v], list(clock.windows), horizon_s) for v in range(n_v)]
    start_s = [start_instant(problem, e, work[v]) for v, e in enumerate(engs)]
    for v in range(n_v):
        if start_s[v] is not None and start_s[v] >= horizon_s:  # type: ignore[operator]
            start_s[v] = None

    modelled: list[tuple[Order, list[int], list[Interval]]] = []
    left_out: list[Order] = []
    eligible = Eligibility(problem)
    for order in problem.orders:
        allowed = [v for v in eligible(order) if start_s[v] is not None]
        site = site_windows_s(order.site_windows, origin) if order.site_windows else None
        wins = allowed_starts(clock, site, order.service_minutes * 60, horizon_s)
        if not allowed or wins is None:
            left_out.append(order)
        else:
            modelled.append((order, allowed, wins))

    points = (
        [e.start_location for e in engs]
        + [e.home for e in engs]
        + [o.site.location for o, _, _ in modelled]
    )
    tm = travel.matrix(points)
    n = len(points)
    ends = list(range(n_v, 2 * n_v))

    travel_s = tm.seconds.copy()
    travel_s[:, ends] = (
        0  # the return home happens after the plan: it costs, it does not take plan time
    )
    arc_cost = arc_costs(tm, w.travel_per_hour, w.travel_per_km)

    service = np.zeros(n, dtype=np.int64)
    drop = np.zeros(n, dtype=np.int64)
    deadline = np.full(n, NO_DEADLINE, dtype=np.int64)
    late_cost = np.zeros(n, dtype=np.int64)
    breach = np.zeros(n, dtype=np.int64)
    windows: list[list[Interval]] = [[] for _ in range(n)]
    allowed_vehicles: list[list[int] | None] = [None] * n
    pref_cost = np.zeros((n_v, n), dtype=np.int64)
    order_node: dict[str, int] = {}
    node_order: dict[int, Order] = {}
    published = {pub.order_id: pub for pub in problem.published}
    target = np.full(n, NO_DEADLINE, dtype=np.int64)
    retime = np.zeros(n, dtype=np.int64)
    stability_input = _StabilityInput(
        problem, clock, {e.id: v for v, e in enumerate(engs)}, allowed_vehicles, pref_cost,
        target, retime,
    )  # fmt: skip
    for k, (order, allowed, wins) in enumerate(modelled):
        node = 2 * n_v + k
        factor = w.priority_factor[order.priority]
        service[node] = order.service_minutes * 60
        drop[node] = w.unassigned * factor
        dl = to_s(problem.policy.deadline(order), origin)
        # A deadline during rest is met only by a start before that rest began.
        deadline[node] = max(0, clock.at(dl) - (0 if clock.working(dl) else 1))
        late_cost[node] = max(1, w.late_per_minute * factor // 60)
        breach[node] = w.late_per_breach * factor
        windows[node] = wins
        allowed_vehicles[node] = allowed if len(allowed) < n_v else None
        if order.preferred_engineers:
            preferred = set(order.preferred_engineers)
            for v, e in enumerate(engs):
                if e.id not in preferred:
                    pref_cost[v, node] = w.not_preferred * factor
        pub = published.get(order.id)
        if pub is not None:
            _keep_published(pub, node, allowed, factor, stability_input)
        order_node[order.id] = node
        node_order[node] = order

    breaks: list[list[tuple[int, int]]] = []
    bands: list[list[tuple[int, int]]] = []
    start_min: list[int] = []
    total = clock.total
    for v in range(n_v):
        s_v = start_s[v]
        if s_v is None:
            breaks.append([])  # cannot work in the horizon: no order lists it as allowed
            bands.append([])
            start_min.append(0)
            continue
        start_min.append(clock.at(s_v))
        # Clock time this engineer does not work becomes rest on the work clock.
        own = [(clock.at(a), clock.at(b)) for a, b in intersect(work[v], list(clock.windows))]
        gaps, t = [], clock.at(s_v)
        for a, b in own:
            if a > t:
                gaps.append((t, a - t))
            t = max(t, b)
        if t < total:
            gaps.append((t, total - t))
        breaks.append([(a, d) for a, d in gaps if d > 0])
        # The engineer's overtime bands as they lie on the clock.
        band = intersect(overtime_bands(engs[v], origin), list(clock.windows))
        bands.append([(clock.at(a), clock.at(b)) for a, b in band if clock.at(b) > clock.at(a)])

    data = RoutingInput(
        travel_s=travel_s,
        arc_cost=arc_cost,
        service_s=service,
        starts=list(range(n_v)),
        ends=ends,
        start_min_s=start_min,
        start_max_s=[total] * n_v,
        horizon_s=total,
        windows=windows,
        allowed_vehicles=allowed_vehicles,
        drop_penalty=drop,
        deadline_s=deadline,
        late_cost_per_s=late_cost,
        breaks=breaks,
        vehicle_node_cost=pref_cost if pref_cost.any() else None,
        breach_cost=breach if breach.any() else None,
        overtime_bands=bands if any(bands) else (),
        overtime_cost_per_hour=w.overtime_per_hour,
        target_s=target if (target != NO_DEADLINE).any() else None,
        retime_tolerance_s=problem.policy.stability.tolerance_minutes * 60,
        retime_cost_per_hour=retime if (target != NO_DEADLINE).any() else None,
    )
    return Compiled(
        problem=problem,
        data=data,
        travel=tm,
        order_node=order_node,
        node_order=node_order,
        work=work,
        rest_work=true_work,
        start_s=start_s,
        left_out=left_out,
        clock=clock,
    )
