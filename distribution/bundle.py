"""`make bundle`: the Claude Desktop bundle (`dist/mcp-server-jobs-VERSION.mcpb`), a zip of manifest.json and
the project itself, which the host installs from pyproject.toml with uv (MCPB manifest 0.4, `server.type`
"uv"). The settings a person gives at install (model, API keys) reach the server as environment variables.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_VERSION = "0.4"
# The project's files the bundle carries: enough for uv to build and install it, and nothing else.
CARRIED = ("pyproject.toml", "README.md")
PACKAGE = Path("src/mcp_server_jobs")
ENTRY_POINT = "src/mcp_server_jobs/__main__.py"

USER_CONFIG: dict[str, dict[str, Any]] = {
    "model": {
        "type": "string",
        "title": "Model",
        "description": "The model that carries out the jobs, as provider:name, e.g. anthropic:claude-sonnet-4-5 or "
        "openai:gpt-5-mini. Without one, due jobs wait until it is set.",
        "required": False,
        "default": "",
    },
    "anthropic_api_key": {
        "type": "string",
        "title": "Anthropic API key",
        "description": "For an anthropic: model. Kept by Claude Desktop, given to the server as ANTHROPIC_API_KEY.",
        "required": False,
        "sensitive": True,
    },
    "openai_api_key": {
        "type": "string",
        "title": "OpenAI API key",
        "description": "For an openai: model (or any OpenAI-compatible one). Given to the server as OPENAI_API_KEY.",
        "required": False,
        "sensitive": True,
    },
    "timezone": {
        "type": "string",
        "title": "Timezone",
        "description": "IANA timezone for new jobs and shown times, e.g. Europe/Paris. Empty: the computer's.",
        "required": False,
        "default": "",
    },
}
ENVIRONMENT = {
    "MCP_JOBS_MODEL": "${user_config.model}",
    "ANTHROPIC_API_KEY": "${user_config.anthropic_api_key}",
    "OPENAI_API_KEY": "${user_config.openai_api_key}",
    "MCP_JOBS_TIMEZONE": "${user_config.timezone}",
}


def project() -> dict[str, Any]:
    """pyproject.toml's [project] table."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        table: dict[str, Any] = tomllib.load(file)["project"]
        return table


def manifest(tools: list[dict[str, str]]) -> dict[str, Any]:
    """The bundle's manifest.json, from pyproject.toml and the server's tools."""
    meta = project()
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": meta["name"],
        "display_name": "Background jobs",
        "version": meta["version"],
        "description": meta["description"],
        "long_description": "One-off, cron, interval and watch-until-done jobs that an agent carries out while the "
        "chat is closed; the reports land in your inbox. Ask Claude to show your jobs page to see them.",
        "author": {"name": "mcp-server-jobs developers"},
        "license": meta["license"],
        "keywords": ["jobs", "scheduler", "cron", "background", "inbox"],
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "uv",
                "args": ["run", "--directory", "${__dirname}", "mcp-server-jobs", "serve"],
                "env": ENVIRONMENT,
            },
        },
        "tools": tools,
        "user_config": USER_CONFIG,
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": meta["requires-python"]},
        },
    }


def server_tools() -> list[dict[str, str]]:
    """Each tool's name and the first sentence of its description, as the server lists them."""
    import anyio
    from mcp import Client

    from mcp_server_jobs.config import Settings
    from mcp_server_jobs.server.app import build_server

    async def listed(folder: Path) -> list[dict[str, str]]:
        settings = Settings(db=folder / "jobs.db", embeddings="off", backends=("dry-run",))
        async with Client(build_server(settings)) as client:
            tools = (await client.list_tools()).tools
        return [{"name": t.name, "description": (t.description or "").split(". ")[0].rstrip(".") + "."} for t in tools]

    with tempfile.TemporaryDirectory() as folder:
        return anyio.run(listed, Path(folder))


def carried_files() -> list[Path]:
    """The files of the project the bundle holds, relative to the root (no caches)."""
    files = [Path(name) for name in CARRIED]
    for path in sorted((ROOT / PACKAGE).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            files.append(path.relative_to(ROOT))
    return files


def build(output: Path, tools: list[dict[str, str]] | None = None) -> Path:
    """Write the bundle to `output` (a folder); returns the file."""
    meta = project()
    output.mkdir(parents=True, exist_ok=True)
    bundle = output / f"{meta['name']}-{meta['version']}.mcpb"
    with zipfile.ZipFile(bundle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "manifest.json", json.dumps(manifest(tools if tools is not None else server_tools()), indent=2)
        )
        for relative in carried_files():
            archive.write(ROOT / relative, relative.as_posix())
    return bundle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "dist", help="folder to write the bundle in")
    bundle = build(parser.parse_args().output)
    print(f"{bundle} ({bundle.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
