"""The HTTP API: FastAPI app factory, routes, auth, job runner, persistence.

Use :func:`create_app` with :class:`~api.settings.Settings`; ``dispatch serve`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, **kwargs: Any) -> FastAPI:
    """Build the API app (see :func:`api.app.create_app`)."""
    from api.app import create_app as _create_app

    return _create_app(settings, **kwargs)
