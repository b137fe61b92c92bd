"""The VRPTW harness's entry point on an instance the test writes itself, so the smoke run
does not depend on the shared benchmark data being next to the checkout (a clone elsewhere
skips ``test_vrptw_smoke.py``)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bench import vrptw

# Depot in the middle, 12 customers on a ring of radius 20, wide windows: 3 trucks of 40.
CUSTOMERS = [
    (50 + dx, 50 + dy)
    for dx, dy in [(20, 0), (17, 10), (10, 17), (0, 20), (-10, 17), (-17, 10), (-20, 0),
                   (-17, -10), (-10, -17), (0, -20), (10, -17), (17, -10)]
]  # fmt: skip


def _write_instance(folder: Path) -> Path:
    rows = ["    0      50         50          0          0       1000          0"]
    for k, (x, y) in enumerate(CUSTOMERS, start=1):
        rows.append(
            f"  {k:3d}      {x:3d}        {y:3d}         10          0        900         10"
        )
    text = "\n".join(
        ["C199", "", "VEHICLE", "NUMBER     CAPACITY", "   3          40", "", "CUSTOMER",
         "CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME", "",
         *rows, ""]
    )  # fmt: skip
    (folder / "solomon").mkdir(parents=True)
    path = folder / "solomon" / "C199.txt"
    path.write_text(text)
    return path


def test_the_entry_point_runs_the_three_solvers_on_a_written_instance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inst = vrptw.parse_instance(_write_instance(tmp_path / "bench"))
    assert (inst.n_vehicles, inst.capacity, inst.n_nodes) == (3, 40, 13)
    out = tmp_path / "out"
    args = ["--instances", "C199", "--time-limit", "0.5", "--peers", "pyvrp,vroom"]
    args += ["--bench-dir", str(tmp_path / "bench"), "--out", str(out), "--quiet"]
    assert vrptw.main(args) == 0
    assert "C199" in capsys.readouterr().out
    (csv_path,) = [p for p in out.glob("vrptw-solomon-*.csv") if "summary" not in p.name]
    with csv_path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["solver"] for r in rows] == ["ours", "pyvrp", "vroom"]
    assert all(r["feasible"] == "True" for r in rows)
    # 12 orders of 10 on trucks of 40: at least three routes, and each one at least the
    # out-and-back to its farthest customer (2 x floor(10 x 20)).
    assert all(int(r["vehicles"]) == 3 for r in rows)
    assert all(float(r["cost"]) >= 3 * 40.0 for r in rows)
    (png_path,) = out.glob("vrptw-solomon-*.png")
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_missing_instance_is_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_instance(tmp_path)
    assert vrptw.main(["--instances", "R101", "--bench-dir", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "R101" in err[0]
