"""The dispatch CLI: exit codes, one-line errors, plan and check files."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
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
    # --time-limit bounds the whole command; a solution-limited run keeps its search limit.
    assert plan["meta"]["limit_covers"] == "command"
    assert plan["meta"]["solve_limit_seconds"] == plan["meta"]["time_limit_s"]
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
        # These crashed with a traceback or were accepted before (2026-12-02 input sweep).
        (lambda d: d.__setitem__("planning_start", "9999-12-31T23:00:00Z"), "planning_start:"),
        (lambda d: d.pop("engineers"), "engineers: expected a list, got nothing"),
        (
            lambda d: d["orders"][0].__setitem__("excluded_engineers", ["E9"]),
            "orders[0].excluded_engineers[0]: expected the id of an engineer in the roster",
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


def _one_line_exit_2(done: subprocess.CompletedProcess[str], expected: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.strip().count("\n") == 0, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "out,expected",
    [
        ("/nonexistent_dir/p.json", "--out: expected a file in an existing directory"),
        ("{tmp}", "--out: expected a file path, got the directory"),
    ],
)
def test_bad_out_path_exits_2_before_solving(tmp_path: Path, out: str, expected: str) -> None:
    # Checked before the problem is even read: a missing problem file is not what is reported.
    done = _run("plan", str(tmp_path / "missing.json"), "--out", out.format(tmp=tmp_path))
    _one_line_exit_2(done, expected)
    done = _run("plan", str(SMALL), "--solution-limit", "5", "--out", out.format(tmp=tmp_path))
    _one_line_exit_2(done, expected)


def test_generate_to_a_missing_directory_exits_2() -> None:
    done = _run("generate", "--orders", "5", "--engineers", "2", "--out", "/nonexistent_dir/x.json")
    _one_line_exit_2(done, "--out: expected a file in an existing directory")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_failed_write_of_out_exits_2_with_one_line() -> None:
    done = _run("generate", "--orders", "5", "--engineers", "2", "--out", "/dev/full")
    _one_line_exit_2(done, "--out: could not write /dev/full")


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ["--orders", "1000000000", "--engineers", "3"],
            "--orders: expected an integer in [1, 100000]",
        ),
        (
            ["--orders", "3", "--engineers", "10001"],
            "--engineers: expected an integer in [1, 10000]",
        ),
        (["--orders", "0", "--engineers", "3"], "--orders: expected an integer in [1, 100000]"),
    ],
)
def test_generate_sizes_are_bounded(args: list[str], expected: str) -> None:
    _one_line_exit_2(_run("generate", *args), expected)


def test_summary_without_a_plan_says_none_was_found() -> None:
    from dispatcher.cli import format_summary
    from dispatcher.codec import load_problem
    from dispatcher.domain import Kpis, Plan

    kpis = Kpis(4, 0, 0, 0, 4, 0.0, 0.0, 0.0, 0.0, 0, 0)
    meta = {"solver": "ortools-routing", "solve_seconds": 10.0, "time_limit_s": 10.0}
    plan = Plan("no_solution", kpis, (), (), (), {**meta, "first_solution_seconds": None})
    text = format_summary(load_problem(SMALL), plan)
    assert "no plan found within the time limit" in text and "None s" not in text


def _walk(parser: argparse.ArgumentParser, prog: str) -> Iterator[tuple[str, argparse.Action]]:
    """Every action of ``parser`` and of its sub-parsers, nested, with the command it is in."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            seen: set[int] = set()
            for name, child in action.choices.items():
                if id(child) in seen:  # an alias of a sub-command already walked
                    continue
                seen.add(id(child))
                yield f"{prog} {name}", argparse.Action([], name, help=helps.get(name))
                yield from _walk(child, f"{prog} {name}")
        else:
            yield prog, action


def test_every_option_of_every_sub_command_has_help() -> None:
    """`dispatch … --help` explains each argument: every sub-command, option and positional
    of the whole tree (plugged-in commands too) except -h has a non-empty help. Internal
    options hidden on purpose say so with ``help=argparse.SUPPRESS``."""
    from dispatcher.cli import build_parser

    found = list(_walk(build_parser(), "dispatch"))
    commands = {prog for prog, _ in found}
    assert {"dispatch generate", "dispatch check", "dispatch serve", "dispatch bench"} <= commands
    missing = [
        f"{prog}: {'/'.join(action.option_strings) or action.dest}"
        for prog, action in found
        if not isinstance(action, argparse._HelpAction)
        and not (isinstance(action.help, str) and action.help.strip())
    ]
    assert not missing, "no help text:\n" + "\n".join(missing)


def test_plan_decomposes_on_request_and_names_an_unreachable_cluster(tmp_path: Path) -> None:
    """`--parts 2` plans in two parts (the same problem, a plan that checks clean); a cluster
    nobody answers at is one line naming the option's field, exit 2, no traceback."""
    out = tmp_path / "plan.json"
    done = _run(
        "plan", str(SMALL), "--parts", "2", "--solution-limit", "30", "--out", str(out), "--quiet"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text())["kpis"]["on_time"] == 4
    assert _run("check", str(SMALL), str(out)).returncode == 0
    bad = _run("plan", str(SMALL), "--cluster", "127.0.0.1:1", "--solution-limit", "5", "--quiet")
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "cluster" in bad.stderr
    assert "Traceback" not in bad.stderr
    neg = _run("plan", str(SMALL), "--parts", "-1")
    assert neg.returncode == 2 and "--parts" in neg.stderr
