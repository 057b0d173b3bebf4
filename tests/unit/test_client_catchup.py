"""The catch-up state machine with plain data: what it asks the server after a reconnect, and
which messages a user sees — each once, in each sender's order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chat.client import catchup as catchup_module
from chat.client import events as ev
from chat.client.catchup import CatchUp, format_timestamp
from chat.client.session import Step
from chat.protocol import parse

CAPS = frozenset({"batch", "draft/chathistory", "echo-message", "message-tags", "server-time"})
T0 = datetime(2026, 12, 1, 10, 0, 0, tzinfo=UTC)


def msg(text: str, msgid: str, *, target: str = "#lobby", sender: str = "bob", at: int = 0) -> ev.Message:
    return ev.Message(target, sender, text, time=T0 + timedelta(seconds=at), msgid=msgid)


def sent(step: Step) -> list[str]:
    return [m.to_line() for m in step.send]


def seen_then_reconnected(catchup: CatchUp, *channels: str) -> Step:
    """A first session that saw m1 in #lobby, then a reconnect."""
    assert sent(catchup.registered(list(channels), CAPS, {}, T0)) == []
    assert catchup.message(msg("one", "m1", at=1), None)
    return catchup.registered(list(channels), CAPS, {"CHATHISTORY": "100"}, T0 + timedelta(minutes=5))


def done_targets(catchup: CatchUp) -> Step:
    catchup.batch(parse(":srv BATCH +t draft/chathistory-targets"))
    return catchup.batch(parse(":srv BATCH -t"))


def test_first_connection_fetches_nothing() -> None:
    catchup = CatchUp()
    assert catchup.registered(["#lobby"], CAPS, {}, T0) == Step()
    assert catchup.joined("#lobby") == Step()
    assert not catchup.active


def test_reconnect_asks_which_conversations_moved_then_fetches_each_room_after_its_last_message() -> None:
    catchup = CatchUp()
    step = seen_then_reconnected(catchup, "#lobby")
    end = format_timestamp(T0 + timedelta(minutes=5, days=1))
    # Timestamp references are exclusive: one millisecond earlier catches a message stamped in
    # the same millisecond (a duplicate is dropped by msgid).
    assert sent(step) == [f"CHATHISTORY TARGETS timestamp=2026-12-01T10:00:00.999Z timestamp={end} 100"]
    assert sent(catchup.joined("#lobby")) == []  # one request at a time
    assert sent(done_targets(catchup)) == ["CHATHISTORY AFTER #lobby msgid=m1 100"]


def test_fetched_messages_come_before_live_ones_and_duplicates_are_dropped() -> None:
    catchup = CatchUp()
    seen_then_reconnected(catchup, "#lobby")
    catchup.batch(parse(":srv BATCH +t draft/chathistory-targets"))
    catchup.target(parse(":srv CHATHISTORY TARGETS #lobby 2026-12-01T10:04:00.000Z"))
    assert catchup.batch(parse(":srv BATCH -t")) == Step()
    catchup.joined("#lobby")
    # A live message arrives between our JOIN and the history batch: held back.
    assert catchup.message(msg("three", "m3", at=3), None) == []
    catchup.batch(parse(":srv BATCH +h chathistory #lobby"))
    shown = catchup.message(msg("two", "m2", at=2), "h") + catchup.message(msg("three", "m3", at=3), "h")
    assert [(m.text, m.missed) for m in shown] == [("two", True), ("three", True)]
    end = catchup.batch(parse(":srv BATCH -h"))
    assert end.events == [ev.CaughtUp(2, ("#lobby",))]  # the held copy of m3 was a duplicate
    assert not catchup.active
    assert catchup.message(msg("three", "m3", at=3), None) == []
    assert [m.text for m in catchup.message(msg("four", "m4", at=4), None)] == ["four"]


