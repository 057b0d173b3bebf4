"""The ``chat`` command: parses arguments and hands them to the server or a client.

Nothing here does chat work. The server and client modules are imported inside their
commands so ``chat --help`` stays fast and one side's import problems cannot break the other.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from chat import __version__
from chat.config import LOG_LEVELS, ConfigError, Limits, load_settings
from chat.protocol import valid_nick

if TYPE_CHECKING:
    from chat.client.discovery import Resolver
    from chat.server.accounts import AccountStore

__all__ = ["app", "main", "nick_from_username"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
ADDRESS_HELP = (
    "Server as host, host:port, [ipv6]:port or ircs://host[:port]; the port defaults to 6667, or 6697 with TLS."
)
CONNECT_ADDRESS_HELP = ADDRESS_HELP + " Without it, the servers on the LAN are looked for (chat discover)."
TLS_HELP = "Connect with TLS; the server's certificate is remembered on first use and checked after that."
PLAINTEXT_LOGIN_HELP = (
    "Send account and /oper passwords even without TLS, readable by anyone on the network: only for "
    "a trusted test setup or a server with auth.sasl_plaintext."
)
FINGERPRINT_HELP = "The server's certificate fingerprint (SHA256:…) as its admin told you; implies --tls."
#: Options chat connect and chat gui share.
TlsOption = Annotated[bool, typer.Option("--tls", help=TLS_HELP)]
FingerprintOption = Annotated[str | None, typer.Option("--fingerprint", help=FINGERPRINT_HELP)]
PlaintextLoginOption = Annotated[bool, typer.Option("--plaintext-login", help=PLAINTEXT_LOGIN_HELP)]
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
    address: Annotated[str | None, typer.Argument(help=CONNECT_ADDRESS_HELP)] = None,
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
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="File whose first line is the server password [env: CHAT_SERVER_PASSWORD]; "
            "on a terminal you are asked when the server wants one.",
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            help="Log in to this account (password from CHAT_ACCOUNT_PASSWORD, or asked); "
            "needed to use a nick reserved for it.",
        ),
    ] = None,
    tls: TlsOption = False,
    fingerprint: FingerprintOption = None,
    plaintext_login: PlaintextLoginOption = False,
) -> None:
    """Chat from the terminal."""
    chosen = nick if nick is not None else _default_nick()
    if not valid_nick(chosen, len(chosen)):  # the server decides the length; the grammar is fixed
        raise _fail(
            f'--nick: "{chosen}" is not a valid nick: start with a letter or one of []\\`_^{{|}}, '
            "then letters, digits, those characters or '-'"
        )
    pinned = _fingerprint(fingerprint)
    tls = tls or pinned is not None  # a fingerprint is a TLS certificate's: --fingerprint means TLS
    resolve: Resolver | None = None
    service_name: str | None = None
    if address is None:
        interactive = not json_mode and sys.stdin.isatty()
        address, tls, resolve, service_name = _discovered(tls, interactive=interactive)
    _check_server(address, tls)  # a typo in the address is a usage error, not a connection failure
    server_password = _server_password(password_file)
    login = _account_login(account) if account is not None else None
    from chat.client.terminal import run

    raise typer.Exit(
        run(
            address,
            chosen,
            json_mode=json_mode,
            channels=channels or [],
            retry=not no_retry,
            ping_timeout=ping_timeout,
            password=server_password,
            account=login,
            tls=tls,
            fingerprint=pinned,
            plaintext_login=plaintext_login,
            resolve=resolve,
            service_name=service_name,
        )
    )


def _discovered(tls: bool, *, interactive: bool) -> tuple[str, bool, Resolver, str]:
    """No address given: the server found on the LAN (asking which one when there are several
    and someone can answer), its address, whether to use TLS, how to find it again, and the
    name it is announced under (its certificate is pinned under that name too)."""
    from chat.client import choose, discovery
    from chat.client.address import format_address

    try:
        found = discovery.browse()
    except OSError as err:
        raise _fail(f"cannot look for servers on the LAN (mDNS): {err.strerror or err}; give the address") from None
    try:
        server = choose.pick(found, ask=input if interactive else None, say=lambda line: typer.echo(line, err=True))
        host, port, tls = server.endpoint(tls)
    except (choose.NoServer, ValueError) as err:
        raise _fail(f"chat connect: {err}") from None
    return format_address(host, port), tls, discovery.resolver(server, tls), server.name


def _server_password(path: Path | None) -> str | None:
    """From ``--password-file`` (first line), else ``CHAT_SERVER_PASSWORD``, else none."""
    if path is None:
        return os.environ.get("CHAT_SERVER_PASSWORD") or None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(f"--password-file: cannot read {path}: {getattr(err, 'strerror', None) or err}") from None
    password = lines[0].strip() if lines else ""
    if not password:
        raise _fail(f"--password-file: {path} is empty")
    return password


def _account_login(name: str) -> tuple[str, str]:
    """(name, password): the password from ``CHAT_ACCOUNT_PASSWORD``, or asked on the terminal."""
    if not valid_nick(name, len(name)):
        raise _fail(f'--account: "{name}" is not a valid account name (account names follow the nick rules)')
    password = os.environ.get("CHAT_ACCOUNT_PASSWORD", "")
    if not password:
        if not sys.stdin.isatty():
            raise _fail("--account: set CHAT_ACCOUNT_PASSWORD, or run on a terminal to be asked for the password")
        try:
            password = getpass.getpass(f"password for the account {name}: ")
        except (EOFError, KeyboardInterrupt):
            raise typer.Exit(1) from None
        if not password:
            raise _fail("--account: no password given")
    return name, password


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
def discover(
    timeout: Annotated[float, typer.Option(min=0.5, help="Seconds to listen for answers.")] = 3.0,
    json_mode: Annotated[bool, typer.Option("--json", help="Print a JSON array instead of a table.")] = False,
) -> None:
    """List the chat servers on the LAN (they announce themselves with mDNS); exit 1 if none answered."""
    import json

    from chat.client import choose, discovery

    try:
        found = discovery.browse(timeout)
    except OSError as err:
        typer.echo(f"chat discover: cannot use mDNS on this machine: {err.strerror or err}", err=True)
        raise typer.Exit(1) from None
    if json_mode:
        typer.echo(json.dumps([server.as_json() for server in found], ensure_ascii=False))
    elif found:
        for line in choose.table(found):
            typer.echo(line)
    if not found:
        typer.echo(f"chat discover: {choose.none_found(timeout)}", err=True)
        raise typer.Exit(1)


@app.command()
def status(
    address: Annotated[str | None, typer.Argument(help=ADDRESS_HELP + " Or give --config instead.")] = None,
    timeout: Annotated[float, typer.Option(min=0, help="Seconds to wait for the server.")] = 5.0,
    tls: Annotated[
        bool, typer.Option("--tls", help="Check over TLS; fails if the certificate changed since it was remembered.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Check the server that runs with this settings file on this machine (and the CHAT_* "
            "variables, as chat serve reads them): 127.0.0.1 when it listens on every address, its plain "
            "port, or its TLS port when tls.require. For health checks; remembered certificates are not used.",
        ),
    ] = None,
) -> None:
    """Check whether a server is up and show what it reports about itself."""
    from chat.client.status import main as status_main
    from chat.client.status import own_server

    if config is None:
        if address is None:
            raise _fail("chat status: give the server's address, or --config with its settings file")
        raise typer.Exit(status_main(address, timeout=timeout, tls=tls))
    if address is not None:
        raise _fail("chat status: give either an address or --config, not both")
    try:
        address, tls = own_server(load_settings(config), tls=tls)
    except ConfigError as err:
        raise _fail(str(err)) from None
    except ValueError as err:
        raise _fail(f"chat status: {err}") from None
    # The server's own certificate over loopback, checked where nobody pinned it (a container).
    raise typer.Exit(status_main(address, timeout=timeout, tls=tls, check_pin=False))


@app.command()
def gui(
    address: Annotated[
        str | None, typer.Argument(help="host[:port] of the server; without it, a form asks (and remembers).")
    ] = None,
    nick: Annotated[str | None, typer.Option("--nick", "-n", help="Nick to use [default: your login name].")] = None,
    tls: TlsOption = False,
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="File whose first line is the server password [env: CHAT_SERVER_PASSWORD]; "
            "otherwise the form has a field for it.",
        ),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            "--account",
            help="Log in to this account (password from CHAT_ACCOUNT_PASSWORD, or typed in the form); "
            "needed to use a nick reserved for it.",
        ),
    ] = None,
    plaintext_login: PlaintextLoginOption = False,
    fingerprint: FingerprintOption = None,
) -> None:
    """Chat from a desktop window."""
    pinned = _fingerprint(fingerprint)
    tls = tls or pinned is not None
    if address is not None:
        _check_server(address, tls)
    if nick is not None and not valid_nick(nick, len(nick)):
        raise _fail(f'--nick: "{nick}" is not a valid nick')
    if account is not None and not valid_nick(account, len(account)):
        raise _fail(f'--account: "{account}" is not a valid account name (account names follow the nick rules)')
    server_password = _server_password(password_file) or ""
    try:
        from chat.client.gui import Login
        from chat.client.gui import run as run_gui
    except ImportError as err:  # Python built without Tk
        raise _fail(f"the desktop client needs Tk ({err}); install python3-tk, or use 'chat connect'") from None
    # No terminal prompt for the account password: the window has a field for it.
    login = Login(server_password, account or "", os.environ.get("CHAT_ACCOUNT_PASSWORD", ""))
    chosen = nick if nick is not None else (_default_nick() if address else None)
    raise typer.Exit(
        run_gui(
            address,
            chosen,
            fallback_nick=_default_nick(),
            tls=tls,
            login=login,
            plaintext_login=plaintext_login,
            fingerprint=pinned,
        )
    )


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
    from chat.server.datafiles import make_data_dir

    directory = settings.data_dir / "tls"
    old = _old_fingerprint(directory / "cert.pem")
    try:
        make_data_dir(settings.data_dir)  # 0700 when made here, as chat serve would make it
        made = write_pair(directory, [*default_names(), *(names or [])], days=days, force=force)
    except CertificateExists as err:
        raise _fail(f"chat cert: {err}") from None
    except OSError as err:
        raise _fail(f"chat cert: cannot write to {directory}: {err.strerror or err}") from None
    replaced = old is not None
    typer.echo(f"{'replaced the certificate with' if replaced else 'made'} a self-signed certificate for: "
               f"{', '.join(made.names)}")  # fmt: skip
    typer.echo(f"  certificate: {made.cert}")
    typer.echo(f"  private key: {made.key} (readable by you only)")
    typer.echo(f"  valid until: {made.not_after:%Y-%m-%d}")
    typer.echo(f"  fingerprint: {made.fingerprint}")
    if old:
        typer.echo(f"  (the old one was {old})")
    typer.echo("")
    if not settings.tls.enabled:
        typer.echo("To turn TLS on, add these lines to the server's config file (paths are inside its data_dir):")
        typer.echo("")
        typer.echo("tls:")
        typer.echo("  cert: tls/cert.pem")
        typer.echo("  key: tls/key.pem")
        typer.echo("")
    port = settings.tls.port
    if replaced:
        typer.echo("The running server keeps the old certificate: restart it to use the new one.")
        typer.echo(
            "Every client that connected before with TLS remembers the old certificate and will refuse the new one "
            "(a warning that it CHANGED). Send your users the new fingerprint above; each compares it with what "
            "their client shows and only then runs:"
        )
        typer.echo(f"  chat trust --forget HOST:{port}      (HOST: the address they connect to)")
        typer.echo(f"or connects once with: chat connect --tls HOST:{port} --fingerprint {made.fingerprint}")
        return
    typer.echo(f"Then restart the server; clients connect with: chat connect --tls <address> (port {port}).")
    typer.echo("Tell your users the fingerprint above: their client shows it on the first TLS connection.")


def _old_fingerprint(path: Path) -> str | None:
    """The fingerprint of the certificate about to be replaced ("" if unreadable), None if none:
    the admin tells users both, so they can see the change they are asked to accept is this one."""
    import ssl

    from chat.fingerprint import fingerprint

    if not path.exists():
        return None
    try:
        return fingerprint(ssl.PEM_cert_to_DER_cert(path.read_text(encoding="ascii")))
    except (OSError, ValueError):
        return ""


@app.command()
def trust(
    forget: Annotated[
        str | None,
        typer.Option(
            "--forget",
            help="host:port (or mdns:NAME, for a server found on the LAN) whose remembered certificate to forget.",
        ),
    ] = None,
) -> None:
    """List the TLS servers whose certificates this client remembers, or forget one."""
    from chat.client import pins

    store = pins.KnownServers()
    try:
        if forget is not None:
            try:
                key = pins.parse_key(forget)
            except ValueError as err:
                raise _fail(f"--forget: {err}") from None
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


# ------------------------------------------------------------------------------- accounts

user_app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    help="Manage accounts (log-in names, reserved nicks, operators); a running server sees changes at once.",
)
app.add_typer(user_app, name="user")

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="The server's YAML settings file, to find its data directory.")
]
DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="The server's data directory [env: CHAT_DATA_DIR].")
]
MIN_PASSWORD = 8


def _open_accounts(config: Path | None, data_dir: Path | None) -> AccountStore:
    """The store of the server that ``chat serve`` with the same options would run."""
    try:
        settings = load_settings(config, {"data_dir": data_dir})
    except ConfigError as err:
        raise _fail(str(err)) from None
    from chat.server.accounts import open_accounts

    try:
        return open_accounts(settings.data_dir)
    except (OSError, sqlite3.Error) as err:
        typer.echo(f"cannot open the accounts in {settings.data_dir}: {err}", err=True)
        raise typer.Exit(1) from None


def _account_name(name: str) -> str:
    max_len = Limits().nick_length
    if not valid_nick(name, max_len):
        raise _fail(
            f'"{name}" cannot be an account name: names follow the nick rules (up to {max_len} characters, '
            "a letter or one of []\\`_^{|} first, then letters, digits, those characters or '-')"
        )
    return name


def _password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"the password must have at least {MIN_PASSWORD} characters"
    if any(ch in password for ch in "\0\r\n"):
        return "the password cannot contain line breaks or NUL characters"
    return None


def _read_password(from_stdin: bool) -> str:
    """From stdin's first line (scripts), or typed twice without echo."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        try:
            password = getpass.getpass("Password: ")
            again = getpass.getpass("Password again: ")
        except (EOFError, KeyboardInterrupt):
            typer.echo("", err=True)
            raise typer.Exit(1) from None
        if password != again:
            typer.echo("the passwords do not match; nothing was changed", err=True)
            raise typer.Exit(1)
    problem = _password_problem(password)
    if problem is not None:
        typer.echo(f"{problem}; nothing was changed", err=True)
        raise typer.Exit(1)
    return password


PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin instead of asking.")
]


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="Account name; follows the nick rules.")],
    oper: Annotated[bool, typer.Option("--oper", help="May become a server operator (OPER).")] = False,
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an account."""
    _account_name(name)
    store = _open_accounts(config, data_dir)
    if store.exists(name):
        typer.echo(f'an account named "{name}" already exists (change its password with: chat user passwd)', err=True)
        raise typer.Exit(1)
    store.add(name, _read_password(password_stdin), oper=oper)
    # The path, because without --config this is ./data: a server run from elsewhere, or with
    # another data_dir, would never see the account, and nothing else would say so.
    typer.echo(
        f"added {'operator ' if oper else ''}account {name} to {store.path} — the server must use the same data_dir"
    )


@user_app.command("passwd")
def user_passwd(
    name: Annotated[str, typer.Argument(help="Account name.")],
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Change an account's password."""
    store = _open_accounts(config, data_dir)
    if not store.exists(name):
        typer.echo(f'there is no account named "{name}"', err=True)
        raise typer.Exit(1)
    store.set_password(name, _read_password(password_stdin))
    typer.echo(f"changed the password of {name} in {store.path}")


@user_app.command("remove")
def user_remove(
    name: Annotated[str, typer.Argument(help="Account name.")],
    config: ConfigOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete an account (someone logged in stays connected until they leave)."""
    from chat.server.accounts import AccountError

    store = _open_accounts(config, data_dir)
    try:
        store.remove(name)
    except AccountError as err:
        typer.echo(f"{err} (in {store.path})", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"removed account {name} from {store.path}")


@user_app.command("list")
def user_list(config: ConfigOption = None, data_dir: DataDirOption = None) -> None:
    """Show every account: name, operator or not, when it was created."""
    store = _open_accounts(config, data_dir)
    accounts = store.all()
    if not accounts:
        typer.echo(f"no accounts yet in {store.path} (add one with: chat user add NAME)")
        return
    typer.echo(f"accounts in {store.path}:")
    width = max(len("name"), *(len(a.name) for a in accounts))
    typer.echo(f"{'name':<{width}}  oper  created")
    for account in accounts:
        created = datetime.fromtimestamp(account.created).strftime("%Y-%m-%d %H:%M")
        typer.echo(f"{account.name:<{width}}  {'yes' if account.oper else 'no ':<4}  {created}")


def main() -> None:
    """Console-script entry point (``chat = "chat.cli:main"``)."""
    app()
