"""The API load benchmarks' ``--during-plan`` (bench/api_load.py, bench/api_read.py): end to
end on SQLite with a tiny plan job, which must be ``running`` before and after the
measurement, and the orders taken in all stored once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.api_load import plan_size

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, f"bench/{script}", "--backend", "sqlite", "--workers", "1", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    row: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def test_plan_size_reads_orders_x_engineers() -> None:
    assert plan_size("1000x100") == (1000, 100)


def test_intake_during_a_plan_job_measures_while_the_job_runs() -> None:
    row = _run(
        "api_load.py", "--seconds", "1", "--concurrency", "2", "--during-plan",
        "--plan-size", "30x3",
    )  # fmt: skip
    job = row["plan_job"]
    assert isinstance(job, dict)
    assert (job["state"], job["state_after"], job["orders"], job["engineers"]) == (
        "running", "running", 30, 3,
    )  # fmt: skip
    assert row["lost"] == 0 and row["duplicates"] == 0 and row["requests"] > 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_reads_during_a_plan_job_measure_while_the_job_runs() -> None:
    row = _run(
        "api_read.py", "--orders", "100", "--seconds", "1", "--load", "1", "--during-plan",
        "--plan-size", "30x3",
    )  # fmt: skip
    job = row["plan_job"]
    assert isinstance(job, dict)
    assert (job["state"], job["state_after"]) == ("running", "running")
    assert row["non_2xx"] == 0 and row["orders"] == 100
