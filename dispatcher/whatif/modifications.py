"""The modifications a scenario variant applies to its base (docs/simulation.md).

Every modification is a pure function of the base: ``apply_problem(Problem) -> Problem``
for the roster, the policy and a snapshot's orders, and ``apply_demand(DemandStream) ->
DemandStream`` for a simulated ticket stream. Nothing is mutated; variants are derived with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from itertools import accumulate
from random import Random
from typing import Any, Protocol

from dispatcher.codec import expand_weekly
from dispatcher.domain import Engineer, Location, Order, Problem, Window
from dispatcher.generate import SKILLS, STATIONS
from dispatcher.whatif.demand import DemandStream, Ticket, derive_seed, nearest_station

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WEEK = {d: ["08:00-18:00"] for d in WEEKDAYS[:6]}
# Skills of newly hired engineers when a scenario does not list them: the generator's
# supply weights (mechanical work dominates, high-voltage certificates are rare).
_SUPPLY_WEIGHTS = dict(zip(SKILLS, (10.0, 6.0, 7.0, 5.0, 1.5, 3.0, 3.0), strict=True))


def engineer_station(engineer: Engineer) -> str:
    """An engineer's station: the one nearest their home."""
    return nearest_station(engineer.home.lat, engineer.home.lon)


class Modification(Protocol):
    """A pure change of a base: of its problem (roster, policy, orders) and of its demand."""

    def apply_problem(self, problem: Problem) -> Problem: ...

    def apply_demand(self, stream: DemandStream) -> DemandStream: ...

    def demand_bound(self) -> float: ...


class _ProblemOnly:
    def apply_demand(self, stream: DemandStream) -> DemandStream:
        return stream

    def demand_bound(self) -> float:
        return 1.0


@dataclass(frozen=True)
class Selector:
    """Which engineers a modification touches: by id, else by station and/or skill.

    ``count`` limits a station/skill selection to its first (``train``, ``absence``) or
    last (``remove``) ``count`` engineers in roster order.
    """

    ids: tuple[str, ...] = ()
    station: str | None = None
    skill: str | None = None
    count: int | None = None

    def pick(self, engineers: tuple[Engineer, ...], last: bool = False) -> list[Engineer]:
        if self.ids:
            return [e for e in engineers if e.id in self.ids]
        out = [
            e
            for e in engineers
            if (self.station is None or engineer_station(e) == self.station)
            and (self.skill is None or self.skill in e.skills)
        ]
        if self.count is not None:
            out = out[-self.count :] if last else out[: self.count]
        return out


@dataclass(frozen=True)
class AddEngineers(_ProblemOnly):
    """Hire ``engineers`` people at ``station`` (or at ``home``) with given or drawn skills."""

    engineers: int
    station: str | None = None
    home: Location | None = None
    timezone: str = "Asia/Shanghai"
    skills: tuple[str, ...] = ()
    weekly_shifts: dict[str, list[str]] = field(default_factory=lambda: dict(DEFAULT_WEEK))
    max_overtime_minutes: int = 0
    can_travel_overseas: bool = True
    id_prefix: str = "NEW"

    def new_engineers(self, problem: Problem) -> list[Engineer]:
        where = self.station or "site"
        st = next((s for s in STATIONS if s.name == self.station), None)
        home = self.home or (Location(st.lat, st.lon) if st else Location(0.0, 0.0))
        tz = st.timezone if st and self.home is None else self.timezone
        shifts = tuple(
            expand_weekly(
                self.weekly_shifts, "weekly_shifts", tz, problem.planning_start, problem.horizon_end
            )
        )
        taken = {e.id for e in problem.engineers}
        out = []
        for k in range(1, self.engineers + 1):
            eid = f"{self.id_prefix}-{where.replace(' ', '').replace(chr(39), '')}-{k:02d}"
            while eid in taken:
                eid += "x"
            taken.add(eid)
            skills = self.skills or _drawn_skills(derive_seed(self.id_prefix, where, k))
            out.append(
                Engineer(
                    id=eid,
                    name=f"New hire {k} ({where})",
                    home=home,
                    timezone=tz,
                    skills=frozenset(skills),
                    shifts=shifts,
                    max_overtime_minutes=self.max_overtime_minutes,
                    can_travel_overseas=self.can_travel_overseas,
                )
            )
        return out

    def apply_problem(self, problem: Problem) -> Problem:
        return replace(problem, engineers=problem.engineers + tuple(self.new_engineers(problem)))


