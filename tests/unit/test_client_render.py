"""How events read as text lines and as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from chat.client import events as ev
from chat.client.render import describe, event_type, to_json
from chat.client.terminal import nick_colour

WHEN = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def test_message_lines() -> None:
    hhmm = WHEN.astimezone().strftime("%H:%M")
    assert describe(ev.Message("#lobby", "bob", "hi", time=WHEN)) == f"{hhmm} [#lobby] <bob> hi"
    assert describe(ev.Message("#lobby", "bob", "waves", action=True, time=WHEN)) == f"{hhmm} [#lobby] * bob waves"
    assert describe(ev.Message("alice", "bob", "psst", time=WHEN)) == f"{hhmm} [bob] <bob> psst"
    assert describe(ev.Message("bob", "alice", "ok", own=True, time=WHEN)) == f"{hhmm} [bob] <alice> ok"


def test_other_events_read_as_sentences() -> None:
    assert describe(ev.Joined("#dev", "bob")) == "bob joined #dev"
    assert describe(ev.Joined("#dev", "me", own=True)) == "you joined #dev"
    assert describe(ev.Quit("bob", "Quit: bye")) == "bob left the chat (Quit: bye)"
    assert describe(ev.Reconnecting(3, 4.2)) == "reconnecting in 4 s (attempt 3)"
    assert describe(ev.Error("no such nick or channel: bob")) == "error: no such nick or channel: bob"
    assert describe(ev.Acknowledged("c1", "#lobby")) is None


def test_control_characters_from_others_cannot_reach_the_terminal() -> None:
    line = describe(ev.Message("#lobby", "bob", "\x1b[2Jgotcha\x07 \x02bold\x02 \x0304red", time=WHEN))
    assert line is not None
    assert "\x1b" not in line and "\x07" not in line and "\x02" not in line and "\x03" not in line
    assert line.endswith("[2Jgotcha bold red")


def test_json_has_type_and_fields() -> None:
    event = ev.Message("#lobby", "bob", "hi", time=WHEN, msgid="m1")
    data = json.loads(json.dumps(to_json(event)))
    assert data["type"] == "message"
    assert data["msgid"] == "m1"
    assert data["time"] == "2026-01-02T03:04:00+00:00"
    assert data["conversation"] == "#lobby"
    assert to_json(ev.Names("#x", ("@a", "b"))) == {"type": "names", "channel": "#x", "nicks": ["@a", "b"]}
    assert event_type(ev.NickChanged("a", "b", False)) == "nick_changed"


def test_nick_colours_are_stable_and_case_blind() -> None:
    assert nick_colour("Alice") == nick_colour("alice")
    assert len({nick_colour(n) for n in ("alice", "bob", "carol", "dave", "erin", "frank")}) > 1


def test_recovery_events_tell_the_user_what_happened() -> None:
    assert describe(ev.Disconnected("the server closed the connection")) == (
        "disconnected: the server closed the connection"
    )
    assert (
        describe(ev.CaughtUp(12, ("#lobby", "bob"))) == "reconnected — caught up on 12 missed messages in #lobby, bob"
    )
    assert describe(ev.CaughtUp(1, ("#lobby",))) == "reconnected — caught up on 1 missed message in #lobby"
    assert describe(ev.CaughtUp(0)) == "reconnected — nothing missed"
    offline = ev.Queued("c1", "#lobby", "hello", offline=True)
    assert describe(offline) == "not connected — will send to #lobby after reconnecting: hello"
    assert describe(ev.Queued("c1", "#lobby", "hello")) is None  # online: the echo shows it a moment later


def test_json_of_a_missed_message_says_so() -> None:
    data = to_json(ev.Message("#lobby", "bob", "hi", time=WHEN, msgid="m1", missed=True))
    assert (data["type"], data["missed"], data["msgid"]) == ("message", True, "m1")
    assert to_json(ev.CaughtUp(2, ("#lobby",))) == {"type": "caught_up", "count": 2, "conversations": ["#lobby"]}
