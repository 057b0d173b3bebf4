"""Hostile and malformed input, one case at a time: what a user (or a broken client) sends, and
what it must get back. Each case was a bug or a gap found by the input audit and the fuzzers."""

from __future__ import annotations

import logging

import pytest

from chat.protocol import Message
from chat.protocol.framing import split_tags
from tests.helpers.core_harness import FakeClient, Harness


def numerics(msgs: list[Message]) -> list[str]:
    return [m.command for m in msgs if m.command.isdigit()]


def raw_lines(client: FakeClient) -> list[bytes]:
    data = bytes(client.client.out)
    client.client.out.clear()
    return data.split(b"\r\n")[:-1]


def body_length(line: bytes) -> int:
    """Bytes after the tag section, CRLF included: what the 512-byte rule counts."""
    return split_tags(line)[1] + 2


@pytest.fixture(autouse=True)
def no_server_bugs(caplog: pytest.LogCaptureFixture) -> None:
    """Every case here must be answered, never crash a handler (which logs an ERROR)."""
    yield
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# ------------------------------------------------------------------ numbers that are not numbers


@pytest.mark.parametrize("limit", ["²", "x", "0", "-1", ""])
def test_chathistory_bad_limit_is_a_fail_not_a_crash(limit: str) -> None:
    h = Harness()
    alice = h.user("alice")
    alice.send(f"CHATHISTORY LATEST #lobby * :{limit}")
    (fail,) = alice.take()
    assert fail.command == "FAIL" and fail.params[1] == "INVALID_PARAMS"
    assert not alice.client.closing


def test_cap_ls_with_a_superscript_version_still_lists_caps() -> None:
    h = Harness()
    c = h.connect().send("CAP LS ²")
    (ls,) = c.take()
    assert ls.command == "CAP" and "echo-message" in ls.params[-1]


@pytest.mark.parametrize(
    ("line", "context"),
    [("CHATHISTORY :a b", ["a_b"]), ("CHATHISTORY LATEST :#no room * 5", None), ("CHATHISTORY :", ["*"])],
)
def test_chathistory_fail_context_with_spaces_is_still_one_line(line: str, context: list[str] | None) -> None:
    h = Harness()
    alice = h.user("alice")
    alice.send(line)
    (fail,) = alice.take()
    assert fail.command == "FAIL"
    if context is not None:
        assert fail.params[2:-1] == context


@pytest.mark.parametrize(
    "ref",
    [
        "timestamp=2027-13-45T99:00:00Z",
        "timestamp=",
        "msgid=",
        "msgid=nope",
        "when=now",
        "timestamp=0001-01-01T00:00:00Z",
    ],
)
def test_chathistory_malformed_references_are_refused(ref: str) -> None:
    h = Harness()
    alice = h.user("alice")
    alice.send("PRIVMSG #lobby :one").take()
    alice.send(f"CHATHISTORY BEFORE #lobby {ref} 10")
    msgs = alice.take()
    if ref.startswith("timestamp=0001"):
        assert [m.command for m in msgs] == []  # valid, just nothing that old
    else:
        assert msgs[0].command == "FAIL" and msgs[0].params[1] == "INVALID_PARAMS"


# ------------------------------------------------------------- SendQ drops in the middle of things


def test_reader_dropped_mid_broadcast_does_not_crash_the_sender() -> None:
    """A room member whose buffer overflows while a JOIN is broadcast is dropped, and the one
    joining is not hit by "Internal server error" (the member list changed under the loop)."""
    h = Harness(limits={"sendq": 2000})
    alice, slow, bob = h.user("alice"), h.user("slow"), h.user("bob")
    for c in (alice, bob):
        c.take()
    slow.client.out += b"x" * 1990  # a reader that stopped reading
    carol = h.user("carol")
    assert slow.client.closing and not carol.client.closing
    quits = [m for m in alice.take() if m.command == "QUIT"]
    assert quits[0].nick == "slow" and quits[0].params == ["SendQ exceeded"]


def test_client_dropped_during_a_long_join_list_is_in_no_room() -> None:
    h = Harness(limits={"sendq": 3000})
    greedy = h.user("greedy")
    greedy.send("JOIN " + ",".join(f"#r{i}" for i in range(60)))
    assert greedy.client.closing
    assert all(greedy.client not in ch.members for ch in h.core.channels.values())
    assert not any(name.startswith("#r") for name in h.core.channels)


def test_who_asker_dropped_for_sendq_does_not_crash() -> None:
    h = Harness(limits={"sendq": 1200})
    users = [h.user(f"u{i}") for i in range(12)]
    asker = users[0]
    asker.take()
    asker.client.out += b"x" * 590  # just under half the sendq: still served, and the answer overflows
    asker.send("WHO #lobby")
    assert asker.client.closing and asker.client not in h.core.channels["#lobby"].members


def test_names_asker_dropped_for_sendq_does_not_crash() -> None:
    h = Harness(limits={"sendq": 1200})
    alone = h.user("alone")
    for name in "abcdefghij":
        alone.send(f"JOIN #{name}").take()
    alone.client.out += b"x" * 590  # just under half the sendq: still served, and the answer overflows
    alone.send("NAMES")
    assert alone.client.closing and not h.core.channels


# ------------------------------------------------------------------------ line lengths out


