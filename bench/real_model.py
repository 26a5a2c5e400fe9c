# ruff: noqa: E402
"""The README's example jobs end to end with a real small model: `.venv/bin/python bench/real_model.py`.

A real `mcp-server-jobs serve` (stdio, fresh database, `model` backend on llama.cpp's OpenAI-compatible server
with Qwen2.5-Coder-1.5B from `../shared/llm/setup`, tools from `bench/real_model_tools.py`) is driven by a real
MCP client, one job at a time. Not part of `make test` or `make bench`: it needs the model (1.1 GB) and takes
minutes. `--write` puts the results in BENCHMARKS.md's `## Real model` section; exit 1 when an expectation of
issue 13 fails (each is printed).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, Python puts bench/ first on sys.path, where bench/http.py hides the standard library's
# http module: the project's root goes there instead (and `bench.*` imports then work).
ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import argparse
import json
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlparse

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from bench.real_model_tools import PRICE_CHANGED_URL, PRICE_UNCHANGED_URL
from bench.report import write_section

COMMAND = str(Path(sys.executable).parent / "mcp-server-jobs")
LLM_HOME = Path.home() / ".cache" / "jobs-llm"
MODEL_FILE = LLM_HOME / "models" / "qwen2.5-coder-1.5b-instruct-q4km.gguf"
SERVE_MODEL = ROOT.parent / "shared" / "llm" / "serve_model.py"
SECTION = "## Real model"
RUN_DEADLINE = 900.0  # a run's own limit is 600 s (run_timeout); this leaves room for start and delivery


@dataclass
class Case:
    """One job of the bench: the job_create arguments and what issue 13 expects of it."""

    name: str
    request: dict[str, Any]
    expect: str  # "completed with report", "ran with report", "completed", "stays active", "completed, releases"
    mentions: tuple[str, ...] = ()  # words its report must contain, so that an empty or echoed report fails
    followers: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CaseResult:
    """What one case did, as the tools and the agent's tool server saw it."""

    case: Case
    job: dict[str, Any]
    run: dict[str, Any] | None
    message: dict[str, Any] | None
    calls: list[dict[str, Any]]
    seconds: float
    checks: list[tuple[str, bool]]
    followers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tool_calls(self) -> list[str]:
        """The names of the tools the run called, in order."""
        return [call["tool"] for call in self.calls]


def readme_examples(readme: Path) -> dict[str, dict[str, Any]]:
    """The job_create arguments of README.md's 'What to ask' section, by title."""
    text = readme.read_text(encoding="utf-8")
    start = text.index("## What to ask")
    end = text.find("\n## ", start + 1)
    blocks = re.findall(r"```json\n(.*?)```", text[start : end if end > 0 else None], flags=re.DOTALL)
    examples = [json.loads(block) for block in blocks]
    return {example["title"]: example for example in examples if "job_type" in example}


def run_now(request: dict[str, Any]) -> dict[str, Any]:
    """The request with its start moved to now: no run_at or delay (the rest of its schedule kept)."""
    adjusted = dict(request)
    given = request.get("schedule") or {}
    schedule: Any
    if isinstance(given, str):
        # One string ("tomorrow at 7am") is a ONE_OFF's start; job_run_now runs the others now.
        schedule = None if request.get("job_type") == "ONE_OFF" else given
    else:
        schedule = {k: v for k, v in given.items() if k not in ("run_at", "delay")}
    if schedule:
        adjusted["schedule"] = schedule
    else:
        adjusted.pop("schedule", None)
    return adjusted


