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

import numpy as np
from google.protobuf import text_format
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, solver_parameters_pb2

from solver import fastrr
from solver.greedy import greedy_routes
from solver.incumbent import Incumbent, Progress
from solver.insertion import Insertion, insertion_routes
from solver.problem import NO_DEADLINE, RoutingInput
from solver.timemodel import TimeModel, rewrite
from solver.timing import ExactTiming, overtime_cost, prices_overtime, route_starts

INITIAL_STRATEGIES = ("ortools", "greedy", "insertion", "auto")
FIRST_SOLUTIONS: tuple[str, ...] = tuple(routing_enums_pb2.FirstSolutionStrategy.Value.keys())
METAHEURISTICS: tuple[str, ...] = tuple(routing_enums_pb2.LocalSearchMetaheuristic.Value.keys())


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
        heuristic), ``"greedy"`` (:func:`solver.greedy.greedy_routes`, then local search
        from it; falls back to ``"ortools"`` if OR-Tools rejects the routes), ``"insertion"``
        (:func:`solver.insertion.insertion_routes`, the same way) or ``"auto"``
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
        (:meth:`solver.insertion.Insertion.improve`) before the local search starts from
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


@dataclass
class RoutingResult:
    """What :func:`solve` returns: the incumbent (:mod:`solver.incumbent`) and how it came.

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


def _construction_inputs(m: _Model) -> tuple[RoutingInput, np.ndarray]:
    """The problem the constructions (:func:`solver.greedy.greedy_routes`,
    :func:`solver.insertion.insertion_routes`, :class:`solver.insertion.Insertion`) work on,
    over the model as built (windows after the break rewrite, boundary breaks), and its visit
    lengths.

    With late twins the constructions work on the orders as they are (every start allowed,
    soft deadline, the breach cost on the order) and the twins are switched off (no vehicle,
    no drop penalty: a twin's penalty is its order's, one disjunction), so their routes hold
    original order nodes only.
    """
    d = m.data
    windows, visit = _all_starts(m)
    allowed = d.allowed_vehicles
    deadline, late_cost, breach, drop = d.deadline_s, d.late_cost_per_s, None, d.drop_penalty
    if m.twins is not None:
        allowed = list(allowed)
        deadline, late_cost, drop = m.twins.deadline_s, late_cost.copy(), drop.copy()
        breach = np.zeros(d.n_nodes, dtype=np.int64)
        for on, twin in m.twins.late.items():
            late_cost[on] = late_cost[twin]
            breach[on] = m.twins.breach_cost[twin]
            allowed[twin] = []
            drop[twin] = 0
    inputs = replace(
        d,
        windows=windows,
        allowed_vehicles=allowed,
        drop_penalty=drop,
        deadline_s=deadline,
        late_cost_per_s=late_cost,
        breaks=d.breaks or [[] for _ in d.starts],
        breach_cost=breach,
    )
    return inputs, visit


def _original(m: _Model, routes: Sequence[Sequence[int]]) -> list[list[int]]:
    """Routes of model nodes as order nodes of the problem given (late twins as their
    orders)."""
    if m.twins is None:
        return [[int(j) for j in r] for r in routes]
    return [[int(m.twins.source[j]) for j in r] for r in routes]


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
    on_improved: Callable[[list[list[int]]], None] | None = None,
    insert: Sequence[int] | None = None,
) -> list[list[int]]:
    """:func:`solver.greedy.greedy_routes` (or ``insertion_routes`` when ``how`` is
    ``"insertion"``, then ``improve_s`` seconds of ruin and recreate, ``on_built`` called
    with the constructed routes in between) on the model (:func:`_construction_inputs`).
    ``initial`` (order nodes, no twins): improve these routes instead of constructing, after
    inserting the orders ``insert`` into them. ``on_built`` and ``on_improved`` get order
    nodes without twins; the routes returned are the model's (late visits on their twins)."""
    inputs, visit = _construction_inputs(m)
    if how == "insertion":
        routes = insertion_routes(
            inputs,
            visit,
            m.time.boundaries,
            improve_s=improve_s,
            on_built=on_built,
            should_stop=should_stop,
            initial_routes=initial,
            improve_moves=improve_moves,
            around_overtime=around_overtime,
            seed=seed,
            on_improved=on_improved,
            insert=insert,
        )
    else:
        routes = greedy_routes(inputs, visit, m.time.boundaries)
    return routes if m.twins is None else _to_twins(m, routes)


