"""What runs inside a solver process.

Each process of the pool is initialised once with the planner's import path and a queue
for progress reports. Only plain data crosses the process boundary: a Problem document in,
a Plan document out, and errors as strings (domain exceptions are not all picklable).
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Any

from dispatcher.codec import plan_to_dict, problem_from_dict

PROGRESS_EVERY_S = 0.5


class SolveFailed(Exception):
    """A solve failed; the message says why (always picklable)."""


CANCEL_CHECK_EVERY_S = 1.0


class _WorkerState:
    """Per-process state set by :func:`init_worker` (each pool process has its own)."""

    planner_path: str = "dispatcher.planner:plan_problem"
    progress: Queue | None = None
    database_url: str | None = None
    engine: Any = None


def init_worker(planner_path: str, progress: Queue | None, database_url: str | None = None) -> None:
    _WorkerState.planner_path = planner_path
    _WorkerState.progress = progress
    _WorkerState.database_url = database_url


def _cancel_watch(job_id: str | None) -> Callable[[], bool] | None:
    """True once the job's row says cancelled; asks the database at most once a second.

    The database, not a signal, carries the cancel: the request may have reached another
    uvicorn worker than the one whose pool runs the solve.
    """
    if job_id is None or _WorkerState.database_url is None:
        return None
    import sqlalchemy as sa

    from api.persistence.db import create_db_engine
    from api.persistence.models import PlanJobRow

    if _WorkerState.engine is None:
        _WorkerState.engine = create_db_engine(_WorkerState.database_url)
    engine = _WorkerState.engine
    query = sa.select(PlanJobRow.state).where(PlanJobRow.id == job_id)
    last = [time.monotonic()]
    stopped = [False]

    def should_stop() -> bool:
        now = time.monotonic()
        if stopped[0] or now - last[0] < CANCEL_CHECK_EVERY_S:
            return stopped[0]
        last[0] = now
        with engine.connect() as conn:
            stopped[0] = conn.execute(query).scalar_one_or_none() == "cancelled"
        return stopped[0]

    return should_stop


def load_planner(path: str) -> tuple[Callable[..., Any], type]:
    """``module:function`` → (function, the module's ``PlanOptions``)."""
    module_name, _, func_name = path.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, func_name), module.PlanOptions


def _progress_reporter(job_id: str | None) -> Callable[[Any], None] | None:
    queue = _WorkerState.progress
    if job_id is None or queue is None:
        return None
    last = [0.0]

    def report(progress: Any) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        queue.put_nowait((job_id, progress_dict(progress)))

    return report


def progress_dict(progress: Any) -> dict[str, Any]:
    return {
        "elapsed_s": round(float(progress.elapsed_s), 3),
        "best_cost": int(progress.best_cost),
        "on_time": progress.on_time,
        "solutions": int(progress.solutions),
    }


def solve(
    job_id: str | None, problem_document: dict[str, Any], options: dict[str, Any]
) -> dict[str, Any]:
    """Solve one Problem document: ``{"plan": Plan document, "solve_seconds": float}``."""
    try:
        plan_problem, plan_options = load_planner(_WorkerState.planner_path)
        problem = problem_from_dict(problem_document)
        extra = {}
        if "mode" in inspect.signature(plan_options).parameters:
            extra["mode"] = options.get("mode", "full")
        opts = plan_options(
            time_limit_s=float(options["time_limit_s"]),
            solution_limit=options.get("solution_limit"),
            **extra,
        )
        started = time.perf_counter()
        stop = _cancel_watch(job_id)
        if stop is None or "should_stop" not in inspect.signature(plan_problem).parameters:
            plan = plan_problem(problem, opts, _progress_reporter(job_id))
        else:
            plan = plan_problem(problem, opts, _progress_reporter(job_id), should_stop=stop)
        seconds = time.perf_counter() - started
        return {"plan": plan_to_dict(plan), "solve_seconds": seconds}
    except Exception as exc:  # noqa: BLE001 - every failure becomes the job's error text
        raise SolveFailed(f"{type(exc).__name__}: {exc}") from None


def simulate(job_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Run one simulation request: ``{"results": results.json document, "progress": …}``.

    The replications run one after another in this pool process (``workers=1``); each
    finished replication is reported as ``("simulation", job_id, progress)``.
    """
    try:
        from api.documents import scenario_from_request
        from dispatcher.whatif.report import simulation_to_dict
        from dispatcher.whatif.simulate import compare, headcount_search, run_tasks, tasks_for

        scenario = scenario_from_request(request)
        tasks = tasks_for(scenario)
        progress = {"replications_done": 0, "replications_total": len(tasks)}
        queue = _WorkerState.progress

        def report(phase: str) -> None:
            if queue is not None:
                queue.put_nowait(("simulation", job_id, {**progress, "phase": phase}))

        def one_done(_result: Any) -> None:
            progress["replications_done"] += 1
            report("replications")

        results = run_tasks(tasks, 1, None, one_done)
        comparison = compare(results)
        search = None
        if scenario.search is not None:
            report("search")
            search = headcount_search(scenario, 1)
        return {
            "results": simulation_to_dict(scenario, results, comparison, search),
            "progress": {**progress, "phase": "done"},
        }
    except Exception as exc:  # noqa: BLE001 - every failure becomes the job's error text
        raise SolveFailed(f"{type(exc).__name__}: {exc}") from None
