"""Server settings: one YAML file in, frozen typed settings out, with errors that name the key.

Settings come from four layers, each overriding the one before: the dataclass defaults, the
YAML file (layout documented in ``config/lan.yaml``), ``CHAT_*`` environment variables, and
command-line options. Every value is checked before the server starts, so a typo in the file
stops the server with a message pointing at the line to fix instead of surfacing later as an
odd runtime failure. All problems found are reported at once, one per line, so the admin does
not have to fix and retry one key at a time.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from chat.protocol.names import casefold, valid_channel

__all__ = ["LOG_LEVELS", "Auth", "ConfigError", "Discovery", "History", "Limits", "Settings", "Tls", "load_settings"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-connection and per-server limits."""

    max_clients: int = 5000
    max_clients_per_ip: int = 50  # connections from one address at once (a whole NAT counts as one)
    max_line: int = 512  # bytes before tags, CRLF included (RFC 1459)
    ping_interval: float = 60.0  # seconds of silence before the server PINGs a client
    ping_timeout: float = 120.0  # seconds of silence after which a client is dropped
    registration_timeout: float = 60.0  # seconds to finish NICK/USER
    sendq: int = 1_048_576  # bytes queued for one client before it is dropped ("SendQ exceeded")
    nick_length: int = 30
    channel_length: int = 50
    max_channels: int = 100  # rooms one client may be in at once (ISUPPORT CHANLIMIT)
    topic_length: int = 390
    away_length: int = 200
    flood_burst: int = 16  # lines a client may send at once before its input is slowed down
    flood_rate: float = 4.0  # lines per second a client may send in the long run
    recvq: int = 32_768  # bytes of slowed-down input held for one client before "Excess Flood"


@dataclass(frozen=True, slots=True)
class Tls:
    """TLS listener. On when both ``cert`` and ``key`` are set (``chat cert`` makes a pair)."""

    cert: Path | None = None  # PEM certificate (chain); relative = inside data_dir
    key: Path | None = None  # PEM private key; relative = inside data_dir
    port: int = 6697
    require: bool = False  # true: no plain-text listener, TLS only

    @property
    def enabled(self) -> bool:
        return self.cert is not None and self.key is not None


@dataclass(frozen=True, slots=True)
class Auth:
    """Who may connect and who may use which nick. Secrets are kept out of ``repr`` (and logs)."""

    password: str = field(default="", repr=False)  # server password (PASS); "" = none
    reserve_nicks: bool = False  # a nick that names an account is only for that account's owner
    sasl_plaintext: bool = False  # allow SASL PLAIN without TLS (passwords then cross the LAN readable)


@dataclass(frozen=True, slots=True)
class History:
    """Where messages are kept and for how long (see chat/server/history.py)."""

    store: str = "sqlite"  # "sqlite" (durable, under data_dir) or "memory" (lost on restart)
    max_messages: int = 0  # per conversation; 0 keeps everything
    max_age_days: float = 0.0  # 0 keeps everything
    sync: str = "normal"  # SQLite synchronous: "normal" survives a killed server, "full" a power cut
    max_fetch: int = 1000  # most messages one CHATHISTORY request returns (ISUPPORT CHATHISTORY=)


@dataclass(frozen=True, slots=True)
class Discovery:
    """The server's mDNS/DNS-SD advertisement, so LAN clients find it without an address
    (see chat/server/advertise.py)."""

    enabled: bool = True
    name: str = ""  # what `chat discover` lists; "" = server.name, or the host name if that is the default


@dataclass(frozen=True, slots=True)
class Settings:
    server_name: str = "chat.lan"
    network: str = "LAN"
    host: str = "0.0.0.0"
    port: int = 6667
    motd: str = "Welcome to the LAN chat. Type /help for commands."
    default_channels: tuple[str, ...] = ("#lobby",)
    data_dir: Path = field(default_factory=lambda: Path("data"))
    log_level: str = "INFO"
    limits: Limits = field(default_factory=Limits)
    history: History = field(default_factory=History)
    tls: Tls = field(default_factory=Tls)
    auth: Auth = field(default_factory=Auth)
    discovery: Discovery = field(default_factory=Discovery)


class ConfigError(Exception):
    """The settings cannot be used; the message is written for the admin, so print it as is."""


class _Invalid(Exception):
    """A value failed its check; the caller prefixes where the value came from."""


# --- value checks: each takes what YAML (or the caller) produced and returns the typed value ---


