"""The rendering helpers: IRC formatting codes, shaping and bidi, links, mentions, the input line."""

from __future__ import annotations

import arabic_reshaper
import bidi
import pytest

from chat.client import richtext
from chat.client.connection import sendable
from chat.client.formatting import COLOURS, Run, Style, clean, parse, strip
from chat.client.inputline import InputLine
from chat.client.mentions import Bell, is_mention, mentions_nick
from chat.client.terminal import styled
from chat.protocol.names import fold

# ------------------------------------------------------------------ formatting codes


def test_plain_text_is_one_plain_run() -> None:
    assert parse("hello *world*") == [Run("hello *world*")]


def test_toggles_and_reset() -> None:
    assert parse("a\x02b\x1dc\x02d\x0fe") == [
        Run("a"),
        Run("b", Style(bold=True)),
        Run("c", Style(bold=True, italic=True)),
        Run("d", Style(italic=True)),
        Run("e"),
    ]


def test_underline_strike_mono_reverse() -> None:
    runs = parse("\x1fu\x1f\x1es\x1e\x11m\x11\x16r")
    assert [r.style for r in runs] == [
        Style(underline=True),
        Style(strike=True),
        Style(mono=True),
        Style(reverse=True),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x034red", [Run("red", Style(fg=4))]),
        ("\x0304,12red on blue", [Run("red on blue", Style(fg=4, bg=12))]),
        ("\x034,red", [Run(",red", Style(fg=4))]),  # a comma without digits is text
        ("\x03123", [Run("3", Style(fg=12))]),  # two digits at most
        ("\x0399,99x", [Run("x")]),  # 99 is "default"
        ("\x0320x", [Run("x")]),  # out of range: the UI's own colour
        ("\x034a\x03b", [Run("a", Style(fg=4)), Run("b")]),  # a bare \x03 ends colouring
        ("\x04ff0000,00ff00hex", [Run("hex")]),  # hex colours are dropped, digits too
        ("\x04zz", [Run("zz")]),
        ("\x02\x02\x0f", []),
        ("end\x03", [Run("end")]),
    ],
)
def test_colours_and_malformed_codes(text: str, expected: list[Run]) -> None:
    assert parse(text) == expected


def test_sixteen_colours() -> None:
    assert len(COLOURS) == 16


def test_other_control_characters_never_reach_the_screen() -> None:
    assert clean("a\x1b[2Jb\x07c\x00d\tx\ny\x9b") == "a[2Jbcd x y"
    assert strip("\x02bold\x02 \x0304,01red\x03 \x1dit") == "bold red it"
    assert strip("x\x04ff00ffy") == "xy"


# ----------------------------------------------------------------- shaping and bidi

# Expected strings: what a Tk 8.6 line must receive, left to right, for a person to read the
# sentence correctly (presentation forms, i.e. joined letters, in visual order).
PERSIAN = "سلام دنیا"
PERSIAN_SHOWN = "\ufe8e\ufbff\ufee7\ufea9 \ufee1\ufefc\ufeb3"  # ﺎﯿﻧﺩ ﻡﻼﺳ
ARABIC = "مرحبا بالعالم"
ARABIC_SHOWN = "\ufee2\ufedf\ufe8e\ufecc\ufedf\ufe8e\ufe91 \ufe8e\ufe92\ufea3\ufeae\ufee3"  # ﻢﻟﺎﻌﻟﺎﺑ ﺎﺒﺣﺮﻣ


def test_persian_is_joined_and_right_to_left() -> None:
    assert richtext.display(PERSIAN) == PERSIAN_SHOWN


def test_arabic_is_joined_and_right_to_left() -> None:
    assert richtext.display(ARABIC) == ARABIC_SHOWN


@pytest.mark.parametrize(
    "text",
    [PERSIAN, ARABIC, "سلام، حال شما چطور است؟", "من از Python 3.11 استفاده می‌کنم", "hello سلام world", "لا إله"],
)
def test_same_order_as_python_bidi(text: str) -> None:
    """Our reordering (which keeps track of each character's run) agrees with the library's."""
    expected = bidi.get_display(arabic_reshaper.reshape(text)).replace("\u200c", "")
    assert richtext.display(text) == expected


def test_mixed_line_keeps_latin_words_and_numbers_readable() -> None:
    shown = richtext.display("من از Python 3.11 استفاده می‌کنم")
    assert "Python 3.11" in shown  # left to right inside the right-to-left line
    assert shown.endswith("\ufee6\ufee3")  # ﻦﻣ: the first word is at the right end
    assert richtext.display("hello سلام world") == "hello \ufee1\ufefc\ufeb3 world"


def test_brackets_are_mirrored_in_right_to_left_text() -> None:
    assert richtext.display("(سلام)") == "(\ufee1\ufefc\ufeb3)"


def test_direction_is_the_first_strong_letter() -> None:
    assert richtext.base_rtl("سلام hello")
    assert not richtext.base_rtl("hello سلام")
    assert richtext.base_rtl("123 سلام")
    assert not richtext.base_rtl("12:30 🎉")


