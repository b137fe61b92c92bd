"""The re-planning benchmark's entry point, end to end on a tiny problem."""

from __future__ import annotations

import json
from pathlib import Path

from dispatcher.cli import main


def test_bench_replan_runs_both_events_and_writes_its_rows(tmp_path: Path) -> None:
    code = main(
        [
            "bench", "replan", "--sizes", "20x4", "--seeds", "3", "--publish-limit", "1",
            "--ticket-limit", "1", "--sick-limit", "1", "--full-limit", "1",
            "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0
    rows = json.loads((tmp_path / "replan.json").read_text())["rows"]
    assert [r["event"] for r in rows] == ["new_ticket", "sick_engineer"]
    sick = rows[1]
    assert sick["sick_visits"] >= 1
    assert sick["sick_visits_explained"] == sick["sick_visits"]
    assert sick["others_reassigned"] == 0  # incremental: the others stay with their engineers
    assert all(r["objective"] and r["full_objective"] for r in rows)
