"""Text as a screen without shaping or bidi must be given it: the GUI's one rendering helper.

Tk 8.6 draws characters one by one, left to right, in the order it gets them: Persian and
Arabic come out with unjoined letters and backwards. So before a line reaches Tk it is
*shaped* here (arabic-reshaper picks each letter's joined form) and put in *visual order*
(python-bidi's implementation of the Unicode bidi algorithm). The text stays logical
everywhere else: in the model, on the wire, in the terminal.

Styled text goes through as runs with an opaque payload (Tk tags, a link), so one run of bold
Persian inside an English sentence keeps its style after reordering. Links are found here too,
because a link is a run as well.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import arabic_reshaper
from bidi import algorithm as _bidi

__all__ = [
    "Link",
    "base_rtl",
    "display",
    "has_rtl",
    "layout",
    "links",
    "shape",
    "shape_exact",
    "split_links",
    "visual_order",
]

T = TypeVar("T")

#: Arabic-script blocks (letters, presentation forms): only text with these needs shaping.
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
#: Strong right-to-left letters (Hebrew, Arabic, Syriac, Thaana, N'Ko ...) and the RTL marks.
_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc\u200f\u202b\u202e\u2067]")
#: Characters with no glyph of their own (zero-width joiners, bidi marks, variation selectors):
#: they have done their work once the text is shaped and ordered, and Tk 8.6 would draw some of
#: them as boxes.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufe00-\ufe0f\ufeff]")
_LINK = re.compile(r"https?://[^\s<>\"'\x00-\x1f]+", re.IGNORECASE)
#: Closing punctuation that ends a sentence rather than the link: ``(see http://x.org/a).``
_LINK_TAIL = ".,;:!?)]}'\"»،؛"

#: How many run boundaries :func:`_owners` finds again by shaping each prefix (see there).
_RESHAPED_PREFIXES = 64

_reshaper = arabic_reshaper.ArabicReshaper(configuration={"delete_harakat": True, "support_ligatures": True})
#: For the input line: one glyph per typed character (no ligatures, diacritics kept), so that the
#: cursor and the selection map back to the logical text exactly.
_exact_reshaper = arabic_reshaper.ArabicReshaper(configuration={"delete_harakat": False, "support_ligatures": False})


@dataclass(frozen=True, slots=True)
class Link:
    """A web address in a message: ``start``/``end`` index the text it was found in."""

    start: int
    end: int
    url: str


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds any right-to-left letter, so that it needs ordering at all."""
    return _RTL.search(text) is not None


def base_rtl(text: str) -> bool:
    """The paragraph's direction by its first strong letter (Unicode rules P2-P3): a line that
    starts in Persian is right-to-left, even with English words in it, and the other way round."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def shape(text: str) -> str:
    """Arabic-script letters in their joined (presentation) forms, still in logical order."""
    return _reshaper.reshape(text) if _ARABIC.search(text) else text


def shape_exact(text: str) -> str:
    """Like :func:`shape`, but character for character: ``len(shape_exact(t)) == len(t)``."""
    if not _ARABIC.search(text):
        return text
    shaped = _exact_reshaper.reshape(text)
    return shaped if len(shaped) == len(text) else text  # never seen; unshaped beats a wrong cursor


def visual_order(text: str, rtl: bool) -> list[tuple[int, str]]:
    """(logical index, character as drawn) from left to right: the bidi algorithm's levels
    (python-bidi) and its line reordering, keeping track of where each character came from.
    Mirrored characters (brackets in right-to-left runs) come back mirrored. Every index of
    ``text`` is in the result once, invisible formatting characters included."""
    if not rtl and not has_rtl(text):
        return list(enumerate(text))
    storage = _bidi.get_empty_storage()
    storage["base_level"] = 1 if rtl else 0
    storage["base_dir"] = "R" if rtl else "L"
    _bidi.get_embedding_levels(text, storage)
    for index, char in enumerate(storage["chars"]):
        char["index"] = index  # travels with the character through the reordering
    _bidi.explicit_embed_and_overrides(storage)
    _bidi.resolve_weak_types(storage)
    _bidi.resolve_neutral_types(storage, False)
    _bidi.resolve_implicit_levels(storage, False)
    _bidi.reorder_resolved_levels(storage, False)
    _bidi.apply_mirroring(storage, False)
    placed = [(int(char["index"]), str(char["ch"]), int(char["level"])) for char in storage["chars"]]
    return _put_back(text, placed, rtl)


def _put_back(text: str, placed: list[tuple[int, str, int]], rtl: bool) -> list[tuple[int, str]]:
    """``placed`` (index, character, level) with the characters python-bidi dropped under rule X9
    (ZWNJ, ZWJ, soft hyphen, U+FEFF, embeddings and overrides) put back, so that every logical
    index has a place: the input line's cursor can stand after a ZWNJ, which Persian has in
    most sentences. Like UAX #9 section 5.2 suggests, a dropped character goes with the one
    before it (the first kept one for those at the start), on that character's reading side."""
    kept = {index for index, _, _ in placed}
    if len(kept) == len(text):
        return [(index, ch) for index, ch, _ in placed]
    if not kept:
        everything = list(enumerate(text))
        return everything[::-1] if rtl else everything
    leaders: list[int] = []
    followers: dict[int, list[int]] = {}
    anchor: int | None = None
    for index in range(len(text)):
        if index in kept:
            anchor = index
        elif anchor is None:
            leaders.append(index)
        else:
            followers.setdefault(anchor, []).append(index)
    first = min(kept)
    out: list[tuple[int, str]] = []
    for index, ch, level in placed:
        chain = [(i, text[i]) for i in leaders] if index == first else []
        chain.append((index, ch))
        chain.extend((i, text[i]) for i in followers.get(index, ()))
        out.extend(reversed(chain) if level % 2 else chain)
    return out


