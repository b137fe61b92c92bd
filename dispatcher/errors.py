"""The one error tree of the product.

Every edge maps it once: the API turns it into ``application/problem+json``
(RFC 9457), the CLI into exit codes.

========================  ==========  =========
error                     HTTP        CLI exit
========================  ==========  =========
:class:`InputError`       422         2
:class:`NotFound`         404         2
:class:`Conflict`         409         2
:class:`TravelTimeError`  502         3
========================  ==========  =========
"""

from __future__ import annotations


class DispatchError(Exception):
    """Base of every error the product raises on purpose."""

    http_status = 500
    exit_code = 1
    type_slug = "dispatch-error"


class InputError(DispatchError, ValueError):
    """A value a user sent is not acceptable.

    Parameters
    ----------
    path
        Where the bad value sits, e.g. ``orders[3].site.lat``.
    message
        What was expected and what was found.
    """

    http_status = 422
    exit_code = 2
    type_slug = "invalid-input"

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class NotFound(DispatchError):
    http_status = 404
    exit_code = 2
    type_slug = "not-found"


class Conflict(DispatchError):
    http_status = 409
    exit_code = 2
    type_slug = "conflict"


class TravelTimeError(DispatchError):
    """A travel-time provider failed to answer."""

    http_status = 502
    exit_code = 3
    type_slug = "travel-time-unavailable"