def _describe(value: object) -> str:
    """How a bad value is quoted back: in YAML's spelling, since that is what the admin wrote."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _bool_hint(value: object) -> str:
    """YAML 1.1 turns unquoted yes/no/on/off into booleans, which surprises everyone once."""
    return " (quote it: YAML reads unquoted yes/no/on/off as true/false)" if isinstance(value, bool) else ""


def _string(value: object) -> str:
    if isinstance(value, str):
        return value
    raise _Invalid(f"expected a string, got {_describe(value)}{_bool_hint(value)}")


def _word(value: object) -> str:
    """Names and addresses end up inside IRC lines, where a space would split the field."""
    if isinstance(value, str) and value and not any(c.isspace() or not c.isprintable() for c in value):
        return value
    raise _Invalid(f"expected a non-empty value without spaces, got {_describe(value)}{_bool_hint(value)}")


def _integer(value: object, low: int, high: int | None) -> int:
    # bool is a subclass of int, but `port: yes` is a mistake, not port 1.
    if isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high):
        return value
    span = f"{low}–{high}" if high is not None else f"≥ {low}"
    raise _Invalid(f"expected an integer {span}, got {_describe(value)}")


_port = functools.partial(_integer, low=0, high=65_535)


def _port_text(value: object) -> int:
    """Environment variables are always text; only plain decimal digits count as a port."""
    text = _string(value)
    if re.fullmatch(r"\s*[0-9]{1,5}\s*", text) and int(text) <= 65_535:
        return int(text)
    raise _Invalid(f"expected an integer 0–65535, got {_describe(value)}")


def _positive(value: object, what: str = "a number") -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    raise _Invalid(f"expected {what} > 0, got {_describe(value)}")


_seconds = functools.partial(_positive, what="a number of seconds")


def _log_level(value: object) -> str:
    if isinstance(value, str) and value.strip().upper() in LOG_LEVELS:
        return value.strip().upper()
    raise _Invalid(f"expected one of {', '.join(LOG_LEVELS)}, got {_describe(value)}")


def _choice(value: object, options: tuple[str, ...]) -> str:
    if isinstance(value, str) and value.strip().lower() in options:
        return value.strip().lower()
    raise _Invalid(f"expected one of {', '.join(options)}, got {_describe(value)}{_bool_hint(value)}")


def _days(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
        return float(value)
    raise _Invalid(f"expected a number of days ≥ 0 (0 keeps everything), got {_describe(value)}")


_store = functools.partial(_choice, options=("sqlite", "memory"))


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    raise _Invalid(f"expected true or false, got {_describe(value)}")


_rate = _positive


def _path(value: object, what: str = "a file path") -> Path:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and value.strip():
        return Path(value).expanduser()
    raise _Invalid(f"expected {what}, got {_describe(value)}{_bool_hint(value)}")


_file = _path


def _secret(value: object) -> str:
    """Passwords travel in one IRC parameter: no spaces, nothing unprintable. Never echoed back."""
    if isinstance(value, str) and value and not any(c.isspace() or not c.isprintable() for c in value):
        return value
    if isinstance(value, str) and not value:
        return ""
    raise _Invalid("expected a password without spaces (the value is not shown here)")


def _secret_file(value: object) -> str:
    """The password is the file's first line; the file is read now so a typo stops the server."""
    path = _file(value)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _Invalid(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise _Invalid(f"{path}: cannot read: {getattr(err, 'strerror', None) or err}") from None
    first = text.splitlines()[0].strip() if text.strip() else ""
    if not first:
        raise _Invalid(f"{path}: the file is empty")
    return _secret(first)


def _service_name(value: object) -> str:
    """A DNS-SD instance name is one DNS label: at most 63 bytes of UTF-8, spaces allowed."""
    if isinstance(value, str) and value.strip() and value.isprintable() and len(value.strip().encode()) <= 63:
        return value.strip()
    raise _Invalid(
        f'expected a name of 1–63 bytes (UTF-8) such as "Office chat", got {_describe(value)}{_bool_hint(value)}'
    )


def _switch(value: object) -> bool:
    """CHAT_DISCOVERY is text: the usual spellings of on and off."""
    text = _string(value).strip().lower()
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise _Invalid(f"expected on or off, got {_describe(value)}")


_directory = functools.partial(_path, what="a directory path")


def _absolute(path: Path) -> Path:
    """Resolved once at load time so a later chdir cannot move the server's data."""
    return Path(os.path.abspath(path))


_Check = Callable[[object], Any]

#: YAML key under ``server:`` -> (Settings field, check). ``default_channels`` is not here: its
#: check needs the channel length from the ``limits:`` section (see :func:`_channels`).
_SERVER: dict[str, tuple[str, _Check]] = {
    "name": ("server_name", _word),
    "network": ("network", _word),
    "host": ("host", _word),
    "port": ("port", _port),
    "motd": ("motd", _string),
    "data_dir": ("data_dir", _directory),
    "log_level": ("log_level", _log_level),
}

#: YAML key under ``limits:`` (the Limits field name) -> check.
_LIMITS: dict[str, _Check] = {
    "max_clients": functools.partial(_integer, low=1, high=None),
    "max_clients_per_ip": functools.partial(_integer, low=1, high=None),
    # Clients assume RFC 1459's 512 bytes; a smaller limit would reject ordinary lines.
    "max_line": functools.partial(_integer, low=512, high=65_536),
    "ping_interval": _seconds,
    "ping_timeout": _seconds,
    "registration_timeout": _seconds,
    "sendq": functools.partial(_integer, low=512, high=None),
    "nick_length": functools.partial(_integer, low=1, high=255),
    "channel_length": functools.partial(_integer, low=2, high=255),
    "max_channels": functools.partial(_integer, low=1, high=None),
    "topic_length": functools.partial(_integer, low=1, high=None),
    "away_length": functools.partial(_integer, low=1, high=None),
    "flood_burst": functools.partial(_integer, low=1, high=None),
    "flood_rate": _rate,
    "recvq": functools.partial(_integer, low=1024, high=None),
}

#: YAML key under ``tls:`` (the Tls field name) -> check.
_TLS: dict[str, _Check] = {
    "cert": _file,
    "key": _file,
    "port": _port,
    "require": _bool,
}

#: YAML key under ``auth:`` -> (Auth field, check). Both password keys fill ``password``.
_AUTH: dict[str, tuple[str, _Check]] = {
    "password": ("password", _secret),
    "password_file": ("password", _secret_file),
    "reserve_nicks": ("reserve_nicks", _bool),
    "sasl_plaintext": ("sasl_plaintext", _bool),
}

#: YAML key under ``history:`` (the History field name) -> check.
_HISTORY: dict[str, _Check] = {
    "store": _store,
    "max_messages": functools.partial(_integer, low=0, high=None),
    "max_age_days": _days,
    "sync": functools.partial(_choice, options=("normal", "full")),
    "max_fetch": functools.partial(_integer, low=1, high=100_000),
}

#: YAML key under ``discovery:`` (the Discovery field name) -> check.
_DISCOVERY: dict[str, _Check] = {
    "enabled": _bool,
    "name": _service_name,
}

#: The keys each section accepts, in the order config/lan.yaml lists them.
_SECTIONS: dict[str, tuple[str, ...]] = {
    "server": ("name", "network", "host", "port", "motd", "default_channels", "data_dir", "log_level"),
    "limits": tuple(_LIMITS),
    "history": tuple(_HISTORY),
    "tls": tuple(_TLS),
    "auth": tuple(_AUTH),
    "discovery": tuple(_DISCOVERY),
}

#: Environment variable -> (Settings field, check).
_ENV: dict[str, tuple[str, str, _Check]] = {
    "CHAT_HOST": ("server", "host", _word),
    "CHAT_PORT": ("server", "port", _port_text),
    "CHAT_DATA_DIR": ("server", "data_dir", _directory),
    "CHAT_LOG_LEVEL": ("server", "log_level", _log_level),
    "CHAT_HISTORY": ("history", "store", _store),  # the store only: the file keeps the rest
    "CHAT_PASSWORD": ("auth", "password", _secret),
    "CHAT_PASSWORD_FILE": ("auth", "password", _secret_file),
    "CHAT_DISCOVERY": ("discovery", "enabled", _switch),  # off/on: the file keeps the name
}

#: Command-line override key -> check. Reported under the option's spelling (``--data-dir``).
_OVERRIDES: dict[str, tuple[str, str, _Check]] = {
    "host": ("server", "host", _word),
    "port": ("server", "port", _port),
    "data_dir": ("server", "data_dir", _directory),
    "log_level": ("server", "log_level", _log_level),
    "history": ("history", "store", _store),
}


class _Problems:
    """Collects every problem so one run of the server reports all of them."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str) -> None:
        self.lines.append(line)

    def check(self, where: str, check: _Check, value: object) -> Any:
        """The checked value, or None (and a recorded problem) if it is invalid."""
        try:
            return check(value)
        except _Invalid as err:
            self.add(f"{where}: {err}")
            return None


# --- the YAML file ---


def _read_yaml(path: Path) -> object:
    """Parsed document; file-level failures raise at once since nothing else can be checked."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a directory, not a config file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{where}: not UTF-8 text (bad byte at offset {err.start})") from None
    except OSError as err:
        raise ConfigError(f"{where}: cannot read: {err.strerror}") from None
    try:
        duplicates = _duplicate_keys(where, yaml.compose(text, Loader=yaml.SafeLoader))
        if duplicates:
            # PyYAML silently keeps the last of two equal keys; an admin who set a value twice
            # would not know which one the server uses.
            raise ConfigError("\n".join(duplicates))
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        place = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = err.problem or err.context or "unreadable"
        raise ConfigError(f"{where}: {place}invalid YAML: {problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{where}: invalid YAML: {err}") from None


