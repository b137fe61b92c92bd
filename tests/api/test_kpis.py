"""Commitment compliance (``GET /v1/kpis``, ``dispatch kpis``) and the history export
(``GET /v1/orders:export``) on a hand-made history with known arithmetic, through the real
service on each backend.

The history (domestic commitment 24 h, so every deadline is received_at + 24 h):

====  ========  ==========  ========================================  ====  ==========
no.   region    engineer    what happened                             ETA   error min
====  ========  ==========  ========================================  ====  ==========
1-5   Jinan     ENG-A       arrived received + (i+1) h: on time        yes   10·i
6-7   Chengdu   ENG-B       arrived received + (i+1) h: on time        yes   10·i
8     Chengdu   ENG-B       arrived deadline + 30 min: late 30         yes   80
9     Chengdu   ENG-B       arrived deadline + 90 min: late 90         yes   90
10    Chengdu   (none)      open, deadline long past: overdue          -     -
11    SG        (none)      cancelled (overseas)                       -     -
====  ========  ==========  ========================================  ====  ==========

Order i is received at 2025-03-03T00:00Z + i h (a Monday). Orders 1-3 are then done 90
minutes after their arrival (actual service 90 min in the export).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_harness import Server, ServerFactory
from api_helpers import order_doc, unique

from api.persistence.db import create_db_engine, create_session_factory
from api.persistence.models import PlanJobRow, PlanRow, PlanVisitRow
from dispatcher.codec import format_datetime
from dispatcher.whatif.demand import load_history_csv

R0 = datetime(2025, 3, 3, tzinfo=UTC)
WINDOW = {"from": "2025-03-01", "to": "2025-03-10"}
JINAN = {"lat": 36.60, "lon": 117.00, "country": "CN", "name": "Jinan works"}
CHENGDU = {"lat": 30.66, "lon": 104.07, "country": "CN", "name": "Chengdu mill"}
SINGAPORE = {"lat": 1.35, "lon": 103.82, "country": "SG", "name": "Jurong plant"}


def received(i: int) -> datetime:
    return R0 + timedelta(hours=i)


def arrival(i: int) -> datetime | None:
    deadline = received(i) + timedelta(hours=24)
    if i <= 7:
        return received(i) + timedelta(hours=i + 1)
    return {8: deadline + timedelta(minutes=30), 9: deadline + timedelta(minutes=90)}.get(i)


def eta(i: int) -> datetime:
    """The published ETA: off by 10·i minutes, early and late alternately."""
    got = arrival(i)
    assert got is not None
    return got + timedelta(minutes=10 * i * (-1 if i % 2 else 1))


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson's score interval, z = 1.959964 (95 %), written out."""
    z, p = 1.959963984540054, k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return round(centre - half, 6), round(centre + half, 6)


@pytest.fixture(scope="module")
def history(server_factory: ServerFactory) -> Iterator[tuple[Server, dict[int, str]]]:
    """A fresh server holding the hand-made history; ``{no.: order id}``."""
    server = server_factory()
    ids = {i: unique(f"K{i}") for i in range(1, 12)}
    with server.client(server.admin_key) as admin:
        for i, order_id in ids.items():
            site = JINAN if i <= 5 else CHENGDU if i <= 10 else SINGAPORE
            extra: dict[str, Any] = {}
            if i == 10:  # an explicit deadline (the same as the policy's): exported as such
                extra["deadline"] = format_datetime(received(i) + timedelta(hours=24))
            if i == 11:
                extra["commitment"] = "remote"
            doc = order_doc(order_id, site=site, received_at=format_datetime(received(i)), **extra)
            assert admin.post("/v1/orders", json=doc).status_code == 201
        _publish_plans(server, ids)
        for i in range(1, 10):
            body = {
                "status": "in_progress",
                "arrived_at": format_datetime(arrival(i)),  # type: ignore[arg-type]
                "engineer_id": "ENG-A" if i <= 5 else "ENG-B",
            }
            r = admin.patch(f"/v1/orders/{ids[i]}", json=body)
            assert r.status_code == 200, r.text
            assert r.json()["under_way"]["arrived_at"] == body["arrived_at"]
        for i in range(1, 4):
            finished = arrival(i) + timedelta(minutes=90)  # type: ignore[operator]
            body = {"status": "done", "finished_at": format_datetime(finished)}
            assert admin.patch(f"/v1/orders/{ids[i]}", json=body).status_code == 200
        r = admin.patch(f"/v1/orders/{ids[11]}", json={"status": "cancelled"})
        assert r.status_code == 200
    yield server, ids


