"""Writing files so that a failure never leaves a half-written one behind."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["write_atomically"]


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to a new file next to ``path``, then rename it over ``path``.

    ``os.replace`` is atomic: a reader sees the old file or the complete new
    one, never a mixture, and an error part-way (a full disk, Ctrl-C) leaves
    the old file as it was and no temporary file behind.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:  # "x": a new file, with the usual permissions
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
