from __future__ import annotations

import pytest

from chat.protocol import casefold, valid_channel, valid_nick


@pytest.mark.parametrize("nick", ["alice", "Bob_", "[x]", "a-1", "`^{|}"])
def test_valid_nicks(nick: str) -> None:
    assert valid_nick(nick, 30)


@pytest.mark.parametrize("nick", ["", "1abc", "-a", "a b", "a,b", "#chan", "x" * 31, "سلام", "a:b"])
def test_invalid_nicks(nick: str) -> None:
    assert not valid_nick(nick, 30)


@pytest.mark.parametrize("name", ["#lobby", "&local", "#گفتگو", "#a.b-c"])
def test_valid_channels(name: str) -> None:
    assert valid_channel(name, 50)


@pytest.mark.parametrize("name", ["lobby", "#", "#a b", "#a,b", "#a\x07", "#" + "x" * 50])
def test_invalid_channels(name: str) -> None:
    assert not valid_channel(name, 50)


def test_ascii_casemapping_folds_only_ascii_letters() -> None:
    assert casefold("Alice[]") == "alice[]"
    assert casefold("#ÄB") == "#Äb"


@pytest.mark.parametrize("name", ["#a\u202eb", "#a\u200bb", "#a\x85b", "#a\u3000b", "#" + "😀" * 13, "#\ufeffx"])
def test_channels_with_invisible_characters_or_over_50_bytes_are_invalid(name: str) -> None:
    assert not valid_channel(name, 50)
