"""``chat connect`` driven by a script through stdin, and ``chat status``, as real processes
against a real server."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pty
import queue
import select
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chat.client import events as ev
from chat.client.connection import Connection
from tests.helpers.server_process import ServerProcess

DEADLINE = 20.0


def chat(*args: str, stdin: str = "", timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chat", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def listener(server: ServerProcess) -> Iterator[Connection]:
    """Bob, already in #lobby, to check what the script really delivered."""
    bob = Connection(server.host, server.port, "bob").start()
    wait_for(bob, lambda e: isinstance(e, ev.Names) and e.channel == "#lobby")
    yield bob
    bob.close()


def wait_for(conn: Connection, predicate: object, timeout: float = DEADLINE) -> ev.Event:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = conn.events.get(timeout=left)
        except queue.Empty:
            break
        if predicate(event):
            return event
    raise AssertionError("expected event did not arrive")


def received_texts(conn: Connection, count: int) -> list[str]:
    texts: list[str] = []
    while len(texts) < count:
        event = wait_for(conn, lambda e: isinstance(e, ev.Message))
        assert isinstance(event, ev.Message)
        texts.append(event.text)
    return texts


def test_json_script_delivers_every_line_and_exits_zero(server: ServerProcess, listener: Connection) -> None:
    script = "first line\n\n/me is a script\n/msg bob private hello\nlast line\n"
    result = chat("connect", f"127.0.0.1:{server.port}", "--nick", "scripty", "--json", stdin=script)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr

    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert all("type" in e for e in events)
    own = [e for e in events if e["type"] == "message" and e["own"]]
    assert [e["text"] for e in own] == ["first line", "is a script", "private hello", "last line"]
    assert all(e["msgid"] for e in own)
    acks = {e["cid"] for e in events if e["type"] == "acknowledged"}
    assert acks == {e["cid"] for e in own}

    assert received_texts(listener, 4) == ["first line", "is a script", "private hello", "last line"]


def test_plain_script_prints_one_event_per_line(server: ServerProcess, listener: Connection) -> None:
    result = chat("connect", f"127.0.0.1:{server.port}", "--nick", "plain", stdin="hi from plain\n/nosuch\n")
    assert result.returncode == 0, result.stderr
    assert "[#lobby] <plain> hi from plain" in result.stdout
    assert "unknown command /nosuch — type /help" in result.stderr
    assert received_texts(listener, 1) == ["hi from plain"]


def test_script_joins_requested_channel_and_talks_there(server: ServerProcess, listener: Connection) -> None:
    listener.join("#dev")
    wait_for(listener, lambda e: isinstance(e, ev.Names) and e.channel == "#dev")
    result = chat("connect", f"127.0.0.1:{server.port}", "--nick", "dev1", "--channel", "dev", stdin="in dev\n")
    assert result.returncode == 0, result.stderr
    got = wait_for(listener, lambda e: isinstance(e, ev.Message))
    assert isinstance(got, ev.Message) and (got.target, got.text) == ("#dev", "in dev")


def test_script_sending_to_a_missing_nick_fails_in_words(server: ServerProcess) -> None:
    result = chat("connect", f"127.0.0.1:{server.port}", "--nick", "x", stdin="/msg ghost boo\n")
    assert result.returncode == 1
    assert "no such nick or channel: ghost" in result.stdout
    assert "refused by the server" in result.stderr
    assert "Traceback" not in result.stderr


def test_closed_port_without_retry_fails_in_plain_words() -> None:
    port = free_port()
    result = chat("connect", f"127.0.0.1:{port}", "--nick", "x", "--no-retry")
    assert result.returncode != 0
    assert f"cannot reach 127.0.0.1:{port}: connection refused — is the server running?" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_bad_address_is_a_usage_error() -> None:
    result = chat("connect", "abc:xyz", "--nick", "x")
    assert result.returncode == 2
    assert 'bad port "xyz" in "abc:xyz": expected a number 1–65535' in result.stderr
    assert "Traceback" not in result.stderr


def test_status_reports_a_healthy_server(server: ServerProcess, listener: Connection) -> None:
    result = chat("status", f"127.0.0.1:{server.port}")
    assert result.returncode == 0, result.stderr
    assert f"is up at 127.0.0.1:{server.port}" in result.stdout
    assert "version:      chat-" in result.stdout
    assert "users online: 1" in result.stdout  # bob; the check does not count itself
    assert "round trip:" in result.stdout and " ms" in result.stdout
    # The check stays out of the rooms: people in #lobby do not see health checks come and go.
    bob_said = listener.say("#lobby", "after the check")[0]
    seen = []
    while not any(isinstance(e, ev.Acknowledged) and e.cid == bob_said for e in seen):
        seen.append(listener.events.get(timeout=DEADLINE))
    assert not [e for e in seen if isinstance(e, ev.Joined | ev.Parted | ev.Quit)]


def test_status_of_a_down_server_fails_in_plain_words() -> None:
    port = free_port()
    result = chat("status", f"127.0.0.1:{port}", "--timeout", "2")
    assert result.returncode == 1
    assert "connection refused — is the server running?" in result.stderr
    assert "Traceback" not in result.stderr


