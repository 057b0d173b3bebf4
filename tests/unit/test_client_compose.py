"""Long or multi-line input becomes several messages that each fit in an IRC line."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat.client.compose import as_action, line_budget, split_text
from chat.protocol import Message


def test_short_text_is_one_piece() -> None:
    assert split_text("hello", 100) == ["hello"]


def test_each_line_of_a_paste_is_a_message_and_blank_lines_vanish() -> None:
    assert split_text("one\n\ntwo\r\n  \nthree", 100) == ["one", "two", "three"]


def test_long_text_splits_on_words() -> None:
    assert split_text("aaaa bbbb cccc", 9) == ["aaaa bbbb", "cccc"]


def test_no_space_to_split_on_cuts_hard_but_not_inside_a_character() -> None:
    pieces = split_text("é" * 10, 5)
    assert all(len(p.encode()) <= 5 for p in pieces)
    assert "".join(pieces) == "é" * 10


@given(st.text(min_size=1, max_size=3000), st.integers(min_value=4, max_value=400))
def test_pieces_fit_and_keep_every_word(text: str, budget: int) -> None:
    pieces = split_text(text, budget)
    assert all(0 < len(p.encode()) <= budget for p in pieces)
    original = "".join(text.split())
    assert "".join("".join(p.split()) for p in pieces) == original


def test_budget_keeps_relayed_lines_within_512_bytes() -> None:
    nick, target = "alice", "#lobby"
    budget = line_budget("PRIVMSG", target, nick)
    text = "x" * budget
    relayed = Message("PRIVMSG", [target, text], f"{nick}!~{'u' * 10}@{'h' * 63}").encode()
    assert len(relayed) <= 512


def test_action_wrapping() -> None:
    assert as_action("waves") == "\x01ACTION waves\x01"
