"""What the desktop window shows, kept apart from Tk so that it is tested without a display.

:class:`ChatModel` takes the connection's events and the user's typing, and keeps the
conversations (rooms, private chats and a server tab), their lines, unread counts and member
lists, the state of each message the user sent (pending, sent, not delivered) and the status
bar text. The Tk view (:mod:`chat.client.gui`) only draws what :meth:`ChatModel.apply`
reports as changed, so every rule about what the user sees lives here.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from chat.client import commands as cmd
from chat.client import events as ev
from chat.client import pins
from chat.client.dispatch import Leave, carry_out
from chat.client.formatting import clean
from chat.client.mentions import is_mention
from chat.client.render import describe, plain
from chat.protocol import casefold, is_channel

__all__ = ["SERVER", "Changes", "ChatModel", "Conversation", "Line", "certificate_warning", "for_the_window"]

#: Key of the conversation that holds what the server says to everyone (welcome, MOTD); no
#: nick or channel can be spelled like this, and Tk accepts it as an item id.
SERVER = "*server*"
#: How many typed lines Up/Down remembers.
HISTORY_LIMIT = 200
#: Lines kept per conversation; older ones are dropped in one go (a flood cannot eat memory).
MAX_LINES = 5000
TRIM_BY = 500
#: How long the status bar mentions the catch-up after a reconnect (seconds).
CAUGHT_UP_NOTICE = 10.0

_ids = itertools.count(1)


def certificate_warning(event: ev.CertificateChanged) -> str:
    """The changed-certificate warning as the window says it: the way out it names must work
    from the window (``chat trust --forget`` then Connect), not a terminal client's option."""
    return pins.changed_warning(
        event.address, event.expected, event.got, Path(event.file), given=event.given, window=True, name=event.name
    )


def for_the_window(reason: str) -> str:
    """A connection reason with the terminal's advice put the window's way: the form has a TLS
    box, not a --tls option."""
    return reason.replace("connect with --tls", "tick TLS and connect again").replace("(--tls, port", "(tick TLS; port")


LineKind = Literal["message", "action", "notice", "event", "info", "error"]
SendState = Literal["", "pending", "sent", "failed"]


@dataclass(slots=True, eq=False)  # identity: two equal-looking lines are still two lines
class Line:
    """One row of the message view."""

    kind: LineKind
    text: str
    nick: str = ""
    time: datetime | None = None
    own: bool = False
    state: SendState = ""
    cid: str | None = None
    missed: bool = False  # fetched after a reconnect
    note: str = ""  # why a message was not delivered
    mention: bool = False  # names us, or is private: highlighted
    id: int = field(default_factory=lambda: next(_ids))  # stable, for the view to find it again


@dataclass(slots=True)
class Conversation:
    """A room, a private chat with one person, or the server tab."""

    name: str
    lines: list[Line] = field(default_factory=list)
    unread: int = 0
    members: dict[str, str] = field(default_factory=dict)  # casefolded nick -> nick as listed (with @)
    topic: str = ""
    joined: bool = False  # rooms: we are in it right now
    left: bool = False  # rooms: we left (or were kicked); typing there is refused until /join
    mentioned: bool = False  # an unread line names us: the sidebar marks it until it is opened

    @property
    def is_channel(self) -> bool:
        return is_channel(self.name)


@dataclass(frozen=True, slots=True)
class Alert:
    """A live message that names us (or a private one): the view flashes ``key`` in the sidebar
    and, when the window is not in front, tells the desktop."""

    key: str
    title: str
    text: str


