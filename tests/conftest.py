"""Shared test helpers: every solver output in tests goes through the independent checker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from dispatcher.check import check_plan, format_violations
from dispatcher.codec import load_problem
from dispatcher.domain import Plan, Problem
from dispatcher.planner import PlanOptions, plan_problem

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Tests bound the search by solution count (deterministic), with greedy descent so that a
# tiny problem stops at its local optimum instead of running to the time cap.
TEST_OPTIONS = PlanOptions(time_limit_s=60, solution_limit=200, metaheuristic="GREEDY_DESCENT")


def _solve_checked(problem: Problem, options: PlanOptions | None = None) -> Plan:
    plan = plan_problem(problem, options or TEST_OPTIONS)
    hard = [v for v in check_plan(problem, plan) if v.hard]
    assert not hard, "checker found violations:\n" + format_violations(hard)
    return plan


@pytest.fixture
def solve_checked() -> Callable[..., Plan]:
    """Plan a problem and fail the test if the independent checker finds a hard violation."""
    return _solve_checked


@pytest.fixture
def fixture_problem() -> Callable[[str], Problem]:
    def load(name: str) -> Problem:
        return load_problem(FIXTURES / name)

    return load
