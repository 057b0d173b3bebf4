"""``chat gui``: the desktop window, a thin Tk view over :class:`~chat.client.gui_model.ChatModel`.

The socket lives in the connection's own thread; this Tk thread never blocks on the network.
It polls the connection's event queue with ``after()``, hands each event to the model and
redraws what the model says changed. Leaving (``/quit`` or closing the window) runs the
connection's goodbye on a helper thread, so the window never freezes while the server answers.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import sys
import threading
import time
import tkinter as tk
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from tkinter import font as tkfont
from tkinter import ttk
from typing import Any

from chat.client import choose, discovery, formatting, notify, prefs, richtext
from chat.client import events as ev
from chat.client.address import format_address, parse_server
from chat.client.connection import Connection
from chat.client.formatting import Style
from chat.client.gui_model import SERVER, Alert, Changes, ChatModel, Line, certificate_warning, for_the_window
from chat.client.inputline import InputLine
from chat.client.mentions import Notices
from chat.client.render import clock, nick_slot, plain
from chat.protocol import valid_nick

__all__ = ["App", "Login", "run"]

log = logging.getLogger(__name__)

#: How often the window looks at the connection's events (ms), how many it takes per look, and
#: how long a look may take before the window draws and answers the user again (s).
POLL_MS = 50
EVENTS_PER_POLL = 2000
POLL_BUDGET = 0.05
#: Where the desktop client logs (there is no terminal to print to when started from a menu).
LOG_FILE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "chat" / "gui.log"
#: Nick colours readable on a white background.
NICK_COLOURS = (
    "#c0392b", "#27ae60", "#2471a3", "#8e44ad", "#d35400", "#16a085",
    "#b7950b", "#1f618d", "#a93226", "#7d3c98", "#117864", "#6e2c00",
)  # fmt: skip
SIDEBAR_BG = "#262b33"
SIDEBAR_FG = "#e6e9ef"
ACCENT = "#3b82f6"
MUTED = "#7b8494"
ERROR = "#c0392b"
LINK = "#1a5fb4"
MENTION_BG = "#fff1c2"
FLASH_BG = "#f5b700"
#: How a conversation that names us flashes in the sidebar: this many changes, this far apart (ms).
FLASHES = 6
FLASH_MS = 350
#: The connect form: its background, the room around the card, and how many lines of a message
#: (an error, a warning) show before its box scrolls.
FORM_BG = "#eef1f5"
FORM_MARGIN = 24
MESSAGE_LINES = 5
#: The keys that put a formatting code into the input line (Ctrl+B bold, Ctrl+I italic ...).
CODE_KEYS = {"b": "\x02", "i": "\x1d", "u": "\x1f"}


@dataclass(frozen=True, slots=True)
class Login:
    """The connect form's login area: a server password and an account to log in to.

    Held in memory only (prefs keep the account name, never a password), and left out of
    ``repr`` so that a traceback in the log cannot show a password."""

    password: str = field(default="", repr=False)  # the server password (IRC PASS)
    account: str = ""
    account_password: str = field(default="", repr=False)

    @property
    def credentials(self) -> tuple[str, str] | None:
        """(name, password) for :class:`Connection`, or None: no account login."""
        return (self.account, self.account_password) if self.account else None

    @property
    def filled(self) -> bool:
        return bool(self.password or self.account or self.account_password)


def run(
    address: str | None,
    nick: str | None,
    *,
    fallback_nick: str = "",
    tls: bool = False,
    login: Login | None = None,
    plaintext_login: bool = False,
    fingerprint: str | None = None,
) -> int:
    """Open the window and chat until it is closed; the exit code for the shell. ``login``
    prefills the form's password and account fields (``--password-file``, ``--account`` and
    the environment); ``plaintext_login`` lets account passwords go over a plain connection;
    ``fingerprint`` (``--fingerprint``) is the certificate the server must have, as in
    ``chat connect``: how a user accepts a new certificate after checking it with the admin."""
    try:
        root = tk.Tk(className="chat")
    except tk.TclError as err:
        print(
            f"chat: cannot open a window ({err}); is DISPLAY set? 'chat connect' works in a terminal", file=sys.stderr
        )
        return 1
    _log_to_file()
    options: dict[str, object] = {"plaintext_login": True} if plaintext_login else {}
    if fingerprint is not None:
        options["fingerprint"] = fingerprint
    app = App(root, address, nick, fallback_nick=fallback_nick, tls=tls, login=login, connection_options=options)
    root.mainloop()
    return app.exit_code


def _log_to_file() -> None:
    try:
        LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.FileHandler(LOG_FILE, encoding="utf-8")
    except OSError:
        handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


class App:
    """The whole window: the connect form first when needed, then the chat."""

    def __init__(
        self,
        root: tk.Tk,
        address: str | None = None,
        nick: str | None = None,
        *,
        fallback_nick: str = "",
        connection_options: dict[str, object] | None = None,
        tls: bool = False,
        login: Login | None = None,
        discover: Callable[[], list[discovery.Found]] | None = None,
    ) -> None:
        """Without ``address`` the servers on the LAN are looked for (``discover``, by default
        :func:`chat.client.discovery.browse`, on a helper thread): one found is connected to,
        several are listed in the form to pick from."""
        self.root = root
        self.connection_options = connection_options or {}  # keep-alive, backoff, known servers, e.g. for tests
        self.exit_code = 0
        self.conn: Connection | None = None
        self.model: ChatModel | None = None
        self.early: list[ev.Event] = []  # events before the first Connected, replayed into the model
        self.leaving: threading.Thread | None = None
        self.form: ConnectForm | None = None
        self.chat: ChatView | None = None
        self._polling: str | None = None  # the pending after() call
        self.typed = prefs.Remembered()  # what the user typed, saved once the server lets us in
        self.found: list[discovery.Found] = []  # servers found on the LAN, listed in the form
        self._looking: queue.SimpleQueue[list[discovery.Found] | str] | None = None
        root.title("chat")
        root.minsize(640, 400)
        root.geometry("1000x640")
        _style(root)
        root.protocol("WM_DELETE_WINDOW", lambda: self.leave(""))
        root.report_callback_exception = self._on_error
        root.bind("<Destroy>", self._on_destroy, add="+")
        remembered = prefs.load()
        # A --fingerprint is a TLS certificate's: it means TLS, whatever was remembered.
        tls = tls if address else remembered.tls
        tls = tls or self.connection_options.get("fingerprint") is not None
        login = login or Login()
        account = login.account or ("" if address else remembered.account)
        # An account password (CHAT_ACCOUNT_PASSWORD) without any account name to go with it is
        # left out rather than reported: it was set for some other use.
        login = Login(login.password, account, login.account_password if account else "")
        self.form = ConnectForm(
            self, address or remembered.address, nick or remembered.nick or fallback_nick, tls, login
        )
        if address and nick:
            # Straight in, unless something is missing (an account without its password): then
            # the form says what, next to the field, instead of connecting.
            self.form.submit()
        elif not address:
            self._look_on_the_lan(discover or discovery.browse)

    def _on_error(self, exc: type[BaseException], value: BaseException, tb: object) -> None:
        """A bug in a Tk callback: log it whole, tell the user in a line, keep the window alive."""
        log.error("error in the window", exc_info=(exc, value, tb))  # type: ignore[arg-type]
        if self.chat is not None:
            self.chat.notice(f"Internal error ({exc.__name__}); details are in {LOG_FILE}. Chat goes on.")

    # ----------------------------------------------------------------------- connecting

    @staticmethod
    def _check(address: str, nick: str, tls: bool = False) -> str | None:
        try:
            parse_server(address, tls=tls)
        except ValueError as err:
            return str(err)
        if not nick:
            return "Type a nickname: the name others will see"
        if not valid_nick(nick, len(nick)):
            return f'"{nick}" cannot be a nickname: start with a letter, then letters, digits or - _ [ ] {{ }} ^ ` |'
        return None

    @staticmethod
    def _check_login(login: Login) -> tuple[str, str] | None:
        """(field, problem) when the login fields cannot work together, else None. The field is
        ``"account"`` or ``"account_password"``: where the form shows the problem."""
        name = login.account
        if name and not valid_nick(name, len(name)):
            return "account", f'"{name}" cannot be an account name: account names follow the nickname rules'
        if name and not login.account_password:
            return "account_password", f"Type the password of the account {name}"
        if login.account_password and not name:
            return "account", "Type the account name that goes with this password, or clear the password"
        return None

    # ------------------------------------------------------------------ the LAN

    def _look_on_the_lan(self, discover: Callable[[], list[discovery.Found]]) -> None:
        """Browse on a helper thread (it takes seconds); :meth:`poll` picks up the result."""
        looking: queue.SimpleQueue[list[discovery.Found] | str] = queue.SimpleQueue()
        self._looking = looking

        def browse() -> None:
            try:
                looking.put(discover())
            except OSError as err:
                looking.put(f"cannot look for servers on the LAN (mDNS): {err.strerror or err}")
            except Exception as err:  # a thread's error would otherwise leave the form "looking" forever
                log.exception("looking for servers on the LAN failed")
                looking.put(f"looking for servers on the LAN failed: {err}")

        threading.Thread(target=browse, name="chat-discover", daemon=True).start()
        if self.form is not None:
            self.form.lan_note("Looking for chat servers on the LAN…")
        self._schedule()

    def _check_lan(self) -> None:
        if self._looking is None:
            return
        try:
            result = self._looking.get_nowait()
        except queue.Empty:
            return
        self._looking = None
        if isinstance(result, str):
            if self.form is not None:
                self.form.lan_note(result)
            return
        self.found = result
        form = self.form
        if form is None or self.conn is not None:
            return  # the user is connecting already: keep the list for the form, should it come back
        if not result:
            form.lan_note(choose.none_found()[:1].upper() + choose.none_found()[1:])
            return
        form.show_found(result)
        if len(result) == 1:
            form.use(result[0])
            if form.nick.get().strip():
                form.submit()
                if self.conn is not None:
                    form.busy(f"Found {choose.describe(result[0])} on the LAN; connecting…")

    def _discovered(self, host: str, port: int, tls: bool) -> discovery.Found | None:
        """The server picked from the LAN list at this address, if it was (and not typed)."""
        for server in self.found:
            try:
                if server.endpoint(tls)[:2] == (host, port):
                    return server
            except ValueError:
                continue
        return None

    def connect(self, address: str, nick: str, tls: bool = False, login: Login | None = None) -> None:
        """Try ``address`` as ``nick``; the form stays until the server lets us in."""
        if self.conn is not None:
            return  # already trying (Enter pressed twice)
        login = login or Login()
        host, port, tls = parse_server(address, tls=tls or self.connection_options.get("fingerprint") is not None)
        self.typed = prefs.Remembered(address, nick, tls, login.account)
        found = self._discovered(host, port, tls)  # found again by name, its certificate pinned by name
        self.conn = Connection(
            host,
            port,
            nick,
            reconnect=True,
            tls=tls,
            password=login.password or None,
            account=login.credentials,
            resolve=discovery.resolver(found, tls) if found is not None else None,
            service_name=found.name if found is not None else None,
            **self.connection_options,  # type: ignore[arg-type]
        )
        self.model = ChatModel(self.conn.address, nick)
        self.early = []
        if self.form is not None:
            self.form.busy(f"Connecting to {self.conn.address}…")
        self.conn.start()
        self._schedule()

    def cancel(self) -> None:
        """The user gave up waiting for the first connection."""
        self._failed_first("Cancelled.")

    def _failed_first(self, reason: str) -> None:
        """The first attempt failed: back to the form, with the reason, and stop retrying."""
        conn, self.conn, self.model = self.conn, None, None
        if conn is not None:
            threading.Thread(target=conn.close, name="chat-close", daemon=True).start()
        if self.form is None:
            address = conn.address if conn else ""
            self.form = ConnectForm(self, address, conn.nick if conn else "", conn.tls if conn else False)
            if len(self.found) > 1:
                self.form.show_found(self.found)
        self.form.error(reason)

    def _refused_first(self, event: ev.Refused) -> None:
        """The server will not let us in with what was typed (the connection does not retry):
        back to the form, with the reason next to the field to fix."""
        tls = self.conn.tls if self.conn is not None else False
        self._failed_first("")
        assert self.form is not None
        self.form.refused(event.reason, event.cause, tls)

    def _connected(self) -> None:
        assert self.conn is not None and self.model is not None
        prefs.save(self.typed)  # what they typed (no password), not a fallback nick the server chose
        if self.form is not None:
            self.form.destroy()
            self.form = None
        self.chat = ChatView(self, self.model)
        early, self.early = self.early, []
        changes = Changes()
        for event in early:
            changes.merge(self.model.apply(event))
        self.chat.render(changes)
        self.root.title(f"chat — {self.conn.address}")

    # -------------------------------------------------------------------------- events

    def _schedule(self) -> None:
        if self._polling is None:
            self._polling = self.root.after(POLL_MS, self.poll)

    def _on_destroy(self, event: tk.Event[tk.Misc]) -> None:
        """The window is going away (closed by us, or by its owner): stop polling, hang up."""
        if event.widget is not self.root:
            return
        if self._polling is not None:
            self.root.after_cancel(self._polling)
            self._polling = None
        conn, self.conn = self.conn, None
        if conn is not None and self.leaving is None:
            threading.Thread(target=conn.close, name="chat-close", daemon=True).start()

    def poll(self) -> None:
        """Take what the connection reported since the last look; never blocks. Whatever goes
        wrong with one event, the next poll is scheduled: the window never goes deaf."""
        self._polling = None
        try:
            self._check_lan()
            self._take_events()
        finally:
            if self.root_alive():
                self._schedule()

    def root_alive(self) -> bool:
        try:
            return bool(self.root.winfo_exists())
        except tk.TclError:
            return False

    def _take_events(self) -> None:
        if self.leaving is not None:
            if not self.leaving.is_alive():
                self.root.destroy()
            return
        conn = self.conn
        if conn is None:
            return
        changes = Changes()
        deadline = time.monotonic() + POLL_BUDGET
        try:
            for _ in range(EVENTS_PER_POLL):
                try:
                    event = conn.events.get_nowait()
                except queue.Empty:
                    break
                if self.chat is None:
                    self.early.append(event)
                    if isinstance(event, ev.Connected):
                        self._connected()
                    elif isinstance(event, ev.Refused):  # wrong password, failed login: say which field
                        self._refused_first(event)
                        return
                    elif isinstance(event, ev.CertificateChanged):  # the whole warning, not just "refused"
                        self._failed_first(certificate_warning(event))
                        return
                    elif isinstance(event, ev.Disconnected):
                        self._failed_first(for_the_window(event.reason))
                        return
                    continue
                assert self.model is not None
                try:
                    changes.merge(self.model.apply(event))
                except Exception:
                    log.exception("could not show %r", event)
                    if self.chat is not None:
                        self.chat.notice(f"Could not show an event; details are in {LOG_FILE}.")
                if time.monotonic() > deadline:
                    break  # a flood: draw what we have, keep the window responsive, go on next time
        finally:
            if self.chat is not None:
                self.chat.render(changes)

    def submit(self, text: str) -> None:
        if self.model is None or self.conn is None or self.chat is None:
            return
        changes = self.model.submit(text, self.conn)
        self.chat.render(changes)
        if changes.leave is not None:
            self.leave(changes.leave.reason)

    def leave(self, reason: str) -> None:
        """Say goodbye on a helper thread; the window closes when it is done."""
        if self.leaving is not None:
            return
        conn = self.conn
        if conn is None:
            self.root.destroy()
            return
        if self.chat is not None:
            self.chat.status.set("Leaving…")
            self.chat.entry.state(["disabled"])
        self.leaving = threading.Thread(target=conn.quit, args=(reason,), name="chat-quit", daemon=True)
        self.leaving.start()
        self._schedule()


class ConnectForm:
    """Server and nickname, remembered from last time; errors shown inline, in words.

    The server password and the account login sit in a fold ("Password and account") that is
    closed unless something is in it, so that the common case, an open LAN server, stays two
    fields. Passwords are masked and never remembered."""

    EXAMPLE = "e.g. 192.168.1.20:6667 or chat.lan"
    HINT_PASSWORD = "Only if the server asks for one"
    HINT_ACCOUNT = "Log in to use the nickname reserved for you"

    def __init__(self, app: App, address: str, nick: str, tls: bool = False, login: Login | None = None) -> None:
        self.app = app
        login = login or Login()
        # The card sits on a canvas that scrolls: with the login fold open, a long list of LAN
        # servers or a long warning, it can be taller than the window, and then its top (the
        # server field) must stay reachable instead of being pushed off the screen.
        outer = ttk.Frame(app.root, style="Form.TFrame")
        outer.pack(fill="both", expand=True)
        self.frame = outer
        self.canvas = tk.Canvas(outer, background=FORM_BG, highlightthickness=0, borderwidth=0)
        self.scrollbar = ttk.Scrollbar(outer, orient="vertical", command=self.canvas.yview)
        self.canvas.configure(yscrollcommand=self.scrollbar.set)
        self.canvas.pack(side="left", fill="both", expand=True)
        box = ttk.Frame(self.canvas, padding=24, style="Card.TFrame")
        self.card = box
        self._card_item = self.canvas.create_window(0, 0, window=box, anchor="n")
        self.canvas.bind("<Configure>", self._place_card, add="+")
        box.bind("<Configure>", self._place_card, add="+")
        for wheel in ("<Button-4>", "<Button-5>", "<MouseWheel>"):
            app.root.bind(wheel, self._on_wheel)
        ttk.Label(box, text="Join a chat server", style="Title.TLabel").grid(
            row=0, column=0, columnspan=2, pady=(0, 16)
        )
        ttk.Label(box, text="Server", style="Card.TLabel").grid(row=1, column=0, sticky="w", padx=(0, 12), pady=4)
        self.address = tk.StringVar(value=address)
        self.address_entry = ttk.Entry(box, textvariable=self.address, width=32)
        self.address_entry.grid(row=1, column=1, pady=4)
        # Under the server field: the example, or what the LAN search found (see show_found).
        lan = ttk.Frame(box, style="Card.TFrame")
        lan.grid(row=2, column=1, sticky="we")
        ttk.Label(box, text="Nickname", style="Card.TLabel").grid(row=3, column=0, sticky="w", padx=(0, 12), pady=4)
        self.nick = tk.StringVar(value=nick)
        self.nick_entry = ttk.Entry(box, textvariable=self.nick, width=32)
        self.nick_entry.grid(row=3, column=1, pady=4)
        self.hint = ttk.Label(lan, text=self.EXAMPLE, style="Hint.TLabel", justify="left")
        self.hint.configure(wraplength=self.address_entry.winfo_reqwidth())
        self.hint.pack(anchor="w")
        self.found_list = tk.Listbox(lan, height=0, activestyle="dotbox", exportselection=False)
        self.found_list.bind("<<ListboxSelect>>", self._picked)
        self.found_list.bind("<Double-Button-1>", lambda _e: self.submit())
        self._found: list[discovery.Found] = []
        self.tls = tk.BooleanVar(value=tls)
        self.tls_check = ttk.Checkbutton(
            box, text="TLS (encrypted; port 6697 unless given)", variable=self.tls, style="Card.TCheckbutton"
        )
        self.tls_check.grid(row=4, column=1, sticky="w", pady=(8, 0))

        self.login_toggle = ttk.Button(box, style="Link.TButton", command=self.toggle_login)
        self.login_toggle.grid(row=5, column=0, columnspan=2, sticky="w", pady=(12, 0))
        # The login rows live in the card's own grid, so their entries line up with the ones
        # above; the label column is as wide as its widest label, open or not, so that opening
        # the fold does not shift the card sideways.
        self._login_widgets: list[tk.Widget] = []
        self.password = tk.StringVar(value=login.password)
        self.password_entry = self._field(box, 6, "Server password", self.password, secret=True)
        self.password_note = self._note(box, 7, self.HINT_PASSWORD)
        self.account = tk.StringVar(value=login.account)
        self.account_entry = self._field(box, 8, "Account", self.account)
        self.account_password = tk.StringVar(value=login.account_password)
        self.account_password_entry = self._field(box, 9, "Account password", self.account_password, secret=True)
        self.account_note = self._note(box, 10, self.HINT_ACCOUNT)
        labels = tkfont.nametofont("TkDefaultFont")
        widest = max(labels.measure(text) for text in ("Server password", "Account password"))
        box.columnconfigure(0, minsize=widest + 12)
        self._show_login(login.filled)

        self.button = ttk.Button(box, text="Connect", style="Accent.TButton", command=self.submit)
        self.button.grid(row=11, column=0, columnspan=2, pady=(16, 4), sticky="ew")
        self.cancel = ttk.Button(box, text="Cancel", command=app.cancel)
        # What happened, in a box of fixed height (an error does not move the card) that scrolls
        # when the text is longer, as a changed-certificate warning is; selectable, so that the
        # `chat trust --forget` it names can be copied.
        self.message = tk.StringVar()
        shown = ttk.Frame(box, style="Card.TFrame")
        shown.grid(row=13, column=0, columnspan=2, sticky="we", pady=(4, 0))
        self.message_text = tk.Text(
            shown, wrap="word", height=MESSAGE_LINES, width=1, relief="flat", borderwidth=0, highlightthickness=0,
            background="#ffffff", foreground=ERROR, font="TkDefaultFont", padx=0, pady=0, cursor="xterm",
            state="disabled",
        )  # fmt: skip
        self.message_scroll = ttk.Scrollbar(shown, orient="vertical", command=self.message_text.yview)
        self.message_text.configure(yscrollcommand=self._message_scrolled)
        self.message_text.pack(side="left", fill="both", expand=True)
        self.message_text.bind("<Configure>", self._measure_message, add="+")
        self.message.trace_add("write", self._show_message)
        # Enter connects wherever the focus is in the form (and the keypad's Enter too).
        for key in ("<Return>", "<KP_Enter>"):
            app.root.bind(key, lambda _e: self.submit())
        (self.address_entry if not address else self.nick_entry).focus_set()

    # ------------------------------------------------------------------- the card

    def _place_card(self, _event: object = None) -> None:
        """Centre the card in the window; when it is taller, start it at the top and scroll."""
        canvas, card = self.canvas, self.card
        width, height = canvas.winfo_width(), canvas.winfo_height()
        needed = card.winfo_reqheight() + 2 * FORM_MARGIN
        canvas.coords(self._card_item, width // 2, max(FORM_MARGIN, (height - card.winfo_reqheight()) // 2))
        canvas.configure(scrollregion=(0, 0, width, max(height, needed)))
        if needed > height > 1:
            if not self.scrollbar.winfo_manager():
                self.scrollbar.pack(side="right", fill="y", before=canvas)
        elif self.scrollbar.winfo_manager():
            self.scrollbar.pack_forget()
            canvas.yview_moveto(0)

    def _on_wheel(self, event: tk.Event[tk.Misc]) -> None:
        if not self.scrollbar.winfo_manager():
            return
        widget = event.widget
        if widget is self.message_text or widget is self.found_list:
            return  # they scroll themselves
        up = event.num == 4 or (event.num not in (4, 5) and event.delta > 0)
        self.canvas.yview_scroll(-2 if up else 2, "units")

    def _show_message(self, *_args: object) -> None:
        """``message`` changed: show it in the message box, from its start."""
        box = self.message_text
        box.configure(state="normal")
        box.delete("1.0", "end")
        box.insert("1.0", self.message.get())
        box.configure(state="disabled")
        box.yview_moveto(0)
        box.after_idle(self._measure_message)

    def _measure_message(self, _event: object = None) -> None:
        """Tk measures wrapped lines lazily and may not report the new length by itself: count
        them (which measures), then show or hide the scroll bar."""
        with contextlib.suppress(tk.TclError):  # the form is gone already
            self.message_text.count("1.0", "end", "displaylines")
            first, last = self.message_text.yview()
            self._message_scrolled(first, last)

    def _message_scrolled(self, first: float | str, last: float | str) -> None:
        """The message box's scroll bar, shown only when the text does not fit."""
        self.message_scroll.set(first, last)
        fits = float(first) <= 0.0 and float(last) >= 1.0
        if fits and self.message_scroll.winfo_manager():
            self.message_scroll.pack_forget()
        elif not fits and not self.message_scroll.winfo_manager():
            self.message_scroll.pack(side="right", fill="y", before=self.message_text)

    def _field(
        self, box: ttk.Frame, row: int, label: str, variable: tk.StringVar, *, secret: bool = False
    ) -> ttk.Entry:
        caption = ttk.Label(box, text=label, style="Card.TLabel")
        caption.grid(row=row, column=0, sticky="w", padx=(0, 12), pady=4)
        entry = ttk.Entry(box, textvariable=variable, width=32, show="•" if secret else "")
        entry.grid(row=row, column=1, pady=4)
        self._login_widgets += [caption, entry]
        return entry

    def _note(self, box: ttk.Frame, row: int, hint: str) -> ttk.Label:
        """The line under a login field: a hint, replaced by the problem with that field."""
        width = self.address_entry.winfo_reqwidth()
        note = ttk.Label(box, text=hint, style="Hint.TLabel", wraplength=width, justify="left")
        note.grid(row=row, column=1, sticky="w", pady=(0, 4))
        self._login_widgets.append(note)
        return note

    # ---------------------------------------------------------------------- the fold

    @property
    def login_shown(self) -> bool:
        return bool(self.password_entry.winfo_manager())

    def toggle_login(self) -> None:
        self._show_login(not self.login_shown)
        if self.login_shown:
            self.password_entry.focus_set()

    def _show_login(self, shown: bool) -> None:
        for widget in self._login_widgets:
            if shown:
                widget.grid()  # where it was gridded first (grid_remove keeps the options)
            else:
                widget.grid_remove()
        self.login_toggle.configure(text=("▾ " if shown else "▸ ") + "Password and account")

    def login(self) -> Login:
        return Login(self.password.get(), self.account.get().strip(), self.account_password.get())

    # ------------------------------------------------------------------- the LAN

    def lan_note(self, text: str) -> None:
        """What the search on the LAN is doing or found, under the server field."""
        self.hint.configure(text=text)

    def show_found(self, found: list[discovery.Found]) -> None:
        """List the servers found on the LAN; picking one fills in the server field."""
        self._found = list(found)
        self.found_list.delete(0, "end")
        for server in found:
            self.found_list.insert("end", choose.describe(server))
        self.found_list.configure(height=min(len(found), 5), width=max(len(choose.describe(f)) for f in found))
        self.found_list.pack(anchor="w", fill="x", pady=(2, 0))
        count = "One chat server" if len(found) == 1 else f"{len(found)} chat servers"
        self.lan_note(f"{count} on the LAN" + ("; pick one, or type an address:" if len(found) > 1 else ":"))

    def use(self, server: discovery.Found) -> None:
        """Fill in ``server``'s address (its TLS port when that is all it offers)."""
        host, port, tls = server.endpoint(self.tls.get() and server.tls_port is not None)
        self.address.set(format_address(host, port))
        self.tls.set(tls)
        if server in self._found:
            index = self._found.index(server)
            self.found_list.selection_clear(0, "end")
            self.found_list.selection_set(index)

    def _picked(self, _event: object) -> None:
        chosen = self.found_list.curselection()  # type: ignore[no-untyped-call]
        if chosen:
            self.use(self._found[chosen[0]])
            self.nick_entry.focus_set()

    # ------------------------------------------------------------------- submitting

    def submit(self) -> None:
        if self.app.conn is not None:
            return  # already connecting
        self._clear_notes()
        address, nick = self.address.get().strip(), self.nick.get().strip()
        if not address:
            self.error("Type the server's address, e.g. 192.168.1.20:6667")
            return
        tls = self.tls.get()
        problem = self.app._check(address, nick, tls)
        if problem:
            self.error(problem)
            return
        login = self.login()
        login_problem = self.app._check_login(login)
        if login_problem:
            where, text = login_problem
            self.error("")
            self.field_error(where, text)
            return
        self.app.connect(address, nick, tls, login)

    def busy(self, text: str) -> None:
        self._clear_notes()
        self.message_text.configure(foreground=MUTED)
        self.message.set(text)
        self.button.state(["disabled"])
        self.cancel.grid(row=12, column=0, columnspan=2, sticky="ew")

    def error(self, text: str) -> None:
        self.message_text.configure(foreground=ERROR)
        self.message.set(text[:1].upper() + text[1:])
        self.button.state(["!disabled"])
        self.cancel.grid_remove()

    def refused(self, reason: str, cause: str, tls: bool) -> None:
        """The server would not have us: say why next to the field to change, empty a password
        that was wrong and put the cursor there, so that typing it again is all it takes."""
        self.error("")
        text = _sentence(reason)
        if cause == "password":
            self.password.set("")
            self.field_error("password", text + (" — type it again." if "wrong" in reason else " — type it here."))
        elif cause == "account" and "needs TLS" in reason:
            # Our own refusal (nothing was sent): the form has a TLS box, not a --tls option.
            text = "Logging in to an account needs TLS, or the password would cross the network readable"
            self.field_error("account", text + ". Tick TLS above to log in.", focus=self.tls_check)
        elif cause == "account" and "over TLS" in reason:
            # The password may well be right; only the link is not safe enough to send it on.
            if not tls and "does not offer" not in reason:
                text += ". Tick TLS above to log in."
            self.field_error("account", text, focus=self.tls_check if not tls else self.address_entry)
        elif cause == "account" and "does not offer account login" in reason:
            self.field_error("account", text.replace("connect without --account", "leave Account empty"))
        elif cause == "account":
            self.account_password.set("")
            self.field_error("account_password", text + ".")
        else:
            self.error(reason)

    def field_error(self, where: str, text: str, *, focus: tk.Widget | None = None) -> None:
        """Show ``text`` under the login field ``where`` and put the cursor in that field."""
        self._show_login(True)
        note = self.password_note if where == "password" else self.account_note
        note.configure(text=text, style="Error.TLabel")
        entry = {"password": self.password_entry, "account": self.account_entry}.get(where, self.account_password_entry)
        (focus or entry).focus_set()

    def _clear_notes(self) -> None:
        self.password_note.configure(text=self.HINT_PASSWORD, style="Hint.TLabel")
        self.account_note.configure(text=self.HINT_ACCOUNT, style="Hint.TLabel")

    def destroy(self) -> None:
        for key in ("<Return>", "<KP_Enter>", "<Button-4>", "<Button-5>", "<MouseWheel>"):
            self.app.root.unbind(key)
        self.frame.destroy()


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


