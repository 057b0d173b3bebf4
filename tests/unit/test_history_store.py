"""Both history stores honour the same contract, on a real SQLite file and in memory."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.server.history import HistoryStore, MemoryHistory, SqliteHistory, StoredMessage


def message(store: HistoryStore, conv: str, time_ms: int, text: str, cid: str | None = None) -> StoredMessage:
    seq = store.next_seq()
    return store.add(StoredMessage(seq, f"id{seq}", time_ms, conv, conv, "PRIVMSG", "a!u@h", "a", text, "", cid))


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    s: HistoryStore = SqliteHistory(tmp_path / "h.sqlite3") if request.param == "sqlite" else MemoryHistory()
    yield s
    s.close()


def texts(found: list[StoredMessage]) -> list[str]:
    return [m.text for m in found]


def test_ranges_are_exclusive_and_ascending(store: HistoryStore) -> None:
    for i in range(10):
        message(store, "#a", 1000 + i * 10, f"m{i}")
        message(store, "#b", 1000 + i * 10, f"other{i}")
    store.commit()
    m3 = store.seq_of_msgid("#a", "id7")  # the 4th message of #a has seq 7
    assert m3 is not None
    assert texts(store.after("#a", m3, 3)) == ["m4", "m5", "m6"]
    assert texts(store.before("#a", m3, 2)) == ["m1", "m2"]
    assert texts(store.before("#a", 1 << 62, 2)) == ["m8", "m9"]
    assert store.seq_of_msgid("#b", "id7") is None  # a msgid only counts in its own conversation


def test_timestamps_map_to_exclusive_bounds(store: HistoryStore) -> None:
    for i in range(5):
        message(store, "#a", 1000 + i * 10, f"m{i}")
    after_1020 = store.seq_at_time("#a", 1020, after=True)
    assert texts(store.after("#a", after_1020, 10)) == ["m3", "m4"]
    before_1020 = store.seq_at_time("#a", 1020, after=False)
    assert texts(store.before("#a", before_1020, 10)) == ["m0", "m1"]
    assert texts(store.after("#a", store.seq_at_time("#a", 0, after=True), 10)) == [f"m{i}" for i in range(5)]


def test_client_ids_are_found_per_target_whoever_sends_again(store: HistoryStore) -> None:
    first = message(store, "#a", 1, "hello", cid="c1")
    assert store.by_cid("c1", "#a") == first
    assert store.by_cid("c1", "#b") is None  # the same id said elsewhere is another message
    assert store.by_cid("c2", "#a") is None


def test_targets_lists_my_rooms_and_private_conversations(store: HistoryStore) -> None:
    message(store, "#a", 100, "x")
    message(store, "#secret", 150, "x")
    message(store, "alice bob", 200, "x")
    message(store, "bob carol", 300, "x")
    message(store, "al_ice bob", 250, "x")  # LIKE wildcards in nicks must not match "alice"
    assert store.targets("alice", ["#a"], 0, 1000, 10) == [("#a", 100), ("alice bob", 200)]
    assert store.targets("bob", [], 0, 1000, 10) == [("alice bob", 200), ("al_ice bob", 250), ("bob carol", 300)]
    assert store.targets("bob", [], 210, 1000, 1) == [("al_ice bob", 250)]


def test_retention_by_count_and_age(store: HistoryStore) -> None:
    for i in range(10):
        message(store, "#a", 1000 + i, f"m{i}")
    message(store, "#b", 5000, "recent")
    store.commit()
    assert store.prune(3, 0) == 7
    assert texts(store.before("#a", 1 << 62, 100)) == ["m7", "m8", "m9"]
    assert store.prune(0, 2000) == 3
    assert texts(store.before("#b", 1 << 62, 100)) == ["recent"]


def test_committed_messages_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    first = SqliteHistory(path)
    message(first, "#a", 1, "kept")
    first.commit()
    message(first, "#a", 2, "never committed")
    # Simulate a crash: the connection is dropped without COMMIT.
    first.db.close()
    again = SqliteHistory(path)
    assert texts(again.after("#a", 0, 10)) == ["kept"]
    assert again.next_seq() == 2
    mode = again.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_newer_schema_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(RuntimeError, match="newer chat"):
        SqliteHistory(path)


def test_a_version_2_file_is_upgraded_and_keeps_finding_private_conversations(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    old = SqliteHistory(path)
    message(old, "alice bob", 200, "before the upgrade")
    message(old, "#a", 100, "x")
    old.commit()
    old.db.execute("DROP TABLE private_conversations")  # what a version 2 file looks like
    old.db.execute("PRAGMA user_version = 2")
    old.close()
    upgraded = SqliteHistory(path)
    assert upgraded.db.execute("PRAGMA user_version").fetchone()[0] == 3
    assert upgraded.targets("bob", [], 0, 1000, 10) == [("alice bob", 200)]
    message(upgraded, "bob carol", 300, "after")
    assert upgraded.targets("bob", ["#a"], 0, 1000, 10) == [("#a", 100), ("alice bob", 200), ("bob carol", 300)]
    upgraded.close()
