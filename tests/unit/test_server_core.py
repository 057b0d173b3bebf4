"""The server core with plain data: registration, rooms, messages, errors, timeouts."""

from __future__ import annotations

import pytest

from chat.protocol import Message
from tests.helpers.core_harness import Harness


def numerics(msgs: list[Message]) -> list[str]:
    return [m.command for m in msgs if m.command.isdigit()]


# ------------------------------------------------------------------------ registration


def test_registration_welcomes_and_joins_default_room() -> None:
    h = Harness()
    alice = h.connect().send("NICK alice", "USER al 0 * :Alice A")
    msgs = alice.take()
    got = numerics(msgs)
    for code in ("001", "002", "003", "004", "005", "251", "375", "372", "376", "353", "366"):
        assert code in got
    join = next(m for m in msgs if m.command == "JOIN")
    assert join.prefix == "alice!~al@192.168.1.10" and join.params == ["#lobby"]
    names = next(m for m in msgs if m.command == "353")
    assert names.params[-1] == "@alice"  # the first one in a room runs it


def test_isupport_advertises_what_clients_need() -> None:
    h = Harness(network="Office")
    msgs = h.connect().send("NICK a", "USER a 0 * :A").take()
    tokens = " ".join(" ".join(m.params) for m in msgs if m.command == "005")
    for token in (
        "CHANTYPES=#&",
        "NICKLEN=30",
        "CHANNELLEN=50",
        "UTF8ONLY",
        "NETWORK=Office",
        "CASEMAPPING=ascii",
    ):
        assert token in tokens


def test_cap_negotiation_holds_registration_until_end() -> None:
    h = Harness()
    c = h.connect().send("CAP LS 302", "NICK bob", "USER b 0 * :B")
    msgs = c.take()
    assert msgs[0].command == "CAP" and msgs[0].params[1] == "LS"
    assert {"echo-message", "message-tags", "server-time", "batch", "labeled-response"} <= set(
        msgs[0].params[2].split()
    )
    assert "001" not in numerics(msgs)
    c.send("CAP REQ :echo-message server-time")
    ack = c.take()[0]
    assert ack.params[1:] == ["ACK", "echo-message server-time"]
    c.send("CAP REQ :echo-message away-notify")
    assert c.take()[0].params[1] == "NAK"  # all or nothing
    c.send("CAP LIST")
    assert set(c.take()[0].params[2].split()) == {"echo-message", "server-time"}
    c.send("CAP END")
    assert "001" in numerics(c.take())


def test_commands_before_registration_get_451() -> None:
    h = Harness()
    c = h.connect().send("JOIN #x", "PRIVMSG #x :hi", "BOGUS")
    assert numerics(c.take()) == ["451", "451", "451"]


@pytest.mark.parametrize("nick", ["1abc", "a b", "#x", "x" * 31])
def test_bad_nick_is_432(nick: str) -> None:
    h = Harness()
    msgs = h.connect().send(f"NICK :{nick}").take()
    assert numerics(msgs) == ["432"]


def test_taken_nick_is_433_case_insensitively() -> None:
    h = Harness()
    h.user("Alice")
    msgs = h.connect().send("NICK aLiCe").take()
    assert numerics(msgs) == ["433"]


def test_nick_without_argument_is_431() -> None:
    assert numerics(Harness().connect().send("NICK").take()) == ["431"]


def test_missing_params_is_461() -> None:
    h = Harness()
    assert numerics(h.connect().send("USER onlyone").take()) == ["461"]
    alice = h.user("alice")
    assert numerics(alice.send("JOIN").take()) == ["461"]


def test_nick_change_is_seen_by_room_mates_once() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    alice.send("JOIN #two")
    bob.send("JOIN #two")
    alice.take()
    bob.take()
    alice.send("NICK alicia")
    changes = [m for m in bob.take() if m.command == "NICK"]
    assert len(changes) == 1 and changes[0].nick == "alice" and changes[0].params == ["alicia"]
    assert [m.command for m in alice.take()] == ["NICK"]
    assert h.core.find_nick("alice") is None and h.core.find_nick("ALICIA") is alice.client


# ------------------------------------------------------------------------ messages


