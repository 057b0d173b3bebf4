"""`docker stop` on the server: clients are told why, and are back by themselves once it restarts."""

from __future__ import annotations

import time

from tests.integration.lab import Lab, Node, expected_lines, paced_input, wait_for
from tests.integration.timings import record_timing

NICKS = ("alice", "bob")
PER_ROUND = 3


def _exchange(clients: list[Node], round_no: int) -> None:
    """Start round ``round_no`` of every client's script and wait until each saw the others'."""
    for client in clients:
        client.touch(f"/tmp/go.{round_no}")
    for client in clients:
        client.wait_until_received(
            set().union(*(expected_lines(n, [round_no], PER_ROUND) for n in NICKS if n != client.role))
        )


def test_clients_hear_the_shutdown_and_reconnect_after_restart(lab: Lab) -> None:
    server = lab.server()
    clients = [lab.chat_client(nick, "server:6667", paced_input(nick, 2, PER_ROUND)) for nick in NICKS]
    for client in clients:
        client.wait_until_present(NICKS)
    _exchange(clients, 1)
    connections = {client.role: client.count("connected") for client in clients}

    start = time.monotonic()
    server.container.stop(timeout=10)  # SIGTERM, SIGKILL only after 10 s
    stop_seconds = time.monotonic() - start
    server.container.reload()
    assert server.container.attrs["State"]["ExitCode"] == 0, server.output()
    assert stop_seconds < 5, f"docker stop took {stop_seconds:.1f} s: SIGTERM was not handled\n{server.output()}"
    record_timing("graceful stop", "docker stop of the server", stop_seconds)
    for client in clients:
        client.wait_until_printed("Server shutting down", timeout=10)

    start = time.monotonic()
    server.container.start()
    wait_for(
        lambda: server.stderr().count("listening on") == 2, 30, lambda: f"server did not restart\n{server.output()}"
    )
    for client in clients:  # by themselves: nothing in their input asks for it
        client.wait_until_count("connected", connections[client.role] + 1, timeout=60)
    record_timing("graceful stop", "server start to both clients reconnected", time.monotonic() - start)

    _exchange(clients, 2)
    for node in [server, *clients]:
        assert "Traceback" not in node.stdout() + node.stderr(), node.output()
