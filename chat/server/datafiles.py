"""Creating the server's data directory and database files so that only their owner can read
them: ``accounts.sqlite3`` holds password hashes and ``history.sqlite3`` private messages.

Only what is created here gets the strict mode. A directory or file the admin made already is
left as it is: they may have their reasons (a group that backs it up), and the container's
``/data`` is made by its image, owned by the server's user.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_data_dir(path: Path) -> None:
    """``path`` as a directory: created 0700 when missing (its missing parents get the usual
    mode), untouched when it exists. Raises ``OSError`` like ``Path.mkdir``."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)


def create_private_file(path: Path | str) -> None:
    """Create ``path`` empty with mode 0600 unless it exists, before SQLite opens it.

    An empty file is a valid empty database, and SQLite gives the ``-wal`` and ``-shm`` files it
    makes beside a database the database file's mode, so they are private too."""
    if str(path) == ":memory:":
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)
