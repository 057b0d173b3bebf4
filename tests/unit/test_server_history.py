"""Recovery features of the core: CHATHISTORY, labeled responses, idempotent resends, ghost takeover."""

from __future__ import annotations

from chat.protocol import Message
from tests.helpers.core_harness import FakeClient, Harness

FULL = "batch echo-message labeled-response message-tags server-time draft/chathistory"


def room_with_history(count: int = 10) -> tuple[Harness, FakeClient, FakeClient]:
    h = Harness()
    alice, bob = h.user("alice", FULL), h.user("bob", FULL)
    for i in range(count):
        alice.send(f"PRIVMSG #lobby :m{i}")
        h.now += 1
    alice.take()
    bob.take()
    return h, alice, bob


def batch_texts(msgs: list[Message]) -> list[str]:
    """The texts inside one chathistory batch, checking the batch framing on the way."""
    assert msgs[0].command == "BATCH" and msgs[0].params[0].startswith("+"), msgs
    ref = msgs[0].params[0][1:]
    assert msgs[-1].command == "BATCH" and msgs[-1].params == ["-" + ref]
    inner = msgs[1:-1]
    assert all(m.tags.get("batch") == ref and "msgid" in m.tags and "time" in m.tags for m in inner)
    return [m.params[-1] for m in inner]


def msgid_of(h: Harness, alice: FakeClient, text: str) -> str:
    alice.send("CHATHISTORY LATEST #lobby * 100")
    for m in alice.take():
        if m.command == "PRIVMSG" and m.params[-1] == text:
            return m.tags["msgid"]
    raise AssertionError(text)


def test_isupport_announces_chathistory() -> None:
    h = Harness()
    tokens = " ".join(" ".join(m.params) for m in h.connect().send("NICK a", "USER a 0 * :A").take())
    assert "CHATHISTORY=1000" in tokens and "MSGREFTYPES=msgid,timestamp" in tokens


def test_latest_star_gives_the_newest_in_ascending_order() -> None:
    _h, _alice, bob = room_with_history()
    bob.send("CHATHISTORY LATEST #lobby * 3")
    msgs = bob.take()
    assert msgs[0].params[1:] == ["chathistory", "#lobby"]
    assert batch_texts(msgs) == ["m7", "m8", "m9"]


def test_latest_after_a_msgid_and_after_and_before() -> None:
    h, alice, bob = room_with_history()
    m5 = msgid_of(h, alice, "m5")
    bob.send(f"CHATHISTORY LATEST #lobby msgid={m5} 100")
    assert batch_texts(bob.take()) == ["m6", "m7", "m8", "m9"]
    bob.send(f"CHATHISTORY AFTER #lobby msgid={m5} 2")
    assert batch_texts(bob.take()) == ["m6", "m7"]
    bob.send(f"CHATHISTORY BEFORE #lobby msgid={m5} 2")
    assert batch_texts(bob.take()) == ["m3", "m4"]


def test_replayed_messages_keep_their_original_msgid_and_time() -> None:
    h = Harness()
    alice, bob = h.user("alice", FULL), h.user("bob", FULL)
    alice.send("@+chat/cid=x1 PRIVMSG #lobby :original")
    live = bob.take()[0]
    bob.send("CHATHISTORY LATEST #lobby * 1")
    replayed = bob.take()[1]
    assert replayed.tags["msgid"] == live.tags["msgid"] and replayed.tags["time"] == live.tags["time"]
    assert replayed.tags["+chat/cid"] == "x1" and replayed.prefix == live.prefix


def test_timestamp_references() -> None:
    _h, alice, bob = room_with_history()
    # m0 was sent at now0, m1 one second later, ...; timestamps are exclusive.
    t3 = next(m.tags["time"] for m in (alice.send("CHATHISTORY LATEST #lobby * 100").take()) if m.params[-1] == "m3")
    bob.send(f"CHATHISTORY AFTER #lobby timestamp={t3} 2")
    assert batch_texts(bob.take()) == ["m4", "m5"]
    bob.send(f"CHATHISTORY BEFORE #lobby timestamp={t3} 2")
    assert batch_texts(bob.take()) == ["m1", "m2"]


def test_around_and_between_in_both_directions() -> None:
    h, alice, bob = room_with_history()
    m2, m5, m8 = (msgid_of(h, alice, t) for t in ("m2", "m5", "m8"))
    bob.send(f"CHATHISTORY AROUND #lobby msgid={m5} 3")
    assert batch_texts(bob.take()) == ["m4", "m5", "m6"]
    bob.send(f"CHATHISTORY BETWEEN #lobby msgid={m2} msgid={m8} 100")
    assert batch_texts(bob.take()) == ["m3", "m4", "m5", "m6", "m7"]
    bob.send(f"CHATHISTORY BETWEEN #lobby msgid={m2} msgid={m8} 2")
    assert batch_texts(bob.take()) == ["m3", "m4"]
    bob.send(f"CHATHISTORY BETWEEN #lobby msgid={m8} msgid={m2} 2")
    assert batch_texts(bob.take()) == ["m6", "m7"]  # counted from the first reference, still ascending