def _fill(
    m: _Model, routes: Sequence[Sequence[int]], orders: Sequence[int], until: float | None
) -> tuple[list[list[int]], list[int]]:
    """``orders`` inserted into ``routes`` (order nodes, no twins) where a place costs less
    than leaving them out (on-time places first), until ``until`` (``time.perf_counter()``);
    the routes and the orders not tried by then."""
    inputs, visit = _construction_inputs(m)
    ins = Insertion(inputs, visit, m.time.boundaries, 40)
    if not ins.take(routes, freeze=True):
        return [list(r) for r in routes], list(orders)
    key = {j: k for k, j in enumerate(ins.orders)}  # by deadline, then the dearest first
    untried = ins.place(sorted(orders, key=key.__getitem__), True, until)
    return ins.routes, untried


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
    """:func:`solver.timing.route_starts` of ``route`` on vehicle ``v`` of the model."""
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

    Every candidate plan found on the way is offered to one incumbent
    (:mod:`solver.incumbent`): timed by the exact rules, repaired where a visit cannot be
    timed, priced with overtime included; the solve returns the best of them.

    Parameters
    ----------
    data
        The problem arrays.
    params
        Search settings (default :class:`SearchParams`).
    on_progress
        Called with the incumbent when it improves, at most every ``progress_every_s``
        seconds, and once at the end with the plan returned.
    progress_every_s
        Minimum seconds between two progress calls (0: every improvement).
    initial_routes
        Optional warm start: order nodes per vehicle (e.g. a published plan). Offered as a
        plan (repaired where it breaks a rule) and, if OR-Tools accepts it, searched from.
    should_stop
        Asked at each solution found and between phases; when it answers True the solve ends
        with the incumbent (a cancelled job stops instead of running to its limit).

    Returns
    -------
    RoutingResult
        ``status`` is ``"no_solution"`` when no plan satisfies the hard constraints of the
        vehicles themselves (orders are optional, so that means e.g. a vehicle that cannot
        reach its end within the horizon).
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
        return _search(m, data, params, build_s, on_progress, progress_every_s, initial_routes,
                       should_stop)  # fmt: skip
    finally:
        m.release()


OFFER_EVERY_S = 0.25  # least seconds between two search solutions timed for the incumbent
FILL_SHARE = 0.02  # of the limit, kept from the search for the final fill


