"""Authentication (401) and the role matrix (403): ticketing < coordinator < admin."""

from __future__ import annotations

import httpx
import pytest
from api_harness import Keys, Server
from api_helpers import engineer_doc, order_doc, unique

# (method, path, json, lowest role allowed)
ENDPOINTS = [
    ("GET", "/v1/orders", None, "ticketing"),
    ("POST", "/v1/orders", "order", "ticketing"),
    ("GET", "/v1/engineers", None, "coordinator"),
    ("PUT", "/v1/engineers/{eid}", "engineer", "coordinator"),
    ("GET", "/v1/plans/current", None, "coordinator"),
    ("GET", "/v1/policy", None, "coordinator"),
    ("POST", "/v1/keys", {"role": "ticketing"}, "admin"),
    ("GET", "/v1/audit", None, "admin"),
]
ROLES = ("ticketing", "coordinator", "admin")


def _call(client: httpx.Client, method: str, path: str, body: object) -> httpx.Response:
    path = path.replace("{eid}", unique("E"))
    if body == "order":
        body = order_doc()
    elif body == "engineer":
        body = engineer_doc()
    return client.request(method, path, json=body)


@pytest.mark.parametrize(("method", "path", "body", "lowest"), ENDPOINTS)
def test_role_matrix(
    server: Server, keys: Keys, method: str, path: str, body: object, lowest: str
) -> None:
    for role in ROLES:
        with server.client(getattr(keys, role)) as client:
            r = _call(client, method, path, body)
        allowed = ROLES.index(role) >= ROLES.index(lowest)
        if allowed:
            assert r.status_code not in (401, 403), (role, r.text)
        else:
            assert r.status_code == 403, (role, r.text)
            assert r.json()["type"] == "/problems/forbidden"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic dXNlcjpwYXNz"}],
    ids=["missing", "unknown", "not-bearer"],
)
def test_requests_without_a_valid_key_get_401(server: Server, headers: dict[str, str]) -> None:
    r = httpx.get(f"{server.base_url}/v1/orders", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_revoked_key_stops_working(server: Server, admin: httpx.Client) -> None:
    created = admin.post("/v1/keys", json={"role": "ticketing"}).json()
    with server.client(created["key"]) as client:
        assert client.get("/v1/orders").status_code == 200
        assert admin.delete(f"/v1/keys/{created['id']}").status_code == 200
        assert client.get("/v1/orders").status_code == 401


def test_keys_are_listed_and_revoked_from_the_command_line(
    server: Server, admin: httpx.Client
) -> None:
    created = admin.post("/v1/keys", json={"role": "ticketing", "name": "cli revoke"}).json()
    listing = server.cli("keys", "list")
    row = next(line for line in listing.splitlines() if line.startswith(created["id"]))
    assert "ticketing" in row and "cli revoke" in row and row.split()[3] == "-"
    assert created["key"] not in listing  # secrets are never stored, so never shown
    with server.client(created["key"]) as client:
        assert client.get("/v1/orders").status_code == 200
        assert f"key {created['id']} revoked" in server.cli("keys", "revoke", created["id"])
        # Every request checks the key (key_recheck_seconds is 0): refused at once.
        assert client.get("/v1/orders").status_code == 401
    row = next(
        line for line in server.cli("keys", "list").splitlines() if line.startswith(created["id"])
    )
    assert row.split()[3] != "-"
    again = server.cli_run("keys", "revoke", created["id"])
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"error: key {created['id']!r}: no such active key"
    ]


def test_ops_endpoints_need_no_key(server: Server) -> None:
    # /metrics needs an admin key unless DISPATCH_METRICS_PUBLIC=1 (test_probe_findings.py).
    for path in ("/healthz", "/readyz", "/docs", "/openapi.json"):
        assert httpx.get(server.base_url + path).status_code == 200, path
