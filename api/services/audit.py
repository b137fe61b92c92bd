"""Audit events: who published or cancelled what, and when."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from api.persistence.models import AuditEventRow
from dispatcher.codec import format_datetime


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def record(
        self,
        session: Session,
        actor: str | None,
        action: str,
        subject_type: str,
        subject_id: str,
        **detail: Any,
    ) -> None:
        """Add an event to ``session``'s transaction (it commits with the change it records)."""
        session.add(
            AuditEventRow(
                at=self._clock(),
                actor=actor,
                action=action,
                subject_type=subject_type,
                subject_id=subject_id,
                detail=detail,
            )
        )

    def list_recent(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` events, newest first."""
        with self._sessions() as session:
            rows = session.scalars(
                sa.select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
            )
            return [_event(r) for r in rows]


def _event(r: AuditEventRow) -> dict[str, Any]:
    return {
        "at": format_datetime(r.at),
        "actor": r.actor,
        "action": r.action,
        "subject_type": r.subject_type,
        "subject_id": r.subject_id,
        "detail": r.detail,
    }
