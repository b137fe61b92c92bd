"""VRPTW benchmark harness: the routing core against Solomon / Gehring–Homberger and peers.

Every instance is scored in the DIMACS 2021 convention: an arc costs ``floor(10·d)`` (``d``
the Euclidean distance) and takes that many time units; ready times, due dates and service
times are scaled by 10 too. Objectives are therefore integers (C101's BKS is 8273, printed
as 827.3). The fleet limit and capacity come from the instance file.

Three solvers run side by side, one thread each, same time limit:

- ``ours`` — :func:`solver.routing.solve`, the product's OR-Tools core;
- ``pyvrp`` — PyVRP's hybrid genetic search (``MaxRuntime``, seed recorded);
- ``vroom`` — VROOM via ``pyvroom`` (``exploration_level=5``, ``nb_threads=1``, ``timeout``).

Every returned solution is re-checked by :func:`verify` (each customer once, fleet limit,
capacity, windows under time = distance) and scored by the recomputed cost.

Run ``python -m bench.vrptw --help`` or ``dispatch bench vrptw --help``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from solver import fastrr
from solver.params import FIRST_SOLUTIONS, METAHEURISTICS
from solver.routing import NO_DEADLINE, RoutingInput, SearchParams, solve

if TYPE_CHECKING:  # optional peers, imported where used
    import pyvrp

SETS: dict[str, str] = {"solomon": "solomon", "gh200": "homberger/200", "gh1000": "homberger/1000"}
SOLVERS: tuple[str, ...] = ("ours", "ours2", "pyvrp", "vroom")
PEERS: tuple[str, ...] = ("pyvrp", "vroom", "ours2")
# The cores each solver uses (every table and result file names them): the peers run one
# thread each, and so does "ours"; "ours2" is our two-process mode.
SOLVER_CORES: dict[str, int] = {"ours": 1, "ours2": 2, "pyvrp": 1, "vroom": 1}
CSV_COLUMNS: tuple[str, ...] = (
    "instance",
    "class",
    "solver",
    "cost",
    "bks",
    "gap_pct",
    "vehicles",
    "seconds",
    "feasible",
    "note",
)
DEFAULT_PYVRP_SEED = 1
VROOM_EXPLORATION_LEVEL = 5


# ------------------------------------------------------------------ instances


@dataclass(frozen=True)
class Instance:
    """A VRPTW instance in the Solomon text layout, in the file's own units.

    Row 0 is the depot; its ready time / due date bound every route.

    Attributes
    ----------
    name
        Instance name (the file stem, e.g. ``C101``).
    n_vehicles, capacity
        Fleet limit and per-vehicle capacity.
    x, y
        ``[n]`` coordinates.
    demand, ready, due, service
        ``[n]`` load, earliest / latest service start and service duration.
    """

    name: str
    n_vehicles: int
    capacity: int
    x: np.ndarray
    y: np.ndarray
    demand: np.ndarray
    ready: np.ndarray
    due: np.ndarray
    service: np.ndarray

    @property
    def n_nodes(self) -> int:
        """Depot plus customers."""
        return int(self.x.shape[0])

    @property
    def n_customers(self) -> int:
        """Customers only."""
        return self.n_nodes - 1

    @property
    def cls(self) -> str:
        """Instance class: ``C1``, ``C2``, ``R1``, ``R2``, ``RC1`` or ``RC2``."""
        return instance_class(self.name)


def instance_class(name: str) -> str:
    """Class of a Solomon or Gehring–Homberger instance name.

    Parameters
    ----------
    name
        ``C101``, ``RC208``, ``C1_10_1``, ...

    Returns
    -------
    str
        The letters plus the series digit (``C1``, ``RC2``); the name itself if unrecognised.
    """
    match = re.match(r"([A-Za-z]+)(\d)", name)
    return (match.group(1).upper() + match.group(2)) if match else name


def _scaled(values: np.ndarray) -> np.ndarray:
    """Times ×10 as exact integers (Solomon times are integral)."""
    return np.rint(values * 10).astype(np.int64)


def parse_instance(path: str | Path) -> Instance:
    """Read a Solomon-layout VRPTW file.

    Parameters
    ----------
    path
        File with a name line, ``VEHICLE / NUMBER CAPACITY`` and a customer table of seven
        numbers per row (``CUST NO. XCOORD. YCOORD. DEMAND READY DUE SERVICE``), row 0 the depot.

    Returns
    -------
    Instance

    Raises
    ------
    ValueError
        If the fleet line or the customer table is missing or malformed.
    """
    path = Path(path)
    lines = path.read_text().splitlines()
    name = next((ln.strip() for ln in lines if ln.strip()), path.stem)
    fleet: tuple[int, int] | None = None
    rows: list[list[float]] = []
    for i, line in enumerate(lines):
        upper = line.upper()
        if fleet is None and "CAPACITY" in upper and "NUMBER" in upper:
            for follow in lines[i + 1 :]:
                tokens = follow.split()
                if tokens:
                    if len(tokens) != 2:
                        raise ValueError(f"{path}: expected 'vehicles capacity', got {follow!r}")
                    fleet = (int(tokens[0]), int(tokens[1]))
                    break
            continue
        tokens = line.split()
        if len(tokens) == 7 and fleet is not None:
            try:
                rows.append([float(t) for t in tokens])
            except ValueError:
                continue
    if fleet is None:
        raise ValueError(f"{path}: no 'VEHICLE NUMBER CAPACITY' section")
    if not rows:
        raise ValueError(f"{path}: no customer table")
    table = np.asarray(rows, dtype=np.float64)
    ids = table[:, 0].astype(np.int64)
    if not np.array_equal(ids, np.arange(len(rows))):
        raise ValueError(f"{path}: customer numbers are not 0..{len(rows) - 1} in order")
    return Instance(
        name=name if re.fullmatch(r"[\w.-]+", name) else path.stem,
        n_vehicles=fleet[0],
        capacity=fleet[1],
        x=table[:, 1].copy(),
        y=table[:, 2].copy(),
        demand=np.rint(table[:, 3]).astype(np.int64),
        ready=table[:, 4].copy(),
        due=table[:, 5].copy(),
        service=table[:, 6].copy(),
    )


@dataclass(frozen=True)
class Bks:
    """A best-known solution, DIMACS convention."""

    vehicles: int
    distance: float

    @property
    def objective(self) -> int:
        """The ×10 integer objective (C101: 8273)."""
        return round(self.distance * 10)


def parse_bks(path: str | Path) -> dict[str, Bks]:
    """Read ``bks.csv`` and keep the ``convention=dimacs`` rows.

    Parameters
    ----------
    path
        CSV with columns ``instance,vehicles,distance,source,convention``.

    Returns
    -------
    dict[str, Bks]
        By upper-cased instance name.
    """
    out: dict[str, Bks] = {}
    with Path(path).open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("convention", "").strip() == "dimacs":
                out[row["instance"].strip().upper()] = Bks(
                    int(row["vehicles"]), float(row["distance"])
                )
    return out


def dimacs_matrix(inst: Instance) -> np.ndarray:
    """Arc cost and travel time: ``floor(10·d)`` as an int64 ``[n, n]`` matrix.

    For integral coordinates the floor is exact (integer square root of ``100·d²``,
    corrected by one where the float square root rounds across an integer).
    """
    dx = inst.x[:, None] - inst.x[None, :]
    dy = inst.y[:, None] - inst.y[None, :]
    sq100 = 100.0 * (dx * dx + dy * dy)
    if np.all(inst.x == np.rint(inst.x)) and np.all(inst.y == np.rint(inst.y)):
        s = np.rint(sq100).astype(np.int64)
        r = np.floor(np.sqrt(sq100)).astype(np.int64)
        r -= (r * r > s).astype(np.int64)
        r += ((r + 1) * (r + 1) <= s).astype(np.int64)
        return r
    return np.floor(np.sqrt(sq100)).astype(np.int64)


def drop_penalty_for(matrix: np.ndarray) -> int:
    """A drop penalty above any routing cost: every customer served is always cheaper."""
    return int(matrix.max(axis=1).sum()) * 2 + 1


def build_routing_input(inst: Instance, matrix: np.ndarray | None = None) -> RoutingInput:
    """The instance as the product's routing arrays (DIMACS ×10 integer units).

    Node 0 is the depot and every vehicle starts and ends there (the same node index);
    customers must start service in ``[10·ready, 10·due]``; vehicles leave no earlier than the
    depot's ready time and are back by its due date (the horizon).

    Parameters
    ----------
    inst
        Parsed instance.
    matrix
        Precomputed :func:`dimacs_matrix` (computed if omitted).

    Returns
    -------
    RoutingInput
    """
    m = dimacs_matrix(inst) if matrix is None else matrix
    n, v = inst.n_nodes, inst.n_vehicles
    ready, due = _scaled(inst.ready), _scaled(inst.due)
    windows: list[list[tuple[int, int]]] = [[]] + [
        [(int(ready[i]), int(due[i]))] for i in range(1, n)
    ]
    service = _scaled(inst.service)
    service[0] = 0
    return RoutingInput(
        travel_s=m,
        arc_cost=m,
        service_s=service,
        starts=[0] * v,
        ends=[0] * v,
        start_min_s=[int(ready[0])] * v,
        start_max_s=[int(due[0])] * v,
        horizon_s=int(due[0]),
        windows=windows,
        allowed_vehicles=[None] * n,
        drop_penalty=np.full(n, drop_penalty_for(m), dtype=np.int64),
        deadline_s=np.full(n, NO_DEADLINE, dtype=np.int64),
        late_cost_per_s=np.zeros(n, dtype=np.int64),
        demand=inst.demand.astype(np.int64),
        capacity=[inst.capacity] * v,
    )


# ------------------------------------------------------------------ verification


@dataclass
class Verification:
    """Independent check of a VRPTW solution (DIMACS ×10 integer units)."""

    feasible: bool
    cost: int
    vehicles: int
    errors: list[str] = field(default_factory=list)


def verify(inst: Instance, routes: Sequence[Sequence[int]], matrix: np.ndarray) -> Verification:
    """Check a solution from scratch and recompute its cost.

    Parameters
    ----------
    inst
        The instance.
    routes
        Customer node indices (``1..n-1``) per route, depot excluded; empty routes are ignored.
    matrix
        :func:`dimacs_matrix` of the instance (time = distance).

    Returns
    -------
    Verification
        ``feasible`` iff every customer is served exactly once, at most ``n_vehicles`` routes
        are used, no load exceeds capacity, every service starts within its window (waiting
        allowed) and every route is back at the depot by its due date. ``cost`` is the summed
        arc cost of all routes.
    """
    errors: list[str] = []
    ready, due, service = _scaled(inst.ready), _scaled(inst.due), _scaled(inst.service)
    used = [list(map(int, r)) for r in routes if len(r) > 0]
    seen = np.zeros(inst.n_nodes, dtype=np.int64)
    cost = 0
    if len(used) > inst.n_vehicles:
        errors.append(f"{len(used)} routes > fleet limit {inst.n_vehicles}")
    for k, route in enumerate(used):
        if any(c < 1 or c >= inst.n_nodes for c in route):
            errors.append(f"route {k}: node out of range")
            continue
        seen[route] += 1
        load = int(inst.demand[route].sum())
        if load > inst.capacity:
            errors.append(f"route {k}: load {load} > capacity {inst.capacity}")
        t, prev = int(ready[0]), 0
        for c in route:
            arc = int(matrix[prev, c])
            cost += arc
            start = max(t + arc, int(ready[c]))
            if start > due[c]:
                errors.append(f"route {k}: customer {c} starts {start} > due {int(due[c])}")
            t, prev = start + int(service[c]), c
        cost += int(matrix[prev, 0])
        back = t + int(matrix[prev, 0])
        if back > due[0]:
            errors.append(f"route {k}: back at depot {back} > {int(due[0])}")
    missing = np.flatnonzero(seen[1:] == 0) + 1
    twice = np.flatnonzero(seen[1:] > 1) + 1
    if missing.size:
        errors.append(f"{missing.size} customers unserved (e.g. {missing[:5].tolist()})")
    if twice.size:
        errors.append(f"{twice.size} customers served more than once (e.g. {twice[:5].tolist()})")
    return Verification(not errors, cost, len(used), errors)


# ------------------------------------------------------------------ solvers


@dataclass
class Row:
    """One (instance, solver) result; ``cost`` and ``bks`` in DIMACS distance units."""

    instance: str
    cls: str
    solver: str
    cost: float | None
    bks: float | None
    gap_pct: float | None
    vehicles: int | None
    seconds: float
    feasible: bool
    note: str = ""
    objective: int | None = None  # ×10 integer cost as recomputed
    reported: int | None = None  # the solver's own objective, when it gives one

    def csv_row(self) -> dict[str, object]:
        """The row as the CSV columns (``class`` for ``cls``)."""
        d = asdict(self)
        d["class"] = d.pop("cls")
        return {k: d[k] for k in CSV_COLUMNS}


@dataclass
class RunOutcome:
    """What a solver returned: routes (customer nodes) and its own objective."""

    routes: list[list[int]]
    seconds: float
    reported: int | None = None
    note: str = ""


# GLS lambda for this problem shape: None = OR-Tools' own (0.1). 0.5 helped R2/RC2 in a probe
# but made the whole Solomon set worse (4.26 % against 3.90 % average gap, 10 s, 2026-12-01;
# docs/performance.md).
VRPTW_GLS_LAMBDA: float | None = None


def run_ours(
    inst: Instance,
    matrix: np.ndarray,
    time_limit_s: float,
    params: SearchParams | None = None,
) -> RunOutcome:
    """Solve with the product's OR-Tools core (:func:`solver.routing.solve`)."""
    params = params or SearchParams(time_limit_s=time_limit_s)
    t0 = time.perf_counter()
    result = solve(build_routing_input(inst, matrix), params)
    seconds = time.perf_counter() - t0
    note = "" if result.status != "no_solution" else "no solution"
    if result.dropped:
        note = f"{len(result.dropped)} dropped"
    if result.first_solution_s is not None:
        note = (note + "; " if note else "") + f"first solution {result.first_solution_s:.2f}s"
    return RunOutcome(result.routes, seconds, result.objective, note)


