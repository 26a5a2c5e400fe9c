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


def imported_parts(module: Path) -> set[str]:
    """The package's parts `module` imports, lazy imports inside functions included."""
    parts = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            pieces = name.split(".")
            if pieces[0] == "mcp_server_jobs" and len(pieces) > 1 and pieces[1] in MAY_IMPORT:
                parts.add(pieces[1])
    return parts


@pytest.mark.parametrize("module", [m for m in MODULES if m != ENTRY_POINT], ids=lambda m: str(m.relative_to(PACKAGE)))
def test_imports_go_one_way(module: Path) -> None:
    own = part(module)
    assert imported_parts(module) - {own} <= MAY_IMPORT[own]


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
