"""The OR-Tools routing model over plain integer arrays.

This module imports nothing from ``dispatcher`` or ``api``; OR-Tools objects never
leave it. Inputs are int64 matrices and per-node vectors (:class:`RoutingInput`),
the answer is plain lists (:class:`RoutingResult`).

Time is integer seconds from the start of planning. Every constraint is one
named function, applied in :data:`CONSTRAINTS` order by :func:`build`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

NO_DEADLINE = -1


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

    @property
    def n_nodes(self) -> int:
        return int(self.travel_s.shape[0])

    @property
    def n_vehicles(self) -> int:
        return len(self.starts)

    def order_nodes(self) -> list[int]:
        depots = set(self.starts) | set(self.ends)
        return [i for i in range(self.n_nodes) if i not in depots]


@dataclass(frozen=True)
class SearchParams:
    """How long and how to search.

    ``solution_limit`` bounds the search by count (deterministic; used by tests);
    ``time_limit_s`` by wall time. Strategy names are OR-Tools enum names.
    """

    time_limit_s: float = 10.0
    solution_limit: int | None = None
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    log_search: bool = False

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s: expected a positive number, got {self.time_limit_s!r}")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ValueError(f"solution_limit: expected a positive integer, got {self.solution_limit!r}")
        if self.first_solution not in routing_enums_pb2.FirstSolutionStrategy.Value.keys():
            raise ValueError(f"first_solution: unknown strategy {self.first_solution!r}")
        if self.metaheuristic not in routing_enums_pb2.LocalSearchMetaheuristic.Value.keys():
            raise ValueError(f"metaheuristic: unknown metaheuristic {self.metaheuristic!r}")


@dataclass(frozen=True)
class Progress:
    elapsed_s: float
    objective: int
    solutions: int
    on_time: int | None  # orders served by their deadline in this solution, when counted


@dataclass
class RoutingResult:
    status: str  # "optimal" | "feasible" | "no_solution"
    objective: int | None
    routes: list[list[int]]  # per vehicle, the order nodes in visiting order
    dropped: list[int]
    build_s: float
    solve_s: float
    first_solution_s: float | None
    solutions: int
    history: list[tuple[float, int]] = field(default_factory=list)  # (elapsed s, objective)


@dataclass
class _Model:
    data: RoutingInput
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time_dim: pywrapcp.RoutingDimension | None = None


# ------------------------------------------------------------------ constraints


def _add_arc_costs(m: _Model) -> None:
    """Objective part 3: travel cost of every arc driven (no Python callback)."""
    cb = m.routing.RegisterTransitMatrix(m.data.arc_cost.astype(np.int64).tolist())
    m.routing.SetArcCostEvaluatorOfAllVehicles(cb)
    if m.data.vehicle_fixed_cost is not None:
        for v, cost in enumerate(m.data.vehicle_fixed_cost):
            m.routing.SetFixedCostOfVehicle(int(cost), v)


def _add_time_dimension(m: _Model) -> None:
    """Cumul = service start; transit = service at the origin + travel."""
    d = m.data
    transit = (d.travel_s + d.service_s[:, None]).astype(np.int64)
    cb = m.routing.RegisterTransitMatrix(transit.tolist())
    m.routing.AddDimension(cb, d.horizon_s, d.horizon_s, False, "time")
    m.time_dim = m.routing.GetDimensionOrDie("time")
    for v in range(d.n_vehicles):
        m.time_dim.CumulVar(m.routing.Start(v)).SetRange(int(d.start_min_s[v]), int(d.start_max_s[v]))
        m.time_dim.CumulVar(m.routing.End(v)).SetRange(0, d.horizon_s)


def _add_shift_breaks(m: _Model) -> None:
    """Off-shift rest: fixed intervals a vehicle spends neither travelling nor serving."""
    d = m.data
    if not any(d.breaks):
        return
    assert m.time_dim is not None
    solver = m.routing.solver()
    visit = [0] * m.routing.Size()
    for index in range(m.routing.Size()):
        visit[index] = int(d.service_s[m.manager.IndexToNode(index)])
    for v, rests in enumerate(d.breaks):
        if not rests:
            continue
        intervals = [
            solver.FixedDurationIntervalVar(int(s), int(s), int(dur), False, f"rest_{v}_{k}")
            for k, (s, dur) in enumerate(rests)
        ]
        m.time_dim.SetBreakIntervalsOfVehicle(intervals, v, visit)


def _add_site_windows(m: _Model) -> None:
    """Hard: service starts inside one of the node's windows."""
    d = m.data
    assert m.time_dim is not None
    for node in d.order_nodes():
        wins = sorted(d.windows[node])
        if not wins:
            continue
        var = m.time_dim.CumulVar(m.manager.NodeToIndex(node))
        var.SetRange(int(wins[0][0]), int(wins[-1][1]))
        for (_, b), (a2, _) in zip(wins, wins[1:], strict=False):
            if a2 > b + 1:
                var.RemoveInterval(int(b) + 1, int(a2) - 1)


