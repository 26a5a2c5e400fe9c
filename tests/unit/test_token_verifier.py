"""The bearer-token check reads the tokens again when they change, and keeps the last ones it read while
they cannot be read (a tokens file half-written, a database out of reach)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcp_server_jobs.server.tokens import TokensFile, TokenVerifier

pytestmark = pytest.mark.anyio


async def test_unreadable_tokens_leave_the_last_ones_in_force(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    tokens = TokensFile(tmp_path / "tokens.json")
    _, alice = tokens.add("alice")
    verifier = TokenVerifier(tokens)
    first = await verifier.verify_token(alice)
    tokens.path.write_text('{"tokens": [', encoding="utf-8")  # an editor caught mid-write
    during = await verifier.verify_token(alice)
    tokens.path.unlink()
    _, bob = tokens.add("bob")
    after = [await verifier.verify_token(token) for token in (alice, bob)]

    assert first is not None
    assert first.subject == "alice"
    assert during is not None
    assert during.subject == "alice"
    assert "could not be read again" in caplog.text
    assert after[0] is None  # alice's token is gone from the file now read
    assert after[1] is not None
    assert after[1].subject == "bob"