class ChatView:
    """Sidebar, messages, members, input line and status bar."""

    def __init__(self, app: App, model: ChatModel) -> None:
        self.app = app
        self.model = model
        root = app.root
        body_font = _font("body")
        self.status = tk.StringVar(value=model.status_text())
        self.bar = ttk.Label(root, textvariable=self.status, style="Status.TLabel", anchor="w", padding=(10, 4))
        self.bar.pack(side="bottom", fill="x")
        self._notice_until = 0.0
        panes = ttk.PanedWindow(root, orient="horizontal")
        panes.pack(fill="both", expand=True)
        self.panes = panes

        side = ttk.Frame(panes, style="Sidebar.TFrame", padding=(0, 8))
        ttk.Label(side, text="CONVERSATIONS", style="SidebarHead.TLabel", padding=(12, 4)).pack(fill="x")
        self.sidebar = ttk.Treeview(
            side, show="tree", columns=("unread",), selectmode="browse", style="Sidebar.Treeview"
        )
        self.sidebar.column("#0", width=body_font.measure("m" * 14), minwidth=body_font.measure("m" * 6), stretch=True)
        self.sidebar.column("unread", width=body_font.measure("0000"), minwidth=body_font.measure("00"), anchor="e")
        self.sidebar.pack(fill="both", expand=True)
        self.sidebar.tag_configure("unread", font=_font("bold"))
        self.sidebar.tag_configure("mentioned", foreground=FLASH_BG)
        self.sidebar.tag_configure("flash", background=FLASH_BG, foreground="#1d2330")
        self._flashing: dict[str, str] = {}  # conversation key -> pending after() of its flash
        self._notices = Notices()  # a burst of mentions is one desktop notification, not one each
        self.sidebar.bind("<<TreeviewSelect>>", self._on_select)
        panes.add(side, weight=0)

        centre = ttk.Frame(panes, style="Main.TFrame")
        self.topic = tk.StringVar()
        ttk.Label(centre, textvariable=self.topic, style="Topic.TLabel", padding=(12, 8), anchor="w").pack(fill="x")
        # The input row is packed before the messages, so that a small window shrinks the messages.
        entry_row = ttk.Frame(centre, style="Main.TFrame", padding=(10, 8))
        entry_row.pack(side="bottom", fill="x")
        # ``input`` holds what the user typed (logical order, formatting codes as they are sent);
        # the entry only shows ``shown``, that text shaped and in visual order, and every edit
        # goes through ``line`` (see chat.client.inputline).
        self.line = InputLine()
        self.input = tk.StringVar()
        self.shown = tk.StringVar()
        self._visual = self.line.visual()
        self._syncing = False
        self.input.trace_add("write", self._on_input_set)
        self.entry = ttk.Entry(entry_row, textvariable=self.shown, font=body_font)
        self.entry.pack(fill="x", ipady=4)
        self.entry.bind("<Return>", self._on_enter)
        self.entry.bind("<KP_Enter>", self._on_enter)
        self.entry.bind("<Up>", self._on_up)
        self.entry.bind("<Down>", self._on_down)
        self.entry.bind("<Key>", self._on_key)
        self.entry.bind("<KeyRelease>", self._on_cursor_moved)
        self.entry.bind("<ButtonRelease-1>", self._on_cursor_moved)
        self.entry.bind("<Button-2>", self._on_middle_click)
        self.entry.bind("<<Copy>>", self._on_copy)
        self.entry.bind("<<Cut>>", self._on_cut)
        self.entry.bind("<<Paste>>", self._on_paste)
        body = ttk.Frame(centre, style="Main.TFrame")
        body.pack(fill="both", expand=True)
        self.text = tk.Text(
            body, wrap="word", state="disabled", relief="flat", borderwidth=0, padx=12, pady=6, width=20, height=1,
            font=body_font, background="#ffffff", foreground="#1d2330", cursor="arrow",
            highlightthickness=0, spacing1=2, spacing3=2,
        )  # fmt: skip
        scroll = ttk.Scrollbar(body, orient="vertical", command=self.text.yview)
        self.text.configure(yscrollcommand=scroll.set)
        scroll.pack(side="right", fill="y")
        self.text.pack(side="left", fill="both", expand=True)
        self._tags()
        self._wrap_width = 0  # the width right-to-left lines were broken for
        self._rewrap: str | None = None
        self.text.bind("<Configure>", self._on_resize, add="+")
        panes.add(centre, weight=1)

        people = ttk.Frame(panes, style="Main.TFrame", padding=(0, 8))
        ttk.Label(people, text="PEOPLE", style="Head.TLabel", padding=(12, 4)).pack(fill="x")
        self.members = ttk.Treeview(people, show="tree", selectmode="browse", style="Members.Treeview")
        self.members.column("#0", width=body_font.measure("m" * 11), minwidth=body_font.measure("m" * 5))
        self.members.pack(fill="both", expand=True)
        self.members.bind("<Double-1>", self._on_member)
        self.members.bind("<Return>", self._on_member)
        panes.add(people, weight=0)

        self.render(Changes(sidebar=True, members=True, switched=True, status=True))
        self.entry.focus_set()

    def _tags(self) -> None:
        text = self.text
        stamp = _font("small").measure("00:00  ")
        text.tag_configure("body", lmargin2=stamp)  # wrapped lines start under the text, not the time
        text.tag_configure("time", foreground=MUTED, font=_font("small"))
        text.tag_configure("event", foreground=MUTED, font=_font("italic"))
        text.tag_configure("info", foreground="#4a5568")
        text.tag_configure("error", foreground=ERROR)
        text.tag_configure("own", foreground="#1d2330")
        text.tag_configure("pending", foreground=MUTED, font=_font("small"))
        text.tag_configure("sent", foreground="#27ae60", font=_font("small"))
        text.tag_configure("failed", foreground=ERROR, font=_font("small"))
        text.tag_configure("missed", background="#e9f0fb")
        text.tag_configure("nick", font=_font("bold"))
        for slot, colour in enumerate(NICK_COLOURS):
            text.tag_configure(f"nick{slot}", foreground=colour)
        text.tag_configure("mention", background=MENTION_BG)
        text.tag_configure("rtl", justify="right")
        text.tag_configure("link", foreground=LINK, underline=True)
        text.tag_bind("link", "<Enter>", lambda _e: text.configure(cursor="hand2"))
        text.tag_bind("link", "<Leave>", lambda _e: text.configure(cursor="arrow"))
        text.tag_bind("link", "<Button-1>", self._on_link)
        self._styles: set[str] = set()  # formatting tags configured so far (made when first used)

    # ------------------------------------------------------------------------ drawing

    def render(self, changes: Changes) -> None:
        """Draw what changed: one call per poll, however many events it took."""
        model = self.model
        if changes.switched:
            self._redraw()
        else:
            current = model.current
            text = self.text
            at_bottom = text.yview()[1] >= 1.0
            text.configure(state="normal")
            for key, line in changes.updated:
                if key == current:
                    self._replace_line(line)
            kept = model.conversation().lines
            oldest = kept[0].id if kept else 0
            # Lines the model already dropped again (a flood within one poll) are not drawn at all.
            appended = [line for key, line in changes.appended if key == current and line.id >= oldest]
            for line in appended:
                self._append_line(line)
            if changes.trimmed.get(current):
                # By the first kept line's tag, not by counting rows: a wrapped right-to-left
                # message is more than one row.
                first = text.tag_ranges(f"l{kept[0].id}") if kept else ()
                text.delete("1.0", first[0] if first else "end")
            text.configure(state="disabled")
            if at_bottom and appended:
                text.see("end")
        if changes.sidebar or changes.switched:
            self._draw_sidebar()
        if changes.members or changes.switched:
            self._draw_members()
        for alert in changes.alerts:
            self._alert(alert)
        self.refresh_status()

    def notice(self, text: str) -> None:
        """Something the user should read in the status bar for a while (an internal error)."""
        self._notice_until = time.monotonic() + 10.0
        self.status.set(text)

    def refresh_status(self) -> None:
        if self.app.leaving is not None or time.monotonic() < self._notice_until:
            return
        text = self.model.status_text()
        if self.status.get() != text:
            self.status.set(text)
        style = "Status.TLabel" if self.model.state == "connected" else "Offline.TLabel"
        if str(self.bar.cget("style")) != style:
            self.bar.configure(style=style)

    def _redraw(self) -> None:
        text = self.text
        text.configure(state="normal")
        text.delete("1.0", "end")
        for line in self.model.conversation().lines:
            self._append_line(line)
        text.configure(state="disabled")
        text.see("end")

    def _append_line(self, line: Line) -> None:
        text = self.text
        if text.index("end-1c") != "1.0":
            text.insert("end-1c", "\n")
        self._write_line(line, text.index("end-1c"))

    def _replace_line(self, line: Line) -> None:
        """Redraw one line where it is (a pending message got its ✓ or its ✗)."""
        ranges = self.text.tag_ranges(f"l{line.id}")
        if ranges:
            start = str(ranges[0])
            self.text.delete(start, ranges[-1])
            self._write_line(line, start)

    def _write_line(self, line: Line, start: str) -> None:
        text = self.text
        text.mark_set("writing", start)
        text.mark_gravity("writing", "right")  # moves along with what is inserted at it
        pieces, rtl = _pieces(line, self._row_width())
        for chunk, tags in pieces:
            for tag in tags:
                self._ensure_tag(tag)
            text.insert("writing", chunk, tags)
        end = text.index("writing")
        text.tag_add(f"l{line.id}", start, end)
        text.tag_add("body", start, end)
        if rtl:
            text.tag_add("rtl", start, end)
        if line.missed:
            text.tag_add("missed", start, end)
        if line.mention:
            text.tag_add("mention", start, end)

    def _row_width(self) -> int:
        """Pixels a row of the message view has: right-to-left lines are broken to fit it here,
        because Tk would wrap their visual order and show the end of a long sentence first."""
        width = self._current_width()
        if width <= 50:  # not drawn yet
            width = 600
        self._wrap_width = width
        return width

    def _on_resize(self, _event: object) -> None:
        if self._rewrap is None and abs(self._current_width() - self._wrap_width) > 20:
            self._rewrap = self.app.root.after(200, self._rewrapped)

    def _current_width(self) -> int:
        return self.text.winfo_width() - 2 * int(self.text.cget("padx")) - 8

    def _rewrapped(self) -> None:
        self._rewrap = None
        width = self._current_width()
        if abs(width - self._wrap_width) > 20:
            if self.text.tag_ranges("rtl"):  # only right-to-left lines are broken by the client
                self._redraw()
            else:
                self._wrap_width = width

    def _ensure_tag(self, tag: str) -> None:
        """Formatting tags (``f_bi``, ``fg4``, ``url12`` ...) are configured when first used."""
        if tag in self._styles:
            return
        self._styles.add(tag)
        options = _tag_options(tag)
        if options:
            self.text.tag_configure(tag, options)

    def _on_link(self, event: tk.Event[tk.Text]) -> str:
        for tag in self.text.tag_names(f"@{event.x},{event.y}"):
            url = _LINK_URLS.get(str(tag))
            if url:
                log.info("opening %s", url)
                # Off the Tk thread: finding the browser (xdg-settings) or a console browser that
                # runs until it exits would freeze the window meanwhile.
                threading.Thread(
                    target=webbrowser.open, args=(url,), kwargs={"new": 2}, name="chat-browser", daemon=True
                ).start()
                break
        return "break"

    def _alert(self, alert: Alert) -> None:
        """A message names us: flash its conversation; outside the window, tell the desktop."""
        if alert.key != self.model.current or self.app.root.focus_displayof() is None:
            self._flash(alert.key, FLASHES)
        background = self.app.root.focus_displayof() is None
        if background and self._notices.allow(alert.key) and not notify.notify(alert.title, alert.text):
            self.app.root.bell()

    def _flash(self, key: str, left: int) -> None:
        tree = self.sidebar
        self._flashing.pop(key, None)
        if not tree.exists(key):
            return
        tags = [t for t in tree.item(key, "tags") if t not in ("flash", "mentioned")]
        if left % 2 == 0:
            tags.append("flash")
        elif self.model.conversations.get(key) is not None and self.model.conversations[key].mentioned:
            tags.append("mentioned")
        tree.item(key, tags=tags)
        if left > 0:
            self._flashing[key] = self.app.root.after(FLASH_MS, self._flash, key, left - 1)

    def _draw_sidebar(self) -> None:
        tree = self.sidebar
        rows = self.model.sidebar_rows()
        wanted = [key for key, _, _ in rows]
        for iid in tree.get_children():
            if iid not in wanted:
                tree.delete(iid)
        for position, (key, label, unread) in enumerate(rows):
            shown = f"{_icon(key)}{richtext.display(label, rtl=False)}"
            count = str(unread) if unread else ""
            tags: tuple[str, ...] = ("unread",) if unread else ()
            if key in self._flashing and tree.exists(key) and "flash" in tree.item(key, "tags"):
                tags += ("flash",)  # mid-flash: the flash's colours, not the mention's
            elif key in self.model.conversations and self.model.conversations[key].mentioned:
                tags += ("mentioned",)
            if tree.exists(key):
                tree.item(key, text=shown, values=(count,), tags=tags)
                tree.move(key, "", position)
            else:
                tree.insert("", position, iid=key, text=shown, values=(count,), tags=tags)
        if tree.selection() != (self.model.current,):
            tree.selection_set(self.model.current)
        tree.see(self.model.current)

    def _draw_members(self) -> None:
        tree = self.members
        tree.delete(*tree.get_children())
        for nick in self.model.member_rows():
            tree.insert("", "end", text=nick)
        conv = self.model.conversation()
        if self.model.current == SERVER:
            self.topic.set(f"Server {self.model.address}")
        elif conv.is_channel:
            state = " (you left this room)" if conv.left else ""
            topic = f" — {richtext.display(plain(conv.topic))}" if conv.topic else ""
            self.topic.set(f"{richtext.display(conv.name, rtl=False)}{state}{topic}")
        else:
            self.topic.set(f"Private conversation with {conv.name}")

    # ------------------------------------------------------------------------- input

    def _on_enter(self, _event: object) -> str:
        text = self.input.get()  # cleaned of control characters by the connection (Connection._chat)
        self.input.set("")
        self.app.submit(text)
        return "break"

    # The input line: the entry shows, this edits (see the comment where the entry is made).

    def _on_input_set(self, *_args: object) -> None:
        """``input`` was set (history, after sending, a test): the edit line follows it."""
        if not self._syncing:
            self.line.set(self.input.get())
            self._show()

    def _edited(self) -> None:
        """The edit line changed: publish it to ``input`` and show it."""
        self._syncing = True
        try:
            self.input.set(self.line.text)
        finally:
            self._syncing = False
        self._show()

    def _show(self) -> None:
        visual = self._visual = self.line.visual()
        self.shown.set(visual.text)
        self.entry.configure(justify="right" if visual.rtl else "left")
        self.entry.selection_clear()
        self.entry.icursor(_tk_index(visual.text[: visual.cursor]))
        self.entry.xview("insert")

    def _selection(self) -> set[int] | None:
        """The logical indexes of the characters selected in the entry, if any are."""
        if not self.entry.selection_present():
            return None
        shown = self._visual.text
        start = _py_index(shown, self.entry.index("sel.first"))
        end = _py_index(shown, self.entry.index("sel.last"))
        return set(self._visual.order[start:end])

    def _replace_selection(self) -> None:
        selected = self._selection()
        if selected:
            self.line.remove(selected)

    def _on_key(self, event: tk.Event[tk.Misc]) -> str | None:
        """Every key that edits: done on the logical text, then shown. Keys that do not edit
        (Tab, Escape, Alt+...) go on to Tk."""
        line, key = self.line, event.keysym
        state = event.state if isinstance(event.state, int) else 0
        control = bool(state & 0x4)
        if control:
            if key.lower() in CODE_KEYS:
                self._replace_selection()
                line.insert(CODE_KEYS[key.lower()])
            elif key.lower() == "v":
                return self._on_paste(event)
            elif key.lower() == "c":
                return self._on_copy(event)
            elif key.lower() == "x":
                return self._on_cut(event)
            elif key.lower() == "a":
                line.home()
            elif key.lower() == "e":
                line.end()
            else:
                return None
        elif key == "BackSpace":
            if self._selection():
                self._replace_selection()
            else:
                line.backspace()
        elif key == "Delete":
            if self._selection():
                self._replace_selection()
            else:
                line.delete()
        elif key in ("Left", "KP_Left", "Right", "KP_Right") and not state & 0x1:
            # Left goes back in the reading direction of the line (right-to-left: forward).
            back = key.endswith("Left") != self._visual.rtl
            line.move(-1 if back else 1)
        elif key in ("Home", "KP_Home") and not state & 0x1:
            line.home()
        elif key in ("End", "KP_End") and not state & 0x1:
            line.end()
        elif event.char and (event.char.isprintable() or event.char == " ") and not state & 0x8:
            self._replace_selection()
            line.insert(event.char)
        else:
            return None  # Shift+arrows (selecting), Tab, Escape ...: Tk's own handling
        self._edited()
        return "break"

    def _on_cursor_moved(self, _event: object) -> None:
        """A click or a selecting key moved the entry's cursor: the logical one follows."""
        position = _py_index(self._visual.text, self.entry.index("insert"))
        if position != self._visual.cursor:
            self.line.place(self._visual, position)
            self._visual = self.line.visual()

    def _on_copy(self, _event: object) -> str:
        selected = self._selection()
        if selected:
            self.entry.clipboard_clear()
            self.entry.clipboard_append("".join(self.line.text[i] for i in sorted(selected)))
        return "break"

    def _on_cut(self, event: object) -> str:
        self._on_copy(event)
        self._replace_selection()
        self._edited()
        return "break"

    def _paste(self, selection: str) -> str:
        try:
            pasted = str(self.entry.selection_get(selection=selection))  # type: ignore[no-untyped-call]
        except tk.TclError:
            return "break"  # nothing to paste
        self._replace_selection()
        self.line.insert(pasted.replace("\r\n", " ").replace("\n", " "))
        self._edited()
        return "break"

    def _on_paste(self, _event: object) -> str:
        return self._paste("CLIPBOARD")

    def _on_middle_click(self, _event: object) -> str:
        return self._paste("PRIMARY")

    def _on_up(self, _event: object) -> str:
        previous = self.model.history_back(self.input.get())
        if previous is not None:
            self.input.set(previous)
            self.entry.icursor("end")
        return "break"

    def _on_down(self, _event: object) -> str:
        following = self.model.history_forward()
        if following is not None:
            self.input.set(following)
            self.entry.icursor("end")
        return "break"

    def _on_select(self, _event: object) -> None:
        selected = self.sidebar.selection()
        if selected and selected[0] != self.model.current:
            self.render(self.model.select(selected[0]))
            self.entry.focus_set()

    def _on_member(self, event: tk.Event[tk.Misc]) -> None:
        """Double-click (or Enter) on a member: talk to them privately."""
        row = self.members.identify_row(event.y) if event.type == tk.EventType.ButtonPress else ""
        row = row or self.members.focus()
        if row:
            self.render(self.model.open_private(self.members.item(row, "text")))
            self.entry.focus_set()


