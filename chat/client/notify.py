"""Desktop notifications for mentions, where the platform has a way; nothing to install.

``notify-send`` (libnotify, on most Linux desktops) is used when it is on PATH; without it the
caller falls back to the window's bell. It runs detached, so a slow notification daemon never
holds up the window.
"""

from __future__ import annotations

import html
import logging
import shutil
import subprocess

__all__ = ["notify"]

log = logging.getLogger(__name__)

#: Long messages are cut: a notification is a glance, the window has the rest.
MAX_BODY = 200


def notify(title: str, body: str) -> bool:
    """Show a desktop notification; False when there is no way to (the caller rings instead)."""
    program = shutil.which("notify-send")
    if program is None:
        return False
    if len(body) > MAX_BODY:
        body = body[: MAX_BODY - 1] + "…"
    body = html.escape(body, quote=False)  # daemons read the body as markup: "<b>" would vanish or bold the rest
    try:
        subprocess.Popen(
            [program, "--app-name=chat", "--", title, body],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError as err:
        log.warning("notify-send failed: %s", err)
        return False
    return True
