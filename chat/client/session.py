"""The client side of one IRC link, without sockets: messages in, events and replies out.

One :class:`Session` lives from TCP connect to disconnect. It negotiates capabilities, registers
(picking another nick when ours is taken), answers PINGs, keeps track of the channels we are
in and who is in them, and turns every server line into the event a user interface shows.
Keeping it free of I/O means every rule here is tested with plain data.
"""

from __future__ import annotations

import base64
import logging
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chat.client import events as ev
from chat.client.compose import ACTION_PREFIX
from chat.client.outbox import CID_TAG
from chat.client.replies import describe_numeric
from chat.protocol import Message, casefold, is_channel, valid_nick
from chat.protocol import numerics as rpl

__all__ = ["WANTED_CAPS", "Session", "Step", "fallback_nick"]

log = logging.getLogger(__name__)

#: The IRCv3 capabilities we use when the server offers them.
#: ``batch`` and ``draft/chathistory`` make catch-up after a reconnect possible, ``chat/session``
#: (ours) lets us take our nick back from our own dead connection, ``labeled-response`` gets
#: every message we send an answer (an echo, an error or an ACK), so none stays unconfirmed.
WANTED_CAPS = (
    "batch",
    "chat/session",
    "draft/chathistory",
    "echo-message",
    "labeled-response",
    "message-tags",
    "server-time",
)
_NICK_CHARS = re.compile(r"[^A-Za-z0-9\[\]\\`_^{|}-]")
_DEFAULT_NICKLEN = 30
#: SASL payloads travel in chunks of at most this many base64 characters.
SASL_CHUNK = 400
_SASL_FAILURES = frozenset({rpl.ERR_SASLFAIL, rpl.ERR_SASLTOOLONG, rpl.ERR_SASLABORTED})
#: Why a password is not sent over a plain connection (account login, /oper): the end of a sentence.
NEEDS_TLS = (
    "needs TLS, or the password crosses the network readable: connect with --tls "
    "(--plaintext-login allows it, for a trusted test setup)"
)


@dataclass(slots=True)
class Step:
    """What handling one line produced: events for the UI, messages for the server."""

    events: list[ev.Event] = field(default_factory=list)
    send: list[Message] = field(default_factory=list)


def fallback_nick(wanted: str, attempt: int, max_len: int = _DEFAULT_NICKLEN) -> str:
    """The ``attempt``-th alternative to a taken nick: ``alice_``, ``alice__``, ``alice3``, ...
    then random digits, so that a crowd of equal nicks still ends."""
    if attempt <= 2:
        suffix = "_" * attempt
    elif attempt <= 9:
        suffix = str(attempt)
    else:
        suffix = str(random.randint(1000, 9999))
    return wanted[: max(1, max_len - len(suffix))] + suffix


def usable_nick(nick: str, max_len: int = 9) -> str:
    """A nick every server accepts, derived from one the server refused."""
    cleaned = _NICK_CHARS.sub("", nick)
    if not cleaned or not valid_nick(cleaned[:1], 1):
        cleaned = "u" + cleaned
    return cleaned[:max_len]


def _parse_time(value: str | None, now: datetime) -> datetime:
    if not value:
        return now
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return now


