"""Bearer tokens for HTTP: token hashes, each naming the user it signs in as, in a file or the database.

Only SHA-256 hashes are kept (a token is 32 random bytes, so a plain hash is enough: there is nothing to
guess). `mcp-server-jobs token add USER` prints a token once. Beside a SQLite database the tokens are a
file; on PostgreSQL they are a table of the database, so every host serving it signs in the same people.
The server reads them again when they change, so adding or revoking a token needs no restart.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import anyio

if TYPE_CHECKING:
    from mcp.server.auth.provider import AccessToken

from mcp_server_jobs.config import Settings, is_postgres
from mcp_server_jobs.errors import InvalidInput, JobsError

log = logging.getLogger(__name__)

TOKEN_PREFIX = "mjt_"
USER_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")


@dataclass(frozen=True)
class TokenEntry:
    """One token as stored: its id (to revoke it), its user, its hash, when it was made."""

    id: str
    user: str
    sha256: str
    created_at: str

    def row(self) -> tuple[str, str, str, str]:
        """The entry as the database's tokens table holds it (id, user, sha256, created_at)."""
        return (self.id, self.user, self.sha256, self.created_at)


def token_hash(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(user: str) -> tuple[TokenEntry, str]:
    """A new token for `user`: (its entry, the token itself, which is not stored); refuses a bad user name."""
    if not USER_PATTERN.fullmatch(user):
        raise InvalidInput(f"user {user!r}: use 1-100 letters, digits and . _ @ - (starting with a letter or digit)")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    entry = TokenEntry(
        id="tok_" + secrets.token_hex(4),
        user=user,
        sha256=token_hash(token),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    return entry, token


class TokenBook(Protocol):
    """Where the tokens are kept: read, add, revoke, and a stamp that changes when they may have."""

    where: str

    def entries(self) -> list[TokenEntry]: ...
    def add(self, user: str) -> tuple[TokenEntry, str]: ...
    def revoke(self, key: str) -> list[TokenEntry]: ...
    def stamp(self) -> object: ...


def token_book(settings: Settings) -> TokenBook:
    """The tokens of these settings: the database's on PostgreSQL, else the tokens file."""
    if is_postgres(settings.db):
        return DatabaseTokens(str(settings.db))
    return TokensFile(settings.tokens)


def _no_such_token(key: str) -> InvalidInput:
    return InvalidInput(f"no token has the id or user {key!r}; `token list` shows them")


class TokensFile:
    """The tokens file: read, add, revoke."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = f"tokens file {path}"

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
        entry, token = new_token(user)
        self._write([*self.entries(), entry])
        return entry, token

    def revoke(self, key: str) -> list[TokenEntry]:
        """Remove the token with this id, or every token of this user; returns what was removed."""
        entries = self.entries()
        removed = [e for e in entries if key in (e.id, e.user)]
        if not removed:
            raise _no_such_token(key)
        self._write([e for e in entries if e not in removed])
        return removed

    def stamp(self) -> object:
        """The file's modification time and size (both 0 while there is no file)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (stat.st_mtime_ns, stat.st_size)

    def _write(self, entries: list[TokenEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staged = self.path.with_suffix(".tmp")
        # Owner-only from the first byte: the hashes are not secrets, but the file says who has access.
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            json.dump({"tokens": [asdict(e) for e in entries]}, out, indent=2)
        staged.replace(self.path)


class DatabaseTokens:
    """The tokens table of a PostgreSQL database, shared by every host serving it."""

    # How long a server trusts what it read: a token revoked on one host is refused by all within this.
    fresh_seconds = 2.0

    def __init__(self, url: str) -> None:
        self.url = url
        self.where = "the job database's tokens table"

    def entries(self) -> list[TokenEntry]:
        """Every token in the database (none before its schema exists)."""
        from mcp_server_jobs.store.postgres.tokens import read_tokens

        return [TokenEntry(*row) for row in read_tokens(self.url)]

    def add(self, user: str) -> tuple[TokenEntry, str]:
        """A new token for `user`: (its entry, the token itself, which is not stored)."""
        from mcp_server_jobs.store.postgres.tokens import insert_token

        entry, token = new_token(user)
        insert_token(self.url, entry.row())
        return entry, token

    def revoke(self, key: str) -> list[TokenEntry]:
        """Remove the token with this id, or every token of this user; returns what was removed."""
        from mcp_server_jobs.store.postgres.tokens import delete_tokens

        removed = [TokenEntry(*row) for row in delete_tokens(self.url, key)]
        if not removed:
            raise _no_such_token(key)
        return removed

    def stamp(self) -> object:
        """A new value every `fresh_seconds`: another host may have changed the table meanwhile."""
        return int(time.monotonic() // self.fresh_seconds)


class TokenVerifier:
    """Turns a bearer token into its user (the MCP SDK's TokenVerifier); re-reads the tokens on change."""

    def __init__(self, tokens: TokenBook) -> None:
        self.tokens = tokens
        self._stamp: object = None
        self._users: dict[str, str] = {}

    def has_tokens(self) -> bool:
        """Whether any token is kept now."""
        self._reload(self.tokens.stamp())
        return bool(self._users)

    async def verify_token(self, token: str) -> AccessToken | None:
        # Imported here: the `token` commands use this module and need none of the MCP SDK (1 s to load).
        from mcp.server.auth.provider import AccessToken

        stamp = self.tokens.stamp()
        if stamp != self._stamp:
            try:
                # Off the event loop: reading the database's tokens waits on the network.
                await anyio.to_thread.run_sync(self._reload, stamp)
            except JobsError as exc:
                # A database out of reach or a file half-written: the tokens last read stay in force until
                # the next look, rather than every request failing meanwhile.
                self._stamp = stamp
                log.warning("bearer tokens could not be read again (%s); the ones read before still apply", exc)
        user = self._users.get(token_hash(token))
        return None if user is None else AccessToken(token="", client_id=user, scopes=[], subject=user)

    def _reload(self, stamp: object) -> None:
        self._users = {e.sha256: e.user for e in self.tokens.entries()}
        self._stamp = stamp
