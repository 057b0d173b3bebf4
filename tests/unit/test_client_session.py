"""The client protocol with plain data: registration, nick fallback, channel tracking, and the
events a UI gets for each server line."""

from __future__ import annotations

from datetime import UTC, datetime

from chat.client import events as ev
from chat.client.session import Session, Step, fallback_nick, usable_nick
from chat.protocol import Message, parse

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def feed(session: Session, *lines: str) -> Step:
    total = Step()
    for line in lines:
        step = session.handle(parse(line), NOW)
        total.events += step.events
        total.send += step.send
    return total


def sent(step: Step) -> list[str]:
    return [m.to_line() for m in step.send]


def registered(nick: str = "alice", caps: str = "echo-message message-tags server-time") -> Session:
    session = Session(nick, address="srv:6667", join=["#dev"])
    session.start()
    feed(session, f":srv CAP * LS :{caps}", f":srv CAP * ACK :{caps}", f":srv 001 {nick} :Welcome {nick}")
    feed(session, f":{nick}!~a@h JOIN #lobby", f":srv 353 {nick} = #lobby :@bob {nick}")
    feed(session, f":srv 366 {nick} #lobby :End of /NAMES list")
    return session


def test_opening_negotiates_capabilities_before_registering() -> None:
    session = Session("alice", address="srv:6667", realname="Alice A")
    assert [m.to_line() for m in session.start()] == ["CAP LS 302", "NICK alice", "USER chat 0 * :Alice A"]


def test_requests_only_the_offered_caps_we_use_then_ends() -> None:
    session = Session("alice", address="srv:6667")
    step = feed(session, ":srv CAP * LS :multi-prefix server-time sasl=PLAIN echo-message")
    assert sent(step) == ["CAP REQ :echo-message server-time"]
    step = feed(session, ":srv CAP * ACK :echo-message server-time")
    assert sent(step) == ["CAP END"]
    assert session.caps == {"echo-message", "server-time"}


def test_multiline_cap_ls_waits_for_the_last_line() -> None:
    session = Session("alice", address="srv:6667")
    assert sent(feed(session, ":srv CAP * LS * :message-tags")) == []
    assert sent(feed(session, ":srv CAP * LS :echo-message")) == ["CAP REQ :echo-message message-tags"]


def test_no_useful_caps_ends_negotiation_at_once() -> None:
    session = Session("alice", address="srv:6667")
    assert sent(feed(session, ":srv CAP * LS :sasl")) == ["CAP END"]


def test_nak_still_ends_negotiation() -> None:
    session = Session("alice", address="srv:6667")
    feed(session, ":srv CAP * LS :echo-message")
    assert sent(feed(session, ":srv CAP * NAK :echo-message")) == ["CAP END"]
    assert session.caps == frozenset()


def test_welcome_reports_connected_and_joins_wanted_channels() -> None:
    session = Session("alice", address="srv:6667", join=["#dev", "#ops"])
    step = feed(session, ":chat.lan 001 alice :Welcome to the LAN chat, alice!~a@h")
    assert step.events[0] == ev.Connected("chat.lan", "alice", "srv:6667")
    assert sent(step) == ["JOIN #dev", "JOIN #ops"]
    assert session.registered


def test_taken_nick_falls_back_and_says_so() -> None:
    session = Session("alice", address="srv:6667")
    step = feed(session, ":srv 433 * alice :Nickname is already in use")
    assert sent(step) == ["NICK alice_"]
    assert step.events == [ev.Info('the nick "alice" is taken; trying "alice_" instead')]
    step = feed(session, ":srv 433 * alice_ :Nickname is already in use")
    assert sent(step) == ["NICK alice__"]
    step = feed(session, ":srv 001 alice__ :Welcome")
    assert step.events[0] == ev.Connected("srv", "alice__", "srv:6667")
    assert session.nick == "alice__"


def test_fallback_sequence_and_length() -> None:
    assert [fallback_nick("alice", n) for n in (1, 2, 3, 4)] == ["alice_", "alice__", "alice3", "alice4"]
    assert fallback_nick("a" * 30, 1, 30) == "a" * 29 + "_"
    assert len(fallback_nick("alice", 50, 9)) <= 9


def test_refused_nick_becomes_a_usable_one() -> None:
    session = Session("9lives", address="srv:6667")
    step = feed(session, ":srv 432 * 9lives :Erroneous nickname")
    assert sent(step) == ["NICK u9lives"]
    assert "not allowed" in step.events[0].text  # type: ignore[attr-defined]
    assert usable_nick("a.b.c") == "abc"


