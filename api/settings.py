"""Typed settings read from the environment (``DISPATCH_*``).

There is no module-level settings object: :func:`Settings.from_env` is called by whoever
starts the service (``dispatch serve``, the tests) and the result is handed to
:func:`api.create_app`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from dispatcher.errors import InputError

ENV_PREFIX = "DISPATCH_"
JOB_EXECUTORS = ("auto", "pool", "queue")


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob of the API service; each field reads ``DISPATCH_<FIELD NAME UPPERCASE>``.

    Parameters
    ----------
    database_url
        SQLAlchemy URL; SQLite file by default, ``postgresql+psycopg://...`` in production.
    host, port, workers
        Where uvicorn listens and how many worker processes it runs.
    max_body_bytes
        Requests with a larger body get 413.
    job_workers
        Solver processes per API worker (the process pool size).
    job_queue_limit
        Plan jobs queued or running (all API workers together) before new ones get 429.
    solve_workers
        Solver processes per API worker for ``POST /v1/solve`` alone (a pool of their own,
        apart from the job pool): a stateless solve never waits behind a plan or simulation
        job; when all are busy it gets 429 with ``Retry-After`` at once.
    max_solve_seconds
        Upper bound on any plan job's ``time_limit_s``.
    stateless_solve_seconds
        Upper bound on ``POST /v1/solve``'s time limit (the request waits for it).
    planner
        ``module:function`` of the solving function; the module must also define
        ``PlanOptions``. Tests point it at a fake.
    at_risk_hours
        An active order without an on-time published assignment is at risk when its
        deadline is closer than this.
    migrate_on_startup
        Apply Alembic migrations when the app starts.
    recover_jobs_on_startup
        Mark jobs left queued/running by a previous process as failed when the app starts.
    log_level
        Python logging level name.
    webhook_base_delay_s, webhook_max_attempts
        A failing webhook delivery is retried after ``base · 2^(attempt-1)`` seconds, until
        ``webhook_max_attempts`` attempts; then it is logged failed and the next event goes.
    webhook_timeout_s
        Timeout of one webhook POST (connect, read, write each).
    webhook_poll_s
        How often the delivery worker looks for new events when idle.
    key_recheck_seconds
        How long a worker trusts a valid API key it has checked before checking it in the
        database again. 0 (the default): every request checks, so a revoked key is refused
        by every worker from the first request after the revocation commits; a larger value
        saves that lookup at the price of honouring a revocation up to this late on other
        workers. Unknown and revoked keys are never cached.
    rate_limit_per_s, rate_limit_burst
        Requests per second each API key may make on each worker, sustained and in a burst
        (a token bucket); beyond it 429 with ``Retry-After``. 0 turns the limit off.
    metrics_public
        Serve ``GET /metrics`` without an API key; by default it needs an admin key.
    job_executor
        Where plan jobs and simulations run: ``pool``, a process pool of each API process;
        ``queue`` (PostgreSQL only), ``dispatch worker`` processes fed through a
        procrastinate queue in the database, on this machine or any other
        (:mod:`api.jobs.queue`); ``auto`` (the default) is ``queue`` on PostgreSQL and
        ``pool`` on SQLite, and is resolved when the settings are made: the field always
        holds ``pool`` or ``queue`` afterwards. Stateless solves stay in the API's own pool
        either way.
    local_workers
        With ``queue``: ``dispatch worker`` processes that ``dispatch serve`` starts beside
        itself (they die with it); 0 when the workers run elsewhere.
    job_lease_seconds
        With ``queue``: a running job whose worker has not renewed its lease (every
        ``job_lease_seconds / 5``) for this long is failed as ``worker lost`` by another
        worker's sweep.
    """

    database_url: str = "sqlite:///dispatch.db"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    max_body_bytes: int = 5_000_000
    job_workers: int = 1
    job_queue_limit: int = 8
    solve_workers: int = 1
    max_solve_seconds: float = 300.0
    stateless_solve_seconds: float = 30.0
    planner: str = "dispatcher.planner:plan_problem"
    at_risk_hours: float = 6.0
    migrate_on_startup: bool = True
    recover_jobs_on_startup: bool = True
    log_level: str = "INFO"
    webhook_base_delay_s: float = 5.0
    webhook_max_attempts: int = 6
    webhook_timeout_s: float = 10.0
    webhook_poll_s: float = 1.0
    key_recheck_seconds: float = 0.0
    rate_limit_per_s: float = 1000.0
    rate_limit_burst: int = 2000
    metrics_public: bool = False
    job_executor: str = "auto"
    local_workers: int = 1
    job_lease_seconds: float = 15.0

    def __post_init__(self) -> None:
        for name in (
            "port",
            "workers",
            "max_body_bytes",
            "job_workers",
            "job_queue_limit",
            "solve_workers",
            "webhook_max_attempts",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise InputError(_env_name(name), f"expected a positive integer, got {value!r}")
        for name in (
            "max_solve_seconds",
            "stateless_solve_seconds",
            "at_risk_hours",
            "webhook_base_delay_s",
            "webhook_timeout_s",
            "webhook_poll_s",
            "job_lease_seconds",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0):
                raise InputError(_env_name(name), f"expected a positive number, got {value!r}")
        for name in ("key_recheck_seconds", "rate_limit_per_s", "rate_limit_burst"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InputError(_env_name(name), f"expected a non-negative number, got {value!r}")
        if not (isinstance(self.local_workers, int) and self.local_workers >= 0):
            raise InputError(
                _env_name("local_workers"),
                f"expected a non-negative integer, got {self.local_workers!r}",
            )
        if self.job_executor not in JOB_EXECUTORS:
            raise InputError(
                _env_name("job_executor"),
                f"expected one of {', '.join(JOB_EXECUTORS)}, got {self.job_executor!r}",
            )
        if self.job_executor == "auto":
            resolved = "queue" if self.database_url.startswith("postgresql") else "pool"
            object.__setattr__(self, "job_executor", resolved)  # frozen: set once, here
        if self.job_executor == "queue" and not self.database_url.startswith("postgresql"):
            raise InputError(
                _env_name("job_executor"),
                "queue needs PostgreSQL (DISPATCH_DATABASE_URL=postgresql+psycopg://...); "
                "use pool with SQLite",
            )
        if ":" not in self.planner:
            raise InputError(
                _env_name("planner"), f"expected module:function, got {self.planner!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``DISPATCH_*`` variables, then ``overrides`` (e.g. CLI flags)."""
        env = os.environ if environ is None else environ
        defaults = cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(_env_name(f.name))
            if raw is not None:
                values[f.name] = _parse(f.name, raw, type(getattr(defaults, f.name)))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The ``DISPATCH_*`` variables that reproduce these settings (for worker processes)."""
        return {_env_name(f.name): str(getattr(self, f.name)) for f in fields(self)}

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _parse(name: str, raw: str, kind: type) -> Any:
    text = raw.strip()
    try:
        if kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
    except ValueError:
        raise InputError(_env_name(name), f"expected a {kind.__name__}, got {raw!r}") from None
    return text
