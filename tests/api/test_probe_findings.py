"""What an outside probe broke (issue 22, item 1), end to end on both backends: each test
failed (a 500, a 201 for something unusable, a too-short Allow, an open /metrics) before."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from api_harness import Server, ServerFactory
from api_helpers import engineer_doc, order_doc, unique, wait_for_state

from api.persistence.models import OrderRow

PROBLEM = "application/problem+json"


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    return r.json()


def _paths(r: httpx.Response) -> list[str]:
    return [e["path"] for e in _problem(r, 422)["errors"]]


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def spare(server_factory: ServerFactory) -> Server:
    """A server of its own (its database gets corrupted on purpose), /metrics public."""
    return server_factory(metrics_public="1")


# ------------------------------------------------- 1: one record blocking all planning


def test_an_order_received_in_year_9001_utc_is_refused(ticketing: httpx.Client) -> None:
    doc = order_doc(received_at="9000-12-31T23:59:00-14:00")
    assert _paths(ticketing.post("/v1/orders", json=doc)) == ["received_at"]


def test_an_order_whose_longest_commitment_ends_after_9000_is_refused(
    ticketing: httpx.Client,
) -> None:
    doc = order_doc(received_at="8999-06-01T00:00:00Z")
    assert _paths(ticketing.post("/v1/orders", json=doc)) == ["received_at"]


def test_a_shift_ending_in_year_9001_utc_is_refused(coordinator: httpx.Client) -> None:
    shift = {"start": "9000-12-31T08:00:00-05:00", "end": "9000-12-31T23:00:00-05:00"}
    r = coordinator.put(f"/v1/engineers/{unique('E')}", json=engineer_doc(shifts=[shift]))
    assert _paths(r) == ["shifts[0].end"]


def test_a_stored_order_that_no_longer_validates_is_skipped_not_failing_the_job(
    spare: Server,
) -> None:
    with spare.client(spare.admin_key) as admin:
        assert admin.put("/v1/engineers/ENG-001", json=engineer_doc()).status_code == 201
        good, bad = unique("GOOD"), unique("BAD")
        for order_id in (good, bad):
            assert admin.post("/v1/orders", json=order_doc(order_id)).status_code == 201
        # Written around the service (an older version, a manual fix): year 9001.
        engine = sa.create_engine(spare.database_url)
        with engine.begin() as conn:
            document = conn.scalar(sa.select(OrderRow.document).where(OrderRow.id == bad))
            document = {**document, "received_at": "9001-01-01T13:59:00Z"}
            conn.execute(sa.update(OrderRow).where(OrderRow.id == bad).values(document=document))
        engine.dispose()
        options = {"planning_start": "2026-11-23T08:00:00+08:00", "horizon_hours": 24}
        r = admin.post("/v1/plans", json={**options, "time_limit_s": 1, "solution_limit": 5})
        assert r.status_code == 202, r.text
        assert r.json()["orders"] == 1
        assert [(s["kind"], s["id"]) for s in r.json()["skipped"]] == [("order", bad)]
        assert "received_at" in r.json()["skipped"][0]["error"]
        job = wait_for_state(admin, r.json()["id"], {"done", "failed"})
        assert job["state"] == "done", job["error"]
        assert job["skipped"][0]["id"] == bad
    assert f"stored order '{bad}' left out of the plan" in spare.log_text()


# ------------------------------------------------------------- 2: ids that fit a URL


def test_an_order_id_with_a_slash_is_refused(ticketing: httpx.Client) -> None:
    r = ticketing.post("/v1/orders", json=order_doc("T/100001"))
    body = _problem(r, 422)
    assert body["errors"][0]["path"] == "id"


def test_every_accepted_id_can_be_read_back(ticketing: httpx.Client) -> None:
    order_id = unique("a.b_c:d~e")
    assert ticketing.post("/v1/orders", json=order_doc(order_id)).status_code == 201
    assert ticketing.get(f"/v1/orders/{order_id}").status_code == 200


def test_the_openapi_document_publishes_the_id_pattern_and_list_bounds(server: Server) -> None:
    schemas = httpx.get(f"{server.base_url}/openapi.json").json()["components"]["schemas"]
    order, engineer = schemas["OrderIn"]["properties"], schemas["EngineerIn"]["properties"]
    assert order["id"]["pattern"] == r"^[A-Za-z0-9._:~-]{1,200}$"
    assert order["site_windows"]["maxItems"] == 500
    assert order["required_skills"]["maxItems"] == 50
    assert order["preferred_engineers"]["maxItems"] == 200
    assert order["excluded_engineers"]["maxItems"] == 200
    assert engineer["shifts"]["maxItems"] == 1000
    assert engineer["skills"]["maxItems"] == 200


# ------------------------------------------------------------- 3: forged cursors


@pytest.mark.parametrize(
    "text", ["o:2147483648", "o:9223372036854775808", "o:-1", "o:1e3", "x:1", "o:01"]
)
def test_a_forged_order_cursor_is_422(ticketing: httpx.Client, text: str) -> None:
    r = ticketing.get("/v1/orders", params={"cursor": _b64(text)})
    assert _paths(r) == ["query.cursor"]


def test_an_engineer_cursor_longer_than_an_id_is_422(coordinator: httpx.Client) -> None:
    assert _paths(coordinator.get("/v1/engineers", params={"cursor": "E" * 201})) == [
        "query.cursor"
    ]


def test_a_forged_event_cursor_is_422(ticketing: httpx.Client) -> None:
    for text in ("e:9223372036854775808", "e:9999999999999999999"):
        assert _paths(ticketing.get("/v1/events", params={"after": _b64(text)})) == ["query.after"]


def test_the_last_order_cursor_still_works(ticketing: httpx.Client) -> None:
    r = ticketing.get("/v1/orders", params={"cursor": _b64("o:2147483647")})
    assert r.status_code == 200 and r.json()["items"] == []


# ------------------------------------------------------------- 4: deep nesting


def test_a_deeply_nested_toml_scenario_is_422(coordinator: httpx.Client) -> None:
    for scenario in ("a = " + "[" * 100_000 + "]" * 100_000, "a = " + "[" * 40 + "]" * 40):
        r = coordinator.post("/v1/simulations", json={"scenario": scenario, "replications": 1})
        assert _paths(r) == ["scenario"]


@pytest.mark.parametrize("path", ["/v1/orders", "/v1/solve", "/v1/orders:batch"])
def test_a_deeply_nested_json_body_is_422(coordinator: httpx.Client, path: str) -> None:
    body = "[" * 100_000 + "]" * 100_000
    r = coordinator.post(path, content=body, headers={"Content-Type": "application/json"})
    assert _problem(r, 422)["errors"][0]["message"].startswith("expected JSON nested at most")


def test_brackets_inside_strings_do_not_count_as_nesting(ticketing: httpx.Client) -> None:
    doc = order_doc(site={"lat": 1.3, "lon": 103.8, "country": "SG", "name": "[" * 1000})
    assert ticketing.post("/v1/orders", json=doc).status_code == 201


# ------------------------------------------------------------- 5: revoked keys


def test_a_key_revoked_elsewhere_is_refused_at_once(server: Server, admin: httpx.Client) -> None:
    """The CLI is another process, like another worker: this worker's cache knew the key."""
    created = admin.post("/v1/keys", json={"role": "ticketing"}).json()
    with server.client(created["key"]) as client:
        assert client.get("/v1/orders").status_code == 200
        server.cli("keys", "revoke", created["id"])
        assert client.get("/v1/orders").status_code == 401


