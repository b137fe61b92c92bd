"""FastAPI dependencies: the app's services and job runner, and the caller's role.

They are ``async``: FastAPI runs a sync dependency in the thread pool, a hop per
dependency per request. The key is looked up in the database (in the thread pool) unless
the worker checked it less than ``key_recheck_seconds`` ago (``api.services.keys``).

Each API key is rate-limited per worker by a token bucket (``rate_limit_per_s`` sustained,
``rate_limit_burst`` at once; 0 turns it off): beyond it, 429 with ``Retry-After``.
Unknown keys get 401 before any bucket is made, so random keys cannot grow the table.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import Forbidden, TooBusy, Unauthorized
from api.services import Services
from api.services.keys import UNCACHED, Principal

if TYPE_CHECKING:
    from api.jobs.runner import JobRunner
    from api.settings import Settings

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


async def get_services(request: Request) -> Services:
    return request.app.state.services


async def get_runner(request: Request) -> JobRunner:
    return request.app.state.runner


class RateLimiter:
    """A token bucket per API key id (one worker's view): ``rate`` tokens a second up to
    ``burst``; a request takes one."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key id -> (tokens, at)

    def take(self, key_id: str) -> float:
        """0 if the request may go on, else the seconds until a token is there."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        tokens, at = self._buckets.get(key_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1:
            self._buckets[key_id] = (tokens - 1, now)
            return 0.0
        self._buckets[key_id] = (tokens, now)
        return (1 - tokens) / self.rate


def _limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter | None = getattr(request.app.state, "rate_limiter", None)
    if limiter is None:  # made on first use: the event loop runs one request at a time here
        settings: Settings = request.app.state.settings
        limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
        request.app.state.rate_limiter = limiter
    return limiter


async def authorize(
    request: Request, credentials: HTTPAuthorizationCredentials | None, role: str
) -> Principal:
    """The caller's principal if its key is valid, has ``role`` (or a higher one) and is
    within its rate limit; 401 / 403 / 429 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("expected an API key in Authorization: Bearer <key>")
    keys = request.app.state.services.keys
    settings: Settings = request.app.state.settings
    principal = keys.cached(credentials.credentials, settings.key_recheck_seconds)
    if principal is UNCACHED:
        principal = await run_in_threadpool(keys.authenticate, credentials.credentials)
    if principal is None:
        raise Unauthorized("the API key is unknown or revoked")
    wait_s = _limiter(request).take(principal.key_id)
    if wait_s > 0:
        limiter = _limiter(request)
        raise TooBusy(
            f"expected at most {limiter.rate:g} requests a second (bursts of "
            f"{limiter.burst}) with this API key; retry later",
            max(1, math.ceil(wait_s)),
        )
    if not principal.may(role):
        raise Forbidden(f"this needs the {role} role; the key has {principal.role}")
    request.state.principal = principal
    return principal


def require(role: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting API keys of ``role`` or a higher one (401 / 403 otherwise)."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        return await authorize(request, credentials, role)

    return check
