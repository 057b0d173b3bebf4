"""Which of the servers found on the LAN to use, and how to say so, for both user interfaces.

``chat connect`` and ``chat gui`` without an address look for servers first (chat/client/
discovery.py). With exactly one there is nothing to ask; with several a person picks one (a
numbered prompt on the terminal, a list in the window); with none the user is told, in plain
words, how to give an address instead. The rules and the wording live here so that both
interfaces say the same thing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from chat.client.discovery import BROWSE_SECONDS, Found

__all__ = ["NoServer", "describe", "none_found", "pick", "table"]


class NoServer(Exception):
    """No server was chosen; the message says why and what to type instead."""


def none_found(seconds: float = BROWSE_SECONDS) -> str:
    return (
        f"no chat server answered on the LAN within {seconds:g} s. Give the server's address instead, "
        "e.g. chat connect 192.168.1.20 (whoever runs the server can tell you; its log shows it). "
        "If the server is running, its announcement may be blocked: mDNS needs UDP port 5353 open, "
        "and a server in a Docker container is only seen with host networking (README: Docker)."
    )


def describe(found: Found) -> str:
    """One line for a person: ``Office chat at 192.168.1.20:6667 (TLS too, password needed)``."""
    notes = []
    if found.port is None:
        notes.append("TLS only")
    elif found.tls_port is not None:
        notes.append("TLS too")
    if found.txt.password:
        notes.append("password needed")
    if found.txt.users is not None:
        notes.append(f"{found.txt.users} online")
    return f"{found.name} at {found.where()}" + (f" ({', '.join(notes)})" if notes else "")


def table(found: Sequence[Found]) -> list[str]:
    """``chat discover``'s table: name, address, TLS, password, users, version."""
    rows = [("name", "address", "tls", "password", "users", "version")]
    for server in found:
        if server.port is None:
            tls = "only"
        else:
            tls = f"yes ({server.tls_port})" if server.tls_port is not None else "no"
        users = "?" if server.txt.users is None else str(server.txt.users)
        rows.append(
            (server.name, server.where(), tls, "yes" if server.txt.password else "no", users, server.txt.version)
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def pick(
    found: Sequence[Found],
    *,
    ask: Callable[[str], str] | None,
    say: Callable[[str], None],
    seconds: float = BROWSE_SECONDS,
) -> Found:
    """The server to use. ``ask`` reads a line after printing its prompt (None when nobody can
    answer, e.g. a script); ``say`` prints a line for the person. Raises NoServer."""
    if not found:
        raise NoServer(none_found(seconds))
    if len(found) == 1:
        say(f"found one chat server on the LAN: {describe(found[0])}; connecting")
        return found[0]
    listing = [f"  {number}. {describe(server)}" for number, server in enumerate(found, 1)]
    if ask is None:
        raise NoServer(
            f"{len(found)} chat servers answered on the LAN; say which with its address:\n"
            + "\n".join(f"  chat connect {server.where()}    # {describe(server)}" for server in found)
        )
    say(f"{len(found)} chat servers answered on the LAN:")
    for line in listing:
        say(line)
    while True:
        try:
            answer = ask(f"which one? 1-{len(found)} (Enter to give up): ").strip()
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if not answer:
            raise NoServer("no server chosen")
        if answer.isdigit() and 1 <= int(answer) <= len(found):
            return found[int(answer) - 1]
        by_name = [server for server in found if server.name.casefold() == answer.casefold()]
        if by_name:
            return by_name[0]
        say(f'"{answer}" is not one of them: type a number from 1 to {len(found)}')
