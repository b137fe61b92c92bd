"""The OR-Tools routing model over plain integer arrays.

This module imports nothing from ``dispatcher`` or ``api``; OR-Tools objects never
leave it. Inputs are int64 matrices and per-node vectors (:class:`RoutingInput`),
the answer is plain lists (:class:`RoutingResult`).

Time is integer seconds from the start of planning. Every constraint is one
named function, applied in :data:`CONSTRAINTS` order by :func:`build`.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
from google.protobuf import text_format
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, solver_parameters_pb2

from solver import fastrr
from solver.construct import (
    Bands,
    _pass_breaks,
    greedy_routes,
    insertion_routes,
    route_starts,
    visit_overtime_s,
)
from solver.timemodel import TimeModel, rewrite

NO_DEADLINE = -1
INITIAL_STRATEGIES = ("ortools", "greedy", "insertion", "auto")
FIRST_SOLUTIONS: tuple[str, ...] = tuple(routing_enums_pb2.FirstSolutionStrategy.Value.keys())
METAHEURISTICS: tuple[str, ...] = tuple(routing_enums_pb2.LocalSearchMetaheuristic.Value.keys())


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
        (:func:`_with_late_twins`): the order itself gets a hard deadline, its twin the soft
        one and this cost, and at most one of the two is served.
    overtime_bands, overtime_cost_per_hour
        Optional per vehicle, its overtime bands (``[a, b)`` on the time axis), and the cost
        of an hour of travel or service in them. OR-Tools' search cannot price that (a cumul
        takes only a non-decreasing cost; decision #18), so it is priced where this module
        times routes itself: the insertion construction and its ruin and recreate
        (:mod:`solver.construct`), and :attr:`RoutingResult.objective`, on which the
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
    ``time_limit_s`` by wall time. Strategy names are OR-Tools enum names. Every field
    after ``log_search`` is optional and defaults to OR-Tools' own behaviour, except
    ``initial`` (see below).

    Attributes
    ----------
    time_limit_s
        Wall-time bound of the search (the model build is not included).
    solution_limit
        Stop after this many solutions (deterministic; the first solution counts).
    first_solution, metaheuristic
        OR-Tools ``FirstSolutionStrategy`` / ``LocalSearchMetaheuristic`` names.
    log_search
        OR-Tools search log on stderr.
    initial
        Where the first solution comes from: ``"ortools"`` (the ``first_solution``
        heuristic), ``"greedy"`` (:func:`solver.construct.greedy_routes`, then local search
        from it; falls back to ``"ortools"`` if OR-Tools rejects the routes), ``"insertion"``
        (:func:`solver.construct.insertion_routes`, the same way) or ``"auto"``
        (by problem shape, see :func:`wants_greedy`).
    gls_lambda
        ``guided_local_search_lambda_coefficient`` (OR-Tools default 0.1).
    ls_neighbors_ratio, ls_min_neighbors
        Restrict local-search operators to the nearest neighbours (default: all).
    iterated_local_search
        ``use_iterated_local_search`` (ruin-and-recreate perturbations), OR-Tools 9.12+.
    cumul_scheduling
        True lets OR-Tools schedule cumuls with its LP/MIP optimizers (its default). Off by
        default here (``disable_scheduling_beware_this_may_degrade_performance``): the
        model's only cumul costs are soft upper bounds, which earliest times already
        minimise, and with breaks the MIP scheduler rejected feasible starting routes
        (2,000 orders / 200 engineers: no plan at all; docs/performance.md).
    lns_time_limit_s
        Time limit of each LNS sub-search (OR-Tools default 0.1 s).
    extra
        RoutingSearchParameters text proto merged last (experiments; see the bench CLI).
    holes_as_breaks
        Model window holes before common boundaries as one-second breaks
        (solver/timemodel.py) instead of holes in the cumul domain.
    workers
        Number of searches run in parallel, one process each (:mod:`solver.portfolio`);
        1 (the default) searches in the calling process only.
    parts
        Decomposition (:mod:`solver.decompose`): after a first phase on the whole model,
        rounds that improve groups of nearby routes in parallel processes, then the whole
        model again. 1 (the default) never splits; 2 or more: that many parts; 0: automatic
        (from 1,000 orders, about 100 orders per part; docs/performance.md, "Route-based
        decomposition").
    on_time_phase
        Share of the time limit spent first on a model with every deadline hard
        (:func:`on_time_only`: the most orders on time, as VROOM plans), whose routes then
        start the search on the whole objective. 0 (the default): one phase.
    recreate_share
        Share of the time limit the insertion construction spends on ruin and recreate
        (:meth:`solver.construct._Insertion.improve`) before the local search starts from
        its routes; not used under a solution limit (it is bounded by time only). 0.75 by
        default: at 1,000 orders / 100 engineers, 60 s, shares 0.25 / 0.5 / 0.8 gave
        objectives 2.52e10 / 2.39e10 / 2.35e10 (docs/performance.md, "Ruin and recreate").
    recreate_given
        Also run the ruin and recreate on given starting routes (``initial_routes`` of
        :func:`solve`) before the local search: the parts of the decomposition do.
    polish_share
        On a problem with priced overtime bands, the share of the limit (3 %) for a ruin and
        recreate around the visits with overtime of the search's plan (``_polish``) where none
        ran before the search, which cannot price overtime. 10 % cost the demo's 10-s plan
        on-time orders (the search's last second) and found nothing better there; from any
        order, on every problem, it lost on 12 Solomon instances (2.68 % against 1.85 %);
        docs/performance.md, "Overtime priced". Under a solution limit it runs a fixed number
        of moves. 0: none.
    seed
        Seed of the ruin and recreate's random choices (the same seed, problem and move
        count give the same routes); the portfolio gives its second worker the next one.
    """

    time_limit_s: float = 10.0
    solution_limit: int | None = None
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    log_search: bool = False
    initial: str = "auto"
    gls_lambda: float | None = None
    ls_neighbors_ratio: float | None = None
    ls_min_neighbors: int | None = None
    iterated_local_search: bool = False
    cumul_scheduling: bool = False
    lns_time_limit_s: float | None = None
    extra: str = ""
    holes_as_breaks: bool = True
    workers: int = 1
    parts: int = 1
    on_time_phase: float = 0.0
    recreate_share: float = 0.75
    recreate_given: bool = False
    polish_share: float = 0.03
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ValueError(f"time_limit_s: expected a positive number, got {self.time_limit_s!r}")
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ValueError(
                f"solution_limit: expected a positive integer, got {self.solution_limit!r}"
            )
        if self.first_solution not in FIRST_SOLUTIONS:
            raise ValueError(f"first_solution: unknown strategy {self.first_solution!r}")
        if self.metaheuristic not in METAHEURISTICS:
            raise ValueError(f"metaheuristic: unknown metaheuristic {self.metaheuristic!r}")
        if self.initial not in INITIAL_STRATEGIES:
            raise ValueError(f"initial: expected one of {INITIAL_STRATEGIES}, got {self.initial!r}")
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise ValueError(f"workers: expected a positive integer, got {self.workers!r}")
        if not 0 <= self.on_time_phase < 1:
            raise ValueError(
                f"on_time_phase: expected a share in [0, 1), got {self.on_time_phase!r}"
            )
        if not 0 <= self.polish_share < 1:
            raise ValueError(f"polish_share: expected a share in [0, 1), got {self.polish_share!r}")
        if not 0 <= self.recreate_share < 1:
            raise ValueError(
                f"recreate_share: expected a share in [0, 1), got {self.recreate_share!r}"
            )
        if not (isinstance(self.parts, int) and self.parts >= 0):
            raise ValueError(
                f"parts: expected 0 (automatic) or a positive integer, got {self.parts!r}"
            )
        if self.gls_lambda is not None and not self.gls_lambda > 0:
            raise ValueError(f"gls_lambda: expected a positive number, got {self.gls_lambda!r}")
        if self.ls_neighbors_ratio is not None and not 0 < self.ls_neighbors_ratio <= 1:
            raise ValueError(
                f"ls_neighbors_ratio: expected a number in (0, 1], got {self.ls_neighbors_ratio!r}"
            )
        if self.ls_min_neighbors is not None and self.ls_min_neighbors < 1:
            raise ValueError(
                f"ls_min_neighbors: expected a positive integer, got {self.ls_min_neighbors!r}"
            )
        if self.lns_time_limit_s is not None and not self.lns_time_limit_s > 0:
            raise ValueError(
                f"lns_time_limit_s: expected a positive number, got {self.lns_time_limit_s!r}"
            )
        if self.extra:
            try:
                text_format.Merge(self.extra, pywrapcp.DefaultRoutingSearchParameters())
            except text_format.ParseError as exc:
                raise ValueError(
                    f"extra: not a RoutingSearchParameters text proto: {exc}"
                ) from None


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
    start_s: list[list[int]] = field(default_factory=list)  # per route, earliest service starts
    initial: str = "ortools"  # where the first solution came from: "ortools" | "greedy" | ...


