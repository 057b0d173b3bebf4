"""Clients that were never told the server's address: they find it by its mDNS announcement on
the Docker network (multicast works on a user-defined bridge between containers), and find it
again after it restarted with another IP address, as after a DHCP change or a moved container."""

from __future__ import annotations

import json
import time

from tests.integration.lab import Lab, Node, expected_lines, paced_input, wait_for
from tests.integration.timings import record_timing

NICKS = ("alice", "bob")
PER_ROUND = 3


def ip_address(node: Node, lab: Lab) -> str:
    node.container.reload()
    return str(node.container.attrs["NetworkSettings"]["Networks"][str(lab.network.name)]["IPAddress"])


def discover(node: Node, expect: int = 0) -> list[dict[str, object]]:
    """What ``chat discover --json`` prints in that container; its exit status must be ``expect``."""
    result = node.container.exec_run(["chat", "discover", "--json", "--timeout", "3"], demux=True)
    out, err = (bytes(part or b"").decode(errors="replace") for part in result.output)
    assert result.exit_code == expect, f"exit {result.exit_code}\n{out}\n{err}"
    return list(json.loads(out))


def _exchange(clients: list[Node], round_no: int) -> None:
    for client in clients:
        client.touch(f"/tmp/go.{round_no}")
    for client in clients:
        client.wait_until_received(
            set().union(*(expected_lines(n, [round_no], PER_ROUND) for n in NICKS if n != client.role)), timeout=60
        )


def test_clients_find_the_server_and_find_it_again_at_its_new_address(lab: Lab) -> None:
    server = lab.server()
    wait_for(lambda: "announced on the LAN" in server.stderr(), 30, lambda: f"no announcement\n{server.output()}")
    first_ip = ip_address(server, lab)
    looker = lab.idle_host("looker")

    start = time.monotonic()
    [found] = discover(looker)
    record_timing("discovery", "chat discover in another container", time.monotonic() - start)
    assert found["address"] == f"{first_ip}:6667", found
    assert (found["name"], found["tls"], found["password"], found["server"]) == ("server", False, False, "chat.lan")

    clients = [lab.chat_client(nick, None, paced_input(nick, 2, PER_ROUND)) for nick in NICKS]
    for client in clients:
        client.wait_until_present(NICKS)
        assert f"found one chat server on the LAN: server at {first_ip}:6667" in client.stderr(), client.output()
    _exchange(clients, 1)
    connections = {client.role: client.count("connected") for client in clients}

    server.container.stop(timeout=10)
    assert "LAN announcement withdrawn" in server.stderr(), server.output()
    assert discover(looker, expect=1) == []  # the goodbye packets withdrew the record at once
    squatter = lab.idle_host("squatter")  # takes the free address, so the server comes back on another
    start = time.monotonic()
    server.container.start()
    wait_for(lambda: server.stderr().count("announced on the LAN") == 2, 30, lambda: server.output())
    second_ip = ip_address(server, lab)
    assert second_ip != first_ip, f"the server kept {first_ip} (the squatter has {ip_address(squatter, lab)})"

    for client in clients:
        client.wait_until_count("connected", connections[client.role] + 1, timeout=90)
        client.wait_until_printed(f"the server is now at {second_ip}:6667", timeout=5)
    record_timing("discovery", "server back on a new address to both clients reconnected", time.monotonic() - start)
    _exchange(clients, 2)
    assert [s["address"] for s in discover(looker)] == [f"{second_ip}:6667"]
    for node in [server, *clients]:
        assert "Traceback" not in node.stdout() + node.stderr(), node.output()
