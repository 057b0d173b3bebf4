"""The server dies mid-conversation or the network drops: nobody loses a message, nobody sees
one twice, and each sender's messages arrive in the order they were typed."""

from __future__ import annotations

import time

from tests.integration.lab import Lab, Node, expected_lines, paced_input
from tests.integration.timings import record_timing

NICKS = ("alice", "bob", "carol")
PER_ROUND = 10
KILLS = 3
#: A client's keep-alive: short, so the network-cut test does not wait a minute.
PING_TIMEOUT = "6"


def _start(lab: Lab, rounds: int) -> tuple[Node, list[Node]]:
    server = lab.server()
    clients = [
        lab.chat_client(nick, "server:6667", paced_input(nick, rounds, PER_ROUND), "--ping-timeout", PING_TIMEOUT)
        for nick in NICKS
    ]
    for client in clients:
        client.wait_until_present(NICKS)
    return server, clients


def _in_order(number_of_rounds: int, nick: str) -> list[str]:
    return sorted(expected_lines(nick, range(1, number_of_rounds + 1), PER_ROUND), key=_key)


def _key(text: str) -> tuple[int, int]:
    words = text.split()
    return int(words[2]), int(words[4])


def _everything_arrives_once_in_order(clients: list[Node], rounds: int, timeout: float) -> None:
    for client in clients:
        others = [n for n in NICKS if n != client.role]
        client.wait_until_received(
            set().union(*(expected_lines(n, range(1, rounds + 1), PER_ROUND) for n in others)), timeout
        )
    # End of input: each client waits for the server to confirm all it said; 0 = nothing lost.
    for client in clients:
        client.touch("/tmp/stop")
    for client in clients:
        assert client.wait_exit(60) == 0, client.output()
        assert "Traceback" not in client.stdout() + client.stderr(), client.output()
    for client in clients:
        for nick in NICKS:
            if nick != client.role:
                assert client.received_from(nick) == _in_order(rounds, nick), f"{client.role} from {nick}"
        assert client.count("acknowledged") == rounds * PER_ROUND, client.output()


def test_server_killed_mid_conversation_loses_no_message(lab: Lab) -> None:
    server, clients = _start(lab, rounds=KILLS + 1)
    for client in clients:
        client.touch("/tmp/go.1")
    for client in clients:
        client.wait_until_received(set().union(*(expected_lines(n, [1], PER_ROUND) for n in NICKS if n != client.role)))

    for kill in range(1, KILLS + 1):
        before = {c.role: (c.count("disconnected"), c.count("reconnecting"), c.count("caught_up")) for c in clients}
        for client in clients:  # the next round is typed while the server dies
            client.touch(f"/tmp/go.{kill + 1}")
        clients[0].wait_until_received({f"{NICKS[1]} round {kill + 1} message 3"})
        server.container.kill()  # SIGKILL: no goodbye, exactly like a crash
        for client in clients:
            lost, retries, _ = before[client.role]
            client.wait_until_count("disconnected", lost + 1)
            # Down for a while: every client has backed off and retried several times.
            client.wait_until_count("reconnecting", retries + 3, timeout=60)
        start = time.monotonic()
        server.container.start()  # `docker kill` counts as a manual stop: no restart policy does this
        for client in clients:
            client.wait_until_count("caught_up", before[client.role][2] + 1, timeout=90)
        record_timing("server killed", f"kill {kill}: restart to all clients caught up", time.monotonic() - start)
    _everything_arrives_once_in_order(clients, KILLS + 1, timeout=60)


def test_client_cut_off_the_network_detects_it_and_catches_up(lab: Lab) -> None:
    _, clients = _start(lab, rounds=2)
    for client in clients:
        client.touch("/tmp/go.1")
    for client in clients:
        client.wait_until_received(set().union(*(expected_lines(n, [1], PER_ROUND) for n in NICKS if n != client.role)))

    # carol's cable is pulled: no FIN, no RST, packets just stop arriving.
    carol = next(c for c in clients if c.role == "carol")
    lab.network.disconnect(carol.container)
    cut = time.monotonic()
    for client in clients:
        client.touch("/tmp/go.2")
    carol.wait_until_count("disconnected", 1, timeout=60)  # her keep-alive noticed the silence
    record_timing("network cut", "cable pulled to client noticing", time.monotonic() - cut)
    for client in clients:
        if client is not carol:
            client.wait_until_file("/tmp/typed.2")
    assert not expected_lines("alice", [2], PER_ROUND) & carol.received(), carol.output()
    start = time.monotonic()
    lab.network.connect(carol.container, aliases=["carol"])
    carol.wait_until_count("caught_up", 1, timeout=90)
    record_timing("network cut", "cable back to client caught up", time.monotonic() - start)
    caught = [e for e in carol.events() if e.get("type") == "caught_up"][-1]
    assert caught["count"] >= PER_ROUND, carol.output()  # at least bob's or alice's round 2
    # The server still held her silent connection: her session token got her own nick back.
    assert [e["nick"] for e in carol.events() if e.get("type") == "connected"] == ["carol", "carol"]
    _everything_arrives_once_in_order(clients, 2, timeout=60)
