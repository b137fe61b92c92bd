"""Road travel from OSRM (dispatcher/osrm.py, dispatcher/check_travel.py; docs/travel.md).

End to end against a real ``osrm-routed`` serving Monaco, built once for this module from
the extract ``make install`` downloads (bench/osrm_local.py); skipped with the reason
where the programs or the extract cannot be had. The last tests use a stub server for what
a real one will not do on demand (answer slowly, fail).
"""

from __future__ import annotations

import copy
import http.server
import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import osrm_local
from dispatcher.check_travel import verify_plan
from dispatcher.cli import main
from dispatcher.codec import (
    input_hash,
    plan_from_dict,
    plan_to_dict,
    problem_from_dict,
    problem_to_dict,
)
from dispatcher.domain import Location, Plan, Problem, TravelParams
from dispatcher.errors import TravelTimeError
from dispatcher.osrm import CACHE_DIR_ENV, OsrmClient, OsrmTravelTimes, clear_cache
from dispatcher.planner import PlanOptions, plan_problem
from dispatcher.quote import QuoteBook
from dispatcher.travel import GeodesicTravelTimes

SITES = {
    "monaco_ville": (43.7308, 7.4206),
    "casino": (43.7396, 7.4277),
    "fontvieille": (43.7277, 7.4156),
    "larvotto": (43.7446, 7.4370),
    "condamine": (43.7347, 7.4199),
    "moneghetti": (43.7365, 7.4150),
}
SEA = (43.7350, 7.4700)  # about 2.5 km off Larvotto: no road within MAX_SNAP_M
OPTIONS = PlanOptions(time_limit_s=10, solution_limit=30)


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[osrm_local.Router]:
    inst = osrm_local.find()
    if isinstance(inst, str):
        pytest.skip(f"no local OSRM: {inst}")
    work = tmp_path_factory.mktemp("osrm-monaco")
    base = osrm_local.build(inst, inst.monaco_pbf, work, "mld")
    with osrm_local.Router(inst, base, "mld", max_table_size=100) as r:
        yield r


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_cache()


def _problem_doc(url: str, sites: dict[str, tuple[float, float]], **travel: Any) -> dict:
    shift = [{"start": "2026-11-23T08:00:00Z", "end": "2026-11-23T17:00:00Z"}]
    engineers = [
        {"id": "E1", "home": {"lat": 43.7380, "lon": 7.4240}, "timezone": "Europe/Monaco",
         "skills": ["x"], "shifts": shift},
        {"id": "E2", "home": {"lat": 43.7290, "lon": 7.4170}, "timezone": "Europe/Monaco",
         "skills": ["x"], "shifts": shift},
    ]  # fmt: skip
    orders = [
        {"id": name, "site": {"lat": lat, "lon": lon, "country": "MC"},
         "received_at": "2026-11-23T07:00:00Z", "service_minutes": 30, "required_skills": ["x"]}
        for name, (lat, lon) in sites.items()
    ]  # fmt: skip
    return {
        "planning_start": "2026-11-23T08:00:00Z",
        "horizon_hours": 24,
        "policy": {"home_country": "MC", "travel": {"provider": "osrm", "url": url, **travel}},
        "engineers": engineers,
        "orders": orders,
    }


def _direct(url: str, a: Location, b: Location) -> tuple[float, float]:
    """The router's own (seconds, metres) from a to b, asked without the provider."""
    q = f"{url}/table/v1/driving/{a.lon},{a.lat};{b.lon},{b.lat}?annotations=duration,distance"
    with urllib.request.urlopen(q, timeout=10) as response:
        body = json.loads(response.read())
    return body["durations"][0][1], body["distances"][0][1]


def _legs(problem: Problem, plan: Plan) -> list[tuple[Location, Location, str, float, float]]:
    sites = {o.id: o.site.location for o in problem.orders}
    out = []
    for route in plan.routes:
        here = route.start_location
        assert here is not None
        for v in route.visits:
            out.append((here, sites[v.order_id], v.travel_mode, v.travel_km, v.travel_minutes))
            here = sites[v.order_id]
    return out


