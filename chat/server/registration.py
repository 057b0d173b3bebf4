"""Getting a connection from "just connected" to "registered": CAP, PASS, NICK, USER, and the
welcome burst, plus the commands that are allowed at any time (PING, PONG, QUIT)."""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import UTC, datetime

from chat.protocol import Message, casefold, clean_text, clip_utf8, valid_nick
from chat.protocol import numerics as rpl
from chat.server import auth
from chat.server.channels import join_channel
from chat.server.core import SUPPORTED_CAPS, ServerCore, safe_reason
from chat.server.queries import send_lusers, send_motd
from chat.server.registry import command
from chat.server.state import Client

log = logging.getLogger(__name__)

#: Bytes of a QUIT reason kept: with the longest prefix the QUIT line still fits in 512.
CHANNEL_MODES = "nt"
USER_MODES = "io"


def isupport_tokens(core: ServerCore) -> list[str]:
    limits = core.limits
    return [
        f"AWAYLEN={limits.away_length}",
        "CASEMAPPING=ascii",
        f"CHANLIMIT=#&:{core.limits.max_channels}",
        f"CHANMODES=,,,{CHANNEL_MODES}",
        f"CHANNELLEN={limits.channel_length}",
        "CHANTYPES=#&",
        f"NETWORK={core.settings.network}",
        f"NICKLEN={limits.nick_length}",
        "PREFIX=(o)@",
        "TARGMAX=PRIVMSG:4,NOTICE:4,JOIN:,PART:,NAMES:1,WHOIS:1",
        f"TOPICLEN={limits.topic_length}",
        "UTF8ONLY",
        f"CHATHISTORY={core.settings.history.max_fetch}",
        "MSGREFTYPES=msgid,timestamp",
    ]


# ---------------------------------------------------------------------------------- CAP


@command("CAP", min_params=1, needs_registration=False)
def cap(core: ServerCore, client: Client, msg: Message) -> None:
    sub = msg.params[0].upper()
    if sub == "LS":
        if not client.registered:
            client.cap_negotiating = True
        version = msg.param(1)
        if version.isascii() and version.isdigit():  # not "²", which int() refuses
            client.cap_version = max(client.cap_version, int(version))
        offered = (_advertised(cap) if client.cap_version >= 302 else cap for cap in SUPPORTED_CAPS)
        _cap_reply(core, client, "LS", " ".join(offered))
    elif sub == "LIST":
        _cap_reply(core, client, "LIST", " ".join(sorted(client.caps)))
    elif sub == "REQ":
        if not client.registered:
            client.cap_negotiating = True
        wanted = msg.param(1).split()
        adding = {w for w in wanted if not w.startswith("-")}
        removing = {w[1:] for w in wanted if w.startswith("-")}
        if wanted and (adding | removing) <= set(SUPPORTED_CAPS):
            client.caps |= adding
            client.caps -= removing
            _cap_reply(core, client, "ACK", msg.param(1))
        else:
            _cap_reply(core, client, "NAK", msg.param(1))
    elif sub == "END":
        if not client.registered:
            if client.sasl_mechanism is not None:  # IRCv3: ending CAP aborts an unfinished login
                client.sasl_mechanism = None
                client.sasl_buffer.clear()
                core.reply(client, rpl.ERR_SASLABORTED, "SASL authentication aborted")
            client.cap_negotiating = False
            _try_register(core, client)
    else:
        core.reply(client, rpl.ERR_INVALIDCAPCMD, sub, "Invalid CAP command")


def _advertised(cap: str) -> str:
    """CAP LS 302 carries values: ``sasl=PLAIN`` tells clients which mechanism to use."""
    return "sasl=PLAIN" if cap == "sasl" else cap


def _cap_reply(core: ServerCore, client: Client, sub: str, text: str) -> None:
    core.send_message(client, Message("CAP", [client.nick, sub, text], core.name))


# --------------------------------------------------------------------------- NICK / USER


