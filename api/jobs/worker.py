"""What runs inside a solver process.

Each process of the pool is initialised once with the planner's import path and a queue
for progress reports. Only plain data crosses the process boundary: a Problem document in,
a Plan document out, and errors as strings (domain exceptions are not all picklable).

Every pool process dies with the API process that started it (:func:`die_with_parent`):
a SIGKILLed server must not leave solvers burning CPU to their time limits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib
import inspect
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.queues import Queue
from typing import Any

from dispatcher.codec import plan_to_dict, problem_from_dict

PROGRESS_EVERY_S = 0.5
PARENT_CHECK_EVERY_S = 1.0
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

log = logging.getLogger("api.jobs")


class SolveFailed(Exception):
    """A solve failed; the message says why (always picklable)."""


CANCEL_CHECK_EVERY_S = 1.0


class _WorkerState:
    """Per-process state set by :func:`init_worker` (each pool process has its own)."""

    planner_path: str = "dispatcher.planner:plan_problem"
    progress: Queue | None = None
    database_url: str | None = None
    engine: Any = None


def init_worker(
    planner_path: str,
    progress: Queue | None,
    database_url: str | None = None,
    parent_pid: int | None = None,
) -> None:
    """The pool's initializer: remember the planner, the progress queue and the database,
    and die with ``parent_pid`` (the API process that made the pool)."""
    if parent_pid is not None:
        die_with_parent(parent_pid)
    lower_priority()
    _WorkerState.planner_path = planner_path
    _WorkerState.progress = progress
    _WorkerState.database_url = database_url


# Solver processes run this much nicer than the API process that started them: on a few
# shared cores a plan job then takes the CPU the API leaves, not the API's (intake and
# reads keep their latency while a job runs; docs/api.md, "Load while a plan job runs").
# ``DISPATCH_SOLVER_NICENESS=0`` keeps them at the API's priority (benchmarks compare both).
SOLVER_NICENESS = 19


def lower_priority() -> None:
    """Make this solver process ``DISPATCH_SOLVER_NICENESS`` (default
    :data:`SOLVER_NICENESS`) nicer than it was started."""
    increment = int(os.environ.get("DISPATCH_SOLVER_NICENESS", SOLVER_NICENESS))
    if increment <= 0:
        return
    try:
        os.nice(increment)
    except OSError:  # not permitted here: the solver runs at the API's priority
        log.warning("could not lower the solver process's priority")


def die_with_parent(parent_pid: int) -> None:
    """End this process as soon as ``parent_pid``, its parent, is gone, however it went.

    On Linux the kernel sends SIGKILL on the parent's death (``prctl(PR_SET_PDEATHSIG)``):
    it works even while the solver holds the GIL in native code. Everywhere, a daemon
    thread also checks ``os.getppid()`` every second and exits when the process has been
    re-parented. A parent that died before this call is noticed at once.
    """
    if sys.platform.startswith("linux"):
        _set_pdeathsig(signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="parent-watch", daemon=True
    ).start()


def _set_pdeathsig(signum: int) -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0:
            return True
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    except (OSError, AttributeError) as exc:
        log.warning("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)
    return False


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_EVERY_S)
    os._exit(1)


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
        try:
            with engine.connect() as conn:
                stopped[0] = conn.execute(query).scalar_one_or_none() == "cancelled"
        except sa.exc.SQLAlchemyError as exc:  # the database is away: keep solving, ask later
            log.warning("job %s: cannot read the cancel flag: %s", job_id, type(exc).__name__)
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
