"""What any machine on the LAN may announce, or a user may type, must not break the clients."""

from __future__ import annotations

import dataclasses

from chat import mdns
from chat.client import discovery
from chat.client.connection import Connection, sendable
from chat.config import Settings
from chat.server.advertise import announced_name


def test_odd_numbers_and_escape_sequences_in_a_txt_record_are_harmless() -> None:
    txt = mdns.parse_txt(
        {b"users": "²".encode(), b"tls": b"9" * 5000, b"version": b"\x1b]0;pwned\x07 1.0", b"name": b"ok\x1b[31m"}
    )
    assert txt.users is None and txt.tls_port is None
    assert "\x1b" not in txt.version and "\x07" not in txt.version and "\x1b" not in txt.server_name


def test_a_malformed_service_is_skipped_and_the_others_are_listed() -> None:
    good = discovery.Service(mdns.PLAIN_TYPE, f"Office.{mdns.PLAIN_TYPE}", ("192.0.2.5",), 6667, {b"users": b"3"})
    odd = discovery.Service(mdns.PLAIN_TYPE, f"Bad\x1b[31mName.{mdns.PLAIN_TYPE}", ("192.0.2.6",), 6667, {})
    found = discovery.merge([good, odd])
    assert [f.name for f in found] == ["Bad[31mName", "Office"]  # listed, but nothing left to escape


def test_a_long_announced_name_is_cut_to_one_dns_label() -> None:
    settings = dataclasses.replace(Settings(), discovery=dataclasses.replace(Settings().discovery, name="é" * 40))
    name = announced_name(settings)
    assert name == "é" * 31 and len(name.encode()) <= 63


def test_undecodable_input_is_sent_as_replacement_characters_and_refused_as_a_name() -> None:
    assert sendable("caf\udce9 ok") == "caf\ufffd ok"
    conn = Connection("127.0.0.1", 1, "alice")
    try:
        conn.join("#caf\udce9")
    except ValueError as err:
        assert "cannot be used" in str(err)
    else:
        raise AssertionError("a channel name with a lone surrogate was accepted")
    finally:
        conn.close()


def test_looking_up_a_name_zeroconf_rejects_gives_nothing_instead_of_an_error() -> None:
    from zeroconf import Zeroconf

    zc = Zeroconf(interfaces=["127.0.0.1"])
    try:
        assert discovery._lookup(zc, mdns.PLAIN_TYPE, f"Bad\x1b[31mName.{mdns.PLAIN_TYPE}", 0.1) is None
    finally:
        zc.close()
