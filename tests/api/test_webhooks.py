"""Webhooks: signed deliveries in event order to a real receiver, retries with backoff and
a delivery log, and the registration rules (issue 21, item 6)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from api_harness import Server, ServerFactory
from api_helpers import order_doc, unique

# Small delays so that retries finish within a test.
FAST_RETRIES = {
    "webhook_base_delay_s": "0.05",
    "webhook_max_attempts": "3",
    "webhook_poll_s": "0.1",
}


class Receiver:
    """A small HTTP server recording every POST; ``/fail…`` paths answer 500."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.requests.append((self.path, dict(self.headers.items()), body))
                self.send_response(500 if self.path.startswith("/fail") else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()

    def to(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        with self._lock:
            return [(h, b) for p, h, b in self.requests if p == path]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def wait_until(condition: Callable[[], Any], timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout_s}s")
        time.sleep(0.1)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (docs/api.md): recompute the HMAC of the raw body."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Dispatch-Signature"])


@pytest.fixture(scope="module")
def hook_server(server_factory: ServerFactory) -> Server:
    return server_factory(**FAST_RETRIES)


def test_events_are_delivered_signed_and_in_order(hook_server: Server, receiver: Receiver) -> None:
    key = hook_server.new_key("ticketing")
    secret = "s3cret-" + unique("W")
    path = "/hook-" + unique("ok")
    with hook_server.client(key) as client:
        r = client.post("/v1/webhooks", json={"url": receiver.url + path, "secret": secret})
        assert r.status_code == 201, r.text
        hook = r.json()
        assert hook["secret"] == secret
        assert r.headers["location"] == f"/v1/webhooks/{hook['id']}"
        assert [h["id"] for h in client.get("/v1/webhooks").json()["items"]] == [hook["id"]]
        assert "secret" not in client.get("/v1/webhooks").json()["items"][0]

        ids = [unique("WH") for _ in range(3)]
        for order_id in ids:
            assert client.post("/v1/orders", json=order_doc(order_id)).status_code == 201
        r = client.patch(f"/v1/orders/{ids[0]}", json={"status": "cancelled"})
        assert r.status_code == 200

        got = wait_until(lambda: len(receiver.to(path)) >= 4 and receiver.to(path))
        assert len(got) == 4
        bodies = []
        for headers, body in got:
            assert verify(secret, headers, body)
            assert not verify(secret + "x", headers, body)
            event = json.loads(body)
            assert headers["X-Dispatch-Event-Id"] == str(event["id"])
            assert headers["Content-Type"] == "application/json"
            bodies.append(event)
        assert [(e["type"], e["order_id"]) for e in bodies] == [
            ("order.created", ids[0]),
            ("order.created", ids[1]),
            ("order.created", ids[2]),
            ("order.status_changed", ids[0]),
        ]
        event_ids = [e["id"] for e in bodies]
        assert event_ids == sorted(event_ids)
        # The same events as the feed gives.
        feed = client.get("/v1/events", params={"limit": 500}).json()["events"]
        assert [e for e in feed if e["id"] in event_ids] == bodies

        log = wait_until(
            lambda: (
                (items := client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"])
                and len(items) >= 4
                and items
            )
        )
        assert [(d["event_id"], d["attempt"], d["status_code"], d["outcome"]) for d in log] == [
            (i, 1, 200, "delivered") for i in event_ids
        ]


def test_a_failing_endpoint_is_retried_then_marked_failed(
    hook_server: Server, receiver: Receiver
) -> None:
    key = hook_server.new_key("ticketing")
    path = "/fail-" + unique("x")
    with hook_server.client(key) as client:
        r = client.post("/v1/webhooks", json={"url": receiver.url + path})
        assert r.status_code == 201, r.text
        hook = r.json()
        assert hook["secret"].startswith("whsec_")
        first, second = unique("F"), unique("F")
        for order_id in (first, second):
            assert client.post("/v1/orders", json=order_doc(order_id)).status_code == 201

        def finished() -> list[dict[str, Any]] | None:
            items = client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"]
            failed = [d for d in items if d["outcome"] == "failed"]
            return items if len(failed) >= 2 else None

        log = wait_until(finished)
        event_ids = sorted({d["event_id"] for d in log})
        assert len(event_ids) == 2
        for event_id in event_ids:
            attempts = [d for d in log if d["event_id"] == event_id]
            assert [(d["attempt"], d["outcome"]) for d in attempts] == [
                (1, "retry"),
                (2, "retry"),
                (3, "failed"),
            ]
            assert {d["status_code"] for d in attempts} == {500}
            assert {d["error"] for d in attempts} == {"HTTP 500"}
        # In order: every attempt at the first event before any at the second.
        assert [d["event_id"] for d in log] == [event_ids[0]] * 3 + [event_ids[1]] * 3
        sent = [h["X-Dispatch-Event-Id"] for h, _ in receiver.to(path)]
        assert sent == [str(event_ids[0])] * 3 + [str(event_ids[1])] * 3
        for headers, body in receiver.to(path):
            assert verify(hook["secret"], headers, body)


def test_an_unreachable_endpoint_logs_the_error(hook_server: Server) -> None:
    key = hook_server.new_key("ticketing")
    with hook_server.client(key) as client:
        with socket.socket() as s:  # a port nobody listens on (bound, then released)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        hook = client.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{port}/x"}).json()
        assert client.post("/v1/orders", json=order_doc(unique("U"))).status_code == 201
        log = wait_until(
            lambda: (
                (items := client.get(f"/v1/webhooks/{hook['id']}/deliveries").json()["items"])
                and items[-1]["outcome"] == "failed"
                and items
            )
        )
        assert [d["attempt"] for d in log] == [1, 2, 3]
        assert all(d["status_code"] is None and d["error"] for d in log)


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/x"},
        {"url": "file:///etc/passwd"},
        {"url": "javascript:alert(1)"},
        {"url": "not a url"},
        {"url": "http://"},
        {"url": "http://example.com:99999/"},
        {"url": ""},
        {"url": "https://example.com/" + "x" * 2000},
        {"url": "https://example.com/", "secret": "short"},
        {"url": 5},
        {"url": "https://example.com/", "extra": 1},
    ],
)
def test_bad_webhooks_are_refused(ticketing: httpx.Client, body: dict[str, Any]) -> None:
    r = ticketing.post("/v1/webhooks", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["path"] in ("url", "secret", "extra")


def test_webhooks_belong_to_their_key(server: Server, keys: Any) -> None:
    other_key = server.new_key("ticketing")
    with server.client(keys.ticketing) as mine, server.client(other_key) as other:
        hook = mine.post("/v1/webhooks", json={"url": "https://example.invalid/h"}).json()
        assert hook["id"] not in [h["id"] for h in other.get("/v1/webhooks").json()["items"]]
        assert other.delete(f"/v1/webhooks/{hook['id']}").status_code == 404
        assert other.get(f"/v1/webhooks/{hook['id']}/deliveries").status_code == 404
        r = mine.delete(f"/v1/webhooks/{hook['id']}")
        assert r.status_code == 200 and r.json()["deleted_at"] is not None
        assert hook["id"] not in [h["id"] for h in mine.get("/v1/webhooks").json()["items"]]
        assert mine.delete(f"/v1/webhooks/{hook['id']}").status_code == 404
        assert mine.get(f"/v1/webhooks/{hook['id']}/deliveries").status_code == 200
        assert mine.get("/v1/webhooks/nope/deliveries").status_code == 404
    with server.client() as anonymous:
        assert anonymous.get("/v1/webhooks").status_code == 401
