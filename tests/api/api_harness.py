"""The end-to-end harness: fresh databases per backend and real ``python -m api serve``
processes. Fixtures live in ``conftest.py``; tests import the types and helpers from here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PG_ADMIN_URL = os.environ.get("DISPATCH_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")
STARTUP_TIMEOUT_S = 60.0


def _pg_admin() -> Any:
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


def pg_unreachable_reason() -> str | None:
    try:
        with _pg_admin() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return f"{type(exc).__name__}: {exc}".strip()
    return None


class Databases:
    """Makes fresh databases of one backend and removes them at the end of the session."""

    def __init__(self, backend: str, tmp: Path) -> None:
        self.backend = backend
        self._tmp = tmp
        self._pg_names: list[str] = []

    def fresh(self) -> str:
        name = f"dispatch_test_{uuid.uuid4().hex[:12]}"
        if self.backend == "sqlite":
            return f"sqlite:///{self._tmp / (name + '.db')}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self._pg_names.append(name)
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{name}"

    def drop_all(self) -> None:
        if not self._pg_names:
            return
        with _pg_admin() as conn:
            for name in self._pg_names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


ORPHAN_TAG = "API_HARNESS_SERVER"


def tagged_processes(marker: bytes) -> list[int]:
    """The pids whose environment holds ``marker`` (``NAME=value``; Linux ``/proc``)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def process_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie (orphans are reaped by init, if at all)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] not in ("Z", "X")


def kill_tagged(tag: str) -> None:
    """SIGKILL the processes whose environment holds ``ORPHAN_TAG=tag`` and wait for them."""
    marker = f"{ORPHAN_TAG}={tag}".encode()
    orphans = [pid for pid in tagged_processes(marker) if pid != os.getpid()]
    for pid in orphans:
        with contextlib.suppress(OSError):  # gone meanwhile
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while any(process_alive(pid) for pid in orphans) and time.monotonic() < deadline:
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """One ``python -m api serve`` process; restartable on the same database."""

    database_url: str
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    admin_key: str = ""
    _logs: list[Any] = field(default_factory=list)
    _tag: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _environ(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
        env.update(
            {
                "DISPATCH_DATABASE_URL": self.database_url,
                "DISPATCH_LOG_LEVEL": "WARNING",
                "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
                # Inherited by every process the server starts: _kill_orphans finds them.
                ORPHAN_TAG: self._tag,
            }
        )
        env.update(self.env)
        return env

    def cli(self, *args: str) -> str:
        """Run ``python -m api ARGS`` against this server's database; its stdout."""
        done = self.cli_run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def cli_run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``python -m api ARGS`` against this server's database, whatever its exit."""
        return subprocess.run(
            [sys.executable, "-m", "api", *args],
            cwd=ROOT,
            env=self._environ(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self) -> Server:
        self.port = free_port()
        log = open(self.log_dir / f"server-{self.port}.log", "wb")  # noqa: SIM115 - closed in stop()
        self._logs.append(log)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=self._environ(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}: {self.log_text()}"
                )
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready after {STARTUP_TIMEOUT_S}s: {self.log_text()}")

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-4000:] for p in self.log_dir.glob("*.log"))

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs (a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self._kill_orphans()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._kill_orphans()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def _kill_orphans(self) -> None:
        """SIGKILL every process this server started that is still there (solver pools,
        uvicorn workers, the resource tracker), found by the tag in their environment, and
        wait until they are gone. They should die with the server on their own
        (``api.jobs.worker.die_with_parent``; tests/api/test_isolation.py checks it); this
        keeps a regression from leaking CPU-bound processes into the rest of the suite."""
        kill_tagged(self._tag)

    def tagged_pids(self) -> list[int]:
        """The live processes this server (or worker) started, itself included."""
        marker = f"{ORPHAN_TAG}={self._tag}".encode()
        return [p for p in tagged_processes(marker) if p != os.getpid() and process_alive(p)]

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def new_key(self, role: str) -> str:
        with self.client(self.admin_key) as c:
            r = c.post("/v1/keys", json={"role": role, "name": f"test {role}"})
            assert r.status_code == 201, r.text
            return str(r.json()["key"])


@dataclass(frozen=True)
class Keys:
    ticketing: str
    coordinator: str
    admin: str


ServerFactory = Callable[..., Server]


@dataclass
class Worker(Server):
    """One ``python -m api worker`` process (the queue executor) on a server's database;
    restartable. Ready once it logs that it takes jobs."""

    def start(self) -> Worker:
        log = open(self.log_dir / f"worker-{uuid.uuid4().hex[:6]}.log", "wb")  # noqa: SIM115
        self._logs.append(log)
        self._log_path = Path(log.name)
        env = {**self._environ(), "DISPATCH_LOG_LEVEL": "INFO"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while b"taking jobs from queue" not in self._log_path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker not ready: {self.log_text()}")
            time.sleep(0.1)
        return self


def pg_query(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` on the PostgreSQL database of a ``postgresql+psycopg://`` URL
    (autocommit: statements take effect at once)."""
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
        cursor = conn.execute(sql, params or None)
        return cursor.fetchall() if cursor.description else []
