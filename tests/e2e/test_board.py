"""The dispatch board and the API docs in a real Chromium, against real ``dispatch serve``
processes on SQLite and PostgreSQL (tests/api harness).

One small generated problem (6 engineers, 24 orders, planned from now) is loaded per backend
and a solution-limited plan is published through the API; the tests then drive the page:
the timeline, a plan job with its live progress, the changes after an engineer is reported
absent, publishing, a quote turned into an order, what a ticketing key may do, and the
offline guarantee (no request leaves the server) for the board, /docs and /redoc.
Generous waits (a loaded CI machine), no assertion on elapsed time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from dispatcher.codec import problem_from_dict
from dispatcher.domain import eligible_engineers
from dispatcher.generate import generate_problem

WAIT_MS = 60_000  # page waits
PLAN = {"time_limit_s": 30, "solution_limit": 40}


@dataclass
class World:
    base_url: str
    admin: str
    coordinator: str
    ticketing: str
    problem: dict[str, Any]
    requests: list[str] = field(default_factory=list)


def _wait_plan(client: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/v1/plans/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            assert job["state"] == "done", job
            return job
        time.sleep(0.3)
    raise AssertionError(f"plan {job_id} not finished in 120 s")


@pytest.fixture(scope="module")
def world(server: Any) -> World:
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    # Light enough that the engineers left can take an absent one's visits (the test of the
    # plan diff needs a reassignment, not only drops), whatever the time of day or week.
    problem = generate_problem(orders=12, engineers=6, seed=7, planning_start=start)
    admin = server.admin_key
    with server.client(admin) as c:
        assert c.put("/v1/policy", json=problem["policy"]).status_code == 200
        for engineer in problem["engineers"]:
            r = c.put(f"/v1/engineers/{engineer['id']}", json=engineer)
            assert r.status_code in (200, 201), r.text
        r = c.post("/v1/orders:batch", json={"orders": problem["orders"]})
        assert r.status_code == 200, r.text
        assert all(item["status"] in (200, 201) for item in r.json()["results"]), r.text
        r = c.post(
            "/v1/plans",
            json={**PLAN, "planning_start": start.isoformat(), "horizon_hours": 96},
        )
        assert r.status_code == 202, r.text
        job = _wait_plan(c, r.json()["id"])
        assert c.post(f"/v1/plans/{job['id']}/publish", json={}).status_code == 200
    return World(
        base_url=server.base_url,
        admin=admin,
        coordinator=server.new_key("coordinator"),
        ticketing=server.new_key("ticketing"),
        problem=problem,
    )


@pytest.fixture
def page(browser: Any, world: World) -> Iterator[Any]:
    """A fresh browser context; every request it makes is logged, outside ones refused."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    world.requests.clear()
    errors: list[str] = []

    def route(r: Any) -> None:
        world.requests.append(r.request.url)
        if r.request.url.startswith(world.base_url):
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    pg = context.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, errors


def _outside(world: World) -> list[str]:
    return [u for u in world.requests if not u.startswith((world.base_url, "data:", "blob:"))]


def _open_board(page: Any, world: World, key: str) -> None:
    page.goto(f"{world.base_url}/board#key={key}")
    page.wait_for_selector("body[data-ready='1']")
    assert "key=" not in page.url  # the fragment is dropped once read


def _current(world: World) -> dict[str, Any]:
    with httpx.Client(base_url=world.base_url, timeout=30) as c:
        r = c.get("/v1/plans/current", headers={"Authorization": f"Bearer {world.admin}"})
        assert r.status_code == 200, r.text
        return r.json()