def _duplicate_keys(where: str, root: yaml.Node | None) -> list[str]:
    found: list[str] = []
    seen_nodes: set[int] = set()  # anchors can make the node graph cyclic

    def walk(node: yaml.Node, dotted: str) -> None:
        if id(node) in seen_nodes:
            return
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                path = f"{dotted}.{key}" if dotted else key
                line = key_node.start_mark.line + 1
                ident = (key_node.tag, key)
                if ident in first_line:
                    found.append(f"{where}: line {line}: {path}: duplicate key (first set on line {first_line[ident]})")
                else:
                    first_line[ident] = line
                walk(value_node, path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, f"{dotted}[{index}]")

    if root is not None:
        walk(root, "")
    return found


def _unknown_key(section: str, key: str) -> str:
    own = list(_SECTIONS) if not section else list(_SECTIONS[section])
    close = difflib.get_close_matches(key, own, n=1)
    if close:
        hint = f'did you mean "{close[0]}"?'
    else:
        elsewhere = [f"{name}.{key}" for name, keys in _SECTIONS.items() if name != section and key in keys]
        hint = f'did you mean "{elsewhere[0]}"?' if elsewhere else f"expected one of: {', '.join(own)}"
    return f"unknown key ({hint})"


def _section(where: str, name: str, data: Mapping[object, object], problems: _Problems) -> dict[str, object]:
    """The section's raw key/value pairs with unknown keys reported."""
    raw = data.get(name)
    if raw is None:  # absent, or present with everything under it commented out
        return {}
    if not isinstance(raw, dict):
        problems.add(f"{where}: {name}: expected a mapping of settings, got {_describe(raw)}")
        return {}
    known: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(key, str) and key in _SECTIONS[name]:
            known[key] = value
        else:
            problems.add(f"{where}: {name}.{key}: {_unknown_key(name, str(key))}")
    return known