def _publish_plans(server: Server, ids: dict[int, str]) -> None:
    """Two published plans, written straight to the database: the one in force at every
    arrival (published before them) with the ETAs above, and a later one whose ETAs are
    all 1000 minutes off and must not count."""
    engine = create_db_engine(server.database_url)
    try:
        with create_session_factory(engine)() as session, session.begin():
            for job_id, published, shift in (
                (unique("kpi-plan"), R0 - timedelta(days=1), 0),
                (unique("kpi-later"), R0 + timedelta(days=3), 1000),
            ):
                session.add(
                    PlanJobRow(
                        id=job_id, state="done", options={}, planning_start=published,
                        horizon_hours=96, problem={"orders": [], "engineers": []},
                        input_hash="test", progress=None, error=None, created_by=None,
                        created_at=published, started_at=published, finished_at=published,
                    )
                )  # fmt: skip
                session.flush()
                session.add(
                    PlanRow(
                        job_id=job_id, status="feasible", document={}, created_at=published,
                        published_at=published, published_by=None,
                    )
                )  # fmt: skip
                for i in range(1, 10):
                    at = eta(i) + timedelta(minutes=shift)
                    session.add(
                        PlanVisitRow(
                            job_id=job_id, order_id=ids[i], engineer_id="ENG-A", arrival=at,
                            start=at, end=at, on_time=True, slack_minutes=0.0, reason=None,
                        )
                    )  # fmt: skip
    finally:
        engine.dispose()


def _kpis(server: Server, **query: str) -> dict[str, Any]:
    with server.client(server.admin_key) as admin:
        r = admin.get("/v1/kpis", params={**WINDOW, **query})
        assert r.status_code == 200, r.text
        return dict(r.json())


def test_the_hand_made_history_gives_its_arithmetic(
    history: tuple[Server, dict[int, str]],
) -> None:
    server, _ = history
    report = _kpis(server, group_by="region")
    total = report["total"]
    # 11 received: 7 on time, 2 late, 1 overdue, 1 cancelled; the rate is judged on 10.
    assert {k: total[k] for k in ("orders", "on_time", "late", "overdue", "cancelled")} == {
        "orders": 11, "on_time": 7, "late": 2, "overdue": 1, "cancelled": 1,
    }  # fmt: skip
    assert total["pending"] == 0 and total["unrecorded"] == 0
    low, high = wilson(7, 10)  # 0.396778 .. 0.892209
    assert total["on_time_rate"] == {
        "share": 0.7, "low": low, "high": high, "trials": 10, "level": 0.95, "method": "wilson",
    }  # fmt: skip
    # Late by 30 and 90: p50 = (30 + 90) / 2 = 60, p90 = 30 + 0.9·(90 - 30) = 84.
    assert total["minutes_late"] == {"n": 2, "p50": 60.0, "p90": 84.0}
    # Receipt to arrival: 2..8 h for 1-7 (120+180+…+480 = 2100), 24.5 h and 25.5 h for 8-9
    # (1470 + 1530 = 3000): 5100 / 9 = 566.67.
    assert total["mean_minutes_to_arrival"] == round(5100 / 9, 2)
    # |ETA error| 10, 20, …, 90 (the plan in force, not the later one): p50 = 50,
    # p90 at rank 0.9·8 = 7.2: 80 + 0.2·10 = 82.
    assert total["eta_error_minutes"] == {"n": 9, "p50": 50.0, "p90": 82.0}

    groups = {g["key"]: g for g in report["groups"]}
    assert list(groups) == ["Chengdu", "Jinan", "SG"]
    jinan, chengdu, sg = groups["Jinan"], groups["Chengdu"], groups["SG"]
    # Jinan: 5 of 5 on time; arrivals 2..6 h: 1200 / 5 = 240 min; ETA errors 10..50:
    # p50 = 30, p90 at rank 3.6: 40 + 0.6·10 = 46.
    assert (jinan["orders"], jinan["on_time"], jinan["late"], jinan["overdue"]) == (5, 5, 0, 0)
    assert jinan["on_time_rate"]["share"] == 1.0
    assert (jinan["on_time_rate"]["low"], jinan["on_time_rate"]["high"]) == wilson(5, 5)
    assert jinan["minutes_late"] == {"n": 0, "p50": None, "p90": None}
    assert jinan["mean_minutes_to_arrival"] == 240.0
    assert jinan["eta_error_minutes"] == {"n": 5, "p50": 30.0, "p90": 46.0}
    # Chengdu: 2 on time, 2 late, 1 overdue: 2 / 5; arrivals 420 + 480 + 1470 + 1530 = 3900
    # over 4 = 975; ETA errors 60, 70, 80, 90: p50 = 75, p90 at rank 2.7: 80 + 0.7·10 = 87.
    assert (chengdu["orders"], chengdu["on_time"], chengdu["late"], chengdu["overdue"]) == (
        5, 2, 2, 1,
    )  # fmt: skip
    assert chengdu["on_time_rate"]["share"] == 0.4
    assert (chengdu["on_time_rate"]["low"], chengdu["on_time_rate"]["high"]) == wilson(2, 5)
    assert chengdu["minutes_late"] == {"n": 2, "p50": 60.0, "p90": 84.0}
    assert chengdu["mean_minutes_to_arrival"] == 975.0
    assert chengdu["eta_error_minutes"] == {"n": 4, "p50": 75.0, "p90": 87.0}
    # Abroad the region is the country: one cancelled order, nothing to judge.
    assert (sg["orders"], sg["cancelled"], sg["on_time_rate"]["trials"]) == (1, 1, 0)
    assert sg["on_time_rate"]["share"] is None


