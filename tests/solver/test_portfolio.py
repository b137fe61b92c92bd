"""The two-process portfolio (solver/portfolio.py): best objective wins, deterministic."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from solver.portfolio import portfolio_configs, solve_portfolio
from solver.routing import NO_DEADLINE, Progress, RoutingInput, SearchParams, solve


def _instance(n_orders: int, seed: int) -> RoutingInput:
    """Two vehicles at the origin, random points in a 100 x 100 square, windows [0, 400]."""
    rng = np.random.default_rng(seed)
    pts = np.vstack([np.zeros((4, 2)), rng.uniform(0, 100, (n_orders, 2))])
    travel = np.rint(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)))
    travel = travel.astype(np.int64)
    n = len(pts)
    return RoutingInput(
        travel_s=travel,
        arc_cost=travel,
        service_s=np.zeros(n, dtype=np.int64),
        starts=[0, 1],
        ends=[2, 3],
        start_min_s=[0, 0],
        start_max_s=[0, 0],
        horizon_s=1000,
        windows=[[] for _ in range(4)] + [[(0, 400)] for _ in range(n_orders)],
        allowed_vehicles=[None] * n,
        drop_penalty=np.full(n, 10**9, dtype=np.int64),
        deadline_s=np.full(n, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(n, dtype=np.int64),
    )


LIMITED = SearchParams(time_limit_s=60, solution_limit=30, workers=2)


def test_portfolio_configs_differ_and_run_one_process_each() -> None:
    configs = portfolio_configs(SearchParams(workers=3), _instance(8, seed=1))
    assert len(configs) == 3
    assert all(c.workers == 1 for c in configs)
    assert len(set(configs)) == 3
    assert configs[0] == SearchParams()
    # The second searches from the insertion construction with ruin and recreate.
    assert configs[1].initial == "insertion" and configs[1].recreate_share > 0


def test_a_portfolio_from_the_insertion_construction_varies_the_seed() -> None:
    # Worker 0 already starts from the insertion construction (asked, or "auto" on a large
    # problem): worker 1 does too, with other ruin-and-recreate moves.
    for params in (SearchParams(workers=2, initial="insertion", seed=4), SearchParams(workers=2)):
        data = _instance(8 if params.initial == "insertion" else 1000, seed=1)
        first, second = portfolio_configs(params, data)
        assert first == replace(params, workers=1)
        assert second == replace(first, seed=first.seed + 1)


def test_portfolio_returns_the_best_worker_and_is_deterministic() -> None:
    data = _instance(16, seed=5)
    first, second = solve_portfolio(data, LIMITED), solve_portfolio(data, LIMITED)
    assert first.routes == second.routes
    assert first.objective == second.objective
    alone = [solve(data, c) for c in portfolio_configs(LIMITED, data)]
    assert first.objective == min(r.objective for r in alone if r.objective is not None)
    assert first.solutions == sum(r.solutions for r in alone)
    served = sorted(n for r in first.routes for n in r)
    assert served == list(range(4, 20))


def test_workers_in_search_params_runs_the_portfolio() -> None:
    data = _instance(10, seed=2)
    seen: list[Progress] = []
    result = solve(data, LIMITED, on_progress=seen.append, progress_every_s=0)
    assert result.status == "feasible"
    # Two workers of 30 solutions each; the second starts from the insertion construction,
    # whose restore into the model is one solution more.
    assert result.solutions == 2 * 30 + 1
    assert seen and seen[-1].objective == result.objective
    assert result.history and result.history[-1][1] == result.objective


@pytest.mark.parametrize("workers", [0, -1])
def test_workers_must_be_positive(workers: int) -> None:
    with pytest.raises(ValueError, match="workers"):
        SearchParams(workers=workers)
