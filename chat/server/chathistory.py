"""CHATHISTORY (IRCv3 draft/chathistory): how a reconnecting client fetches what it missed.

References are ``msgid=…`` or ``timestamp=…`` (``*`` for LATEST). Each is turned into a pair of
exclusive sequence bounds — messages strictly after it have ``seq > lo``, strictly before it
``seq < hi`` — so every subcommand is one ordered range query on the store.
"""

from __future__ import annotations

from datetime import UTC, datetime

from chat.protocol import Message, casefold, is_channel, valid_nick
from chat.protocol.message import middle_param
from chat.server.core import ServerCore, format_server_time
from chat.server.history import StoredMessage, conversation_key
from chat.server.messaging import replay_outgoing
from chat.server.registry import command
from chat.server.state import Client

#: Subcommand -> how many parameters it needs, the subcommand included.
SUBCOMMANDS = {"LATEST": 4, "BEFORE": 4, "AFTER": 4, "AROUND": 4, "BETWEEN": 5, "TARGETS": 4}
NEWEST = 1 << 62


class _Fail(Exception):
    def __init__(self, code: str, *context: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.context = context
        self.description = description


#: Flood control: a history request costs a tenth of a line up front (core.CHEAP_COMMANDS) and one
#: line more per this many messages it returned, so catching up stays quick while asking for
#: thousands of messages again and again is slowed down like any other flood.
ROWS_PER_TOKEN = 250


def parse_timestamp(text: str) -> int:
    """Milliseconds since the epoch from ``YYYY-MM-DDThh:mm:ss[.sss]Z``."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            parsed = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        return int(parsed.timestamp() * 1000)
    raise ValueError(text)


@command("CHATHISTORY", min_params=1)
def chathistory(core: ServerCore, client: Client, msg: Message) -> None:
    sub = msg.params[0].upper()
    try:
        if sub not in SUBCOMMANDS:
            raise _Fail("UNKNOWN_COMMAND", msg.params[0], description="Unknown subcommand")
        if len(msg.params) < SUBCOMMANDS[sub]:
            raise _Fail("NEED_MORE_PARAMS", sub, description="Missing parameters")
        limit = _limit(core, sub, msg.params[-1])
        if sub == "TARGETS":
            _targets(core, client, msg.params[1], msg.params[2], limit)
        else:
            _history(core, client, sub, msg.params[1], msg.params[2:-1], limit)
    except _Fail as fail:
        context = [middle_param(c) for c in fail.context]  # they echo the request: "a b", ":x", ""
        core.send_message(client, Message("FAIL", ["CHATHISTORY", fail.code, *context, fail.description], core.name))


def _limit(core: ServerCore, sub: str, text: str) -> int:
    # isdigit() alone lets through "²", which int() refuses.
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise _Fail("INVALID_PARAMS", sub, text, description="The limit must be a positive number")
    return min(int(text), core.settings.history.max_fetch)


def _conversation(core: ServerCore, client: Client, sub: str, target: str) -> str:
    """The store key for ``target`` as seen by ``client``, refusing rooms it is not in."""
    if is_channel(target):
        channel = core.find_channel(target)
        if channel is None or client not in channel.members:
            raise _Fail("INVALID_TARGET", sub, target, description="You are not in that channel")
        return casefold(channel.name)
    if not valid_nick(target, core.limits.nick_length):
        raise _Fail("INVALID_TARGET", sub, target, description="No such nick or channel")
    return conversation_key(casefold(client.nick), casefold(target), channel=False)


def _bounds(core: ServerCore, sub: str, conversation: str, ref: str) -> tuple[int, int]:
    """(lo, hi): messages after ``ref`` have seq > lo, messages before it seq < hi."""
    kind, _, value = ref.partition("=")
    if kind == "msgid" and value:
        seq = core.history.seq_of_msgid(conversation, value)
        if seq is None:
            raise _Fail("INVALID_PARAMS", sub, ref, description="Unknown message id")
        return seq, seq
    if kind == "timestamp" and value:
        try:
            ms = parse_timestamp(value)
        except ValueError:
            raise _Fail("INVALID_PARAMS", sub, ref, description="Bad timestamp") from None
        history = core.history
        return history.seq_at_time(conversation, ms, after=True), history.seq_at_time(conversation, ms, after=False)
    raise _Fail("INVALID_PARAMS", sub, ref, description="Expected msgid=… or timestamp=…")


def _history(core: ServerCore, client: Client, sub: str, target: str, refs: list[str], limit: int) -> None:
    conversation = _conversation(core, client, sub, target)
    history = core.history
    found: list[StoredMessage]
    if sub == "LATEST":
        lo = 0 if refs[0] == "*" else _bounds(core, sub, conversation, refs[0])[0]
        found = [m for m in history.before(conversation, NEWEST, limit) if m.seq > lo]
    elif sub == "BEFORE":
        found = history.before(conversation, _bounds(core, sub, conversation, refs[0])[1], limit)
    elif sub == "AFTER":
        found = history.after(conversation, _bounds(core, sub, conversation, refs[0])[0], limit)
    elif sub == "AROUND":
        lo, hi = _bounds(core, sub, conversation, refs[0])
        earlier = history.before(conversation, hi, limit // 2)
        found = earlier + history.after(conversation, hi - 1, limit - len(earlier))
    else:  # BETWEEN
        (lo1, hi1), (lo2, hi2) = (_bounds(core, sub, conversation, ref) for ref in refs)
        if lo1 < hi2:
            found = [m for m in history.after(conversation, lo1, limit) if m.seq < hi2]
        else:
            found = [m for m in history.before(conversation, hi1, limit) if m.seq > lo2]
    core.charge(client, len(found) / ROWS_PER_TOKEN)
    batch = _open_batch(core, client, "chathistory", target)
    for stored in found:
        core.send(client, replay_outgoing(stored, batch).for_client(client))
    _close_batch(core, client, batch)


def _targets(core: ServerCore, client: Client, first: str, second: str, limit: int) -> None:
    bounds = []
    for ref in (first, second):
        kind, _, value = ref.partition("=")
        try:
            if kind != "timestamp":
                raise ValueError(ref)
            bounds.append(parse_timestamp(value))
        except ValueError:
            raise _Fail("INVALID_PARAMS", "TARGETS", ref, description="Expected timestamp=…") from None
    start, end = sorted(bounds)
    me = casefold(client.nick)
    found = core.history.targets(me, sorted(client.channels), start, end, limit)
    core.charge(client, (len(client.channels) + len(found)) / ROWS_PER_TOKEN)
    batch = _open_batch(core, client, "draft/chathistory-targets")
    tag = {"batch": batch} if batch else {}
    for conversation, latest in found:
        if " " in conversation:
            a, b = conversation.split(" ")
            shown = b if a == me else a
        else:
            channel = core.channels.get(conversation)
            shown = channel.name if channel else conversation
        line = Message("CHATHISTORY", ["TARGETS", shown, format_server_time(latest / 1000)], core.name, tag)
        core.send_message(client, line)
    _close_batch(core, client, batch)


def _open_batch(core: ServerCore, client: Client, kind: str, *params: str) -> str | None:
    if "batch" not in client.caps:
        return None
    ref = core.new_batch_id()
    core.send_message(client, Message("BATCH", ["+" + ref, kind, *params], core.name))
    return ref


def _close_batch(core: ServerCore, client: Client, ref: str | None) -> None:
    if ref is not None:
        core.send_message(client, Message("BATCH", ["-" + ref], core.name))