def _drawn_skills(seed: int) -> tuple[str, ...]:
    """Two or three distinct skills by supply weight (deterministic in ``seed``)."""
    rng = Random(seed)
    k = 2 if rng.random() < 0.4 else 3
    left = list(_SUPPLY_WEIGHTS)
    out = []
    for _ in range(k):
        cum = list(accumulate(_SUPPLY_WEIGHTS[s] for s in left))
        u = rng.random() * cum[-1]
        j = next(i for i, c in enumerate(cum) if u < c)
        out.append(left.pop(j))
    if "high_voltage" in out and "electrical" not in out:
        out[out.index(next(s for s in out if s != "high_voltage"))] = "electrical"
    return tuple(sorted(out))


@dataclass(frozen=True)
class RemoveEngineers(_ProblemOnly):
    """Remove the selected engineers (their published visits lose their engineer)."""

    select: Selector

    def apply_problem(self, problem: Problem) -> Problem:
        gone = {e.id for e in self.select.pick(problem.engineers, last=True)}
        return replace(problem, engineers=tuple(e for e in problem.engineers if e.id not in gone))


def _cut(shifts: tuple[Window, ...], start: datetime, end: datetime) -> tuple[Window, ...]:
    out = []
    for w in shifts:
        if w.end <= start or w.start >= end:
            out.append(w)
            continue
        if w.start < start:
            out.append(Window(w.start, start))
        if w.end > end:
            out.append(Window(end, w.end))
    return tuple(out)


@dataclass(frozen=True)
class Absence(_ProblemOnly):
    """The selected engineers do not work in ``[start, end)`` (holiday, sickness, training).

    ``start``/``end`` are absolute, or ``from_day``/``days`` count days from the base's
    planning start.
    """

    select: Selector
    start: datetime | None = None
    end: datetime | None = None
    from_day: float = 0.0
    days: float = 1.0

    def window(self, problem: Problem) -> tuple[datetime, datetime]:
        if self.start is not None and self.end is not None:
            return self.start, self.end
        a = problem.planning_start + timedelta(days=self.from_day)
        return a, a + timedelta(days=self.days)

    def apply_problem(self, problem: Problem) -> Problem:
        a, b = self.window(problem)
        who = {e.id for e in self.select.pick(problem.engineers)}
        return replace(
            problem,
            engineers=tuple(
                replace(e, shifts=_cut(e.shifts, a, b)) if e.id in who else e
                for e in problem.engineers
            ),
        )


@dataclass(frozen=True)
class Train(_ProblemOnly):
    """The selected engineers (first ``count`` lacking the skills) gain ``skills``."""

    select: Selector
    skills: tuple[str, ...]

    def apply_problem(self, problem: Problem) -> Problem:
        lacking = tuple(e for e in problem.engineers if not set(self.skills) <= e.skills)
        who = {e.id for e in self.select.pick(lacking)}
        return replace(
            problem,
            engineers=tuple(
                replace(e, skills=e.skills | frozenset(self.skills)) if e.id in who else e
                for e in problem.engineers
            ),
        )


@dataclass(frozen=True)
class Overtime(_ProblemOnly):
    """The selected engineers may work ``max_overtime_minutes`` past each shift."""

    select: Selector
    max_overtime_minutes: int

    def apply_problem(self, problem: Problem) -> Problem:
        who = {e.id for e in self.select.pick(problem.engineers)}
        return replace(
            problem,
            engineers=tuple(
                replace(e, max_overtime_minutes=self.max_overtime_minutes) if e.id in who else e
                for e in problem.engineers
            ),
        )


