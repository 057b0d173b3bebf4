"""``chat gui`` without an address: the connect form looks on the LAN (a stand-in for the mDNS
browse here; the real one is tested in tests/loopback/test_discovery.py) and connects to the
only server, lists several to pick from, or says in words that none answered."""

from __future__ import annotations

import tkinter as tk

from chat import mdns
from chat.client.discovery import Found
from chat.client.gui import App
from tests.gui.conftest import FAST, pump
from tests.helpers.server_process import ServerProcess


def found(name: str, port: int, *, tls_port: int | None = None, password: bool = False) -> Found:
    return Found(name, ("127.0.0.1",), port, tls_port, mdns.Txt(server_name="chat.lan", password=password, users=2))


def test_the_only_server_found_is_connected_to_and_named(root: tk.Tk, server: ServerProcess) -> None:
    app = App(root, None, "alice", connection_options=FAST, discover=lambda: [found("Office", server.port)])
    form = app.form
    assert form is not None
    pump(root, lambda: app.conn is not None, what="connecting to the server found")
    assert form.address.get() == f"127.0.0.1:{server.port}"
    assert form.message.get().startswith(f"Found Office at 127.0.0.1:{server.port}")
    assert app.conn is not None and app.conn._resolve is not None  # it will be looked up again on reconnect
    pump(root, lambda: app.chat is not None, what="the chat window")


def test_several_servers_are_listed_and_picking_one_fills_the_form(root: tk.Tk, server: ServerProcess) -> None:
    servers = [found("Lab", 7001, password=True), found("Office", server.port, tls_port=6697)]
    app = App(root, None, "alice", connection_options=FAST, discover=lambda: servers)
    form = app.form
    assert form is not None
    pump(root, lambda: form.found_list.size() == 2, what="the list of servers")
    assert app.conn is None  # nothing chosen for the user
    assert form.found_list.get(0) == "Lab at 127.0.0.1:7001 (password needed, 2 online)"
    assert form.found_list.get(1) == f"Office at 127.0.0.1:{server.port} (TLS too, 2 online)"
    assert "2 chat servers on the LAN" in form.hint.cget("text")
    form.found_list.selection_set(1)
    form.found_list.event_generate("<<ListboxSelect>>")
    pump(root, lambda: form.address.get() == f"127.0.0.1:{server.port}", what="the address filled in")
    form.submit()
    pump(root, lambda: app.chat is not None, what="the chat window")


def test_no_server_found_says_how_to_give_an_address(root: tk.Tk) -> None:
    app = App(root, None, "alice", connection_options=FAST, discover=list)
    form = app.form
    assert form is not None
    pump(root, lambda: "No chat server answered" in form.hint.cget("text"), what="the explanation")
    assert "192.168.1.20" in form.hint.cget("text") and app.conn is None


def test_a_typed_address_does_not_wait_for_the_lan(root: tk.Tk, server: ServerProcess) -> None:
    def never() -> list[Found]:
        raise AssertionError("looked on the LAN although an address was given")

    app = App(root, f"127.0.0.1:{server.port}", "alice", connection_options=FAST, discover=never)
    pump(root, lambda: app.chat is not None, what="the chat window")
    assert app.conn is not None and app.conn._resolve is None
