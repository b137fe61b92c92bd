"""FastAPI dependencies: the app's services and job runner, and the caller's role."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import Forbidden, Unauthorized
from api.services import Services
from api.services.keys import Principal

if TYPE_CHECKING:
    from api.jobs.runner import JobRunner

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer <key>`")


def get_services(request: Request) -> Services:
    return request.app.state.services


def get_runner(request: Request) -> JobRunner:
    return request.app.state.runner


def require(role: str) -> Callable[..., Principal]:
    """A dependency admitting API keys of ``role`` or a higher one (401 / 403 otherwise)."""

    def check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("expected an API key in Authorization: Bearer <key>")
        principal = get_services(request).keys.authenticate(credentials.credentials)
        if principal is None:
            raise Unauthorized("the API key is unknown or revoked")
        if not principal.may(role):
            raise Forbidden(f"this needs the {role} role; the key has {principal.role}")
        request.state.principal = principal
        return principal

    return check
