"""Travel model (docs/travel.md) behind the :class:`TravelTimes` port.

The default provider is geodesic: Lambert's ellipsoidal formula on WGS-84,
vectorised over all pairs with numpy (about 10 m from ``geopy.distance.geodesic``
at continental distances), then road circuity and a drive/flight switch.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from dispatcher.domain import Location, Plan, Problem, TravelParams

WGS84_A_KM = 6378.137
WGS84_F = 1 / 298.257223563
# Pairs per row block of an [n, n] computation (dispatcher.compile.arc_costs).
BLOCK_PAIRS = 1 << 20


@dataclass(frozen=True)
class TravelMatrix:
    """Door-to-door travel between every pair of points.

    ``seconds`` and ``km`` are travelled distance and time (road km for drives,
    geodesic km for flights); ``flight[i, j]`` says the leg is flown.
    """

    seconds: np.ndarray  # int64 [n, n]
    km: np.ndarray  # float64 [n, n]
    flight: np.ndarray  # bool [n, n]


class TravelTimes(Protocol):
    """Port for travel-time providers (geodesic model, OSRM/Valhalla tables…)."""

    def matrix(self, points: Sequence[Location]) -> TravelMatrix: ...


def geodesic_km(lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike) -> np.ndarray:
    """Ellipsoidal distance in km (Lambert's formula), broadcasting over arrays.

    One arcsine per pair and nothing else transcendental: the sines and cosines of half the
    reduced latitudes and of half the longitudes are taken per point (broadcasting keeps them
    ``[n, 1]`` and ``[1, m]``), and those of their sums and differences come from the angle
    addition formulas; the half central angle's come from the haversine ``h`` itself
    (``sin² = h``). Nine sines and cosines per pair were 90 % of a 6,000-point matrix's
    time (issue 25). Swapping the ends negates the differences' sines and permutes the
    sums' terms, so the distance stays symmetric to the bit (:meth:`GeodesicTravelTimes.matrix`
    computes one triangle).
    """
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    half_b1 = np.arctan((1 - WGS84_F) * np.tan(phi1)) / 2  # half the reduced latitudes
    half_b2 = np.arctan((1 - WGS84_F) * np.tan(phi2)) / 2
    s1, c1 = np.sin(half_b1), np.cos(half_b1)
    s2, c2 = np.sin(half_b2), np.cos(half_b2)
    sin_q = s2 * c1 - c2 * s1  # q = (b2 - b1) / 2
    cos_q = c2 * c1 + s2 * s1
    sin_p = s1 * c2 + c1 * s2  # p = (b1 + b2) / 2
    cos_p = c1 * c2 - s1 * s2
    cos_b1, cos_b2 = c1 * c1 - s1 * s1, c2 * c2 - s2 * s2
    half_l1, half_l2 = np.radians(lon1) / 2, np.radians(lon2) / 2
    sin_half_dlmb = np.sin(half_l2) * np.cos(half_l1) - np.cos(half_l2) * np.sin(half_l1)
    sin_q2 = sin_q**2
    # Central angle between reduced latitudes (haversine form: stable for short legs).
    h = np.clip(sin_q2 + cos_b1 * cos_b2 * sin_half_dlmb**2, 0.0, 1.0)
    root_h = np.sqrt(h)
    sigma = 2 * np.arcsin(root_h)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_half = 1.0 - h  # cos²(sigma / 2)
        sin_sigma = 2 * root_h * np.sqrt(cos_half)
        x = (sigma - sin_sigma) * sin_p**2 * cos_q**2 / cos_half
        y = (sigma + sin_sigma) * cos_p**2 * sin_q2 / h
        d = WGS84_A_KM * (sigma - WGS84_F / 2 * (x + y))
    # Coincident points give 0/0, antipodes x/0: fall back to the spherical value there.
    fallback = WGS84_A_KM * (1 - WGS84_F / 3) * sigma
    return np.where(np.isfinite(d), d, fallback)


def leg(params: TravelParams, geo_km: float) -> tuple[str, float, float]:
    """(mode, travelled km, seconds) of one leg of ``geo_km`` geodesic km."""
    road = geo_km * params.circuity
    if road <= params.max_drive_km:
        return "drive", road, road / params.drive_kmh * 3600.0
    return "flight", geo_km, (params.flight_overhead_h + geo_km / params.flight_kmh) * 3600.0


class GeodesicTravelTimes:
    """The embedded travel model: geodesic km × circuity by road, else a flight."""

    def __init__(self, params: TravelParams, tile: int = 512) -> None:
        self.params = params
        self.tile = tile  # side of the square tiles :meth:`matrix` computes at once

    def describe(self) -> dict[str, object]:
        return {"provider": "geodesic"}

    def matrix(self, points: Sequence[Location]) -> TravelMatrix:
        """Every pair, in square tiles of the upper triangle, each mirrored to the lower one.

        Why tiles: the formula's dozen ``[n, n]`` float64 temporaries took 2.5 GB at 6,000
        points (5,000 orders / 500 engineers); a tile of ``tile`` x ``tile`` pairs keeps them
        at a few MB, and its transpose stays in the cache. Why the triangle: the formula is
        symmetric to the bit (it negates only differences whose sine it squares), so half the
        pairs give every entry.
        """
        n = len(points)
        lat = np.fromiter((p.lat for p in points), dtype=np.float64, count=n)
        lon = np.fromiter((p.lon for p in points), dtype=np.float64, count=n)
        seconds = np.empty((n, n), dtype=np.int64)
        km = np.empty((n, n), dtype=np.float64)
        flight = np.empty((n, n), dtype=np.bool_)
        step = max(1, self.tile)
        for a in range(0, n, step):
            rows = slice(a, min(n, a + step))
            for b in range(a, n, step):
                cols = slice(b, min(n, b + step))
                geo = geodesic_km(
                    lat[rows, None], lon[rows, None], lat[None, cols], lon[None, cols]
                )
                if a == b:
                    np.fill_diagonal(geo, 0.0)
                self._legs(geo, seconds[rows, cols], km[rows, cols], flight[rows, cols])
                if a != b:
                    seconds[cols, rows] = seconds[rows, cols].T
                    km[cols, rows] = km[rows, cols].T
                    flight[cols, rows] = flight[rows, cols].T
        return TravelMatrix(seconds=seconds, km=km, flight=flight)

    def _legs(
        self, geo: np.ndarray, seconds: np.ndarray, km: np.ndarray, flight: np.ndarray
    ) -> None:
        """Mode, travelled km and whole seconds of legs of ``geo`` geodesic km, written into
        the three arrays (views of the matrix)."""
        p = self.params
        road = geo * p.circuity
        np.greater(road, p.max_drive_km, out=flight)
        np.copyto(km, np.where(flight, geo, road))
        hours = np.where(flight, p.flight_overhead_h + geo / p.flight_kmh, road / p.drive_kmh)
        np.copyto(seconds, np.rint(hours * 3600.0).astype(np.int64))


def plan_leg_ends(problem: Problem, plan: Plan) -> list[tuple[Location, Location]]:
    """(from, to) of every leg of ``plan``, route by route: its visits, then the way home."""
    orders = {o.id: o for o in problem.orders}
    out = []
    for route in plan.routes:
        engineer = problem.engineer(route.engineer_id)
        here = route.start_location or (engineer.start_location if engineer else None)
        for v in route.visits:
            order = orders.get(v.order_id)
            if order is not None and here is not None:
                out.append((here, order.site.location))
            here = order.site.location if order else None
        if route.return_leg is not None and here is not None and engineer is not None:
            out.append((here, engineer.home))
    return out


def legs_digest(legs: Iterable[tuple[Location, Location, int, float, bool]]) -> str:
    """SHA-256 of the travel matrix entries a plan uses: per leg its ends, whole seconds,
    km to the metre and mode (``meta.travel.matrix_digest``; the checker recomputes it from
    the provider's answers, docs/travel.md)."""
    h = hashlib.sha256()
    for a, b, seconds, km, flight in legs:
        line = f"{a.lat:.6f},{a.lon:.6f};{b.lat:.6f},{b.lon:.6f};{seconds};{km:.3f};{int(flight)}"
        h.update(line.encode() + b"\n")
    return "sha256:" + h.hexdigest()


def matrix_legs_digest(
    points: Sequence[Location], tm: TravelMatrix, legs: Iterable[tuple[Location, Location]]
) -> str:
    """:func:`legs_digest` of ``legs`` looked up in ``tm`` (the matrix over ``points``)."""
    index = {(p.lat, p.lon): i for i, p in enumerate(points)}
    rows = []
    for a, b in legs:
        i, j = index.get((a.lat, a.lon)), index.get((b.lat, b.lon))
        if i is None or j is None:
            rows.append((a, b, -1, -1.0, False))  # not in the matrix: cannot match
        else:
            rows.append((a, b, int(tm.seconds[i, j]), float(tm.km[i, j]), bool(tm.flight[i, j])))
    return legs_digest(rows)
