"""Reading a what-if scenario file (STYLE.md rule 10).

A scenario file (TOML; YAML when PyYAML is installed) names a *base* — a problem file, or
a demand model plus an engineer roster — and *variants*, each a list of modifications
(:mod:`dispatcher.whatif.modifications`); it is read into a
:class:`~dispatcher.whatif.model.Scenario`. The file format is documented in
``docs/simulation.md`` and by the examples in ``fixtures/scenarios/``.

Every bad value raises :class:`~dispatcher.errors.InputError` naming the field, e.g.
``variants[1].modifications[0].engineers: expected a positive integer, got -2``.
"""

from __future__ import annotations

import json
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from dispatcher.codec import expand_weekly, problem_from_dict
from dispatcher.domain import COMMITMENT_CLASSES, PRIORITIES, Location
from dispatcher.errors import InputError
from dispatcher.generate import DEFAULT_PLANNING_START
from dispatcher.reader import Node, at, describe
from dispatcher.whatif.demand import DemandModel, HistoryDemand, load_history_csv, station_names
from dispatcher.whatif.model import (
    Base,
    RosterSpec,
    Scenario,
    Search,
    SimulationSettings,
    SolverSettings,
    Variant,
)
from dispatcher.whatif.modifications import (
    DEFAULT_WEEK,
    WEEKDAYS,
    Absence,
    AddEngineers,
    Commitment,
    DemandMultiplier,
    Modification,
    OrderFilter,
    Overtime,
    RemoveEngineers,
    Selector,
    Train,
    Travel,
)


def _table(data: Any, path: str, allowed: tuple[str, ...] | None) -> Node:
    return Node(data, path, allowed, noun="table")


def _station(value: str, path: str) -> str:
    for name in station_names():
        if name.lower() == value.lower():
            return name
    raise InputError(path, f"expected a station ({', '.join(station_names())}), got {value!r}")


