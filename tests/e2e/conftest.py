"""Fixtures of the browser tests: the API suite's servers (SQLite and PostgreSQL, from
``tests/api/conftest.py``) and Debian's Chromium driven by Playwright.

The browser is the system's ``/usr/bin/chromium`` (``make chromium`` installs it; Playwright's
own browser download cannot work here). Without it, or without Playwright, every test of
this directory is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

API_TESTS = Path(__file__).resolve().parents[1] / "api"

# Reuse the API suite's harness fixtures (one fresh database and server per backend).
_spec = importlib.util.spec_from_file_location("_api_conftest_for_e2e", API_TESTS / "conftest.py")
assert _spec is not None and _spec.loader is not None
_api_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_api_conftest)
databases = _api_conftest.databases
server_factory = _api_conftest.server_factory
server = _api_conftest.server

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium_path() -> str | None:
    explicit = os.environ.get("DISPATCH_TEST_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable; the test is skipped, with the reason, without one."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright is not installed (the dev extra: make install)")
    path = chromium_path()
    if path is None:
        pytest.skip(
            "no Chromium at /usr/bin/chromium (make chromium: apt-get install -y chromium); "
            "browser tests skipped"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = chromium
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield b
        b.close()
