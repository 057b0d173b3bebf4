"""Desktop notifications: how many are shown for a burst of mentions, and what their body says."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from chat.client import notify
from chat.client.mentions import Notices


def test_a_burst_of_private_messages_is_not_a_burst_of_popups() -> None:
    now = [0.0]
    notices = Notices(gap=10.0, most=3, clock=lambda: now[0])
    shown = []
    for i in range(50):  # fifty private messages from one person, a second apart
        now[0] = float(i)
        shown.append(notices.allow("alice"))
    assert shown.count(True) == 1 and shown[0]
    now[0] = 100.0  # after a quiet spell the conversation notifies again
    assert notices.allow("alice")


def test_many_conversations_share_a_cap_per_burst() -> None:
    now = [0.0]
    notices = Notices(gap=10.0, most=3, clock=lambda: now[0])
    shown = []
    for i in range(50):  # fifty people each writing once, a tenth of a second apart
        now[0] = i / 10
        shown.append(notices.allow(f"user{i}"))
    assert shown.count(True) == 3
    now[0] = 100.0
    assert notices.allow("someone-else")


def test_the_body_is_escaped_for_the_notification_daemon(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []

    def popen(args: list[str], **_: Any) -> object:
        started.append(args)
        return object()

    monkeypatch.setattr(notify.shutil, "which", lambda _: "/usr/bin/notify-send")
    monkeypatch.setattr(subprocess, "Popen", popen)
    assert notify.notify("bob", "<b>look</b> & <a href='x'>here</a>")
    assert started[0][-1] == "&lt;b&gt;look&lt;/b&gt; &amp; &lt;a href='x'&gt;here&lt;/a&gt;"
