"""The house rules of design §1, read from the source: imports go one way, and files stay readable."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mcp_server_jobs

PACKAGE = Path(mcp_server_jobs.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))
# The entry point of `python -m mcp_server_jobs` starts the CLI; it is the one root module above the server.
ENTRY_POINT = PACKAGE / "__main__.py"
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 60
# What each part may import from the package besides the root modules (mcp_server_jobs/*.py).
MAY_IMPORT = {"root": set(), "store": set(), "scheduler": {"store"}, "server": {"store", "scheduler"}}


def part(module: Path) -> str:
    """'store', 'scheduler', 'server', or 'root' for the modules directly in the package."""
    inside = module.relative_to(PACKAGE).parts
    return inside[0] if len(inside) > 1 else "root"


def imported_names(module: Path) -> set[str]:
    """Every dotted name `module` imports (`a.b` and, for `from a.b import c`, also `a.b.c`), lazy ones included."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
        elif isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
    return names


def imported_parts(module: Path) -> set[str]:
    """The package's parts `module` imports."""
    pieces = [name.split(".") for name in imported_names(module)]
    return {p[1] for p in pieces if p[0] == "mcp_server_jobs" and len(p) > 1 and p[1] in MAY_IMPORT}


def dotted(module: Path) -> str:
    return ".".join(("mcp_server_jobs", *module.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")


@pytest.mark.parametrize("module", [m for m in MODULES if m != ENTRY_POINT], ids=lambda m: str(m.relative_to(PACKAGE)))
def test_imports_go_one_way(module: Path) -> None:
    own = part(module)
    assert imported_parts(module) - {own} <= MAY_IMPORT[own]


def test_no_module_imports_itself_through_others() -> None:
    known = {dotted(module): module for module in MODULES}
    graph = {name: imported_names(module) & known.keys() - {name} for name, module in known.items()}
    done: set[str] = set()

    def circle_from(name: str, path: list[str]) -> list[str]:
        if name in path:
            return [*path[path.index(name) :], name]
        if name in done:
            return []
        for imported in sorted(graph[name]):
            if circle := circle_from(imported, [*path, name]):
                return circle
        done.add(name)
        return []

    assert [circle for name in sorted(graph) if (circle := circle_from(name, []))] == []


def test_modules_and_functions_stay_short() -> None:
    long_modules, long_functions = [], []
    for module in MODULES:
        text = module.read_text(encoding="utf-8")
        name = str(module.relative_to(PACKAGE))
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}:{node.name}")
    assert long_modules == []
    assert long_functions == []
