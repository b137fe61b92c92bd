"""Contract documents (docs/contract.md) stored by the service ↔ domain types.

Lone documents (an order, an engineer, a policy) are validated by the codec's own readers
(``dispatcher.codec.order_from_dict`` …) with their errors named relative to the document
itself (``site.lat``); this module keeps what only the service needs: canonical stored
forms, the Problem a plan job solves, and simulation requests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dispatcher.codec import (
    engineer_from_dict,
    format_datetime,
    order_from_dict,
    problem_from_dict,
    problem_to_dict,
    windows_from_list,
)
from dispatcher.domain import Order, Plan, Policy, Problem, Window
from dispatcher.errors import InputError
from dispatcher.reader import join
from dispatcher.whatif.model import Scenario, with_overrides
from dispatcher.whatif.scenario_file import scenario_from_dict

log = logging.getLogger("api.documents")

# The members of an absence (``PUT /v1/engineers/{id}/status``): a window and why.
ABSENCE_FIELDS = ("start", "end", "reason")


def canonical_hash(document: Any) -> str:
    """SHA-256 of a JSON document in canonical form (sorted keys, compact)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def order_document(order: Order) -> dict[str, Any]:
    """The canonical Order document: what is stored and compared for idempotency."""
    problem = Problem(planning_start=order.received_at, engineers=(), orders=(order,))
    return problem_to_dict(problem)["orders"][0]


def policy_document(policy: Policy) -> dict[str, Any]:
    """The canonical Policy document."""
    problem = Problem(planning_start=datetime(2026, 1, 5, tzinfo=UTC), engineers=(), orders=())
    return problem_to_dict(replace(problem, policy=policy))["policy"]


def parse_absences(items: Any, path: str) -> list[Window]:
    """A list of absences (``{start, end, reason}``) as windows."""
    return windows_from_list(items, path, ABSENCE_FIELDS)


def build_problem(
    planning_start: datetime,
    horizon_hours: int,
    policy: dict[str, Any] | None,
    engineers: list[tuple[dict[str, Any], list[dict[str, str]]]],
    orders: list[dict[str, Any]],
    in_progress: list[dict[str, Any]] | None = None,
    published: list[dict[str, Any]] | None = None,
    skipped: list[dict[str, Any]] | None = None,
) -> Problem:
    """The Problem a plan job solves: stored documents, with absences cut out of shifts.

    ``engineers`` pairs each stored Engineer document with its absences. ``in_progress``
    are the visits under way (contract documents, ``docs/contract.md``) and ``published``
    the visits of the plan in force (and held quotes); both are limited here to engineers
    of the roster and, for ``published``, to the open orders. A stored ticket may prefer or
    exclude an engineer who has since left the roster: such a reference is dropped here (an
    exclusion of nobody excludes nobody) rather than failing the whole plan job — the file
    format rejects it as a likely typo (``dispatcher.codec``).

    A stored order or engineer that no longer validates (stored before a bound was added,
    or written around the service) is left out with a logged warning and appended to
    ``skipped`` (``{kind, id, error}``), rather than failing every plan job.
    """
    horizon_end = planning_start + timedelta(hours=horizon_hours)
    engineers = [e for e in engineers if _valid_engineer(e, planning_start, horizon_end, skipped)]
    roster = {doc.get("id") for doc, _ in engineers if isinstance(doc, dict)}
    orders = [_known_engineers_only(o, roster) for o in orders]
    orders = [o for o in orders if _valid_order(o, skipped)]
    open_ids = {o.get("id") for o in orders if isinstance(o, dict)}
    problem = problem_from_dict(
        {
            "planning_start": format_datetime(planning_start),
            "horizon_hours": horizon_hours,
            "policy": policy,
            "engineers": [doc for doc, _ in engineers],
            "orders": orders,
            "in_progress": [v for v in in_progress or [] if v["engineer_id"] in roster],
            "published": [
                v
                for v in published or []
                if v["engineer_id"] in roster and v["order_id"] in open_ids
            ],
        }
    )
    cut = []
    for i, (engineer, (_, absences)) in enumerate(zip(problem.engineers, engineers, strict=True)):
        windows = parse_absences(absences, f"engineers[{i}].absences")
        cut.append(replace(engineer, shifts=tuple(subtract_windows(engineer.shifts, windows))))
    return replace(problem, engineers=tuple(cut))


def _skip(kind: str, doc: Any, exc: InputError, skipped: list[dict[str, Any]] | None) -> None:
    record_id = doc.get("id") if isinstance(doc, dict) else None
    record_id = record_id if isinstance(record_id, str) else None
    log.warning("stored %s %r left out of the plan: %s", kind, record_id, exc)
    if skipped is not None:
        skipped.append({"kind": kind, "id": record_id, "error": str(exc)})


def _valid_engineer(
    engineer: tuple[Any, Any],
    planning_start: datetime,
    horizon_end: datetime,
    skipped: list[dict[str, Any]] | None,
) -> bool:
    doc, absences = engineer
    try:
        engineer_from_dict(doc, "", planning_start, horizon_end)
        parse_absences(absences, "absences")
    except InputError as exc:
        _skip("engineer", doc, exc, skipped)
        return False
    return True


