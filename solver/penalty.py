"""Adaptive capacity penalties of the compiled ruin and recreate (:mod:`solver.fastrr`,
``SearchParams.cap_penalty``): the weight, its start and its adaptation.

Why: with every route within capacity, a recreate that needs room on a full route must find
another place or leave the order out, and a search on tightly loaded instances (Solomon C1,
R1 and RC1, Gehring–Homberger's type 1) moves between feasible plans through narrow passes.
Hybrid genetic search (Vidal et al. 2012; PyVRP's ``PenaltyManager``) lets the search cross
the infeasible space at a price: a placement may load a vehicle past its capacity at
``weight`` times the added excess load, the annealing accepts on the penalised cost, and the
weight adapts so that about :data:`TARGET` of the results are within capacity — too few:
dearer (x :data:`UP`), too many: cheaper (x :data:`DOWN`). The best plan the kernel keeps is
always within capacity. Only capacity is relaxed: the timing stays exact (docs/performance.md,
"Search: population and SISR", says why there is no time-warp relaxation).

The weight travels as a small float array (:func:`weights`; :data:`W` ... :data:`EVERY`) that
the kernel reads and adapts in place, so it carries over from one call (one education of the
population) to the next, as PyVRP's penalty manager carries over its whole search.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import numpy as np

from solver.fastrr_problem import BIG, Problem, njit

TARGET = 0.45  # share of the recreates' results within capacity the weight aims at (PyVRP: 0.43)
SLACK = 0.05  # no change while the share is within TARGET +- SLACK
UP = 1.25  # too few within capacity: the weight times this
DOWN = 0.85  # too many: times this
EVERY_RECREATES = 100  # recreates between two adaptations
SPAN = 100.0  # the weight stays within [start / SPAN, start * SPAN]

# The kernel's penalty array: the weight, the target share, its bounds, recreates per update.
W, TGT, LO, HI, EVERY = range(5)


def start_weight(P: Problem, orders: np.ndarray) -> float:
    """The weight a search starts from: one mean arc cost between orders per mean demand
    of an order (an excess of one typical order costs one typical arc); 0 where no
    capacity can bind (no vehicle with a capacity, or no order with a demand)."""
    orders = np.asarray(orders, dtype=np.int64)
    demand = P.demand[orders]
    if orders.size < 2 or not (demand > 0).any() or not (P.capacity < BIG).any():
        return 0.0
    sample = orders[:: max(1, orders.size // 300)]  # a few hundred orders are mean enough
    arcs = P.arc[np.ix_(sample, sample)]
    mean_arc = float(arcs.sum()) / max(1, sample.size * (sample.size - 1))
    return max(mean_arc, 1.0) / float(demand[demand > 0].mean())


def weights(P: Problem, orders: np.ndarray) -> np.ndarray:
    """The kernel's penalty array for ``P`` (:func:`start_weight`); its weight 0 (off)
    where no capacity can bind."""
    w = start_weight(P, orders)
    return np.asarray([w, TARGET, w / SPAN, w * SPAN, EVERY_RECREATES], dtype=np.float64)


def off() -> np.ndarray:
    """The penalty array of a search without relaxation (weight 0: every route within
    capacity, the kernel's moves exactly as without penalties)."""
    return np.zeros(5, dtype=np.float64)


@njit
def adapt(w, feasible, counted, target, lo, hi):  # type: ignore[no-untyped-def]
    """The next weight after ``counted`` recreates of which ``feasible`` were within
    capacity: dearer if fewer than ``target`` (less :data:`SLACK`) were, cheaper if more
    (plus :data:`SLACK`), within [lo, hi]."""
    if counted <= 0:
        return w
    share = feasible / counted
    if share < target - SLACK:
        w *= UP
    elif share > target + SLACK:
        w *= DOWN
    return min(hi, max(lo, w))


@njit
def price(w, excess):  # type: ignore[no-untyped-def]
    """The penalty of ``excess`` load over capacity (0 for none) at weight ``w``."""
    if excess <= 0:
        return 0
    return int(w * excess)
