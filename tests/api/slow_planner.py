"""A planner for tests of the job machinery: it sleeps out its time limit, reporting progress.

Servers started with ``DISPATCH_PLANNER=slow_planner:plan_problem`` use it. It returns
the real planner's answer (one solution) so stored plans stay genuine; a problem whose
first order id starts with ``FAIL`` makes it raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from dispatcher import planner
from dispatcher.domain import Plan, Problem


@dataclass(frozen=True)
class PlanOptions:
    time_limit_s: float = 10.0
    solution_limit: int | None = None


def plan_problem(
    problem: Problem,
    options: PlanOptions | None = None,
    on_progress: Callable[[planner.PlanProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Plan:
    options = options or PlanOptions()
    started = time.monotonic()
    solutions = 0
    while time.monotonic() - started < options.time_limit_s:
        if should_stop is not None and should_stop():
            break
        time.sleep(0.1)
        solutions += 1
        if on_progress is not None:
            on_progress(
                planner.PlanProgress(time.monotonic() - started, 1000 - solutions, None, solutions)
            )
    if problem.orders and problem.orders[0].id.startswith("FAIL"):
        raise RuntimeError("the slow planner was told to fail")
    return planner.plan_problem(problem, planner.PlanOptions(time_limit_s=5, solution_limit=1))