def test_live_message_held_during_the_fetch_is_shown_after_it() -> None:
    catchup = CatchUp()
    seen_then_reconnected(catchup, "#lobby")
    catchup.batch(parse(":srv BATCH +t draft/chathistory-targets"))
    catchup.batch(parse(":srv BATCH -t"))
    catchup.joined("#lobby")
    catchup.batch(parse(":srv BATCH +h chathistory #lobby"))
    assert catchup.message(msg("live", "m9", at=9), None) == []
    catchup.message(msg("two", "m2", at=2), "h")
    end = catchup.batch(parse(":srv BATCH -h"))
    assert [getattr(e, "text", None) for e in end.events] == ["live", None]
    assert end.events[-1] == ev.CaughtUp(1, ("#lobby",))


def test_unknown_msgid_falls_back_to_the_time_of_the_last_message() -> None:
    catchup = CatchUp()
    seen_then_reconnected(catchup, "#lobby")
    done_targets(catchup)
    catchup.joined("#lobby")
    retry = catchup.fail(parse(":srv FAIL CHATHISTORY INVALID_PARAMS AFTER msgid=m1 :Unknown message id"))
    assert sent(retry) == ["CHATHISTORY AFTER #lobby timestamp=2026-12-01T10:00:00.999Z 100"]


def test_a_full_page_asks_for_the_next_one() -> None:
    catchup = CatchUp(page=2)
    seen_then_reconnected(catchup, "#lobby")
    catchup.batch(parse(":srv BATCH +t draft/chathistory-targets"))
    catchup.batch(parse(":srv BATCH -t"))
    assert sent(catchup.joined("#lobby")) == ["CHATHISTORY AFTER #lobby msgid=m1 2"]
    catchup.batch(parse(":srv BATCH +a chathistory #lobby"))
    catchup.message(msg("two", "m2", at=2), "a")
    catchup.message(msg("three", "m3", at=3), "a")
    assert sent(catchup.batch(parse(":srv BATCH -a"))) == ["CHATHISTORY AFTER #lobby msgid=m3 2"]
    catchup.batch(parse(":srv BATCH +b chathistory #lobby"))
    catchup.message(msg("four", "m4", at=4), "b")
    assert catchup.batch(parse(":srv BATCH -b")).events == [ev.CaughtUp(3, ("#lobby",))]


def test_private_conversations_found_by_targets_are_fetched_too() -> None:
    catchup = CatchUp()
    seen_then_reconnected(catchup)
    # A private message arrives live before we know which conversations to fetch: held.
    assert catchup.message(msg("still there?", "p2", target="alice", sender="carol", at=8), None) == []
    catchup.batch(parse(":srv BATCH +t draft/chathistory-targets"))
    catchup.target(parse(":srv CHATHISTORY TARGETS carol 2026-12-01T10:03:00.000Z"))
    step = catchup.batch(parse(":srv BATCH -t"))
    since = format_timestamp(T0 - catchup_module.CLOCK_SLACK - timedelta(milliseconds=1))  # first registration
    assert sent(step) == [f"CHATHISTORY AFTER carol timestamp={since} 100"]
    catchup.batch(parse(":srv BATCH +p chathistory carol"))
    catchup.message(msg("hi alice", "p1", target="alice", sender="carol", at=7), "p")
    end = catchup.batch(parse(":srv BATCH -p"))
    assert [getattr(e, "text", None) for e in end.events] == ["still there?", None]
    assert end.events[-1] == ev.CaughtUp(1, ("carol",))


def test_a_server_without_chathistory_gets_no_requests() -> None:
    catchup = CatchUp()
    catchup.registered(["#lobby"], frozenset({"echo-message"}), {}, T0)
    assert catchup.registered(["#lobby"], frozenset({"echo-message"}), {}, T0) == Step()
    assert [m.text for m in catchup.message(msg("x", "m5"), None)] == ["x"]


def test_a_room_that_cannot_be_rejoined_does_not_block_the_round() -> None:
    catchup = CatchUp()
    seen_then_reconnected(catchup, "#lobby", "#closed")
    catchup.batch(parse(":srv BATCH +t draft/chathistory-targets"))
    catchup.batch(parse(":srv BATCH -t"))
    catchup.joined("#lobby")
    catchup.batch(parse(":srv BATCH +h chathistory #lobby"))
    assert catchup.batch(parse(":srv BATCH -h")).events == []  # still waiting for #closed
    assert catchup.join_failed("#closed").events == [ev.CaughtUp(0, ())]


