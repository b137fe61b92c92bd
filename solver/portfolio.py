"""A portfolio of differently configured searches, one per core; the best objective wins.

OR-Tools' routing search is single-threaded and has no random seed, so two runs of one
configuration find the same solutions. The portfolio runs *different* configurations
(:func:`portfolio_configs`) side by side: configuration 0 in the calling process, the others in
child processes (``multiprocessing``, ``SearchParams.start_method``, ``spawn`` by default: OR-Tools is not fork-safe once
its solver threads exist, and ``spawn`` costs about 0.3-0.5 s of the limit to import numpy
and OR-Tools). :class:`~solver.problem.RoutingInput` is plain numpy and lists, so it pickles.

Every worker gets the same wall-clock deadline (``time_limit_s`` after the call), so the
call returns at about the limit. With ``solution_limit`` set every worker is deterministic and
ties are broken by worker index, so the portfolio is deterministic too.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from solver import fastrr
from solver.incumbent import Progress
from solver.params import SearchParams
from solver.problem import RoutingInput, RoutingResult
from solver.search import solve_one
from solver.strategy import construction

log = logging.getLogger(__name__)


def portfolio_configs(params: SearchParams, data: RoutingInput) -> list[SearchParams]:
    """The configurations a ``workers``-wide portfolio runs (one per worker).

    Worker 0 runs ``params`` as given. Worker 1 starts from the insertion construction and
    its ruin and recreate (when worker 0 starts from OR-Tools' own heuristic: on Solomon
    R2/RC2 it lands 1 % above the best-known where GLS alone lands 3.5-8.7 %;
    docs/performance.md, "Ruin and recreate"); when worker 0 itself starts from the insertion
    construction, worker 1 does too with the next ``seed`` (other ruin-and-recreate moves);
    else it starts from the other first solution. The
    others vary what mattered most on the demo ("Demo bar levers"): the first solution
    (local instead of parallel cheapest insertion, or the other way round), then GLS's
    lambda, then iterated local search.

    Parameters
    ----------
    params
        The caller's settings; ``workers`` gives the number of configurations.
    data
        The problem (which construction worker 0 starts from depends on its shape).

    Returns
    -------
    list of SearchParams
        ``params.workers`` configurations, each with ``workers=1``.
    """
    base = replace(params, workers=1)
    other = (
        "LOCAL_CHEAPEST_INSERTION"
        if base.first_solution != "LOCAL_CHEAPEST_INSERTION"
        else "PARALLEL_CHEAPEST_INSERTION"
    )
    # The insertion construction with ruin and recreate, unless worker 0 already starts so:
    # then the same with the next seed (its moves differ; the first solution is not used).
    start = construction(data, base)
    if start is None:
        second = replace(base, initial="insertion")
    elif start == "insertion":
        second = replace(base, seed=base.seed + 1)
    else:
        second = replace(base, first_solution=other)
    variants = [
        base,
        second,
        replace(base, first_solution=other),
        replace(base, gls_lambda=0.5 if base.gls_lambda is None else base.gls_lambda * 5),
        replace(base, iterated_local_search=not base.iterated_local_search),
    ]
    variants = list(dict.fromkeys(variants))  # the second may equal the third
    out: list[SearchParams] = []
    for k in range(params.workers):
        out.append(variants[k] if k < len(variants) else replace(base, gls_lambda=0.05 * (k + 1)))
    return out


def _worker(
    data: RoutingInput,
    params: SearchParams,
    deadline: float,
    initial_routes: Sequence[Sequence[int]] | None,
    index: int,
    out: Any,
) -> None:
    """Child process body: solve until ``deadline`` (``time.time()``), report on ``out``."""

    def relay(p: Progress) -> None:
        out.put(("progress", index, p))

    fastrr.warm_up()  # load the compiled moves on this worker's own clock, not past the deadline
    remaining = max(0.05, deadline - time.time())
    try:
        result = solve_one(
            data,
            replace(params, time_limit_s=remaining),
            relay,
            progress_every_s=0.25,
            initial_routes=initial_routes,
        )
        out.put(("result", index, result))
    except BaseException:  # report, never hang the parent
        out.put(("error", index, traceback.format_exc()))


def _better(a: RoutingResult | None, b: RoutingResult) -> bool:
    """Whether ``b`` beats ``a`` (a solution beats none; then the lower objective)."""
    if a is None or a.objective is None:
        return b.objective is not None
    return b.objective is not None and b.objective < a.objective


def solve_portfolio(
    data: RoutingInput,
    params: SearchParams | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every_s: float = 0.25,
    initial_routes: Sequence[Sequence[int]] | None = None,
    configs: Sequence[SearchParams] | None = None,
) -> RoutingResult:
    """Run several searches in parallel and return the best result.

    Parameters
    ----------
    data
        The problem arrays.
    params
        Search settings; ``params.workers`` searches run (default :func:`portfolio_configs`).
    on_progress
        Called with the best objective over all workers, at most every ``progress_every_s``
        seconds, and once at the end.
    progress_every_s
        Minimum seconds between two progress calls.
    initial_routes
        Optional warm start given to every worker.
    configs
        Explicit configurations (overrides ``params.workers``); the first runs in this
        process.

    Returns
    -------
    RoutingResult
        The winner's result (lowest objective, ties to the lower worker index), with
        ``solutions`` summed over the workers and ``history`` the best-so-far curve over all
        of them.
    """
    params = params or SearchParams()
    configs = list(configs) if configs is not None else portfolio_configs(params, data)
    if len(configs) == 1:
        return solve_one(data, configs[0], on_progress, progress_every_s, initial_routes)
    fastrr.warm_up()  # before the deadline is set, as solve_one() does before its clock
    t0 = time.perf_counter()
    deadline = time.time() + params.time_limit_s
    ctx: Any = mp.get_context(params.start_method)  # BaseContext stubs lack Process
    out = ctx.Queue()
    procs = [
        ctx.Process(
            target=_worker,
            args=(data, cfg, deadline, initial_routes, k, out),
            daemon=True,
            name=f"portfolio-{k}",
        )
        for k, cfg in enumerate(configs)
        if k > 0
    ]
    for p in procs:
        p.start()

    results: dict[int, RoutingResult | None] = {}
    best: dict[str, float] = {"obj": float("inf"), "last": -1e9, "sols": 0}
    history: list[tuple[float, int]] = []
    own_sols: dict[int, int] = {}
    errors: list[str] = []  # the workers' exceptions, last line each (the whole in the log)

    def note(index: int, p: Progress) -> None:
        own_sols[index] = p.solutions
        now = time.perf_counter() - t0
        if p.objective < best["obj"]:
            best["obj"] = p.objective
            history.append((now, p.objective))
            if on_progress is not None and now - best["last"] >= progress_every_s:
                best["last"] = now
                on_progress(Progress(now, p.objective, sum(own_sols.values()), p.on_time))

    def drain(block_s: float = 0.0) -> None:
        while True:
            try:
                kind, index, payload = out.get(timeout=block_s) if block_s else out.get_nowait()
            except queue.Empty:
                return
            block_s = 0.0
            if kind == "progress":
                note(index, payload)
            elif kind == "result":
                results[index] = payload
            else:
                results[index] = None
                errors.append(f"worker {index}: {payload.strip().splitlines()[-1]}")
                log.warning("portfolio worker %d failed:\n%s", index, payload)

    def local(p: Progress) -> None:
        note(0, p)
        drain()

    remaining = max(0.05, deadline - time.time())
    results[0] = solve_one(
        data,
        replace(configs[0], time_limit_s=remaining),
        local if on_progress is not None else None,
        progress_every_s,
        initial_routes,
    )
    # Children stop at the same deadline; allow them their own build/decode time on top.
    give_up = time.time() + 5.0 + 0.1 * params.time_limit_s
    while len(results) < len(configs) and time.time() < give_up:
        drain(0.1)
        if all(not p.is_alive() for p in procs):
            drain()
            for k in range(1, len(configs)):
                if k not in results:
                    results[k] = None
                    errors.append(f"worker {k}: ended without a result")
    for p in procs:
        if p.is_alive():
            p.terminate()
        p.join(timeout=1.0)
    out.close()

    winner: RoutingResult | None = None
    for k in range(len(configs)):
        r = results.get(k)
        if r is not None and _better(winner, r):
            winner = r
    assert winner is not None  # results[0] always exists
    total = sum(r.solutions for r in results.values() if r is not None)
    merged = sorted([pt for r in results.values() if r is not None for pt in r.history] + history)
    curve: list[tuple[float, int]] = []
    for t, obj in merged:
        if not curve or obj < curve[-1][1]:
            curve.append((t, obj))
    out_result = replace(winner, solutions=total, history=curve, errors=winner.errors + errors)
    out_result.solve_s = time.perf_counter() - t0 - winner.build_s
    if on_progress is not None and out_result.objective is not None:
        on_progress(Progress(out_result.solve_s, out_result.objective, total, winner.on_time))
    return out_result
