"""SISR in the compiled moves (solver/fastrr_sisr.py, ``SearchParams.sisr``): strings of
consecutive visits through the chosen visit, split strings keeping a block inside, and the
moves with split strings and blinks keeping every rule, deterministic for a seed."""

from __future__ import annotations

import numpy as np
import pytest

from solver import fastrr
from solver.fastrr_sisr import cut_string
from solver.insertion import Insertion
from tests.solver.test_fastrr import _check, _grid

pytestmark = pytest.mark.skipif(not fastrr.AVAILABLE, reason="numba is not installed")


def _runs(positions: list[int]) -> list[list[int]]:
    """Consecutive runs of sorted positions."""
    runs: list[list[int]] = []
    for p in positions:
        if runs and runs[-1][-1] == p - 1:
            runs[-1].append(p)
        else:
            runs.append([p])
    return runs


@pytest.mark.parametrize("n", [1, 2, 5, 17])
def test_a_string_is_consecutive_visits_through_the_chosen_one(n: int) -> None:
    route = np.arange(100, 100 + n, dtype=np.int64)
    R = np.zeros((2, n + 1), dtype=np.int64)
    R[1, :n] = route
    tmp, seg = np.empty(n + 1, dtype=np.int64), np.empty(n + 1, dtype=np.int64)
    for k in range(n):
        for _ in range(30):
            keep, cut = cut_string(R, 1, n, k, 10, 0.0, tmp, seg)
            assert keep + cut == n and 1 <= cut <= min(n, 10)
            assert sorted([*tmp[:keep], *seg[:cut]]) == route.tolist()
            pos = [int(x) - 100 for x in seg[:cut]]
            assert _runs(pos) == [pos] and k in pos  # one run, through position k
            assert [int(x) - 100 for x in tmp[:keep]] == sorted(set(range(n)) - set(pos))


def test_a_split_string_keeps_a_block_strictly_inside_it() -> None:
    n = 20
    R = np.arange(n, dtype=np.int64)[None, :].copy()
    tmp, seg = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    splits = 0
    for k in range(n):
        for _ in range(20):
            keep, cut = cut_string(R, 0, n, k, 8, 1.0, tmp, seg)
            pos = [int(x) for x in seg[:cut]]
            assert 1 <= cut <= 8 and keep + cut == n
            runs = _runs(pos)
            assert len(runs) <= 2
            if len(runs) == 2:  # two runs around the visits that stay, none at an end
                splits += 1
                assert runs[0][-1] + 1 < runs[1][0]
            else:
                assert cut == 1  # a string of one visit cannot be split
    assert splits > 0


def _improved(seed: int, sisr: bool, moves: int) -> tuple[list[list[int]], int]:
    data = _grid(40, seed)
    ins = Insertion(data)
    ins.place(ins.orders, True)
    before = _check(data, ins.routes)
    ins.sisr = sisr
    ins.improve(60.0, seed, True, max_moves=moves)
    after = _check(data, ins.routes)  # every window, the capacity and the horizon
    assert after <= before
    return ins.routes, after


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_moves_with_split_strings_and_blinks_keep_every_rule_and_repeat(seed: int) -> None:
    routes, _ = _improved(seed, True, 3000)
    again, _ = _improved(seed, True, 3000)
    assert routes == again


def test_strings_may_be_longer_on_long_routes_with_sisr_only() -> None:
    data = _grid(40, 1)
    ins = Insertion(data)
    ins.routes = [list(range(1, 41))] + [[] for _ in range(5)]  # one route of 40 visits
    assert ins._max_string() == 10
    ins.sisr = True
    assert ins._max_string() == 20
