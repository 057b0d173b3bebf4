"""Real client connections a test opens, every one closed when the test ends."""

from __future__ import annotations

from types import TracebackType

from chat.client.connection import Connection
from tests.helpers.watcher import Watcher


class Clients:
    """Opens :class:`Connection` s to one server with shared defaults (a short backoff, so a
    reconnect happens within a test's deadlines); a fixture yields :meth:`open` inside ``with``."""

    def __init__(self, host: str, port: int, **defaults: object) -> None:
        self.host = host
        self.port = port
        self.defaults: dict[str, object] = {"backoff_cap": 1.0, **defaults}
        self.made: list[Connection] = []

    def open(
        self, nick: str, *, host: str | None = None, port: int | None = None, **options: object
    ) -> tuple[Connection, Watcher]:
        conn = Connection(host or self.host, port or self.port, nick, **{**self.defaults, **options})  # type: ignore[arg-type]
        self.made.append(conn)
        conn.start()
        return conn, Watcher(conn)

    def __enter__(self) -> Clients:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for conn in self.made:
            conn.close()
