"""Request guards, answered as problem+json before any route runs.

- 404 when the path holds a NUL character (``%00``): no resource is named that way;
- 413 when the body is larger than ``max_body_bytes`` (declared or streamed);
- 415 when a request with a body does not declare a JSON media type;
- 422 when a JSON body holds a NUL character (``\\u0000``): PostgreSQL cannot store it
  in text or JSONB, and no contract field needs it;
- 422 when a JSON body nests arrays or objects deeper than ``MAX_JSON_DEPTH`` (the JSON
  parser would recurse that deep: a RecursionError, 500 before).

It also completes the ``Allow`` header of a 405: Starlette names the methods of the first
route matching the path only, FastAPI makes one route per method.
"""

from __future__ import annotations

import functools
import re

import numpy as np
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_JSON, problem_bytes

BODY_METHODS = {"POST", "PUT", "PATCH"}
# A JSON ``\u0000`` escape: preceded by an even number of backslashes (an odd number would
# make it the literal text ``\u0000``). Valid JSON has no backslash outside strings.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
# No contract document nests deeper than about 8 levels; the JSON parser recurses per level.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class BodyGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_full_allow(scope, send)
        if "\x00" in scope.get("path", ""):
            await _reject(send, 404, "not-found", "no resource has a NUL character in its path")
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await _reject(send, 413, "payload-too-large", self._too_large(int(declared)))
            return
        body, more = await self._read(receive)
        if more:
            await _reject(send, 413, "payload-too-large", self._too_large(None))
            return
        if body and not _is_json(headers.get(b"content-type", b"")):
            await _reject(
                send,
                415,
                "unsupported-media-type",
                "expected Content-Type: application/json for a request body",
            )
            return
        if _JSON_NUL.search(body):
            message = "expected no NUL character (\\u0000) in any string"
            await _reject(send, 422, "invalid-input", message, errors=[("", message)])
            return
        if too_deep(body):
            message = f"expected JSON nested at most {MAX_JSON_DEPTH} levels deep"
            await _reject(send, 422, "invalid-input", message, errors=[("", message)])
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self, size: int | None) -> str:
        got = f"{size} bytes" if size is not None else "more"
        return f"expected a body of at most {self.max_body_bytes} bytes, got {got}"

    async def _read(self, receive: Receive) -> tuple[bytes, bool]:
        """The whole body, or ``(partial, True)`` once it passes the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False


def too_deep(body: bytes) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than ``MAX_JSON_DEPTH``
    (brackets inside strings do not count). Without parsing, at C speed: strings are cut
    out, and the running depth over the remaining brackets is a cumulative sum."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return False
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    codes = np.frombuffer(brackets, dtype=np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
    return bool(steps.size) and int(np.cumsum(steps).max()) > MAX_JSON_DEPTH


_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed_methods(scope: Scope) -> list[str]:
    """The methods the OpenAPI document gives the first path template (in route order)
    that ``scope``'s path matches: ``/v1/plans/current`` is GET only, although
    ``/v1/plans/{plan_id}`` (DELETE too) also matches it. A path no operation documents
    (the board, the docs): every method some route fully matches."""
    app = scope.get("app")
    path = scope.get("path", "")
    openapi = getattr(app, "openapi", None)
    if callable(openapi):
        for template, operations in openapi().get("paths", {}).items():
            if _template_regex(template).fullmatch(path):
                return sorted(m.upper() for m in operations if m.upper() in _METHODS)
    routes = getattr(app, "routes", [])
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    ]


@functools.cache
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _with_full_allow(scope: Scope, send: Send) -> Send:
    async def send_with_allow(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            methods = allowed_methods(scope)
            if methods:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                headers.append((b"allow", ", ".join(methods).encode()))
                message = {**message, "headers": headers}
        await send(message)

    return send_with_allow


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (
        media.startswith(b"application/") and media.endswith(b"+json")
    )


def _replay(body: bytes, downstream: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await downstream()  # e.g. the client's disconnect

    return receive


async def _reject(
    send: Send, status: int, slug: str, detail: str, errors: list[tuple[str, str]] | None = None
) -> None:
    body = problem_bytes(status, slug, detail, errors)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
