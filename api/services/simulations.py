"""Simulation jobs: what-if runs of a scenario (docs/simulation.md) as API jobs.

A job stores the request (the scenario's TOML text and the overrides), validated when it
is submitted, so a bad scenario is a 422 and never a failed job. The runner claims it
(queued → running), runs it in the process pool (:func:`api.jobs.worker.simulate`) and
stores the ``results.json`` document the CLI writes. Progress is replications done / total.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from api.documents import scenario_from_request
from api.errors import TooBusy
from api.persistence.db import transaction
from api.persistence.models import SimulationJobRow
from api.services.plans import INTERRUPTED, UNFINISHED
from api.settings import Settings
from dispatcher.codec import format_datetime
from dispatcher.errors import NotFound


class SimulationService:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], datetime], settings: Settings
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings

    # ----------------------------------------------------------------- client side

    def create(self, request: dict[str, Any], actor: str | None) -> dict[str, Any]:
        """Validate the scenario and queue a job for it (429 when the queue is full)."""
        scenario = scenario_from_request(request)
        variants = [v.name for v in scenario.variants]
        total = len(variants) * scenario.simulation.replications
        with transaction(self._sessions) as session:
            self._check_capacity(session)
            job = SimulationJobRow(
                id=uuid.uuid4().hex,
                state="queued",
                request=request,
                scenario_name=scenario.name[:200],
                variants=variants,
                progress={"replications_done": 0, "replications_total": total},
                created_by=actor,
                created_at=self._clock(),
            )
            session.add(job)
            session.flush()
            return _view(job)

    def get(self, job_id: str) -> dict[str, Any]:
        with self._sessions() as session:
            job = session.get(SimulationJobRow, job_id)
            if job is None:
                raise NotFound(f"no simulation {job_id}")
            return _view(job)

    def _check_capacity(self, session: Session) -> None:
        active = session.scalar(
            sa.select(sa.func.count())
            .select_from(SimulationJobRow)
            .where(SimulationJobRow.state.in_(UNFINISHED))
        )
        limit = self._settings.job_queue_limit
        if active is not None and active >= limit:
            raise TooBusy(
                f"{active} simulations are queued or running (limit {limit}); try again later",
                retry_after_s=30,
            )

    # ----------------------------------------------------------------- runner side

    def claim(self, job_id: str) -> dict[str, Any] | None:
        """Move a queued job to running: its request, or None if it is no longer queued."""
        with transaction(self._sessions) as session:
            if not _move(session, job_id, "queued", "running", started_at=self._clock()):
                return None
            job = session.get(SimulationJobRow, job_id)
            return None if job is None else dict(job.request)

    def record_progress(self, job_id: str, progress: dict[str, Any]) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                sa.update(SimulationJobRow)
                .where(SimulationJobRow.id == job_id, SimulationJobRow.state == "running")
                .values(progress=progress)
                .execution_options(synchronize_session=False)
            )

    def finish(self, job_id: str, result: dict[str, Any], progress: dict[str, Any]) -> bool:
        with transaction(self._sessions) as session:
            return _move(
                session,
                job_id,
                "running",
                "done",
                finished_at=self._clock(),
                progress=progress,
                result=result,
            )

    def fail(self, job_id: str, reason: str) -> None:
        with transaction(self._sessions) as session:
            for state in UNFINISHED:
                _move(session, job_id, state, "failed", finished_at=self._clock(), error=reason)

    def recover(self, job_ids: list[str] | None = None) -> int:
        """Fail jobs left queued or running (all of them, or ``job_ids``) by a stopped process."""
        with transaction(self._sessions) as session:
            query = (
                sa.update(SimulationJobRow)
                .where(SimulationJobRow.state.in_(UNFINISHED))
                .values(state="failed", error=INTERRUPTED, finished_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            if job_ids is not None:
                query = query.where(SimulationJobRow.id.in_(job_ids))
            return _rowcount(session.execute(query))

    def queued_ids(self) -> list[str]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    sa.select(SimulationJobRow.id)
                    .where(SimulationJobRow.state == "queued")
                    .order_by(SimulationJobRow.created_at)
                )
            )


def _move(session: Session, job_id: str, from_state: str, to_state: str, **values: Any) -> bool:
    result = session.execute(
        sa.update(SimulationJobRow)
        .where(SimulationJobRow.id == job_id, SimulationJobRow.state == from_state)
        .values(state=to_state, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(_rowcount(result))


def _view(job: SimulationJobRow) -> dict[str, Any]:
    request = job.request
    return {
        "id": job.id,
        "state": job.state,
        "scenario": job.scenario_name,
        "variants": list(job.variants),
        "replications": request.get("replications"),
        "days": request.get("days"),
        "seed": request.get("seed"),
        "progress": job.progress,
        "error": job.error,
        "created_by": job.created_by,
        "created_at": format_datetime(job.created_at),
        "started_at": None if job.started_at is None else format_datetime(job.started_at),
        "finished_at": None if job.finished_at is None else format_datetime(job.finished_at),
        "results": job.result if job.state == "done" else None,
    }


def _rowcount(result: Any) -> int:
    """Rows an UPDATE matched (``Result`` is typed without ``rowcount``; ``CursorResult`` has it)."""
    return int(getattr(result, "rowcount", 0) or 0)