def test_timeline_shows_every_engineer_and_every_planned_visit(page: Any, world: World) -> None:
    _open_board(page, world, world.coordinator)
    plan = _current(world)["plan"]
    rows = page.locator("#timeline .tl-row")
    assert sorted(rows.evaluate_all("els => els.map(e => e.dataset.engineer)")) == sorted(
        e["id"] for e in world.problem["engineers"]
    )
    shown = page.locator("#timeline .visit").evaluate_all(
        "els => els.map(e => e.dataset.engineer + '/' + e.dataset.order)"
    )
    planned = [f"{r['engineer_id']}/{v['order_id']}" for r in plan["routes"] for v in r["visits"]]
    assert planned and sorted(shown) == sorted(planned)
    # KPIs of the published plan, the zone named, a visit's detail by keyboard.
    assert page.locator("#kpis [data-kpi='on_time_rate']").inner_text().strip() != ""
    assert page.locator("#zone-name").inner_text().strip() != ""
    first = page.locator("#timeline .visit").first
    first.focus()
    page.keyboard.press("Enter")
    order_id = first.get_attribute("data-order")
    detail = page.locator("#detail-body")
    assert order_id in detail.inner_text()
    assert "Deadline" in detail.inner_text() and "Slack" in detail.inner_text()
    assert page.locator("#map svg circle.site").count() >= len(planned)
    assert page.locator("#orders tbody tr").count() == len(world.problem["orders"])
    assert _outside(world) == [], "the board fetched something outside the server"


def test_absence_replan_review_changes_and_publish(page: Any, world: World) -> None:
    published = _current(world)
    routes = published["plan"]["routes"]
    # The absent engineer: the busiest one with a visit someone else may take (not pinned to
    # them, another engineer eligible), so the re-plan has something to reassign.
    problem = problem_from_dict(world.problem)
    orders = {o.id: o for o in problem.orders}
    index = {e.id: v for v, e in enumerate(problem.engineers)}

    def movable(route: dict[str, Any]) -> set[str]:
        me = index[route["engineer_id"]]
        return {
            v["order_id"]
            for v in route["visits"]
            if set(eligible_engineers(problem, orders[v["order_id"]])) - {me}
        }

    busiest = max(routes, key=lambda r: (len(movable(r)), len(r["visits"])))
    absent, moved = busiest["engineer_id"], movable(busiest)
    assert moved
    _open_board(page, world, world.coordinator)

    start = datetime.now(UTC) - timedelta(hours=1)
    page.select_option("#absent-engineer", absent)
    page.fill("#absent-start", start.isoformat(timespec="seconds"))
    page.fill("#absent-end", (start + timedelta(days=10)).isoformat(timespec="seconds"))
    page.click("#absent-form button[type=submit]")
    page.wait_for_selector(f"#absent-msg:has-text('{absent} reported absent')")

    page.fill("#plan-time", str(PLAN["time_limit_s"]))
    page.fill("#plan-solutions", str(PLAN["solution_limit"]))
    page.click("#plan-request")
    page.wait_for_selector("#plan-progress[data-state]")
    page.wait_for_selector("#plan-progress[data-state='done']", timeout=120_000)
    progress = page.locator("#plan-progress").inner_text()
    assert "best cost" in progress and "on time" in progress and "elapsed" in progress

    review = page.locator("#plan-review")
    review.wait_for(state="visible")
    reassigned = page.locator("#changes tr[data-kind='reassigned']")
    assert reassigned.count() >= 1
    rows = reassigned.evaluate_all(
        "els => els.map(e => [e.dataset.order, e.cells[2].textContent, e.cells[3].textContent])"
    )
    assert any(order in moved and src == absent and dst != absent for order, src, dst in rows)
    job_id = page.locator("body").get_attribute("data-shown")
    assert page.locator("#plan-label").inner_text().startswith("preview of job")

    page.click("#publish")
    page.wait_for_selector(f"body[data-published='{job_id}']")
    assert _current(world)["id"] == job_id
    # The published plan is what the timeline shows now; nobody is visited by the absent one.
    assert page.locator(f"#timeline .visit[data-engineer='{absent}']").count() == 0
    assert _outside(world) == []


