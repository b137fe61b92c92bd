"""The vectorised travel model against geopy's geodesic and the DESIGN.md rules."""

from __future__ import annotations

import numpy as np
import pytest
from geopy.distance import geodesic

from dispatcher.domain import Location, TravelParams
from dispatcher.travel import GeodesicTravelTimes, geodesic_km, leg

CITIES = {
    "Jinan": (36.651, 117.120),
    "Beijing": (39.904, 116.407),
    "Shanghai": (31.230, 121.474),
    "Urumqi": (43.825, 87.617),
    "Guangzhou": (23.129, 113.264),
    "Jakarta": (-6.200, 106.817),
    "Almaty": (43.238, 76.946),
    "Tashkent": (41.299, 69.240),
    "Qingdao": (36.067, 120.383),
}


@pytest.mark.parametrize(
    "a,b",
    [
        ("Jinan", "Beijing"),
        ("Jinan", "Qingdao"),
        ("Shanghai", "Urumqi"),
        ("Guangzhou", "Jakarta"),
        ("Beijing", "Tashkent"),
        ("Urumqi", "Almaty"),
    ],
)
def test_distance_matches_geopy_geodesic_within_0_05_percent(a: str, b: str) -> None:
    # Lambert's formula is within ~10 m over thousands of km; 0.05 % (0.5 m per km) is the
    # tolerance we promise, and 50 m absolute for short legs.
    (la, oa), (lb, ob) = CITIES[a], CITIES[b]
    ours = float(geodesic_km(la, oa, lb, ob))
    ref = geodesic((la, oa), (lb, ob)).km
    assert abs(ours - ref) <= max(0.0005 * ref, 0.05), (ours, ref)


def test_matrix_is_symmetric_with_zero_diagonal() -> None:
    points = [Location(*c) for c in CITIES.values()]
    m = GeodesicTravelTimes(TravelParams()).matrix(points)
    assert np.array_equal(m.seconds, m.seconds.T)
    assert np.all(np.diag(m.seconds) == 0) and np.all(np.diag(m.km) == 0)


def test_short_leg_is_driven_at_drive_speed_with_circuity() -> None:
    # Jinan-Qingdao: ~306 km geodesic x 1.3 = ~398 km road <= 600 -> drive at 65 km/h.
    p = TravelParams()
    geo = geodesic(CITIES["Jinan"], CITIES["Qingdao"]).km
    mode, km, seconds = leg(p, geo)
    assert mode == "drive"
    assert km == pytest.approx(geo * 1.3)
    assert seconds == pytest.approx(geo * 1.3 / 65 * 3600)


def test_long_leg_is_flown_with_airport_overhead() -> None:
    # Shanghai-Urumqi: ~3270 km geodesic -> 3.5 h + km / 750.
    p = TravelParams()
    geo = geodesic(CITIES["Shanghai"], CITIES["Urumqi"]).km
    mode, km, seconds = leg(p, geo)
    assert mode == "flight"
    assert km == pytest.approx(geo)
    assert seconds == pytest.approx((3.5 + geo / 750) * 3600)


def test_matrix_switches_mode_at_max_drive_km() -> None:
    # Two points 1 deg of latitude apart at the equator: 110.57 km geodesic.
    points = [Location(0.0, 0.0), Location(1.0, 0.0)]
    drive = GeodesicTravelTimes(TravelParams(circuity=1.0, max_drive_km=200)).matrix(points)
    fly = GeodesicTravelTimes(TravelParams(circuity=1.0, max_drive_km=100)).matrix(points)
    assert not drive.flight[0, 1] and fly.flight[0, 1]
    assert drive.seconds[0, 1] == round(110.574 / 65 * 3600)
    assert fly.seconds[0, 1] == round((3.5 + 110.574 / 750) * 3600)


def test_coincident_and_antipodal_points_are_finite() -> None:
    assert float(geodesic_km(10.0, 20.0, 10.0, 20.0)) == 0.0
    far = float(geodesic_km(0.0, 0.0, 0.0, 180.0))
    assert 19_900 < far < 20_100
