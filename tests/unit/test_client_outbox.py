"""The outbox: what was said stays pending until the server confirms it."""

from __future__ import annotations

import threading

from chat.client.outbox import Outbox


def test_items_stay_pending_until_acknowledged() -> None:
    box = Outbox()
    a = box.add("PRIVMSG", "#lobby", "one")
    b = box.add("PRIVMSG", "#lobby", "two")
    assert [i.cid for i in box.unwritten()] == [a.cid, b.cid]
    box.mark_written(a.cid)
    assert [i.cid for i in box.unwritten()] == [b.cid]
    assert len(box) == 2
    assert box.acknowledge(a.cid) is not None
    assert box.acknowledge(a.cid) is None  # a second echo of the same message changes nothing
    assert len(box) == 1


def test_untagged_echo_matches_the_oldest_written_identical_message() -> None:
    box = Outbox()
    first = box.add("PRIVMSG", "bob", "hi")
    second = box.add("PRIVMSG", "bob", "hi")
    assert box.acknowledge_match("PRIVMSG", "bob", "hi") is None  # nothing written yet
    box.mark_written(first.cid)
    box.mark_written(second.cid)
    matched = box.acknowledge_match("PRIVMSG", "bob", "hi")
    assert matched is not None and matched.cid == first.cid


def test_rejection_removes_the_oldest_written_to_that_target() -> None:
    box = Outbox()
    a = box.add("PRIVMSG", "Bob", "1")
    box.add("PRIVMSG", "carol", "2")
    box.mark_written(a.cid)
    rejected = box.reject("bob")
    assert rejected is not None and rejected.cid == a.cid
    assert box.reject("bob") is None


def test_an_unnamed_rejection_removes_the_oldest_written() -> None:
    """A line too long for the server comes back as 417 without a target or a label."""
    box = Outbox()
    a = box.add("PRIVMSG", "bob", "1")
    b = box.add("NOTICE", "carol", "2")
    assert box.reject(None) is None  # nothing written yet: nothing the server could answer
    box.mark_written(b.cid)
    box.mark_written(a.cid)
    rejected = box.reject(None)
    assert rejected is not None and rejected.cid == a.cid
    assert [item.cid for item in box.snapshot()] == [b.cid]


def test_wait_until_empty_wakes_on_acknowledgement() -> None:
    box = Outbox()
    item = box.add("PRIVMSG", "#lobby", "x")
    assert not box.wait_until_empty(0.01)
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(box.wait_until_empty(10)))
    waiter.start()
    box.acknowledge(item.cid)
    waiter.join(10)
    assert result == [True]


def test_close_wakes_waiters_and_reports_failure() -> None:
    box = Outbox()
    box.add("PRIVMSG", "#lobby", "x")
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(box.wait_until_empty(10)))
    waiter.start()
    box.close()
    waiter.join(10)
    assert result == [False]
    assert [i.text for i in box.snapshot()] == ["x"]