def test_private_conversation_history_is_shared_by_both_sides_only() -> None:
    h = Harness()
    alice, bob, carol = h.user("alice", FULL), h.user("bob", FULL), h.user("carol", FULL)
    alice.send("PRIVMSG bob :hi bob")
    bob.send("PRIVMSG alice :hi alice")
    for c in (alice, bob, carol):
        c.take()
    alice.send("CHATHISTORY LATEST bob * 10")
    assert batch_texts(alice.take()) == ["hi bob", "hi alice"]
    bob.send("CHATHISTORY LATEST ALICE * 10")
    assert batch_texts(bob.take()) == ["hi bob", "hi alice"]
    carol.send("CHATHISTORY LATEST alice * 10")
    assert batch_texts(carol.take()) == []


def test_targets_lists_conversations_with_activity() -> None:
    h = Harness()
    alice, bob = h.user("alice", FULL), h.user("bob", FULL)
    alice.send("PRIVMSG #lobby :room")
    h.now += 5
    bob.send("PRIVMSG alice :private")
    alice.take()
    alice.send("CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00.000Z timestamp=2099-01-01T00:00:00Z 10")
    msgs = alice.take()
    assert msgs[0].params[1] == "draft/chathistory-targets"
    assert [m.params[1] for m in msgs[1:-1]] == ["#lobby", "bob"]


def test_an_empty_result_is_an_empty_batch() -> None:
    h = Harness()
    alice = h.user("alice", FULL)
    alice.send("CHATHISTORY LATEST #lobby * 10")
    assert batch_texts(alice.take()) == []


def test_without_batch_the_messages_come_bare() -> None:
    h, _alice, _ = room_with_history(3)
    plain = h.user("plain", "server-time")
    plain.send("CHATHISTORY LATEST #lobby * 10")
    assert [m.params[-1] for m in plain.take()] == ["m0", "m1", "m2"]


def test_chathistory_errors_use_standard_replies() -> None:
    h = Harness()
    alice, bob = h.user("alice", FULL), h.user("bob", FULL)
    alice.send("JOIN #private")
    cases = {
        "CHATHISTORY FOO #lobby * 10": ["UNKNOWN_COMMAND", "FOO"],
        "CHATHISTORY LATEST #lobby *": ["NEED_MORE_PARAMS", "LATEST"],
        "CHATHISTORY LATEST #lobby * 0": ["INVALID_PARAMS", "LATEST", "0"],
        "CHATHISTORY LATEST #lobby * ten": ["INVALID_PARAMS", "LATEST", "ten"],
        "CHATHISTORY LATEST #private * 10": ["INVALID_TARGET", "LATEST", "#private"],
        "CHATHISTORY AFTER #lobby bogus 10": ["INVALID_PARAMS", "AFTER", "bogus"],
        "CHATHISTORY AFTER #lobby timestamp=yesterday 10": ["INVALID_PARAMS", "AFTER", "timestamp=yesterday"],
        "CHATHISTORY AFTER #lobby msgid=nope 10": ["INVALID_PARAMS", "AFTER", "msgid=nope"],
        "CHATHISTORY TARGETS * * 10": ["INVALID_PARAMS", "TARGETS", "*"],
    }
    for line, expected in cases.items():
        (fail,) = bob.send(line).take()
        assert fail.command == "FAIL" and fail.params[0] == "CHATHISTORY", line
        assert fail.params[1 : 1 + len(expected)] == expected, (line, fail.params)


def test_limit_is_capped_by_the_server_maximum() -> None:
    h = Harness(history=__import__("chat.config", fromlist=["History"]).History(max_fetch=5))
    alice = h.user("alice", FULL)
    for i in range(20):
        alice.send(f"PRIVMSG #lobby :m{i}")
    alice.take()
    alice.send("CHATHISTORY LATEST #lobby * 1000")
    assert batch_texts(alice.take()) == [f"m{i}" for i in range(15, 20)]


# ------------------------------------------------------------------------ labeled-response


def test_label_on_a_single_reply_an_ack_and_a_batch() -> None:
    h = Harness()
    alice = h.user("alice", FULL)
    (pong,) = alice.send("@label=p1 PING :x").take()
    assert pong.command == "PONG" and pong.tags["label"] == "p1"
    (ack,) = alice.send("@label=p2 PONG :x").take()
    assert ack.command == "ACK" and ack.tags["label"] == "p2"
    whois = alice.send("@label=p3 WHOIS alice").take()
    assert whois[0].command == "BATCH" and whois[0].tags["label"] == "p3"
    assert whois[0].params[1] == "labeled-response"
    ref = whois[0].params[0][1:]
    assert all(m.tags.get("batch") == ref for m in whois[1:-1]) and whois[-1].params == ["-" + ref]


