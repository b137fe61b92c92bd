"""Orders: idempotent intake by ticket id, status lifecycle, corrections, listing.

Status lifecycle (``order_status_history`` keeps every change)::

    open → planned → published → in_progress → done
       ↘──────────↘───────────↘──────────────→ cancelled

``planned`` and ``published`` are set by plan jobs and publishing; clients set
``in_progress``, ``done`` and ``cancelled``. ``done`` and ``cancelled`` are final.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, object_session, sessionmaker

import api.services.events as events
from api.documents import canonical_hash, order_document
from api.errors import ConflictWith
from api.persistence.db import transaction
from api.persistence.models import OrderRow, OrderStatusRow, PlanRow, PlanVisitRow
from api.services.audit import AuditLog
from api.services.kpis import published_eta_at, site_place
from api.services.policy import PolicyService
from dispatcher.codec import format_datetime, order_from_dict
from dispatcher.domain import COMMITMENT_CLASSES, PRIORITIES, Order, Policy
from dispatcher.errors import Conflict, InputError, NotFound
from dispatcher.reader import parse_datetime

STATUSES = ("open", "planned", "published", "in_progress", "done", "cancelled")
ACTIVE = ("open", "planned", "published")  # orders a plan job takes in
FINAL = ("done", "cancelled")
CLIENT_TRANSITIONS = {
    "in_progress": ("open", "planned", "published"),
    "done": ("open", "planned", "published", "in_progress"),
    "cancelled": ("open", "planned", "published", "in_progress"),
}
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class OrderFilter:
    status: Sequence[str] = ()
    priority: Sequence[str] = ()
    commitment: Sequence[str] = ()
    at_risk: bool | None = None

    def __post_init__(self) -> None:
        _check_values("status", self.status, STATUSES)
        _check_values("priority", self.priority, PRIORITIES)
        _check_values("commitment", self.commitment, COMMITMENT_CLASSES)


def _check_values(name: str, values: Sequence[str], allowed: Sequence[str]) -> None:
    for value in values:
        if value not in allowed:
            raise InputError(
                f"query.{name}", f"expected one of {', '.join(allowed)}, got {value!r}"
            )


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"o:{seq}".encode()).decode().rstrip("=")


# ``orders.seq`` is an INTEGER column: PostgreSQL refuses to compare it with a larger
# value (500 before), SQLite with one beyond 64 bits.
MAX_SEQ = 2**31 - 1
_CURSOR_TEXT = re.compile(r"o:(0|[1-9][0-9]{0,9})", re.ASCII)


def decode_cursor(cursor: str | None) -> int:
    """The intake sequence number of a cursor; anything but one handed out is a 422."""
    if not cursor:
        return 0
    try:
        if len(cursor) > 40 or not re.fullmatch(r"[A-Za-z0-9_-]+", cursor):
            raise ValueError(cursor)
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        match = _CURSOR_TEXT.fullmatch(text)
        if match is None or int(match.group(1)) > MAX_SEQ:
            raise ValueError(text)
        return int(match.group(1))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InputError("query.cursor", "expected a cursor returned by a previous page") from None


def _current_plan_query() -> sa.Select[Any]:
    return (
        sa.select(PlanRow.job_id)
        .where(PlanRow.published_at.is_not(None))
        .order_by(PlanRow.published_at.desc(), PlanRow.job_id.desc())
        .limit(1)
    )


def current_plan_id(session: Session) -> str | None:
    """The job id of the most recently published plan."""
    return session.scalar(_current_plan_query())


def record_status(
    session: Session,
    row: OrderRow,
    to_status: str,
    at: datetime,
    actor: str | None,
    note: str | None,
) -> None:
    """Change ``row``'s status and append the change to its history."""
    events.status_changed(session, row, to_status, at, actor, note)
    session.add(
        OrderStatusRow(
            order_id=row.id,
            from_status=row.status,
            to_status=to_status,
            at=at,
            actor=actor,
            note=note,
        )
    )
    row.status = to_status
    row.updated_at = at


