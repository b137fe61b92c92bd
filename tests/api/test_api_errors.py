"""Every error is application/problem+json with a stable type (RFC 9457)."""

from __future__ import annotations

import httpx
from api_harness import Server
from api_helpers import order_doc

PROBLEM = "application/problem+json"


def _assert_problem(r: httpx.Response, status: int, slug: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_unknown_route_is_404(ticketing: httpx.Client) -> None:
    _assert_problem(ticketing.get("/v1/nothing-here"), 404, "not-found")


def test_unknown_order_is_404(ticketing: httpx.Client) -> None:
    _assert_problem(ticketing.get("/v1/orders/does-not-exist"), 404, "not-found")


def test_wrong_method_is_405(ticketing: httpx.Client) -> None:
    _assert_problem(ticketing.delete("/v1/orders"), 405, "method-not-allowed")


def test_oversized_body_is_413(ticketing: httpx.Client) -> None:
    huge = order_doc(required_skills=["x" * 1000] * 6000)  # ~6 MB > the 5 MB default
    _assert_problem(ticketing.post("/v1/orders", json=huge), 413, "payload-too-large")


def test_non_json_body_is_415(ticketing: httpx.Client) -> None:
    r = ticketing.post("/v1/orders", content=b"id=1", headers={"Content-Type": "text/plain"})
    _assert_problem(r, 415, "unsupported-media-type")


def test_malformed_json_is_400(ticketing: httpx.Client) -> None:
    r = ticketing.post(
        "/v1/orders", content=b'{"id": ', headers={"Content-Type": "application/json"}
    )
    _assert_problem(r, 400, "malformed-json")


def test_schema_errors_list_every_field_path(ticketing: httpx.Client) -> None:
    doc = order_doc(service_minutes="ninety", priority="urgent", colour="red")
    del doc["received_at"]
    body = _assert_problem(ticketing.post("/v1/orders", json=doc), 422, "invalid-input")
    paths = {e["path"] for e in body["errors"]}
    assert paths == {"service_minutes", "priority", "colour", "received_at"}


def test_contract_errors_name_the_field(ticketing: httpx.Client) -> None:
    r = ticketing.post("/v1/orders", json=order_doc(received_at="2026-11-23T08:00:00"))
    body = _assert_problem(r, 422, "invalid-input")
    assert body["errors"] == [
        {
            "path": "received_at",
            "message": 'expected a datetime with a UTC offset (e.g. +08:00 or Z), got "2026-11-23T08:00:00"',
        }
    ]


def test_body_of_the_wrong_shape_is_422_not_500(ticketing: httpx.Client) -> None:
    for body in ([], "x", 5, None, {"site": []}):
        r = ticketing.post("/v1/orders", json=body)
        assert r.status_code == 422, (body, r.text)


def test_conflict_is_409(ticketing: httpx.Client) -> None:
    doc = order_doc()
    ticketing.post("/v1/orders", json=doc)
    _assert_problem(ticketing.post("/v1/orders", json={**doc, "priority": "low"}), 409, "conflict")


def test_problem_types_are_documented(server: Server) -> None:
    r = httpx.get(f"{server.base_url}/problems/invalid-input")
    assert r.json()["status"] == 422
    _assert_problem(httpx.get(f"{server.base_url}/problems/nope"), 404, "not-found")


def test_request_id_is_echoed(ticketing: httpx.Client) -> None:
    r = ticketing.get("/v1/orders/missing", headers={"X-Request-ID": "req-123"})
    assert r.headers["x-request-id"] == "req-123"
    assert ticketing.get("/healthz").headers["x-request-id"]
