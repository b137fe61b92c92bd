"""The quote benchmark (``bench/quote.py``): its percentiles on hand-made numbers, and its
entry point end to end on a tiny generated problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import quote
from dispatcher.cli import main


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1 .. 100
    assert quote.percentile(values, 0.50) == 50.0
    assert quote.percentile(values, 0.95) == 95.0
    assert quote.percentile(values, 0.99) == 99.0
    assert quote.percentile([3.0], 0.99) == 3.0 and quote.percentile([], 0.5) == 0.0
    row = quote.latency_row([0.001, 0.002, 0.003, 0.004])
    assert (row["quotes"], row["p50_ms"], row["max_ms"]) == (4, 2.0, 4.0)


def test_closed_loop_answers_every_item_once_with_several_clients() -> None:
    seen: list[int] = []
    seconds = quote.closed_loop(seen.append, list(range(25)), clients=4)
    assert sorted(seen) == list(range(25)) and len(seconds) == 25


def test_bench_quote_runs_and_writes_its_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "bench", "quote", "--sizes", "20x4", "--seeds", "2", "--quotes", "12",
            "--clients", "2", "--publish-limit", "1", "--out", str(tmp_path),
        ]
    )  # fmt: skip
    assert code == 0
    doc = json.loads((tmp_path / "quote.json").read_text())
    (row,) = doc["rows"]
    assert (row["size"], row["via"], row["quotes"], row["clients"]) == ("20x4", "in-process", 12, 2)
    assert 0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert doc["args"]["quotes"] == 12
    out = capsys.readouterr().out
    assert "| 20x4 | 2 | in-process | 2 | 12 |" in out and "the bar" in out
