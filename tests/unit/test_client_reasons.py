"""Backoff timing and the words used when a connection fails."""

from __future__ import annotations

import errno
import random
import socket

from chat.client.connection import backoff_delay
from chat.client.reasons import (
    connect_failure,
    dead_link,
    link_failure,
    looks_like_tls,
    plain_to_tls_port,
    server_closed,
)


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    rng = random.Random(7)
    for attempt, base in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (20, 30)]:
        for _ in range(50):
            delay = backoff_delay(attempt, 30.0, rng)
            assert base * 0.8 <= delay <= base * 1.2


def test_backoff_is_jittered() -> None:
    rng = random.Random(1)
    assert len({round(backoff_delay(3, 30.0, rng), 6) for _ in range(10)}) > 1


def test_refused() -> None:
    reason = connect_failure("10.0.0.9", "10.0.0.9:6667", ConnectionRefusedError(errno.ECONNREFUSED, "x"), 10)
    assert reason == "cannot reach 10.0.0.9:6667: connection refused — is the server running?"


def test_unknown_host() -> None:
    try:
        socket.getaddrinfo("nohost.invalid", 6667)
    except socket.gaierror as exc:
        reason = connect_failure("nohost.invalid", "nohost.invalid:6667", exc, 10)
    else:  # pragma: no cover - a resolver that answers for .invalid
        return
    assert reason.startswith('cannot resolve "nohost.invalid": ')


def test_timeout_and_unreachable() -> None:
    assert "no answer within 10 s" in connect_failure("h", "h:1", TimeoutError(), 10)
    unreachable = OSError(errno.EHOSTUNREACH, "No route to host")
    assert "no route to host" in connect_failure("h", "h:1", unreachable, 10)


def test_link_reasons() -> None:
    assert link_failure("h:1", ConnectionResetError(errno.ECONNRESET, "x")) == "the connection to h:1 was reset"
    assert server_closed("h:1", "Server shutting down") == (
        "the server at h:1 closed the connection: Server shutting down"
    )
    assert server_closed("h:1", None) == "the server at h:1 closed the connection"
    assert dead_link("h:1", 61.2) == "no reply from h:1 for 61 s — the connection seems dead"


def test_refused_plain_irc_port_asks_about_tls_only() -> None:
    refused = ConnectionRefusedError(errno.ECONNREFUSED, "x")
    reason = connect_failure("h", "h:6667", refused, 10, port=6667, tls=False)
    assert reason == (
        "cannot reach h:6667: connection refused — is the server running, or does it only take TLS (--tls, port 6697)?"
    )
    # Over TLS, or on another port, the plain question is the right one.
    assert connect_failure("h", "h:6667", refused, 10, port=6667, tls=True).endswith("is the server running?")
    assert connect_failure("h", "h:7000", refused, 10, port=7000, tls=False).endswith("is the server running?")


def test_a_plain_link_dropped_before_any_irc_line_suggests_tls() -> None:
    reset = link_failure("h:7697", ConnectionResetError(errno.ECONNRESET, "x"))
    assert plain_to_tls_port(reset, 7697) == (
        "the connection to h:7697 was reset — is that a TLS port? connect with --tls"
    )
    assert plain_to_tls_port(reset, 6697).endswith("port 6697 is usually the TLS port: connect with --tls")
    closed = server_closed("h:7697", None)
    assert plain_to_tls_port(closed, 7697, tls_reply=True).endswith("the server answered in TLS: connect with --tls")


def test_tls_records_are_told_from_irc_text() -> None:
    assert looks_like_tls(b"\x15\x03\x03\x00\x02\x02\x46")  # an alert: protocol version
    assert looks_like_tls(b"\x16\x03\x01\x00\xa5")  # a handshake
    assert not looks_like_tls(b":server NOTICE * :hi\r\n")
    assert not looks_like_tls(b"\x15")
