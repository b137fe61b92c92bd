"""The incumbent and the exact timing: every candidate is timed by the rules, repaired where it
breaks them (its other routes and visits kept), and only a cheaper plan replaces the best."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import model, routing, search
from solver.incumbent import Incumbent, Progress
from solver.problem import NO_DEADLINE, RoutingInput
from solver.routing import SearchParams, solve


def _two_vehicles_one_hole() -> RoutingInput:
    """Two vehicles on a line, horizon 150, one boundary at 100 (orders 2 and 3 reopen
    there; every other window closes by 90, so no service straddles it and the rewrite turns
    the hole before it into a one-second break and a visit length).

    Nodes 0/1: vehicle 0 start/end at 0; 4/5: vehicle 1 start/end at 0.
    Order 2 (at 50, 10 s) may start in [0, 40] or [100, 105]; order 3 (at 55, 10 s) in
    [0, 90] or [100, 110]. Orders 6 (at 20) and 7 (at 30), 10 s each, in [0, 90].

    Vehicle 0 on [2, 3]: reached at 50, order 2 really starts at 101 (the hole [41, 99]), ends
    at 111; order 3 is reached at 116, after its last window: it cannot follow, and order 2
    alone gets home at 161, past the horizon. Vehicle 1 on [6, 7]: 6 at 20-30, 7 at 40-50,
    home at 80.
    """
    pos = [0, 0, 50, 55, 0, 0, 20, 30]
    t = np.asarray([[abs(a - b) for b in pos] for a in pos], dtype=np.int64)
    n = len(pos)
    windows: list[list[tuple[int, int]]] = [[], [], [(0, 40), (100, 105)], [(0, 90), (100, 110)]]
    windows += [[], [], [(0, 90)], [(0, 90)]]
    return RoutingInput(
        travel_s=t,
        arc_cost=t,
        service_s=np.asarray([0, 0, 10, 10, 0, 0, 10, 10], dtype=np.int64),
        starts=[0, 4],
        ends=[1, 5],
        start_min_s=[0, 0],
        start_max_s=[0, 0],
        horizon_s=150,
        windows=windows,
        allowed_vehicles=[None] * n,
        drop_penalty=np.full(n, 10_000, dtype=np.int64),
        deadline_s=np.full(n, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(n, dtype=np.int64),
        breaks=[[], []],
    )


def test_a_route_exploiting_a_window_hole_is_repaired_and_every_other_route_is_kept() -> None:
    data = _two_vehicles_one_hole()
    m = routing.build(data)
    assert m.time.boundaries == [100]  # the hole is a visit length OR-Tools may not enforce
    timing = routing.exact_timing(m, data)
    plan, removed = timing.plan([[2, 3], [6, 7]], "search")
    assert plan.routes[1] == [6, 7] and plan.starts_s[1] == [20, 40]  # untouched
    assert plan.routes[0] == [] and removed == [2, 3]  # 3 cannot follow 2; 2 alone ends late
    # Arcs of vehicle 1 (20 + 10 + 30) and two orders left out (10,000 each).
    assert plan.objective == 60 + 20_000 and plan.repaired == 2

    seen: list[Progress] = []

    def reinsert(routes: list[list[int]], out: list[int]) -> list[list[int]]:
        return model.original(m, search._greedy(m, "insertion", initial=routes, insert=out))

    inc = Incumbent(timing, 0.0, seen.append, 0.0, reinsert)
    assert inc.offer([[2, 3], [6, 7]], "search")
    best = inc.best
    assert best is not None and best.routes[1][:2] == [6, 7]  # its visits kept, in order
    # Order 3 fits after them (75-85, home at 141): the repair placed it again; order 2
    # cannot be served at all (its second window ends too late to get home).
    assert 3 in best.served() and 2 not in best.served()
    assert inc.counts.repaired == 1 and best.phase == "search"
    for v, r in enumerate(best.routes):
        assert timing.starts(v, r) == best.starts_s[v]
    assert seen[-1].objective == best.objective


def test_solve_never_returns_a_visit_inside_a_window_hole() -> None:
    data = _two_vehicles_one_hole()
    seen: list[Progress] = []
    result = solve(data, SearchParams(time_limit_s=1), on_progress=seen.append)
    timing = routing.exact_timing(routing.build(data), data)
    for v, r in enumerate(result.routes):
        assert timing.starts(v, r) == result.start_s[v]
    assert 2 not in {j for r in result.routes for j in r}
    assert seen[-1].objective == result.objective == min(o for _, o in result.history)


def test_the_incumbent_moves_only_to_a_cheaper_plan_and_reports_what_it_holds() -> None:
    data = _two_vehicles_one_hole()
    timing = routing.exact_timing(routing.build(data), data)
    seen: list[Progress] = []
    inc = Incumbent(timing, 0.0, seen.append, 0.0)
    assert inc.offer([[], [6, 7]], "greedy")  # 60 + 2 x 10,000
    assert not inc.offer([[], [7, 6]], "search")  # 30 + 10 + 20: as dear, not cheaper
    assert inc.offer([[3], [6, 7]], "search")  # order 3 served: 110 + 60 + 10,000
    assert not inc.offer([[], []], "polish")
    best = inc.finish()
    assert best is not None and best.routes == [[3], [6, 7]] and best.phase == "search"
    assert [p.objective for p in seen] == [20_060, 10_170, 10_170]
    assert inc.counts.as_dict() == {"offered": 4, "improving": 2, "repaired": 0, "rejected": 2}


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(2, 9),
    seed=st.integers(0, 10**6),
    rests=st.booleans(),
)
def test_repair_keeps_only_exactly_timed_visits_and_loses_no_order(
    n: int, seed: int, rests: bool
) -> None:
    """Any routes at all (random orders on random vehicles, windows with holes, rests): the
    repaired plan's routes time exactly (windows, rests, horizon, the way home) and every
    order is kept or taken out, exactly once."""
    rng = np.random.default_rng(seed)
    pos = [0, 0, 0, 0] + [int(x) for x in rng.integers(1, 60, size=n)]
    size = len(pos)
    t = np.asarray([[abs(a - b) for b in pos] for a in pos], dtype=np.int64)
    windows: list[list[tuple[int, int]]] = [[] for _ in range(4)]
    for _ in range(n):
        a = int(rng.integers(0, 150))
        windows.append([(a, a + 40), (a + 80, a + 120)] if rng.random() < 0.5 else [])
    breaks = [[(100, 30)], []] if rests else [[], []]
    data = RoutingInput(
        travel_s=t,
        arc_cost=t,
        service_s=np.asarray([0] * 4 + [int(x) for x in rng.integers(1, 30, size=n)]),
        starts=[0, 2],
        ends=[1, 3],
        start_min_s=[0, 0],
        start_max_s=[0, 0],
        horizon_s=300,
        windows=windows,
        allowed_vehicles=[None] * size,
        drop_penalty=np.full(size, 1000, dtype=np.int64),
        deadline_s=np.full(size, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(size, dtype=np.int64),
        breaks=breaks,
    )
    orders = list(range(4, size))
    perm = [int(j) for j in rng.permutation(orders)]
    cut = int(rng.integers(0, n + 1))
    timing = routing.exact_timing(routing.build(data), data)
    plan, removed = timing.plan([perm[:cut], perm[cut:]], "given")
    assert sorted([*plan.served(), *removed]) == orders
    for v, route in enumerate(plan.routes):
        st_v = timing.starts(v, route)
        assert st_v == plan.starts_s[v]
        rest = breaks[v]
        for j, s in zip(route, plan.starts_s[v], strict=True):
            end = s + int(data.service_s[j])
            assert end <= data.horizon_s
            assert not windows[j] or any(a <= s <= b for a, b in windows[j])
            assert all(end <= r or s >= r + d for r, d in rest)
    assert plan.objective >= len(removed) * 1000
