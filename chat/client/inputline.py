"""The desktop client's input line as logical text plus a cursor, shown in visual order.

A Tk 8.6 entry shows what it holds left to right, unshaped: typed Persian would read backwards
with broken letters. So the entry only *shows* :meth:`InputLine.visual` (shaped, reordered,
formatting codes as visible signs) and every edit goes through here, on the logical text that
is eventually sent. Kept apart from Tk so the cursor rules are tested without a display.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence, Set
from dataclasses import dataclass

from chat.client import richtext

__all__ = ["CODE_SIGNS", "InputLine", "Visual"]

#: How the formatting codes look while typed (one BMP character each, so indexes stay 1:1).
CODE_SIGNS = {
    "\x02": "✱",  # bold
    "\x1d": "⁄",  # italic
    "\x1f": "‗",  # underline
    "\x1e": "∸",  # strikethrough
    "\x11": "⌷",  # monospace
    "\x16": "⇄",  # reverse
    "\x03": "◍",  # colour
    "\x04": "◍",  # hex colour
    "\x0f": "⊘",  # reset
}

#: Bidi classes the algorithm removes (rule X9) and :func:`richtext.visual_order` puts back
#: beside a neighbour: boundary neutrals (ZWNJ, ZWJ, soft hyphen, U+FEFF), embeddings, overrides.
_FORMATTING = frozenset({"BN", "LRE", "RLE", "LRO", "RLO", "PDF"})


@dataclass(frozen=True, slots=True)
class Visual:
    """What the entry shows: ``text`` left to right, the cursor at ``cursor`` (0..len), and for
    each shown position the logical index it came from."""

    text: str
    cursor: int
    order: tuple[int, ...]
    rtl: bool


class InputLine:
    """Logical text and a logical cursor (0..len(text)), with the usual editing steps."""

    def __init__(self, text: str = "") -> None:
        self.text = text
        self.cursor = len(text)

    def set(self, text: str) -> None:
        self.text = text
        self.cursor = len(text)

    def insert(self, typed: str) -> None:
        self.text = self.text[: self.cursor] + typed + self.text[self.cursor :]
        self.cursor += len(typed)

    def backspace(self) -> None:
        if self.cursor:
            self.text = self.text[: self.cursor - 1] + self.text[self.cursor :]
            self.cursor -= 1

    def delete(self) -> None:
        self.text = self.text[: self.cursor] + self.text[self.cursor + 1 :]

    def move(self, step: int) -> None:
        """Left/Right move through the logical text (as most editors do in mixed text)."""
        self.cursor = min(max(self.cursor + step, 0), len(self.text))

    def home(self) -> None:
        self.cursor = 0

    def end(self) -> None:
        self.cursor = len(self.text)

    def remove(self, indexes: Set[int]) -> None:
        """Drop the characters at these logical indexes (a selection); the cursor goes there."""
        if not indexes:
            return
        self.text = "".join(ch for i, ch in enumerate(self.text) if i not in indexes)
        self.cursor = min(min(indexes), len(self.text))

    def selected(self, visual: Visual, start: int, end: int) -> str:
        """The logical text behind shown positions ``start..end``, in logical order."""
        chosen = sorted(visual.order[start:end])
        return "".join(self.text[i] for i in chosen)

    def visual(self) -> Visual:
        shown = "".join(CODE_SIGNS.get(ch, ch) for ch in self.text)
        rtl = richtext.base_rtl(shown)
        placed = richtext.visual_order(richtext.shape_exact(shown), rtl)
        text = "".join(ch for _, ch in placed)
        order = tuple(index for index, _ in placed)
        if self.cursor == 0:
            cursor = len(text) if rtl else 0
        else:
            where = _positions(order)
            before = self.cursor - 1  # the cursor stands just after this character, on its reading side
            cursor = where[before] if _drawn_rtl(shown, where, before, rtl) else where[before] + 1
        return Visual(text, cursor, order, rtl)

    def place(self, visual: Visual, position: int) -> None:
        """Put the cursor where the user clicked: shown position ``position`` (0..len)."""
        if not visual.order:
            self.cursor = 0
            return
        where = _positions(visual.order)
        if position >= len(visual.order):
            index = visual.order[-1]
            self.cursor = index if _drawn_rtl(self.text, where, index, visual.rtl) else index + 1
            return
        index = visual.order[max(position, 0)]
        self.cursor = index + 1 if _drawn_rtl(self.text, where, index, visual.rtl) else index


def _positions(order: Sequence[int]) -> list[int]:
    """Shown position of each logical index: ``order`` holds every index once (see
    :func:`richtext.visual_order`), so this is total."""
    where = [0] * len(order)
    for position, index in enumerate(order):
        where[index] = position
    return where


def _drawn_rtl(text: str, where: Sequence[int], index: int, rtl: bool) -> bool:
    """Whether the character at ``index`` is drawn right to left. An invisible formatting
    character (ZWNJ, ZWJ, embeddings) has no direction of its own: the bidi algorithm set it
    beside its logical neighbour, and it reads the way it goes from that neighbour."""
    if unicodedata.bidirectional(text[index]) not in _FORMATTING:
        return _reads_rtl(text[index], rtl)
    if index > 0:
        return where[index] < where[index - 1]
    if len(where) > 1:
        return where[index] > where[index + 1]
    return rtl


def _reads_rtl(ch: str, rtl: bool) -> bool:
    """Whether ``ch`` is drawn right to left: its own direction, or the line's for neutrals."""
    kind = unicodedata.bidirectional(ch)
    if kind in ("R", "AL"):
        return True
    if kind in ("L", "EN", "AN"):
        return False
    return rtl
