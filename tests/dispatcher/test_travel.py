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


@pytest.mark.parametrize("metres", [1.0, 30.0, 500.0, 20_000.0])
@pytest.mark.parametrize("lat", [0.0, 36.6, -60.0, 80.0])
def test_short_legs_match_geopy_to_the_centimetre(metres: float, lat: float) -> None:
    """The angle-addition form loses no accuracy where differences of nearly equal sines
    could cancel: legs of a metre to 20 km, north-east, at the equator and near the poles."""
    step = metres / 111_000.0
    ours = float(geodesic_km(lat, 10.0, lat + step, 10.0 + step))
    ref = geodesic((lat, 10.0), (lat + step, 10.0 + step)).km
    assert abs(ours - ref) <= 1e-5 + 0.0005 * ref, (ours, ref)


def test_distance_is_symmetric_to_the_bit() -> None:
    """The matrix computes one triangle and mirrors it: that needs d(a, b) == d(b, a) exactly."""
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(-89.0, 89.0, 400), rng.uniform(-180.0, 180.0, 400)
    d = geodesic_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    assert np.array_equal(d, d.T)


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


def _dense_matrix(params: TravelParams, points: list[Location]) -> tuple[np.ndarray, ...]:
    """The whole matrix in one broadcast, as the model was computed before the row blocks."""
    lat = np.asarray([p.lat for p in points])
    lon = np.asarray([p.lon for p in points])
    geo = geodesic_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    np.fill_diagonal(geo, 0.0)
    road = geo * params.circuity
    flight = road > params.max_drive_km
    km = np.where(flight, geo, road)
    hours = np.where(
        flight, params.flight_overhead_h + geo / params.flight_kmh, road / params.drive_kmh
    )
    return np.rint(hours * 3600.0).astype(np.int64), km, flight


@pytest.mark.parametrize("tile", [1, 7, 512])
def test_tiles_give_exactly_the_dense_matrix(tile: int) -> None:
    # 300 points over China and its neighbours (drives and flights), a few coincident.
    rng = np.random.default_rng(3)
    pts = [
        Location(float(a), float(o))
        for a, o in zip(rng.uniform(-10, 50, 300), rng.uniform(70, 135, 300), strict=True)
    ]
    pts += pts[:5]
    params = TravelParams()
    tm = GeodesicTravelTimes(params, tile=tile).matrix(pts)
    seconds, km, flight = _dense_matrix(params, pts)
    assert (tm.seconds == seconds).all()
    assert (tm.km == km).all()
    assert (tm.flight == flight).all()
    assert tm.flight.any() and not tm.flight.all()


@pytest.mark.parametrize("block", [1, 5, 1 << 20])
def test_arc_costs_in_row_blocks_equal_the_dense_ones(block: int) -> None:
    from dispatcher.compile import arc_costs

    rng = np.random.default_rng(5)
    pts = [
        Location(float(a), float(o))
        for a, o in zip(rng.uniform(0, 45, 120), rng.uniform(75, 130, 120), strict=True)
    ]
    tm = GeodesicTravelTimes(TravelParams()).matrix(pts)
    dense = np.rint(tm.seconds * (40.0 / 3600.0) + tm.km * 0.7).astype(np.int64)
    got = arc_costs(tm, 40.0, 0.7, block_pairs=block * len(pts))
    assert got.dtype == np.int64 and (got == dense).all()
