"""API keys: random 32-byte secrets, stored as SHA-256 digests, each with one role.

Each worker keeps the valid keys it has checked in a bounded LRU cache (``CACHE_SIZE``);
unknown and revoked keys are never cached, so presenting random keys costs a lookup each
but evicts nothing. A cached key is trusted for ``key_recheck_seconds`` (a setting, 0 by
default: every request checks the key's row, so a revocation holds on every worker from
the next request after it commits).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from api.persistence.db import transaction
from api.persistence.models import ApiKeyRow
from api.services.audit import AuditLog
from dispatcher.errors import InputError

ROLES = ("ticketing", "coordinator", "admin")
ROLE_RANK = {role: rank for rank, role in enumerate(ROLES)}
KEY_PREFIX = "dsp"
CACHE_SIZE = 10_000  # valid keys per worker; the least recently used one goes first
UNCACHED: Any = object()  # KeyService.cached: the key is not in the cache (or too old)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's public id and its role."""

    key_id: str
    role: str

    def may(self, role: str) -> bool:
        """Roles are ordered: admin may do what a coordinator may, who may what ticketing may."""
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What may be shown of a stored key: never its secret."""

    key_id: str
    role: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


def hash_key(key: str) -> str:
    # A fast hash is enough: keys are 256-bit random secrets, not guessable passwords.
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh ``(key_id, key)``; the key embeds its public id for log correlation."""
    key_id = secrets.token_hex(6)
    return key_id, f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


class KeyService:
    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], datetime], audit: AuditLog
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._audit = audit
        # digest -> (when last checked in the database, monotonic; the principal)
        self._cache: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._lock = threading.Lock()

    def create(
        self, role: str, name: str | None = None, actor: str | None = None
    ) -> tuple[str, str]:
        """Store a new key with ``role``; returns ``(key_id, key)`` — the key is shown once."""
        if role not in ROLES:
            raise InputError("role", f"expected one of {', '.join(ROLES)}, got {role!r}")
        key_id, key = new_key()
        with transaction(self._sessions) as session:
            session.add(
                ApiKeyRow(
                    id=key_id,
                    key_hash=hash_key(key),
                    role=role,
                    name=name,
                    created_at=self._clock(),
                )
            )
            self._audit.record(session, actor, "key.create", "api_key", key_id, role=role)
        return key_id, key

    def list_keys(self) -> list[KeyInfo]:
        """Every key ever created, oldest first (secrets are never stored, so never shown)."""
        with self._sessions() as session:
            rows = session.scalars(sa.select(ApiKeyRow).order_by(ApiKeyRow.created_at))
            return [KeyInfo(r.id, r.role, r.name, r.created_at, r.revoked_at) for r in rows]

    def revoke(self, key_id: str, actor: str | None = None) -> bool:
        with transaction(self._sessions) as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = self._clock()
            self._audit.record(session, actor, "key.revoke", "api_key", key_id)
        with self._lock:
            self._cache.clear()
        return True

    def cached(self, key: str, max_age_s: float) -> Principal:
        """The principal of ``key`` if it was found valid less than ``max_age_s`` seconds
        ago, else ``UNCACHED``; never touches the database, so the event loop may call it."""
        if max_age_s <= 0:
            return UNCACHED
        digest = hash_key(key)
        with self._lock:
            hit = self._cache.get(digest)
            if hit is None or time.monotonic() - hit[0] >= max_age_s:
                return UNCACHED
            self._cache.move_to_end(digest)
            return hit[1]

    def authenticate(self, key: str) -> Principal | None:
        """The principal of a presented key, or None (unknown or revoked), read from the
        database; a valid key is remembered for :meth:`cached`."""
        digest = hash_key(key)
        now = time.monotonic()
        with self._sessions() as session:
            row = session.scalar(sa.select(ApiKeyRow).where(ApiKeyRow.key_hash == digest))
            principal = (
                Principal(row.id, row.role) if row is not None and row.revoked_at is None else None
            )
        with self._lock:
            if principal is None:
                self._cache.pop(digest, None)
            else:
                self._cache[digest] = (now, principal)
                self._cache.move_to_end(digest)
                while len(self._cache) > CACHE_SIZE:
                    self._cache.popitem(last=False)
        return principal