def cases(readme: Path) -> list[Case]:
    """The README's four requests; the page watcher twice, on a page where its condition holds and one where not."""
    examples = readme_examples(readme)
    by_type: dict[str, dict[str, Any]] = {}
    for example in examples.values():  # the first of each type, should the README retitle one
        by_type.setdefault(example["job_type"], example)
    watch = examples.get("Watch the pricing page") or by_type["ONGOING"]
    found = re.search(r"https?://\S+", watch["description"])
    if found is None:
        raise SystemExit(f"README's watcher example names no URL: {watch['description']!r}")
    watched = found.group(0).rstrip(".,;)")

    def watching(url: str, title: str) -> dict[str, Any]:
        return {**watch, "title": title, "description": watch["description"].replace(watched, url)}

    chain = [examples[title] for title in ("Send the proposal", "Follow up on the proposal", "Escalate")]
    return [
        Case(
            "research",
            run_now(examples.get("Research 3 companies") or by_type["ONE_OFF"]),
            "completed with report",
            mentions=("Acme", "Globex", "Initech"),
        ),
        Case(
            "invoices",
            run_now(examples.get("Pending invoices reminder") or by_type["SCHEDULED"]),
            "ran with report",
            mentions=("INV-1042",),
        ),
        Case("watch, changed", run_now(watching(PRICE_CHANGED_URL, watch["title"])), "completed"),
        Case("watch, unchanged", run_now(watching(PRICE_UNCHANGED_URL, watch["title"] + " (shop)")), "stays active"),
        Case("proposal", run_now(chain[0]), "completed, releases", followers=chain[1:]),
    ]