def test_unknown_keys_do_not_evict_valid_ones() -> None:
    from api.services.keys import CACHE_SIZE, UNCACHED, KeyService, Principal

    class Row:
        id, role, revoked_at = "k1", "ticketing", None

    class Session:
        def __init__(self, known: dict[str, Row]) -> None:
            self.known = known

        def __enter__(self) -> Session:
            return self

        def __exit__(self, *exc: Any) -> None:
            pass

        def scalar(self, query: Any) -> Row | None:
            digest = query.whereclause.right.value
            return self.known.get(digest)

    from api.services.keys import hash_key

    known = {hash_key("good"): Row()}
    keys = KeyService(lambda: Session(known), lambda: None, None)  # type: ignore[arg-type]
    assert keys.authenticate("good") == Principal("k1", "ticketing")
    for i in range(CACHE_SIZE + 10):
        assert keys.authenticate(f"random-{i}") is None
    assert keys.cached("good", 60) == Principal("k1", "ticketing")
    assert keys.cached("random-1", 60) is UNCACHED
    assert keys.cached("good", 0) is UNCACHED  # the default: every request checks
    Row.revoked_at = "now"  # type: ignore[assignment]
    assert keys.authenticate("good") is None
    assert keys.cached("good", 60) is UNCACHED


# ------------------------------------------------------------------- 6: /metrics