def test_channel_message_reaches_others_but_not_sender_without_echo() -> None:
    h = Harness()
    alice, bob, carol = h.user("alice"), h.user("bob"), h.user("carol")
    for c in (alice, bob, carol):
        c.take()
    alice.send("PRIVMSG #lobby :hello all")
    for other in (bob, carol):
        (msg,) = other.take()
        assert msg.command == "PRIVMSG" and msg.nick == "alice" and msg.params == ["#lobby", "hello all"]
        assert msg.tags == {}  # no tags for clients that did not ask
    assert alice.take() == []


def test_echo_message_with_tags_is_the_senders_acknowledgement() -> None:
    h = Harness()
    alice = h.user("alice", caps="echo-message message-tags server-time")
    bob = h.user("bob", caps="server-time")
    alice.take()
    alice.send("@+chat/cid=42 PRIVMSG #lobby :hi")
    (echo,) = alice.take()
    assert echo.params == ["#lobby", "hi"]
    assert echo.tags["+chat/cid"] == "42" and echo.tags["msgid"] and echo.tags["time"].endswith("Z")
    (seen,) = bob.take()
    assert set(seen.tags) == {"time"} and seen.tags["time"] == echo.tags["time"]


def test_msgids_are_unique() -> None:
    h = Harness()
    alice = h.user("alice", caps="echo-message message-tags")
    for i in range(50):
        alice.send(f"PRIVMSG #lobby :{i}")
    ids = [m.tags["msgid"] for m in alice.take()]
    assert len(ids) == len(set(ids)) == 50


def test_private_message_and_away_reply() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    bob.send("AWAY :lunch")
    assert numerics(bob.take()) == ["306"]
    alice.send("PRIVMSG Bob :psst")
    (pm,) = bob.take()
    assert pm.params == ["Bob", "psst"] and pm.nick == "alice"
    away = alice.take()
    assert away[0].command == "301" and away[0].params[-1] == "lunch"
    bob.send("AWAY")
    assert numerics(bob.take()) == ["305"]


def test_message_to_several_targets() -> None:
    h = Harness()
    alice, bob, carol = h.user("alice"), h.user("bob"), h.user("carol")
    for c in (alice, bob, carol):
        c.take()
    alice.send("PRIVMSG bob,carol :both of you")
    assert [m.params for m in bob.take()] == [["bob", "both of you"]]
    assert [m.params for m in carol.take()] == [["carol", "both of you"]]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("PRIVMSG #lobby :", "412"),
        ("PRIVMSG #lobby", "412"),
        ("PRIVMSG", "411"),
        ("PRIVMSG nobody :hi", "401"),
        ("PRIVMSG #nowhere :hi", "403"),
        ("FROB", "421"),
        ("PART #nowhere", "403"),
        ("JOIN nochanprefix", "403"),
        ("TOPIC #nowhere", "403"),
        ("WHOIS ghost", "401"),
    ],
)
def test_error_numerics(line: str, code: str) -> None:
    h = Harness()
    alice = h.user("alice")
    assert code in numerics(alice.send(line).take())


def test_notice_never_gets_error_replies() -> None:
    h = Harness()
    alice = h.user("alice")
    assert alice.send("NOTICE nobody :hi", "NOTICE #lobby :").take() == []


def test_cannot_send_to_a_room_you_are_not_in() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.send("JOIN #private")
    bob.take()
    assert numerics(bob.send("PRIVMSG #private :hi").take()) == ["404"]
    assert numerics(bob.send("PART #private").take()) == ["442"]


def test_tagmsg_only_reaches_clients_with_message_tags() -> None:
    h = Harness()
    alice = h.user("alice", caps="message-tags")
    bob = h.user("bob", caps="message-tags")
    carol = h.user("carol")
    alice.take()
    bob.take()
    alice.send("@+typing=active TAGMSG #lobby")
    (tm,) = bob.take()
    assert tm.command == "TAGMSG" and tm.tags["+typing"] == "active"
    assert carol.take() == []


# ------------------------------------------------------------------------ rooms


def test_join_part_and_names() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    alice.send("JOIN #dev")
    bob.send("JOIN #dev")
    assert [m.command for m in alice.take()] == ["JOIN", "353", "366", "JOIN"]
    names = next(m for m in bob.take() if m.command == "353")
    assert names.params[-1].split() == ["@alice", "bob"]
    bob.send("PART #dev :bye")
    part = alice.take()[0]
    assert part.command == "PART" and part.params == ["#dev", "bye"]
    bob.send("PART #dev")
    assert numerics(bob.take()) == ["442"]


