"""The data directory and the databases in it are readable by their owner only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.server.accounts import ScryptParams, open_accounts
from chat.server.datafiles import make_data_dir
from chat.server.history import SqliteHistory, StoredMessage


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)  # what most systems use: new files would be 0644
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_data_dir_and_accounts_database_are_private(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    store = open_accounts(data)
    store.params = ScryptParams(n=2**10)
    store.add("alice", "correct horse")
    assert mode(data) == 0o700
    files = sorted(p.name for p in data.iterdir())
    assert files == ["accounts.sqlite3", "accounts.sqlite3-shm", "accounts.sqlite3-wal"]
    assert all(mode(data / name) == 0o600 for name in files), {name: oct(mode(data / name)) for name in files}
    store.close()


def test_new_history_database_is_private(tmp_path: Path) -> None:
    history = SqliteHistory(tmp_path / "history.sqlite3")
    history.add(StoredMessage(0, "m1", 1, "#lobby", "#lobby", "PRIVMSG", "a!u@h", "a", "hi", "", None))
    history.commit()
    names = [p.name for p in tmp_path.iterdir() if p.name.startswith("history.sqlite3")]
    assert "history.sqlite3-wal" in names
    assert all(mode(tmp_path / name) == 0o600 for name in names)
    history.close()


def test_a_directory_the_user_made_is_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    data.mkdir(mode=0o750)
    make_data_dir(data)
    open_accounts(data).close()
    assert mode(data) == 0o750
    assert mode(data / "accounts.sqlite3") == 0o600
