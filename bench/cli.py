"""``dispatch bench``: every benchmark under one command (entry point ``dispatch.commands``).

pyproject: ``[project.entry-points."dispatch.commands"]`` ``bench = "bench.cli:register"``.
"""

from __future__ import annotations

import argparse

from bench import anytime, field, kpis, moves, osrm_matrix, quote, replan, scale, vrptw


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Add ``bench vrptw``, ``bench field`` and ``bench anytime`` to the ``dispatch`` CLI.

    Parameters
    ----------
    subparsers
        The top-level sub-parsers of the ``dispatch`` CLI.

    Returns
    -------
    argparse._SubParsersAction
        The nested ``bench`` sub-parsers.
    """
    nested = vrptw.register(subparsers)
    field.register(subparsers)
    anytime.register(subparsers)
    replan.register(subparsers)
    quote.register(subparsers)
    kpis.register(subparsers)
    osrm_matrix.register(subparsers)
    moves.register(subparsers)
    scale.register(subparsers)
    return nested