class OrderService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        policy: PolicyService,
        audit: AuditLog,
        at_risk_hours: float,
        read_sessions: sessionmaker[Session] | None = None,
    ) -> None:
        self._sessions = sessions
        self._reads = read_sessions or sessions  # get() and list(): reads only
        self._clock = clock
        self._policy = policy
        self._audit = audit
        self._margin = timedelta(hours=at_risk_hours)
        # The sentence and fix of each late or unassigned order of the last plan asked about:
        # (plan id, {order id: (detail, fix)}), read from the plan document once per plan.
        self._why: tuple[str, dict[str, tuple[Any, Any]]] | None = None

    # ------------------------------------------------------------------ intake

    def create(self, document: dict[str, Any], actor: str | None) -> tuple[dict[str, Any], bool]:
        """Store a new order, or replay a stored one: ``(view, created)``.

        The ticket id is the idempotency key: the same body again answers the stored order;
        a different body for a stored id is a :class:`Conflict` (corrections go via PATCH).
        """
        document = dict(document)
        hold = _hold(document.pop("quote", None))
        order = order_from_dict(document)
        canonical = order_document(order)
        body_hash = canonical_hash(canonical)
        # Insert first and fall back on the unique key: the common case (a new ticket)
        # costs no lookup, and a concurrent create of the same ticket id is handled alike.
        try:
            with transaction(self._sessions) as session:
                row = self._insert(session, order, canonical, body_hash, actor)
                if hold is not None:
                    row.hold_engineer_id, row.hold_start = hold
                # A brand-new order cannot be in any plan yet: no assignment to look up.
                return self._render(row, None, None), True
        except IntegrityError:
            with self._sessions() as session:
                existing = self._find(session, order.id)
                if existing is None:
                    raise
                return self._replay(session, existing, body_hash), False

    def _insert(
        self,
        session: Session,
        order: Order,
        canonical: dict[str, Any],
        body_hash: str,
        actor: str | None,
    ) -> OrderRow:
        policy = PolicyService.load(session)
        now = self._clock()
        row = OrderRow(
            id=order.id,
            document=canonical,
            body_hash=body_hash,
            status="open",
            priority=order.priority,
            commitment_class=policy.commitment_class(order),
            deadline=policy.deadline(order),
            received_at=order.received_at,
            created_at=now,
            updated_at=now,
            version=1,
        )
        row.country, row.station = site_place(canonical["site"])
        session.add(row)
        events.order_created(session, row, actor)
        session.add(
            OrderStatusRow(
                order_id=order.id,
                from_status=None,
                to_status="open",
                at=now,
                actor=actor,
                note=None,
            )
        )
        session.flush()
        return row

    def _replay(self, session: Session, row: OrderRow, body_hash: str) -> dict[str, Any]:
        if row.body_hash != body_hash:
            raise ConflictWith(
                f"order {row.id!r} exists with a different body; use PATCH /v1/orders/{row.id} "
                "to correct it",
                order=self._view(session, row),
            )
        return self._view(session, row)

    # ------------------------------------------------------------------ reading

    def get(self, order_id: str, with_history: bool = True) -> dict[str, Any]:
        """One order with its place in the published plan (and its history): the order,
        the current plan and the visit come in one statement, the history in another."""
        with self._reads() as session:
            found = session.execute(
                sa.select(OrderRow, PlanVisitRow)
                .outerjoin(
                    PlanVisitRow,
                    sa.and_(
                        PlanVisitRow.order_id == OrderRow.id,
                        PlanVisitRow.job_id == _current_plan_query().scalar_subquery(),
                    ),
                )
                .where(OrderRow.id == order_id)
            ).first()
            if found is None:
                raise NotFound(f"no order with id {order_id!r}")
            row, pos = found
            view = self._render(row, pos, pos.job_id if pos is not None else None)
            if with_history:
                view["status_history"] = self._history(session, order_id)
            return view

    def list(self, filt: OrderFilter, limit: int, cursor: str | None) -> dict[str, Any]:
        """A page of orders in intake order, and the cursor of the next page (or None)."""
        if not 1 <= limit <= MAX_PAGE:
            raise InputError("query.limit", f"expected an integer in [1, {MAX_PAGE}], got {limit}")
        after = decode_cursor(cursor)
        with self._reads() as session:
            plan_id = current_plan_id(session)
            visit = aliased(PlanVisitRow)
            query = (
                sa.select(OrderRow, visit)
                .outerjoin(visit, sa.and_(visit.order_id == OrderRow.id, visit.job_id == plan_id))
                .where(OrderRow.seq > after)
                .order_by(OrderRow.seq)
                .limit(limit + 1)
            )
            if filt.status:
                query = query.where(OrderRow.status.in_(filt.status))
            if filt.priority:
                query = query.where(OrderRow.priority.in_(filt.priority))
            if filt.commitment:
                query = query.where(OrderRow.commitment_class.in_(filt.commitment))
            if filt.at_risk is not None:
                expr = self._at_risk_expr(visit)
                query = query.where(expr if filt.at_risk else sa.not_(expr))
            rows = session.execute(query).all()
            page = rows[:limit]
            items = [self._render(row, pos, plan_id) for row, pos in page]
            next_cursor = encode_cursor(page[-1][0].seq) if len(rows) > limit else None
            return {"items": items, "next_cursor": next_cursor}

    def count_at_risk(self) -> int:
        """Active orders at risk now (the same rule as the ``at_risk`` filter)."""
        with self._reads() as session:
            plan_id = current_plan_id(session)
            visit = aliased(PlanVisitRow)
            query = (
                sa.select(sa.func.count())
                .select_from(OrderRow)
                .outerjoin(visit, sa.and_(visit.order_id == OrderRow.id, visit.job_id == plan_id))
                .where(self._at_risk_expr(visit))
            )
            return int(session.execute(query).scalar_one())

    def _at_risk_expr(self, visit: Any) -> sa.ColumnElement[bool]:
        soon = self._clock() + self._margin
        return sa.and_(
            OrderRow.status.in_(ACTIVE),
            sa.or_(
                sa.and_(visit.id.is_not(None), visit.on_time.is_(False)),
                sa.and_(visit.id.is_(None), OrderRow.deadline < soon),
            ),
        )

    def _is_at_risk(self, row: OrderRow, pos: PlanVisitRow | None) -> bool:
        if row.status not in ACTIVE:
            return False
        if pos is not None:
            return not pos.on_time
        return row.deadline < self._clock() + self._margin

    @staticmethod
    def _find(session: Session, order_id: str) -> OrderRow | None:
        return session.scalar(sa.select(OrderRow).where(OrderRow.id == order_id))

    def _require(self, session: Session, order_id: str, lock: bool = False) -> OrderRow:
        query = sa.select(OrderRow).where(OrderRow.id == order_id)
        if lock:
            query = query.with_for_update()
        row = session.scalar(query)
        if row is None:
            raise NotFound(f"no order with id {order_id!r}")
        return row

    def _view(self, session: Session, row: OrderRow) -> dict[str, Any]:
        plan_id = current_plan_id(session)
        pos = None
        if plan_id is not None:
            pos = session.scalar(
                sa.select(PlanVisitRow).where(
                    PlanVisitRow.job_id == plan_id, PlanVisitRow.order_id == row.id
                )
            )
        return self._render(row, pos, plan_id)

    def _render(
        self, row: OrderRow, pos: PlanVisitRow | None, plan_id: str | None
    ) -> dict[str, Any]:
        return {
            "id": row.id,
            "status": row.status,
            "deadline": format_datetime(row.deadline),
            "commitment_class": row.commitment_class,
            "priority": row.priority,
            "at_risk": self._is_at_risk(row, pos),
            "assignment": self._explained(row, _assignment(pos, plan_id))
            if row.status not in FINAL
            else None,
            "order": row.document,
            "under_way": _under_way_view(row) if row.status == "in_progress" else None,
            "hold": None
            if row.hold_engineer_id is None or row.hold_start is None
            else {"engineer_id": row.hold_engineer_id, "start": format_datetime(row.hold_start)},
            "version": row.version,
            "created_at": format_datetime(row.created_at),
            "updated_at": format_datetime(row.updated_at),
        }

    def _explained(self, row: OrderRow, view: dict[str, Any] | None) -> dict[str, Any] | None:
        """``view`` with the sentence (``detail``) and the ``fix`` of a late or unassigned order,
        from the published plan's document (plan_visits keeps the reason code only)."""
        if view is None:
            return None
        view["detail"] = view["fix"] = None
        plan_id = view["plan_id"]
        if view["reason"] is None or plan_id is None:
            return view
        why = self._why
        if why is None or why[0] != plan_id:
            session = object_session(row)
            query = sa.select(PlanRow.document).where(PlanRow.job_id == plan_id)
            if session is not None:
                doc = session.scalar(query)
            else:
                with self._reads() as own:
                    doc = own.scalar(query)
            entries = [*(doc or {}).get("late", []), *(doc or {}).get("unassigned", [])]
            table = {x["order_id"]: (x.get("detail"), x.get("fix")) for x in entries}
            why = self._why = (plan_id, table)
        view["detail"], view["fix"] = why[1].get(row.id, (None, None))
        return view

    @staticmethod
    def _history(session: Session, order_id: str) -> builtins.list[dict[str, Any]]:
        rows = session.scalars(
            sa.select(OrderStatusRow)
            .where(OrderStatusRow.order_id == order_id)
            .order_by(OrderStatusRow.id)
        )
        return [
            {
                "from": r.from_status,
                "to": r.to_status,
                "at": format_datetime(r.at),
                "actor": r.actor,
                "note": r.note,
            }
            for r in rows
        ]

    # ------------------------------------------------------------------ changes

    def patch(self, order_id: str, patch: dict[str, Any], actor: str | None) -> dict[str, Any]:
        """Apply corrections (contract fields) and/or a status change (``status``, ``reason``).

        Corrections follow JSON merge-patch at the top level (``null`` clears a field) and
        are validated like a new order.
        """
        changes = dict(patch)
        status = changes.pop("status", None)
        note = changes.pop("reason", None)
        visit: dict[str, Any] = {
            k: changes.pop(k) for k in ("engineer_id", "arrived_at", "expected_end") if k in changes
        }
        finished_at = changes.pop("finished_at", None)
        if "id" in changes and changes["id"] != order_id:
            raise InputError("id", f"expected the order's own id {order_id!r} or nothing")
        changes.pop("id", None)
        if status is None and not changes and not visit and finished_at is None:
            raise InputError("", "expected a status or at least one field to correct")
        with transaction(self._sessions) as session:
            row = self._require(session, order_id, lock=True)
            if changes:
                self._correct(session, row, changes)
            starting = status == "in_progress" and row.status != "in_progress"
            finishing = status == "done" and row.status != "done"
            if status is not None and status != row.status:
                self._transition(session, row, status, actor, note)
            if finishing:
                self._finish(session, row, visit, finished_at)
            elif finished_at is not None:
                raise InputError("finished_at", "expected only with the change to done")
            elif visit or starting:
                self._under_way(session, row, visit, starting)
            view = self._view(session, row)
        view["status_history"] = self.get(order_id)["status_history"]
        return view

    def _under_way(
        self, session: Session, row: OrderRow, visit: dict[str, Any], starting: bool
    ) -> None:
        """Record who is on site and until when (a visit under way is fixed in every plan).

        On the change to ``in_progress`` the engineer defaults to the published plan's and
        the arrival to now; later, ``expected_end`` alone reports a new estimate of the end.
        """
        if row.status != "in_progress":
            field = next(iter(visit))
            raise Conflict(f"order {row.id!r} is {row.status}; {field} is for an order in_progress")
        if starting:
            # Unknown (in no published plan, none given): the order leaves planning but fixes
            # nobody's position; a later PATCH cannot add the engineer (``engineer_id`` is
            # for the change to in_progress only), so clients that know it send it then.
            self._arrive(session, row, visit)
            row.hold_engineer_id = row.hold_start = None
        elif "engineer_id" in visit or "arrived_at" in visit:
            raise InputError(
                next(k for k in ("engineer_id", "arrived_at") if k in visit),
                "expected only with the change to in_progress (or to done)",
            )
        if visit.get("expected_end"):
            end = parse_datetime(visit["expected_end"], "expected_end")
            assert row.arrived_at is not None
            if end < row.arrived_at:
                raise InputError(
                    "expected_end",
                    f"expected a datetime at or after the visit's start "
                    f"({format_datetime(row.arrived_at)}), got {visit['expected_end']!r}",
                )
            row.expected_end = end
        row.updated_at = self._clock()

    def _arrive(self, session: Session, row: OrderRow, visit: dict[str, Any]) -> None:
        """Record the actual arrival (default: now; never before the order was received), its
        engineer (default: the published plan's) and the ETA the plan in force then gave."""
        arrived = (
            parse_datetime(visit["arrived_at"], "arrived_at")
            if visit.get("arrived_at")
            else self._clock()
        )
        if arrived < row.received_at:
            raise InputError(
                "arrived_at",
                f"expected a datetime at or after the order's received_at "
                f"({format_datetime(row.received_at)}), got {format_datetime(arrived)}",
            )
        row.engineer_id = visit.get("engineer_id") or self._published_engineer(session, row.id)
        row.arrived_at = arrived
        row.published_eta = published_eta_at(session, row.id, arrived)

    def _finish(
        self, session: Session, row: OrderRow, visit: dict[str, Any], finished_at: Any
    ) -> None:
        """Record the end of the visit (default: now; never before the arrival). An order
        done without a recorded arrival may bring it (``arrived_at``, ``engineer_id``)."""
        if "expected_end" in visit:
            raise InputError("expected_end", "expected only while the order is in_progress")
        if "arrived_at" in visit or "engineer_id" in visit:
            if row.arrived_at is not None:
                field = next(k for k in ("arrived_at", "engineer_id") if k in visit)
                raise InputError(
                    field,
                    f"expected nothing: the arrival is recorded already "
                    f"({format_datetime(row.arrived_at)})",
                )
            self._arrive(session, row, visit)
        finished = parse_datetime(finished_at, "finished_at") if finished_at else self._clock()
        if row.arrived_at is not None and finished < row.arrived_at:
            raise InputError(
                "finished_at",
                f"expected a datetime at or after the arrival "
                f"({format_datetime(row.arrived_at)}), got {format_datetime(finished)}",
            )
        row.finished_at = finished
        row.updated_at = self._clock()

    @staticmethod
    def _published_engineer(session: Session, order_id: str) -> str | None:
        plan_id = current_plan_id(session)
        if plan_id is None:
            return None
        return session.scalar(
            sa.select(PlanVisitRow.engineer_id).where(
                PlanVisitRow.job_id == plan_id, PlanVisitRow.order_id == order_id
            )
        )

    def _correct(self, session: Session, row: OrderRow, changes: dict[str, Any]) -> None:
        if row.status not in ACTIVE:
            raise Conflict(
                f"order {row.id!r} is {row.status}; only open, planned or published "
                "orders can be corrected"
            )
        merged = {k: v for k, v in {**row.document, **changes}.items() if v is not None}
        order = order_from_dict(merged)
        canonical = order_document(order)
        if canonical == row.document:
            return
        policy: Policy = PolicyService.load(session)
        row.document = canonical
        row.body_hash = canonical_hash(canonical)
        row.priority = order.priority
        row.commitment_class = policy.commitment_class(order)
        row.deadline = policy.deadline(order)
        row.received_at = order.received_at
        row.country, row.station = site_place(canonical["site"])
        row.updated_at = self._clock()
        row.version += 1

    def _transition(
        self, session: Session, row: OrderRow, status: str, actor: str | None, note: str | None
    ) -> None:
        allowed_from = CLIENT_TRANSITIONS.get(status)
        if allowed_from is None:
            raise InputError(
                "status", f"expected one of {', '.join(CLIENT_TRANSITIONS)}, got {status!r}"
            )
        if row.status not in allowed_from:
            raise Conflict(f"order {row.id!r} is {row.status}; it cannot become {status}")
        record_status(session, row, status, self._clock(), actor, note)
        row.version += 1
        if status == "cancelled":
            self._audit.record(session, actor, "order.cancel", "order", row.id, reason=note)

    def replace_policy(self, document: dict[str, Any], actor: str | None) -> dict[str, Any]:
        """Store a new policy and recompute the deadlines of open orders, atomically."""
        with transaction(self._sessions) as session:
            canonical = self._policy.put(document, session)
            count = self.refresh_deadlines(session, PolicyService.load(session))
            self._audit.record(session, actor, "policy.replace", "policy", "1", orders=count)
        return canonical

    def refresh_deadlines(self, session: Session, policy: Policy) -> int:
        """Recompute class and deadline of every non-final order under ``policy``."""
        count = 0
        for row in session.scalars(sa.select(OrderRow).where(OrderRow.status.not_in(FINAL))):
            order = order_from_dict(row.document)
            row.commitment_class = policy.commitment_class(order)
            row.deadline = policy.deadline(order)
            count += 1
        return count


