"""The strings of :mod:`solver.fastrr`'s ruin (SISR, slack induction by string removals,
Christiaens & Vanden Berghe 2020): :func:`cut_string`, compiled, here to keep that module
under the size limit.

A string is a run of consecutive visits of one route through a given visit; a *split*
string (``split_share`` of them) spans more visits and keeps one or more consecutive ones in
its middle, so a move can take visits out on both sides of a few that stay. The kernel cuts
one string from each route of a seed order's nearest served neighbours in turn (adjacent
routes) until enough visits are out.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import numpy as np

from solver.fastrr_problem import njit

SPLIT_SHARE = 0.5  # with SISR on (Insertion.sisr): strings that keep visits in their middle
BLINK = 0.01  # with SISR on: the chance an insertion skips a place


@njit
def cut_string(R, v, n, k, max_string, split_share, tmp, seg):  # type: ignore[no-untyped-def]
    """A string of route ``v`` (its ``n`` visits in ``R[v]``) through position ``k``: up to
    ``max_string`` visits (uniform), with chance ``split_share`` (and 2 to n - 1 visits) a
    split string keeping 1, 2, ... (each next with chance 1/2) visits strictly inside it.
    The visits that stay go to ``tmp`` and the string's to ``seg``, in route order; returns
    (visits that stay, visits in the string). ``R`` is not changed."""
    length = np.random.randint(1, min(n, max_string) + 1)
    m_kept = 0
    if split_share > 0.0 and 1 < length < n and np.random.random() < split_share:
        m_kept = 1
        while m_kept < n - length and np.random.random() < 0.5:
            m_kept += 1
    span = length + m_kept
    a = max(0, min(k - np.random.randint(0, span), n - span))
    o = a + np.random.randint(1, length) if m_kept > 0 else a + span  # the block that stays
    keep, cut = 0, 0
    for q in range(n):
        if q < a or q >= a + span or o <= q < o + m_kept:
            tmp[keep] = R[v, q]
            keep += 1
        else:
            seg[cut] = R[v, q]
            cut += 1
    return keep, cut
