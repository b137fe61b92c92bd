"""The parts of a decomposed solve on a Ray cluster (solver/cluster.py): a real Ray head of
2 CPUs on this machine, started once for this module; the same plan as the local process
pool."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from dispatcher.codec import problem_from_dict
from dispatcher.errors import InputError
from dispatcher.generate import generate_problem
from dispatcher.planner import PlanOptions, plan_problem
from solver.cluster import connect, part_runner
from solver.params import SearchParams
from solver.problem import ParamError

# The decomposition test of tests/dispatcher/test_planner.py: 60 orders, 8 engineers, two
# parts, a solution limit (two rounds of parts, deterministic).
DECOMPOSED = PlanOptions(
    time_limit_s=60, solution_limit=30, metaheuristic="GREEDY_DESCENT", parts=2
)


def _worker_facts(k: int) -> tuple[int, int, str | None, str | None]:
    """A Ray task's own view: its argument, its process, its thread settings. Earlier
    arguments take longer, so that they finish last."""
    time.sleep(0.1 * (3 - k))
    return k, os.getpid(), os.environ.get("OMP_NUM_THREADS"), os.environ.get("NUMBA_NUM_THREADS")


@pytest.mark.parametrize("address", ["local", "auto", "head:6379", "ray://10.0.0.5:10001"])
def test_cluster_takes_local_auto_and_host_port_addresses(address: str) -> None:
    assert SearchParams(cluster=address).cluster == address


@pytest.mark.parametrize("address", ["", "head", "ray://", "http://head:8265", "head:port", 6379])
def test_cluster_rejects_what_is_not_a_ray_address(address: Any) -> None:
    with pytest.raises(ParamError, match="cluster") as info:
        SearchParams(cluster=address)
    assert info.value.field == "cluster"


def test_cluster_without_ray_installed_is_a_param_error_naming_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ParamError) as info:
        connect("local")
    assert info.value.field == "cluster"
    assert "not installed" in info.value.message and "field-dispatch[cluster]" in info.value.message


# Before the module's cluster starts: a process that is connected to Ray keeps its connection
# whatever address is named (solver.cluster.connect).
def test_unreachable_cluster_is_an_input_error_naming_cluster_before_any_search() -> None:
    import ray

    assert not ray.is_initialized()
    problem = problem_from_dict(generate_problem(20, 3, seed=1))
    # Port 1 on this machine: nothing listens, the connection is refused at once (Ray itself
    # would retry for minutes).
    options = PlanOptions(
        time_limit_s=60, solution_limit=5, parts=2, cluster="127.0.0.1:1", fix_budget_s=0
    )
    started = time.perf_counter()
    with pytest.raises(InputError) as info:
        plan_problem(problem, options)
    assert info.value.path == "cluster"
    assert "127.0.0.1:1" in str(info.value)
    assert not ray.is_initialized()
    # Not after a first phase of the search: that alone is a model build and 5 solutions.
    assert time.perf_counter() - started < 30


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """The address of a Ray head of 2 CPUs started for this module (``ray start --head`` in
    a process of its own, as on a cluster's head machine); the test process connects to it
    through :func:`solver.cluster.connect` like any caller naming ``HOST:PORT``."""
    import ray

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # A short temp dir: Ray's unix socket paths must fit in 107 bytes.
    temp = tempfile.mkdtemp(prefix="ray")
    # Ray's token authentication off for this private head: the head and this process would
    # otherwise need to share a token (docs/operations.md).
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    command = [str(Path(sys.executable).with_name("ray")), "start", "--head", f"--port={port}"]
    command += ["--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats"]
    command += [f"--temp-dir={temp}", "--object-store-memory=200000000", "--block"]
    head = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    # This module's functions reach the workers by value: tests/ is not a package they import.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("RAY_AUTH_MODE", "disabled")
            deadline = time.monotonic() + 120  # a generous start-up on a loaded machine
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert head.poll() is None, "ray start --head exited"
                    assert time.monotonic() < deadline, "the Ray head did not start in 120 s"
                    time.sleep(0.5)
            yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        head.terminate()  # `ray start --block` stops the head's processes on SIGTERM
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)  # its own session: only the head's processes
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def test_parts_run_in_ray_workers_of_one_thread_results_in_submission_order(
    ray_cluster: str,
) -> None:
    with part_runner(SearchParams(cluster=ray_cluster), workers=3) as runner:
        assert runner.slots == 2  # the cluster's CPUs, not the local workers
        facts = runner.map(_worker_facts, [(k,) for k in range(4)])
    assert [k for k, *_ in facts] == [0, 1, 2, 3]
    assert all(pid != os.getpid() for _, pid, *_ in facts)
    assert {(omp, numba) for *_, omp, numba in facts} == {("1", "1")}


def test_decomposed_plan_on_ray_is_the_local_pools_plan_and_passes_the_checker(
    ray_cluster: str, solve_checked: Callable[..., Any]
) -> None:
    problem = problem_from_dict(generate_problem(60, 8, seed=3))
    local = solve_checked(problem, DECOMPOSED)
    remote = solve_checked(problem, replace(DECOMPOSED, cluster=ray_cluster))
    assert remote.meta["initial_solution"] == "parts"  # the last phase started from the parts

    def visits(plan: Any) -> list[tuple[str, list[str]]]:
        return [(r.engineer_id, [v.order_id for v in r.visits]) for r in plan.routes]

    assert visits(remote) == visits(local)
    assert remote.meta["objective"] == local.meta["objective"]
    seen = [v.order_id for r in remote.routes for v in r.visits]
    seen += [u.order_id for u in remote.unassigned]
    assert sorted(seen) == sorted(o.id for o in problem.orders)