def test_latin_text_is_untouched() -> None:
    text = "plain English, with (brackets) and 🎉"
    assert richtext.display(text) == text
    assert richtext.layout([("a", 1), ("b", 2)]) == [("a", 1), ("b", 2)]


def test_runs_keep_their_payload_through_reordering() -> None:
    # "سلام" bold, then " دنیا" plain: the bold word is drawn at the right end.
    assert richtext.layout([("سلام", "bold"), (" دنیا", "plain")]) == [
        ("\ufe8e\ufbff\ufee7\ufea9 ", "plain"),
        ("\ufee1\ufefc\ufeb3", "bold"),
    ]


def test_a_ligature_across_runs_does_not_lose_text() -> None:
    pieces = richtext.layout([("ل", 1), ("ا", 2)])
    assert "".join(text for text, _ in pieces) == "\ufefb"  # lam-alef, one glyph
    assert [payload for _, payload in pieces] == [1]  # the merged glyph keeps the first run's style


def test_invisible_marks_are_not_drawn() -> None:
    assert "\u200c" not in richtext.display("می‌خواهم")
    assert "\ufe0f" not in richtext.display("❤️ ok")


def test_emoji_pass_through() -> None:
    assert richtext.display("party 🎉🎉 time") == "party 🎉🎉 time"
    assert "🎉" in richtext.display("جشن 🎉")


# ------------------------------------------------------------------------------ links


def test_links_are_found_without_trailing_punctuation() -> None:
    text = "see https://example.org/a?b=1, or (http://x.y/z). and https://w.org/wiki/A_(b)!"
    assert [link.url for link in richtext.links(text)] == [
        "https://example.org/a?b=1",
        "http://x.y/z",
        "https://w.org/wiki/A_(b)",
    ]
    assert richtext.links("ftp://x.y and http:// and www.x.org") == []


def test_split_links_covers_the_text() -> None:
    pieces = richtext.split_links("go to https://a.b/c now")
    assert pieces == [("go to ", None), ("https://a.b/c", "https://a.b/c"), (" now", None)]


# --------------------------------------------------------------------------- mentions


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("bob: hi", True),
        ("hi BOB!", True),
        ("@bob look", True),
        ("bobby is here", False),
        ("ask rebob", False),
        ("\x02bob\x02 look", True),
        ("سلام bob", True),
    ],
)
def test_nick_as_a_word(text: str, named: bool) -> None:
    assert mentions_nick(text, "bob") is named


def test_casemapping_decides_what_is_the_same_nick() -> None:
    assert mentions_nick("hey {Bob}", "[bob]", "rfc1459")
    assert not mentions_nick("hey {Bob}", "[bob]", "ascii")
    assert mentions_nick("hey [BOB]", "[bob]", "ascii")
    assert mentions_nick("a^b ping", "a~b", "rfc1459")
    assert not mentions_nick("a^b ping", "a~b", "strict-rfc1459")
    assert fold("ÄB[]", "rfc7613") == "äb{}"


def test_private_messages_are_mentions_and_own_never() -> None:
    assert is_mention("alice", "no name here", "alice")
    assert not is_mention("#lobby", "no name here", "alice")
    assert not is_mention("#lobby", "alice: me", "alice", own=True)


def test_bell_rings_once_per_burst() -> None:
    now = [0.0]
    bell = Bell(gap=10.0, clock=lambda: now[0])
    rings = []
    for at in (0.0, 1.0, 5.0, 14.0, 30.0, 31.0):
        now[0] = at
        rings.append(bell.ring())
    assert rings == [True, False, False, False, True, False]


# ------------------------------------------------------------- terminal and sending


def test_terminal_shows_codes_as_styles_never_raw() -> None:
    assert styled("\x02bold\x02 \x0304,01red\x03 plain") == "\x1b[1mbold\x1b[0m \x1b[91;40mred\x1b[0m plain"
    assert styled("سلام \x1dدنیا") == "سلام \x1b[3mدنیا\x1b[0m"  # logical order, for the terminal's own bidi
    assert "\x1b[2J" not in styled("\x1b[2J")


def test_one_cleaning_rule_for_what_is_sent() -> None:
    assert sendable("a\x00b\rc\x07d\x1be\x7ff\tg") == "abcdefg"
    codes = "\x02\x03\x04\x0f\x11\x16\x1d\x1e\x1f"
    assert sendable(f"x{codes}y") == f"x{codes}y"
    assert sendable("one\ntwo سلام 🎉 \x85") == "one\ntwo سلام 🎉 \x85"


# ------------------------------------------------------------------------ input line


def test_typed_persian_shows_right_to_left_and_stays_logical() -> None:
    line = InputLine()
    for ch in "سلام":
        line.insert(ch)
    shown = line.visual()
    assert line.text == "سلام"  # what is sent
    assert shown.text == "\ufee1\ufe8e\ufee0\ufeb3"  # ﻡﺎﻠﺳ: joined, right to left (no ligature while typing)
    assert shown.rtl and shown.cursor == 0  # the cursor after the last letter, at its left


