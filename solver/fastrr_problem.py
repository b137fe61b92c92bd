"""The problem as :mod:`solver.fastrr`'s compiled moves read it: :class:`Problem` and its
builder :func:`problem` (re-exported by :mod:`solver.fastrr`; here to keep that module under
the size limit).

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

BIG = np.iinfo(np.int64).max // 4

# The compiled moves' decorator, for every module of them (numba is a dependency; without it
# the Python moves run, slower, with results of the same kind).
try:
    import numba

    njit = numba.njit(cache=True, nogil=True)
    AVAILABLE = True
except ImportError:  # pragma: no cover - numba missing
    AVAILABLE = False

    def njit(f):  # type: ignore[no-untyped-def]
        return f


class Problem(NamedTuple):
    """The problem as the kernel reads it (:func:`problem` builds it).

    Every array is C-contiguous (int64, or bool for ``allowed`` and ``exact``), so the
    kernel compiles one signature whatever the caller passed. Windows, rests and overtime
    bands are CSR rows: ``ptr[k] .. ptr[k + 1]`` index the flat columns of row ``k``.
    """

    travel: np.ndarray  # [n, n] travel seconds
    arc: np.ndarray  # [n, n] arc costs
    service: np.ndarray  # [n] service seconds
    wptr: np.ndarray  # [n + 1] windows per node (CSR pointers) ...
    wa: np.ndarray  # ... their starts
    wb: np.ndarray  # ... their ends
    horizon: int
    starts: np.ndarray  # [v] start node
    ends: np.ndarray  # [v] end node
    start_min: np.ndarray  # [v] shift start
    capacity: np.ndarray  # [v] (BIG: none)
    demand: np.ndarray  # [n] (0: none)
    rptr: np.ndarray  # [v + 1] rests per vehicle (CSR pointers) ...
    rs: np.ndarray  # ... their starts
    rd: np.ndarray  # ... their durations
    visit: np.ndarray  # [v, n] visit lengths
    bounds: np.ndarray  # boundaries, sorted
    deadline: np.ndarray  # [n] (BIG: none)
    late_cost: np.ndarray  # [n] per second late
    breach: np.ndarray  # [n] once late
    vnc: np.ndarray  # [v, n] vehicle-node costs
    allowed: np.ndarray  # [v, n] bool: vehicle may serve node
    bptr: np.ndarray  # [v + 1] overtime bands per vehicle (CSR pointers) ...
    bs: np.ndarray  # ... their starts
    be: np.ndarray  # ... their ends
    bc: np.ndarray  # ... band seconds before each band of its vehicle
    ot_per_hour: int  # overtime price of an hour
    exact: np.ndarray  # [v] bool: a place's check from the latest starts is exact


def _csr(rows: Sequence[Sequence[tuple[int, int]]], n: int) -> tuple[np.ndarray, ...]:
    """Per-row sorted (a, b) pairs as pointers and two flat columns (``n`` rows)."""
    rows = list(rows) + [[]] * (n - len(rows))
    ptr = np.zeros(n + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(r) for r in rows])
    flat = [ab for r in rows for ab in sorted(r)]
    return (
        ptr,
        np.asarray([a for a, _ in flat], dtype=np.int64),
        np.asarray([b for _, b in flat], dtype=np.int64),
    )


def problem(
    travel: np.ndarray,
    arc: np.ndarray,
    service: np.ndarray,
    windows: Sequence[Sequence[tuple[int, int]]],
    horizon: int,
    starts: Sequence[int],
    ends: Sequence[int],
    start_min: Sequence[int],
    capacity: Sequence[int] | np.ndarray | None,
    demand: np.ndarray | None,
    *,
    rests: Sequence[Sequence[tuple[int, int]]] = (),
    visit: np.ndarray | Sequence[Sequence[int]] | None = None,
    boundaries: Sequence[int] = (),
    deadline: np.ndarray | None = None,
    late_cost: np.ndarray | None = None,
    breach: np.ndarray | None = None,
    vehicle_node_cost: np.ndarray | None = None,
    allowed: Sequence[Sequence[int] | None] | None = None,
    bands: Sequence[Sequence[tuple[int, int]]] = (),
    overtime_per_hour: int = 0,
) -> Problem:
    """The problem as the kernel's :class:`Problem`.

    ``windows``: each node's windows (a node without gets ``[0, horizon]``); ``rests``: per
    vehicle, its (start, duration) pauses, boundaries included (as
    :func:`solver.timing.vehicle_rests`); ``visit``: visit lengths per vehicle and node
    (default the service); ``boundaries``: where a vehicle without rests pauses one second;
    ``deadline``: BIG or above for none; ``allowed``: per node the vehicles that may serve
    it (None: any); ``bands``: per vehicle its overtime bands."""
    i64 = np.int64
    n, n_v = int(travel.shape[0]), len(starts)
    wptr, wa, wb = _csr([w if w else [(0, int(horizon))] for w in windows], n)
    rptr, rs, rd = _csr(rests, n_v)
    if visit is None:
        visit_m = np.broadcast_to(np.asarray(service, dtype=i64), (n_v, n))
    else:
        visit_m = np.asarray(visit, dtype=i64)
        if visit_m.ndim == 1:
            visit_m = np.broadcast_to(visit_m, (n_v, n))
    allowed_m = np.ones((n_v, n), dtype=np.bool_)
    for node, vs in enumerate(allowed or ()):
        if vs is not None:
            allowed_m[:, node] = False
            allowed_m[list(vs), node] = True
    use_bands = [b if overtime_per_hour else [] for b in bands]
    bptr, bs, be = _csr(use_bands, n_v)
    bc = np.zeros(bs.size, dtype=i64)
    for v in range(n_v):
        lo, hi = int(bptr[v]), int(bptr[v + 1])
        if hi > lo:
            bc[lo + 1 : hi] = np.cumsum(be[lo : hi - 1] - bs[lo : hi - 1])
    dl = np.full(n, BIG, dtype=i64) if deadline is None else np.minimum(deadline, BIG)
    no_bounds = len(boundaries) == 0
    no_deadlines = bool((dl >= BIG).all())
    exact = np.asarray(
        [
            rptr[v + 1] == rptr[v] and bptr[v + 1] == bptr[v] and no_bounds and no_deadlines
            for v in range(n_v)
        ],
        dtype=np.bool_,
    )
    zeros = np.zeros(n, dtype=i64)
    return Problem(
        travel=np.ascontiguousarray(travel, dtype=i64),
        arc=np.ascontiguousarray(arc, dtype=i64),
        service=np.ascontiguousarray(service, dtype=i64),
        wptr=wptr,
        wa=wa,
        wb=wb,
        horizon=int(horizon),
        starts=np.ascontiguousarray(starts, dtype=i64),
        ends=np.ascontiguousarray(ends, dtype=i64),
        start_min=np.ascontiguousarray(start_min, dtype=i64),
        capacity=np.full(n_v, BIG, dtype=i64)
        if capacity is None
        else np.ascontiguousarray(capacity, dtype=i64),
        demand=zeros if demand is None else np.ascontiguousarray(demand, dtype=i64),
        rptr=rptr,
        rs=rs,
        rd=rd,
        visit=np.ascontiguousarray(visit_m),
        bounds=np.ascontiguousarray(sorted(boundaries), dtype=i64),
        deadline=np.ascontiguousarray(dl, dtype=i64),
        late_cost=zeros if late_cost is None else np.ascontiguousarray(late_cost, dtype=i64),
        breach=zeros if breach is None else np.ascontiguousarray(breach, dtype=i64),
        vnc=np.zeros((n_v, n), dtype=i64)
        if vehicle_node_cost is None
        else np.ascontiguousarray(vehicle_node_cost, dtype=i64),
        allowed=allowed_m,
        bptr=bptr,
        bs=bs,
        be=be,
        bc=bc,
        ot_per_hour=int(overtime_per_hour),
        exact=exact,
    )