def test_nick_in_use_after_registration_is_an_error_not_a_fallback() -> None:
    session = registered()
    step = feed(session, ":srv 433 alice bob :Nickname is already in use")
    assert step.send == []
    assert step.events == [ev.Error('the nick "bob" is already taken')]


def test_answers_ping() -> None:
    session = registered()
    assert sent(feed(session, "PING :token123")) == ["PONG token123"]


def test_own_join_and_names_track_the_channel() -> None:
    session = registered()
    assert session.channels == {"#lobby": "#lobby"}
    step = feed(session, ":alice!~a@h JOIN #Dev", ":srv 353 alice = #Dev :@alice", ":srv 366 alice #Dev :End")
    assert step.events == [ev.Joined("#Dev", "alice", True), ev.Names("#Dev", ("@alice",))]
    assert set(session.channels.values()) == {"#lobby", "#Dev"}


def test_names_split_over_several_lines_arrive_as_one_event() -> None:
    session = registered()
    step = feed(
        session,
        ":srv 353 alice = #lobby :@bob alice",
        ":srv 353 alice = #lobby :carol dave",
        ":srv 366 alice #lobby :End",
    )
    assert step.events == [ev.Names("#lobby", ("@bob", "alice", "carol", "dave"))]


def test_others_joining_parting_quitting_and_renaming() -> None:
    session = registered()
    step = feed(
        session,
        ":carol!~c@h JOIN #lobby",
        ":carol!~c@h NICK carol2",
        ":bob!~b@h PART #lobby :lunch",
        ":carol2!~c@h QUIT :Quit: bye",
    )
    assert step.events == [
        ev.Joined("#lobby", "carol", False),
        ev.NickChanged("carol", "carol2", False, ("#lobby",)),
        ev.Parted("#lobby", "bob", "lunch", False),
        ev.Quit("carol2", "Quit: bye", ("#lobby",)),
    ]
    assert session.members["#lobby"] == {"alice": "alice"}


def test_own_part_and_kick_forget_the_channel() -> None:
    session = registered()
    step = feed(session, ":alice!~a@h PART #lobby")
    assert step.events == [ev.Parted("#lobby", "alice", "", True)]
    assert session.channels == {}
    feed(session, ":alice!~a@h JOIN #dev")
    step = feed(session, ":op!~o@h KICK #dev alice :behave")
    assert step.events == [ev.Kicked("#dev", "alice", "behave", True, "op")]
    assert session.channels == {}


def test_own_nick_change_is_tracked() -> None:
    session = registered()
    step = feed(session, ":alice!~a@h NICK :alicia")
    assert step.events == [ev.NickChanged("alice", "alicia", True, ("#lobby",))]
    assert session.nick == "alicia"


def test_channel_message_with_tags() -> None:
    session = registered()
    step = feed(session, "@time=2026-03-04T05:06:07.890Z;msgid=m1 :bob!~b@h PRIVMSG #lobby :hi all")
    (msg,) = step.events
    assert isinstance(msg, ev.Message)
    assert (msg.target, msg.sender, msg.text, msg.msgid, msg.own) == ("#lobby", "bob", "hi all", "m1", False)
    assert msg.time == datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    assert msg.conversation == "#lobby"
    assert not msg.private


def test_message_without_server_time_is_stamped_on_arrival() -> None:
    session = registered()
    (msg,) = feed(session, ":bob!~b@h PRIVMSG alice :psst").events
    assert isinstance(msg, ev.Message)
    assert msg.time == NOW
    assert msg.private
    assert msg.conversation == "bob"


def test_messages_carry_the_senders_client_id() -> None:
    session = registered()
    (own,) = feed(session, "@+chat/cid=c1;msgid=m2 :alice!~a@h PRIVMSG bob :hello").events
    assert isinstance(own, ev.Message)
    assert own.own and own.cid == "c1" and own.conversation == "bob"
    # Another's id is kept too: it tells a message apart from its resent copy.
    (other,) = feed(session, "@+chat/cid=c9 :bob!~b@h PRIVMSG #lobby :yo").events
    assert isinstance(other, ev.Message)
    assert other.cid == "c9" and not other.own


