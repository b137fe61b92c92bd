"""The population search (solver/population.py): SREX children repaired into feasible plans
serving every order once, broken-pairs distances, determinism under a move bound, and plans
through the whole solve that the independent checker accepts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dispatcher.check import check_plan
from dispatcher.codec import problem_from_dict
from dispatcher.compile import compile_problem
from dispatcher.decode import decode
from dispatcher.generate import generate_problem
from solver import fastrr, population
from solver.insertion import Insertion, insertion_routes
from solver.routing import Progress, SearchParams, solve
from solver.strategy import population_size
from solver.thresholds import Thresholds
from tests.solver.test_fastrr import _check, _grid, _problem

pytestmark = pytest.mark.skipif(not fastrr.AVAILABLE, reason="numba is not installed")


def _neighbours(ins: Insertion) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    orders = np.asarray(ins.orders, dtype=np.int64)
    sub = ins.travel_s[np.ix_(orders, orders)]
    near = orders[np.argsort(sub + sub.T, axis=1, kind="stable")[:, :11]]
    row = np.full(int(ins.travel_s.shape[0]), -1, dtype=np.int64)
    row[orders] = np.arange(orders.size)
    return orders, near, row


def _two_parents(n: int, seed: int) -> tuple[Insertion, list[list[int]], list[list[int]]]:
    data = _grid(n, seed)
    a = insertion_routes(data, improve_s=60.0, improve_moves=300, seed=1)
    b = insertion_routes(data, improve_s=60.0, improve_moves=300, seed=2)
    ins = Insertion(data)
    return ins, a, b


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_repaired_srex_child_is_feasible_and_serves_every_order_exactly_once(
    seed: int,
) -> None:
    ins, a, b = _two_parents(40, seed)
    grid = _grid(40, seed)
    P = _problem(grid)
    orders, near, row = _neighbours(ins)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        child = population.srex(a, b, ins.kind, P.allowed, near, row, rng)
        served = [j for r in child for j in r]
        assert len(served) == len(set(served))  # no order twice, even before the repair
        fixed = population.repair(P, grid.drop_penalty, child, orders, rng)
        served = [j for r in fixed for j in r]
        assert sorted(served) == sorted(orders.tolist())  # every order, once
        _check(grid, fixed)  # every window, capacity and the horizon, independently
        fastrr.state_of(P, fixed)  # and the kernel times every route


def test_a_child_keeps_the_routes_of_the_first_parent_it_takes() -> None:
    ins, a, b = _two_parents(40, 5)
    P = _problem(_grid(40, 5))
    _, near, row = _neighbours(ins)
    child = population.srex(a, b, ins.kind, P.allowed, near, row, np.random.default_rng(0))
    from_a = [r for r in a if r and r in child]
    assert from_a, "no route of A in the child"
    kept_b = [r for r in child if r and r not in a]
    for r in kept_b:  # B's routes, less the orders A's routes brought
        moved = {j for ra in from_a for j in ra}
        assert not moved & set(r)


def test_broken_pairs_is_zero_for_the_same_routes_and_counts_changed_arcs() -> None:
    orders = np.arange(1, 7)
    a = [[1, 2, 3], [4, 5, 6]]
    same = [[4, 5, 6], [], [1, 2, 3]]  # other vehicles, the same routes
    flipped = [[3, 2, 1], [4, 5, 6]]  # a route reversed: the same arcs but the end ones
    moved = [[1, 2], [3, 4, 5, 6]]  # 2 -> 3 broken and 3 now leads to 4: two arcs of A
    n = 7
    sa = population.successors(a, n)
    assert population.broken_pairs(sa, population.successors(same, n), orders) == 0.0
    flip = population.broken_pairs(sa, population.successors(flipped, n), orders)
    assert 0.0 < flip <= 1 / 6 + 1e-12  # only 3 -> end, which B has as start -> 3
    assert population.broken_pairs(sa, population.successors(moved, n), orders) == 2 / 6


def _evolve(data_seed: int, seed: int, moves: int) -> tuple[list[list[int]], int]:
    data = _grid(40, data_seed)
    ins = Insertion(data)
    ins.place(ins.orders, True)
    ins.population = 4
    done = ins.improve(60.0, seed, True, max_moves=moves)
    return ins.routes, done


def test_the_population_is_deterministic_for_a_seed_and_a_move_bound() -> None:
    first, moves = _evolve(7, 3, 6000)
    again, moves_again = _evolve(7, 3, 6000)
    assert moves == moves_again == 6000
    assert first == again


def test_the_population_never_ends_worse_than_its_start_and_keeps_every_rule() -> None:
    for seed in (1, 2):
        data = _grid(40, seed)
        ins = Insertion(data)
        ins.place(ins.orders, True)
        before = _check(data, ins.routes)
        ins.population = 4
        ins.improve(60.0, seed, True, max_moves=4000)
        assert _check(data, ins.routes) <= before


def test_the_population_runs_where_the_moves_anneal_over_the_clock_only() -> None:
    plain = _grid(30, 1)
    assert population_size(plain, SearchParams(population=5)) == 5
    assert population_size(plain, SearchParams()) == 6  # the default
    assert population_size(plain, SearchParams(population=0)) == 0
    few = replace(Thresholds(), population_up_to_orders=29)
    assert population_size(plain, SearchParams(population=5, thresholds=few)) == 0
    field = problem_from_dict(generate_problem(orders=30, engineers=4, seed=1))
    data = compile_problem(field).data  # its moves anneal in cycles of moves: no population
    assert population_size(data, SearchParams(population=5)) == 0
    with pytest.raises(ValueError, match="population"):
        SearchParams(population=-1)


def test_a_field_plan_from_the_population_passes_the_checker() -> None:
    # A field problem (rests, deadlines, skills) with its moves annealing over the clock, so
    # the population runs them; the plan decoded from the solve passes the independent
    # checker whatever the machine's speed (no assertion on the time or the cost).
    problem = problem_from_dict(generate_problem(orders=60, engineers=8, seed=3))
    compiled = compile_problem(problem)
    params = SearchParams(
        time_limit_s=2,
        initial="insertion",
        population=4,
        sisr=True,
        thresholds=replace(Thresholds(), cycle_moves_per_order=0),
    )
    assert population_size(compiled.data, params) == 4
    result = solve(compiled.data, params)
    plan = decode(compiled, result.routes, result.status, {})
    assert [str(v) for v in check_plan(problem, plan) if v.hard] == []


def test_the_anytime_curve_of_the_population_falls_and_ends_at_the_result() -> None:
    data = _grid(60, 2)
    seen: list[Progress] = []
    result = solve(
        data, SearchParams(time_limit_s=2.0), on_progress=seen.append, progress_every_s=0
    )
    objectives = [p.objective for p in seen]
    assert len(objectives) >= 2 and objectives[-1] < objectives[0]
    assert all(a > b for a, b in zip(objectives[:-2], objectives[1:-1], strict=True))
    assert objectives[-1] == result.objective == result.history[-1][1]
    _check(data, [list(r) for r in result.routes])
