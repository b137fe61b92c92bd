"""Board render benchmark (issue 23): how long the dispatch board takes in headless Chromium.

A generated problem (``--orders`` x ``--engineers``, planned from now) is loaded into a
fresh ``dispatch serve --demo`` on SQLite; a plan of ``--time-limit`` seconds is published
and a second (incremental) plan job is finished. Then Chromium (``/usr/bin/chromium``,
driven by Playwright) opens ``/board#key=…`` ``--repeats`` times and reads the page's own
performance marks:

- ``board:first-render``: navigation start to the first full render (API key checked,
  orders, engineers, the published plan and its problem fetched, KPIs, timeline, map and
  orders list drawn);
- ``plan:refresh``: the second job shown as a preview (its problem fetched, everything
  redrawn, the changes listed), as when a plan job the board follows finishes.

Bars: first render at most 1.5 s, plan refresh at most 0.5 s at 1,000 orders x 100
engineers. One JSON line on stdout; numbers in docs/api.md, "Board".

    .venv/bin/python bench/board_render.py --orders 1000 --engineers 100 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from dispatcher.generate import generate_problem

ROOT = Path(__file__).resolve().parents[1]
BAR_FIRST_RENDER_MS = 1500.0
BAR_REFRESH_MS = 500.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_job(client: httpx.Client, job_id: str, timeout_s: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/plans/{job_id}").json()
        if job["state"] not in ("queued", "running"):
            if job["state"] != "done":
                raise RuntimeError(f"plan job {job_id} ended {job['state']}: {job.get('error')}")
            return job
        time.sleep(0.5)
    raise RuntimeError(f"plan job {job_id} not done in {timeout_s} s")


def _start_server(problem_file: Path, db: Path, port: int, log: Path) -> tuple[Any, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env.update({"DISPATCH_DATABASE_URL": f"sqlite:///{db}", "DISPATCH_LOG_LEVEL": "WARNING"})
    out = open(log, "w+b")  # noqa: SIM115 - closed by the caller through the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "api", "serve", "--port", str(port), "--demo", str(problem_file)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 300
    key = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text(errors='replace')[-2000:]}")
        text = log.read_text(errors="replace")
        match = re.search(r"admin API key \(shown once\): (\S+)", text)
        if match:
            key = match.group(1)
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return proc, key
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server not ready")


def _measure(
    base: str, key: str, refresh_job: str, repeats: int, chromium: str
) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    first: list[float] = []
    refresh: list[float] = []
    outside: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            page = context.new_page()
            page.on(
                "request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None
            )
            page.goto(f"{base}/board#key={key}")
            page.wait_for_selector("body[data-ready='1']", timeout=120_000)
            first.append(
                page.evaluate("performance.getEntriesByName('board:first-render')[0].duration")
            )
            refresh.append(
                page.evaluate(
                    """async (id) => {
                        const r = await window.board.state.api.get(`/v1/plans/${id}`);
                        await window.board.showJob(r.data, true);
                        return performance.getEntriesByName('plan:refresh').at(-1).duration;
                    }""",
                    refresh_job,
                )
            )
            context.close()
        browser.close()
    if outside:
        raise RuntimeError(f"the board fetched outside the server: {outside[:5]}")
    return {"first_render_ms": first, "plan_refresh_ms": refresh}


def run(args: argparse.Namespace) -> dict[str, Any]:
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    problem = generate_problem(args.orders, args.engineers, args.seed, planning_start=start)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="board-bench-") as tmp:
        problem_file = Path(tmp) / "problem.json"
        problem_file.write_text(json.dumps(problem))
        port = _free_port()
        proc, key = _start_server(problem_file, Path(tmp) / "board.db", port, Path(tmp) / "log")
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
            ) as c:
                body: dict[str, Any] = {
                    "planning_start": start.isoformat(),
                    "time_limit_s": args.time_limit,
                    "horizon_hours": problem["horizon_hours"],
                }
                if args.solution_limit:
                    body["solution_limit"] = args.solution_limit
                first_job = _wait_job(c, c.post("/v1/plans", json=body).json()["id"])
                r = c.post(f"/v1/plans/{first_job['id']}/publish", json={"force": True})
                r.raise_for_status()
                second = _wait_job(c, c.post("/v1/plans", json=body).json()["id"])
            numbers = _measure(base, key, second["id"], args.repeats, args.chromium)
        finally:
            proc.terminate()
            proc.wait(30)
    result: dict[str, Any] = {
        "bench": "board_render",
        "at": start.isoformat(),
        "orders": args.orders,
        "engineers": args.engineers,
        "visits": sum(len(r["visits"]) for r in first_job["plan"]["routes"]),
        "repeats": args.repeats,
        **{k: [round(v, 1) for v in vs] for k, vs in numbers.items()},
        "first_render_median_ms": round(statistics.median(numbers["first_render_ms"]), 1),
        "plan_refresh_median_ms": round(statistics.median(numbers["plan_refresh_ms"]), 1),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    result["bars_met"] = (
        result["first_render_median_ms"] <= BAR_FIRST_RENDER_MS
        and result["plan_refresh_median_ms"] <= BAR_REFRESH_MS
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=1000)
    p.add_argument("--engineers", type=int, default=100)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=20.0, help="seconds per plan job")
    p.add_argument("--solution-limit", type=int, default=None)
    p.add_argument("--repeats", type=int, default=5, help="page loads measured")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    args = p.parse_args(argv)
    print(json.dumps(run(args)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
