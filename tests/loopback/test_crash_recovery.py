"""The core promise, end to end: three ``chat connect`` clients keep talking while the server is
SIGKILLed and restarted on the same data dir, again and again. Every client ends up with every
other client's messages exactly once and in each sender's order, and saw its own acknowledged."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.helpers.server_process import ServerProcess

PER_CLIENT = 40
KILLS = 3
DEADLINE = 90.0


class ChatProcess:
    """``chat connect --json`` as a subprocess: lines in, JSON events out, collected by a thread."""

    def __init__(self, port: int, nick: str) -> None:
        self.nick = nick
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chat", "connect", f"127.0.0.1:{port}", "--nick", nick, "--json"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.events: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            event = json.loads(line)
            with self.changed:
                self.events.append(event)
                self.changed.notify_all()

    def say(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def wait_until(self, predicate: Callable[[list[dict[str, Any]]], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        with self.changed:
            while not predicate(self.events):
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    tail = "\n".join(json.dumps(e) for e in self.events[-15:])
                    raise AssertionError(f"{self.nick}: {what} did not happen; last events:\n{tail}")
                self.changed.wait(min(left, 1.0))

    def count(self, kind: str) -> int:
        with self.changed:
            return sum(1 for e in self.events if e["type"] == kind)

    def received(self, sender: str) -> list[int]:
        """The sequence numbers of ``sender``'s messages in the order this client showed them."""
        with self.changed:
            return [
                int(e["text"].split()[1])
                for e in self.events
                if e["type"] == "message" and e["sender"] == sender and not e["own"]
            ]


@pytest.fixture
def clients(server: ServerProcess) -> Iterator[list[ChatProcess]]:
    procs = [ChatProcess(server.port, nick) for nick in ("ann", "ben", "cat")]
    yield procs
    for proc in procs:
        if proc.proc.poll() is None:
            proc.proc.kill()
        proc.proc.wait(10)


def test_repeated_sigkill_loses_and_duplicates_nothing(server: ServerProcess, clients: list[ChatProcess]) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"crash test seed {seed}")
    for client in clients:
        client.wait_until(lambda evs: any(e["type"] == "names" for e in evs), "joining #lobby")
    kill_after = sorted(rng.sample(range(3, PER_CLIENT - 3), KILLS))
    for n in range(1, PER_CLIENT + 1):
        for client in clients:
            client.say(f"{client.nick} {n}")
        if kill_after and n == kill_after[0]:
            kill_after.pop(0)
            # Let the server get somewhere first: at a random point of what is in flight.
            watcher = rng.choice(clients)
            other = rng.choice([c for c in clients if c is not watcher])
            progress = rng.randint(1, n)
            watcher.wait_until(lambda evs, w=watcher, o=other, p=progress: p in w.received(o.nick), "progress")
            before = [client.count("disconnected") for client in clients]
            server.kill()
            for client, earlier in zip(clients, before, strict=True):
                lost = earlier + 1
                client.wait_until(lambda evs, c=client, k=lost: c.count("disconnected") >= k, "noticing the crash")
            server.start()
    for client in clients:
        others = [c.nick for c in clients if c is not client]
        client.wait_until(
            lambda evs, c=client, o=others: all(len(c.received(nick)) >= PER_CLIENT for nick in o),
            "receiving everything",
        )
        client.wait_until(lambda evs, c=client: c.count("acknowledged") >= PER_CLIENT, "all own acknowledged")
    for client in clients:
        assert client.proc.stdin is not None
        client.proc.stdin.close()
        assert client.proc.wait(30) == 0, client.proc.stderr.read() if client.proc.stderr else ""
    for client in clients:
        for other in clients:
            if other is not client:
                assert client.received(other.nick) == list(range(1, PER_CLIENT + 1)), (client.nick, other.nick, seed)
        assert client.count("acknowledged") == PER_CLIENT
        assert client.count("disconnected") >= KILLS
        # A kill may land before an earlier catch-up finished; the last reconnect must finish one.
        kinds = [e["type"] for e in client.events]
        last_connect = len(kinds) - 1 - kinds[::-1].index("connected")
        assert "caught_up" in kinds[last_connect:]