def test_a_monaco_plan_drives_the_routers_durations_and_passes_the_checker(
    router: osrm_local.Router,
) -> None:
    problem = problem_from_dict(_problem_doc(router.url, SITES))
    plan = plan_problem(problem, OPTIONS)
    assert plan.kpis.assigned == len(SITES)
    travel = plan.meta["travel"]
    assert isinstance(travel, dict)
    assert travel["provider"] == "osrm" and travel["url"] == router.url
    assert travel["fallback_pairs"] == 0 and plan.meta["travel_fallback_pairs"] == 0
    assert str(travel["matrix_digest"]).startswith("sha256:")
    legs = [leg for leg in _legs(problem, plan) if leg[0] != leg[1]]
    assert legs
    for a, b, mode, km, minutes in legs:
        seconds, metres = _direct(router.url, a, b)
        assert mode == "drive"
        assert km == pytest.approx(metres / 1000.0, abs=1e-9)
        assert abs(minutes * 60.0 - seconds) <= 0.5  # whole seconds
    # Not the geodesic model's numbers: Monaco's streets wind and climb.
    geo = GeodesicTravelTimes(problem.policy.travel).matrix([legs[0][0], legs[0][1]])
    assert abs(geo.seconds[0, 1] - legs[0][4] * 60.0) > 1.0
    found = verify_plan(problem, plan)
    assert [v for v in found if v.hard] == []
    assert not {v.code for v in found} & {"travel_not_verified", "travel_matrix_changed"}


def test_the_checker_catches_a_leg_that_is_not_the_routers(router: osrm_local.Router) -> None:
    problem = problem_from_dict(_problem_doc(router.url, SITES))
    plan = plan_problem(problem, OPTIONS)
    doc = plan_to_dict(plan)
    route = next(r for r in doc["routes"] if r["visits"])
    route["visits"][0]["travel_minutes"] += 3.0
    found = verify_plan(problem, plan_from_dict(doc))
    assert any(v.code == "travel_minutes" and v.hard for v in found)
    # The same plan with another digest: the router answers otherwise than at planning.
    doc = plan_to_dict(plan)
    doc["meta"]["travel"]["matrix_digest"] = "sha256:0"
    found = verify_plan(problem, plan_from_dict(doc))
    assert [v.code for v in found if v.code.startswith("travel_")] == ["travel_matrix_changed"]
    assert not any(v.hard for v in found)


def test_an_unroutable_site_falls_back_to_the_model_and_is_counted(
    router: osrm_local.Router,
) -> None:
    sites = {**SITES, "sea": SEA}
    problem = problem_from_dict(_problem_doc(router.url, sites))
    plan = plan_problem(problem, OPTIONS)
    n_points = 2 + 2 + len(sites)  # starts, homes, sites
    assert plan.meta["travel_fallback_pairs"] == 2 * (n_points - 1)  # its row and column
    sea = Location(*SEA)
    model = GeodesicTravelTimes(problem.policy.travel)
    for a, b, mode, km, minutes in _legs(problem, plan):
        if sea in (a, b) and a != b:
            m = model.matrix([a, b])
            assert (mode, km) == ("drive", pytest.approx(float(m.km[0, 1])))
            assert abs(minutes * 60.0 - m.seconds[0, 1]) <= 0.5
    assert [v for v in verify_plan(problem, plan) if v.hard] == []
    strict = problem_from_dict(_problem_doc(router.url, sites, unroutable="error"))
    with pytest.raises(TravelTimeError, match="cannot route"):
        plan_problem(strict, OPTIONS)


def test_a_re_plan_of_the_same_problem_queries_nothing(router: osrm_local.Router) -> None:
    problem = problem_from_dict(_problem_doc(router.url, SITES))
    first = plan_problem(problem, OPTIONS)
    again = plan_problem(problem, OPTIONS)
    n = (2 + len(SITES)) ** 2  # distinct points: the engineers start at home
    assert first.meta["travel"]["queried_pairs"] == n  # type: ignore[index]
    assert again.meta["travel"]["queried_pairs"] == 0  # type: ignore[index]
    assert again.meta["travel"]["requests"] == 0  # type: ignore[index]
    assert again.meta["travel"]["cached_pairs"] == n  # type: ignore[index]
    # One more site costs its own row and column only.
    more = problem_from_dict(_problem_doc(router.url, {**SITES, "extra": (43.7420, 7.4300)}))
    third = plan_problem(more, OPTIONS)
    assert third.meta["travel"]["queried_pairs"] == 2 * 9 - 1  # type: ignore[index]


def test_with_a_cache_directory_another_process_re_plans_without_asking(
    router: osrm_local.Router, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CACHE_DIR_ENV, str(tmp_path))
    problem = problem_from_dict(_problem_doc(router.url, SITES))
    first = plan_problem(problem, OPTIONS)
    assert first.meta["travel"]["queried_pairs"] == (2 + len(SITES)) ** 2  # type: ignore[index]
    assert len(list(tmp_path.glob("osrm-*.npz"))) == 1
    clear_cache()  # what a new process starts with
    again = plan_problem(problem, OPTIONS)
    assert again.meta["travel"]["requests"] == 0  # type: ignore[index]
    assert again.meta["travel"]["matrix_digest"] == first.meta["travel"]["matrix_digest"]  # type: ignore[index]


