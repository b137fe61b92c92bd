"""Property-based API tests: Schemathesis generates requests from the service's own
``/openapi.json`` and checks every answer: no 5xx, the body matches the documented schema
of its status code and media type, and the status code is a documented one.

A dedicated server per backend (fresh database, admin key), seeded with the small fixture
(policy, engineers, orders) and a published plan, so that generated calls also reach
stored resources: besides fully random cases, operations with path parameters get valid
bodies and queries aimed at the seeded ids. Generated calls replace the policy, create
keys, cancel orders and queue plan jobs, which would disturb tests sharing ``server``.
Solve time limits are capped at one second so that generated plan and solve requests stay
short. Each operation gets ``2 * MAX_EXAMPLES`` requests, drawn from valid (positive mode),
invalid (negative mode) and seeded-id cases; ``-m slow`` runs a bigger variant.

The operations are driven one by one with Hypothesis rather than through
``schemathesis.pytest.from_fixture``, whose lazy parametrization fails under pytest 9
(``'Function' object has no attribute '_nodeid'``); every failing operation is reported,
not only the first.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from api_harness import ROOT, Server, ServerFactory
from api_helpers import wait_for_state
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

MAX_EXAMPLES = 25
SLOW_MAX_EXAMPLES = 200
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
SMALL = ROOT / "fixtures" / "small" / "two_engineers_four_orders.json"


@pytest.fixture(scope="session")
def fuzz_server(server_factory: ServerFactory) -> Server:
    return server_factory(max_solve_seconds="1", stateless_solve_seconds="1", job_queue_limit="4")


@pytest.fixture(scope="session")
def seeded_ids(fuzz_server: Server) -> dict[str, list[str]]:
    """Store the small fixture and publish a plan of it: the ids generated calls aim at."""
    problem = json.loads(SMALL.read_text())
    spare_key = fuzz_server.new_key("ticketing")  # never the admin key: it must survive
    with fuzz_server.client(fuzz_server.admin_key) as admin:
        assert admin.put("/v1/policy", json=problem["policy"]).status_code == 200
        for engineer in problem["engineers"]:
            r = admin.put(f"/v1/engineers/{engineer['id']}", json=engineer)
            assert r.status_code == 201, r.text
        for order in problem["orders"]:
            assert admin.post("/v1/orders", json=order).status_code == 201
        options = {"planning_start": "2026-11-23T08:00:00Z", "horizon_hours": 24}
        r = admin.post("/v1/plans", json={**options, "time_limit_s": 1, "solution_limit": 5})
        assert r.status_code == 202, r.text
        job = wait_for_state(admin, r.json()["id"], {"done", "failed"})
        assert job["state"] == "done", job["error"]
        assert admin.post(f"/v1/plans/{job['id']}/publish").status_code == 200
    return {
        "order_id": [o["id"] for o in problem["orders"]],
        "engineer_id": [e["id"] for e in problem["engineers"]],
        "plan_id": [job["id"]],
        "key_id": [spare_key.split("_")[1]],
        "slug": ["conflict", "invalid-input"],
        "name": ["problem", "plan", "order"],  # GET /v1/schemas/{name}
    }


def _strategies(operation: Any, known: dict[str, list[str]]) -> list[Any]:
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    names = [p.name for p in operation.path_parameters]
    if names and all(name in known for name in names):
        for values in zip(*(known[name] for name in names), strict=False):
            strategies.append(
                operation.as_strategy(
                    GenerationMode.POSITIVE, path_parameters=dict(zip(names, values, strict=True))
                )
            )
    return strategies


def _fuzz(server: Server, known: dict[str, list[str]], max_examples: int) -> None:
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"an operation the schema does not define well: {result.err()}")
            continue
        operation = result.ok()
        operations += 1

        @given(case=st.one_of(_strategies(operation, known)))
        @settings(
            max_examples=2 * max_examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=server.base_url, headers=headers, checks=CHECKS, timeout=30
            )

        try:
            check()
        # Schemathesis reports failures as a FailureGroup (a BaseExceptionGroup).
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - reported below
            failures.append(f"{operation.label}: {type(exc).__name__}: {exc}"[:3000])
    assert operations > 20, f"only {operations} operations in the schema"
    assert not failures, "\n\n".join(failures)


def test_openapi_conformance(fuzz_server: Server, seeded_ids: dict[str, list[str]]) -> None:
    _fuzz(fuzz_server, seeded_ids, MAX_EXAMPLES)


@pytest.mark.slow
def test_openapi_conformance_many(fuzz_server: Server, seeded_ids: dict[str, list[str]]) -> None:
    _fuzz(fuzz_server, seeded_ids, SLOW_MAX_EXAMPLES)
