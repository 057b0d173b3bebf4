"""The connect form's server password and account login against a real ``chat serve``: a refusal
comes back to the form next to the field to fix (no reconnect storm), a retry gets in, a login
gets the reserved nick, and the remembered settings never hold a password."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tkinter as tk
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.client.gui import App, ConnectForm, Login
from chat.client.gui_model import SERVER
from tests.gui.conftest import FAST, blank_form, pump
from tests.helpers.server_process import ServerProcess

#: For the tests of logins on a server that allows them without TLS (auth.sasl_plaintext).
PLAIN_LOGIN = {**FAST, "plaintext_login": True}
SERVER_PASSWORD = "lan-party-2026"
ALICE_PASSWORD = "correct horse battery"
#: The DEBUG line the server writes for every new TCP connection (and nothing else ends like it).
NEW_CONNECTION = re.compile(r"connection \d+ from \S+$", re.MULTILINE)


def start_server(tmp_path: Path, auth_yaml: str) -> ServerProcess:
    config = tmp_path / "chat.yaml"
    config.write_text(f"auth:\n{auth_yaml}", encoding="utf-8")
    server = ServerProcess(tmp_path / "data", extra_args=("--config", str(config))).start()
    # The real CLI, on the same data dir: a running server sees new accounts at once.
    added = subprocess.run(
        [sys.executable, "-m", "chat", "user", "add", "alice", "--password-stdin", "--data-dir", str(server.data_dir)],
        input=ALICE_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert added.returncode == 0, added.stderr
    return server


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server password, reserved nicks, and logins allowed without TLS."""
    proc = start_server(tmp_path, f"  password: {SERVER_PASSWORD}\n  reserve_nicks: true\n  sasl_plaintext: true\n")
    yield proc
    proc.stop()


def fill(form: ConnectForm, server: ServerProcess, nick: str) -> None:
    form.address.set(f"{server.host}:{server.port}")
    form.nick.set(nick)


def prefs_text(tmp_path: Path) -> str:
    return (tmp_path / "config" / "chat" / "gui.json").read_text(encoding="utf-8")


def test_missing_then_wrong_then_right_server_password(root: tk.Tk, locked: ServerProcess, tmp_path: Path) -> None:
    app, form = blank_form(root)
    assert not form.login_shown  # the simple case stays simple
    fill(form, locked, "bob")
    form.button.invoke()
    pump(root, lambda: "needs a password" in form.password_note.cget("text"), what="the missing-password note")
    assert form.login_shown and app.conn is None and app.chat is None
    assert root.focus_get() is form.password_entry

    form.password.set("not-the-password")
    form.button.invoke()
    pump(root, lambda: "password is wrong" in form.password_note.cget("text"), what="the wrong-password note")
    assert form.password.get() == "" and root.focus_get() is form.password_entry
    assert app.conn is None and not form.button.instate(["disabled"])
    assert str(form.password_entry.cget("show")) == "•"

    form.password.set(SERVER_PASSWORD)
    form.button.invoke()
    pump(root, lambda: app.chat is not None, what="the chat window")
    assert app.model is not None and app.model.nick == "bob"
    # One connection per Connect pressed: a refusal is not retried behind the user's back.
    assert len(NEW_CONNECTION.findall(locked.log())) == 3
    saved = prefs_text(tmp_path)
    assert SERVER_PASSWORD not in saved and "not-the-password" not in saved
    assert json.loads(saved) == {"address": f"{locked.host}:{locked.port}", "nick": "bob", "tls": False, "account": ""}


def test_account_login_gets_the_reserved_nick_after_a_wrong_password(
    root: tk.Tk, locked: ServerProcess, tmp_path: Path
) -> None:
    app, form = blank_form(root, plaintext_login=True)
    fill(form, locked, "alice")
    form.toggle_login()
    form.password.set(SERVER_PASSWORD)
    form.account.set("alice")
    form.account_password.set("wrong horse battery")
    form.button.invoke()
    pump(root, lambda: "Could not log in as alice" in form.account_note.cget("text"), what="the login failure")
    assert "wrong account name or password" in form.account_note.cget("text")
    assert form.account_password.get() == "" and root.focus_get() is form.account_password_entry
    assert form.password.get() == SERVER_PASSWORD and app.conn is None  # only the wrong field is emptied

    form.account_password.set(ALICE_PASSWORD)
    form.button.invoke()
    pump(root, lambda: app.chat is not None, what="the chat window")
    assert app.model is not None and app.model.nick == "alice"  # reserved, and ours once logged in
    assert any(line.text == "logged in as alice" for line in app.model.conversation(SERVER).lines)
    saved = prefs_text(tmp_path)
    assert json.loads(saved)["account"] == "alice"
    assert ALICE_PASSWORD not in saved and "horse" not in saved and SERVER_PASSWORD not in saved

    root.destroy()
    again = tk.Tk(className="chat")
    try:  # the account name comes back, with the fold open; its password does not
        second = App(again, None, None)
        assert second.form is not None and second.form.login_shown
        assert second.form.account.get() == "alice" and second.form.account_password.get() == ""
    finally:
        again.destroy()


def test_login_on_a_plain_connection_says_it_needs_tls(root: tk.Tk, tmp_path: Path) -> None:
    server = start_server(tmp_path, "  reserve_nicks: true\n")  # no sasl_plaintext, and no TLS listener
    try:
        app, form = blank_form(root, plaintext_login=True)
        fill(form, server, "alice")
        form.toggle_login()
        form.account.set("alice")
        form.account_password.set(ALICE_PASSWORD)
        form.button.invoke()
        pump(root, lambda: "over TLS" in form.account_note.cget("text"), what="the TLS explanation")
        assert "which this server does not offer yet" in form.account_note.cget("text")
        assert form.account_password.get() == ALICE_PASSWORD  # the password was not the problem
        assert app.conn is None and app.chat is None
    finally:
        server.stop()


def test_the_client_keeps_an_account_password_off_a_plain_connection(root: tk.Tk, locked: ServerProcess) -> None:
    app, form = blank_form(root)
    fill(form, locked, "alice")
    form.toggle_login()
    form.password.set(SERVER_PASSWORD)
    form.account.set("alice")
    form.account_password.set(ALICE_PASSWORD)
    form.button.invoke()
    pump(root, lambda: "needs TLS" in form.account_note.cget("text"), what="the TLS explanation")
    assert "Tick TLS above" in form.account_note.cget("text")
    assert form.account_password.get() == ALICE_PASSWORD and root.focus_get() is form.tls_check
    assert app.conn is None and app.chat is None
    assert "AUTHENTICATE" not in locked.log()


def test_an_account_without_its_password_is_asked_for_before_connecting(root: tk.Tk) -> None:
    app = App(root, "127.0.0.1:1", "alice", connection_options=FAST, login=Login(account="alice"))
    pump(root, lambda: True)
    assert app.conn is None and app.form is not None and app.form.login_shown
    assert app.form.account_note.cget("text") == "Type the password of the account alice"
    assert root.focus_get() is app.form.account_password_entry
