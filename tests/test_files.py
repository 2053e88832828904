"""``write_atomically``: the old file or the whole new one, its permissions, symlinks, crashes."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autograd.files import write_atomically

ROOT = Path(__file__).resolve().parents[1]
LEFTOVER = re.compile(r"\.weights\.json\.\d+\.[0-9a-f]{8}\.tmp")


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test, and put the old one back."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


def test_rewriting_keeps_the_permissions_of_the_existing_file(tmp_path, umask):
    path = tmp_path / "weights.json"
    path.write_bytes(b"secret")
    umask(0o022)
    for kept in (0o600, 0o640, 0o664):  # 0o664: group-writable, more than the umask allows a new file
        path.chmod(kept)
        write_atomically(path, b"new")
        assert path.read_bytes() == b"new" and mode(path) == kept


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600), (0o027, 0o640)])
def test_a_new_file_gets_the_usual_permissions_of_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    path = write_atomically(tmp_path / "new.json", b"x")
    assert mode(path) == expected


def test_writing_through_a_symlink_writes_its_target_and_keeps_the_link(tmp_path):
    (tmp_path / "runs").mkdir()
    target = tmp_path / "runs" / "weights-v2.json"
    target.write_bytes(b"old")
    target.chmod(0o600)
    link = tmp_path / "latest.json"
    link.symlink_to(Path("runs") / "weights-v2.json")  # relative, as `ln -s` makes them
    assert write_atomically(link, b"new") == link
    assert link.is_symlink() and os.readlink(link) == os.path.join("runs", "weights-v2.json")
    assert target.read_bytes() == b"new" and mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "runs"]


def test_a_dangling_symlink_creates_its_target(tmp_path):
    link = tmp_path / "latest.json"
    link.symlink_to(tmp_path / "missing.json")
    write_atomically(link, b"new")
    assert link.is_symlink() and (tmp_path / "missing.json").read_bytes() == b"new"


def dead_pid() -> int:
    """The id of a process that has exited (and been waited for)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_save_killed_before_the_rename_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "weights.json"
    path.write_bytes(b"old weights")
    # The child saves, but its os.replace reports the temporary file and then
    # waits for input that never comes: the parent kills it there (SIGKILL),
    # after the new data is complete in the temporary file, before the rename.
    child_code = (
        "import os, sys\n"
        "def stop_before_rename(src, dst):\n"
        "    print(src, flush=True)\n"
        "    sys.stdin.read()\n"
        "os.replace = stop_before_rename\n"
        "from autograd.files import write_atomically\n"
        "write_atomically(sys.argv[1], b'new weights')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", child_code, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
    )
    try:
        tmp = Path(child.stdout.readline().decode().strip())
        assert tmp.read_bytes() == b"new weights"
    finally:
        child.kill()
        child.wait()
        child.stdin.close()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == b"old weights"  # the old file is intact
    assert tmp.parent == tmp_path and LEFTOVER.fullmatch(tmp.name) and f".{child.pid}." in tmp.name
    write_atomically(path, b"newer weights")
    assert path.read_bytes() == b"newer weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.json"]  # the leftover is gone


def test_only_leftovers_of_dead_processes_for_the_same_file_are_removed(tmp_path):
    dead = dead_pid()
    alive = os.getppid()
    removed = [f".weights.json.{dead}.0123abcd.tmp"]
    kept = [
        f".weights.json.{alive}.0123abcd.tmp",  # a save still running in another process
        f".weights.json.{os.getpid()}.0123abcd.tmp",  # maybe another thread of this one
        f".other.json.{dead}.0123abcd.tmp",  # another file's
        f".weights.json.{dead}.0123ABCD.tmp",  # not the pattern write_atomically makes
        f".weights.json.{dead}.0123abc.tmp",
        f"weights.json.{dead}.0123abcd.tmp",
        f".weights.json.{dead}.0123abcd.tmp.bak",
    ]
    for name in removed + kept:
        (tmp_path / name).write_bytes(b"x")
    write_atomically(tmp_path / "weights.json", b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(kept + ["weights.json"])
