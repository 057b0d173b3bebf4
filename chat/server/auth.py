"""The rules every password check shares: the server password, where a password may travel,
how many wrong guesses a connection gets, and who may hold a reserved nick.

Kept apart from the commands (PASS, AUTHENTICATE, OPER) so that those stay about the protocol
and the rules cannot drift between them. Nothing here logs or echoes a password.
"""

from __future__ import annotations

import hmac
import logging

from chat.protocol import casefold
from chat.server.addresses import address_group
from chat.server.core import ServerCore
from chat.server.state import Client

log = logging.getLogger(__name__)

#: Wrong passwords (SASL or OPER) one connection may send before it is dropped. Each guess costs
#: the guesser a reconnect, and the server a bounded scrypt run.
MAX_FAILURES = 3
RESERVED_TEXT = "is reserved for a registered user; log in to use it"
THROTTLED_TEXT = "too many failed logins from your address, try again in a moment"
NEEDS_PASS_TEXT = "send the server password (PASS) first"


def server_password_ok(core: ServerCore, given: str) -> bool:
    """Constant-time comparison with ``auth.password`` (bytes, so any text compares safely)."""
    return hmac.compare_digest(given.encode(), core.settings.auth.password.encode())


def plaintext_refusal(core: ServerCore, client: Client) -> str | None:
    """Why a password may not be sent on this connection, or None when it may.

    Over a plain connection anyone on the LAN segment can read the password, so logging in
    needs TLS unless the admin accepted that risk with ``auth.sasl_plaintext``."""
    if client.secure or core.settings.auth.sasl_plaintext:
        return None
    tls = core.settings.tls
    if tls.enabled:
        return f"log in over TLS (port {tls.port}); this server does not accept passwords on plain connections"
    return (
        f"log in over TLS (port {tls.port}), which this server does not offer yet: "
        "ask its admin to set tls.cert and tls.key (or auth.sasl_plaintext)"
    )


def login_refusal(core: ServerCore, client: Client) -> str | None:
    """Why no password check (scrypt) may run for ``client`` now, or None when it may.

    Checked before every scrypt run, because each one stalls the whole server: a stranger who
    does not know the server password gets none, and an address that recently sent several
    wrong passwords waits for its budget (:mod:`chat.server.budget`) to refill."""
    if core.settings.auth.password and not client.password_ok:
        return NEEDS_PASS_TEXT
    if not core.login_budget.allows(address_group(client.host)):
        log.info("connection %d from %s: login refused, too many failed logins", client.id, client.host)
        return THROTTLED_TEXT
    return None


def failed_attempt(core: ServerCore, client: Client, what: str) -> bool:
    """Count one wrong password, for the connection and for its address; drop the connection
    after :data:`MAX_FAILURES`. Returns whether the connection is being dropped."""
    core.login_budget.failed(address_group(client.host))
    client.auth_failures += 1
    count = client.auth_failures
    log.info("connection %d from %s: failed %s (%d of %d)", client.id, client.host, what, count, MAX_FAILURES)
    if client.auth_failures >= MAX_FAILURES:
        core.disconnect(client, "Too many failed login attempts")
        return True
    return False


def nick_reserved_for_other(core: ServerCore, client: Client, nick: str) -> bool:
    """With ``auth.reserve_nicks``: ``nick`` names an account ``client`` is not logged in as."""
    if not core.settings.auth.reserve_nicks:
        return False
    if client.account is not None and casefold(client.account) == casefold(nick):
        return False
    return core.accounts.exists(nick)