def _valid_order(order: Any, skipped: list[dict[str, Any]] | None) -> bool:
    try:
        order_from_dict(order)
    except InputError as exc:
        _skip("order", order, exc, skipped)
        return False
    return True


def _known_engineers_only(order: Any, roster: set[Any]) -> Any:
    """``order`` with its preferred / excluded engineers limited to ``roster``."""
    if not isinstance(order, dict) or not roster:
        return order
    out = dict(order)
    for key in ("preferred_engineers", "excluded_engineers"):
        refs = order.get(key)
        if isinstance(refs, list):
            out[key] = [r for r in refs if r in roster]
    return out


def subtract_windows(shifts: tuple[Window, ...], absences: list[Window]) -> list[Window]:
    """The parts of ``shifts`` outside every absence."""
    pieces = list(shifts)
    for absence in absences:
        kept: list[Window] = []
        for w in pieces:
            if absence.end <= w.start or absence.start >= w.end:
                kept.append(w)
                continue
            if w.start < absence.start:
                kept.append(Window(start=w.start, end=absence.start))
            if absence.end < w.end:
                kept.append(Window(start=absence.end, end=w.end))
        pieces = kept
    return pieces


def plan_positions(plan: Plan) -> list[dict[str, Any]]:
    """One row per order of a plan: its visit (engineer, ETA…) or its unassigned reason."""
    rows: list[dict[str, Any]] = []
    for route in plan.routes:
        for v in route.visits:
            rows.append(
                {
                    "order_id": v.order_id,
                    "engineer_id": route.engineer_id,
                    "arrival": v.arrival,
                    "start": v.start,
                    "end": v.end,
                    "on_time": v.on_time,
                    "slack_minutes": round(v.slack_minutes, 1),
                    "reason": None,
                }
            )
    late = {x.order_id: x.reason.value for x in plan.late}
    for row in rows:
        row["reason"] = late.get(row["order_id"])
    for u in plan.unassigned:
        rows.append(
            {
                "order_id": u.order_id,
                "engineer_id": None,
                "arrival": None,
                "start": None,
                "end": None,
                "on_time": False,
                "slack_minutes": None,
                "reason": u.reason.value,
            }
        )
    return rows


# ---------------------------------------------------------------------- simulations

# A scenario file nests about 5 levels (variants[1].modifications[0].…); deeper nesting is
# refused before anything recurses over it.
MAX_SCENARIO_DEPTH = 32


def _depth(value: Any) -> int:
    """How deep lists and tables nest in a parsed document (without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_SCENARIO_DEPTH:
                stack.extend(
                    (v, depth) for v in (item.values() if isinstance(item, dict) else item)
                )
    return deepest


# Keys of a scenario's base that name a file: the API reads no server-side files.
_FILE_KEYS = (("problem",), ("roster", "file"), ("demand", "history"))


def scenario_from_request(request: dict[str, Any]) -> Scenario:
    """The Scenario of a simulation request (``POST /v1/simulations``), overrides applied.

    ``request`` holds ``scenario`` (TOML text in the format of ``dispatch simulate``),
    ``replications``, and optionally ``days`` and ``seed``. Errors name the field:
    ``scenario.variants[1].modifications[0].engineers``, ``scenario.base.problem``, ``days``.
    Only rolling-horizon scenarios (a demand model and a generated roster) are accepted:
    a base that references a file (problem, roster file, history CSV) is refused.
    """
    try:
        data = tomllib.loads(request["scenario"])
    except tomllib.TOMLDecodeError as exc:
        raise InputError("scenario", f"expected a TOML scenario: {exc}") from None
    except RecursionError:  # the parser recurses per level of nested arrays / inline tables
        data = None
    if data is None or _depth(data) > MAX_SCENARIO_DEPTH:
        raise InputError(
            "scenario",
            f"expected a TOML scenario nested at most {MAX_SCENARIO_DEPTH} levels deep",
        )
    base = data.get("base")
    if isinstance(base, dict):
        for keys in _FILE_KEYS:
            table: Any = base
            for key in keys[:-1]:
                table = table.get(key) if isinstance(table, dict) else None
            if isinstance(table, dict) and keys[-1] in table:
                raise InputError(
                    "scenario.base." + ".".join(keys),
                    "expected no file reference: the API reads no server-side files; "
                    "use a demand model and a generated roster ([base.demand], [base.roster])",
                )
    try:
        scenario = scenario_from_dict(data, Path("/nonexistent"), "api")
    except InputError as exc:
        raise InputError(join("scenario", exc.path), exc.message) from None
    if scenario.mode != "simulation":
        raise InputError("scenario.base", "expected a demand model ([base.demand])")
    scenario = with_overrides(
        scenario, replications=request["replications"], days=request.get("days")
    )
    if request.get("seed") is not None:
        scenario = replace(scenario, seed=request["seed"])
    sim = scenario.simulation
    if sim.warmup_days >= sim.days:
        raise InputError(
            "days", f"expected more days than the warm-up ({sim.warmup_days:g}), got {sim.days:g}"
        )
    if sim.total_hours > 24 * 60:
        raise InputError(
            "days", f"expected days + drain_days <= 60, got {sim.days + sim.drain_days:g}"
        )
    return scenario
