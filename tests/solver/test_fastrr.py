"""The compiled ruin and recreate (solver/fastrr.py): on plain time-window problems, and on
field-shaped ones (rests, boundaries, deadlines, skills, vehicle-node and overtime costs)
against the Python timing and costs of ``solver.insertion.Insertion``."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import fastrr
from solver.insertion import Insertion, insertion_routes
from solver.routing import (
    NO_DEADLINE,
    Progress,
    RoutingInput,
    SearchParams,
    construction,
    is_plain,
    solve,
)
from solver.strategy import cycle_moves

pytestmark = pytest.mark.skipif(not fastrr.AVAILABLE, reason="numba is not installed")


def _plain(
    xy: list[tuple[int, int]],
    windows: list[list[tuple[int, int]]],
    *,
    n_vehicles: int = 2,
    service: int = 5,
    horizon: int = 400,
    demand: list[int] | None = None,
    capacity: int = 10**6,
) -> RoutingInput:
    """Node 0 the depot (every vehicle starts and ends there), the others orders at ``xy``;
    travel and arc cost the rounded-up Euclidean distance."""
    pts = np.asarray([(0, 0), *xy], dtype=float)
    d = np.ceil(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)))
    t = d.astype(np.int64)
    n = len(pts)
    svc = np.full(n, service, dtype=np.int64)
    svc[0] = 0
    return RoutingInput(
        travel_s=t,
        arc_cost=t,
        service_s=svc,
        starts=[0] * n_vehicles,
        ends=[0] * n_vehicles,
        start_min_s=[0] * n_vehicles,
        start_max_s=[0] * n_vehicles,
        horizon_s=horizon,
        windows=[[], *windows],
        allowed_vehicles=[None] * n,
        drop_penalty=np.full(n, 10**6, dtype=np.int64),
        deadline_s=np.full(n, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(n, dtype=np.int64),
        demand=np.asarray([0, *(demand or [1] * (n - 1))], dtype=np.int64),
        capacity=[capacity] * n_vehicles,
    )


def _insertion(data: RoutingInput) -> Insertion:
    return Insertion(data)


def _problem(data: RoutingInput) -> fastrr.Problem:
    return fastrr.problem(
        data.travel_s,
        data.arc_cost,
        data.service_s,
        data.windows,
        data.horizon_s,
        data.starts,
        data.ends,
        data.start_min_s,
        data.capacity,
        data.demand,
    )


def _check(data: RoutingInput, routes: list[list[int]]) -> int:
    """Checked here, independently: every order at most once, each service start in one of
    its windows (waiting allowed), done and home by the horizon, loads within capacity;
    returns the arc cost plus the drop penalties of the orders left out."""
    served = [j for r in routes for j in r]
    assert len(served) == len(set(served)) and 0 not in served
    cost = 0
    for v, route in enumerate(routes):
        if not route:
            continue
        assert data.demand is not None and data.capacity is not None
        assert int(data.demand[route].sum()) <= data.capacity[v]
        t, prev = data.start_min_s[v], data.starts[v]
        for j in route:
            cost += int(data.arc_cost[prev, j])
            arrival = t + int(data.travel_s[prev, j])
            start = min(max(arrival, a) for a, b in data.windows[j] if arrival <= b)
            t = start + int(data.service_s[j])
            assert t <= data.horizon_s
            prev = j
        cost += int(data.arc_cost[prev, data.ends[v]])
        assert t + int(data.travel_s[prev, data.ends[v]]) <= data.horizon_s
    out = set(range(1, data.n_nodes)) - set(served)
    return cost + sum(int(data.drop_penalty[j]) for j in out)


_site = st.tuples(st.integers(-60, 60), st.integers(-60, 60))


@st.composite
def _windows(draw: st.DrawFn) -> list[tuple[int, int]]:
    """One to three windows, sorted, not overlapping, inside [0, 400]."""
    cuts = sorted(draw(st.lists(st.integers(0, 400), min_size=2, max_size=6, unique=True)))
    pairs = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    return pairs or [(0, 400)]


@settings(max_examples=60, deadline=None)
@given(
    sites=st.lists(st.tuples(_site, _windows(), st.integers(1, 4)), min_size=3, max_size=12),
    out=st.sets(st.integers(0, 11), min_size=1, max_size=4),
    capacity=st.integers(4, 30),
)
def test_a_place_is_feasible_exactly_when_the_route_can_be_timed(
    sites: list[tuple[tuple[int, int], list[tuple[int, int]], int]],
    out: set[int],
    capacity: int,
) -> None:
    # Routes built by the Python construction, some orders taken out again; for each of
    # those, the kernel's cheapest place (O(1) per place from the latest starts) against
    # every place tried by re-timing the whole route with the order in it.
    data = _plain(
        [xy for xy, _, _ in sites],
        [w for _, w, _ in sites],
        demand=[q for _, _, q in sites],
        capacity=capacity,
    )
    ins = _insertion(data)
    ins.place(ins.orders, True)
    left = {j + 1 for j in out if j < len(sites)}
    routes = []
    for v, r in enumerate(ins.routes):
        kept = [j for j in r if j not in left]
        routes.append(kept if ins.retime(v, kept) is not None else r)
    unserved = set(range(1, data.n_nodes)) - {j for r in routes for j in r}
    P = _problem(data)
    for j in sorted(unserved):
        load = fastrr.state_of(P, routes)[4]
        c, v, pos = fastrr.best_place(P, routes, j, False)
        best = None
        for w, route in enumerate(routes):
            if load[w] + int(P.demand[j]) > capacity:
                continue
            for k in range(len(route) + 1):
                tried = route[:k] + [j] + route[k:]
                if ins.retime(w, tried) is None:
                    continue
                path = [0, *route, 0]
                extra = int(
                    data.arc_cost[path[k], j]
                    + data.arc_cost[j, path[k + 1]]
                    - data.arc_cost[path[k], path[k + 1]]
                )
                if best is None or extra < best[0]:
                    best = (extra, w, k)
        if best is None:
            assert v == -1
        else:
            assert (c, v, pos) == best


def _grid(n: int, seed: int) -> RoutingInput:
    """``n`` orders at random sites around the depot, random windows of 200, 6 vehicles."""
    rng = np.random.default_rng(seed)
    xy = [(int(x), int(y)) for x, y in rng.integers(-50, 51, size=(n, 2))]
    opens = rng.integers(0, 600, size=n)
    return _plain(
        xy,
        [[(int(a), int(a) + 200)] for a in opens],
        n_vehicles=6,
        horizon=1000,
        demand=[int(q) for q in rng.integers(1, 5, size=n)],
        capacity=100,
    )


def _ruin_and_recreate(data: RoutingInput, moves: int, seed: int) -> list[list[int]]:
    return insertion_routes(
        data,
        improve_s=60.0,
        improve_moves=moves,
        seed=seed,
    )


@settings(max_examples=15, deadline=None)
@given(n=st.integers(8, 40), seed=st.integers(0, 10**6))
def test_the_compiled_moves_keep_every_rule_and_never_worsen(n: int, seed: int) -> None:
    data = _grid(n, seed)
    assert _insertion(data).compiled()
    built = _check(data, _ruin_and_recreate(data, 0, seed))
    improved = _ruin_and_recreate(data, 500, seed)
    assert _check(data, improved) <= built
    assert _ruin_and_recreate(data, 500, seed) == improved  # one seed, one move count: same


def test_the_compiled_moves_serve_what_the_construction_left_out() -> None:
    # One vehicle, horizon 100. Order 1 at (40, 0) opens first and is placed first: out and
    # back takes 80, after which orders 2 and 3 at (-20, 0) and (-25, 0) fit nowhere. Serving
    # 2 and 3 instead (20 + 5 + 25 = 50) leaves one order out instead of two.
    data = _plain(
        [(40, 0), (-20, 0), (-25, 0)],
        [[(0, 45)], [(0, 100)], [(0, 100)]],
        n_vehicles=1,
        service=0,
        horizon=100,
    )
    assert _ruin_and_recreate(data, 0, 0) == [[1]]
    improved = _ruin_and_recreate(data, 200, 3)
    assert sorted(improved[0]) == [2, 3]
    assert _check(data, improved) < _check(data, [[1]])


def test_time_limited_problems_take_the_compiled_moves_and_only_field_ones_anneal_in_cycles() -> (
    None
):
    data = _grid(60, 1)
    assert is_plain(data)
    assert construction(data, SearchParams(time_limit_s=10)) == "insertion"
    assert construction(data, SearchParams(time_limit_s=0.5)) is None  # OR-Tools' own start
    assert cycle_moves(data, SearchParams()) == 0  # the anneal over the clock, as measured
    with_deadline = replace(data, deadline_s=np.full(data.n_nodes, 300, dtype=np.int64))
    with_rest = replace(data, breaks=[[(100, 30)]] + [[]] * 5)
    assert not is_plain(with_deadline) and not is_plain(with_rest)
    assert construction(with_rest, SearchParams(time_limit_s=10)) == "insertion"
    assert construction(with_rest, SearchParams(time_limit_s=0.5)) is None
    assert construction(with_rest, SearchParams(time_limit_s=10, solution_limit=5)) is None
    assert cycle_moves(with_rest, SearchParams()) == 100 * 60


def test_a_plain_problem_is_solved_through_the_compiled_moves() -> None:
    data = _grid(60, 2)
    result = solve(data, SearchParams(time_limit_s=2.0))
    assert result.initial == "insertion"
    assert not result.dropped
    _check(data, [list(r) for r in result.routes])


# --- field-shaped problems: the kernel against the Python moves' timing and costs -----------

DAY = 1000  # a three-day horizon, boundaries at 1000 and 2000


@st.composite
def _field(draw: st.DrawFn) -> Insertion:
    """2-3 vehicles from the depot, rests at night on some (the others pause a second at each
    boundary), 4-10 orders with 1-3 windows, deadlines with late and breach costs on some,
    per-vehicle visit lengths, skills, vehicle-node costs and overtime bands."""
    n_orders = draw(st.integers(4, 10))
    n_v = draw(st.integers(2, 3))
    xy = draw(st.lists(_site, min_size=n_orders, max_size=n_orders))
    pts = np.asarray([(0, 0), *xy], dtype=float)
    d = np.ceil(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    n = n_orders + 1
    horizon = 3 * DAY
    svc = np.asarray([0] + draw(st.lists(st.integers(0, 60), min_size=n_orders, max_size=n_orders)))
    windows: list[list[tuple[int, int]]] = [[]]
    for _ in range(n_orders):
        cuts = sorted(draw(st.lists(st.integers(0, horizon), min_size=2, max_size=6, unique=True)))
        windows.append([(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)])
    rest_at = draw(st.lists(st.sampled_from([None, 700, 800]), min_size=n_v, max_size=n_v))
    breaks = [[] if r is None else [(day * DAY + r, DAY - r) for day in range(3)] for r in rest_at]
    extra = np.asarray(draw(st.lists(st.integers(0, 300), min_size=n_v * n, max_size=n_v * n)))
    visit = svc[None, :] + extra.reshape(n_v, n) * (svc[None, :] > 0)
    deadline = np.full(n, NO_DEADLINE, dtype=np.int64)
    late = np.zeros(n, dtype=np.int64)
    breach = np.zeros(n, dtype=np.int64)
    for j in range(1, n):
        if draw(st.booleans()):
            deadline[j] = draw(st.integers(100, horizon))
            late[j] = draw(st.integers(1, 5))
            breach[j] = draw(st.sampled_from([0, 500]))
    allowed: list[list[int] | None] = [None]
    for _ in range(n_orders):
        sub = draw(st.sets(st.integers(0, n_v - 1), min_size=1, max_size=n_v))
        allowed.append(None if len(sub) == n_v else sorted(sub))
    vnc = None
    if draw(st.booleans()):
        vnc = np.asarray(draw(st.lists(st.integers(0, 40), min_size=n_v * n, max_size=n_v * n)))
        vnc = vnc.reshape(n_v, n)
    bands = [[(day * DAY + 500, day * DAY + 700) for day in range(3)] if b else [] for b in
             draw(st.lists(st.booleans(), min_size=n_v, max_size=n_v))]  # fmt: skip
    data = RoutingInput(
        travel_s=d,
        arc_cost=d,
        service_s=svc,
        starts=[0] * n_v,
        ends=[0] * n_v,
        start_min_s=[0] * n_v,
        start_max_s=[0] * n_v,
        horizon_s=horizon,
        windows=windows,
        allowed_vehicles=allowed,
        drop_penalty=np.full(n, 5000, dtype=np.int64),
        deadline_s=deadline,
        late_cost_per_s=late,
        breaks=breaks,
        vehicle_node_cost=vnc,
        demand=np.asarray([0] + [1] * n_orders, dtype=np.int64),
        capacity=[draw(st.integers(2, 8))] * n_v,
        breach_cost=breach,
        overtime_bands=bands,
        overtime_cost_per_hour=draw(st.sampled_from([0, 3600, 7200])),
    )
    return Insertion(data, visit, [DAY, 2 * DAY], 10**6)


def _python_best(ins: Insertion, j: int, strict: bool) -> int | None:
    """The Python moves' cheapest place of ``j`` (every allowed vehicle with room)."""
    allowed = ins.allowed_vehicles[j]
    cand = np.arange(ins.n_v) if allowed is None else np.asarray(allowed, dtype=np.int64)
    assert ins.cap is not None and ins.demand is not None
    cand = cand[ins.load[cand] + int(ins.demand[j]) <= ins.cap[cand]]
    best = ins._cheapest(j, cand, strict) if cand.size else None
    return None if best is None else best[0]


