"""Which secrets are known, and that they are cut out of text and JSON-like values."""

from __future__ import annotations

import json
from pathlib import Path

from mcp_server_jobs.redact import Redactor, configured_secrets


def test_secrets_come_from_secret_looking_names_and_the_agent_servers_file(tmp_path: Path) -> None:
    servers = tmp_path / "servers.json"
    servers.write_text(json.dumps({"mcpServers": {
        "crm": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer crm-token-12345",
                                                            "Content-Type": "application/json"}},
        "pages": {"command": "pages", "env": {"PAGES_API_KEY": "pages-key-67890", "HOME_DIR": "/home/someone"}},
    }}))  # fmt: skip
    environ = {"OPENAI_API_KEY": "sk-abcdefgh1234", "PATH": "/usr/bin:/bin", "GITHUB_TOKEN": "ghp_0123456789"}
    found = set(configured_secrets(environ, servers))
    assert found == {"sk-abcdefgh1234", "ghp_0123456789", "Bearer crm-token-12345", "crm-token-12345",
                     "pages-key-67890"}  # fmt: skip


def test_every_secret_and_any_bearer_credential_is_cut_out() -> None:
    redact = Redactor(["sk-abcdefgh1234", "short"])
    assert redact.text("key sk-abcdefgh1234 rejected; short stays") == "key [redacted] rejected; short stays"
    assert redact.text("sent Authorization: Bearer xyz.abc-123456") == "sent Authorization: Bearer [redacted]"
    nested = {"error": ["was sk-abcdefgh1234"], "n": 3}
    assert redact.data(nested) == {"error": ["was [redacted]"], "n": 3}