def _channels(where: str, value: object, max_len: int, problems: _Problems) -> tuple[str, ...] | None:
    key = "server.default_channels"
    if not isinstance(value, list):
        problems.add(f'{where}: {key}: expected a list of channel names like ["#lobby"], got {_describe(value)}')
        return None
    names: list[str] = []
    first: dict[str, int] = {}
    for index, item in enumerate(value):
        at = f"{where}: {key}[{index}]"
        if item is None:
            problems.add(
                f'{at}: expected a channel name, got an empty value (quote it, as in "#lobby": '
                "an unquoted # starts a YAML comment)"
            )
        elif not isinstance(item, str) or not valid_channel(item, max_len):
            problems.add(
                f"{at}: expected a channel name: # or & then up to {max_len - 1} characters "
                f"without spaces, commas or colons, got {_describe(item)}"
            )
        elif casefold(item) in first:
            problems.add(f"{at}: {_describe(item)} is already listed at {key}[{first[casefold(item)]}]")
        else:
            first[casefold(item)] = index
            names.append(item)
    return tuple(names)


def _from_file(path: Path, problems: _Problems) -> dict[str, dict[str, Any]]:
    """Fields set by the file, per section: ``server`` holds Settings fields, the others the
    fields of their own dataclass (Limits, History, Tls, Auth, Discovery)."""
    where = str(path)
    data = _read_yaml(path)
    sections: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    if data is None:  # empty, or only comments: all defaults
        return sections
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: expected a mapping with {', '.join(n + ':' for n in _SECTIONS)} sections, got {_describe(data)}"
        )
    for key in data:
        if key not in _SECTIONS:
            problems.add(f"{where}: {key}: {_unknown_key('', str(key))}")

    # limits: is read first because channel names are checked against its channel_length, but
    # its problems are listed after server:'s, in the order the file has them.
    limit_problems = _Problems()
    raw_limits = _section(where, "limits", data, limit_problems)
    limits = sections["limits"]
    for key, value in raw_limits.items():
        checked = limit_problems.check(f"{where}: limits.{key}", _LIMITS[key], value)
        if checked is not None:
            limits[key] = checked
    merged = dataclasses.replace(Limits(), **limits)
    for low, high, relation in (
        ("ping_interval", "ping_timeout", "greater than"),
        ("max_line", "sendq", "at least"),
        ("max_line", "recvq", "at least"),
    ):
        given = {low, high} & raw_limits.keys()
        if not given or not given <= limits.keys():  # not set here, or already reported as invalid
            continue
        low_value, high_value = getattr(merged, low), getattr(merged, high)
        if high_value < low_value or (relation == "greater than" and high_value == low_value):
            limit_problems.add(
                f"{where}: limits.{high}: must be {relation} limits.{low} ({low_value:g}), got {high_value:g}"
            )

    server = sections["server"]
    for key, value in _section(where, "server", data, problems).items():
        if key == "default_channels":
            name, checked = key, _channels(where, value, merged.channel_length, problems)
        else:
            name, check = _SERVER[key]
            checked = problems.check(f"{where}: server.{key}", check, value)
        if checked is not None:
            server[name] = checked
    problems.lines.extend(limit_problems.lines)
    for name, table in (("history", _HISTORY), ("tls", _TLS), ("discovery", _DISCOVERY)):
        for key, value in _section(where, name, data, problems).items():
            checked = problems.check(f"{where}: {name}.{key}", table[key], value)
            if checked is not None:
                sections[name][key] = checked
    raw_auth = _section(where, "auth", data, problems)
    if "password" in raw_auth and "password_file" in raw_auth:
        problems.add(f"{where}: auth.password_file: set either auth.password or auth.password_file, not both")
    for key, value in raw_auth.items():
        name, check = _AUTH[key]
        checked = problems.check(f"{where}: auth.{key}", check, value)
        if checked is not None:
            sections["auth"][name] = checked
    tls = sections["tls"]
    if ("cert" in tls) != ("key" in tls):
        missing = "key" if "cert" in tls else "cert"
        problems.add(f"{where}: tls.{missing}: TLS needs both tls.cert and tls.key (make a pair with: chat cert)")
    elif tls.get("require") and "cert" not in tls:
        problems.add(f"{where}: tls.require: TLS-only needs tls.cert and tls.key (make a pair with: chat cert)")
    return sections


