"""The desktop client on a real X server: one Xvfb for the session, a fresh Tk root per test."""

from __future__ import annotations

import contextlib
import gc
import time
import tkinter as tk
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.helpers.xvfb import Xvfb


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
