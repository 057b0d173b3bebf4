"""``chat gui`` on a real X server against a real server: typing through the widgets, receiving,
the connect form, and the server dying and coming back while the window stays usable."""

from __future__ import annotations

import json
import socket
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.client import events as ev
from chat.client import gui_model
from chat.client.connection import Connection
from chat.client.gui import App
from tests.gui.conftest import FAST, blank_form, pump
from tests.helpers.relay import Relay
from tests.helpers.server_process import ServerProcess
from tests.helpers.watcher import Watcher


def view_text(app: App) -> str:
    assert app.chat is not None
    return app.chat.text.get("1.0", "end")


def type_line(app: App, text: str) -> None:
    assert app.chat is not None
    app.chat.entry.focus_force()
    app.chat.input.set(text)
    app.chat.entry.event_generate("<Return>")


def status(app: App) -> str:
    assert app.chat is not None
    return app.chat.status.get()


@pytest.fixture
def bob(server: ServerProcess) -> Iterator[tuple[Connection, Watcher]]:
    conn = Connection(server.host, server.port, "bob", backoff_cap=1.0).start()
    watcher = Watcher(conn)
    watcher.wait_for(lambda e: isinstance(e, ev.Names) and e.channel == "#lobby")
    yield conn, watcher
    conn.close()


def open_chat(root: tk.Tk, host: str, port: int, **options: float) -> App:
    app = App(root, f"{host}:{port}", "alice", connection_options={**FAST, **options})
    pump(root, lambda: app.chat is not None and app.model is not None and app.model.current == "#lobby", what="joining")
    return app


def test_type_send_receive_and_see_delivery(
    root: tk.Tk, server: ServerProcess, bob: tuple[Connection, Watcher]
) -> None:
    bob_conn, bob_events = bob
    app = open_chat(root, server.host, server.port)
    assert "Connected to 127.0.0.1:" in status(app) and "as alice" in status(app)

    type_line(app, "hello from the window — سلام 🎉")
    bob_events.message("hello from the window — سلام 🎉")
    pump(root, lambda: "✓" in view_text(app), what="delivery mark")

    bob_conn.say("#lobby", "hi alice")
    bob_conn.action("#lobby", "waves")
    pump(root, lambda: "* bob waves" in view_text(app), what="bob's messages")
    assert "bob  hi alice" in view_text(app)

    bob_conn.say("alice", "a private word")
    pump(root, lambda: any(label == "bob" and unread == 1 for _, label, unread in app.model.sidebar_rows()))  # type: ignore[union-attr]
    assert app.chat is not None
    assert [str(v) for v in app.chat.sidebar.item("bob", "values")] == ["1"]  # the unread badge
    app.chat.sidebar.selection_set("bob")
    pump(root, lambda: "a private word" in view_text(app), what="switching to the private conversation")


def test_server_killed_offline_then_back_with_missed_messages_once(
    root: tk.Tk, server: ServerProcess, bob: tuple[Connection, Watcher]
) -> None:
    bob_conn, bob_events = bob
    relay = Relay(server.host, server.port)
    try:
        app = open_chat(root, relay.host, relay.port)
        server.kill()
        pump(root, lambda: status(app).startswith("Disconnected:"), what="the status bar going offline")
        relay.freeze()  # alice stays cut off while bob comes back and talks
        type_line(app, "typed while offline")
        pump(root, lambda: status(app).startswith("Offline — 1 message waiting"), what="the waiting count")
        assert "⋯ sending" in view_text(app)

        server.start()
        bob_events.wait_for(lambda e: isinstance(e, ev.Connected), timeout=30)
        bob_events.wait_for(lambda e: isinstance(e, ev.Joined) and e.own, timeout=30)
        for n in range(3):
            bob_conn.say("#lobby", f"missed {n}")
        bob_events.message("missed 2")
        relay.thaw()
        pump(
            root,
            lambda: status(app).startswith("Reconnected — caught up on 3 missed"),
            40,
            lambda: f"catching up ({status(app)!r}; {view_text(app)[-600:]!r})",
        )
        text = view_text(app)
        assert [text.count(f"missed {n}") for n in range(3)] == [1, 1, 1]
        pump(root, lambda: "⋯ sending" not in view_text(app), what="the offline message being sent")
        bob_events.message("typed while offline", timeout=30)
        assert view_text(app).count("typed while offline") == 1
    finally:
        relay.close()


