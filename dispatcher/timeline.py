"""Work-time arithmetic on an engineer's work windows (docs/model.md).

Times are integer seconds since ``planning_start``. A list of work windows is sorted,
disjoint, half-open ``[a, b)`` intervals; the gaps between them are rest.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import datetime, timedelta

from dispatcher.domain import Engineer, Window

Interval = tuple[int, int]


def to_s(t: datetime, origin: datetime) -> int:
    return int(round((t - origin).total_seconds()))


def from_s(s: float, origin: datetime) -> datetime:
    return origin + timedelta(seconds=float(s))


def work_windows(engineer: Engineer, origin: datetime) -> list[Interval]:
    """Shifts extended by the overtime allowance, merged, in seconds from ``origin``."""
    ot = engineer.max_overtime_minutes * 60
    return merge_intervals(
        [(to_s(shift.start, origin), to_s(shift.end, origin) + ot) for shift in engineer.shifts]
    )


def merge_intervals(intervals: Sequence[Interval]) -> list[Interval]:
    """Sorted union of intervals; ones that overlap or touch become one."""
    merged: list[list[int]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def overtime_bands(engineer: Engineer, origin: datetime) -> list[Interval]:
    """The parts of the work windows that lie after a shift's end."""
    if engineer.max_overtime_minutes == 0:
        return []
    shifts = [(to_s(s.start, origin), to_s(s.end, origin)) for s in engineer.shifts]
    bands = []
    for i, (_, b) in enumerate(shifts):
        end = b + engineer.max_overtime_minutes * 60
        if i + 1 < len(shifts):
            end = min(end, shifts[i + 1][0])
        if end > b:
            bands.append((b, end))
    return bands


def rest_gaps(windows: Sequence[Interval]) -> list[Interval]:
    """The rest periods between consecutive work windows."""
    return [(windows[i][1], windows[i + 1][0]) for i in range(len(windows) - 1)]


def first_work_instant(windows: Sequence[Interval], t: int) -> int | None:
    """The first instant at or after ``t`` inside a work window, or None past the last."""
    i = bisect_right([a for a, _ in windows], t) - 1
    if i >= 0 and t < windows[i][1]:
        return t
    if i + 1 < len(windows):
        return windows[i + 1][0]
    return None


def advance(windows: Sequence[Interval], t: int, work_s: int, open_end: bool = False) -> int | None:
    """When ``work_s`` seconds of work time have elapsed from ``t``.

    Work time only passes inside windows. After the last window, time runs freely when
    ``open_end`` (a return home after the plan), else the answer is None.
    """
    if work_s <= 0:
        return t
    remaining = work_s
    for a, b in windows:
        if b <= t:
            continue
        start = max(a, t)
        if start + remaining <= b:
            return start + remaining
        remaining -= b - start
        t = b
    return t + remaining if open_end else None


def work_time_between(windows: Sequence[Interval], a: int, b: int) -> int:
    """Seconds of work time inside ``[a, b]``."""
    return sum(max(0, min(b, wb) - max(a, wa)) for wa, wb in windows)


def earliest_fit(
    windows: Sequence[Interval],
    site: Sequence[Interval],
    t: int,
    service_s: int,
    until: int | None = None,
) -> int | None:
    """Earliest start >= ``t`` with ``[start, start+service]`` inside one work window and,
    when ``site`` is non-empty, inside one site window; None if none starts by ``until``."""
    for a, b in windows:
        if b <= t or (until is not None and a > until):
            continue
        lo = max(a, t)
        if not site:
            if lo + service_s <= b and (until is None or lo <= until):
                return lo
            continue
        for sa, sb in site:
            start = max(lo, sa)
            if start + service_s <= min(b, sb) and (until is None or start <= until):
                return start
    return None


def site_windows_s(windows: Sequence[Window], origin: datetime) -> list[Interval]:
    return [(to_s(w.start, origin), to_s(w.end, origin)) for w in windows]


def overlap(a: int, b: int, bands: Sequence[Interval]) -> int:
    return sum(max(0, min(b, y) - max(a, x)) for x, y in bands)
