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
import math
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from dispatcher.codec import expand_weekly, parse_datetime, problem_from_dict
from dispatcher.domain import COMMITMENT_CLASSES, PRIORITIES, Location
from dispatcher.errors import InputError
from dispatcher.generate import DEFAULT_PLANNING_START
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


def _describe(value: Any) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    try:
        text = json.dumps(value)
    except TypeError:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@contextmanager
def _at(path: str) -> Iterator[None]:
    """Prefix an InputError raised by a domain constructor with ``path``."""
    try:
        yield
    except InputError as exc:
        if exc.path == path or exc.path.startswith((path + ".", path + "[")):
            raise
        raise InputError(f"{path}.{exc.path}" if exc.path else path, exc.message) from None


class _Table:
    """A TOML/YAML table being read, with the path it sits at and the keys it allows."""

    def __init__(self, data: Any, path: str, allowed: tuple[str, ...]) -> None:
        if not isinstance(data, dict):
            raise InputError(path or "scenario", f"expected a table, got {_describe(data)}")
        for key in data:
            if key not in allowed:
                raise InputError(
                    self._sub(path, key), f"unknown key; expected one of {', '.join(allowed)}"
                )
        self.data = data
        self.path = path

    @staticmethod
    def _sub(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def sub(self, key: str) -> str:
        return self._sub(self.path, key)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def text(self, key: str, default: str | None = None) -> str:
        if not self.has(key):
            if default is None:
                raise InputError(self.sub(key), "expected a value, got nothing")
            return default
        v = self.data[key]
        if not isinstance(v, str) or not v:
            raise InputError(self.sub(key), f"expected a non-empty string, got {_describe(v)}")
        return v

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str:
        v = self.text(key, default)
        if v not in options:
            raise InputError(
                self.sub(key), f"expected one of {', '.join(options)}, got {_describe(v)}"
            )
        return v

    def number(
        self,
        key: str,
        default: float | None = None,
        lo: float | None = None,
        hi: float | None = None,
        positive: bool = False,
    ) -> float:
        if not self.has(key):
            if default is None:
                raise InputError(self.sub(key), "expected a value, got nothing")
            return default
        v = self.data[key]
        ok = isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
        ok = ok and (lo is None or v >= lo) and (hi is None or v <= hi) and (not positive or v > 0)
        if not ok:
            if positive:
                want = "a positive number"
            elif lo is not None and hi is not None:
                want = f"a number in [{lo:g}, {hi:g}]"
            elif lo is not None:
                want = f"a number >= {lo:g}"
            else:
                want = "a number"
            raise InputError(self.sub(key), f"expected {want}, got {_describe(v)}")
        return float(v)

    def integer(
        self, key: str, default: int | None = None, lo: int = 1, hi: int | None = None
    ) -> int:
        if not self.has(key):
            if default is None:
                raise InputError(self.sub(key), "expected a value, got nothing")
            return default
        v = self.data[key]
        ok = isinstance(v, int) and not isinstance(v, bool) and v >= lo and (hi is None or v <= hi)
        if not ok:
            if lo == 1 and hi is None:
                want = "a positive integer"
            elif lo == 0 and hi is None:
                want = "a non-negative integer"
            else:
                want = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
            raise InputError(self.sub(key), f"expected {want}, got {_describe(v)}")
        return int(v)

    def flag(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        v = self.data[key]
        if not isinstance(v, bool):
            raise InputError(self.sub(key), f"expected true or false, got {_describe(v)}")
        return v

    def instant(self, key: str) -> datetime | None:
        if not self.has(key):
            return None
        v = self.data[key]
        if isinstance(v, datetime):
            if v.tzinfo is None:
                raise InputError(
                    self.sub(key), f"expected a datetime with a UTC offset, got {v.isoformat()}"
                )
            return v
        return parse_datetime(v, self.sub(key))

    def strings(self, key: str, options: tuple[str, ...] | None = None) -> tuple[str, ...]:
        if not self.has(key):
            return ()
        v = self.data[key]
        items = [v] if isinstance(v, str) else v
        if not isinstance(items, list):
            raise InputError(self.sub(key), f"expected a list of strings, got {_describe(v)}")
        for i, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise InputError(
                    f"{self.sub(key)}[{i}]", f"expected a non-empty string, got {_describe(item)}"
                )
            if options is not None and item not in options:
                raise InputError(
                    f"{self.sub(key)}[{i}]",
                    f"expected one of {', '.join(options)}, got {_describe(item)}",
                )
        return tuple(items)

    def table(self, key: str, allowed: tuple[str, ...]) -> _Table:
        return _Table(self.data.get(key) or {}, self.sub(key), allowed)

    def tables(self, key: str) -> list[tuple[str, Any]]:
        if not self.has(key):
            return []
        v = self.data[key]
        if not isinstance(v, list):
            raise InputError(self.sub(key), f"expected a list of tables, got {_describe(v)}")
        return [(f"{self.sub(key)}[{i}]", item) for i, item in enumerate(v)]


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


def _selector(t: _Table, require: bool = True) -> Selector:
    ids = t.strings("ids")
    station = _station(t.text("station"), t.sub("station")) if t.has("station") else None
    skill = t.text("skill") if t.has("skill") else None
    count = t.integer("engineers") if t.has("engineers") else None
    if require and not ids and station is None and skill is None:
        raise InputError(t.path, "expected ids, station or skill to select engineers, got none")
    return Selector(ids=ids, station=station, skill=skill, count=count)


def _filter(t: _Table) -> OrderFilter:
    return OrderFilter(
        region=_station(t.text("region"), t.sub("region")) if t.has("region") else None,
        skill=t.text("skill") if t.has("skill") else None,
        priorities=t.strings("priority", PRIORITIES),
        overseas=t.flag("overseas", False) if t.has("overseas") else None,
        share=t.number("share", 1.0, lo=0, hi=1),
    )


_FILTER_KEYS = ("region", "skill", "priority", "overseas", "share")
_TRAVEL_KEYS = ("circuity", "max_drive_km", "drive_kmh", "flight_overhead_h", "flight_kmh")


def _weekly(t: _Table, key: str) -> dict[str, list[str]]:
    if not t.has(key):
        return dict(DEFAULT_WEEK)
    w = t.table(key, WEEKDAYS)
    return {d: list(w.strings(d)) for d in w.data}


def _modification(data: Any, path: str) -> Modification:
    if not isinstance(data, dict):
        raise InputError(path, f"expected a table, got {_describe(data)}")
    kind = _Table(data, path, tuple(data))
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
        t = _Table(
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
            h = t.table("home", ("lat", "lon"))
            home = Location(h.number("lat", lo=-90, hi=90), h.number("lon", lo=-180, hi=180))
        if station is None and home is None:
            raise InputError(path, "expected a station or a home to add engineers at, got neither")
        mod = AddEngineers(
            engineers=t.integer("engineers"),
            station=station,
            home=home,
            timezone=t.text("timezone", "Asia/Shanghai"),
            skills=t.strings("skills"),
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
        t = _Table(data, path, ("type", *_SELECT_KEYS))
        return RemoveEngineers(_selector(t))
    if kind_name == "absence":
        t = _Table(data, path, ("type", *_SELECT_KEYS, "start", "end", "from_day", "days"))
        start, end = t.instant("start"), t.instant("end")
        if (start is None) != (end is None):
            raise InputError(path, "expected both start and end, or from_day and days")
        if start is not None and end is not None and end <= start:
            raise InputError(t.sub("end"), f"expected end after start, got {end.isoformat()}")
        return Absence(
            _selector(t),
            start=start,
            end=end,
            from_day=t.number("from_day", 0.0, lo=0),
            days=t.number("days", 1.0, positive=True),
        )
    if kind_name == "train":
        t = _Table(data, path, ("type", *_SELECT_KEYS, "skills"))
        skills = t.strings("skills")
        if not skills:
            raise InputError(t.sub("skills"), "expected at least one skill, got none")
        return Train(_selector(t), skills)
    if kind_name == "overtime":
        t = _Table(data, path, ("type", *_SELECT_KEYS, "max_overtime_minutes"))
        return Overtime(
            _selector(t, require=False), t.integer("max_overtime_minutes", lo=0, hi=24 * 60)
        )
    if kind_name == "demand":
        t = _Table(data, path, ("type", "multiplier", *_FILTER_KEYS))
        return DemandMultiplier(t.number("multiplier", positive=True), _filter(t))
    if kind_name == "commitment":
        t = _Table(data, path, ("type", "hours", "class", "name", *_FILTER_KEYS))
        cls = t.choice("class", COMMITMENT_CLASSES) if t.has("class") else None
        where = _filter(t)
        if cls is not None and where != OrderFilter():
            raise InputError(
                path,
                "expected either class (a policy change) or order filters (a premium class), not both",
            )
        return Commitment(t.number("hours", positive=True), cls, where)
    t = _Table(data, path, ("type", *_TRAVEL_KEYS))
    changes = tuple((k, t.number(k, positive=True)) for k in _TRAVEL_KEYS if t.has(k))
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


def _demand(t: _Table, here: Path) -> DemandModel | HistoryDemand:
    defaults = DemandModel()
    sigmas = {
        "service_deviation_sigma": t.number(
            "service_deviation_sigma", defaults.service_deviation_sigma, lo=0, hi=3
        ),
        "travel_deviation_sigma": t.number(
            "travel_deviation_sigma", defaults.travel_deviation_sigma, lo=0, hi=3
        ),
    }
    if t.has("history"):
        path = here / t.text("history")
        with _at(t.sub("history")):
            tickets = load_history_csv(path)
        return HistoryDemand(tickets=tickets, source=str(path), **sigmas)

    def floats(key: str, n: int) -> tuple[float, ...] | None:
        if not t.has(key):
            return None
        v = t.data[key]
        if not isinstance(v, list) or len(v) != n:
            raise InputError(
                t.sub(key), f"expected a list of {n} non-negative numbers, got {_describe(v)}"
            )
        return tuple(v)

    def mix(key: str) -> dict[str, float] | None:
        if not t.has(key):
            return None
        v = t.data[key]
        if not isinstance(v, dict):
            raise InputError(t.sub(key), f"expected a table of weights, got {_describe(v)}")
        if key == "region_weights":
            return {_station(k, f"{t.sub(key)}.{k}"): w for k, w in v.items()}
        return dict(v)

    kwargs: dict[str, Any] = {
        "tickets_per_day": t.number("tickets_per_day", defaults.tickets_per_day, lo=0),
        "overseas_share": t.number("overseas_share", defaults.overseas_share, lo=0, hi=1),
        "two_skill_share": t.number("two_skill_share", defaults.two_skill_share, lo=0, hi=1),
        "service_median_minutes": t.number(
            "service_median_minutes", defaults.service_median_minutes, lo=1
        ),
        "service_sigma": t.number("service_sigma", defaults.service_sigma, lo=0, hi=3),
        "service_min_minutes": t.integer("service_min_minutes", defaults.service_min_minutes, lo=0),
        "service_max_minutes": t.integer("service_max_minutes", defaults.service_max_minutes, lo=1),
        "planned_share": t.number("planned_share", defaults.planned_share, lo=0, hi=1),
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
    with _at(t.path):
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
    root = _Table(
        data, "", ("name", "description", "seed", "base", "simulation", "variants", "search")
    )
    b = root.table("base", ("problem", "start", "roster", "demand"))
    problem = None
    problem_path = None
    if b.has("problem"):
        problem_path = str(here / b.text("problem"))
        with _at("base.problem"):
            problem = problem_from_dict(_read_json(Path(problem_path), "base.problem"))
    start = b.instant("start") or (problem.planning_start if problem else Base().start)
    demand = _demand(b.table("demand", _DEMAND_KEYS), here) if b.has("demand") else None
    roster = RosterSpec()
    if b.has("roster"):
        r = b.table("roster", ("engineers", "seed", "file"))
        roster = RosterSpec(
            engineers=r.integer("engineers", roster.engineers),
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

    s = root.table(
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
    )
    sv = s.table("solver", ("time_limit_s", "solution_limit", "metaheuristic", "first_solution"))
    d = SimulationSettings()
    dsv = d.solver
    solver = SolverSettings(
        time_limit_s=sv.number("time_limit_s", dsv.time_limit_s, positive=True),
        # 0 means "no solution limit" (TOML has no null): then the time limit alone bounds it.
        solution_limit=sv.integer("solution_limit", dsv.solution_limit, lo=0) or None,
        metaheuristic=sv.text("metaheuristic", dsv.metaheuristic),
        first_solution=sv.text("first_solution", dsv.first_solution),
    )
    with _at(sv.path or "simulation.solver"):
        solver.options().search_params()  # validates the strategy names
    sim = SimulationSettings(
        days=s.number("days", d.days, positive=True),
        warmup_days=s.number("warmup_days", d.warmup_days, lo=0),
        drain_days=s.number("drain_days", d.drain_days, lo=0),
        replan_every_hours=s.number("replan_every_hours", d.replan_every_hours, positive=True),
        replan_on_critical=s.flag("replan_on_critical", d.replan_on_critical),
        keep_promises=s.flag("keep_promises", d.keep_promises),
        publish_hours=s.number("publish_hours", d.publish_hours, lo=0),
        replan_horizon_hours=s.integer(
            "replan_horizon_hours", d.replan_horizon_hours, lo=1, hi=24 * 60
        ),
        replications=s.integer("replications", d.replications),
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
    for vpath, vdata in root.tables("variants"):
        v = _Table(vdata, vpath, ("name", "description", "modifications"))
        name = v.text("name")
        if name in names:
            raise InputError(v.sub("name"), f"expected a unique variant name, got {name!r}")
        names.add(name)
        mods = tuple(_modification(m, mpath) for mpath, m in v.tables("modifications"))
        variants.append(Variant(name, mods))

    search = None
    if root.has("search"):
        q = root.table("search", ("target", "station", "min", "max", "variant"))
        station = q.text("station", "all")
        search = Search(
            target=q.number("target", 0.95, lo=0, hi=1),
            station="all" if station == "all" else _station(station, q.sub("station")),
            lo=q.integer("min", 1),
            hi=q.integer("max", 60),
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
