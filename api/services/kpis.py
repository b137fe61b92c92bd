"""Commitment compliance from what actually happened: arrivals against deadlines.

One function, :func:`compute_kpis`, turns the orders table into the figures a service
organisation is measured on; ``GET /v1/kpis`` and ``dispatch kpis`` both call it. Every
order *received* in the window ``[from, to)`` has one outcome:

``on_time``     arrival recorded, at or before the order's deadline;
``late``        arrival recorded, after the deadline (minutes late: p50 / p90);
``overdue``     no arrival yet, not done nor cancelled, and the deadline already past;
``pending``     no arrival yet, not done nor cancelled, deadline still ahead;
``unrecorded``  done without an arrival time (it cannot be judged);
``cancelled``   cancelled (whether or not someone had arrived).

The on-time rate is ``on_time / (on_time + late + overdue)`` with Wilson's score interval
(:func:`dispatcher.whatif.stats.wilson_ci`). Beside it: the mean minutes from receipt to
arrival, and the absolute error of the ETA the plan in force at the arrival had published
(``orders.published_eta``, taken from that plan's ``plan_visits`` row when the arrival is
recorded), p50 / p90.

Counts, means and (on PostgreSQL) the percentiles (``percentile_cont``) are computed in SQL
over the ``received_at`` index; SQLite has no ``percentile_cont``, so there only the late
minutes and ETA errors are fetched and interpolated the same way (linear, as
``percentile_cont`` does).

Regions: outside the home country (the policy's ``home_country``) a site's region is its
country; at home it is the nearest service station (``dispatcher.places``) mapped through an
optional region table (``DISPATCH_KPI_REGIONS``: JSON object station → region name).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from api.persistence.models import OrderRow, PlanRow, PlanVisitRow
from api.services.policy import PolicyService
from dispatcher.codec import format_datetime
from dispatcher.errors import InputError
from dispatcher.places import STATIONS
from dispatcher.reader import parse_datetime
from dispatcher.travel import geodesic_km
from dispatcher.whatif.stats import percentile, wilson_ci

GROUPS = ("commitment", "region", "priority", "engineer", "station", "week")
OUTCOMES = ("on_time", "late", "overdue", "pending", "unrecorded", "cancelled")
DEFAULT_WINDOW = timedelta(days=30)
REGIONS_ENV = "DISPATCH_KPI_REGIONS"
# The columns of the ticket-history CSV ``dispatch simulate`` replays (docs/simulation.md).
HISTORY_COLUMNS = (
    "id",
    "received_at",
    "lat",
    "lon",
    "country",
    "priority",
    "required_skills",
    "service_minutes",
    "site_name",
    "commitment",
    "deadline",
    "actual_service_minutes",
)
MAX_ACTUAL_MINUTES = 7 * 24 * 60  # what the history reader accepts
_STATION_LAT = np.array([s.lat for s in STATIONS])
_STATION_LON = np.array([s.lon for s in STATIONS])


# ------------------------------------------------------------------ recording (orders service)


def site_place(site: Mapping[str, Any]) -> tuple[str, str]:
    """``(country, nearest station)`` of an order document's site."""
    km = geodesic_km(float(site["lat"]), float(site["lon"]), _STATION_LAT, _STATION_LON)
    return str(site["country"]).upper(), STATIONS[int(np.argmin(km))].name


def published_eta_at(session: Session, order_id: str, at: datetime) -> datetime | None:
    """The ETA of ``order_id`` in the plan in force at ``at`` (the last one published at or
    before it); None when there was none or it did not place the order."""
    plan_id = session.scalar(
        sa.select(PlanRow.job_id)
        .where(PlanRow.published_at.is_not(None), PlanRow.published_at <= at)
        .order_by(PlanRow.published_at.desc(), PlanRow.job_id.desc())
        .limit(1)
    )
    if plan_id is None:
        return None
    return session.scalar(
        sa.select(PlanVisitRow.arrival).where(
            PlanVisitRow.job_id == plan_id, PlanVisitRow.order_id == order_id
        )
    )


# ------------------------------------------------------------------ parameters


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


