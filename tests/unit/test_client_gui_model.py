"""The desktop window's presenter without a display: what each event and each typed line
changes on screen — conversations, unread counts, message states, members and the status bar."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from chat.client import events as ev
from chat.client import gui_model
from chat.client.gui_model import SERVER, ChatModel

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


@dataclass
class FakeConnection:
    """Records what the model asked the connection to do (the real one is tested on sockets)."""

    said: list[tuple[str, str]] = field(default_factory=list)
    joined: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)

    def say(self, target: str, text: str) -> list[str]:
        self.said.append((target, text))
        return ["c1"]

    def join(self, channel: str) -> None:
        self.joined.append(channel)

    def send_raw(self, line: object) -> None:
        self.raw.append(str(line))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def in_lobby(clock: Clock | None = None) -> ChatModel:
    model = ChatModel("10.0.0.5:6667", "alice", clock=clock or Clock())
    for event in (
        ev.Connecting("10.0.0.5:6667", 1),
        ev.Connected("chat.lan", "alice", "10.0.0.5:6667"),
        ev.Info("Welcome to the LAN chat"),
        ev.Joined("#lobby", "alice", own=True),
        ev.Names("#lobby", ("@bob", "alice")),
    ):
        model.apply(event)
    return model


def texts(model: ChatModel, key: str | None = None) -> list[str]:
    return [line.text for line in model.conversation(key).lines]


def test_joining_shows_the_room_and_server_chatter_stays_in_the_server_tab() -> None:
    model = in_lobby()
    assert model.current == "#lobby"
    assert "Welcome to the LAN chat" in texts(model, SERVER)
    assert model.member_rows() == ["@bob", "alice"]
    assert model.status_text() == "Connected to 10.0.0.5:6667 as alice"


def test_own_message_is_pending_until_the_server_confirms_it() -> None:
    model = in_lobby()
    conn = FakeConnection()
    model.submit("hello all", conn)
    assert conn.said == [("#lobby", "hello all")]
    changes = model.apply(ev.Queued("c1", "#lobby", "hello all"))
    (line,) = [ln for ln in model.conversation().lines if ln.text == "hello all"]
    assert line.state == "pending" and line.own and changes.appended
    changes = model.apply(ev.Message("#lobby", "alice", "hello all", time=WHEN, msgid="m1", own=True, cid="c1"))
    assert line.state == "sent" and line.time == WHEN and changes.updated and not changes.appended
    model.apply(ev.Acknowledged("c1", "#lobby", "m1"))
    assert texts(model).count("hello all") == 1


def test_a_refused_message_says_why() -> None:
    model = in_lobby()
    model.apply(ev.Queued("c2", "ghost", "are you there"))
    model.apply(ev.Rejected("c2", "ghost", "no such nick or channel: ghost"))
    (line,) = model.conversation("ghost").lines
    assert (line.state, line.note) == ("failed", "no such nick or channel: ghost")
    assert model.pending == 0


def test_messages_elsewhere_count_as_unread_until_opened() -> None:
    model = in_lobby()
    changes = model.apply(ev.Message("alice", "bob", "psst", time=WHEN))
    assert changes.sidebar and ("bob", "bob", 1) in model.sidebar_rows()
    assert model.current == "#lobby"
    changes = model.select("bob")
    assert changes.switched and model.current == "bob" and model.conversation().unread == 0
    assert model.target == "bob"


def test_double_click_on_a_member_opens_a_private_conversation() -> None:
    model = in_lobby()
    changes = model.open_private("@bob")
    assert changes.switched and model.current == "bob"
    assert model.open_private("alice").switched is False  # not with ourselves


def test_offline_status_counts_waiting_messages_and_the_retry() -> None:
    clock = Clock()
    model = in_lobby(clock)
    model.apply(ev.Disconnected("the server at 10.0.0.5:6667 closed the connection"))
    model.apply(ev.Reconnecting(3, 4.0))
    assert model.status_text() == (
        "Disconnected: the server at 10.0.0.5:6667 closed the connection — reconnecting in 4 s (attempt 3)"
    )
    assert model.member_rows() == []  # we are not in the room while offline
    model.apply(ev.Queued("c3", "#lobby", "still there?", offline=True))
    model.apply(ev.Queued("c4", "#lobby", "hello?", offline=True))
    clock.now += 3
    assert model.status_text() == "Offline — 2 messages waiting — reconnecting in 1 s (attempt 3)"
    assert "disconnected: the server at 10.0.0.5:6667 closed the connection" in texts(model)


def test_reconnect_with_catch_up_is_reported_and_missed_lines_marked() -> None:
    model = in_lobby()
    model.apply(ev.Disconnected("connection reset"))
    model.apply(ev.Connected("chat.lan", "alice", "10.0.0.5:6667"))
    model.apply(ev.Joined("#lobby", "alice", own=True))
    model.apply(ev.Message("#lobby", "bob", "while you were away", time=WHEN, msgid="m9", missed=True))
    model.apply(ev.CaughtUp(12, ("#lobby",)))
    assert model.status_text() == "Reconnected — caught up on 12 missed messages · Connected to 10.0.0.5:6667 as alice"
    assert model.conversation().lines[-2].missed
    assert texts(model)[-1] == "reconnected — caught up on 12 missed messages in #lobby"


def test_joins_parts_quits_and_nick_changes_update_the_member_list() -> None:
    model = in_lobby()
    model.apply(ev.Joined("#lobby", "carol"))
    assert "carol" in model.member_rows()
    model.apply(ev.NickChanged("carol", "caro", own=False, channels=("#lobby",)))
    assert "caro" in model.member_rows() and "carol" not in model.member_rows()
    model.apply(ev.Quit("caro", "bye", ("#lobby",)))
    model.apply(ev.Parted("#lobby", "bob", "lunch"))
    assert model.member_rows() == ["alice"]
    assert texts(model)[-3:] == ["carol is now known as caro", "caro left the chat (bye)", "bob left (lunch)"]


def test_slash_commands_are_the_shared_ones() -> None:
    model = in_lobby()
    conn = FakeConnection()
    model.submit("/join #dev", conn)
    assert conn.joined == ["#dev"]
    assert model.current == "#lobby"  # shown once the server says we are in
    model.apply(ev.Joined("#dev", "alice", own=True))
    assert model.current == "#dev"
    model.submit("/nosuch", conn)
    assert model.conversation().lines[-1].kind == "error"
    assert model.submit("/exit see you", conn).leave is not None
    model.submit("", conn)
    assert conn.said == []


def test_plain_text_in_the_server_tab_is_explained_not_sent() -> None:
    model = ChatModel("10.0.0.5:6667", "alice")
    conn = FakeConnection()
    model.submit("hello?", conn)
    assert conn.said == []
    assert model.conversation(SERVER).lines[-1].kind == "error"


def test_up_and_down_walk_the_typed_history_and_restore_the_draft() -> None:
    model = in_lobby()
    conn = FakeConnection()
    for line in ("one", "two"):
        model.submit(line, conn)
    assert model.history_back("draft") == "two"
    assert model.history_back("") == "one"
    assert model.history_back("") is None
    assert model.history_forward() == "two"
    assert model.history_forward() == "draft"


def test_control_characters_from_others_are_not_drawn_but_formatting_codes_are_kept() -> None:
    model = in_lobby()
    model.apply(ev.Message("#lobby", "bob", "\x02bold\x02 \x0304red\x1b[2J", time=WHEN))
    assert texts(model)[-1] == "\x02bold\x02 \x0304red[2J"  # the view draws the codes as styles


def test_a_room_we_left_refuses_plain_text_until_we_join_again() -> None:
    model = in_lobby()
    conn = FakeConnection()
    model.apply(ev.Parted("#lobby", "alice", own=True))
    model.submit("anyone?", conn)
    assert conn.said == []
    assert model.conversation().lines[-1].text == "you left #lobby; type /join #lobby to go back"
    model.apply(ev.Joined("#lobby", "alice", own=True))
    model.submit("back", conn)
    assert conn.said == [("#lobby", "back")]


def test_names_and_topic_of_other_rooms_do_not_open_tabs() -> None:
    model = in_lobby()
    model.apply(ev.Names("#elsewhere", ("carol",)))
    model.apply(ev.Topic("#elsewhere", "far away"))
    assert "#elsewhere" not in model.conversations
    assert texts(model)[-2:] == ["in #elsewhere: carol", "topic of #elsewhere: far away"]


def test_a_message_refused_after_its_conversation_was_renamed_is_still_marked() -> None:
    model = in_lobby()
    model.apply(ev.Queued("c5", "bob", "hi bob"))
    model.apply(ev.NickChanged("bob", "bobby", own=False, channels=("#lobby",)))
    model.apply(ev.Rejected("c5", "bob", "no such nick or channel: bob"))
    (line,) = [ln for ln in model.conversation("bobby").lines if ln.text == "hi bob"]
    assert line.state == "failed"


def test_a_flood_keeps_only_the_newest_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gui_model, "MAX_LINES", 50)
    monkeypatch.setattr(gui_model, "TRIM_BY", 10)
    model = in_lobby()
    before = len(texts(model))
    trimmed = 0
    for n in range(100):
        trimmed += model.apply(ev.Message("#lobby", "bob", f"flood {n}", time=WHEN)).trimmed.get("#lobby", 0)
    lines = texts(model)
    assert len(lines) <= 50 and lines[-1] == "flood 99"
    assert trimmed == before + 100 - len(lines)  # the view drops exactly as many as the model did


def test_the_catch_up_note_leaves_the_status_bar_after_a_while() -> None:
    clock = Clock()
    model = in_lobby(clock)
    model.apply(ev.CaughtUp(2, ("#lobby",)))
    assert model.status_text().startswith("Reconnected — caught up on 2 missed messages")
    clock.now += gui_model.CAUGHT_UP_NOTICE + 1
    assert model.status_text() == "Connected to 10.0.0.5:6667 as alice"


def test_kicks_are_shown_and_a_kicked_room_counts_as_left() -> None:
    model = in_lobby()
    model.apply(ev.Names("#lobby", ("@op", "alice", "bob")))
    model.apply(ev.Kicked("#lobby", "bob", "spam", False, "op"))
    assert texts(model)[-1] == "op removed bob: spam"
    assert "bob" not in model.member_rows()
    model.apply(ev.Kicked("#lobby", "alice", "", True, "op"))
    assert texts(model)[-1] == "you were removed from #lobby by op"
    conn = FakeConnection()
    model.submit("let me back", conn)
    assert conn.said == []


def test_a_refusal_is_shown_on_the_server_tab() -> None:
    model = in_lobby()
    model.apply(ev.Refused("could not log in as alice: wrong account name or password", "account"))
    assert model.conversation(SERVER).lines[-1].text == "could not log in as alice: wrong account name or password"
    assert model.reason.startswith("could not log in")
