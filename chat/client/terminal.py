"""``chat connect``: chatting from a terminal, or from a script through stdin and stdout.

On a terminal the input line stays at the bottom (prompt_toolkit) while messages scroll above
it, and the toolbar always says whether we are connected. When stdin is not a terminal (or
with ``--json``) every input line is a command or a message, every event is one output line,
and at the end of input we wait until the server confirmed what was said before leaving, so
``echo hi | chat connect server`` really delivers ``hi``.
"""

from __future__ import annotations

import getpass
import json
import logging
import math
import queue
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application
from prompt_toolkit.patch_stdout import patch_stdout

from chat.client import events as ev
from chat.client.address import parse_server
from chat.client.connection import Connection
from chat.client.dispatch import carry_out_typed
from chat.client.formatting import Style, parse
from chat.client.mentions import Bell, is_mention
from chat.client.render import clock, describe, message_line, nick_slot, to_json
from chat.protocol import casefold, is_channel, valid_channel, valid_nick

__all__ = ["nick_colour", "run", "styled"]

log = logging.getLogger(__name__)

#: How long the end of a script waits for the server to confirm its messages.
SETTLE_TIMEOUT = 10.0
#: How long a script waits after registration for the server to put us into a channel.
JOIN_WAIT = 5.0
#: The prompt when plain text has nowhere to go (left or kicked from every room): the user's
#: own nick there would read as if text went somewhere.
NO_ROOM_PROMPT = "(no room)> "

_PALETTE = (31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96)
_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_RED = "\x1b[31m"
_MENTION = "\x1b[1;30;43m"  # bold black on yellow: the nick of a line that names us
#: IRC colour numbers as the nearest of the terminal's 16 colours (SGR foreground codes; +10 is
#: the background). The terminal's theme decides the exact shade, as it does for everything else.
_ANSI_COLOURS = (97, 30, 34, 32, 91, 31, 35, 33, 93, 92, 36, 96, 94, 95, 90, 37)


def nick_colour(nick: str) -> int:
    """An ANSI colour code that is the same for a nick in every session and on every machine."""
    return _PALETTE[nick_slot(nick, len(_PALETTE))]


def styled(text: str) -> str:
    """A message with its IRC formatting codes as terminal styles (SGR), never raw codes.
    Right-to-left text is printed in logical order: a terminal with bidi support (mlterm,
    Konsole, VTE-based ones such as GNOME Terminal from VTE 0.58) shows it right to left, others letter by letter."""
    out: list[str] = []
    for run in parse(text):
        sgr = _sgr(run.style)
        out.append(f"\x1b[{sgr}m{run.text}{_RESET}" if sgr else run.text)
    return "".join(out)


def _sgr(style: Style) -> str:
    codes = [
        code
        for on, code in (
            (style.bold, "1"),
            (style.italic, "3"),
            (style.underline, "4"),
            (style.reverse, "7"),
            (style.strike, "9"),
        )
        if on
    ]
    if style.fg is not None:
        codes.append(str(_ANSI_COLOURS[style.fg]))
    if style.bg is not None:
        codes.append(str(_ANSI_COLOURS[style.bg] + 10))
    return ";".join(codes)