def window(start: str | None, end: str | None, now: datetime, prefix: str = "query.") -> Window:
    """``[from, to)`` from RFC 3339 datetimes or dates (midnight UTC); ``to`` defaults to now,
    ``from`` to 30 days before ``to``."""
    stop = _instant(end, f"{prefix}to") if end else now
    begin = _instant(start, f"{prefix}from") if start else stop - DEFAULT_WINDOW
    if stop <= begin:
        raise InputError(
            f"{prefix}to", f"expected a time after from ({format_datetime(begin)}), got {end!r}"
        )
    return Window(begin, stop)


def _instant(text: str, path: str) -> datetime:
    if len(text) == 10:
        try:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        except ValueError:
            pass
    return parse_datetime(text, path)


def check_group_by(group_by: str | None, path: str = "query.group_by") -> str | None:
    if group_by in (None, ""):
        return None
    if group_by not in GROUPS:
        raise InputError(path, f"expected one of {', '.join(GROUPS)}, got {group_by!r}")
    return group_by


def region_table_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The home country's region table (station → region) from ``DISPATCH_KPI_REGIONS``."""
    text = environ.get(REGIONS_ENV, "").strip()
    if not text:
        return {}
    try:
        table = json.loads(text)
    except json.JSONDecodeError:
        table = None
    names = {s.name for s in STATIONS}
    if not isinstance(table, dict) or not all(
        k in names and isinstance(v, str) and v for k, v in table.items()
    ):
        raise InputError(
            REGIONS_ENV,
            f"expected a JSON object mapping stations ({', '.join(sorted(names))}) to region names",
        )
    return dict(table)


# ------------------------------------------------------------------ the figures


def _minutes(dialect: str, later: Any, earlier: Any) -> Any:
    if dialect == "postgresql":
        # date_part: double precision (extract() answers numeric since PostgreSQL 14, slower)
        return sa.func.date_part("epoch", later - earlier) / 60.0
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 1440.0


def _group_key(dialect: str, group_by: str | None, home: str, regions: Mapping[str, str]) -> Any:
    o = OrderRow
    if group_by is None:
        return sa.literal(None, sa.String())
    if group_by == "commitment":
        return o.commitment_class
    if group_by == "priority":
        return o.priority
    if group_by == "engineer":
        return o.engineer_id
    if group_by == "station":
        return o.station
    if group_by == "region":
        home_region: Any = (
            sa.case(regions, value=o.station, else_=o.station) if regions else o.station
        )
        return sa.case((o.country == home, home_region), else_=o.country)
    # week: the Monday (UTC) of the week the order was received in
    if dialect == "postgresql":
        return sa.func.to_char(
            sa.func.date_trunc("week", sa.func.timezone("UTC", o.received_at)), "YYYY-MM-DD"
        )
    return sa.func.date(o.received_at, "weekday 0", "-6 days")


