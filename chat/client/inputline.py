"""The desktop client's input line as logical text plus a cursor, shown in visual order.

A Tk 8.6 entry shows what it holds left to right, unshaped: typed Persian would read backwards
with broken letters. So the entry only *shows* :meth:`InputLine.visual` (shaped, reordered,
formatting codes as visible signs) and every edit goes through here, on the logical text that
is eventually sent. Kept apart from Tk so the cursor rules are tested without a display.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Set
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
        where = {index: position for position, index in enumerate(order)}
        if self.cursor == 0:
            cursor = len(text) if rtl else 0
        else:
            before = self.cursor - 1  # the cursor stands just after this character, on its reading side
            cursor = where[before] if _reads_rtl(shown[before], rtl) else where[before] + 1
        return Visual(text, cursor, order, rtl)

    def place(self, visual: Visual, position: int) -> None:
        """Put the cursor where the user clicked: shown position ``position`` (0..len)."""
        if not visual.order:
            self.cursor = 0
            return
        if position >= len(visual.order):
            index = visual.order[-1]
            self.cursor = index if _reads_rtl(self.text[index], visual.rtl) else index + 1
            return
        index = visual.order[position]
        self.cursor = index + 1 if _reads_rtl(self.text[index], visual.rtl) else index


def _reads_rtl(ch: str, rtl: bool) -> bool:
    """Whether ``ch`` is drawn right to left: its own direction, or the line's for neutrals."""
    kind = unicodedata.bidirectional(ch)
    if kind in ("R", "AL"):
        return True
    if kind in ("L", "EN", "AN"):
        return False
    return rtl
