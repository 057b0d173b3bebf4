"""A private Docker network with chat containers on it: the server and clients on separate hosts.

Every container runs the project image (the server with its default command, clients with
``chat connect`` fed by a shell script on stdin), carries the session label so a leftover can
always be found and removed, and is removed with its anonymous volumes when the lab closes.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import docker
from docker.models.containers import Container
from docker.models.networks import Network

__all__ = ["LABEL", "Lab", "Node", "expected_lines", "paced_input", "wait_for"]

#: Label on everything the integration tests create; its value is the test session's id.
LABEL = "chat.integration-test"
POLL = 0.2

T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], timeout: float, what: Callable[[], str] | str) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds,
    with ``what`` (text, or a function giving it: e.g. the logs at that moment) as the message."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            message = what() if callable(what) else what
            raise AssertionError(f"after {timeout:g} s: {message}")
        time.sleep(POLL)


def paced_input(nick: str, rounds: int, per_round: int) -> str:
    """A shell snippet writing ``<nick> round R message M`` lines for ``chat connect`` to send.

    Round R starts when the file /tmp/go.R appears in the container (the test creates it once
    everyone is ready, so nobody talks to an empty room); lines are paced like typing, and
    /tmp/typed.R appears when the round is typed. After the last round stdin stays open until
    /tmp/stop appears, so the client stays connected.
    """
    return (
        f"r=1; while [ $r -le {rounds} ]; do "
        "while [ ! -e /tmp/go.$r ]; do sleep 0.1; done; "
        f'm=1; while [ $m -le {per_round} ]; do echo "{nick} round $r message $m"; m=$((m+1)); sleep 0.1; done; '
        "touch /tmp/typed.$r; r=$((r+1)); done; "
        "while [ ! -e /tmp/stop ]; do sleep 0.2; done"
    )


def expected_lines(nick: str, rounds: Iterable[int], per_round: int) -> set[str]:
    return {f"{nick} round {r} message {m}" for r in rounds for m in range(1, per_round + 1)}


class Node:
    """One container: its output as text and as the JSON events ``chat connect --json`` prints."""

    def __init__(self, container: Container, role: str) -> None:
        self.container = container
        self.role = role

    @property
    def name(self) -> str:
        return str(self.container.name)

    def stdout(self) -> str:
        """Everything written to stdout, across restarts."""
        return bytes(self.container.logs(stdout=True, stderr=False)).decode(errors="replace")

    def stderr(self) -> str:
        return bytes(self.container.logs(stdout=False, stderr=True)).decode(errors="replace")

    def output(self, tail: int = 40) -> str:
        """The last lines of both streams, for failure messages."""
        lines = bytes(self.container.logs(stdout=True, stderr=True)).decode(errors="replace").splitlines()
        return f"--- {self.role} {self.name} (last {tail} lines) ---\n" + "\n".join(lines[-tail:])

    def events(self) -> list[dict[str, Any]]:
        events = []
        for line in self.stdout().splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(event, dict):
                events.append(event)
        return events

    def received(self) -> set[str]:
        """Texts of chat messages from others that this client printed."""
        return {e["text"] for e in self.events() if e.get("type") == "message" and not e.get("own")}

    def received_from(self, nick: str) -> list[str]:
        """Texts of ``nick``'s chat messages in the order this client printed them, repeats included."""
        return [e["text"] for e in self.events() if e.get("type") == "message" and e.get("sender") == nick]

    def count(self, event_type: str) -> int:
        return sum(1 for e in self.events() if e.get("type") == event_type)

    def members(self, channel: str = "#lobby") -> set[str]:
        """Who this client believes is in ``channel``, from its names, joined and left events."""
        present: set[str] = set()
        for e in self.events():
            kind = e.get("type")
            if kind == "names" and e.get("channel") == channel:
                present = {n.lstrip("@+%~&") for n in e.get("nicks", [])}
            elif kind == "joined" and e.get("channel") == channel:
                present.add(e["nick"])
            elif (kind == "parted" and e.get("channel") == channel) or kind == "quit":
                present.discard(e.get("nick", ""))
        return present

    def wait_until_present(self, nicks: Iterable[str], timeout: float = 30) -> None:
        """Until this client sees all of ``nicks`` in #lobby: then nobody misses what follows."""
        want = set(nicks)
        wait_for(
            lambda: want <= self.members(),
            timeout,
            lambda: f"{self.role} never saw all of {sorted(want)}\n{self.output()}",
        )

    def wait_until_received(self, texts: Iterable[str], timeout: float = 30) -> None:
        want = set(texts)
        wait_for(
            lambda: want <= self.received(),
            timeout,
            lambda: f"{self.role} is missing {sorted(want - self.received())}\n{self.output()}",
        )

    def wait_until_count(self, event_type: str, at_least: int, timeout: float = 30) -> None:
        wait_for(
            lambda: self.count(event_type) >= at_least,
            timeout,
            lambda: f"{self.role} printed fewer than {at_least} {event_type} events\n{self.output()}",
        )

    def wait_until_printed(self, text: str, timeout: float = 30) -> None:
        wait_for(lambda: text in self.stdout(), timeout, lambda: f"{self.role} never printed {text!r}\n{self.output()}")

    def wait_until_file(self, path: str, timeout: float = 30) -> None:
        """Until ``path`` exists in the container, e.g. /tmp/typed.R from :func:`paced_input`."""
        wait_for(
            lambda: self.container.exec_run(["test", "-e", path]).exit_code == 0,
            timeout,
            lambda: f"no {path} in {self.role}\n{self.output()}",
        )

    def touch(self, path: str) -> None:
        result = self.container.exec_run(["touch", path])
        assert result.exit_code == 0, f"touch {path} in {self.name}: {result.output!r}"

    def status(self) -> str:
        self.container.reload()
        return str(self.container.status)

    def wait_exit(self, timeout: float) -> int:
        """The exit code once the container has stopped by itself."""
        wait_for(lambda: self.status() == "exited", timeout, lambda: f"{self.role} still running\n{self.output()}")
        return int(self.container.attrs["State"]["ExitCode"])


