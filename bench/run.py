"""Run the benchmarks and write BENCHMARKS.md: `make bench` (or `python -m bench.run [--quick]`)."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

import anyio

from bench import http, install, scheduler, search, sessions, stores, tokens
from bench.report import rows, section_of

TARGETS = {
    ("lateness", "p50_ms"): (20.0, "≤"),
    ("lateness", "p99_ms"): (100.0, "≤"),
    ("drain", "runs_per_second"): (300.0, "≥"),
    ("idle", "cpu_percent_of_a_core"): (1.0, "≤"),
    **{(name, "semantic_p50_ms"): (30.0, "≤") for name in ("search 100,000 jobs", "search 100,000 jobs, 100 users")},
    **{(name, "keyword_p50_ms"): (20.0, "≤") for name in ("search 100,000 jobs", "search 100,000 jobs, 100 users")},
    **{(f"search {size:,} jobs", "job_create_p50_ms"): (15.0, "≤") for size in search.SIZES},
    ("search 100,000 jobs, 100 users", "job_create_p50_ms"): (15.0, "≤"),
    ("http", "errors"): (0.0, "≤"),
    ("http", "p99_ms"): (100.0, "≤"),
    ("sessions", "second_round_growth_mb"): (10.0, "≤"),
    ("sessions", "expired_session_answers_404"): (1.0, "≥"),
    ("context", "input_side_tokens"): (float(tokens.INPUT_BUDGET_TOKENS), "≤"),
}


KEPT_SECTION = "## Real model"


def render(results: dict[str, dict[str, float]], by_store: dict[str, dict[str, float]], command: str) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, "
        f"{platform.machine()}. Numbers from one run on a shared VM, where two runs an hour apart have "
        "differed by up to half.",
        "",
        "## Scheduler (an in-process agent that answers at once, real SQLite file)",
        "",
        "- **lateness**: single ONE_OFF jobs created one at a time, each due 50 ms after creation; "
        "lateness = run start - scheduled time.",
        "- **drain**: 1,000 ONE_OFF jobs due at the same instant, concurrency 5; runs per second until all "
        "are COMPLETED.",
        "- **idle**: 10,000 RECURRING jobs all due in an hour; CPU time of the serving process over the "
        "window (default 30 s sweep).",
        "",
        "| benchmark | measure | value | target |",
        "|---|---|---|---|",
    ]
    lines += _rows({k: v for k, v in results.items() if k in ("lateness", "drain", "idle")})
    lines += ["", *stores.render(by_store, command).splitlines()]
    lines += [
        "",
        "## Retrieval (local MiniLM, real SQLite file, in-process MCP client)",
        "",
        "One user owns every job (the worst case for the filters), except in the last rows, where 100 users "
        "own 1,000 jobs each and user `bench` searches and creates. Statuses: "
        f"{', '.join(f'{share:.0%} {status.value}' for status, share in search.STATUS_MIX)}. Texts come from "
        f"{search.BASE_TEXTS:,} generated (title, description, company) combinations, so a common word is in "
        "thousands of jobs. Each measure is 200 calls: `keyword` (job_retrieval_by_keywords, one or two words), "
        "`semantic` (job_retrieval_semantic, a sentence), `job_create` (embedding and near-duplicate check "
        "included). `*_ms` is the server's time (a timing middleware); `client_*` is the median as the Python "
        "MCP client sees it, which re-validates each result against the output schema with jsonschema. "
        "`rss_mb` is the server process after the calls; `first_semantic_s` loads the vectors into memory.",
        "",
        "| benchmark | measure | value | target |",
        "|---|---|---|---|",
    ]
    lines += _rows({k: v for k, v in results.items() if k.startswith("search")})
    lines += [
        "",
        "## HTTP (20 users at once)",
        "",
        "`serve --transport http` in its own process, a bearer token per user, dry-run backend (no runs), "
        "local model. "
        f"{http.CLIENTS} clients, each signed in as its own user, make {http.CALLS} calls back to back (20% "
        "job_create, 20% keyword search, 20% semantic search, 20% job_retrieval_by_id, 10% inbox_list, 10% "
        "job_update). Latency is measured by the clients over 127.0.0.1 (their own result validation included); "
        "an error is a failed call or a tool error. CPU seconds say where the two cores went.",
        "",
        "| benchmark | measure | value | target |",
        "|---|---|---|---|",
    ]
    lines += _rows({"http": results["http"]})
    lines += [
        "",
        "## HTTP sessions left open",
        "",
        f"`serve --transport http --session-idle-seconds {sessions.IDLE_SECONDS:g}` in its own process (dry-run "
        f"backend, `--embeddings off`). {sessions.SESSIONS:,} clients each initialize a 2025-11-25 session and "
        "never close it; the server's RSS before, with them open and once all have expired, then the same for a "
        "second round. CPython keeps the memory freed by expired sessions for reuse instead of returning it, so "
        "RSS stays at its high-water mark; `second_round_growth_mb` shows the second round reuses it.",
        "",
        "| benchmark | measure | value | target |",
        "|---|---|---|---|",
    ]
    lines += _rows({"sessions": results["sessions"]})
    lines += [
        "",
        "## Install size and start-up",
        "",
        "A fresh virtual environment after `pip install .` (the default install, no dev tools): its size, "
        "the largest packages in it, and the median of 5 wall times of `--help`, `jobs list`, and `serve` on "
        "stdio with stdin closed (start, open the database, load the search model, stop): what a client waits "
        "for when it starts the server.",
        "",
        "| benchmark | measure | value | target |",
        "|---|---|---|---|",
    ]
    lines += _rows({"install": results["install"]})
    lines += [
        "",
        "## What the tools cost a model's context",
        "",
        "tools/list from `serve` over stdio, as compact JSON. The input side (every tool's name, description and "
        "input schema) is what a client's model reads on every turn; tokens are estimated at "
        f"{tokens.BYTES_PER_TOKEN} bytes each. Output schemas are listed too, though few clients show them to "
        "the model. `job_create_answer_*`: the text and the structured content of one job_create answer (the "
        "text is the same JSON, compact, for clients that read only text).",
        "",
        "| benchmark | measure | value | target |",
        "|---|---|---|---|",
    ]
    lines += _rows({"context": results["context"]})
    return "\n".join(lines) + "\n"


def _rows(results: dict[str, dict[str, float]]) -> list[str]:
    return rows(results, TARGETS)


def _kept(path: Path) -> str:
    """The sections `make bench` does not measure (`bench/real_model.py`'s), kept from the file it replaces."""
    kept = section_of(path.read_text(encoding="utf-8"), KEPT_SECTION) if path.exists() else ""
    return "\n" + kept if kept else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a 10 s idle window, and search up to 10k jobs only")
    parser.add_argument("--output", type=Path, default=Path("BENCHMARKS.md"))
    args = parser.parse_args()
    results = anyio.run(scheduler.run_all, 10.0 if args.quick else 60.0)
    by_store = stores.run_all()
    results |= search.run_all(search.SIZES[:2] if args.quick else search.SIZES)
    results["http"] = http.run()
    results["sessions"] = sessions.run()
    results["install"] = install.measure()
    results["context"] = anyio.run(tokens.measure)
    command = "make bench" if not args.quick else "python -m bench.run --quick"
    text = render(results, by_store, command)
    sys.stdout.write(text)
    args.output.write_text(text + _kept(args.output), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
