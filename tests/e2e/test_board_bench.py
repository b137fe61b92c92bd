"""Smoke test of bench/board_render.py: a tiny problem, one page load, numbers come out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_board_render_bench_smoke(chromium: str) -> None:
    # A process of its own: the bench drives Playwright itself (one sync API per thread).
    done = subprocess.run(
        [
            sys.executable, "bench/board_render.py", "--orders", "12", "--engineers", "3",
            "--time-limit", "20", "--solution-limit", "20", "--repeats", "1",
            "--chromium", chromium,
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["orders"] == 12 and line["engineers"] == 3 and line["visits"] > 0
    assert len(line["first_render_ms"]) == 1 and line["first_render_ms"][0] > 0
    assert len(line["plan_refresh_ms"]) == 1 and line["plan_refresh_ms"][0] > 0
