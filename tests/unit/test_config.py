"""Settings precedence: flag > environment > TOML file > default."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from mcp_server_jobs.config import Settings, is_postgres, load_settings, shown_database
from mcp_server_jobs.errors import InvalidInput
from mcp_server_jobs.policy import Policy
from mcp_server_jobs.server.app import policy

# The one setting named otherwise than its Policy field: users have always written `run_timeout`.


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, environ={})
    assert settings.transport == "stdio"
    assert (settings.host, settings.port) == ("127.0.0.1", 7803)
    assert settings.user == "local"
    assert settings.db.name == "jobs.db"
    assert settings.backends == ("model", "sampling")


def test_flag_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    config = tmp_path / "jobs.toml"
    config.write_text('port = 9001\nuser = "from-file"\ntimezone = "Asia/Tokyo"\nbackends = ["dry-run"]\n')
    environ = {"MCP_JOBS_PORT": "9002", "MCP_JOBS_USER": "from-env"}
    settings = load_settings({"port": 9003, "user": None}, environ=environ, config_file=config)
    assert settings.port == 9003
    assert settings.user == "from-env"
    assert settings.timezone == "Asia/Tokyo"
    assert settings.backends == ("dry-run",)


def test_config_path_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "jobs.toml"
    config.write_text('transport = "http"\n')
    assert load_settings({}, environ={"MCP_JOBS_CONFIG": str(config)}).transport == "http"


@pytest.mark.parametrize(
    ("flags", "file_text", "hint"),
    [
        ({"timezone": "Nowhere/Land"}, "", "unknown timezone"),
        ({"backends": "model,telepathy"}, "", "unknown backend telepathy"),
        ({"port": 70000}, "", "port"),
        ({}, "colour = 'blue'\n", r"unknown key\(s\) colour"),
        ({}, "port = \n", "config file"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, flags: dict[str, object], file_text: str, hint: str) -> None:
    config = tmp_path / "jobs.toml"
    config.write_text(file_text)
    with pytest.raises(InvalidInput, match=hint):
        load_settings(flags, environ={}, config_file=config)


def test_every_scheduler_setting_defaults_to_the_policy() -> None:
    defaults = Policy()
    shared = [f.name for f in fields(Policy) if f.name in Settings.model_fields]
    assert len(shared) >= 10
    for name in shared:
        assert Settings.model_fields[name].default == getattr(defaults, name), name
    assert policy(load_settings({}, environ={})) == defaults


def test_a_postgresql_url_is_kept_whole_and_shown_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://jobs:s3cret@db.internal:5432/jobs?sslmode=require"
    settings = load_settings({"db": url}, environ={})
    assert settings.db == url
    assert is_postgres(settings.db)
    assert shown_database(settings.db) == "postgresql://jobs:***@db.internal:5432/jobs?sslmode=require"
    from_env = load_settings({}, environ={"MCP_JOBS_DB": "postgres://jobs@localhost/jobs"}).db
    assert from_env == "postgres://jobs@localhost/jobs"
    path = load_settings({"db": str(tmp_path / "jobs.db")}, environ={}).db
    assert path == tmp_path / "jobs.db"
    assert not is_postgres(path)
