"""Parsing and formatting IRC lines, tags and escaping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.protocol import Message, ParseError, clean_text, clip_utf8, format_tags, parse, parse_tags, valid_tag_key
from chat.protocol.message import escape_tag_value, unescape_tag_value


def test_parse_full_line() -> None:
    msg = parse("@time=2026-01-01T00:00:00.000Z;msgid=abc :alice!a@h PRIVMSG #lobby :hello there")
    assert msg.tags == {"time": "2026-01-01T00:00:00.000Z", "msgid": "abc"}
    assert msg.prefix == "alice!a@h"
    assert msg.nick == "alice"
    assert msg.command == "PRIVMSG"
    assert msg.params == ["#lobby", "hello there"]


def test_parse_is_lenient_about_spaces_and_case() -> None:
    msg = parse("privmsg   #a   :  spaced  text ")
    assert msg.command == "PRIVMSG"
    assert msg.params == ["#a", "  spaced  text "]


def test_trailing_may_be_empty_or_contain_colons() -> None:
    assert parse("PRIVMSG #a :").params == ["#a", ""]
    assert parse("PRIVMSG #a ::-) a:b").params == ["#a", ":-) a:b"]


def test_numeric_without_trailing() -> None:
    assert parse(":srv 001 alice hi").params == ["alice", "hi"]


@pytest.mark.parametrize("line", ["", "   ", "@a=b", ":prefix", "@a=b :prefix "])
def test_no_command_is_a_parse_error(line: str) -> None:
    with pytest.raises(ParseError):
        parse(line)


def test_tag_escaping_follows_the_spec() -> None:
    assert escape_tag_value("a;b c\\d\r\n") == "a\\:b\\sc\\\\d\\r\\n"
    assert unescape_tag_value("a\\:b\\sc\\\\d\\r\\n") == "a;b c\\d\r\n"
    # Unknown escapes drop the backslash; a lone trailing backslash is dropped.
    assert unescape_tag_value("\\b\\") == "b"


def test_tags_without_value_and_repeated_keys() -> None:
    assert parse_tags("a;b=;c=1;c=2") == {"a": "", "b": "", "c": "2"}
    assert format_tags({"a": "", "+x/y": "1 2"}) == "a;+x/y=1\\s2"


def test_format_puts_colon_only_where_needed() -> None:
    assert Message("PRIVMSG", ["#a", "hi"]).to_line() == "PRIVMSG #a hi"
    assert Message("PRIVMSG", ["#a", "hi there"]).to_line() == "PRIVMSG #a :hi there"
    assert Message("PRIVMSG", ["#a", ""]).to_line() == "PRIVMSG #a :"
    assert Message("PRIVMSG", ["#a", ":)"]).to_line() == "PRIVMSG #a ::)"


@pytest.mark.parametrize(
    "msg",
    [
        Message("PRIVMSG", ["bad middle", "x"]),
        Message("PRIVMSG", ["#a", "line\nbreak"]),
        Message("", ["x"]),
    ],
)
def test_format_refuses_what_would_not_parse_back(msg: Message) -> None:
    with pytest.raises(ValueError):
        msg.to_line()


tag_keys = st.from_regex(r"\+?([a-z]{1,8}/)?[A-Za-z0-9-]{1,10}", fullmatch=True)
tag_values = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=20)
middles = st.from_regex(r"[^\s:\x00][^\s\x00]{0,15}", fullmatch=True)
trailings = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\0"), max_size=40)


@given(
    tags=st.dictionaries(tag_keys, tag_values, max_size=4),
    prefix=st.one_of(st.none(), st.from_regex(r"[a-z]{1,8}(![a-z]{1,5}@[a-z.]{1,10})?", fullmatch=True)),
    command=st.sampled_from(["PRIVMSG", "NOTICE", "001", "JOIN", "TAGMSG"]),
    middle=st.lists(middles, max_size=3),
    trailing=st.one_of(st.none(), trailings),
)
def test_round_trip(
    tags: dict[str, str], prefix: str | None, command: str, middle: list[str], trailing: str | None
) -> None:
    params = middle + ([trailing] if trailing is not None else [])
    msg = Message(command, params, prefix, tags)
    assert parse(msg.to_line()) == msg
    assert msg.encode().endswith(b"\r\n")


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_tag_value_escape_round_trip(value: str) -> None:
    assert unescape_tag_value(escape_tag_value(value)) == value
    assert ";" not in escape_tag_value(value) and " " not in escape_tag_value(value)


def test_encode_with_a_limit_cuts_the_last_parameter_at_a_character_boundary() -> None:
    from chat.protocol import MAX_BODY

    msg = Message("PRIVMSG", ["#a", "é" * 300], "nick!user@host", {"time": "2027-01-01T00:00:00.000Z"})
    data = msg.encode(MAX_BODY)
    _tags, _, body = data.partition(b" ")
    assert len(body) == 511 and body.endswith(b"\r\n")  # 509 bytes of body fit; half an é does not
    assert parse(data[:-2].decode()).params[1] == "é" * 241
    assert Message("PING", ["x"]).encode(MAX_BODY) == b"PING x\r\n"


def test_encode_with_a_limit_cuts_the_line_when_middle_parameters_are_too_long() -> None:
    data = Message("401", ["me", "n" * 600, "No such nick"], "srv").encode(512)
    assert len(data) == 512 and data.endswith(b"n\r\n")


@pytest.mark.parametrize(("key", "ok"), [("+chat/cid", True), ("label", True), ("+a-b", True), ("+", False),
                                         ("+a b", False), ("+é", False), ("+a/", False), ("a=b", False)])  # fmt: skip
def test_tag_key_grammar(key: str, ok: bool) -> None:
    assert valid_tag_key(key) is ok


def test_clip_and_clean_text() -> None:
    assert clip_utf8("aé😀", 3) == "aé" and clip_utf8("aé😀", 6) == "aé"  # never half a character
    assert clip_utf8("abc", 10) == "abc"
    assert clean_text("\x02b\x02\x03" + "4c\x1b[1m\x00\x85\x7f\t") == "\x02b\x02\x034c[1m"
