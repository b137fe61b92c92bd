"""Outputs of a what-if run: JSON, CSV, PNG charts and one self-contained HTML report.

Charts use matplotlib's Agg backend (no display); the HTML inlines them as base64 PNGs so
the report is a single file that can be mailed around.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dispatcher.whatif.model import Scenario
from dispatcher.whatif.simulate import (
    HIGHER_IS_BETTER,
    METRICS,
    Comparison,
    ReplicationResult,
    SearchResult,
    SnapshotResult,
)
from dispatcher.whatif.stats import METHODS, MIN_REPLICATIONS, Interval

_FMT = {
    "on_time_rate": lambda x: f"{x:.1%}",
    "utilisation": lambda x: f"{x:.1%}",
}


def _fmt(metric: str, x: float) -> str:
    if math.isnan(x):
        return "n/a"
    return _FMT.get(metric, lambda v: f"{v:,.1f}")(x)


def _iv(metric: str, iv: Interval) -> str:
    if math.isnan(iv.low):
        return _fmt(metric, iv.mean)
    return f"{_fmt(metric, iv.mean)} [{_fmt(metric, iv.low)}, {_fmt(metric, iv.high)}]"


def _diff(metric: str, iv: Interval) -> str:
    scale = 100.0 if metric in _FMT else 1.0
    unit = " pp" if metric in _FMT else ""
    if math.isnan(iv.low):
        return f"{iv.mean * scale:+.1f}{unit}"
    return f"{iv.mean * scale:+.1f}{unit} [{iv.low * scale:+.1f}, {iv.high * scale:+.1f}]"


def interval_methods(c: Comparison) -> dict[str, list[str]]:
    """Each interval method used in ``c`` with the metrics it was used for, in report order."""
    used: dict[str, list[str]] = {}
    for m in METRICS:
        for v in c.variants:
            if m in v.metrics:
                used.setdefault(v.metrics[m].method, [])
                if m not in used[v.metrics[m].method]:
                    used[v.metrics[m].method].append(m)
    if any(v.utilisation_by_station for v in c.variants):
        used.setdefault("log-t", []).append("utilisation by station")
    if any(v.differences for v in c.variants):
        used.setdefault("paired-t", []).append(
            "differences to base (rates cut to ±100 pp, the range a difference can take)"
        )
    return used


def _method_lines(c: Comparison) -> list[str]:
    return [f"{', '.join(ms)}: {METHODS.get(k, k)}" for k, ms in interval_methods(c).items()]


# ------------------------------------------------------------------ text


def format_comparison(c: Comparison, search: SearchResult | None = None) -> str:
    """A readable side-by-side table of estimates, 95 % intervals and paired differences.

    The header names each interval's method and flags too few replications.
    """
    lines = [f"Results over {c.replications} replication(s); 95 % intervals in brackets."]
    if c.replications < MIN_REPLICATIONS:
        lines.append(
            f"  ! n too small: {c.replications} < {MIN_REPLICATIONS} replications, "
            "the intervals below mean little"
        )
    lines.append("Interval methods:")
    lines += [f"  {line}" for line in _method_lines(c)]
    lines.append("")
    for v in c.variants:
        lines.append(f"{v.name}")
        for m in METRICS:
            text = f"  {m:<18} {_iv(m, v.metrics[m])}"
            if m in v.differences:
                text += f"   vs base {_diff(m, v.differences[m])}"
            lines.append(text)
        if v.unserved_reasons:
            lines.append(
                "  unserved by reason "
                + ", ".join(f"{k} {n}" for k, n in v.unserved_reasons.items())
            )
        lines.append("")
    if c.warnings:
        lines.append("Warnings:")
        lines += [f"  ! {w}" for w in c.warnings]
        lines.append("")
    if search is not None:
        lines.append(format_search(search))
    return "\n".join(lines).rstrip()


def format_search(s: SearchResult) -> str:
    where = "in total (split by station weight)" if s.station == "all" else f"at {s.station}"
    lines = [f"Head count {where} for {s.target:.0%} on time:"]
    for p in s.points:
        lines.append(f"  {p.engineers:>4}: {_iv('on_time_rate', p.on_time)}")
    if s.meets_on_average is None:
        lines.append("  not reached within the searched range")
    else:
        lines.append(f"  meets the target on average with {s.meets_on_average} engineers")
        if s.meets_confidently is None:
            lines.append("  no head count in range meets it with 95 % confidence")
        else:
            lines.append(
                f"  meets it with 95 % confidence (lower bound) with {s.meets_confidently}"
            )
    return "\n".join(lines)


def format_snapshot(snaps: Sequence[SnapshotResult]) -> str:
    keys = list(snaps[0].kpis) if snaps else []
    width = max([len(s.variant) for s in snaps] + [8])
    head = f"{'variant':<{width}} " + " ".join(f"{k:>14}" for k in keys)
    lines = [head]
    for s in snaps:
        cells = []
        for k in keys:
            x = s.kpis[k]
            cells.append(
                f"{x:>14.1%}"
                if k == "on_time_rate"
                else f"{x:>14,.1f}"
                if isinstance(x, float)
                else f"{x:>14}"
            )
        lines.append(f"{s.variant:<{width}} " + " ".join(cells))
    for s in snaps:
        if s.unassigned_reasons:
            lines.append(
                f"{s.variant}: unassigned "
                + ", ".join(f"{k} {n}" for k, n in s.unassigned_reasons.items())
            )
    return "\n".join(lines)


# ------------------------------------------------------------------ data files


def comparison_to_dict(c: Comparison) -> dict[str, Any]:
    return {
        "replications": c.replications,
        "confidence": 0.95,
        "too_few_replications": c.replications < MIN_REPLICATIONS,
        "min_replications": MIN_REPLICATIONS,
        "interval_methods": {
            k: {"metrics": ms, "description": METHODS.get(k, k)}
            for k, ms in interval_methods(c).items()
        },
        "metrics": dict(METRICS),
        "variants": [
            {
                "name": v.name,
                "metrics": {m: iv.to_dict() for m, iv in v.metrics.items()},
                "difference_to_base": {m: iv.to_dict() for m, iv in v.differences.items()},
                "utilisation_by_station": {
                    s: iv.to_dict() for s, iv in v.utilisation_by_station.items()
                },
                "unserved_reasons": v.unserved_reasons,
            }
            for v in c.variants
        ],
        "warnings": list(c.warnings),
    }


def search_to_dict(s: SearchResult) -> dict[str, Any]:
    return {
        "target": s.target,
        "station": s.station,
        "meets_on_average": s.meets_on_average,
        "meets_with_95pct_confidence": s.meets_confidently,
        "points": [
            {
                "engineers": p.engineers,
                "on_time_rate": p.on_time.to_dict(),
                "by_station": p.by_station,
            }
            for p in s.points
        ],
    }


def _scenario_header(scenario: Scenario) -> dict[str, Any]:
    sim = scenario.simulation
    return {
        "name": scenario.name,
        "description": scenario.description,
        "source": scenario.source,
        "mode": scenario.mode,
        "seed": scenario.seed,
        "variants": [v.name for v in scenario.variants],
        "simulation": {
            "days": sim.days,
            "warmup_days": sim.warmup_days,
            "drain_days": sim.drain_days,
            "replan_every_hours": sim.replan_every_hours,
            "replan_on_critical": sim.replan_on_critical,
            "keep_promises": sim.keep_promises,
            "publish_hours": sim.publish_hours,
            "replan_horizon_hours": sim.replan_horizon_hours,
            "replications": sim.replications,
            "solver": {
                "time_limit_s": sim.solver.time_limit_s,
                "solution_limit": sim.solver.solution_limit,
                "metaheuristic": sim.solver.metaheuristic,
                "first_solution": sim.solver.first_solution,
            },
        },
    }


def _replication_row(r: ReplicationResult) -> dict[str, Any]:
    return {
        "variant": r.variant,
        "replication": r.replication,
        "orders": r.orders,
        **{m: r.metrics[m] for m in METRICS},
        "replans": r.replans,
        "broken_promises": r.broken_promises,
        "solves_at_time_limit": r.solves_at_time_limit,
        "solve_seconds": r.solve_seconds,
        "wall_seconds": r.wall_seconds,
    }


def simulation_to_dict(
    scenario: Scenario,
    results: Sequence[ReplicationResult],
    comparison: Comparison,
    search: SearchResult | None = None,
) -> dict[str, Any]:
    """The ``results.json`` document of a rolling-horizon run (also the API's result)."""
    return {
        "scenario": _scenario_header(scenario),
        "comparison": comparison_to_dict(comparison),
        "search": None if search is None else search_to_dict(search),
        "replications": [
            {
                **_replication_row(r),
                "utilisation_by_station": r.utilisation_by_station,
                "unserved_reasons": r.unserved_reasons,
                "late_minutes": list(r.late_minutes),
            }
            for r in results
        ],
    }


def write_simulation(
    out: Path,
    scenario: Scenario,
    results: Sequence[ReplicationResult],
    comparison: Comparison,
    search: SearchResult | None = None,
) -> list[Path]:
    """Write results.json, replications.csv, summary.csv, three PNG charts and report.html."""
    out.mkdir(parents=True, exist_ok=True)
    doc = simulation_to_dict(scenario, results, comparison, search)
    paths = [out / "results.json", out / "replications.csv", out / "summary.csv"]
    paths[0].write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    rows = [_replication_row(r) for r in results]
    with paths[1].open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["variant"])
        w.writeheader()
        w.writerows(rows)
    with paths[2].open("w", newline="", encoding="utf-8") as f:
        w2 = csv.writer(f)
        w2.writerow(
            [
                "variant",
                "metric",
                "mean",
                "low",
                "high",
                "n",
                "diff_mean",
                "diff_low",
                "diff_high",
                "method",
                "too_few",
            ]
        )
        for v in comparison.variants:
            for m in METRICS:
                iv = v.metrics[m]
                d = v.differences.get(m)
                w2.writerow(
                    [v.name, m, iv.mean, iv.low, iv.high, iv.n]
                    + ([d.mean, d.low, d.high] if d else ["", "", ""])
                    + [iv.method, iv.too_few]
                )
    charts = {
        "on_time.png": chart_on_time(comparison),
        "lateness.png": chart_lateness(comparison),
        "utilisation.png": chart_utilisation(comparison),
    }
    if search is not None:
        charts["headcount.png"] = chart_search(search)
    for name, png in charts.items():
        (out / name).write_bytes(png)
        paths.append(out / name)
    report = out / "report.html"
    report.write_text(html_report(scenario, comparison, charts, search), encoding="utf-8")
    paths.append(report)
    return paths