def test_empty_room_disappears() -> None:
    h = Harness()
    alice = h.user("alice")
    alice.send("JOIN #tmp", "PART #tmp")
    assert h.core.find_channel("#tmp") is None


def test_join_zero_leaves_every_room() -> None:
    h = Harness()
    alice = h.user("alice")
    alice.send("JOIN #a,#b").take()
    alice.send("JOIN 0")
    assert [m.command for m in alice.take()] == ["PART", "PART", "PART"]
    assert alice.client.channels == set()


def test_topic_needs_operator_under_plus_t() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    bob.send("TOPIC #lobby :mine")
    assert numerics(bob.take()) == ["482"]
    alice.send("TOPIC #lobby :Welcome")
    assert bob.take()[0].params == ["#lobby", "Welcome"]
    bob.send("TOPIC #lobby")
    assert [m.command for m in bob.take()] == ["332", "333"]
    carol = h.connect().send("NICK carol", "USER c 0 * :C")
    assert "332" in numerics(carol.take())  # topic shown on join


def test_mode_queries_and_changes() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    bob.send("MODE #lobby")
    assert bob.take()[0].params[-1] == "+nt"
    bob.send("MODE #lobby -t")
    assert numerics(bob.take()) == ["482"]
    alice.send("MODE #lobby -t+o bob")
    change = bob.take()[0]
    assert change.command == "MODE" and change.params == ["#lobby", "-t+o", "bob"]
    bob.send("MODE #lobby b")
    assert numerics(bob.take()) == ["368"]
    bob.send("MODE bob +i", "MODE bob")
    assert bob.take()[-1].params[-1] == "+i"
    assert numerics(bob.send("MODE alice +i").take()) == ["502"]


def test_who_whois_list_ison_userhost() -> None:
    h = Harness()
    alice, _bob = h.user("alice"), h.user("bob")
    alice.take()
    who = alice.send("WHO #lobby").take()
    assert [m.params[5] for m in who if m.command == "352"] == ["alice", "bob"]
    whois = alice.send("WHOIS bob").take()
    assert numerics(whois) == ["311", "319", "312", "317", "318"]
    listing = alice.send("LIST").take()
    assert [m.params[1:3] for m in listing if m.command == "322"] == [["#lobby", "2"]]
    assert alice.send("ISON bob ghost").take()[0].params[-1] == "bob"
    assert alice.send("USERHOST bob").take()[0].params[-1].startswith("bob=+")


def test_ping_pong_and_motd() -> None:
    h = Harness()
    alice = h.user("alice")
    (pong,) = alice.send("PING :token").take()
    assert pong.command == "PONG" and pong.params[-1] == "token"
    assert numerics(alice.send("MOTD").take()) == ["375", "372", "376"]
    empty = Harness(motd="").user("bob")
    assert numerics(empty.send("MOTD").take()) == ["422"]


# ------------------------------------------------------------------------ input limits


def test_overlong_line_gets_417_and_connection_stays_usable() -> None:
    h = Harness()
    alice = h.user("alice")
    alice.send("PRIVMSG #lobby :" + "x" * 600)
    assert numerics(alice.take()) == ["417"]
    assert alice.send("PING :still").take()[0].params[-1] == "still"


def test_invalid_utf8_is_refused_with_fail() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    bob.send_bytes(b"PRIVMSG #lobby :\xff\xfe\r\n")
    (fail,) = bob.take()
    assert fail.command == "FAIL" and fail.params[:2] == ["PRIVMSG", "INVALID_UTF8"]
    assert alice.take() == []


# ------------------------------------------------------------------------ leaving


def test_quit_reaches_room_mates_once_with_reason() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.send("JOIN #two")
    bob.send("JOIN #two")
    alice.take()
    bob.send("QUIT :gone home")
    quits = [m for m in alice.take() if m.command == "QUIT"]
    assert len(quits) == 1 and quits[0].params == ["Quit: gone home"]
    assert bob.take()[-1].command == "ERROR"
    assert bob.client.closing and h.core.find_nick("bob") is None


def test_connection_lost_tells_the_room() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    h.core.connection_lost(bob.client, "Connection reset by peer")
    (quit_msg,) = alice.take()
    assert quit_msg.command == "QUIT" and quit_msg.params == ["Connection reset by peer"]
    assert h.user("bob")  # the nick is free again


