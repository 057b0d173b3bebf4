"""Message history: what makes "nothing is lost" true across crashes.

Two stores behind one interface: SQLite in WAL mode under the data dir (the default) and a
list in memory (``history: memory``, a throw-away server). The core adds messages during a loop
iteration; the loop calls :meth:`HistoryStore.commit` once before flushing any output, so a
message is on disk before its echo (the sender's acknowledgement) or any copy leaves the server,
and a burst of messages costs one commit, not one each.
"""

from __future__ import annotations

import bisect
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from chat.protocol import casefold
from chat.server.datafiles import create_private_file

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """One PRIVMSG/NOTICE as it was delivered. ``seq`` orders messages; ``time_ms`` is server time."""

    seq: int
    msgid: str
    time_ms: int
    conversation: str  # casefolded channel, or "nick1 nick2" (casefolded, sorted) for private
    target: str  # the target as the sender wrote it
    command: str
    prefix: str  # sender nick!user@host at the time
    sender: str  # casefolded sender nick: the identity a client id is scoped to
    text: str
    client_tags: str  # formatted client-only tags (``+chat/cid=…``), "" for none
    cid: str | None


def conversation_key(sender: str, target: str, *, channel: bool) -> str:
    """Both sides of a private conversation see it under the same key."""
    if channel:
        return target
    return " ".join(sorted((sender, target)))


class HistoryStore(Protocol):
    def add(self, message: StoredMessage) -> StoredMessage: ...
    def commit(self) -> None: ...
    def by_cid(self, cid: str, target: str) -> StoredMessage | None:
        """The stored message with this client id that was sent to ``target`` (casefolded)."""
        ...

    def seq_of_msgid(self, conversation: str, msgid: str) -> int | None: ...
    def seq_at_time(self, conversation: str, time_ms: int, *, after: bool) -> int: ...
    def before(self, conversation: str, seq: int, limit: int) -> list[StoredMessage]: ...
    def after(self, conversation: str, seq: int, limit: int) -> list[StoredMessage]: ...
    def targets(
        self, nick: str, channels: list[str], start_ms: int, end_ms: int, limit: int
    ) -> list[tuple[str, int]]: ...
    def prune(self, max_per_conversation: int, older_than_ms: int) -> int: ...
    def next_seq(self) -> int: ...
    def close(self) -> None: ...


_COLUMNS = "seq, msgid, time_ms, conversation, target, command, prefix, sender, text, client_tags, cid"


