"""The job store, in process on SQLite: one lifecycle for plan and simulation jobs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from api.errors import TooBusy
from api.jobs.store import INTERRUPTED, recover_interrupted
from api.persistence import migrate
from api.persistence.db import create_db_engine, create_session_factory, transaction
from api.persistence.models import PlanJobRow, SimulationJobRow
from api.services import Services, build_services
from api.settings import Settings
from dispatcher.errors import Conflict, NotFound

Job = PlanJobRow | SimulationJobRow
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


SETTINGS = Settings(job_queue_limit=2)


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    migrate.upgrade(engine)
    yield create_session_factory(engine)
    engine.dispose()


@pytest.fixture
def services(sessions: sessionmaker[Session]) -> Services:
    return build_services(SETTINGS, sessions, Clock())


def _plan(job_id: str, state: str = "queued") -> PlanJobRow:
    return PlanJobRow(
        id=job_id,
        state=state,
        options={"time_limit_s": 5},
        planning_start=T0,
        horizon_hours=24,
        problem={},
        input_hash="h",
        created_at=T0,
    )


def _simulation(job_id: str, state: str = "queued") -> SimulationJobRow:
    return SimulationJobRow(
        id=job_id, state=state, request={}, scenario_name="s", variants=["base"], created_at=T0
    )


def _state(sessions: sessionmaker[Session], row: type[Job], job_id: str) -> str:
    with sessions() as session:
        return str(session.scalar(sa.select(row.state).where(row.id == job_id)))


@pytest.mark.parametrize("kind", ["plan", "simulation"])
def test_a_job_moves_queued_running_done_once(
    sessions: sessionmaker[Session], services: Services, kind: str
) -> None:
    store: Any = services.plans.jobs if kind == "plan" else services.simulations.jobs
    with transaction(sessions) as session:
        store.add(session, _plan("a") if kind == "plan" else _simulation("a"))
    assert store.queued_ids() == ["a"]
    with transaction(sessions) as session:
        job = store.claim(session, "a")
        assert job is not None and job.state == "running" and job.started_at is not None
    with transaction(sessions) as session:
        assert store.claim(session, "a") is None  # claimed once only
        assert store.move(session, "a", "running", "done")
        assert not store.move(session, "a", "running", "done")
    store.fail("a", "too late")  # a finished job stays as it is
    assert _state(sessions, store.row, "a") == "done"
    assert store.queued_ids() == []


def test_cancel_and_queue_limit(sessions: sessionmaker[Session], services: Services) -> None:
    store = services.plans.jobs
    with transaction(sessions) as session:
        store.add(session, _plan("a"))
        store.add(session, _plan("b"))
        with pytest.raises(TooBusy):
            store.check_capacity(session, lambda _s: 7)
        job, was = store.cancel(session, "a")
        assert (job.state, was) == ("cancelled", "queued")
        store.check_capacity(session, lambda _s: 7)  # a cancelled job frees its place
        with pytest.raises(Conflict):
            store.cancel(session, "a")
        with pytest.raises(NotFound, match="no plan with id 'nope'"):
            store.require(session, "nope")


def test_start_up_recovery_fails_unfinished_jobs_of_every_kind(
    sessions: sessionmaker[Session], services: Services
) -> None:
    with transaction(sessions) as session:
        session.add_all(
            [
                _plan("p-queued"),
                _plan("p-running", "running"),
                _plan("p-done", "done"),
                _simulation("s-running", "running"),
                _simulation("s-failed", "failed"),
            ]
        )
    assert recover_interrupted(services) == {"plan": 2, "simulation": 1}
    assert _state(sessions, PlanJobRow, "p-queued") == "failed"
    assert _state(sessions, PlanJobRow, "p-running") == "failed"
    assert _state(sessions, SimulationJobRow, "s-running") == "failed"
    assert _state(sessions, PlanJobRow, "p-done") == "done"
    with sessions() as session:
        job = session.get(SimulationJobRow, "s-running")
        assert job is not None and job.error == INTERRUPTED and job.finished_at is not None
    assert recover_interrupted(services) == {"plan": 0, "simulation": 0}
