"""The last seconds of the ruin and recreate cooled by the clock (solver/fastrr_cycle.py,
``cool_share`` of :func:`solver.fastrr.improve`)."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver import fastrr
from solver.fastrr_cycle import fit_to_clock
from tests.solver.test_fastrr import _field_grid, _total

pytestmark = pytest.mark.skipif(not fastrr.AVAILABLE, reason="numba is not installed")


def test_a_cycle_ahead_of_the_clock_keeps_its_moves_schedule() -> None:
    # Half its moves made, a tenth of its seconds gone: the moves' schedule stands.
    assert fit_to_clock(0.5, 1e-3, 0.0, 10.0, 100.0, 50.0) == (0.5, 1e-3)


def test_a_cycle_behind_the_clock_cools_by_it() -> None:
    # A tenth of its moves, half its seconds: half-way cooled; a move is 1 / (100 a s x 100 s).
    assert fit_to_clock(0.1, 1e-5, 0.0, 50.0, 100.0, 100.0) == (0.5, 1e-4)


@settings(max_examples=50, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(0, 0.05), st.floats(0, 1.0)), min_size=2, max_size=30),
    span=st.floats(1.0, 100.0),
)
def test_the_temperature_never_rises_within_a_cycle(
    steps: list[tuple[float, float]], span: float
) -> None:
    """Moves and seconds only grow, so the progress (and the cooling) only grows."""
    p_moves, into, last = 0.0, 0.0, 0.0
    for dp_moves, ds in steps:
        p_moves, into = min(1.0, p_moves + dp_moves), min(span, into + ds)
        p, _ = fit_to_clock(p_moves, 1e-6, 0.2, into, span, 1000.0)
        assert p >= last and p >= p_moves
        last = p


def _schedule(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the annealing progress each kernel call starts at (the real kernel runs)."""
    seen: list[float] = []
    kernel = fastrr._kernel

    def recorded(moves: int, seed: int, p0: float, *rest: Any) -> int:
        seen.append(p0)
        return int(kernel(moves, seed, p0, *rest))

    monkeypatch.setattr(fastrr, "_kernel", recorded)
    return seen


@pytest.mark.parametrize("cool", [1.0, 0.0])
def test_a_cycle_longer_than_the_limit_ends_cold_only_with_a_cooled_tail(
    monkeypatch: pytest.MonkeyPatch, cool: float
) -> None:
    """A cycle of a billion moves under a 0.5-s limit: cooled by the clock from the start,
    its last moves run at least half-way cooled (the chunks aim at 0.05 s); without, they
    ran as hot as its first."""
    fastrr.warm_up()
    ins = _field_grid(30, 5)
    ins.place(ins.orders, True)
    built = _total(ins)
    seen = _schedule(monkeypatch)
    monkeypatch.setattr(fastrr, "improve", functools.partial(fastrr.improve, cool_share=cool))
    ins.improve(0.5, 5, True, cycle_moves=10**9)
    assert len(seen) >= 2
    if cool:
        assert seen[-1] >= 0.5, seen
    else:
        assert seen[-1] < 1e-3, seen
    assert all(ins.retime(v, r) is not None for v, r in enumerate(ins.routes))
    assert _total(ins) <= built


@pytest.mark.parametrize("seed", [1, 2])
def test_move_bounded_runs_are_the_same_with_and_without_a_cooled_tail(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """A run bounded by its moves (tests, the solution-limited plans) does not read the
    clock's schedule: the same routes either way."""
    fastrr.warm_up()
    routes = []
    improve = fastrr.improve
    for cool in (0.5, 0.0):
        ins = _field_grid(30, seed)
        ins.place(ins.orders, True)
        monkeypatch.setattr(fastrr, "improve", functools.partial(improve, cool_share=cool))
        ins.improve(60.0, seed, True, max_moves=400, cycle_moves=100)
        routes.append(ins.routes)
    assert routes[0] == routes[1]
