"""What-if simulation: snapshot comparison and rolling-horizon replay (docs/simulation.md).

*Snapshot*: solve the base problem and every variant of it, compare KPIs side by side.

*Rolling horizon*: tickets arrive from a demand stream over ``days``; the dispatcher
re-plans every ``replan_every_hours`` and on each critical ticket, with visits already
published pinned to their engineer (``keep_promises``); engineers execute the plan with
the tickets' random service-time and travel deviations; the SLA outcome is measured at the
actual arrival. Replications run in a local process pool or as Ray tasks and give the same
numbers either way, for a given seed.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import timedelta
from multiprocessing import get_context
from typing import Any

from dispatcher.domain import CurrentPosition, Engineer, Location, Order, Plan, Problem
from dispatcher.errors import InputError
from dispatcher.generate import STATIONS
from dispatcher.planner import PlanOptions, plan_problem
from dispatcher.timeline import (
    advance,
    earliest_fit,
    first_work_instant,
    to_s,
    work_time_between,
    work_windows,
)
from dispatcher.travel import geodesic_km, leg
from dispatcher.whatif.demand import (
    DemandModel,
    DemandStream,
    HistoryDemand,
    Ticket,
    derive_seed,
    generate_stream,
    replay_stream,
)
from dispatcher.whatif.model import Scenario, SimulationSettings, Variant
from dispatcher.whatif.modifications import (
    AddEngineers,
    RemoveEngineers,
    Selector,
    engineer_station,
)
from dispatcher.whatif.roster import build_roster
from dispatcher.whatif.stats import (
    MIN_REPLICATIONS,
    Interval,
    count_ci,
    difference_warning,
    paired_difference,
    percentile,
    positive_ci,
    proportion_ci,
)

# Metrics of one replication, in report order, with how to read them.
METRICS: dict[str, str] = {
    "on_time_rate": "share of measured orders whose engineer arrived by the deadline",
    "late_orders": "measured orders not on time (served late or never served)",
    "unserved_orders": "measured orders never served by the end of the run",
    "late_minutes_p50": "median minutes late over late orders (unserved: censored at the end)",
    "late_minutes_p90": "90th percentile of minutes late over late orders",
    "travel_km": "km travelled (visits and returns home) after the warm-up",
    "travel_hours": "hours travelled after the warm-up",
    "overtime_hours": "hours of travel and service outside regular shifts",
    "utilisation": "travel + service time / regular shift time, over the measured days",
}
HIGHER_IS_BETTER = {"on_time_rate"}
RATES = {"on_time_rate"}  # shares of orders: Wilson interval, differences within [-1, 1]
COUNTS = {"late_orders", "unserved_orders"}  # orders per replication: quasi-Poisson interval
# Every other metric is a non-negative quantity: t interval on the log scale.


# ------------------------------------------------------------------ results


@dataclass(frozen=True)
class ReplicationResult:
    """Outcome of one variant in one replication (plain data: picklable, JSON-able)."""

    variant: str
    replication: int
    orders: int
    metrics: dict[str, float]
    late_minutes: tuple[float, ...]
    utilisation_by_station: dict[str, float]
    unserved_reasons: dict[str, int]
    replans: int
    solves_at_time_limit: int
    broken_promises: int
    solve_seconds: float
    wall_seconds: float = 0.0

    def identity(self) -> tuple[Any, ...]:
        """Everything except timings: what must be equal across runs and backends."""
        return (
            self.variant,
            self.replication,
            self.orders,
            tuple(sorted(self.metrics.items())),
            self.late_minutes,
            tuple(sorted(self.utilisation_by_station.items())),
            tuple(sorted(self.unserved_reasons.items())),
            self.replans,
            self.broken_promises,
        )


@dataclass(frozen=True)
class OrderOutcome:
    order_id: str
    status: str  # "on_time" | "late" | "unserved"
    minutes_late: float
    engineer_id: str | None = None
    reason: str | None = None  # for unserved: the last plan's unassigned reason


# ------------------------------------------------------------------ the replay engine


@dataclass
class _Eng:
    """An engineer's execution state (mutable, private to one replay)."""

    engineer: Engineer
    work: list[tuple[int, int]]
    shifts: list[tuple[int, int]]
    loc: Location
    free: int
    queue: list[str] = field(default_factory=list)
    busy_s: int = 0