@dataclass
class _Model:
    data: RoutingInput
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time: TimeModel
    time_dim: pywrapcp.RoutingDimension | None = None
    keep: list[object] = field(default_factory=list)  # Python callbacks OR-Tools refers to
    twins: _Twins | None = None  # late twins of the orders with a breach cost (``data`` has them)

    def release(self) -> None:
        """Drop the OR-Tools objects (the routing model first, then its manager).

        Why: the model holds Python callbacks (OR-Tools keeps them alive from C++) and the
        at-solution callback refers back to this object, a cycle the garbage collector cannot
        see through, so without this every solve kept its model and matrices for good (4.8 GB
        after a 30-replication simulation run in one process).
        """
        self.time_dim = None
        self.routing = None  # type: ignore[assignment]
        self.manager = None  # type: ignore[assignment]
        self.keep.clear()


@dataclass(frozen=True)
class _Twins:
    """Late twins appended to a :class:`RoutingInput` (see :func:`_with_late_twins`).

    Attributes
    ----------
    late
        On-time node -> its late twin (nodes ``n ..`` of the expanded input).
    source
        ``[n + twins]`` original node of every expanded node.
    deadline_s
        ``[n + twins]`` the original soft deadlines (``NO_DEADLINE`` for none): what the
        construction and the warm start compare service starts with.
    breach_cost
        ``[n + twins]`` the original breach costs.
    """

    late: dict[int, int]
    source: np.ndarray
    deadline_s: np.ndarray
    breach_cost: np.ndarray

    def place(
        self, routes: Sequence[Sequence[int]], starts: Sequence[Sequence[int]]
    ) -> list[list[int]]:
        """Routes of original nodes as expanded nodes: a late visit goes to its twin."""
        out = []
        for route, times in zip(routes, starts, strict=True):
            out.append(
                [
                    self.late[j] if j in self.late and s > self.deadline_s[j] else int(j)
                    for j, s in zip(route, times, strict=True)
                ]
            )
        return out


