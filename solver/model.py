"""The OR-Tools routing model over plain integer arrays.

OR-Tools objects never leave this module and :mod:`solver.search`. Inputs are int64
matrices and per-node vectors (:class:`~solver.problem.RoutingInput`); time is integer seconds
from the start of planning. Every constraint is one named function, applied in
:data:`CONSTRAINTS` order by :func:`build`. The helpers below it move routes in and out of a
built model (restore, read, the late twins) and give its exact time rules
(:func:`exact_timing`).

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from google.protobuf import text_format
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, solver_parameters_pb2

from solver.params import SearchParams
from solver.problem import NO_DEADLINE, Infeasible, RoutingInput
from solver.timemodel import TimeModel, rewrite
from solver.timing import ExactTiming, route_starts
from solver.twins import Twins, late_twins


@dataclass
class Model:
    data: RoutingInput
    manager: pywrapcp.RoutingIndexManager
    routing: pywrapcp.RoutingModel
    time: TimeModel
    time_dim: pywrapcp.RoutingDimension | None = None
    keep: list[object] = field(default_factory=list)  # Python callbacks OR-Tools refers to
    twins: Twins | None = None  # late twins of the orders with a breach cost (``data`` has them)
    registration: str = "matrix"  # how matrices reach OR-Tools: "matrix" or "callback"

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


# ------------------------------------------------------------------ constraints


def _register_matrix(
    m: Model,
    matrix: np.ndarray,
    column_costs: Sequence[np.ndarray | None] = (None,),
    row_cost: np.ndarray | None = None,
) -> list[int]:
    """Register a node matrix as transit evaluators; returns their indices.

    ``matrix`` is indexed as the model's ``data.travel_s`` is: through ``data.node_source``
    where the input has it (a late twin reads its order's row and column). One evaluator per
    entry of ``column_costs``: the matrix plus that ``[nodes]`` cost added to every arc *into*
    a node (a per-node visit cost), or the plain matrix for None; ``row_cost`` (``[nodes]``)
    is added to every arc *out of* a node (the service before leaving it).

    In callback mode the evaluators read ``matrix`` itself (no copy: at 5,000 orders / 500
    engineers with late twins each ``[nodes, nodes]`` copy was 0.8 GB, and 2-3 of them were
    alive at once); in matrix mode OR-Tools keeps a copy of its own anyway.
    """
    source = m.data.node_source
    if m.registration == "matrix":
        base = matrix.astype(np.int64)
        if source is not None:
            base = base[np.ix_(source, source)]
        if row_cost is not None:
            base = base + row_cost.astype(np.int64)[:, None]
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
    rows = nodes if source is None else np.asarray(source, dtype=np.int64)[nodes]
    held = np.ascontiguousarray(matrix, dtype=np.int64).ravel()  # no copy if int64 already
    m.keep.append(held)
    flat = held.data  # a memoryview: an item is a Python int
    width = int(matrix.shape[1])
    row_at = array("q", (rows * width).tobytes())  # index -> start of its row in ``flat``
    col_at = array("q", rows.tobytes())  # index -> its column
    out_cost = None if row_cost is None else array("q", row_cost.astype(np.int64)[nodes].tobytes())
    out = []
    for col in column_costs:
        into = None if col is None else array("q", col.astype(np.int64)[nodes].tobytes())
        transit = _transit(flat, row_at, col_at, out_cost, into)
        m.keep.append(transit)  # OR-Tools holds a borrowed reference
        out.append(int(m.routing.RegisterTransitCallback(transit)))
    return out


def _transit(
    flat: memoryview,
    row_at: array[int],
    col_at: array[int],
    out_cost: array[int] | None,
    into: array[int] | None,
) -> Callable[[int, int], int]:
    """The transit callback of :func:`_register_matrix`: one closure per case, so the plain
    one does no more work per call than it must."""
    if out_cost is None and into is None:

        def plain(i: int, j: int) -> int:
            return flat[row_at[i] + col_at[j]]  # type: ignore[no-any-return]

        return plain
    if out_cost is None:
        assert into is not None

        def with_into(i: int, j: int) -> int:
            return flat[row_at[i] + col_at[j]] + into[j]  # type: ignore[no-any-return]

        return with_into
    if into is None:

        def with_out(i: int, j: int) -> int:
            return flat[row_at[i] + col_at[j]] + out_cost[i]  # type: ignore[no-any-return]

        return with_out

    def both(i: int, j: int) -> int:
        return flat[row_at[i] + col_at[j]] + out_cost[i] + into[j]  # type: ignore[no-any-return]

    return both


def _add_arc_costs(m: Model) -> None:
    """Objective part 3: travel cost of every arc driven, plus part 4: the per-(vehicle, node)
    cost (e.g. not a preferred engineer) on the arcs into the node, one evaluator per
    distinct cost row.

    Why not a dimension of per-vehicle unary transits for part 4: OR-Tools 9.15 finds no
    solution at all — not even all orders unperformed — when such a dimension meets a
    disjunction of two nodes (an order and its late twin); tests/solver/test_routing.py.
    """
    d = m.data
    # The breach cost on the arcs into a late twin (or an order that cannot be on time).
    into = m.twins.arc_into if m.twins is not None and m.twins.arc_into.any() else None
    if d.vehicle_node_cost is None or not d.vehicle_node_cost.any():
        (cb,) = _register_matrix(m, d.arc_cost, (into,))
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
                if into is not None:
                    row = row + into
                distinct.append(row if row.any() else None)
            of_vehicle.append(rows[key])
        evaluators = _register_matrix(m, d.arc_cost, distinct)
        for v, k in enumerate(of_vehicle):
            m.routing.SetArcCostEvaluatorOfVehicle(evaluators[k], v)
    if d.vehicle_fixed_cost is not None:
        for v, cost in enumerate(d.vehicle_fixed_cost):
            m.routing.SetFixedCostOfVehicle(int(cost), v)


def _add_time_dimension(m: Model) -> None:
    """Cumul = service start; transit = service at the origin + travel."""
    d = m.data
    (cb,) = _register_matrix(m, d.travel_s, row_cost=d.service_s)
    m.routing.AddDimension(cb, d.horizon_s, d.horizon_s, False, "time")
    m.time_dim = m.routing.GetDimensionOrDie("time")
    for v in range(d.n_vehicles):
        m.time_dim.CumulVar(m.routing.Start(v)).SetRange(
            int(d.start_min_s[v]), int(d.start_max_s[v])
        )
        m.time_dim.CumulVar(m.routing.End(v)).SetRange(0, d.horizon_s)


def _add_shift_breaks(m: Model) -> None:
    """Off-shift rest, and the boundaries no service may straddle (solver/timemodel.py):
    fixed intervals a vehicle spends neither travelling nor serving."""
    breaks = m.time.breaks
    if not any(breaks):
        return
    assert m.time_dim is not None
    solver = m.routing.solver()
    size = m.routing.Size()
    nodes = np.fromiter((m.manager.IndexToNode(i) for i in range(size)), np.int64, size)
    lengths = m.time.visit_v if m.time.visit_v is not None else m.time.visit_s[None, :]
    for v, rests in enumerate(breaks):
        if not rests:
            continue
        intervals = [
            solver.FixedDurationIntervalVar(int(s), int(s), int(dur), False, f"rest_{v}_{k}")
            for k, (s, dur) in enumerate(rests)
        ]
        row = lengths[min(v, lengths.shape[0] - 1)]  # this vehicle's visit lengths
        # One numpy gather per vehicle, not a Python loop over the nodes (0.9 s at 500 x 10,400).
        visits = np.asarray(row, dtype=np.int64)[nodes].tolist()
        m.time_dim.SetBreakIntervalsOfVehicle(intervals, v, visits)


def _add_site_windows(m: Model) -> None:
    """Hard: service starts inside one of the node's windows.

    Holes before a boundary became breaks (solver/timemodel.py); the rest stay in the domain.
    """
    d = m.data
    assert m.time_dim is not None
    for node in d.order_nodes():
        hull = m.time.hull[node]
        if hull is None:
            continue
        index = m.manager.NodeToIndex(node)
        if not _starts_in_horizon(m.time.windows[node], d.horizon_s):
            m.routing.VehicleVar(index).SetValues([-1])  # no vehicle: the order stays out
            continue
        var = m.time_dim.CumulVar(index)
        var.SetRange(max(0, int(hull[0])), min(d.horizon_s, int(hull[1])))
        for a, b in m.time.holes[node]:
            var.RemoveInterval(int(a), int(b))


def _starts_in_horizon(windows: Sequence[tuple[int, int]], horizon_s: int) -> bool:
    """Whether a node's windows (after the rewrite) allow some start in ``[0, horizon_s]``."""
    return any(a <= horizon_s and b >= 0 and a <= b for a, b in windows)


def _add_vehicle_restrictions(m: Model) -> None:
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


def _add_deadline_penalties(m: Model) -> None:
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


def _add_drop_penalties(m: Model) -> None:
    """Every order is optional at a (priority-scaled) cost above any lateness; an order and
    its late twin (:func:`solver.twins.with_late_twins`) are one choice: at most one of them is served."""
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


def _add_capacity_dimension(m: Model) -> None:
    """Hard: the load carried never exceeds the vehicle's capacity."""
    d = m.data
    if d.demand is None or d.capacity is None:
        return
    cb = m.routing.RegisterUnaryTransitVector(d.demand.astype(np.int64).tolist())
    m.routing.AddDimensionWithVehicleCapacity(cb, 0, [int(c) for c in d.capacity], True, "capacity")


CONSTRAINTS: tuple[Callable[[Model], None], ...] = (
    _add_arc_costs,
    _add_time_dimension,
    _add_shift_breaks,
    _add_site_windows,
    _add_vehicle_restrictions,
    _add_deadline_penalties,
    _add_drop_penalties,
    _add_capacity_dimension,
)


def model_parameters(
    trail_compression: str = "NO_COMPRESSION",
) -> pywrapcp.DefaultRoutingModelParameters:
    """OR-Tools' model parameters with an uncompressed search trail.

    Why: the default compresses every block of the CP trail with zlib; at 1,000 orders / 100
    engineers a profile of the local search showed 25 % of the time in zlib (the restore of
    each accepted move saves and backtracks many variables). Without it: 113 instead of 75
    solutions in 30 s, a lower objective, and more memory only for the trail
    (docs/performance.md, "Search trail without zlib").
    """
    p = pywrapcp.DefaultRoutingModelParameters()
    p.solver_parameters.compress_trail = (
        solver_parameters_pb2.ConstraintSolverParameters.TrailCompression.Value(trail_compression)
    )
    return p


def build(data: RoutingInput, params: SearchParams | None = None) -> Model:
    """The OR-Tools model of ``data`` (every function of :data:`CONSTRAINTS` applied).

    Orders with a ``breach_cost`` get late twins first (:func:`solver.twins.late_twins`);
    the model's ``data`` is then the expanded input (its matrices are ``data``'s own, read
    through ``node_source``) and ``twins`` maps it back.

    Parameters
    ----------
    data
        The problem arrays.
    params
        Read for the model only (default :class:`SearchParams`): ``holes_as_breaks``
        (rewrite window holes before common boundaries as breaks, solver/timemodel.py),
        ``matrix_registration`` with ``thresholds.callback_from_nodes``, and
        ``trail_compression``.
    """
    params = params or SearchParams()
    for v in range(data.n_vehicles):
        lo, hi = int(data.start_min_s[v]), int(data.start_max_s[v])
        if not 0 <= lo <= min(hi, data.horizon_s):
            raise Infeasible(
                f"vehicle {v}: departure window [{lo}, {hi}] outside [0, {data.horizon_s}]"
            )
    data, twins = late_twins(data)
    registration = params.matrix_registration
    if registration == "auto":
        # Below the threshold the matrix copy is cheap and C++ beats a Python call.
        small = data.n_nodes < params.thresholds.callback_from_nodes
        registration = "matrix" if small else "callback"
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
        enabled=params.holes_as_breaks,
    )
    model = Model(
        data=data,
        manager=manager,
        routing=pywrapcp.RoutingModel(manager, model_parameters(params.trail_compression)),
        time=time_model,
        twins=twins,
        registration=registration,
    )
    for add in CONSTRAINTS:
        add(model)
    return model


