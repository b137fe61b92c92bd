"""API-only members of the product's one error tree (:mod:`dispatcher.errors`).

They subclass :class:`~dispatcher.errors.DispatchError` so that the single handler in
:mod:`api.problems` maps every error the service raises on purpose.
"""

from __future__ import annotations

from typing import Any

from dispatcher.errors import Conflict, DispatchError, InputError


class InputErrors(InputError):
    """Several invalid values at once (a request body checked field by field)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        first_path, first_message = errors[0]
        super().__init__(first_path, first_message)
        extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        self.args = (f"{first_path}: {first_message}{extra}" if first_path else first_message,)


class ConflictWith(Conflict):
    """A conflict that carries the current state of the resource it conflicts with."""

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions = extensions


class MalformedJson(DispatchError):
    http_status = 400
    type_slug = "malformed-json"


class Unauthorized(DispatchError):
    http_status = 401
    type_slug = "unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="dispatch"'}


class Forbidden(DispatchError):
    http_status = 403
    type_slug = "forbidden"


class PayloadTooLarge(DispatchError):
    http_status = 413
    type_slug = "payload-too-large"


class UnsupportedMediaType(DispatchError):
    http_status = 415
    type_slug = "unsupported-media-type"


class TooBusy(DispatchError):
    """The job queue is full; try again after ``retry_after_s`` seconds."""

    http_status = 429
    type_slug = "too-many-requests"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


class ServiceUnavailable(DispatchError):
    http_status = 503
    type_slug = "service-unavailable"
