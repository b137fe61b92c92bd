"""A client generated from ``/openapi.json`` (openapi-python-client) drives the ticketing flow.

The generator runs offline on the document the real server serves; the generated package is
imported from a temporary directory. Its modules are named after the operationIds
(``create_order``, not ``create_order_v1_orders_post``), and its models parse every answer
of the flow: engineers and orders in, a plan job, publishing, ETAs out, a problem+json 404.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from api_harness import ROOT, Server, ServerFactory

SMALL = ROOT / "fixtures" / "small" / "two_engineers_four_orders.json"
PLAN_OPTIONS = {"planning_start": "2026-11-23T08:00:00Z", "horizon_hours": 24, "time_limit_s": 20}
# No post-generation hooks: they run ruff on the output, when ruff is on PATH, and print a
# warning when it is not. The generated code is imported, never linted.
GENERATOR_CONFIG = "post_hooks: []\n"


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _generate(server: Server, out: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Generate a client for ``server``'s document under ``out``; the imported package."""
    document = out / "openapi.json"
    document.write_bytes(httpx.get(f"{server.base_url}/openapi.json", timeout=30).content)
    config = out / "generator.yaml"
    config.write_text(GENERATOR_CONFIG)
    package = f"dispatch_client_{uuid.uuid4().hex[:8]}"  # one per backend: a fresh import
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(document),
            "--output-path",
            str(out / package),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    monkeypatch.syspath_prepend(str(out))
    return importlib.import_module(package)


def test_every_tag_has_a_description(server: Server) -> None:
    document = httpx.get(f"{server.base_url}/openapi.json", timeout=30).json()
    described = {tag["name"]: tag.get("description") for tag in document.get("tags", [])}
    used = {
        tag
        for operations in document["paths"].values()
        for operation in operations.values()
        for tag in operation.get("tags", [])
    }
    assert used <= set(described), f"tags without a description: {sorted(used - set(described))}"
    assert all(described[tag] for tag in used)


def test_a_generated_client_drives_the_ticketing_flow(
    server_factory: ServerFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = server_factory()
    client_pkg = _generate(server, tmp_path, monkeypatch)
    package = tmp_path / client_pkg.__name__

    # Modules are the operationIds in snake case, one package per tag; no path-derived names.
    document = json.loads((tmp_path / "openapi.json").read_text())
    expected = {
        (operation["tags"][0], _snake(operation["operationId"]))
        for operations in document["paths"].values()
        for operation in operations.values()
    }
    generated = {
        (module.parent.name, module.stem)
        for module in (package / "api").glob("*/*.py")
        if module.stem != "__init__"
    }
    assert generated == expected
    names = {name for _, name in generated}
    assert {"create_order", "get_order", "list_orders", "create_plan", "publish_plan"} <= names
    assert not [n for n in names if re.search(r"_v1_|_(get|post|put|patch|delete)$", n)]

    def module(name: str) -> Any:
        return importlib.import_module(f"{client_pkg.__name__}.{name}")

    client_mod = module("client")
    models = module("models")
    put_policy = module("api.admin.put_policy")
    put_engineer = module("api.engineers.put_engineer")
    create_order = module("api.orders.create_order")
    get_order = module("api.orders.get_order")
    list_orders = module("api.orders.list_orders")
    create_plan = module("api.plans.create_plan")
    get_plan = module("api.plans.get_plan")
    publish_plan = module("api.plans.publish_plan")

    problem = json.loads(SMALL.read_text())
    timeout = httpx.Timeout(30.0)
    admin = client_mod.AuthenticatedClient(
        base_url=server.base_url,
        token=server.admin_key,
        timeout=timeout,
        raise_on_unexpected_status=True,
    )
    ticketing = client_mod.AuthenticatedClient(
        base_url=server.base_url,
        token=server.new_key("ticketing"),
        timeout=timeout,
        raise_on_unexpected_status=True,
    )
    with admin, ticketing:
        r = put_policy.sync_detailed(
            client=admin, body=models.PolicyIn.from_dict(problem["policy"])
        )
        assert r.status_code == 200, r.content
        for engineer in problem["engineers"]:
            r = put_engineer.sync_detailed(
                engineer["id"], client=admin, body=models.EngineerIn.from_dict(engineer)
            )
            assert r.status_code == 201, r.content
            assert isinstance(r.parsed, models.EngineerOut) and r.parsed.id == engineer["id"]

        for order in problem["orders"]:
            r = create_order.sync_detailed(client=ticketing, body=models.OrderIn.from_dict(order))
            assert r.status_code == 201, r.content
            assert isinstance(r.parsed, models.OrderOut)
            assert r.parsed.id == order["id"] and r.parsed.status == "open"
            assert r.parsed.assignment is None
        again = problem["orders"][0]
        r = create_order.sync_detailed(client=ticketing, body=models.OrderIn.from_dict(again))
        assert r.status_code == 200, r.content  # idempotent by ticket id

        view = get_order.sync(again["id"], client=ticketing)
        assert isinstance(view, models.OrderOut)
        assert view.id == again["id"] and view.status == "open"
        assert [change.to for change in view.status_history] == ["open"]

        page = list_orders.sync(client=ticketing, status=["open"], limit=2)
        assert isinstance(page, models.OrderPage)
        assert [o.id for o in page.items] == [o["id"] for o in problem["orders"][:2]]
        rest = list_orders.sync(client=ticketing, status=["open"], cursor=page.next_cursor)
        assert [o.id for o in rest.items] == [o["id"] for o in problem["orders"][2:]]
        assert rest.next_cursor is None

        missing = get_order.sync_detailed("NO-SUCH-ORDER", client=ticketing)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.Problem)
        assert missing.parsed.type_.endswith("/problems/not-found")

        options = models.PlanRequest.from_dict({**PLAN_OPTIONS, "solution_limit": 50})
        r = create_plan.sync_detailed(client=admin, body=options)
        assert r.status_code == 202, r.content
        job_id = r.parsed.id
        deadline = time.monotonic() + 90
        while (job := get_plan.sync(job_id, client=admin)).state in ("queued", "running"):
            assert time.monotonic() < deadline, f"plan {job_id} still {job.state}"
            time.sleep(0.2)
        assert job.state == "done", job.error

        published = publish_plan.sync(job_id, client=admin, body=models.PublishRequest())
        assert isinstance(published, models.PlanJobOut)
        assert published.published_at is not None
        for order in problem["orders"]:
            view = get_order.sync(order["id"], client=ticketing)
            assert view.status == "published"
            assert view.assignment is not None and view.assignment.plan_id == job_id
            assert view.assignment.engineer_id in {e["id"] for e in problem["engineers"]}
            assert view.assignment.eta is not None
