"""Writing files so that a failure never leaves a half-written one behind.

The trick is to never write into the file itself: write the new bytes to a
temporary file in the same directory, then rename it over the old one.
``os.replace`` is atomic on POSIX, so a reader (or a crash) sees either the
old file or the complete new one. Three details make it behave like an
ordinary write:

* **permissions**: a rewritten file keeps its mode (a private ``0600`` file
  stays private); a new file gets the usual ``0666`` minus the umask;
* **symbolic links**: writing to a link writes the file it points to, and
  the link stays a link (renaming over the link itself would replace it);
* **leftovers**: a process killed between writing and renaming (SIGKILL,
  power loss) leaves its temporary file ``.<name>.<pid>.<hex>.tmp``; the
  next write of the same file removes those of processes that no longer run.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``.

    The bytes go to a new temporary file next to the real file (``path``
    with its symbolic links followed), created with the existing file's
    permissions (or the umask's for a new file), flushed to disk, then
    renamed over the file. An error part-way (a full disk, Ctrl-C) leaves the
    old file as it was and removes the temporary file; a process killed
    part-way leaves the old file as it was, and its temporary file is removed
    by the next successful write of the same file.
    """
    path = Path(path)
    target = Path(os.path.realpath(path))  # through symbolic links: the file to replace
    mode = _mode_of(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        # O_EXCL: a new file. The umask only removes bits, so the file is never
        # more open than the old one, even before the fchmod puts back the exact mode.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        with open(fd, "wb") as f:
            if mode is not None:
                os.fchmod(fd, mode)
            f.write(data)
            f.flush()
            os.fsync(fd)  # the bytes are on disk before the rename makes them the file
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _remove_leftovers(target)
    return path


def _mode_of(path: Path) -> int | None:
    """The permission bits of an existing file, or ``None`` if there is none."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def _remove_leftovers(target: Path) -> None:
    """Delete ``.<name>.<pid>.<8 hex>.tmp`` files of ``target`` left by processes no longer running.

    Only that exact pattern, only for this file, and never a file of a live
    process (it may be writing right now) nor of this process (another thread).
    """
    pattern = re.compile(re.escape(f".{target.name}.") + r"(\d+)\.[0-9a-f]{8}\.tmp")
    with os.scandir(target.parent) as entries:
        names = [entry.name for entry in entries]
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        pid = int(match[1])
        if pid != os.getpid() and not _is_running(pid):
            (target.parent / name).unlink(missing_ok=True)


def _is_running(pid: int) -> bool:
    """Whether a process with this id exists (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, but belongs to another user
        return True
    except (OverflowError, ValueError):  # not a possible process id
        return False
    return True
