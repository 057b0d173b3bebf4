"""Rooms: JOIN, PART, TOPIC, NAMES, LIST and channel MODE."""

from __future__ import annotations

from chat.protocol import Message, casefold, clean_text, clip_utf8, is_channel, valid_channel
from chat.protocol import numerics as rpl
from chat.server.core import ServerCore
from chat.server.registry import command
from chat.server.state import Channel, Client


@command("JOIN", min_params=1)
def join(core: ServerCore, client: Client, msg: Message) -> None:
    if msg.params[0] == "0":
        for key in list(client.channels):  # a copy: part_channel takes each key out
            part_channel(core, client, core.channels[key], "Left all channels")
        return
    for name in msg.params[0].split(","):
        if name:
            join_channel(core, client, name)


def join_channel(core: ServerCore, client: Client, name: str) -> None:
    if not valid_channel(name, core.limits.channel_length):
        core.reply(client, rpl.ERR_NOSUCHCHANNEL, name, "Invalid channel name")
        return
    key = casefold(name)
    if key in client.channels:
        return
    if len(client.channels) >= core.limits.max_channels:
        core.reply(client, rpl.ERR_TOOMANYCHANNELS, name, "You have joined too many channels")
        return
    channel = core.channels.get(key)
    if channel is None:
        channel = core.channels[key] = Channel(name=name, created=core.clock())
    channel.members[client] = "" if channel.members else "@"
    client.channels.add(key)
    core.send_to_channel(channel, f":{client.prefix} JOIN {channel.name}\r\n".encode())
    if channel.topic:
        send_topic(core, client, channel)
    send_names(core, client, channel)


