"""The ``chat`` command: parses arguments and hands them to the server or a client.

Nothing here does chat work. The server and client modules are imported inside their
commands so ``chat --help`` stays fast and one side's import problems cannot break the other.
"""

from __future__ import annotations

import getpass
import logging
import re
import sys
from pathlib import Path
from typing import Annotated

import typer

from chat import __version__
from chat.config import LOG_LEVELS, ConfigError, Limits, load_settings
from chat.protocol import valid_nick

__all__ = ["app", "main", "nick_from_username"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DEFAULT_ADDRESS = "localhost"
ADDRESS_HELP = (
    "Server as host, host:port, [ipv6]:port or ircs://host[:port]; the port defaults to 6667, or 6697 with TLS."
)
TLS_HELP = "Connect with TLS; the server's certificate is remembered on first use and checked after that."
FINGERPRINT_HELP = "The server's certificate fingerprint (SHA256:…) as its admin told you; implies --tls."
FALLBACK_NICK = "guest"

app = typer.Typer(
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="LAN chat over IRC: run the server, or talk on one.",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"chat {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """LAN chat over IRC: run the server, or talk on one."""


class _OneLineFormatter(logging.Formatter):
    """Keeps each event on one line so server logs can be grepped and tailed line by line."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "\\r").replace("\n", "\\n")


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter(LOG_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def _fail(message: str) -> typer.Exit:
    """Usage and settings errors: the message alone, exit 2, as for any bad command line."""
    typer.echo(message, err=True)
    return typer.Exit(2)


@app.command()
def serve(
    config: Annotated[
        Path | None,
        typer.Option("--config", help="YAML settings file, as config/lan.yaml; built-in defaults if omitted."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on [env: CHAT_HOST].")] = None,
    port: Annotated[
        int | None, typer.Option(help="TCP port to listen on, 0 for any free port [env: CHAT_PORT].")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Where messages are stored [env: CHAT_DATA_DIR].")
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option("--log-level", help=f"One of {', '.join(LOG_LEVELS)} [env: CHAT_LOG_LEVEL]."),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(help="Where messages are kept: sqlite (survives restarts) or memory [env: CHAT_HISTORY]."),
    ] = None,
) -> None:
    """Run the chat server until interrupted."""
    overrides = {"host": host, "port": port, "data_dir": data_dir, "log_level": log_level, "history": history}
    try:
        settings = load_settings(config, overrides)
    except ConfigError as err:
        raise _fail(str(err)) from None
    _configure_logging(settings.log_level)
    from chat.server.loop import serve as run_server

    raise typer.Exit(run_server(settings))


def nick_from_username(name: str) -> str:
    """A valid IRC nick that still looks like the login name, so colleagues recognise each other.

    Characters IRC forbids become ``_`` (``john.doe`` -> ``john_doe``); a leading digit or
    ``-`` gets a ``_`` in front; a name with nothing usable left becomes ``guest``.
    """
    max_len = Limits().nick_length
    nick = re.sub(r"[^A-Za-z0-9\[\]\\`_^{|}-]", "_", name)[:max_len]
    if nick and not re.match(r"[A-Za-z\[\]\\`_^{|}]", nick):
        nick = ("_" + nick)[:max_len]
    return nick if valid_nick(nick, max_len) and nick.strip("_") else FALLBACK_NICK


def _default_nick() -> str:
    try:
        return nick_from_username(getpass.getuser())
    except (OSError, KeyError):  # no login name at all, e.g. a container with an unknown uid
        return FALLBACK_NICK


@app.command()
def connect(
    address: Annotated[str, typer.Argument(help=ADDRESS_HELP)] = DEFAULT_ADDRESS,
    nick: Annotated[str | None, typer.Option("--nick", "-n", help="Nick to use [default: your login name].")] = None,
    json_mode: Annotated[
        bool, typer.Option("--json", help="Read and write JSON lines instead of the interactive screen.")
    ] = False,
    channels: Annotated[
        list[str] | None, typer.Option("--channel", "-c", help="Channel to join; repeat for more.")
    ] = None,
    no_retry: Annotated[
        bool, typer.Option("--no-retry", help="Exit when the connection drops instead of reconnecting.")
    ] = False,
    ping_timeout: Annotated[
        float,
        typer.Option(
            min=2.0,
            help="Seconds of silence after which the link counts as dead and reconnecting starts "
            "(a keep-alive PING goes out at half of it).",
        ),
    ] = 60.0,
    tls: Annotated[bool, typer.Option("--tls", help=TLS_HELP)] = False,
    fingerprint: Annotated[str | None, typer.Option("--fingerprint", help=FINGERPRINT_HELP)] = None,
) -> None:
    """Chat from the terminal."""
    chosen = nick if nick is not None else _default_nick()
    if not valid_nick(chosen, len(chosen)):  # the server decides the length; the grammar is fixed
        raise _fail(
            f'--nick: "{chosen}" is not a valid nick: start with a letter or one of []\\`_^{{|}}, '
            "then letters, digits, those characters or '-'"
        )
    pinned = _fingerprint(fingerprint)
    _check_server(address, tls)  # a typo in the address is a usage error, not a connection failure
    from chat.client.terminal import run

    raise typer.Exit(
        run(
            address,
            chosen,
            json_mode=json_mode,
            channels=channels or [],
            retry=not no_retry,
            ping_timeout=ping_timeout,
            tls=tls,
            fingerprint=pinned,
        )
    )


def _check_server(address: str, tls: bool) -> None:
    from chat.client.address import parse_server

    try:
        parse_server(address, tls=tls)
    except ValueError as err:
        raise _fail(str(err)) from None


def _fingerprint(text: str | None) -> str | None:
    if text is None:
        return None
    from chat.fingerprint import normalize

    try:
        return normalize(text)
    except ValueError as err:
        raise _fail(f"--fingerprint: {err}") from None


@app.command()
def status(
    address: Annotated[str, typer.Argument(help=ADDRESS_HELP)],
    timeout: Annotated[float, typer.Option(min=0, help="Seconds to wait for the server.")] = 5.0,
    tls: Annotated[
        bool, typer.Option("--tls", help="Check over TLS; fails if the certificate changed since it was remembered.")
    ] = False,
) -> None:
    """Check whether a server is up and show what it reports about itself."""
    from chat.client.status import main as status_main

    raise typer.Exit(status_main(address, timeout=timeout, tls=tls))


@app.command()
def gui(
    address: Annotated[
        str | None, typer.Argument(help="host[:port] of the server; without it, a form asks (and remembers).")
    ] = None,
    nick: Annotated[str | None, typer.Option("--nick", "-n", help="Nick to use [default: your login name].")] = None,
    tls: Annotated[bool, typer.Option("--tls", help=TLS_HELP)] = False,
) -> None:
    """Chat from a desktop window."""
    if address is not None:
        _check_server(address, tls)
    if nick is not None and not valid_nick(nick, len(nick)):
        raise _fail(f'--nick: "{nick}" is not a valid nick')
    try:
        from chat.client.gui import run as run_gui
    except ImportError as err:  # Python built without Tk
        raise _fail(f"the desktop client needs Tk ({err}); install python3-tk, or use 'chat connect'") from None
    chosen = nick if nick is not None else (_default_nick() if address else None)
    raise typer.Exit(run_gui(address, chosen, fallback_nick=_default_nick(), tls=tls))


@app.command()
def cert(
    config: Annotated[
        Path | None, typer.Option("--config", help="The server's YAML settings file (for its data_dir).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="The server's data directory [env: CHAT_DATA_DIR].")
    ] = None,
    names: Annotated[
        list[str] | None,
        typer.Option("--name", help="Another host name or address clients use for this server; repeatable."),
    ] = None,
    days: Annotated[int, typer.Option(min=1, help="How long the certificate is valid, in days.")] = 3650,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing pair (every client must then forget the old pin).")
    ] = False,
) -> None:
    """Make a self-signed TLS certificate and key for this server, in <data_dir>/tls/."""
    try:
        settings = load_settings(config, {"data_dir": data_dir})
    except ConfigError as err:
        raise _fail(str(err)) from None
    from chat.server.certificate import CertificateExists, default_names, write_pair

    try:
        made = write_pair(settings.data_dir / "tls", [*default_names(), *(names or [])], days=days, force=force)
    except CertificateExists as err:
        raise _fail(f"chat cert: {err}") from None
    except OSError as err:
        raise _fail(f"chat cert: cannot write to {settings.data_dir / 'tls'}: {err.strerror or err}") from None
    typer.echo(f"made a self-signed certificate for: {', '.join(made.names)}")
    typer.echo(f"  certificate: {made.cert}")
    typer.echo(f"  private key: {made.key} (readable by you only)")
    typer.echo(f"  valid until: {made.not_after:%Y-%m-%d}")
    typer.echo(f"  fingerprint: {made.fingerprint}")
    typer.echo("")
    typer.echo("To turn TLS on, add these lines to the server's config file (paths are inside its data_dir):")
    typer.echo("")
    typer.echo("tls:")
    typer.echo("  cert: tls/cert.pem")
    typer.echo("  key: tls/key.pem")
    typer.echo("")
    typer.echo("Then restart the server; clients connect with: chat connect --tls <address> (port 6697).")
    typer.echo("Tell your users the fingerprint above: their client shows it on the first TLS connection.")


@app.command()
def trust(
    forget: Annotated[
        str | None, typer.Option("--forget", help="host:port whose remembered certificate to forget.")
    ] = None,
) -> None:
    """List the TLS servers whose certificates this client remembers, or forget one."""
    from chat.client import pins
    from chat.client.address import parse_server

    store = pins.KnownServers()
    try:
        if forget is not None:
            try:
                host, port, _tls = parse_server(forget, tls=True)
            except ValueError as err:
                raise _fail(f"--forget: {err}") from None
            key = pins.server_key(host, port)
            if not store.forget(key):
                typer.echo(f"chat trust: no certificate remembered for {key} in {store.path}", err=True)
                raise typer.Exit(1)
            typer.echo(f"forgot the certificate of {key}; the next TLS connection remembers the one it sees")
            return
        entries = store.entries()
    except pins.UnreadablePins as err:
        raise _fail(f"chat trust: {err}") from None
    except OSError as err:
        raise _fail(f"chat trust: cannot change {store.path}: {err.strerror or err}") from None
    if not entries:
        typer.echo(f"no TLS certificates remembered yet ({store.path})")
        return
    typer.echo(f"remembered TLS certificates ({store.path}):")
    width = max(len(key) for key in entries)
    for key, value in sorted(entries.items()):
        typer.echo(f"  {key:<{width}}  {value}")


def main() -> None:
    """Console-script entry point (``chat = "chat.cli:main"``)."""
    app()
