"""A TCP relay on loopback between a client and the server, which the test can cut.

``freeze()`` is a network cut as a laptop on Wi-Fi sees it: the connection stays open on both
ends, but no byte gets through and nobody is told (no FIN, no RST). ``thaw()`` lets new
connections through again; the frozen ones stay dead, like a TCP connection after the cable
was pulled for longer than the peers were patient.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class Relay:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.host = "127.0.0.1"
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._frozen: set[socket.socket] = set()
        self._stopped = threading.Event()
        self._accepting = True
        self._thread = threading.Thread(target=self._run, name="test-relay", daemon=True)
        self._thread.start()

    def freeze(self) -> None:
        """Stop forwarding on every open connection, and hold new ones without forwarding."""
        with self._lock:
            self._accepting = False
            for client, server in self._pairs:
                self._frozen.update((client, server))

    def thaw(self) -> None:
        """Forward new connections again; frozen ones stay silent."""
        with self._lock:
            self._accepting = True

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        with self._lock:
            for client, server in self._pairs:
                client.close()
                server.close()
        self.listener.close()

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        self.listener.setblocking(False)
        sel.register(self.listener, selectors.EVENT_READ)
        peers: dict[socket.socket, socket.socket] = {}
        while not self._stopped.is_set():
            for key, _ in sel.select(0.05):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self.listener:
                    self._accept(sel, peers)
                    continue
                with self._lock:
                    frozen = sock in self._frozen
                if frozen:
                    sel.unregister(sock)  # never read again: the sender's bytes go nowhere
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                other = peers.get(sock)
                if not data or other is None:
                    self._drop(sel, peers, sock)
                    continue
                with contextlib.suppress(OSError):
                    other.sendall(data)
        sel.close()

    def _accept(self, sel: selectors.BaseSelector, peers: dict[socket.socket, socket.socket]) -> None:
        try:
            client, _ = self.listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()  # nothing behind the relay: like a refused connection
            return
        with self._lock:
            self._pairs.append((client, server))
            if not self._accepting:
                self._frozen.update((client, server))
        peers[client], peers[server] = server, client
        for sock in (client, server):
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ)

    def _drop(
        self, sel: selectors.BaseSelector, peers: dict[socket.socket, socket.socket], sock: socket.socket
    ) -> None:
        other = peers.pop(sock, None)
        for each in (sock, other):
            if each is None:
                continue
            peers.pop(each, None)
            with contextlib.suppress(KeyError, ValueError):
                sel.unregister(each)
            each.close()
