"""Server addresses as people type them."""

from __future__ import annotations

import pytest

from chat.client.address import format_address, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server", ("server", 6667)),
        ("server:7000", ("server", 7000)),
        ("chat.lan.example", ("chat.lan.example", 6667)),
        ("1.2.3.4:6667", ("1.2.3.4", 6667)),
        ("  10.0.0.5  ", ("10.0.0.5", 6667)),
        ("[::1]:6697", ("::1", 6697)),
        ("[::1]", ("::1", 6667)),
        ("::1", ("::1", 6667)),
        ("fe80::1%eth0", ("fe80::1%eth0", 6667)),
        ("localhost:65535", ("localhost", 65535)),
    ],
)
def test_accepted_forms(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


def test_default_port_is_configurable() -> None:
    assert parse_address("server", default_port=7000) == ("server", 7000)


def test_bad_port_is_explained() -> None:
    with pytest.raises(ValueError) as err:
        parse_address("abc:xyz")
    assert str(err.value) == 'bad port "xyz" in "abc:xyz": expected a number 1–65535'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no server address"),
        ("host:0", 'bad port "0"'),
        ("host:70000", 'bad port "70000"'),
        ("host:", 'bad port ""'),
        (":6667", "no host name"),
        ("[::1", 'missing "]"'),
        ("[::1]6667", 'expected ":port"'),
        ("[nothex]:1", "bad IPv6 address"),
        ("1::2::3", "bad IPv6 address"),
        ("bad host:1", 'bad host name "bad host"'),
        ("-x", 'bad host name "-x"'),
    ],
)
def test_junk_is_rejected_in_words(text: str, words: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_address(text)
    assert words in str(err.value)


def test_format_round_trips() -> None:
    for text in ("server:7000", "[::1]:6667", "10.0.0.5:6667"):
        assert format_address(*parse_address(text)) == text
