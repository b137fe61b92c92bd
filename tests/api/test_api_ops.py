"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

import re
import time

import httpx
from api_harness import Server

from api.observability import STATE_CACHE_SECONDS


def test_readyz_reports_the_schema_revision(server: Server) -> None:
    r = httpx.get(f"{server.base_url}/readyz")
    assert r.json() == {"status": "ready", "schema": "0007"}


def test_metrics_expose_latency_by_route_template_and_state_gauges(
    server: Server, ticketing: httpx.Client
) -> None:
    ticketing.get("/v1/orders/some-order-id")
    text = httpx.get(f"{server.base_url}/metrics", headers=_admin(server)).text
    assert (
        'dispatch_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/orders/{order_id}",status="404"}'
        in text
    )
    assert "some-order-id" not in text
    assert "# TYPE dispatch_jobs gauge" in text
    assert "# TYPE dispatch_orders gauge" in text
    assert "# TYPE dispatch_solve_seconds histogram" in text


def test_openapi_documents_examples(server: Server) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    order_schema = spec["components"]["schemas"]["OrderIn"]
    assert order_schema["examples"][0]["id"] == "T-10042"
    assert "/v1/orders:batch" in spec["paths"]


def test_every_operation_has_a_readable_unique_operation_id(server: Server) -> None:
    """A client generated from /openapi.json calls createOrder, not
    create_order_v1_orders_post."""
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids
    for expected in ("createOrder", "getOrder", "listOrders", "patchOrder", "createPlan",
                     "getPlan", "publishPlan", "getCurrentPlan", "createSimulation",
                     "revokeKey", "listAuditEvents", "setEngineerStatus"):  # fmt: skip
        assert expected in ids, expected


def _admin(server: Server) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.admin_key}"}


def _at_risk_gauge(server: Server) -> float:
    r = httpx.get(f"{server.base_url}/metrics", headers=_admin(server))
    for line in r.text.splitlines():
        if line.startswith("dispatch_orders_at_risk "):
            return float(line.split()[1])
    raise AssertionError("dispatch_orders_at_risk missing from /metrics")


def test_metrics_count_an_unplanned_order_due_within_the_margin_as_at_risk(
    server: Server, ticketing: httpx.Client
) -> None:
    from datetime import UTC, datetime, timedelta
    from uuid import uuid4

    time.sleep(STATE_CACHE_SECONDS)  # counts from the database are cached that long
    before = _at_risk_gauge(server)
    received = datetime.now(UTC) - timedelta(hours=23)  # domestic: due in about an hour
    body = {
        "id": f"RISK-{uuid4().hex[:8]}",
        "site": {"lat": 36.6, "lon": 117.0, "country": "CN"},
        "received_at": received.replace(microsecond=0).isoformat(),
        "service_minutes": 60,
    }
    assert ticketing.post("/v1/orders", json=body).status_code == 201
    deadline = time.monotonic() + 3 * STATE_CACHE_SECONDS
    while _at_risk_gauge(server) != before + 1:
        assert time.monotonic() < deadline, "the at-risk gauge never counted the order"
        time.sleep(0.5)
