"""Imports point inward: api -> dispatcher -> solver (STYLE.md rule 1)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"solver": {"dispatcher", "api", "bench"}, "dispatcher": {"api", "bench"}}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_inward(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imported_packages(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "\n".join(offenders)


def test_architecture_scan_detects_an_outward_import(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from api.app import create_app\nimport dispatcher.domain\n")
    assert _imported_packages(bad) == {"api", "dispatcher"}


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out |= {f"{node.module}.{alias.name}" for alias in node.names}
    return out


@pytest.mark.parametrize("room", ["portfolio", "decompose"])
def test_solver_rooms_never_import_the_front_door(room: str) -> None:
    """solver/routing.py picks the strategy and imports the rooms; a room that imported it
    back would need a function-local import to dodge the cycle."""
    imported = _imported_modules(ROOT / "solver" / f"{room}.py")
    assert "solver.routing" not in imported


@pytest.mark.parametrize("package", ["dispatcher", "api", "bench"])
def test_ortools_is_imported_only_under_solver(package: str) -> None:
    """OR-Tools objects never leave solver/ (DESIGN.md section 6): not even its version."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / package).rglob("*.py"))
        if _imported_packages(path) & {"ortools", "google"}
    ]
    assert not offenders, offenders


def test_solver_errors_are_types_not_strings() -> None:
    """The planner maps a bad search setting by the error's fields, never by its text."""
    from dispatcher.errors import InputError
    from dispatcher.planner import PlanOptions

    with pytest.raises(InputError) as caught:
        PlanOptions(time_limit_s=10, first_solution="NO_SUCH_STRATEGY").search_params()
    assert caught.value.path == "first_solution"
    planner = (ROOT / "dispatcher" / "planner.py").read_text(encoding="utf-8")
    assert ".partition(" not in planner and "str(exc)" not in planner