def test_cursor_follows_the_reading_direction() -> None:
    line = InputLine("hi سلام")  # a left-to-right line: the cursor ends left of م, where the word ends
    shown = line.visual()
    assert shown.text[: shown.cursor] == "hi "
    line = InputLine("سلام hi")  # a right-to-left line with an English word at its end (its left)
    shown = line.visual()
    assert shown.rtl and shown.text[: shown.cursor] == "hi"
    line.move(-3)  # back over "hi" and the space: just after م
    shown = line.visual()
    assert shown.text[shown.cursor] == "\ufee1"  # ﻡ is drawn right of the cursor
    line.backspace()
    assert line.text == "سلا hi"


def test_formatting_codes_show_as_signs_and_are_sent_as_codes() -> None:
    line = InputLine("a")
    line.insert("\x02")
    line.insert("b")
    assert line.text == "a\x02b"
    assert line.visual().text == "a✱b"


def test_selection_maps_back_to_logical_text() -> None:
    line = InputLine("ab سلام")
    shown = line.visual()
    start = shown.text.index("\ufee1")  # the last letter (م), drawn at the far left
    assert line.selected(shown, start, start + 1) == "م"
    line.remove({shown.order[start]})
    assert line.text == "ab سلا"


def test_click_places_the_logical_cursor() -> None:
    line = InputLine("hello")
    line.place(line.visual(), 2)
    assert line.cursor == 2
    line.place(line.visual(), 99)
    assert line.cursor == 5


#: Characters python-bidi drops under rule X9, each in a line the way it is typed.
DROPPED = [
    "می\u200cخواهم",  # ZWNJ: "I want", in most Persian sentences
    "ab\u200dcd",  # ZWJ
    "لا\u200dم",  # ZWJ between Arabic letters
    "\u202aسلام\u202c hi",  # LRE ... PDF around Persian
    "\u202bab\u202c",  # RLE ... PDF around Latin
    "a\u202eبc\u202c",  # RLO ... PDF
    "سل\u00adام",  # soft hyphen
    "\ufeffhello",  # a byte order mark pasted at the start
    "hi\u200c",  # dropped character last
    "\u200c\u200cسلام",  # dropped characters first, in a right-to-left word
    "\u200c",  # nothing but a dropped character
]


@pytest.mark.parametrize("text", DROPPED)
def test_visual_order_keeps_every_character(text: str) -> None:
    for rtl in (False, True):
        placed = richtext.visual_order(text, rtl)
        assert sorted(index for index, _ in placed) == list(range(len(text)))


@pytest.mark.parametrize("text", DROPPED)
def test_cursor_anywhere_around_invisible_formatting_characters(text: str) -> None:
    for at in range(len(text) + 1):
        line = InputLine(text)
        line.cursor = at
        shown = line.visual()  # raised KeyError when the character before the cursor was dropped
        assert len(shown.text) == len(shown.order) == len(text)
        assert sorted(shown.order) == list(range(len(text)))
        assert 0 <= shown.cursor <= len(shown.text)
    for position in range(len(text) + 1):
        line = InputLine(text)
        line.place(line.visual(), position)  # a click anywhere in the entry
        assert 0 <= line.cursor <= len(text)


def test_cursor_walks_through_a_zwnj_word_one_place_per_character() -> None:
    text = "می\u200cخواهم"
    positions = []
    for at in range(len(text) + 1):
        line = InputLine(text)
        line.cursor = at
        shown = line.visual()
        positions.append(shown.cursor)
        clicked = InputLine(text)
        clicked.place(shown, shown.cursor)
        assert clicked.cursor == at  # clicking where the cursor is shown puts it back there
    assert positions == list(range(len(text), -1, -1))  # right to left, no place skipped or repeated


# ------------------------------------------------------------------------ long text


def test_links_on_a_long_run_of_closing_brackets() -> None:
    text = "http://a" + ")" * 100_000  # cut point was found by counting and slicing per character
    assert [link.url for link in richtext.links(text)] == ["http://a"]
    balanced = "http://a/" + "(" * 50_000 + ")" * 50_001 + "."
    assert [link.url for link in richtext.links(balanced)] == [balanced[:-2]]


def test_layout_of_a_hundred_kilobytes_keeps_every_character() -> None:
    text = "word " * 20_000
    runs = [(text, "a"), ("x" * 100_000, "b")]
    assert richtext.layout(runs) == runs  # one piece per run, not rebuilt per character
    persian = "درود " * 20_000  # no ligature: one glyph per letter
    shown = richtext.layout([(persian, None)])
    assert len(shown) == 1 and len(shown[0][0]) == len(persian)


def test_ligatures_in_many_runs_do_not_reshape_every_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    shape = richtext.shape
    shaped = [0]

    def counting(text: str) -> str:
        shaped[0] += len(text)
        return shape(text)

    monkeypatch.setattr(richtext, "shape", counting)
    runs = [("لا ", i % 2) for i in range(1_000)]  # lam-alef: a ligature in each of a thousand runs
    size = sum(len(text) for text, _ in runs)
    out = richtext.layout(runs)
    assert shaped[0] <= 100 * size  # shaping each prefix was about runs * size / 2
    assert "".join(text for text, _ in out).count("\ufefb") == 1_000  # every ligature drawn
    assert {payload for _, payload in out} == {0, 1}
