"""Request guards, answered as problem+json before any route runs.

- 404 when the path holds a NUL character (``%00``): no resource is named that way;
- 413 when the body is larger than ``max_body_bytes`` (declared or streamed);
- 415 when a request with a body does not declare a JSON media type;
- 422 when a JSON body holds a NUL character (``\\u0000``): PostgreSQL cannot store it
  in text or JSONB, and no contract field needs it.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_JSON, problem_bytes

BODY_METHODS = {"POST", "PUT", "PATCH"}
# A JSON ``\u0000`` escape: preceded by an even number of backslashes (an odd number would
# make it the literal text ``\u0000``). Valid JSON has no backslash outside strings.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class BodyGuardMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
