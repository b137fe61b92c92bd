"""The annealing schedule of a ruin-and-recreate cycle that cannot end by its moves.

:func:`solver.fastrr.improve` anneals in cycles of a fixed number of moves (so that a longer
limit makes the same moves first); a cycle the clock would cut off is cooled by the clock
instead (:func:`fit_to_clock`), so the search ends cold at its limit.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations


def fit_to_clock(
    p0: float, dp: float, into_s: float, span_s: float, rate: float
) -> tuple[float, float]:
    """The annealing progress of a cycle (``p0`` now, ``dp`` a move) cooled by the clock
    where that is further along: ``into_s`` seconds into the cycle's ``span_s`` (its start
    to the limit) at ``rate`` moves a second. Both progresses only grow, so their maximum
    does, and the temperature never rises within a cycle."""
    if span_s <= 0 or rate <= 0:
        return p0, dp
    by_clock = into_s / span_s
    if by_clock <= p0:
        return p0, dp
    return by_clock, max(dp, 1.0 / (rate * span_s))
