"""Bearer tokens for HTTP: a file of token hashes, each naming the user it signs in as.

The file holds only SHA-256 hashes (a token is 32 random bytes, so a plain hash is enough: there is
nothing to guess). `mcp-server-jobs token add USER` prints a token once; the server reads the file
again whenever it changes, so adding or revoking a token needs no restart.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

from mcp_server_jobs.errors import InvalidInput

TOKEN_PREFIX = "mjt_"
USER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")


@dataclass(frozen=True)
class TokenEntry:
    """One token as stored: its id (to revoke it), its user, its hash, when it was made."""

    id: str
    user: str
    sha256: str
    created_at: str


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


class TokensFile:
    """The tokens file: read, add, revoke."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[TokenEntry]:
        """Every token in the file (none if the file does not exist)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [TokenEntry(**entry) for entry in data["tokens"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"tokens file {self.path} cannot be read: {exc}") from exc

    def add(self, user: str) -> tuple[TokenEntry, str]:
        """A new token for `user`: (its entry, the token itself, which is not stored)."""
        if not USER_PATTERN.fullmatch(user):
            raise InvalidInput(
                f"user {user!r}: use 1-100 letters, digits and . _ @ - (starting with a letter or digit)"
            )
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        entry = TokenEntry(
            id="tok_" + secrets.token_hex(4),
            user=user,
            sha256=token_hash(token),
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        self._write([*self.entries(), entry])
        return entry, token

    def revoke(self, key: str) -> list[TokenEntry]:
        """Remove the token with this id, or every token of this user; returns what was removed."""
        entries = self.entries()
        removed = [e for e in entries if key in (e.id, e.user)]
        if not removed:
            raise InvalidInput(f"no token has the id or user {key!r}; `token list` shows them")
        self._write([e for e in entries if e not in removed])
        return removed

    def _write(self, entries: list[TokenEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staged = self.path.with_suffix(".tmp")
        # Owner-only from the first byte: the hashes are not secrets, but the file says who has access.
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump({"tokens": [asdict(e) for e in entries]}, out, indent=2)
        staged.replace(self.path)


class TokenVerifier:
    """Turns a bearer token into its user (the MCP SDK's TokenVerifier); re-reads the file on change."""

    def __init__(self, tokens: TokensFile) -> None:
        self.tokens = tokens
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, str] = {}

    def has_tokens(self) -> bool:
        """Whether the file holds any token now."""
        self._reload()
        return bool(self._users)

    async def verify_token(self, token: str) -> AccessToken | None:
        # Imported here: the `token` commands use this module and need none of the MCP SDK (1 s to load).
        from mcp.server.auth.provider import AccessToken

        self._reload()
        user = self._users.get(token_hash(token))
        return None if user is None else AccessToken(token="", client_id=user, scopes=[], subject=user)

    def _reload(self) -> None:
        try:
            stat = self.tokens.path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        if stamp != self._stamp:
            self._users = {e.sha256: e.user for e in self.tokens.entries()}
            self._stamp = stamp
