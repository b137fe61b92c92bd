"""The engineers of a what-if run: the base roster as a problem without orders."""

from __future__ import annotations

from dataclasses import replace

from dispatcher.codec import problem_from_dict
from dispatcher.domain import Problem
from dispatcher.errors import InputError
from dispatcher.generate import generate_problem
from dispatcher.reader import at
from dispatcher.whatif.model import Scenario
from dispatcher.whatif.scenario_file import _read_json


def build_roster(scenario: Scenario, hours: int | None = None) -> Problem:
    """The base roster as a problem without orders, with shifts covering ``hours``.

    A generated roster comes from :func:`dispatcher.generate.generate_problem`; a roster
    file is read with its ``planning_start`` and ``horizon_hours`` replaced by the
    simulation's so that weekly shift patterns cover the whole run.
    """
    base = scenario.base
    hours = hours or scenario.simulation.total_hours
    if base.problem is not None and base.roster.file is None and scenario.mode == "snapshot":
        return base.problem
    if base.roster.file is not None:
        data = _read_json(base.roster.file, "base.roster.file")
        if not isinstance(data, dict):
            raise InputError("base.roster.file", "expected a Problem document (an object)")
        data = {
            **data,
            "planning_start": base.start.isoformat(),
            "horizon_hours": hours,
            "orders": [],
        }
        with at("base.roster.file"):
            return problem_from_dict(data)
    if base.problem is not None:
        # A problem file as roster: its engineers and policy, the simulation's clock.
        return replace(base.problem, orders=(), planning_start=base.start, horizon_hours=hours)
    doc = generate_problem(
        0, base.roster.engineers, base.roster.seed, planning_start=base.start, horizon_hours=hours
    )
    return problem_from_dict(doc)
