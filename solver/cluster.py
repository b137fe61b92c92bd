"""Where the parts of a decomposed solve run: a local process pool, or a Ray cluster.

Why: one machine improves as many parts at once as it has cores. With ``params.cluster``
set (:class:`~solver.params.SearchParams`), :func:`part_runner` sends each part to a Ray
cluster as a task of one CPU instead, so a cluster of several machines improves a round's
parts side by side; without it the parts run in a local process pool as before. Either way
the results come back in the order the parts were submitted, so the merge of a round (and a
solve under a solution limit) is the same wherever the parts ran.

Ray is imported only when a cluster is named: a machine that never names one needs no Ray.
The address is checked before any work (:func:`connect`), so a typo or an unreachable head
is a :class:`~solver.problem.ParamError` naming ``cluster`` at once, not after the first
phase, and not Ray's own minutes of reconnect attempts.

This module imports nothing from ``dispatcher`` or ``api``.
"""

from __future__ import annotations

import multiprocessing as mp
import socket
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol

from solver.params import SearchParams
from solver.problem import ParamError

# A task's process computes on one core: Ray sets OMP_NUM_THREADS to the task's CPUs, these
# keep the other thread pools a worker could start (BLAS behind numpy, numba) at one too, so
# a machine's Ray workers never ask for more cores than the CPUs the cluster counts.
ONE_THREAD = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
PROBE_TIMEOUT_S = 5.0  # how long the head's port may take to accept a connection
INSTALL_HINT = "pip install 'field-dispatch[cluster]' (the same version on every node)"


class PartRunner(Protocol):
    """Runs one function over many argument tuples, results in submission order."""

    @property
    def slots(self) -> int:
        """How many calls run at once (the waves of a round are counted with it)."""
        ...

    def map(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]) -> list[Any]:
        """``[fn(*job) for job in jobs]``, the calls side by side."""
        ...


class _Pool:
    """The local process pool: ``workers`` processes of this machine."""

    def __init__(self, pool: ProcessPoolExecutor, workers: int) -> None:
        self._pool = pool
        self._workers = workers

    @property
    def slots(self) -> int:
        return self._workers

    def map(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]) -> list[Any]:
        futures = [self._pool.submit(fn, *job) for job in jobs]
        return [f.result() for f in futures]


class _Ray:
    """Ray tasks of one CPU each on the connected cluster."""

    def __init__(self, ray: Any) -> None:
        self._ray = ray
        self._remote: dict[Callable[..., Any], Any] = {}

    @property
    def slots(self) -> int:
        # The cluster's CPUs now; an autoscaling cluster may grow, which only means the
        # round's time estimate (waves) was pessimistic.
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    def map(self, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]]) -> list[Any]:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._ray.remote(num_cpus=1, runtime_env={"env_vars": ONE_THREAD})(fn)
            self._remote[fn] = remote
        # Each part is a problem of its own, sent once: Ray puts arguments over 100 KB in the
        # object store by itself, so an explicit ray.put would save nothing here.
        refs = [remote.remote(*job) for job in jobs]
        return list(self._ray.get(refs))  # in submission order, whichever finished first


def probe(address: str) -> None:
    """Fail fast when nothing listens at ``HOST:PORT`` (Ray itself retries for minutes); a
    no-op for ``"local"`` and ``"auto"``. Cheap: a planner checks a named cluster with it even
    when the problem turns out too small to split, so a typo never goes unnoticed.

    Raises
    ------
    ParamError
        ``cluster``: nothing accepts a connection at the address.
    """
    if address in ("local", "auto"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ParamError(
            "cluster", f"could not reach a Ray cluster at {address!r}: {exc.strerror or exc}"
        ) from None


def connect(address: str) -> Any:
    """The ``ray`` module, connected to ``address`` (see ``SearchParams.cluster``).

    A process connects once and keeps the connection for its later solves (a Ray start-up
    takes seconds): when Ray is already initialised, that connection is used, whatever
    ``address`` says. ``"local"`` starts a Ray instance on this machine's cores, owned by
    this process (it ends with it).

    Raises
    ------
    ParamError
        ``cluster``: Ray is not installed, or no cluster answers at ``address``.
    """
    try:
        import ray
    except ImportError:
        raise ParamError(
            "cluster", f"a Ray cluster is named ({address!r}) but Ray is not installed: "
            f"{INSTALL_HINT}"
        ) from None  # fmt: skip
    if ray.is_initialized():
        return ray
    probe(address)
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
        )
    except (ConnectionError, ValueError) as exc:
        # ConnectionError: "auto" finds no cluster, or the head refuses this caller (Ray's
        # token authentication: InvalidAuthToken); ValueError: "ray://" without Ray Client
        # (pip install 'ray[client]').
        raise ParamError("cluster", f"could not connect to Ray at {address!r}: {exc}") from None
    return ray


@contextmanager
def part_runner(params: SearchParams, workers: int) -> Iterator[PartRunner]:
    """Where the parts run: Ray when ``params.cluster`` names a cluster (connected here, so
    a bad address fails before any search), else ``workers`` local processes started with
    ``params.start_method``."""
    if params.cluster is not None:
        yield _Ray(connect(params.cluster))
        return
    ctx = mp.get_context(params.start_method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield _Pool(pool, workers)
