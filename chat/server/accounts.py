"""Registered accounts: who may log in (SASL PLAIN, OPER), and who may hold a reserved nick.

Accounts live in ``<data_dir>/accounts.sqlite3``, written by ``chat user ...`` and read by the
server. Every lookup asks SQLite afresh (a primary-key read, microseconds), so an account added,
changed or removed by the CLI counts at once, without restarting the server.

Passwords are stored as scrypt hashes whose parameters travel with the hash
(``scrypt$n$r$p$salt$hash``), so the cost can be raised later without breaking old entries.
The server runs one single-threaded loop, so every scrypt verification stalls everybody for its
duration (about 70 ms with the default parameters). To keep a reconnect storm after a restart
from turning into minutes of stall, a successful verification is remembered in memory: keyed by
the stored hash (a changed password has a new hash, so the old entry no longer matches) and
holding only a keyed digest of the password, never the password itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from chat.protocol import casefold
from chat.server.datafiles import create_private_file, make_data_dir

__all__ = [
    "FILE_NAME",
    "Account",
    "AccountError",
    "AccountStore",
    "ScryptParams",
    "hash_password",
    "open_accounts",
    "verify_hash",
]

log = logging.getLogger(__name__)

FILE_NAME = "accounts.sqlite3"
#: Most entries the success cache holds; beyond that it starts over (a LAN has far fewer users).
CACHE_LIMIT = 10_000
#: scrypt refuses parameters needing more memory than this, so a tampered row cannot eat the host.
MAX_MEMORY = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt cost. n=2**14, r=8, p=1 takes ~16 MiB and ~70 ms: slow for a guesser, short enough
    that one verification does not freeze the server's loop noticeably."""

    n: int = 2**14
    r: int = 8
    p: int = 1


class AccountError(Exception):
    """An account operation cannot be done; the message is meant for the person at the CLI."""


@dataclass(frozen=True, slots=True)
class Account:
    name: str  # as it was given at creation (the display form)
    oper: bool
    created: float  # Unix time
    password_hash: str


def hash_password(password: str, params: ScryptParams | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` with a fresh random salt, base64 without padding."""
    p = params or ScryptParams()
    salt = os.urandom(16)
    digest = _scrypt(password, salt, p.n, p.r, p.p)
    return f"scrypt${p.n}${p.r}${p.p}${_b64(salt)}${_b64(digest)}"


def verify_hash(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored``; an unreadable hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):  # malformed row, or parameters scrypt refuses
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, length: int = 32) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=length)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    key TEXT PRIMARY KEY,       -- casefolded name: what makes two names the same account
    name TEXT NOT NULL,         -- as typed at creation
    password_hash TEXT NOT NULL,
    oper INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
)
"""


class AccountStore:
    """The accounts table plus the in-memory cache of successful verifications."""

    def __init__(self, path: Path | str, *, params: ScryptParams | None = None) -> None:
        self.path = path
        self.params = params or ScryptParams()
        create_private_file(path)  # password hashes: for the server's user only
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout = 2000")  # the CLI and the server share the file
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute(_SCHEMA)
        self._cache_key = os.urandom(32)
        self._verified: dict[tuple[str, str], bytes] = {}
        self._dummy_hash: str | None = None  # made on first need: see verify()

    @classmethod
    def in_memory(cls, params: ScryptParams | None = None) -> AccountStore:
        return cls(":memory:", params=params)

    def close(self) -> None:
        self._db.close()

    # ------------------------------------------------------------------------- reading

    def get(self, name: str) -> Account | None:
        row = self._db.execute(
            "SELECT name, oper, created, password_hash FROM accounts WHERE key = ?", (casefold(name),)
        ).fetchone()
        return None if row is None else Account(row[0], bool(row[1]), row[2], row[3])

    def exists(self, name: str) -> bool:
        return self._db.execute("SELECT 1 FROM accounts WHERE key = ?", (casefold(name),)).fetchone() is not None

    def all(self) -> list[Account]:
        rows = self._db.execute("SELECT name, oper, created, password_hash FROM accounts ORDER BY key").fetchall()
        return [Account(r[0], bool(r[1]), r[2], r[3]) for r in rows]

    def verify(self, name: str, password: str) -> Account | None:
        """The account if ``password`` is right, else None. A repeat of a successful login with
        an unchanged password costs a dictionary lookup instead of a scrypt run.

        An unknown name still costs a full scrypt run against a dummy hash: answering it at once
        would tell a guesser, by the reply's timing, which account names exist."""
        account = self.get(name)
        if account is None:
            if self._dummy_hash is None:
                self._dummy_hash = hash_password(os.urandom(16).hex(), self.params)
            verify_hash(password, self._dummy_hash)
            return None
        key = (casefold(account.name), account.password_hash)
        proof = hmac.new(self._cache_key, password.encode(), hashlib.sha256).digest()
        known = self._verified.get(key)
        if known is not None and hmac.compare_digest(known, proof):
            return account
        started = time.perf_counter()
        ok = verify_hash(password, account.password_hash)
        log.debug("password check for account %s took %.0f ms", account.name, (time.perf_counter() - started) * 1000)
        if not ok:
            return None
        if len(self._verified) >= CACHE_LIMIT:
            self._verified.clear()
        self._verified[key] = proof
        return account

    # ------------------------------------------------------------------------- writing

    def add(self, name: str, password: str, *, oper: bool = False) -> Account:
        created = time.time()
        stored = hash_password(password, self.params)
        try:
            self._db.execute(
                "INSERT INTO accounts (key, name, password_hash, oper, created) VALUES (?, ?, ?, ?, ?)",
                (casefold(name), name, stored, int(oper), created),
            )
        except sqlite3.IntegrityError:
            raise AccountError(f'an account named "{name}" already exists') from None
        return Account(name, oper, created, stored)

    def set_password(self, name: str, password: str) -> None:
        stored = hash_password(password, self.params)
        cursor = self._db.execute("UPDATE accounts SET password_hash = ? WHERE key = ?", (stored, casefold(name)))
        if cursor.rowcount == 0:
            raise AccountError(f'there is no account named "{name}"')

    def set_oper(self, name: str, oper: bool) -> None:
        cursor = self._db.execute("UPDATE accounts SET oper = ? WHERE key = ?", (int(oper), casefold(name)))
        if cursor.rowcount == 0:
            raise AccountError(f'there is no account named "{name}"')

    def remove(self, name: str) -> None:
        cursor = self._db.execute("DELETE FROM accounts WHERE key = ?", (casefold(name),))
        if cursor.rowcount == 0:
            raise AccountError(f'there is no account named "{name}"')


def open_accounts(data_dir: Path) -> AccountStore:
    """The store beside the message history (the directory is made if missing, private)."""
    make_data_dir(data_dir)
    return AccountStore(data_dir / FILE_NAME)
