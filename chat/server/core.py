"""The server's brain, without sockets: users, channels, command dispatch and output buffers.

The loop feeds it bytes per connection and drains ``client.out`` for every client in
``dirty``; everything else (who is where, what each command answers) happens here, so the whole
behaviour is testable with plain data. Time comes from an injected clock for the same reason.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from chat import __version__
from chat.config import Settings
from chat.protocol import (
    MAX_CLIENT_TAGS,
    LineReader,
    LineTooLong,
    Message,
    ParseError,
    casefold,
    clean_text,
    clip_utf8,
    parse,
)
from chat.protocol import numerics as rpl
from chat.protocol.message import escape_tag_value, middle_param
from chat.server.accounts import AccountStore
from chat.server.addresses import address_group
from chat.server.budget import FailureBudget
from chat.server.history import HistoryStore, MemoryHistory, SqliteHistory
from chat.server.registry import COMMANDS
from chat.server.state import Channel, Client

log = logging.getLogger(__name__)

#: Capabilities this server implements (CAP LS). ``chat/session`` is ours: it hands a client a
#: token that lets its next connection take its nick back from a half-dead old one.
#: ``chat/probe`` (ours too) marks a health check, which is not put into the default rooms, so
#: nobody sees a container's health check join and leave every half minute.
SUPPORTED_CAPS = (
    "batch",
    "chat/probe",
    "chat/session",
    "draft/chathistory",
    "echo-message",
    "labeled-response",
    "message-tags",
    "sasl",
    "server-time",
)
#: How often (in ticks, about seconds) old history is pruned.
PRUNE_EVERY = 300
#: Flood-control cost of a line, in tokens, for the commands that must not be slowed down like
#: chat lines: keep-alives, and the history requests a client makes after a reconnect (one at a
#: time, so a fetch of many conversations goes through without being held back).
CHEAP_COMMANDS = {b"PING": 0.1, b"PONG": 0.1, b"CHATHISTORY": 0.1}
#: Commands whose first parameter is a comma-separated list of targets, each costing a line.
PER_TARGET_COMMANDS = frozenset({b"JOIN", b"PART", b"PRIVMSG", b"NOTICE", b"TAGMSG", b"NAMES", b"WHOIS"})


#: Bytes of a QUIT, KICK or KILL reason kept: the line stays within 512 with any prefix.
REASON_LENGTH = 300


def safe_reason(text: str) -> str:
    """A reason as a user typed it, made safe to show: no control characters, not too long."""
    return clip_utf8(clean_text(text), REASON_LENGTH)


def format_server_time(ts: float) -> str:
    """IRCv3 server-time: ISO 8601 UTC with milliseconds."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ts * 1000) % 1000:03d}Z"