@dataclass(slots=True)
class Changes:
    """What one step changed, so the view redraws no more than that."""

    appended: list[tuple[str, Line]] = field(default_factory=list)  # (conversation key, line)
    updated: list[tuple[str, Line]] = field(default_factory=list)
    trimmed: dict[str, int] = field(default_factory=dict)  # conversation key -> oldest lines dropped
    sidebar: bool = False
    members: bool = False
    status: bool = False
    switched: bool = False  # another conversation is shown now: redraw the whole view
    leave: Leave | None = None  # the user asked to quit
    closed: bool = False  # the connection is finished for good
    alerts: list[Alert] = field(default_factory=list)

    def merge(self, other: Changes) -> Changes:
        self.appended += other.appended
        self.updated += other.updated
        for key, count in other.trimmed.items():
            self.trimmed[key] = self.trimmed.get(key, 0) + count
        self.sidebar |= other.sidebar
        self.members |= other.members
        self.status |= other.status
        self.switched |= other.switched
        self.leave = self.leave or other.leave
        self.closed |= other.closed
        self.alerts += other.alerts
        return self


class ChatModel:
    """The window's state. Not thread-safe: the Tk thread owns it."""

    def __init__(self, address: str, nick: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.address = address
        self.nick = nick
        self.clock = clock
        self.casemapping = "rfc1459"  # until the server says (RPL_ISUPPORT); ours says ascii
        self.conversations: dict[str, Conversation] = {SERVER: Conversation(address)}
        self.current = SERVER
        self.state: Literal["connecting", "connected", "offline", "closed"] = "connecting"
        self.reason = ""
        self.attempt = 0
        self.retry_at: float | None = None
        self.caught_up: int | None = None  # messages fetched after the last reconnect
        self.caught_up_at = 0.0
        self.ever_connected = False
        self.history: list[str] = []
        self._history_pos: int | None = None
        self._draft = ""
        self._sent: dict[str, Line] = {}  # cid -> the line showing that message
        self._pending: set[str] = set()
        self._in_burst = False  # between the welcome and our first JOIN: server chatter goes to its tab
        self._wanted_target: str | None = None  # /join or /query: show it when it appears
        # A certificate remembered on first use, to compare with the admin's fingerprint. The
        # notice comes before the window opens on a room, so it is copied into the first room
        # shown (``_unseen_pin``), and the status bar asks to check it until the server tab
        # has been looked at (``check_fingerprint``).
        self._unseen_pin: str | None = None
        self.check_fingerprint = False
        self._changes = Changes()

    # ------------------------------------------------------------------------ queries

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def target(self) -> str | None:
        """Where plain text goes: the conversation on screen (not the server tab)."""
        return None if self.current == SERVER else self.conversations[self.current].name

    def conversation(self, key: str | None = None) -> Conversation:
        return self.conversations[self.current if key is None else key]

    def sidebar_rows(self) -> list[tuple[str, str, int]]:
        """(key, label, unread) in display order: server, rooms, then private chats."""
        rooms = [(k, c) for k, c in self.conversations.items() if k != SERVER and c.is_channel]
        people = [(k, c) for k, c in self.conversations.items() if k != SERVER and not c.is_channel]
        rows = [(SERVER, self.conversations[SERVER].name, self.conversations[SERVER].unread)]
        for key, conv in sorted(rooms, key=lambda kc: kc[0]) + sorted(people, key=lambda kc: kc[0]):
            rows.append((key, conv.name, conv.unread))
        return rows

    def member_rows(self) -> list[str]:
        """The current room's members, operators first, then by name."""
        conv = self.conversation()
        if not conv.is_channel:
            return []
        return sorted(conv.members.values(), key=lambda n: (not n.startswith("@"), casefold(n.lstrip("@+"))))

    def status_text(self) -> str:
        waiting = self.pending
        noun = "message" if waiting == 1 else "messages"
        if self.state == "connected":
            text = f"Connected to {self.address} as {self.nick}"
            if self.caught_up is not None and self.clock() - self.caught_up_at < CAUGHT_UP_NOTICE:
                text = f"Reconnected — caught up on {self.caught_up} missed {self._noun(self.caught_up)} · " + text
            if waiting:
                text += f" · {waiting} {noun} waiting"
            if self.check_fingerprint:
                text += " · new TLS certificate remembered: compare its fingerprint with the admin's (server tab)"
            return text
        if self.state == "closed":
            return f"Disconnected: {self.reason}" if self.reason else "Disconnected"
        retry = ""
        if self.retry_at is not None:
            left = math.ceil(max(0.0, self.retry_at - self.clock()))
            retry = f"reconnecting in {left} s (attempt {self.attempt})" if left else "reconnecting now"
        elif self.state == "connecting":
            retry = f"connecting to {self.address}…"
        if waiting:
            return f"Offline — {waiting} {noun} waiting" + (f" — {retry}" if retry else "")
        if self.state == "offline":
            return f"Disconnected: {self.reason}" + (f" — {retry}" if retry else "")
        return retry[:1].upper() + retry[1:]

    @staticmethod
    def _noun(count: int) -> str:
        return "message" if count == 1 else "messages"

    # --------------------------------------------------------------------- user input

    def submit(self, text: str, conn: object) -> Changes:
        """The user pressed Enter: remember the line, parse it, carry it out on ``conn``."""
        self._changes = Changes()
        if text.strip() and (not self.history or self.history[-1] != text):
            self.history.append(text)
            del self.history[:-HISTORY_LIMIT]
        self._history_pos = None
        command = cmd.parse_input(text, self.target)
        if command is not None:
            if isinstance(command, cmd.Say | cmd.Emote | cmd.Notice):
                conv = self.conversation()
                if self.target is None:
                    command = cmd.Problem("this is the server tab: pick a room or a person on the left to talk to")
                elif conv.left and casefold(command.target) == self.current:
                    command = cmd.Problem(f"you left {conv.name}; type /join {conv.name} to go back")
            leave = carry_out(command, conn, self)  # type: ignore[arg-type]
            self._changes.leave = leave
        return self._take()

    def history_back(self, draft: str) -> str | None:
        """Up: the previous typed line (None at the oldest)."""
        if not self.history:
            return None
        if self._history_pos is None:
            self._draft = draft
            self._history_pos = len(self.history)
        if self._history_pos == 0:
            return None
        self._history_pos -= 1
        return self.history[self._history_pos]

    def history_forward(self) -> str | None:
        """Down: the next typed line, then what was being typed before Up."""
        if self._history_pos is None:
            return None
        self._history_pos += 1
        if self._history_pos >= len(self.history):
            self._history_pos = None
            return self._draft
        return self.history[self._history_pos]

    def select(self, key: str) -> Changes:
        """Show conversation ``key`` (a click in the sidebar)."""
        self._changes = Changes()
        if key in self.conversations:
            self._switch(key)
        return self._take()

    def open_private(self, nick: str) -> Changes:
        """Open (or show) the private conversation with ``nick`` (double-click on a member)."""
        self._changes = Changes()
        nick = nick.lstrip("@+%~&")
        if nick and casefold(nick) != casefold(self.nick):
            self._ensure(nick)
            self._switch(casefold(nick))
        return self._take()

    # Surface, for the shared command handling --------------------------------------

    def show(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._add(self.current, Line("info", line, time=None), stamp=False)

    def problem(self, text: str) -> None:
        self._add(self.current, Line("error", text))

    def talk_to(self, target: str) -> None:
        key = casefold(target)
        if key in self.conversations and (not is_channel(target) or self.conversations[key].joined):
            self._switch(key)
        elif is_channel(target):
            self._wanted_target = key  # shown once the server says we are in (after /join)
        else:
            self._ensure(target)
            self._switch(key)

    # ------------------------------------------------------------------------- events

    def apply(self, event: ev.Event) -> Changes:
        """Take one event from the connection; returns what changed on screen."""
        self._changes = Changes()
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is not None:
            handler(event)
        return self._take()

    def _on_Connecting(self, event: ev.Connecting) -> None:
        if self.state != "offline":
            self.state = "connecting"
        self.retry_at = None
        self._changes.status = True

    def _on_Connected(self, event: ev.Connected) -> None:
        self.state = "connected"
        self.nick = event.nick
        self.retry_at = None
        self.reason = ""
        self.caught_up = None
        self._in_burst = True
        self.ever_connected = True
        self._add(SERVER, Line("event", f"connected to {event.address} ({event.server}) as {event.nick}"))
        self._changes.status = True

    def _on_Disconnected(self, event: ev.Disconnected) -> None:
        was = self.state
        self.state = "offline"
        self.reason = event.reason
        self.caught_up = None
        for conv in self.conversations.values():
            if conv.is_channel:
                conv.joined = False
                conv.members.clear()
        if was != "offline" or not self.ever_connected:
            for key in {SERVER, self.current}:
                self._add(key, Line("error", f"disconnected: {event.reason}"))
        self._changes.status = self._changes.members = True

    def _on_Reconnecting(self, event: ev.Reconnecting) -> None:
        self.attempt = event.attempt
        self.retry_at = self.clock() + event.delay
        self._changes.status = True

    def _on_Closed(self, event: ev.Closed) -> None:
        self.state = "closed"
        if event.reason:
            self.reason = event.reason
        self.retry_at = None
        self._changes.status = True
        self._changes.closed = True

    def _on_CaughtUp(self, event: ev.CaughtUp) -> None:
        self.caught_up = event.count
        self.caught_up_at = self.clock()
        if event.count:
            where = ", ".join(event.conversations)
            text = f"reconnected — caught up on {event.count} missed {self._noun(event.count)} in {where}"
        else:
            text = "reconnected — nothing missed"
        self._add(self.current, Line("event", text))
        self._changes.status = True

    def _on_Queued(self, event: ev.Queued) -> None:
        key = self._ensure(event.target)
        kind: LineKind = "action" if event.action else "notice" if event.notice else "message"
        line = Line(kind, event.text, self.nick, datetime.now(UTC), True, "pending", event.cid)
        self._add(key, line, count=False)
        self._sent[event.cid] = line
        self._pending.add(event.cid)
        self._changes.status = True

    def _on_Acknowledged(self, event: ev.Acknowledged) -> None:
        self._settle(event.cid, "sent")

    def _on_Rejected(self, event: ev.Rejected) -> None:
        self._settle(event.cid, "failed", event.reason)

    def _on_Message(self, event: ev.Message) -> None:
        if event.own and event.cid and event.cid in self._sent:
            line = self._sent[event.cid]
            line.time = event.time
            if line.state == "pending":
                line.state = "sent"
                self._pending.discard(event.cid)
                self._changes.status = True
            self._updated(line)
            return
        key = self._ensure(event.conversation)
        kind: LineKind = "action" if event.action else "notice" if event.notice else "message"
        state: SendState = "sent" if event.own else ""  # ours from history, or sent by another of our windows
        # Formatting codes stay in the text: the view draws them as styles.
        mention = is_mention(event.target, event.text, self.nick, self.casemapping, own=event.own)
        line = Line(kind, clean(event.text), event.sender, event.time, event.own, state, missed=event.missed,
                    mention=mention)  # fmt: skip
        self._add(key, line, count=not event.own)
        if mention and not event.missed:  # history fetched after a reconnect is highlighted, not announced
            where = "" if event.private else f" in {event.target}"
            self._changes.alerts.append(Alert(key, f"{event.sender}{where}", plain(event.text)))

    def _on_ServerFeatures(self, event: ev.ServerFeatures) -> None:
        self.casemapping = event.casemapping

    def _on_Joined(self, event: ev.Joined) -> None:
        key = self._ensure(event.channel)
        conv = self.conversations[key]
        if event.own:
            self._in_burst = False
            conv.joined, conv.left = True, False
            if self.current == SERVER or self._wanted_target == key:
                self._wanted_target = None
                self._switch(key)
            self._add(key, Line("event", f"you joined {event.channel}"), count=False)
            if self._unseen_pin is not None and self.current == key:
                self._show_pin(self._unseen_pin)
        else:
            conv.members[casefold(event.nick)] = event.nick
            self._add(key, Line("event", f"{event.nick} joined"), count=False)
        self._members_changed(key)

    def _on_Parted(self, event: ev.Parted) -> None:
        why = f" ({event.reason})" if event.reason else ""
        self._left_room(event, Line("event", f"you left {event.channel}{why}"), f"{event.nick} left{why}")

    def _on_Kicked(self, event: ev.Kicked) -> None:
        why = f": {event.reason}" if event.reason else ""
        self._left_room(event, Line("error", describe(event) or ""), f"{event.by} removed {event.nick}{why}")

    def _left_room(self, event: ev.Parted, own_line: Line, other_text: str) -> None:
        """Someone is out of a room (PART or KICK): our own leaving closes it; others leave the
        member list. Being kicked counts as unread (an error line), leaving does not."""
        key = casefold(event.channel)
        conv = self.conversations.get(key)
        if conv is None:
            return
        if event.own:
            conv.joined, conv.left = False, True
            conv.members.clear()
            self._add(key, own_line, count=own_line.kind == "error")
        else:
            self._drop_member(conv, event.nick)
            self._add(key, Line("event", other_text), count=False)
        self._members_changed(key)

    def _on_Refused(self, event: ev.Refused) -> None:
        self.reason = event.reason
        self._add(SERVER, Line("error", event.reason))
        self._changes.status = True

    def _on_Quit(self, event: ev.Quit) -> None:
        why = f" ({event.reason})" if event.reason else ""
        for channel in event.channels:
            key = casefold(channel)
            conv = self.conversations.get(key)
            if conv is not None:
                self._drop_member(conv, event.nick)
                self._add(key, Line("event", f"{event.nick} left the chat{why}"), count=False)
                self._members_changed(key)
        private = casefold(event.nick)
        if private in self.conversations:
            self._add(private, Line("event", f"{event.nick} left the chat{why}"), count=False)

    def _on_NickChanged(self, event: ev.NickChanged) -> None:
        if event.own:
            self.nick = event.new
            self._changes.status = True
        text = "you are now known as " + event.new if event.own else f"{event.old} is now known as {event.new}"
        for channel in event.channels:
            key = casefold(channel)
            conv = self.conversations.get(key)
            if conv is None:
                continue
            listed = conv.members.pop(casefold(event.old), event.old)
            prefix = listed[: len(listed) - len(listed.lstrip("@+%~&"))]
            conv.members[casefold(event.new)] = prefix + event.new
            self._add(key, Line("event", text), count=False)
            self._members_changed(key)
        old_key, new_key = casefold(event.old), casefold(event.new)
        if not event.own and old_key in self.conversations and new_key not in self.conversations:
            conv = self.conversations.pop(old_key)
            conv.name = event.new
            self.conversations[new_key] = conv
            if self.current == old_key:
                self.current = new_key
            self._add(new_key, Line("event", text), count=False)
            self._changes.sidebar = True

    def _on_Names(self, event: ev.Names) -> None:
        key = casefold(event.channel)
        if key not in self.conversations:  # /names of a room we are not in: a line, not a new tab
            self._add(self.current, Line("info", f"in {event.channel}: {' '.join(event.nicks) or 'nobody'}"))
            return
        self.conversations[key].members = {casefold(n.lstrip("@+%~&")): n for n in event.nicks}
        self._members_changed(key)

    def _on_Topic(self, event: ev.Topic) -> None:
        key = casefold(event.channel)
        if key not in self.conversations:
            self._add(self.current, Line("info", f"topic of {event.channel}: {event.text}"))
            return
        self.conversations[key].topic = event.text
        if event.setter:
            self._add(key, Line("event", f"{event.setter} set the topic to: {event.text}"), count=False)
        self._changes.members = True  # the view shows the topic above the messages

    def _on_Info(self, event: ev.Info) -> None:
        key = SERVER if self._in_burst or self.state != "connected" else self.current
        self._add(key, Line("info", plain(event.text)), count=False)

    def _on_CertificatePinned(self, event: ev.CertificatePinned) -> None:
        text = describe(event) or ""
        self._add(SERVER, Line("event", text))
        if self.current == SERVER:
            self._unseen_pin = text  # the window is about to open on a room: it goes there too
        else:
            self._show_pin(text)
        if not event.given:  # one the user gave was compared already
            self.check_fingerprint = True
            self._changes.status = True

    def _on_CertificateChanged(self, event: ev.CertificateChanged) -> None:
        for key in {SERVER, self.current}:
            self._add(key, Line("error", certificate_warning(event)))

    def _on_Error(self, event: ev.Error) -> None:
        self._add(self.current, Line("error", plain(event.text)))

    # ---------------------------------------------------------------------- internals

    def _take(self) -> Changes:
        changes, self._changes = self._changes, Changes()
        return changes

    def _ensure(self, name: str) -> str:
        key = casefold(name)
        if key not in self.conversations:
            self.conversations[key] = Conversation(name)
            self._changes.sidebar = True
        return key

    def _show_pin(self, text: str) -> None:
        """The certificate notice in the conversation on screen, and the server tab marked
        unread, since that is where the user looks; the notice lives in the server tab."""
        self._unseen_pin = None
        self._add(self.current, Line("event", text))
        server = self.conversations[SERVER]
        server.unread += 1
        self._changes.sidebar = True

    def _switch(self, key: str) -> None:
        if key == SERVER and self.check_fingerprint:
            self.check_fingerprint = False  # the user looked at it
            self._changes.status = True
        if key != self.current:
            self.current = key
            self._changes.switched = self._changes.members = True
        if self.conversations[key].unread:
            self.conversations[key].unread = 0
        self.conversations[key].mentioned = False
        self._changes.sidebar = True

    def _add(self, key: str, line: Line, *, count: bool = True, stamp: bool = True) -> Line:
        if stamp and line.time is None:
            line.time = datetime.now(UTC)
        conv = self.conversations[key]
        conv.lines.append(line)
        self._changes.appended.append((key, line))
        if count and key != self.current and line.kind in ("message", "action", "notice"):
            conv.unread += 1
            conv.mentioned |= line.mention
            self._changes.sidebar = True
        if len(conv.lines) > MAX_LINES:
            dropped = conv.lines[:TRIM_BY]
            del conv.lines[:TRIM_BY]
            self._changes.trimmed[key] = self._changes.trimmed.get(key, 0) + TRIM_BY
            gone = {id(line) for line in dropped}
            self._sent = {cid: ln for cid, ln in self._sent.items() if id(ln) not in gone}
        return line

    def _updated(self, line: Line) -> None:
        """``line`` changed (its ✓ or ✗): tell the view, wherever the line is now."""
        for key, conv in self.conversations.items():
            if any(candidate is line for candidate in reversed(conv.lines)):
                self._changes.updated.append((key, line))
                return

    def _settle(self, cid: str, state: SendState, note: str = "") -> None:
        self._pending.discard(cid)
        self._changes.status = True
        line = self._sent.get(cid)
        if line is None:
            return
        if line.state != state:
            line.state, line.note = state, note
            self._updated(line)
        if state == "failed":
            del self._sent[cid]

    @staticmethod
    def _drop_member(conv: Conversation, nick: str) -> None:
        conv.members.pop(casefold(nick), None)

    def _members_changed(self, key: str) -> None:
        if key == self.current:
            self._changes.members = True