def pyvrp_data(inst: Instance, matrix: np.ndarray) -> pyvrp.ProblemData:
    """The instance as a PyVRP ``ProblemData`` with the same integer matrices.

    ``pyvrp.read(..., round_func="dimacs")`` only reads VRPLIB files, not the Solomon text
    layout, so the data is built directly (same scaling: ×10 and truncated distances).
    """
    import pyvrp

    ready, due, service = _scaled(inst.ready), _scaled(inst.due), _scaled(inst.service)
    locations = [pyvrp.Location(float(inst.x[i]), float(inst.y[i])) for i in range(inst.n_nodes)]
    depots = [pyvrp.Depot(0, tw_early=int(ready[0]), tw_late=int(due[0]))]
    clients = [
        pyvrp.Client(
            i,
            delivery=[int(inst.demand[i])],
            service_duration=int(service[i]),
            tw_early=int(ready[i]),
            tw_late=int(due[i]),
        )
        for i in range(1, inst.n_nodes)
    ]
    vehicle_types = [
        pyvrp.VehicleType(
            num_available=inst.n_vehicles,
            capacity=[inst.capacity],
            start_depot=0,
            end_depot=0,
            tw_early=int(ready[0]),
            tw_late=int(due[0]),
        )
    ]
    mat: Any = np.ascontiguousarray(matrix, dtype=np.int64)
    return pyvrp.ProblemData(locations, clients, depots, vehicle_types, [mat], [mat])