def search_parameters(
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
    elif params.solution_limit is not None:
        # A search bounded by its solution count must not depend on the clock: OR-Tools cuts
        # each large-neighbourhood completion at 100 ms by default, which a loaded machine
        # reaches, and the same solve then takes other moves. Such searches give every
        # completion their whole limit.
        sp.lns_time_limit.FromMilliseconds(max(1, int(limit * 1000)))
    if params.extra:
        text_format.Merge(params.extra, sp)
    return sp


# SISR ruin of iterated local search: (max removed sequence, average removed visits, bypass
# factor), the SISR paper's values (Christiaens & Vanden Berghe: L_max 10, c 10, blink 0.01);
# not tuned (docs/performance.md: ILS gave nothing on the demo).
ILS_SISR = (10, 10, 0.01)


def original(m: Model, routes: Sequence[Sequence[int]]) -> list[list[int]]:
    """Routes of model nodes as order nodes of the problem given (late twins as their
    orders)."""
    if m.twins is None:
        return [[int(j) for j in r] for r in routes]
    return [[int(m.twins.source[j]) for j in r] for r in routes]


def all_starts(m: Model) -> tuple[list[list[tuple[int, int]]], np.ndarray]:
    """Allowed starts and visit lengths (per vehicle, ``[vehicles, nodes]``) of the model
    (after the break rewrite) with every twinned order given its late twin's, i.e. all of
    its starts, not only the on-time ones."""
    horizon = m.data.horizon_s
    never = [(horizon + 1, horizon + 1)]  # a start no route can make (empty means any time)
    windows = [
        never if hull is not None and not _starts_in_horizon(w, horizon) else list(w)
        for w, hull in zip(m.time.windows, m.time.hull, strict=True)
    ]
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
    m: Model,
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


def to_twins(
    m: Model, routes: Sequence[Sequence[int]], optimistic: bool = False
) -> list[list[int]]:
    """Routes of original order nodes as nodes of the twinned model: each visit that starts
    after its deadline (timed as the model does, :func:`route_starts`) becomes its late twin.

    The timing holds each visit to its longest visit length (the twin's), so that routes
    built by the construction stay feasible. OR-Tools checks a visit length only against a
    break placed right after that visit, so routes of an OR-Tools solution can be timed
    earlier than that: ``optimistic`` times with the bare service durations instead (a lower
    bound of the model's starts), which keeps such a visit on its on-time node — the only one
    whose shorter visit length lets the break fit (:func:`solver.search.solve_one` tries both).
    """
    assert m.twins is not None
    d, tm = m.data, m.time
    windows, visit = all_starts(m)
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


def solution_routes(m: Model, solution: pywrapcp.Assignment) -> list[list[int]]:
    """A solution's routes as order nodes of the problem given (late twins as their orders);
    the incumbent times and prices them itself."""
    routes: list[list[int]] = []
    for v in range(m.data.n_vehicles):
        seq: list[int] = []
        index = solution.Value(m.routing.NextVar(m.routing.Start(v)))
        while not m.routing.IsEnd(index):
            seq.append(m.manager.IndexToNode(index))
            index = solution.Value(m.routing.NextVar(index))
        routes.append(seq)
    return original(m, routes)


def _routes_assignment(m: Model, routes: Sequence[Sequence[int]]) -> pywrapcp.Assignment | None:
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


def restore_routes(
    m: Model, params: SearchParams, routes: Sequence[Sequence[int]], limit_s: float
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
    return m.routing.SolveFromAssignmentWithParameters(start, search_parameters(once, limit_s))


def exact_timing(m: Model, data: RoutingInput) -> ExactTiming:
    """The exact time rules of the built model ``m`` of ``data`` (the windows after the break
    rewrite, every hole kept; the rests with the boundary breaks), priced on ``data``."""
    return ExactTiming(data, all_starts(m)[0][: data.n_nodes], m.time.breaks[: data.n_vehicles])


def bound_routes(m: Model) -> list[list[int]] | None:
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
    return original(m, routes)
