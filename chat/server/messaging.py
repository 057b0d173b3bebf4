"""PRIVMSG, NOTICE and TAGMSG: the messages people actually read.

Each message is encoded at most three times whatever the audience size — with all tags (for
``message-tags`` clients), with only ``time`` (``server-time`` only), and bare — and the
matching bytes are appended to each recipient's buffer.
"""

from __future__ import annotations

from chat.protocol import Message, casefold, clip_utf8, format_tags, is_channel, parse_tags, valid_tag_key
from chat.protocol import numerics as rpl
from chat.server.core import ServerCore, format_server_time
from chat.server.history import StoredMessage, conversation_key
from chat.server.registry import command
from chat.server.state import Channel, Client

MAX_TARGETS = 4
#: The client-only tag carrying the sender's own id for a message, which makes resends idempotent.
CLIENT_ID_TAG = "+chat/cid"


class Outgoing:
    """One message in its wire variants, each built on first use."""

    __slots__ = ("_bare", "_full", "_timed", "batch", "body", "tags")

    def __init__(self, body: str, tags: dict[str, str], batch: str | None = None) -> None:
        self.body = body  # ":prefix COMMAND target :text" without CRLF
        self.tags = tags
        self.batch = batch  # a chathistory batch this copy belongs to
        self._full: bytes | None = None
        self._timed: bytes | None = None
        self._bare: bytes | None = None

    def for_client(self, client: Client) -> bytes:
        caps = client.caps
        batch = f"batch={self.batch};" if self.batch and "batch" in caps else ""
        if "message-tags" in caps:
            if self._full is None:
                self._full = f"@{batch}{format_tags(self.tags)} {self.body}\r\n".encode()
            return self._full
        if "server-time" in caps:
            if self._timed is None:
                self._timed = f"@{batch}time={self.tags['time']} {self.body}\r\n".encode()
            return self._timed
        if self._bare is None:
            prefix = f"@{batch[:-1]} " if batch else ""
            self._bare = f"{prefix}{self.body}\r\n".encode()
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
    # Only client-only tags are relayed, and only well-formed ones: a key with odd characters
    # could break a recipient's tag parser.
    client_tags = {k: v for k, v in msg.tags.items() if k.startswith("+") and valid_tag_key(k)}
    cid = client_tags.get(CLIENT_ID_TAG) or None
    for target in msg.params[0].split(",")[:MAX_TARGETS]:
        if target:
            _deliver(core, client, command_name, target, text, client_tags, cid, now, quiet=quiet)


def _deliver(
    core: ServerCore,
    client: Client,
    command_name: str,
    target: str,
    text: str,
    client_tags: dict[str, str],
    cid: str | None,
    now: float,
    *,
    quiet: bool,
) -> None:
    tagmsg = command_name == "TAGMSG"
    if cid is not None and not tagmsg:
        earlier = core.history.by_cid(cid, casefold(target))
        if earlier is not None:
            # A resend of something already stored: acknowledge it again, deliver it to nobody.
            # Checked first: the recipient may have gone, or the sender come back under another nick.
            _echo(core, client, replay_outgoing(earlier), tagmsg)
            return
    channel: Channel | None = None
    recipient: Client | None = None
    if is_channel(target):
        channel = core.find_channel(target)
        if channel is None:
            if not quiet:
                core.reply(client, rpl.ERR_NOSUCHCHANNEL, target, "No such channel")
            return
        if "n" in channel.modes and client not in channel.members:
            if not quiet:
                core.reply(
                    client,
                    rpl.ERR_CANNOTSENDTOCHAN,
                    channel.name,
                    "Cannot send to channel (you are not in it)",
                )
            return
        conversation = casefold(channel.name)
    else:
        recipient = core.find_nick(target)
        if recipient is None:
            if not quiet:
                core.reply(client, rpl.ERR_NOSUCHNICK, target, "No such nick/channel")
            return
        conversation = conversation_key(casefold(client.nick), casefold(recipient.nick), channel=False)

    sender = casefold(client.nick)
    head = f":{client.prefix} {command_name} {target}"
    # A client's longest line grows by our prefix: the text is cut so every copy fits in 512
    # bytes, and the cut text is what is stored, so history replays what was delivered.
    text = clip_utf8(text, core.limits.max_line - 2 - len(head.encode()) - 2)
    body = head if tagmsg else f"{head} :{text}"
    tags = {"time": format_server_time(now), "msgid": core.new_msgid(), **client_tags}
    out = Outgoing(body, tags)
    if not tagmsg:
        core.history.add(
            StoredMessage(
                seq=core.history.next_seq(),
                msgid=tags["msgid"],
                time_ms=int(now * 1000),
                conversation=conversation,
                target=target,
                command=command_name,
                prefix=client.prefix,
                sender=sender,
                text=text,
                client_tags=format_tags(client_tags),
                cid=cid,
            )
        )

    if channel is not None:
        send = core.send
        for member in channel.members:  # nobody leaves mid-command: SendQ drops wait (core.send)
            if member is client or (tagmsg and "message-tags" not in member.caps):
                continue
            send(member, out.for_client(member))
    elif recipient is not None:
        echoed = "echo-message" in client.caps
        if (recipient is not client or not echoed) and not (tagmsg and "message-tags" not in recipient.caps):
            core.send(recipient, out.for_client(recipient))
        if recipient.away is not None and not quiet and not tagmsg:
            core.reply(client, rpl.RPL_AWAY, recipient.nick, recipient.away)
    _echo(core, client, out, tagmsg)


def replay_outgoing(stored: StoredMessage, batch: str | None = None) -> Outgoing:
    """A stored message in its wire variants, exactly as it was first delivered (same msgid)."""
    tags = {"time": format_server_time(stored.time_ms / 1000), "msgid": stored.msgid}
    if stored.client_tags:
        tags.update(parse_tags(stored.client_tags))
    body = f":{stored.prefix} {stored.command} {stored.target} :{stored.text}"
    return Outgoing(body, tags, batch)


def _echo(core: ServerCore, client: Client, out: Outgoing, tagmsg: bool) -> None:
    """echo-message: the sender's copy is its acknowledgement that the server took the message."""
    if "echo-message" in client.caps and not (tagmsg and "message-tags" not in client.caps):
        core.send(client, out.for_client(client))
