"""Tests of the independent plan checker on a tiny hand-computed problem.

The world: every point lies on the meridian 114°E, so each leg is a pure latitude change
and its geodesic is a meridian arc (about 110.9 km per degree around 30-44°N):

====================  ==========  =============  ======  ==============================
leg                   geodesic    road (x 1.3)   mode    minutes
====================  ==========  =============  ======  ==============================
30.0 -> 30.5 (A)        55.43 km     72.06 km    drive   72.06 / 65 x 60   =  66.51
30.5 -> 44.0 (B)      1498.28 km   1947.76 km    flight  (3.5 + 1498.28/750) x 60 = 329.86
44.0 -> 30.0 (home)   1553.71 km   2019.82 km    flight  (3.5 + 1553.71/750) x 60 = 334.30
32.0 -> 32.5 (C)        55.45 km     72.08 km    drive   72.08 / 65 x 60   =  66.53
32.5 -> 32.0 (home)     55.45 km     72.08 km    drive   66.53
====================  ==========  =============  ======  ==============================

(road > 600 km means a flight, whose km are the geodesic km.) Shifts are 08:00-17:00 at
+08:00 on Mon 4 and Tue 5 March 2024; Alice (E1) may work 60 min of overtime, so her work
windows are 08:00-18:00. Times below are +08:00.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from dispatcher.check import Violation, check_plan, format_violations
from dispatcher.codec import plan_from_dict, plan_to_dict
from dispatcher.domain import (
    Engineer,
    Kpis,
    LateOrder,
    Location,
    Order,
    Overnight,
    Plan,
    Problem,
    Reason,
    ReturnLeg,
    Route,
    Site,
    UnassignedOrder,
    Visit,
    Window,
)

CST = timezone(timedelta(hours=8))
LON = 114.0


def t(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(2024, 3, day, hh, mm, ss, tzinfo=CST)


def at(lat: float) -> Location:
    return Location(lat, LON)


SHIFTS = (Window(t(4, 8), t(4, 17)), Window(t(5, 8), t(5, 17)))
ALICE = Engineer(
    id="E1",
    name="Alice",
    home=at(30.0),
    timezone="Asia/Shanghai",
    skills=frozenset({"hydraulics", "plc"}),
    shifts=SHIFTS,
    max_overtime_minutes=60,
)
BOB = Engineer(
    id="E2",
    name="Bob",
    home=at(32.0),
    timezone="Asia/Shanghai",
    skills=frozenset({"plc"}),
    shifts=SHIFTS,
    can_travel_overseas=False,
)
ORDER_A = Order(  # domestic: deadline = 4 Mar 06:00 + 24 h = 5 Mar 06:00
    id="A",
    site=Site(at(30.5), "CN", "Wuhan mill"),
    received_at=t(4, 6),
    service_minutes=180,
    required_skills=frozenset({"hydraulics"}),
    excluded_engineers=("E2",),
)
ORDER_B = Order(  # overseas (MN): deadline = 4 Mar 06:00 + 72 h = 7 Mar 06:00
    id="B",
    site=Site(at(44.0), "MN", "Gobi crusher"),
    received_at=t(4, 6),
    service_minutes=120,
)
ORDER_C = Order(  # explicit deadline 09:00; site open 10:00-12:00; pinned to Bob
    id="C",
    site=Site(at(32.5), "CN", "Xinyang line"),
    received_at=t(3, 10),
    deadline=t(4, 9),
    service_minutes=60,
    required_skills=frozenset({"plc"}),
    site_windows=(Window(t(4, 10), t(4, 12)),),
    pinned_engineer="E2",
)
ORDER_E = Order(  # nobody has "hv"
    id="E",
    site=Site(at(31.0), "CN"),
    received_at=t(4, 6),
    service_minutes=30,
    required_skills=frozenset({"hv"}),
)
PROBLEM = Problem(
    planning_start=datetime(2024, 3, 4, 0, 0, tzinfo=UTC),  # = 08:00 +08:00
    engineers=(ALICE, BOB),
    orders=(ORDER_A, ORDER_B, ORDER_C, ORDER_E),
)

# Alice: home -> A (drive 66.51 min = 3991 s): 08:00:00 -> 09:06:31, service 180 min to 12:06:31;
# slack = 5 Mar 06:00 - 4 Mar 09:06:31 = 20:53:29 = 1253.48 min.
VISIT_A = Visit(
    order_id="A",
    travel_mode="drive",
    travel_km=72.1,
    travel_minutes=66.5,
    departure=t(4, 8),
    arrival=t(4, 9, 6, 31),
    start=t(4, 9, 6, 31),
    end=t(4, 12, 6, 31),
    deadline=t(5, 6),
    slack_minutes=1253.5,
    on_time=True,
)
# A -> B (flight 329.86 min = 19792 s = 5:29:52): 12:06:31 -> 17:36:23, 36:23 of it in the
# 17:00-18:00 overtime band (36.38 min). 120 min of service no longer fits before 18:00, so it
# is 5 Mar 08:00-10:00 after a hotel night at B. Slack = 7 Mar 06:00 - 4 Mar 17:36:23 = 3623.62.
VISIT_B = Visit(
    order_id="B",
    travel_mode="flight",
    travel_km=1498.3,
    travel_minutes=329.9,
    departure=t(4, 12, 6, 31),
    arrival=t(4, 17, 36, 23),
    start=t(5, 8),
    end=t(5, 10),
    deadline=t(7, 6),
    slack_minutes=3623.6,
    on_time=True,
    overtime_minutes=36.4,
)
# B -> home (flight 334.30 min = 20058 s = 5:34:18): 5 Mar 10:00:00 -> 15:34:18.
RETURN_ALICE = ReturnLeg("flight", 1553.7, 334.3, t(5, 10), t(5, 15, 34, 18))
# Rest 4 Mar 18:00 - 5 Mar 08:00 begins at site B, 1554 km from home: a hotel night.
NIGHT_AT_B = Overnight(night_of="2024-03-04", location=at(44.0), hotel=True, place="Gobi crusher")
ROUTE_ALICE = Route(
    engineer_id="E1",
    visits=(VISIT_A, VISIT_B),
    overnights=(NIGHT_AT_B,),
    return_leg=RETURN_ALICE,
    start_location=at(30.0),
    start_time=t(4, 8),
)

# Bob: home -> C (drive 66.53 min = 3992 s): 08:00:00 -> 09:06:32, 6:32 = 6.53 min after the
# 09:00 deadline (late); the site opens at 10:00, so service is 10:00-11:00.
VISIT_C = Visit(
    order_id="C",
    travel_mode="drive",
    travel_km=72.1,
    travel_minutes=66.5,
    departure=t(4, 8),
    arrival=t(4, 9, 6, 32),
    start=t(4, 10),
    end=t(4, 11),
    deadline=t(4, 9),
    slack_minutes=-6.5,
    on_time=False,
)
# C -> home: 11:00:00 -> 12:06:32; home before the first rest, so no overnight.
RETURN_BOB = ReturnLeg("drive", 72.1, 66.5, t(4, 11), t(4, 12, 6, 32))
ROUTE_BOB = Route(
    engineer_id="E2",
    visits=(VISIT_C,),
    return_leg=RETURN_BOB,
    start_location=at(32.0),
    start_time=t(4, 8),
)

# travel: 72.06 + 1498.28 + 1553.71 + 72.08 + 72.08 = 3268.2 km;
# (66.51 + 329.86 + 334.30 + 66.53 + 66.53) / 60 = 14.40 h.
KPIS = Kpis(
    orders=4,
    assigned=3,
    on_time=2,
    late=1,
    unassigned=1,
    on_time_rate=0.5,
    travel_km=3268.2,
    travel_hours=14.4,
    overtime_minutes=36.4,
    hotel_nights=1,
    engineers_used=2,
)
PLAN = Plan(
    status="feasible",
    kpis=KPIS,
    routes=(ROUTE_ALICE, ROUTE_BOB),
    late=(LateOrder("C", 6.5, Reason.UNREACHABLE_BEFORE_DEADLINE, "09:00 is out of reach"),),
    unassigned=(UnassignedOrder("E", Reason.NO_SKILLED_ENGINEER, "nobody has hv"),),
    meta={},
)


# ------------------------------------------------------------------------- helpers


def codes(plan: Plan, problem: Problem = PROBLEM) -> set[str]:
    return {v.code for v in check_plan(problem, plan)}


def with_route(index: int, **changes: object) -> Plan:
    routes = list(PLAN.routes)
    routes[index] = replace(routes[index], **changes)  # type: ignore[arg-type]
    return replace(PLAN, routes=tuple(routes))


def with_visit(route: int, visit: int, **changes: object) -> Plan:
    visits = list(PLAN.routes[route].visits)
    visits[visit] = replace(visits[visit], **changes)  # type: ignore[arg-type]
    return with_route(route, visits=tuple(visits))


def with_kpis(**changes: object) -> Plan:
    return replace(PLAN, kpis=replace(KPIS, **changes))  # type: ignore[arg-type]


def assert_reports(plan: Plan, code: str, problem: Problem = PROBLEM) -> list[Violation]:
    found = check_plan(problem, plan)
    assert code in {v.code for v in found}, format_violations(found)
    return [v for v in found if v.code == code]


# --------------------------------------------------------------------------- valid


def test_valid_plan_has_no_violations() -> None:
    found = check_plan(PROBLEM, PLAN)
    assert found == [], format_violations(found)


def test_valid_plan_round_tripped_through_json_has_no_violations() -> None:
    plan = plan_from_dict(plan_to_dict(PLAN))
    assert plan.routes[0].visits[0].arrival.utcoffset() == timedelta(0)
    found = check_plan(PROBLEM, plan)
    assert found == [], format_violations(found)


def test_format_violations_prints_one_line_each() -> None:
    found = check_plan(PROBLEM, with_visit(1, 0, on_time=True, slack_minutes=0.0))
    text = format_violations(found)
    assert len(text.splitlines()) == len(found) >= 2
    assert "ERROR on_time_flag" in text
    assert format_violations([]) == ""


# ----------------------------------------------------------------- order accounting


def test_unknown_status_is_reported() -> None:
    assert_reports(replace(PLAN, status="great"), "status_unknown")


def test_order_both_visited_and_unassigned_is_reported() -> None:
    extra = UnassignedOrder("A", Reason.CAPACITY, "")
    plan = replace(PLAN, unassigned=(*PLAN.unassigned, extra))
    [v] = assert_reports(replace(plan, kpis=replace(KPIS, unassigned=2)), "order_duplicated")
    assert v.order_id == "A"


def test_missing_order_is_reported() -> None:
    plan = replace(PLAN, unassigned=(), kpis=replace(KPIS, unassigned=0))
    [v] = assert_reports(plan, "order_missing")
    assert v.order_id == "E"


def test_unknown_order_is_reported() -> None:
    extra = UnassignedOrder("Z", Reason.CAPACITY, "")
    assert_reports(replace(PLAN, unassigned=(*PLAN.unassigned, extra)), "order_unknown")


def test_late_entry_for_unvisited_order_is_reported() -> None:
    extra = LateOrder("E", 5.0, Reason.CAPACITY, "")
    assert_reports(replace(PLAN, late=(*PLAN.late, extra)), "late_not_visited")


def test_late_visit_missing_from_late_list_is_reported() -> None:
    assert_reports(replace(PLAN, late=()), "late_missing")


def test_on_time_visit_in_late_list_is_reported() -> None:
    extra = LateOrder("A", 0.0, Reason.CAPACITY, "")
    assert_reports(replace(PLAN, late=(*PLAN.late, extra)), "late_unexpected")


def test_duplicate_late_entry_is_reported() -> None:
    assert_reports(replace(PLAN, late=PLAN.late * 2), "late_duplicated")


def test_wrong_minutes_late_is_reported() -> None:
    late = (replace(PLAN.late[0], minutes_late=16.5),)
    assert_reports(replace(PLAN, late=late), "late_minutes")


# ------------------------------------------------------------------------ engineers


def test_route_for_unknown_engineer_is_reported() -> None:
    assert_reports(with_route(1, engineer_id="E9"), "engineer_unknown")


def test_engineer_with_two_routes_is_reported() -> None:
    empty = Route(engineer_id="E1", visits=())
    assert_reports(replace(PLAN, routes=(*PLAN.routes, empty)), "engineer_duplicated_route")


def test_visit_by_engineer_without_required_skill_is_reported() -> None:
    problem = replace(
        PROBLEM,
        orders=(ORDER_A, ORDER_B, replace(ORDER_C, required_skills=frozenset({"hv"})), ORDER_E),
    )
    [v] = assert_reports(PLAN, "skill_missing", problem)
    assert (v.order_id, v.engineer_id) == ("C", "E2")
    assert "hv" in v.message


def test_visit_by_excluded_engineer_is_reported() -> None:
    problem = replace(
        PROBLEM, orders=(ORDER_A, ORDER_B, replace(ORDER_C, excluded_engineers=("E2",)), ORDER_E)
    )
    assert_reports(PLAN, "engineer_excluded", problem)


def test_pinned_order_visited_by_another_engineer_is_reported() -> None:
    problem = replace(
        PROBLEM, orders=(ORDER_A, ORDER_B, replace(ORDER_C, pinned_engineer="E1"), ORDER_E)
    )
    [v] = assert_reports(PLAN, "pinned_engineer_ignored", problem)
    assert v.order_id == "C"


def test_overseas_visit_by_engineer_who_may_not_travel_is_reported() -> None:
    problem = replace(PROBLEM, engineers=(replace(ALICE, can_travel_overseas=False), BOB))
    [v] = assert_reports(PLAN, "overseas_not_allowed", problem)
    assert (v.order_id, v.engineer_id) == ("B", "E1")


# ---------------------------------------------------------------------- route start


def test_route_starting_before_planning_start_is_reported() -> None:
    assert_reports(with_route(0, start_time=t(4, 7)), "route_start_early")


def test_route_starting_before_engineer_is_available_is_reported() -> None:
    from dispatcher.domain import CurrentPosition

    busy = replace(BOB, current=CurrentPosition(at(32.0), t(4, 9)))
    problem = replace(PROBLEM, engineers=(ALICE, busy))
    assert_reports(PLAN, "route_start_early", problem)


def test_route_starting_later_than_needed_is_a_soft_finding() -> None:
    [v] = assert_reports(with_route(1, start_time=t(4, 8, 30)), "route_start_late")
    assert not v.hard


def test_route_starting_away_from_home_is_reported() -> None:
    assert_reports(with_route(1, start_location=at(32.2)), "route_start_location")


# ------------------------------------------------------------------------ time line


def test_departure_before_previous_end_is_reported() -> None:
    [v] = assert_reports(with_visit(0, 1, departure=t(4, 12)), "departure_before_previous_end")
    assert v.order_id == "B"


def test_arrival_before_departure_is_reported() -> None:
    plan = with_visit(1, 0, arrival=t(4, 7, 59))
    assert_reports(plan, "arrival_before_departure")


def test_service_starting_before_arrival_is_reported() -> None:
    plan = with_visit(1, 0, start=t(4, 9), end=t(4, 10))
    assert_reports(plan, "start_before_arrival")


def test_end_not_start_plus_service_is_reported() -> None:
    assert_reports(with_visit(1, 0, end=t(4, 11, 30)), "end_mismatch")


def test_return_departing_before_last_visit_ends_is_reported() -> None:
    ret = replace(RETURN_BOB, departure=t(4, 10, 30), arrival=t(4, 11, 36, 32))
    assert_reports(with_route(1, return_leg=ret), "return_departure_before_end")


# --------------------------------------------------------------------------- travel


def test_wrong_travel_mode_is_reported() -> None:
    # 1947.8 road km > 600: a flight. Stated as a drive of the road km at 65 km/h.
    plan = with_visit(0, 1, travel_mode="drive", travel_km=1947.8, travel_minutes=1797.9)
    assert_reports(plan, "travel_mode")


def test_wrong_travel_km_is_reported() -> None:
    assert_reports(with_visit(1, 0, travel_km=55.4), "travel_km")  # the geodesic, not road km


def test_wrong_travel_minutes_is_reported() -> None:
    assert_reports(with_visit(1, 0, travel_minutes=60.0), "travel_minutes")


def test_wrong_return_leg_is_reported() -> None:
    ret = replace(RETURN_ALICE, travel_km=2019.8)  # road km stated for a flight
    [v] = assert_reports(with_route(0, return_leg=ret), "travel_km")
    assert "return" in v.message and v.order_id is None


def test_travel_through_rest_is_reported() -> None:
    # Alice leaves A at 17:00 for the 329.9-min flight: 60 min of work time remain before the
    # 18:00 rest, so arriving at 22:29:52 the same evening travels through the rest.
    plan = with_visit(0, 1, departure=t(4, 17), arrival=t(4, 22, 29, 52), overtime_minutes=60.0)
    assert_reports(plan, "travel_outside_work_time")


def test_arrival_much_later_than_travel_allows_is_a_soft_finding() -> None:
    plan = with_visit(1, 0, arrival=t(4, 9, 30), slack_minutes=-30.0)
    plan = replace(plan, late=(replace(PLAN.late[0], minutes_late=30.0),))
    [v] = assert_reports(plan, "arrival_after_travel_end")
    assert not v.hard
    assert all(not x.hard for x in check_plan(PROBLEM, plan))


def test_return_may_continue_after_the_last_work_window() -> None:
    # Alice serves B 15:00-17:00 on 5 Mar and flies home at 17:30: 30 min of work time are
    # left before 18:00, the rest of the 334.3 min continues without rest, arriving 23:04:18.
    plan = with_visit(0, 1, start=t(5, 15), end=t(5, 17))
    ret = replace(RETURN_ALICE, departure=t(5, 17, 30), arrival=t(5, 23, 4, 18))
    plan = replace(plan, routes=(replace(plan.routes[0], return_leg=ret), ROUTE_BOB))
    assert "travel_outside_work_time" not in codes(plan)
    assert "overnight_count" not in codes(plan)


# ------------------------------------------------------------------------- windows


def test_service_outside_work_window_is_reported() -> None:
    # B served at 17:36:23-19:36:23 the same evening: past 18:00 (shift end + 60 min overtime).
    plan = with_visit(0, 1, start=t(4, 17, 36, 23), end=t(4, 19, 36, 23))
    assert_reports(plan, "service_outside_work_window")


def test_service_outside_site_window_is_reported() -> None:
    # C open 10:00-12:00: 11:30-12:30 overruns the closing.
    plan = with_visit(1, 0, start=t(4, 11, 30), end=t(4, 12, 30))
    plan = with_route(
        1,
        visits=plan.routes[1].visits,
        return_leg=replace(RETURN_BOB, departure=t(4, 12, 30), arrival=t(4, 13, 36, 32)),
    )
    assert codes(plan) == {"service_outside_site_window"}


# ----------------------------------------------------------------------- deadlines


def test_wrong_deadline_is_reported() -> None:
    # Treating the overseas order as domestic (24 h instead of 72 h).
    assert_reports(with_visit(0, 1, deadline=t(5, 6)), "deadline_mismatch")


def test_wrong_on_time_flag_is_reported() -> None:
    [v] = assert_reports(with_visit(0, 0, on_time=False), "on_time_flag")
    assert v.order_id == "A"


def test_wrong_slack_is_reported() -> None:
    assert_reports(with_visit(0, 0, slack_minutes=1200.0), "slack_mismatch")


def test_wrong_visit_overtime_is_reported() -> None:
    assert_reports(with_visit(0, 1, overtime_minutes=0.0), "visit_overtime")


def test_late_visit_alone_is_not_a_violation() -> None:
    late = [v for v in check_plan(PROBLEM, PLAN) if v.order_id == "C"]
    assert late == []


# ----------------------------------------------------------------------- overnights


def test_missing_overnight_is_reported() -> None:
    plan = with_route(0, overnights=())
    assert_reports(replace(plan, kpis=replace(KPIS, hotel_nights=0)), "overnight_count")


def test_overnight_for_route_home_the_same_day_is_reported() -> None:
    night = Overnight("2024-03-04", at(32.0), hotel=False, place="home")
    assert_reports(with_route(1, overnights=(night,)), "overnight_count")


def test_hotel_night_at_home_is_reported() -> None:
    night = replace(NIGHT_AT_B, location=at(30.0), hotel=True)
    assert_reports(with_route(0, overnights=(night,)), "overnight_hotel")


def test_no_hotel_away_from_home_is_reported() -> None:
    night = replace(NIGHT_AT_B, hotel=False)
    plan = with_route(0, overnights=(night,))
    assert_reports(replace(plan, kpis=replace(KPIS, hotel_nights=0)), "overnight_hotel")


def test_overnight_at_wrong_place_is_reported() -> None:
    night = replace(NIGHT_AT_B, location=at(30.5))  # at site A, but she reached B at 17:36
    assert_reports(with_route(0, overnights=(night,)), "overnight_location")


def test_overnight_with_wrong_date_is_reported() -> None:
    night = replace(NIGHT_AT_B, night_of="2024-03-05")
    assert_reports(with_route(0, overnights=(night,)), "overnight_night_of")


# ---------------------------------------------------------------------------- KPIs


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("orders", 5),
        ("assigned", 4),
        ("on_time", 3),
        ("late", 0),
        ("unassigned", 0),
        ("engineers_used", 1),
        ("hotel_nights", 2),
        ("on_time_rate", 0.75),
        ("travel_km", 3300.0),
        ("travel_hours", 15.0),
        ("overtime_minutes", 40.0),
    ],
)
def test_wrong_kpi_is_reported(name: str, value: float) -> None:
    assert codes(with_kpis(**{name: value})) == {f"kpi_{name}"}


def test_kpis_within_tolerance_are_accepted() -> None:
    plan = with_kpis(
        travel_km=3270.0, travel_hours=14.44, overtime_minutes=37.0, on_time_rate=0.5004
    )
    assert check_plan(PROBLEM, plan) == []
