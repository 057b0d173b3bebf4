"""Choosing among the servers found on the LAN: one is taken (and named), several are asked
about with a numbered prompt (or listed with their addresses when nobody can answer), none
gives a message that says how to give an address."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chat import mdns
from chat.client.choose import NoServer, describe, pick, table
from chat.client.discovery import Found

OFFICE = Found("Office", ("192.168.1.20",), 6667, 6697, mdns.Txt(version="chat-0.1.0", users=3))
LAB = Found("Lab", ("192.168.7.1",), None, 6697, mdns.Txt(version="chat-0.1.0", password=True))


def answers(*lines: str) -> tuple[list[str], object]:
    asked: list[str] = []
    queue: Iterator[str] = iter(lines)

    def ask(prompt: str) -> str:
        asked.append(prompt)
        try:
            return next(queue)
        except StopIteration:
            raise EOFError from None

    return asked, ask


def test_the_only_server_is_taken_and_named() -> None:
    said: list[str] = []
    assert pick([OFFICE], ask=None, say=said.append) is OFFICE
    assert said == ["found one chat server on the LAN: Office at 192.168.1.20:6667 (TLS too, 3 online); connecting"]


def test_none_found_says_how_to_give_an_address() -> None:
    with pytest.raises(NoServer) as caught:
        pick([], ask=None, say=print, seconds=2)
    text = str(caught.value)
    assert text.startswith("no chat server answered on the LAN within 2 s")
    assert "chat connect 192.168.1.20" in text and "5353" in text


def test_several_are_asked_about_by_number_until_the_answer_fits() -> None:
    said: list[str] = []
    asked, ask = answers("9", "two", "2")
    assert pick([LAB, OFFICE], ask=ask, say=said.append) is OFFICE  # type: ignore[arg-type]
    assert said[:3] == [
        "2 chat servers answered on the LAN:",
        "  1. Lab at 192.168.7.1:6697 (TLS only, password needed)",
        "  2. Office at 192.168.1.20:6667 (TLS too, 3 online)",
    ]
    assert said[3:] == [f'"{bad}" is not one of them: type a number from 1 to 2' for bad in ("9", "two")]
    assert asked == ["which one? 1-2 (Enter to give up): "] * 3


def test_several_can_be_chosen_by_name_or_given_up_on() -> None:
    _asked, ask = answers("office")
    assert pick([LAB, OFFICE], ask=ask, say=lambda _line: None) is OFFICE  # type: ignore[arg-type]
    _asked, ask = answers("")
    with pytest.raises(NoServer, match="no server chosen"):
        pick([LAB, OFFICE], ask=ask, say=lambda _line: None)  # type: ignore[arg-type]
    _asked, ask = answers()  # Ctrl-D
    with pytest.raises(NoServer):
        pick([LAB, OFFICE], ask=ask, say=lambda _line: None)  # type: ignore[arg-type]


def test_several_without_anyone_to_ask_lists_the_commands_to_type() -> None:
    with pytest.raises(NoServer) as caught:
        pick([LAB, OFFICE], ask=None, say=lambda _line: None)
    lines = str(caught.value).splitlines()
    assert lines[0] == "2 chat servers answered on the LAN; say which with its address:"
    assert lines[1].startswith("  chat connect 192.168.7.1:6697    # Lab")
    assert lines[2].startswith("  chat connect 192.168.1.20:6667    # Office")


def test_table_and_description() -> None:
    assert table([LAB, OFFICE]) == [
        "name    address            tls         password  users  version",
        "Lab     192.168.7.1:6697   only        yes       ?      chat-0.1.0",
        "Office  192.168.1.20:6667  yes (6697)  no        3      chat-0.1.0",
    ]
    assert describe(Found("Open", ("10.0.0.1",), 6667)) == "Open at 10.0.0.1:6667"