class Session:
    """Protocol state of one link. Feed :meth:`handle` every parsed line, send what it returns."""

    def __init__(
        self,
        nick: str,
        *,
        address: str,
        username: str = "chat",
        realname: str = "chat user",
        join: Iterable[str] = (),
        caps: Iterable[str] = WANTED_CAPS,
        token: str | None = None,
        password: str | None = None,
        account: tuple[str, str] | None = None,
        secure: bool = False,
        plaintext_login: bool = False,
    ) -> None:
        self.token = token  # from the server at our last registration: proves we are the same session
        self.password = password  # the server password (PASS), if the server needs one
        self.account = account  # (name, password) to log in with SASL PLAIN during CAP negotiation
        self.logged_in: str | None = None  # the account the server confirmed (900)
        # An account password goes out only over TLS, unless the user said the link is trusted:
        # over a plain link whoever answers (or listens) would read it.
        self.login_allowed = secure or plaintext_login
        self.refused: ev.Refused | None = None  # set when the server will not have us: stop, do not retry
        self.wanted_nick = nick
        self.wanted_caps = tuple(caps)
        self.nick = nick
        self.address = address
        self.username = username
        self.realname = realname
        self.join = list(join)
        self.registered = False
        self.server = ""
        self.version = ""
        self.isupport: dict[str, str] = {}
        self.caps: frozenset[str] = frozenset()
        self.error_text: str | None = None  # the text of an ERROR line, the server's last word
        self.channels: dict[str, str] = {}  # casefolded -> name as the server spells it
        self.members: dict[str, dict[str, str]] = {}  # channel key -> nick key -> nick
        self._offered: set[str] = set()
        self._cap_done = False
        self._fallbacks = 0
        self._names: dict[str, list[str]] = {}

    # ------------------------------------------------------------------------------ output

    def start(self) -> list[Message]:
        """The opening lines: CAP negotiation keeps the server from registering us too early.
        A session token goes before NICK, so that the server lets us replace our own ghost."""
        claim = [Message("SESSION", [self.token])] if self.token else []
        password = [Message("PASS", [self.password])] if self.password else []
        return [
            *password,
            Message("CAP", ["LS", "302"]),
            *claim,
            Message("NICK", [self.nick]),
            Message("USER", [self.username, "0", "*", self.realname]),
        ]

    def is_me(self, nick: str | None) -> bool:
        return nick is not None and casefold(nick) == casefold(self.nick)

    @property
    def nick_length(self) -> int:
        value = self.isupport.get("NICKLEN", "")
        return int(value) if value.isdigit() else _DEFAULT_NICKLEN

    # ------------------------------------------------------------------------------- input

    def handle(self, msg: Message, now: datetime | None = None) -> Step:
        """Everything one server line means for us."""
        step = Step()
        when = now or datetime.now(UTC)
        command = msg.command
        if command.isdigit():
            self._numeric(msg, step)
        elif command == "PING":
            step.send.append(Message("PONG", msg.params or [self.server or "chat"]))
        elif command == "CAP":
            self._cap(msg, step)
        elif command in ("PRIVMSG", "NOTICE"):
            self._privmsg(msg, when, step)
        elif command == "JOIN":
            self._join(msg, step)
        elif command == "PART":
            self._part(msg.param(0), msg.nick or "", msg.param(1), step)
        elif command == "KICK":
            self._kick(msg, step)
        elif command == "KILL" and self.is_me(msg.param(0)):
            by = msg.nick or "an operator"
            self._refuse(step, f"you were removed from the chat by {by}: {msg.param(1)}", "killed")
        elif command == "AUTHENTICATE" and msg.param(0) == "+" and self.account is not None:
            self._send_login(step)
        elif command == "QUIT":
            self._quit(msg, step)
        elif command == "NICK":
            self._nick(msg, step)
        elif command == "TOPIC":
            step.events.append(ev.Topic(msg.param(0), msg.param(1), msg.nick))
        elif command == "SESSION" and msg.param(1):
            self.token = msg.param(1)
        elif command == "ERROR":
            self.error_text = msg.param(0) or None
        elif command == "INVITE":
            step.events.append(ev.Info(f"{msg.nick} invites you to {msg.param(1)}"))
        elif command == "MODE":
            self._mode(msg, step)
        elif command in ("FAIL", "WARN", "NOTE"):
            text = msg.params[-1] if msg.params else command
            step.events.append(ev.Error(text) if command == "FAIL" else ev.Info(text))
        elif command != "PONG":
            log.debug("ignoring %s from the server", command)
        return step

    # ------------------------------------------------------------------ registration, CAP

    def _cap(self, msg: Message, step: Step) -> None:
        sub = msg.param(1).upper()
        if sub == "LS" and not self._cap_done:
            more = len(msg.params) >= 4 and msg.params[2] == "*"
            for item in msg.params[-1].split():
                self._offered.add(item.split("=", 1)[0])
            if more:
                return
            wanted = [cap for cap in self.wanted_caps if cap in self._offered]
            if self.account is not None:
                if not self.login_allowed:
                    self._refuse(step, f"account login {NEEDS_TLS}", "account")
                    return
                if "sasl" not in self._offered:
                    reason = "this server does not offer account login (SASL); connect without --account"
                    self._refuse(step, reason, "account")
                    return
                wanted.append("sasl")
            if wanted:
                step.send.append(Message("CAP", ["REQ", " ".join(wanted)]))
            else:
                self._end_cap(step)
        elif sub == "ACK":
            acked = {c for c in msg.param(2).split() if not c.startswith("-")}
            removed = {c[1:] for c in msg.param(2).split() if c.startswith("-")}
            self.caps = frozenset((self.caps | acked) - removed)
            if self._cap_done:
                return
            if self.account is not None and "sasl" in acked:
                step.send.append(Message("AUTHENTICATE", ["PLAIN"]))  # CAP END waits for the outcome
            else:
                self._end_cap(step)
        elif sub == "NAK" and not self._cap_done:
            if self.account is not None:
                self._refuse(step, "the server refused account login (SASL)", "account")
                return
            self._end_cap(step)
        elif sub == "DEL":
            self.caps = frozenset(self.caps - set(msg.param(2).split()))

    def _send_login(self, step: Step) -> None:
        """The SASL PLAIN payload, in 400-byte chunks; ``+`` ends one that filled its last chunk."""
        assert self.account is not None
        if not self.login_allowed:  # a server that asks without our AUTHENTICATE PLAIN gets nothing
            return
        name, password = self.account
        encoded = base64.b64encode(f"{name}\0{name}\0{password}".encode()).decode()
        chunks = [encoded[i : i + SASL_CHUNK] for i in range(0, len(encoded), SASL_CHUNK)]
        if len(chunks[-1]) == SASL_CHUNK:
            chunks.append("+")
        step.send.extend(Message("AUTHENTICATE", [chunk]) for chunk in chunks)

    def _login_numeric(self, msg: Message, step: Step) -> None:
        code = msg.command
        name = self.account[0] if self.account else "?"
        if code == rpl.RPL_LOGGEDIN:
            self.logged_in = msg.param(2) or name
            step.events.append(ev.Info(f"logged in as {self.logged_in}"))
        elif code == rpl.RPL_SASLSUCCESS:
            if not self._cap_done:
                self._end_cap(step)
        elif self.account is not None and not self.registered:  # 904, 905, 906 while logging in
            text = msg.params[-1] if len(msg.params) > 1 else ""
            detail = text.split(": ", 1)[1] if text.startswith("SASL authentication failed: ") else ""
            why = detail or ("wrong account name or password" if code == rpl.ERR_SASLFAIL else text or code)
            self._refuse(step, f"could not log in as {name}: {why}", "account")

    def _refuse(self, step: Step, reason: str, cause: str) -> None:
        self.refused = ev.Refused(reason, cause)
        step.events.append(self.refused)

    def _end_cap(self, step: Step) -> None:
        self._cap_done = True
        step.send.append(Message("CAP", ["END"]))

    def _numeric(self, msg: Message, step: Step) -> None:
        code = msg.command
        if code == rpl.RPL_WELCOME:
            self._welcome(msg, step)
        elif code in (rpl.RPL_YOURHOST, rpl.RPL_CREATED):
            step.events.append(ev.Info(msg.param(1)))
        elif code == rpl.RPL_MYINFO:
            self.server = msg.param(1) or self.server
            self.version = msg.param(2)
        elif code == rpl.RPL_ISUPPORT:
            for token in msg.params[1:-1]:
                key, _, value = token.partition("=")
                self.isupport[key.upper()] = value
                if key.upper() == "CASEMAPPING" and value:
                    step.events.append(ev.ServerFeatures(value.lower()))
        elif code in (rpl.ERR_NICKNAMEINUSE, rpl.ERR_ERRONEUSNICKNAME) and not self.registered:
            self._nick_refused(msg, step)
        elif code in (rpl.RPL_LOGGEDIN, rpl.RPL_SASLSUCCESS) or code in _SASL_FAILURES:
            self._login_numeric(msg, step)
        elif code == rpl.ERR_PASSWDMISMATCH and not self.registered:
            why = "the server password is wrong" if self.password else "this server needs a password"
            self._refuse(step, why, "password")
        elif code == rpl.ERR_PASSWDMISMATCH:
            step.events.append(ev.Error("wrong operator name or password"))
        elif code == rpl.RPL_TOPIC:
            step.events.append(ev.Topic(msg.param(1), msg.param(2)))
        elif code == rpl.RPL_NAMREPLY:
            key = casefold(msg.param(2))
            self._names.setdefault(key, []).extend(msg.param(3).split())
        elif code == rpl.RPL_ENDOFNAMES:
            self._end_of_names(msg.param(1), step)
        elif code == rpl.ERR_UNKNOWNCOMMAND and msg.param(1) == "CAP":
            self._cap_done = True  # a server without capabilities: plain registration goes on
        else:
            event = describe_numeric(msg)
            if event is not None:
                step.events.append(event)

    def _welcome(self, msg: Message, step: Step) -> None:
        self.registered = True
        self.nick = msg.param(0) or self.nick
        self.server = msg.prefix or self.server
        step.events.append(ev.Connected(self.server, self.nick, self.address))
        if msg.param(1):
            step.events.append(ev.Info(msg.param(1)))
        for channel in self.join:
            if casefold(channel) not in self.channels:
                step.send.append(Message("JOIN", [channel]))

    def _nick_refused(self, msg: Message, step: Step) -> None:
        refused = msg.param(1) or self.nick
        if msg.command == rpl.ERR_ERRONEUSNICKNAME:
            self.wanted_nick = usable_nick(refused, self.nick_length)
            self._fallbacks = 0
            new = self.wanted_nick
            if len(refused) > self.nick_length:
                why = f'the nick "{refused}" is too long (at most {self.nick_length} characters)'
            else:
                why = f'"{refused}" is not allowed as a nick'
        else:
            self._fallbacks += 1
            new = fallback_nick(self.wanted_nick, self._fallbacks, self.nick_length)
            if "reserved" in msg.params[-1]:
                why = f'the nick "{refused}" belongs to a registered user (log in with --account to use it)'
            else:
                why = f'the nick "{refused}" is taken'
        self.nick = new
        step.events.append(ev.Info(f'{why}; trying "{new}" instead'))
        step.send.append(Message("NICK", [new]))

    # ------------------------------------------------------------------------ channels

    def _join(self, msg: Message, step: Step) -> None:
        channel, nick = msg.param(0), msg.nick or ""
        key = casefold(channel)
        own = self.is_me(nick)
        if own:
            self.channels[key] = channel
            self.members[key] = {}
        room = self.members.get(key)
        if room is not None:
            room[casefold(nick)] = nick
        step.events.append(ev.Joined(channel, nick, own))

    def _leave(self, channel: str, nick: str) -> bool:
        """``nick`` is no longer in ``channel`` (PART or KICK); True if that is us."""
        key = casefold(channel)
        own = self.is_me(nick)
        if own:
            self.channels.pop(key, None)
            self.members.pop(key, None)
        else:
            self.members.get(key, {}).pop(casefold(nick), None)
        return own

    def _part(self, channel: str, nick: str, reason: str, step: Step) -> None:
        own = self._leave(channel, nick)
        step.events.append(ev.Parted(channel, nick, reason, own))

    def _kick(self, msg: Message, step: Step) -> None:
        channel, nick, by = msg.param(0), msg.param(1), msg.nick or "the server"
        own = self._leave(channel, nick)
        reason = msg.param(2)
        step.events.append(ev.Kicked(channel, nick, "" if reason == by else reason, own, by))

    def _quit(self, msg: Message, step: Step) -> None:
        nick = msg.nick or ""
        folded = casefold(nick)
        shared = []
        for key, room in self.members.items():
            if room.pop(folded, None) is not None:
                shared.append(self.channels.get(key, key))
        step.events.append(ev.Quit(nick, msg.param(0), tuple(shared)))

    def _nick(self, msg: Message, step: Step) -> None:
        old, new = msg.nick or "", msg.param(0)
        own = self.is_me(old)
        if own:
            self.nick = new
        shared = []
        for key, room in self.members.items():
            if room.pop(casefold(old), None) is not None:
                room[casefold(new)] = new
                shared.append(self.channels.get(key, key))
        step.events.append(ev.NickChanged(old, new, own, tuple(shared)))

    def _end_of_names(self, channel: str, step: Step) -> None:
        key = casefold(channel)
        names = self._names.pop(key, [])
        if channel == "*":
            return
        if key in self.members:
            self.members[key] = {casefold(n.lstrip("@+%~&")): n.lstrip("@+%~&") for n in names}
        step.events.append(ev.Names(self.channels.get(key, channel), tuple(names)))

    def _mode(self, msg: Message, step: Step) -> None:
        target = msg.param(0)
        change = " ".join(msg.params[1:])
        who = msg.nick or "the server"
        if not is_channel(target) and self.is_me(target):
            step.events.append(ev.Info(f"your modes changed: {change}"))
        else:
            step.events.append(ev.Info(f"{who} sets mode {change} on {target}"))

    # ------------------------------------------------------------------------ messages

    def _privmsg(self, msg: Message, when: datetime, step: Step) -> None:
        target, text = msg.param(0), msg.param(1)
        notice = msg.command == "NOTICE"
        prefix = msg.prefix or ""
        if notice and "!" not in prefix:
            step.events.append(ev.Info(text))  # from the server itself
            return
        sender = msg.nick or ""
        action = False
        if text.startswith("\x01"):
            if text.startswith(ACTION_PREFIX):
                action = True
                text = text[len(ACTION_PREFIX) :].rstrip("\x01")
            else:
                self._ctcp(sender, text.strip("\x01"), notice, step)
                return
        own = self.is_me(sender)
        step.events.append(
            ev.Message(
                target=target,
                sender=sender,
                text=text,
                action=action,
                notice=notice,
                time=_parse_time(msg.tags.get("time"), when),
                msgid=msg.tags.get("msgid"),
                own=own,
                cid=msg.tags.get(CID_TAG),  # ours if it is in our outbox, whatever nick we had
            )
        )

    def _ctcp(self, sender: str, body: str, notice: bool, step: Step) -> None:
        """Answer the two CTCP queries people still send; never answer a NOTICE (loops)."""
        verb, _, arg = body.partition(" ")
        verb = verb.upper()
        if notice or self.is_me(sender):
            return
        if verb == "VERSION":
            from chat import __version__

            step.send.append(Message("NOTICE", [sender, f"\x01VERSION chat {__version__}\x01"]))
        elif verb == "PING":
            step.send.append(Message("NOTICE", [sender, f"\x01PING {arg}\x01" if arg else "\x01PING\x01"]))
        else:
            log.debug("ignoring CTCP %s from %s", verb, sender)
