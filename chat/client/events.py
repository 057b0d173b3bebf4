"""What a connection tells its user interface, as immutable values on a queue.

Each event carries what a UI needs to draw it without asking the connection anything back
(which channels a quitting user was in, whether a message is our own), because the UI reads
the queue on its own thread while the connection keeps changing on the I/O thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from chat.protocol import is_channel

__all__ = [
    "Acknowledged",
    "CaughtUp",
    "CertificateChanged",
    "CertificatePinned",
    "Closed",
    "Connected",
    "Connecting",
    "Disconnected",
    "Error",
    "Event",
    "Info",
    "Joined",
    "Kicked",
    "Message",
    "Names",
    "NickChanged",
    "Parted",
    "Queued",
    "Quit",
    "Reconnecting",
    "Refused",
    "Rejected",
    "ServerFeatures",
    "Topic",
]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Event:
    """Base class, so a UI can type its handler as taking any event."""


@dataclass(frozen=True, slots=True)
class Connecting(Event):
    """A connection attempt started (the first one, or one after a backoff delay)."""

    address: str
    attempt: int


@dataclass(frozen=True, slots=True)
class Connected(Event):
    """Registration finished: we can talk now. ``nick`` may differ from the one asked for."""

    server: str
    nick: str
    address: str


@dataclass(frozen=True, slots=True)
class ServerFeatures(Event):
    """What the server told about itself after :class:`Connected` (RPL_ISUPPORT) that changes
    how a UI reads messages: ``casemapping`` decides when a word is our nick."""

    casemapping: str


@dataclass(frozen=True, slots=True)
class Disconnected(Event):
    """The link is gone (or never came up); ``reason`` is a sentence for the user."""

    reason: str


@dataclass(frozen=True, slots=True)
class Reconnecting(Event):
    """The next attempt starts in ``delay`` seconds. ``attempt`` is its number, the same as in the
    :class:`Connecting` that follows: 1 for the first try after a working link dropped (and for
    the very first connection), then 2, 3 ..."""

    attempt: int
    delay: float


@dataclass(frozen=True, slots=True)
class NickChanged(Event):
    """Someone (``own``: we) changed nick; ``channels`` are the rooms where it shows."""

    old: str
    new: str
    own: bool
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Message(Event):
    """A PRIVMSG (``notice``: NOTICE; ``action``: /me). ``own`` marks our own message coming back
    from the server, which is the proof that it was delivered."""

    target: str
    sender: str
    text: str
    action: bool = False
    notice: bool = False
    time: datetime = field(default_factory=_now)
    msgid: str | None = None
    own: bool = False
    cid: str | None = None
    missed: bool = False  # said while we were away, fetched from the server's history

    @property
    def private(self) -> bool:
        return not is_channel(self.target)

    @property
    def conversation(self) -> str:
        """The window this belongs in: the channel, or the other person of a private chat."""
        if is_channel(self.target) or self.own:
            return self.target
        return self.sender


@dataclass(frozen=True, slots=True)
class Queued(Event):
    """The user said something; it is pending until :class:`Acknowledged` (``offline``: we are
    not connected, so it waits for the next reconnect)."""

    cid: str
    target: str
    text: str
    action: bool = False
    notice: bool = False
    offline: bool = False


@dataclass(frozen=True, slots=True)
class CaughtUp(Event):
    """After a reconnect: everything said while we were away has been shown (``count`` messages,
    in ``conversations``); what follows is live again."""

    count: int
    conversations: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Acknowledged(Event):
    """The server took message ``cid`` (its echo arrived, or it was written when there is no echo)."""

    cid: str
    target: str
    msgid: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected(Event):
    """The server refused message ``cid``; an :class:`Error` with the same ``reason`` precedes it."""

    cid: str
    target: str
    reason: str


@dataclass(frozen=True, slots=True)
class Joined(Event):
    channel: str
    nick: str
    own: bool = False


@dataclass(frozen=True, slots=True)
class Parted(Event):
    """Someone left a channel (also used for being kicked; the reason then says by whom)."""

    channel: str
    nick: str
    reason: str = ""
    own: bool = False


@dataclass(frozen=True, slots=True)
class Kicked(Parted):
    """``by`` removed ``nick`` from a channel (KICK). A kind of :class:`Parted`, so everything that
    tracks membership treats it alike: a room we were kicked from is not re-joined on reconnect."""

    by: str = ""


@dataclass(frozen=True, slots=True)
class Quit(Event):
    """Someone left the chat; ``channels`` are the rooms we shared with them."""

    nick: str
    reason: str = ""
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Names(Event):
    """The complete member list of a channel, with ``@`` in front of operators."""

    channel: str
    nicks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Topic(Event):
    """The topic of a channel; ``setter`` is set when someone just changed it."""

    channel: str
    text: str
    setter: str | None = None


@dataclass(frozen=True, slots=True)
class Info(Event):
    """Something from the server worth reading: MOTD lines, WHOIS and LIST rows, away replies."""

    text: str


@dataclass(frozen=True, slots=True)
class Error(Event):
    """Something did not work, said in plain words (``no such nick or channel: bob``)."""

    text: str


@dataclass(frozen=True, slots=True)
class Refused(Event):
    """The server will not have us, and trying again unchanged would not help, so the connection
    stops instead of reconnecting. ``cause``: ``"password"`` (server password missing or wrong),
    ``"account"`` (account login failed) or ``"killed"`` (an operator removed us)."""

    reason: str
    cause: str


@dataclass(frozen=True, slots=True)
class CertificatePinned(Event):
    """A certificate of ``address`` is remembered now in ``file``. On a first contact the user
    should compare its ``fingerprint`` once with what the server's admin says; when it matched
    the one given with ``--fingerprint`` (``given``) that was done, and it may have ``replaced``
    an older pin (its fingerprint, else empty)."""

    address: str
    fingerprint: str
    file: str
    given: bool = False
    replaced: str = ""


@dataclass(frozen=True, slots=True)
class CertificateChanged(Event):
    """The server's TLS certificate is not the remembered one (``given``: not the one passed with
    ``--fingerprint``; ``name``: not the one remembered for the server announced on the LAN under
    that name). The connection refuses to go on and does not retry."""

    address: str
    expected: str
    got: str
    file: str
    given: bool = False
    name: str = ""


@dataclass(frozen=True, slots=True)
class Closed(Event):
    """The connection object is finished for good: no more events will follow."""

    reason: str = ""