def test_connect_form_explains_a_wrong_address_and_remembers_the_right_one(
    root: tk.Tk, server: ServerProcess, tmp_path: Path
) -> None:
    app, form = blank_form(root)
    pump(root, lambda: True)
    form.address.set("127.0.0.1:notaport")
    form.nick.set("alice")
    form.button.invoke()
    assert "bad port" in form.message.get().lower()

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    form.address.set(f"127.0.0.1:{port}")
    form.button.invoke()
    pump(root, lambda: "refused" in form.message.get(), what="the refused connection being explained")
    assert app.chat is None and str(form.button.state()) != "('disabled',)"

    form.address.set(f"127.0.0.1:{server.port}")
    form.button.invoke()
    pump(root, lambda: app.chat is not None, what="the chat window")
    remembered = json.loads((tmp_path / "config" / "chat" / "gui.json").read_text())
    assert remembered == {"address": f"127.0.0.1:{server.port}", "nick": "alice", "tls": False, "account": ""}

    root.destroy()
    again = tk.Tk(className="chat")
    try:
        second = App(again, None, None)
        assert second.form is not None
        assert (second.form.address.get(), second.form.nick.get()) == (f"127.0.0.1:{server.port}", "alice")
    finally:
        again.destroy()


def test_quit_command_leaves_cleanly_and_closes_the_window(
    root: tk.Tk, server: ServerProcess, bob: tuple[Connection, Watcher]
) -> None:
    _, bob_events = bob
    app = open_chat(root, server.host, server.port)
    type_line(app, "/exit see you")
    quit_event = bob_events.wait_for(lambda e: isinstance(e, ev.Quit) and e.nick == "alice")
    assert isinstance(quit_event, ev.Quit) and "see you" in quit_event.reason
    pump(root, lambda: not _exists(root), what="the window closing")


def test_double_click_on_a_member_starts_a_private_conversation(
    root: tk.Tk, server: ServerProcess, bob: tuple[Connection, Watcher]
) -> None:
    _, bob_events = bob
    app = open_chat(root, server.host, server.port)
    chat = app.chat
    assert chat is not None
    pump(root, lambda: "@bob" in [chat.members.item(i, "text") for i in chat.members.get_children()])
    item = next(i for i in chat.members.get_children() if chat.members.item(i, "text") == "@bob")
    x, y, width, height = chat.members.bbox(item)  # type: ignore[misc]
    for kind in ("<ButtonPress-1>", "<ButtonRelease-1>", "<ButtonPress-1>", "<ButtonRelease-1>"):
        chat.members.event_generate(kind, x=x + width // 2, y=y + height // 2)  # Tk sees a double click
    pump(root, lambda: app.model is not None and app.model.current == "bob", what="the private conversation")
    type_line(app, "just between us")
    got = bob_events.message("just between us")
    assert got.private and got.sender == "alice"


def _exists(root: tk.Tk) -> bool:
    try:
        return bool(root.winfo_exists())
    except tk.TclError:
        return False


def test_enter_twice_in_the_form_makes_one_connection(
    root: tk.Tk, server: ServerProcess, bob: tuple[Connection, Watcher], tmp_path: Path
) -> None:
    _, bob_events = bob
    remembered = tmp_path / "config" / "chat" / "gui.json"
    remembered.parent.mkdir(parents=True)
    remembered.write_text(json.dumps({"address": f"127.0.0.1:{server.port}", "nick": "dora"}))
    app, form = blank_form(root)
    assert form.nick.get() == "dora"
    pump(root, lambda: True)
    form.nick_entry.focus_force()
    form.nick_entry.event_generate("<Return>")
    first = app.conn
    form.nick_entry.event_generate("<KP_Enter>")
    assert first is not None and app.conn is first
    pump(root, lambda: app.chat is not None, what="the chat window")
    bob_events.wait_for(lambda e: isinstance(e, ev.Joined) and e.nick == "dora")
    assert app.model is not None and app.model.nick == "dora"  # no ghost "dora" holding the nick


def test_a_flood_is_trimmed_in_the_window_too(
    root: tk.Tk, server: ServerProcess, bob: tuple[Connection, Watcher], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gui_model, "MAX_LINES", 20)
    monkeypatch.setattr(gui_model, "TRIM_BY", 5)
    bob_conn, _ = bob
    app = open_chat(root, server.host, server.port)
    for n in range(40):  # the server's flood control lets this through at 4 lines a second after 16
        bob_conn.say("#lobby", f"flood {n}")
    pump(root, lambda: "flood 39" in view_text(app), timeout=30, what="the end of the flood")
    assert app.model is not None and app.chat is not None
    shown = view_text(app).rstrip("\n").split("\n")
    assert len(shown) == len(app.model.conversation().lines) <= 20
    assert "flood 0\n" not in view_text(app)


def test_backspace_after_an_emoji_removes_it_whole(root: tk.Tk, server: ServerProcess) -> None:
    app = open_chat(root, server.host, server.port)
    assert app.chat is not None
    app.chat.entry.focus_force()
    app.chat.input.set("hi 🎉")
    app.chat.entry.icursor("end")
    app.chat.entry.event_generate("<BackSpace>")
    assert app.chat.input.get() == "hi "
