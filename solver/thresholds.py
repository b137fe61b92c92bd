"""Every threshold of the solve's strategy in one table, with its default.

:class:`Thresholds` travels inside :class:`solver.params.SearchParams` (``thresholds``), so a
test or a benchmark that wants another value passes it instead of overwriting a module
global. The measurements behind the defaults are in docs/performance.md.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from solver.problem import ParamError

CONSTRUCTIONS = ("greedy", "insertion")


@dataclass(frozen=True)
class Thresholds:
    """The strategy's thresholds (see :mod:`solver.strategy`, :mod:`solver.search`,
    :mod:`solver.model` and :mod:`solver.decompose` for where each is read).

    Attributes
    ----------
    greedy_from_order_vehicle_pairs
        ``initial="auto"`` constructs a problem whose orders have several windows from this
        many orders × vehicles: below it OR-Tools' own first solution starts better, above
        it OR-Tools finds none within 10 s (1,000 orders / 100 vehicles).
    auto_construction
        What ``initial="auto"`` builds when it constructs: ``"greedy"`` or ``"insertion"``.
    insertion_from_limit_s
        Below this time limit ``"auto"`` builds with the append-only greedy: the insertion
        takes ~0.7 s at 1,000 × 100 and ~1.9 s at 2,000 × 200 and would eat the search.
    construct_from_orders
        From this many orders ``"auto"`` always constructs, whatever the windows (the
        insertion's ruin and recreate beats OR-Tools' own search by far there).
    plain_construct_from_orders
        From this many orders ``"auto"`` constructs a plain time-window problem
        (:func:`solver.strategy.is_plain`; its ruin and recreate runs compiled).
    callback_from_nodes
        ``matrix_registration="auto"`` registers matrices as a Python callback from this
        many nodes (model nodes, late twins included), as an OR-Tools matrix below.
    restore_s
        Most seconds a restore of given or constructed routes may take.
    search_min_s
        Least seconds left under a time limit for restoring the constructed (or given)
        routes into OR-Tools and searching from them; with less, the constructed routes are
        the plan: the restore and the search's start alone take 0.05-0.1 s at 1,000 orders, so
        the 2-s plans of 1,000 × 100 ran 3-5 % over their limit for a search of a few moves
        (docs/performance.md, "Anytime with everything merged").
    polish_moves
        Moves of the overtime polish under a solution limit.
    offer_every_s
        Least seconds between two search solutions timed for the incumbent.
    fill_share
        Share of the limit kept from the search for the final fill.
    offer_time_share
        Most share of the ruin and recreate's time spent offering its best routes to the
        incumbent as they improve (each is timed exactly: 0.15 s at 10,000 orders).
    field_construct_from_orders, field_insertion_from_limit_s
        ``"auto"`` builds a field problem (not plain: rests, deadlines, skills...) with the
        insertion construction and its compiled ruin and recreate from this many orders and
        this time limit, under a time limit only: on the demo (200 orders) it ended 3-6 times
        below OR-Tools' guided local search at every limit from 2 to 30 s, and unlike it, a
        longer limit did not end worse (docs/performance.md, "Anytime").
    cycle_moves_per_order
        The ruin and recreate of a field problem anneals in cycles of this many moves per
        order (doubling each cycle, each from the best routes so far) rather than over the
        clock, so its moves do not depend on the limit (:func:`solver.fastrr.improve`); 0:
        one anneal over the time (plain problems always).
    auto_from_orders
        ``parts=0`` decomposes from this many orders.
    first_share, first_min_s
        The decomposition's first phase on the whole model: this share of the limit, at least
        ``first_min_s`` seconds.
    final_share
        Share of the limit for the whole model from the decomposition's merged routes.
    orders_per_part, routes_per_part
        Automatic parts of about this many orders and at least this many routes each.
    part_s_per_order
        Seconds of search per order of a part (clamped to 1-5 s).
    construct_share
        Share of the search's limit, from its start, after which the insertion construction
        hurries (a solve under a time limit only, :func:`solver.bounded.construct`): the
        orders not yet placed one by one are placed by the compiled kernel. At 10,000 x
        1,000 the one-by-one placing alone outlasted the whole budget (docs/performance.md,
        "Scale").
    population_up_to_orders
        The population search (``SearchParams.population``) runs up to this many orders:
        measured on Solomon (100, better) and Gehring–Homberger 200 (even); at 1,000 an
        education of 30 moves per order takes seconds, too few generations (untested).
    """

    greedy_from_order_vehicle_pairs: int = 20_000
    auto_construction: str = "insertion"
    insertion_from_limit_s: float = 5.0
    construct_from_orders: int = 1000
    plain_construct_from_orders: int = 50
    callback_from_nodes: int = 200
    restore_s: float = 5.0
    search_min_s: float = 0.15
    polish_moves: int = 200
    offer_every_s: float = 0.25
    fill_share: float = 0.02
    field_construct_from_orders: int = 20
    field_insertion_from_limit_s: float = 1.0
    cycle_moves_per_order: int = 100
    auto_from_orders: int = 5000
    first_share: float = 0.05
    first_min_s: float = 2.0
    final_share: float = 0.25
    orders_per_part: int = 100
    routes_per_part: int = 6
    part_s_per_order: float = 0.015
    population_up_to_orders: int = 200
    construct_share: float = 0.5
    offer_time_share: float = 0.2

    def __post_init__(self) -> None:
        if self.auto_construction not in CONSTRUCTIONS:
            raise ParamError(
                "auto_construction",
                f"expected one of {CONSTRUCTIONS}, got {self.auto_construction!r}",
            )
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "auto_construction" and not value >= 0:
                raise ParamError(f.name, f"expected a number >= 0, got {value!r}")
        for name in (
            "fill_share",
            "first_share",
            "final_share",
            "construct_share",
            "offer_time_share",
        ):
            if not getattr(self, name) < 1:
                raise ParamError(name, f"expected a share below 1, got {getattr(self, name)!r}")
