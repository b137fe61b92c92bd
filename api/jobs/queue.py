"""Jobs on a PostgreSQL task queue (``DISPATCH_JOB_EXECUTOR=queue``): procrastinate.

An API process stores a plan or simulation job as always, then defers one procrastinate
task naming it (:func:`defer`). ``dispatch worker`` processes, on this machine or any other
that reaches the database, run procrastinate workers (:func:`run_worker`); a task claims
its job row (queued → running, so a cancelled job never starts) under the worker's lease
and solves it in a solver process of the worker, through the same
:class:`~api.jobs.runner.JobRunner` code as the pool executor: progress, cancel checks and
the stored result are the same.

Leases. A running job's row names its worker (``worker_id``) and the worker renews the
row's ``heartbeat_at`` every ``job_lease_seconds / 5`` (the database's clock). Every worker
sweeps as often: it fails, as ``worker lost``, a running job whose lease is older than
``job_lease_seconds`` (its worker was killed, or cut off from the database that long),
and queues again a job still queued after a lease (its task was lost between the job's
commit and the defer). procrastinate's own worker heartbeats say which of its tasks were
left ``doing`` by a dead worker; the sweep ends those as failed once their job is settled.
Nothing here runs at an API process's start-up, so any number of API replicas start and
stop without touching the jobs of the others.

Process lifetime: the solver processes of a worker die with it (PR_SET_PDEATHSIG), and the
workers ``dispatch serve`` starts itself (``DISPATCH_LOCAL_WORKERS``) die with ``serve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import uuid
from typing import Any

from procrastinate import exceptions as pq_exceptions
from procrastinate import jobs as pq_jobs
from starlette.concurrency import run_in_threadpool

from api.jobs import worker as solver_process
from api.jobs.runner import JobRunner
from api.jobs.tasks import KINDS, QUEUE, defer, make_app
from api.observability import Metrics
from api.persistence import migrate
from api.persistence.db import create_db_engine, create_session_factory
from api.services import Services, build_services
from api.settings import Settings

log = logging.getLogger("api.jobs.queue")

RESTART_DELAY_S = 1.0


def new_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class QueueWorker:
    """One ``dispatch worker``: a procrastinate worker, the job runner its tasks call, the
    lease renewal of its running jobs and the sweep."""

    def __init__(self, settings: Settings, services: Services, metrics: Metrics) -> None:
        self._settings = settings
        self._services = services
        self.worker_id = new_worker_id()
        self.runner = JobRunner(
            settings, services.plans, metrics, services.simulations, worker_id=self.worker_id
        )
        self._app = make_app(settings.database_url, max_size=2 + settings.job_workers)
        self._every_s = settings.job_lease_seconds / 5
        self._stopping = asyncio.Event()

    @property
    def stores(self) -> tuple[Any, Any]:
        return self._services.plans.jobs, self._services.simulations.jobs

    async def run(self) -> None:
        """Work until :meth:`stop`; then fail this worker's running jobs as interrupted."""
        await self.runner.start()
        await self._app.open_async()
        tasks = [
            asyncio.create_task(self._work(), name="procrastinate-worker"),
            asyncio.create_task(self._every(self._renew), name="lease-renewal"),
            asyncio.create_task(self._every(self.sweep), name="lease-sweep"),
        ]
        log.info("worker %s: taking jobs from queue %s", self.worker_id, QUEUE)
        try:
            await self._stopping.wait()
        finally:
            # Take no more jobs, stop the solvers (their jobs fail as interrupted), then let
            # procrastinate settle its tasks and leave.
            await self.runner.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._app.close_async()
            log.info("worker %s: stopped", self.worker_id)

    def stop(self) -> None:
        self._stopping.set()

    async def _work(self) -> None:
        """The procrastinate worker, started again when it stops on an error of its own
        (its heartbeat or fetch query failed while the database was away)."""
        lease = self._settings.job_lease_seconds
        while True:
            try:
                await self._app.run_worker_async(
                    queues=[QUEUE],
                    name=self.worker_id,
                    concurrency=self._settings.job_workers,
                    install_signal_handlers=False,
                    additional_context={"runner": self.runner},
                    update_heartbeat_interval=self._every_s,
                    stalled_worker_timeout=lease,
                    fetch_job_polling_interval=1.0,
                    delete_jobs="successful",
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database went away: start again
                log.warning(
                    "worker %s: queue worker stopped (%s: %s); starting it again",
                    self.worker_id,
                    type(exc).__name__,
                    exc,
                )
            await asyncio.sleep(RESTART_DELAY_S)

    async def _every(self, step: Any) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: next time
                log.warning("worker %s: %s failed: %s", self.worker_id, step.__name__, exc)

    async def _renew(self) -> None:
        plans, simulations = self.runner.running_ids()
        for store, ids in zip(self.stores, (plans, simulations), strict=True):
            if ids:
                await run_in_threadpool(store.renew, ids, self.worker_id)

    async def sweep(self) -> None:
        """Fail the running jobs of lost workers, queue again the jobs whose task was lost,
        and end procrastinate's tasks that dead workers left ``doing``."""
        lease = self._settings.job_lease_seconds
        for kind, store in zip(KINDS, self.stores, strict=True):
            for job_id in await run_in_threadpool(store.fail_lost, lease):
                log.warning("%s %s: failed, its worker is lost", kind, job_id)
            for job_id in await run_in_threadpool(store.queued_before, lease):
                if await defer(self._app, kind, job_id):
                    log.warning("%s %s: its task was lost; queued again", kind, job_id)
        manager = self._app.job_manager
        stores = dict(zip(KINDS, self.stores, strict=True))
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=lease):
            store = stores.get(str(job.task_kwargs.get("kind")))
            job_id = str(job.task_kwargs.get("job_id"))
            if store is not None and await run_in_threadpool(store.state_of, job_id) == "running":
                continue  # its job still holds a live lease (a worker restarting its loop)
            with contextlib.suppress(pq_exceptions.ProcrastinateException):
                await manager.finish_job(job, status=pq_jobs.Status.FAILED, delete_job=False)


def run_worker(settings: Settings, parent_pid: int | None = None) -> int:
    """``dispatch worker``: take jobs until SIGTERM or SIGINT (then fail the running ones
    as interrupted and exit 0). Workers never migrate: they wait for the schema."""
    if settings.job_executor != "queue":
        settings = settings.with_(job_executor="queue")  # validates the database URL
    if parent_pid is not None:
        solver_process.die_with_parent(parent_pid)
    engine = create_db_engine(settings.database_url)
    try:
        _wait_for_schema(engine)
        services = build_services(settings, create_session_factory(engine))
        metrics = Metrics(create_session_factory(engine))
        asyncio.run(_serve_worker(QueueWorker(settings, services, metrics)))
    finally:
        engine.dispose()
    return 0


async def _serve_worker(queue_worker: QueueWorker) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, queue_worker.stop)
    await queue_worker.run()


def _wait_for_schema(engine: Any) -> None:
    import time

    told = False
    while True:
        try:
            if migrate.is_current(engine):
                return
            reason = "the database schema is not at the newest revision"
        except Exception as exc:  # noqa: BLE001 - the database is not there yet
            reason = f"database unavailable ({type(exc).__name__})"
        if not told:
            log.warning("worker waiting: %s; run `dispatch db upgrade`", reason)
            told = True
        time.sleep(1.0)
