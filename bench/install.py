"""Install size: a fresh virtual environment with the default install (`pip install .`, no dev tools)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def measure() -> dict[str, float]:
    """The venv's size in MB, and the largest installed packages' sizes."""
    with tempfile.TemporaryDirectory() as folder:
        venv = Path(folder) / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True, capture_output=True)
        subprocess.run([*pip, str(ROOT)], check=True, capture_output=True)
        results = {"venv_mb": _size_mb(venv)}
        site = next((venv / "lib").glob("python3*/site-packages"))
        packages = {p.name: _size_mb(p) for p in site.iterdir() if p.is_dir() and not p.name.endswith("-info")}
        for name, size in sorted(packages.items(), key=lambda item: -item[1])[:6]:
            results[f"{name}_mb"] = size
    return results