def _tk_index(text: str) -> int:
    """Tk 8.6 counts a character outside the BMP as two (UTF-16 units)."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _py_index(text: str, tk_index: int) -> int:
    units = 0
    for position, ch in enumerate(text):
        if units >= tk_index:
            return position
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(text)


#: Link tags (``url3``) and their addresses, one tag per address however often it is drawn; a
#: tag name is all a click on the text gives back.
_LINK_URLS: dict[str, str] = {}
_LINK_TAGS: dict[str, str] = {}
_link_ids = itertools.count(1)

Piece = tuple[str, tuple[str, ...]]


def _pieces(line: Line, width: int = 0) -> tuple[list[Piece], bool]:
    """The text runs of one line with their tags, in the order Tk draws them (left to right),
    and whether the line reads right to left (then it is right-aligned, the time on the right,
    and broken into rows of ``width`` pixels here rather than by Tk)."""
    time_cell: list[Piece] = [(clock(line.time), ("time",))] if line.time is not None else []
    if line.kind not in ("message", "action", "notice"):
        rtl = richtext.base_rtl(line.text)
        cells: list[list[Piece]] = [time_cell, richtext.layout([(line.text, (line.kind,))], rtl)]
        return _join(cells, rtl), rtl
    colour = f"nick{nick_slot(line.nick, len(NICK_COLOURS))}"
    label = {"action": f"* {line.nick}", "notice": f"-{line.nick}-"}.get(line.kind, line.nick)
    runs = _body_runs(line.text, ("own",) if line.own else ())
    rtl = richtext.base_rtl("".join(text for text, _ in runs))
    rows = [runs]
    if rtl and width:
        meta = _font("small").measure(clock(line.time) if line.time else "") + _font("bold").measure(label + "    ")
        rows = _rows(runs, width, max(width - meta, width // 2))
    cells = [time_cell, [(label, ("nick", colour))], richtext.layout(rows[0], rtl)]
    if line.state == "pending":
        cells.append([("⋯ sending", ("pending",))])
    elif line.state == "sent" and line.own:
        cells.append([("✓", ("sent",))])
    elif line.state == "failed":
        cells.append([(f"✗ not delivered: {line.note}", ("failed",))])
    pieces = _join(cells, rtl, tight=2 if line.kind == "action" else -1)
    for row in rows[1:]:
        pieces.append(("\n", ()))
        pieces.extend(richtext.layout(row, rtl))
    return pieces, rtl


def _rows(runs: list[Piece], width: int, first: int) -> list[list[Piece]]:
    """Logical runs cut into rows at spaces, each row at most ``width`` pixels wide when shaped
    (``first`` for the row that shares its space with the time and nick)."""
    logical = "".join(text for text, _ in runs)
    font = _font("bold")  # the widest face in a message: a row never overflows
    rows: list[list[Piece]] = []
    start = 0
    while start < len(logical):
        room = first if not rows else width
        end = len(logical)
        if font.measure(richtext.shape(logical[start:end])) > room:
            end = start
            for word_end in [i for i, ch in enumerate(logical) if ch == " " and i > start] + [len(logical)]:
                if font.measure(richtext.shape(logical[start:word_end])) > room:
                    break
                end = word_end
            if end == start:  # one word wider than the row: Tk's own wrapping takes over
                end = logical.find(" ", start + 1) if " " in logical[start + 1 :] else len(logical)
        rows.append(_slice(runs, start, end))
        start = end + 1 if end < len(logical) and logical[end] == " " else end
    return rows or [runs]


def _slice(runs: list[Piece], start: int, end: int) -> list[Piece]:
    """The runs covering ``start..end`` of their joined text."""
    out: list[Piece] = []
    at = 0
    for text, tags in runs:
        a, b = max(start, at), min(end, at + len(text))
        if a < b:
            out.append((text[a - at : b - at], tags))
        at += len(text)
    return out


def _join(cells: list[list[Piece]], rtl: bool, tight: int = -1) -> list[Piece]:
    """Cells (time, nick, text, state) two spaces apart (one before cell ``tight``: ``* bob
    waves``); a right-to-left line starts at the right."""
    out: list[Piece] = []
    order = list(enumerate(cells))
    for index, cell in reversed(order) if rtl else order:
        if not cell:
            continue
        if out:
            out.append((" " if (index + 1 if rtl else index) == tight else "  ", ()))
        out.extend(cell)
    return out


def _body_runs(text: str, extra: tuple[str, ...]) -> list[Piece]:
    """A message's styled runs (formatting codes) cut at its links, as (text, tags) in logical order."""
    runs: list[Piece] = []
    for run in formatting.parse(text):
        tags = extra + _style_tags(run.style)
        for piece, url in richtext.split_links(run.text):
            if url is None:
                runs.append((piece, tags))
            else:
                tag = _LINK_TAGS.get(url) or _LINK_TAGS.setdefault(url, f"url{next(_link_ids)}")
                _LINK_URLS[tag] = url
                runs.append((piece, (*tags, "link", tag)))
    return runs