def write_snapshot(out: Path, scenario: Scenario, snaps: Sequence[SnapshotResult]) -> list[Path]:
    """Write results.json, summary.csv, on_time.png and report.html of a snapshot what-if."""
    out.mkdir(parents=True, exist_ok=True)
    doc = {
        "scenario": _scenario_header(scenario),
        "variants": [
            {
                "name": s.variant,
                "kpis": s.kpis,
                "unassigned_reasons": s.unassigned_reasons,
                "solve_seconds": s.solve_seconds,
            }
            for s in snaps
        ],
    }
    paths = [out / "results.json", out / "summary.csv", out / "on_time.png", out / "report.html"]
    paths[0].write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    keys = list(snaps[0].kpis) if snaps else []
    with paths[1].open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["variant", *keys])
        for s in snaps:
            w.writerow([s.variant, *(s.kpis[k] for k in keys)])
    png = _bar_chart(
        [s.variant for s in snaps],
        [s.kpis["on_time_rate"] for s in snaps],
        None,
        "On-time rate (snapshot)",
    )
    paths[2].write_bytes(png)
    table = (
        "<table><tr><th>variant</th>"
        + "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        + "</tr>"
    )
    for s in snaps:
        table += (
            f"<tr><td>{html.escape(s.variant)}</td>"
            + "".join(
                f"<td>{s.kpis[k]:,}</td>"
                if not isinstance(s.kpis[k], float)
                else f"<td>{s.kpis[k]:,.3f}</td>"
                for k in keys
            )
            + "</tr>"
        )
    table += "</table>"
    body = f"<h2>KPIs side by side</h2>{table}<h2>On-time rate</h2>{_img(png)}"
    paths[3].write_text(_page(scenario, body), encoding="utf-8")
    return paths


