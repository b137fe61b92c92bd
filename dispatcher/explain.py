"""True reasons for orders that are late or unassigned (docs/reasons.md).

Each reason is decided from facts of the problem, in a fixed order, and comes with a
sentence naming the binding fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatcher.compile import Compiled
from dispatcher.domain import Engineer, Order, Problem, Reason, eligible_engineers
from dispatcher.timeline import advance, earliest_fit, from_s, site_windows_s, to_s
from dispatcher.travel import geodesic_km, leg


@dataclass(frozen=True)
class Solo:
    """The best one engineer could do for an order alone, leaving at once."""

    engineer: Engineer
    arrival_s: int | None  # None: cannot arrive while working in the horizon
    start_s: int | None  # None: cannot start service inside the horizon
    open_start_s: int | None = None  # the same ignoring site windows


def _fmt(problem: Problem, s: int) -> str:
    return from_s(s, problem.planning_start).strftime("%Y-%m-%d %H:%M %z")


def _solo(c: Compiled, v: int, order: Order) -> Solo:
    problem = c.problem
    e = problem.engineers[v]
    horizon_s = problem.horizon_hours * 3600
    start = c.start_s[v]
    if start is None:
        return Solo(e, None, None)
    a, b = e.start_location, order.site.location
    geo = float(geodesic_km(a.lat, a.lon, b.lat, b.lon))
    _, _, secs = leg(problem.policy.travel, geo)
    arrival = advance(c.work[v], start, int(round(secs)))
    if arrival is None or arrival > horizon_s:
        return Solo(e, arrival, None)
    service = order.service_minutes * 60

    def inside(fit: int | None) -> int | None:
        return fit if fit is not None and fit + service <= horizon_s else None

    site = site_windows_s(order.site_windows, problem.planning_start)
    fit = inside(earliest_fit(c.work[v], site, arrival, service))
    open_fit = fit if not site else inside(earliest_fit(c.work[v], [], arrival, service))
    return Solo(e, arrival, fit, open_fit)


def _static_reason(problem: Problem, order: Order) -> tuple[Reason, str] | None:
    """Reasons that need no travel arithmetic: nobody may serve the order at all."""
    engs = problem.engineers
    skilled = [e for e in engs if order.required_skills <= e.skills]
    if order.pinned_engineer is not None:
        pinned = problem.engineer(order.pinned_engineer)
        why = None
        if pinned is None:
            why = f"pinned engineer {order.pinned_engineer} is not in the roster"
        elif not order.required_skills <= pinned.skills:
            missing = ", ".join(sorted(order.required_skills - pinned.skills))
            why = f"pinned engineer {pinned.id} lacks {missing}"
        elif pinned.id in order.excluded_engineers:
            why = f"pinned engineer {pinned.id} is also excluded"
        elif problem.policy.is_overseas(order) and not pinned.can_travel_overseas:
            why = f"pinned engineer {pinned.id} may not travel overseas ({order.site.country})"
        elif not pinned.shifts:
            why = f"pinned engineer {pinned.id} has no shift in the horizon"
        if why:
            return Reason.PINNED_ENGINEER_UNAVAILABLE, why
    if not engs:
        return Reason.NO_SKILLED_ENGINEER, "the roster has no engineers"
    if not skilled:
        need = ", ".join(sorted(order.required_skills))
        return Reason.NO_SKILLED_ENGINEER, f"no engineer has all of: {need}"
    not_excluded = [e for e in skilled if e.id not in order.excluded_engineers]
    if not not_excluded:
        ids = ", ".join(e.id for e in skilled)
        return Reason.EXCLUDED, f"every engineer with the skills is excluded ({ids})"
    if problem.policy.is_overseas(order) and not any(e.can_travel_overseas for e in not_excluded):
        return (
            Reason.OVERSEAS_NOT_ALLOWED,
            f"site is in {order.site.country}; no eligible engineer may travel overseas",
        )
    return None


def _window_reason(c: Compiled, order: Order, solos: list[Solo]) -> tuple[Reason, str] | None:
    if not order.site_windows:
        return None
    problem = c.problem
    horizon_s = problem.horizon_hours * 3600
    site = site_windows_s(order.site_windows, problem.planning_start)
    service = order.service_minutes * 60
    # Ignoring travel: does any window admit the service inside some engineer's working time?
    for s in solos:
        v = problem.engineers.index(s.engineer)
        start = c.start_s[v]
        if start is None:
            continue
        fit = earliest_fit(c.work[v], site, start, service)
        if fit is not None and fit + service <= horizon_s:
            return None
    last = max(b for _, b in site)
    return (
        Reason.SITE_WINDOW_CLOSED,
        f"no site window (last closes {_fmt(problem, last)}) holds the {order.service_minutes}-minute "
        "visit inside an eligible engineer's working time in the horizon",
    )


def _window_reach_reason(
    problem: Problem, order: Order, solos: list[Solo]
) -> tuple[Reason, str] | None:
    """With travel: the windows hold the visit, but nobody can get there while one is open.

    Only when some eligible engineer could finish the visit in the horizon without the
    windows; otherwise the horizon, not the windows, is the binding fact (``beyond_horizon``).
    """
    if not order.site_windows or any(s.start_s is not None for s in solos):
        return None
    if not any(s.open_start_s is not None for s in solos):
        return None
    first = min(
        (s for s in solos if s.arrival_s is not None),
        key=lambda s: s.arrival_s,  # type: ignore[arg-type,return-value]
    )
    site = site_windows_s(order.site_windows, problem.planning_start)
    # The window to name: the last one still open at the earliest arrival, else the last.
    open_then = [w for w in site if w[1] > first.arrival_s]  # type: ignore[operator]
    a, b = open_then[-1] if open_then else site[-1]
    return (
        Reason.SITE_WINDOW_CLOSED,
        f"no eligible engineer, leaving at once and travelling in work time, can start the "
        f"{order.service_minutes}-minute visit inside a site window: the earliest arrival is "
        f"{first.engineer.id} at {_fmt(problem, first.arrival_s)}, and the "  # type: ignore[arg-type]
        f"{'last window open then' if open_then else 'last window'} is "
        f"{_fmt(problem, a)} to {_fmt(problem, b)}",
    )


def explain_unassigned(c: Compiled, order: Order, tried: bool = True) -> tuple[Reason, str]:
    """Why ``order`` is not in the plan. ``tried``: False when the solve's time ran out before
    any of its phases tried to place the order (``RoutingResult.unplanned``): an order that
    is feasible alone then says so instead of ``capacity``."""
    problem = c.problem
    static = _static_reason(problem, order)
    if static:
        return static
    eligible = eligible_engineers(problem, order)
    solos = [_solo(c, v, order) for v in eligible]
    window = _window_reason(c, order, solos) or _window_reach_reason(problem, order, solos)
    if window:
        return window
    feasible = [s for s in solos if s.start_s is not None]
    longest = max(
        (b - a for v in eligible for a, b in c.work[v] if a < problem.horizon_hours * 3600),
        default=0,
    )
    if not feasible and order.service_minutes * 60 > longest:
        return (
            Reason.BEYOND_HORIZON,
            f"the {order.service_minutes}-minute visit is longer than any eligible engineer's "
            f"work window ({longest / 60:.0f} min) in the horizon",
        )
    if not feasible:
        return (
            Reason.BEYOND_HORIZON,
            f"no eligible engineer ({len(eligible)}) can reach the site and finish the visit "
            f"within the {problem.horizon_hours}-hour horizon",
        )
    best = min(feasible, key=lambda s: s.start_s)  # type: ignore[arg-type,return-value]
    if not tried:
        return (
            Reason.NOT_PLANNED_IN_TIME,
            f"feasible alone ({best.engineer.id} could start at {_fmt(problem, best.start_s)}), "  # type: ignore[arg-type]
            "but the time limit ran out before the planner tried to place it",
        )
    return (
        Reason.CAPACITY,
        f"feasible alone ({best.engineer.id} could start at {_fmt(problem, best.start_s)}), "  # type: ignore[arg-type]
        "but displaced by other work of higher or equal priority",
    )


def explain_late(c: Compiled, order: Order, deadline: datetime) -> tuple[Reason, str]:
    """Why ``order`` is served after its deadline."""
    problem = c.problem
    deadline_s = to_s(deadline, problem.planning_start)
    eligible = eligible_engineers(problem, order)
    solos = [_solo(c, v, order) for v in eligible]
    arrivals = [s for s in solos if s.arrival_s is not None]
    if not arrivals or all(s.arrival_s > deadline_s for s in arrivals):  # type: ignore[operator]
        if arrivals:
            best = min(arrivals, key=lambda s: s.arrival_s)  # type: ignore[arg-type,return-value]
            late_min = (best.arrival_s - deadline_s) / 60  # type: ignore[operator]
            return (
                Reason.UNREACHABLE_BEFORE_DEADLINE,
                f"the earliest any eligible engineer can arrive, leaving at once, is {best.engineer.id} "
                f"at {_fmt(problem, best.arrival_s)} ({late_min:.0f} min after the deadline "  # type: ignore[arg-type]
                f"{_fmt(problem, deadline_s)})",
            )
        return (
            Reason.UNREACHABLE_BEFORE_DEADLINE,
            "no eligible engineer is working before the deadline",
        )
    best = min(arrivals, key=lambda s: s.arrival_s)  # type: ignore[arg-type,return-value]
    return (
        Reason.CAPACITY,
        f"{best.engineer.id} alone could arrive at {_fmt(problem, best.arrival_s)}, before the deadline, "  # type: ignore[arg-type]
        "but is busy with other work; no engineer is free to make it",
    )
