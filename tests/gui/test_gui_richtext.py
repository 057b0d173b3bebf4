"""Messages that read right in the desktop client, on Xvfb against a real server: Persian joined
and right to left, IRC formatting as styles, a mention highlighted and flashed, a link that opens
the browser, Ctrl+B sending bold. Leaves a screenshot (``CHAT_RTL_SCREENSHOT``, else the test's
temporary folder); ``make screenshot`` makes docs/gui-rtl.png with it."""

from __future__ import annotations

import os
import tkinter as tk
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import ImageGrab

from chat.client import events as ev
from chat.client import richtext
from chat.client.connection import Connection
from chat.client.gui import App
from chat.client.inputline import InputLine
from tests.gui.conftest import pump
from tests.helpers.server_process import ServerProcess
from tests.helpers.watcher import Watcher

PERSIAN = "سلام! امروز جلسه ساعت ۱۰ است، لطفاً لینک را ببینید."
FORMATTED = "\x02build\x02 is \x0303,01green\x03 again, \x1dfinally\x1d — \x1fread the notes\x1f"
LONG = "اول این جمله بلند است " + "و باید در چند سطر از راست به چپ خوانده شود " * 4 + "آخر"
MENTION = "alice: can you look at https://example.org/release-notes?"


@pytest.fixture
def bob(server: ServerProcess) -> Iterator[tuple[Connection, Watcher]]:
    conn = Connection(server.host, server.port, "bob").start()
    watcher = Watcher(conn)
    watcher.wait_for(lambda e: isinstance(e, ev.Names) and e.channel == "#lobby")
    yield conn, watcher
    conn.close()


@dataclass
class KeyPress:
    """What Tk hands a key binding, for a key that Xvfb's keyboard cannot make."""

    char: str
    keysym: str = "??"
    state: int = 0


def tagged(text: tk.Text, tag: str) -> list[str]:
    ranges = text.tag_ranges(tag)
    return [str(text.get(a, b)) for a, b in zip(ranges[::2], ranges[1::2], strict=True)]


def line_of(text: tk.Text, needle: str) -> str:
    return next(line for line in str(text.get("1.0", "end")).splitlines() if needle in line)


def test_persian_formatting_mentions_and_links(
    root: tk.Tk, server: ServerProcess, bob: tuple[Connection, Watcher], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bob_conn, bob_events = bob
    root.geometry("1000x640")
    app = App(root, f"{server.host}:{server.port}", "alice")
    pump(root, lambda: app.model is not None and app.model.current == "#lobby", what="joining")
    assert app.chat is not None and app.model is not None
    chat, text = app.chat, app.chat.text

    bob_conn.say("#lobby", "morning all")
    bob_conn.say("#lobby", PERSIAN)
    bob_conn.say("#lobby", FORMATTED)
    bob_conn.say("#lobby", MENTION)
    bob_conn.say("#lobby", LONG)
    bob_conn.say("#lobby", "emoji 🎉🚀 and ☕ ❤️ fine")
    pump(root, lambda: "fine" in str(text.get("1.0", "end")), what="bob's messages")

    # Persian: shaped (presentation forms) and in visual order, right-aligned, time at the right.
    shown = line_of(text, richtext.display("لطفاً"))
    assert shown.endswith("bob  " + shown.split()[-1]) and ":" in shown.split()[-1]  # "... bob  HH:MM"
    assert richtext.display(PERSIAN) in shown
    assert "سلام" not in shown  # no unjoined logical letters reach Tk
    persian_line = text.search(richtext.display("لطفاً"), "1.0")
    assert "rtl" in text.tag_names(persian_line)

    # A long right-to-left message is broken into rows by the client, so it reads top to bottom:
    # its first words on the first row (at the right), its last word on the last row.
    long_rows = str(text.get(*text.tag_ranges("rtl")[2:4])).splitlines()
    assert len(long_rows) >= 3
    assert richtext.display("اول این") in long_rows[0] and long_rows[0].endswith("bob  " + long_rows[0].split()[-1])
    assert long_rows[-1].startswith(richtext.display("آخر"))

    # Formatting: no raw codes, each style on its own words.
    assert "build is green again, finally — read the notes" in str(text.get("1.0", "end"))
    assert "\x02" not in str(text.get("1.0", "end")) and "\x03" not in str(text.get("1.0", "end"))
    assert tagged(text, "f_b") == ["build"]
    assert tagged(text, "fg3") == ["green"] and tagged(text, "bg1") == ["green"]
    assert tagged(text, "f_i") == ["finally"]
    assert tagged(text, "u") == ["read the notes"]

    # The mention: the whole line highlighted; the link underlined, clickable, with a hand cursor.
    assert any("alice: can you look at" in part for part in tagged(text, "mention"))
    assert tagged(text, "link") == ["https://example.org/release-notes"]
    opened: list[str] = []
    monkeypatch.setattr("webbrowser.open", lambda url, new=0: opened.append(url))
    text.see("end")
    root.update()
    x, y, _, height = text.bbox(text.tag_ranges("link")[0])
    text.event_generate("<Enter>", x=x + 3, y=y + height // 2)
    text.event_generate("<Motion>", x=x + 3, y=y + height // 2)
    text.event_generate("<Button-1>", x=x + 3, y=y + height // 2)
    pump(root, lambda: opened, what="the browser asked to open the link")  # opened off the Tk thread
    assert opened == ["https://example.org/release-notes"]
    assert str(text.cget("cursor")) == "hand2"
    assert "🎉🚀" in str(text.get("1.0", "end"))  # astral emoji drawn or boxed, never an error

    # A private message is a mention: its conversation is marked in the sidebar.
    bob_conn.say("alice", "psst, a private word")
    pump(root, lambda: chat.sidebar.exists("bob") and "mentioned" in chat.sidebar.item("bob", "tags"),
         what="the private conversation marked")  # fmt: skip

    # Typing Persian shows it right to left in the input line; Ctrl+B sends bold; what goes out
    # is the logical text.
    chat.entry.focus_force()
    root.update()
    chat.entry.event_generate("<Control-b>")
    for ch in "درود":  # Xvfb has no Persian keyboard: the key handler gets the characters directly
        assert chat._on_key(KeyPress(ch)) == "break"  # type: ignore[arg-type]
    root.update()
    assert chat.input.get() == "\x02درود"
    assert chat.shown.get() == InputLine("\x02درود").visual().text
    assert chat.shown.get().endswith("✱") and "\ufea9" in chat.shown.get()  # ✱ at the right: typed first
    chat.entry.event_generate("<Return>")
    bob_events.message("\x02درود")

    target = os.environ.get("CHAT_RTL_SCREENSHOT") or str(tmp_path / "gui-rtl.png")
    chat.input.set("نوشتن از راست به چپ: \x02سلام\x02 😀")
    root.update_idletasks()
    root.update()
    pump(root, lambda: any(ln.text == "\x02درود" and ln.state == "sent" for ln in app.model.conversation().lines),  # type: ignore[union-attr]
         what="the bold Persian line delivered")  # fmt: skip
    image = ImageGrab.grab(bbox=(0, 0, 1000, 640), xdisplay=os.environ["DISPLAY"])
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    image.save(target, optimize=True)