def _add_vehicle_restrictions(m: _Model) -> None:
    """Hard: skills, exclusions, pins, overseas permission, as allowed vehicles."""
    d = m.data
    for node in d.order_nodes():
        allowed = d.allowed_vehicles[node]
        if allowed is None:
            continue
        # VehicleVar domain (-1 = unperformed) rather than SetAllowedVehiclesForIndex, whose
        # absl::Span argument the Python wrapper of OR-Tools 9.15 does not accept.
        m.routing.VehicleVar(m.manager.NodeToIndex(node)).SetValues([-1, *(int(v) for v in allowed)])


def _add_deadline_penalties(m: _Model) -> None:
    """Soft: cost per second the service starts after the order's deadline."""
    d = m.data
    assert m.time_dim is not None
    for node in d.order_nodes():
        if d.deadline_s[node] != NO_DEADLINE and d.late_cost_per_s[node] > 0:
            m.time_dim.SetCumulVarSoftUpperBound(
                m.manager.NodeToIndex(node), int(d.deadline_s[node]), int(d.late_cost_per_s[node])
            )
    if d.end_soft_max_s is not None and d.end_late_cost_per_s > 0:
        for v in range(d.n_vehicles):
            m.time_dim.SetCumulVarSoftUpperBound(m.routing.End(v), int(d.end_soft_max_s[v]), d.end_late_cost_per_s)


def _add_drop_penalties(m: _Model) -> None:
    """Every order is optional at a (priority-scaled) cost above any lateness."""
    d = m.data
    for node in d.order_nodes():
        m.routing.AddDisjunction([m.manager.NodeToIndex(node)], int(d.drop_penalty[node]))


def _add_vehicle_node_costs(m: _Model) -> None:
    """Soft: a per-(vehicle, node) cost, counted by a per-vehicle unary dimension."""
    d = m.data
    if d.vehicle_node_cost is None or not d.vehicle_node_cost.any():
        return
    cache: dict[bytes, int] = {}
    evaluators = []
    for v in range(d.n_vehicles):
        row = d.vehicle_node_cost[v].astype(np.int64)
        key = row.tobytes()
        if key not in cache:
            cache[key] = m.routing.RegisterUnaryTransitVector(row.tolist())
        evaluators.append(cache[key])
    cap = int(d.vehicle_node_cost.sum(axis=1).max()) + 1
    m.routing.AddDimensionWithVehicleTransits(evaluators, 0, cap, True, "vehicle_node_cost")
    m.routing.GetDimensionOrDie("vehicle_node_cost").SetSpanCostCoefficientForAllVehicles(1)


def _add_capacity_dimension(m: _Model) -> None:
    """Hard: the load carried never exceeds the vehicle's capacity."""
    d = m.data
    if d.demand is None or d.capacity is None:
        return
    cb = m.routing.RegisterUnaryTransitVector(d.demand.astype(np.int64).tolist())
    m.routing.AddDimensionWithVehicleCapacity(cb, 0, [int(c) for c in d.capacity], True, "capacity")


CONSTRAINTS: tuple[Callable[[_Model], None], ...] = (
    _add_arc_costs,
    _add_time_dimension,
    _add_shift_breaks,
    _add_site_windows,
    _add_vehicle_restrictions,
    _add_deadline_penalties,
    _add_drop_penalties,
    _add_vehicle_node_costs,
    _add_capacity_dimension,
)


