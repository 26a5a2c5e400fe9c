"""The README tells the truth: its commands, flags, settings, client configurations, examples and diagram."""

from __future__ import annotations

import contextlib
import io
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mcp_server_jobs.config import ENV_PREFIX, Settings, load_settings
from mcp_server_jobs.lifecycle import TRANSITIONS
from mcp_server_jobs.server.cli import main
from mcp_server_jobs.server.jobs_file import read_jobs_file
from tests.conftest import ConnectFn, ok

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Commands of other tools that the README shows; their flags are theirs.
OTHER_COMMANDS = ("claude", "npx", "caddy", "sqlite3", "make", "uvx", "code", "pip", "python")


def blocks(language: str) -> list[str]:
    """The README's fenced code blocks in `language`."""
    return re.findall(rf"^```{language}\n(.*?)^```", README, flags=re.S | re.M)


def code_units() -> list[str]:
    """Each shell line of the code blocks (continuations joined) and each inline code span."""
    text = re.sub(r"^```.*?^```", "", README, flags=re.S | re.M)
    spans = [span.replace("\n", " ") for span in re.findall(r"`([^`]+)`", text)]
    lines = [re.sub(r"\s+#.*$", "", line) for block in blocks("sh") for line in block.replace("\\\n", " ").splitlines()]
    return spans + lines


@cache
def help_text(*path: str) -> str:
    """What `mcp-server-jobs PATH --help` prints (it exits 0)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    assert exited.value.code == 0
    return out.getvalue()


def subcommands(*path: str) -> set[str]:
    """The subcommands `mcp-server-jobs PATH` takes, from its help."""
    choices = re.search(r"^  \{([\w,-]+)\}$", help_text(*path), flags=re.M)
    return set(choices.group(1).split(",")) if choices else set()


def flags_in(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))


def our_invocations() -> list[tuple[tuple[str, ...], set[str]]]:
    """Every `mcp-server-jobs ...` the README shows: the command path and the flags given to it."""
    found = []
    for unit in code_units():
        for rest in re.findall(r"mcp-server-jobs(?=\s|$)(.*)", unit):
            tokens = [token.strip("[]") for token in rest.split()]
            paths: list[tuple[str, ...]] = [()]
            for token in tokens:
                alternatives = token.split("|")
                if not all(word in subcommands(*paths[0]) for word in alternatives):
                    break
                paths = [(*path, word) for path in paths for word in alternatives]
            found += [(path, flags_in(rest)) for path in paths]
    return found


def test_every_command_and_flag_in_the_readme_exists() -> None:
    invocations = our_invocations()
    shown = {path for path, _ in invocations}
    # Each command of the CLI is shown at least once.
    assert {
        ("serve",),
        ("doctor",),
        ("inbox",),
        ("token", "add"),
        ("jobs", "run"),
        ("jobs", "show"),
        ("migrate",),
    } <= shown
    for path, flags in invocations:
        # The bare name is the command itself ("the full path of `mcp-server-jobs`").
        assert path or not flags, f"`mcp-server-jobs` needs a command before the flags {flags}"
        missing = flags - flags_in(help_text(*path))
        assert not missing, f"the README gives `mcp-server-jobs {' '.join(path)}` flags it does not take: {missing}"
    # Flags shown without the command (prose, the settings table) are flags of serve.
    serve_flags = flags_in(help_text("serve"))
    for unit in code_units():
        if "mcp-server-jobs" in unit or unit.split()[0] in OTHER_COMMANDS:
            continue
        assert flags_in(unit) <= serve_flags, f"`{unit}` names flags `serve` does not take"


def settings_table() -> list[list[str]]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| flag")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def test_the_settings_table_lists_every_setting_flag_variable_and_toml_key() -> None:
    rows = settings_table()
    flags = set().union(*(flags_in(row[0]) for row in rows))
    variables = set().union(*(re.findall(r"MCP_JOBS_\w+", row[1]) for row in rows))
    keys = set().union(*(re.findall(r"`(\w+)`", row[2]) for row in rows))
    assert flags == flags_in(help_text("serve")) - {"--help"}
    assert keys == set(Settings.model_fields)
    assert variables == {ENV_PREFIX + name.upper() for name in Settings.model_fields} | {ENV_PREFIX + "CONFIG"}


def test_client_configurations_are_valid_json_and_match_mcp_json() -> None:
    reference = json.loads((ROOT / "mcp.json").read_text(encoding="utf-8"))["mcpServers"]
    configs = [json.loads(block) for block in blocks("json")]  # every JSON block parses
    entries = [
        (name, entry)
        for config in configs
        for name, entry in (config.get("mcpServers") or config.get("servers") or {}).items()
        if name.startswith("jobs")
    ]
    assert len(entries) >= 5  # Claude Desktop, VS Code (2), Cursor (2)
    for name, entry in entries:
        assert entry == reference[name], name
    claude_code = [unit for unit in code_units() if unit.startswith("claude mcp add")]
    assert any(unit.endswith("-- mcp-server-jobs " + " ".join(reference["jobs"]["args"])) for unit in claude_code)
    assert any(reference["jobs-http"]["url"] in unit for unit in claude_code)


def test_the_lifecycle_diagram_is_the_transition_table() -> None:
    (diagram,) = blocks("mermaid")
    edges = set(re.findall(r"^\s+([A-Z_]+) --> ([A-Z_]+)", diagram, flags=re.M))
    assert edges == {(source.value, target.value) for source, targets in TRANSITIONS.items() for target in targets}


def test_the_toml_examples_load(tmp_path: Path) -> None:
    jobs_example, config_example = blocks("toml")
    jobs_file = tmp_path / "jobs.toml"
    jobs_file.write_text(jobs_example)
    config_file = tmp_path / "config.toml"
    config_file.write_text(config_example)
    assert [d.name for d in read_jobs_file(jobs_file, "local")] == ["invoices", "build"]
    settings = load_settings({}, environ={}, config_file=config_file)
    assert settings.jobs_file == Path("/etc/mcp-server-jobs/jobs.toml")


@pytest.mark.anyio
async def test_the_example_requests_are_what_job_create_accepts(connect: ConnectFn) -> None:
    section = README.split("## What to ask", 1)[1].split("\n## ", 1)[0]
    examples = [json.loads(block) for block in re.findall(r"^```json\n(.*?)^```", section, flags=re.S | re.M)]
    ids: dict[str, str] = {}
    async with connect() as client:
        for arguments in examples:
            # "<id of 'Send the proposal'>" stands for the id the server gave that job.
            depends_on = [
                ids[ref.removeprefix("<id of '").removesuffix("'>")] for ref in arguments.get("depends_on", [])
            ]
            created: dict[str, Any] = ok(await client.call_tool("job_create", {**arguments, "depends_on": depends_on}))
            ids[created["title"]] = created["id"]
            assert created["schedule_text"]
    assert len(ids) == 6
