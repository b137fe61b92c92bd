"""Webhooks: each API key may register endpoints that receive every event, in order.

:class:`WebhookService` keeps the registrations and the delivery log;
:class:`DeliveryWorker` is the thread (started and stopped by the app's lifespan) that
POSTs the events. Per webhook, delivery is in event order: the webhook's ``cursor`` is the
last event it is done with; the next one is retried with exponential backoff
(``webhook_base_delay_s`` · 2^(attempt-1)) up to ``webhook_max_attempts`` attempts, then
logged ``failed`` and skipped. Every attempt is in ``webhook_deliveries``.

Delivery is *at least once*: a crash between a receiver's 2xx and the cursor update sends
that event again, so receivers deduplicate by ``X-Dispatch-Event-Id``. Several API
processes (``--workers``) share the work through a lease on each webhook row
(``lease_owner``, ``lease_until``): one process delivers a given webhook at a time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from api.persistence.db import transaction
from api.persistence.models import EventCounterRow, EventRow, WebhookDeliveryRow, WebhookRow
from api.services.events import COUNTER_ROW_ID, event_view
from api.settings import Settings
from dispatcher.codec import format_datetime
from dispatcher.errors import InputError, NotFound

log = logging.getLogger("api.webhooks")

SIGNATURE_HEADER = "X-Dispatch-Signature"
EVENT_ID_HEADER = "X-Dispatch-Event-Id"
MAX_URL_LENGTH = 2000
# The URLs check_url accepts, as the OpenAPI schema states them: http(s), a host name of
# letters, digits, dots and hyphens, an optional port up to 65535, then a path, query or
# fragment without control characters or whitespace (str.isspace's, Unicode's included).
_PORT = r"([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
_URL_TEXT = r"[^\u0000-\u0020\u007f-\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
WEBHOOK_URL_PATTERN = (
    rf"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?(:{_PORT})?([/?#]{_URL_TEXT}*)?$"
)
_WEBHOOK_URL = re.compile(WEBHOOK_URL_PATTERN)
BATCH = 50  # events delivered to one webhook before the worker looks at the others


def sign(secret: str, body: bytes) -> str:
    """The ``X-Dispatch-Signature`` value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host; anything else is an InputError at ``url``."""
    if len(url) > MAX_URL_LENGTH:
        raise InputError("url", f"expected at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError:
        raise InputError("url", "expected an http(s) URL") from None
    if parts.scheme not in ("http", "https"):
        raise InputError("url", f"expected an http or https URL, got scheme {parts.scheme!r}")
    if not host:
        raise InputError("url", "expected an http(s) URL with a host")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InputError("url", "expected a URL without spaces or control characters")
    if not _WEBHOOK_URL.fullmatch(url):
        raise InputError(
            "url", "expected http(s)://host[:port][/path], the host of letters, digits, . and -"
        )
    return url


class WebhookService:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def create(self, key_id: str, url: str, secret: str | None) -> dict[str, Any]:
        """Register ``url`` for ``key_id``: it receives the events committed from now on.
        The answer holds the secret (generated when not given); it is never shown again."""
        check_url(url)
        secret = secret if secret is not None else "whsec_" + secrets.token_urlsafe(32)
        with transaction(self._sessions) as session:
            last = session.scalar(
                sa.select(EventCounterRow.last_id).where(EventCounterRow.id == COUNTER_ROW_ID)
            )
            row = WebhookRow(
                id=uuid.uuid4().hex,
                key_id=key_id,
                url=url,
                secret=secret,
                created_at=self._clock(),
                deleted_at=None,
                cursor=int(last or 0),
                attempts=0,
            )
            session.add(row)
            session.flush()
            return {**_view(row), "secret": secret}

    def list(self, key_id: str) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(
                sa.select(WebhookRow)
                .where(WebhookRow.key_id == key_id, WebhookRow.deleted_at.is_(None))
                .order_by(WebhookRow.created_at, WebhookRow.id)
            )
            return [_view(r) for r in rows]

    def delete(self, key_id: str, webhook_id: str) -> dict[str, Any]:
        with transaction(self._sessions) as session:
            row = self._require(session, key_id, webhook_id)
            if row.deleted_at is not None:
                raise NotFound(f"no webhook {webhook_id!r}")
            row.deleted_at = self._clock()
            return _view(row)

    def deliveries(self, key_id: str, webhook_id: str, limit: int) -> dict[str, Any]:
        """The newest ``limit`` delivery attempts of one of the key's webhooks, oldest first
        (also of a deleted one)."""
        with self._sessions() as session:
            self._require(session, key_id, webhook_id)
            rows = list(
                session.scalars(
                    sa.select(WebhookDeliveryRow)
                    .where(WebhookDeliveryRow.webhook_id == webhook_id)
                    .order_by(WebhookDeliveryRow.id.desc())
                    .limit(limit)
                )
            )
            return {"items": [_delivery(r) for r in reversed(rows)]}

    @staticmethod
    def _require(session: Session, key_id: str, webhook_id: str) -> WebhookRow:
        row = session.get(WebhookRow, webhook_id) if len(webhook_id) <= 40 else None
        if row is None or row.key_id != key_id:
            raise NotFound(f"no webhook {webhook_id!r}")
        return row


def _view(row: WebhookRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": row.url,
        "created_at": format_datetime(row.created_at),
        "deleted_at": None if row.deleted_at is None else format_datetime(row.deleted_at),
        "delivered_through": row.cursor,
    }


def _delivery(row: WebhookDeliveryRow) -> dict[str, Any]:
    return {
        "event_id": row.event_id,
        "attempt": row.attempt,
        "status_code": row.status_code,
        "error": row.error,
        "outcome": row.outcome,
        "at": format_datetime(row.at),
    }


class DeliveryWorker:
    """A thread POSTing events to webhooks; :meth:`start` and :meth:`stop` from the lifespan."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], datetime], settings: Settings
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._base_delay = timedelta(seconds=settings.webhook_base_delay_s)
        self._max_attempts = settings.webhook_max_attempts
        self._timeout = settings.webhook_timeout_s
        self._poll = settings.webhook_poll_s
        self._lease = timedelta(seconds=max(30.0, 3 * settings.webhook_timeout_s))
        self._owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="webhook-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float | None = None) -> None:
        """Ask the thread to stop and wait for it (at most the delivery timeout, plus a bit:
        an attempt under way finishes or times out; the lease lets another process resume)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._timeout + 5 if timeout_s is None else timeout_s)
            self._thread = None

    def _loop(self) -> None:
        with httpx.Client(timeout=self._timeout, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    busy = self.run_once(client)
                except Exception:  # noqa: BLE001 - the worker must outlive a bad round
                    log.exception("webhook delivery round failed")
                    busy = False
                if not busy:
                    self._stop.wait(self._poll)

    def run_once(self, client: httpx.Client) -> bool:
        """One round over the webhooks with something due; True if anything was attempted."""
        attempted = False
        for webhook_id in self._due():
            if self._stop.is_set():
                break
            if not self._take_lease(webhook_id):
                continue
            try:
                attempted |= self._deliver(client, webhook_id)
            finally:
                self._release_lease(webhook_id)
        return attempted

    def _due(self) -> list[str]:
        now = self._clock()
        last = (
            sa.select(EventCounterRow.last_id)
            .where(EventCounterRow.id == COUNTER_ROW_ID)
            .scalar_subquery()
        )
        with self._sessions() as session:
            return list(
                session.scalars(
                    sa.select(WebhookRow.id)
                    .where(
                        WebhookRow.deleted_at.is_(None),
                        WebhookRow.cursor < last,
                        sa.or_(WebhookRow.retry_at.is_(None), WebhookRow.retry_at <= now),
                    )
                    .order_by(WebhookRow.id)
                )
            )

    def _take_lease(self, webhook_id: str) -> bool:
        now = self._clock()
        with transaction(self._sessions) as session:
            result = session.execute(
                sa.update(WebhookRow)
                .where(
                    WebhookRow.id == webhook_id,
                    WebhookRow.deleted_at.is_(None),
                    sa.or_(
                        WebhookRow.lease_until.is_(None),
                        WebhookRow.lease_until < now,
                        WebhookRow.lease_owner == self._owner,
                    ),
                )
                .values(lease_owner=self._owner, lease_until=now + self._lease)
                .execution_options(synchronize_session=False)
            )
            return _rowcount(result) == 1

    def _release_lease(self, webhook_id: str) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                sa.update(WebhookRow)
                .where(WebhookRow.id == webhook_id, WebhookRow.lease_owner == self._owner)
                .values(lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def _deliver(self, client: httpx.Client, webhook_id: str) -> bool:
        """Deliver up to :data:`BATCH` events to one webhook, in order; stops at a failure
        that will be retried later. True if anything was attempted."""
        with self._sessions() as session:
            hook = session.get(WebhookRow, webhook_id)
            if hook is None or hook.deleted_at is not None:
                return False
            url, secret, cursor, attempts = hook.url, hook.secret, hook.cursor, hook.attempts
            events = [
                event_view(r)
                for r in session.scalars(
                    sa.select(EventRow)
                    .where(EventRow.id > cursor)
                    .order_by(EventRow.id)
                    .limit(BATCH)
                )
            ]
        attempted = False
        for item in events:
            if self._stop.is_set():
                break
            attempted = True
            attempt = attempts + 1
            status, error = self._post(client, url, secret, item)
            ok = status is not None and 200 <= status < 300
            if ok or attempt >= self._max_attempts:
                outcome = "delivered" if ok else "failed"
                if not self._record(webhook_id, item["id"], attempt, status, error, outcome):
                    break
                attempts = 0
                continue
            self._record(webhook_id, item["id"], attempt, status, error, "retry")
            break
        return attempted

    def _post(
        self, client: httpx.Client, url: str, secret: str, item: dict[str, Any]
    ) -> tuple[int | None, str | None]:
        body = json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body),
            EVENT_ID_HEADER: str(item["id"]),
            "X-Dispatch-Event-Type": item["type"],
        }
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:  # noqa: BLE001 - e.g. an URL httpx cannot use
            return None, f"{type(exc).__name__}: {exc}"[:500]
        error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
        return response.status_code, error

    def _record(
        self,
        webhook_id: str,
        event_id: int,
        attempt: int,
        status: int | None,
        error: str | None,
        outcome: str,
    ) -> bool:
        """Log the attempt and move the webhook on (done: past the event; retry: later),
        while the lease is still ours; False if it is not (or the webhook was deleted)."""
        now = self._clock()
        if outcome == "retry":
            values: dict[str, Any] = {
                "attempts": attempt,
                "retry_at": now + self._base_delay * 2 ** (attempt - 1),
            }
        else:
            values = {"cursor": event_id, "attempts": 0, "retry_at": None}
        with transaction(self._sessions) as session:
            moved = session.execute(
                sa.update(WebhookRow)
                .where(
                    WebhookRow.id == webhook_id,
                    WebhookRow.lease_owner == self._owner,
                    WebhookRow.deleted_at.is_(None),
                )
                .values(lease_until=now + self._lease, **values)
                .execution_options(synchronize_session=False)
            )
            if _rowcount(moved) != 1:
                return False
            session.add(
                WebhookDeliveryRow(
                    webhook_id=webhook_id,
                    event_id=event_id,
                    attempt=attempt,
                    status_code=status,
                    error=error,
                    outcome=outcome,
                    at=now,
                )
            )
        if outcome == "failed":
            log.warning(
                "webhook %s: event %s failed after %s attempts (%s)",
                webhook_id,
                event_id,
                attempt,
                error,
            )
        return True


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
