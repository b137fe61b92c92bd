"""Work-time arithmetic: travel pauses over rest, service never straddles it."""

from __future__ import annotations

from dispatcher.timeline import (
    advance,
    earliest_fit,
    first_work_instant,
    rest_gaps,
    work_time_between,
)

H = 3600
# Two days of 08:00-17:00 work, in seconds from midnight of day 1.
DAYS = [(8 * H, 17 * H), (32 * H, 41 * H)]


def test_travel_that_does_not_fit_before_rest_resumes_next_morning() -> None:
    # Leave 15:00 with 3 h to go: 2 h today, 1 h tomorrow -> arrive 09:00 day 2.
    assert advance(DAYS, 15 * H, 3 * H) == 33 * H


def test_travel_past_the_last_window_is_none_unless_open_ended() -> None:
    assert advance(DAYS, 40 * H, 2 * H) is None
    assert advance(DAYS, 40 * H, 2 * H, open_end=True) == 42 * H


def test_first_work_instant_skips_rest() -> None:
    assert first_work_instant(DAYS, 17 * H) == 32 * H
    assert first_work_instant(DAYS, 10 * H) == 10 * H
    assert first_work_instant(DAYS, 41 * H) is None


def test_service_waits_for_a_window_that_holds_it_whole() -> None:
    # 4 h of service arriving 14:00: does not fit by 17:00, starts 08:00 day 2.
    assert earliest_fit(DAYS, [], 14 * H, 4 * H) == 32 * H


def test_service_must_fit_the_site_window_too() -> None:
    site = [(9 * H, 11 * H), (34 * H, 38 * H)]
    assert earliest_fit(DAYS, site, 10 * H, 1 * H) == 10 * H
    assert earliest_fit(DAYS, site, 10 * H + 1, 1 * H) == 34 * H
    assert earliest_fit(DAYS, site, 35 * H, 4 * H) is None


def test_rest_gaps_and_work_time() -> None:
    assert rest_gaps(DAYS) == [(17 * H, 32 * H)]
    assert work_time_between(DAYS, 16 * H, 33 * H) == 2 * H