def test_other_groupings_split_the_same_orders(history: tuple[Server, dict[int, str]]) -> None:
    server, _ = history
    by_engineer = {g["key"]: g for g in _kpis(server, group_by="engineer")["groups"]}
    assert list(by_engineer) == ["ENG-A", "ENG-B", None]
    assert (by_engineer["ENG-A"]["on_time"], by_engineer["ENG-B"]["on_time"]) == (5, 2)
    assert by_engineer["ENG-B"]["minutes_late"] == {"n": 2, "p50": 60.0, "p90": 84.0}
    assert (by_engineer[None]["overdue"], by_engineer[None]["cancelled"]) == (1, 1)
    by_class = {g["key"]: g for g in _kpis(server, group_by="commitment")["groups"]}
    assert (by_class["domestic"]["orders"], by_class["remote"]["orders"]) == (10, 1)
    assert by_class["domestic"]["on_time_rate"]["share"] == 0.7
    (week,) = _kpis(server, group_by="week")["groups"]
    assert (week["key"], week["orders"]) == ("2025-03-03", 11)  # the Monday of the week
    by_station = {g["key"]: g["orders"] for g in _kpis(server, group_by="station")["groups"]}
    assert by_station == {"Chengdu": 5, "Guangzhou": 1, "Jinan": 5}  # Singapore: Guangzhou
    # A window holding only the first three orders (received 01:00 .. 03:00).
    first = _kpis(server, **{"from": "2025-03-03T00:30:00Z", "to": "2025-03-03T03:30:00Z"})
    assert (first["total"]["orders"], first["total"]["on_time"]) == (3, 3)


def test_bad_query_is_a_422_naming_it_and_ticketing_may_not_read(
    history: tuple[Server, dict[int, str]],
) -> None:
    server, _ = history
    with server.client(server.admin_key) as admin:
        r = admin.get("/v1/kpis", params={"group_by": "colour"})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "query.group_by"
        r = admin.get("/v1/kpis", params={"from": "2025-03-10", "to": "2025-03-01"})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "query.to"
        r = admin.get("/v1/orders:export", params={"from": "yesterday"})
        assert r.status_code == 422 and r.json()["errors"][0]["path"] == "query.from"
        key = server.new_key("ticketing")
    with server.client(key) as ticketing:
        assert ticketing.get("/v1/kpis").status_code == 403
        assert ticketing.get("/v1/orders:export").status_code == 403


def test_dispatch_kpis_prints_the_numbers_of_the_api(
    history: tuple[Server, dict[int, str]],
) -> None:
    server, _ = history
    api = _kpis(server, group_by="region")
    args = ["kpis", "--from", WINDOW["from"], "--to", WINDOW["to"], "--group-by", "region"]
    printed = json.loads(server.cli(*args, "--format", "json"))
    for report in (api, printed):
        report.pop("as_of")
    assert printed == api
    rows = list(csv.DictReader(io.StringIO(server.cli(*args))))
    assert [r["key"] for r in rows] == ["Chengdu", "Jinan", "SG", "(all)"]
    everything = rows[-1]
    assert (everything["orders"], everything["on_time"], everything["on_time_rate"]) == (
        "11", "7", "0.7",
    )  # fmt: skip
    assert (everything["minutes_late_p50"], everything["minutes_late_p90"]) == ("60.0", "84.0")
    assert everything["on_time_rate_low"] == str(api["total"]["on_time_rate"]["low"])


