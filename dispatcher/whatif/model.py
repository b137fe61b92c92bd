"""A what-if scenario as data: its base, its variants and how the simulation runs.

:mod:`dispatcher.whatif.scenario_file` builds these from a scenario file; the modifications a
variant lists are in :mod:`dispatcher.whatif.modifications`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dispatcher.domain import Problem
from dispatcher.errors import InputError
from dispatcher.generate import DEFAULT_PLANNING_START
from dispatcher.planner import PlanOptions
from dispatcher.whatif.demand import DemandModel, DemandStream, HistoryDemand
from dispatcher.whatif.modifications import Modification


@dataclass(frozen=True)
class Variant:
    """A named list of modifications, applied in order to the base."""

    name: str
    modifications: tuple[Modification, ...] = ()

    def apply_problem(self, problem: Problem) -> Problem:
        for m in self.modifications:
            problem = m.apply_problem(problem)
        return problem

    def apply_demand(self, stream: DemandStream) -> DemandStream:
        for m in self.modifications:
            stream = m.apply_demand(stream)
        return stream

    def demand_bound(self) -> float:
        return math.prod(m.demand_bound() for m in self.modifications)


# Solution-limited plans are repeatable on a loaded machine: PlanOptions turns off the
# time-bounded LNS operators itself when a solution limit is set (dispatcher/planner.py).
DeterministicPlanOptions = PlanOptions


@dataclass(frozen=True)
class SolverSettings:
    """Per-replan solve: short and deterministic (bounded by solution count)."""

    time_limit_s: float = 10.0
    solution_limit: int | None = 5
    metaheuristic: str = "GREEDY_DESCENT"
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"

    def options(self) -> PlanOptions:
        return DeterministicPlanOptions(
            time_limit_s=self.time_limit_s,
            solution_limit=self.solution_limit,
            metaheuristic=self.metaheuristic,
            first_solution=self.first_solution,
        )


@dataclass(frozen=True)
class SimulationSettings:
    """How the rolling-horizon replay runs (docs/simulation.md)."""

    days: float = 7.0
    warmup_days: float = 0.0
    drain_days: float = 3.0
    replan_every_hours: float = 2.0
    replan_on_critical: bool = True
    keep_promises: bool = True
    publish_hours: float = 24.0
    replan_horizon_hours: int = 48
    replications: int = 10
    max_orders_per_replan: int = 250  # 0: no cap
    solver: SolverSettings = SolverSettings()

    @property
    def total_hours(self) -> int:
        return math.ceil((self.days + self.drain_days) * 24)


@dataclass(frozen=True)
class RosterSpec:
    """The engineers of a simulation: generated (``engineers``, ``seed``) or from a file."""

    engineers: int = 30
    seed: int = 7
    file: Path | None = None


@dataclass(frozen=True)
class Base:
    problem: Problem | None = None  # a snapshot base
    problem_path: str | None = None
    demand: DemandModel | HistoryDemand | None = None
    roster: RosterSpec = RosterSpec()
    start: datetime = DEFAULT_PLANNING_START - timedelta(hours=8)  # Monday 00:00 +08:00


@dataclass(frozen=True)
class Search:
    """The inverse question: fewest engineers for ``target`` on-time rate."""

    target: float = 0.95
    station: str = "all"  # "all" scales every station by its weight; else one station
    lo: int = 1
    hi: int = 60
    variant: str = "base"


@dataclass(frozen=True)
class Scenario:
    name: str
    base: Base
    variants: tuple[Variant, ...]  # variants[0] is the unmodified base
    simulation: SimulationSettings = SimulationSettings()
    seed: int = 1
    description: str = ""
    search: Search | None = None
    source: str = ""

    @property
    def mode(self) -> str:
        """``simulation`` with a demand model or history, else ``snapshot``."""
        return "simulation" if self.base.demand is not None else "snapshot"

    def oversample(self) -> float:
        """Rate multiple the shared demand stream is drawn at (the largest variant's)."""
        return max(1.0, *(v.demand_bound() for v in self.variants))

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise InputError(
            "search.variant",
            f"expected a variant name ({', '.join(v.name for v in self.variants)}), got {name!r}",
        )


def with_overrides(scenario: Scenario, **changes: Any) -> Scenario:
    """The scenario with simulation settings replaced (``days``, ``replications`` …)."""
    clean = {k: v for k, v in changes.items() if v is not None}
    return (
        replace(scenario, simulation=replace(scenario.simulation, **clean)) if clean else scenario
    )