def test_a_quote_asks_only_for_the_new_sites_row_and_column(router: osrm_local.Router) -> None:
    problem = problem_from_dict(_problem_doc(router.url, SITES))
    plan = plan_problem(problem, OPTIONS)
    assert plan.meta["travel"]["requests"] > 0  # type: ignore[index]
    new = problem_from_dict(_problem_doc(router.url, {"extra": (43.7420, 7.4300)})).orders[0]
    book = QuoteBook(problem)  # the problem's own provider, sharing the planner's cache
    assert isinstance(book.travel, OsrmTravelTimes)
    assert book.travel.stats.queried_pairs == 0  # the book's matrix: all cached
    answer = book.quote(new)
    assert answer.options
    assert book.travel.stats.queried_pairs == 2 * 9 - 1  # 8 distinct points and the new one


def test_chunks_of_the_max_table_size_give_the_one_request_matrix(
    router: osrm_local.Router,
) -> None:
    rng = np.random.default_rng(7)
    lat0, lon0, lat1, lon1 = osrm_local.MONACO_BBOX
    pts = [
        Location(float(rng.uniform(lat0, lat1)), float(rng.uniform(lon0, lon1))) for _ in range(150)
    ]
    whole = OsrmTravelTimes(TravelParams(provider="osrm", url=router.url), cache=False)
    small = OsrmTravelTimes(
        TravelParams(provider="osrm", url=router.url, max_table_size=7), cache=False, workers=4
    )
    a, b = whole.matrix(pts[:60]), small.matrix(pts[:60])
    assert whole.stats.requests == 1 and small.stats.requests == 9 * 9
    assert np.array_equal(a.seconds, b.seconds) and np.array_equal(a.km, b.km)
    # Past the server's limit the router refuses, and says why.
    too_big = OsrmTravelTimes(
        TravelParams(provider="osrm", url=router.url, max_table_size=200), cache=False
    )
    with pytest.raises(TravelTimeError, match="TooBig"):
        too_big.matrix(pts)  # 150 x 150 to a server of 100


def test_one_point_and_none_are_matrices_too(router: osrm_local.Router) -> None:
    for cache in (False, True):
        provider = OsrmTravelTimes(TravelParams(provider="osrm", url=router.url), cache=cache)
        assert provider.matrix([]).seconds.shape == (0, 0)
        assert provider.matrix([Location(43.73, 7.42)]).seconds.tolist() == [[0]]


def test_the_provider_is_in_the_input_hash_and_survives_the_codec(
    router: osrm_local.Router,
) -> None:
    doc = _problem_doc(router.url, SITES)
    problem = problem_from_dict(doc)
    assert problem.policy.travel.provider == "osrm"
    assert problem_from_dict(problem_to_dict(problem)).policy.travel == problem.policy.travel
    geodesic = copy.deepcopy(doc)
    del geodesic["policy"]["travel"]
    assert input_hash(problem) != input_hash(problem_from_dict(geodesic))
    other = replace(problem.policy.travel, url="http://127.0.0.1:1")
    assert input_hash(problem) != input_hash(
        replace(problem, policy=replace(problem.policy, travel=other))
    )