def _hold(quote: Any) -> tuple[str, datetime] | None:
    """The slot a ``quote`` member holds: ``(engineer, service start)``."""
    if quote is None:
        return None
    if not isinstance(quote, dict) or not isinstance(quote.get("engineer_id"), str):
        raise InputError("quote.engineer_id", "expected the quoted engineer's id")
    start = quote.get("start") or quote.get("eta")
    return quote["engineer_id"], parse_datetime(start, "quote.eta")


def visit_end(row: OrderRow) -> datetime:
    """When the visit of an order under way ends: the reported end, else its arrival plus
    its service minutes."""
    assert row.arrived_at is not None
    return row.expected_end or row.arrived_at + timedelta(
        minutes=int(row.document.get("service_minutes", 0))
    )


def _under_way_view(row: OrderRow) -> dict[str, Any] | None:
    if row.engineer_id is None or row.arrived_at is None:
        return None
    return {
        "engineer_id": row.engineer_id,
        "arrived_at": format_datetime(row.arrived_at),
        "expected_end": format_datetime(visit_end(row)),
    }


def _assignment(pos: PlanVisitRow | None, plan_id: str | None) -> dict[str, Any] | None:
    if pos is None:
        return None
    return {
        "plan_id": plan_id,
        "engineer_id": pos.engineer_id,
        "eta": None if pos.arrival is None else format_datetime(pos.arrival),
        "start": None if pos.start is None else format_datetime(pos.start),
        "end": None if pos.end is None else format_datetime(pos.end),
        "on_time": pos.on_time,
        "slack_minutes": pos.slack_minutes,
        "reason": pos.reason,
    }
