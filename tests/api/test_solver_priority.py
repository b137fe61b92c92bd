"""Solver processes run nicer than the API (api.jobs.worker.lower_priority), so that a plan
job takes the CPU the API leaves; ``DISPATCH_SOLVER_NICENESS`` sets how much (0: none)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import os; from api.jobs.worker import lower_priority; "
    "before = os.nice(0); lower_priority(); print(os.nice(0) - before)"
)


def _raised_by(env: dict[str, str]) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip())


@pytest.mark.skipif(os.nice(0) > 0, reason="this process is too nice already to see a change")
def test_a_solver_process_is_nineteen_nicer_by_default_and_as_told() -> None:
    assert _raised_by({}) == 19
    assert _raised_by({"DISPATCH_SOLVER_NICENESS": "3"}) == 3
    assert _raised_by({"DISPATCH_SOLVER_NICENESS": "0"}) == 0
