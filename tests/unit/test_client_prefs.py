"""The desktop client's remembered settings: the account name comes back, a password never goes in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chat.client import prefs


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    return tmp_path / "chat" / "gui.json"


def test_the_account_name_is_remembered(config_home: Path) -> None:
    prefs.save(prefs.Remembered("chat.lan", "alice", True, "alice"))
    assert prefs.load() == prefs.Remembered("chat.lan", "alice", True, "alice")
    assert set(json.loads(config_home.read_text())) == {"address", "nick", "tls", "account"}  # no password field


def test_a_file_from_before_accounts_still_loads(config_home: Path) -> None:
    config_home.parent.mkdir(parents=True)
    config_home.write_text('{"address": "chat.lan", "nick": "bob", "tls": false}')
    assert prefs.load() == prefs.Remembered("chat.lan", "bob", False, "")
