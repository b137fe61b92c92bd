"""``GET /v1/schemas/{name}``: the contract's JSON Schemas, public (no API key)."""

from __future__ import annotations

import httpx
import pytest
from api_harness import Server

from dispatcher.schema import json_schema, schema_names


@pytest.mark.parametrize("name", schema_names())
def test_schema_route_serves_the_schema_without_a_key(server: Server, name: str) -> None:
    r = httpx.get(f"{server.base_url}/v1/schemas/{name}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json() == json_schema(name)


def test_schema_route_of_an_unknown_name_is_404_problem(server: Server) -> None:
    r = httpx.get(f"{server.base_url}/v1/schemas/nope")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"] == "/problems/not-found" and "problem, plan, order" in body["detail"]


def test_schema_route_is_documented_as_public_in_openapi(server: Server) -> None:
    operation = httpx.get(f"{server.base_url}/openapi.json").json()["paths"]["/v1/schemas/{name}"][
        "get"
    ]
    assert operation["operationId"] == "getSchema"
    assert not operation.get("security")
    assert "401" not in operation["responses"] and "404" in operation["responses"]
