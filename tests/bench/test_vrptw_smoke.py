"""Smoke test of the VRPTW benchmark harness (``bench/vrptw.py``) on Solomon C101."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest

from bench import vrptw
from solver.routing import SearchParams, solve

BENCH_DIR = vrptw.default_bench_dir()
C101 = BENCH_DIR / "solomon" / "C101.txt"

pytestmark = pytest.mark.skipif(
    not C101.is_file(),
    reason=f"benchmark data absent: {C101} (set DISPATCH_BENCH_DIR to the shared bench folder)",
)


def test_parse_c101() -> None:
    inst = vrptw.parse_instance(C101)
    assert inst.name == "C101"
    assert inst.cls == "C1"
    assert (inst.n_vehicles, inst.capacity, inst.n_nodes) == (25, 200, 101)
    assert (inst.ready[0], inst.due[0]) == (0, 1236)
    assert (inst.x[1], inst.y[1], inst.demand[1], inst.service[1]) == (45, 68, 10, 90)
    matrix = vrptw.dimacs_matrix(inst)
    assert matrix.shape == (101, 101)
    assert matrix[0, 1] == 186  # floor(10 * sqrt(5**2 + 18**2)) = floor(186.8...)
    bks = vrptw.parse_bks(BENCH_DIR / "bks.csv")
    assert bks["C101"].objective == 8273


def test_solve_and_verify_c101() -> None:
    inst = vrptw.parse_instance(C101)
    matrix = vrptw.dimacs_matrix(inst)
    data = vrptw.build_routing_input(inst, matrix)
    # Bounded by solution count, not wall time, so the result is deterministic.
    result = solve(data, SearchParams(time_limit_s=60, solution_limit=50))
    assert result.status != "no_solution"
    assert result.dropped == []
    check = vrptw.verify(inst, result.routes, matrix)
    assert check.feasible, check.errors
    assert check.cost == result.objective
    assert check.vehicles <= inst.n_vehicles


def test_verify_catches_violations() -> None:
    inst = vrptw.parse_instance(C101)
    matrix = vrptw.dimacs_matrix(inst)
    everyone = list(range(1, inst.n_nodes))
    check = vrptw.verify(inst, [everyone], matrix)  # one truck: capacity and windows break
    assert not check.feasible
    assert any("capacity" in e for e in check.errors)
    assert any("due" in e for e in check.errors)
    assert not vrptw.verify(inst, [[1, 1]], matrix).feasible  # twice, and 99 unserved


def test_register_nests_under_bench() -> None:
    parser = argparse.ArgumentParser(prog="dispatch")
    top = parser.add_subparsers(dest="command")
    nested = vrptw.register(top)
    assert vrptw.bench_subparsers(top) is nested  # a later 'bench field' lands here too
    args = parser.parse_args(["bench", "vrptw", "--instances", "C101", "--peers", "none"])
    assert callable(args.func)
    assert (args.set, args.instances, args.peers) == ("solomon", "C101", "none")


def test_main_writes_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = vrptw.main(
        [
            "--instances",
            "C101",
            "--time-limit",
            "0.5",
            "--peers",
            "pyvrp,vroom",
            "--out",
            str(tmp_path),
            "--bench-dir",
            str(BENCH_DIR),
            "--quiet",
        ]
    )
    assert code == 0
    assert "C101" in capsys.readouterr().out
    (csv_path,) = [p for p in tmp_path.glob("vrptw-solomon-*.csv") if "summary" not in p.name]
    (json_path,) = tmp_path.glob("vrptw-solomon-*.json")
    (png_path,) = tmp_path.glob("vrptw-solomon-*.png")
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["solver"] for r in rows] == ["ours", "pyvrp", "vroom"]
    assert all(r["instance"] == "C101" and r["class"] == "C1" for r in rows)
    ours = rows[0]
    assert ours["feasible"] == "True"
    assert float(ours["cost"]) >= 827.3 and float(ours["gap_pct"]) >= 0
    doc = json.loads(json_path.read_text())
    assert doc["meta"]["seeds"]["pyvrp"] == vrptw.DEFAULT_PYVRP_SEED
    assert doc["meta"]["machine"]["versions"]["ortools"]
    assert set(doc["summary"]) == {"C1", "all"}
    assert doc["summary"]["all"]["ours_avg_gap_pct"] is not None
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Equal resources by default: ours is one process like the peers, and says so.
    assert doc["meta"]["ours_search"]["workers"] == 1
    assert doc["meta"]["ours_search"]["parts"] == 1
    assert doc["meta"]["cores"] == {"ours": 1, "pyvrp": 1, "vroom": 1}


def test_two_core_mode_is_its_own_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--instances", "C101", "--time-limit", "0.5", "--peers", "ours2", "--quiet"]
    code = vrptw.main([*args, "--out", str(tmp_path), "--bench-dir", str(BENCH_DIR)])
    assert code == 0
    out = capsys.readouterr().out
    assert "ours[1c] cost" in out and "ours2[2c] cost" in out
    assert "ours[1c]/ours2[2c]" in out
    doc = json.loads(next(tmp_path.glob("vrptw-solomon-*.json")).read_text())
    assert [r["solver"] for r in doc["rows"]] == ["ours", "ours2"]
    assert doc["meta"]["cores"] == {"ours": 1, "ours2": 2}
    assert all(r["feasible"] for r in doc["rows"])


def test_a_folder_of_ones_own_instances(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Instances outside the bundled sets: a folder path as ``--set``, no BKS for them, the
    ratio to the peer still reported; an unknown set name is refused naming the option."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "X7.txt").write_text(C101.read_text().replace("C101", "X7", 1))
    out = tmp_path / "out"
    args = ["--set", str(mine), "--time-limit", "0.5", "--peers", "pyvrp", "--quiet"]
    assert vrptw.main([*args, "--out", str(out), "--bench-dir", str(BENCH_DIR)]) == 0
    doc = json.loads(next(out.glob("vrptw-mine-*.json")).read_text())
    assert [(r["instance"], r["solver"]) for r in doc["rows"]] == [("X7", "ours"), ("X7", "pyvrp")]
    assert all(r["feasible"] and r["gap_pct"] is None for r in doc["rows"])
    assert doc["summary"]["all"]["ours_over_pyvrp"] is not None
    assert vrptw.set_folder(BENCH_DIR, "gh400") == BENCH_DIR / "homberger" / "400"
    with pytest.raises(SystemExit) as exc:
        vrptw.main(["--set", "nowhere", "--peers", "none"])
    assert exc.value.code == 2
    assert "--set" in capsys.readouterr().err
