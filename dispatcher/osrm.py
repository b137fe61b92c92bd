"""Road travel from an OSRM server behind the :class:`~dispatcher.travel.TravelTimes` port.

``policy.travel.provider = "osrm"`` sends the table service
(``/table/v1/driving/{lon,lat;...}?annotations=duration,distance``) every pair of points, in
blocks that respect the server's ``--max-table-size`` (``sources x destinations <= size²``),
several blocks at once (a thread pool), each with a timeout and retries. Durations (s) and
distances (m) become drive legs; the flight switch stays the travel model's: a leg whose road
km exceed ``max_drive_km`` is flown (``dispatcher.travel.leg``'s flight formula). A pair the
router cannot route (``null``, or an end further than :data:`MAX_SNAP_M` from any road)
falls back to the geodesic model and is counted (``meta.travel.fallback_pairs``), or, with
``unroutable = "error"``, raises :class:`~dispatcher.errors.TravelTimeError` (HTTP 502,
CLI exit 3), as does a router that does not answer.

Answers are cached per server (:class:`_Store`): a matrix over points already asked for
queries nothing; a new point costs its own row and column. docs/travel.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dispatcher.domain import Location, TravelParams
from dispatcher.errors import TravelTimeError
from dispatcher.travel import GeodesicTravelTimes, TravelMatrix, TravelTimes, geodesic_km

MAX_SNAP_M = 1000.0  # an end further than this from the road network is unroutable
# A directory for the cache's files (one per server): processes and runs then share answers.
CACHE_DIR_ENV = "DISPATCH_OSRM_CACHE_DIR"
MAX_CACHED_POINTS = 2000  # per server: 2 x 2000² float64 = 64 MB; beyond it the cache restarts
Key = tuple[float, float]  # (lat, lon) rounded to 1e-6 degrees (0.1 m)


def _key(p: Location) -> Key:
    return (round(p.lat, 6), round(p.lon, 6))


@dataclass
class Table:
    """Raw router answers for sources x destinations: seconds and metres (NaN: no route)
    and each end's distance to the road it was snapped to (m)."""

    duration_s: np.ndarray
    distance_m: np.ndarray
    snap_src_m: np.ndarray
    snap_dst_m: np.ndarray
    data_version: str | None
    requests: int


class OsrmClient:
    """The table service of one OSRM server, chunked and concurrent."""

    def __init__(
        self,
        url: str,
        max_table_size: int = 100,
        workers: int = 8,
        timeout_s: float = 30.0,
        retries: int = 2,
    ) -> None:
        self.url = url.rstrip("/")
        self.block = max(1, max_table_size)
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.retries = retries

    def _get(self, coords: Sequence[Key], sources: range, destinations: range) -> dict[str, Any]:
        text = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in coords)
        query = "annotations=duration,distance"
        if len(sources) != len(coords) or len(destinations) != len(coords):
            query += "&sources=" + ";".join(map(str, sources))
            query += "&destinations=" + ";".join(map(str, destinations))
        request = f"{self.url}/table/v1/driving/{text}?{query}"
        failure = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(0.2 * 2 ** (attempt - 1))
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    body: dict[str, Any] = json.loads(response.read())
                    return body
            except urllib.error.HTTPError as exc:
                try:
                    detail = json.loads(exc.read())
                    failure = f"{detail.get('code')}: {detail.get('message')}"
                except (ValueError, OSError):
                    failure = f"HTTP {exc.code}"
                if exc.code < 500:
                    break  # the request is wrong (TooBig, InvalidQuery…): asking again won't help
            except (OSError, ValueError) as exc:  # refused, timed out, reset, not JSON
                failure = str(getattr(exc, "reason", exc))
        raise TravelTimeError(
            f"travel provider OSRM at {self.url} failed after {attempt + 1} attempt(s): {failure}"
        )

    def table(self, sources: Sequence[Key], destinations: Sequence[Key]) -> Table:
        """Every source to every destination, ``max_table_size`` x ``max_table_size`` at
        a time (``sources`` may be the same list as ``destinations``)."""
        ns, nd = len(sources), len(destinations)
        dur = np.full((ns, nd), np.nan)
        dist = np.full((ns, nd), np.nan)
        snap_s = np.zeros(ns)
        snap_d = np.zeros(nd)
        same = sources is destinations
        b = self.block
        jobs = [(i, j) for i in range(0, ns, b) for j in range(0, nd, b)]
        versions: set[str | None] = set()

        def one(job: tuple[int, int]) -> None:
            i, j = job
            src, dst = sources[i : i + b], destinations[j : j + b]
            if same and i == j and len(src) > 1:  # OSRM wants two coordinates at least
                body = self._get(src, range(len(src)), range(len(src)))
            else:
                coords = [*src, *dst]
                body = self._get(coords, range(len(src)), range(len(src), len(coords)))
            if body.get("code") != "Ok":
                raise TravelTimeError(
                    f"travel provider OSRM at {self.url} answered {body.get('code')}: "
                    f"{body.get('message')}"
                )
            dur[i : i + len(src), j : j + len(dst)] = np.array(body["durations"], dtype=float)
            dist[i : i + len(src), j : j + len(dst)] = np.array(body["distances"], dtype=float)
            snap_s[i : i + len(src)] = [w.get("distance") or 0.0 for w in body["sources"]]
            snap_d[j : j + len(dst)] = [w.get("distance") or 0.0 for w in body["destinations"]]
            versions.add(body.get("data_version"))

        if len(jobs) == 1:
            one(jobs[0])
        elif jobs:
            with ThreadPoolExecutor(min(self.workers, len(jobs))) as pool:
                for future in [pool.submit(one, job) for job in jobs]:
                    future.result()
        version = sorted(versions, key=str)[-1] if versions else None
        return Table(dur, dist, snap_s, snap_d, version, len(jobs))