def _read_json(path: Path, where: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(where, f"expected an existing file, found none at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            where, f"expected a readable JSON file ({exc.__class__.__name__}: {exc})"
        ) from None


# ------------------------------------------------------------------ parsing

_SELECT_KEYS = ("ids", "station", "skill", "engineers")


def _selector(t: Node, require: bool = True) -> Selector:
    ids = t.strings("ids", lone=True)
    station = _station(t.text("station"), t.sub("station")) if t.has("station") else None
    skill = t.text("skill") if t.has("skill") else None
    count = t.integer("engineers", lo=1) if t.has("engineers") else None
    if require and not ids and station is None and skill is None:
        raise InputError(t.path, "expected ids, station or skill to select engineers, got none")
    return Selector(ids=ids, station=station, skill=skill, count=count)


def _filter(t: Node) -> OrderFilter:
    return OrderFilter(
        region=_station(t.text("region"), t.sub("region")) if t.has("region") else None,
        skill=t.text("skill") if t.has("skill") else None,
        priorities=t.strings("priority", PRIORITIES, lone=True),
        overseas=t.flag("overseas", False) if t.has("overseas") else None,
        share=t.real("share", 1.0, lo=0, hi=1),
    )


_FILTER_KEYS = ("region", "skill", "priority", "overseas", "share")
_TRAVEL_KEYS = ("circuity", "max_drive_km", "drive_kmh", "flight_overhead_h", "flight_kmh")


def _weekly(t: Node, key: str) -> dict[str, list[str]]:
    if not t.has(key):
        return dict(DEFAULT_WEEK)
    w = t.obj(key, WEEKDAYS, optional=True)
    return {d: list(w.strings(d, lone=True)) for d in w.data}


def _modification(data: Any, path: str) -> Modification:
    if not isinstance(data, dict):
        raise InputError(path, f"expected a table, got {describe(data)}")
    kind = _table(data, path, tuple(data))
    types = (
        "add_engineers",
        "remove_engineers",
        "absence",
        "train",
        "overtime",
        "demand",
        "commitment",
        "travel",
    )
    kind_name = kind.choice("type", types)
    if kind_name == "add_engineers":
        t = _table(
            data,
            path,
            (
                "type",
                "engineers",
                "station",
                "home",
                "timezone",
                "skills",
                "weekly_shifts",
                "max_overtime_minutes",
                "can_travel_overseas",
                "id_prefix",
            ),
        )
        station = _station(t.text("station"), t.sub("station")) if t.has("station") else None
        home = None
        if t.has("home"):
            h = t.obj("home", ("lat", "lon"), optional=True)
            home = Location(h.real("lat", lo=-90, hi=90), h.real("lon", lo=-180, hi=180))
        if station is None and home is None:
            raise InputError(path, "expected a station or a home to add engineers at, got neither")
        mod = AddEngineers(
            engineers=t.integer("engineers", lo=1),
            station=station,
            home=home,
            timezone=t.text("timezone", "Asia/Shanghai"),
            skills=t.strings("skills", lone=True),
            weekly_shifts=_weekly(t, "weekly_shifts"),
            max_overtime_minutes=t.integer("max_overtime_minutes", 0, lo=0, hi=24 * 60),
            can_travel_overseas=t.flag("can_travel_overseas", True),
            id_prefix=t.text("id_prefix", "NEW"),
        )
        # Validate the shift pattern now, not in the middle of a run.
        expand_weekly(
            mod.weekly_shifts,
            t.sub("weekly_shifts"),
            mod.timezone if home else "Asia/Shanghai",
            DEFAULT_PLANNING_START,
            DEFAULT_PLANNING_START + timedelta(days=1),
        )
        return mod
    if kind_name == "remove_engineers":
        t = _table(data, path, ("type", *_SELECT_KEYS))
        return RemoveEngineers(_selector(t))
    if kind_name == "absence":
        t = _table(data, path, ("type", *_SELECT_KEYS, "start", "end", "from_day", "days"))
        start, end = t.maybe_instant("start"), t.maybe_instant("end")
        if (start is None) != (end is None):
            raise InputError(path, "expected both start and end, or from_day and days")
        if start is not None and end is not None and end <= start:
            raise InputError(t.sub("end"), f"expected end after start, got {end.isoformat()}")
        return Absence(
            _selector(t),
            start=start,
            end=end,
            from_day=t.real("from_day", 0.0, lo=0),
            days=t.real("days", 1.0, positive=True),
        )
    if kind_name == "train":
        t = _table(data, path, ("type", *_SELECT_KEYS, "skills"))
        skills = t.strings("skills", lone=True)
        if not skills:
            raise InputError(t.sub("skills"), "expected at least one skill, got none")
        return Train(_selector(t), skills)
    if kind_name == "overtime":
        t = _table(data, path, ("type", *_SELECT_KEYS, "max_overtime_minutes"))
        return Overtime(
            _selector(t, require=False), t.integer("max_overtime_minutes", lo=0, hi=24 * 60)
        )
    if kind_name == "demand":
        t = _table(data, path, ("type", "multiplier", *_FILTER_KEYS))
        return DemandMultiplier(t.real("multiplier", positive=True), _filter(t))
    if kind_name == "commitment":
        t = _table(data, path, ("type", "hours", "class", "name", *_FILTER_KEYS))
        cls = t.choice("class", COMMITMENT_CLASSES) if t.has("class") else None
        where = _filter(t)
        if cls is not None and where != OrderFilter():
            raise InputError(
                path,
                "expected either class (a policy change) or order filters (a premium class), not both",
            )
        return Commitment(t.real("hours", positive=True), cls, where)
    t = _table(data, path, ("type", *_TRAVEL_KEYS))
    changes = tuple((k, t.real(k, positive=True)) for k in _TRAVEL_KEYS if t.has(k))
    if not changes:
        raise InputError(path, f"expected at least one of {', '.join(_TRAVEL_KEYS)}")
    if dict(changes).get("circuity", 1.0) < 1:
        raise InputError(
            t.sub("circuity"), f"expected a number >= 1, got {dict(changes)['circuity']}"
        )
    return Travel(changes)


_DEMAND_KEYS = (
    "tickets_per_day", "overseas_share", "region_weights", "hour_profile", "weekday_profile",
    "skill_mix", "two_skill_share", "priority_mix", "service_median_minutes", "service_sigma",
    "service_min_minutes", "service_max_minutes", "planned_share", "planned_due_hours",
    "service_deviation_sigma", "travel_deviation_sigma", "history",
)  # fmt: skip


def _demand(t: Node, here: Path) -> DemandModel | HistoryDemand:
    defaults = DemandModel()
    sigmas = {
        "service_deviation_sigma": t.real(
            "service_deviation_sigma", defaults.service_deviation_sigma, lo=0, hi=3
        ),
        "travel_deviation_sigma": t.real(
            "travel_deviation_sigma", defaults.travel_deviation_sigma, lo=0, hi=3
        ),
    }
    if t.has("history"):
        path = here / t.text("history")
        with at(t.sub("history")):
            tickets = load_history_csv(path)
        return HistoryDemand(tickets=tickets, source=str(path), **sigmas)

    def floats(key: str, n: int) -> tuple[float, ...] | None:
        if not t.has(key):
            return None
        v = t.data[key]
        if not isinstance(v, list) or len(v) != n:
            raise InputError(
                t.sub(key), f"expected a list of {n} non-negative numbers, got {describe(v)}"
            )
        return tuple(v)

    def mix(key: str) -> dict[str, float] | None:
        if not t.has(key):
            return None
        v = t.data[key]
        if not isinstance(v, dict):
            raise InputError(t.sub(key), f"expected a table of weights, got {describe(v)}")
        if key == "region_weights":
            return {_station(k, f"{t.sub(key)}.{k}"): w for k, w in v.items()}
        return dict(v)

    kwargs: dict[str, Any] = {
        "tickets_per_day": t.real("tickets_per_day", defaults.tickets_per_day, lo=0),
        "overseas_share": t.real("overseas_share", defaults.overseas_share, lo=0, hi=1),
        "two_skill_share": t.real("two_skill_share", defaults.two_skill_share, lo=0, hi=1),
        "service_median_minutes": t.real(
            "service_median_minutes", defaults.service_median_minutes, lo=1
        ),
        "service_sigma": t.real("service_sigma", defaults.service_sigma, lo=0, hi=3),
        "service_min_minutes": t.integer("service_min_minutes", defaults.service_min_minutes, lo=0),
        "service_max_minutes": t.integer("service_max_minutes", defaults.service_max_minutes, lo=1),
        "planned_share": t.real("planned_share", defaults.planned_share, lo=0, hi=1),
        "planned_due_hours": t.integer("planned_due_hours", defaults.planned_due_hours, lo=31),
        **sigmas,
    }
    for key, n in (("hour_profile", 24), ("weekday_profile", 7)):
        value = floats(key, n)
        if value is not None:
            kwargs[key] = value
    for key in ("region_weights", "skill_mix", "priority_mix"):
        weights = mix(key)
        if weights is not None:
            kwargs[key] = weights
    with at(t.path):
        return DemandModel(**kwargs)


def scenario_from_dict(data: Any, here: Path | None = None, source: str = "") -> Scenario:
    """Validate a scenario document (already parsed from TOML/YAML).

    Parameters
    ----------
    data
        The document.
    here
        Directory that relative file names (problem, roster, history) are read from.
    source
        Name of the file, for reports.

    Raises
    ------
    InputError
        Naming the field, e.g. ``variants[1].modifications[0].engineers``.
    """
    here = here or Path.cwd()
    if not isinstance(data, dict):
        raise InputError("scenario", f"expected a table, got {describe(data)}")
    root = _table(
        data, "", ("name", "description", "seed", "base", "simulation", "variants", "search")
    )
    b = root.obj("base", ("problem", "start", "roster", "demand"), optional=True)
    problem = None
    problem_path = None
    if b.has("problem"):
        problem_path = str(here / b.text("problem"))
        with at("base.problem"):
            problem = problem_from_dict(_read_json(Path(problem_path), "base.problem"))
    start = b.maybe_instant("start") or (problem.planning_start if problem else Base().start)
    demand = (
        _demand(b.obj("demand", _DEMAND_KEYS, optional=True), here) if b.has("demand") else None
    )
    roster = RosterSpec()
    if b.has("roster"):
        r = b.obj("roster", ("engineers", "seed", "file"), optional=True)
        roster = RosterSpec(
            engineers=r.integer("engineers", roster.engineers, lo=1),
            seed=r.integer("seed", roster.seed, lo=0),
            file=here / r.text("file") if r.has("file") else None,
        )
    if problem is None and demand is None:
        raise InputError(
            "base", "expected a problem file, or a demand model (with a roster), got neither"
        )
    if isinstance(demand, HistoryDemand) and not b.has("start"):
        start = demand.start
    base = Base(
        problem=problem, problem_path=problem_path, demand=demand, roster=roster, start=start
    )

    s = root.obj(
        "simulation",
        (
            "days",
            "warmup_days",
            "drain_days",
            "replan_every_hours",
            "replan_on_critical",
            "keep_promises",
            "publish_hours",
            "replan_horizon_hours",
            "replications",
            "max_orders_per_replan",
            "solver",
        ),
        optional=True,
    )
    sv = s.obj(
        "solver",
        ("time_limit_s", "solution_limit", "metaheuristic", "first_solution"),
        optional=True,
    )
    d = SimulationSettings()
    dsv = d.solver
    solver = SolverSettings(
        time_limit_s=sv.real("time_limit_s", dsv.time_limit_s, positive=True),
        # 0 means "no solution limit" (TOML has no null): then the time limit alone bounds it.
        solution_limit=sv.integer("solution_limit", dsv.solution_limit, lo=0) or None,
        metaheuristic=sv.text("metaheuristic", dsv.metaheuristic),
        first_solution=sv.text("first_solution", dsv.first_solution),
    )
    with at(sv.path or "simulation.solver"):
        solver.options().search_params()  # validates the strategy names
    sim = SimulationSettings(
        days=s.real("days", d.days, positive=True),
        warmup_days=s.real("warmup_days", d.warmup_days, lo=0),
        drain_days=s.real("drain_days", d.drain_days, lo=0),
        replan_every_hours=s.real("replan_every_hours", d.replan_every_hours, positive=True),
        replan_on_critical=s.flag("replan_on_critical", d.replan_on_critical),
        keep_promises=s.flag("keep_promises", d.keep_promises),
        publish_hours=s.real("publish_hours", d.publish_hours, lo=0),
        replan_horizon_hours=s.integer(
            "replan_horizon_hours", d.replan_horizon_hours, lo=1, hi=24 * 60
        ),
        replications=s.integer("replications", d.replications, lo=1),
        max_orders_per_replan=s.integer("max_orders_per_replan", d.max_orders_per_replan, lo=0),
        solver=solver,
    )
    if sim.warmup_days >= sim.days:
        raise InputError(
            "simulation.warmup_days",
            f"expected fewer days than simulation.days ({sim.days:g}), got {sim.warmup_days:g}",
        )
    if sim.total_hours > 24 * 60:
        raise InputError(
            "simulation.days",
            f"expected days + drain_days <= 60, got {sim.days + sim.drain_days:g}",
        )

    variants = [Variant("base")]
    names = {"base"}
    for vpath, vdata in root.items("variants"):
        v = _table(vdata, vpath, ("name", "description", "modifications"))
        name = v.text("name")
        if name in names:
            raise InputError(v.sub("name"), f"expected a unique variant name, got {name!r}")
        names.add(name)
        mods = tuple(_modification(m, mpath) for mpath, m in v.items("modifications"))
        variants.append(Variant(name, mods))

    search = None
    if root.has("search"):
        q = root.obj("search", ("target", "station", "min", "max", "variant"), optional=True)
        station = q.text("station", "all")
        search = Search(
            target=q.real("target", 0.95, lo=0, hi=1),
            station="all" if station == "all" else _station(station, q.sub("station")),
            lo=q.integer("min", 1, lo=1),
            hi=q.integer("max", 60, lo=1),
            variant=q.text("variant", "base"),
        )
        if search.hi < search.lo:
            raise InputError(q.sub("max"), f"expected max >= min ({search.lo}), got {search.hi}")
        if search.variant not in names:
            raise InputError(
                q.sub("variant"),
                f"expected a variant name ({', '.join(sorted(names))}), got {search.variant!r}",
            )
        if demand is None:
            raise InputError(
                "search", "expected a simulation base (a demand model) for the headcount search"
            )

    return Scenario(
        name=root.text("name", Path(source).stem or "scenario"),
        description=root.text("description", ""),
        seed=root.integer("seed", 1, lo=0),
        base=base,
        variants=tuple(variants),
        simulation=sim,
        search=search,
        source=source,
    )


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (``.toml``; ``.yaml``/``.yml`` when PyYAML is installed)."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "expected an existing scenario file, found none") from None
    except OSError as exc:
        raise InputError(
            str(path), f"expected a readable file ({exc.__class__.__name__})"
        ) from None
    if p.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError:
            raise InputError(
                str(path), "YAML scenarios need PyYAML (pip install pyyaml); use TOML"
            ) from None
        try:
            data = yaml.safe_load(raw.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise InputError(str(path), f"expected YAML: {exc}") from None
    else:
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(str(path), f"expected TOML: {exc}") from None
    return scenario_from_dict(data, p.parent, str(p))
