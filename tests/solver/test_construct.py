"""Cheapest-insertion construction (solver/insertion.py, ``insertion_routes``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.insertion import Insertion, insertion_routes
from solver.routing import NO_DEADLINE, RoutingInput, SearchParams, solve
from solver.timing import Bands, latest_departure, pass_breaks, visit_overtime_s

BIG = 10**9


def _line(
    positions: list[int],
    *,
    n_vehicles: int = 1,
    windows: dict[int, list[tuple[int, int]]] | None = None,
    deadline: dict[int, int] | None = None,
    service: int = 0,
    horizon: int = 1000,
    breaks: list[list[tuple[int, int]]] | None = None,
) -> RoutingInput:
    """Points on a line; vehicle ``v`` runs from node ``v`` to node ``n_vehicles + v``."""
    t = np.asarray([[abs(a - b) for b in positions] for a in positions], dtype=np.int64)
    n, v = len(positions), n_vehicles
    dl = np.full(n, NO_DEADLINE, dtype=np.int64)
    for node, d in (deadline or {}).items():
        dl[node] = d
    svc = np.full(n, service, dtype=np.int64)
    svc[: 2 * v] = 0
    return RoutingInput(
        travel_s=t,
        arc_cost=t,
        service_s=svc,
        starts=list(range(v)),
        ends=list(range(v, 2 * v)),
        start_min_s=[0] * v,
        start_max_s=[0] * v,
        horizon_s=horizon,
        windows=[(windows or {}).get(i, []) for i in range(n)],
        allowed_vehicles=[None] * n,
        drop_penalty=np.full(n, BIG, dtype=np.int64),
        deadline_s=dl,
        late_cost_per_s=np.where(dl >= 0, 1000, 0).astype(np.int64),
        breaks=breaks or [[] for _ in range(v)],
    )


def _insert(data: RoutingInput, **kwargs: Any) -> list[list[int]]:
    return insertion_routes(data, **kwargs)


def test_order_is_inserted_between_two_visits_not_only_appended() -> None:
    # Depot at 0, home at 0; order 2 at 30 (deadline 30) goes first, order 3 at 10 has a later
    # deadline. Appending 3 after 2 costs 30 + 20 + 10 = 60 back home; inserting it before 2
    # costs 10 + 20 + 30 = 60 as well, but serves 3 at 10 and 2 at 30: on time either way, so
    # the cheaper-or-equal first position wins by the stable order; then order 4 at 20 fits
    # between 3 and 2 at no extra cost.
    data = _line([0, 0, 30, 10, 20], deadline={2: 30, 3: 100, 4: 200})
    assert _insert(data) == [[3, 4, 2]]


def test_insertion_keeps_later_visits_inside_their_windows() -> None:
    # Order 2 at 10 must start in [10, 12]; order 3 at -5 would push it to 5 + 15 = 20 if
    # inserted before it (same arc cost both ways), so it goes after: 0 -> 2 (10) -> 3 (25).
    data = _line([0, 0, 10, -5], windows={2: [(10, 12)]}, deadline={2: 12, 3: 500})
    assert _insert(data) == [[2, 3]]


def test_on_time_first_pass_prefers_a_second_vehicle_over_lateness() -> None:
    # Two vehicles; orders 2 and 3 both at 50 with service 40 and deadline 60: one vehicle
    # would serve the second at 90 (late), so each vehicle takes one.
    data = _line([0, 0, 0, 0, 50, 50], n_vehicles=2, deadline={4: 60, 5: 60}, service=40)
    routes = _insert(data)
    assert sorted(map(sorted, routes)) == [[4], [5]]


def test_insertion_start_is_accepted_by_the_model() -> None:
    data = _line(
        [0, 0, 0, 0, 10, 20, 30, 40],
        n_vehicles=2,
        windows={4: [(0, 5), (30, 40)], 6: [(0, 100)]},
        deadline={5: 50, 7: 60},
        service=5,
        breaks=[[(20, 10)], []],
    )
    params = SearchParams(time_limit_s=60, solution_limit=1, initial="insertion")
    result = solve(data, params)
    assert result.initial == "insertion"
    assert sorted(n for r in result.routes for n in r) == [4, 5, 6, 7]
    more = solve(data, replace(params, solution_limit=50, metaheuristic="GREEDY_DESCENT"))
    assert more.objective is not None and result.objective is not None
    assert more.objective <= result.objective


def _cost(data: RoutingInput, routes: list[list[int]]) -> int:
    """The construction's objective, recomputed here: arcs (home included), lateness
    (no breach cost in these fixtures), drop penalties of the orders left out."""
    starts = route_starts_of(data, routes)
    cost = 0
    for v, route in enumerate(routes):
        if not route:
            continue
        path = [data.starts[v], *route, data.ends[v]]
        cost += sum(int(data.arc_cost[a, b]) for a, b in zip(path, path[1:], strict=False))
        for node, s in zip(route, starts[v], strict=True):
            dl = int(data.deadline_s[node])
            if dl != NO_DEADLINE and s > dl:
                cost += (s - dl) * int(data.late_cost_per_s[node])
    served = {n for r in routes for n in r}
    cost += sum(int(data.drop_penalty[n]) for n in data.order_nodes() if n not in served)
    return cost


def route_starts_of(data: RoutingInput, routes: list[list[int]]) -> list[list[int]]:
    """Earliest starts on a line without breaks: travel, then wait for the window."""
    out = []
    for v, route in enumerate(routes):
        t, prev, starts = data.start_min_s[v], data.starts[v], []
        for node in route:
            t += int(data.travel_s[prev, node])
            wins = data.windows[node] or [(0, data.horizon_s)]
            t = min(max(t, a) for a, b in wins if t <= b)  # raises if no window is left
            starts.append(t)
            t += int(data.service_s[node])
            prev = node
        assert t + int(data.travel_s[prev, data.ends[v]]) <= data.horizon_s
        out.append(starts)
    return out


def test_ruin_and_recreate_trades_one_far_order_for_two_near_ones() -> None:
    # One vehicle at 0, horizon 100, home at 0. Order 2 at 40 has the earliest deadline (45)
    # and is placed first: 0 -> 40 -> 0 takes 80. Orders 3 at -20 and 4 at -25 then fit
    # nowhere: after 2 the way is 40 + 60 (+5) and back 20 (> 100), before 2 it would be
    # 20 + 60 = 80 to reach it and 40 back (> 100). Serving 3 and 4 instead takes
    # 20 + 5 + 25 = 50 and leaves one drop instead of two: ruin and recreate finds it.
    data = _line([0, 0, 40, -20, -25], deadline={2: 45, 3: 100, 4: 100}, horizon=100)
    built = _insert(data)
    assert built == [[2]]
    improved = _insert(data, improve_s=30.0, improve_moves=200, seed=3)
    assert sorted(improved[0]) == [3, 4]
    assert _cost(data, improved) < _cost(data, built)


def test_places_that_would_push_a_later_visit_into_a_rest_are_not_simulated() -> None:
    # Order 2 (at 10, window [10, 22], 6 s) alone starts at 10. Order 3 (at 5, 6 s) before
    # it adds no travel but pushes it to 16, its visit into the rest [20, 30), so to 30:
    # past its window. The bound must rule that place out (the latest start clear of the
    # rest is 14), or with one exact simulation the order finds no place; after it, the
    # vehicle rests on the way (leaves 16, 4 s to the rest, arrives 31).
    data = _line([0, 20, 10, 5], windows={2: [(10, 22)]}, service=6, breaks=[[(20, 10)]])
    ins = _insertion(data)
    ins.max_exact = 1
    assert ins.take([[2]])
    assert ins._positions(0)[5].tolist() == [14, 1000]
    assert ins.insert(3, False)
    assert ins.routes == [[2, 3]]
    assert ins.times == [[10, 31]]


def test_a_ruin_and_recreate_puts_the_dearest_order_back_first() -> None:
    # One vehicle has time for one of two orders at one place (50 s each, 10 s away, horizon
    # 80). It serves the low one (drop 1,000); the high one (10,000) is out. One move takes
    # both out (they are each other's neighbours) and must put the high one back first,
    # whatever the seed: in a random order it would lose the place to the low one half the
    # time.
    data = replace(
        _line([0, 0, 10, 10], service=50, horizon=80),
        drop_penalty=np.asarray([0, 0, 1_000, 10_000], dtype=np.int64),
    )
    for seed in range(8):
        ins = _insertion(data)
        assert ins.take([[2]])
        assert ins.improve(10.0, seed, on_time_first=False, max_moves=1) == 1
        assert ins.routes == [[3]], seed


def test_the_latest_departure_inverts_the_travel_through_rests() -> None:
    rests = [(100, 50)]
    assert latest_departure(200, 30, rests) == 170  # all after the rest
    assert latest_departure(160, 30, rests) == 80  # 20 s before it, 10 s after
    assert latest_departure(120, 30, rests) == 70  # cannot arrive inside it: by its start
    assert latest_departure(90, 30, rests) == 60  # all before it
    assert pass_breaks(80, 30, rests) == 160 and pass_breaks(81, 30, rests) == 161


@settings(max_examples=200, deadline=None)
@given(
    gaps=st.lists(st.tuples(st.integers(0, 30), st.integers(1, 30)), max_size=5),
    travel=st.integers(1, 80),
    arrive_by=st.integers(0, 250),
)
def test_the_latest_departure_is_exact(
    gaps: list[tuple[int, int]], travel: int, arrive_by: int
) -> None:
    # Rests as (gap before, length), so sorted and apart (or touching, as a boundary pause
    # right after a break): the latest departure arrives in time, one second later does not.
    rests, t = [], 0
    for gap, length in gaps:
        rests.append((t + gap, length))
        t += gap + length
    leave = latest_departure(arrive_by, travel, rests)
    assert pass_breaks(leave, travel, rests) <= arrive_by
    assert pass_breaks(leave + 1, travel, rests) > arrive_by


@settings(max_examples=40, deadline=None)
@given(
    positions=st.lists(st.integers(-60, 60), min_size=3, max_size=10),
    deadlines=st.lists(st.integers(0, 300), min_size=10, max_size=10),
    narrow=st.lists(st.booleans(), min_size=10, max_size=10),
    horizon=st.integers(80, 300),
    seed=st.integers(0, 1000),
)
def test_ruin_and_recreate_never_worsens_and_keeps_every_rule(
    positions: list[int],
    deadlines: list[int],
    narrow: list[bool],
    horizon: int,
    seed: int,
) -> None:
    n_v = 2
    pos = [0] * (2 * n_v) + positions
    orders = range(2 * n_v, len(pos))
    windows = {
        node: [(abs(pos[node]), abs(pos[node]) + 15)] for k, node in enumerate(orders) if narrow[k]
    }
    deadline = {node: deadlines[k] for k, node in enumerate(orders)}
    data = _line(
        pos, n_vehicles=n_v, windows=windows, deadline=deadline, service=3, horizon=horizon
    )
    data = replace(data, drop_penalty=np.full(len(pos), 10**6, dtype=np.int64))
    built = _insert(data)
    improved = _insert(data, improve_s=30.0, improve_moves=30, seed=seed)
    served = [n for r in improved for n in r]
    assert len(served) == len(set(served)) and set(served) <= set(orders)
    route_starts_of(data, improved)  # every visit inside a window, every route home in time
    assert _cost(data, improved) <= _cost(data, built)


def test_given_routes_are_improved_when_asked_and_kept_when_they_cannot_be_timed() -> None:
    # The fixture of the far/near trade above, started from the routes the construction
    # builds ([[2]]): the solver's ruin and recreate on given routes finds [[3, 4]] (order).
    data = _line([0, 0, 40, -20, -25], deadline={2: 45, 3: 100, 4: 100}, horizon=100)
    params = SearchParams(time_limit_s=2.0, recreate_given=True, recreate_share=0.5)
    result = solve(data, params, initial_routes=[[2]])
    assert result.initial == "given"
    assert sorted(result.routes[0]) == [3, 4]
    # Routes this module cannot time (2 -> 3 -> 4 ends after the horizon) come back as given.
    assert _insert(data, improve_s=1.0, initial_routes=[[2, 3, 4]]) == [[2, 3, 4]]


def test_overtime_of_a_route_is_its_travel_and_service_inside_the_bands() -> None:
    # Bands [100, 160), [205, 215) and [300, 400). Start at node 0 at t=50; visit A: 40 s of
    # travel (50-90), service 90-130 (30 s in a band); visit B: travel 130-200 (30 s in a
    # band), wait, service 320-350 (all 30 s in a band). Overtime 30, then 30 + 30.
    bands = Bands([(100, 160), (205, 215), (300, 400)])
    assert bands.within(0, 1000) == 170 and bands.within(150, 310) == 30
    assert bands.within(120, 110) == 0
    travel = np.asarray([[0, 40, 0], [40, 0, 70], [0, 70, 0]], dtype=np.int64)
    service = np.asarray([0, 40, 30], dtype=np.int64)
    assert visit_overtime_s([1, 2], [90, 320], 0, 50, travel, service, [], bands) == [30, 60]
    # A rest 165-205 pauses the travel to B: 130-165, then 205-240, 10 s more in a band.
    rest = [(165, 40)]
    assert visit_overtime_s([1, 2], [90, 320], 0, 50, travel, service, rest, bands) == [30, 70]


def test_the_construction_prices_overtime() -> None:
    # Vehicle 0 (at 0) and vehicle 1 (at -30) reach an order at 10 with a 20-s service; the
    # order opens at 50. Vehicle 0's band [60, 100) would hold 10 s of its service (50-70):
    # at 360 an hour, 1 in cost, against 80 - 20 = 60 more in arcs for vehicle 1 -> vehicle 0.
    # At 36,000 an hour the 10 s cost 100: vehicle 1 serves.
    data = _line([0, -30, 0, -30, 10], n_vehicles=2, windows={4: [(50, 60)]}, service=20)
    bands = [[(60, 100)], []]
    cheap = replace(data, overtime_bands=bands, overtime_cost_per_hour=360)
    dear = replace(data, overtime_bands=bands, overtime_cost_per_hour=36_000)
    assert _insert(cheap) == [[4], []]
    assert _insert(dear) == [[], [4]]
    routes = _insert(dear, improve_s=0.2)
    assert routes == [[], [4]]


def test_a_given_route_that_cannot_be_timed_is_kept_and_the_others_are_improved() -> None:
    # Vehicle 0's given route 0 -> 50 -> 55 -> 0 ends at 110, past the horizon of 100 (OR-Tools
    # checks visit lengths more loosely than this module, so such routes come from its plans):
    # it is kept as given, its orders stay on it. Vehicle 1's 0 -> -20 -> 10 -> -10 -> 0 zig-zags
    # (80); the ruin and recreate straightens it to 60 without touching vehicle 0.
    data = _line([0, 0, 0, 0, 50, 55, -20, 10, -10], n_vehicles=2, horizon=100)
    routes = _insert(data, improve_s=0.5, initial_routes=[[4, 5], [6, 7, 8]])
    assert routes[0] == [4, 5]
    assert sorted(routes[1]) == [6, 7, 8]
    path = [1, *routes[1], 3]
    assert sum(int(data.arc_cost[a, b]) for a, b in zip(path, path[1:], strict=False)) == 60


def _insertion(data: RoutingInput) -> Insertion:
    # No visit lengths or boundaries; 40 exact places.
    return Insertion(data)


def test_empty_vehicles_of_one_kind_are_tried_once() -> None:
    # Three vehicles from one depot (node 0, home 0) with the same shift and capacity are one
    # kind; a fourth with a larger capacity is another. An order of demand 3 fits only the
    # large one: it must still be offered although the first empty vehicle stands for its kind.
    t = np.asarray([[abs(a - b) for b in (0, 10, 20)] for a in (0, 10, 20)], dtype=np.int64)
    data = RoutingInput(
        travel_s=t,
        arc_cost=t,
        service_s=np.zeros(3, dtype=np.int64),
        starts=[0] * 4,
        ends=[0] * 4,
        start_min_s=[0] * 4,
        start_max_s=[0] * 4,
        horizon_s=1000,
        windows=[[], [], []],
        allowed_vehicles=[None] * 3,
        drop_penalty=np.full(3, BIG, dtype=np.int64),
        deadline_s=np.full(3, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(3, dtype=np.int64),
        breaks=[[] for _ in range(4)],
        demand=np.asarray([0, 1, 3], dtype=np.int64),
        capacity=[2, 2, 2, 5],
    )
    ins = _insertion(data)
    assert ins.kinds == 2
    ins.place(ins.orders, True)
    assert ins.routes == [[1], [], [], [2]]


def test_granular_insertion_falls_back_to_every_route() -> None:
    # Vehicle 0 (at 0) serves orders 4 and 5 (at 5 and 6) and rests 100-200; order 6 at 7
    # must start within [150, 160], inside that rest. Its neighbours are all on vehicle 0,
    # so the ruin and recreate's first try (the neighbours' routes) finds no place; vehicle 1
    # (at 100, serving order 7 at 100) can wait for the window: the order goes there.
    data = _line(
        [0, 100, 0, 100, 5, 6, 7, 100],
        n_vehicles=2,
        windows={6: [(150, 160)]},
        horizon=400,
        breaks=[[(100, 100)], []],
    )
    ins = _insertion(data)
    assert ins.take([[4, 5], [7]])
    ins.near = np.zeros((8, 3), dtype=np.int64)
    ins.near[6] = [6, 4, 5]
    ins.route_of = np.asarray([-1, -1, -1, -1, 0, 0, -1, 1], dtype=np.int64)
    assert ins.insert(6, False)
    assert ins.routes == [[4, 5], [6, 7]] or ins.routes == [[4, 5], [7, 6]]
    assert ins.route_of[6] == 1


def test_places_that_would_break_a_later_window_are_not_simulated() -> None:
    # One vehicle from 0 to 20 serves order 2 (at 10, window [10, 10]); order 3 at 5 takes 10 s.
    # Before order 2 it adds no travel but order 2 would start at 20: only after it (10 more)
    # is feasible. With one exact simulation per insertion, the bound must already rule the
    # first place out (the next visit's latest arrival), or the order finds no place at all.
    data = _line([0, 20, 10, 5], windows={2: [(10, 10)]}, service=10)
    ins = _insertion(data)
    ins.max_exact = 1
    assert ins.take([[2]])
    assert ins.insert(3, False)
    assert ins.routes == [[2, 3]]
    assert ins.times == [[10, 25]]


@settings(max_examples=40, deadline=None)
@given(
    positions=st.lists(st.integers(-60, 60), min_size=3, max_size=10),
    starts=st.lists(st.integers(0, 200), min_size=10, max_size=10),
    two=st.lists(st.booleans(), min_size=10, max_size=10),
    rest=st.integers(0, 150),
    horizon=st.integers(80, 300),
)
def test_the_latest_arrival_bound_never_rules_out_a_feasible_place(
    positions: list[int], starts: list[int], two: list[bool], rest: int, horizon: int
) -> None:
    # Random windows (some orders with two), a rest on vehicle 0, service 3: every place of
    # every served order that the exact simulation accepts meets its bound (_positions).
    n_v = 2
    pos = [0] * (2 * n_v) + positions
    orders = list(range(2 * n_v, len(pos)))
    windows = {
        node: [(starts[k], starts[k] + 20)] + ([(starts[k] + 60, starts[k] + 90)] if two[k] else [])
        for k, node in enumerate(orders)
    }
    data = _line(
        pos,
        n_vehicles=n_v,
        windows=windows,
        service=3,
        horizon=horizon,
        breaks=[[(rest, rest + 10)], []],
    )
    ins = _insertion(data)
    ins.place(ins.orders, False)
    checked: list[int] = []
    for v, route in enumerate([r[:] for r in ins.routes]):
        for j in route:
            if not ins.remove(v, [j]):
                continue  # the route cannot be timed without it
            for w in range(n_v):
                table = ins._positions(w)
                for p in range(table.shape[1]):
                    sim = ins.simulate(w, p, j)
                    if sim is None:
                        continue
                    arrival = (
                        sim[1][0] + int(data.service_s[j]) + int(data.travel_s[j, table[2, p]])
                    )
                    assert arrival <= table[5, p]
                    checked.append(p)
            assert ins.take([r if u != v else route for u, r in enumerate(ins.routes)])
    assert len(checked) >= sum(len(r) for r in ins.routes)  # each order fits back where it was
