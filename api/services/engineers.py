"""Engineers: stored as their contract document, plus absences and current position."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from api.documents import parse_absences
from api.persistence.db import transaction
from api.persistence.models import EngineerRow
from dispatcher.codec import engineer_from_dict, format_datetime
from dispatcher.errors import InputError, NotFound

MAX_PAGE = 500


class EngineerService:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def put(self, engineer_id: str, document: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create or replace engineer ``engineer_id``: ``(view, created)``."""
        body_id = document.get("id")
        if body_id is not None and body_id != engineer_id:
            raise InputError("id", f"expected {engineer_id!r} (the id in the URL), got {body_id!r}")
        document = {**document, "id": engineer_id}
        engineer_from_dict(document)
        now = self._clock()
        with transaction(self._sessions) as session:
            row = session.get(EngineerRow, engineer_id, with_for_update=True)
            created = row is None
            if row is None:
                row = EngineerRow(
                    id=engineer_id, document=document, absences=[], created_at=now, updated_at=now
                )
                session.add(row)
            else:
                row.document = document
                row.updated_at = now
            return _view(row), created

    def get(self, engineer_id: str) -> dict[str, Any]:
        with self._sessions() as session:
            return _view(self._require(session, engineer_id))

    def list(self, limit: int, cursor: str | None) -> dict[str, Any]:
        """Engineers by id; ``cursor`` is the last id of the previous page."""
        if not 1 <= limit <= MAX_PAGE:
            raise InputError("query.limit", f"expected an integer in [1, {MAX_PAGE}], got {limit}")
        with self._sessions() as session:
            query = sa.select(EngineerRow).order_by(EngineerRow.id).limit(limit + 1)
            if cursor:
                # PostgreSQL cannot compare text with NUL characters; an id has at most 200.
                if "\x00" in cursor or len(cursor) > 200:
                    raise InputError("query.cursor", "expected the next_cursor of a previous page")
                query = query.where(EngineerRow.id > cursor)
            rows = list(session.scalars(query))
            page = rows[:limit]
            return {
                "items": [_view(r) for r in page],
                "next_cursor": page[-1].id if len(rows) > limit else None,
            }

    def delete(self, engineer_id: str) -> None:
        with transaction(self._sessions) as session:
            session.delete(self._require(session, engineer_id))

    def update_status(self, engineer_id: str, status: dict[str, Any]) -> dict[str, Any]:
        """Apply a position update (``current``) and/or replace the ``absences`` list.

        ``current: null`` clears the position (the engineer starts from home again).
        """
        with transaction(self._sessions) as session:
            row = self._require(session, engineer_id, lock=True)
            if "current" in status:
                document = {k: v for k, v in row.document.items() if k != "current"}
                if status["current"] is not None:
                    document["current"] = status["current"]
                engineer_from_dict(document)
                row.document = document
            if "absences" in status:
                row.absences = _absences(status["absences"])
            row.updated_at = self._clock()
            return _view(row)

    @staticmethod
    def _require(session: Session, engineer_id: str, lock: bool = False) -> EngineerRow:
        row = session.get(EngineerRow, engineer_id, with_for_update=lock)
        if row is None:
            raise NotFound(f"no engineer with id {engineer_id!r}")
        return row


def _absences(items: Any) -> list[dict[str, Any]]:
    parse_absences(items, "absences")  # validates the whole list with indexed error paths
    out = []
    for item in items:
        window = parse_absences([item], "absences")[0]
        out.append(
            {
                "start": format_datetime(window.start),
                "end": format_datetime(window.end),
                "reason": item.get("reason"),
            }
        )
    return sorted(out, key=lambda a: a["start"])


def _view(row: EngineerRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "engineer": row.document,
        "absences": row.absences,
        "created_at": format_datetime(row.created_at),
        "updated_at": format_datetime(row.updated_at),
    }
