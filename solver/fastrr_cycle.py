"""The annealing schedule of the ruin and recreate's last seconds: cooled by the clock.

:func:`solver.fastrr.improve` anneals in cycles of a fixed number of moves (so that a longer
limit makes the same moves first). A cycle the clock cuts off ends at the temperature it had
reached; with a cool share, the last seconds of the limit instead start again from the best
routes and cool by the clock from that temperature to the coldest (:func:`fit_to_clock`), so
the search ends with a descent on its best routes.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations


def fit_to_clock(
    p0: float, dp: float, p_from: float, into_s: float, span_s: float, rate: float
) -> tuple[float, float]:
    """The annealing progress (``p0`` now, ``dp`` a move) of moves ``into_s`` seconds into a
    tail of ``span_s`` seconds (its start to the limit) that cools by the clock from the
    progress ``p_from`` to 1, at ``rate`` moves a second: whichever of the two is further
    along. Both only grow, so the temperature never rises within the tail."""
    if span_s <= 0 or rate <= 0:
        return p0, dp
    by_clock = p_from + (1.0 - p_from) * min(1.0, into_s / span_s)
    if by_clock <= p0:
        return p0, dp
    return by_clock, max(dp, (1.0 - p_from) / (rate * span_s))
