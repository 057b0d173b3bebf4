"""Questions users ask the server: WHO, WHOIS, MOTD, LUSERS, VERSION, ISON, USERHOST, and AWAY."""

from __future__ import annotations

from chat.protocol import Message, clean_text, clip_utf8, is_channel
from chat.protocol import numerics as rpl
from chat.server.core import ServerCore
from chat.server.registry import command
from chat.server.state import Client


def send_motd(core: ServerCore, client: Client) -> None:
    motd = core.settings.motd
    if not motd:
        core.reply(client, rpl.ERR_NOMOTD, "MOTD File is missing")
        return
    core.reply(client, rpl.RPL_MOTDSTART, f"- {core.name} Message of the day - ")
    for line in motd.splitlines() or [""]:
        core.reply(client, rpl.RPL_MOTD, f"- {line}")
    core.reply(client, rpl.RPL_ENDOFMOTD, "End of /MOTD command.")


def send_lusers(core: ServerCore, client: Client) -> None:
    users = sum(1 for _ in core.registered_clients())
    core.reply(client, rpl.RPL_LUSERCLIENT, f"There are {users} users and 0 invisible on 1 servers")
    core.reply(client, rpl.RPL_LUSERCHANNELS, str(len(core.channels)), "channels formed")
    core.reply(client, rpl.RPL_LUSERME, f"I have {users} clients and 0 servers")
    core.reply(
        client,
        "265",
        str(users),
        str(core.max_seen_clients),
        f"Current local users {users}, max {core.max_seen_clients}",
    )
    core.reply(
        client,
        "266",
        str(users),
        str(core.max_seen_clients),
        f"Current global users {users}, max {core.max_seen_clients}",
    )


@command("MOTD")
def motd(core: ServerCore, client: Client, msg: Message) -> None:
    send_motd(core, client)


@command("LUSERS")
def lusers(core: ServerCore, client: Client, msg: Message) -> None:
    send_lusers(core, client)


@command("VERSION")
def version(core: ServerCore, client: Client, msg: Message) -> None:
    core.reply(client, "351", core.version, core.name, "LAN chat server")


@command("AWAY")
def away(core: ServerCore, client: Client, msg: Message) -> None:
    text = clip_utf8(clean_text(msg.param(0)), core.limits.away_length)  # AWAYLEN is in bytes
    if text:
        client.away = text
        core.reply(client, rpl.RPL_NOWAWAY, "You have been marked as being away")
    else:
        client.away = None
        core.reply(client, rpl.RPL_UNAWAY, "You are no longer marked as being away")


def _who_line(core: ServerCore, asker: Client, channel_name: str, member: Client, prefix: str) -> None:
    flags = ("G" if member.away is not None else "H") + prefix
    core.reply(
        asker,
        rpl.RPL_WHOREPLY,
        channel_name,
        member.user or "~u",
        member.host,
        core.name,
        member.nick,
        flags,
        f"0 {member.realname}",
    )


@command("WHO")
def who(core: ServerCore, client: Client, msg: Message) -> None:
    mask = msg.param(0, "*")
    if is_channel(mask):
        channel = core.find_channel(mask)
        if channel is not None:
            for member, prefix in channel.members.items():
                _who_line(core, client, channel.name, member, prefix)
    else:
        target = core.find_nick(mask)
        if target is not None:
            _who_line(core, client, "*", target, "")
    core.reply(client, rpl.RPL_ENDOFWHO, mask, "End of WHO list")


@command("WHOIS", min_params=1)
def whois(core: ServerCore, client: Client, msg: Message) -> None:
    nick = msg.params[-1].split(",")[0]
    target = core.find_nick(nick)
    if target is None:
        core.reply(client, rpl.ERR_NOSUCHNICK, nick, "No such nick/channel")
        core.reply(client, rpl.RPL_ENDOFWHOIS, nick, "End of /WHOIS list")
        return
    core.reply(client, rpl.RPL_WHOISUSER, target.nick, target.user, target.host, "*", target.realname)
    rooms = []
    for key in sorted(target.channels):
        channel = core.channels[key]
        rooms.append(channel.members[target] + channel.name)
    if rooms:
        core.reply(client, rpl.RPL_WHOISCHANNELS, target.nick, " ".join(rooms))
    core.reply(client, rpl.RPL_WHOISSERVER, target.nick, core.name, core.settings.network)
    if target.secure:
        core.reply(client, rpl.RPL_WHOISSECURE, target.nick, "is using a secure connection")
    if target.away is not None:
        core.reply(client, rpl.RPL_AWAY, target.nick, target.away)
    if "o" in target.modes:
        core.reply(client, rpl.RPL_WHOISOPERATOR, target.nick, "is an IRC operator")
    if target.account is not None:
        core.reply(client, rpl.RPL_WHOISACCOUNT, target.nick, target.account, "is logged in as")
    now = core.clock()
    core.reply(
        client,
        rpl.RPL_WHOISIDLE,
        target.nick,
        str(int(now - target.last_message)),
        str(int(target.connected_at)),
        "seconds idle, signon time",
    )
    core.reply(client, rpl.RPL_ENDOFWHOIS, target.nick, "End of /WHOIS list")


@command("ISON", min_params=1)
def ison(core: ServerCore, client: Client, msg: Message) -> None:
    words = " ".join(msg.params).split()
    online = [c.nick for c in (core.find_nick(w) for w in words) if c is not None]
    core.reply(client, "303", " ".join(online))


@command("USERHOST", min_params=1)
def userhost(core: ServerCore, client: Client, msg: Message) -> None:
    replies = []
    for nick in msg.params[:5]:
        target = core.find_nick(nick)
        if target is not None:
            away = "-" if target.away is not None else "+"
            replies.append(f"{target.nick}={away}{target.user}@{target.host}")
    core.reply(client, "302", " ".join(replies))
