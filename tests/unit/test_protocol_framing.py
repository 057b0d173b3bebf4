"""Line framing: partial reads, many lines per read, and the length limits."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from chat.protocol import LineReader, LineTooLong


def test_partial_lines_are_joined_across_reads() -> None:
    reader = LineReader()
    assert reader.feed(b"PRIV") == []
    assert reader.feed(b"MSG #a :hi\r") == []
    assert reader.feed(b"\nPING x\n") == [b"PRIVMSG #a :hi", b"PING x"]


def test_crlf_and_lf_and_blank_lines() -> None:
    assert LineReader().feed(b"A\r\nB\n\r\n\nC\r\n") == [b"A", b"B", b"C"]


def test_body_over_512_bytes_is_reported_and_the_next_line_still_works() -> None:
    reader = LineReader()
    long_line = b"PRIVMSG #a :" + b"x" * 600
    out = reader.feed(long_line + b"\r\nPING ok\r\n")
    assert isinstance(out[0], LineTooLong)
    assert out[1] == b"PING ok"


def test_exactly_510_bytes_plus_crlf_is_accepted() -> None:
    line = b"PRIVMSG #a :" + b"x" * (510 - 12)
    assert LineReader().feed(line + b"\r\n") == [line]


def test_tags_have_their_own_budget() -> None:
    tags = b"@+x=" + b"y" * 4000 + b" "
    line = tags + b"PRIVMSG #a :hi"
    assert LineReader().feed(line + b"\n") == [line]
    too_many = b"@+x=" + b"y" * 9000 + b" PRIVMSG #a :hi\n"
    assert isinstance(LineReader().feed(too_many)[0], LineTooLong)


def test_unterminated_flood_is_discarded_not_buffered() -> None:
    reader = LineReader()
    for _ in range(100):
        assert reader.feed(b"z" * 65536) == []
        assert reader.buffered < 10_000
    out = reader.feed(b"tail\nPING back\n")
    assert isinstance(out[0], LineTooLong) and out[0].length > 6_000_000
    assert out[1:] == [b"PING back"]


@given(st.lists(st.from_regex(rb"[A-Z]{1,5}( [a-z]{1,10}){0,3}", fullmatch=True), max_size=20), st.data())
def test_any_split_of_the_stream_gives_the_same_lines(lines: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(line + b"\r\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    reader = LineReader()
    got: list[bytes | LineTooLong] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        got += reader.feed(stream[start:cut])
        start = cut
    assert got == lines


def test_client_tag_limit_is_4094_bytes_of_tag_data() -> None:
    from chat.protocol import MAX_CLIENT_TAGS

    reader = LineReader(max_tags=MAX_CLIENT_TAGS)
    fits = b"@" + b"a" * 4094 + b" PING x"
    assert reader.feed(fits + b"\r\n") == [fits]
    assert isinstance(reader.feed(b"@" + b"a" * 4095 + b" PING x\r\n")[0], LineTooLong)
