"""What the user typed, turned into a typed command for a UI to carry out.

Pure functions over strings, shared by the terminal and the GUI so that ``/msg`` means the same
in both and the help text cannot drift from what is accepted: every command, alias, usage line
and summary comes from one table, :data:`COMMANDS`. Nothing here touches the network; mistakes
come back as a :class:`Problem` with a sentence to show, never as an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chat.protocol import ParseError, is_channel, parse, valid_channel, valid_nick

__all__ = [
    "COMMANDS",
    "Away",
    "Command",
    "Emote",
    "Help",
    "Join",
    "Kick",
    "Kill",
    "ListChannels",
    "Names",
    "Nick",
    "Notice",
    "Oper",
    "Part",
    "Problem",
    "Query",
    "Quit",
    "Raw",
    "Say",
    "Spec",
    "Topic",
    "Whois",
    "help_text",
    "parse_input",
]

# ------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class Say:
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class Emote:
    """``/me waves`` in ``target``."""

    target: str
    text: str


@dataclass(frozen=True, slots=True)
class Notice:
    target: str
    text: str


@dataclass(frozen=True, slots=True)
class Join:
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Part:
    channel: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Nick:
    nick: str


@dataclass(frozen=True, slots=True)
class Names:
    """Who is in ``channel`` (all our channels when ``None``)."""

    channel: str | None


@dataclass(frozen=True, slots=True)
class Topic:
    """Show the topic (``text`` is ``None``) or set it."""

    channel: str
    text: str | None


@dataclass(frozen=True, slots=True)
class Away:
    """Mark as away with a message, or back (``None``)."""

    text: str | None


@dataclass(frozen=True, slots=True)
class Whois:
    nick: str


@dataclass(frozen=True, slots=True)
class ListChannels:
    pattern: str = ""


@dataclass(frozen=True, slots=True)
class Oper:
    """Become a server operator with an operator account."""

    name: str
    password: str


@dataclass(frozen=True, slots=True)
class Kill:
    """Disconnect someone from the server (server operators only)."""

    nick: str
    reason: str


@dataclass(frozen=True, slots=True)
class Kick:
    """Remove people from a channel (its operators, or server operators)."""

    channel: str
    nicks: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Raw:
    """A protocol line sent as typed (``/raw``), already checked to parse."""

    line: str


@dataclass(frozen=True, slots=True)
class Query:
    """Make ``target`` the one plain text goes to (a channel or a nick)."""

    target: str


@dataclass(frozen=True, slots=True)
class Quit:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Help:
    """Text to show locally."""

    text: str


@dataclass(frozen=True, slots=True)
class Problem:
    """The line could not be understood; ``text`` says why and what to type instead."""

    text: str


Command = (
    (Say | Emote | Notice | Join | Part | Nick | Names | Topic | Away | Whois | ListChannels | Raw | Query)
    | (Oper | Kill | Kick)
    | Quit
    | Help
    | Problem
)


class _Usage(Exception):
    """Raised by a builder when arguments are missing or wrong; turned into a :class:`Problem`."""


_Builder = Callable[[str, "str | None"], Command]


@dataclass(frozen=True, slots=True)
class Spec:
    """One slash command: the source of both parsing and ``/help``."""

    name: str
    args: str
    summary: str
    build: _Builder
    aliases: tuple[str, ...] = ()

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".rstrip()


# ------------------------------------------------------------------------ builders

_NO_TARGET = "there is no channel or conversation to send to: /join #channel or /msg <nick> <text> first"
_MAX_NAME = 512  # the server enforces its real limits; here only the grammar is checked


def _split(args: str) -> tuple[str, str]:
    first, _, rest = args.strip().partition(" ")
    return first, rest.strip()


def _need(value: str) -> str:
    if not value:
        raise _Usage
    return value


def _channel_name(name: str) -> str:
    """``lobby`` means ``#lobby``: nobody should have to know the prefix."""
    channel = name if is_channel(name) else "#" + name
    if not valid_channel(channel, _MAX_NAME):
        raise _Usage(f'"{name}" is not a valid channel name')
    return channel


def _current(target: str | None) -> str:
    if not target:
        raise _Usage(_NO_TARGET)
    return target


def _say(args: str, target: str | None) -> Command:
    who, text = _split(args)
    return Say(_need(who), _need(text))


def _notice(args: str, target: str | None) -> Command:
    who, text = _split(args)
    return Notice(_need(who), _need(text))


def _me(args: str, target: str | None) -> Command:
    return Emote(_current(target), _need(args.strip()))


def _join(args: str, target: str | None) -> Command:
    names = [n for n in args.replace(",", " ").split() if n]
    return Join(tuple(_channel_name(n) for n in _need_list(names)))


def _need_list(items: list[str]) -> list[str]:
    if not items:
        raise _Usage
    return items


def _part(args: str, target: str | None) -> Command:
    first, rest = _split(args)
    if first and is_channel(first):
        return Part(first, rest)
    if target and is_channel(target):
        return Part(target, args.strip())
    raise _Usage


def _nick(args: str, target: str | None) -> Command:
    nick, extra = _split(args)
    if not nick or extra:
        raise _Usage
    if not valid_nick(nick, _MAX_NAME):
        raise _Usage(
            f'"{nick}" is not a valid nick: start with a letter or one of []\\`_^{{|}}, '
            "then letters, digits, those characters or '-'"
        )
    return Nick(nick)


