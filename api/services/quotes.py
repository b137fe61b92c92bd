"""ETA quotes for tickets not yet stored: ``POST /v1/quotes`` (dispatcher/quote.py).

A quote is answered against the Problem a plan job made now would snapshot (active orders,
engineers with their absences, the policy, visits under way, the published plan and held
quote slots: the plan service's ``current_problem``) with the published plan's
horizon; with nothing published, against empty routes. Nothing is stored.

The :class:`dispatcher.quote.QuoteBook` of that Problem (compiled, the published routes timed:
about a second at 1,000 orders x 100 engineers) is kept and reused while the stored data it
was built from is unchanged — the published plan, the policy, the engineers (documents and
absences), the orders (bodies, statuses, holds, visits under way): their counts and latest
``updated_at`` stamps (:func:`_signature`) — and for at most :attr:`QuoteService.max_age_s` seconds (its planning
start is the moment it was built: after that the quotes would start from a stale "now").
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from api.persistence.models import EngineerRow, OrderRow, PlanJobRow, PolicyRow
from api.services.orders import current_plan_id
from dispatcher.codec import format_datetime, order_from_dict
from dispatcher.domain import Problem
from dispatcher.quote import QuoteBook

DEFAULT_HORIZON_HOURS = 96  # with no plan published (the plan jobs' default)
BOOK_MAX_AGE_S = 300.0

Snapshot = Callable[[Session, datetime, int], Problem]


@dataclass
class _Cached:
    signature: str
    built: float  # time.monotonic() at build
    book: QuoteBook
    plan_id: str | None


class QuoteService:
    """Quotes against the current published plan, one cached book (see the module docstring).

    Parameters
    ----------
    sessions
        Database sessions (read only here).
    clock
        The API's clock: the planning start of a book.
    snapshot
        ``(session, planning_start, horizon_hours) -> Problem``: the Problem a plan job would
        snapshot (the plan service's ``current_problem``).
    max_age_s
        Oldest book reused (seconds).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        snapshot: Snapshot,
        max_age_s: float = BOOK_MAX_AGE_S,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._snapshot = snapshot
        self.max_age_s = max_age_s
        self._cached: _Cached | None = None
        self._building = threading.Lock()  # one build at a time; the others wait for it
        self.builds = 0  # books built (tests, metrics)

    def quote(self, document: dict[str, Any], limit: int) -> dict[str, Any]:
        """Quote an Order document (validated by the codec like ``POST /v1/orders``; a
        ``quote`` hold member is ignored)."""
        document = {k: v for k, v in document.items() if k != "quote"}
        order = order_from_dict(document)
        cached = self._book()
        answer = cached.book.quote(order, limit).to_dict()
        answer["plan_id"] = cached.plan_id
        answer["planning_start"] = format_datetime(cached.book.problem.planning_start)
        return answer

    def _book(self) -> _Cached:
        with self._sessions() as session:
            signature, plan_id = _signature(session)
        cached = self._cached
        if cached is not None and self._fresh(cached, signature):
            return cached
        with self._building:
            cached = self._cached
            if cached is not None and self._fresh(cached, signature):
                return cached  # built by another request meanwhile
            with self._sessions() as session:
                signature, plan_id = _signature(session)
                horizon = DEFAULT_HORIZON_HOURS
                if plan_id is not None:
                    job = session.get(PlanJobRow, plan_id)
                    horizon = job.horizon_hours if job is not None else horizon
                start = self._clock().replace(microsecond=0)
                problem = self._snapshot(session, start, horizon)
            book = QuoteBook(problem)
            self.builds += 1
            self._cached = _Cached(signature, time.monotonic(), book, plan_id)
            return self._cached

    def _fresh(self, cached: _Cached, signature: str) -> bool:
        return cached.signature == signature and time.monotonic() - cached.built <= self.max_age_s


def _signature(session: Session) -> tuple[str, str | None]:
    """What a quote's Problem is built from, summed up, and the published plan's id.

    Every writer of orders, engineers and the policy stamps the row's ``updated_at`` (order
    status changes, holds and visits under way go through
    :func:`api.services.orders.record_status` or a patch); publishing changes the plan id.
    So the row counts, the latest stamps and the plan id change whenever the Problem can:
    four aggregate queries instead of reading 1,000 rows per quote.
    """
    plan_id = current_plan_id(session)
    orders = session.execute(
        sa.select(sa.func.count(), sa.func.max(OrderRow.updated_at), sa.func.max(OrderRow.seq))
    ).one()
    engineers = session.execute(
        sa.select(sa.func.count(), sa.func.max(EngineerRow.updated_at))
    ).one()
    policy = session.scalar(sa.select(PolicyRow.updated_at))
    facts = (plan_id, tuple(orders), tuple(engineers), policy)
    return hashlib.sha256(repr(facts).encode()).hexdigest(), plan_id
