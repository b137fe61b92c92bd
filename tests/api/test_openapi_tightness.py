"""The OpenAPI schema is as tight as validation (issue 22, item 1): for the probe's four
cases (``/v1/solve`` with ``{}``, a window whose end is its start, the ``commitment`` query
filter, a simulation's days plus drain) and the caps, what the served schema refuses the
server refuses, and what the server refuses beyond the schema is one of the named rules
that ``schemathesis_hooks.py`` narrows ``positive_data_acceptance`` by. Each other
narrowing of the Schemathesis run is tested here too.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import schemathesis_hooks
from api_harness import ROOT, Server, ServerFactory
from api_helpers import engineer_doc, order_doc, unique
from jsonschema import Draft202012Validator

SMALL = ROOT / "fixtures" / "small" / "two_engineers_four_orders.json"


@pytest.fixture(scope="module")
def capped(server_factory: ServerFactory) -> Server:
    """Time limits capped below the defaults (10 s plan jobs, 5 s solves)."""
    return server_factory(max_solve_seconds="2", stateless_solve_seconds="1")


@pytest.fixture(scope="module")
def openapi(capped: Server) -> dict[str, Any]:
    return httpx.get(f"{capped.base_url}/openapi.json").json()


@pytest.fixture
def client(capped: Server) -> Any:
    with capped.client(capped.admin_key) as c:
        yield c


def _validator(openapi: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator({**schema, "components": openapi["components"]})


def body_schema(openapi: dict[str, Any], path: str, method: str) -> Draft202012Validator:
    media = openapi["paths"][path][method]["requestBody"]["content"]["application/json"]
    return _validator(openapi, media["schema"])


def query_schema(openapi: dict[str, Any], path: str, name: str) -> Draft202012Validator:
    params = openapi["paths"][path]["get"]["parameters"]
    return _validator(openapi, next(p["schema"] for p in params if p["name"] == name))


def _errors(r: httpx.Response) -> list[tuple[str, str]]:
    assert r.status_code == 422, r.text
    return [(e["path"], e["message"]) for e in r.json()["errors"]]


# ------------------------------------------------------------- the probe's four cases


def test_solve_schema_is_the_contract_problem_and_refuses_an_empty_document(
    openapi: dict[str, Any], client: httpx.Client
) -> None:
    schema = body_schema(openapi, "/v1/solve", "post")
    assert not schema.is_valid({})
    assert {e.validator for e in schema.iter_errors({})} == {"required"}
    assert client.post("/v1/solve", json={}).status_code == 422
    problem = json.loads(SMALL.read_text())
    assert schema.is_valid(problem)  # a real problem is fine by the schema and the server
    r = client.post("/v1/solve", params={"solution_limit": 5}, json=problem)
    assert r.status_code == 200, r.text


def test_a_window_ending_at_its_start_is_the_named_rule_beyond_the_schema(
    openapi: dict[str, Any], client: httpx.Client
) -> None:
    at = "2026-11-23T08:00:00+08:00"
    doc = order_doc(site_windows=[{"start": at, "end": at}])
    assert body_schema(openapi, "/v1/orders", "post").is_valid(doc)  # no schema relates them
    r = client.post("/v1/orders", json=doc)
    assert [p for p, _ in _errors(r)] == ["site_windows[0].end"]
    assert schemathesis_hooks.explained("POST /v1/orders", 422, r.json())
    # The narrowing is no blanket: an error outside the named rules still fails the check.
    other = client.post("/v1/orders", json=order_doc(service_minutes=-1))
    assert not schemathesis_hooks.explained("POST /v1/orders", 422, other.json())
    shift = {"start": at, "end": at}
    r = client.put(f"/v1/engineers/{unique('E')}", json=engineer_doc(shifts=[shift]))
    assert [p for p, _ in _errors(r)] == ["shifts[0].end"]
    assert schemathesis_hooks.explained("PUT /v1/engineers/{engineer_id}", 422, r.json())


def test_the_commitment_filter_schema_refuses_what_the_server_refuses(
    openapi: dict[str, Any], client: httpx.Client
) -> None:
    schema = query_schema(openapi, "/v1/orders", "commitment")
    for good in (["domestic"], ["domestic, remote"], ["overseas,", " remote"], [""]):
        assert schema.is_valid(good), good
        assert client.get("/v1/orders", params={"commitment": good}).status_code == 200
    for bad in (["bogus"], ["domestic;remote"], ["Domestic"], ["domestic\tremote"]):
        assert not schema.is_valid(bad), bad
        r = client.get("/v1/orders", params={"commitment": bad})
        assert [p.split("[")[0] for p, _ in _errors(r)] == ["query.commitment"]


def test_a_simulation_over_60_days_is_refused_by_schema_or_by_the_named_rule(
    openapi: dict[str, Any], client: httpx.Client
) -> None:
    from api.schemas import SIMULATION_SCENARIO_EXAMPLE  # drain_days = 1

    schema = body_schema(openapi, "/v1/simulations", "post")
    too_long = {"scenario": SIMULATION_SCENARIO_EXAMPLE, "days": 61}
    assert not schema.is_valid(too_long)
    assert [p for p, _ in _errors(client.post("/v1/simulations", json=too_long))] == ["days"]
    with_drain = {"scenario": SIMULATION_SCENARIO_EXAMPLE, "days": 60}
    assert schema.is_valid(with_drain)  # the drain is in the TOML text
    r = client.post("/v1/simulations", json=with_drain)
    assert [p for p, _ in _errors(r)] == ["days"]
    assert schemathesis_hooks.explained("POST /v1/simulations", 422, r.json())


# ------------------------------------------------------------------------- the caps


def test_time_limit_caps_and_defaults_are_in_the_schema(
    openapi: dict[str, Any], client: httpx.Client
) -> None:
    plan = openapi["components"]["schemas"]["PlanRequest"]["properties"]["time_limit_s"]
    assert (plan["maximum"], plan["default"]) == (2, 2)
    params = openapi["paths"]["/v1/solve"]["post"]["parameters"]
    solve = next(p["schema"] for p in params if p["name"] == "time_limit_s")
    assert (solve["maximum"], solve["default"]) == (1, 1)
    assert [p for p, _ in _errors(client.post("/v1/plans", json={"time_limit_s": 3}))] == [
        "time_limit_s"
    ]
    r = client.post("/v1/plans")  # no body: the default, lowered to the cap
    assert r.status_code == 202, r.text
    assert r.json()["options"]["time_limit_s"] == 2
    client.delete(f"/v1/plans/{r.json()['id']}")


def test_request_strings_are_nul_free_in_the_schema(openapi: dict[str, Any]) -> None:
    batch = body_schema(openapi, "/v1/orders:batch", "post")
    assert batch.is_valid({"orders": [{"id": "x", "note": ["a", {"b": 1}]}]})
    assert not batch.is_valid({"orders": [{"id": "x\u0000"}]})
    assert not batch.is_valid({"orders": [{"x\u0000": 1}]})
    assert not body_schema(openapi, "/v1/orders", "post").is_valid(order_doc(id="a", site={
        "lat": 1, "lon": 1, "country": "CN", "name": "a\u0000"
    }))  # fmt: skip


# ------------------------------------------------------- the other narrowed checks


def test_a_deleted_webhooks_delivery_log_stays_readable(client: httpx.Client) -> None:
    """``use_after_free`` is off for GET /v1/webhooks/{id}/deliveries: this is why."""
    r = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"})
    assert r.status_code == 201, r.text
    webhook = r.json()["id"]
    assert client.delete(f"/v1/webhooks/{webhook}").status_code == 200
    assert client.get(f"/v1/webhooks/{webhook}/deliveries").status_code == 200
    assert client.delete(f"/v1/webhooks/{webhook}").status_code == 404


def test_an_unreachable_travel_provider_is_the_documented_503_of_solve(
    openapi: dict[str, Any], client: httpx.Client
) -> None:
    """``not_a_server_error`` is narrowed for POST /v1/solve to this answer only."""
    problem = json.loads(SMALL.read_text())
    problem["policy"]["travel"] = {"provider": "osrm", "url": "http://127.0.0.1:9"}
    assert body_schema(openapi, "/v1/solve", "post").is_valid(problem)
    r = client.post("/v1/solve", json=problem)
    assert r.status_code == 503, r.text
    assert "503" in openapi["paths"]["/v1/solve"]["post"]["responses"]
    assert schemathesis_hooks.server_error_explained("POST /v1/solve", 503, r.json())
    assert not schemathesis_hooks.server_error_explained("POST /v1/solve", 500, r.json())


def test_allow_names_the_documented_methods_of_the_resolved_path(client: httpx.Client) -> None:
    assert client.request("OPTIONS", "/v1/plans/current").headers["allow"] == "GET"
    assert client.request("OPTIONS", "/v1/plans/x").headers["allow"] == "DELETE, GET"
    assert client.request("OPTIONS", "/v1/orders").headers["allow"] == "GET, POST"


def test_patch_members_the_schema_says_are_never_null_are_refused_as_null(
    openapi: dict[str, Any], client: httpx.Client
) -> None:
    order = order_doc()
    assert client.post("/v1/orders", json=order).status_code == 201
    schema = body_schema(openapi, "/v1/orders/{order_id}", "patch")
    for member in ("status", "finished_at", "site", "received_at", "service_minutes"):
        body = {member: None, "priority": "high"}
        assert not schema.is_valid(body), member
        r = client.patch(f"/v1/orders/{order['id']}", json=body)
        assert [p for p, _ in _errors(r)] == [member], r.text
