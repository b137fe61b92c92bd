"""The routing problem as plain arrays, what every strategy of :mod:`solver` takes, and the
answer as plain lists (:class:`RoutingResult`).

This module imports nothing from ``dispatcher`` or ``api``, and nothing of OR-Tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

NO_DEADLINE = -1  # deadline_s of a node without a deadline


class ParamError(ValueError):
    """A search setting out of its range: ``field`` names it, ``message`` says what was
    expected (callers map it to their own errors without parsing the text)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Infeasible(Exception):
    """The problem's own bounds contradict each other, so no assignment exists at all (a
    vehicle that may leave only after the horizon); the solve reports ``"no_solution"``."""


@dataclass(frozen=True)
class RoutingInput:
    """A routing problem as arrays.

    Nodes ``0 .. n-1``; each vehicle has its own start and end node. Orders are the
    nodes that are neither a start nor an end; each is optional at ``drop_penalty``.

    Attributes
    ----------
    travel_s
        ``[n, n]`` travel seconds (without service) used by the time dimension.
    arc_cost
        ``[n, n]`` cost of driving an arc (objective units).
    service_s
        ``[n]`` seconds spent at the node before leaving it.
    starts, ends
        ``[v]`` start and end node of each vehicle.
    start_min_s, start_max_s
        ``[v]`` earliest / latest departure of each vehicle.
    horizon_s
        Largest time value any cumul may take.
    windows
        Per node, the allowed service-start intervals ``[(a, b), ...]`` (inclusive);
        empty means any time in ``[0, horizon_s]``.
    allowed_vehicles
        Per node, the vehicles that may serve it, or ``None`` for all.
    drop_penalty
        ``[n]`` cost of leaving an order unserved (ignored on start/end nodes).
    deadline_s, late_cost_per_s
        ``[n]`` soft deadline on service start (``NO_DEADLINE`` for none) and the
        cost per second late.
    breaks
        Per vehicle, fixed rest intervals ``(start_s, duration_s)`` during which it
        neither travels nor serves; they consume waiting time between visits.
    end_soft_max_s, end_late_cost_per_s
        Optional ``[v]`` soft bound on route end (overtime on the last shift).
    vehicle_node_cost
        Optional ``[v, n]`` extra cost when vehicle ``v`` serves node ``n``
        (e.g. not a preferred engineer).
    demand, capacity
        Optional ``[n]`` loads and ``[v]`` capacities (a capacity dimension).
    vehicle_fixed_cost
        Optional ``[v]`` cost of using a vehicle at all.
    breach_cost
        Optional ``[n]`` fixed cost when an order's service starts after its deadline (on
        top of ``late_cost_per_s``). Modelled with a *late twin* per order
        (:func:`solver.twins.with_late_twins`): the order itself gets a hard deadline, its twin the soft
        one and this cost, and at most one of the two is served.
    target_s, retime_tolerance_s, retime_cost_per_hour
        Optional ``[n]`` service start each order was promised (a published plan;
        ``NO_DEADLINE`` for none), the drift allowed either way, and ``[n]`` the cost of an
        hour of drift beyond it. Like overtime, priced where routes are timed exactly
        (:meth:`solver.timing.ExactTiming.price`, which every candidate plan passes), not
        inside OR-Tools' search.
    node_source
        Optional ``[nodes]``: the row and column of ``travel_s`` and ``arc_cost`` each node
        reads, for nodes that stand at the same place as another (late twins,
        :func:`solver.twins.late_twins`), so that copies of a node cost no matrix memory;
        None: node ``i`` reads row and column ``i``. Only :func:`solver.model.build` takes an
        input that has it: every other reader indexes the matrices by node.
    overtime_bands, overtime_cost_per_hour
        Optional per vehicle, its overtime bands (``[a, b)`` on the time axis), and the cost
        of an hour of travel or service in them. OR-Tools' search cannot price that (a cumul
        takes only a non-decreasing cost; decision #18), so it is priced where this module
        times routes itself: the insertion construction and its ruin and recreate
        (:mod:`solver.insertion`), and :attr:`RoutingResult.objective`, on which the
        candidate plans of a solve (quick start, search, portfolio workers) are compared.
    """

    travel_s: np.ndarray
    arc_cost: np.ndarray
    service_s: np.ndarray
    starts: Sequence[int]
    ends: Sequence[int]
    start_min_s: Sequence[int]
    start_max_s: Sequence[int]
    horizon_s: int
    windows: Sequence[Sequence[tuple[int, int]]]
    allowed_vehicles: Sequence[Sequence[int] | None]
    drop_penalty: np.ndarray
    deadline_s: np.ndarray
    late_cost_per_s: np.ndarray
    breaks: Sequence[Sequence[tuple[int, int]]] = ()
    end_soft_max_s: Sequence[int] | None = None
    end_late_cost_per_s: int = 0
    vehicle_node_cost: np.ndarray | None = None
    demand: np.ndarray | None = None
    capacity: Sequence[int] | None = None
    vehicle_fixed_cost: Sequence[int] | None = None
    breach_cost: np.ndarray | None = None
    overtime_bands: Sequence[Sequence[tuple[int, int]]] = ()
    overtime_cost_per_hour: int = 0
    target_s: np.ndarray | None = None
    retime_tolerance_s: int = 0
    retime_cost_per_hour: np.ndarray | None = None
    node_source: np.ndarray | None = None

    @property
    def n_nodes(self) -> int:
        if self.node_source is not None:
            return len(self.node_source)
        return int(self.travel_s.shape[0])

    @property
    def n_vehicles(self) -> int:
        return len(self.starts)

    def order_nodes(self) -> list[int]:
        depots = set(self.starts) | set(self.ends)
        return [i for i in range(self.n_nodes) if i not in depots]


@dataclass
class RoutingResult:
    """What :func:`solver.routing.solve` returns: the incumbent (:mod:`solver.incumbent`) and how it came.

    Attributes
    ----------
    status
        ``"optimal"`` (OR-Tools proved it), ``"feasible"`` or ``"no_solution"``.
    objective
        The plan's priced objective (:meth:`solver.timing.ExactTiming.price`).
    routes, start_s
        Per vehicle, the order nodes in visiting order and their exact service starts.
    dropped
        Orders left out of the plan.
    first_solution_s
        Seconds from the solve's clock to its first plan (of any phase).
    solutions
        Solutions OR-Tools' search reported.
    history
        ``(elapsed s, objective)`` of every improvement of the incumbent.
    initial
        Where OR-Tools' search started from: ``"ortools"`` (its own first solution),
        ``"greedy"``, ``"insertion"``, ``"given"`` ...
    phase
        What produced the plan returned (:attr:`solver.timing.TimedPlan.phase`).
    candidates
        Counts of the candidate plans (:class:`solver.incumbent.Counts`: offered, improving,
        repaired, rejected).
    unplanned
        Dropped orders that no phase tried to place before the limit ran out (the final fill
        did not reach them): not left out for want of room.
    on_time
        The plan's orders served by their deadline.
    errors
        What went wrong in helpers of the solve that did not stop it (a portfolio worker's
        exception, last line).
    """

    status: str
    objective: int | None
    routes: list[list[int]]
    dropped: list[int]
    build_s: float
    solve_s: float
    first_solution_s: float | None
    solutions: int
    history: list[tuple[float, int]] = field(default_factory=list)
    start_s: list[list[int]] = field(default_factory=list)
    initial: str = "ortools"
    phase: str = ""
    candidates: dict[str, int] = field(default_factory=dict)
    unplanned: list[int] = field(default_factory=list)
    on_time: int | None = None
    errors: list[str] = field(default_factory=list)