def run(
    address: str,
    nick: str,
    *,
    json_mode: bool = False,
    channels: Sequence[str] = (),
    retry: bool = True,
    ping_timeout: float = 60.0,
    password: str | None = None,
    account: tuple[str, str] | None = None,
    tls: bool = False,
    fingerprint: str | None = None,
    plaintext_login: bool = False,
    resolve: Callable[[], tuple[str, int] | None] | None = None,
    service_name: str | None = None,
) -> int:
    """Chat until the user quits (or stdin ends); the return value is the exit code.

    ``password`` is the server password; on a terminal a refused one is asked for again.
    ``account`` is (name, password) for logging in; a failed login ends the program."""
    try:
        host, port, tls = parse_server(address, tls=tls or fingerprint is not None)
    except ValueError as err:
        return _usage_error(str(err))
    if not valid_nick(nick, len(nick)):
        return _usage_error(f'"{nick}" is not a valid nick')
    wanted: list[str] = []
    for name in channels:
        channel = name if is_channel(name) else "#" + name
        if not valid_channel(channel, len(channel)):
            return _usage_error(f'"{name}" is not a valid channel name')
        wanted.append(channel)

    def connection(server_password: str | None) -> Connection:
        return Connection(
            host,
            port,
            nick,
            channels=wanted,
            reconnect=retry,
            ping_interval=ping_timeout / 2,
            ping_timeout=ping_timeout,
            password=server_password,
            account=account,
            tls=tls,
            fingerprint=fingerprint,
            plaintext_login=plaintext_login,
            resolve=resolve,  # a server found on the LAN is looked up again before each reconnect
            service_name=service_name,  # and its certificate is checked against the pin of its name
        )

    conn = connection(password)
    tracker = _Tracker(conn, wanted[0] if wanted else None)
    if json_mode or not sys.stdin.isatty():
        return _Script(conn, tracker, json_mode).run()
    while True:
        code = _Interactive(conn, tracker).run()
        if tracker.refused != "password":
            return code
        # The server wants a (different) password: ask, as a browser asks for a login.
        try:
            password = getpass.getpass(f"password for the server {conn.address} (Enter to give up): ")
        except (EOFError, KeyboardInterrupt):
            return code
        if not password:
            return code
        conn = connection(password)
        tracker = _Tracker(conn, wanted[0] if wanted else None)