@settings(max_examples=150, deadline=None)
@given(ins=_field(), out=st.sets(st.integers(1, 10), min_size=1, max_size=4), strict=st.booleans())
def test_the_kernel_times_and_prices_field_routes_as_the_python_moves(
    ins: Insertion, out: set[int], strict: bool
) -> None:
    # Routes by the Python construction, some orders out again: the kernel's service starts
    # and route costs equal the Python ones, and so does each left-out order's cheapest place.
    ins.place(ins.orders, True)
    routes = []
    for v, r in enumerate(ins.routes):
        kept = [j for j in r if j not in out]
        routes.append(kept if ins.retime(v, kept) is not None else r)
    assert ins.take(routes)
    P = ins.problem()
    R, rl, ST, _, _, _ = fastrr.state_of(P, routes)
    for v in range(ins.n_v):
        assert ST[v, : rl[v]].tolist() == ins.times[v]
    assert fastrr.route_cost(P, routes) == [ins.route_cost(v) for v in range(ins.n_v)]
    for j in sorted(set(ins.orders) - {j for r in routes for j in r}):
        c, v, _ = fastrr.best_place(P, routes, j, strict, max_exact=10**6)
        expected = _python_best(ins, j, strict)
        assert (None if v < 0 else c) == expected


def _field_grid(
    n: int, seed: int, overtime_per_hour: int = 3600, overtime_from: int = 600
) -> Insertion:
    """``n`` orders on a three-day plan for 4 vehicles: two rest at night, two pause at the
    boundaries; windows per day, deadlines on half the orders, skills on a third."""
    rng = np.random.default_rng(seed)
    pts = np.asarray([(0, 0), *rng.integers(-50, 51, size=(n, 2)).tolist()], dtype=float)
    d = np.ceil(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    m = n + 1
    svc = np.asarray([0, *rng.integers(5, 30, size=n).tolist()], dtype=np.int64)
    windows = [[]] + [
        [(day * DAY + int(a), day * DAY + int(a) + 300) for day in range(3)]
        for a in rng.integers(0, 400, size=n)
    ]
    deadline = np.where(rng.random(m) < 0.5, rng.integers(300, 3 * DAY, size=m), NO_DEADLINE)
    deadline[0] = NO_DEADLINE
    allowed = [None] + [[int(rng.integers(0, 4))] if rng.random() < 0.3 else None for _ in range(n)]
    data = RoutingInput(
        travel_s=d,
        arc_cost=d,
        service_s=svc,
        starts=[0] * 4,
        ends=[0] * 4,
        start_min_s=[0] * 4,
        start_max_s=[0] * 4,
        horizon_s=3 * DAY,
        windows=windows,
        allowed_vehicles=allowed,
        drop_penalty=np.full(m, 10**5, dtype=np.int64),
        deadline_s=deadline.astype(np.int64),
        late_cost_per_s=np.full(m, 3, dtype=np.int64),
        breaks=[[(day * DAY + 750, 250) for day in range(3)]] * 2 + [[], []],
        demand=np.ones(m, dtype=np.int64),
        capacity=[10**6] * 4,
        breach_cost=np.full(m, 1000, dtype=np.int64),
        overtime_bands=[[(day * DAY + overtime_from, day * DAY + 750) for day in range(3)]] * 4,
        overtime_cost_per_hour=overtime_per_hour,
    )
    return Insertion(data, None, [DAY, 2 * DAY], 40)


def _total(ins: Insertion) -> int:
    served = {j for r in ins.routes for j in r}
    out = sum(int(ins.drop_penalty[j]) for j in ins.orders if j not in served)
    return sum(ins.route_cost(v) for v in range(ins.n_v)) + out


@settings(max_examples=10, deadline=None)
@given(n=st.integers(10, 40), seed=st.integers(0, 10**6))
def test_the_compiled_moves_keep_the_field_rules_and_never_worsen(n: int, seed: int) -> None:
    ins = _field_grid(n, seed)
    ins.place(ins.orders, True)
    built, routes = _total(ins), [r[:] for r in ins.routes]
    assert ins.compiled()
    ins.improve(60.0, seed, True, max_moves=300)
    assert all(ins.retime(v, r) is not None for v, r in enumerate(ins.routes))
    for j in {j for r in ins.routes for j in r}:
        allowed = ins.allowed_vehicles[j]
        assert allowed is None or ins.route_of is None and any(j in ins.routes[v] for v in allowed)
    assert _total(ins) <= built
    again = _field_grid(n, seed)
    assert again.take(routes)
    again.improve(60.0, seed, True, max_moves=300)
    assert again.routes == ins.routes  # one seed, one move count: the same routes


def test_the_warm_up_compiles_the_one_kernel_every_solve_runs() -> None:
    """A second signature would be compiled inside a timed solve (20-35 s on this machine):
    every array the kernel takes is made C-contiguous int64 whatever the caller passes."""
    fastrr.warm_up()
    ins = _field_grid(20, 3)
    ins.place(ins.orders, True)
    ins.improve(60.0, 3, True, max_moves=50)
    _ruin_and_recreate(_grid(30, 1), 50, 1)
    assert len(fastrr._kernel.signatures) == 1


def test_the_moves_report_their_best_routes_as_they_improve() -> None:
    """What the incumbent times and prices during the moves: the best routes so far, each
    report cheaper than the one before it, the last one the routes the moves end with."""
    priced = _field_grid(30, 4, overtime_from=0)
    priced.place(priced.orders, True)
    first = _total(priced)
    seen: list[list[list[int]]] = []
    priced.improve(60.0, 4, True, max_moves=400, on_best=seen.append)
    assert len(seen) >= 1
    assert seen[-1] == priced.routes
    assert _total(priced) < first
    costs = []
    for routes in seen:
        assert priced.take(routes)
        costs.append(_total(priced))
    assert all(a > b for a, b in zip([first, *costs], costs, strict=False))


def test_the_anytime_curve_follows_the_compiled_moves() -> None:
    data = _grid(60, 2)
    seen: list[Progress] = []
    params = SearchParams(time_limit_s=2.0, population=0)  # one anneal (the population's: see
    result = solve(data, params, on_progress=seen.append, progress_every_s=0)  # its tests)
    during = [p for p in seen if p.elapsed_s < 1.5]  # the moves have 95 % of the limit
    assert len(during) >= 3, [(p.elapsed_s, p.objective) for p in seen]
    objectives = [p.objective for p in seen]
    assert all(a > b for a, b in zip(objectives[:-2], objectives[1:-1], strict=True))
    assert objectives[-1] == objectives[-2] == result.objective == result.history[-1][1]
    assert sum(p.on_time == 60 for p in during) >= 2  # no deadlines: every order served counts
    _check(data, [list(r) for r in result.routes])


def test_a_short_limit_keeps_what_the_moves_found() -> None:
    """The moves' time is counted from before the construction, so the restore of their
    result keeps its share of the limit (before: 400 orders at 1 s ran the moves into it,
    the restore failed, and the plan was the bare construction, "quick")."""
    data = _grid(400, 3)
    result = solve(data, SearchParams(time_limit_s=1.0, recreate_share=0.95))
    # What the test is about is the plan, not where OR-Tools' search started: on a loaded
    # machine the restore may find no time left (initial "ortools"), and the plan is still
    # the moves' result, taken by the incumbent, never the bare construction.
    assert result.phase != "insertion", (result.phase, result.initial, result.history)
    assert result.history[-1][1] < result.history[0][1]
    _check(data, [list(r) for r in result.routes])
