"""Events for the ticketing system: a durable, ordered log of order changes and its feed.

Every change of an order's status, engineer or ETA is an event (``docs/api.md``, *Events*):

- ``order.created``, ``order.status_changed`` — where statuses are recorded
  (:func:`order_created`, :func:`status_changed`);
- ``order.assigned``, ``order.reassigned``, ``order.retimed``, ``order.unassigned`` — when
  a plan is published (:func:`plan_published`, comparing the visits of the previously
  published plan with the new plan's, :func:`compare_visits`).

**Same transaction.** The recording functions only queue an event on the caller's
session; a ``before_commit`` hook writes the queued events inside that same transaction,
just before it commits (and a rollback drops them): no event without its change, no change
without its event.

**Ordering under concurrent writers.** A consumer reads ``id > cursor``, so an id must
never become visible after a larger one. A sequence (or autoincrement) does not promise
that on PostgreSQL: transaction 1 draws id 7, transaction 2 draws 8 and commits first, a
reader sees 8, moves its cursor past 7, and never sees 7 once it commits. Here ids come
from a one-row counter (``event_counter``) updated in the writing transaction
(``UPDATE … SET last_id = last_id + n RETURNING last_id``): the row lock is held until
commit, so the next writer reads the counter only after this transaction is committed
and visible. Commit order is id order, and ids have no gaps (a rolled-back transaction
rolls back its increment too), so ``id > cursor`` never skips anything.

The price is that event-writing transactions commit one after another from the moment
they take the counter. The hook takes it last — after flushing every other change of the
transaction — so the lock is held only for the event inserts and the commit, and no
transaction ever waits for another lock while holding the counter (no deadlock through
it). On SQLite writers are serialized anyway (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from api.persistence.models import EventCounterRow, EventRow, OrderRow, PlanRow, PlanVisitRow
from api.services.policy import PolicyService
from dispatcher.codec import format_datetime
from dispatcher.domain import Policy
from dispatcher.errors import InputError

EVENT_TYPES = (
    "order.created",
    "order.status_changed",
    "order.assigned",
    "order.reassigned",
    "order.retimed",
    "order.unassigned",
)
COUNTER_ROW_ID = 1
MAX_EVENT_ID = 2**63 - 1  # BIGINT
MAX_PAGE = 500
_PENDING = "dispatch_pending_events"  # key of Session.info: events queued by this transaction
# Orders whose plan entries stop on purpose: their status events say what happened.
_LEFT_PLANNING = ("in_progress", "done", "cancelled")


@dataclass(frozen=True, slots=True)
class PendingEvent:
    type: str
    at: datetime
    order_id: str | None
    data: dict[str, Any]


# ---------------------------------------------------------------------- recording


def record(session: Session, type_: str, at: datetime, order_id: str | None, **data: Any) -> None:
    """Queue an event on ``session``; it is written when (and only if) the session commits."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    session.info.setdefault(_PENDING, []).append(PendingEvent(type_, at, order_id, data))


def order_created(session: Session, row: OrderRow, actor: str | None) -> None:
    """``order.created`` for a freshly inserted order row."""
    record(
        session,
        "order.created",
        row.created_at,
        row.id,
        status=row.status,
        priority=row.priority,
        commitment_class=row.commitment_class,
        deadline=format_datetime(row.deadline),
        actor=actor,
    )


def status_changed(
    session: Session,
    row: OrderRow,
    to_status: str,
    at: datetime,
    actor: str | None,
    note: str | None,
) -> None:
    """``order.status_changed``; call it before ``row.status`` changes (it reads "from")."""
    record(
        session,
        "order.status_changed",
        at,
        row.id,
        **{"from": row.status, "to": to_status, "actor": actor, "note": note},
    )


