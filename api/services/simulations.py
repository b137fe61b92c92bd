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
from api.jobs.store import JobStore
from api.persistence.db import transaction
from api.persistence.models import SimulationJobRow
from api.settings import Settings
from dispatcher.codec import format_datetime


class SimulationService:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], datetime], settings: Settings
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings
        self.jobs = JobStore(
            sessions,
            clock,
            SimulationJobRow,
            kind="simulation",
            queue_limit=settings.job_queue_limit,
            queued_noun="simulations",
            missing="no simulation {job_id}",
        )

    # ----------------------------------------------------------------- client side

    def create(self, request: dict[str, Any], actor: str | None) -> dict[str, Any]:
        """Validate the scenario and queue a job for it (429 when the queue is full)."""
        scenario = scenario_from_request(request)
        variants = [v.name for v in scenario.variants]
        total = len(variants) * scenario.simulation.replications
        with transaction(self._sessions) as session:
            self.jobs.check_capacity(session, _retry_after)
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
            return _view(self.jobs.add(session, job))

    def get(self, job_id: str) -> dict[str, Any]:
        with self._sessions() as session:
            return _view(self.jobs.require(session, job_id))

    def list(self, limit: int) -> dict[str, Any]:
        """The newest ``limit`` simulations, newest first, without their results (each
        one's ``GET /v1/simulations/{id}`` has them)."""
        with self._sessions() as session:
            rows = session.scalars(
                sa.select(SimulationJobRow)
                .order_by(SimulationJobRow.created_at.desc(), SimulationJobRow.id)
                .limit(limit)
            )
            return {"items": [{**_view(row), "results": None} for row in rows]}

    # ----------------------------------------------------------------- runner side

    def claim(self, job_id: str, worker_id: str | None = None) -> dict[str, Any] | None:
        """Move a queued job to running: its request, or None if it is no longer queued
        (a ``dispatch worker`` passes its ``worker_id``: the job's lease)."""
        with transaction(self._sessions) as session:
            job = self.jobs.claim(session, job_id, worker_id)
            return None if job is None else dict(job.request)

    def finish(self, job_id: str, result: dict[str, Any], progress: dict[str, Any]) -> bool:
        with transaction(self._sessions) as session:
            return self.jobs.move(
                session,
                job_id,
                "running",
                "done",
                finished_at=self._clock(),
                progress=progress,
                result=result,
            )


def _retry_after(_session: Session) -> int:
    """A simulation's length is not known in advance: a client asks again in 30 s."""
    return 30


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
