"""The job runner: an asyncio front over a process pool of solver workers.

Plan and simulation jobs wait in one in-process queue; ``job_workers`` asyncio tasks take them one by one,
claim them in the database (queued → running, so a cancelled job never starts), await the
solve in the process pool, then store the plan or the failure. Progress reports arrive
from the workers through a multiprocessing queue, drained by one thread into the database.
Nothing solves on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.errors import TooBusy
from api.jobs import worker
from api.observability import Metrics
from api.services.plans import PlanService
from api.services.simulations import SimulationService
from api.settings import Settings

log = logging.getLogger("api.jobs")
_STOP = "__stop__"


class JobRunner:
    def __init__(
        self,
        settings: Settings,
        plans: PlanService,
        metrics: Metrics,
        simulations: SimulationService | None = None,
    ) -> None:
        self._settings = settings
        self._plans = plans
        self._simulations = simulations
        self._metrics = metrics
        self._context = multiprocessing.get_context("spawn")
        self._progress: Any = self._context.Queue()
        self._pool: ProcessPoolExecutor | None = None
        self._queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()  # (kind, job id)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._running: set[str] = set()
        self._running_simulations: set[str] = set()
        self._stateless = 0
        self._drainer: threading.Thread | None = None

    @property
    def stateless_cap_s(self) -> float:
        return self._settings.stateless_solve_seconds

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._pool = self._new_pool()
        self._drainer = threading.Thread(
            target=self._drain_progress, name="job-progress", daemon=True
        )
        self._drainer.start()
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
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._running:
            await run_in_threadpool(self._plans.jobs.recover, sorted(self._running))
        if self._running_simulations and self._simulations is not None:
            await run_in_threadpool(
                self._simulations.jobs.recover, sorted(self._running_simulations)
            )
        self._shutdown_pool()
        self._progress.put(_STOP)
        if self._drainer is not None:
            await run_in_threadpool(self._drainer.join, 5)
        self._progress.close()
        self._progress.join_thread()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._settings.job_workers,
            mp_context=self._context,
            initializer=worker.init_worker,
            initargs=(self._settings.planner, self._progress, self._settings.database_url),
        )

    def _shutdown_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # A solve may run for minutes; stopping the service must not wait for it.
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(5)

    # ------------------------------------------------------------------ jobs

    def submit(self, job_id: str, kind: str = "plan") -> None:
        """Queue a job, ``kind`` ``plan`` or ``simulation`` (callable from any thread)."""
        if self._loop is None:
            raise RuntimeError("the job runner is not started")
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (kind, job_id))

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
        claimed = await run_in_threadpool(self._plans.claim, job_id)
        if claimed is None:
            return
        problem, options = claimed
        self._running.add(job_id)
        log.info("job %s: running", job_id, extra={"job_id": job_id})
        try:
            result = await self._solve(job_id, problem, options)
        except worker.SolveFailed as exc:
            log.warning("job %s: failed: %s", job_id, exc, extra={"job_id": job_id})
            await run_in_threadpool(self._plans.jobs.fail, job_id, str(exc))
        except BrokenProcessPool:
            log.error("job %s: solver process died", job_id, extra={"job_id": job_id})
            await run_in_threadpool(self._plans.jobs.fail, job_id, "the solver process died")
        else:
            self._metrics.solve_seconds.observe(result["solve_seconds"])
            progress = {"elapsed_s": round(result["solve_seconds"], 3), "final": True}
            kept = await run_in_threadpool(self._plans.finish, job_id, result["plan"], progress)
            log.info("job %s: %s", job_id, "done" if kept else "result dropped (cancelled)")
        finally:
            self._running.discard(job_id)

    async def _run_simulation(self, job_id: str) -> None:
        simulations = self._simulations
        if simulations is None:
            return
        request = await run_in_threadpool(simulations.claim, job_id)
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
            await run_in_threadpool(simulations.jobs.fail, job_id, str(exc))
        except BrokenProcessPool:
            log.error("simulation %s: process died", job_id, extra={"job_id": job_id})
            await run_in_threadpool(simulations.jobs.fail, job_id, "the simulation process died")
        else:
            await run_in_threadpool(
                simulations.finish, job_id, result["results"], result["progress"]
            )
            log.info("simulation %s: done", job_id, extra={"job_id": job_id})
        finally:
            self._running_simulations.discard(job_id)

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
        """A stateless solve through the same pool; 429 when the pool is saturated."""
        busy = len(self._running) + self._stateless
        if busy >= self._settings.job_queue_limit:
            raise TooBusy(f"{busy} solves in progress; try again later", retry_after_s=5)
        self._stateless += 1
        try:
            result = await self._solve(None, problem, options)
        finally:
            self._stateless -= 1
        self._metrics.solve_seconds.observe(result["solve_seconds"])
        return result

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
            except Exception:  # noqa: BLE001 - progress is best effort
                log.exception("job %s: could not record progress", job_id)