class Pty:
    """``chat connect`` on a pseudo-terminal, as a person runs it."""

    def __init__(self, *args: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: become the chat client
            os.execv(sys.executable, [sys.executable, "-m", "chat", *args])
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24x100
        self.output = b""

    def read_until(self, pattern: bytes, timeout: float = DEADLINE, start: int = 0) -> int:
        """Wait until ``pattern`` appears after offset ``start``; return the offset after it."""
        deadline = time.monotonic() + timeout
        while (found := self.output.find(pattern, start)) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} never appeared; got {self.output[-2000:]!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.receive(os.read(self.fd, 65536))
                except OSError:  # the child closed the terminal
                    raise AssertionError(f"{pattern!r} never appeared; got {self.output[-2000:]!r}") from None
        return found + len(pattern)

    def receive(self, data: bytes) -> None:
        """Keep the output, answering cursor-position requests as a terminal does (prompt_toolkit
        shows the toolbar only once it knows where the cursor is)."""
        self.output += data
        for _ in range(data.count(b"\x1b[6n")):
            os.write(self.fd, b"\x1b[1;1R")

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait_exit(self, timeout: float = DEADLINE) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.drain()
                return os.waitstatus_to_exitcode(status)
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    self.receive(os.read(self.fd, 65536))
        raise AssertionError(f"chat did not exit; screen: {self.output[-2000:]!r}")

    def drain(self) -> None:
        """Read what the child wrote before it exited (the terminal keeps it until read)."""
        while select.select([self.fd], [], [], 0)[0]:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the child side is closed and everything was read
                return
            if not data:
                return
            self.output += data

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def test_interactive_session_shows_state_sends_and_exits_on_ctrl_d(server: ServerProcess, listener: Connection) -> None:
    term = Pty("connect", f"127.0.0.1:{server.port}", "--nick", "tty")
    try:
        term.read_until(b"as tty in #lobby")  # the toolbar
        term.type("hello from a terminal\r")
        assert received_texts(listener, 1) == ["hello from a terminal"]
        shown = term.read_until(b"<tty>")
        term.type("/help\r")
        after_help = term.read_until(b"Commands:", start=shown)
        term.read_until(b"#lobby>", start=after_help)  # prompt redrawn: the terminal is in raw mode
        term.type("\x04")  # Ctrl-D
        assert term.wait_exit() == 0
    finally:
        term.kill()
    assert b"Traceback" not in term.output
    gone = wait_for(listener, lambda e: isinstance(e, ev.Quit) and e.nick == "tty")
    assert isinstance(gone, ev.Quit)


def test_interactive_without_retry_ends_when_the_server_stops(server: ServerProcess) -> None:
    term = Pty("connect", f"127.0.0.1:{server.port}", "--nick", "tty", "--no-retry")
    try:
        term.read_until(b"as tty in #lobby")
        server.terminate()
        assert term.wait_exit() == 1
    finally:
        term.kill()
    assert b"closed the connection: Server shutting down" in term.output
    assert b"Traceback" not in term.output


def test_interactive_shows_formatting_as_styles_and_rings_for_a_mention(
    server: ServerProcess, listener: Connection
) -> None:
    term = Pty("connect", f"127.0.0.1:{server.port}", "--nick", "tty")
    try:
        start = term.read_until(b"as tty in #lobby")
        listener.say("#lobby", "\x02bold\x02 \x0304red\x03 سلام")
        # The screen may be redrawn between the pieces of a line (the prompt), so each is looked for alone.
        shown = term.read_until(b"\x1b[1mbold\x1b[0m", start=start)
        shown = term.read_until(b"\x1b[91mred\x1b[0m", start=shown)
        shown = term.read_until("سلام".encode(), start=shown)
        listener.say("#lobby", "TTY: are you there?")
        listener.say("#lobby", "tty, hello again")
        after = term.read_until(b"hello again", start=shown)
        term.read_until(b"#lobby>", start=after)  # prompt redrawn: the terminal is in raw mode
        term.type("\x04")  # Ctrl-D
        assert term.wait_exit() == 0
    finally:
        term.kill()
    assert b"\x02" not in term.output and b"\x0304" not in term.output
    assert term.output[shown:].count(b"\x07") == 1  # one bell for the burst of two mentions
    assert b"\x1b[1;30;43m<bob>" in term.output[shown:]


def test_out_of_every_room_the_prompt_says_so(server: ServerProcess, listener: Connection) -> None:
    """Leaving (or being kicked from) the last room: the prompt shows no nick as if text went
    somewhere, and a line says how to get back."""
    term = Pty("connect", f"127.0.0.1:{server.port}", "--nick", "tty")
    try:
        start = term.read_until(b"as tty in #lobby")
        term.read_until(b"#lobby>", start=start)
        term.type("/part #lobby\r")
        left = term.read_until(b"you are in no room now: /join #lobby to go back", start=start)
        term.read_until(b"(no room)>", start=left)
        term.type("\x04")  # Ctrl-D
        assert term.wait_exit() == 0
    finally:
        term.kill()
    assert b"tty>" not in term.output
    assert b"Traceback" not in term.output


def test_a_refusal_is_printed_once(tmp_path: Path) -> None:
    """The server wants a password and none was given: the reason once, then the question."""
    config = tmp_path / "chat.yaml"
    config.write_text("auth:\n  password: lan-party-2026\n", encoding="utf-8")
    server = ServerProcess(tmp_path / "data", extra_args=("--config", str(config))).start()
    term = Pty("connect", f"127.0.0.1:{server.port}", "--nick", "tty")
    try:
        term.read_until(b"(Enter to give up):")
        term.type("\r")  # give up
        assert term.wait_exit() == 1
    finally:
        term.kill()
        server.stop()
    assert term.output.count(b"this server needs a password") == 1
    assert b"Traceback" not in term.output