def _search(
    m: _Model,
    data: RoutingInput,
    params: SearchParams,
    build_s: float,
    on_progress: Callable[[Progress], None] | None,
    progress_every_s: float,
    initial_routes: Sequence[Sequence[int]] | None,
    should_stop: Callable[[], bool] | None,
) -> RoutingResult:
    """One solve on a built model (see :func:`solve`); every phase offers its plans to the
    incumbent.

    The phases: the given routes; a construction (the greedy at once where OR-Tools' own
    first-solution heuristic starts the search, else the chosen construction and its ruin
    and recreate, whose best routes are offered as they improve); OR-Tools' search, whose
    improving solutions are offered at most every :data:`OFFER_EVERY_S` (every one under a
    solution limit) and whose last one is offered at its end; the overtime polish; and a
    final fill that tries every order still left out (:data:`FILL_SHARE` of the limit).
    """
    t1 = time.perf_counter()
    limited = params.solution_limit is not None
    solutions = [0]  # reported by OR-Tools' search

    def stopping() -> bool:
        return should_stop is not None and should_stop()

    def reinsert(routes: list[list[int]], removed: list[int]) -> list[list[int]]:
        return _original(m, _greedy(m, "insertion", initial=routes, insert=removed))

    timing = exact_timing(m, data)
    inc = Incumbent(
        timing, t1, on_progress, progress_every_s, reinsert, solutions=lambda: solutions[0]
    )
    search_best: list[int] = []
    offered_at = [-1e9]

    def at_solution() -> None:
        if stopping():
            m.routing.solver().FinishCurrentSearch()
        solutions[0] += 1
        obj = int(m.routing.CostVar().Value())
        if search_best and obj >= search_best[-1]:
            return  # the metaheuristic also reports non-improving moves
        search_best.append(obj)
        now = time.perf_counter() - t1
        if not limited and now - offered_at[0] < OFFER_EVERY_S:
            return
        routes = _bound_routes(m)
        if routes is not None:
            offered_at[0] = now
            inc.offer(routes, "search")

    def improved(routes: list[list[int]]) -> None:
        inc.offer(routes, "ruin_and_recreate")

    m.routing.AddAtSolutionCallback(at_solution)
    search = _search_parameters(params)
    how = construction(data, params)
    recreates = not limited and (
        (params.recreate_share > 0 and how == "insertion") or params.recreate_given
    )
    polish = prices_overtime(data) and not recreates and (limited or params.polish_share > 0)
    reserve = params.time_limit_s * ((params.polish_share if polish else 0.0) + FILL_SHARE)

    def remaining() -> float:
        """Seconds left for the search (the polish and the fill keep their shares)."""
        return max(0.001, params.time_limit_s - reserve - (time.perf_counter() - t1))

    if initial_routes is not None:
        inc.offer(_original(m, initial_routes), "given")
    if how is None:
        # OR-Tools' own first solution starts the search; the greedy is a plan at once.
        inc.offer(_original(m, _greedy(m, "greedy")), "greedy")
    candidates: list[tuple[str, Sequence[Sequence[int]] | None]] = []
    if initial_routes is not None:
        candidates.append(("given", initial_routes))
    if how is not None:
        candidates.append((how, None))
    if candidates:
        m.routing.CloseModelWithParameters(search)
    solution = None
    initial = "ortools"
    for name, given in candidates:
        if stopping() and inc.best is not None:
            break
        if given is None:
            recreate = params.recreate_share if not limited else 0.0

            def built(routes: list[list[int]], name: str = name) -> None:
                inc.offer(routes, name)

            variant = _greedy(
                m, name, recreate * remaining(), built, should_stop, seed=params.seed,
                on_improved=improved,
            )  # fmt: skip
            inc.offer(_original(m, variant), "ruin_and_recreate" if recreate > 0 else name)
            variants = [variant]
        else:
            if m.twins is None:
                variants = [[list(r) for r in given]]
            else:
                # Late twins chosen by the model's lower-bound timing first, then by the
                # construction's conservative one (:func:`_to_twins`).
                variants = [_to_twins(m, given, optimistic=True)]
                variants += [v for v in [_to_twins(m, given)] if v != variants[0]]
            if params.recreate_given and not limited:
                # Ruin and recreate from the given routes first; they themselves next.
                share = params.recreate_share * remaining()
                recreated = _greedy(
                    m, "insertion", share, None, should_stop, given, seed=params.seed,
                    on_improved=improved,
                )  # fmt: skip
                inc.offer(_original(m, recreated), "ruin_and_recreate")
                variants.insert(0, recreated)
        for variant in variants:
            # Restored first (a completion search not cut at 100 ms, see
            # :func:`_restore_routes`), then searched from the complete solution.
            floor = RESTORE_SHARE * params.time_limit_s
            restored = _restore_routes(m, params, variant, min(max(remaining(), floor), RESTORE_S))
            if restored is None:
                continue
            start = m.routing.solver().Assignment(restored)
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
    if solution is None and not (stopping() and inc.best is not None):
        solution = m.routing.SolveWithParameters(_search_parameters(params, remaining()))
    if solution is not None:
        inc.offer(_read(m, data, solution)[0], "search")
    best = inc.best
    if (
        polish
        and best is not None
        and not stopping()
        and overtime_cost(data, best.routes, best.starts_s) > 0
    ):
        # Ruin and recreate around the visits with overtime, which the search cannot price.
        moves = POLISH_MOVES if limited else None
        left = max(0.0, params.time_limit_s * (1 - FILL_SHARE) - (time.perf_counter() - t1))
        polished = _greedy(
            m, "insertion", 3600.0 if limited else left, None, should_stop, best.routes,
            moves, True, seed=params.seed,
        )  # fmt: skip
        inc.offer(_original(m, polished), "polish")
    best = inc.best
    unplanned: list[int] = []
    if best is not None:
        served = best.served()
        left_out = [j for j in data.order_nodes() if j not in served]
        if left_out and stopping():
            unplanned = left_out
        elif left_out:
            until = None if limited else t1 + params.time_limit_s
            filled, unplanned = _fill(m, best.routes, left_out, until)
            inc.offer(filled, "fill")
    best = inc.finish()
    solve_s = time.perf_counter() - t1
    if best is None:
        empty: list[list[int]] = [[] for _ in data.starts]
        return RoutingResult(
            "no_solution", None, empty, [], build_s, solve_s, None, solutions[0], inc.history,
            empty, initial, candidates=inc.counts.as_dict(),
        )  # fmt: skip
    served = best.served()
    status_name = routing_enums_pb2.RoutingSearchStatus.Value.Name(m.routing.status())
    optimal = best.phase == "search" and status_name == "ROUTING_OPTIMAL"
    return RoutingResult(
        status="optimal" if optimal else "feasible",
        objective=best.objective,
        routes=best.routes,
        dropped=[j for j in data.order_nodes() if j not in served],
        build_s=build_s,
        solve_s=solve_s,
        first_solution_s=inc.first_s,
        solutions=solutions[0],
        history=inc.history,
        start_s=best.starts_s,
        initial=initial,
        phase=best.phase,
        candidates=inc.counts.as_dict(),
        unplanned=[j for j in unplanned if j not in served],
        on_time=best.on_time,
    )


def exact_timing(m: _Model, data: RoutingInput) -> ExactTiming:
    """The exact time rules of the built model ``m`` of ``data`` (the windows after the break
    rewrite, every hole kept; the rests with the boundary breaks), priced on ``data``."""
    return ExactTiming(data, _all_starts(m)[0][: data.n_nodes], m.time.breaks[: data.n_vehicles])


def _bound_routes(m: _Model) -> list[list[int]] | None:
    """The routes of the solution being reported (order nodes, no twins), or None if its
    next variables are not all bound yet."""
    routing = m.routing
    routes: list[list[int]] = []
    for v in range(m.data.n_vehicles):
        seq: list[int] = []
        nxt = routing.NextVar(routing.Start(v))
        while True:
            if not nxt.Bound():
                return None
            index = nxt.Value()
            if routing.IsEnd(index):
                break
            seq.append(m.manager.IndexToNode(index))
            nxt = routing.NextVar(index)
        routes.append(seq)
    return _original(m, routes)