def model_answers(base_url: str) -> bool:
    """Whether an OpenAI-compatible server with a loaded model answers at `base_url`."""
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=3) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_model(base_url: str, model_file: Path, log: TextIO) -> subprocess.Popen[bytes]:
    """Start ../shared/llm/serve_model.py on the URL's port and wait until its model is loaded."""
    python = LLM_HOME / "venv" / "bin" / "python"
    for needed in (python, model_file, SERVE_MODEL):
        if not needed.exists():
            raise SystemExit(f"{needed} is missing: run ../shared/llm/setup first (see ../shared/llm/README.md)")
    port = str(urlparse(base_url).port or 18080)
    command = [str(python), str(SERVE_MODEL), str(model_file), "--port", port]
    process = subprocess.Popen(command, stdout=log, stderr=log)
    deadline = time.monotonic() + 180
    while not model_answers(base_url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.terminate()
            raise SystemExit(f"the model server did not come up on {base_url}; its log: {log.name}")
        time.sleep(0.5)
    return process


def ok(result: Any) -> dict[str, Any]:
    """The structured answer of a tool call; stop the bench on a tool error (a harness bug, not a finding)."""
    if result.is_error:
        raise RuntimeError(" ".join(getattr(block, "text", "") for block in result.content))
    answer: dict[str, Any] = result.structured_content
    return answer


async def job(client: Client, job_id: str) -> dict[str, Any]:
    return ok(await client.call_tool("job_retrieval_by_id", {"job_id": job_id, "runs": 10}))


async def finished_run(client: Client, job_id: str, seen: set[str]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Wait until the job has a finished run not in `seen` and is no longer IN_PROGRESS."""
    with anyio.fail_after(RUN_DEADLINE):
        while True:
            current = await job(client, job_id)
            done = [r for r in current["runs"] if r["id"] not in seen and r["outcome"] != "running"]
            if done and current["status"] != "IN_PROGRESS":
                return current, done[0]
            await anyio.sleep(0.5)


def tool_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def run_case(client: Client, case: Case, calls_log: Path) -> CaseResult:
    """Create the job, start its run unless it starts by itself, wait for the run's end and read what it left."""
    calls_before = len(tool_log(calls_log))
    started = time.monotonic()
    created = ok(await client.call_tool("job_create", case.request))
    followers = []
    previous = created["id"]
    for follower in case.followers:
        # The README writes the ids as placeholders: each step depends on the one before.
        made = ok(await client.call_tool("job_create", {**follower, "depends_on": [previous]}))
        followers.append(made)
        previous = made["id"]
    next_run = created["next_run_at"]
    starts_by_itself = next_run is not None and datetime.fromisoformat(next_run).timestamp() <= time.time() + 5
    if not starts_by_itself:
        ok(await client.call_tool("job_run_now", {"job_id": created["id"]}))
    current, run = await finished_run(client, created["id"], set())
    seconds = time.monotonic() - started
    inbox = ok(await client.call_tool("inbox_list", {"unread_only": False, "limit": 200}))
    message = next((m for m in inbox["results"] if m["run_id"] == run["id"]), None)
    calls = tool_log(calls_log)[calls_before:]
    followers = [await job(client, f["id"]) for f in followers]
    outcome = CaseResult(case, current, run, message, calls, seconds, [], followers)
    outcome.checks = expectations(outcome)
    return outcome


def expectations(outcome: CaseResult) -> list[tuple[str, bool]]:
    """Issue 13's expectations for this case, each with whether it held."""
    status, run, message = outcome.job["status"], outcome.run or {}, outcome.message
    succeeded = run.get("outcome") == "succeeded"
    expect = outcome.case.expect
    checks = [("its run succeeded", succeeded)]
    if expect in ("completed with report", "completed", "completed, releases"):
        checks.append((f"the job is COMPLETED (is {status})", status == "COMPLETED"))
    if expect == "stays active":
        checks.append((f"the job stays ACTIVE (is {status})", status == "ACTIVE"))
    if expect in ("completed with report", "ran with report"):
        checks.append(("the report of its work is in the inbox", succeeded and message is not None))
    if outcome.case.mentions:
        text = "" if message is None else f"{message['title']} {message['body']}".lower()
        words = ", ".join(outcome.case.mentions)
        checks.append((f"the report names {words}", all(word.lower() in text for word in outcome.case.mentions)))
    if expect == "completed, releases" and outcome.followers:
        follow = outcome.followers[0]
        checks.append((f"the next step is released: ACTIVE (is {follow['status']})", follow["status"] == "ACTIVE"))
    return checks


async def drive(args: argparse.Namespace, folder: Path, server_log: TextIO) -> list[CaseResult]:
    calls_log = folder / "tool-calls.jsonl"
    agent_servers = folder / "agent-servers.json"
    # As a module: run as a script, its folder bench/ would come first on sys.path and hide the stdlib's http.
    env = {"BENCH_TOOLS_LOG": str(calls_log), "PYTHONPATH": str(ROOT)}
    tools = {"command": sys.executable, "args": ["-m", "bench.real_model_tools"], "env": env}
    agent_servers.write_text(json.dumps({"mcpServers": {"work": tools}}), encoding="utf-8")
    serve = [
        "serve", "--db", str(folder / "jobs.db"), "--timezone", "Europe/Paris", "--backends", "model",
        "--model", "openai-chat:local", "--agent-servers", str(agent_servers), "--max-concurrency", "1",
        "--embeddings", "off",
    ]  # fmt: skip
    # One attempt per occurrence: the first run is what is measured (a retry would hide a failure, and wait 30 s).
    env = {"OPENAI_BASE_URL": args.base_url, "OPENAI_API_KEY": "unused", "MCP_JOBS_MAX_ATTEMPTS": str(args.attempts)}
    params = StdioServerParameters(command=COMMAND, args=serve, env=env)
    outcomes = []
    async with Client(stdio_client(params, errlog=server_log)) as client:
        for case in cases(args.readme):
            print(f"{case.name}: running…", file=sys.stderr, flush=True)
            outcome = await run_case(client, case, calls_log)
            print(f"{case.name}: {summary_line(outcome)}", file=sys.stderr, flush=True)
            if args.verbose:
                run, message = outcome.run or {}, outcome.message or {}
                print(f"  output: {run.get('output')!r:.600}\n  message: {message.get('body')!r:.600}", file=sys.stderr)
            outcomes.append(outcome)
    return outcomes


def verdict_text(run: dict[str, Any] | None) -> str:
    verdict = (run or {}).get("verdict")
    if not verdict:
        return "none"
    keys = ("outcome", "goal_met", "worth_reporting")
    return ", ".join(f"{key}={json.dumps(verdict.get(key))}" for key in keys)


def message_text(message: dict[str, Any] | None) -> str:
    if message is None:
        return "none"
    first = next((line.strip() for line in message["body"].splitlines() if line.strip()), "")
    return f"**{message['title']}**: {first[:120]}"


def calls_text(outcome: CaseResult) -> str:
    usage = (outcome.run or {}).get("usage")
    counted = ", ".join(f"{name} x{outcome.tool_calls.count(name)}" for name in dict.fromkeys(outcome.tool_calls))
    recorded = "null" if usage is None else str(usage.get("tool_calls"))
    return f"{len(outcome.tool_calls)} ({counted or 'none'}); usage: {recorded}"


def summary_line(outcome: CaseResult) -> str:
    run = outcome.run or {}
    failed = [name for name, held in outcome.checks if not held]
    return (
        f"{outcome.job['status']}, run {run.get('outcome')}, {outcome.seconds:.0f} s, "
        f"tool calls {calls_text(outcome)}, verdict {verdict_text(run)}; "
        + ("ok" if not failed else "FAILED: " + "; ".join(failed))
        + (f"; error: {run['error'][:300]}" if run.get("error") else "")
    )


def render(outcomes: list[CaseResult], command: str) -> str:
    """The `## Real model` section of BENCHMARKS.md."""
    lines = [
        SECTION,
        "",
        f"Produced by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; not part of `make bench` (it needs "
        "the 1.1 GB model of `../shared/llm/setup`). Qwen2.5-Coder-1.5B-Instruct Q4_K_M on llama.cpp's server "
        "(2 threads, temperature 0) behind the `model` backend (`openai-chat:local`); a real `serve` on stdio, "
        "`--max-concurrency 1`, one attempt per occurrence; the agent's tools are `bench/real_model_tools.py` "
        "(fixed offline answers). Each job is a README example as written, started now (`run_at`/`delay` "
        f"dropped; `job_run_now` when it would not start by itself); the watcher runs on `{PRICE_CHANGED_URL}` "
        f"(Pro now $25: its condition holds) and on `{PRICE_UNCHANGED_URL}` (still $29). Time: from job_create "
        "to the run's end. Tool calls: counted by the tool server, then the run's `usage.tool_calls`. A report counts "
        "only if it names what it is about (the three companies; the oldest unpaid invoice, INV-1042).",
        "",
        "| job | type | status | run | tool calls | verdict | inbox message | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        run = outcome.run or {}
        cells = [
            outcome.case.name, outcome.job["job_type"], outcome.job["status"], str(run.get("outcome")),
            calls_text(outcome), verdict_text(run), message_text(outcome.message), f"{outcome.seconds:.0f}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |")
    lines += ["", "Expectations (issue 13):", ""]
    for outcome in outcomes:
        for name, held in outcome.checks:
            lines.append(f"- {'met' if held else 'NOT met'}: {outcome.case.name}: {name}")
    emails = [(o.case.name, c["arguments"]) for o in outcomes for c in o.calls if c["tool"] == "send_email"]
    if emails:
        lines += ["", "Emails the agents sent (send_email):", ""]
        lines += [f"- {name}: to {a.get('to')!r}, subject {a.get('subject')!r}" for name, a in emails]
    errors = [(o.case.name, (o.run or {}).get("error")) for o in outcomes if (o.run or {}).get("error")]
    if errors:
        lines += ["", "Run errors:", ""]
        lines += [f"- {name}: {error.splitlines()[0][:300]}" for name, error in errors]
    total_calls = sum(len(o.tool_calls) for o in outcomes)
    held = sum(held for o in outcomes for _, held in o.checks)
    checks = sum(len(o.checks) for o in outcomes)
    lines += [
        "",
        f"Totals: {len(outcomes)} jobs, {checks} expectations, {held} met; {total_calls} tool calls; "
        f"{sum(o.seconds for o in outcomes):.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:18080/v1", help="the model's OpenAI-compatible API")
    parser.add_argument("--model-file", type=Path, default=MODEL_FILE, help="GGUF to serve if none answers")
    parser.add_argument("--attempts", type=int, default=1, help="MCP_JOBS_MAX_ATTEMPTS of the server (default 1)")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--verbose", action="store_true", help="print each run's output and inbox message")
    parser.add_argument("--write", action="store_true", help="replace the `## Real model` section of BENCHMARKS.md")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="real-model-") as name:
        folder = Path(name)
        with (folder / "model.log").open("w") as model_log, (folder / "serve.log").open("w") as server_log:
            model = None if model_answers(args.base_url) else start_model(args.base_url, args.model_file, model_log)
            try:
                outcomes = anyio.run(drive, args, folder, server_log)
            except BaseException:
                server_log.flush()
                sys.stderr.write((folder / "serve.log").read_text(encoding="utf-8")[-4000:])
                raise
            finally:
                if model is not None:
                    model.terminate()
                    model.wait(timeout=30)
    command = ".venv/bin/python bench/real_model.py" + (" --write" if args.write else "")
    if args.attempts != 1:
        command += f" --attempts {args.attempts}"
    section = render(outcomes, command)
    sys.stdout.write(section)
    if args.write:
        write_section(args.output, SECTION, section)
    failed = [f"{o.case.name}: {name}" for o in outcomes for name, held in o.checks if not held]
    for failure in failed:
        print(f"expectation not met: {failure}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