def test_maximum_length_message_is_cut_to_512_for_every_recipient_and_history() -> None:
    h = Harness()
    alice = h.user("alice", caps="echo-message message-tags server-time batch draft/chathistory")
    bob = h.user("bob")
    alice.take()
    longest = "PRIVMSG #lobby :" + "é" * 247  # 510 bytes: the most a client may send
    assert len(longest.encode()) == 510
    alice.send(longest)
    for client in (alice, bob):
        (line,) = raw_lines(client)
        assert body_length(line) <= 512 and line.endswith("é".encode())
    alice.send("CHATHISTORY LATEST #lobby * 1")
    replayed = [m for m in alice.take() if m.command == "PRIVMSG"]
    assert replayed[0].params[1] == "é" * len(replayed[0].params[1]) and len(replayed[0].params[1]) < 247


@pytest.mark.parametrize(
    "line",
    [
        "PRIVMSG " + "n" * 490 + " :x",  # 401 echoes the target
        "FROB" + "B" * 500,  # 421 echoes the command
        "PING :" + "p" * 500,  # PONG echoes the token after the server name
        "CAP REQ :" + "bogus " * 80,  # NAK echoes the request
        "TOPIC #lobby :" + "😀" * 120,  # TOPICLEN counts bytes
        "PART #lobby :" + "r" * 490,  # PART reason with our prefix
    ],
)
def test_replies_echoing_long_input_stay_within_512(line: str) -> None:
    h = Harness()
    alice = h.user("alice")
    watcher = h.user("watcher")
    alice.take()
    alice.send(line)
    for client in (alice, watcher):
        for out in raw_lines(client):
            assert body_length(out) <= 512, out[:80]


def test_quit_reason_is_cut_to_fit_the_quit_and_error_lines() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    bob.send("QUIT :" + "q" * 500)
    for client in (alice, bob):
        for out in raw_lines(client):
            assert body_length(out) <= 512


# ------------------------------------------------------------------------------ tags


def test_client_tags_over_4094_bytes_are_417_and_the_line_dropped() -> None:
    h = Harness()
    alice = h.user("alice", caps="message-tags")
    bob = h.user("bob", caps="message-tags")
    alice.take()
    at_limit = "@+big=" + "v" * (4094 - 5)  # 4094 bytes of tag data
    bob.send(at_limit + " PRIVMSG #lobby :fits")
    assert alice.take()[0].tags["+big"] == "v" * 4089
    bob.send(at_limit + "v PRIVMSG #lobby :too much")
    assert numerics(bob.take()) == ["417"]
    assert alice.take() == []


def test_malformed_tag_keys_are_not_relayed() -> None:
    h = Harness()
    alice = h.user("alice", caps="message-tags")
    bob = h.user("bob")
    alice.take()
    bob.send("@+ok=1;+=x;+a\x01b=2;+é=3;;=;+chat/cid PRIVMSG #lobby :hi")
    (msg,) = alice.take()
    assert {k for k in msg.tags if k.startswith("+")} == {"+ok", "+chat/cid"}


def test_invalid_utf8_in_tags_is_refused_like_in_the_text() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    bob.send_bytes(b"@+x=\xff\xfe PRIVMSG #lobby :hi\r\n")
    (fail,) = bob.take()
    assert fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    assert alice.take() == []


# ---------------------------------------------------------------- names and free text


@pytest.mark.parametrize("name", ["#a\u202eb", "#a\u200bb", "#a\x85b", "#a\u00a0b", "#" + "😀" * 13])
def test_channel_names_with_invisible_or_oversized_characters_are_refused(name: str) -> None:
    h = Harness()
    alice = h.user("alice")
    alice.send(f"JOIN {name}")
    assert numerics(alice.take()) == ["403"]


def test_control_characters_are_stripped_from_topic_away_and_realname_but_formatting_kept() -> None:
    h = Harness()
    alice = h.connect().send("NICK alice", "USER a 0 * :Al\x1bice\x07")
    bob = h.user("bob")
    alice.take()
    alice.send("TOPIC #lobby :\x02bold\x02 \x1b[2Jclear\x01", "AWAY :out\x00\x7f\x9b")
    assert h.core.channels["#lobby"].topic == "\x02bold\x02 [2Jclear"
    assert alice.client.away == "out" and alice.client.realname == "Alice"
    bob.take()


@pytest.mark.parametrize("line", ["   ", "@a=b", ":prefix", "@a=b :prefix   "])
def test_lines_without_a_command_get_no_answer(line: str) -> None:
    h = Harness()
    alice = h.user("alice")
    assert alice.send(line).take() == []


def test_lowercase_commands_work_and_numerics_from_clients_are_unknown() -> None:
    h = Harness()
    alice = h.connect().send("nick alice", "user a 0 * :A")
    assert alice.client.registered
    alice.take()
    assert numerics(alice.send("001 alice :Welcome").take()) == ["421"]
    assert alice.send("pRiVmSg alice :self").take()[0].command == "PRIVMSG"


def test_empty_privmsg_text_is_412_and_nul_only_text_too() -> None:
    h = Harness()
    alice = h.user("alice")
    assert numerics(alice.send("PRIVMSG #lobby :").take()) == ["412"]
    assert numerics(alice.send_bytes(b"PRIVMSG #lobby :\x00\x00\r\n").take()) == ["412"]


def test_absurd_parameter_counts_are_fine() -> None:
    h = Harness()
    alice = h.user("alice")
    alice.send("USERHOST " + " ".join(["alice"] * 80), "ISON " + " ".join(["x"] * 200), "MODE #lobby " + "+o" * 100)
    out = alice.take()
    assert [m.command for m in out][:2] == ["302", "303"]
    assert not alice.client.closing
