"""Makes docs/gui.png: the desktop client mid-conversation, on Xvfb against a real server.

Run by ``make screenshot``; not a test (pytest does not collect it).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import tkinter as tk
from collections.abc import Callable
from pathlib import Path

from PIL import ImageGrab

from chat.client import events as ev
from chat.client.connection import Connection
from chat.client.gui import App
from tests.helpers.server_process import ServerProcess
from tests.helpers.watcher import Watcher
from tests.helpers.xvfb import Xvfb

WIDTH, HEIGHT = 1000, 640  # the window's own default size


def pump(root: tk.Tk, condition: Callable[[], object], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the window did not get there in time")
        root.update()
        time.sleep(0.01)


def main(out: Path) -> None:
    xvfb = Xvfb(WIDTH, HEIGHT)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DISPLAY"] = xvfb.display
        os.environ["XDG_CONFIG_HOME"] = tmp
        server = ServerProcess(Path(tmp) / "data").start()
        people: list[Connection] = []
        try:
            for nick in ("bob", "carol"):
                conn = Connection(server.host, server.port, nick).start()
                Watcher(conn).wait_for(lambda e: isinstance(e, ev.Names))
                people.append(conn)
            bob, carol = people
            root = tk.Tk(className="chat")
            app = App(root, f"{server.host}:{server.port}", "alice")
            pump(root, lambda: app.model is not None and app.model.current == "#lobby")
            assert app.chat is not None and app.model is not None
            script: list[tuple[Connection | None, str]] = [
                (bob, "morning! is the build server back?"),
                (carol, "yes, since 9 — the disk was full"),
                (None, "great, I'll push the release branch now"),
                (bob, "/me brings coffee ☕"),
                (carol, "welcome to the lab chat, everyone ☺"),
                (None, "thanks both!"),
            ]
            for who, text in script:
                if who is None:
                    app.chat.input.set(text)
                    app.chat.entry.event_generate("<Return>")
                    pump(
                        root,
                        lambda t=text: any(
                            ln.text == t and ln.state == "sent" for ln in app.model.conversation().lines
                        ),
                    )  # type: ignore[union-attr]
                    continue
                if text.startswith("/me "):
                    who.action("#lobby", text[4:])
                else:
                    who.say("#lobby", text)
                body = text[4:] if text.startswith("/me ") else text
                pump(root, lambda b=body: any(ln.text == b for ln in app.model.conversation().lines))  # type: ignore[union-attr]
            bob.say("alice", "can you review my patch later?")
            pump(root, lambda: any(k == "bob" and n for k, _, n in app.model.sidebar_rows()))  # type: ignore[union-attr]
            app.chat.input.set("/me is on it")
            root.update_idletasks()
            root.update()
            image = ImageGrab.grab(bbox=(0, 0, WIDTH, HEIGHT), xdisplay=xvfb.display)
            out.parent.mkdir(parents=True, exist_ok=True)
            image.save(out, optimize=True)
            print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
            root.destroy()
        finally:
            for conn in people:
                conn.close()
            server.stop()
            xvfb.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/gui.png"))