@dataclass(frozen=True)
class OrderFilter:
    """Which tickets/orders a demand or commitment modification applies to."""

    region: str | None = None
    skill: str | None = None
    priorities: tuple[str, ...] = ()
    overseas: bool | None = None
    share: float = 1.0  # of customer segments (the ticket's ``segment_u``)

    def ticket(self, t: Ticket, home_country: str = "CN") -> bool:
        return (
            (self.region is None or t.region == self.region)
            and (self.skill is None or self.skill in t.required_skills)
            and (not self.priorities or t.priority in self.priorities)
            and (self.overseas is None or (t.country != home_country) == self.overseas)
            and t.segment_u < self.share
        )

    def order(self, o: Order, home_country: str) -> bool:
        loc = o.site.location
        return (
            (self.region is None or nearest_station(loc.lat, loc.lon) == self.region)
            and (self.skill is None or self.skill in o.required_skills)
            and (not self.priorities or o.priority in self.priorities)
            and (self.overseas is None or (o.site.country != home_country) == self.overseas)
            and _unit(o.id, "segment") < self.share
        )


def _unit(key: str, salt: str) -> float:
    """A deterministic uniform number in ``[0, 1)`` for an order id."""
    return derive_seed(salt, key) / 2.0**63


@dataclass(frozen=True)
class DemandMultiplier:
    """Scale the arrival rate of matching tickets by ``multiplier``.

    On a simulated stream this changes ticket weights (Poisson thinning, see
    :mod:`dispatcher.whatif.demand`). On a snapshot problem a matching order is kept
    ``floor(m)`` times plus once more with probability ``m - floor(m)``, decided by a hash
    of its id (copies get ids ``<id>~2`` …).
    """

    multiplier: float
    where: OrderFilter = OrderFilter()

    def demand_bound(self) -> float:
        return max(1.0, self.multiplier)

    def apply_demand(self, stream: DemandStream) -> DemandStream:
        return replace(
            stream,
            tickets=tuple(
                replace(t, weight=t.weight * self.multiplier) if self.where.ticket(t) else t
                for t in stream.tickets
            ),
        )

    def apply_problem(self, problem: Problem) -> Problem:
        home = problem.policy.home_country
        out: list[Order] = []
        for o in problem.orders:
            if not self.where.order(o, home):
                out.append(o)
                continue
            whole = math.floor(self.multiplier)
            n = whole + (1 if _unit(o.id, "thin") < self.multiplier - whole else 0)
            out.extend(o if k == 0 else replace(o, id=f"{o.id}~{k + 1}") for k in range(n))
        return replace(problem, orders=tuple(out))


@dataclass(frozen=True)
class Commitment:
    """Change a commitment: the hours of a class, or a tighter class for matching orders.

    With ``commitment_class`` the policy's hours of that class change (e.g. domestic 18 h).
    Otherwise matching orders (e.g. ``priorities = ["critical"]``, or ``share = 0.2`` of
    customers) get ``deadline = min(deadline, received_at + hours)``: a premium class.
    """

    hours: float
    commitment_class: str | None = None
    where: OrderFilter = OrderFilter()

    def demand_bound(self) -> float:
        return 1.0

    def apply_problem(self, problem: Problem) -> Problem:
        pol = problem.policy
        if self.commitment_class is not None:
            table = {**pol.commitments, self.commitment_class: self.hours}
            return replace(problem, policy=replace(pol, commitments=table))
        home = pol.home_country
        return replace(
            problem,
            orders=tuple(
                replace(o, deadline=self._tighter(pol.deadline(o), o.received_at))
                if self.where.order(o, home)
                else o
                for o in problem.orders
            ),
        )

    def _tighter(self, current: datetime | None, received: datetime) -> datetime:
        premium = received + timedelta(hours=self.hours)
        return premium if current is None else min(current, premium)

    def apply_demand(self, stream: DemandStream) -> DemandStream:
        if self.commitment_class is not None:
            return stream  # a policy change: applied to the roster problem's policy
        # The ticket's class deadline needs the policy, so the premium is kept as hours and
        # resolved when the ticket becomes an order (Ticket.to_order).
        return replace(
            stream,
            tickets=tuple(
                replace(t, premium_hours=min(self.hours, t.premium_hours or math.inf))
                if self.where.ticket(t)
                else t
                for t in stream.tickets
            ),
        )


@dataclass(frozen=True)
class Travel(_ProblemOnly):
    """Change travel-model parameters of the policy (e.g. slower winter roads)."""

    changes: tuple[tuple[str, float], ...]

    def apply_problem(self, problem: Problem) -> Problem:
        pol = problem.policy
        return replace(
            problem, policy=replace(pol, travel=replace(pol.travel, **dict[str, Any](self.changes)))
        )
