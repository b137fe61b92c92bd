"""Plan checking whatever the travel provider (docs/travel.md, "Checking a road plan").

:func:`dispatcher.check.check_plan` verifies every leg against the geodesic travel model. A
plan made with ``policy.travel.provider = "osrm"`` drives on the router's roads instead, so
:func:`verify_plan` keeps every other finding of ``check_plan`` and replaces its travel ones
(:data:`MODEL_TRAVEL_CODES`) with the same checks against the provider:

- **router reachable**: the matrix over the legs' ends is asked again (no cache), each leg's
  mode, km and minutes are compared with it (the tolerances of ``check.py``) and so are the
  travel KPIs. The digest of the entries the legs use is compared with the plan's
  ``meta.travel.matrix_digest``: a different one means the router answers otherwise than it
  did at planning (new map data, another server); that is a soft ``travel_matrix_changed``,
  and the legs' differences are then soft as well (the plan may have been right when made).
- **router unreachable**: a soft ``travel_not_verified`` says so; what needs no router is
  still verified: flights (the travel model's formula), a leg whose geodesic km exceed
  ``max_drive_km`` must be flown (no road is shorter), a zero-length leg travels nothing;
  drive legs' km and minutes are taken as stated, KPIs summed from them.
"""

from __future__ import annotations

from collections.abc import Iterator

from dispatcher.check import (
    KM_ABS,
    KM_REL,
    KPI_HOURS_ABS,
    KPI_HOURS_REL,
    KPI_KM_ABS,
    KPI_KM_REL,
    MIN_ABS,
    MIN_REL,
    Violation,
    _close,
    _Context,
    _context,
    _Leg,
    _route_legs,
    check_plan,
)
from dispatcher.domain import Location, Plan, Problem
from dispatcher.errors import TravelTimeError
from dispatcher.osrm import travel_times
from dispatcher.travel import TravelMatrix, TravelTimes, matrix_legs_digest

# check_plan's findings against the geodesic model, replaced here for a road provider.
MODEL_TRAVEL_CODES = frozenset(
    {"travel_mode", "travel_km", "travel_minutes", "kpi_travel_km", "kpi_travel_hours"}
)

Expect = tuple[frozenset[str], float, float]  # acceptable modes, km, minutes


def verify_plan(problem: Problem, plan: Plan, travel: TravelTimes | None = None) -> list[Violation]:
    """Every finding of :func:`~dispatcher.check.check_plan`, travel checked against the
    problem's own provider (``travel`` overrides it: tests)."""
    found = check_plan(problem, plan)
    if travel is None and problem.policy.travel.provider == "geodesic":
        return found
    kept = [v for v in found if v.code not in MODEL_TRAVEL_CODES]
    return kept + list(_road_findings(problem, plan, travel))


def _flight(problem: Problem, leg: _Leg) -> tuple[float, float]:
    p = problem.policy.travel
    return leg.geo_km, (p.flight_overhead_h + leg.geo_km / p.flight_kmh) * 60.0


def _online(tm: TravelMatrix, i: int, j: int) -> Expect:
    km, minutes = float(tm.km[i, j]), float(tm.seconds[i, j]) / 60.0
    mode = "flight" if bool(tm.flight[i, j]) else "drive"
    modes = {mode}
    if km <= KM_ABS and minutes * 60.0 < 1.0:
        modes |= {"none", "drive"}
    return frozenset(modes), km, minutes


def _offline(problem: Problem, leg: _Leg) -> Expect:
    p = problem.policy.travel
    must_fly = leg.geo_km > p.max_drive_km * (1 + KM_REL) + KM_ABS
    if leg.mode == "flight":
        km, minutes = _flight(problem, leg)
        return frozenset({"flight"}), km, minutes
    if leg.mode == "none":
        return frozenset({"none"} if leg.geo_km <= KM_ABS else {"drive", "flight"}), 0.0, 0.0
    if must_fly:
        km, minutes = _flight(problem, leg)
        return frozenset({"flight"}), km, minutes
    return frozenset({"drive"}), leg.km, leg.minutes  # as stated: needs the router