def plan_published(session: Session, job_id: str, at: datetime, actor: str | None) -> int:
    """The assignment events of publishing plan ``job_id``; call it before the plan's
    ``published_at`` is set, while the previously published plan is still the current one.
    Returns the number of events queued."""
    previous = session.scalar(
        sa.select(PlanRow.job_id)
        .where(PlanRow.published_at.is_not(None))
        .order_by(PlanRow.published_at.desc(), PlanRow.job_id.desc())
        .limit(1)
    )
    if previous == job_id:
        return 0  # the plan in force published again: nothing moves
    new = _visits(session, job_id)
    old = _visits(session, previous) if previous is not None else {}
    tolerance = _tolerance_minutes(session)
    changes = compare_visits(old, new, tolerance)
    leaving = [order_id for type_, order_id, _ in changes if type_ == "order.unassigned"]
    finished = set()
    if leaving:
        finished = set(
            session.scalars(
                sa.select(OrderRow.id).where(
                    OrderRow.id.in_(leaving), OrderRow.status.in_(_LEFT_PLANNING)
                )
            )
        )
    count = 0
    for type_, order_id, data in changes:
        if type_ == "order.unassigned" and order_id in finished:
            continue
        record(session, type_, at, order_id, plan_id=job_id, actor=actor, **data)
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class Visit:
    """An order's place in one plan: an engineer and times, or unassigned with a reason."""

    engineer_id: str | None
    arrival: datetime | None
    start: datetime | None
    on_time: bool
    reason: str | None


def _visits(session: Session, job_id: str) -> dict[str, Visit]:
    rows = session.scalars(sa.select(PlanVisitRow).where(PlanVisitRow.job_id == job_id))
    return {r.order_id: Visit(r.engineer_id, r.arrival, r.start, r.on_time, r.reason) for r in rows}


def _tolerance_minutes(session: Session) -> int:
    policy: Policy = PolicyService.load(session)
    return policy.stability.tolerance_minutes


def compare_visits(
    old: Mapping[str, Visit], new: Mapping[str, Visit], tolerance_minutes: float
) -> list[tuple[str, str, dict[str, Any]]]:
    """``(type, order_id, data)`` of every assignment change from the published plan
    ``old`` to the newly published ``new``, sorted by order id:

    - assigned in ``new`` only: ``order.assigned``;
    - on another engineer: ``order.reassigned``;
    - on the same engineer, the start moved by more than ``tolerance_minutes``:
      ``order.retimed``;
    - assigned in ``old``, not in ``new``: ``order.unassigned`` with ``new``'s reason code
      (``None`` when the new plan does not mention the order at all).
    """
    out: list[tuple[str, str, dict[str, Any]]] = []
    for order_id in sorted(set(old) | set(new)):
        before = old.get(order_id)
        after = new.get(order_id)
        was = before is not None and before.engineer_id is not None
        now = after is not None and after.engineer_id is not None
        if now and not was:
            assert after is not None
            out.append(("order.assigned", order_id, _assigned(after)))
        elif was and not now:
            assert before is not None
            out.append(
                (
                    "order.unassigned",
                    order_id,
                    {
                        "engineer_id": before.engineer_id,
                        "old_start": _fmt(before.start),
                        "reason": after.reason if after is not None else None,
                    },
                )
            )
        elif was and now:
            assert before is not None and after is not None
            if before.engineer_id != after.engineer_id:
                out.append(
                    (
                        "order.reassigned",
                        order_id,
                        {
                            "from_engineer_id": before.engineer_id,
                            "to_engineer_id": after.engineer_id,
                            "old_start": _fmt(before.start),
                            "new_start": _fmt(after.start),
                            "eta": _fmt(after.arrival),
                            "on_time": after.on_time,
                        },
                    )
                )
            elif _shift_minutes(before, after) > tolerance_minutes:
                out.append(
                    (
                        "order.retimed",
                        order_id,
                        {
                            "engineer_id": after.engineer_id,
                            "old_start": _fmt(before.start),
                            "new_start": _fmt(after.start),
                            "shift_minutes": round(_signed_shift(before, after), 1),
                            "eta": _fmt(after.arrival),
                            "on_time": after.on_time,
                        },
                    )
                )
    return out


def _assigned(visit: Visit) -> dict[str, Any]:
    return {
        "engineer_id": visit.engineer_id,
        "eta": _fmt(visit.arrival),
        "start": _fmt(visit.start),
        "on_time": visit.on_time,
    }


