"""Carrying out a parsed command on a connection: the one place that knows which protocol
message each slash command becomes, shared by the terminal and the GUI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chat.client import commands as cmd
from chat.client.connection import Connection
from chat.client.session import NEEDS_TLS
from chat.protocol import Message

__all__ = ["Leave", "NetworkCommand", "Surface", "carry_out", "carry_out_typed", "perform"]


class Surface(Protocol):
    """What a user interface offers the shared command handling."""

    def show(self, text: str) -> None:
        """Text for the user (``/help``)."""

    def problem(self, text: str) -> None:
        """Something the user typed cannot be done, in plain words."""

    def talk_to(self, target: str) -> None:
        """Plain text goes to ``target`` from now on (``/query``, ``/join``)."""


@dataclass(frozen=True, slots=True)
class Leave:
    """The user asked to leave (``/quit``), saying goodbye with ``reason``."""

    reason: str


def carry_out_typed(text: str, target: str | None, conn: Connection, ui: Surface) -> Leave | None:
    """A typed line (plain text goes to ``target``): parse it, then :func:`carry_out`."""
    command = cmd.parse_input(text, target)
    return None if command is None else carry_out(command, conn, ui)


def carry_out(command: cmd.Command, conn: Connection, ui: Surface) -> Leave | None:
    """Do what one typed command asks; every UI calls this, so commands behave the same."""
    match command:
        case cmd.Quit(reason):
            return Leave(reason)
        case cmd.Help(text):
            ui.show(text)
        case cmd.Problem(text):
            ui.problem(text)
        case cmd.Query(target):
            ui.talk_to(target)
        case _:
            if isinstance(command, cmd.Join):
                ui.talk_to(command.channels[-1])
            error = perform(command, conn)
            if error:
                ui.problem(error)
    return None


#: Commands that go to the server; the others (help, problems, /query, /quit) are the UI's job.
NetworkCommand = (
    cmd.Say
    | cmd.Emote
    | cmd.Notice
    | cmd.Join
    | cmd.Part
    | cmd.Nick
    | cmd.Names
    | cmd.Topic
    | cmd.Away
    | cmd.Whois
    | cmd.ListChannels
    | cmd.Raw
    | cmd.Oper
    | cmd.Kill
    | cmd.Kick
)


def perform(command: NetworkCommand, conn: Connection) -> str | None:
    """Hand ``command`` to ``conn``; return a sentence for the user if it cannot be done."""
    try:
        _perform(command, conn)
    except ValueError as err:
        return str(err)
    return None


def _perform(command: NetworkCommand, conn: Connection) -> None:
    match command:
        case cmd.Say(target, text):
            conn.say(target, text)
        case cmd.Emote(target, text):
            conn.action(target, text)
        case cmd.Notice(target, text):
            conn.notice(target, text)
        case cmd.Join(channels):
            for channel in channels:
                conn.join(channel)
        case cmd.Part(channel, reason):
            conn.part(channel, reason)
        case cmd.Nick(nick):
            conn.set_nick(nick)
        case cmd.Names(channel):
            conn.send_raw(Message("NAMES", [channel] if channel else []))
        case cmd.Topic(channel, text):
            conn.send_raw(Message("TOPIC", [channel] if text is None else [channel, text]))
        case cmd.Away(text):
            conn.send_raw(Message("AWAY", [text] if text else []))
        case cmd.Whois(nick):
            conn.send_raw(Message("WHOIS", [nick]))
        case cmd.ListChannels(pattern):
            conn.send_raw(Message("LIST", [pattern] if pattern else []))
        case cmd.Raw(line):
            conn.send_raw(line)
        case cmd.Oper(name, password):
            if not conn.login_allowed:
                raise ValueError(f"/oper {NEEDS_TLS}")
            conn.send_raw(Message("OPER", [name, password]))
        case cmd.Kill(nick, reason):
            conn.send_raw(Message("KILL", [nick, reason] if reason else [nick]))
        case cmd.Kick(channel, nicks, reason):
            conn.send_raw(Message("KICK", [channel, ",".join(nicks), *([reason] if reason else [])]))