def test_action_and_notice() -> None:
    session = registered()
    step = feed(session, ":bob!~b@h PRIVMSG #lobby :\x01ACTION waves\x01", ":bob!~b@h NOTICE alice :note")
    action, notice = step.events
    assert isinstance(action, ev.Message) and action.action and action.text == "waves"
    assert isinstance(notice, ev.Message) and notice.notice and notice.text == "note"


def test_server_notice_is_info() -> None:
    session = registered()
    assert feed(session, ":srv NOTICE * :*** Looking up your hostname").events == [
        ev.Info("*** Looking up your hostname")
    ]


def test_ctcp_version_is_answered_by_notice() -> None:
    session = registered()
    step = feed(session, ":bob!~b@h PRIVMSG alice :\x01VERSION\x01")
    assert step.events == []
    assert len(step.send) == 1
    assert step.send[0].command == "NOTICE"
    assert step.send[0].params[1].startswith("\x01VERSION chat")


def test_topics() -> None:
    session = registered()
    step = feed(
        session,
        ":srv 332 alice #lobby :release friday",
        ":srv 333 alice #lobby bob 1700000000",
        ":bob!~b@h TOPIC #lobby :release monday",
    )
    assert step.events == [ev.Topic("#lobby", "release friday"), ev.Topic("#lobby", "release monday", "bob")]


def test_errors_in_plain_words() -> None:
    session = registered()
    step = feed(
        session,
        ":srv 401 alice bob :No such nick/channel",
        ":srv 412 alice :No text to send",
        ":srv 404 alice #secret :Cannot send to channel",
        ":srv 421 alice FOO :Unknown command",
        ":srv 482 alice #lobby :You're not channel operator",
        ":srv 499 alice :Something odd",
    )
    assert step.events == [
        ev.Error("no such nick or channel: bob"),
        ev.Error("cannot send an empty message"),
        ev.Error("cannot send to #secret: join the channel first"),
        ev.Error("the server does not know the command FOO"),
        ev.Error("you need to be an operator of #lobby to do that"),
        ev.Error("Something odd"),
    ]


def test_informational_numerics_become_readable_info() -> None:
    session = registered()
    step = feed(
        session,
        ":srv 375 alice :- srv Message of the day - ",
        ":srv 372 alice :- Be nice.",
        ":srv 376 alice :End of /MOTD command.",
        ":srv 301 alice bob :at lunch",
        ":srv 311 alice bob ~bob host * :Bob B",
        ":srv 319 alice bob :@#lobby #dev",
        ":srv 318 alice bob :End of /WHOIS list",
        ":srv 322 alice #lobby 3 :general chat",
        ":srv 323 alice :End of /LIST",
    )
    assert [e.text for e in step.events if isinstance(e, ev.Info)] == [
        "Be nice.",
        "bob is away: at lunch",
        "bob is ~bob@host (Bob B)",
        "bob is in @#lobby #dev",
        "#lobby (3 users): general chat",
        "end of the channel list",
    ]


def test_myinfo_and_isupport_are_remembered_silently() -> None:
    session = Session("alice", address="srv:6667")
    step = feed(
        session,
        ":srv 001 alice :Welcome",
        ":srv 004 alice chat.lan chat-0.1.0 i nto",
        ":srv 005 alice NICKLEN=16 CASEMAPPING=ascii :are supported by this server",
    )
    assert not any(isinstance(e, ev.Info) and "supported" in e.text for e in step.events)
    assert session.version == "chat-0.1.0"
    assert session.nick_length == 16


def test_error_line_is_kept_as_the_reason() -> None:
    session = registered()
    assert feed(session, "ERROR :Server shutting down").events == []
    assert session.error_text == "Server shutting down"


def test_build_messages_do_not_break() -> None:
    # Every command the session sends must be valid on the wire.
    session = registered()
    for message in [*session.start(), Message("PONG", ["x"])]:
        assert parse(message.to_line()) == message


def test_a_nick_that_is_too_long_is_shortened_to_what_the_server_allows() -> None:
    long_nick = "n" * 40
    session = Session(long_nick, address="srv:6667")
    session.start()
    feed(session, ":srv CAP * LS :", ":srv 005 * NICKLEN=30 :are supported by this server")
    step = feed(session, f":srv 432 * {long_nick} :Erroneous nickname")
    assert sent(step) == ["NICK " + "n" * 30]
    info = [e.text for e in step.events if isinstance(e, ev.Info)]
    assert info == [f'the nick "{long_nick}" is too long (at most 30 characters); trying "{"n" * 30}" instead']
