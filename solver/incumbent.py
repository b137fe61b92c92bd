"""The incumbent: the best exactly timed plan a solve has found, and the only one it returns.

Every candidate plan of a solve — the constructions, the ruin and recreate's best, OR-Tools'
solutions during its search and at its end, the polish, the final fill — is *offered* here.
An offer is timed by the exact rules and priced (:class:`solver.timing.ExactTiming`); visits
that cannot be timed are taken out of their routes (every other route and visit stays) and
placed again by the insertion construction where one is given (``reinsert``), or left out.
The candidate becomes the incumbent only if its priced objective is lower. Progress reports
come from here only, so the last value a caller sees is the plan :func:`solver.routing.solve`
returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from solver.timing import ExactTiming, TimedPlan


@dataclass(frozen=True)
class Progress:
    """The incumbent as reported during a solve.

    Attributes
    ----------
    elapsed_s
        Seconds since the solve's clock started (the model build excluded).
    objective
        The incumbent's priced objective (overtime included): the plan returned if the solve
        ended now.
    solutions
        Solutions OR-Tools' search has reported so far.
    on_time
        The incumbent's orders served by their deadline.
    """

    elapsed_s: float
    objective: int
    solutions: int
    on_time: int | None


Reinsert = Callable[[list[list[int]], list[int]], list[list[int]]]


@dataclass
class Counts:
    """What happened to the candidates of one solve (``RoutingResult.candidates``)."""

    offered: int = 0  # candidates timed and priced
    improving: int = 0  # became the incumbent
    repaired: int = 0  # had visits the exact timing took out (then placed again or left out)
    rejected: int = 0  # not better than the incumbent of their time

    def as_dict(self) -> dict[str, int]:
        return {
            "offered": self.offered,
            "improving": self.improving,
            "repaired": self.repaired,
            "rejected": self.rejected,
        }


class Incumbent:
    """The best exactly timed plan so far (see the module docstring).

    Parameters
    ----------
    timing
        The exact rules and prices of the model.
    t0
        ``time.perf_counter()`` at the start of the solve's clock.
    on_progress
        Called with the incumbent when it improves (at most every ``progress_every_s``) and
        once more by :meth:`finish`.
    progress_every_s
        Least seconds between two progress calls while searching.
    reinsert
        Places taken-out visits again in repaired routes (the insertion construction), or
        None to leave them out.
    solutions
        How many solutions OR-Tools' search has reported (for :class:`Progress`).
    """

    def __init__(
        self,
        timing: ExactTiming,
        t0: float,
        on_progress: Callable[[Progress], None] | None = None,
        progress_every_s: float = 0.25,
        reinsert: Reinsert | None = None,
        solutions: Callable[[], int] = lambda: 0,
    ) -> None:
        self.timing = timing
        self.t0 = t0
        self.on_progress = on_progress
        self.progress_every_s = progress_every_s
        self.reinsert = reinsert
        self.solutions = solutions
        self.best: TimedPlan | None = None
        self.first_s: float | None = None  # when the first plan came
        self.history: list[tuple[float, int]] = []  # (elapsed s, objective) of every improvement
        self.counts = Counts()
        self._reported_at = -1e9

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def offer(self, routes: Sequence[Sequence[int]], phase: str) -> bool:
        """Time, repair and price ``routes`` (order nodes per vehicle, no late twins); True if
        they became the incumbent."""
        c = self.counts
        c.offered += 1
        plan, removed = self.timing.plan(routes, phase)
        if removed:
            c.repaired += 1
            if self.reinsert is not None:
                again, more = self.timing.plan(self.reinsert(plan.routes, removed), phase)
                if not more and again.objective <= plan.objective:
                    plan = again
            plan = replace(plan, repaired=len(removed))
        if self.best is not None and plan.objective >= self.best.objective:
            c.rejected += 1
            return False
        c.improving += 1
        self.best = plan
        now = self.elapsed()
        if self.first_s is None:
            self.first_s = now
        self.history.append((now, plan.objective))
        if now - self._reported_at >= self.progress_every_s:
            self._report(now)
        return True

    def _report(self, now: float) -> None:
        if self.on_progress is None or self.best is None:
            return
        self._reported_at = now
        self.on_progress(Progress(now, self.best.objective, self.solutions(), self.best.on_time))

    def finish(self) -> TimedPlan | None:
        """The incumbent, reported once more (the last report is the plan returned)."""
        self._report(self.elapsed())
        return self.best