def _signed_shift(before: Visit, after: Visit) -> float:
    if before.start is None or after.start is None:
        return 0.0
    return (after.start - before.start).total_seconds() / 60


def _shift_minutes(before: Visit, after: Visit) -> float:
    return abs(_signed_shift(before, after))


def _fmt(value: datetime | None) -> str | None:
    return None if value is None else format_datetime(value)


# ------------------------------------------------------------- writing at commit


def _write_pending(session: Session) -> None:
    pending: list[PendingEvent] | None = session.info.pop(_PENDING, None)
    if not pending:
        return
    # Every other change first: its row locks are taken before the counter's (see above).
    session.flush()
    last = session.execute(
        sa.update(EventCounterRow)
        .where(EventCounterRow.id == COUNTER_ROW_ID)
        .values(last_id=EventCounterRow.last_id + len(pending))
        .returning(EventCounterRow.last_id)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    first = int(last) - len(pending) + 1
    session.execute(
        sa.insert(EventRow),
        [
            {"id": first + i, "at": e.at, "type": e.type, "order_id": e.order_id, "data": e.data}
            for i, e in enumerate(pending)
        ],
    )


def _drop_pending(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)


# Registered on the Session class: every session of the service, whichever factory made it,
# writes the events it queued (a session that queued none pays one dict lookup).
event.listen(Session, "before_commit", _write_pending)
event.listen(Session, "after_rollback", _drop_pending)


# ------------------------------------------------------------------- the feed


def encode_cursor(event_id: int) -> str:
    """The opaque cursor after event ``event_id`` (0: before the first event)."""
    return base64.urlsafe_b64encode(f"e:{event_id}".encode()).decode().rstrip("=")


_CURSOR_TEXT = re.compile(r"e:(0|[1-9][0-9]{0,18})")


def decode_cursor(cursor: str | None) -> int:
    """The event id of a cursor (0 when none is given); a malformed one is an InputError."""
    if cursor is None or cursor == "":
        return 0
    try:
        if len(cursor) > 40 or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        match = _CURSOR_TEXT.fullmatch(text)
        if match is None:
            raise ValueError(text)
        value = int(match.group(1))
        if value > MAX_EVENT_ID:
            raise ValueError(text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InputError(
            "query.after", "expected a cursor returned as `next` by GET /v1/events"
        ) from None
    return value


def event_view(row: EventRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": row.type,
        "at": format_datetime(row.at),
        "order_id": row.order_id,
        "data": row.data,
    }


class EventFeed:
    """Reading the log: pages after a cursor."""

    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def check_cursor(self, cursor: str | None) -> int:
        """The event id of ``cursor``; one beyond the newest event was never handed out
        (ids have no gaps), so it is refused like a malformed one."""
        after = decode_cursor(cursor)
        if after > 0 and after > self.last_id():
            raise InputError(
                "query.after",
                "expected a cursor returned as `next`; this one is ahead of every event",
            )
        return after

    def last_id(self) -> int:
        with self._sessions() as session:
            value = session.scalar(
                sa.select(EventCounterRow.last_id).where(EventCounterRow.id == COUNTER_ROW_ID)
            )
            return int(value or 0)

    def page(self, after: int, limit: int) -> dict[str, Any]:
        """Up to ``limit`` events after id ``after``, oldest first, and the next cursor."""
        with self._sessions() as session:
            rows = list(
                session.scalars(
                    sa.select(EventRow)
                    .where(EventRow.id > after)
                    .order_by(EventRow.id)
                    .limit(limit)
                )
            )
        events = [event_view(r) for r in rows]
        last = rows[-1].id if rows else after
        return {"events": events, "next": encode_cursor(last)}

    def after(self, session: Session, after: int, limit: int) -> Iterable[EventRow]:
        """Rows after ``after`` inside ``session`` (the delivery worker's read)."""
        return session.scalars(
            sa.select(EventRow).where(EventRow.id > after).order_by(EventRow.id).limit(limit)
        )