# ------------------------------------------------------------------ charts


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    # Fixed metadata keeps the bytes of a chart the same from run to run.
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    _pyplot().close(fig)
    return buf.getvalue()


def _bar_chart(
    names: Sequence[str],
    means: Sequence[float],
    errors: Sequence[tuple[float, float]] | None,
    title: str,
) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.4 * len(names)), 3.6))
    xs = list(range(len(names)))
    yerr = None
    if errors is not None:
        yerr = [[max(0.0, e[0]) for e in errors], [max(0.0, e[1]) for e in errors]]
    ax.bar(xs, means, yerr=yerr, capsize=6, color="#4c72b0")
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=15, ha="right")
    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def chart_on_time(c: Comparison) -> bytes:
    """On-time share per variant with its 95 % Wilson interval."""
    names = [v.name for v in c.variants]
    ivs = [v.metrics["on_time_rate"] for v in c.variants]
    errors = [(0.0, 0.0) if math.isnan(i.low) else (i.mean - i.low, i.high - i.mean) for i in ivs]
    return _bar_chart(
        names, [i.mean for i in ivs], errors, "On-time rate per variant (95 % Wilson interval)"
    )


def chart_lateness(c: Comparison) -> bytes:
    """Distribution of minutes late (late and unserved orders, pooled over replications)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6))
    data = [[x / 60.0 for x in v.late_minutes] or [0.0] for v in c.variants]
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(c.variants) + 1))
    ax.set_xticklabels([v.name for v in c.variants], rotation=15, ha="right")
    ax.set_ylabel("hours late")
    ax.set_title("Lateness of late orders (all replications)")
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def chart_utilisation(c: Comparison) -> bytes:
    """Utilisation per station and variant (mean over replications, with intervals)."""
    plt = _pyplot()
    stations = sorted({s for v in c.variants for s in v.utilisation_by_station})
    fig, ax = plt.subplots(
        figsize=(max(6.0, 0.9 * len(stations) * max(1, len(c.variants)) / 2), 3.8)
    )
    n = max(1, len(c.variants))
    width = 0.8 / n
    for k, v in enumerate(c.variants):
        xs = [i + (k - (n - 1) / 2) * width for i in range(len(stations))]
        ivs = [v.utilisation_by_station.get(s, Interval(0, 0, 0, 0, 0)) for s in stations]
        err = [
            [0 if math.isnan(i.low) else i.mean - i.low for i in ivs],
            [0 if math.isnan(i.high) else i.high - i.mean for i in ivs],
        ]
        ax.bar(xs, [i.mean for i in ivs], width, yerr=err, capsize=2, label=v.name)
    ax.set_xticks(range(len(stations)))
    ax.set_xticklabels(stations, rotation=30, ha="right")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_ylim(bottom=0)
    ax.set_title("Utilisation per station")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def chart_search(s: SearchResult) -> bytes:
    """On-time share (Wilson interval) by head count; the head-count axis has whole ticks."""
    return _png(search_figure(s))


def search_figure(s: SearchResult) -> Any:
    """The figure of ``chart_search`` (a matplotlib Figure, for tests to inspect)."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    xs = [p.engineers for p in s.points]
    means = [p.on_time.mean for p in s.points]
    lo = [
        p.on_time.mean - (p.on_time.low if not math.isnan(p.on_time.low) else p.on_time.mean)
        for p in s.points
    ]
    hi = [
        (p.on_time.high if not math.isnan(p.on_time.high) else p.on_time.mean) - p.on_time.mean
        for p in s.points
    ]
    ax.errorbar(xs, means, yerr=[lo, hi], fmt="o-", capsize=4)
    ax.axhline(s.target, color="#c44e52", linestyle="--", label=f"target {s.target:.0%}")
    ax.set_xlabel("engineers" + ("" if s.station == "all" else f" at {s.station}"))
    # Head counts are whole people: no tick at 11.4 engineers.
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_title("On-time rate by head count (95 % Wilson interval)")
    ax.legend()
    ax.grid(alpha=0.3)
    return fig


