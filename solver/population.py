"""A small population around the compiled ruin and recreate: selective route exchange
(SREX) crossover, broken-pairs diversity and each offspring educated by
:func:`solver.fastrr.improve` for a move budget (``SearchParams.population``).

Why: a single annealing trajectory explores one basin at a time; hybrid genetic search
(Vidal et al., PyVRP) keeps a few good and different solutions and recombines whole routes of
one with the rest of another, so a route that is good in one parent can replace the routes it
overlaps in the other. The pieces here, written for this kernel:

- :func:`srex` — a child of parents A and B (routes per vehicle): a few nearby routes of A
  (a random route, then the A-routes of its orders' nearest neighbours) replace the routes of
  B that share the most orders with them; each A-route keeps its vehicle where that vehicle
  is free in the child, else goes to a free vehicle of the same kind that may serve all of
  its orders; the moved orders are taken out of B's other routes. A route the exact timing
  rejects (no triangle inequality, a different vehicle) is emptied; every order not served
  in the child is then put back at its cheapest place (:func:`repair`, compiled).
- :func:`broken_pairs` — the share of one plan's arcs between orders (depot arcs included,
  direction ignored) the other plan does not have.
- :func:`evolve` — the population: ``size`` individuals from the given routes (each
  educated with its own seed), then generations of two parents by binary tournament on
  *biased fitness* (cost rank plus diversity rank), one SREX child, its repair and
  education; survivors by biased fitness (a clone of another individual goes first).

Every individual is a set of routes the kernel timed exactly, within capacity (feasible:
see docs/performance.md, "Search: population and SISR", for why there are no time-warp
penalties here); the best is returned and offered as it improves. With ``cap_penalty`` the
educations may cross plans over capacity at an adaptive price (:mod:`solver.penalty`), but
what they return, and so every individual, is within it.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from solver import fastrr, penalty
from solver.bounded import put
from solver.fastrr import Problem, _best_place, _retime, njit

# Education of an individual: annealing from EDU_HOT to EDU_END times the kernel's starting
# temperature (5 mean arcs), over EDU_MOVES_PER_ORDER moves per order.
EDU_HOT = 0.1
EDU_END = 0.01
EDU_MOVES_PER_ORDER = 30
INIT_HOT = 1.0  # the initial individuals anneal from the full starting temperature
N_CLOSE = 3  # diversity: mean broken-pairs distance to this many closest individuals
N_ELITE = 2  # the best by cost keep most of their weight in the biased fitness
GENERATION = 4  # offspring before each survivor selection


@njit
def _insert_all(js, strict, drop, max_exact, P, R, rl, ST, LT, load, route_of):  # type: ignore[no-untyped-def]
    """Each order of ``js`` in turn at its cheapest feasible place over every vehicle allowed
    to serve it (``strict``: nothing late), unless leaving it out costs less; the number left
    out."""
    n_v = rl.size
    vs = np.empty(n_v, dtype=np.int64)
    places = R.shape[1] + n_v + 1
    cb = np.empty(places, dtype=np.int64)
    cv = np.empty(places, dtype=np.int64)
    cp = np.empty(places, dtype=np.int64)
    left = 0
    for i in range(js.size):
        j = js[i]
        nvs = 0
        for v in range(n_v):
            if P.allowed[v, j]:
                vs[nvs] = v
                nvs += 1
        c, bv, bp = _best_place(j, vs, nvs, strict, max_exact, R, rl, ST, LT, load, P, cb, cv, cp)
        if bv < 0 or c >= drop[j]:
            left += 1
            continue
        put(j, bv, bp, R, rl, ST, LT, load, route_of, P)
    return left


def repair(
    P: Problem,
    drop: np.ndarray,
    routes: Sequence[Sequence[int]],
    orders: np.ndarray,
    rng: np.random.Generator,
    *,
    max_exact: int = 40,
    on_time_first: bool = False,
) -> list[list[int]]:
    """``routes`` made feasible and complete where they can be: a route the exact timing
    rejects is emptied, one over capacity gives up orders until it is within it
    (:func:`_unload`), then every order of ``orders`` not served is put at its cheapest place
    within capacity (the dearest to leave out first, ties in a random order; with
    ``on_time_first`` first where nothing gets late, then anywhere), or left out where that
    costs less."""
    n, n_v = int(P.travel.shape[0]), int(P.starts.size)
    R = np.zeros((n_v, max(2, n + 1)), dtype=np.int64)
    rl = np.zeros(n_v, dtype=np.int64)
    ST, LT = np.zeros_like(R), np.zeros_like(R)
    load = np.zeros(n_v, dtype=np.int64)
    route_of = np.full(n, -1, dtype=np.int64)
    for v, r in enumerate(routes):
        if not r:
            continue
        R[v, : len(r)] = r
        rl[v] = len(r)
        if not _retime(v, R, rl, ST, LT, P):
            rl[v] = 0
            continue
        load[v] = _unload(v, P, R, rl, ST, LT)
        route_of[R[v, : rl[v]]] = v
    out = orders[route_of[orders] == -1]
    if out.size:
        out = out[rng.permutation(out.size)]
        out = out[np.argsort(-drop[out], kind="stable")]
        drop64 = np.ascontiguousarray(drop, dtype=np.int64)
        if on_time_first:
            _insert_all(out, True, drop64, max_exact, P, R, rl, ST, LT, load, route_of)
            out = out[route_of[out] == -1]
        _insert_all(out, False, drop64, max_exact, P, R, rl, ST, LT, load, route_of)
    return [[int(x) for x in R[v, : rl[v]]] for v in range(n_v)]


def _unload(
    v: int, P: Problem, R: np.ndarray, rl: np.ndarray, ST: np.ndarray, LT: np.ndarray
) -> int:
    """Route ``v`` (timed) within capacity: while over it, the order whose removal saves the
    most (arc and vehicle-node costs) taken out first, among those whose removal keeps the
    route timed (emptied if none does); its load. :func:`repair` puts them back."""
    arc, vnc, demand = P.arc, P.vnc, P.demand
    while True:
        r = R[v, : rl[v]].tolist()
        held = int(demand[r].sum()) if r else 0
        if held <= P.capacity[v]:
            return held
        prev, nxt = [int(P.starts[v]), *r[:-1]], [*r[1:], int(P.ends[v])]
        saving = [
            arc[p, j] + arc[j, x] - arc[p, x] + vnc[v, j]
            for p, j, x in zip(prev, r, nxt, strict=True)
        ]
        for k in np.argsort(-np.asarray(saving), kind="stable").tolist():
            R[v, : rl[v] - 1] = r[:k] + r[k + 1 :]
            rl[v] -= 1
            if _retime(v, R, rl, ST, LT, P):
                break
            R[v, : rl[v] + 1] = r
            rl[v] += 1
        else:  # no order leaves the route timed: none stays
            rl[v] = 0
            return 0


def srex(
    a: Sequence[Sequence[int]],
    b: Sequence[Sequence[int]],
    kind: np.ndarray,
    allowed: np.ndarray,
    neighbours: np.ndarray,
    row: np.ndarray,
    rng: np.random.Generator,
) -> list[list[int]]:
    """A child of parents ``a`` and ``b`` (routes per vehicle; module docstring): nearby
    routes of ``a`` in place of the routes of ``b`` they overlap most, the moved orders taken
    out of ``b``'s other routes. The child may leave orders out and hold routes that cannot
    be timed: :func:`repair` it."""
    ra = [v for v, r in enumerate(a) if r]
    rb = [v for v, r in enumerate(b) if r]
    if not ra or not rb:
        return [list(r) for r in (a if ra else b)]
    k = int(rng.integers(1, max(1, min(len(ra), len(rb)) // 2) + 1))
    where_a = {j: v for v, r in enumerate(a) for j in r}
    sel = [ra[int(rng.integers(len(ra)))]]
    frontier = list(a[sel[0]])
    while len(sel) < k and frontier:
        j = frontier.pop(0)
        for nb in neighbours[row[j], 1:]:
            v = where_a.get(int(nb))
            if v is not None and v not in sel:
                sel.append(v)
                frontier.extend(a[v])
                break
    moved = {j for v in sel for j in a[v]}
    overlap = {v: sum(j in moved for j in b[v]) for v in rb}
    give = sorted(rb, key=lambda v: (-overlap[v], len(b[v]) - overlap[v], v))[: len(sel)]
    child = [list(r) for r in b]
    for v in give:
        child[v] = []
    placed: set[int] = set()
    taken: set[int] = set()  # vehicles holding an A-route
    for v in sel:
        route = list(a[v])
        target = v if not child[v] and v not in taken else -1
        if target < 0:
            for u in range(len(child)):
                if not child[u] and u not in taken and kind[u] == kind[v]:
                    target = u
                    break
        if target < 0 or not all(allowed[target, j] for j in route):
            continue
        child[target] = route
        taken.add(target)
        placed.update(route)
    for u in range(len(child)):
        if u not in taken and child[u]:
            child[u] = [j for j in child[u] if j not in placed]
    return child


def successors(routes: Sequence[Sequence[int]], n: int) -> np.ndarray:
    """Each node's successor in ``routes`` (-1: its route's end; -3: not served), the arcs
    :func:`broken_pairs` compares."""
    succ = np.full(n, -3, dtype=np.int64)
    for r in routes:
        for x, y in zip(r, [*r[1:], -1], strict=False):
            succ[x] = y
    return succ


def broken_pairs(sa: np.ndarray, sb: np.ndarray, orders: np.ndarray) -> float:
    """The share of the served orders' arcs in plan A (each order to its successor, the last
    to the route's end) that plan B has in neither direction (``sa``, ``sb``:
    :func:`successors`); 0 for the same routes in any vehicle order."""
    if orders.size == 0:
        return 0.0
    x = orders
    ya = sa[x]
    same = sb[x] == ya
    # B has the arc reversed: B's successor of A's successor is this order.
    inner = ya >= 0
    rev = np.zeros(x.size, dtype=bool)
    rev[inner] = sb[ya[inner]] == x[inner]
    return float(np.count_nonzero(~(same | rev)) / x.size)


@dataclass
class _Individual:
    routes: list[list[int]]
    cost: int
    succ: np.ndarray


def _cost(P: Problem, drop: np.ndarray, orders: np.ndarray, routes: list[list[int]]) -> int:
    served = np.zeros(int(P.travel.shape[0]), dtype=bool)
    for r in routes:
        served[r] = True
    return int(sum(fastrr.route_cost(P, routes))) + int(drop[orders[~served[orders]]].sum())


def _biased_fitness(pop: list[_Individual], orders: np.ndarray) -> np.ndarray:
    """Cost rank plus diversity rank (the mean broken-pairs distance to the N_CLOSE closest
    others, larger is better), both as shares of the population; lower is fitter."""
    size = len(pop)
    if size == 1:
        return np.zeros(1)
    dist = np.zeros((size, size))
    for i in range(size):
        for k in range(i + 1, size):
            dist[i, k] = dist[k, i] = broken_pairs(pop[i].succ, pop[k].succ, orders)
    np.fill_diagonal(dist, np.inf)
    close = min(N_CLOSE, size - 1)
    diversity = np.sort(dist, axis=1)[:, :close].mean(axis=1)
    cost_rank = np.argsort(np.argsort([p.cost for p in pop], kind="stable"), kind="stable")
    div_rank = np.argsort(np.argsort(-diversity, kind="stable"), kind="stable")
    weight = 1.0 - min(N_ELITE, size) / size
    fit = (cost_rank + weight * div_rank) / (size - 1)
    clones = np.nonzero(dist.min(axis=1) == 0)[0]
    for c in clones.tolist():  # of two identical plans the later one is the clone
        if any(dist[c, k] == 0 for k in range(c)):
            fit[c] += 2.0
    return fit


def evolve(
    P: Problem,
    drop: np.ndarray,
    kind: np.ndarray,
    neighbours: np.ndarray,
    row: np.ndarray,
    pick: np.ndarray,
    routes: Sequence[Sequence[int]],
    seconds: float,
    seed: int,
    max_moves: int | None,
    should_stop: Callable[[], bool] | None,
    *,
    size: int,
    t_hot: float,
    orders: np.ndarray,
    on_best: Callable[[list[list[int]]], None] | None = None,
    report_every_s: float = 0.25,
    cap_penalty: bool = False,
    **moves: Any,
) -> tuple[list[list[int]], int]:
    """The population search on feasible ``routes`` for ``seconds`` or ``max_moves`` kernel
    moves in all (the module docstring); returns the best routes and the moves made. The
    arguments are :func:`solver.fastrr.improve`'s (``moves``: its keyword arguments but
    ``anneal``, ``t_hot``, ``t_ratio``, ``on_best`` and ``cycle_moves``); ``size``: the
    individuals kept; ``cap_penalty``: the educations may load vehicles past their capacity
    at an adaptive price (:mod:`solver.penalty`; one weight for the whole search, as PyVRP's
    penalty manager), an education that ends over capacity and cheaper than its best is
    repaired (:func:`repair`). The same seed, problem and ``max_moves`` give the same
    routes."""
    moves.pop("t_ratio", None)  # each education has its own temperatures
    t0 = time.perf_counter()
    stop_at = t0 + seconds
    rng = np.random.default_rng(seed)
    orders = np.asarray(orders, dtype=np.int64)
    n = int(P.travel.shape[0])
    edu = max(200, EDU_MOVES_PER_ORDER * int(orders.size))
    done = 0
    best: list[_Individual] = []  # the best routes seen, in the population or not
    reported = [np.iinfo(np.int64).max, t0]  # the cost last reported, and when
    on_time_first = bool(moves.get("on_time_first", False))
    max_exact = int(moves.get("max_exact", 40))
    pen = penalty.weights(P, orders) if cap_penalty else None
    relax: dict[str, Any] = {}
    if pen is not None and pen[penalty.W] > 0:

        def fix(r: list[list[int]]) -> list[list[int]]:
            return repair(P, drop, r, orders, rng, max_exact=max_exact, on_time_first=on_time_first)

        relax = {"cap_penalty": pen, "repair": fix}

    def out_of_budget() -> bool:
        if should_stop is not None and should_stop():
            return True
        return time.perf_counter() >= stop_at or (max_moves is not None and done >= max_moves)

    def offer(r: list[list[int]]) -> _Individual:
        """``r`` as an individual; the best so far if it beats it, reported at most every
        ``report_every_s`` (an anytime curve during the educations too)."""
        ind = _Individual(r, _cost(P, drop, orders, r), successors(r, n))
        if ind.cost < best[0].cost:
            best[:] = [ind]
            now = time.perf_counter()
            if on_best is not None and now - reported[1] >= report_every_s:
                reported[:] = [ind.cost, now]
                on_best([x[:] for x in ind.routes])
        return ind

    def during(r: list[list[int]]) -> None:
        offer(r)

    def educate(start: Sequence[Sequence[int]], hot: float) -> _Individual | None:
        nonlocal done
        budget = edu if max_moves is None else min(edu, max_moves - done)
        left = stop_at - time.perf_counter()
        if budget <= 0 or left <= 0:
            return None
        r, made = fastrr.improve(
            P, drop, kind, neighbours, row, pick, start, left, int(rng.integers(2**31)),
            budget, should_stop, anneal=True, t_hot=t_hot * hot, t_ratio=EDU_END / hot,
            orders=orders, on_best=None if on_best is None else during,
            report_every_s=report_every_s, **relax, **moves,
        )  # fmt: skip
        done += made
        return offer(r)

    pop: list[_Individual] = []
    given = [list(r) for r in routes]
    first = _Individual(given, _cost(P, drop, orders, given), successors(given, n))
    best.append(first)
    reported[0] = first.cost
    while len(pop) < size and not out_of_budget():
        ind = educate(given, INIT_HOT)
        if ind is not None:
            pop.append(ind)
    allowed = P.allowed
    while len(pop) >= 2 and not out_of_budget():
        for _ in range(GENERATION):
            if out_of_budget():
                break
            fit = _biased_fitness(pop, orders)
            pa, pb = (_tournament(fit, rng) for _ in range(2))
            if pa == pb:
                pb = (pa + 1 + int(rng.integers(len(pop) - 1))) % len(pop)
            child = srex(pop[pa].routes, pop[pb].routes, kind, allowed, neighbours, row, rng)
            child = repair(
                P, drop, child, orders, rng, max_exact=max_exact, on_time_first=on_time_first
            )
            ind = educate(child, EDU_HOT)
            if ind is not None:
                pop.append(ind)
        while len(pop) > size:
            pop.pop(int(np.argmax(_biased_fitness(pop, orders))))
    top = best[0]
    if on_best is not None and top.cost < reported[0] and top is not first:
        on_best([x[:] for x in top.routes])
    return [x[:] for x in top.routes], done


def _tournament(fit: np.ndarray, rng: np.random.Generator) -> int:
    """Binary tournament: the fitter of two individuals drawn at random."""
    i, k = (int(x) for x in rng.integers(fit.size, size=2))
    return i if fit[i] <= fit[k] else k


_WARM: list[bool] = []


def warm_up() -> None:
    """Compile :func:`_insert_all` (or load it from numba's cache) once per process, before
    any clock, as :func:`solver.fastrr.warm_up` does for the kernel."""
    if _WARM or not fastrr.AVAILABLE:
        return
    fastrr.warm_up()
    P = fastrr.tiny_problem()
    repair(P, np.full(3, 1000, dtype=np.int64), [[1], []], np.asarray([1, 2]),
           np.random.default_rng(0))  # fmt: skip
    _WARM.append(True)
