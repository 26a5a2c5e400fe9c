"""Install size and start-up: a fresh virtual environment with the default install (`pip install .`, no dev tools)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


def _seconds(command: list[str], repeats: int = 5) -> float:
    """Median wall time of `command` run to its end, stdin closed (a stdio server stops at once)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure() -> dict[str, float]:
    """The venv's size in MB, the largest installed packages' sizes, and how long commands take to start."""
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
        command = str(venv / "bin" / "mcp-server-jobs")
        db = str(Path(folder) / "jobs.db")
        results["help_s"] = _seconds([command, "--help"])
        # Start, open the database, load the search model, serve stdio until stdin ends: a client's wait.
        # The first of these creates the database that `jobs list` then reads.
        results["serve_stdio_start_s"] = _seconds([command, "serve", "--db", db])
        results["jobs_list_s"] = _seconds([command, "jobs", "list", "--db", db])
    return results
