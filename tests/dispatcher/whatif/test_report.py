"""The what-if report is honest about its intervals: named methods, ranges, too few runs."""

from __future__ import annotations

import json
from pathlib import Path

from dispatcher.whatif import report
from dispatcher.whatif.scenario_file import scenario_from_dict
from dispatcher.whatif.simulate import (
    METRICS,
    ReplicationResult,
    SearchPoint,
    SearchResult,
    compare,
)
from dispatcher.whatif.stats import MIN_REPLICATIONS, proportion_ci


def rep(variant: str, k: int, orders: int, late: int, unserved: int = 0) -> ReplicationResult:
    return ReplicationResult(
        variant=variant,
        replication=k,
        orders=orders,
        metrics={
            "on_time_rate": (orders - late) / orders,
            "late_orders": float(late),
            "unserved_orders": float(unserved),
            "late_minutes_p50": 30.0 * late,
            "late_minutes_p90": 60.0 * late,
            "travel_km": 1000.0 + 10 * k,
            "travel_hours": 20.0 + k,
            "overtime_hours": float(k % 2),
            "utilisation": 0.9 + 0.05 * k,
        },
        late_minutes=tuple(30.0 for _ in range(late)),
        utilisation_by_station={"Jinan": 0.9 + 0.05 * k},
        unserved_reasons={},
        replans=1,
        solves_at_time_limit=0,
        broken_promises=0,
        solve_seconds=0.1,
    )


# Issue 20's run: 46 of 48 and 51 of 54 on time; the t interval ended at 104.0 %.
TWO = [
    rep("base", 0, 48, 2, 1),
    rep("base", 1, 54, 3),
    rep("hire", 0, 48, 0),
    rep("hire", 1, 54, 3),
]


def test_two_replications_keep_rates_and_counts_in_range_and_are_flagged() -> None:
    c = compare(TWO)
    for v in c.variants:
        on_time = v.metrics["on_time_rate"]
        assert 0.0 <= on_time.low <= on_time.high <= 1.0
        for m in ("late_orders", "unserved_orders", "overtime_hours", "travel_km"):
            assert v.metrics[m].low >= 0.0
    assert c.warnings[0].startswith("only 2 replication(s)")
    text = report.format_comparison(c)
    assert "n too small" in text
    estimates = [
        line.split("vs base")[0]
        for line in text.splitlines()
        if line.strip() and line.split()[0] in METRICS
    ]
    assert estimates and not any("[-" in e or "104" in e for e in estimates)
    assert "Wilson score interval" in text and "Poisson score interval" in text


def test_enough_replications_are_not_flagged() -> None:
    reps = [rep("base", k, 50, k % 3) for k in range(MIN_REPLICATIONS)]
    c = compare(reps)
    assert not any(w.startswith("only") for w in c.warnings)
    assert "n too small" not in report.format_comparison(c)


def test_the_data_files_name_each_method(tmp_path: Path) -> None:
    s = scenario_from_dict(
        {"name": "tiny", "base": {"roster": {"engineers": 4}, "demand": {"tickets_per_day": 5}}}
    )
    c = compare(TWO)
    report.write_simulation(tmp_path, s, TWO, c)
    doc = json.loads((tmp_path / "results.json").read_text())["comparison"]
    assert doc["too_few_replications"] is True
    assert doc["interval_methods"]["wilson"]["metrics"] == ["on_time_rate"]
    assert doc["variants"][0]["metrics"]["late_orders"]["method"] == "poisson-score"
    html = (tmp_path / "report.html").read_text()
    assert "n too small" in html and "Wilson score interval" in html


def test_head_count_axis_has_whole_engineers_only() -> None:
    # Two neighbouring head counts: matplotlib's default locator would tick 11.2, 11.4, ...
    points = tuple(
        SearchPoint(h, proportion_ci([40 + h, 41 + h], [60, 60]), {"Jinan": h}) for h in (11, 12)
    )
    fig = report.search_figure(SearchResult(0.7, "all", 12, None, points))
    fig.canvas.draw()
    ticks = fig.axes[0].get_xticks()
    assert len(ticks) >= 2
    assert all(float(t).is_integer() for t in ticks)
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert labels and all("." not in x for x in labels)
    report._pyplot().close(fig)
