"""The job store: one lifecycle for plan and simulation jobs, over their rows.

A job moves queued → running → done | failed | cancelled, and every move is one
conditional UPDATE (``WHERE id = … AND state = <from>``): whoever moves it first wins, so a
job cancelled meanwhile is never claimed, and a result arriving for a cancelled job is
dropped. The store is parametrised by the row model (:class:`PlanJobRow`,
:class:`SimulationJobRow`); what a job holds besides its lifecycle (a Problem, a scenario,
a plan) stays with its service.

Jobs a stopped process left unfinished are failed at start-up (:func:`recover_interrupted`,
run once by ``dispatch serve``, or by the app itself with ``recover_jobs_on_startup``):
nothing resumes them, and they would count against the queue limit forever. With the
queue executor (:mod:`api.jobs.queue`) nothing runs at start-up: a job claimed by a
``dispatch worker`` holds a lease (``worker_id``, ``heartbeat_at``) that its worker renews
(:meth:`JobStore.renew`), and the workers' sweep fails the jobs whose lease ran out
(:meth:`JobStore.fail_lost`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from api.errors import TooBusy
from api.persistence.db import transaction
from api.persistence.models import PlanJobRow, SimulationJobRow
from dispatcher.errors import Conflict, NotFound

if TYPE_CHECKING:
    from api.services import Services

JOB_STATES = ("queued", "running", "done", "failed", "cancelled")
UNFINISHED = ("queued", "running")
INTERRUPTED = "interrupted: the service stopped before the job finished; submit it again"
WORKER_LOST = (
    "worker lost: the worker running this job stopped renewing its lease (killed, or cut "
    "off from the database); submit it again"
)

log = logging.getLogger("api.jobs")

Row = TypeVar("Row", PlanJobRow, SimulationJobRow)


class JobStore(Generic[Row]):
    """The lifecycle of the jobs in one table.

    ``kind`` names them in messages (``plan``, ``simulation``), ``queued_noun`` in the
    429 (``plan jobs``, ``simulations``) and ``missing`` is the 404's text, a format string
    of ``job_id``.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        row: type[Row],
        *,
        kind: str,
        queue_limit: int,
        queued_noun: str,
        missing: str,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.row: type[Row] = row
        self.kind = kind
        self._queue_limit = queue_limit
        self._queued_noun = queued_noun
        self._missing = missing

    # ------------------------------------------------------------------ create, read

    def check_capacity(self, session: Session, retry_after_s: Callable[[Session], int]) -> None:
        """429 (:class:`TooBusy`) when ``queue_limit`` jobs are queued or running, with
        ``retry_after_s(session)`` as the advice."""
        active = self.unfinished_count(session)
        if active >= self._queue_limit:
            raise TooBusy(
                f"{active} {self._queued_noun} are queued or running (limit "
                f"{self._queue_limit}); try again later",
                retry_after_s=retry_after_s(session),
            )

    def add(self, session: Session, job: Row) -> Row:
        """Store a new job (its service built it, ``state="queued"``) in ``session``."""
        session.add(job)
        session.flush()
        return job

    def require(self, session: Session, job_id: str, lock: bool = False) -> Row:
        job = session.get(self.row, job_id, with_for_update=lock)
        if job is None:
            raise NotFound(self._missing.format(job_id=job_id))
        return job

    def unfinished_count(self, session: Session) -> int:
        active = session.scalar(
            sa.select(sa.func.count()).select_from(self.row).where(self.row.state.in_(UNFINISHED))
        )
        return int(active or 0)

    def oldest_running(self, session: Session) -> Row | None:
        return session.scalar(
            sa.select(self.row)
            .where(self.row.state == "running")
            .order_by(self.row.started_at)
            .limit(1)
        )

    def queued_ids(self) -> list[str]:
        """The queued jobs' ids, oldest first."""
        with self._sessions() as session:
            return list(
                session.scalars(
                    sa.select(self.row.id)
                    .where(self.row.state == "queued")
                    .order_by(self.row.created_at)
                )
            )

    # ------------------------------------------------------------------ moves

    def move(
        self, session: Session, job_id: str, from_state: str, to_state: str, **values: Any
    ) -> bool:
        """Move the job from ``from_state`` to ``to_state`` (setting ``values``) if it is
        still in ``from_state``; whether it was."""
        result = session.execute(
            sa.update(self.row)
            .where(self.row.id == job_id, self.row.state == from_state)
            .values(state=to_state, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(_rowcount(result))

    def claim(self, session: Session, job_id: str, worker_id: str | None = None) -> Row | None:
        """queued → running; the job, or None if it is no longer queued (cancelled
        meanwhile, or claimed by another process). A ``dispatch worker`` names itself as
        ``worker_id``: the job then holds its lease from now (the database's clock)."""
        lease: dict[str, Any] = {}
        if worker_id is not None:
            lease = {"worker_id": worker_id, "heartbeat_at": sa.func.now()}
        if not self.move(session, job_id, "queued", "running", started_at=self._clock(), **lease):
            return None
        return session.get(self.row, job_id)

    def cancel(self, session: Session, job_id: str) -> tuple[Row, str]:
        """Cancel a queued or running job (409 otherwise): the job and the state it was in."""
        job = self.require(session, job_id, lock=True)
        if job.state not in UNFINISHED:
            raise Conflict(
                f"{self.kind} {job_id} is {job.state}; only queued or running jobs cancel"
            )
        was = job.state
        job.state = "cancelled"
        job.finished_at = self._clock()
        return job, was

    def record_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        """Store a running job's progress report (ignored once it is no longer running)."""
        with transaction(self._sessions) as session:
            session.execute(
                sa.update(self.row)
                .where(self.row.id == job_id, self.row.state == "running")
                .values(progress=progress)
                .execution_options(synchronize_session=False)
            )

    def fail(self, job_id: str, reason: str) -> None:
        """Fail a queued or running job with ``reason`` (a finished one stays as it is)."""
        with transaction(self._sessions) as session:
            session.execute(
                sa.update(self.row)
                .where(self.row.id == job_id, self.row.state.in_(UNFINISHED))
                .values(state="failed", error=reason, finished_at=self._clock())
                .execution_options(synchronize_session=False)
            )

    def recover(self, job_ids: Iterable[str] | None = None) -> int:
        """Fail jobs left queued or running (all of them, or ``job_ids``) by a stopped
        process; how many."""
        with transaction(self._sessions) as session:
            query = (
                sa.update(self.row)
                .where(self.row.state.in_(UNFINISHED))
                .values(state="failed", error=INTERRUPTED, finished_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            if job_ids is not None:
                query = query.where(self.row.id.in_(list(job_ids)))
            return _rowcount(session.execute(query))

    # ------------------------------------------------------------------ leases (queue executor)

    def renew(self, job_ids: Iterable[str], worker_id: str) -> int:
        """Renew ``worker_id``'s lease on its running ``job_ids``; how many it still holds."""
        ids = list(job_ids)
        if not ids:
            return 0
        with transaction(self._sessions) as session:
            result = session.execute(
                sa.update(self.row)
                .where(
                    self.row.id.in_(ids),
                    self.row.state == "running",
                    self.row.worker_id == worker_id,
                )
                .values(heartbeat_at=sa.func.now())
                .execution_options(synchronize_session=False)
            )
            return _rowcount(result)

    def fail_lost(self, lease_s: float) -> list[str]:
        """Fail (``WORKER_LOST``) the running jobs whose worker has not renewed its lease for
        ``lease_s`` seconds (the database's clock: workers' clocks may differ); their ids."""
        stale = sa.func.now() - sa.text(f"interval '{float(lease_s)} seconds'")
        with transaction(self._sessions) as session:
            return list(
                session.scalars(
                    sa.update(self.row)
                    .where(
                        self.row.state == "running",
                        self.row.worker_id.is_not(None),
                        self.row.heartbeat_at < stale,
                    )
                    .values(state="failed", error=WORKER_LOST, finished_at=self._clock())
                    .returning(self.row.id)
                    .execution_options(synchronize_session=False)
                )
            )

    def state_of(self, job_id: str) -> str | None:
        """The job's state, None if there is no such job."""
        with self._sessions() as session:
            return session.scalar(sa.select(self.row.state).where(self.row.id == job_id))

    def queued_before(self, age_s: float) -> list[str]:
        """Jobs queued for longer than ``age_s`` seconds, oldest first (their task may have
        been lost: the API process died between storing the job and queueing its task)."""
        before = self._clock() - timedelta(seconds=age_s)
        with self._sessions() as session:
            return list(
                session.scalars(
                    sa.select(self.row.id)
                    .where(self.row.state == "queued", self.row.created_at < before)
                    .order_by(self.row.created_at)
                )
            )


def recover_interrupted(services: Services) -> dict[str, int]:
    """At start-up: fail every job, of every kind, that a previous process left queued or
    running; how many per kind (a count > 0 is logged)."""
    failed: dict[str, int] = {}
    stores: tuple[JobStore[Any], ...] = (services.plans.jobs, services.simulations.jobs)
    for store in stores:
        failed[store.kind] = count = store.recover()
        if count:
            log.warning("marked %d interrupted %s jobs as failed", count, store.kind)
    return failed


def _rowcount(result: Any) -> int:
    """Rows an UPDATE matched (``Result`` is typed without ``rowcount``; ``CursorResult`` has it)."""
    return int(getattr(result, "rowcount", 0) or 0)