def test_ping_then_timeout_for_a_silent_client() -> None:
    h = Harness(limits={"ping_interval": 30, "ping_timeout": 60})
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    h.advance(31)
    assert [m.command for m in bob.take()] == ["PING"]
    alice.send("PONG :x")
    h.advance(30)
    quits = [m for m in alice.take() if m.command == "QUIT"]
    assert quits and "Ping timeout" in quits[0].params[-1]
    assert bob.client.closing


def test_unregistered_connection_is_dropped_after_deadline() -> None:
    h = Harness(limits={"registration_timeout": 10})
    lurker = h.connect()
    h.advance(11)
    assert lurker.take()[-1].command == "ERROR"
    assert lurker.client.closing


def test_a_reader_that_falls_behind_is_dropped_without_hurting_others() -> None:
    h = Harness(limits={"sendq": 4096})
    alice, slow = h.user("alice"), h.user("slow")
    bob = h.user("bob")
    alice.take()
    heard: list[str] = []
    quits = []
    for i in range(200):
        alice.send(f"PRIVMSG #lobby :message number {i}")
        for msg in bob.take():  # bob keeps reading; slow never does
            if msg.command == "PRIVMSG":
                heard.append(msg.params[-1])
            elif msg.command == "QUIT":
                quits.append(msg)
    assert slow.client.closing
    assert [(m.nick, m.params[-1]) for m in quits] == [("slow", "SendQ exceeded")]
    # Dropping slow in the middle of a broadcast must not break the broadcast or its sender.
    assert not alice.client.closing
    assert heard == [f"message number {i}" for i in range(200)]


