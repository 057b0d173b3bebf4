"""The desktop client on a real X server: one Xvfb for the session, a fresh Tk root per test."""

from __future__ import annotations

import contextlib
import gc
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chat.client.gui import App, ConnectForm
from tests.helpers.xvfb import Xvfb

#: Connection options for GUI tests: a dead link is noticed and retried within a test's deadlines.
FAST: dict[str, object] = {"ping_interval": 1.0, "ping_timeout": 2.5, "backoff_cap": 1.0}


@pytest.fixture(scope="session")
def display() -> Iterator[str]:
    xvfb = Xvfb()
    try:
        yield xvfb.display
    finally:
        xvfb.stop()


@pytest.fixture
def root(display: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tk.Tk]:
    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # remembered values stay in the test
    window = tk.Tk(className="chat")
    yield window
    with contextlib.suppress(tk.TclError):  # the test may have closed it already
        window.destroy()
    del window
    gc.collect()  # Tk variables must die on this thread, not in whichever thread the GC runs next


def pump(
    root: tk.Tk, condition: Callable[[], object], timeout: float = 15.0, what: str | Callable[[], str] = "condition"
) -> None:
    """Run the Tk event loop until ``condition()`` holds; fail after ``timeout`` seconds, saying
    ``what`` (or what ``what()`` says at that moment)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(tk.TclError):  # the window is gone
            root.update()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what() if callable(what) else what} did not happen within {timeout:g} s")
        time.sleep(0.01)


def blank_form(root: tk.Tk, **options: object) -> tuple[App, ConnectForm]:
    """The window opened without an address, on a LAN where no server answers: no real mDNS
    search, whose late result could fill the form in under the test."""
    app = App(root, None, None, discover=list, connection_options={**FAST, **options})
    assert app.form is not None
    return app, app.form