def run_pyvrp(inst: Instance, matrix: np.ndarray, time_limit_s: float, seed: int) -> RunOutcome:
    """Solve with PyVRP (single thread, ``MaxRuntime``)."""
    import pyvrp
    from pyvrp.stop import MaxRuntime

    t0 = time.perf_counter()
    data = pyvrp_data(inst, matrix)
    result = pyvrp.solve(
        data, stop=MaxRuntime(time_limit_s), seed=seed, collect_stats=False, display=False
    )
    seconds = time.perf_counter() - t0
    best = result.best
    routes = [[act.idx + 1 for act in route if act.is_client()] for route in best.routes()]
    note = "" if result.is_feasible() else "pyvrp: best solution infeasible"
    return RunOutcome(routes, seconds, int(best.distance()), note)


def run_vroom(inst: Instance, matrix: np.ndarray, time_limit_s: float) -> RunOutcome:
    """Solve with VROOM (``exploration_level=5``, one thread, ``timeout`` = time limit)."""
    import vroom

    ready, due, service = _scaled(inst.ready), _scaled(inst.due), _scaled(inst.service)
    t0 = time.perf_counter()
    problem = vroom.Input()
    mat = np.ascontiguousarray(matrix, dtype=np.uint32)
    problem.set_durations_matrix("car", mat)
    problem.set_costs_matrix("car", mat)
    window = vroom.TimeWindow(int(ready[0]), int(due[0]))
    for k in range(inst.n_vehicles):
        problem.add_vehicle(
            vroom.Vehicle(k, start=0, end=0, capacity=[inst.capacity], time_window=window)
        )
    for i in range(1, inst.n_nodes):
        problem.add_job(
            vroom.Job(
                i,
                location=i,
                default_service=int(service[i]),
                delivery=[int(inst.demand[i])],
                time_windows=[vroom.TimeWindow(int(ready[i]), int(due[i]))],
            )
        )
    solution = problem.solve(
        exploration_level=VROOM_EXPLORATION_LEVEL,
        nb_threads=1,
        timeout=dt.timedelta(seconds=time_limit_s),
    )
    seconds = time.perf_counter() - t0
    steps = np.asarray(solution._routes_numpy())
    routes: dict[int, list[int]] = {}
    for step in steps:  # structured array; "type" is bytes (b"start", b"job", b"end")
        kind = bytes(step["type"]).decode().strip("\x00 ")
        visits = routes.setdefault(int(step["vehicle_id"]), [])
        if kind == "job":
            visits.append(int(step["id"]))  # job id = customer node
    reported = int(solution.summary.cost) if hasattr(solution, "summary") else None
    unassigned = len(getattr(solution, "unassigned", []) or [])
    note = f"vroom: {unassigned} unassigned" if unassigned else ""
    return RunOutcome(list(routes.values()), seconds, reported, note)


