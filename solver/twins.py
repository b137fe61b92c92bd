"""Late twins: a fixed cost per breached deadline, in a model whose soft bounds are linear.

This module imports nothing from ``dispatcher`` or ``api``, and nothing of OR-Tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solver.problem import NO_DEADLINE, RoutingInput


@dataclass(frozen=True)
class Twins:
    """Late twins appended to a :class:`RoutingInput` (see :func:`with_late_twins`).

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


def starts_by(
    data: RoutingInput, node: int, deadline: int
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The node's allowed start intervals, and the part of them by ``deadline``."""
    wins = [(int(a), int(b)) for a, b in data.windows[node]] or [(0, data.horizon_s)]
    return wins, [(a, min(b, deadline)) for a, b in wins if a <= deadline]


def with_late_twins(data: RoutingInput) -> tuple[RoutingInput, Twins | None]:
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
        wins, cut = starts_by(data, node, dl)
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
    twins = Twins(
        late={int(node): n + k for k, node in enumerate(late_on)},
        source=source,
        deadline_s=data.deadline_s.astype(np.int64)[source],
        breach_cost=cost.astype(np.int64)[source],
    )
    return expanded, twins