def test_handler_crash_drops_only_that_client(monkeypatch: pytest.MonkeyPatch) -> None:
    from chat.server import registry

    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()

    def boom(*_args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setitem(registry.COMMANDS, "VERSION", registry.CommandSpec(boom, 0, True))
    bob.send("VERSION")
    assert bob.take()[-1].command == "ERROR" and bob.client.closing
    alice.send("PING :alive")
    assert any(m.command == "PONG" for m in alice.take())


def test_shutdown_tells_everyone() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    h.core.shutdown()
    for c in (alice, bob):
        last = c.take()[-1]
        assert last.command == "ERROR" and last.params == ["Server shutting down"]


def test_stray_cr_and_nul_cannot_inject_lines_into_other_clients() -> None:
    h = Harness()
    alice, bob = h.user("alice"), h.user("bob")
    alice.take()
    bob.send_bytes(b"PRIVMSG #lobby :hi\rQUIT :fake\x00!\r\n")
    raw = bytes(alice.client.out)
    assert raw.count(b"\r") == 1 and b"\x00" not in raw
    assert [m.params for m in alice.take()] == [["#lobby", "hiQUIT :fake!"]]


def test_invalid_utf8_garbage_command_is_answered_without_crashing() -> None:
    h = Harness()
    junk = h.connect().send_bytes(b"\xff\x00\x01 \xfe\r\n")
    (fail,) = junk.take()
    assert fail.params[:2] == ["*", "INVALID_UTF8"]
    assert not junk.client.closing


def test_flood_control_holds_lines_back_in_order_then_cuts_off_a_persistent_flooder() -> None:
    h = Harness(limits={"flood_burst": 4, "flood_rate": 2.0, "recvq": 2048})
    paster, bob = h.user("paster"), h.user("bob")
    h.advance(10)  # registering took tokens too; the bucket is full again
    bob.take()
    paster.send(*(f"PRIVMSG #lobby :line {i}" for i in range(10)))
    assert [m.params[-1] for m in bob.take()] == [f"line {i}" for i in range(4)]  # the burst
    h.advance(1.0)  # two more tokens
    assert [m.params[-1] for m in bob.take()] == ["line 4", "line 5"]
    paster.send("PING :cheap")  # queued behind the held lines: order is kept
    h.advance(2.0)
    assert [m.params[-1] for m in bob.take()] == ["line 6", "line 7", "line 8", "line 9"]
    assert paster.take()[-1].command == "JOIN"  # no PONG yet: the bucket holds 4 at most
    h.advance(0.1)
    assert paster.take()[-1].command == "PONG"
    assert not paster.client.closing
    paster.send(*(f"PRIVMSG #lobby :spam {i} " + "x" * 100 for i in range(40)))
    assert paster.client.closing
    assert "Excess Flood" in paster.take()[-1].params[-1]
    assert [m.params[-1] for m in bob.take() if m.command == "QUIT"] == ["Excess Flood"]


def test_history_requests_and_pings_are_cheap_for_flood_control() -> None:
    h = Harness(limits={"flood_burst": 6, "flood_rate": 1.0})
    alice = h.user("alice", caps="batch draft/chathistory message-tags server-time")
    alice.take()
    h.advance(10)
    alice.send(*("CHATHISTORY LATEST #lobby * 10" for _ in range(30)))
    # 30 requests cost 3 tokens: all answered at once, none held back.
    assert sum(1 for m in alice.take() if m.command == "BATCH") == 60


def test_connections_per_address_are_capped_and_freed_on_leave() -> None:
    h = Harness(limits={"max_clients_per_ip": 2, "max_clients": 3})
    first, _second = h.connect("10.0.0.5"), h.connect("10.0.0.5")
    assert h.core.admission("10.0.0.5") == "Too many connections from your address (2)"
    assert h.core.admission("10.0.0.6") is None
    h.connect("10.0.0.6")
    assert h.core.admission("10.0.0.7") == "Server is full, try again later"
    h.core.connection_lost(first.client, "Connection closed by client")
    assert h.core.admission("10.0.0.5") is None


def test_a_join_list_costs_one_line_per_room() -> None:
    h = Harness(limits={"flood_burst": 4, "flood_rate": 1.0})
    alice = h.user("alice")
    h.advance(10)
    alice.take()
    alice.send("JOIN #a,#b,#c,#d,#e,#f,#g,#h", "PRIVMSG #a :right after")
    joined = [m.params[0] for m in alice.take() if m.command == "JOIN"]
    assert joined == ["#a", "#b", "#c", "#d", "#e", "#f", "#g", "#h"]  # a full bucket lets it through
    h.advance(1.0)
    assert alice.client.held  # but it cost 8: the next line waits until the bucket is back above 1
    h.advance(4.0)
    assert not alice.client.held


def test_big_history_answers_cost_more_than_small_ones() -> None:
    h = Harness(limits={"flood_burst": 6, "flood_rate": 1.0, "ping_interval": 1e6, "ping_timeout": 2e6})
    alice = h.user("alice", caps="batch draft/chathistory message-tags server-time")
    bob = h.user("bob")
    for i in range(1000):
        bob.send(f"PRIVMSG #lobby :{i}")
        h.advance(1.0)  # bob keeps to the rate
    alice.take()
    alice.send(*["CHATHISTORY LATEST #lobby * 1000"] * 2, "CHATHISTORY LATEST #lobby * 1")
    answered = [m for m in alice.take() if m.command == "PRIVMSG"]
    assert len(answered) == 2000  # then the third request waits: 1,000 messages cost 4 lines' worth
    assert alice.client.held
    h.advance(5.0)
    assert [m.params[-1] for m in alice.take() if m.command == "PRIVMSG"] == ["999"]


def test_a_client_that_does_not_read_its_answers_gets_no_more_work() -> None:
    h = Harness(limits={"sendq": 4096})
    alice = h.user("alice")
    alice.client.out += b"x" * 2100  # more than half the sendq waiting to be read
    alice.send("LUSERS")
    assert alice.client.held and not alice.client.closing
    alice.client.out.clear()  # the socket took it
    h.advance(0.1)
    assert not alice.client.held and any(m.command == "251" for m in alice.take())


def test_rooms_per_user_are_capped() -> None:
    h = Harness(limits={"max_channels": 3})
    alice = h.user("alice")  # in #lobby
    alice.take()
    alice.send("JOIN #a,#b,#c")
    replies = alice.take()
    assert [m.params[0] for m in replies if m.command == "JOIN"] == ["#a", "#b"]
    assert [m.params[1:] for m in replies if m.command == "405"] == [["#c", "You have joined too many channels"]]


def test_an_ipv6_machine_counts_once_whatever_address_of_its_64_it_uses() -> None:
    h = Harness(limits={"max_clients_per_ip": 2})
    h.connect("2001:db8::1")
    h.connect("2001:db8::abcd:2")
    assert h.core.admission("2001:db8::ffff:3") == "Too many connections from your address (2)"
    assert h.core.admission("2001:db8:0:1::1") is None