@command("PART", min_params=1)
def part(core: ServerCore, client: Client, msg: Message) -> None:
    reason = clean_text(msg.param(1))
    for name in msg.params[0].split(","):
        if not name:
            continue
        channel = core.find_channel(name)
        if channel is None:
            core.reply(client, rpl.ERR_NOSUCHCHANNEL, name, "No such channel")
        elif client not in channel.members:
            core.reply(client, rpl.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        else:
            part_channel(core, client, channel, reason)


def part_channel(core: ServerCore, client: Client, channel: Channel, reason: str) -> None:
    params = [channel.name, reason] if reason else [channel.name]
    core.send_to_channel(channel, Message("PART", params, client.prefix).encode(core.limits.max_line))
    leave_channel(core, client, channel)


def leave_channel(core: ServerCore, client: Client, channel: Channel) -> None:
    """``client`` is out of ``channel`` (PART, KICK); an empty room goes away."""
    del channel.members[client]
    key = casefold(channel.name)
    client.channels.discard(key)
    if not channel.members:
        del core.channels[key]


@command("TOPIC", min_params=1)
def topic(core: ServerCore, client: Client, msg: Message) -> None:
    channel = core.find_channel(msg.params[0])
    if channel is None:
        core.reply(client, rpl.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    if len(msg.params) == 1:
        if channel.topic:
            send_topic(core, client, channel)
        else:
            core.reply(client, rpl.RPL_NOTOPIC, channel.name, "No topic is set")
        return
    if client not in channel.members:
        core.reply(client, rpl.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if "t" in channel.modes and not channel.is_operator(client):
        core.reply(client, rpl.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    channel.topic = clip_utf8(clean_text(msg.params[1]), core.limits.topic_length)  # TOPICLEN is in bytes
    channel.topic_by = client.prefix
    channel.topic_time = core.clock()
    line = Message("TOPIC", [channel.name, channel.topic], client.prefix).encode(core.limits.max_line)
    core.send_to_channel(channel, line)


def send_topic(core: ServerCore, client: Client, channel: Channel) -> None:
    core.reply(client, rpl.RPL_TOPIC, channel.name, channel.topic)
    core.reply(client, rpl.RPL_TOPICWHOTIME, channel.name, channel.topic_by, str(int(channel.topic_time)))


@command("NAMES")
def names(core: ServerCore, client: Client, msg: Message) -> None:
    if not msg.params:
        for key in sorted(client.channels):
            send_names(core, client, core.channels[key])
        if not client.channels:
            core.reply(client, rpl.RPL_ENDOFNAMES, "*", "End of /NAMES list")
        return
    for name in msg.params[0].split(","):
        channel = core.find_channel(name)
        if channel is not None:
            send_names(core, client, channel)
        else:
            core.reply(client, rpl.RPL_ENDOFNAMES, name, "End of /NAMES list")


def send_names(core: ServerCore, client: Client, channel: Channel) -> None:
    entries = [prefix + member.nick for member, prefix in channel.members.items()]
    # Keep each 353 line well under 512 bytes.
    batch: list[str] = []
    size = 0
    for entry in entries:
        if size + len(entry) > 350 and batch:
            core.reply(client, rpl.RPL_NAMREPLY, "=", channel.name, " ".join(batch))
            batch, size = [], 0
        batch.append(entry)
        size += len(entry) + 1
    if batch:
        core.reply(client, rpl.RPL_NAMREPLY, "=", channel.name, " ".join(batch))
    core.reply(client, rpl.RPL_ENDOFNAMES, channel.name, "End of /NAMES list")


@command("LIST")
def list_(core: ServerCore, client: Client, msg: Message) -> None:
    wanted = {casefold(n) for n in msg.param(0).split(",") if n}
    core.reply(client, rpl.RPL_LISTSTART, "Channel", "Users  Name")
    for key, channel in sorted(core.channels.items()):
        if not wanted or key in wanted:
            core.reply(client, rpl.RPL_LIST, channel.name, str(len(channel.members)), channel.topic)
    core.reply(client, rpl.RPL_LISTEND, "End of /LIST")


@command("MODE", min_params=1)
def mode(core: ServerCore, client: Client, msg: Message) -> None:
    target = msg.params[0]
    if is_channel(target):
        channel_mode(core, client, msg)
    else:
        user_mode(core, client, msg)


def channel_mode(core: ServerCore, client: Client, msg: Message) -> None:
    channel = core.find_channel(msg.params[0])
    if channel is None:
        core.reply(client, rpl.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    if len(msg.params) == 1:
        core.reply(client, rpl.RPL_CHANNELMODEIS, channel.name, "+" + "".join(sorted(channel.modes)))
        core.reply(client, rpl.RPL_CREATIONTIME, channel.name, str(int(channel.created)))
        return
    change = msg.params[1]
    if change.lstrip("+-") in ("b", "e", "I"):
        # List queries that clients send on join; we keep no such lists.
        end = {"b": "368", "e": "349", "I": "347"}[change.lstrip("+-")]
        core.reply(client, end, channel.name, "End of list")
        return
    if not channel.is_operator(client):
        core.reply(client, rpl.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    applied = _apply_channel_modes(core, client, channel, change, msg.params[2:])
    if applied:
        line = Message("MODE", [channel.name, *applied], client.prefix).encode(core.limits.max_line)
        core.send_to_channel(channel, line)


def _apply_channel_modes(core: ServerCore, client: Client, channel: Channel, change: str, args: list[str]) -> list[str]:
    """Apply +/-n, +/-t and +/-o; return the MODE parameters that actually changed something."""
    adding = True
    done = ""
    done_args: list[str] = []
    sign = ""
    arg_iter = iter(args)
    for letter in change:
        if letter in "+-":
            adding = letter == "+"
            continue
        if letter in "nt":
            if (letter in channel.modes) != adding:
                channel.modes.symmetric_difference_update({letter})
                prefix = "+" if adding else "-"
                done += ("" if sign == prefix else prefix) + letter
                sign = prefix
        elif letter == "o":
            nick = next(arg_iter, None)
            target = core.find_nick(nick) if nick else None
            if target is None or target not in channel.members:
                core.reply(client, rpl.ERR_USERNOTINCHANNEL, nick or "*", channel.name, "They aren't on that channel")
                continue
            channel.members[target] = "@" if adding else ""
            prefix = "+" if adding else "-"
            done += ("" if sign == prefix else prefix) + letter
            sign = prefix
            done_args.append(target.nick)
        else:
            core.reply(client, rpl.ERR_UNKNOWNMODE, letter, "is an unknown mode char to me")
    return [done, *done_args] if done else []


def user_mode(core: ServerCore, client: Client, msg: Message) -> None:
    if casefold(msg.params[0]) != casefold(client.nick):
        if core.find_nick(msg.params[0]) is None:
            core.reply(client, rpl.ERR_NOSUCHNICK, msg.params[0], "No such nick")
        else:
            core.reply(client, rpl.ERR_USERSDONTMATCH, "Can't change mode for other users")
        return
    if len(msg.params) == 1:
        core.reply(client, rpl.RPL_UMODEIS, "+" + "".join(sorted(client.modes)))
        return
    adding = True
    changed = ""
    for letter in msg.params[1]:
        if letter in "+-":
            adding = letter == "+"
        elif letter == "i":
            if ("i" in client.modes) != adding:
                client.modes.symmetric_difference_update({"i"})
                changed += ("+" if adding else "-") + "i"
        elif letter == "o":
            if not adding and "o" in client.modes:  # giving up operator rights; +o needs OPER
                client.modes.discard("o")
                client.oper = None
                changed += "-o"
        else:
            core.reply(client, rpl.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")
    if changed:
        core.send_message(client, Message("MODE", [client.nick, changed], client.prefix))