@dataclass
class _Totals:
    travel_km: float = 0.0
    travel_s: int = 0
    overtime_s: int = 0


def replay(
    roster: Problem,
    tickets: Sequence[Ticket],
    settings: SimulationSettings,
    options: PlanOptions | None = None,
    on_plan: Callable[[int, Plan], None] | None = None,
) -> tuple[list[OrderOutcome], dict[str, Any]]:
    """Run the rolling-horizon replay of ``tickets`` against ``roster``.

    Parameters
    ----------
    roster
        Engineers (shifts covering the whole run) and policy; ``planning_start`` is the
        start of the run; its orders are ignored.
    tickets
        The realized tickets of this variant, in arrival order.
    settings
        A :class:`~dispatcher.whatif.model.SimulationSettings`.
    options
        Per-replan solve options (default: ``settings.solver``).
    on_plan
        Called with (replan second, plan) after each solve (tests, tracing).

    Returns
    -------
    (outcomes, stats)
        One :class:`OrderOutcome` per measured ticket (received after the warm-up and
        before ``days``), and run statistics (travel, overtime, utilisation, replans…).
    """
    options = options or settings.solver.options()
    origin = roster.planning_start
    policy = roster.policy
    params = policy.travel
    arrive_end = int(settings.days * 86400)
    warm = int(settings.warmup_days * 86400)
    end = int(math.ceil((settings.days + settings.drain_days) * 86400))
    every = int(settings.replan_every_hours * 3600)
    horizon = settings.replan_horizon_hours
    publish = int(settings.publish_hours * 3600)

    engs: list[_Eng] = []
    for e in roster.engineers:
        free = 0
        if e.current is not None:
            free = max(0, to_s(e.current.available_from, origin))
        shifts = [(to_s(w.start, origin), to_s(w.end, origin)) for w in e.shifts]
        engs.append(_Eng(e, work_windows(e, origin), shifts, e.start_location, free))
    by_id = {x.engineer.id: x for x in engs}

    tickets = sorted(tickets, key=lambda t: (t.received_at, t.id))
    arrival_s = [to_s(t.received_at, origin) for t in tickets]
    info = {t.id: t for t in tickets}
    orders: dict[str, Order] = {t.id: t.to_order(policy) for t in tickets}
    deadline_s = {oid: to_s(policy.deadline(o), origin) for oid, o in orders.items()}
    measured = {t.id for t, a in zip(tickets, arrival_s, strict=True) if warm <= a < arrive_end}

    replans = sorted(
        {k * every for k in range(end // every + 1) if k * every < end}
        | (
            {
                a
                for t, a in zip(tickets, arrival_s, strict=True)
                if t.priority == "critical" and a < end
            }
            if settings.replan_on_critical
            else set()
        )
    )
    outcomes: dict[str, OrderOutcome] = {}
    open_ids: dict[str, None] = {}  # arrived, not yet started; insertion-ordered
    promised: dict[str, str] = {}
    last_reason: dict[str, str] = {}
    totals = _Totals()
    counters = Counter[str]()
    solve_s = 0.0
    next_arrival = 0
    arrived_since_solve = False

    def execute(x: _Eng, until: int) -> None:
        """Carry out x's queue: every visit it departs for before ``until`` (committed)."""
        while x.queue:
            oid = x.queue[0]
            t = info[oid]
            dep = first_work_instant(x.work, x.free)
            if dep is None or dep >= until:
                return
            geo = float(geodesic_km(x.loc.lat, x.loc.lon, t.location.lat, t.location.lon))
            _, km, secs = leg(params, geo)
            travel = int(round(secs * t.travel_factor))
            arr = advance(x.work, dep, travel, open_end=True)
            assert arr is not None
            begin = earliest_fit(x.work, [], arr, t.service_minutes * 60)
            begin = arr if begin is None else begin
            actual = int(round(t.service_minutes * t.service_factor * 60))
            done = begin + actual
            late_s = arr - deadline_s[oid]
            outcomes[oid] = OrderOutcome(
                oid, "on_time" if late_s <= 0 else "late", max(0, late_s) / 60.0, x.engineer.id
            )
            if dep >= warm:
                totals.travel_km += km
                totals.travel_s += travel
                totals.overtime_s += max(0, travel - work_time_between(x.shifts, dep, arr))
                totals.overtime_s += max(0, actual - work_time_between(x.shifts, begin, done))
            # Busy time inside the measured days: travel consumes work time, service is solid.
            x.busy_s += work_time_between(x.work, max(dep, warm), min(arr, arrive_end))
            x.busy_s += max(0, min(done, arrive_end) - max(begin, warm))
            x.loc, x.free = t.location, done
            x.queue.pop(0)
            open_ids.pop(oid, None)
            promised.pop(oid, None)
        # Idle at the end of the work window: drive home (a flight home waits for work).
        home = x.engineer.home
        if x.loc == home:
            return
        idle_until = next((b for a, b in x.work if a <= x.free < b), x.free)
        if idle_until > until:
            return
        geo = float(geodesic_km(x.loc.lat, x.loc.lon, home.lat, home.lon))
        mode, km, secs = leg(params, geo)
        if mode != "drive":
            return
        if idle_until >= warm:
            totals.travel_km += km
            totals.travel_s += int(round(secs))
            counters["returns_home"] += 1
        x.loc, x.free = home, idle_until + int(round(secs))

    for now in replans:
        for x in engs:
            execute(x, now)
        while next_arrival < len(tickets) and arrival_s[next_arrival] <= now:
            open_ids[tickets[next_arrival].id] = None
            next_arrival += 1
            arrived_since_solve = True
        if not open_ids:
            continue
        queued = {oid for x in engs for oid in x.queue}
        if not arrived_since_solve and all(oid in queued for oid in open_ids):
            continue  # nothing new: the published plan stands
        problem = _replan_problem(
            roster, engs, orders, open_ids, promised, now, horizon, settings, deadline_s
        )
        if len(problem.orders) < len(open_ids):
            for oid in set(open_ids) - {o.id for o in problem.orders}:
                last_reason[oid] = "capacity"
        t0 = time.perf_counter()
        plan = plan_problem(problem, options)
        elapsed = time.perf_counter() - t0
        solve_s += elapsed
        counters["replans"] += 1
        if float(str(plan.meta.get("solve_seconds") or 0)) >= options.time_limit_s * 0.98:
            counters["solves_at_time_limit"] += 1
        arrived_since_solve = False
        if on_plan is not None:
            on_plan(now, plan)
        for x in engs:
            x.queue = []
        for r in plan.routes:
            x = by_id[r.engineer_id]
            x.queue = [v.order_id for v in r.visits]
            if settings.keep_promises:
                for v in r.visits:
                    if to_s(v.arrival, origin) <= now + publish:
                        promised[v.order_id] = r.engineer_id
        for u in plan.unassigned:
            last_reason[u.order_id] = u.reason.value
            if promised.pop(u.order_id, None) is not None:
                counters["broken_promises"] += 1
        for x in engs:
            for oid in x.queue:
                last_reason.pop(oid, None)

    for x in engs:
        execute(x, end)
    for oid in open_ids:
        late_s = max(0, end - deadline_s[oid])
        outcomes[oid] = OrderOutcome(
            oid, "unserved", late_s / 60.0, None, last_reason.get(oid, "capacity")
        )

    shift_s: dict[str, int] = Counter()
    busy_s: dict[str, int] = Counter()
    for x in engs:
        st = engineer_station(x.engineer)
        shift_s[st] += work_time_between(x.shifts, warm, arrive_end)
        busy_s[st] += x.busy_s
    stats = {
        "travel_km": totals.travel_km,
        "travel_hours": totals.travel_s / 3600.0,
        "overtime_hours": totals.overtime_s / 3600.0,
        "utilisation": sum(busy_s.values()) / max(1, sum(shift_s.values())),
        "utilisation_by_station": {
            st: busy_s[st] / shift_s[st] for st in shift_s if shift_s[st] > 0
        },
        "replans": counters["replans"],
        "solves_at_time_limit": counters["solves_at_time_limit"],
        "broken_promises": counters["broken_promises"],
        "solve_seconds": solve_s,
    }
    return [outcomes[oid] for oid in sorted(measured)], stats


def _replan_problem(
    roster: Problem,
    engs: list[_Eng],
    orders: dict[str, Order],
    open_ids: Iterable[str],
    promised: dict[str, str],
    now: int,
    horizon_h: int,
    settings: SimulationSettings,
    deadlines: dict[str, int],
) -> Problem:
    start = roster.planning_start + timedelta(seconds=now)
    stop = start + timedelta(hours=horizon_h)
    engineers = []
    for x in engs:
        e = x.engineer
        ot = timedelta(minutes=e.max_overtime_minutes)
        shifts = tuple(w for w in e.shifts if w.end + ot > start and w.start < stop)
        free = roster.planning_start + timedelta(seconds=max(now, x.free))
        engineers.append(replace(e, shifts=shifts, current=CurrentPosition(x.loc, free)))
    present = {x.engineer.id for x in engs}
    out = []
    for oid in open_ids:
        o = orders[oid]
        pin = promised.get(oid) if settings.keep_promises else None
        out.append(replace(o, pinned_engineer=pin) if pin in present else o)
    cap = settings.max_orders_per_replan
    if cap and len(out) > cap:
        # A backlog beyond what the horizon can hold: plan the promised orders, then those
        # that can still be on time (earliest deadline first), then the overdue ones by
        # priority and age; the rest wait for a later re-plan. Overdue orders last, because
        # earliest-deadline-first under overload spends every engineer on lost causes.
        rank = {p: i for i, p in enumerate(("critical", "high", "normal", "low"))}
        out.sort(
            key=lambda o: (
                o.pinned_engineer is None,
                deadlines[o.id] < now,
                rank[o.priority] if deadlines[o.id] < now else 0,
                deadlines[o.id],
                o.id,
            )
        )
        out = out[:cap]
    return Problem(
        planning_start=start,
        engineers=tuple(engineers),
        orders=tuple(out),
        horizon_hours=horizon_h,
        policy=roster.policy,
    )


def summarize_replication(
    variant: str, replication: int, outcomes: Sequence[OrderOutcome], stats: dict[str, Any]
) -> ReplicationResult:
    """KPIs of one replication from its order outcomes and run statistics."""
    n = len(outcomes)
    on_time = sum(1 for o in outcomes if o.status == "on_time")
    late = [o.minutes_late for o in outcomes if o.status != "on_time"]
    unserved = [o for o in outcomes if o.status == "unserved"]
    metrics = {
        "on_time_rate": on_time / n if n else 1.0,
        "late_orders": float(len(late)),
        "unserved_orders": float(len(unserved)),
        "late_minutes_p50": percentile(late, 50),
        "late_minutes_p90": percentile(late, 90),
        "travel_km": round(stats["travel_km"], 6),
        "travel_hours": round(stats["travel_hours"], 6),
        "overtime_hours": round(stats["overtime_hours"], 6),
        "utilisation": round(stats["utilisation"], 6),
    }
    return ReplicationResult(
        variant=variant,
        replication=replication,
        orders=n,
        metrics=metrics,
        late_minutes=tuple(round(x, 3) for x in late),
        utilisation_by_station={
            k: round(v, 6) for k, v in sorted(stats["utilisation_by_station"].items())
        },
        unserved_reasons=dict(sorted(Counter(o.reason or "capacity" for o in unserved).items())),
        replans=int(stats["replans"]),
        solves_at_time_limit=int(stats["solves_at_time_limit"]),
        broken_promises=int(stats["broken_promises"]),
        solve_seconds=round(float(stats["solve_seconds"]), 3),
    )


# ------------------------------------------------------------------ tasks


def demand_stream(scenario: Scenario, replication: int) -> DemandStream:
    """Replication ``replication``'s shared demand sample (the same for every variant)."""
    demand = scenario.base.demand
    seed = derive_seed(scenario.seed, replication, "demand")
    if isinstance(demand, HistoryDemand):
        return replay_stream(demand, seed, scenario.oversample())
    assert isinstance(demand, DemandModel)
    hours = int(math.ceil(scenario.simulation.days * 24))
    return generate_stream(demand, scenario.base.start, hours, seed, scenario.oversample())


@dataclass(frozen=True)
class Task:
    """One replication of one variant: everything a worker needs, picklable."""

    scenario: Scenario
    variant: Variant
    replication: int


def run_task(task: Task) -> ReplicationResult:
    """Simulate one replication of one variant (runs in a worker process or Ray task)."""
    t0 = time.perf_counter()
    scenario = task.scenario
    roster = task.variant.apply_problem(build_roster(scenario))
    tickets = task.variant.apply_demand(demand_stream(scenario, task.replication)).realized()
    outcomes, stats = replay(roster, tickets, scenario.simulation)
    result = summarize_replication(task.variant.name, task.replication, outcomes, stats)
    return replace(result, wall_seconds=round(time.perf_counter() - t0, 3))


def tasks_for(scenario: Scenario, variants: Sequence[Variant] | None = None) -> list[Task]:
    variants = scenario.variants if variants is None else variants
    return [Task(scenario, v, r) for v in variants for r in range(scenario.simulation.replications)]


ProgressFn = Callable[[ReplicationResult], None]


def run_tasks(
    tasks: Sequence[Task],
    workers: int = 1,
    ray_address: str | None = None,
    on_result: ProgressFn | None = None,
) -> list[ReplicationResult]:
    """Run tasks in-process (``workers == 1``), in a process pool, or as Ray tasks.

    Results come back sorted by (variant order, replication), whatever the backend.
    """
    order = {(t.variant.name, t.replication): i for i, t in enumerate(tasks)}
    results: list[ReplicationResult] = []

    def done(r: ReplicationResult) -> None:
        results.append(r)
        if on_result is not None:
            on_result(r)

    if ray_address:
        _run_ray(tasks, ray_address, done)
    elif workers <= 1:
        for t in tasks:
            done(run_task(t))
    else:
        # spawn, not fork: OR-Tools and Ray hold threads that a fork would copy mid-state.
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_task, t) for t in tasks]
            for f in as_completed(futures):
                done(f.result())
    return sorted(results, key=lambda r: order[(r.variant, r.replication)])


