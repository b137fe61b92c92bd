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


PACKAGES = ("solver", "dispatcher", "api", "bench")
# One job per module: a module past this many lines is doing several (STYLE.md).
MAX_MODULE_LINES = 1000


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_imports(path: Path, modules: set[str], root: Path) -> set[str]:
    """The project modules ``path`` imports, at module level or inside a function (a
    function-local import dodges a circle at run time, it does not remove it); imports
    under ``if TYPE_CHECKING:`` are left out (they never run)."""
    out: set[str] = set()

    def resolve(name: str) -> None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name:
            out.add(name)

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                for alias in child.names:
                    resolve(alias.name)
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                resolve(child.module)
                for alias in child.names:
                    resolve(f"{child.module}.{alias.name}")
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return out - {_module_name(path, root)}


def _import_graph(paths: list[Path], root: Path = ROOT) -> dict[str, set[str]]:
    modules = {_module_name(p, root) for p in paths}
    return {_module_name(p, root): _project_imports(p, modules, root) for p in paths}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_no_import_circle_anywhere() -> None:
    paths = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    circles = _circles(_import_graph(paths))
    assert not circles, circles


def test_the_circle_scan_finds_a_circle_through_a_function_local_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import f\n")
    (pkg / "b.py").write_text("def f():\n    from pkg import c\n")
    (pkg / "c.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.b\nimport pkg.a\n"
    )
    graph = _import_graph(sorted(pkg.rglob("*.py")), tmp_path)
    assert graph["pkg.c"] == {"pkg.a"}  # the TYPE_CHECKING import is not counted
    assert _circles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]


@pytest.mark.parametrize("package", ["solver", "dispatcher", "api"])
def test_no_module_is_over_a_thousand_lines(package: str) -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in sorted((ROOT / package).rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long
