"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

import httpx
from api_harness import Server


def test_readyz_reports_the_schema_revision(server: Server) -> None:
    r = httpx.get(f"{server.base_url}/readyz")
    assert r.json() == {"status": "ready", "schema": "0002"}


def test_metrics_expose_latency_by_route_template_and_state_gauges(
    server: Server, ticketing: httpx.Client
) -> None:
    ticketing.get("/v1/orders/some-order-id")
    text = httpx.get(f"{server.base_url}/metrics").text
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
