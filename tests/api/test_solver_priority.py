"""Solver processes run nicer than the API (api.jobs.worker.lower_priority), so that a plan
job takes the CPU the API leaves; ``DISPATCH_SOLVER_NICENESS`` sets how much (0: none)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import os; from api.jobs.worker import lower_priority; "
    "before = os.nice(0); lower_priority(); print(before, os.nice(0))"
)


def _niceness(env: dict[str, str]) -> tuple[int, int]:
    """The probe's niceness before and after ``lower_priority``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    before, after = done.stdout.split()
    return int(before), int(after)


def test_a_solver_process_is_nineteen_nicer_by_default_and_as_told() -> None:
    for env, increment in (({}, 19), ({"DISPATCH_SOLVER_NICENESS": "3"}, 3)):
        before, after = _niceness(env)
        assert after == min(19, before + increment)  # Linux caps niceness at 19
    before, after = _niceness({"DISPATCH_SOLVER_NICENESS": "0"})
    assert after == before