def _starts_by(
    data: RoutingInput, node: int, deadline: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The node's allowed start intervals, and the part of them by ``deadline``."""
    wins = [(int(a), int(b)) for a, b in data.windows[node]] or [(0, data.horizon_s)]
    return wins, [(a, min(b, deadline)) for a, b in wins if a <= deadline]


def _with_late_twins(data: RoutingInput) -> tuple[RoutingInput, _Twins | None]:
    """``data`` with a late twin for each order that has a deadline and a breach cost.

    Why: OR-Tools' cumul soft bounds are linear, so a fixed cost per breach cannot sit on the
    order's time variable. Instead the order node keeps only its on-time service starts (a
    hard deadline, no lateness cost) and a copy — the twin, appended as node ``n + k`` —
    keeps every start, the per-second lateness cost and, on every arc into it, the breach
    cost. Both are in one disjunction (at most one served, the drop penalty if neither), so
    a late visit costs ``breach + late seconds x rate`` and an on-time one nothing extra. An
    order that cannot be on time at all (no window starts by its deadline) gets no twin; the
    breach cost goes on the arcs into the order itself; one that cannot be late (every allowed
    start is by its deadline: 12 % of the orders at 1,000 x 100) gets neither.
    """
    cost = data.breach_cost
    if cost is None:
        return data, None
    n = data.n_nodes
    late_on: list[int] = []  # orders that get a twin
    always_late: list[int] = []
    on_time_windows: dict[int, list[tuple[int, int]]] = {}
    for node in data.order_nodes():
        dl = int(data.deadline_s[node])
        if dl == NO_DEADLINE or cost[node] <= 0:
            continue
        wins, cut = _starts_by(data, node, dl)
        if cut == wins:
            continue  # every allowed start is by the deadline: it cannot be late, no twin
        if cut:
            late_on.append(node)
            on_time_windows[node] = cut
        else:
            always_late.append(node)
    if not late_on and not always_late:
        return data, None
    source = np.concatenate([np.arange(n), np.asarray(late_on, dtype=np.int64)]).astype(np.int64)
    ix = np.ix_(source, source)
    arc = data.arc_cost.astype(np.int64)[ix]
    twin_nodes = np.arange(n, n + len(late_on))
    arc[:, twin_nodes] += cost[source[twin_nodes]].astype(np.int64)
    if always_late:
        arc[:, always_late] += cost[always_late].astype(np.int64)
    deadline = data.deadline_s.astype(np.int64)[source]
    late_cost = data.late_cost_per_s.astype(np.int64)[source]
    windows = [list(data.windows[int(i)]) for i in source]
    for node, cut in on_time_windows.items():
        windows[node] = cut
        deadline[node] = NO_DEADLINE  # hard now: no soft bound on the on-time node
        late_cost[node] = 0
    expanded = RoutingInput(
        travel_s=data.travel_s[ix],
        arc_cost=arc,
        service_s=data.service_s[source],
        starts=data.starts,
        ends=data.ends,
        start_min_s=data.start_min_s,
        start_max_s=data.start_max_s,
        horizon_s=data.horizon_s,
        windows=windows,
        allowed_vehicles=[data.allowed_vehicles[int(i)] for i in source],
        drop_penalty=data.drop_penalty[source],
        deadline_s=deadline,
        late_cost_per_s=late_cost,
        breaks=data.breaks,
        end_soft_max_s=data.end_soft_max_s,
        end_late_cost_per_s=data.end_late_cost_per_s,
        vehicle_node_cost=None
        if data.vehicle_node_cost is None
        else data.vehicle_node_cost[:, source],
        demand=None if data.demand is None else data.demand[source],
        capacity=data.capacity,
        vehicle_fixed_cost=data.vehicle_fixed_cost,
        breach_cost=None,
        overtime_bands=data.overtime_bands,
        overtime_cost_per_hour=data.overtime_cost_per_hour,
    )
    twins = _Twins(
        late={int(node): n + k for k, node in enumerate(late_on)},
        source=source,
        deadline_s=data.deadline_s.astype(np.int64)[source],
        breach_cost=cost.astype(np.int64)[source],
    )
    return expanded, twins


# ------------------------------------------------------------------ constraints

# How matrices reach OR-Tools: "matrix" = RegisterTransitMatrix (no Python in the search
# loop, but the OR-Tools 9.15 wheel copies the captured matrix on every evaluation — n row
# allocations per call, 45 % of the profile at 1,000 orders) or "callback" = a Python callable
# over a flat int64 array (one Python call per evaluation, no copy; 7x more local-search moves
# per second at 1,000 orders) or "auto" = the matrix below CALLBACK_FROM_NODES nodes (there
# the copy is cheap and C++ beats a Python call), the callback from there on.
# See docs/performance.md. Module-level so benchmarks can compare.
MATRIX_REGISTRATION = "auto"
CALLBACK_FROM_NODES = 200


def _register_matrix(
    m: _Model, matrix: np.ndarray, column_costs: Sequence[np.ndarray | None] = (None,)
) -> list[int]:
    """Register an ``[n, n]`` node matrix as transit evaluators; returns their indices.

    One evaluator per entry of ``column_costs``: the matrix plus that ``[n]`` cost added to
    every arc *into* a node (a per-node visit cost), or the plain matrix for None. In callback
    mode the evaluators share one flat copy of the matrix.
    """
    mode = MATRIX_REGISTRATION
    if mode == "auto":
        mode = "matrix" if m.data.n_nodes < CALLBACK_FROM_NODES else "callback"
    base = matrix.astype(np.int64)
    if mode == "matrix":
        return [
            int(
                m.routing.RegisterTransitMatrix(
                    (base if col is None else base + col.astype(np.int64)[None, :]).tolist()
                )
            )
            for col in column_costs
        ]
    size = m.routing.Size() + m.routing.vehicles()
    nodes = np.fromiter((m.manager.IndexToNode(i) for i in range(size)), np.int64, size)
    flat = array("q", base[np.ix_(nodes, nodes)].ravel().tobytes())
    out = []

    def plain(i: int, j: int, flat: array[int] = flat, size: int = size) -> int:
        return flat[i * size + j]

    for col in column_costs:
        transit: Callable[[int, int], int] = plain
        if col is not None:
            extra = array("q", col.astype(np.int64)[nodes].tobytes())

            def transit(
                i: int, j: int, flat: array[int] = flat, size: int = size, extra: array[int] = extra
            ) -> int:
                return flat[i * size + j] + extra[j]

        m.keep.append(transit)  # OR-Tools holds a borrowed reference
        out.append(int(m.routing.RegisterTransitCallback(transit)))
    return out


def _add_arc_costs(m: _Model) -> None:
    """Objective part 3: travel cost of every arc driven, plus part 4: the per-(vehicle, node)
    cost (e.g. not a preferred engineer) on the arcs into the node, one evaluator per
    distinct cost row.

    Why not a dimension of per-vehicle unary transits for part 4: OR-Tools 9.15 finds no
    solution at all — not even all orders unperformed — when such a dimension meets a
    disjunction of two nodes (an order and its late twin); tests/solver/test_routing.py.
    """
    d = m.data
    if d.vehicle_node_cost is None or not d.vehicle_node_cost.any():
        (cb,) = _register_matrix(m, d.arc_cost)
        m.routing.SetArcCostEvaluatorOfAllVehicles(cb)
    else:
        rows: dict[bytes, int] = {}  # distinct cost row -> its evaluator's position
        distinct: list[np.ndarray | None] = []
        of_vehicle = []
        for v in range(d.n_vehicles):
            row = d.vehicle_node_cost[v].astype(np.int64)
            key = row.tobytes()
            if key not in rows:
                rows[key] = len(distinct)
                distinct.append(row if row.any() else None)
            of_vehicle.append(rows[key])
        evaluators = _register_matrix(m, d.arc_cost, distinct)
        for v, k in enumerate(of_vehicle):
            m.routing.SetArcCostEvaluatorOfVehicle(evaluators[k], v)
    if d.vehicle_fixed_cost is not None:
        for v, cost in enumerate(d.vehicle_fixed_cost):
            m.routing.SetFixedCostOfVehicle(int(cost), v)


def _add_time_dimension(m: _Model) -> None:
    """Cumul = service start; transit = service at the origin + travel."""
    d = m.data
    transit = (d.travel_s + d.service_s[:, None]).astype(np.int64)
    (cb,) = _register_matrix(m, transit)
    m.routing.AddDimension(cb, d.horizon_s, d.horizon_s, False, "time")
    m.time_dim = m.routing.GetDimensionOrDie("time")
    for v in range(d.n_vehicles):
        m.time_dim.CumulVar(m.routing.Start(v)).SetRange(
            int(d.start_min_s[v]), int(d.start_max_s[v])
        )
        m.time_dim.CumulVar(m.routing.End(v)).SetRange(0, d.horizon_s)


def _add_shift_breaks(m: _Model) -> None:
    """Off-shift rest, and the boundaries no service may straddle (solver/timemodel.py):
    fixed intervals a vehicle spends neither travelling nor serving."""
    breaks = m.time.breaks
    if not any(breaks):
        return
    assert m.time_dim is not None
    solver = m.routing.solver()
    nodes = [m.manager.IndexToNode(index) for index in range(m.routing.Size())]
    lengths = m.time.visit_v if m.time.visit_v is not None else m.time.visit_s[None, :]
    for v, rests in enumerate(breaks):
        if not rests:
            continue
        intervals = [
            solver.FixedDurationIntervalVar(int(s), int(s), int(dur), False, f"rest_{v}_{k}")
            for k, (s, dur) in enumerate(rests)
        ]
        row = lengths[min(v, lengths.shape[0] - 1)]  # this vehicle's visit lengths
        m.time_dim.SetBreakIntervalsOfVehicle(intervals, v, [int(row[n]) for n in nodes])


def _add_site_windows(m: _Model) -> None:
    """Hard: service starts inside one of the node's windows.

    Holes before a boundary became breaks (solver/timemodel.py); the rest stay in the domain.
    """
    d = m.data
    assert m.time_dim is not None
    for node in d.order_nodes():
        hull = m.time.hull[node]
        if hull is None:
            continue
        var = m.time_dim.CumulVar(m.manager.NodeToIndex(node))
        var.SetRange(int(hull[0]), int(hull[1]))
        for a, b in m.time.holes[node]:
            var.RemoveInterval(int(a), int(b))


def _add_vehicle_restrictions(m: _Model) -> None:
    """Hard: skills, exclusions, pins, overseas permission, as allowed vehicles."""
    d = m.data
    for node in d.order_nodes():
        allowed = d.allowed_vehicles[node]
        if allowed is None:
            continue
        # VehicleVar domain (-1 = unperformed) rather than SetAllowedVehiclesForIndex, whose
        # absl::Span argument the Python wrapper of OR-Tools 9.15 does not accept.
        m.routing.VehicleVar(m.manager.NodeToIndex(node)).SetValues(
            [-1, *(int(v) for v in allowed)]
        )


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
            m.time_dim.SetCumulVarSoftUpperBound(
                m.routing.End(v), int(d.end_soft_max_s[v]), d.end_late_cost_per_s
            )


def _add_drop_penalties(m: _Model) -> None:
    """Every order is optional at a (priority-scaled) cost above any lateness; an order and
    its late twin (:func:`_with_late_twins`) are one choice: at most one of them is served."""
    d = m.data
    late = m.twins.late if m.twins is not None else {}
    twins = set(late.values())
    for node in d.order_nodes():
        if node in twins:
            continue
        nodes = [node, late[node]] if node in late else [node]
        m.routing.AddDisjunction(
            [m.manager.NodeToIndex(x) for x in nodes], int(d.drop_penalty[node]), 1
        )


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
    _add_capacity_dimension,
)


