"""The data directory and everything in it are for the user LiveLens runs as only.

The store holds account data, audit logs and sealed secrets; beside it lie the master
key and the TLS key. Directories are made 0700 and files 0600 (SQLite gives its -wal
and -shm files the database file's mode), whatever the umask. Modes found wider at
start are reported, with the chmod that fixes them, rather than changed behind the
operator's back.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Iterable
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO
# What SQLite keeps beside a database file.
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def make_dir(path: Path) -> None:
    """``path`` with every missing directory on the way made 0700 (existing ones keep
    their mode: :func:`warnings` names them if wider)."""
    missing: list[Path] = []
    while not path.exists() and path != path.parent:
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=DIR_MODE, exist_ok=True)


def create_file(path: Path) -> None:
    """An empty 0600 file at ``path`` unless there is one already."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, created or truncated, readable by this user only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _wide(path: Path) -> bool:
    try:
        mode = path.lstat().st_mode
    except OSError:
        return False
    return not stat.S_ISLNK(mode) and bool(mode & _OTHERS)


def _wide_in(directory: Path) -> list[Path]:
    found = [directory] if _wide(directory) else []
    for root, dirs, files in os.walk(directory, onerror=lambda _: None):
        found += [p for p in (Path(root, n) for n in dirs + files) if _wide(p)]
    return found


def warnings(data_dir: Path, files: Iterable[Path] = ()) -> list[str]:
    """One line for the data dir if it, or anything in it, is open to other users, and
    one for ``files`` kept elsewhere (a store file outside it), each with its chmod."""
    lines = []
    wide = _wide_in(data_dir) if data_dir.is_dir() else []
    if wide:
        lines.append(
            f"{data_dir} is readable by other users ({len(wide)} path(s) wider than "
            f"0700/0600, e.g. {wide[0]}): run  chmod -R go= {shlex.quote(str(data_dir))}"
        )
    outside = [
        p
        for f in files
        if not f.resolve().is_relative_to(data_dir.resolve())
        for p in (f, *(f.with_name(f.name + s) for s in SQLITE_COMPANIONS))
        if _wide(p)
    ]
    if outside:
        quoted = " ".join(shlex.quote(str(p)) for p in outside)
        lines.append(f"{outside[0]} is readable by other users: run  chmod go= {quoted}")
    return lines
