"""The insertion construction against the clock (solver/bounded.py): past its deadline the
compiled placing serves what the one-by-one one does and the plan passes the checker; a
deadline never reached changes nothing."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from dispatcher.check import check_plan
from dispatcher.codec import problem_from_dict
from dispatcher.compile import Compiled, compile_problem
from dispatcher.decode import decode
from dispatcher.generate import generate_problem
from solver import fastrr
from solver.bounded import SETUP_S_PER_PAIR, construct, moves_left, place_compiled
from solver.insertion import Insertion, insertion_routes
from solver.model import build, original
from solver.params import SearchParams
from solver.problem import ParamError
from solver.routing import solve
from solver.search import _construction_inputs, _greedy
from solver.thresholds import Thresholds

pytestmark = pytest.mark.skipif(not fastrr.AVAILABLE, reason="numba is not installed")

PAST = 0.0  # perf_counter() is past it from the start: every order is placed compiled
NEVER = math.inf


def _field(orders: int = 60, engineers: int = 8, seed: int = 3) -> Compiled:
    """A generated field problem: rests, deadlines, skills, several windows per order."""
    return compile_problem(problem_from_dict(generate_problem(orders, engineers, seed=seed)))


def _constructed(compiled: Compiled, deadline: float | None) -> list[list[int]]:
    """The search's insertion construction on the built model, no ruin and recreate."""
    m = build(compiled.data, SearchParams())
    try:
        return original(m, _greedy(m, "insertion", deadline=deadline))
    finally:
        m.release()


def _hard(compiled: Compiled, routes: list[list[int]]) -> list[str]:
    plan = decode(compiled, routes, "feasible", {})
    return [str(v) for v in check_plan(compiled.problem, plan) if v.hard]


@pytest.mark.parametrize("seed", [3, 4])
def test_a_construction_past_its_deadline_serves_what_the_one_by_one_serves(seed: int) -> None:
    compiled = _field(seed=seed)
    hurried = _constructed(compiled, PAST)
    one_by_one = _constructed(compiled, None)
    served = sorted(j for r in hurried for j in r)
    assert served == sorted(j for r in one_by_one for j in r)
    assert len(served) == len(set(served)) and served  # every order at most once
    assert _hard(compiled, hurried) == []


def test_a_deadline_never_reached_gives_the_unbounded_construction() -> None:
    compiled = _field(seed=5)
    unbounded = _constructed(compiled, None)
    assert _constructed(compiled, NEVER) == unbounded
    assert any(unbounded)


def test_the_compiled_placing_puts_the_orders_left_from_the_one_by_one() -> None:
    # Half the orders one by one, the other half compiled: every order served, each once,
    # and the routes timed by the exact rules (take() would refuse them otherwise).
    compiled = _field(seed=3)
    m = build(compiled.data, SearchParams())
    try:
        inputs, visit = _construction_inputs(m)
        ins = Insertion(inputs, visit, m.time.boundaries)
        half = len(ins.orders) // 2
        ins.place(ins.orders[:half], True)
        first = sum(len(r) for r in ins.routes)
        place_compiled(ins, ins.orders[half:], True)
        served = [j for r in ins.routes for j in r]
        assert first <= half < len(served) and len(served) == len(set(served))
        assert all(ins.retime(v, r) == ins.times[v] for v, r in enumerate(ins.routes))
        assert _hard(compiled, ins.routes) == []  # order nodes (the constructions' input)
    finally:
        m.release()


def test_the_compiled_placing_keeps_the_construction_order_and_on_time_places_first() -> None:
    # On a plain grid (no deadlines) both placings put every order; the kernel's places
    # are the Python ones' (same rules and costs): the same routes where no tie falls
    # otherwise, and in any case the same orders served.
    from tests.solver.test_fastrr import _check, _grid

    data = _grid(40, 2)
    ins = Insertion(data)
    construct(ins, True, PAST)
    reference = insertion_routes(data)
    assert sorted(j for r in ins.routes for j in r) == sorted(j for r in reference for j in r)
    _check(data, ins.routes)


def test_a_time_limited_solve_whose_construction_hurries_from_the_start_passes_the_checker() -> (
    None
):
    # construct_share 0: every order goes to the compiled placing. The plan depends on the
    # machine's speed after that (ruin and recreate, search by time); only its validity is
    # asserted.
    compiled = _field(seed=4)
    params = SearchParams(
        time_limit_s=1.0,
        initial="insertion",
        thresholds=replace(Thresholds(), construct_share=0.0),
    )
    result = solve(compiled.data, params)
    assert result.status != "no_solution"
    assert _hard(compiled, result.routes) == []


def test_after_a_hurried_construction_the_moves_run_only_past_their_set_up() -> None:
    # 5,000 orders: the neighbour lists' set-up is estimated at 2.5 s.
    setup_s = SETUP_S_PER_PAIR * 5000 * 5000
    assert moves_left(1.0, None, 5000) == 1.0  # no deadline: as before
    assert moves_left(1.0, NEVER, 5000) == 1.0  # not hurried: as before
    assert moves_left(setup_s * 0.9, PAST, 5000) == 0.0
    assert moves_left(setup_s * 1.1, PAST, 5000) == setup_s * 1.1


def test_construction_shares_are_shares() -> None:
    with pytest.raises(ParamError, match="construct_share"):
        Thresholds(construct_share=1.0)
    with pytest.raises(ParamError, match="offer_time_share"):
        Thresholds(offer_time_share=1.5)
    with pytest.raises(ParamError, match="construct_share"):
        Thresholds(construct_share=-0.1)


def test_with_too_little_time_left_for_the_search_the_constructed_routes_are_the_plan() -> None:
    # search_min_s above the whole limit: after the construction (and its ruin and recreate)
    # there is never enough time to restore the routes into OR-Tools and search from them,
    # so OR-Tools reports no solution and the plan is the construction's, checked clean.
    compiled = _field(seed=5)
    params = SearchParams(
        time_limit_s=1.0,
        initial="insertion",
        thresholds=replace(Thresholds(), search_min_s=3600.0),
    )
    result = solve(compiled.data, params)
    assert result.status != "no_solution"
    assert result.initial == "insertion"
    assert result.solutions == 0
    assert _hard(compiled, result.routes) == []
    with pytest.raises(ParamError, match="search_min_s"):
        Thresholds(search_min_s=-1.0)
