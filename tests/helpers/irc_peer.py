"""A bare IRC peer over a real socket, for asserting exactly what the server puts on the wire."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable

from chat.protocol import LineReader, LineTooLong, Message, parse


class Peer:
    def __init__(
        self, host: str, port: int, timeout: float = 10.0, *, tls: bool = False, source: str | None = None
    ) -> None:
        """``source``: the local address to connect from (another 127.x.y.z plays another machine)."""
        bind = (source, 0) if source else None
        self.sock = socket.create_connection((host, port), timeout=timeout, source_address=bind)
        if tls:  # no certificate check: the tests about pinning use the real client
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            self.sock = context.wrap_socket(self.sock)
        self.reader = LineReader(max_body=1 << 20)
        self.received: list[Message] = []
        self.closed = False
        self._seen = 0

    def send(self, *lines: str) -> None:
        self.sock.sendall("".join(line + "\r\n" for line in lines).encode())

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def register(self, nick: str, caps: str = "") -> Peer:
        if caps:
            self.send("CAP LS 302", f"NICK {nick}", "USER u 0 * :Test User", f"CAP REQ :{caps}", "CAP END")
        else:
            self.send(f"NICK {nick}", "USER u 0 * :Test User")
        self.expect(lambda m: m.command == "366")  # auto-joined the default room
        return self

    def _pump(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or self.closed:
            return False
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return False
        for line in self.reader.feed(data):
            assert not isinstance(line, LineTooLong)
            self.received.append(parse(line.decode()))
        return True

    def expect(self, predicate: Callable[[Message], bool], timeout: float = 10.0) -> Message:
        """The next not-yet-consumed message matching ``predicate``, waiting up to ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            for index in range(self._seen, len(self.received)):
                msg = self.received[index]
                if predicate(msg):
                    self._seen = index + 1
                    return msg
            if not self._pump(deadline):
                why = "connection closed" if self.closed else "timed out"
                raise AssertionError(f"{why} waiting; got {[str(m) for m in self.received]}")

    def expect_command(self, command: str, timeout: float = 10.0) -> Message:
        return self.expect(lambda m: m.command == command, timeout)

    def wait_closed(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.closed:
            if not self._pump(deadline) and not self.closed:
                raise AssertionError("server did not close the connection")

    def close(self) -> None:
        self.sock.close()
