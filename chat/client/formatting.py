"""IRC formatting codes (bold ``\\x02``, colour ``\\x03NN,MM`` ...) read into styled runs.

Stock IRC clients put these control characters into messages; shown raw they are garbage. Both
UIs turn a message into :class:`Run` values here and draw each run with its :class:`Style`, so
what counts as bold or as a colour is decided once. The parser never fails: a malformed code
(``\\x03`` without digits, a colour number over 15, a dangling comma) is read the way common
clients read it and never leaks into the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from chat.protocol.message import FORMATTING_CODES, clean_text

__all__ = ["CODES", "COLOURS", "Run", "Style", "clean", "parse", "strip"]

BOLD, COLOUR, HEX, RESET, MONO, REVERSE, ITALIC, STRIKE, UNDERLINE = (
    "\x02", "\x03", "\x04", "\x0f", "\x11", "\x16", "\x1d", "\x1e", "\x1f",
)  # fmt: skip
#: Every formatting code: the control characters a message may carry on purpose.
CODES = FORMATTING_CODES
#: The 16 standard mIRC colours (0 white ... 15 light grey), as RGB for the GUI.
COLOURS = (
    "#ffffff", "#000000", "#00007f", "#009300", "#ff0000", "#7f0000", "#9c009c", "#fc7f00",
    "#ffff00", "#00fc00", "#009393", "#00ffff", "#0000fc", "#ff00ff", "#7f7f7f", "#d2d2d2",
)  # fmt: skip

# \x03 takes up to two digits, then optionally a comma and up to two more; a comma without
# digits after it is text (mIRC's rule). \x04 takes six hex digits the same way.
_COLOUR = re.compile(r"\x03(?:(\d{1,2})(?:,(\d{1,2}))?)?")
_HEX = re.compile(r"\x04(?:([0-9a-fA-F]{6})(?:,([0-9a-fA-F]{6}))?)?")
_ALL_CODES = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d-\x1f]"
)


@dataclass(frozen=True, slots=True)
class Style:
    """How a run looks; ``fg``/``bg`` are colour numbers 0-15 (None: the UI's own colour)."""

    bold: bool = False
    italic: bool = False
    underline: bool = False
    strike: bool = False
    mono: bool = False
    reverse: bool = False
    fg: int | None = None
    bg: int | None = None

    @property
    def plain(self) -> bool:
        return self == PLAIN


PLAIN = Style()


@dataclass(frozen=True, slots=True)
class Run:
    """A stretch of text with one style."""

    text: str
    style: Style = PLAIN


def clean(text: str) -> str:
    """``text`` as it may be shown: formatting codes kept, other control characters dropped,
    tabs and line breaks turned into spaces (a message is one line)."""
    # clean_text drops the other controls, C1 included (some terminals obey 0x9b as CSI).
    return clean_text(text.replace("\t", " ").replace("\n", " "))


def strip(text: str) -> str:
    """``text`` without any formatting code (and without other control characters)."""
    return _ALL_CODES.sub("", clean(text))


def parse(text: str) -> list[Run]:
    """The styled runs of ``text`` (cleaned first), adjacent runs of one style merged."""
    text = clean(text)
    runs: list[Run] = []
    style = PLAIN
    chunk: list[str] = []

    def flush() -> None:
        if chunk:
            piece = "".join(chunk)
            if runs and runs[-1].style == style:
                runs[-1] = Run(runs[-1].text + piece, style)
            else:
                runs.append(Run(piece, style))
            chunk.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        if ch not in CODES:
            chunk.append(ch)
            i += 1
            continue
        flush()
        if ch == COLOUR:
            match = _COLOUR.match(text, i)
            assert match is not None  # the pattern matches a lone \x03
            style = _colour(style, match.group(1), match.group(2))
            i = match.end()
            continue
        if ch == HEX:  # 24-bit colours: too rare to draw, but the digits must not show
            match = _HEX.match(text, i)
            assert match is not None
            i = match.end()
            continue
        style = _toggle(style, ch)
        i += 1
    flush()
    return runs


def _colour(style: Style, fg: str | None, bg: str | None) -> Style:
    """``\\x03`` alone ends colouring; numbers over 15 (``99`` is "default") leave that colour as
    the UI's own."""
    if fg is None:
        return replace(style, fg=None, bg=None)
    style = replace(style, fg=_number(fg))
    return style if bg is None else replace(style, bg=_number(bg))


def _number(digits: str) -> int | None:
    value = int(digits)
    return value if value < len(COLOURS) else None


def _toggle(style: Style, code: str) -> Style:
    match code:
        case "\x02":
            return replace(style, bold=not style.bold)
        case "\x1d":
            return replace(style, italic=not style.italic)
        case "\x1f":
            return replace(style, underline=not style.underline)
        case "\x1e":
            return replace(style, strike=not style.strike)
        case "\x11":
            return replace(style, mono=not style.mono)
        case "\x16":
            return replace(style, reverse=not style.reverse)
    return PLAIN  # \x0f