def _style_tags(style: Style) -> tuple[str, ...]:
    """Tag names that carry a style; :func:`_tag_options` reads the look back from the name."""
    if style.plain:
        return ()
    tags = []
    if style.bold or style.italic or style.mono:
        tags.append("f_" + "b" * style.bold + "i" * style.italic + "m" * style.mono)
    if style.underline:
        tags.append("u")
    if style.strike:
        tags.append("s")
    fg, bg = style.fg, style.bg
    if style.reverse:
        tags.append("rev")
    if fg is not None:
        tags.append(f"fg{fg}")
    if bg is not None:
        tags.append(f"bg{bg}")
    return tuple(tags)


def _tag_options(tag: str) -> dict[str, Any]:
    if tag.startswith("f_"):
        flags = tag[2:]
        base = tkfont.nametofont("TkFixedFont").actual() if "m" in flags else _font("body").actual()
        return {
            "font": tkfont.Font(
                family=str(base.get("family")),
                size=int(_font("body").actual().get("size", 10)),
                weight="bold" if "b" in flags else "normal",
                slant="italic" if "i" in flags else "roman",
            )
        }
    if tag == "u":
        return {"underline": True}
    if tag == "s":
        return {"overstrike": True}
    if tag == "rev":
        return {"foreground": "#ffffff", "background": "#1d2330"}
    if tag.startswith("fg") and tag[2:].isdigit():
        return {"foreground": formatting.COLOURS[int(tag[2:])]}
    if tag.startswith("bg") and tag[2:].isdigit():
        return {"background": formatting.COLOURS[int(tag[2:])]}
    return {}