class _Store:
    """One server's answers for every pair of the points asked for so far; kept in
    ``path`` too when :data:`CACHE_DIR_ENV` names a directory (shared by processes)."""

    def __init__(self, path: Path | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        self.mtime: float | None = None
        self.reset()

    def reset(self) -> None:
        self.mtime = None
        self.index: dict[Key, int] = {}
        self.keys: list[Key] = []
        self.dur = np.empty((0, 0))
        self.dist = np.empty((0, 0))
        self.snap = np.empty(0)
        self.version: str | None = None

    def grow(self, new: list[Key]) -> None:
        n0, n = len(self.keys), len(self.keys) + len(new)
        for name in ("dur", "dist"):
            grown = np.full((n, n), np.nan)
            grown[:n0, :n0] = getattr(self, name)
            setattr(self, name, grown)
        self.snap = np.concatenate([self.snap, np.zeros(len(new))])
        for k in new:
            self.index[k] = len(self.keys)
            self.keys.append(k)

    def load(self) -> None:
        """Take the file's answers when another process (or an earlier run) wrote newer ones."""
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime
            if mtime == self.mtime:
                return
            with np.load(self.path) as f:
                keys = [(float(a), float(b)) for a, b in f["keys"]]
                dur, dist, snap = f["dur"], f["dist"], f["snap"]
                version = str(f["version"]) or None
        except (OSError, KeyError, ValueError):
            return  # no file yet, or one being replaced: ask the router
        self.reset()
        self.keys, self.index = keys, {k: i for i, k in enumerate(keys)}
        self.dur, self.dist, self.snap, self.version = dur, dist, snap, version
        self.mtime = mtime

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f"{self.path.stem}.{os.getpid()}.{threading.get_ident()}.tmp.npz")
        np.savez(tmp, keys=np.array(self.keys, dtype=np.float64).reshape(-1, 2), dur=self.dur,
                 dist=self.dist, snap=self.snap, version=np.array(self.version or ""))  # fmt: skip
        os.replace(tmp, self.path)
        self.mtime = self.path.stat().st_mtime


_STORES: dict[str, _Store] = {}
_STORES_LOCK = threading.Lock()


def clear_cache() -> None:
    """Forget every cached answer (tests, or after a server's data changed)."""
    with _STORES_LOCK:
        _STORES.clear()


def _store(url: str) -> _Store:
    url = url.rstrip("/")
    with _STORES_LOCK:
        if url not in _STORES:
            folder = os.environ.get(CACHE_DIR_ENV)
            name = f"osrm-{hashlib.sha256(url.encode()).hexdigest()[:16]}.npz"
            _STORES[url] = _Store(Path(folder) / name if folder else None)
        return _STORES[url]


@dataclass
class Stats:
    """What the last matrix cost and how much of it is not the router's."""

    requests: int = 0
    queried_pairs: int = 0
    cached_pairs: int = 0
    fallback_pairs: int = 0
    data_version: str | None = None