class Lab:
    """A private network and the containers on it; ``close`` removes all of it."""

    def __init__(self, client: docker.DockerClient, image: str, session: str) -> None:
        self.client = client
        self.image = image
        self.labels = {LABEL: session}
        self.id = uuid.uuid4().hex[:8]
        self.nodes: list[Node] = []
        self.network: Network = client.networks.create(
            f"chat-test-{self.id}", driver="bridge", labels=self.labels, check_duplicate=True
        )

    def _run(self, role: str, command: list[str] | None, aliases: list[str]) -> Node:
        net = str(self.network.name)
        # The image's health check probes a server; on the other hosts it would only burn CPU.
        health = None if command is None else {"test": ["NONE"]}
        container = self.client.containers.create(
            self.image,
            command,
            name=f"chat-test-{self.id}-{role}",
            hostname=role,
            labels=self.labels,
            network=net,
            networking_config={net: self.client.api.create_endpoint_config(aliases=aliases)},
            environment={"CHAT_LOG_LEVEL": "DEBUG"},
            healthcheck=health,
        )
        node = Node(container, role)
        self.nodes.append(node)  # before start: a container that fails to start is removed too
        container.start()
        return node

    def server(self, alias: str = "server") -> Node:
        """The image's own command (``chat serve`` with the container config), as users run it."""
        node = self._run(alias, None, [alias])
        wait_for(lambda: "listening on" in node.stderr(), 30, lambda: f"server did not start\n{node.output()}")
        return node

    def idle_host(self, alias: str) -> Node:
        """A host on the network where nothing listens."""
        return self._run(alias, ["sleep", "600"], [alias])

    def chat_client(self, nick: str, address: str | None, stdin_script: str, *options: str) -> Node:
        """``chat connect ADDRESS --nick NICK --json`` reading what ``stdin_script`` prints;
        without an address, the client looks for the server on the network (mDNS)."""
        connect = shlex.join(["chat", "connect", *([address] if address else []), "--nick", nick, "--json", *options])
        # Through a FIFO rather than a pipe: `chat connect` is then the container's main process,
        # so the container ends, with chat's exit status, when chat ends, whatever the script does.
        shell = f"mkfifo /tmp/stdin; ( {stdin_script} ) >/tmp/stdin & exec {connect} </tmp/stdin"
        return self._run(nick, ["sh", "-c", shell], [nick])

    def close(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(docker.errors.NotFound):
                node.container.remove(force=True, v=True)
        self.network.remove()
