"""Writing files so that a failure never leaves a half-written one behind.

The trick is to never write into the file itself: write the new bytes to a
temporary file in the same directory, then rename it over the old one.
``os.replace`` is atomic on POSIX, so a reader (or a crash) sees either the
old file or the complete new one. A few details make it behave like an
ordinary write:

* **permissions and owner**: a rewritten file keeps its mode (a private
  ``0600`` file stays private) and, when root writes it, its owner and group
  (a user's file rewritten by ``sudo`` stays the user's); a new file gets the
  usual ``0666`` minus the umask. Anyone else cannot give a file away: the
  new file is theirs, as after any editor's safe save;
* **symbolic links**: writing to a link writes the file it points to, and
  the link stays a link (renaming over the link itself would replace it);
* **hard links**: a file with several names (``ln weights.json backup.json``)
  is a single file; the rename gives *this* name a new file, and the other
  names keep the old contents. (Writing into the shared file would keep them
  together, but a crash part-way would then leave it half-written.)
* **leftovers**: a process killed between writing and renaming (SIGKILL,
  power loss) leaves its temporary file ``.<name>.<pid>.<hex>.tmp``; the
  next write of the same file removes those of processes that no longer run.
  For a name so long that this would pass the file system's limit (255
  bytes), ``<name>`` is shortened to its start, ``~`` and a hash of the whole
  name, so that each file still has its own temporary names;
* **errors** name the path you gave, never the temporary file.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from pathlib import Path

__all__ = ["write_atomically"]

#: The longest file name (in bytes) a file system takes when it does not say (POSIX ``NAME_MAX``).
NAME_MAX = 255
#: What ``.<stem>.<pid>.<8 hex>.tmp`` adds to the stem, at most: a process id has at most 10 digits.
_TMP_EXTRA = len("." + "." + "9" * 10 + "." + "0" * 8 + ".tmp")
#: What a shortened stem ends with: ``~`` and 8 hex digits of the hash of the whole name.
_HASH_EXTRA = len("~" + "0" * 8)


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return ``path``.

    The bytes go to a new temporary file next to the real file (``path``
    with its symbolic links followed), created with the existing file's
    permissions (or the umask's for a new file) and, as root, its owner and
    group, flushed to disk, then renamed over the file. An error part-way (a
    full disk, Ctrl-C) leaves the old file as it was and removes the
    temporary file; a process killed part-way leaves the old file as it was,
    and its temporary file is removed by the next successful write of the
    same file. An ``OSError`` names ``path``, not the temporary file. Other
    hard links to the old file keep the old contents (see the module's notes).
    """
    path = Path(path)
    try:
        target = Path(os.path.realpath(path))  # through symbolic links: the file to replace
        old = _stat_of(target)
        mode = None if old is None else stat.S_IMODE(old.st_mode)
        tmp = target.with_name(f".{_stem(target)}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    except OSError as error:
        raise _naming(error, path) from None
    try:
        # O_EXCL: a new file. The umask only removes bits, so the file is never
        # more open than the old one, even before the fchmod puts back the exact mode.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        with open(fd, "wb") as f:
            if old is not None:
                _keep_owner(fd, old)  # before the fchmod: a change of owner may clear set-id bits
                os.fchmod(fd, stat.S_IMODE(old.st_mode))
            f.write(data)
            f.flush()
            os.fsync(fd)  # the bytes are on disk before the rename makes them the file
        os.replace(tmp, target)
    except BaseException as error:
        tmp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _naming(error, path) from None
        raise
    _remove_leftovers(target)
    return path


def _stat_of(path: Path) -> os.stat_result | None:
    """The file's status (mode, owner), or ``None`` if there is no file."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _keep_owner(fd: int, old: os.stat_result) -> None:
    """Give the new file the old one's owner and group, where the system lets us (root may; others not)."""
    new = os.fstat(fd)
    if (new.st_uid, new.st_gid) == (old.st_uid, old.st_gid):
        return
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
    except PermissionError:  # not root: the file is the writer's, as after any safe save
        pass


def _naming(error: OSError, path: Path) -> OSError:
    """``error`` made to name the caller's ``path`` instead of a temporary file (or of no file).

    ``str(error)`` is built from these attributes when printed, so the message changes with them.
    """
    if error.errno is not None:
        error.filename, error.filename2 = os.fspath(path), None
    return error


def _stem(target: Path) -> str:
    """The ``<name>`` part of ``target``'s temporary names: the name, or a shortened form that fits.

    ``.<name>.<pid>.<hex>.tmp`` must fit in the directory's limit on a file
    name. When it would not, the stem is the longest start of the name that
    leaves room, then ``~`` and 8 hex digits of the SHA-256 of the whole
    name: the same for every write of this file (so leftovers are found), and
    different for two long names that share their start.
    """
    name = target.name
    limit = _name_max(target.parent)
    if len(os.fsencode(name)) + _TMP_EXTRA <= limit:
        return name
    room = limit - _TMP_EXTRA - _HASH_EXTRA
    start = name
    while len(os.fsencode(start)) > room:  # by characters, so a multi-byte character is never cut
        start = start[:-1]
    return f"{start}~{hashlib.sha256(os.fsencode(name)).hexdigest()[:8]}"


def _name_max(directory: Path) -> int:
    """The longest file name ``directory``'s file system takes, in bytes."""
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # no such directory (yet), or no pathconf (Windows)
        return NAME_MAX


def _remove_leftovers(target: Path) -> None:
    """Delete ``.<stem>.<pid>.<8 hex>.tmp`` files of ``target`` left by processes no longer running.

    Only that exact pattern, only for this file, and never a file of a live
    process (it may be writing right now) nor of this process (another thread).
    """
    pattern = re.compile(re.escape(f".{_stem(target)}.") + r"(\d+)\.[0-9a-f]{8}\.tmp")
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