def test_a_round_that_never_finishes_ends_after_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    catchup = CatchUp()
    seen_then_reconnected(catchup, "#lobby")
    assert catchup.message(msg("held", "m7", at=7), None) == []
    assert catchup.expire() == Step()
    monkeypatch.setattr(catchup_module, "ROUND_TIMEOUT", 0.0)
    step = catchup.expire()
    assert [getattr(e, "text", None) for e in step.events] == ["held", None]


def test_a_link_lost_mid_round_forgets_held_messages_so_the_next_round_fetches_them() -> None:
    catchup = CatchUp()
    seen_then_reconnected(catchup, "#lobby")
    catchup.message(msg("held", "m7", at=7), None)
    catchup.link_lost()
    catchup.registered(["#lobby"], CAPS, {"CHATHISTORY": "100"}, T0 + timedelta(minutes=9))
    catchup.joined("#lobby")
    assert sent(done_targets(catchup)) == ["CHATHISTORY AFTER #lobby msgid=m1 100"]


def test_one_request_at_a_time_so_the_server_never_queues_every_room_at_once() -> None:
    catchup = CatchUp()
    catchup.registered(["#a", "#b"], CAPS, {}, T0)
    catchup.message(msg("x", "a1", target="#a", at=1), None)
    catchup.message(msg("y", "b1", target="#b", at=1), None)
    catchup.registered(["#a", "#b"], CAPS, {}, T0 + timedelta(minutes=1))
    assert sent(catchup.joined("#a")) == []  # TARGETS is still being answered
    assert sent(catchup.joined("#b")) == []
    assert sent(done_targets(catchup)) == ["CHATHISTORY AFTER #a msgid=a1 500"]
    catchup.batch(parse(":srv BATCH +h chathistory #a"))
    assert sent(catchup.batch(parse(":srv BATCH -h"))) == ["CHATHISTORY AFTER #b msgid=b1 500"]


def test_the_page_size_follows_the_servers_limit_announced_after_the_welcome() -> None:
    catchup = CatchUp()
    isupport: dict[str, str] = {}
    catchup.registered(["#lobby"], CAPS, isupport, T0)
    catchup.message(msg("one", "m1", at=1), None)
    catchup.registered(["#lobby"], CAPS, isupport, T0 + timedelta(minutes=1))
    isupport["CHATHISTORY"] = "2"  # 005 arrives after 001
    done_targets(catchup)
    assert sent(catchup.joined("#lobby")) == ["CHATHISTORY AFTER #lobby msgid=m1 2"]


def test_an_unfinished_round_does_not_move_where_the_next_one_looks_for_private_messages() -> None:
    catchup = CatchUp()
    seen_then_reconnected(catchup, "#lobby")
    done_targets(catchup)
    catchup.joined("#lobby")
    catchup.batch(parse(":srv BATCH +h chathistory #lobby"))
    catchup.message(msg("late", "m8", at=300), "h")  # fetched, but the round is cut short
    catchup.link_lost()
    step = catchup.registered(["#lobby"], CAPS, {}, T0 + timedelta(minutes=9))
    assert sent(step)[0].startswith("CHATHISTORY TARGETS timestamp=2026-12-01T10:00:00.999Z ")


def test_own_message_confirmed_without_echo_is_not_shown_again_from_history() -> None:
    catchup = CatchUp()
    seen_then_reconnected(catchup, "#lobby")
    done_targets(catchup)
    catchup.shown_elsewhere(ev.Message("#lobby", "alice", "mine", own=True, cid="c9"))
    catchup.joined("#lobby")
    catchup.batch(parse(":srv BATCH +h chathistory #lobby"))
    copy = ev.Message("#lobby", "alice", "mine", msgid="m5", own=True, cid="c9")
    assert catchup.message(copy, "h") == []
