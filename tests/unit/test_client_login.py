"""The client side of passwords and moderation, with plain data: PASS, SASL PLAIN during CAP,
refusals that must stop the reconnect loop, reserved nicks, KICK and KILL."""

from __future__ import annotations

import base64

from chat.client import commands as cmd
from chat.client import events as ev
from chat.client.connection import Connection
from chat.client.dispatch import perform
from chat.client.render import describe
from chat.client.session import Session
from tests.unit.test_client_session import feed, registered, sent


def test_server_password_goes_first() -> None:
    session = Session("alice", address="srv:6667", password="s3cret")
    assert [m.to_line() for m in session.start()][:2] == ["PASS s3cret", "CAP LS 302"]


def test_sasl_plain_during_cap_then_cap_end() -> None:
    session = Session(
        "alice", address="srv:6667", caps=("server-time",), account=("alice", "correct horse"), secure=True
    )
    session.start()
    step = feed(session, ":srv CAP * LS :server-time sasl=PLAIN")
    assert sent(step) == ["CAP REQ :server-time sasl"]
    step = feed(session, ":srv CAP alice ACK :server-time sasl")
    assert sent(step) == ["AUTHENTICATE PLAIN"]
    step = feed(session, "AUTHENTICATE +")
    payload = base64.b64encode(b"alice\0alice\0correct horse").decode()
    assert sent(step) == [f"AUTHENTICATE {payload}"]
    step = feed(
        session,
        ":srv 900 alice alice!~a@h alice :You are now logged in as alice",
        ":srv 903 alice :SASL authentication successful",
    )
    assert sent(step) == ["CAP END"]
    assert ev.Info("logged in as alice") in step.events
    assert session.logged_in == "alice" and session.refused is None


def test_long_sasl_payload_is_chunked_and_a_full_last_chunk_is_followed_by_plus() -> None:
    password = "x" * (300 - len("ab\0ab\0"))  # 300 bytes: exactly 400 base64 characters
    session = Session("ab", address="s", account=("ab", password), secure=True)
    step = feed(session, "AUTHENTICATE +")
    assert [m.params[0] for m in step.send][1:] == ["+"] and len(step.send[0].params[0]) == 400
    session = Session("ab", address="s", account=("ab", "y" * 700), secure=True)
    chunks = [m.params[0] for m in feed(session, "AUTHENTICATE +").send]
    assert [len(c) for c in chunks[:-1]] == [400, 400] and 0 < len(chunks[-1]) < 400


def test_failed_login_is_a_refusal_with_the_servers_reason() -> None:
    session = Session("alice", address="s", account=("alice", "wrong"), secure=True)
    session.start()
    feed(session, ":srv CAP * LS :sasl=PLAIN", ":srv CAP alice ACK :sasl", "AUTHENTICATE +")
    step = feed(session, ":srv 904 alice :SASL authentication failed: wrong account name or password")
    assert step.events == [ev.Refused("could not log in as alice: wrong account name or password", "account")]
    assert "CAP END" not in sent(step)


def test_login_refused_over_plain_connection_explains_tls() -> None:
    session = Session("alice", address="s", account=("alice", "pw"), plaintext_login=True)
    session.start()
    feed(session, ":srv CAP * LS :sasl=PLAIN", ":srv CAP alice ACK :sasl")
    feed(session, ":srv 904 alice :SASL authentication failed: log in over TLS (port 6697); this server ...")
    assert session.refused is not None and "log in over TLS (port 6697)" in session.refused.reason


def test_account_password_is_not_sent_over_a_plain_connection() -> None:
    session = Session("alice", address="s", account=("alice", "correct horse"))
    session.start()
    step = feed(session, ":srv CAP * LS :sasl=PLAIN")
    assert not step.send and session.refused is not None and session.refused.cause == "account"
    assert "account login needs TLS" in session.refused.reason and "connect with --tls" in session.refused.reason
    # A spoofed server that asks for the payload anyway gets nothing.
    assert feed(session, "AUTHENTICATE +").send == []


def test_plaintext_login_allows_an_account_login_without_tls() -> None:
    session = Session("alice", address="s", account=("alice", "correct horse"), plaintext_login=True)
    session.start()
    assert sent(feed(session, ":srv CAP * LS :sasl=PLAIN")) == ["CAP REQ sasl"]
    assert sent(feed(session, ":srv CAP alice ACK :sasl")) == ["AUTHENTICATE PLAIN"]
    assert len(feed(session, "AUTHENTICATE +").send) == 1


def test_server_without_sasl_refuses_an_account_login() -> None:
    session = Session("alice", address="s", account=("alice", "pw"), secure=True)
    session.start()
    step = feed(session, ":srv CAP * LS :server-time")
    assert session.refused is not None and session.refused.cause == "account"
    assert "does not offer account login" in session.refused.reason and not step.send


def test_464_before_registration_is_a_password_refusal() -> None:
    without = Session("alice", address="s")
    assert feed(without, ":srv 464 alice :Password incorrect").events == [
        ev.Refused("this server needs a password", "password")
    ]
    wrong = Session("alice", address="s", password="nope")
    assert feed(wrong, ":srv 464 alice :Password incorrect").events == [
        ev.Refused("the server password is wrong", "password")
    ]


def test_464_after_registration_is_a_wrong_oper_password() -> None:
    session = registered()
    step = feed(session, ":srv 464 alice :Password incorrect")
    assert step.events == [ev.Error("wrong operator name or password")] and session.refused is None


def test_reserved_nick_falls_back_with_an_explanation() -> None:
    session = Session("alice", address="s")
    session.start()
    step = feed(session, ":srv 433 * alice :is reserved for a registered user; log in to use it")
    assert sent(step) == ["NICK alice_"]
    assert "belongs to a registered user" in step.events[0].text  # type: ignore[attr-defined]


def test_kick_of_us_and_of_others() -> None:
    session = registered()
    step = feed(session, ":op!~o@h KICK #lobby bob :spam")
    assert step.events == [ev.Kicked("#lobby", "bob", "spam", False, "op")]
    assert describe(step.events[0]) == "op removed bob from #lobby: spam"
    step = feed(session, ":op!~o@h KICK #lobby alice :you too")
    assert describe(step.events[0]) == "you were removed from #lobby by op: you too"
    assert "#lobby" not in session.channels


def test_kill_of_us_is_a_refusal() -> None:
    session = registered()
    step = feed(session, ":boss!~b@h KILL alice :Killed (boss (flooding))")
    assert step.events == [ev.Refused("you were removed from the chat by boss: Killed (boss (flooding))", "killed")]


def test_oper_is_refused_on_a_plain_connection_unless_allowed() -> None:
    plain = Connection("127.0.0.1", 1, "boss")
    problem = perform(cmd.Oper("boss", "boss password"), plain)
    assert problem is not None and problem.startswith("/oper needs TLS") and "connect with --tls" in problem
    assert perform(cmd.Oper("boss", "boss password"), Connection("127.0.0.1", 1, "boss", plaintext_login=True)) is None
    assert perform(cmd.Oper("boss", "boss password"), Connection("127.0.0.1", 1, "boss", tls=True)) is None