def _model_parameters() -> pywrapcp.DefaultRoutingModelParameters:
    """OR-Tools' model parameters with an uncompressed search trail.

    Why: the default compresses every block of the CP trail with zlib; at 1,000 orders / 100
    engineers a profile of the local search showed 25 % of the time in zlib (the restore of
    each accepted move saves and backtracks many variables). Without it: 113 instead of 75
    solutions in 30 s, a lower objective, and more memory only for the trail
    (docs/performance.md, "Search trail without zlib").
    """
    p = pywrapcp.DefaultRoutingModelParameters()
    p.solver_parameters.compress_trail = (
        solver_parameters_pb2.ConstraintSolverParameters.TrailCompression.Value(TRAIL_COMPRESSION)
    )
    return p


# Trail compression of the CP solver: "NO_COMPRESSION" or OR-Tools' default
# "COMPRESS_WITH_ZLIB". Module-level so benchmarks can compare.
TRAIL_COMPRESSION = "NO_COMPRESSION"


def build(data: RoutingInput, holes_as_breaks: bool = True) -> _Model:
    """The OR-Tools model of ``data`` (every function of :data:`CONSTRAINTS` applied).

    Orders with a ``breach_cost`` get late twins first (:func:`_with_late_twins`); the
    model's ``data`` is then the expanded input and ``twins`` maps it back.

    Parameters
    ----------
    data
        The problem arrays.
    holes_as_breaks
        Rewrite window holes before common boundaries as breaks (solver/timemodel.py).
    """
    data, twins = _with_late_twins(data)
    manager = pywrapcp.RoutingIndexManager(
        data.n_nodes, data.n_vehicles, [int(s) for s in data.starts], [int(e) for e in data.ends]
    )
    time_model = rewrite(
        data.n_nodes,
        data.order_nodes(),
        data.windows,
        data.service_s,
        data.breaks,
        data.n_vehicles,
        data.start_min_s,
        data.horizon_s,
        enabled=holes_as_breaks,
    )
    model = _Model(
        data=data,
        manager=manager,
        routing=pywrapcp.RoutingModel(manager, _model_parameters()),
        time=time_model,
        twins=twins,
    )
    for add in CONSTRAINTS:
        add(model)
    return model


def _search_parameters(
    params: SearchParams, time_limit_s: float | None = None
) -> pywrapcp.DefaultRoutingSearchParameters:
    sp = pywrapcp.DefaultRoutingSearchParameters()
    sp.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.Value.Value(
        params.first_solution
    )
    sp.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.Value.Value(
        params.metaheuristic
    )
    limit = params.time_limit_s if time_limit_s is None else time_limit_s
    sp.time_limit.FromMilliseconds(max(1, int(limit * 1000)))
    if params.solution_limit is not None:
        sp.solution_limit = params.solution_limit
    sp.log_search = params.log_search
    if params.gls_lambda is not None:
        sp.guided_local_search_lambda_coefficient = params.gls_lambda
    if params.ls_neighbors_ratio is not None:
        sp.ls_operator_neighbors_ratio = params.ls_neighbors_ratio
    if params.ls_min_neighbors is not None:
        sp.ls_operator_min_neighbors = params.ls_min_neighbors
    if params.iterated_local_search:
        sp.use_iterated_local_search = True
        rr = sp.iterated_local_search_parameters.ruin_recreate_parameters
        if not rr.ruin_strategies:
            # OR-Tools 9.15 ships no default ruin strategy and rejects the parameters
            # ("ruin_strategies is empty"): the search then returns no solution at all.
            sisr = rr.ruin_strategies.add().sisr
            sisr.max_removed_sequence_size = ILS_SISR[0]
            sisr.avg_num_removed_visits = ILS_SISR[1]
            sisr.bypass_factor = ILS_SISR[2]
    if not params.cumul_scheduling:
        sp.disable_scheduling_beware_this_may_degrade_performance = True
    if params.lns_time_limit_s is not None:
        sp.lns_time_limit.FromMilliseconds(max(1, int(params.lns_time_limit_s * 1000)))
    if params.extra:
        text_format.Merge(params.extra, sp)
    return sp


# SISR ruin of iterated local search: (max removed sequence, average removed visits, bypass
# factor), the SISR paper's values (Christiaens & Vanden Berghe: L_max 10, c 10, blink 0.01);
# not tuned (docs/performance.md: ILS gave nothing on the demo).
ILS_SISR = (10, 10, 0.01)

GREEDY_FROM_ORDER_VEHICLE_PAIRS = 20_000
AUTO_CONSTRUCTION = "insertion"  # what initial="auto" builds: "greedy" | "insertion"
INSERTION_FROM_LIMIT_S = 5.0  # below this time limit "auto" builds with the greedy
CONSTRUCT_FROM_ORDERS = 1000  # from this many orders "auto" always constructs (wants_greedy)


PLAIN_CONSTRUCT_FROM_ORDERS = 50  # from this many orders "auto" constructs a plain problem


def is_plain(data: RoutingInput) -> bool:
    """A plain time-window problem: no rests, deadlines, vehicle restrictions, vehicle-node,
    fixed, overtime or soft-end costs (Solomon, Gehring–Homberger). Its ruin and recreate
    runs compiled (:mod:`solver.fastrr`, about 100 times the moves of the Python one)."""
    return (
        fastrr.AVAILABLE
        and not any(data.breaks)
        and all(a is None for a in data.allowed_vehicles)
        and bool((np.asarray(data.deadline_s) == NO_DEADLINE).all())
        and data.vehicle_node_cost is None
        and not any(data.overtime_bands)
        and data.end_soft_max_s is None
        and not any(data.vehicle_fixed_cost or ())
    )


def _plain_insertion(data: RoutingInput, params: SearchParams) -> bool:
    """Whether "auto" builds a plain problem with the insertion construction (from
    :data:`PLAIN_CONSTRUCT_FROM_ORDERS` orders and a 1-s limit: under it OR-Tools' own first
    solution, which serves every order of a Solomon instance at once, where the append-only
    greedy may not)."""
    return (
        params.time_limit_s >= 1.0
        and len(data.order_nodes()) >= PLAIN_CONSTRUCT_FROM_ORDERS
        and is_plain(data)
    )