class ServerCore:
    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        history: HistoryStore | None = None,
        accounts: AccountStore | None = None,
    ) -> None:
        self.settings = settings
        self.limits = settings.limits
        self.name = settings.server_name
        self.clock = clock
        self.created = clock()
        self.version = f"chat-{__version__}"
        self.clients: dict[int, Client] = {}
        self.nicks: dict[str, Client] = {}  # casefolded nick -> registered holder
        self.channels: dict[str, Channel] = {}  # casefolded name -> channel
        self.dirty: set[Client] = set()
        self.held: set[Client] = set()  # clients with input held back by flood control
        self.overflowed: list[Client] = []  # past their sendq, to be dropped after this command
        self.per_host: dict[str, int] = {}  # connections per address (IPv6: per /64), for max_clients_per_ip
        self.max_seen_clients = 0
        self.history: HistoryStore = history if history is not None else MemoryHistory()
        self.accounts = accounts if accounts is not None else AccountStore.in_memory()
        self.login_budget = FailureBudget(clock)  # failed password checks per address (auth.py)
        self._msgid_prefix = os.urandom(6).hex()
        self._msgid_counter = 0
        self._batch_counter = 0
        self._ticks = 0

    # ----------------------------------------------------------------- connection lifecycle

    def admission(self, host: str) -> str | None:
        """Why a new connection from ``host`` must be refused, or None to let it in. Asked by
        the loop before :meth:`connect`, so a refused socket never becomes a client."""
        if len(self.clients) >= self.limits.max_clients:
            return "Server is full, try again later"
        if self.per_host.get(address_group(host), 0) >= self.limits.max_clients_per_ip:
            return f"Too many connections from your address ({self.limits.max_clients_per_ip})"
        return None

    def connect(self, conn_id: int, host: str, *, secure: bool = False) -> Client:
        now = self.clock()
        client = Client(
            id=conn_id,
            host=host,
            secure=secure,
            reader=LineReader(self.limits.max_line, MAX_CLIENT_TAGS),
            connected_at=now,
            last_seen=now,
            last_message=now,
            tokens=float(self.limits.flood_burst),
            tokens_at=now,
        )
        client.refresh_prefix()
        self.clients[conn_id] = client
        group = address_group(host)
        self.per_host[group] = self.per_host.get(group, 0) + 1
        self.max_seen_clients = max(self.max_seen_clients, len(self.clients))
        log.debug("connection %d from %s", conn_id, host)
        return client

    def receive(self, client: Client, data: bytes) -> None:
        """Bytes arrived from ``client``: split, parse and handle every complete line.

        Flood control: each line costs a token from the client's bucket (``flood_burst`` deep,
        refilled at ``flood_rate`` per second). Without a token the line is held and handled
        later, in order (:meth:`release_held`) — a paste or a burst is slowed down, not lost.
        Only a client that keeps pushing while held back, past ``recvq`` bytes, is dropped.
        """
        if client.closing:
            return
        now = self.clock()
        client.last_seen = now
        client.ping_pending = False
        for item in client.reader.feed(data):
            if client.closing:
                return
            if isinstance(item, LineTooLong):
                self.reply(client, rpl.ERR_INPUTTOOLONG, "Input line was too long")
                continue
            if client.held or not self._ready(client, item, now):
                client.held.append(item)
                client.held_bytes += len(item) + 2
                self.held.add(client)
                continue
            self._handle_line(client, item)
        self._drop_overflowed()
        if client.held_bytes > self.limits.recvq and not client.closing:
            log.warning("%s (%s): Excess Flood, dropping", client.nick, client.host)
            client.held.clear()
            client.held_bytes = 0
            self.held.discard(client)
            self.disconnect(client, "Excess Flood")

    def _ready(self, client: Client, line: bytes, now: float) -> bool:
        """Whether ``line`` may be handled now. Not while the client is far behind in reading
        what it was sent (half its sendq): a client that asks for more than it reads is slowed
        down instead of being given work whose answers would only be thrown away."""
        if len(client.out) > self.limits.sendq // 2 or (self.overflowed and client in self.overflowed):
            return False
        return self._take_token(client, line, now)

    def _take_token(self, client: Client, line: bytes, now: float) -> bool:
        limits = self.limits
        burst = float(limits.flood_burst)
        tokens = client.tokens + max(0.0, now - client.tokens_at) * limits.flood_rate
        client.tokens = min(tokens, burst)
        client.tokens_at = now
        cost = _price(line)
        if client.tokens < min(cost, burst):  # a line dearer than the burst waits for a full bucket
            return False
        client.tokens -= cost
        return True

    def charge(self, client: Client, tokens: float) -> None:
        """Take more tokens for work found out while handling a line (rows a history request
        returned). The bucket may go below zero: the client's next lines wait until it refills."""
        client.tokens -= tokens

    def release_held(self) -> None:
        """Handle the held-back lines whose tokens have come in; the loop calls this every
        iteration while :attr:`held` is not empty."""
        now = self.clock()
        for client in list(self.held):
            held = client.held
            while held and not client.closing and self._ready(client, held[0], now):
                line = held.popleft()
                client.held_bytes -= len(line) + 2
                self._handle_line(client, line)
            if not held or client.closing:
                held.clear()
                client.held_bytes = 0
                self.held.discard(client)
        self._drop_overflowed()

    def next_release(self) -> float | None:
        """Seconds until some held line can go (None: nothing is held), for the loop's timeout."""
        if not self.held:
            return None
        limits = self.limits
        now, rate, burst, backlog = self.clock(), limits.flood_rate, float(limits.flood_burst), limits.sendq // 2
        waits = [
            (min(_price(c.held[0]), burst) - c.tokens) / rate - max(0.0, now - c.tokens_at)
            for c in self.held
            if c.held and len(c.out) <= backlog  # the others wait for their socket to drain
        ]
        return max(0.0, min(waits)) if waits else None

    def connection_lost(self, client: Client, reason: str) -> None:
        """The socket is gone (EOF, reset): tell the rooms, forget the client."""
        if client.id in self.clients:
            self._remove(client, reason)
        self.dirty.discard(client)
        self.held.discard(client)
        self._drop_overflowed()

    def commit(self) -> None:
        """Make this iteration's messages durable. The loop calls it before flushing any output,
        so nobody — the sender included — sees a message that a crash could still lose."""
        self.history.commit()

    def tick(self) -> None:
        """Called about once a second: registration deadlines, keep-alive PINGs, ping timeouts."""
        now = self.clock()
        self._ticks += 1
        if self._ticks % PRUNE_EVERY == 0:
            self.prune_history()
        limits = self.limits
        for client in list(self.clients.values()):
            if client.closing:
                continue
            silent = now - client.last_seen
            if not client.registered and now - client.connected_at > limits.registration_timeout:
                self.disconnect(client, "Registration timed out")
            elif client.ping_pending and silent > limits.ping_timeout:
                # Only after a PING went unanswered: a tick that comes late must not drop a
                # client that was never asked.
                self.disconnect(client, f"Ping timeout: {int(silent)} seconds")
            elif silent > limits.ping_interval and not client.ping_pending and client.registered:
                client.ping_pending = True
                self.send(client, f"PING :{self.name}\r\n".encode())
        self._drop_overflowed()

    def prune_history(self) -> None:
        settings = self.settings.history
        max_age_ms = int(settings.max_age_days * 86_400_000)
        if settings.max_messages or max_age_ms:
            cutoff = int(self.clock() * 1000) - max_age_ms if max_age_ms else 0
            removed = self.history.prune(settings.max_messages, cutoff)
            if removed:
                log.info("history: removed %d old messages", removed)

    def shutdown(self, reason: str = "Server shutting down") -> None:
        """Tell every client why it is being dropped; the loop flushes and closes."""
        line = f"ERROR :{reason}\r\n".encode()
        for client in list(self.clients.values()):
            if not client.closing:
                self.send(client, line)
                client.closing = True
        log.info("shutdown: told %d clients %r", len(self.clients), reason)

    def disconnect(self, client: Client, reason: str, *, quit_reason: str | None = None) -> None:
        """Drop a client on the server's initiative: ERROR to it, QUIT to its rooms. The reason
        may come from a user (KILL), so it is cleaned and the lines are kept within the limit."""
        if client.closing:
            return
        self.send_message(client, Message("ERROR", [f"Closing Link: {client.host} ({clean_text(reason)})"]))
        self._remove(client, quit_reason or reason)
        client.closing = True

    def _remove(self, client: Client, reason: str) -> None:
        if client.registered:
            line = Message("QUIT", [clean_text(reason)], client.prefix).encode(self.limits.max_line)
            self.send_to_peers(client, line, include_self=False)
            log.log(client.log_level, "%s left: %s", client.nick, reason)
        for key in client.channels:
            channel = self.channels.get(key)
            if channel is not None:
                channel.members.pop(client, None)
                if not channel.members:
                    del self.channels[key]
        client.channels.clear()
        folded = casefold(client.nick)
        if self.nicks.get(folded) is client:
            del self.nicks[folded]
        if self.clients.pop(client.id, None) is not None:
            group = address_group(client.host)
            left = self.per_host.get(group, 0) - 1
            if left > 0:
                self.per_host[group] = left
            else:
                self.per_host.pop(group, None)

    # ----------------------------------------------------------------------------- input

    def _handle_line(self, client: Client, raw: bytes) -> None:
        if b"\0" in raw or b"\r" in raw:
            # A stray CR could end the line early in a recipient's client (line injection).
            raw = raw.replace(b"\0", b"").replace(b"\r", b"")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            words = raw.decode("utf-8", "replace").split()
            cmd = next((w for w in words if not w.startswith(("@", ":"))), "*").upper()
            if not (cmd.isascii() and cmd.isalnum() and len(cmd) <= 20):
                cmd = "*"
            self.send_message(
                client,
                Message("FAIL", [cmd, "INVALID_UTF8", "Message rejected: your client must send UTF-8"]),
            )
            return
        try:
            msg = parse(line)
        except ParseError:
            return  # a line of only spaces or tags: nothing to answer
        spec = COMMANDS.get(msg.command)
        if spec is None:
            if client.registered:
                self.reply(client, rpl.ERR_UNKNOWNCOMMAND, msg.command, "Unknown command")
            else:
                self.reply(client, rpl.ERR_NOTREGISTERED, "You have not registered")
            return
        if spec.needs_registration and not client.registered:
            self.reply(client, rpl.ERR_NOTREGISTERED, "You have not registered")
            return
        if len(msg.params) < spec.min_params:
            self.reply(client, rpl.ERR_NEEDMOREPARAMS, msg.command, "Not enough parameters")
            return
        label = msg.tags.get("label") if "labeled-response" in client.caps else None
        start = len(client.out)
        try:
            spec.handler(self, client, msg)
        except Exception:
            log.exception("error handling %s from connection %d (%s)", msg.command, client.id, client.nick)
            self.disconnect(client, "Internal server error")
            return
        if label and not client.closing:
            self._label_response(client, label, start)

    def _label_response(self, client: Client, label: str, start: int) -> None:
        """labeled-response: tie everything this command produced for ``client`` to its label —
        an ACK for nothing, the tag on a single line, or a labeled-response batch around many."""
        out = client.out
        produced = bytes(out[start:])
        del out[start:]
        lines = produced.split(b"\r\n")[:-1] if produced else []
        tag = f"label={escape_tag_value(label)}".encode()
        if not lines:
            out += b"@" + tag + b" :" + self.name.encode() + b" ACK\r\n"
        elif len(lines) == 1:
            out += _add_tag(lines[0], tag) + b"\r\n"
        else:
            ref = self.new_batch_id().encode()
            out += b"@" + tag + b" :" + self.name.encode() + b" BATCH +" + ref + b" labeled-response\r\n"
            batch_tag = b"batch=" + ref
            for line in lines:
                out += _add_tag(line, batch_tag) + b"\r\n"
            out += b":" + self.name.encode() + b" BATCH -" + ref + b"\r\n"
        self.dirty.add(client)

    # ---------------------------------------------------------------------------- output

    def send(self, client: Client, data: bytes) -> None:
        """Queue bytes for ``client``; a reader that falls too far behind is dropped."""
        if client.closing or (self.overflowed and client in self.overflowed):
            return
        out = client.out
        if len(out) + len(data) > self.limits.sendq:
            # Dropped once the current command is done (:meth:`_drop_overflowed`): removing it
            # here would change the member list a broadcast is walking through.
            log.warning("%s (%s): SendQ exceeded, dropping", client.nick, client.host)
            out.clear()
            self.overflowed.append(client)
            return
        out += data
        self.dirty.add(client)

    def _drop_overflowed(self) -> None:
        """Disconnect the readers that fell too far behind; their QUIT may overflow others."""
        while self.overflowed:
            client = self.overflowed.pop()
            self.disconnect(client, "SendQ exceeded")

    def send_message(self, client: Client, msg: Message) -> None:
        """Queue ``msg``, shortened to the line limit: replies may echo a client's longest input."""
        self.send(client, msg.encode(self.limits.max_line))

    def reply(self, client: Client, numeric: str, *params: str) -> None:
        """A numeric reply addressed to ``client`` (``*`` before it has a nick). Middle parameters
        may echo what the user typed (``NICK :a b``), so they are made wire-safe here."""
        *middle, last = params or ("",)
        safe = [middle_param(p) for p in middle]
        self.send_message(client, Message(numeric, [client.nick, *safe, last], self.name))

    def send_to_peers(self, client: Client, data: bytes, *, include_self: bool) -> None:
        """Send once to everyone sharing a channel with ``client`` (NICK, QUIT)."""
        seen: set[Client] = {client}
        if include_self:
            self.send(client, data)
        for key in client.channels:
            for member in self.channels[key].members:
                if member not in seen:
                    seen.add(member)
                    self.send(member, data)

    def send_to_channel(self, channel: Channel, data: bytes, *, skip: Client | None = None) -> None:
        """The broadcast hot path: one encoded line appended to every member's buffer. The member
        list is walked as it is, without a copy: a member past its sendq is only dropped after the
        command (:meth:`_drop_overflowed`), so nobody leaves a room in the middle of this loop."""
        for member in channel.members:
            if member is not skip:
                self.send(member, data)

    # --------------------------------------------------------------------------- helpers

    def new_msgid(self) -> str:
        self._msgid_counter += 1
        return f"{self._msgid_prefix}{self._msgid_counter:x}"

    def new_batch_id(self) -> str:
        self._batch_counter += 1
        return f"b{self._batch_counter:x}"

    def registered_clients(self) -> Iterable[Client]:
        return (c for c in self.clients.values() if c.registered)

    def find_nick(self, nick: str) -> Client | None:
        client = self.nicks.get(casefold(nick))
        return client if client is not None and client.registered else None

    def find_channel(self, name: str) -> Channel | None:
        return self.channels.get(casefold(name))