def _names(args: str, target: str | None) -> Command:
    first, _ = _split(args)
    if first:
        return Names(_channel_name(first))
    return Names(target if target and is_channel(target) else None)


def _topic(args: str, target: str | None) -> Command:
    first, rest = _split(args)
    if first and is_channel(first):
        return Topic(first, rest or None)
    if target and is_channel(target):
        return Topic(target, args.strip() or None)
    raise _Usage


def _away(args: str, target: str | None) -> Command:
    return Away(args.strip() or None)


def _whois(args: str, target: str | None) -> Command:
    nick, extra = _split(args)
    if not nick or extra:
        raise _Usage
    return Whois(nick)


def _list(args: str, target: str | None) -> Command:
    return ListChannels(args.strip())


def _raw(args: str, target: str | None) -> Command:
    line = _need(args.strip())
    try:
        parse(line).to_line()
    except (ParseError, ValueError) as err:
        raise _Usage(f"that is not a protocol line the server could read: {err}") from None
    return Raw(line)


def _query(args: str, target: str | None) -> Command:
    who, extra = _split(args)
    if not who or extra:
        raise _Usage
    return Query(who)


def _oper(args: str, target: str | None) -> Command:
    name, password = _split(args)
    return Oper(_need(name), _need(password))


def _kill(args: str, target: str | None) -> Command:
    nick, reason = _split(args)
    return Kill(_need(nick), reason)


def _kick(args: str, target: str | None) -> Command:
    """``/kick [#channel] nick[,nick] [reason]``: the current channel unless one is named."""
    first, rest = _split(args)
    if first and is_channel(first):
        channel = first
        first, rest = _split(rest)
    elif target and is_channel(target):
        channel = target
    else:
        raise _Usage
    return Kick(channel, tuple(_need_list([n for n in first.split(",") if n])), rest)


def _quit(args: str, target: str | None) -> Command:
    return Quit(args.strip())


def _help(args: str, target: str | None) -> Command:
    return Help(help_text(args.strip().lstrip("/")))


COMMANDS: tuple[Spec, ...] = (
    Spec("join", "<#channel> [#channel ...]", "join one or more channels", _join, ("j",)),
    Spec("part", "[#channel] [reason]", "leave a channel (the current one by default)", _part, ("leave",)),
    Spec("msg", "<nick|#channel> <text>", "send a message to someone or to a channel", _say, ("pm",)),
    Spec("me", "<text>", "describe what you do: /me waves", _me),
    Spec("notice", "<nick|#channel> <text>", "send a notice (never answered automatically)", _notice),
    Spec("query", "<nick|#channel>", "send what you type next to this nick or channel", _query, ("q",)),
    Spec("nick", "<new-nick>", "change your nick", _nick, ("username",)),
    Spec("names", "[#channel]", "who is in a channel", _names, ("users", "who")),
    Spec("topic", "[#channel] [text]", "show the topic, or set it when text is given", _topic),
    Spec("away", "[message]", "mark yourself away with a message; without one, you are back", _away),
    Spec("whois", "<nick>", "who someone is and where they are", _whois),
    Spec("list", "[#channel,...]", "list the channels on the server", _list),
    Spec("kick", "[#channel] <nick>[,nick] [reason]", "remove someone from a channel (channel operators)", _kick),
    Spec("oper", "<account> <password>", "become a server operator with an operator account", _oper),
    Spec("kill", "<nick> [reason]", "disconnect someone from the server (server operators)", _kill),
    Spec("raw", "<IRC line>", "send a protocol line as typed (for testing)", _raw, ("quote",)),
    Spec("help", "[command]", "this help, or the help of one command", _help),
    Spec("quit", "[reason]", "leave the chat", _quit, ("exit",)),
)

_BY_NAME: dict[str, Spec] = {name: spec for spec in COMMANDS for name in (spec.name, *spec.aliases)}


def help_text(command: str = "") -> str:
    """The help for every command, or for one (``/help msg``)."""
    if command:
        spec = _BY_NAME.get(command.lower())
        if spec is None:
            return f"unknown command /{command} — type /help for the list"
        return _describe(spec)
    lines = ["Commands:"]
    lines += ["  " + _describe(spec) for spec in COMMANDS]
    lines.append("Anything else you type is sent to the current channel; start with // to send a '/'.")
    return "\n".join(lines)


def _describe(spec: Spec) -> str:
    also = f" (also {', '.join('/' + a for a in spec.aliases)})" if spec.aliases else ""
    return f"{spec.usage} — {spec.summary}{also}"


def parse_input(line: str, target: str | None = None) -> Command | None:
    """Turn one typed line into a command. ``target`` is where plain text goes (the current
    channel or conversation). Blank input gives ``None``: there is nothing to do."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if line.startswith("//"):
        return Say(target, line[1:]) if target else Problem(_NO_TARGET)
    if not line.startswith("/"):
        return Say(target, line) if target else Problem(_NO_TARGET)
    name, _, args = line[1:].partition(" ")
    if not name:
        return Problem("a command name must follow the / — type /help for the list")
    spec = _BY_NAME.get(name.lower())
    if spec is None:
        return Problem(f"unknown command /{name} — type /help")
    try:
        return spec.build(args, target)
    except _Usage as err:
        return Problem(str(err) if err.args else f"usage: {spec.usage} — {spec.summary}")