# ------------------------------------------------------------------ the run


def default_bench_dir() -> Path:
    """``$DISPATCH_BENCH_DIR`` or ``<repo>/../shared/bench``."""
    env = os.environ.get("DISPATCH_BENCH_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "bench"


def default_out_dir() -> Path:
    """``<repo>/bench/results`` (git-ignored)."""
    return Path(__file__).resolve().parent / "results"


def write_results(out: str | None, name: str, doc: dict[str, Any]) -> Path:
    """``doc`` with this machine's description, as ``<out>/<name>.json`` (default folder
    ``bench/results/<name>``); the path written."""
    folder = Path(out) if out else default_out_dir() / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"machine": machine_info(), **doc}, indent=1))
    return path


def _natural_key(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.stem.upper())]


def set_folder(bench_dir: Path, set_name: str) -> Path:
    """The folder of a set: a named one (:data:`SETS`), ``gh<N>`` for any Gehring–Homberger
    size (``homberger/<N>`` of the bench folder: 400, 600, 800 are not bundled here but read
    the same way) or a folder of Solomon-format files given by its path — the instances a
    user brings are measured like the bundled ones (gaps where ``bks.csv`` names them, the
    ratio to the peers always)."""
    if set_name in SETS:
        return bench_dir / SETS[set_name]
    gh = re.fullmatch(r"gh(\d+)", set_name)
    if gh:
        return bench_dir / "homberger" / gh.group(1)
    return Path(set_name)