def build(data: RoutingInput) -> _Model:
    manager = pywrapcp.RoutingIndexManager(
        data.n_nodes, data.n_vehicles, [int(s) for s in data.starts], [int(e) for e in data.ends]
    )
    model = _Model(data=data, manager=manager, routing=pywrapcp.RoutingModel(manager))
    for add in CONSTRAINTS:
        add(model)
    return model


def _search_parameters(params: SearchParams) -> pywrapcp.DefaultRoutingSearchParameters:
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.Value.Value(params.first_solution)
    sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.Value.Value(params.metaheuristic)
    sp.time_limit.FromMilliseconds(max(1, int(params.time_limit_s * 1000)))
    if params.solution_limit is not None:
        sp.solution_limit = params.solution_limit
    sp.log_search = params.log_search
    return sp


def _count_on_time(m: _Model) -> int | None:
    """Orders served by their deadline in the solution being reported.

    Cumul variables need not be bound at a solution, so the earliest feasible start
    (``Min``) is what counts; None if the routes themselves are not bound yet.
    """
    d, routing, dim = m.data, m.routing, m.time_dim
    assert dim is not None
    count = 0
    for v in range(d.n_vehicles):
        nxt = routing.NextVar(routing.Start(v))
        while True:
            if not nxt.Bound():
                return None
            index = nxt.Value()
            if routing.IsEnd(index):
                break
            dl = d.deadline_s[m.manager.IndexToNode(index)]
            if dl == NO_DEADLINE or dim.CumulVar(index).Min() <= dl:
                count += 1
            nxt = routing.NextVar(index)
    return count


def solve(
    data: RoutingInput,
    params: SearchParams | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 0.25,
) -> RoutingResult:
    """Build and solve; never raises on an infeasible problem (it reports it)."""
    params = params or SearchParams()
    t0 = time.perf_counter()
    m = build(data)
    build_s = time.perf_counter() - t0
    history: list[tuple[float, int]] = []
    state: dict[str, float | None] = {"last": -1e9, "first": None, "count": 0}
    t1 = time.perf_counter()

    def at_solution() -> None:
        now = time.perf_counter() - t1
        obj = int(m.routing.CostVar().Value())
        if state["first"] is None:
            state["first"] = now
        state["count"] = int(state.get("count") or 0) + 1  # type: ignore[call-overload]
        if history and obj >= history[-1][1]:
            return  # the metaheuristic also reports non-improving moves; keep the best-so-far curve
        history.append((now, obj))
        if on_progress is not None and now - float(state["last"]) >= progress_every_s:  # type: ignore[arg-type]
            state["last"] = now
            on_progress(Progress(now, obj, int(state["count"] or 0), _count_on_time(m)))

    m.routing.AddAtSolutionCallback(at_solution)
    solution = m.routing.SolveWithParameters(_search_parameters(params))
    solve_s = time.perf_counter() - t1
    if solution is None:
        return RoutingResult("no_solution", None, [[] for _ in data.starts], [], build_s, solve_s, None, 0, history)
    routes: list[list[int]] = []
    served: set[int] = set()
    for v in range(data.n_vehicles):
        seq = []
        index = solution.Value(m.routing.NextVar(m.routing.Start(v)))
        while not m.routing.IsEnd(index):
            node = m.manager.IndexToNode(index)
            seq.append(node)
            served.add(node)
            index = solution.Value(m.routing.NextVar(index))
        routes.append(seq)
    dropped = [n for n in data.order_nodes() if n not in served]
    status_name = routing_enums_pb2.RoutingSearchStatus.Value.Name(m.routing.status())
    status = "optimal" if status_name == "ROUTING_OPTIMAL" else "feasible"
    if on_progress is not None and history:
        on_progress(Progress(solve_s, history[-1][1], int(state["count"] or 0), None))
    return RoutingResult(
        status=status,
        objective=int(solution.ObjectiveValue()),
        routes=routes,
        dropped=dropped,
        build_s=build_s,
        solve_s=solve_s,
        first_solution_s=state["first"],  # type: ignore[arg-type]
        solutions=int(state["count"] or 0),
        history=history,
    )
