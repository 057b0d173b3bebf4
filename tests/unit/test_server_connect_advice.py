"""The start-up line that tells the admin what others type: one consistent form per server."""

from __future__ import annotations

import pytest

from chat.server import addresses
from chat.server.loop import Listening, connect_advice

PLAIN = Listening("0.0.0.0", 7667, tls=False)
SECURE = Listening("0.0.0.0", 7697, tls=True)


@pytest.fixture(autouse=True)
def lan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(addresses, "lan_addresses", lambda: ["192.168.1.20", "10.0.0.5"])


def test_tls_only_says_tls_and_the_tls_port_everywhere() -> None:
    assert connect_advice([SECURE], container=False) == "chat connect --tls 192.168.1.20:7697 (or 10.0.0.5:7697)"
    inside = connect_advice([SECURE], container=True)
    assert inside == (
        "chat connect --tls <the LAN address of the machine running this container>:<the port it publishes "
        "for 7697>; inside the container's network: chat connect --tls 192.168.1.20:7697 (or 10.0.0.5:7697)"
    )


def test_both_ports_show_the_plain_one_and_name_tls_with_its_port() -> None:
    assert connect_advice([PLAIN, SECURE], container=False) == (
        "chat connect 192.168.1.20:7667 (or 10.0.0.5:7667); with TLS: chat connect --tls 192.168.1.20:7697"
    )
    assert connect_advice([PLAIN, SECURE], container=True) == (
        "chat connect <the LAN address of the machine running this container>:<the port it publishes for 7667>; "
        "with TLS: chat connect --tls <that address>:<the port it publishes for 7697>; "
        "inside the container's network: chat connect 192.168.1.20:7667 (or 10.0.0.5:7667); "
        "with TLS: chat connect --tls 192.168.1.20:7697"
    )


def test_plain_only_and_a_fixed_address() -> None:
    assert connect_advice([PLAIN], container=False) == "chat connect 192.168.1.20:7667 (or 10.0.0.5:7667)"
    # Bound to one address, even in a container: that address is the one to type.
    assert connect_advice([Listening("10.0.0.5", 7697, tls=True)], container=True) == "chat connect --tls 10.0.0.5:7697"