def display(text: str, rtl: bool | None = None) -> str:
    """``text`` ready for Tk: shaped, in visual order, invisible marks removed. ``rtl`` None:
    the direction of the text's first strong letter."""
    return "".join(text for text, _ in layout([(text, None)], rtl))


def layout(runs: Sequence[tuple[str, T]], rtl: bool | None = None) -> list[tuple[str, T]]:
    """Logical runs (text, payload) to visual runs, left to right, each with its payload.

    The runs are shaped as one text, so letters join across a change of style; where a
    ligature swallows a run boundary the merged glyph takes the earlier run's payload."""
    logical = "".join(text for text, _ in runs)
    if rtl is None:
        rtl = base_rtl(logical)
    shaped = shape(logical)
    owners = _owners([len(text) for text, _ in runs], logical, shaped)
    pieces: list[tuple[list[str], T]] = []  # joined once at the end: adding to a str per character is quadratic
    last = -1
    for index, ch in visual_order(shaped, rtl):
        ch = _INVISIBLE.sub("", ch)
        if not ch:
            continue
        owner = owners[index]
        if owner == last:
            pieces[-1][0].append(ch)
        else:
            pieces.append(([ch], runs[owner][1]))
            last = owner
    return [("".join(chars), payload) for chars, payload in pieces]


def _owners(lengths: list[int], logical: str, shaped: str) -> list[int]:
    """For each character of ``shaped``, the run it belongs to. Shaping keeps the length unless
    a ligature (lam-alef) merges letters or a diacritic is dropped; then the run boundaries are
    found again by shaping each prefix.

    Shaping every prefix costs runs x length, so past :data:`_RESHAPED_PREFIXES` runs (a long
    message with many styles *and* a ligature) the unshaped boundaries are kept instead: a
    payload may then start a character or two late, which beats a frozen window."""
    flat = [run for run, length in enumerate(lengths) for _ in range(length)]
    if len(shaped) == len(logical):
        return flat
    if len(lengths) > _RESHAPED_PREFIXES:
        return (flat + [len(lengths) - 1] * len(shaped))[: len(shaped)]
    owners: list[int] = []
    start = 0
    consumed = 0
    for run, length in enumerate(lengths):
        consumed += length
        end = len(shape(logical[:consumed])) if run < len(lengths) - 1 else len(shaped)
        end = min(max(end, start), len(shaped))
        owners.extend([run] * (end - start))
        start = end
    return owners


def links(text: str) -> list[Link]:
    """The ``http://`` and ``https://`` addresses in ``text``, without the punctuation that
    closes the sentence around them (a ``)`` stays when the link opened one)."""
    found = []
    for match in _LINK.finditer(text):
        url = match.group()
        end = _link_end(url)
        if end > url.index("//") + 2:
            found.append(Link(match.start(), match.start() + end, url[:end]))
    return found


def _link_end(url: str) -> int:
    """Where ``url`` ends once the sentence's closing punctuation is cut off: one backward pass
    keeping the bracket counts (counting and slicing per character was quadratic on ``)))...``)."""
    opened = url.count("(")
    closed = url.count(")")
    end = len(url)
    while end and url[end - 1] in _LINK_TAIL:
        if url[end - 1] == ")":
            if opened >= closed:
                break  # this one closes a bracket the link opened: it is part of the address
            closed -= 1
        end -= 1
    return end


def split_links(text: str) -> list[tuple[str, str | None]]:
    """``text`` cut into (piece, url or None) so a UI can draw the links differently."""
    out: list[tuple[str, str | None]] = []
    at = 0
    for link in links(text):
        if link.start > at:
            out.append((text[at : link.start], None))
        out.append((link.url, link.url))
        at = link.end
    if at < len(text):
        out.append((text[at:], None))
    return out
