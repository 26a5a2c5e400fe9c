"""Settings: one validated object built from flags, environment, a TOML file and defaults (design §10)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from mcp_server_jobs.errors import InvalidInput
from mcp_server_jobs.explain import problems
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.times import zone

ENV_PREFIX = "MCP_JOBS_"
KNOWN_BACKENDS = ("model", "sampling", "mcp-agent", "command", "dry-run")


def default_db_path() -> Path:
    """`jobs.db` in the user's data directory for this app."""
    return Path(platformdirs.user_data_dir("mcp-server-jobs", appauthor=False)) / "jobs.db"


def default_tokens_path() -> Path:
    """`tokens.json` (hashes of HTTP bearer tokens) in the user's data directory for this app."""
    return Path(platformdirs.user_data_dir("mcp-server-jobs", appauthor=False)) / "tokens.json"


def machine_timezone() -> str:
    """The machine's IANA timezone name, or UTC when it cannot be told."""
    try:
        import tzlocal

        name = tzlocal.get_localzone_name()
    except Exception:  # tzlocal raises several types on odd systems; UTC is a safe answer
        return "UTC"
    return name or "UTC"


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(db: Path | str) -> bool:
    """Whether `db` names a PostgreSQL database (a URL) rather than a SQLite file."""
    return isinstance(db, str) and db.startswith(POSTGRES_SCHEMES)


def _database(value: object) -> object:
    """A PostgreSQL URL stays text; anything else is a SQLite file's path."""
    if isinstance(value, str) and not value.startswith(POSTGRES_SCHEMES):
        return Path(value)
    return value


def shown_database(db: Path | str) -> str:
    """`db` for logs and doctor: a URL without its password."""
    if not is_postgres(db):
        return str(db)
    scheme, _, rest = str(db).partition("://")
    credentials, at, place = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}{':***' if ':' in credentials else ''}{at}{place}"


class Settings(BaseModel):
    """Everything the server is configured with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = Field(default=7803, ge=1, le=65535)
    # A SQLite file, or a postgresql:// URL (README: Choosing PostgreSQL).
    db: Annotated[Path | str, BeforeValidator(_database)] = Field(default_factory=default_db_path)
    user: str = Field(default="local", min_length=1, max_length=100)
    # Over HTTP, a tokens file with tokens in it makes every request sign in with one.
    tokens: Path = Field(default_factory=default_tokens_path)
    timezone: str = Field(default_factory=machine_timezone)
    backends: tuple[str, ...] = ("model", "sampling")
    command: str | None = Field(default=None, max_length=2000)
    model: str | None = Field(default=None, max_length=200)
    agent_servers: Path | None = None
    # Predefined jobs (TOML), brought into the database at every start of `serve`.
    jobs_file: Path | None = None
    mcp_agent_server: str | None = Field(default=None, max_length=2000)
    mcp_agent_tool: str = Field(default="run_agent", min_length=1, max_length=200)
    webhook: str | None = Field(default=None, max_length=2000, pattern=r"^https?://")
    # "local" (MiniLM shipped with the server), "off" (words only), or an embeddings API by
    # pydantic-ai name, e.g. "openai:text-embedding-3-small" (OPENAI_BASE_URL for compatible servers).
    embeddings: str = Field(default="local", min_length=2, max_length=200, pattern=r"^(local|off|[\w-]+:\S+)$")
    # False: serve the tools only, while another process on the same database runs the jobs.
    run_jobs: bool = True
    max_concurrency: int = Field(default=Policy.max_concurrency, ge=1, le=100)
    # An HTTP session with no request in flight (and no open stream) for this long is closed.
    session_idle_seconds: float = Field(default=1800.0, ge=0.1, le=7 * 86400)
    max_live_jobs: int = Field(default=1000, ge=1, le=1_000_000)
    max_inbox_messages: int = Field(default=Policy.max_inbox_messages, ge=10, le=10_000_000)
    sweep_seconds: float = Field(default=Policy.sweep_seconds, ge=0.05, le=3600)
    lease_seconds: float = Field(default=Policy.lease_seconds, ge=0.3, le=3600)
    run_timeout: float = Field(default=Policy.run_timeout, ge=1, le=86400)
    max_attempts: int = Field(default=Policy.max_attempts, ge=1, le=20)
    retry_base_seconds: float = Field(default=Policy.retry_base_seconds, ge=0.01, le=86400)
    max_consecutive_failures: int = Field(default=Policy.max_consecutive_failures, ge=1, le=1000)
    webhook_attempts: int = Field(default=Policy.webhook_attempts, ge=1, le=100)
    webhook_retry_seconds: float = Field(default=Policy.webhook_retry_seconds, ge=0.01, le=86400)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return zone(value).key

    @field_validator("backends", mode="before")
    @classmethod
    def _split_backends(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        unknown = [name for name in value if name not in KNOWN_BACKENDS]
        if unknown:
            raise ValueError(f"unknown backend {', '.join(unknown)}; choose from {', '.join(KNOWN_BACKENDS)}")
        if "dry-run" in value and len(value) > 1:
            # A fallback to dry-run would turn a model outage into previews nobody asked for.
            raise ValueError("dry-run previews only and cannot be combined with other backends; use it alone")
        return tuple(value)


def load_settings(
    flags: Mapping[str, Any],
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Merge flag > environment > TOML file > default; unset flags are None. Raises InvalidInput."""
    environ = os.environ if environ is None else environ
    if config_file is None and environ.get(ENV_PREFIX + "CONFIG"):
        config_file = Path(environ[ENV_PREFIX + "CONFIG"])
    file_values: dict[str, Any] = {}
    if config_file is not None:
        try:
            file_values = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"config file {config_file}: {exc}") from exc
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        env_value = environ.get(ENV_PREFIX + name.upper())
        for source in (flags.get(name), env_value or None, file_values.get(name)):
            if source is not None:
                values[name] = source
                break
    unknown = sorted(set(file_values) - set(Settings.model_fields))
    if unknown:
        raise InvalidInput(f"config file {config_file}: unknown key(s) {', '.join(unknown)}")
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise InvalidInput(f"invalid settings: {problems(exc, Settings.model_json_schema(), any_case=False)}") from exc