def test_the_echo_of_a_labeled_message_carries_the_label() -> None:
    h = Harness()
    alice, bob = h.user("alice", FULL), h.user("bob", FULL)
    alice.take()
    (echo,) = alice.send("@label=L7;+chat/cid=c7 PRIVMSG #lobby :hi").take()
    assert echo.tags["label"] == "L7" and echo.tags["msgid"]
    (seen,) = bob.take()
    assert "label" not in seen.tags


# ------------------------------------------------------------------------ idempotent resend


def test_a_resent_client_id_is_acknowledged_but_not_delivered_twice() -> None:
    h = Harness()
    alice, bob = h.user("alice", FULL), h.user("bob", FULL)
    alice.take()
    (first,) = alice.send("@+chat/cid=abc PRIVMSG #lobby :once").take()
    assert len(bob.take()) == 1
    (again,) = alice.send("@+chat/cid=abc PRIVMSG #lobby :once").take()
    assert again.tags["msgid"] == first.tags["msgid"]
    assert bob.take() == []
    alice.send("CHATHISTORY LATEST #lobby * 10")
    assert batch_texts(alice.take()) == ["once"]


def test_a_resend_under_another_nick_is_still_the_same_message() -> None:
    h = Harness()
    alice, bob = h.user("alice", FULL), h.user("bob", FULL)
    alice.send("@+chat/cid=c1 PRIVMSG #lobby :hello", "@+chat/cid=c2 PRIVMSG bob :psst")
    original = [m.tags["msgid"] for m in alice.take() if m.command == "PRIVMSG"]
    bob.take()
    # The echoes were lost; alice comes back as alice_ (her old nick was still held) and resends.
    alice.send("NICK alice_")
    alice.take()
    bob.take()
    alice.send("@+chat/cid=c1 PRIVMSG #lobby :hello", "@+chat/cid=c2 PRIVMSG bob :psst")
    assert [m.tags["msgid"] for m in alice.take() if m.command == "PRIVMSG"] == original
    assert [m for m in bob.take() if m.command == "PRIVMSG"] == []
    alice.send("CHATHISTORY LATEST #lobby * 10")
    assert batch_texts(alice.take()) == ["hello"]


def test_a_resend_to_someone_who_left_is_acknowledged_not_refused() -> None:
    h = Harness()
    alice, bob = h.user("alice", FULL), h.user("bob", FULL)
    alice.send("@+chat/cid=c1 PRIVMSG bob :see you")
    (first,) = [m for m in alice.take() if m.command == "PRIVMSG"]
    bob.send("QUIT :bye")
    alice.take()
    alice.send("@+chat/cid=c1 PRIVMSG bob :see you")
    replies = alice.take()
    assert [m.tags["msgid"] for m in replies if m.command == "PRIVMSG"] == [first.tags["msgid"]]
    assert not [m for m in replies if m.command == "401"]


# ------------------------------------------------------------------------ ghost takeover


def test_a_session_token_reclaims_the_nick_from_a_dead_connection() -> None:
    h = Harness()
    bob = h.user("bob")
    old = h.connect().send("CAP LS 302", "CAP REQ :chat/session", "NICK alice", "USER a 0 * :A", "CAP END")
    token = next(m.params[-1] for m in old.take() if m.command == "SESSION")
    bob.take()
    # The old connection is half-open: the server has not noticed it is gone.
    new = h.connect().send("CAP LS 302", "CAP REQ :chat/session", f"SESSION {token}", "NICK alice")
    new.send("USER a 0 * :A", "CAP END")
    msgs = new.take()
    assert "001" in [m.command for m in msgs] and msgs[0].command != "433"
    assert h.core.find_nick("alice") is new.client
    assert old.client.closing
    quits = [m for m in bob.take() if m.command == "QUIT"]
    assert quits and quits[0].params == ["Reconnected"]
    # The new connection gets a fresh token; the old one no longer works.
    fresh = next(m.params[-1] for m in msgs if m.command == "SESSION")
    assert fresh != token


def test_a_wrong_token_cannot_take_a_nick() -> None:
    h = Harness()
    h.connect().send("CAP LS 302", "CAP REQ :chat/session", "NICK alice", "USER a 0 * :A", "CAP END")
    thief = h.connect().send("SESSION guessed-token", "NICK alice")
    assert [m.command for m in thief.take()] == ["433"]
    nobody = h.connect().send("NICK alice")
    assert [m.command for m in nobody.take()] == ["433"]
