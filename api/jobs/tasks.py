"""The procrastinate side of the queue executor that API processes and workers share: the
app on the service's database, its one task, and :func:`defer`. The task calls the
``JobRunner`` a ``dispatch worker`` hands it (:mod:`api.jobs.queue`); this module imports
neither, so an API process defers without loading the worker.
"""

from __future__ import annotations

from typing import Any

import procrastinate
from procrastinate import exceptions as pq_exceptions
from sqlalchemy.engine import make_url

QUEUE = "dispatch-jobs"
TASK = "dispatch.run_job"
KINDS = ("plan", "simulation")


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy ``postgresql+psycopg://`` URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def make_app(database_url: str, max_size: int = 4) -> procrastinate.App:
    """The procrastinate app on ``database_url`` with the one task, :data:`TASK`."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url), min_size=1, max_size=max_size, timeout=10.0
    )
    app = procrastinate.App(connector=connector)

    async def run_job(context: procrastinate.JobContext, kind: str, job_id: str) -> None:
        runner: Any = context.additional_context["runner"]  # a worker's JobRunner
        await runner.run_job(kind, job_id)

    app.task(name=TASK, queue=QUEUE, pass_context=True)(run_job)
    return app


async def defer(app: procrastinate.App, kind: str, job_id: str) -> bool:
    """Queue the task of job ``job_id`` (``kind`` plan or simulation); False when its task
    is already waiting (the queueing lock: one waiting task per job)."""
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    try:
        await app.configure_task(TASK, queueing_lock=f"{kind}:{job_id}").defer_async(
            kind=kind, job_id=job_id
        )
    except pq_exceptions.AlreadyEnqueued:
        return False
    return True
