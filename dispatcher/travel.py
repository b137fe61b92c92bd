"""Travel model (docs/travel.md) behind the :class:`TravelTimes` port.

The default provider is geodesic: Lambert's ellipsoidal formula on WGS-84,
vectorised over all pairs with numpy (about 10 m from ``geopy.distance.geodesic``
at continental distances), then road circuity and a drive/flight switch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

from dispatcher.domain import Location, TravelParams

WGS84_A_KM = 6378.137
WGS84_F = 1 / 298.257223563


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
    """Ellipsoidal distance in km (Lambert's formula), broadcasting over arrays."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    dlmb = np.radians(lon2) - np.radians(lon1)
    b1 = np.arctan((1 - WGS84_F) * np.tan(phi1))
    b2 = np.arctan((1 - WGS84_F) * np.tan(phi2))
    # Central angle between reduced latitudes (haversine form: stable for short legs).
    h = np.sin((b2 - b1) / 2) ** 2 + np.cos(b1) * np.cos(b2) * np.sin(dlmb / 2) ** 2
    sigma = 2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    p = (b1 + b2) / 2
    q = (b2 - b1) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_half = np.cos(sigma / 2) ** 2
        sin_half = np.sin(sigma / 2) ** 2
        x = (sigma - np.sin(sigma)) * np.sin(p) ** 2 * np.cos(q) ** 2 / cos_half
        y = (sigma + np.sin(sigma)) * np.cos(p) ** 2 * np.sin(q) ** 2 / sin_half
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

    def __init__(self, params: TravelParams) -> None:
        self.params = params

    def matrix(self, points: Sequence[Location]) -> TravelMatrix:
        lat = np.fromiter((p.lat for p in points), dtype=np.float64, count=len(points))
        lon = np.fromiter((p.lon for p in points), dtype=np.float64, count=len(points))
        geo = geodesic_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        np.fill_diagonal(geo, 0.0)
        p = self.params
        road = geo * p.circuity
        flight = road > p.max_drive_km
        km = np.where(flight, geo, road)
        hours = np.where(flight, p.flight_overhead_h + geo / p.flight_kmh, road / p.drive_kmh)
        seconds = np.rint(hours * 3600.0).astype(np.int64)
        return TravelMatrix(seconds=seconds, km=km, flight=flight)
