"""What the server announces on the LAN (names, addresses, TXT) and how a client reads it back,
without any network: record building, TXT round trip, and merging a server's two records."""

from __future__ import annotations

import dataclasses

from chat import mdns
from chat.client.discovery import Found, Service, merge
from chat.config import Auth, Discovery, Settings
from chat.server.advertise import Advertiser, advertised_addresses, announced_name, build_records, short_hostname


def settings(**changes: object) -> Settings:
    return dataclasses.replace(Settings(), **changes)  # type: ignore[arg-type]


def test_name_is_the_configured_one_else_server_name_else_the_host_name() -> None:
    assert announced_name(settings(discovery=Discovery(name="Office chat")), "pc1") == "Office chat"
    assert announced_name(settings(server_name="irc.office"), "pc1") == "irc.office"
    # chat.lan is every unconfigured server's name: the machine tells them apart.
    assert announced_name(settings(), "office-pc.example.com") == "office-pc"
    assert short_hostname("my_box!.lan") == "my-box"
    assert short_hostname("") == "chat-server"


def test_addresses_are_where_the_server_listens() -> None:
    lan = ["192.168.1.20", "10.0.0.5"]
    assert advertised_addresses("0.0.0.0", lan) == ("192.168.1.20", "10.0.0.5")
    assert advertised_addresses("::", lan) == ("192.168.1.20", "10.0.0.5")
    assert advertised_addresses("0.0.0.0", []) == ("127.0.0.1",)  # no LAN: this machine only
    assert advertised_addresses("127.0.0.1", lan) == ("127.0.0.1",)  # nobody else could connect
    assert advertised_addresses("10.0.0.5", lan) == ("10.0.0.5",)
    assert advertised_addresses("fe80::1%eth0", lan) == ("fe80::1",)


def test_plain_server_record() -> None:
    [record] = build_records(
        settings(server_name="irc.office", network="Office"),
        plain_port=6667, tls_port=None, addresses=["192.168.1.20"], hostname="pc1", version="chat-0.1.0", users=3,
    )  # fmt: skip
    assert record.service_name == "irc.office._irc._tcp.local."
    assert (record.port, record.addresses, record.host) == (6667, ("192.168.1.20",), "pc1.local.")
    assert record.txt.encode() == {
        "txtvers": "1", "name": "irc.office", "network": "Office", "version": "chat-0.1.0",
        "password": "no", "users": "3",
    }  # fmt: skip


def test_tls_server_has_both_records_and_tls_only_just_one() -> None:
    both = build_records(settings(), plain_port=6667, tls_port=6697, addresses=["10.0.0.5"], hostname="pc1")
    assert [(r.service_type, r.port) for r in both] == [(mdns.PLAIN_TYPE, 6667), (mdns.TLS_TYPE, 6697)]
    assert both[0].txt.encode()["tls"] == "6697"  # the plain record points at the TLS port
    assert "tls" not in both[1].txt.encode()
    only = build_records(settings(), plain_port=None, tls_port=6697, addresses=["10.0.0.5"], hostname="pc1")
    assert [r.service_type for r in only] == [mdns.TLS_TYPE]


def test_password_is_announced_but_the_user_count_is_not() -> None:
    [record] = build_records(
        settings(auth=Auth(password="s3cret")), plain_port=6667, tls_port=None, addresses=["10.0.0.5"], users=4
    )
    txt = record.txt.encode()
    assert txt["password"] == "yes" and "users" not in txt
    assert "s3cret" not in repr(record)
    assert not Advertiser([record]).publishes_users


def test_txt_round_trip_and_garbage_reads_as_unknown() -> None:
    txt = mdns.Txt("irc.office", "Office", "chat-0.1.0", password=True, tls_port=6697, users=0)
    encoded = {k.encode(): v.encode() for k, v in txt.encode().items()}
    assert mdns.parse_txt(encoded) == txt
    odd = mdns.parse_txt({b"USERS": b"-1", b"tls": b"99999", b"password": None, b"\xff": b"\xfe"})
    assert odd == mdns.Txt()


def service(kind: str, name: str, port: int, addresses: tuple[str, ...] = ("10.0.0.5",), **txt: str) -> Service:
    props = {k.encode(): v.encode() for k, v in {"name": "chat.lan", **txt}.items()}
    return Service(kind, f"{name}.{kind}", addresses, port, props)


def test_a_servers_plain_and_tls_records_become_one_entry() -> None:
    found = merge(
        [
            service(mdns.TLS_TYPE, "Office", 6697, version="chat-0.1.0"),
            service(mdns.PLAIN_TYPE, "Office", 6667, ("10.0.0.5", "fd00::5"), tls="6697", users="2"),
            service(mdns.PLAIN_TYPE, "lab", 7000, ("fd00::7", "192.168.7.1")),
            service(mdns.PLAIN_TYPE, "nowhere", 6667, ()),  # no address: nobody could connect
        ]
    )
    assert [f.name for f in found] == ["lab", "Office"]
    lab, office = found
    assert lab.addresses == ("192.168.7.1", "fd00::7") and lab.where() == "192.168.7.1:7000"
    assert (office.port, office.tls_port, office.txt.users) == (6667, 6697, 2)
    assert office.endpoint(False) == ("10.0.0.5", 6667, False)
    assert office.endpoint(True) == ("10.0.0.5", 6697, True)
    assert office.as_json()["address"] == "10.0.0.5:6667" and office.as_json()["tls"] is True


def test_tls_only_server_is_reached_over_tls_and_plain_only_refuses_tls() -> None:
    only = Found("Secure", ("10.0.0.5",), None, 6697)
    assert only.endpoint(False) == ("10.0.0.5", 6697, True) and only.where() == "10.0.0.5:6697"
    plain = Found("Open", ("10.0.0.5",), 6667, None)
    try:
        plain.endpoint(True)
    except ValueError as err:
        assert "does not offer TLS" in str(err)
    else:
        raise AssertionError("TLS was promised by a server without it")