class SqliteHistory:
    """History in ``<data_dir>/history.sqlite3``. WAL with ``synchronous=NORMAL`` survives a
    killed process (every commit is in the WAL file); ``full`` also survives power loss."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        self.path = path
        create_private_file(path)  # private messages: for the server's user only
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self._migrate()
        self._in_tx = False
        self._private_known: set[str] = set()  # private conversations already listed this run
        row = self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM messages").fetchone()
        self._seq = int(row[0])

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} was written by a newer chat (schema {version}); upgrade chat to read it")
        if version < 1:
            self.db.executescript(
                """
                BEGIN;
                CREATE TABLE IF NOT EXISTS messages (
                    seq INTEGER PRIMARY KEY,
                    msgid TEXT NOT NULL UNIQUE,
                    time_ms INTEGER NOT NULL,
                    conversation TEXT NOT NULL,
                    target TEXT NOT NULL,
                    command TEXT NOT NULL,
                    prefix TEXT NOT NULL,
                    sender TEXT NOT NULL,
                    text TEXT NOT NULL,
                    client_tags TEXT NOT NULL,
                    cid TEXT
                );
                CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation, seq);
                CREATE INDEX IF NOT EXISTS messages_by_time ON messages (conversation, time_ms);
                CREATE UNIQUE INDEX IF NOT EXISTS messages_by_cid ON messages (sender, conversation, cid)
                    WHERE cid IS NOT NULL;
                PRAGMA user_version = 1;
                COMMIT;
                """
            )
        if version < 2:
            # Version 2 finds a resend by its client id alone: the sender may have come back
            # under another nick, which changes the sender and private-conversation keys.
            self.db.executescript(
                """
                BEGIN;
                CREATE INDEX IF NOT EXISTS messages_by_client_id ON messages (cid) WHERE cid IS NOT NULL;
                PRAGMA user_version = 2;
                COMMIT;
                """
            )
        if version < 3:
            # Version 3 lists who takes part in each private conversation, so CHATHISTORY TARGETS
            # finds a nick's conversations through an index instead of scanning every message.
            self.db.executescript(
                """
                BEGIN;
                CREATE TABLE IF NOT EXISTS private_conversations (
                    conversation TEXT PRIMARY KEY,
                    first TEXT NOT NULL,
                    second TEXT NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS private_by_first ON private_conversations (first);
                CREATE INDEX IF NOT EXISTS private_by_second ON private_conversations (second);
                INSERT OR IGNORE INTO private_conversations
                    SELECT DISTINCT conversation,
                           substr(conversation, 1, instr(conversation, ' ') - 1),
                           substr(conversation, instr(conversation, ' ') + 1)
                    FROM messages WHERE instr(conversation, ' ') > 0;
                PRAGMA user_version = 3;
                COMMIT;
                """
            )

    def next_seq(self) -> int:
        return self._seq + 1

    def add(self, message: StoredMessage) -> StoredMessage:
        if not self._in_tx:
            self.db.execute("BEGIN")
            self._in_tx = True
        self.db.execute(
            f"INSERT INTO messages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                message.seq, message.msgid, message.time_ms, message.conversation, message.target,
                message.command, message.prefix, message.sender, message.text, message.client_tags,
                message.cid,
            ),
        )  # fmt: skip
        conversation = message.conversation
        if " " in conversation and conversation not in self._private_known:
            first, _, second = conversation.partition(" ")
            self.db.execute(
                "INSERT OR IGNORE INTO private_conversations VALUES (?, ?, ?)", (conversation, first, second)
            )
            self._private_known.add(conversation)
        self._seq = message.seq
        return message

    def commit(self) -> None:
        if self._in_tx:
            self.db.execute("COMMIT")
            self._in_tx = False

    def _rows(self, sql: str, args: tuple[object, ...]) -> list[StoredMessage]:
        return [StoredMessage(*row) for row in self.db.execute(sql, args)]

    def by_cid(self, cid: str, target: str) -> StoredMessage | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM messages WHERE cid = ? ORDER BY seq", (cid,))
        return next((row for row in rows if casefold(row.target) == target), None)

    def seq_of_msgid(self, conversation: str, msgid: str) -> int | None:
        row = self.db.execute(
            "SELECT seq FROM messages WHERE msgid = ? AND conversation = ?", (msgid, conversation)
        ).fetchone()
        return int(row[0]) if row else None

    def seq_at_time(self, conversation: str, time_ms: int, *, after: bool) -> int:
        """The seq boundary for a timestamp: messages after it have seq > result (``after``), or
        messages before it have seq < result."""
        if after:
            row = self.db.execute(
                "SELECT MAX(seq) FROM messages WHERE conversation = ? AND time_ms <= ?",
                (conversation, time_ms),
            ).fetchone()
            return int(row[0] or 0)
        row = self.db.execute(
            "SELECT MIN(seq) FROM messages WHERE conversation = ? AND time_ms >= ?", (conversation, time_ms)
        ).fetchone()
        return int(row[0]) if row[0] is not None else self._seq + 1

    def before(self, conversation: str, seq: int, limit: int) -> list[StoredMessage]:
        rows = self._rows(
            f"SELECT {_COLUMNS} FROM messages WHERE conversation = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (conversation, seq, limit),
        )
        rows.reverse()
        return rows

    def after(self, conversation: str, seq: int, limit: int) -> list[StoredMessage]:
        return self._rows(
            f"SELECT {_COLUMNS} FROM messages WHERE conversation = ? AND seq > ? ORDER BY seq LIMIT ?",
            (conversation, seq, limit),
        )

    def targets(self, nick: str, channels: list[str], start_ms: int, end_ms: int, limit: int) -> list[tuple[str, int]]:
        """One indexed lookup per candidate conversation (the nick's rooms and private
        conversations): the cost follows what the nick takes part in, not the size of history."""
        privates = self.db.execute(
            "SELECT conversation FROM private_conversations WHERE first = ? "
            "UNION SELECT conversation FROM private_conversations WHERE second = ?",
            (nick, nick),
        )
        found = []
        for conversation in [*channels, *(str(row[0]) for row in privates)]:
            row = self.db.execute(
                "SELECT MAX(time_ms) FROM messages WHERE conversation = ? AND time_ms > ? AND time_ms < ?",
                (conversation, start_ms, end_ms),
            ).fetchone()
            if row[0] is not None:
                found.append((conversation, int(row[0])))
        found.sort(key=lambda item: item[1])
        return found[:limit]

    def prune(self, max_per_conversation: int, older_than_ms: int) -> int:
        removed = 0
        if older_than_ms:
            removed += self.db.execute("DELETE FROM messages WHERE time_ms < ?", (older_than_ms,)).rowcount
        if max_per_conversation:
            removed += self.db.execute(
                "DELETE FROM messages WHERE seq IN (SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER "
                "(PARTITION BY conversation ORDER BY seq DESC) AS n FROM messages) WHERE n > ?)",
                (max_per_conversation,),
            ).rowcount
        return removed

    def close(self) -> None:
        self.commit()
        self.db.close()


def _is_participant(conversation: str, nick: str) -> bool:
    return " " in conversation and nick in conversation.split(" ")


class MemoryHistory:
    """The same contract in memory, for ``history: memory`` and fast core tests."""

    def __init__(self) -> None:
        self._all: dict[str, list[StoredMessage]] = {}
        self._cids: dict[tuple[str, str], StoredMessage] = {}
        self._msgids: dict[str, StoredMessage] = {}
        self._seq = 0

    def next_seq(self) -> int:
        return self._seq + 1

    def add(self, message: StoredMessage) -> StoredMessage:
        self._all.setdefault(message.conversation, []).append(message)
        if message.cid is not None:
            self._cids.setdefault((message.cid, casefold(message.target)), message)
        self._msgids[message.msgid] = message
        self._seq = message.seq
        return message

    def commit(self) -> None:
        """Nothing to make durable."""

    def by_cid(self, cid: str, target: str) -> StoredMessage | None:
        return self._cids.get((cid, target))

    def seq_of_msgid(self, conversation: str, msgid: str) -> int | None:
        found = self._msgids.get(msgid)
        return found.seq if found is not None and found.conversation == conversation else None

    def seq_at_time(self, conversation: str, time_ms: int, *, after: bool) -> int:
        messages = self._all.get(conversation, [])
        times = [m.time_ms for m in messages]
        if after:
            index = bisect.bisect_right(times, time_ms)
            return messages[index - 1].seq if index else 0
        index = bisect.bisect_left(times, time_ms)
        return messages[index].seq if index < len(messages) else self._seq + 1

    def before(self, conversation: str, seq: int, limit: int) -> list[StoredMessage]:
        messages = self._all.get(conversation, [])
        index = bisect.bisect_left([m.seq for m in messages], seq)
        return messages[max(0, index - limit) : index]

    def after(self, conversation: str, seq: int, limit: int) -> list[StoredMessage]:
        messages = self._all.get(conversation, [])
        index = bisect.bisect_right([m.seq for m in messages], seq)
        return messages[index : index + limit]

    def targets(self, nick: str, channels: list[str], start_ms: int, end_ms: int, limit: int) -> list[tuple[str, int]]:
        found = []
        for conversation, messages in self._all.items():
            if conversation not in channels and not _is_participant(conversation, nick):
                continue
            times = [m.time_ms for m in messages if start_ms < m.time_ms < end_ms]
            if times:
                found.append((conversation, max(times)))
        found.sort(key=lambda item: item[1])
        return found[:limit]

    def prune(self, max_per_conversation: int, older_than_ms: int) -> int:
        removed = 0
        for conversation, messages in list(self._all.items()):
            keep = [m for m in messages if m.time_ms >= older_than_ms]
            if max_per_conversation:
                keep = keep[-max_per_conversation:]
            removed += len(messages) - len(keep)
            self._all[conversation] = keep
        kept = {m.msgid for ms in self._all.values() for m in ms}
        self._msgids = {k: v for k, v in self._msgids.items() if k in kept}
        self._cids = {k: v for k, v in self._cids.items() if v.msgid in kept}
        return removed

    def close(self) -> None:
        """Nothing to release."""
