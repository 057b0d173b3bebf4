"""PRIVMSG, NOTICE and TAGMSG: the messages people actually read.

Each message is encoded at most three times whatever the audience size — with all tags (for
``message-tags`` clients), with only ``time`` (``server-time`` only), and bare — and the
matching bytes are appended to each recipient's buffer.
"""

from __future__ import annotations

from chat.protocol import Message, format_tags, is_channel
from chat.protocol import numerics as rpl
from chat.server.core import ServerCore, format_server_time
from chat.server.registry import command
from chat.server.state import Client

MAX_TARGETS = 4


class Outgoing:
    """One message in its wire variants, each built on first use."""

    __slots__ = ("_bare", "_full", "_timed", "body", "tags")

    def __init__(self, body: str, tags: dict[str, str]) -> None:
        self.body = body  # ":prefix COMMAND target :text" without CRLF
        self.tags = tags
        self._full: bytes | None = None
        self._timed: bytes | None = None
        self._bare: bytes | None = None

    def for_client(self, client: Client) -> bytes:
        caps = client.caps
        if "message-tags" in caps:
            if self._full is None:
                self._full = f"@{format_tags(self.tags)} {self.body}\r\n".encode()
            return self._full
        if "server-time" in caps:
            if self._timed is None:
                self._timed = f"@time={self.tags['time']} {self.body}\r\n".encode()
            return self._timed
        if self._bare is None:
            self._bare = f"{self.body}\r\n".encode()
        return self._bare


@command("PRIVMSG", "NOTICE", "TAGMSG")
def privmsg(core: ServerCore, client: Client, msg: Message) -> None:
    command_name = msg.command
    quiet = command_name == "NOTICE"  # RFC 2812: no automatic replies to a NOTICE
    tagmsg = command_name == "TAGMSG"
    if not msg.params or not msg.params[0]:
        if not quiet:
            core.reply(client, rpl.ERR_NORECIPIENT, f"No recipient given ({command_name})")
        return
    text = msg.param(1)
    if not tagmsg and not text:
        if not quiet:
            core.reply(client, rpl.ERR_NOTEXTTOSEND, "No text to send")
        return
    now = core.clock()
    client.last_message = now
    client_tags = {k: v for k, v in msg.tags.items() if k.startswith("+")}
    for target in msg.params[0].split(",")[:MAX_TARGETS]:
        if not target:
            continue
        tags = {"time": format_server_time(now), "msgid": core.new_msgid(), **client_tags}
        if tagmsg:
            body = f":{client.prefix} TAGMSG {target}"
        else:
            body = f":{client.prefix} {command_name} {target} :{text}"
        out = Outgoing(body, tags)
        if is_channel(target):
            _to_channel(core, client, target, out, quiet=quiet, tagmsg=tagmsg)
        else:
            _to_user(core, client, target, out, quiet=quiet, tagmsg=tagmsg)


def _to_channel(
    core: ServerCore, client: Client, target: str, out: Outgoing, *, quiet: bool, tagmsg: bool
) -> None:
    channel = core.find_channel(target)
    if channel is None:
        if not quiet:
            core.reply(client, rpl.ERR_NOSUCHCHANNEL, target, "No such channel")
        return
    if "n" in channel.modes and client not in channel.members:
        if not quiet:
            core.reply(
                client, rpl.ERR_CANNOTSENDTOCHAN, channel.name, "Cannot send to channel (you are not in it)"
            )
        return
    send = core.send
    for member in channel.members:
        if member is client:
            continue
        if tagmsg and "message-tags" not in member.caps:
            continue
        send(member, out.for_client(member))
    _echo(core, client, out, tagmsg)


def _to_user(
    core: ServerCore, client: Client, target: str, out: Outgoing, *, quiet: bool, tagmsg: bool
) -> None:
    recipient = core.find_nick(target)
    if recipient is None:
        if not quiet:
            core.reply(client, rpl.ERR_NOSUCHNICK, target, "No such nick/channel")
        return
    echoed = "echo-message" in client.caps
    if (recipient is not client or not echoed) and not (tagmsg and "message-tags" not in recipient.caps):
        core.send(recipient, out.for_client(recipient))
    if recipient.away is not None and not quiet and not tagmsg:
        core.reply(client, rpl.RPL_AWAY, recipient.nick, recipient.away)
    _echo(core, client, out, tagmsg)


def _echo(core: ServerCore, client: Client, out: Outgoing, tagmsg: bool) -> None:
    """echo-message: the sender's copy is its acknowledgement that the server took the message."""
    if "echo-message" in client.caps and not (tagmsg and "message-tags" not in client.caps):
        core.send(client, out.for_client(client))
