"""Plan jobs and plans: submit, follow, cancel, publish, and the runner's hooks.

A job snapshots the Problem it solves (active orders, engineers with absences cut out of
their shifts, the policy) and its input hash. Publishing compares that hash with the
Problem the same options would build now: a difference means the plan was built from
stale data and is refused (409) unless ``force`` is given.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import api.services.events as events
from api.documents import build_problem, plan_positions
from api.errors import ConflictWith
from api.jobs.store import JobStore
from api.persistence.db import transaction
from api.persistence.models import (
    EngineerRow,
    OrderRow,
    PlanJobRow,
    PlanRow,
    PlanVisitRow,
    PolicyRow,
)
from api.services.audit import AuditLog
from api.services.orders import ACTIVE, current_plan_id, record_status, visit_end
from api.services.policy import POLICY_ROW_ID, PolicyService
from api.settings import Settings
from dispatcher.codec import (
    format_datetime,
    input_hash,
    plan_from_dict,
    problem_from_dict,
    problem_to_dict,
)
from dispatcher.diff import plan_changes
from dispatcher.domain import PLAN_MODES, Problem
from dispatcher.errors import Conflict, InputError, NotFound
from dispatcher.reader import parse_datetime


@dataclass(frozen=True, slots=True)
class JobOptions:
    """What a client may set on a plan job (validated; limits come from the settings)."""

    time_limit_s: float
    solution_limit: int | None
    horizon_hours: int
    planning_start: datetime
    mode: str = "full"

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_limit_s": self.time_limit_s,
            "solution_limit": self.solution_limit,
            "horizon_hours": self.horizon_hours,
            "planning_start": format_datetime(self.planning_start),
            "mode": self.mode,
        }


DEFAULT_TIME_LIMIT_S = 10.0


def parse_job_options(
    raw: dict[str, Any], now: datetime, max_time_limit_s: float, published: bool = False
) -> JobOptions:
    """Validate plan options; ``planning_start`` defaults to ``now`` (to the second), and
    ``mode`` to ``incremental`` when a plan is published (``full`` otherwise)."""
    # Not given: the default, or the service's cap when that is lower.
    limit = raw.get("time_limit_s", min(DEFAULT_TIME_LIMIT_S, max_time_limit_s))
    if isinstance(limit, bool) or not isinstance(limit, int | float) or not limit > 0:
        raise InputError("time_limit_s", f"expected a positive number of seconds, got {limit!r}")
    if limit > max_time_limit_s:
        raise InputError(
            "time_limit_s", f"expected at most {max_time_limit_s:g} seconds, got {limit!r}"
        )
    solutions = raw.get("solution_limit")
    if solutions is not None and (
        isinstance(solutions, bool) or not isinstance(solutions, int) or solutions < 1
    ):
        raise InputError("solution_limit", f"expected a positive integer, got {solutions!r}")
    horizon = raw.get("horizon_hours", 96)
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= 1440:
        raise InputError("horizon_hours", f"expected an integer in [1, 1440], got {horizon!r}")
    start_raw = raw.get("planning_start")
    start = (
        now.replace(microsecond=0)
        if start_raw is None
        else parse_datetime(start_raw, "planning_start")
    )
    mode = raw.get("mode") or ("incremental" if published else "full")
    if mode not in PLAN_MODES:
        raise InputError("mode", f"expected one of {', '.join(PLAN_MODES)}, got {mode!r}")
    return JobOptions(float(limit), solutions, horizon, start, mode)


class PlanService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        policy: PolicyService,
        audit: AuditLog,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._policy = policy
        self._audit = audit
        self._settings = settings
        self.jobs = JobStore(
            sessions,
            clock,
            PlanJobRow,
            kind="plan",
            queue_limit=settings.job_queue_limit,
            queued_noun="plan jobs",
            missing="no plan with id {job_id!r}",
        )

    # ----------------------------------------------------------------- client side

    def create(self, raw_options: dict[str, Any], actor: str | None) -> dict[str, Any]:
        """Snapshot the current Problem and queue a job for it (429 when the queue is full)."""
        job_id = uuid.uuid4().hex
        with transaction(self._sessions) as session:
            options = parse_job_options(
                raw_options,
                self._clock(),
                self._settings.max_solve_seconds,
                published=current_plan_id(session) is not None,
            )
            self.jobs.check_capacity(session, self._retry_after)
            skipped: list[dict[str, Any]] = []
            problem = self.current_problem(
                session, options.planning_start, options.horizon_hours, skipped
            )
            document = problem_to_dict(problem)
            if skipped:  # a top-level "_" member is a note the Problem reader ignores
                document["_skipped"] = skipped
            job = PlanJobRow(
                id=job_id,
                state="queued",
                options=options.to_dict(),
                planning_start=options.planning_start,
                horizon_hours=options.horizon_hours,
                problem=document,
                input_hash=input_hash(problem),
                created_by=actor,
                created_at=self._clock(),
            )
            return self._view(session, self.jobs.add(session, job), include_plan=False)

    def get(self, job_id: str) -> dict[str, Any]:
        with self._sessions() as session:
            return self._view(session, self.jobs.require(session, job_id))

    def problem(self, job_id: str) -> dict[str, Any]:
        """The Problem document job ``job_id`` solves."""
        with self._sessions() as session:
            return dict(self.jobs.require(session, job_id).problem)

    def current(self) -> dict[str, Any]:
        with self._sessions() as session:
            job_id = current_plan_id(session)
            if job_id is None:
                raise NotFound("no plan has been published yet")
            return self._view(session, self.jobs.require(session, job_id))

    def cancel(self, job_id: str, actor: str | None) -> dict[str, Any]:
        """Cancel a queued or running job; a running solve's result is discarded on arrival."""
        with transaction(self._sessions) as session:
            job, was = self.jobs.cancel(session, job_id)
            self._audit.record(session, actor, "plan.cancel", "plan", job_id, state_was=was)
            return self._view(session, job)

    def publish(self, job_id: str, force: bool, actor: str | None) -> dict[str, Any]:
        """Make a finished plan the published one and move its orders to ``published``."""
        with transaction(self._sessions) as session:
            job = self.jobs.require(session, job_id, lock=True)
            plan = session.get(PlanRow, job_id)
            if job.state != "done" or plan is None:
                raise Conflict(
                    f"plan {job_id} is {job.state}; only a finished plan can be published"
                )
            stale = self._is_stale(session, job)
            if stale and not force:
                raise ConflictWith(
                    f"plan {job_id} was built from data that has changed since (orders, "
                    "engineers or policy); plan again, or publish with force=true",
                    stale=True,
                )
            now = self._clock()
            events.plan_published(session, job_id, now, actor)
            plan.published_at = now
            plan.published_by = actor
            moved = self._publish_orders(session, job_id, now, actor)
            self._audit.record(
                session,
                actor,
                "plan.publish",
                "plan",
                job_id,
                force=force,
                stale=stale,
                changes=plan.changes or [],
                **moved,
            )
            session.flush()
            return self._view(session, job)

    def _publish_orders(
        self, session: Session, job_id: str, now: datetime, actor: str | None
    ) -> dict[str, int]:
        assigned = set(
            session.scalars(
                sa.select(PlanVisitRow.order_id).where(
                    PlanVisitRow.job_id == job_id, PlanVisitRow.engineer_id.is_not(None)
                )
            )
        )
        published = reopened = 0
        rows = session.scalars(
            sa.select(OrderRow).where(OrderRow.status.in_(ACTIVE)).with_for_update()
        )
        for row in rows:
            row.hold_engineer_id = row.hold_start = None  # a published plan replaces holds
            if row.id in assigned and row.status != "published":
                record_status(session, row, "published", now, actor, f"plan {job_id}")
                published += 1
            elif row.id not in assigned and row.status == "published":
                record_status(session, row, "open", now, actor, f"not in plan {job_id}")
                reopened += 1
        return {"orders_published": published, "orders_reopened": reopened}

    def _is_stale(self, session: Session, job: PlanJobRow) -> bool:
        problem = self.current_problem(session, job.planning_start, job.horizon_hours)
        return input_hash(problem) != job.input_hash

    def _retry_after(self, session: Session) -> int:
        """Seconds until the oldest running job should be done (its time limit), at least 1."""
        job = self.jobs.oldest_running(session)
        if job is None or job.started_at is None:
            return 5
        ends = job.started_at + timedelta(seconds=float(job.options.get("time_limit_s", 10)))
        return max(1, math.ceil((ends - self._clock()).total_seconds()))

    def current_problem(
        self,
        session: Session,
        planning_start: datetime,
        horizon_hours: int,
        skipped: list[dict[str, Any]] | None = None,
    ) -> Problem:
        policy_row = session.get(PolicyRow, POLICY_ROW_ID)
        engineers = [
            (row.document, row.absences)
            for row in session.scalars(sa.select(EngineerRow).order_by(EngineerRow.id))
        ]
        rows = list(
            session.scalars(
                sa.select(OrderRow)
                .where(OrderRow.status.in_((*ACTIVE, "in_progress")))
                .order_by(OrderRow.seq)
            )
        )
        return build_problem(
            planning_start,
            horizon_hours,
            policy_row.document if policy_row else None,
            engineers,
            [row.document for row in rows if row.status in ACTIVE],
            [_under_way(row) for row in rows if row.status == "in_progress" and row.engineer_id],
            _published(session, [row for row in rows if row.status in ACTIVE]),
            skipped,
        )

    def _view(self, session: Session, job: PlanJobRow, include_plan: bool = True) -> dict[str, Any]:
        plan = session.get(PlanRow, job.id) if job.state == "done" else None
        return {
            "id": job.id,
            "state": job.state,
            "options": job.options,
            "input_hash": job.input_hash,
            "orders": len(job.problem.get("orders", [])),
            "engineers": len(job.problem.get("engineers", [])),
            "progress": job.progress,
            "error": job.error,
            "created_by": job.created_by,
            "created_at": format_datetime(job.created_at),
            "started_at": _fmt(job.started_at),
            "finished_at": _fmt(job.finished_at),
            "published_at": _fmt(plan.published_at) if plan else None,
            "published_by": plan.published_by if plan else None,
            "plan": plan.document if plan is not None and include_plan else None,
            "changes": plan.changes if plan is not None and include_plan else None,
            "skipped": job.problem.get("_skipped", []),
        }

    # ----------------------------------------------------------------- runner side

    def claim(
        self, job_id: str, worker_id: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """Move a queued job to running: ``(problem document, options)``, or None if it is
        no longer queued (cancelled meanwhile, or claimed by another process); a
        ``dispatch worker`` passes its ``worker_id`` (the job's lease)."""
        with transaction(self._sessions) as session:
            job = self.jobs.claim(session, job_id, worker_id)
            return None if job is None else (job.problem, job.options)

    def finish(self, job_id: str, plan_document: dict[str, Any], progress: dict[str, Any]) -> bool:
        """Store a solved plan and what it changes against the plan published when the job
        was made; False when the job was cancelled meanwhile (result dropped)."""
        plan = plan_from_dict(plan_document)
        now = self._clock()
        with transaction(self._sessions) as session:
            job = self.jobs.require(session, job_id)
            changes = [c.to_dict() for c in plan_changes(problem_from_dict(job.problem), plan)]
            if not self.jobs.move(
                session, job_id, "running", "done", finished_at=now, progress=progress
            ):
                return False
            session.add(
                PlanRow(
                    job_id=job_id,
                    status=plan.status,
                    document=plan_document,
                    created_at=now,
                    changes=changes,
                )
            )
            positions = plan_positions(plan)
            session.add_all(PlanVisitRow(job_id=job_id, **p) for p in positions)
            assigned = [p["order_id"] for p in positions if p["engineer_id"] is not None]
            for row in session.scalars(
                sa.select(OrderRow).where(OrderRow.id.in_(assigned), OrderRow.status == "open")
            ):
                record_status(session, row, "planned", now, None, f"plan {job_id}")
        return True


def _under_way(row: OrderRow) -> dict[str, Any]:
    """The in-progress visit of an order under way (a contract document): until the
    reported end, else its start plus its service minutes."""
    assert row.arrived_at is not None
    end = visit_end(row)
    site = row.document["site"]
    return {
        "order_id": row.id,
        "engineer_id": row.engineer_id,
        "location": {"lat": site["lat"], "lon": site["lon"]},
        # The contract's InProgress names the arrival ``started_at`` (docs/contract.md).
        "started_at": format_datetime(row.arrived_at),
        "expected_end": format_datetime(max(end, row.arrived_at)),
    }


def _published(session: Session, rows: list[OrderRow]) -> list[dict[str, Any]]:
    """The visits of the published plan for these open orders, and the slots held by
    quotes of orders the published plan does not serve."""
    job_id = current_plan_id(session)
    out: dict[str, dict[str, Any]] = {}
    if job_id is not None:
        for visit in session.scalars(
            sa.select(PlanVisitRow).where(
                PlanVisitRow.job_id == job_id, PlanVisitRow.engineer_id.is_not(None)
            )
        ):
            if visit.start is not None:
                out[visit.order_id] = {
                    "order_id": visit.order_id,
                    "engineer_id": visit.engineer_id,
                    "start": format_datetime(visit.start),
                }
    for row in rows:
        if row.hold_engineer_id and row.hold_start and row.id not in out:
            out[row.id] = {
                "order_id": row.id,
                "engineer_id": row.hold_engineer_id,
                "start": format_datetime(row.hold_start),
            }
    open_ids = {row.id for row in rows}
    return [v for k, v in sorted(out.items()) if k in open_ids]


def _fmt(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)