class OsrmTravelTimes:
    """Road legs from OSRM up to ``max_drive_km``, flights beyond (see the module doc)."""

    def __init__(
        self,
        params: TravelParams,
        *,
        cache: bool = True,
        workers: int = 8,
        timeout_s: float = 30.0,
        retries: int = 2,
        max_snap_m: float = MAX_SNAP_M,
    ) -> None:
        if not params.url:
            raise TravelTimeError("travel provider osrm needs policy.travel.url")
        self.params = params
        self.client = OsrmClient(params.url, params.max_table_size, workers, timeout_s, retries)
        self.cache = cache
        self.max_snap_m = max_snap_m
        self.stats = Stats()

    def _raw(self, keys: list[Key]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Router seconds, metres and snap distances for ``keys`` x ``keys``."""
        unique = list(dict.fromkeys(keys))
        if not self.cache:
            t = self.client.table(unique, unique)
            self.stats = Stats(t.requests, len(unique) ** 2, 0, 0, t.data_version)
            if len(unique) == len(keys):
                return t.duration_s, t.distance_m, t.snap_src_m
            where = {k: i for i, k in enumerate(unique)}
            pos = [where[k] for k in keys]
            ix = np.ix_(pos, pos)
            return t.duration_s[ix], t.distance_m[ix], t.snap_src_m[pos]
        store = _store(self.client.url)
        with store.lock:
            store.load()
            try:
                return self._cached(store, keys, unique)
            except BaseException:
                store.reset()  # half-filled answers must not pass for cached ones
                raise

    def _cached(
        self, store: _Store, keys: list[Key], unique: list[Key]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`_raw` from ``store`` (locked), asking the router for new points only."""
        new = [k for k in unique if k not in store.index]
        if len(store.keys) + len(new) > MAX_CACHED_POINTS:
            store.reset()
            new = unique
        requests = queried = 0
        version = store.version
        if new:
            old = list(store.keys)
            store.grow(new)
            n0 = len(old)
            rows = self.client.table(new, store.keys)  # new -> everything
            store.dur[n0:, :] = rows.duration_s
            store.dist[n0:, :] = rows.distance_m
            store.snap[n0:] = rows.snap_src_m
            requests, queried = rows.requests, len(new) * len(store.keys)
            version = rows.data_version
            if old:
                cols = self.client.table(old, new)  # everything else -> new
                store.dur[:n0, n0:] = cols.duration_s
                store.dist[:n0, n0:] = cols.distance_m
                requests += cols.requests
                queried += n0 * len(new)
                if store.version != version:  # the server's data changed: start again
                    store.reset()
                    return self._cached(store, keys, unique)
            store.version = version
            store.save()
        pos = [store.index[k] for k in keys]
        n = len(unique)
        self.stats = Stats(requests, queried, n * n - min(queried, n * n), 0, version)
        ix = np.ix_(pos, pos)
        return store.dur[ix].copy(), store.dist[ix].copy(), store.snap[pos].copy()

    def matrix(self, points: Sequence[Location]) -> TravelMatrix:
        keys = [_key(p) for p in points]
        dur, dist, snap = self._raw(keys)
        p = self.params
        lat = np.array([k[0] for k in keys], dtype=np.float64)
        lon = np.array([k[1] for k in keys], dtype=np.float64)
        geo = geodesic_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
        n = len(keys)
        same = (lat[:, None] == lat[None, :]) & (lon[:, None] == lon[None, :])
        geo[same] = 0.0
        snapped = snap <= self.max_snap_m
        routed = np.isfinite(dur) & np.isfinite(dist) & snapped[:, None] & snapped[None, :]
        routed |= same
        dur = np.where(same, 0.0, dur)
        dist = np.where(same, 0.0, dist)
        sure_flight = geo > p.max_drive_km  # a road is never shorter than the geodesic
        fallback = ~routed & ~sure_flight
        count = int(fallback.sum())
        if count and p.unroutable == "error":
            i, j = (int(x[0]) for x in np.nonzero(fallback))
            raise TravelTimeError(
                f"travel provider OSRM at {self.client.url} cannot route {count} pair(s), e.g. "
                f"({lat[i]}, {lon[i]}) -> ({lat[j]}, {lon[j]}) (policy.travel.unroutable = error)"
            )
        road_km = np.where(routed, dist / 1000.0, geo * p.circuity)
        drive_s = np.where(routed, dur, geo * p.circuity / p.drive_kmh * 3600.0)
        flight = road_km > p.max_drive_km
        km = np.where(flight, geo, road_km)
        hours_fly = p.flight_overhead_h + geo / p.flight_kmh
        seconds = np.rint(np.where(flight, hours_fly * 3600.0, drive_s)).astype(np.int64)
        self.stats.fallback_pairs = count
        assert seconds.shape == (n, n)
        return TravelMatrix(seconds=seconds, km=km, flight=flight)

    def describe(self) -> dict[str, object]:
        """The provider and the last matrix's cost, for a plan's ``meta.travel``."""
        s = self.stats
        return {
            "provider": "osrm",
            "url": self.client.url,
            "data_version": s.data_version,
            "fallback_pairs": s.fallback_pairs,
            "requests": s.requests,
            "queried_pairs": s.queried_pairs,
            "cached_pairs": s.cached_pairs,
        }


def travel_times(params: TravelParams, *, cache: bool = True) -> TravelTimes:
    """The provider ``params.provider`` names."""
    if params.provider == "osrm":
        return OsrmTravelTimes(params, cache=cache)
    return GeodesicTravelTimes(params)


def describe(travel: TravelTimes) -> dict[str, object]:
    """``meta.travel`` of a plan made with ``travel``."""
    described = getattr(travel, "describe", None)
    if callable(described):
        out: dict[str, object] = described()
        return out
    return {"provider": "geodesic" if isinstance(travel, GeodesicTravelTimes) else "custom"}