def _icon(key: str) -> str:
    """Rooms show their own ``#``; the server and private conversations get a sign."""
    if key == SERVER:
        return "⌂ "
    return "" if key.startswith(("#", "&")) else "✉ "


_FONTS: dict[str, tkfont.Font] = {}


def _font(kind: str) -> tkfont.Font:
    """Fonts derived from Tk's default one, so they follow the screen's DPI and the desktop."""
    if kind not in _FONTS:
        base = tkfont.nametofont("TkDefaultFont").actual()
        size = int(base.get("size", 10)) or 10
        family = str(base.get("family", "TkDefaultFont"))
        options = {
            "body": {"size": size + 1},
            "bold": {"size": size + 1, "weight": "bold"},
            "italic": {"size": size, "slant": "italic"},
            "small": {"size": max(7, size - 1)},
            "title": {"size": size + 5, "weight": "bold"},
        }[kind]
        _FONTS[kind] = tkfont.Font(family=family, **options)  # type: ignore[arg-type]
    return _FONTS[kind]


def _style(root: tk.Tk) -> None:
    _FONTS.clear()
    style = ttk.Style(root)
    if "clam" in style.theme_names():
        style.theme_use("clam")
    style.configure(".", background="#f4f5f7")
    style.configure("Main.TFrame", background="#ffffff")
    style.configure("Form.TFrame", background=FORM_BG)
    style.configure("Card.TFrame", background="#ffffff")
    style.configure("Card.TLabel", background="#ffffff")
    style.configure("Card.TCheckbutton", background="#ffffff")
    style.configure("Title.TLabel", background="#ffffff", font=_font("title"))
    style.configure("Hint.TLabel", background="#ffffff", foreground=MUTED)
    style.configure("Error.TLabel", background="#ffffff", foreground=ERROR)
    style.configure("Accent.TButton", background=ACCENT, foreground="#ffffff", padding=6)
    style.configure(
        "Link.TButton", background="#ffffff", foreground=ACCENT, relief="flat", borderwidth=0, padding=(0, 2),
        focuscolor=ACCENT,
    )  # fmt: skip
    style.map("Link.TButton", background=[("active", "#ffffff")], foreground=[("active", "#2f6fde")])
    style.map("Accent.TButton", background=[("disabled", "#9db8e8"), ("active", "#2f6fde")])
    style.configure("Sidebar.TFrame", background=SIDEBAR_BG)
    style.configure("SidebarHead.TLabel", background=SIDEBAR_BG, foreground=MUTED, font=_font("small"))
    style.configure("Head.TLabel", background="#ffffff", foreground=MUTED, font=_font("small"))
    style.configure("Topic.TLabel", background="#ffffff", font=_font("bold"))
    style.configure("Status.TLabel", background="#e8ebf0", foreground="#333a45")
    style.configure("Offline.TLabel", background="#fdecc8", foreground="#5c3d00")
    style.configure("Sash", sashthickness=3, gripcount=0)
    style.configure("TPanedwindow", background="#dfe3ea")
    rowheight = int(_font("body").metrics("linespace") * 1.6)
    style.configure(
        "Sidebar.Treeview", background=SIDEBAR_BG, fieldbackground=SIDEBAR_BG, foreground=SIDEBAR_FG,
        borderwidth=0, rowheight=rowheight, font=_font("body"),
    )  # fmt: skip
    style.map("Sidebar.Treeview", background=[("selected", ACCENT)], foreground=[("selected", "#ffffff")])
    style.configure(
        "Members.Treeview", background="#ffffff", fieldbackground="#ffffff", borderwidth=0, rowheight=rowheight
    )
    style.layout("Sidebar.Treeview", [("Treeview.treearea", {"sticky": "nswe"})])
    style.layout("Members.Treeview", [("Treeview.treearea", {"sticky": "nswe"})])