def test_the_export_round_trips_through_the_history_reader(
    history: tuple[Server, dict[int, str]], tmp_path: Path
) -> None:
    server, ids = history
    with server.client(server.admin_key) as admin:
        r = admin.get("/v1/orders:export", params=WINDOW)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    path = tmp_path / "history.csv"
    path.write_text(r.text, encoding="utf-8")
    tickets = {t.id: t for t in load_history_csv(path)}
    assert set(tickets) == set(ids.values())  # every order kept, cancelled ones too
    for i, order_id in ids.items():
        t = tickets[order_id]
        assert t.received_at == received(i)
        assert t.service_minutes == 120 and t.required_skills == frozenset({"hydraulics"})
        site = JINAN if i <= 5 else CHENGDU if i <= 10 else SINGAPORE
        assert (t.location.lat, t.location.lon, t.country) == (
            site["lat"], site["lon"], site["country"],
        )  # fmt: skip
        assert t.site_name == site["name"] and t.priority == "normal"
        # Only what the order itself said: the replay applies its scenario's policy.
        assert t.deadline == (received(i) + timedelta(hours=24) if i == 10 else None)
        assert t.commitment == ("remote" if i == 11 else None)
        # Done 90 minutes after arrival: a recorded actual service (90 / 120).
        recorded = t.travel_factor < 0
        assert recorded == (i <= 3)
        if recorded:
            assert t.service_factor == pytest.approx(90 / 120)
    with server.client(server.admin_key) as admin:
        empty = admin.get("/v1/orders:export", params={"from": "2020-01-01", "to": "2020-02-01"})
    assert empty.status_code == 200 and empty.text.strip().split(",")[0] == "id"


def test_arrival_and_finish_are_checked_against_the_history(ticketing: httpx.Client) -> None:
    doc = order_doc(received_at="2026-11-23T08:00:00Z")
    assert ticketing.post("/v1/orders", json=doc).status_code == 201
    url = f"/v1/orders/{doc['id']}"
    r = ticketing.patch(url, json={"status": "in_progress", "arrived_at": "2026-11-23T07:59:00Z"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["path"] == "arrived_at"
    assert ticketing.get(url).json()["status"] == "open"  # nothing recorded
    # The old name is gone: one name for the arrival.
    r = ticketing.patch(url, json={"status": "in_progress", "started_at": "2026-11-23T09:00:00Z"})
    assert r.status_code == 422
    r = ticketing.patch(url, json={"status": "in_progress", "arrived_at": "2026-11-23T09:00:00Z"})
    assert r.status_code == 200 and r.json()["under_way"] is None  # no engineer known
    r = ticketing.patch(url, json={"status": "done", "finished_at": "2026-11-23T08:59:00Z"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["path"] == "finished_at"
    assert ticketing.get(url).json()["status"] == "in_progress"
    r = ticketing.patch(url, json={"finished_at": "2026-11-23T10:00:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "finished_at"
    r = ticketing.patch(url, json={"status": "done", "arrived_at": "2026-11-23T09:30:00Z"})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "arrived_at"  # recorded
    r = ticketing.patch(url, json={"status": "done", "finished_at": "2026-11-23T11:00:00Z"})
    assert r.status_code == 200 and r.json()["status"] == "done"


def test_an_order_done_straight_away_may_bring_its_arrival(ticketing: httpx.Client) -> None:
    doc = order_doc(received_at="2026-11-23T08:00:00Z")
    assert ticketing.post("/v1/orders", json=doc).status_code == 201
    url = f"/v1/orders/{doc['id']}"
    body = {"status": "done", "arrived_at": "2026-11-23T07:00:00Z"}
    r = ticketing.patch(url, json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "arrived_at"
    body = {
        "status": "done",
        "arrived_at": "2026-11-23T10:00:00Z",
        "finished_at": "2026-11-23T09:00:00Z",
    }
    r = ticketing.patch(url, json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "finished_at"
    body["finished_at"] = "2026-11-23T12:00:00Z"
    assert ticketing.patch(url, json=body).status_code == 200
