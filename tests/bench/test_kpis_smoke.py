"""The KPI benchmark (``bench/kpis.py``): its loader's history gives the outcomes it promises,
and ``dispatch bench kpis`` runs end to end on SQLite and writes its rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from api.persistence.db import create_db_engine, create_session_factory
from api.services.kpis import Window, compute_kpis
from bench import kpis
from dispatcher.cli import main


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (kpis.percentile(values, 0.5), kpis.percentile(values, 0.95)) == (50.0, 95.0)
    assert kpis.percentile([], 0.95) == 0.0


def test_the_loaded_history_has_the_outcomes_of_its_recipe(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kpi.db'}"
    kpis.bulk_load(url, 200)
    engine = create_db_engine(url)
    try:
        with create_session_factory(engine)() as session:
            span = Window(kpis.START, kpis.START + kpis.SPAN)
            report = compute_kpis(session, span, "week", datetime.now(UTC))
    finally:
        engine.dispose()
    total = report["total"]
    # Order i: i % 20 == 0 cancelled, == 1 open (deadline long past), == 2 done unrecorded.
    assert (total["orders"], total["cancelled"], total["overdue"], total["unrecorded"]) == (
        200, 10, 10, 10,
    )  # fmt: skip
    assert total["on_time"] + total["late"] == 170 and total["late"] > 0
    assert total["eta_error_minutes"]["n"] == 170
    assert sum(g["orders"] for g in report["groups"]) == 200


def test_bench_kpis_runs_and_writes_its_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "bench", "kpis", "--orders", "300", "--backend", "sqlite", "--requests", "2",
            "--warmup", "1", "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0
    doc = json.loads((tmp_path / "kpis.json").read_text())
    assert [r["group_by"] for r in doc["rows"]] == ["-", *kpis.GROUPINGS[1:]]
    for row in doc["rows"]:
        assert row["orders"] == 300 and row["requests"] == 2
        assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["max_ms"]
    assert "the bar of 300 ms" in capsys.readouterr().out
