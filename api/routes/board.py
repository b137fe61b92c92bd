"""The dispatch board (``/board``) and the API docs (``/docs`` Swagger UI, ``/redoc``),
all from local assets (:mod:`api.board`); none of these pages is in the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.board import STATIC_DIR, missing_assets, redoc_bundle

router = APIRouter(include_in_schema=False)

TITLE = "Field dispatch API"
FAVICON = "/board/static/favicon.svg"


def _missing_page() -> HTMLResponse | None:
    missing = missing_assets()
    if not missing:
        return None
    items = "".join(f"<li><code>api/board/{m}</code></li>" for m in missing)
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>assets missing</title>"
        "<h1>Board and docs assets are not installed</h1>"
        f"<p>Run <code>make install</code> (it runs <code>npm ci</code> in api/board).</p>"
        f"<ul>{items}</ul>",
        status_code=503,
    )


@router.get("/board")
def board() -> Response:
    """The dispatch board: the API key comes from the page (``#key=…`` or a form)."""
    return _missing_page() or FileResponse(
        STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"}
    )


@router.get("/docs")
def swagger_ui() -> HTMLResponse:
    return _missing_page() or get_swagger_ui_html(
        openapi_url="/openapi.json",
        title=f"{TITLE} - Swagger UI",
        swagger_js_url="/board/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/board/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return _missing_page() or get_redoc_html(
        openapi_url="/openapi.json",
        title=f"{TITLE} - ReDoc",
        redoc_js_url="/board/redoc.standalone.js",
        redoc_favicon_url=FAVICON,
        with_google_fonts=False,
    )


@router.get("/board/redoc.standalone.js")
def redoc_js() -> Response:
    """ReDoc's bundle from npm, its CDN logo pointed at a local file (:func:`redoc_bundle`)."""
    return _missing_page() or Response(
        redoc_bundle(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )
