"""Late twins: a fixed cost per breached deadline, in a model whose soft bounds are linear.

This module imports nothing from ``dispatcher`` or ``api``, and nothing of OR-Tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

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
    arc_into
        ``[n + twins]`` the cost on every arc into the node: a twin's breach cost, and that of
        an order that cannot be on time at all (it gets no twin).
    n_orig
        Nodes of the input before the twins (``source`` of the first ``n_orig`` is
        ``0 .. n_orig - 1``).
    """

    late: dict[int, int]
    source: np.ndarray
    deadline_s: np.ndarray
    breach_cost: np.ndarray
    arc_into: np.ndarray

    @property
    def n_orig(self) -> int:
        return len(self.source) - len(self.late)

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
    """``data`` with a late twin for each order that has a deadline and a breach cost, and
    ``[n + twins]`` matrices of its own (:func:`late_twins` keeps the ``[n, n]`` ones).

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
    lean, twins = late_twins(data)
    if twins is None:
        return data, None
    ix = np.ix_(twins.source, twins.source)
    return replace(
        lean,
        travel_s=data.travel_s[ix],
        arc_cost=data.arc_cost.astype(np.int64)[ix] + twins.arc_into[None, :],
        node_source=None,
    ), twins


def late_twins(data: RoutingInput) -> tuple[RoutingInput, Twins | None]:
    """:func:`with_late_twins` without copying a matrix: the expanded input reads ``data``'s
    own ``[n, n]`` ``travel_s`` and ``arc_cost`` through ``node_source`` (a twin reads its
    order's row and column), and the breach cost on the arcs into a node is
    :attr:`Twins.arc_into`. At 5,000 orders / 500 engineers the dense copies were 2 x 0.8 GB.
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
    arc_into = np.zeros(len(source), dtype=np.int64)
    twin_nodes = np.arange(n, n + len(late_on))
    arc_into[twin_nodes] = cost[source[twin_nodes]].astype(np.int64)
    if always_late:
        arc_into[always_late] = cost[always_late].astype(np.int64)
    deadline = data.deadline_s.astype(np.int64)[source]
    late_cost = data.late_cost_per_s.astype(np.int64)[source]
    windows = [list(data.windows[int(i)]) for i in source]
    for node, cut in on_time_windows.items():
        windows[node] = cut
        deadline[node] = NO_DEADLINE  # hard now: no soft bound on the on-time node
        late_cost[node] = 0
    expanded = RoutingInput(
        travel_s=data.travel_s,
        arc_cost=data.arc_cost,
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
        node_source=source,
    )
    twins = Twins(
        late={int(node): n + k for k, node in enumerate(late_on)},
        source=source,
        deadline_s=data.deadline_s.astype(np.int64)[source],
        breach_cost=cost.astype(np.int64)[source],
        arc_into=arc_into,
    )
    return expanded, twins


def without_twins(
    twins: Twins, data: RoutingInput, visit: np.ndarray
) -> tuple[RoutingInput, np.ndarray]:
    """``data`` (an input expanded by :func:`late_twins`, twins switched off as the
    constructions take it) and its ``[vehicles, nodes]`` visit lengths cut back to the nodes
    before the twins, with ``data``'s own ``[n, n]`` matrices.

    The breach of an order that cannot be on time, which the expanded input puts on the arcs
    into it (:attr:`Twins.arc_into`), becomes its ``breach_cost``: every start of it is
    late, so the construction charges it exactly once per visit, as the arcs did.
    """
    n = twins.n_orig

    def cut(x: np.ndarray | None) -> np.ndarray | None:
        return None if x is None else x[..., :n]

    breach = np.zeros(n, dtype=np.int64) if data.breach_cost is None else data.breach_cost[:n]
    return replace(
        data,
        service_s=data.service_s[:n],
        windows=list(data.windows[:n]),
        allowed_vehicles=list(data.allowed_vehicles[:n]),
        drop_penalty=data.drop_penalty[:n],
        deadline_s=data.deadline_s[:n],
        late_cost_per_s=data.late_cost_per_s[:n],
        vehicle_node_cost=cut(data.vehicle_node_cost),
        demand=cut(data.demand),
        breach_cost=breach + twins.arc_into[:n],
        target_s=cut(data.target_s),
        retime_cost_per_hour=cut(data.retime_cost_per_hour),
        node_source=None,
    ), visit[:, :n]
