"""Numeric replies turned into sentences: ``401 bob :No such nick`` becomes
``no such nick or channel: bob``.

Server texts vary between implementations and are written for IRC veterans; the numerics are
standard, so the wording is chosen here from the number and the parameters alone, falling back
to the server's text for numerics we do not know.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chat.client.events import Error, Event, Info
from chat.protocol import Message
from chat.protocol import numerics as rpl

__all__ = ["describe_numeric"]

_Words = Callable[[list[str]], str]


def _arg(args: list[str], index: int, default: str = "?") -> str:
    return args[index] if index < len(args) and args[index] else default


_ERRORS: dict[str, _Words] = {
    rpl.ERR_NOSUCHNICK: lambda a: f"no such nick or channel: {_arg(a, 0)}",
    rpl.ERR_NOSUCHCHANNEL: lambda a: f"no such channel: {_arg(a, 0)}",
    rpl.ERR_CANNOTSENDTOCHAN: lambda a: f"cannot send to {_arg(a, 0)}: join the channel first",
    rpl.ERR_NORECIPIENT: lambda a: "the message has no recipient",
    rpl.ERR_NOTEXTTOSEND: lambda a: "cannot send an empty message",
    rpl.ERR_INPUTTOOLONG: lambda a: "that line was too long for the server",
    rpl.ERR_UNKNOWNCOMMAND: lambda a: f"the server does not know the command {_arg(a, 0)}",
    rpl.ERR_NOMOTD: lambda a: "the server has no message of the day",
    rpl.ERR_NONICKNAMEGIVEN: lambda a: "no nick given",
    rpl.ERR_ERRONEUSNICKNAME: lambda a: f'"{_arg(a, 0)}" is not allowed as a nick',
    rpl.ERR_NICKNAMEINUSE: lambda a: f'the nick "{_arg(a, 0)}" is already taken',
    rpl.ERR_USERNOTINCHANNEL: lambda a: f"{_arg(a, 0)} is not in {_arg(a, 1)}",
    rpl.ERR_NOTONCHANNEL: lambda a: f"you are not in {_arg(a, 0)}",
    rpl.ERR_NOTREGISTERED: lambda a: "the server has not finished letting you in yet",
    rpl.ERR_NEEDMOREPARAMS: lambda a: f"the server needs more parameters for {_arg(a, 0)}",
    rpl.ERR_ALREADYREGISTERED: lambda a: "you are already registered",
    rpl.ERR_PASSWDMISMATCH: lambda a: "wrong password",
    rpl.ERR_NOPRIVILEGES: lambda a: "only server operators can do that (see /oper)",
    rpl.ERR_NOOPERHOST: lambda a: f"cannot become an operator: {_arg(a, 0)}",
    rpl.ERR_SASLALREADY: lambda a: "you are already logged in",
    rpl.ERR_UNKNOWNMODE: lambda a: f"the server does not know the mode {_arg(a, 0)}",
    rpl.ERR_CHANOPRIVSNEEDED: lambda a: f"you need to be an operator of {_arg(a, 0)} to do that",
    rpl.ERR_UMODEUNKNOWNFLAG: lambda a: "the server does not know that user mode",
    rpl.ERR_USERSDONTMATCH: lambda a: "you can only change your own modes",
    rpl.ERR_INVALIDCAPCMD: lambda a: f"the server did not understand CAP {_arg(a, 0)}",
}

_INFO: dict[str, _Words] = {
    rpl.RPL_UMODEIS: lambda a: f"your modes: {_arg(a, 0)}",
    rpl.RPL_AWAY: lambda a: f"{_arg(a, 0)} is away: {_arg(a, 1, '')}",
    rpl.RPL_UNAWAY: lambda a: "you are no longer marked as away",
    rpl.RPL_NOWAWAY: lambda a: "you are now marked as away",
    rpl.RPL_WHOISUSER: lambda a: f"{_arg(a, 0)} is {_arg(a, 1)}@{_arg(a, 2)} ({_arg(a, 4, '')})",
    rpl.RPL_WHOISSERVER: lambda a: f"{_arg(a, 0)} is connected to {_arg(a, 1)} ({_arg(a, 2, '')})",
    rpl.RPL_WHOISIDLE: lambda a: _idle(a),
    rpl.RPL_WHOISCHANNELS: lambda a: f"{_arg(a, 0)} is in {_arg(a, 1, '')}",
    rpl.RPL_LIST: lambda a: _list_row(a),
    rpl.RPL_LISTEND: lambda a: "end of the channel list",
    rpl.RPL_CHANNELMODEIS: lambda a: f"{_arg(a, 0)} has modes {_arg(a, 1)}",
    rpl.RPL_NOTOPIC: lambda a: f"{_arg(a, 0)} has no topic",
    rpl.RPL_WHOREPLY: lambda a: (
        f"{_arg(a, 0)}: {_arg(a, 4)} ({_arg(a, 1)}@{_arg(a, 2)})" + (" [away]" if _arg(a, 5).startswith("G") else "")
    ),
    rpl.RPL_WHOISACCOUNT: lambda a: f"{_arg(a, 0)} is logged in as {_arg(a, 1)}",
    rpl.RPL_WHOISOPERATOR: lambda a: f"{_arg(a, 0)} is a server operator",
    rpl.RPL_YOUREOPER: lambda a: "you are now a server operator",
    "351": lambda a: f"server version: {_arg(a, 0)} on {_arg(a, 1)}",
    "303": lambda a: f"online: {_arg(a, 0, 'nobody of those')}",
    "302": lambda a: f"user hosts: {_arg(a, 0, '(none)')}",
}

#: Numerics that only frame others (start/end markers) or that a UI learns from elsewhere.
_SILENT = frozenset(
    {
        rpl.RPL_ENDOFWHO,
        rpl.RPL_ENDOFWHOIS,
        rpl.RPL_LISTSTART,
        rpl.RPL_CREATIONTIME,
        rpl.RPL_TOPICWHOTIME,
        rpl.RPL_MYINFO,
        rpl.RPL_ISUPPORT,
        rpl.RPL_MOTDSTART,
        rpl.RPL_ENDOFMOTD,
        rpl.RPL_LUSERCHANNELS,
        rpl.RPL_LUSERME,
        "252",
        "253",
        "265",
        "266",
        "368",
        "349",
        "347",
    }
)


def _idle(args: list[str]) -> str:
    nick, idle = _arg(args, 0), _arg(args, 1, "0")
    text = f"{nick} has been idle {_duration(int(idle))}" if idle.isdigit() else f"{nick} is idle"
    signon = _arg(args, 2, "")
    if signon.isdigit():
        text += f", connected since {datetime.fromtimestamp(int(signon)).strftime('%Y-%m-%d %H:%M')}"
    return text


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def _list_row(args: list[str]) -> str:
    users = _arg(args, 1, "0")
    topic = _arg(args, 2, "")
    noun = "user" if users == "1" else "users"
    return f"{_arg(args, 0)} ({users} {noun})" + (f": {topic}" if topic else "")


def describe_numeric(msg: Message) -> Event | None:
    """The event a numeric reply should produce, or ``None`` when it is not worth showing."""
    code = msg.command
    args = msg.params[1:]  # params[0] is our own nick
    if code in _SILENT:
        return None
    if code in _ERRORS:
        return Error(_ERRORS[code](args))
    if code in _INFO:
        return Info(_INFO[code](args))
    if code == rpl.RPL_MOTD:
        text = _arg(args, 0, "")
        return Info(text[2:] if text.startswith("- ") else text)
    text = " ".join(a for a in args if a)
    if not text:
        return None
    if code[:1] in "45":
        return Error(text)
    return Info(text)
