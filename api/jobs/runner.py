"""The job runner: an asyncio front over a process pool of solver workers.

Plan and simulation jobs wait in one in-process queue; ``job_workers`` asyncio tasks take them one by one,
claim them in the database (queued → running, so a cancelled job never starts), await the
solve in the process pool, then store the plan or the failure. Progress reports arrive
from the workers through a multiprocessing queue, drained by one thread into the database.
Nothing solves on the event loop.

Stateless solves (``POST /v1/solve``) have a pool of their own, ``solve_workers``
processes, so they never wait behind a long plan or simulation job; when all of them are
busy the request is refused at once (429 with ``Retry-After``), never queued.

A finished job's result (or failure) is stored even across a database restart: the write
is retried while the database is unavailable, for up to ``BOOKKEEPING_RETRY_S``.

With ``DISPATCH_JOB_EXECUTOR=queue`` the same class plays two other parts
(:mod:`api.jobs.queue`): in an API process it keeps only the stateless pool, and
:meth:`submit` puts a job's task on the procrastinate queue instead of running it; in a
``dispatch worker`` (``worker_id`` given) it keeps only the job pool, and the queue's tasks
call :meth:`run_job`, which claims the job under the worker's lease.

Every pool process dies with this process (:func:`api.jobs.worker.die_with_parent`); an API
process that is itself a child of a supervisor (``uvicorn --workers N``) dies with the
supervisor the same way, so that a SIGKILL of the server leaves no solver behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from api.errors import TooBusy
from api.jobs import worker
from api.observability import Metrics
from api.problems import database_unavailable
from api.services.plans import PlanService
from api.services.simulations import SimulationService
from api.settings import Settings

log = logging.getLogger("api.jobs")
_STOP = "__stop__"
BOOKKEEPING_RETRY_S = 300.0
T = TypeVar("T")


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        plans: PlanService,
        metrics: Metrics,
        simulations: SimulationService | None = None,
        worker_id: str | None = None,
    ) -> None:
        self._settings = settings
        self.worker_id = worker_id  # set: a ``dispatch worker``'s runner
        self._queued = worker_id is None and settings.job_executor == "queue"
        self._queue_app: Any = None  # the procrastinate app an API process defers through
        self._draining = False
        self._plans = plans
        self._simulations = simulations
        self._metrics = metrics
        self._context = multiprocessing.get_context("spawn")
        self._progress: Any = self._context.Queue()
        self._pool: ProcessPoolExecutor | None = None
        self._solve_pool: ProcessPoolExecutor | None = None  # stateless solves only
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (kind, job id)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[str] = set()
        self._running_simulations: set[str] = set()
        self._stateless: dict[int, float] = {}  # solve → when its time limit ends (monotonic)
        self._stateless_ids = 0
        self._drainer: threading.Thread | None = None

    @property
    def stateless_cap_s(self) -> float:
        return self._settings.stateless_solve_seconds

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if multiprocessing.parent_process() is not None:
            # A uvicorn worker process (``--workers N``): die with the supervisor.
            worker.die_with_parent(os.getppid())
        self._loop = asyncio.get_running_loop()
        if self._queued:
            from api.jobs import tasks as job_tasks

            self._queue_app = job_tasks.make_app(self._settings.database_url, max_size=2)
            await self._queue_app.open_async()
        if not self._queued:
            self._pool = self._new_pool()
        if self.worker_id is None:
            self._solve_pool = self._new_solve_pool()
        self._drainer = threading.Thread(
            target=self._drain_progress, name="job-progress", daemon=True
        )
        self._drainer.start()
        if self._queued or self.worker_id is not None:
            return  # the queue's workers (and their sweep) take the queued jobs
        self._tasks = [
            asyncio.create_task(self._work(), name=f"job-worker-{i}")
            for i in range(self._settings.job_workers)
        ]
        for job_id in await run_in_threadpool(self._plans.jobs.queued_ids):
            self._queue.put_nowait(("plan", job_id))
        if self._simulations is not None:
            for job_id in await run_in_threadpool(self._simulations.jobs.queued_ids):
                self._queue.put_nowait(("simulation", job_id))

    async def stop(self) -> None:
        self._draining = True
        # Taken before the tasks are cancelled: each one forgets its job as it unwinds.
        running, simulations = sorted(self._running), sorted(self._running_simulations)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if running:
            await run_in_threadpool(self._plans.jobs.recover, running)
        if simulations and self._simulations is not None:
            await run_in_threadpool(self._simulations.jobs.recover, simulations)
        pools = (self._pool, self._solve_pool)
        self._pool = self._solve_pool = None
        for pool in pools:
            self._shutdown_pool(pool)
        self._progress.put(_STOP)
        if self._drainer is not None:
            await run_in_threadpool(self._drainer.join, 5)
        self._progress.close()
        self._progress.join_thread()
        if self._queue_app is not None:
            await self._queue_app.close_async()
            self._queue_app = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._settings.job_workers,
            mp_context=self._context,
            initializer=worker.init_worker,
            initargs=(
                self._settings.planner,
                self._progress,
                self._settings.database_url,
                os.getpid(),
            ),
        )

    def _new_solve_pool(self) -> ProcessPoolExecutor:
        # No progress queue and no database: a stateless solve reports and stores nothing.
        return ProcessPoolExecutor(
            max_workers=self._settings.solve_workers,
            mp_context=self._context,
            initializer=worker.init_worker,
            initargs=(self._settings.planner, None, None, os.getpid()),
        )

    @staticmethod
    def _shutdown_pool(pool: ProcessPoolExecutor | None) -> None:
        """Stop ``pool`` without waiting for its solves."""
        if pool is None:
            return
        # A solve may run for minutes; stopping the service must not wait for it.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(5)

    # ------------------------------------------------------------------ jobs

    def submit(self, job_id: str, kind: str = "plan") -> None:
        """Queue a job, ``kind`` ``plan`` or ``simulation`` (callable from any thread).

        With the queue executor its task goes on the procrastinate queue, after the job's
        row committed; a task lost on the way (the database went away, this process died)
        is queued again by a worker's sweep, which finds the job still queued."""
        if self._loop is None:
            raise RuntimeError("the job runner is not started")
        if self._queue_app is None:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, job_id))
            return
        from api.jobs import tasks as job_tasks

        deferred = asyncio.run_coroutine_threadsafe(
            job_tasks.defer(self._queue_app, kind, job_id), self._loop
        )

        def check(done: Future[Any]) -> None:
            if not done.cancelled() and done.exception() is not None:
                log.warning(
                    "%s %s: not queued (%s); a worker's sweep will queue it",
                    kind,
                    job_id,
                    type(done.exception()).__name__,
                    extra={"job_id": job_id},
                )

        deferred.add_done_callback(check)

    async def run_job(self, kind: str, job_id: str) -> None:
        """Run one job in this ``dispatch worker`` (a queue task): claim it under this
        worker's lease, solve, store the outcome. A job no longer queued is left alone."""
        if self._draining:
            return  # stopping: the job stays queued and the sweep queues it again
        if kind == "simulation":
            await self._run_simulation(job_id)
        else:
            await self._run(job_id)

    def running_ids(self) -> tuple[list[str], list[str]]:
        """The plan jobs and the simulations running here now."""
        return sorted(self._running), sorted(self._running_simulations)

    async def _work(self) -> None:
        while True:
            kind, job_id = await self._queue.get()
            try:
                if kind == "simulation":
                    await self._run_simulation(job_id)
                else:
                    await self._run(job_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one job's bookkeeping error must not stop the worker
                log.exception("job %s: bookkeeping failed", job_id)

    async def _run(self, job_id: str) -> None:
        claimed = await run_in_threadpool(self._plans.claim, job_id, self.worker_id)
        if claimed is None:
            return
        problem, options = claimed
        self._running.add(job_id)
        log.info("job %s: running", job_id, extra={"job_id": job_id})
        try:
            result = await self._solve(job_id, problem, options)
        except worker.SolveFailed as exc:
            log.warning("job %s: failed: %s", job_id, exc, extra={"job_id": job_id})
            await self._bookkeep(job_id, self._plans.jobs.fail, job_id, str(exc))
        except BrokenProcessPool:
            log.error("job %s: solver process died", job_id, extra={"job_id": job_id})
            await self._bookkeep(job_id, self._plans.jobs.fail, job_id, "the solver process died")
        else:
            self._metrics.solve_seconds.observe(result["solve_seconds"])
            progress = {"elapsed_s": round(result["solve_seconds"], 3), "final": True}
            kept = await self._bookkeep(
                job_id, self._plans.finish, job_id, result["plan"], progress
            )
            log.info("job %s: %s", job_id, "done" if kept else "result dropped (cancelled)")
        finally:
            self._running.discard(job_id)

    async def _run_simulation(self, job_id: str) -> None:
        simulations = self._simulations
        if simulations is None:
            return
        request = await run_in_threadpool(simulations.claim, job_id, self.worker_id)
        if request is None:
            return
        self._running_simulations.add(job_id)
        log.info("simulation %s: running", job_id, extra={"job_id": job_id})
        try:
            if self._pool is None:
                raise worker.SolveFailed("the job runner is stopped")
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(self._pool, worker.simulate, job_id, request)
            except BrokenProcessPool:
                self._pool = self._new_pool()
                raise
        except worker.SolveFailed as exc:
            log.warning("simulation %s: failed: %s", job_id, exc, extra={"job_id": job_id})
            await self._bookkeep(job_id, simulations.jobs.fail, job_id, str(exc))
        except BrokenProcessPool:
            log.error("simulation %s: process died", job_id, extra={"job_id": job_id})
            await self._bookkeep(
                job_id, simulations.jobs.fail, job_id, "the simulation process died"
            )
        else:
            await self._bookkeep(
                job_id, simulations.finish, job_id, result["results"], result["progress"]
            )
            log.info("simulation %s: done", job_id, extra={"job_id": job_id})
        finally:
            self._running_simulations.discard(job_id)

    async def _bookkeep(self, job_id: str, write: Callable[..., T], *args: Any) -> T:
        """``write(*args)`` in the thread pool, retried while the database is unavailable
        (a restart, a failover) for up to ``BOOKKEEPING_RETRY_S``: a finished solve's result
        must not be lost to it, nor its job left ``running`` for ever."""
        delay = 0.5
        deadline = time.monotonic() + BOOKKEEPING_RETRY_S
        while True:
            try:
                return await run_in_threadpool(write, *args)
            except Exception as exc:
                if not database_unavailable(exc) or time.monotonic() >= deadline:
                    raise
                log.warning(
                    "job %s: database unavailable (%s); storing the outcome again in %g s",
                    job_id,
                    type(exc).__name__,
                    delay,
                    extra={"job_id": job_id},
                )
            await asyncio.sleep(delay)
            delay = min(2 * delay, 10.0)

    async def _solve(
        self, job_id: str | None, problem: dict[str, Any], options: dict[str, Any]
    ) -> dict[str, Any]:
        if self._pool is None:
            raise worker.SolveFailed("the job runner is stopped")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, worker.solve, job_id, problem, options)
        except BrokenProcessPool:
            self._pool = self._new_pool()
            raise

    async def solve_now(self, problem: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
        """A stateless solve in the stateless pool; 429 (:class:`TooBusy`) when each of its
        ``solve_workers`` processes is busy.

        A slot is held until the solve's process is free again, not until the request
        ends: a client that gives up does not let the next solve queue behind its own.
        """
        capacity = self._settings.solve_workers
        if len(self._stateless) >= capacity:
            raise TooBusy(
                f"the {capacity} stateless solver process(es) of this server are busy; "
                "try again later",
                retry_after_s=self._stateless_retry_after(),
            )
        pool = self._solve_pool
        if pool is None:
            raise worker.SolveFailed("the job runner is stopped")
        self._stateless_ids += 1
        slot = self._stateless_ids
        self._stateless[slot] = time.monotonic() + float(options["time_limit_s"])
        try:
            future = pool.submit(worker.solve, None, problem, options)
        except BrokenProcessPool:
            del self._stateless[slot]
            self._replace_solve_pool(pool)
            raise worker.SolveFailed("the solver process died") from None
        loop = asyncio.get_running_loop()

        def release(_done: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: the service stopped
                loop.call_soon_threadsafe(self._stateless.pop, slot, None)

        future.add_done_callback(release)
        try:
            result: dict[str, Any] = await asyncio.wrap_future(future)
        except BrokenProcessPool:
            self._replace_solve_pool(pool)
            raise worker.SolveFailed("the solver process died") from None
        self._metrics.solve_seconds.observe(result["solve_seconds"])
        return result

    def _stateless_retry_after(self) -> int:
        """Whole seconds until the first busy stateless solve reaches its time limit (≥ 1)."""
        now = time.monotonic()
        return max(1, math.ceil(min(self._stateless.values(), default=now) - now))

    def _replace_solve_pool(self, broken: ProcessPoolExecutor) -> None:
        if self._solve_pool is broken:
            self._solve_pool = self._new_solve_pool()
            self._shutdown_pool(broken)

    # ------------------------------------------------------------------ progress

    def _drain_progress(self) -> None:
        while True:
            try:
                item = self._progress.get(timeout=1.0)
            except queue.Empty:
                continue
            except (EOFError, OSError):
                return
            if item == _STOP:
                return
            # A plan's report is (job id, progress); a simulation's ("simulation", id, progress).
            *kind, job_id, progress = item
            try:
                if not kind:
                    self._plans.jobs.record_progress(job_id, progress)
                elif self._simulations is not None:
                    self._simulations.jobs.record_progress(job_id, progress)
            except Exception as exc:  # noqa: BLE001 - progress is best effort
                if database_unavailable(exc):
                    log.warning("job %s: progress not recorded: database unavailable", job_id)
                else:
                    log.exception("job %s: could not record progress", job_id)
