"""What a plan changes against the published plan (``Problem.published``): one entry per
affected order, for the coordinator who publishes it and the customers who were told.

Kinds: ``added`` (an order the published plan did not serve is now planned),
``reassigned`` (another engineer), ``retimed`` (same engineer, the start moved by more than
the policy's tolerance), ``dropped`` (published, now unassigned). Unchanged orders are
left out. Each change says why:

- ``new_order``: the order was not in the published plan;
- ``engineer_unavailable``: its published engineer can no longer serve it (left the
  roster, absent, not qualified, no time left in the horizon);
- ``reoptimised``: the plan found a better place for it (the move is priced, see
  ``weights.reassign`` and ``weights.retime_per_hour``);
- for ``dropped``, the plan's own reason code (``docs/reasons.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dispatcher.codec import format_datetime
from dispatcher.domain import Order, Plan, Problem, PublishedVisit, eligible_engineers

KINDS = ("added", "reassigned", "retimed", "dropped")


@dataclass(frozen=True)
class Change:
    order_id: str
    kind: str
    reason: str
    from_engineer: str | None = None
    to_engineer: str | None = None
    old_start: datetime | None = None
    new_start: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "kind": self.kind,
            "reason": self.reason,
            "from_engineer": self.from_engineer,
            "to_engineer": self.to_engineer,
            "old_start": None if self.old_start is None else format_datetime(self.old_start),
            "new_start": None if self.new_start is None else format_datetime(self.new_start),
        }


def plan_changes(problem: Problem, plan: Plan) -> list[Change]:
    """The changes ``plan`` makes to ``problem.published``, in order id order.

    Only orders of the problem count: a published visit of an order no longer open (done,
    cancelled, under way) is not a change of this plan.
    """
    published = {p.order_id: p for p in problem.published}
    visits = {v.order_id: (r.engineer_id, v.start) for r in plan.routes for v in r.visits}
    reasons = {u.order_id: u.reason.value for u in plan.unassigned}
    tolerance_s = problem.policy.stability.tolerance_minutes * 60
    out: list[Change] = []
    for order in sorted(problem.orders, key=lambda o: o.id):
        pub = published.get(order.id)
        now = visits.get(order.id)
        if pub is None:
            if now is not None:
                out.append(Change(order.id, "added", "new_order", None, now[0], None, now[1]))
            continue
        if now is None:
            reason = reasons.get(order.id, "capacity")
            out.append(Change(order.id, "dropped", reason, pub.engineer_id, None, pub.start))
        elif now[0] != pub.engineer_id:
            can = _can_serve(problem, order, pub.engineer_id)
            why = "reoptimised" if can else "engineer_unavailable"
            out.append(
                Change(order.id, "reassigned", why, pub.engineer_id, now[0], pub.start, now[1])
            )
        elif abs((now[1] - pub.start).total_seconds()) > tolerance_s:
            out.append(
                Change(
                    order.id, "retimed", "reoptimised", pub.engineer_id, now[0], pub.start, now[1]
                )
            )
    return out


def published_visits(plan: Plan) -> tuple[PublishedVisit, ...]:
    """The visits of ``plan`` as the plan in force (``Problem.published``)."""
    return tuple(
        PublishedVisit(v.order_id, r.engineer_id, v.start) for r in plan.routes for v in r.visits
    )


def _can_serve(problem: Problem, order: Order, engineer_id: str) -> bool:
    """Whether ``engineer_id`` is still in the roster, allowed to serve ``order``, and has
    some work time left in the horizon."""
    index = {e.id: v for v, e in enumerate(problem.engineers)}
    v = index.get(engineer_id)
    if v is None or v not in eligible_engineers(problem, order):
        return False
    engineer = problem.engineers[v]
    start = engineer.current.available_from if engineer.current else problem.planning_start
    return any(w.end > max(start, problem.planning_start) and w.start < problem.horizon_end
               for w in engineer.shifts)  # fmt: skip