def test_metrics_need_an_admin_key_by_default(server: Server, keys: Any) -> None:
    _problem(httpx.get(f"{server.base_url}/metrics"), 401)
    with server.client(keys.ticketing) as ticketing:
        _problem(ticketing.get("/metrics"), 403)
    with server.client(keys.admin) as admin:
        assert admin.get("/metrics").status_code == 200


def test_public_metrics_count_in_the_database_at_most_every_few_seconds(spare: Server) -> None:
    def open_orders() -> float:
        for line in httpx.get(f"{spare.base_url}/metrics").text.splitlines():
            if line.startswith('dispatch_orders{status="open"}'):
                return float(line.split()[1])
        return 0.0

    before = open_orders()
    with spare.client(spare.admin_key) as admin:
        assert admin.post("/v1/orders", json=order_doc()).status_code == 201
    assert open_orders() == before  # the counts of the last few seconds
    deadline = time.monotonic() + 15
    while open_orders() != before + 1:
        assert time.monotonic() < deadline, "the counts never refreshed"
        time.sleep(0.5)


# ------------------------------------------------------------------- 7: Allow on 405


def test_a_405_allows_every_method_of_the_path(ticketing: httpx.Client) -> None:
    r = ticketing.put("/v1/orders", json={})
    _problem(r, 405)
    assert {"GET", "POST"} <= {m.strip() for m in r.headers["allow"].split(",")}
    r = ticketing.post(f"/v1/orders/{unique()}")
    _problem(r, 405)
    assert {"GET", "PATCH"} <= {m.strip() for m in r.headers["allow"].split(",")}


# ------------------------------------------------------------------- 8: list sizes


def test_an_order_with_too_many_site_windows_is_refused(ticketing: httpx.Client) -> None:
    window = {"start": "2026-11-23T08:00:00+08:00", "end": "2026-11-23T18:00:00+08:00"}
    r = ticketing.post("/v1/orders", json=order_doc(site_windows=[window] * 501))
    assert _paths(r) == ["site_windows"]
    r = ticketing.post("/v1/orders", json=order_doc(required_skills=["x"] * 51))
    assert _paths(r) == ["required_skills"]


def test_an_engineer_with_too_many_skills_is_refused(coordinator: httpx.Client) -> None:
    r = coordinator.put(f"/v1/engineers/{unique('E')}", json=engineer_doc(skills=["s"] * 201))
    assert _paths(r) == ["skills"]


# --------------------------------------------- 9: what the schema cannot say is a 422


def test_what_the_schema_cannot_express_is_the_documented_422(
    server: Server, coordinator: httpx.Client
) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    assert "422" in spec["paths"]["/v1/solve"]["post"]["responses"]
    assert _problem(coordinator.post("/v1/solve", json={}), 422)["errors"]
    window = {"start": "2026-11-23T08:00:00+08:00", "end": "2026-11-23T08:00:00+08:00"}
    r = coordinator.post("/v1/orders", json=order_doc(site_windows=[window]))
    assert _paths(r)[0].startswith("site_windows[0]")
    assert _paths(coordinator.get("/v1/orders", params={"commitment": "nope"})) == [
        "query.commitment"
    ]
    # days (<= 60 in the schema) plus the scenario's drain_days over 60.
    from api.schemas import SIMULATION_SCENARIO_EXAMPLE

    body = {"scenario": SIMULATION_SCENARIO_EXAMPLE, "replications": 1, "days": 60}
    assert _paths(coordinator.post("/v1/simulations", json=body)) == ["days"]


# ------------------------------------------------------------------- 10: rate limits


@pytest.fixture(scope="module")
def throttled(server_factory: ServerFactory) -> Iterator[Server]:
    yield server_factory(rate_limit_per_s="0.5", rate_limit_burst="3")


def test_a_key_beyond_its_rate_limit_gets_429_with_retry_after(throttled: Server) -> None:
    key = throttled.new_key("ticketing")
    with throttled.client(key) as client:
        statuses = [client.get("/v1/orders").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        r = client.get("/v1/orders")
        body = _problem(r, 429)
        assert body["type"] == "/problems/too-many-requests"
        assert 1 <= int(r.headers["retry-after"]) <= 2
    # Another key has its own bucket.
    with throttled.client(throttled.new_key("ticketing")) as other:
        assert other.get("/v1/orders").status_code == 200


def test_the_429_is_documented(server: Server) -> None:
    spec = httpx.get(f"{server.base_url}/openapi.json").json()
    assert "429" in spec["paths"]["/v1/orders"]["get"]["responses"]
    json.dumps(spec)  # still a JSON document
