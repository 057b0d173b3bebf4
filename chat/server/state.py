"""What the server knows about each connection and each channel: plain data, no I/O.

The write buffer lives here too, as a ``bytearray`` the core appends to and the loop drains:
the core decides *what* to send, the loop decides *when* the socket takes it.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

from chat.protocol import LineReader


@dataclass(eq=False, slots=True)
class Client:
    """One TCP connection, registered or not. Compared and hashed by identity."""

    id: int
    host: str
    reader: LineReader
    connected_at: float
    nick: str = "*"
    user: str = ""
    realname: str = ""
    registered: bool = False
    cap_negotiating: bool = False
    cap_version: int = 0
    caps: set[str] = field(default_factory=set)
    modes: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)  # casefolded channel names
    away: str | None = None
    last_seen: float = 0.0
    last_message: float = 0.0  # for WHOIS idle time
    ping_pending: bool = False
    session_token: str | None = None  # given at registration with the chat/session cap
    claimed_token: str | None = None  # presented with SESSION before NICK, to reclaim a nick
    closing: bool = False
    secure: bool = False  # arrived over the TLS listener (SASL PLAIN and WHOIS need to know)
    account: str | None = None  # logged in (SASL) as this account
    password_ok: bool = False  # sent the right server password (PASS); only asked when one is set
    password_tried: bool = False  # sent PASS at all, right or wrong (a guess is worth a log line)
    sasl_mechanism: str | None = None  # an AUTHENTICATE exchange is under way
    sasl_buffer: bytearray = field(default_factory=bytearray)  # base64 chunks received so far
    auth_failures: int = 0  # wrong passwords (SASL, OPER) on this connection
    oper: str | None = None  # the operator account this client used with OPER (user mode +o)
    out: bytearray = field(default_factory=bytearray)
    # Flood control (see ServerCore.receive): a token bucket, and the lines held back while it is
    # empty ("fake lag"); their byte count is what "Excess Flood" is measured against.
    tokens: float = 0.0
    tokens_at: float = 0.0
    held: deque[bytes] = field(default_factory=deque)
    held_bytes: int = 0
    prefix: str = "*"  # nick!user@host, refreshed on NICK/USER

    @property
    def is_probe(self) -> bool:
        """A health check (``chat status``, capability ``chat/probe``): kept out of the rooms,
        and its coming and going logged at DEBUG, not as news."""
        return "chat/probe" in self.caps

    @property
    def log_level(self) -> int:
        return logging.DEBUG if self.is_probe else logging.INFO

    def refresh_prefix(self) -> None:
        self.prefix = f"{self.nick}!{self.user or '~u'}@{self.host}"


@dataclass(eq=False, slots=True)
class Channel:
    """A room. ``members`` maps each member to its prefix (``"@"`` for operators, else ``""``)."""

    name: str
    created: float
    members: dict[Client, str] = field(default_factory=dict)
    topic: str = ""
    topic_by: str = ""
    topic_time: float = 0.0
    modes: set[str] = field(default_factory=lambda: {"n", "t"})

    def is_operator(self, client: Client) -> bool:
        return self.members.get(client) == "@"
