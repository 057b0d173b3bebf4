"""What the desktop client remembers between runs: the last server, nick, whether TLS was on
and the account name it logged in with. Never a password: the file is plain JSON in the home
directory, readable by backups and anyone with the user's rights, so passwords stay in memory
(or come from ``--password-file`` and the environment each time).

Kept as a small JSON file in the user's config directory (``$XDG_CONFIG_HOME/chat`` or
``~/.config/chat``). A missing, unreadable or damaged file means "nothing remembered", never
an error: the connect form just starts empty.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["Remembered", "config_dir", "load", "save"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Remembered:
    address: str = ""
    nick: str = ""
    tls: bool = False
    account: str = ""  # the account name only; its password is asked for each time


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "chat"


def _path() -> Path:
    return config_dir() / "gui.json"


def load() -> Remembered:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Remembered()
    if not isinstance(data, dict):
        return Remembered()
    return Remembered(
        str(data.get("address", "")),
        str(data.get("nick", "")),
        data.get("tls") is True,
        str(data.get("account", "")),
    )


def save(values: Remembered) -> None:
    path = _path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(values)), encoding="utf-8")
        tmp.replace(path)
    except OSError as err:  # a read-only home is no reason to stop chatting
        log.warning("cannot remember the connection settings in %s: %s", path, err)
