"""The connect form's TLS tick box against a real TLS server: the first-use notice in the window,
the choice remembered, and a changed certificate explained in the form instead of connecting."""

from __future__ import annotations

import json
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.client import events as ev
from chat.client.gui import App, Login
from chat.client.gui_model import SERVER, certificate_warning
from chat.client.pins import KnownServers, server_key
from tests.gui.conftest import FAST, blank_form, pump
from tests.helpers.server_process import ServerProcess
from tests.helpers.tls_server import start_tls_server


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_tls_server(tmp_path / "server")
    try:
        yield proc
    finally:
        proc.stop()


def test_tls_box_connects_pins_and_is_remembered(root: tk.Tk, tls_server: ServerProcess, tmp_path: Path) -> None:
    app, form = blank_form(root)
    assert not form.tls.get()
    pump(root, lambda: True)
    form.address.set(f"127.0.0.1:{tls_server.tls_port}")
    form.nick.set("alice")
    form.tls_check.invoke()
    form.button.invoke()
    pump(root, lambda: app.chat is not None, what="the chat window")
    assert app.model is not None
    server_tab = [line.text for line in app.model.conversation(SERVER).lines]
    assert any(text.startswith(f"first TLS connection to 127.0.0.1:{tls_server.tls_port}") for text in server_tab)
    # The window opens on #lobby: the fingerprint to compare is shown there and in the status bar,
    # and the server tab is marked.
    model, chat = app.model, app.chat
    assert chat is not None
    pump(root, lambda: model.current == "#lobby", what="#lobby on screen")
    assert "first TLS connection to" in chat.text.get("1.0", "end")
    assert "compare its fingerprint" in chat.status.get()
    assert str(chat.sidebar.item(SERVER, "values")[0]) == "1"
    known = tmp_path / "config" / "chat" / "known_servers"  # XDG_CONFIG_HOME is the test's
    assert server_key("127.0.0.1", tls_server.tls_port or 0) in KnownServers(known).entries()
    remembered = json.loads((tmp_path / "config" / "chat" / "gui.json").read_text())
    assert remembered["tls"] is True

    root.destroy()
    again = tk.Tk(className="chat")
    try:
        second = App(again, None, None)
        assert second.form is not None and second.form.tls.get()
    finally:
        again.destroy()


def test_a_changed_certificate_is_explained_in_the_form(root: tk.Tk, tls_server: ServerProcess, tmp_path: Path) -> None:
    key = server_key("127.0.0.1", tls_server.tls_port or 0)
    KnownServers(tmp_path / "config" / "chat" / "known_servers").remember(key, "SHA256:" + ":".join(["00"] * 32))
    app = App(root, f"ircs://127.0.0.1:{tls_server.tls_port}", "alice", connection_options=FAST)
    pump(root, lambda: app.form is not None and "CHANGED" in app.form.message.get(), what="the warning")
    assert app.chat is None and app.conn is None
    message = app.form.message.get() if app.form is not None else ""
    assert "chat trust --forget" in message and "press Connect again" in message
    # The option the warning names exists for this window (chat gui --fingerprint), and no other.
    assert "chat gui --fingerprint SHA256:" in message and "connect with --fingerprint" not in message


def test_a_fingerprint_given_to_the_window_replaces_the_old_pin_and_says_so(
    root: tk.Tk, tls_server: ServerProcess, tmp_path: Path
) -> None:
    known = KnownServers(tmp_path / "config" / "chat" / "known_servers")
    key = server_key("127.0.0.1", tls_server.tls_port or 0)
    old = "SHA256:" + ":".join(["00"] * 32)
    known.remember(key, old)
    given = tls_server.wait_for_log(r"TLS certificate fingerprint: (SHA256:[0-9A-F:]{95})").group(1)
    options = {**FAST, "fingerprint": given}
    app = App(root, f"127.0.0.1:{tls_server.tls_port}", "alice", connection_options=options)
    pump(root, lambda: app.chat is not None, what="the chat window")
    assert app.model is not None
    texts = [line.text for line in app.model.conversation(SERVER).lines]
    assert any("matches the fingerprint you gave" in text and f"replaces the old pin {old}" in text for text in texts)
    assert known.get(key) == given


def test_forgetting_tls_is_explained_in_the_form(root: tk.Tk, tls_server: ServerProcess) -> None:
    app = App(root, f"127.0.0.1:{tls_server.tls_port}", "alice", connection_options=FAST)
    form = app.form
    assert form is not None
    pump(root, lambda: "TLS" in form.message.get(), what="the hint")
    assert "tick TLS and connect again" in form.message.get()


def test_a_long_warning_keeps_the_form_usable_in_the_default_window(root: tk.Tk) -> None:
    """The trial's screen: the login fold open and a CHANGED warning pushed the title and the
    server field off the top of the 1000x640 window and ran off the bottom."""
    app = App(root, "127.0.0.1:7697", None, login=Login("secret"))  # a password: the fold is open
    form = app.form
    assert form is not None and form.login_shown
    old, new = "SHA256:" + ":".join(["15"] * 32), "SHA256:" + ":".join(["8D"] * 32)
    form.error(certificate_warning(ev.CertificateChanged("127.0.0.1:7697", old, new, "/tmp/known")))
    pump(root, lambda: form.message_scroll.winfo_ismapped(), what="the warning's scroll bar")
    top = form.address_entry.winfo_rooty() - root.winfo_rooty()
    assert 0 <= top < root.winfo_height(), "the server field is off the window"
    assert form.message_text.winfo_height() < root.winfo_height() // 3
    assert form.message.get().startswith("WARNING") and "CHANGED" in form.message_text.get("1.0", "end")
    # The example address is the server field's, right under it, not under the nickname.
    assert form.hint.master.grid_info()["row"] == form.address_entry.grid_info()["row"] + 1
    assert form.nick_entry.grid_info()["row"] > form.hint.master.grid_info()["row"]
