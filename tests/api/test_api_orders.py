"""Orders: idempotent intake, corrections and status changes, batch, filters, pagination."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
from api_harness import Keys, Server
from api_helpers import order_doc, unique


def test_same_order_twice_returns_the_stored_one_with_200(ticketing: httpx.Client) -> None:
    doc = order_doc()
    first = ticketing.post("/v1/orders", json=doc)
    again = ticketing.post("/v1/orders", json=doc)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert first.headers["location"] == f"/v1/orders/{doc['id']}"


def test_same_instant_in_another_offset_is_the_same_body(ticketing: httpx.Client) -> None:
    doc = order_doc()
    assert ticketing.post("/v1/orders", json=doc).status_code == 201
    same = {**doc, "received_at": "2026-11-22T23:40:00Z"}
    assert ticketing.post("/v1/orders", json=same).status_code == 200


def test_different_body_for_a_stored_ticket_is_a_409_problem(ticketing: httpx.Client) -> None:
    doc = order_doc()
    ticketing.post("/v1/orders", json=doc)
    r = ticketing.post("/v1/orders", json={**doc, "service_minutes": 999})
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "/problems/conflict"
    assert body["order"]["order"]["service_minutes"] == 120


def test_concurrent_creates_of_one_ticket_store_it_once(server: Server, keys: Keys) -> None:
    doc = order_doc()

    def post(_: int) -> int:
        with server.client(keys.ticketing) as c:
            return c.post("/v1/orders", json=doc).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(post, range(16)))
    assert codes.count(201) == 1
    assert codes.count(200) == 15


def test_order_view_has_effective_deadline_and_commitment_class(ticketing: httpx.Client) -> None:
    overseas = order_doc(site={"lat": -33.9, "lon": 18.4, "country": "ZA"})
    view = ticketing.post("/v1/orders", json=overseas).json()
    assert view["commitment_class"] == "overseas"
    assert view["deadline"] == "2026-11-25T23:40:00Z"  # received 23:40Z the day before + 72 h
    explicit = order_doc(deadline="2026-11-23T12:00:00+08:00")
    assert ticketing.post("/v1/orders", json=explicit).json()["deadline"] == "2026-11-23T04:00:00Z"


def test_cancel_is_recorded_in_history_and_final(
    ticketing: httpx.Client, admin: httpx.Client
) -> None:
    doc = order_doc()
    ticketing.post("/v1/orders", json=doc)
    r = ticketing.patch(f"/v1/orders/{doc['id']}", json={"status": "cancelled", "reason": "fixed"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert [h["to"] for h in r.json()["status_history"]] == ["open", "cancelled"]
    assert r.json()["status_history"][-1]["note"] == "fixed"
    r = ticketing.patch(f"/v1/orders/{doc['id']}", json={"status": "in_progress"})
    assert r.status_code == 409
    r = ticketing.patch(f"/v1/orders/{doc['id']}", json={"priority": "critical"})
    assert r.status_code == 409
    audit = admin.get("/v1/audit").json()["items"]
    assert any(e["action"] == "order.cancel" and e["subject_id"] == doc["id"] for e in audit)


def test_work_progress_moves_an_order_to_in_progress_then_done(ticketing: httpx.Client) -> None:
    doc = order_doc()
    ticketing.post("/v1/orders", json=doc)
    assert (
        ticketing.patch(f"/v1/orders/{doc['id']}", json={"status": "in_progress"}).json()["status"]
        == "in_progress"
    )
    view = ticketing.patch(f"/v1/orders/{doc['id']}", json={"status": "done"}).json()
    assert [h["to"] for h in view["status_history"]] == ["open", "in_progress", "done"]


def test_correction_revalidates_and_moves_the_deadline(ticketing: httpx.Client) -> None:
    doc = order_doc()
    ticketing.post("/v1/orders", json=doc)
    r = ticketing.patch(f"/v1/orders/{doc['id']}", json={"deadline": "2026-11-23T10:00:00Z"})
    assert r.status_code == 200
    assert r.json()["deadline"] == "2026-11-23T10:00:00Z"
    assert r.json()["version"] == 2
    r = ticketing.patch(f"/v1/orders/{doc['id']}", json={"deadline": None})
    assert r.json()["deadline"] == "2026-11-23T23:40:00Z"  # back to received + 24 h
    r = ticketing.patch(
        f"/v1/orders/{doc['id']}", json={"site": {"lat": 91, "lon": 0, "country": "CN"}}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "site.lat"
    r = ticketing.patch(f"/v1/orders/{doc['id']}", json={"status": "planned"})
    assert r.status_code == 422


def test_batch_reports_each_item(ticketing: httpx.Client) -> None:
    stored = order_doc()
    ticketing.post("/v1/orders", json=stored)
    good = order_doc()
    bad = order_doc(service_minutes=-5)
    r = ticketing.post(
        "/v1/orders:batch",
        json={"orders": [good, stored, {**stored, "priority": "low"}, bad, {"id": 7}, "x"]},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["status"] for x in results] == [201, 200, 409, 422, 422, 422]
    assert results[3]["problem"]["errors"][0]["path"] == "service_minutes"
    assert ticketing.get(f"/v1/orders/{good['id']}").status_code == 200
    assert ticketing.get(f"/v1/orders/{bad['id']}").status_code == 404


def test_pagination_walks_every_order_once_in_intake_order(ticketing: httpx.Client) -> None:
    tag = unique("PAGE")
    ids = [f"{tag}-{i}" for i in range(7)]
    for order_id in ids:
        ticketing.post("/v1/orders", json=order_doc(order_id, priority="low"))
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, "priority": "low", **({"cursor": cursor} if cursor else {})}
        page = ticketing.get("/v1/orders", params=params).json()
        seen += [o["id"] for o in page["items"] if o["id"].startswith(tag)]
        assert all(o["priority"] == "low" for o in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


def test_filters_by_status_commitment_and_risk(ticketing: httpx.Client) -> None:
    doc = order_doc(site={"lat": 1.3, "lon": 103.8, "country": "SG"}, commitment="remote")
    ticketing.post("/v1/orders", json=doc)
    ticketing.patch(f"/v1/orders/{doc['id']}", json={"status": "in_progress"})

    def ids(**query: str) -> set[str]:
        page = ticketing.get("/v1/orders", params={"limit": 500, **query}).json()
        return {o["id"] for o in page["items"]}

    assert doc["id"] in ids(status="in_progress,done", commitment="remote")
    assert doc["id"] not in ids(status="open")
    assert doc["id"] not in ids(at_risk="true")  # being worked on: not at risk
    # Long overdue; received before its deadline (a deadline before received_at is refused).
    urgent = order_doc(received_at="2019-12-31T00:00:00Z", deadline="2020-01-01T00:00:00Z")
    ticketing.post("/v1/orders", json=urgent)
    assert urgent["id"] in ids(at_risk="true")
    assert urgent["id"] not in ids(at_risk="false")
    r = ticketing.get("/v1/orders", params={"status": "sleeping"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "query.status"
    assert ticketing.get("/v1/orders", params={"cursor": "garbage!"}).status_code == 422
