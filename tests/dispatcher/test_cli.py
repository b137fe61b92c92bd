"""The dispatch CLI: exit codes, one-line errors, plan and check files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dispatcher.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SMALL = FIXTURES / "small" / "two_engineers_four_orders.json"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """The real console entry point in a subprocess: what a user sees."""
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from dispatcher.cli import main; sys.exit(main())",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plan_prints_summary_and_writes_a_plan_that_checks_clean(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    done = _run("plan", str(SMALL), "--solution-limit", "50", "--out", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    assert "Plan status: feasible" in done.stdout and "E1" in done.stdout
    plan = json.loads(out.read_text())
    assert plan["kpis"]["on_time"] == 4 and plan["meta"]["solver"] == "ortools-routing"
    checked = _run("check", str(SMALL), str(out))
    assert checked.returncode == 0 and "0 violation(s)" in checked.stdout


def test_check_exits_1_and_names_the_violation_of_a_hand_edited_plan(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    assert main(["plan", str(SMALL), "--solution-limit", "50", "--out", str(out), "--quiet"]) == 0
    plan = json.loads(out.read_text())
    # Hand the electrical order C to the mechanical engineer E1.
    routes = {r["engineer_id"]: r for r in plan["routes"]}
    routes["E1"]["visits"].append(routes["E2"]["visits"].pop(0))
    out.write_text(json.dumps(plan))
    done = _run("check", str(SMALL), str(out))
    assert done.returncode == 1
    assert "skill_missing" in done.stdout


@pytest.mark.parametrize(
    "edit,expected",
    [
        (
            lambda d: d["orders"][0]["site"].__setitem__("lat", 123),
            "orders[0].site.lat: expected a number in [-90, 90], got 123",
        ),
        (
            lambda d: d["engineers"][1].__setitem__("skills", "electrical"),
            "engineers[1].skills: expected a list",
        ),
        (
            lambda d: d.__setitem__("planning_start", "2026-11-23 08:00"),
            "planning_start: expected a datetime with a UTC offset",
        ),
    ],
)
def test_bad_problem_file_exits_2_with_one_line_naming_the_field(
    tmp_path: Path, edit, expected: str
) -> None:
    doc = json.loads(SMALL.read_text())
    edit(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    done = _run("plan", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr


def test_missing_and_malformed_files_exit_2(tmp_path: Path) -> None:
    missing = _run("plan", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "expected an existing file" in missing.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    done = _run("plan", str(broken))
    assert done.returncode == 2 and "expected JSON" in done.stderr and "line 1" in done.stderr


def test_bad_option_exits_2_with_one_line() -> None:
    done = _run("plan", str(SMALL), "--time-limit", "-1")
    assert done.returncode == 2 and "--time-limit" in done.stderr and "Traceback" not in done.stderr


def test_generate_writes_a_loadable_problem_of_the_requested_size(tmp_path: Path) -> None:
    out = tmp_path / "g.json"
    assert (
        main(["generate", "--orders", "25", "--engineers", "4", "--seed", "3", "--out", str(out)])
        == 0
    )
    doc = json.loads(out.read_text())
    assert len(doc["orders"]) == 25 and len(doc["engineers"]) == 4
    assert main(["plan", str(out), "--solution-limit", "20", "--quiet"]) == 0
