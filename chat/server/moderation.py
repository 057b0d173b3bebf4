"""Keeping order: OPER (become a server operator), KILL (drop someone from the server) and
KICK (remove someone from a room). Every KILL and KICK is logged with who did it, since these
are the actions people will ask about afterwards."""

from __future__ import annotations

import logging

from chat.protocol import Message
from chat.protocol import numerics as rpl
from chat.server import auth
from chat.server.channels import leave_channel
from chat.server.core import ServerCore, safe_reason
from chat.server.registry import command
from chat.server.state import Client

log = logging.getLogger(__name__)


@command("OPER", min_params=2)
def oper(core: ServerCore, client: Client, msg: Message) -> None:
    """``OPER <account> <password>``: an account with the oper flag makes its user +o."""
    name, password = msg.params[0], msg.params[1]
    refusal = auth.plaintext_refusal(core, client)
    if refusal is not None:
        core.reply(client, rpl.ERR_NOOPERHOST, f"Not over this connection: {refusal}")
        return
    refusal = auth.login_refusal(core, client)
    if refusal is not None:
        core.reply(client, rpl.ERR_NOOPERHOST, f"Password not checked: {refusal}")
        return
    account = core.accounts.verify(name, password)
    if account is None:
        core.reply(client, rpl.ERR_PASSWDMISMATCH, "Password incorrect")
        auth.failed_attempt(core, client, f"OPER as {name!r}")
        return
    if not account.oper:
        core.reply(client, rpl.ERR_NOOPERHOST, f"The account {account.name} is not an operator account")
        return
    client.oper = account.name
    if "o" not in client.modes:
        client.modes.add("o")
        core.send_message(client, Message("MODE", [client.nick, "+o"], client.prefix))
    core.reply(client, rpl.RPL_YOUREOPER, "You are now an IRC operator")
    log.info("%s (%s) is now a server operator (account %s)", client.nick, client.host, account.name)


def is_server_operator(core: ServerCore, client: Client) -> bool:
    """+o, and the account it was gained with still has the oper flag in the store.

    The mode alone is not enough: an admin who removes the account or its oper flag (``chat
    user ...``) expects the rights to end, not to last as long as the connection. A client whose
    account lost them loses +o here, at its next use of them."""
    if "o" not in client.modes:
        return False
    account = core.accounts.get(client.oper) if client.oper else None
    if account is not None and account.oper:
        return True
    log.info("%s (%s) is no longer a server operator: account %s lost it", client.nick, client.host, client.oper)
    client.modes.discard("o")
    client.oper = None
    core.send_message(client, Message("MODE", [client.nick, "-o"], client.prefix))
    return False


@command("KILL", min_params=1)
def kill(core: ServerCore, client: Client, msg: Message) -> None:
    """``KILL <nick> [:reason]``: disconnect someone; their rooms see it as a QUIT."""
    if not is_server_operator(core, client):
        core.reply(client, rpl.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
        return
    target = core.find_nick(msg.params[0])
    if target is None:
        core.reply(client, rpl.ERR_NOSUCHNICK, msg.params[0], "No such nick/channel")
        return
    reason = safe_reason(msg.param(1)) or "No reason given"
    text = f"Killed ({client.nick} ({reason}))"
    log.info("KILL: %s (oper %s) killed %s (%s): %s", client.nick, client.oper, target.nick, target.host, reason)
    core.send_message(target, Message("KILL", [target.nick, text], client.prefix))
    core.disconnect(target, text)


@command("KICK", min_params=2)
def kick(core: ServerCore, client: Client, msg: Message) -> None:
    """``KICK <#channel> <nick>[,<nick>...] [:reason]``, by a channel or server operator."""
    channel = core.find_channel(msg.params[0])
    if channel is None:
        core.reply(client, rpl.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    server_op = is_server_operator(core, client)
    if client not in channel.members and not server_op:
        core.reply(client, rpl.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if not channel.is_operator(client) and not server_op:
        core.reply(client, rpl.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    reason = safe_reason(msg.param(2)) or client.nick
    for nick in msg.params[1].split(","):
        if not nick:
            continue
        target = core.find_nick(nick)
        if target is None or target not in channel.members:
            core.reply(client, rpl.ERR_USERNOTINCHANNEL, nick, channel.name, "They aren't on that channel")
            continue
        log.info("KICK: %s removed %s from %s: %s", client.nick, target.nick, channel.name, reason)
        line = Message("KICK", [channel.name, target.nick, reason], client.prefix).encode(core.limits.max_line)
        core.send_to_channel(channel, line)
        leave_channel(core, target, channel)
        if not channel.members:
            return