def set_arg(text: str) -> str:
    """``--set``: a named set, ``gh<N>`` or an existing folder."""
    if text in SETS or re.fullmatch(r"gh\d+", text) or Path(text).is_dir():
        return text
    raise argparse.ArgumentTypeError(
        f"expected one of {', '.join(sorted(SETS))}, gh<N> (homberger/<N> of the bench "
        f"folder) or a folder of Solomon-format files, got {text!r}"
    )


def instance_files(bench_dir: Path, set_name: str, names: Sequence[str] | None) -> list[Path]:
    """Instance files of a set, all of them or the named ones (case-insensitive).

    Raises
    ------
    FileNotFoundError
        If the set's folder is missing or a named instance is not in it.
    """
    folder = set_folder(bench_dir, set_name)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no instance folder {folder} (set --bench-dir or DISPATCH_BENCH_DIR)"
        )
    files = sorted(folder.glob("*.txt"), key=_natural_key)
    if not names:
        return files
    by_name = {f.stem.upper(): f for f in files}
    missing = [n for n in names if n.upper() not in by_name]
    if missing:
        raise FileNotFoundError(f"not in {folder}: {', '.join(missing)}")
    return [by_name[n.upper()] for n in names]


def score(
    inst: Instance,
    solver_name: str,
    outcome: RunOutcome,
    matrix: np.ndarray,
    bks: Bks | None,
) -> Row:
    """Verify an outcome and turn it into a result row (gap against the BKS objective)."""
    check = verify(inst, outcome.routes, matrix)
    notes = [n for n in (outcome.note, "; ".join(check.errors[:3])) if n]
    if outcome.reported is not None and check.feasible and outcome.reported != check.cost:
        notes.append(f"reported {outcome.reported} != recomputed {check.cost}")
    has_solution = check.vehicles > 0
    gap = None
    if bks is not None and check.feasible:
        gap = 100.0 * (check.cost - bks.objective) / bks.objective
    return Row(
        instance=inst.name,
        cls=inst.cls,
        solver=solver_name,
        cost=check.cost / 10 if has_solution else None,
        bks=bks.distance if bks is not None else None,
        gap_pct=None if gap is None else round(gap, 3),
        vehicles=check.vehicles if has_solution else None,
        seconds=round(outcome.seconds, 3),
        feasible=check.feasible,
        note=" | ".join(notes),
        objective=check.cost if has_solution else None,
        reported=outcome.reported,
    )


def summarize(rows: Sequence[Row], solvers: Sequence[str]) -> dict[str, dict[str, object]]:
    """Average gap per class and overall for each solver, and cost ratios ours / peer.

    Returns
    -------
    dict
        ``{group: {"<solver>_avg_gap_pct", "<solver>_feasible", "instances",
        "ours_over_<peer>"}}`` with group each class and ``"all"``; gaps average feasible rows;
        the ratio is the mean over instances where both are feasible of cost(ours)/cost(peer).
    """
    classes = sorted({r.cls for r in rows}, key=_class_key)
    out: dict[str, dict[str, object]] = {}
    for group in [*classes, "all"]:
        sel = [r for r in rows if group == "all" or r.cls == group]
        entry: dict[str, object] = {"instances": len({r.instance for r in sel})}
        for s in solvers:
            mine = [r for r in sel if r.solver == s]
            gaps = [r.gap_pct for r in mine if r.feasible and r.gap_pct is not None]
            entry[f"{s}_avg_gap_pct"] = round(float(np.mean(gaps)), 3) if gaps else None
            entry[f"{s}_feasible"] = sum(r.feasible for r in mine)
        ours = {r.instance: r for r in sel if r.solver == "ours" and r.feasible}
        for peer in solvers:
            if peer == "ours":
                continue
            ratios = [
                ours[r.instance].objective / r.objective  # type: ignore[operator]
                for r in sel
                if r.solver == peer and r.feasible and r.instance in ours and r.objective
            ]
            entry[f"ours_over_{peer}"] = round(float(np.mean(ratios)), 5) if ratios else None
        out[group] = entry
    return out