def compute_kpis(
    session: Session,
    span: Window,
    group_by: str | None,
    now: datetime,
    regions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The compliance figures of the orders received in ``span``, in total and per group."""
    dialect = session.get_bind().dialect.name
    home = PolicyService.load(session).home_country
    o = OrderRow
    key = _group_key(dialect, group_by, home, regions or {})
    # The window's rows, reduced to what the figures read (a covering index serves it).
    rows = (
        sa.select(
            key.label("k"), o.status, o.deadline, o.received_at, o.arrived_at, o.published_eta
        )
        .where(o.received_at >= span.start, o.received_at < span.end)
        .subquery("kpi")
    )
    c = rows.c
    cancelled = c.status == "cancelled"
    arrived = sa.and_(c.arrived_at.is_not(None), sa.not_(cancelled))
    late = sa.and_(arrived, c.arrived_at > c.deadline)
    waiting = sa.and_(c.arrived_at.is_(None), c.status.not_in(("done", "cancelled")))
    eta_known = sa.and_(arrived, c.published_eta.is_not(None))
    conditions = {
        "on_time": sa.and_(arrived, c.arrived_at <= c.deadline),
        "late": late,
        "overdue": sa.and_(waiting, c.deadline < now),
        "pending": sa.and_(waiting, c.deadline >= now),
        "unrecorded": sa.and_(c.arrived_at.is_(None), c.status == "done"),
        "cancelled": cancelled,
    }
    spreads = (  # (minutes, rows they are taken over)
        (_minutes(dialect, c.arrived_at, c.deadline), late),
        (sa.func.abs(_minutes(dialect, c.arrived_at, c.published_eta)), eta_known),
    )
    columns: list[Any] = [c.k, sa.func.count()]
    columns += [sa.func.count().filter(cond) for cond in conditions.values()]
    columns += [sa.func.avg(_minutes(dialect, c.arrived_at, c.received_at)).filter(arrived)]
    columns += [sa.func.count().filter(eta_known)]
    postgres = dialect == "postgresql"
    if postgres:
        # One sort per spread gives both percentiles; FILTER sorts only the rows concerned.
        quantiles = sa.literal([0.5, 0.9], postgresql.ARRAY(sa.Float))
        columns += [
            sa.func.percentile_cont(quantiles).within_group(expr).filter(cond)
            for expr, cond in spreads
        ]
        if group_by is not None:
            columns.append(sa.func.grouping(c.k))

    def figures(row: Any) -> dict[str, Any]:
        base = 2 + len(conditions)
        pct: list[Any] = [None] * 4
        if postgres:
            for n, got in enumerate(row[base + 2 : base + 4]):
                if got is not None:
                    pct[2 * n : 2 * n + 2] = got
        return {
            "orders": int(row[1]),
            **{name: int(row[i + 2]) for i, name in enumerate(conditions)},
            "mean": row[base],
            "eta_n": int(row[base + 1]),
            "pct": pct,
        }

    total: dict[str, Any] | None = None
    found: dict[Any, dict[str, Any]] = {}
    if postgres and group_by is not None:
        # Groups and total in one pass: GROUPING SETS ((key), ()); grouping() tells them apart.
        query = sa.select(*columns).group_by(sa.text("GROUPING SETS ((kpi.k), ())"))
        for row in session.execute(query):
            if row[-1]:
                total = figures(row)
            else:
                found[row[0]] = figures(row)
    else:
        # SQLite has no grouping sets: the total, then the groups.
        total = figures(session.execute(sa.select(sa.null(), *columns[1:])).one())
        if group_by is not None:
            found = {row[0]: figures(row) for row in session.execute(
                sa.select(*columns).group_by(c.k)
            )}  # fmt: skip
        if not postgres and total["orders"]:
            # No percentile_cont: fetch the minutes concerned, interpolate linearly as it does.
            for slot, (expr, cond) in enumerate(spreads):
                values: dict[Any, list[float]] = {}
                for k, v in session.execute(sa.select(c.k, expr).where(cond)):
                    values.setdefault(k, []).append(float(v))
                everything = [v for vs in values.values() for v in vs]
                for stats, got in [(total, everything)] + [
                    (stats, values.get(k, [])) for k, stats in found.items()
                ]:
                    if got:
                        stats["pct"][2 * slot : 2 * slot + 2] = [
                            percentile(got, 50),
                            percentile(got, 90),
                        ]
    groups = [
        {"key": k, **_figures(found[k])} for k in sorted(found, key=lambda x: (x is None, str(x)))
    ]
    return {
        "from": format_datetime(span.start),
        "to": format_datetime(span.end),
        "as_of": format_datetime(now),
        "group_by": group_by,
        "home_country": home,
        "total": _figures(total),
        "groups": groups,
    }


def _round(x: float | None, digits: int = 2) -> float | None:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return None
    return round(float(x), digits)


def _figures(stats: dict[str, Any] | None) -> dict[str, Any]:
    stats = stats or {"orders": 0, "mean": None, "eta_n": 0, "pct": None}
    counts = {name: int(stats.get(name, 0)) for name in OUTCOMES}
    pct = stats["pct"] or [None] * 4
    judged = counts["on_time"] + counts["late"] + counts["overdue"]
    rate = wilson_ci(counts["on_time"], judged)
    return {
        "orders": int(stats["orders"]),
        **counts,
        "on_time_rate": {
            "share": _round(rate.mean, 6),
            "low": _round(rate.low, 6),
            "high": _round(rate.high, 6),
            "trials": judged,
            "level": rate.level,
            "method": rate.method,
        },
        "minutes_late": {"n": counts["late"], "p50": _round(pct[0]), "p90": _round(pct[1])},
        "mean_minutes_to_arrival": _round(stats["mean"]),
        "eta_error_minutes": {
            "n": int(stats["eta_n"]),
            "p50": _round(pct[2]),
            "p90": _round(pct[3]),
        },
    }


CSV_COLUMNS = (
    "key",
    "orders",
    *OUTCOMES,
    "on_time_rate",
    "on_time_rate_low",
    "on_time_rate_high",
    "minutes_late_p50",
    "minutes_late_p90",
    "mean_minutes_to_arrival",
    "eta_error_n",
    "eta_error_p50",
    "eta_error_p90",
)


def kpis_csv(report: dict[str, Any]) -> str:
    """One line per group, then the total (key ``(all)``); empty cells for unknown values."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for key, fig in [(g["key"], g) for g in report["groups"]] + [("(all)", report["total"])]:
        rate = fig["on_time_rate"]
        cells = [
            key,
            fig["orders"],
            *(fig[name] for name in OUTCOMES),
            rate["share"],
            rate["low"],
            rate["high"],
            fig["minutes_late"]["p50"],
            fig["minutes_late"]["p90"],
            fig["mean_minutes_to_arrival"],
            fig["eta_error_minutes"]["n"],
            fig["eta_error_minutes"]["p50"],
            fig["eta_error_minutes"]["p90"],
        ]
        writer.writerow(["" if c is None else c for c in cells])
    return buf.getvalue()


# ------------------------------------------------------------------ history export


def history_lines(session: Session, span: Window, chunk: int = 2000) -> Iterator[str]:
    """The orders received in ``span`` as ticket-history CSV (``load_history_csv``), header
    first. ``commitment`` and ``deadline`` only when the order gave them (a replay derives
    them from the policy of the scenario otherwise); ``actual_service_minutes`` from the
    recorded arrival and finish."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")

    def flush() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate()
        return text

    writer.writerow(HISTORY_COLUMNS)
    yield flush()
    o = OrderRow
    query = (
        sa.select(o.document, o.received_at, o.priority, o.arrived_at, o.finished_at, o.id)
        .where(o.received_at >= span.start, o.received_at < span.end)
        .order_by(o.received_at, o.id)
        .limit(chunk)
    )
    after: tuple[datetime, str] | None = None
    while True:
        # Keyset pages: each its own short statement (no server-side cursor to keep open).
        page = query
        if after is not None:
            page = query.where(
                sa.or_(
                    o.received_at > after[0], sa.and_(o.received_at == after[0], o.id > after[1])
                )
            )
        rows = session.execute(page).all()
        for doc, received, priority, arrived, finished, _ in rows:
            writer.writerow(_history_row(doc, received, priority, arrived, finished))
        yield flush()
        if len(rows) < chunk:
            return
        after = (rows[-1][1], rows[-1][5])


def _history_row(
    doc: dict[str, Any],
    received: datetime,
    priority: str,
    arrived: datetime | None,
    finished: datetime | None,
) -> list[Any]:
    site = doc["site"]
    actual = ""
    if arrived is not None and finished is not None:
        minutes = (finished - arrived).total_seconds() / 60
        if 0 <= minutes <= MAX_ACTUAL_MINUTES:
            actual = f"{minutes:.2f}".rstrip("0").rstrip(".")
    return [
        doc["id"],
        format_datetime(received),
        site["lat"],
        site["lon"],
        site["country"],
        priority,
        ";".join(doc.get("required_skills") or ()),
        doc.get("service_minutes", 0),
        site.get("name") or "",
        doc.get("commitment") or "",
        doc.get("deadline") or "",
        actual,
    ]


# ------------------------------------------------------------------ the service


class KpiService:
    """The figures and the history export over read sessions, at the service's clock."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        regions: Mapping[str, str] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._regions = dict(regions or {})

    def report(
        self, start: str | None, end: str | None, group_by: str | None, prefix: str = "query."
    ) -> dict[str, Any]:
        now = self._clock()
        span = window(start, end, now, prefix)
        group = check_group_by(group_by, f"{prefix}group_by")
        with self._sessions() as session:
            return compute_kpis(session, span, group, now, self._regions)

    def export(self, start: str | None, end: str | None) -> Iterator[str]:
        """The history CSV in chunks; the window is checked before the first one."""
        span = window(start, end, self._clock())

        def lines() -> Iterator[str]:
            with self._sessions() as session:
                yield from history_lines(session, span)

        return lines()
