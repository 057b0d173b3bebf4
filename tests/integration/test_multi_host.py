"""Three people on three machines talk through a server on a fourth, over a real network."""

from __future__ import annotations

import time

from tests.integration.lab import Lab, expected_lines, paced_input
from tests.integration.timings import record_timing

NICKS = ("c1", "c2", "c3")
PER_ROUND = 5


def test_every_client_receives_every_other_clients_messages(lab: Lab) -> None:
    start = time.monotonic()
    server = lab.server()
    clients = [lab.chat_client(nick, "server:6667", paced_input(nick, 1, PER_ROUND)) for nick in NICKS]
    for client in clients:
        client.wait_until_present(NICKS)
    record_timing("multi-host", "server + 3 client containers up, all in #lobby", time.monotonic() - start)

    start = time.monotonic()
    for client in clients:
        client.touch("/tmp/go.1")
    for client in clients:
        client.wait_until_received(set().union(*(expected_lines(n, [1], PER_ROUND) for n in NICKS if n != client.role)))
    record_timing("multi-host", f"{len(NICKS) * PER_ROUND} messages seen by all others", time.monotonic() - start)

    # At the end of its input a client waits until the server confirmed everything it said;
    # exit status 0 means nothing was lost or refused.
    for client in clients:
        client.touch("/tmp/stop")
    for client in clients:
        assert client.wait_exit(30) == 0, client.output()
    for node in [server, *clients]:
        assert "Traceback" not in node.stdout() + node.stderr(), node.output()