def test_quote_and_create_the_order(page: Any, world: World) -> None:
    _open_board(page, world, world.ticketing)
    engineer = world.problem["engineers"][0]
    page.fill("#q-id", "E2E-QUOTE-1")
    page.fill("#q-site", "next door")
    page.fill("#q-lat", str(round(engineer["home"]["lat"] + 0.05, 4)))
    page.fill("#q-lon", str(round(engineer["home"]["lon"] + 0.05, 4)))
    page.fill("#q-country", "CN")
    page.fill("#q-skills", engineer["skills"][0])
    page.fill("#q-service", "30")
    page.click("#quote-get")
    option = page.locator("#quote-result tr[data-option='0']")
    option.wait_for()
    chosen = option.locator("td").first.inner_text().lstrip("★ ").strip()
    option.locator("button[data-create]").click()
    page.wait_for_selector("#quote-result [data-created='E2E-QUOTE-1']")
    with httpx.Client(base_url=world.base_url, timeout=30) as c:
        r = c.get("/v1/orders/E2E-QUOTE-1", headers={"Authorization": f"Bearer {world.admin}"})
    assert r.status_code == 200, r.text
    assert r.json()["hold"]["engineer_id"] == chosen
    assert page.locator("#orders tr[data-order='E2E-QUOTE-1']").count() == 1
    assert _outside(world) == []


SIMULATION = """\
name = "board list"
seed = 3
[base]
start = 2026-11-23T00:00:00+08:00
[base.roster]
engineers = 3
[base.demand]
tickets_per_day = 2
[simulation]
days = 1
drain_days = 0.5
[simulation.solver]
time_limit_s = 1
solution_limit = 2
"""


def test_simulations_are_listed_and_open_their_report(page: Any, world: World) -> None:
    with httpx.Client(base_url=world.base_url, timeout=30) as c:
        r = c.post(
            "/v1/simulations",
            json={"scenario": SIMULATION},
            headers={"Authorization": f"Bearer {world.coordinator}"},
        )
        assert r.status_code == 202, r.text
        sim_id = r.json()["id"]
    _open_board(page, world, world.coordinator)
    item = page.locator(f"#sim-list li[data-sim-item='{sim_id}']")
    item.wait_for()
    assert "board list" in item.inner_text()
    item.locator("a").click()
    page.wait_for_selector("#sim-report h3:has-text('board list')")


def test_ticketing_key_sees_no_publish_and_is_refused(page: Any, world: World) -> None:
    _open_board(page, world, world.ticketing)
    assert page.locator("body").get_attribute("data-role") == "ticketing"
    assert page.locator("#publish").count() == 0
    assert page.locator("#timeline").count() == 0
    assert page.locator("#orders tbody tr").count() >= len(world.problem["orders"])
    job_id = _current(world)["id"]
    status = page.evaluate(
        """async ([id, key]) => (await fetch(`/v1/plans/${id}/publish`, {method: 'POST',
            headers: {Authorization: `Bearer ${key}`, 'Content-Type': 'application/json'},
            body: '{}'})).status""",
        [job_id, world.ticketing],
    )
    assert status == 403
    assert _outside(world) == []


def test_key_form_and_wrong_key(page: Any, world: World) -> None:
    page.goto(f"{world.base_url}/board")
    page.wait_for_selector("#login:not([hidden])")
    page.fill("#login-key", "dsp_nobody_wrong")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:has-text('401')")
    page.fill("#login-key", world.coordinator)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("body").get_attribute("data-role") == "coordinator"
    # Every API call carried the key as a bearer token, none in a query string.
    assert not [u for u in world.requests if "key=" in u]


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/docs", ".swagger-ui .info .title:has-text('Field dispatch API')"),
        ("/redoc", "h1:has-text('Field dispatch API')"),
    ],
)
def test_api_docs_render_from_local_assets(page: Any, world: World, path: str, ready: str) -> None:
    page.goto(f"{world.base_url}{path}")
    page.wait_for_selector(ready)
    page.get_by_text("/v1/orders").first.wait_for(state="attached")
    assert _outside(world) == [], f"{path} fetched something outside the server"
