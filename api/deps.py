"""FastAPI dependencies: the app's services and job runner, and the caller's role.

They are ``async``: FastAPI runs a sync dependency in the thread pool, a hop per
dependency per request. Only a key the cache does not know goes to the database (in the
thread pool).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import Forbidden, Unauthorized
from api.services import Services
from api.services.keys import UNCACHED, Principal

if TYPE_CHECKING:
    from api.jobs.runner import JobRunner

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


async def get_services(request: Request) -> Services:
    return request.app.state.services


async def get_runner(request: Request) -> JobRunner:
    return request.app.state.runner


def require(role: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting API keys of ``role`` or a higher one (401 / 403 otherwise)."""

    async def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("expected an API key in Authorization: Bearer <key>")
        keys = request.app.state.services.keys
        principal = keys.cached(credentials.credentials)
        if principal is UNCACHED:
            principal = await run_in_threadpool(keys.authenticate, credentials.credentials)
        if principal is None:
            raise Unauthorized("the API key is unknown or revoked")
        if not principal.may(role):
            raise Forbidden(f"this needs the {role} role; the key has {principal.role}")
        request.state.principal = principal
        return principal

    return check
