"""How both UIs show the two TLS events: the first-use notice and the changed-certificate warning."""

from __future__ import annotations

from pathlib import Path

from chat.client import events as ev
from chat.client import gui_model, pins
from chat.client.gui_model import SERVER, ChatModel
from chat.client.render import describe, to_json

OLD = "SHA256:" + ":".join(["AA"] * 32)
NEW = "SHA256:" + ":".join(["BB"] * 32)


def test_first_use_notice_names_address_fingerprint_and_file() -> None:
    event = ev.CertificatePinned("chat.lan:6697", OLD, "/home/a/.config/chat/known_servers")
    text = describe(event) or ""
    assert text.startswith("first TLS connection to chat.lan:6697; certificate fingerprint " + OLD)
    assert "remembered in /home/a/.config/chat/known_servers" in text and "server admin" in text
    assert to_json(event) == {
        "type": "certificate_pinned",
        "address": "chat.lan:6697",
        "fingerprint": OLD,
        "file": "/home/a/.config/chat/known_servers",
        "given": False,
        "replaced": "",
    }
    model = ChatModel("chat.lan:6697", "alice")
    model.apply(event)
    assert [line.text for line in model.conversation(SERVER).lines] == [text]


def test_changed_warning_says_what_it_may_be_and_what_to_do() -> None:
    event = ev.CertificateChanged("chat.lan:6697", OLD, NEW, "/tmp/known")
    text = describe(event) or ""
    for part in (OLD, NEW, "attacker", "new certificate", "chat trust --forget chat.lan:6697", "/tmp/known"):
        assert part in text
    model = ChatModel("chat.lan:6697", "alice")
    model.apply(event)
    (line,) = model.conversation(SERVER).lines
    # The window words the way out for itself (Connect again, chat gui --fingerprint).
    assert line.kind == "error" and line.text == gui_model.certificate_warning(event)


def test_a_fingerprint_given_in_advance_gets_its_own_wording() -> None:
    text = describe(ev.CertificateChanged("chat.lan:6697", OLD, NEW, "/tmp/known", given=True)) or ""
    assert "--fingerprint" in text and "CHANGED" not in text


def test_a_fingerprint_the_user_gave_is_not_called_a_first_connection() -> None:
    """The user compared it already (it was checked against --fingerprint): nothing to compare."""
    text = describe(ev.CertificatePinned("chat.lan:6697", NEW, "/tmp/known", given=True)) or ""
    assert (
        text
        == f"the TLS certificate of chat.lan:6697 matches the fingerprint you gave ({NEW}); remembered in /tmp/known"
    )
    replacing = describe(ev.CertificatePinned("chat.lan:6697", NEW, "/tmp/known", given=True, replaced=OLD)) or ""
    assert "first TLS connection" not in replacing and "compare" not in replacing
    assert f"it replaces the old pin {OLD} in /tmp/known" in replacing


def test_the_window_says_how_to_accept_a_new_certificate_without_command_line_options() -> None:
    text = pins.changed_warning("chat.lan:6697", OLD, NEW, Path("/tmp/known"), window=True)
    assert "chat trust --forget chat.lan:6697" in text and "press Connect again" in text
    assert f"chat gui --fingerprint {NEW} chat.lan:6697" in text
    assert "connect with --fingerprint" not in text


def test_the_first_use_notice_reaches_the_room_the_window_opens_on() -> None:
    """The window opens on #lobby, not on the server tab: the fingerprint to compare must be there,
    the server tab marked, and the status bar must say so until the server tab is looked at."""
    model = ChatModel("chat.lan:6697", "alice")
    notice = ev.CertificatePinned("chat.lan:6697", OLD, "/tmp/known")
    for event in (
        ev.Connecting("chat.lan:6697", 1),
        notice,
        ev.Connected("chat.lan", "alice", "chat.lan:6697"),
        ev.Joined("#lobby", "alice", own=True),
    ):
        model.apply(event)
    assert model.current == "#lobby"
    text = describe(notice) or ""
    assert text in [line.text for line in model.conversation().lines]
    assert model.conversation(SERVER).unread == 1
    assert "fingerprint" in model.status_text() and "server tab" in model.status_text()
    model.select(SERVER)
    assert "fingerprint" not in model.status_text()
    # Once shown, a room joined later does not get it again.
    model.apply(ev.Joined("#dev", "alice", own=True))
    assert text not in [line.text for line in model.conversation("#dev").lines]


def test_a_fingerprint_the_user_gave_needs_no_reminder() -> None:
    model = ChatModel("chat.lan:6697", "alice")
    for event in (
        ev.CertificatePinned("chat.lan:6697", OLD, "/tmp/known", given=True),
        ev.Connected("chat.lan", "alice", "chat.lan:6697"),
        ev.Joined("#lobby", "alice", own=True),
    ):
        model.apply(event)
    assert "fingerprint" not in model.status_text()