def _usage_error(text: str) -> int:
    print(f"chat: {text}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------------------- shared


class _Tracker:
    """What the input side needs to know from the event stream: where plain text goes, whether
    we ever got in, and whether the connection is finished. Updated on the event thread."""

    def __init__(self, conn: Connection, target: str | None) -> None:
        self.conn = conn
        self.target = target
        self.connected = threading.Event()
        self.in_channel = threading.Event()
        self.closed = threading.Event()
        self.last_failure = ""
        self.ever_connected = False
        self.rejected = 0
        self.refused = ""  # the cause of an ev.Refused: "password", "account" or "killed"

    def update(self, event: ev.Event) -> None:
        match event:
            case ev.Connected():
                self.ever_connected = True
                self.connected.set()
            case ev.Joined(channel, _, True):
                if self.target is None:
                    self.target = channel
                self.in_channel.set()
            case ev.Parted(channel, _, _, True) if self.target and casefold(self.target) == casefold(channel):
                others = [c for c in self.conn.channels if casefold(c) != casefold(channel)]
                self.target = others[0] if others else None
            case ev.Disconnected(reason):
                self.last_failure = reason
            case ev.Rejected():
                self.rejected += 1
            case ev.Refused(_, cause):
                self.refused = cause
            case ev.Closed():
                self.closed.set()
                self.connected.set()  # wake anyone waiting to get in: it will not happen

    def wait_until_ready(self) -> bool:
        """Block until registered and (briefly) until the server put us in a channel."""
        self.connected.wait()
        if self.closed.is_set() and not self.ever_connected:
            return False
        self.in_channel.wait(JOIN_WAIT)
        return True


# ------------------------------------------------------------------------ scripts


class _Script:
    """Non-interactive mode: stdin in, one event per line out."""

    def __init__(self, conn: Connection, tracker: _Tracker, json_mode: bool) -> None:
        self.conn = conn
        self.tracker = tracker
        self.json_mode = json_mode
        self.out_lock = threading.Lock()
        self.inputs: queue.Queue[str | None] = queue.Queue()

    def write(self, stream: TextIO, line: str) -> None:
        with self.out_lock:
            stream.write(line + "\n")
            stream.flush()

    def show(self, text: str) -> None:
        if self.json_mode:
            self.write(sys.stdout, json.dumps({"type": "help", "text": text}, ensure_ascii=False))
        else:
            self.write(sys.stdout, text)

    def problem(self, text: str) -> None:
        self.write(sys.stderr, f"chat: {text}")

    def talk_to(self, target: str) -> None:
        self.tracker.target = target

    def pump_events(self) -> None:
        while True:
            event = self.conn.events.get()
            self.tracker.update(event)
            if self.json_mode:
                self.write(sys.stdout, json.dumps(to_json(event), ensure_ascii=False))
            else:
                text = describe(event)
                if text is not None:
                    self.write(sys.stdout, text)
            if isinstance(event, ev.Closed):
                self.inputs.put(None)
                return

    def read_stdin(self) -> None:
        try:
            for line in sys.stdin:
                self.inputs.put(line)
        except (OSError, UnicodeDecodeError) as err:
            self.problem(f"cannot read the input: {err}")
        self.inputs.put(None)

    def typed(self, line: str) -> tuple[str, str | None]:
        """The typed text of one input line; in JSON mode a line may be
        ``{"text": "...", "target": "#room"}`` as well as plain text."""
        if self.json_mode and line.lstrip().startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                return line, self.tracker.target
            if isinstance(data, dict) and isinstance(data.get("text"), str):
                target = data.get("target")
                return data["text"], target if isinstance(target, str) else self.tracker.target
        return line, self.tracker.target

    def run(self) -> int:
        conn = self.conn
        pump = threading.Thread(target=self.pump_events, name="chat-events", daemon=True)
        pump.start()
        conn.start()
        if not self.tracker.wait_until_ready():
            pump.join(5)
            self.problem(self.tracker.last_failure or "could not connect")
            return 1
        threading.Thread(target=self.read_stdin, name="chat-stdin", daemon=True).start()
        reason = ""
        while True:
            line = self.inputs.get()
            if line is None:
                break
            text, target = self.typed(line)
            leave = carry_out_typed(text, target, conn, self)
            if leave is not None:
                reason = leave.reason
                break
        dropped = self.tracker.closed.is_set()  # the connection ended on its own (--no-retry)
        settled = conn.wait_until_settled(SETTLE_TIMEOUT)
        unconfirmed = conn.pending_count()
        conn.quit(reason)
        pump.join(5)
        if dropped:
            self.problem(self.tracker.last_failure or "the connection was lost")
        if not settled and unconfirmed:
            noun = "message was" if unconfirmed == 1 else "messages were"
            self.problem(f"{unconfirmed} {noun} not confirmed by the server and may not have arrived")
            return 1
        if self.tracker.rejected:
            noun = "message was" if self.tracker.rejected == 1 else "messages were"
            self.problem(f"{self.tracker.rejected} {noun} refused by the server (see the errors above)")
            return 1
        return 1 if dropped else 0


# -------------------------------------------------------------------- interactive


class _Interactive:
    """A prompt at the bottom, messages above it, the connection state in the toolbar."""

    def __init__(self, conn: Connection, tracker: _Tracker) -> None:
        self.conn = conn
        self.tracker = tracker
        self.session: PromptSession[str] | None = None
        self.last_reason = ""  # the last disconnect reason printed, so a retry loop prints it once
        self.casemapping = "rfc1459"  # until the server says (RPL_ISUPPORT)
        self.bell = Bell()

    def line(self, event: ev.Event) -> str | None:
        # While the server is away the toolbar counts down; the scrollback gets no line per try.
        if isinstance(event, ev.Connecting) and event.attempt > 1:
            return None
        if isinstance(event, ev.Disconnected):
            if event.reason == self.last_reason:
                return None
            self.last_reason = event.reason
        elif isinstance(event, ev.Refused):
            self.last_reason = event.reason  # the Disconnected that follows says the same
        elif isinstance(event, ev.Connected):
            self.last_reason = ""
        elif isinstance(event, ev.ServerFeatures):
            self.casemapping = event.casemapping
        if isinstance(event, ev.Message):
            where, who, _ = message_line(event)
            body = styled(event.text)
            if is_mention(event.target, event.text, self.conn.nick, self.casemapping, own=event.own):
                ring = "\a" if not event.missed and self.bell.ring() else ""
                return f"{ring}{_DIM}{clock(event.time)}{_RESET} {where} {_MENTION}{who}{_RESET} {body}"
            colour = nick_colour(event.sender)
            return f"{_DIM}{clock(event.time)}{_RESET} {where} \x1b[{colour}m{who}{_RESET} {body}"
        text = describe(event)
        if text is None:
            return None
        if isinstance(event, ev.Parted) and event.own and self.tracker.target is None:
            # Out of the last room: say where text can go now, before the user types into nothing.
            text += f"; you are in no room now: /join {event.channel} to go back, or /join another room"
        if isinstance(event, ev.Error | ev.Disconnected | ev.Refused | ev.CertificateChanged):
            return f"{_RED}{text}{_RESET}"
        return f"{_DIM}{text}{_RESET}"

    def toolbar(self) -> str:
        status = self.conn.status
        waiting = self.conn.pending_count()
        queued = f" · {waiting} waiting to be sent" if waiting else ""
        if status.state == "connected":
            where = f" in {', '.join(status.channels)}" if status.channels else ""
            return f" connected to {status.address} as {status.nick}{where}{queued}"
        if status.state == "reconnecting" and status.retry_at is not None:
            left = math.ceil(max(0.0, status.retry_at - time.monotonic()))
            when = f"in {left} s" if left else "now"
            return f" reconnecting {when} (attempt {status.attempt}) — {status.reason}{queued}"
        if status.state == "connecting":
            return f" connecting to {status.address}…{queued}"
        return " disconnected"

    def prompt(self) -> str:
        return f"{self.tracker.target}> " if self.tracker.target else NO_ROOM_PROMPT

    def show(self, text: str) -> None:
        print(text, flush=True)

    def problem(self, text: str) -> None:
        print(f"{_RED}{text}{_RESET}", flush=True)

    def talk_to(self, target: str) -> None:
        if self.tracker.target != target:
            print(f"{_DIM}talking to {target} now{_RESET}", flush=True)
        self.tracker.target = target

    def pump_events(self) -> None:
        """Print events above the prompt; when the connection is finished, end the prompt too."""
        while True:
            event = self.conn.events.get()
            self.tracker.update(event)
            text = self.line(event)
            if text is not None:
                print(text, flush=True)
            app = self.session.app if self.session is not None else None
            if app is not None and app.is_running:
                app.invalidate()  # the toolbar shows the connection state
                if isinstance(event, ev.Closed) and app.loop is not None:
                    app.loop.call_soon_threadsafe(self._exit_prompt, app)
            if isinstance(event, ev.Closed):
                return

    @staticmethod
    def _exit_prompt(app: Application[str]) -> None:
        if app.is_running:
            app.exit(exception=EOFError())

    def run(self) -> int:
        conn = self.conn
        # erase_when_done: the typed line leaves the screen; the server's echo prints the message.
        session: PromptSession[str] = PromptSession(
            bottom_toolbar=self.toolbar, refresh_interval=0.5, erase_when_done=True
        )
        self.session = session
        with patch_stdout(raw=True):
            pump = threading.Thread(target=self.pump_events, name="chat-events", daemon=True)
            pump.start()
            conn.start()
            if not conn.reconnect and not self.tracker.wait_until_ready():
                pump.join(5)
                self.final_word(self.tracker.last_failure or "could not connect", sys.__stderr__)
                return 1
            reason = ""
            dropped = False
            while not (dropped := self.tracker.closed.is_set()):
                try:
                    text = session.prompt(self.prompt)
                except (EOFError, KeyboardInterrupt):
                    dropped = self.tracker.closed.is_set()
                    break
                leave = carry_out_typed(text, self.tracker.target, conn, self)
                if leave is not None:
                    reason = leave.reason
                    break
            unsent = self.settle_before_leaving()
            conn.quit(reason)
            pump.join(5)
        if unsent:
            noun = "message was" if unsent == 1 else "messages were"
            print(f"chat: {unsent} {noun} never confirmed by the server and may not have arrived", file=sys.stderr)
        if dropped:
            self.final_word(self.tracker.last_failure or "the connection was lost", sys.stderr)
            return 1
        return 1 if unsent else 0

    def final_word(self, reason: str, stream: TextIO | None) -> None:
        """Why the program ends, unless that very line is on the screen already (a refusal, or
        the disconnect that ended it): said twice, it reads like two problems."""
        if reason != self.last_reason and stream is not None:
            print(f"chat: {reason}", file=stream)

    def settle_before_leaving(self) -> int:
        """Leaving with messages still unconfirmed: wait a little while connected, then say so."""
        conn = self.conn
        waiting = conn.pending_count()
        if waiting and conn.status.state == "connected":
            print(f"{_DIM}waiting for the server to confirm {waiting} message(s)…{_RESET}", flush=True)
            conn.wait_until_settled(SETTLE_TIMEOUT)
        return conn.pending_count()
