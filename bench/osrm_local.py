"""A local OSRM router for the tests and the benchmark.

``make install`` puts the programs of the ``osrm-bindings`` wheel (``osrm-extract``,
``osrm-partition``, ``osrm-customize``, ``osrm-contract``, ``osrm-routed`` and the car
profile) under ``.venv/osrm/wheel/osrm/`` and the Monaco extract of its source package at
``.venv/osrm/monaco.osm.pbf`` (``DISPATCH_OSRM_HOME`` points elsewhere). :func:`build`
makes a graph from an extract, :class:`Router` serves it on a free local port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
# Monaco's extract: a bounding box inside it (lat, lon) for sampled sites.
MONACO_BBOX = (43.7253, 7.4090, 43.7510, 7.4392)


@dataclass(frozen=True)
class Installation:
    bin: Path
    car_lua: Path
    monaco_pbf: Path

    def program(self, name: str) -> str:
        return str(self.bin / name)


def home() -> Path:
    return Path(os.environ.get("DISPATCH_OSRM_HOME", ROOT / ".venv" / "osrm"))


def find() -> Installation | str:
    """The installation, or why there is none (a message for a skipped test)."""
    base = home() / "wheel" / "osrm"
    inst = Installation(
        base / "bin", base / "share" / "profiles" / "car.lua", home() / "monaco.osm.pbf"
    )
    for path in (inst.bin / "osrm-routed", inst.car_lua, inst.monaco_pbf):
        if not path.exists():
            return f"no {path} (make install downloads osrm-bindings; offline it cannot)"
    try:
        subprocess.run(
            [inst.program("osrm-routed"), "--version"], capture_output=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return f"osrm-routed does not run on this machine: {exc}"
    return inst


def build(inst: Installation, pbf: Path, workdir: Path, algorithm: str = "mld") -> Path:
    """The graph of ``pbf`` for ``algorithm`` (mld: extract, partition, customize; ch:
    extract, contract) in ``workdir``; returns the ``.osrm`` base path."""
    workdir.mkdir(parents=True, exist_ok=True)
    local = workdir / pbf.name
    shutil.copyfile(pbf, local)
    base = workdir / (pbf.name.removesuffix(".osm.pbf") + ".osrm")
    steps = [["osrm-extract", "-p", str(inst.car_lua), str(local)]]
    if algorithm == "mld":
        steps += [["osrm-partition", str(base)], ["osrm-customize", str(base)]]
    else:
        steps += [["osrm-contract", str(base)]]
    with open(workdir / "build.log", "w") as log:
        for name, *args in steps:
            subprocess.run([inst.program(name), *args], stdout=log, stderr=subprocess.STDOUT,
                           cwd=workdir, check=True, timeout=600)  # fmt: skip
    return base


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Router:
    """``osrm-routed`` on ``base`` at ``url`` until :meth:`stop` (a context manager)."""

    def __init__(
        self,
        inst: Installation,
        base: Path,
        algorithm: str = "mld",
        max_table_size: int = 100,
        threads: int = 2,
        start_timeout_s: float = 120.0,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = base.parent / f"routed-{self.port}.log"
        args = [
            inst.program("osrm-routed"), "--algorithm", algorithm, "-i", "127.0.0.1",
            "-p", str(self.port), "-t", str(threads), "--max-table-size", str(max_table_size),
            str(base),
        ]  # fmt: skip
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + start_timeout_s
        probe = f"{self.url}/nearest/v1/driving/7.42,43.73"
        while True:
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"osrm-routed exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(probe, timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"osrm-routed did not answer in {start_timeout_s} s"
                    ) from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self) -> Router:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