# ------------------------------------------------------------------ HTML


def _img(png: bytes) -> str:
    return f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _page(scenario: Scenario, body: str) -> str:
    title = html.escape(f"What-if: {scenario.name}")
    desc = html.escape(scenario.description)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
.warn {{ color: #a33; }} .good {{ color: #276; }} .muted {{ color: #777; }}
img {{ max-width: 100%; }}
</style></head><body>
<h1>{title}</h1><p>{desc}</p>
<p class="muted">Source {html.escape(scenario.source)}, seed {scenario.seed}, mode {scenario.mode}.</p>
{body}
</body></html>
"""


def html_report(
    scenario: Scenario, c: Comparison, charts: dict[str, bytes], search: SearchResult | None = None
) -> str:
    """The self-contained HTML report (charts inlined as base64 PNG)."""
    sim = scenario.simulation
    setup = (
        f"<p>{c.replications} replications × {sim.days:g} days (warm-up {sim.warmup_days:g}, "
        f"drain {sim.drain_days:g}); re-plan every {sim.replan_every_hours:g} h"
        f"{' and on each critical ticket' if sim.replan_on_critical else ''}; published visits "
        f"{'stay with their engineer' if sim.keep_promises else 'may move'}. Variants share each "
        "replication's demand sample (common random numbers); differences are paired.</p>"
    )
    if c.replications < MIN_REPLICATIONS:
        setup += (
            f'<p class="warn"><strong>n too small:</strong> {c.replications} replication(s), '
            f"fewer than {MIN_REPLICATIONS}; the intervals are shown but mean little.</p>"
        )
    setup += (
        "<p>Interval methods:</p><ul>"
        + "".join(f"<li>{html.escape(line)}</li>" for line in _method_lines(c))
        + "</ul>"
    )
    head = (
        "<tr><th>metric</th>"
        + "".join(f"<th>{html.escape(v.name)}</th>" for v in c.variants)
        + "</tr>"
    )
    rows = []
    for m in METRICS:
        cells = []
        for v in c.variants:
            cell = html.escape(_iv(m, v.metrics[m]))
            if m in v.differences:
                d = v.differences[m]
                overlap = d.contains(0.0) and not (d.low == d.high == 0.0)
                better = (d.mean > 0) == (m in HIGHER_IS_BETTER)
                cls = "muted" if overlap else ("good" if better else "warn")
                cell += f'<br><span class="{cls}">Δ {html.escape(_diff(m, d))}</span>'
            cells.append(f"<td>{cell}</td>")
        rows.append(f'<tr><td title="{html.escape(METRICS[m])}">{m}</td>{"".join(cells)}</tr>')
    table = f"<table>{head}{''.join(rows)}</table>"
    warnings = ""
    if c.warnings:
        warnings = (
            "<h3>Warnings</h3><ul>"
            + "".join(f'<li class="warn">{html.escape(w)}</li>' for w in c.warnings)
            + "</ul>"
        )
    reasons = "".join(
        f"<li>{html.escape(v.name)}: "
        + ", ".join(f"{html.escape(k)} {n}" for k, n in v.unserved_reasons.items())
        + "</li>"
        for v in c.variants
        if v.unserved_reasons
    )
    body = (
        setup
        + "<h2>KPIs (estimate [95 % interval]; Δ = paired difference to base)</h2>"
        + table
        + warnings
        + (
            f"<h3>Unserved orders by reason (all replications)</h3><ul>{reasons}</ul>"
            if reasons
            else ""
        )
        + "<h2>On-time rate</h2>"
        + _img(charts["on_time.png"])
        + "<h2>Lateness</h2>"
        + _img(charts["lateness.png"])
        + "<h2>Utilisation per station</h2>"
        + _img(charts["utilisation.png"])
    )
    if search is not None:
        body += "<h2>Head count search</h2><pre>" + html.escape(format_search(search)) + "</pre>"
        body += _img(charts["headcount.png"])
    return _page(scenario, body)
