"""Late twins without matrix copies: the model reads the order's row and column through the
twins' source map, and every arc cost and transit it registers equals the dense expansion's."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from solver.model import build
from solver.params import SearchParams
from solver.problem import NO_DEADLINE, RoutingInput
from solver.twins import late_twins, with_late_twins, without_twins


def mixed_input(with_vehicle_cost: bool = False) -> RoutingInput:
    """2 vehicles (nodes 0-1 start, 2-3 end), orders 4-9 on a line 0, 7, 19, 30, 44, 52 km.

    Deadlines 50 with windows: order 4 [0, 100] can be late (twin), order 5 [60, 100] cannot
    be on time (breach on the arcs into it), order 6 [0, 40] cannot be late (no twin), order 7
    has no deadline, order 8 [0, 200] can be late (twin), order 9 no breach cost.
    """
    pos = [0, 3, 0, 3, 0, 7, 19, 30, 44, 52]
    n = len(pos)
    travel = np.asarray([[abs(a - b) * 10 for b in pos] for a in pos], dtype=np.int64)
    arc = travel * 3 + 1
    np.fill_diagonal(arc, 0)
    deadline = np.full(n, NO_DEADLINE, dtype=np.int64)
    deadline[[4, 5, 6, 8, 9]] = 50
    windows: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    windows[4], windows[5], windows[6], windows[8] = [(0, 100)], [(60, 100)], [(0, 40)], [(0, 200)]
    breach = np.asarray([0, 0, 0, 0, 700, 800, 900, 1000, 1100, 0], dtype=np.int64)
    vnc = None
    if with_vehicle_cost:
        vnc = np.zeros((2, n), dtype=np.int64)
        vnc[1, [4, 8]] = 55
    return RoutingInput(
        travel_s=travel,
        arc_cost=arc,
        service_s=np.asarray([0, 0, 0, 0, 5, 6, 7, 8, 9, 10], dtype=np.int64),
        starts=[0, 1],
        ends=[2, 3],
        start_min_s=[0, 0],
        start_max_s=[0, 0],
        horizon_s=1000,
        windows=windows,
        allowed_vehicles=[None] * n,
        drop_penalty=np.full(n, 10**6, dtype=np.int64),
        deadline_s=deadline,
        late_cost_per_s=np.where(deadline != NO_DEADLINE, 2, 0).astype(np.int64),
        breach_cost=breach,
        vehicle_node_cost=vnc,
    )


def test_lean_twins_read_the_dense_expansion_through_the_source_map() -> None:
    data = mixed_input()
    dense, twins = with_late_twins(data)
    lean, same = late_twins(data)
    assert twins is not None and same is not None and twins.late == same.late == {4: 10, 8: 11}
    assert lean.travel_s is data.travel_s and lean.arc_cost is data.arc_cost  # no copy
    assert lean.n_nodes == dense.n_nodes == 12
    src = np.asarray(lean.node_source)
    assert (lean.travel_s[np.ix_(src, src)] == dense.travel_s).all()
    assert (lean.arc_cost[np.ix_(src, src)] + twins.arc_into[None, :] == dense.arc_cost).all()
    # The breach on the arcs into: the twins (10, 11) and the order that cannot be on time (5).
    assert twins.arc_into.tolist() == [0, 0, 0, 0, 0, 800, 0, 0, 0, 0, 700, 1100]


@pytest.mark.parametrize("registration", ["matrix", "callback"])
@pytest.mark.parametrize("with_vehicle_cost", [False, True])
def test_model_registers_the_dense_arc_costs_and_transits(
    registration: str, with_vehicle_cost: bool
) -> None:
    data = mixed_input(with_vehicle_cost)
    dense, _ = with_late_twins(data)
    m = build(data, SearchParams(matrix_registration=registration))
    assert m.registration == registration and m.data.node_source is not None
    m.routing.CloseModel()  # OR-Tools answers arc costs of a closed model only
    size = m.routing.Size() + m.routing.vehicles()
    node = [m.manager.IndexToNode(i) for i in range(size)]
    assert m.time_dim is not None
    for v in range(2):
        for i in range(m.routing.Size()):
            for j in range(size):
                if i == j or m.routing.IsStart(j) or (m.routing.IsStart(i) and m.routing.IsEnd(j)):
                    continue  # no arc (OR-Tools prices an unused vehicle's start-end at 0)
                a, b = node[i], node[j]
                extra = 0 if dense.vehicle_node_cost is None else dense.vehicle_node_cost[v, b]
                assert m.routing.GetArcCostForVehicle(i, j, v) == dense.arc_cost[a, b] + extra
                assert m.time_dim.GetTransitValue(i, j, v) == (
                    dense.travel_s[a, b] + dense.service_s[a]
                )
    m.release()


def test_constructions_see_the_orders_alone_with_the_same_costs() -> None:
    data = mixed_input()
    lean, twins = late_twins(data)
    assert twins is not None
    visit = np.tile(lean.service_s, (2, 1))
    cut, cut_visit = without_twins(twins, replace(lean, breach_cost=np.zeros(12, np.int64)), visit)
    assert cut.n_nodes == data.n_nodes == 10 and cut_visit.shape == (2, 10)
    assert cut.node_source is None and cut.travel_s is data.travel_s
    # The order that cannot be on time carries its breach itself, not on the arcs into it.
    assert cut.breach_cost is not None and cut.breach_cost.tolist()[5] == 800