def _road_findings(problem: Problem, plan: Plan, travel: TravelTimes | None) -> Iterator[Violation]:
    ctx = _context(problem, plan)
    legs = [leg for info in ctx.routes for leg in _route_legs(info)]
    points: list[Location] = list(dict.fromkeys(p for leg in legs for p in (leg.origin, leg.dest)))
    index = {p: i for i, p in enumerate(points)}
    tm: TravelMatrix | None = None
    hard = True
    try:
        provider = travel or travel_times(problem.policy.travel, cache=False)
        tm = provider.matrix(points)
    except TravelTimeError as exc:
        yield Violation(
            "travel_not_verified",
            f"travel was not re-verified against the road provider ({exc}); flights, "
            "must-fly legs and zero legs were, drive legs are taken as stated",
            hard=False,
        )
    if tm is not None:
        meta = plan.meta.get("travel")
        stated = meta.get("matrix_digest") if isinstance(meta, dict) else None
        digest = matrix_legs_digest(points, tm, [(leg.origin, leg.dest) for leg in legs])
        if stated != digest:
            hard = False
            yield Violation(
                "travel_matrix_changed",
                "the road provider now answers otherwise for the plan's legs than the matrix "
                f"the plan was made with (digest {digest}, plan {stated}); leg differences "
                "below are warnings",
                hard=False,
            )
    expected: dict[int, Expect] = {}
    for info in ctx.routes:
        for leg in _route_legs(info):
            if tm is not None:
                exp = _online(tm, index[leg.origin], index[leg.dest])
            else:
                exp = _offline(problem, leg)
            expected[id(leg)] = exp
            yield from _leg_findings(info.route.engineer_id, leg, exp, hard)
    yield from _kpi_findings(ctx, expected, hard)


def _leg_findings(eid: str, leg: _Leg, exp: Expect, hard: bool) -> Iterator[Violation]:
    modes, km, minutes = exp
    where = f"engineer {eid}'s {leg.label}"
    if leg.mode not in modes:
        yield Violation(
            "travel_mode",
            f"{where} is a {leg.mode}, the road provider says {'/'.join(sorted(modes))}",
            leg.order_id,
            eid,
            hard,
        )
    if leg.mode in modes and not _close(leg.km, km, KM_REL, KM_ABS):
        yield Violation(
            "travel_km",
            f"{where} states {leg.km:.1f} km, the road provider gives {km:.1f} km",
            leg.order_id,
            eid,
            hard,
        )
    if leg.mode in modes and not _close(leg.minutes, minutes, MIN_REL, MIN_ABS):
        yield Violation(
            "travel_minutes",
            f"{where} states {leg.minutes:.1f} min, the road provider gives {minutes:.1f} min",
            leg.order_id,
            eid,
            hard,
        )


def _kpi_findings(ctx: _Context, expected: dict[int, Expect], hard: bool) -> Iterator[Violation]:
    """KPI travel_km and travel_hours from the expected legs (stated where unknown)."""
    km = hours = 0.0
    for info in ctx.routes:
        for i, v in enumerate(info.route.visits):
            leg = info.legs[i]
            exp = expected.get(id(leg)) if leg is not None else None
            km += exp[1] if exp else v.travel_km
            hours += (exp[2] if exp else v.travel_minutes) / 60.0
        r = info.route.return_leg
        if r is not None:
            ret = info.return_leg
            exp = expected.get(id(ret)) if ret is not None else None
            km += exp[1] if exp else r.travel_km
            hours += (exp[2] if exp else r.travel_minutes) / 60.0
    k = ctx.plan.kpis
    if not _close(k.travel_km, km, KPI_KM_REL, KPI_KM_ABS):
        yield Violation(
            "kpi_travel_km", f"KPI travel_km is {k.travel_km:g}, expected {km:.4g}", hard=hard
        )
    if not _close(k.travel_hours, hours, KPI_HOURS_REL, KPI_HOURS_ABS):
        yield Violation(
            "kpi_travel_hours",
            f"KPI travel_hours is {k.travel_hours:g}, expected {hours:.4g}",
            hard=hard,
        )