def _class_key(cls: str) -> tuple[int, str]:
    order = ["C1", "C2", "R1", "R2", "RC1", "RC2"]
    return (order.index(cls), cls) if cls in order else (len(order), cls)


def machine_info() -> dict[str, object]:
    """CPU model, core counts, Python and solver versions."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in ("ortools", "pyvrp", "pyvroom", "numpy"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu,
        "nproc": affinity or os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def label(solver: str) -> str:
    """A solver's name with the cores it used, as every table shows it: ``ours[1c]``."""
    return f"{solver}[{SOLVER_CORES.get(solver, 1)}c]"


def format_table(rows: Sequence[Row], solvers: Sequence[str], summary: dict) -> str:
    """A compact text table: per instance cost/gap for each solver (named with the cores it
    used), then per-class averages."""
    header = f"{'instance':<10}{'bks':>10}" + "".join(
        f"{label(s) + ' cost':>16}{'gap%':>8}" for s in solvers
    )
    lines = [header, "-" * len(header)]
    for name in dict.fromkeys(r.instance for r in rows):
        mine = {r.solver: r for r in rows if r.instance == name}
        bks = next((r.bks for r in mine.values()), None)
        line = f"{name:<10}{_fmt(bks, '.1f'):>10}"
        for s in solvers:
            r = mine.get(s)
            cost = _fmt(r.cost if r else None, ".1f") + ("" if r is None or r.feasible else "!")
            line += f"{cost:>16}{_fmt(r.gap_pct if r else None, '.2f'):>8}"
        lines.append(line)
    lines.append("")
    head2 = f"{'class':<10}{'n':>4}" + "".join(f"{label(s) + ' gap%':>16}" for s in solvers)
    ratio_cols = [s for s in solvers if s != "ours"] if "ours" in solvers else []
    head2 += "".join(f"{label('ours') + '/' + label(p):>22}" for p in ratio_cols)
    lines += [head2, "-" * len(head2)]
    for group, entry in summary.items():
        line = f"{group:<10}{entry['instances']:>4}"
        line += "".join(f"{_fmt(entry.get(f'{s}_avg_gap_pct'), '.3f'):>16}" for s in solvers)
        line += "".join(f"{_fmt(entry.get(f'ours_over_{p}'), '.4f'):>22}" for p in ratio_cols)
        lines.append(line)
    lines.append("('!' = infeasible after verification; gaps average feasible rows only)")
    return "\n".join(lines)