def _run_ray(
    tasks: Sequence[Task], address: str, done: Callable[[ReplicationResult], None]
) -> None:
    try:
        import ray
    except ImportError:
        raise InputError(
            "--ray-address", "expected Ray to be installed (pip install ray)"
        ) from None
    if not ray.is_initialized():
        if address == "local":
            ray.init(include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(num_cpus=1)(run_task)
    pending = [remote.remote(t) for t in tasks]
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        for ref in ready:
            done(ray.get(ref))


# ------------------------------------------------------------------ comparison


def on_time_ci(reps: Sequence[ReplicationResult]) -> Interval:
    """Pooled on-time share of ``reps`` with its Wilson interval (see ``stats.proportion_ci``)."""
    return proportion_ci(
        [r.orders - round(r.metrics["late_orders"]) for r in reps], [r.orders for r in reps]
    )


def metric_ci(metric: str, reps: Sequence[ReplicationResult]) -> Interval:
    """The estimate and 95 % interval of ``metric`` over ``reps``, by the method fit for it."""
    if metric in RATES:
        return on_time_ci(reps)
    values = [r.metrics[metric] for r in reps]
    return count_ci(values) if metric in COUNTS else positive_ci(values)


@dataclass(frozen=True)
class VariantSummary:
    name: str
    metrics: dict[str, Interval]
    differences: dict[str, Interval]  # paired, variant - baseline (empty for the baseline)
    utilisation_by_station: dict[str, Interval]
    late_minutes: tuple[float, ...]  # pooled over replications
    unserved_reasons: dict[str, int]  # summed over replications


@dataclass(frozen=True)
class Comparison:
    variants: tuple[VariantSummary, ...]
    warnings: tuple[str, ...]
    replications: int


def compare(results: Sequence[ReplicationResult], baseline: str = "base") -> Comparison:
    """Estimates, 95 % intervals and paired differences to ``baseline`` (a pure function).

    Each metric's interval uses the method fit for it (``metric_ci``); with fewer than
    ``stats.MIN_REPLICATIONS`` replications a warning says the intervals mean little.
    """
    names: list[str] = []
    for r in results:
        if r.variant not in names:
            names.append(r.variant)
    by: dict[str, dict[int, ReplicationResult]] = {n: {} for n in names}
    for r in results:
        by[r.variant][r.replication] = r
    base = by.get(baseline, {})
    summaries = []
    warnings: list[str] = []
    for name in names:
        reps = [by[name][k] for k in sorted(by[name])]
        metrics = {m: metric_ci(m, reps) for m in METRICS}
        diffs: dict[str, Interval] = {}
        if name != baseline and base:
            common = sorted(set(by[name]) & set(base))
            for m in METRICS:
                diffs[m] = paired_difference(
                    [base[k].metrics[m] for k in common],
                    [by[name][k].metrics[m] for k in common],
                    bounds=(-1.0, 1.0) if m in RATES else None,
                )
            for m in ("on_time_rate", "late_orders"):
                w = difference_warning(m, name, diffs[m])
                if w:
                    warnings.append(w)
        stations = sorted({s for r in reps for s in r.utilisation_by_station})
        util = {
            s: positive_ci([r.utilisation_by_station.get(s, 0.0) for r in reps]) for s in stations
        }
        reasons: Counter[str] = Counter()
        for r in reps:
            reasons.update(r.unserved_reasons)
        summaries.append(
            VariantSummary(
                name=name,
                metrics=metrics,
                differences=diffs,
                utilisation_by_station=util,
                late_minutes=tuple(x for r in reps for x in r.late_minutes),
                unserved_reasons=dict(sorted(reasons.items())),
            )
        )
    for r in results:
        if r.solves_at_time_limit:
            warnings.append(
                f"{r.variant} replication {r.replication}: {r.solves_at_time_limit} replan(s) hit "
                "the time limit; results then depend on machine speed (raise time_limit_s)"
            )
            break
    n = max((len(v) for v in by.values()), default=0)
    if 0 < n < MIN_REPLICATIONS:
        warnings.insert(0, too_few_warning(n))
    return Comparison(tuple(summaries), tuple(warnings), n)


def too_few_warning(n: int) -> str:
    """The sentence flagging intervals that rest on too few replications."""
    return (
        f"only {n} replication(s): intervals are shown but mean little (the spread of "
        f"fewer than {MIN_REPLICATIONS} replications is a poor guide to the next one's); "
        "raise --replications"
    )


# ------------------------------------------------------------------ snapshot what-if


@dataclass(frozen=True)
class SnapshotResult:
    variant: str
    kpis: dict[str, float]
    unassigned_reasons: dict[str, int]
    solve_seconds: float


def snapshot(scenario: Scenario, options: PlanOptions | None = None) -> list[SnapshotResult]:
    """Solve the base problem and every variant of it (deterministic given the options)."""
    base = scenario.base.problem
    if base is None:
        raise InputError("base.problem", "expected a problem file for a snapshot what-if")
    options = options or scenario.simulation.solver.options()
    out = []
    for v in scenario.variants:
        problem = v.apply_problem(base)
        t0 = time.perf_counter()
        plan = plan_problem(problem, options)
        k = plan.kpis
        out.append(
            SnapshotResult(
                variant=v.name,
                kpis={
                    "orders": k.orders,
                    "engineers": len(problem.engineers),
                    "on_time": k.on_time,
                    "late": k.late,
                    "unassigned": k.unassigned,
                    "on_time_rate": round(k.on_time_rate, 6),
                    "travel_km": round(k.travel_km, 3),
                    "travel_hours": round(k.travel_hours, 3),
                    "overtime_minutes": round(k.overtime_minutes, 3),
                    "hotel_nights": k.hotel_nights,
                    "engineers_used": k.engineers_used,
                },
                unassigned_reasons=dict(
                    sorted(Counter(u.reason.value for u in plan.unassigned).items())
                ),
                solve_seconds=round(time.perf_counter() - t0, 3),
            )
        )
    return out


# ------------------------------------------------------------------ headcount search


def _allocate(total: int, weights: Sequence[float]) -> list[int]:
    """Largest-remainder split of ``total`` by ``weights`` (ties to the earlier one)."""
    quotas = [total * w / sum(weights) for w in weights]
    counts = [math.floor(q) for q in quotas]
    by_rem = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in by_rem[: total - sum(counts)]:
        counts[i] += 1
    return counts


@dataclass(frozen=True)
class Headcount:
    """Set the head count of one station, or of all stations by their weights (pure)."""

    station: str
    engineers: int

    def targets(self) -> dict[str, int]:
        if self.station != "all":
            return {self.station: self.engineers}
        counts = _allocate(self.engineers, [s.weight for s in STATIONS])
        return {s.name: c for s, c in zip(STATIONS, counts, strict=True)}

    def apply_problem(self, problem: Problem) -> Problem:
        for st, want in self.targets().items():
            have = sum(1 for e in problem.engineers if engineer_station(e) == st)
            if want > have:
                problem = AddEngineers(want - have, station=st, id_prefix="HC").apply_problem(
                    problem
                )
            elif want < have:
                problem = RemoveEngineers(Selector(station=st, count=have - want)).apply_problem(
                    problem
                )
        return problem

    def apply_demand(self, stream: DemandStream) -> DemandStream:
        return stream

    def demand_bound(self) -> float:
        return 1.0


@dataclass(frozen=True)
class SearchPoint:
    engineers: int
    on_time: Interval  # pooled share with its Wilson interval
    by_station: dict[str, int]


@dataclass(frozen=True)
class SearchResult:
    target: float
    station: str
    meets_on_average: int | None  # fewest engineers whose on-time share >= target
    meets_confidently: int | None  # fewest whose lower 95 % bound >= target
    points: tuple[SearchPoint, ...]


def headcount_search(
    scenario: Scenario,
    workers: int = 1,
    ray_address: str | None = None,
    on_point: Callable[[SearchPoint], None] | None = None,
) -> SearchResult:
    """Fewest engineers (at a station, or in total by station weight) reaching the target.

    Each head count is evaluated with the scenario's replications and common random
    numbers; bisection assumes the on-time rate grows with head count. The answer comes
    with its uncertainty: the head count meeting the target on average, and the one whose
    lower 95 % bound meets it.
    """
    search = scenario.search
    if search is None:
        raise InputError("search", "expected a [search] table in the scenario")
    base_variant = scenario.variant(search.variant)
    cache: dict[int, SearchPoint] = {}

    def evaluate(h: int) -> SearchPoint:
        if h not in cache:
            hc = Headcount(search.station, h)
            v = Variant(f"{h} engineers", (*base_variant.modifications, hc))
            results = run_tasks(tasks_for(scenario, [v]), workers, ray_address)
            point = SearchPoint(h, on_time_ci(results), hc.targets())
            cache[h] = point
            if on_point is not None:
                on_point(point)
        return cache[h]

    def first(pred: Callable[[SearchPoint], bool], lo: int, hi: int) -> int | None:
        if not pred(evaluate(hi)):
            return None
        while lo < hi:
            mid = (lo + hi) // 2
            if pred(evaluate(mid)):
                hi = mid
            else:
                lo = mid + 1
        return lo

    on_avg = first(lambda p: p.on_time.mean >= search.target, search.lo, search.hi)
    confident = None
    if on_avg is not None:
        confident = first(
            lambda p: not math.isnan(p.on_time.low) and p.on_time.low >= search.target,
            on_avg,
            search.hi,
        )
    points = tuple(cache[h] for h in sorted(cache))
    return SearchResult(search.target, search.station, on_avg, confident, points)


__all__ = [
    "METRICS",
    "Comparison",
    "Headcount",
    "ReplicationResult",
    "SearchResult",
    "SnapshotResult",
    "Task",
    "compare",
    "metric_ci",
    "demand_stream",
    "headcount_search",
    "replay",
    "run_task",
    "run_tasks",
    "snapshot",
    "summarize_replication",
    "tasks_for",
]
