"""How long and how to search: :class:`SearchParams`, validated on creation.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf import text_format
from ortools import __version__ as _ortools_version
from ortools.constraint_solver import pywrapcp, routing_enums_pb2, solver_parameters_pb2

from solver.problem import ParamError
from solver.thresholds import Thresholds

SOLVER_VERSION: str = _ortools_version  # the OR-Tools release the plans are made with

INITIAL_STRATEGIES = ("ortools", "greedy", "insertion", "auto")
FIRST_SOLUTIONS: tuple[str, ...] = tuple(routing_enums_pb2.FirstSolutionStrategy.Value.keys())
METAHEURISTICS: tuple[str, ...] = tuple(routing_enums_pb2.LocalSearchMetaheuristic.Value.keys())
MATRIX_REGISTRATIONS = ("auto", "matrix", "callback")
TRAIL_COMPRESSIONS: tuple[str, ...] = tuple(
    solver_parameters_pb2.ConstraintSolverParameters.TrailCompression.keys()
)
START_METHODS = ("spawn", "forkserver", "fork")
# A Ray address: "local", "auto", "HOST:PORT" (the head's GCS) or "ray://HOST:PORT" (Ray Client).
CLUSTER_ADDRESS = re.compile(r"(?:ray://)?[^\s:/]+:[0-9]{1,5}")


@dataclass(frozen=True)
class SearchParams:
    """How long and how to search.

    ``solution_limit`` bounds the search by count (deterministic; used by tests);
    ``time_limit_s`` by wall time. Strategy names are OR-Tools enum names. Every field
    after ``log_search`` is optional and defaults to OR-Tools' own behaviour, except
    ``initial`` (see below).

    Attributes
    ----------
    time_limit_s
        Wall-time bound of the search (the model build is not included).
    solution_limit
        Stop after this many solutions (deterministic; the first solution counts).
    first_solution, metaheuristic
        OR-Tools ``FirstSolutionStrategy`` / ``LocalSearchMetaheuristic`` names.
    log_search
        OR-Tools search log on stderr.
    initial
        Where the first solution comes from: ``"ortools"`` (the ``first_solution``
        heuristic), ``"greedy"`` (:func:`solver.greedy.greedy_routes`, then local search
        from it; falls back to ``"ortools"`` if OR-Tools rejects the routes), ``"insertion"``
        (:func:`solver.insertion.insertion_routes`, the same way) or ``"auto"``
        (by problem shape, see :func:`solver.strategy.wants_greedy`).
    gls_lambda
        ``guided_local_search_lambda_coefficient`` (OR-Tools default 0.1).
    ls_neighbors_ratio, ls_min_neighbors
        Restrict local-search operators to the nearest neighbours (default: all).
    iterated_local_search
        ``use_iterated_local_search`` (ruin-and-recreate perturbations), OR-Tools 9.12+.
    cumul_scheduling
        True lets OR-Tools schedule cumuls with its LP/MIP optimizers (its default). Off by
        default here (``disable_scheduling_beware_this_may_degrade_performance``): the
        model's only cumul costs are soft upper bounds, which earliest times already
        minimise, and with breaks the MIP scheduler rejected feasible starting routes
        (2,000 orders / 200 engineers: no plan at all; docs/performance.md).
    lns_time_limit_s
        Time limit of each LNS sub-search (OR-Tools default 0.1 s).
    extra
        RoutingSearchParameters text proto merged last (experiments; see the bench CLI).
    holes_as_breaks
        Model window holes before common boundaries as one-second breaks
        (solver/timemodel.py) instead of holes in the cumul domain.
    workers
        Number of searches run in parallel, one process each (:mod:`solver.portfolio`);
        1 (the default) searches in the calling process only.
    parts
        Decomposition (:mod:`solver.decompose`): after a first phase on the whole model,
        rounds that improve groups of nearby routes in parallel processes, then the whole
        model again. 1 (the default) never splits; 2 or more: that many parts; 0: automatic
        (from 1,000 orders, about 100 orders per part; docs/performance.md, "Route-based
        decomposition").
    on_time_phase
        Share of the time limit spent first on a model with every deadline hard
        (:func:`solver.phases.on_time_only`: the most orders on time, as VROOM plans), whose routes then
        start the search on the whole objective. 0 (the default): one phase.
    recreate_share
        Share of the time limit the insertion construction spends on ruin and recreate
        (:meth:`solver.insertion.Insertion.improve`) before the local search starts from
        its routes; not used under a solution limit (it is bounded by time only). 0.75 by
        default: at 1,000 orders / 100 engineers, 60 s, shares 0.25 / 0.5 / 0.8 gave
        objectives 2.52e10 / 2.39e10 / 2.35e10 (docs/performance.md, "Ruin and recreate").
    given_only
        Keep the given starting routes (``initial_routes``): time and repair them, then
        insert every order they leave out where it fits (the final fill), and nothing else
        — no construction, no search. A re-plan that must not move what it need not move
        (``dispatcher.planner``, incremental mode, nothing changed but new orders).
    recreate_given
        Also run the ruin and recreate on given starting routes (``initial_routes`` of
        :func:`solver.routing.solve`) before the local search: the parts of the decomposition do.
    polish_share
        On a problem with priced overtime bands, the share of the limit (3 %) for a ruin and
        recreate around the visits with overtime of the search's plan (:func:`solver.search.solve_one`) where none
        ran before the search, which cannot price overtime. 10 % cost the demo's 10-s plan
        on-time orders (the search's last second) and found nothing better there; from any
        order, on every problem, it lost on 12 Solomon instances (2.68 % against 1.85 %);
        docs/performance.md, "Overtime priced". Under a solution limit it runs a fixed number
        of moves. 0: none.
    seed
        Seed of the ruin and recreate's random choices (the same seed, problem and move
        count give the same routes); the portfolio gives its second worker the next one.
    matrix_registration
        How matrices reach OR-Tools (:mod:`solver.model`): ``"matrix"`` =
        ``RegisterTransitMatrix`` (no Python in the search loop, but the OR-Tools 9.15 wheel
        copies the captured matrix on every evaluation: 45 % of the profile at 1,000
        orders), ``"callback"`` = a Python callable over a flat int64 array (one Python call
        per evaluation, no copy; 7x more local-search moves per second at 1,000 orders) or
        ``"auto"`` = the matrix below ``thresholds.callback_from_nodes`` nodes, the callback
        from there on (docs/performance.md).
    trail_compression
        Trail compression of the CP solver: ``"NO_COMPRESSION"`` (see
        :func:`solver.model.model_parameters`) or OR-Tools' default ``"COMPRESS_WITH_ZLIB"``.
    start_method
        ``multiprocessing`` start method of the portfolio's and the decomposition's
        processes; ``"spawn"`` because OR-Tools is not fork-safe once its solver exists.
    population
        Individuals of the population search (:mod:`solver.population`: SREX crossover,
        broken-pairs diversity, each child educated by the compiled ruin and recreate) that
        replaces the one anneal of the ruin and recreate where it anneals over the clock
        (:func:`solver.strategy.population_size`: plain problems up to
        ``thresholds.population_up_to_orders`` orders); 0: one anneal. 6 by default: on the
        8 hard Solomon instances at equal moves (150,000, 3 seeds) it ended below the one
        anneal in 17 of 24 runs and above in 3, mean ratio 0.9967; side by side at 10 s on a
        loaded machine 0.9992, 0.9989 and 1.0013 (noise of the load), on Gehring–Homberger
        200 at 20 s 0.99995 (docs/performance.md, "Search: population and SISR").
    sisr
        The compiled ruin and recreate with SISR's split strings (half the strings keep
        visits in their middle), blinks (an insertion skips 1 % of the places) and strings
        up to half the mean route (:meth:`solver.insertion.Insertion._max_string`).
    cap_penalty
        The population search's educations (:mod:`solver.population`) may load a vehicle
        past its capacity at an adaptive price per unit of excess load (:mod:`solver.penalty`:
        hybrid genetic search's penalties, the weight aiming at 45 % of the results within
        capacity); the plans kept are always within capacity. Off by default
        (docs/performance.md, "Search: population and SISR").
    thresholds
        The strategy's thresholds (:class:`solver.thresholds.Thresholds`).
    cluster
        Where the parts of a decomposition run (:mod:`solver.cluster`): ``None`` (the
        default), a local process pool of ``max(2, workers)`` processes; else a Ray address,
        the parts then run as Ray tasks of one CPU each, so that a cluster of several machines
        improves more parts at once than one machine can: ``"local"`` (a Ray instance
        started in this process on this machine's cores), ``"auto"`` (the cluster this
        machine belongs to), ``"HOST:PORT"`` (a head node's GCS) or ``"ray://HOST:PORT"``
        (Ray Client). Only the decomposition uses it; everything else runs where it did.
    """

    time_limit_s: float = 10.0
    solution_limit: int | None = None
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    log_search: bool = False
    initial: str = "auto"
    gls_lambda: float | None = None
    ls_neighbors_ratio: float | None = None
    ls_min_neighbors: int | None = None
    iterated_local_search: bool = False
    cumul_scheduling: bool = False
    lns_time_limit_s: float | None = None
    extra: str = ""
    holes_as_breaks: bool = True
    workers: int = 1
    parts: int = 1
    on_time_phase: float = 0.0
    recreate_share: float = 0.75
    recreate_given: bool = False
    given_only: bool = False
    polish_share: float = 0.03
    seed: int = 0
    matrix_registration: str = "auto"
    trail_compression: str = "NO_COMPRESSION"
    start_method: str = "spawn"
    thresholds: Thresholds = Thresholds()
    population: int = 6
    sisr: bool = False
    cluster: str | None = None
    cap_penalty: bool = False

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ParamError(
                "time_limit_s", f"expected a positive number, got {self.time_limit_s!r}"
            )
        if self.solution_limit is not None and self.solution_limit < 1:
            raise ParamError(
                "solution_limit", f"expected a positive integer, got {self.solution_limit!r}"
            )
        if self.first_solution not in FIRST_SOLUTIONS:
            raise ParamError("first_solution", f"unknown strategy {self.first_solution!r}")
        if self.metaheuristic not in METAHEURISTICS:
            raise ParamError("metaheuristic", f"unknown metaheuristic {self.metaheuristic!r}")
        if self.initial not in INITIAL_STRATEGIES:
            raise ParamError(
                "initial", f"expected one of {INITIAL_STRATEGIES}, got {self.initial!r}"
            )
        if not (isinstance(self.workers, int) and self.workers >= 1):
            raise ParamError("workers", f"expected a positive integer, got {self.workers!r}")
        if not 0 <= self.on_time_phase < 1:
            raise ParamError(
                "on_time_phase", f"expected a share in [0, 1), got {self.on_time_phase!r}"
            )
        if not 0 <= self.polish_share < 1:
            raise ParamError(
                "polish_share", f"expected a share in [0, 1), got {self.polish_share!r}"
            )
        if not 0 <= self.recreate_share < 1:
            raise ParamError(
                "recreate_share", f"expected a share in [0, 1), got {self.recreate_share!r}"
            )
        if not (isinstance(self.parts, int) and self.parts >= 0):
            raise ParamError(
                "parts", f"expected 0 (automatic) or a positive integer, got {self.parts!r}"
            )
        if self.gls_lambda is not None and not self.gls_lambda > 0:
            raise ParamError("gls_lambda", f"expected a positive number, got {self.gls_lambda!r}")
        if self.ls_neighbors_ratio is not None and not 0 < self.ls_neighbors_ratio <= 1:
            raise ParamError(
                "ls_neighbors_ratio",
                f"expected a number in (0, 1], got {self.ls_neighbors_ratio!r}",
            )
        if self.ls_min_neighbors is not None and self.ls_min_neighbors < 1:
            raise ParamError(
                "ls_min_neighbors", f"expected a positive integer, got {self.ls_min_neighbors!r}"
            )
        if self.lns_time_limit_s is not None and not self.lns_time_limit_s > 0:
            raise ParamError(
                "lns_time_limit_s", f"expected a positive number, got {self.lns_time_limit_s!r}"
            )
        if self.matrix_registration not in MATRIX_REGISTRATIONS:
            raise ParamError(
                "matrix_registration",
                f"expected one of {MATRIX_REGISTRATIONS}, got {self.matrix_registration!r}",
            )
        if self.trail_compression not in TRAIL_COMPRESSIONS:
            raise ParamError(
                "trail_compression",
                f"expected one of {TRAIL_COMPRESSIONS}, got {self.trail_compression!r}",
            )
        if self.start_method not in START_METHODS:
            raise ParamError(
                "start_method", f"expected one of {START_METHODS}, got {self.start_method!r}"
            )
        if not (isinstance(self.population, int) and self.population >= 0):
            raise ParamError(
                "population", f"expected 0 (none) or a positive integer, got {self.population!r}"
            )
        if not isinstance(self.cap_penalty, bool):
            raise ParamError("cap_penalty", f"expected True or False, got {self.cap_penalty!r}")
        if self.cluster is not None and not (
            isinstance(self.cluster, str)
            and (self.cluster in ("local", "auto") or CLUSTER_ADDRESS.fullmatch(self.cluster))
        ):
            raise ParamError(
                "cluster",
                f"expected 'local', 'auto', 'HOST:PORT' or 'ray://HOST:PORT', got {self.cluster!r}",
            )
        if self.extra:
            try:
                text_format.Merge(self.extra, pywrapcp.DefaultRoutingSearchParameters())
            except text_format.ParseError as exc:
                raise ParamError(
                    "extra", f"not a RoutingSearchParameters text proto: {exc}"
                ) from None
