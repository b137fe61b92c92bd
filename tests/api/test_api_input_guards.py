"""Inputs PostgreSQL cannot take, found by the Schemathesis run (500s before): they are
answered as problem+json on both backends, and the OpenAPI document lists those answers."""

from __future__ import annotations

import json

import httpx
from api_harness import Server
from api_helpers import engineer_doc, order_doc, unique

PROBLEM = "application/problem+json"


def _problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    return r.json()


def test_nul_in_an_engineer_cursor_is_422(coordinator: httpx.Client) -> None:
    body = _problem(coordinator.get("/v1/engineers", params={"cursor": "E\x001"}), 422)
    assert body["errors"][0]["path"] == "query.cursor"


def test_nul_in_a_path_is_404(ticketing: httpx.Client, coordinator: httpx.Client) -> None:
    _problem(ticketing.get("/v1/orders/T%00X"), 404)
    _problem(coordinator.put("/v1/engineers/E%001", json=engineer_doc()), 404)


def test_nul_in_a_body_string_is_422(ticketing: httpx.Client) -> None:
    doc = order_doc(unique("NUL") + "\x00")
    r = ticketing.post(
        "/v1/orders", content=json.dumps(doc), headers={"Content-Type": "application/json"}
    )
    body = _problem(r, 422)
    assert body["type"] == "/problems/invalid-input"
    assert body["errors"][0]["message"].startswith("expected no NUL character")


def test_the_text_backslash_u0000_is_not_a_nul(ticketing: httpx.Client) -> None:
    doc = order_doc(site={"lat": 1.3, "lon": 103.8, "country": "SG", "name": "C:\\u0000"})
    r = ticketing.post("/v1/orders", json=doc)
    assert r.status_code == 201, r.text
    assert r.json()["order"]["site"]["name"] == "C:\\u0000"


def test_an_engineer_id_longer_than_storable_is_422(coordinator: httpx.Client) -> None:
    body = _problem(coordinator.put("/v1/engineers/" + "E" * 201, json=engineer_doc()), 422)
    assert body["errors"][0]["path"] == "path.engineer_id"


# /v1 operations that need no API key: the contract's schemas are public documentation.
PUBLIC_V1 = {"/v1/schemas/{name}"}


def test_the_openapi_document_lists_problem_answers(server: Server) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == [PROBLEM], (method, path, status)
            if path.startswith("/v1/") and path not in PUBLIC_V1:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    order = spec["paths"]["/v1/orders/{order_id}"]["get"]["responses"]["200"]
    assert order["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderOut"
    }
