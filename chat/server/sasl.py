"""IRCv3 SASL, mechanism PLAIN: logging in to an account during CAP negotiation.

The exchange (https://ircv3.net/specs/extensions/sasl-3.1)::

    C: AUTHENTICATE PLAIN           S: AUTHENTICATE +
    C: AUTHENTICATE <base64>        (400-byte chunks; a chunk of exactly 400 means "more follows",
                                     and "+" alone ends a payload that was a multiple of 400)
    S: 900 RPL_LOGGEDIN, 903 RPL_SASLSUCCESS    or    904 ERR_SASLFAIL

The PLAIN payload is ``authzid NUL authcid NUL password``. The password is never logged.
"""

from __future__ import annotations

import base64
import binascii
import logging

from chat.protocol import Message, casefold
from chat.protocol import numerics as rpl
from chat.server import auth
from chat.server.core import ServerCore
from chat.server.registry import command
from chat.server.state import Client

log = logging.getLogger(__name__)

MECHANISMS = ("PLAIN",)
CHUNK = 400
#: Largest decoded payload accepted: two names and a password fit with lots of room to spare.
MAX_PAYLOAD = 1200


@command("AUTHENTICATE", min_params=1, needs_registration=False)
def authenticate(core: ServerCore, client: Client, msg: Message) -> None:
    arg = msg.params[0]
    if arg == "*":
        if client.sasl_mechanism is not None:
            _reset(client)
            core.reply(client, rpl.ERR_SASLABORTED, "SASL authentication aborted")
        else:
            core.reply(client, rpl.ERR_SASLFAIL, "SASL authentication failed: nothing to abort")
        return
    if client.sasl_mechanism is None:
        _start(core, client, arg.upper())
    else:
        _take_chunk(core, client, arg)


def _start(core: ServerCore, client: Client, mechanism: str) -> None:
    if client.account is not None:
        core.reply(client, rpl.ERR_SASLALREADY, "You have already authenticated using SASL")
        return
    if mechanism not in MECHANISMS:
        core.reply(client, rpl.RPL_SASLMECHS, ",".join(MECHANISMS), "are available SASL mechanisms")
        core.reply(client, rpl.ERR_SASLFAIL, "SASL authentication failed")
        return
    refusal = auth.plaintext_refusal(core, client)
    if refusal is None and core.settings.auth.password and not client.password_ok:
        refusal = auth.NEEDS_PASS_TEXT  # a stranger without the server password gets no scrypt run
    if refusal is not None:
        core.reply(client, rpl.ERR_SASLFAIL, f"SASL authentication failed: {refusal}")
        return
    client.sasl_mechanism = mechanism
    core.send_message(client, Message("AUTHENTICATE", ["+"], core.name))


def _take_chunk(core: ServerCore, client: Client, chunk: str) -> None:
    if len(chunk) > CHUNK:
        _reset(client)
        core.reply(client, rpl.ERR_SASLTOOLONG, "SASL message too long")
        return
    if chunk != "+":
        client.sasl_buffer += chunk.encode()
        if len(client.sasl_buffer) > MAX_PAYLOAD * 4 // 3 + 4:
            _reset(client)
            core.reply(client, rpl.ERR_SASLTOOLONG, "SASL message too long")
            return
        if len(chunk) == CHUNK:
            return  # more follows
    encoded = bytes(client.sasl_buffer)
    _reset(client)
    try:
        payload = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        core.reply(client, rpl.ERR_SASLFAIL, "SASL authentication failed: the login was not valid base64")
        return
    _plain(core, client, payload)


def _plain(core: ServerCore, client: Client, payload: bytes) -> None:
    parts = payload.split(b"\0")
    try:
        authzid, authcid, password = (part.decode("utf-8") for part in parts) if len(parts) == 3 else ("", "", "")
    except UnicodeDecodeError:
        authzid, authcid, password = "", "", ""
    if not authcid or not password:
        core.reply(client, rpl.ERR_SASLFAIL, "SASL authentication failed: expected name and password (PLAIN)")
        return
    if authzid and casefold(authzid) != casefold(authcid):
        core.reply(client, rpl.ERR_SASLFAIL, "SASL authentication failed: cannot log in as another account")
        return
    refusal = auth.login_refusal(core, client)
    if refusal is not None:
        core.reply(client, rpl.ERR_SASLFAIL, f"SASL authentication failed: {refusal}")
        return
    account = core.accounts.verify(authcid, password)
    if account is None:
        core.reply(client, rpl.ERR_SASLFAIL, "SASL authentication failed: wrong account name or password")
        auth.failed_attempt(core, client, f"login as {authcid!r}")
        return
    client.account = account.name
    log.info("connection %d from %s: logged in as %s", client.id, client.host, account.name)
    core.reply(client, rpl.RPL_LOGGEDIN, client.prefix, account.name, f"You are now logged in as {account.name}")
    core.reply(client, rpl.RPL_SASLSUCCESS, "SASL authentication successful")


def _reset(client: Client) -> None:
    client.sasl_mechanism = None
    client.sasl_buffer.clear()
