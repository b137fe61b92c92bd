"""A member the contract does not define is refused the same way everywhere: the CLI exits
2 naming it, the API answers 422 naming it, both with the closest known name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
from api_helpers import engineer_doc, order_doc, unique

SMALL = (
    Path(__file__).resolve().parents[2] / "fixtures" / "small" / "two_engineers_four_orders.json"
)


def _cli_plan(problem: dict, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(problem))
    return subprocess.run(
        [sys.executable, "-c", "import sys; from dispatcher.cli import main; sys.exit(main())"]
        + ["plan", str(path), "--solution-limit", "1", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_cli_refuses_a_misspelt_order_field_with_exit_2(tmp_path: Path) -> None:
    problem = json.loads(SMALL.read_text())
    problem["orders"][1]["priorty"] = "critical"
    done = _cli_plan(problem, tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: orders[1].priorty: unknown field (did you mean priority?)")


def test_the_cli_refuses_a_misspelt_policy_member(tmp_path: Path) -> None:
    problem = json.loads(SMALL.read_text())
    problem["policy"] = {"travel": {"drive_kph": 80}}
    done = _cli_plan(problem, tmp_path)
    assert done.returncode == 2
    assert "policy.travel.drive_kph: unknown field (did you mean drive_kmh?)" in done.stderr


def test_the_api_refuses_a_misspelt_order_field_naming_it(ticketing: httpx.Client) -> None:
    doc = order_doc(unique("UNK"))
    doc["priorty"] = "critical"
    r = ticketing.post("/v1/orders", json=doc)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["path"] == "priorty"
    assert error["message"].startswith("unknown field (did you mean priority?); expected one of")
    assert ticketing.get(f"/v1/orders/{doc['id']}").status_code == 404  # nothing stored


def test_the_api_names_a_nested_unknown_member(coordinator: httpx.Client) -> None:
    doc = engineer_doc()
    doc["home"] = {"lat": 1.3, "lon": 103.8, "altitude": 12}
    r = coordinator.put(f"/v1/engineers/{unique('E')}", json=doc)
    assert r.status_code == 422, r.text
    error = r.json()["errors"][0]
    assert error["path"] == "home.altitude"
    assert error["message"] == "unknown field; expected one of lat, lon"