def wants_greedy(data: RoutingInput, params: SearchParams) -> bool:
    """Whether :func:`solve` starts from a construction of :mod:`solver.construct`
    (``insertion_routes`` for ``"auto"`` from :data:`INSERTION_FROM_LIMIT_S`, else
    ``greedy_routes``).

    ``"auto"`` picks it for large problems (orders × vehicles at least
    :data:`GREEDY_FROM_ORDER_VEHICLE_PAIRS`) in which an order has several service windows:
    there OR-Tools' insertion heuristics find no first solution within 10 s (1,000 orders /
    100 vehicles), while on smaller ones they give a better start than the greedy
    (docs/performance.md). It also picks it from :data:`CONSTRUCT_FROM_ORDERS` orders,
    whatever their windows: there the insertion construction's ruin and recreate beats
    OR-Tools' own search by far (Gehring–Homberger 1000 at 60 s, R1_10_1 / RC1_10_1: 4.5–5.5 %
    above the best-known against 17–22 % for parallel cheapest insertion + GLS;
    docs/performance.md, "Session 8"); and from :data:`PLAIN_CONSTRUCT_FROM_ORDERS` orders on
    a plain problem (:func:`is_plain`), whose ruin and recreate runs compiled: Solomon
    R101 / RC101 at the best-known within 8 s (docs/performance.md, "Session 10").
    """
    if params.initial in ("greedy", "insertion"):
        return True
    if params.initial == "ortools":
        return False
    orders = data.order_nodes()
    if len(orders) >= CONSTRUCT_FROM_ORDERS:
        return True
    if _plain_insertion(data, params):
        return True
    if len(orders) * data.n_vehicles < GREEDY_FROM_ORDER_VEHICLE_PAIRS:
        return False
    return any(len(data.windows[n]) > 1 for n in orders)


def construction(data: RoutingInput, params: SearchParams) -> str | None:
    """What :func:`solve` builds its first solution with: ``"greedy"`` or ``"insertion"``
    (:func:`wants_greedy`), None for OR-Tools' own first-solution heuristic."""
    if not wants_greedy(data, params):
        return None
    if params.initial != "auto":
        return params.initial
    if _plain_insertion(data, params):
        return "insertion"
    # The insertion takes ~0.7 s at 1,000 x 100 and ~1.9 s at 2,000 x 200: under a short
    # limit it would eat the search, so the append-only greedy builds instead.
    return "greedy" if params.time_limit_s < INSERTION_FROM_LIMIT_S else AUTO_CONSTRUCTION


QUICK_START_FROM_ORDERS = 100
FALLBACK_S = 1.0  # most seconds the greedy fallback of solve() may take past a tiny limit


def wants_quick_start(data: RoutingInput, params: SearchParams) -> bool:
    """Whether :func:`solve` first restores the greedy construction as a plan of its own
    (``initial="auto"``, no construction chosen by :func:`wants_greedy`, no solution limit, at
    least :data:`QUICK_START_FROM_ORDERS` orders) before OR-Tools' first-solution heuristic.

    Why: with the overtime bands of a few engineers on the work clock, every other engineer
    has a break interval per day, and parallel cheapest insertion needed 1.5-2.1 s for a first
    plan of 200 orders / 30 engineers (0.07 s without); the local search from its plan is
    still far better than from the greedy's (objective 186 M vs 388 M at 10 s), so the greedy
    only stands in until then and wins if the search finds nothing better in time.
    """
    return (
        params.initial == "auto"
        and params.solution_limit is None
        and len(data.order_nodes()) >= QUICK_START_FROM_ORDERS
        and not wants_greedy(data, params)
    )