def _price(line: bytes) -> float:
    """What a raw line costs in flood-control tokens, read without parsing it: cheap commands a
    tenth, commands with a list of targets one per target (``JOIN #a,#b,#c`` is three lines'
    worth of work), everything else one."""
    words = line.split(None, 3)
    while words and words[0].startswith((b"@", b":")):  # tags, source
        del words[0]
    if not words:
        return 1.0
    command = words[0].upper()
    cheap = CHEAP_COMMANDS.get(command)
    if cheap is not None:
        return cheap
    if command in PER_TARGET_COMMANDS and len(words) > 1:
        return 1.0 + words[1].count(b",")
    return 1.0


def _add_tag(line: bytes, tag: bytes) -> bytes:
    """Put one more tag on an encoded line, whether or not it already has tags."""
    if line.startswith(b"@"):
        return b"@" + tag + b";" + line[1:]
    return b"@" + tag + b" " + line


def open_history(settings: Settings) -> HistoryStore:
    """The store the settings ask for; SQLite lives in the data dir."""
    if settings.history.store == "memory":
        return MemoryHistory()
    return SqliteHistory(settings.data_dir / "history.sqlite3", synchronous=settings.history.sync.upper())


def build_core(
    settings: Settings,
    clock: Callable[[], float] = time.time,
    history: HistoryStore | None = None,
    accounts: AccountStore | None = None,
) -> ServerCore:
    """A core with every command module registered."""
    # Importing the handler modules fills the COMMANDS table.
    from chat.server import channels, chathistory, messaging, moderation, queries, registration, sasl  # noqa: F401

    return ServerCore(settings, clock, history, accounts)