@command("PASS", needs_registration=False)
def pass_(core: ServerCore, client: Client, msg: Message) -> None:
    """``PASS <password>`` before registering; checked when registration completes, so that the
    answer does not tell a guesser which of several lines was wrong. Never logged."""
    if client.registered:
        core.reply(client, rpl.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    if core.settings.auth.password:
        client.password_tried = True
        client.password_ok = auth.server_password_ok(core, msg.param(0))


@command("NICK", needs_registration=False)
def nick(core: ServerCore, client: Client, msg: Message) -> None:
    new = msg.param(0)
    if not new:
        core.reply(client, rpl.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    if not valid_nick(new, core.limits.nick_length):
        core.reply(client, rpl.ERR_ERRONEUSNICKNAME, new, "Erroneous nickname")
        return
    if client.registered and auth.nick_reserved_for_other(core, client, new):
        core.reply(client, rpl.ERR_NICKNAMEINUSE, new, auth.RESERVED_TEXT)
        return
    folded = casefold(new)
    holder = core.nicks.get(folded)
    if holder is not None and holder is not client:
        if not _owns_session(holder, client):
            core.reply(client, rpl.ERR_NICKNAMEINUSE, new, "Nickname is already in use")
            return
        # The same person reconnecting while the server still holds their dead connection.
        log.info("%s reclaimed by a new connection from %s", holder.nick, client.host)
        core.disconnect(holder, "Replaced by a new connection", quit_reason="Reconnected")
    if new == client.nick:
        return
    if client.registered:
        old_folded = casefold(client.nick)
        if core.nicks.get(old_folded) is client:
            del core.nicks[old_folded]
        core.nicks[folded] = client
        line = f":{client.prefix} NICK :{new}\r\n".encode()
        client.nick = new
        client.refresh_prefix()
        core.send_to_peers(client, line, include_self=True)
    else:
        # Only a wish until registration completes: a connection that has not shown the server
        # password or logged in must not keep anybody else from a nick (see _try_register).
        client.nick = new
        client.refresh_prefix()
        _try_register(core, client)


@command("USER", min_params=4, needs_registration=False)
def user(core: ServerCore, client: Client, msg: Message) -> None:
    if client.registered:
        core.reply(client, rpl.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    username = "".join(ch for ch in msg.params[0] if ch.isalnum() or ch in "-_.")[:16]
    client.user = "~" + (username or "user")
    client.realname = clip_utf8(clean_text(msg.params[3]), 100)
    client.refresh_prefix()
    _try_register(core, client)


def _owns_session(holder: Client, claimant: Client) -> bool:
    return bool(
        holder.session_token
        and claimant.claimed_token
        and hmac.compare_digest(holder.session_token, claimant.claimed_token)
    )


@command("SESSION", min_params=1, needs_registration=False)
def session(core: ServerCore, client: Client, msg: Message) -> None:
    """``SESSION <token>`` before NICK: "the nick I ask for may still be held by my old connection"."""
    if client.registered:
        core.reply(client, rpl.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    client.claimed_token = msg.params[0][:64]


def _try_register(core: ServerCore, client: Client) -> None:
    if client.registered or client.cap_negotiating or client.nick == "*" or not client.user:
        return
    if core.settings.auth.password and not client.password_ok:
        # A health check (chat status) has no password and is refused every few seconds: not
        # news. A wrong password could be a guess, so any PASS keeps the line at INFO.
        level = client.log_level if not client.password_tried else logging.INFO
        log.log(level, "connection %d from %s: refused, wrong or missing server password", client.id, client.host)
        core.reply(client, rpl.ERR_PASSWDMISMATCH, "Password incorrect")
        core.disconnect(client, "Bad password")
        return
    if auth.nick_reserved_for_other(core, client, client.nick):
        # Checked here, not at NICK: SASL (during CAP) usually comes after NICK.
        _refuse_nick(core, client, auth.RESERVED_TEXT)
        return
    holder = core.nicks.get(casefold(client.nick))
    if holder is not None and holder is not client:
        if not _owns_session(holder, client):
            # Someone finished registering with this nick since our NICK: pick another.
            _refuse_nick(core, client, "Nickname is already in use")
            return
        log.info("%s reclaimed by a new connection from %s", holder.nick, client.host)
        core.disconnect(holder, "Replaced by a new connection", quit_reason="Reconnected")
    client.registered = True
    core.nicks[casefold(client.nick)] = client
    send_welcome(core, client)
    if "chat/session" in client.caps:
        client.session_token = secrets.token_urlsafe(18)
        core.send_message(client, Message("SESSION", [client.nick, client.session_token], core.name))
    if not client.is_probe:
        for name in core.settings.default_channels:
            join_channel(core, client, name)


def _refuse_nick(core: ServerCore, client: Client, why: str) -> None:
    """433 during registration: the client is back to having no nick until it sends another."""
    refused = client.nick
    client.nick = "*"
    client.refresh_prefix()
    core.reply(client, rpl.ERR_NICKNAMEINUSE, refused, why)


def send_welcome(core: ServerCore, client: Client) -> None:
    created = datetime.fromtimestamp(core.created, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    network = core.settings.network
    core.reply(client, rpl.RPL_WELCOME, f"Welcome to the {network} chat, {client.prefix}")
    core.reply(client, rpl.RPL_YOURHOST, f"Your host is {core.name}, running version {core.version}")
    core.reply(client, rpl.RPL_CREATED, f"This server was created {created}")
    core.send_message(
        client,
        Message(rpl.RPL_MYINFO, [client.nick, core.name, core.version, USER_MODES, CHANNEL_MODES + "o"], core.name),
    )
    tokens = isupport_tokens(core)
    for start in range(0, len(tokens), 12):
        core.reply(client, rpl.RPL_ISUPPORT, *tokens[start : start + 12], "are supported by this server")
    send_lusers(core, client)
    send_motd(core, client)
    # A health check (chat status) every few seconds is not news worth a log line.
    log.log(
        client.log_level,
        "%s registered from %s",
        client.nick,
        client.host,
    )


# ------------------------------------------------------------------- at any time


@command("PING", needs_registration=False)
def ping(core: ServerCore, client: Client, msg: Message) -> None:
    if not msg.params:
        core.reply(client, "409", "No origin specified")
        return
    core.send_message(client, Message("PONG", [core.name, msg.params[0]], core.name))


@command("PONG", needs_registration=False)
def pong(core: ServerCore, client: Client, msg: Message) -> None:
    """Receiving anything already counts as a sign of life; nothing more to do."""


@command("QUIT", needs_registration=False)
def quit_(core: ServerCore, client: Client, msg: Message) -> None:
    reason = safe_reason(msg.param(0))
    quit_reason = f"Quit: {reason}" if reason else "Quit"
    core.disconnect(client, quit_reason, quit_reason=quit_reason)