def test_a_stopped_router_is_exit_3_and_check_says_travel_was_not_verified(
    router: osrm_local.Router, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    problem_path, plan_path = tmp_path / "problem.json", tmp_path / "plan.json"
    doc = _problem_doc(router.url, SITES)
    problem_path.write_text(json.dumps(doc))
    assert main(["plan", str(problem_path), "--solution-limit", "30", "--out", str(plan_path)]) == 0
    assert main(["check", str(problem_path), str(plan_path)]) == 0
    capsys.readouterr()
    # The same plan checked while its router is down (nothing listens on the port).
    down = f"http://127.0.0.1:{osrm_local.free_port()}"
    doc["policy"]["travel"]["url"] = down
    problem_path.write_text(json.dumps(doc))
    assert main(["check", str(problem_path), str(plan_path)]) == 0
    out = capsys.readouterr().out
    assert "WARN  travel_not_verified: travel was not re-verified" in out
    # Planning against it: the documented error, one line, no traceback.
    assert main(["plan", str(problem_path), "--solution-limit", "30"]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: travel provider OSRM at {down} failed")
    assert "Traceback" not in err and err.count("\n") == 0


# ----------------------------------------------------------------- stub server (fast)


@pytest.mark.parametrize(
    "travel,path",
    [
        ({"provider": "valhalla"}, "policy.travel.provider"),
        ({"provider": "osrm"}, "policy.travel.url"),
        ({"provider": "osrm", "url": "osrm.local:5000"}, "policy.travel.url"),
        (
            {"provider": "osrm", "url": "http://x", "unroutable": "ignore"},
            "policy.travel.unroutable",
        ),
        (
            {"provider": "osrm", "url": "http://x", "max_table_size": 0},
            "policy.travel.max_table_size",
        ),
    ],
)
def test_the_reader_refuses_a_bad_provider_naming_the_member(travel: dict, path: str) -> None:
    from dispatcher.errors import InputError

    doc = _problem_doc("http://unused", SITES)
    doc["policy"]["travel"] = travel
    with pytest.raises(InputError) as exc:
        problem_from_dict(doc)
    assert str(exc.value).startswith(path)


class _Stub(http.server.BaseHTTPRequestHandler):
    answers: list[tuple[int, dict]] = []
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).seen.append(self.path)
        status, body = type(self).answers.pop(0) if type(self).answers else (500, {})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[str]:
    _Stub.answers, _Stub.seen = [], []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _ok(durations: list, distances: list) -> tuple[int, dict]:
    way = {"distance": 3.0}
    return 200, {
        "code": "Ok", "durations": durations, "distances": distances,
        "sources": [way] * len(durations), "destinations": [way] * len(durations[0]),
    }  # fmt: skip


def test_a_null_pair_falls_back_and_a_server_error_is_retried(stub: str) -> None:
    a, b = Location(43.73, 7.42), Location(43.74, 7.43)
    _Stub.answers = [(503, {}), _ok([[0, None], [120.0, 0]], [[0, None], [1500.0, 0]])]
    provider = OsrmTravelTimes(TravelParams(provider="osrm", url=stub), cache=False)
    m = provider.matrix([a, b])
    assert len(_Stub.seen) == 2  # one retry
    assert (m.seconds[1, 0], m.km[1, 0]) == (120, 1.5)
    model = GeodesicTravelTimes(provider.params).matrix([a, b])
    assert m.seconds[0, 1] == model.seconds[0, 1] and provider.stats.fallback_pairs == 1


def test_a_road_longer_than_the_drive_limit_is_flown(stub: str) -> None:
    a, b = Location(43.73, 7.42), Location(43.74, 7.43)
    _Stub.answers = [_ok([[0, 9000.0], [9000.0, 0]], [[0, 700_000.0], [9.0, 0]])]
    params = TravelParams(provider="osrm", url=stub, max_drive_km=600)
    m = OsrmTravelTimes(params, cache=False).matrix([a, b])
    assert bool(m.flight[0, 1]) and not bool(m.flight[1, 0])
    assert m.seconds[0, 1] == pytest.approx(3.5 * 3600, abs=10)  # the model's flight
    assert m.km[1, 0] == pytest.approx(0.009)


def test_a_router_that_keeps_failing_is_a_travel_time_error(stub: str) -> None:
    client = OsrmClient(stub, retries=2)
    with pytest.raises(TravelTimeError, match="failed after 3 attempt"):
        client.table([(43.73, 7.42)], [(43.73, 7.42)])


def test_answers_of_a_failed_query_are_not_kept_as_cached(stub: str) -> None:
    a, b, c = Location(43.73, 7.42), Location(43.74, 7.43), Location(43.745, 7.435)
    provider = OsrmTravelTimes(TravelParams(provider="osrm", url=stub), retries=0)
    _Stub.answers = [_ok([[0, 60.0], [60.0, 0]], [[0, 900.0], [900.0, 0]])]
    provider.matrix([a, b])
    # c's row comes, its column fails: nothing of it may stay in the cache.
    _Stub.answers = [_ok([[60.0, 60.0, 0]], [[900.0, 900.0, 0]]), (500, {})]
    with pytest.raises(TravelTimeError):
        provider.matrix([a, b, c])
    seen = len(_Stub.seen)
    _Stub.answers = [_ok([[0, 60.0], [60.0, 0]], [[0, 900.0], [900.0, 0]])]
    m = provider.matrix([a, b])
    assert len(_Stub.seen) == seen + 1 and provider.stats.fallback_pairs == 0
    assert m.seconds[0, 1] == 60
