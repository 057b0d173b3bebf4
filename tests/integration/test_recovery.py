"""The server dies mid-conversation or the network drops: nobody loses a message.

The crash case needs the recovery work of issue 3 (a client that was offline catching up on
what it missed); until that lands it is a non-strict xfail.
"""

from __future__ import annotations

import time

import pytest

from tests.integration.lab import Lab, Node, expected_lines, paced_input
from tests.integration.timings import record_timing

NICKS = ("alice", "bob")
PER_ROUND = 10


def _other(nick: str) -> str:
    return next(n for n in NICKS if n != nick)


def _start(lab: Lab) -> tuple[Node, list[Node]]:
    server = lab.server()
    clients = [lab.chat_client(nick, "server:6667", paced_input(nick, 2, PER_ROUND)) for nick in NICKS]
    for client in clients:
        client.wait_until_present(NICKS)
    return server, clients


def _everything_arrives(clients: list[Node], rounds: list[int], timeout: float) -> None:
    for client in clients:
        client.wait_until_received(
            set().union(*(expected_lines(n, rounds, PER_ROUND) for n in NICKS if n != client.role)), timeout
        )
    # End of input: each client waits for the server to confirm all it said; 0 = nothing lost.
    for client in clients:
        client.touch("/tmp/stop")
    for client in clients:
        assert client.wait_exit(60) == 0, client.output()
        assert "Traceback" not in client.stdout() + client.stderr(), client.output()


@pytest.mark.xfail(reason="needs issue 3 recovery", strict=False)
def test_server_killed_mid_conversation_loses_no_message(lab: Lab) -> None:
    server, clients = _start(lab)
    for client in clients:
        client.touch("/tmp/go.1")
    for client in clients:
        client.wait_until_received(expected_lines(_other(client.role), [1], PER_ROUND))
    connections = {client.role: client.count("connected") for client in clients}

    for client in clients:  # round 2 is typed while the server dies
        client.touch("/tmp/go.2")
    server.container.kill()  # SIGKILL: no goodbye, exactly like a crash
    start = time.monotonic()
    server.container.start()  # `docker kill` counts as a manual stop: no restart policy does this
    for client in clients:
        client.wait_until_count("connected", connections[client.role] + 1, timeout=60)
    record_timing("server killed", "restart to both clients reconnected", time.monotonic() - start)
    _everything_arrives(clients, [1, 2], timeout=30)


def test_network_cut_and_restored_loses_no_message(lab: Lab) -> None:
    server, clients = _start(lab)
    for client in clients:
        client.touch("/tmp/go.1")
    for client in clients:
        client.wait_until_received(expected_lines(_other(client.role), [1], PER_ROUND))

    # The server's cable is pulled: no FIN, no RST, packets just stop arriving.
    lab.network.disconnect(server.container)
    for client in clients:
        client.touch("/tmp/go.2")
    for client in clients:
        client.wait_until_file("/tmp/typed.2")
    for client in clients:  # the cut is real: nothing of round 2 got through
        assert not expected_lines(_other(client.role), [2], PER_ROUND) & client.received(), client.output()
    start = time.monotonic()
    lab.network.connect(server.container, aliases=["server"])
    _everything_arrives(clients, [1, 2], timeout=180)
    record_timing("network cut", "cable back to all messages delivered", time.monotonic() - start)
