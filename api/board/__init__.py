"""The dispatch board's static files and the offline assets it and the API docs use.

``static/`` holds the board itself (plain ES modules, SVG, no build step). The third-party
assets — Swagger UI, ReDoc, the world outline (``world-atlas`` TopoJSON) and
``topojson-client`` — are npm packages pinned by ``api/board/package-lock.json`` and
installed into ``api/board/node_modules`` by ``make install`` (``npm ci``); nothing is
fetched at run time. :func:`mount_assets` serves both under ``/board/``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

BOARD_DIR = Path(__file__).resolve().parent
STATIC_DIR = BOARD_DIR / "static"
NODE_MODULES = BOARD_DIR / "node_modules"

# URL name under /board/vendor/ -> the installed directory it serves (only these).
VENDOR: dict[str, Path] = {
    "swagger-ui": NODE_MODULES / "swagger-ui-dist",
    "redoc": NODE_MODULES / "redoc" / "bundles",
    "world-atlas": NODE_MODULES / "world-atlas",
    "topojson-client": NODE_MODULES / "topojson-client" / "dist",
}

# The files the pages load; missing ones mean `make install` (npm ci) has not run.
REQUIRED = (
    VENDOR["swagger-ui"] / "swagger-ui-bundle.js",
    VENDOR["swagger-ui"] / "swagger-ui.css",
    VENDOR["redoc"] / "redoc.standalone.js",
    VENDOR["world-atlas"] / "countries-110m.json",
    VENDOR["topojson-client"] / "topojson-client.min.js",
)


# ReDoc's bundle shows the Redocly logo from a CDN; the board serves it a local image instead.
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
LOCAL_LOGO = b"/board/static/favicon.svg"


@lru_cache(maxsize=1)
def redoc_bundle() -> bytes:
    """``redoc.standalone.js`` with its one run-time outside URL (the logo) made local."""
    return (
        (VENDOR["redoc"] / "redoc.standalone.js").read_bytes().replace(REDOC_CDN_LOGO, LOCAL_LOGO)
    )


def missing_assets() -> list[str]:
    """The required asset files that are not installed (relative to ``api/board``)."""
    return [str(p.relative_to(BOARD_DIR)) for p in REQUIRED if not p.is_file()]


def mount_assets(app: FastAPI) -> None:
    """Serve ``/board/static/…`` and ``/board/vendor/<name>/…`` (no API key: public files).

    ``check_dir=False``: a server without the npm assets still starts; the pages then say
    which files are missing.
    """
    app.mount("/board/static", StaticFiles(directory=STATIC_DIR, check_dir=False), "board")
    for name, directory in VENDOR.items():
        app.mount(
            f"/board/vendor/{name}",
            StaticFiles(directory=directory, check_dir=False),
            f"board-vendor-{name}",
        )