def plot_gaps(summary: dict, solvers: Sequence[str], path: Path, title: str) -> None:
    """Grouped bar chart of average gap (%) by class for each solver (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(summary)
    width = 0.8 / max(1, len(solvers))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(groups) + 2), 4.0))
    for k, s in enumerate(solvers):
        vals = [summary[g].get(f"{s}_avg_gap_pct") for g in groups]
        xs = [i + (k - (len(solvers) - 1) / 2) * width for i in range(len(groups))]
        bars = ax.bar(xs, [math.nan if v is None else v for v in vals], width, label=label(s))
        ax.bar_label(bars, labels=["-" if v is None else f"{v:.2f}" for v in vals], fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel("average gap to BKS (%)")
    ax.set_title(title)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark described by parsed arguments; returns the exit code.

    ``0`` when every solution of ours verified feasible, ``1`` otherwise, ``2`` when the
    instances cannot be found.
    """
    bench_dir = Path(args.bench_dir) if args.bench_dir else default_bench_dir()
    names = [n.strip() for n in args.instances.split(",") if n.strip()] if args.instances else None
    peers = _parse_peers(args.peers)
    solvers = ["ours", *peers]
    try:
        files = instance_files(bench_dir, args.set, names)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bks_path = bench_dir / "bks.csv"
    bks = parse_bks(bks_path) if bks_path.exists() else {}
    params = SearchParams(
        time_limit_s=args.time_limit,
        first_solution=args.first_solution,
        metaheuristic=args.metaheuristic,
        gls_lambda=args.gls_lambda,
        parts=getattr(args, "parts", 1),
        workers=1,
        polish_share=getattr(args, "polish_share", SearchParams.polish_share),
    )
    # "ours2": the same search on both cores — a portfolio of OR-Tools' own start and the
    # insertion construction with ruin and recreate (solver/portfolio.py), split from 5,000
    # customers (solver/decompose.py). Its own column, never the default: the peers run one
    # thread each.
    params2 = replace(params, parts=0, workers=2)
    runners: dict[str, Callable[[Instance, np.ndarray], RunOutcome]] = {
        "ours": lambda i, m: run_ours(i, m, args.time_limit, params),
        "ours2": lambda i, m: run_ours(i, m, args.time_limit, params2),
        "pyvrp": lambda i, m: run_pyvrp(i, m, args.time_limit, args.seed),
        "vroom": lambda i, m: run_vroom(i, m, args.time_limit),
    }
    # Compile the ruin and recreate once (or load it from numba's cache), outside every timed
    # solve: a one-time cost of the installation, as an import is (solver/fastrr.py).
    fastrr.warm_up()
    started = dt.datetime.now(dt.UTC)
    rows: list[Row] = []
    for path in files:
        inst = parse_instance(path)
        matrix = dimacs_matrix(inst)
        for s in solvers:  # one solver process at a time, sequentially
            row = score(inst, s, runners[s](inst, matrix), matrix, bks.get(inst.name.upper()))
            rows.append(row)
            if not args.quiet:
                print(
                    f"  {inst.name:<10} {s:<6} cost={_fmt(row.cost, '.1f')} "
                    f"gap={_fmt(row.gap_pct, '.2f')}% veh={row.vehicles} "
                    f"t={row.seconds:.1f}s feasible={row.feasible}",
                    file=sys.stderr,
                    flush=True,
                )
    summary = summarize(rows, solvers)
    out_dir = Path(args.out) if args.out else default_out_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    set_label = args.set if args.set in SETS or not Path(args.set).is_dir() else Path(args.set).name
    stem = f"vrptw-{set_label}-{started.strftime('%Y%m%dT%H%M%SZ')}"
    with (out_dir / f"{stem}.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        writer.writerows(r.csv_row() for r in rows)
    with (out_dir / f"{stem}-summary.csv").open("w", newline="") as fh:
        cols = ["group", *next(iter(summary.values())).keys()]
        writer = csv.DictWriter(fh, fieldnames=cols)
        writer.writeheader()
        writer.writerows({"group": g, **e} for g, e in summary.items())
    meta = {
        "started_utc": started.isoformat(timespec="seconds"),
        "command": args.command_line,
        "set": args.set,
        "bench_dir": str(bench_dir),
        "time_limit_s": args.time_limit,
        "solvers": solvers,
        "seeds": {"pyvrp": args.seed, "ours": None, "ours2": None, "vroom": None},
        "cores": {s: SOLVER_CORES[s] for s in solvers},
        "ours_search": asdict(params),
        "vroom": {"exploration_level": VROOM_EXPLORATION_LEVEL, "nb_threads": 1},
        "convention": "dimacs: arc cost = travel time = floor(10*euclid); costs shown /10",
        "machine": machine_info(),
    }
    doc = {"meta": meta, "rows": [asdict(r) for r in rows], "summary": summary}
    (out_dir / f"{stem}.json").write_text(json.dumps(doc, indent=2) + "\n")
    plot_gaps(
        summary,
        solvers,
        out_dir / f"{stem}.png",
        f"VRPTW {args.set}, {args.time_limit:g} s/instance: average gap to BKS",
    )
    print(format_table(rows, solvers, summary))
    print(f"results: {out_dir / stem}.{{csv,json,png}} (+ -summary.csv)")
    return 0 if all(r.feasible for r in rows if r.solver == "ours") else 1


def _parse_peers(text: str) -> list[str]:
    if text.strip().lower() in ("", "none"):
        return []
    peers = [p.strip().lower() for p in text.split(",") if p.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown peer(s) {unknown}; choose from {PEERS}")
    return list(dict.fromkeys(peers))


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _peers_arg(text: str) -> str:
    _parse_peers(text)
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared by ``main`` and ``dispatch bench vrptw``)."""
    parser.add_argument(
        "--set",
        type=set_arg,
        default="solomon",
        metavar="SET",
        help=f"instance set: {', '.join(sorted(SETS))}, gh<N> (homberger/<N> of the bench "
        "folder, e.g. gh400) or a folder of Solomon-format files (default %(default)s)",
    )
    parser.add_argument(
        "--time-limit",
        type=_positive_float,
        default=10.0,
        metavar="S",
        help="seconds per instance and solver",
    )
    parser.add_argument(
        "--instances", default=None, help="comma-separated names (default: the whole set)"
    )
    parser.add_argument(
        "--peers",
        type=_peers_arg,
        default="pyvrp,vroom",
        help="comma-separated peers to run alongside (pyvrp,vroom) or 'none'",
    )
    parser.add_argument("--out", default=None, help="output folder (default: bench/results)")
    parser.add_argument(
        "--bench-dir",
        default=None,
        help="benchmark data folder (default: $DISPATCH_BENCH_DIR or ../shared/bench)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_PYVRP_SEED, help="PyVRP seed")
    parser.add_argument(
        "--first-solution",
        default=SearchParams.first_solution,
        choices=sorted(FIRST_SOLUTIONS),
        metavar="NAME",
        help="OR-Tools first solution strategy (default %(default)s)",
    )
    parser.add_argument(
        "--metaheuristic",
        default=SearchParams.metaheuristic,
        choices=sorted(METAHEURISTICS),
        metavar="NAME",
        help="OR-Tools local search metaheuristic (default %(default)s)",
    )
    parser.add_argument(
        "--gls-lambda",
        type=_positive_float,
        default=VRPTW_GLS_LAMBDA,
        metavar="X",
        help="guided local search lambda coefficient (default: OR-Tools' own, 0.1)",
    )
    parser.add_argument(
        "--parts",
        type=parts_arg,
        default=1,
        metavar="N",
        help="decomposition of our solves (solver/decompose.py): 1 = none (one thread, like "
        "the peers; default), N = N parts; the two-core mode is its own column: --peers "
        "ours2",
    )
    parser.add_argument(
        "--polish-share",
        type=float,
        default=SearchParams.polish_share,
        metavar="X",
        help="share of the limit for the final ruin and recreate after OR-Tools' search "
        "(default %(default)s; 0 = none)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-solve progress on stderr")


def parts_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"expected 0 (automatic) or a positive integer, got {text!r}"
        )
    return value


def _command_line(args: argparse.Namespace) -> str:
    """The equivalent ``python -m bench.vrptw`` command, for the record."""
    parts = ["python -m bench.vrptw", f"--set {args.set}", f"--time-limit {args.time_limit:g}"]
    if args.instances:
        parts.append(f"--instances {args.instances}")
    parts.append(f"--peers {args.peers}")
    if args.seed != DEFAULT_PYVRP_SEED:
        parts.append(f"--seed {args.seed}")
    if args.first_solution != SearchParams.first_solution:
        parts.append(f"--first-solution {args.first_solution}")
    if args.metaheuristic != SearchParams.metaheuristic:
        parts.append(f"--metaheuristic {args.metaheuristic}")
    if args.gls_lambda is not None:
        parts.append(f"--gls-lambda {args.gls_lambda:g}")
    if getattr(args, "parts", 1) != 1:
        parts.append(f"--parts {args.parts}")
    return " ".join(parts)


def _run_from_cli(args: argparse.Namespace) -> int:
    if not getattr(args, "command_line", None):
        args.command_line = _command_line(args)
    return run(args)


def add_vrptw_parser(bench_subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``vrptw`` under an existing ``bench`` sub-parsers object.

    Parameters
    ----------
    bench_subparsers
        The nested sub-parsers of the ``bench`` command (see :func:`bench_subparsers`).

    Returns
    -------
    argparse.ArgumentParser
        The ``vrptw`` parser, its handler set as ``func``.
    """
    parser = bench_subparsers.add_parser(
        "vrptw",
        help="routing quality on Solomon / Gehring-Homberger VRPTW vs PyVRP and VROOM",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    add_arguments(parser)
    parser.set_defaults(func=lambda args: _run_from_cli(args))
    return parser


def bench_subparsers(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The nested sub-parsers of ``bench``, creating the ``bench`` command if absent.

    Other benchmarks (e.g. ``bench field``) call this with the CLI's top-level sub-parsers and
    add their own parser to the returned object, whichever registers first.

    Parameters
    ----------
    subparsers
        The top-level sub-parsers of the ``dispatch`` CLI.

    Returns
    -------
    argparse._SubParsersAction
    """
    existing = subparsers.choices.get("bench")
    if existing is not None:
        for action in existing._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
        raise RuntimeError("a 'bench' command exists without sub-commands")
    bench = subparsers.add_parser("bench", help="benchmarks (see 'bench --help')")
    nested = bench.add_subparsers(dest="bench_command", metavar="BENCHMARK")
    nested.required = True
    return nested


def register(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Entry point for ``dispatch.commands``: add ``bench vrptw``.

    Parameters
    ----------
    subparsers
        The top-level sub-parsers of the ``dispatch`` CLI.

    Returns
    -------
    argparse._SubParsersAction
        The nested ``bench`` sub-parsers, for further benchmarks.
    """
    nested = bench_subparsers(subparsers)
    if "vrptw" not in nested.choices:
        add_vrptw_parser(nested)
    return nested


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m bench.vrptw [--set ...] [--time-limit S] ...``.

    Parameters
    ----------
    argv
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code (see :func:`run`).
    """
    parser = argparse.ArgumentParser(
        prog="python -m bench.vrptw", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    add_arguments(parser)
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.command_line = " ".join(["python -m bench.vrptw", *argv])
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