def _greedy(
    m: _Model,
    how: str = "greedy",
    improve_s: float = 0.0,
    on_built: Callable[[list[list[int]]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    initial: Sequence[Sequence[int]] | None = None,
    improve_moves: int | None = None,
    around_overtime: bool = False,
    seed: int = 0,
    on_improved: Callable[[int, int], None] | None = None,
) -> list[list[int]]:
    """:func:`solver.construct.greedy_routes` (or ``insertion_routes`` when ``how`` is
    ``"insertion"``, then ``improve_s`` seconds of ruin and recreate, ``on_built`` called
    with the constructed routes in between) on the model as built (windows after the break
    rewrite, boundary breaks, visit lengths). ``initial`` (order nodes, no twins): improve
    these routes instead of constructing."""
    d, tm = m.data, m.time
    construct: Callable[..., list[list[int]]] = greedy_routes
    if how == "insertion":

        def built(routes: list[list[int]]) -> None:
            if on_built is not None:
                on_built(routes if m.twins is None else _to_twins(m, routes))

        construct = partial(
            insertion_routes,
            improve_s=improve_s,
            on_built=built,
            should_stop=should_stop,
            initial_routes=initial,
            improve_moves=improve_moves,
            around_overtime=around_overtime,
            seed=seed,
            on_improved=on_improved,
            overtime_bands=d.overtime_bands,
            overtime_per_hour=d.overtime_cost_per_hour,
        )
    windows, visit = _all_starts(m)
    allowed = d.allowed_vehicles
    deadline, late_cost, breach, drop = d.deadline_s, d.late_cost_per_s, None, d.drop_penalty
    if m.twins is not None:
        # Construct over the orders as they are (every start allowed, soft deadline), with
        # the twins themselves switched off; then late visits move to their twins. A twin's
        # drop penalty is its order's (one disjunction): not counted again.
        allowed = list(allowed)
        deadline, late_cost, drop = m.twins.deadline_s, late_cost.copy(), drop.copy()
        breach = np.zeros(d.n_nodes, dtype=np.int64)
        for on, twin in m.twins.late.items():
            late_cost[on] = late_cost[twin]
            breach[on] = m.twins.breach_cost[twin]
            allowed[twin] = []
            drop[twin] = 0
    routes = construct(
        d.travel_s,
        d.arc_cost,
        d.service_s,
        d.starts,
        d.ends,
        d.start_min_s,
        d.horizon_s,
        windows,
        allowed,
        drop,
        deadline,
        late_cost,
        d.breaks or [[] for _ in d.starts],
        d.vehicle_node_cost,
        d.demand,
        d.capacity,
        visit_s=visit,
        boundaries=tm.boundaries,
        breach_cost=breach,
    )
    return routes if m.twins is None else _to_twins(m, routes)


def _all_starts(m: _Model) -> tuple[list[list[tuple[int, int]]], np.ndarray]:
    """Allowed starts and visit lengths (per vehicle, ``[vehicles, nodes]``) of the model
    (after the break rewrite) with every twinned order given its late twin's, i.e. all of
    its starts, not only the on-time ones."""
    windows = [list(w) for w in m.time.windows]
    if m.time.visit_v is not None:
        visit = m.time.visit_v.copy()
    else:
        visit = np.tile(m.time.visit_s, (m.data.n_vehicles, 1))
    if m.twins is not None:
        for on, twin in m.twins.late.items():
            windows[on] = windows[twin]
            visit[:, on] = visit[:, twin]
    return windows, visit


def _starts_on(
    m: _Model,
    v: int,
    route: Sequence[int],
    windows: Sequence[Sequence[tuple[int, int]]],
    rests: Sequence[tuple[int, int]],
    visit: np.ndarray,
    boundaries: Sequence[int] = (),
) -> list[int]:
    """:func:`solver.construct.route_starts` of ``route`` on vehicle ``v`` of the model."""
    d = m.data
    return route_starts(
        route,
        v,
        d.travel_s,
        d.service_s,
        d.starts,
        d.start_min_s,
        d.horizon_s,
        windows,
        rests,
        visit,
        boundaries,
    )


def _to_twins(
    m: _Model, routes: Sequence[Sequence[int]], optimistic: bool = False
) -> list[list[int]]:
    """Routes of original order nodes as nodes of the twinned model: each visit that starts
    after its deadline (timed as the model does, :func:`route_starts`) becomes its late twin.

    The timing holds each visit to its longest visit length (the twin's), so that routes
    built by the construction stay feasible. OR-Tools checks a visit length only against a
    break placed right after that visit, so routes of an OR-Tools solution can be timed
    earlier than that: ``optimistic`` times with the bare service durations instead (a lower
    bound of the model's starts), which keeps such a visit on its on-time node — the only one
    whose shorter visit length lets the break fit (:func:`solve` tries both).
    """
    assert m.twins is not None
    d, tm = m.data, m.time
    windows, visit = _all_starts(m)
    if optimistic:
        visit = np.tile(d.service_s, (d.n_vehicles, 1))
    starts = [
        _starts_on(
            m,
            v,
            [int(j) for j in route],
            windows,
            d.breaks[v] if v < len(d.breaks) else [],
            visit[v],
            tm.boundaries,
        )
        for v, route in enumerate(routes)
    ]
    return m.twins.place(routes, starts)


RESTORE_S = 5.0  # most seconds a restore of given or constructed routes may take
RESTORE_SHARE = 0.02  # least share of the limit a restore gets, even past the limit
POLISH_MOVES = 200  # moves of the final ruin and recreate under a solution limit


def _prices_overtime(data: RoutingInput) -> bool:
    return data.overtime_cost_per_hour > 0 and any(data.overtime_bands)


def _polish(
    m: _Model,
    data: RoutingInput,
    params: SearchParams,
    read: tuple[list[list[int]], list[list[int]], int],
    limit_s: float,
    should_stop: Callable[[], bool] | None,
) -> tuple[pywrapcp.Assignment, tuple[list[list[int]], list[list[int]], int]] | None:
    """Ruin and recreate around the visits with overtime of the search's plan, overtime
    priced (``SearchParams.polish_share``); the result as a solution of the model if its
    objective (:func:`_read`) is lower, else None (also for a plan without overtime). Under a
    solution limit: :data:`POLISH_MOVES` moves."""
    routes, starts_s, objective = read
    limited = params.solution_limit is not None
    if overtime_cost(data, routes, starts_s) == 0:
        return None
    t0 = time.perf_counter()
    moves = POLISH_MOVES if limited else None
    seconds = 3600.0 if limited else 0.8 * limit_s
    better = _greedy(
        m, "insertion", seconds, None, should_stop, routes, moves, True, seed=params.seed
    )
    found = _restore_routes(m, params, better, max(0.05, limit_s - (time.perf_counter() - t0)))
    if found is None and m.twins is not None:
        # Late twins chosen by the model's lower-bound timing instead (see :func:`_to_twins`).
        plain = [[int(m.twins.source[n]) for n in r] for r in better]
        optimistic = _to_twins(m, plain, optimistic=True)
        found = _restore_routes(
            m, params, optimistic, max(0.05, limit_s - (time.perf_counter() - t0))
        )
    if found is None:
        return None
    found_read = _read(m, data, found)
    return (found, found_read) if found_read[2] < objective else None


def overtime_cost(
    data: RoutingInput, routes: Sequence[Sequence[int]], starts_s: Sequence[Sequence[int]]
) -> int:
    """Cost of the overtime of timed routes (order nodes and service starts per vehicle):
    ``overtime_cost_per_hour`` times the travel and service in each vehicle's bands."""
    if not data.overtime_cost_per_hour or not data.overtime_bands:
        return 0
    total = 0
    for v, (route, st) in enumerate(zip(routes, starts_s, strict=True)):
        if not route or v >= len(data.overtime_bands) or not data.overtime_bands[v]:
            continue
        rests = sorted(data.breaks[v]) if v < len(data.breaks) else []
        ot = sum(
            visit_overtime_s(
                route,
                st,
                data.starts[v],
                data.start_min_s[v],
                data.travel_s,
                data.service_s,
                rests,
                Bands(data.overtime_bands[v]),
            )
        )
        total += ot * data.overtime_cost_per_hour // 3600
    return total


def _read(
    m: _Model, data: RoutingInput, solution: pywrapcp.Assignment
) -> tuple[list[list[int]], list[list[int]], int]:
    """A solution's routes (order nodes of ``data``, late twins as their orders), earliest
    service starts, and objective: the search's plus :func:`overtime_cost`."""
    assert m.time_dim is not None
    routes: list[list[int]] = []
    starts_s: list[list[int]] = []
    for v in range(data.n_vehicles):
        seq: list[int] = []
        times: list[int] = []
        index = solution.Value(m.routing.NextVar(m.routing.Start(v)))
        while not m.routing.IsEnd(index):
            node = m.manager.IndexToNode(index)
            if m.twins is not None:
                node = int(m.twins.source[node])
            seq.append(node)
            times.append(int(solution.Min(m.time_dim.CumulVar(index))))
            index = solution.Value(m.routing.NextVar(index))
        routes.append(seq)
        starts_s.append(times)
    objective = int(solution.ObjectiveValue()) + overtime_cost(data, routes, starts_s)
    return routes, starts_s, objective


def _routes_assignment(m: _Model, routes: Sequence[Sequence[int]]) -> pywrapcp.Assignment | None:
    """Routes (order nodes per vehicle) as an assignment of the closed model, or None.

    ``RoutesToAssignment`` only sets the next variables; the search then restores and checks
    them. ``ReadAssignmentFromRoutes`` is not used: it completes the assignment with a CP
    search that ran for minutes on a feasible 2-visit route across a break.
    """
    assignment = m.routing.solver().Assignment()
    indices = [[m.manager.NodeToIndex(int(n)) for n in r] for r in routes]
    if not m.routing.RoutesToAssignment(indices, True, True, assignment):
        return None
    return assignment


def _restore_routes(
    m: _Model, params: SearchParams, routes: Sequence[Sequence[int]], limit_s: float
) -> pywrapcp.Assignment | None:
    """``routes`` (model nodes) as one solution of the closed model (or None).

    OR-Tools completes the next variables into a solution (cumuls, breaks) with a search
    bounded by ``lns_time_limit`` (100 ms by default); a 2-visit route waiting across two
    breaks took 75-105 ms to complete there, so the same routes were restored or rejected by
    the clock (4 of 6 attempts failed in some processes). The completion gets ``limit_s``.
    """
    start = _routes_assignment(m, routes)
    if start is None:
        return None
    once = replace(params, solution_limit=1, lns_time_limit_s=max(0.1, limit_s))
    return m.routing.SolveFromAssignmentWithParameters(start, _search_parameters(once, limit_s))


def _restore_greedy(m: _Model, params: SearchParams, limit_s: float) -> pywrapcp.Assignment | None:
    """The greedy construction as one solution of the closed model (or None)."""
    return _restore_routes(m, params, _greedy(m, "greedy"), limit_s)


def _timed(m: _Model, routes: Sequence[Sequence[int]]) -> bool:
    """Whether every route (order nodes, no twins) can be timed by the exact rules
    (:func:`solver.construct.route_starts` with the windows after the break rewrite, which
    keep every hole, and the service itself clear of every rest) and still get home by the
    horizon.

    OR-Tools' own search can leave this: its break constraint places a rest on the arc after
    the visits it follows and checks it against those only, so a visit longer than its
    transit (a visit length that stands for a window closing before a boundary) may start in
    that hole when the next visit begins before the visit "ends" — a service that in fact
    runs past the site's hours or the engineer's day (seen on the field bench, 1,000 x 100:
    one hard violation in four runs). The visit lengths themselves are not used here: they
    are stricter than the rules they stand for (a visit that ends before a rest but after
    where its length would reach).
    """
    d = m.data
    windows, _ = _all_starts(m)
    for v, route in enumerate(routes):
        if not route:
            continue
        rests = m.time.breaks[v]
        starts = _starts_on(m, v, route, windows, rests, d.service_s)
        last = int(route[-1])
        if starts[-1] > d.horizon_s:
            return False
        done = starts[-1] + int(d.service_s[last])
        if _pass_breaks(done, int(d.travel_s[last, d.ends[v]]), rests) > d.horizon_s:
            return False
    return True


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


def on_time_only(data: RoutingInput) -> RoutingInput:
    """``data`` with every deadline hard: an order with a deadline may only start by it (an
    order that cannot is left to no vehicle), and there is no lateness cost."""
    windows = list(data.windows)
    allowed = list(data.allowed_vehicles)
    for node in data.order_nodes():
        dl = int(data.deadline_s[node])
        if dl == NO_DEADLINE:
            continue
        _, cut = _starts_by(data, node, dl)
        windows[node] = cut
        if not cut:
            allowed[node] = []
    return replace(
        data,
        windows=windows,
        allowed_vehicles=allowed,
        deadline_s=np.full(data.n_nodes, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(data.n_nodes, dtype=np.int64),
        breach_cost=None,
    )


def _solve_on_time_first(
    data: RoutingInput,
    params: SearchParams,
    on_progress: Callable[[Progress], None] | None,
    progress_every_s: float,
    should_stop: Callable[[], bool] | None,
) -> RoutingResult:
    """Lexicographic in two phases: first the most orders on time (:func:`on_time_only`, for
    ``on_time_phase`` of the time limit), then the whole objective from those routes (late
    orders inserted, everything traded off) for the rest."""
    t0 = time.perf_counter()
    first = solve(
        on_time_only(data),
        replace(params, time_limit_s=max(0.05, params.time_limit_s * params.on_time_phase)),
        should_stop=should_stop,
    )
    return finish_from(
        data,
        replace(params, on_time_phase=0.0),
        t0,
        first.routes if first.status != "no_solution" else None,
        "on_time_first",
        on_progress,
        progress_every_s,
        should_stop,
    )


def finish_from(
    data: RoutingInput,
    params: SearchParams,
    t0: float,
    routes: Sequence[Sequence[int]] | None,
    label: str,
    on_progress: Callable[[Progress], None] | None,
    progress_every_s: float,
    should_stop: Callable[[], bool] | None,
    min_s: float = 0.05,
) -> RoutingResult:
    """The last phase of a phased search: the whole model from a first phase's ``routes``,
    for what is left of ``params.time_limit_s`` since ``t0`` (at least ``min_s``). The result
    says ``initial == label`` when it started from those routes, and its ``solve_s`` covers
    every phase."""
    rest = max(min_s, params.time_limit_s - (time.perf_counter() - t0))
    result = solve(
        data,
        replace(params, time_limit_s=rest),
        on_progress,
        progress_every_s,
        initial_routes=routes,
        should_stop=should_stop,
    )
    if result.initial == "given":
        result.initial = label
    result.solve_s = time.perf_counter() - t0 - result.build_s
    return result


def solve(
    data: RoutingInput,
    params: SearchParams | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 0.25,
    initial_routes: Sequence[Sequence[int]] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> RoutingResult:
    """Build and solve; never raises on an infeasible problem (it reports it).

    Parameters
    ----------
    data
        The problem arrays.
    params
        Search settings (default :class:`SearchParams`).
    on_progress
        Called with the best-so-far solution at most every ``progress_every_s`` seconds
        during the search, and once at the end.
    progress_every_s
        Minimum seconds between two progress calls (0: every improving solution).
    initial_routes
        Optional warm start: order nodes per vehicle (e.g. a published plan). Used as the
        first solution if OR-Tools accepts it, else ignored.
    should_stop
        Asked at each solution found; when it answers True the search ends and the best
        solution so far is returned (a cancelled job stops instead of running to its limit).

    Returns
    -------
    RoutingResult
        ``status`` is ``"no_solution"`` when no assignment satisfies the hard constraints of
        the vehicles themselves (orders are optional, so that means e.g. a vehicle that
        cannot reach its end within the horizon).
    """
    params = params or SearchParams()
    fastrr.warm_up()  # once per process, before any clock: compiling is not searching
    from solver.decompose import n_parts, solve_decomposed  # imports this module

    if initial_routes is None and n_parts(data, params) > 1:
        return solve_decomposed(data, params, on_progress, progress_every_s, should_stop)
    if initial_routes is None and params.on_time_phase > 0 and data.breach_cost is not None:
        return _solve_on_time_first(data, params, on_progress, progress_every_s, should_stop)
    if params.workers > 1:
        from solver.portfolio import solve_portfolio  # imports this module

        return solve_portfolio(data, params, on_progress, progress_every_s, initial_routes)
    t0 = time.perf_counter()
    try:
        m = build(data, params.holes_as_breaks)
    except Exception as exc:  # OR-Tools raises a bare Exception when a domain empties
        if "CP Solver fail" not in str(exc):
            raise
        # A bound set while building contradicts another one (e.g. a vehicle that may
        # only leave after the horizon): no assignment exists.
        empty: list[list[int]] = [[] for _ in data.starts]
        build_s = time.perf_counter() - t0
        return RoutingResult("no_solution", None, empty, [], build_s, 0.0, None, 0, [], empty)
    build_s = time.perf_counter() - t0
    try:
        history: list[tuple[float, int]] = []
        state: dict[str, float | None] = {"last": -1e9, "first": None, "count": 0}
        t1 = time.perf_counter()

        def record(now: float, obj: int, on_time: Callable[[], int | None]) -> None:
            if history and obj >= history[-1][1]:
                return  # the metaheuristic also reports non-improving moves; keep the best-so-far curve
            history.append((now, obj))
            if on_progress is not None and now - float(state["last"]) >= progress_every_s:  # type: ignore[arg-type]
                state["last"] = now
                on_progress(Progress(now, obj, int(state["count"] or 0), on_time()))

        def at_solution() -> None:
            now = time.perf_counter() - t1
            if should_stop is not None and should_stop():
                m.routing.solver().FinishCurrentSearch()
            obj = int(m.routing.CostVar().Value())
            if state["first"] is None:
                state["first"] = now
            state["count"] = int(state.get("count") or 0) + 1  # type: ignore[call-overload]
            record(now, obj, lambda: _count_on_time(m))

        def improved(obj: int, on_time: int) -> None:
            """The ruin and recreate's best so far, on the same curve (its routes are not
            solutions of the model until the search restores them)."""
            record(time.perf_counter() - t1, obj, lambda: on_time)

        m.routing.AddAtSolutionCallback(at_solution)
        search = _search_parameters(params)
        solution = None
        initial = "ortools"
        candidates: list[tuple[str, Sequence[Sequence[int]] | None]] = []
        if initial_routes is not None:
            candidates.append(("given", initial_routes))
        how = construction(data, params)
        if how is not None:
            candidates.append((how, None))

        recreates = params.solution_limit is None and (
            params.recreate_share > 0
            and any(name == "insertion" for name, given in candidates if given is None)
            or params.recreate_given
        )
        polish = _prices_overtime(data) and not recreates
        if params.solution_limit is None:
            polish = polish and params.polish_share > 0
        reserve = params.polish_share * params.time_limit_s if polish else 0.0

        def remaining() -> float:
            """Seconds left for the search (the overtime polish keeps its share)."""
            return max(0.001, params.time_limit_s - reserve - (time.perf_counter() - t1))

        if candidates:
            m.routing.CloseModelWithParameters(search)
        quick: pywrapcp.Assignment | None = None
        fallbacks: list[pywrapcp.Assignment] = []  # restored starts of the search
        for name, given in candidates:
            if given is None:
                recreate = params.recreate_share if params.solution_limit is None else 0.0

                def built(routes: list[list[int]], improving: bool = recreate > 0) -> None:
                    """The construction as a plan at once (the first solution), kept
                    while the ruin and recreate improves on it."""
                    nonlocal quick
                    found = _restore_routes(m, params, routes, 1.0) if improving else None
                    if found is not None:
                        quick = m.routing.solver().Assignment(found)

                variants = [
                    _greedy(
                        m,
                        name,
                        recreate * remaining(),
                        built,
                        should_stop,
                        seed=params.seed,
                        on_improved=improved,
                    )  # fmt: skip
                ]
            else:
                if m.twins is None:
                    variants = [[list(r) for r in given]]
                else:
                    # Late twins chosen by the model's lower-bound timing first, then by the
                    # construction's conservative one (:func:`_to_twins`).
                    variants = [_to_twins(m, given, optimistic=True)]
                    variants += [v for v in [_to_twins(m, given)] if v != variants[0]]
                if params.recreate_given and params.solution_limit is None:
                    # Ruin and recreate from the given routes first; they themselves next.
                    share = params.recreate_share * remaining()
                    variants.insert(
                        0,
                        _greedy(m, "insertion", share, None, should_stop, given, seed=params.seed),
                    )
            for variant in variants:
                # Restored first (a completion search not cut at 100 ms, see
                # :func:`_restore_routes`), then searched from the complete solution.
                # At least RESTORE_SHARE of the limit, even past it: a restore cut short
                # would lose every move made before it.
                floor = RESTORE_SHARE * params.time_limit_s
                restored = _restore_routes(
                    m, params, variant, min(max(remaining(), floor), RESTORE_S)
                )
                if restored is None:
                    continue
                start = m.routing.solver().Assignment(restored)
                fallbacks.append(start)
                solution = m.routing.SolveFromAssignmentWithParameters(
                    start, _search_parameters(params, remaining())
                )
                # The search restores its start again, with the 100-ms completion: if that
                # fails, the restored routes are the solution.
                solution = start if solution is None else solution
                break
            if solution is not None:
                initial = name
                break
        if not candidates and wants_quick_start(data, params):
            # An immediate plan first (the greedy, restored, one solution), then OR-Tools' own
            # first-solution heuristic and the metaheuristic from scratch; the better wins.
            m.routing.CloseModelWithParameters(search)
            found = _restore_greedy(m, params, remaining())
            if found is not None:
                # A copy: the next solve writes into the assignment the model returned.
                quick = m.routing.solver().Assignment(found)
        stopped = should_stop is not None and quick is not None and should_stop()
        if solution is None and not stopped:
            solution = m.routing.SolveWithParameters(_search_parameters(params, remaining()))
        if solution is None and quick is None and not stopped and data.order_nodes():
            # The limit ran out before any first solution (a sub-second limit): restore the
            # greedy construction, milliseconds on small problems, so that a plan comes back;
            # this may run past a limit shorter than FALLBACK_S.
            solution = _restore_greedy(m, params, max(remaining(), FALLBACK_S))
            if solution is not None:
                initial = "greedy"
        read = None if solution is None else _read(m, data, solution)
        if quick is not None:
            quick_read = _read(m, data, quick)
            if read is None or quick_read[2] < read[2]:
                solution, initial, read = quick, "quick", quick_read
        if polish and read is not None and not (should_stop is not None and should_stop()):
            left = max(0.05, params.time_limit_s - (time.perf_counter() - t1))
            polished = _polish(m, data, params, read, left, should_stop)
            if polished is not None:
                solution, read = polished
        if read is not None and not _timed(m, read[0]):
            # Restored starts and the quick plan are timed by the construction; the
            # greedy construction is the last resort.
            solution, read = None, None
            for alt in [*fallbacks, quick]:
                alt_read = None if alt is None else _read(m, data, alt)
                better = alt_read is not None and (read is None or alt_read[2] < read[2])
                if better and alt_read is not None and _timed(m, alt_read[0]):
                    solution, read = alt, alt_read
            if solution is None:
                solution = _restore_greedy(m, params, FALLBACK_S)
                read = None if solution is None else _read(m, data, solution)
                initial = "greedy"
            elif solution is quick:
                initial = "quick"
        solve_s = time.perf_counter() - t1
        if solution is None or read is None:
            return RoutingResult(
                "no_solution",
                None,
                [[] for _ in data.starts],
                [],
                build_s,
                solve_s,
                None,
                0,
                history,
                [[] for _ in data.starts],
                initial,
            )
        routes, starts_s, objective = read
        served = {n for r in routes for n in r}
        dropped = [n for n in data.order_nodes() if n not in served]
        status_name = routing_enums_pb2.RoutingSearchStatus.Value.Name(m.routing.status())
        status = "optimal" if status_name == "ROUTING_OPTIMAL" else "feasible"
        if on_progress is not None and history:
            on_progress(Progress(solve_s, history[-1][1], int(state["count"] or 0), None))
        return RoutingResult(
            status=status,
            objective=objective,
            routes=routes,
            dropped=dropped,
            build_s=build_s,
            solve_s=solve_s,
            first_solution_s=state["first"],  # type: ignore[arg-type]
            solutions=int(state["count"] or 0),
            history=history,
            start_s=starts_s,
            initial=initial,
        )
    finally:
        m.release()
