"""The active policy (commitments table, weights, travel model): one stored document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from api.documents import policy_document
from api.persistence.db import transaction
from api.persistence.models import PolicyRow
from dispatcher.codec import policy_from_dict
from dispatcher.domain import Policy

POLICY_ROW_ID = 1


class PolicyService:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    @staticmethod
    def load(session: Session) -> Policy:
        """The active policy inside ``session`` (the default policy when none is stored)."""
        row = session.get(PolicyRow, POLICY_ROW_ID)
        return policy_from_dict(row.document if row else None)

    def get(self) -> dict[str, Any]:
        with self._sessions() as session:
            return policy_document(self.load(session))

    def put(self, document: Any, session: Session | None = None) -> dict[str, Any]:
        """Validate and store ``document``; returns it in canonical form.

        Stored orders keep their deadlines: :meth:`OrderService.refresh_deadlines` recomputes
        them, and callers run both in one transaction.
        """
        canonical = policy_document(policy_from_dict(document))
        if session is None:
            with transaction(self._sessions) as own:
                self._store(own, canonical)
        else:
            self._store(session, canonical)
        return canonical

    def _store(self, session: Session, canonical: dict[str, Any]) -> None:
        row = session.get(PolicyRow, POLICY_ROW_ID)
        if row is None:
            session.add(PolicyRow(id=POLICY_ROW_ID, document=canonical, updated_at=self._clock()))
        else:
            row.document = canonical
            row.updated_at = self._clock()
