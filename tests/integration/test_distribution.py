"""The Claude Desktop bundle (`make bundle`) and the MCP Registry's server.json, each checked against the fields
its specification documents (MCPB manifest 0.4; server.json 2025-12-11); neither schema is on this machine, so
the documented rules are written out here. The bundle's own files serve a real client."""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from mcp import Client, StdioServerParameters
from pydantic import BaseModel, ConfigDict, Field

from mcp_server_jobs.config import ENV_PREFIX, Settings
from mcp_server_jobs.server.page import OVERVIEW_URI
from tests.conftest import ok

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "distribution"))
import bundle  # noqa: E402  -- distribution/ is a folder of scripts, not a package

pytestmark = pytest.mark.anyio
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SECRETS = {"ANTHROPIC_API_KEY", "OPENAI_API_KEY"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Author(Strict):
    name: str
    email: str | None = None
    url: str | None = None


class McpConfig(Strict):
    command: str
    args: list[str] = []
    env: dict[str, str] = {}
    platform_overrides: dict[str, Any] | None = None


class BundleServer(Strict):
    type: Literal["python", "node", "binary", "uv"]
    entry_point: str
    mcp_config: McpConfig | None = None  # required except for uv


class UserConfigField(Strict):
    type: Literal["string", "number", "boolean", "directory", "file"]
    title: str
    description: str
    required: bool | None = None
    default: str | float | bool | list[str] | None = None
    multiple: bool | None = None
    sensitive: bool | None = None
    min: float | None = None
    max: float | None = None


class BundleTool(Strict):
    name: str
    description: str | None = None


class Runtimes(Strict):
    python: str | None = None
    node: str | None = None


class Compatibility(Strict):
    claude_desktop: str | None = None
    platforms: list[Literal["darwin", "win32", "linux"]] | None = None
    runtimes: Runtimes | None = None


class Manifest(Strict):
    """MCPB manifest 0.4: name, version, description, author and server required; nothing undocumented."""

    schema_: str | None = Field(default=None, alias="$schema")
    manifest_version: Literal["0.4"]
    name: str
    display_name: str | None = None
    version: str
    description: str
    long_description: str | None = None
    author: Author
    license: str | None = None
    keywords: list[str] | None = None
    homepage: str | None = None
    icon: str | None = None
    server: BundleServer
    tools: list[BundleTool] | None = None
    tools_generated: bool | None = None
    user_config: dict[str, UserConfigField] | None = None
    compatibility: Compatibility | None = None


class Variable(Strict):
    name: str
    description: str | None = None
    isRequired: bool | None = None
    isSecret: bool | None = None
    format: Literal["string", "number", "boolean", "filepath"] | None = None
    default: str | None = None


class Transport(Strict):
    type: Literal["stdio", "streamable-http", "sse"]


class Argument(Strict):
    type: Literal["positional", "named"]
    value: str


class Package(Strict):
    registryType: Literal["npm", "pypi", "oci", "nuget", "mcpb"]
    registryBaseUrl: str | None = None
    identifier: str
    version: str
    runtimeHint: str | None = None
    transport: Transport
    packageArguments: list[Argument] | None = None
    environmentVariables: list[Variable] | None = None


class ServerJson(Strict):
    """server.json 2025-12-11: $schema, name (reverse-DNS namespace / name), description (at most 100
    characters in the official registry) and version required; a PyPI package names an exact version."""

    schema_: Literal["https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"] = Field(
        alias="$schema"
    )
    name: str = Field(pattern=r"^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$", min_length=3, max_length=200)
    title: str | None = None
    description: str = Field(min_length=1, max_length=100)
    version: str = Field(max_length=255)
    packages: list[Package]


def read_by_the_server(name: str) -> bool:
    """Whether the server reads this environment variable: a setting, or a provider's key."""
    return name in SECRETS or (
        name.startswith(ENV_PREFIX) and name.removeprefix(ENV_PREFIX).lower() in Settings.model_fields
    )


async def test_the_bundle_holds_a_documented_manifest_and_its_files_alone_serve(tmp_path: Path) -> None:
    built = await anyio.to_thread.run_sync(
        bundle.build, tmp_path / "dist"
    )  # it lists the tools in an event loop of its own
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
        manifest = Manifest.model_validate(json.loads(archive.read("manifest.json")))
        archive.extractall(tmp_path / "installed")
    assert manifest.server.type == "uv"
    assert manifest.version == PROJECT["version"]
    assert manifest.server.entry_point in names
    assert {"pyproject.toml", "README.md", "src/mcp_server_jobs/server/ui/overview.html",
            "src/mcp_server_jobs/store/sql/0001_initial.sql"} <= names  # fmt: skip
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert manifest.user_config is not None
    assert manifest.server.mcp_config is not None
    env = manifest.server.mcp_config.env
    referenced = {m for value in env.values() for m in re.findall(r"\$\{user_config\.(\w+)\}", value)}
    assert referenced == set(manifest.user_config)
    assert all(read_by_the_server(name) for name in env)
    assert {key for key, field in manifest.user_config.items() if field.sensitive} == {
        "anthropic_api_key", "openai_api_key"}  # fmt: skip
    assert "model" in manifest.user_config

    # Claude Desktop fills in what the person gave (here nothing) and starts the server from the bundle's files.
    given = {name: re.sub(r"\$\{user_config\.\w+\}", "", value) for name, value in env.items()}
    environ = {**os.environ, **given, "PYTHONPATH": str(tmp_path / "installed" / "src"),
               "MCP_JOBS_DB": str(tmp_path / "jobs.db"), "MCP_JOBS_EMBEDDINGS": "off"}  # fmt: skip
    command = StdioServerParameters(command=sys.executable, args=["-m", "mcp_server_jobs", "serve"], env=environ)
    async with Client(command) as client:
        tools = (await client.list_tools()).tools
        page = (await client.read_resource(OVERVIEW_URI)).contents[0]
        ok(await client.call_tool("job_create", {"title": "Ping", "description": "Say hi.", "job_type": "ONE_OFF",
                                                 "schedule": "in 1 hour"}))  # fmt: skip
        answer = ok(await client.call_tool("jobs_overview", {}))
    where = await anyio.run_process([sys.executable, "-c", "import mcp_server_jobs; print(mcp_server_jobs.__file__)"],
                                    env=environ)  # fmt: skip
    assert Path(where.stdout.decode().strip()).is_relative_to(
        tmp_path / "installed"
    )  # the bundle's copy, not the checkout
    assert [tool.name for tool in manifest.tools or []] == [tool.name for tool in tools]
    assert getattr(page, "text", "").startswith("<!DOCTYPE html>")
    assert [job["title"] for job in answer["jobs"]] == ["Ping"]


def test_server_json_has_the_registry_s_documented_fields() -> None:
    server = ServerJson.model_validate_json((ROOT / "server.json").read_text())
    namespace, _ = server.name.split("/")
    [package] = server.packages
    variables = package.environmentVariables or []
    assert re.fullmatch(r"(io|com|org|dev)\.[a-z0-9-]+(\.[a-z0-9-]+)*", namespace)
    assert server.version == PROJECT["version"]
    assert (package.registryType, package.identifier, package.version) == ("pypi", PROJECT["name"], PROJECT["version"])
    assert package.transport.type == "stdio"
    assert [argument.value for argument in package.packageArguments or []] == ["serve"]
    assert all(read_by_the_server(variable.name) for variable in variables)
    assert {variable.name for variable in variables if variable.isSecret} == SECRETS
    # PyPI ownership: the package's README names the server (the registry reads it from the published page).
    assert f"mcp-name: {server.name}" in (ROOT / "README.md").read_text()