# --- putting the layers together ---


def load_settings(
    path: Path | None,
    overrides: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from defaults < YAML file < ``CHAT_*`` environment < command-line overrides.

    ``path=None`` skips the file. ``overrides`` takes ``host``, ``port``, ``data_dir`` and
    ``log_level``; None values mean "not given". ``environ`` defaults to ``os.environ``; an
    empty variable counts as unset, as shells make unsetting awkward. The returned
    ``data_dir`` is absolute, resolved against the current directory.

    Raises ConfigError with every problem found, one per line.
    """
    problems = _Problems()
    sections: dict[str, dict[str, Any]] = {name: {} for name in _SECTIONS}
    if path is not None:
        sections = _from_file(path, problems)
    fields = sections["server"]

    env = os.environ if environ is None else environ
    for var, (section, name, check) in _ENV.items():
        text = env.get(var)
        if text:
            checked = problems.check(var, check, text)
            if checked is not None:
                sections[section][name] = checked

    for key, value in (overrides or {}).items():
        if key not in _OVERRIDES:
            raise ValueError(f"unknown settings override {key!r}; expected one of {sorted(_OVERRIDES)}")
        section, name, check = _OVERRIDES[key]
        if value is not None:
            checked = problems.check("--" + key.replace("_", "-"), check, value)
            if checked is not None:
                sections[section][name] = checked

    if problems.lines:
        raise ConfigError("\n".join(problems.lines))
    settings = dataclasses.replace(
        Settings(),
        **fields,
        limits=dataclasses.replace(Limits(), **sections["limits"]),
        history=dataclasses.replace(History(), **sections["history"]),
        tls=dataclasses.replace(Tls(), **sections["tls"]),
        auth=dataclasses.replace(Auth(), **sections["auth"]),
        discovery=dataclasses.replace(Discovery(), **sections["discovery"]),
    )
    data_dir = _absolute(settings.data_dir)
    tls = settings.tls
    if tls.cert is not None and tls.key is not None:
        tls = dataclasses.replace(tls, cert=data_dir / tls.cert, key=data_dir / tls.key)
    return dataclasses.replace(settings, data_dir=data_dir, tls=tls)
