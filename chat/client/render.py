"""Events as a person reads them (one line of plain text) and as a script reads them (JSON).

Both UIs and the non-interactive terminal print through here, so the wording of "bob joined
#lobby" is decided once. Colour is left to each UI; these strings are plain.
"""

from __future__ import annotations

import dataclasses
import zlib
from datetime import datetime
from pathlib import Path
from typing import Any

from chat.client import events as ev
from chat.client import pins
from chat.client.formatting import strip
from chat.protocol import casefold

__all__ = ["clock", "describe", "event_type", "message_line", "nick_slot", "plain", "to_json"]


def plain(text: str) -> str:
    """``text`` without control characters or formatting codes (colour digits included), safe
    to print on a terminal."""
    return strip(text)


def nick_slot(nick: str, slots: int) -> int:
    """Which of ``slots`` colours a nick gets: the same in every session, UI and machine, so
    people recognise each other by colour."""
    return zlib.crc32(casefold(nick).encode()) % slots


def clock(when: datetime) -> str:
    """``HH:MM`` in the local time zone, as chat windows show it."""
    return when.astimezone().strftime("%H:%M")


def event_type(event: ev.Event) -> str:
    """``NickChanged`` -> ``nick_changed``: the ``type`` field of the JSON form."""
    name = type(event).__name__
    return "".join("_" + ch.lower() if ch.isupper() and i else ch.lower() for i, ch in enumerate(name))


def message_line(event: ev.Message) -> tuple[str, str, str]:
    """(``[#lobby]`` part, ``<alice>`` part, text) so a UI can colour the nick alone."""
    where = f"[{event.conversation}]"
    if event.action:
        who = f"* {event.sender}"
    elif event.notice:
        who = f"-{event.sender}-"
    else:
        who = f"<{event.sender}>"
    return plain(where), plain(who), plain(event.text)


def describe(event: ev.Event) -> str | None:
    """One line for a person, or ``None`` for events that only matter to programs."""
    text = _describe(event)
    return None if text is None else plain(text)


def _describe(event: ev.Event) -> str | None:
    match event:
        case ev.Message():
            where, who, text = message_line(event)
            return f"{clock(event.time)} {where} {who} {text}"
        case ev.Connecting(address, attempt):
            return f"connecting to {address}" + (f" (attempt {attempt})" if attempt > 1 else "") + "…"
        case ev.Connected(server, nick, address):
            return f"connected to {address} ({server}) as {nick}"
        case ev.Disconnected(reason):
            return f"disconnected: {reason}"
        case ev.Reconnecting(attempt, delay):
            return f"reconnecting in {delay:.0f} s (attempt {attempt})"
        case ev.NickChanged(old, new, own):
            return f"you are now known as {new}" if own else f"{old} is now known as {new}"
        case ev.Joined(channel, nick, own):
            return f"you joined {channel}" if own else f"{nick} joined {channel}"
        case ev.Kicked(channel, nick, reason, own, by):
            why = f": {reason}" if reason else ""
            if own:
                return f"you were removed from {channel} by {by}{why}"
            return f"{by} removed {nick} from {channel}{why}"
        case ev.Parted(channel, nick, reason, own):
            who = "you" if own else nick
            return f"{who} left {channel}" + (f" ({reason})" if reason else "")
        case ev.Quit(nick, reason):
            return f"{nick} left the chat" + (f" ({reason})" if reason else "")
        case ev.Names(channel, nicks):
            return f"in {channel}: {' '.join(nicks) or 'nobody'}"
        case ev.Topic(channel, text, setter):
            if setter:
                return f"{setter} set the topic of {channel} to: {text}"
            return f"topic of {channel}: {text}"
        case ev.Queued(_, target, text, action, _, True):
            shown = f"* {text}" if action else text
            return f"not connected — will send to {target} after reconnecting: {shown}"
        case ev.CaughtUp(0):
            return "reconnected — nothing missed"
        case ev.CaughtUp(count, conversations):
            noun = "message" if count == 1 else "messages"
            return f"reconnected — caught up on {count} missed {noun} in {', '.join(conversations)}"
        case ev.CertificatePinned(address, fingerprint, file, given, replaced):
            return pins.first_use_notice(address, fingerprint, Path(file), given=given, replaced=replaced or None)
        case ev.CertificateChanged(address, expected, got, file, given, name):
            return pins.changed_warning(address, expected, got, Path(file), given=given, name=name)
        case ev.Info(text):
            return text
        case ev.Error(text):
            return f"error: {text}"
        case ev.Refused(reason):
            return reason
    return None


def to_json(event: ev.Event) -> dict[str, Any]:
    """A JSON-ready dict: ``type`` plus every field, times as ISO 8601 strings."""
    out: dict[str, Any] = {"type": event_type(event)}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    if isinstance(event, ev.Message):
        out["conversation"] = event.conversation
        out["private"] = event.private
    return out
