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


#: A valid file name of 245 characters (the limit is 255 bytes): the temporary name must be shortened.
LONG_NAME = "w" * 240 + ".json"


@pytest.mark.parametrize("name", ["weights.json", LONG_NAME])
def test_a_save_killed_before_the_rename_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path, name):
    path = tmp_path / name
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
    assert tmp.parent == tmp_path and f".{child.pid}." in tmp.name
    assert LEFTOVER.fullmatch(tmp.name) if name == "weights.json" else len(tmp.name) <= 255
    write_atomically(path, b"newer weights")
    assert path.read_bytes() == b"newer weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # the leftover is gone


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


@pytest.mark.parametrize("name", [LONG_NAME, "é" * 120 + ".json"])  # 245 bytes each
def test_a_long_valid_file_name_can_be_written(tmp_path, name):
    """Issue 20, item 10: the temporary name (name + ~20 characters) was too long for the file system."""
    path = tmp_path / name
    assert len(os.fsencode(name)) <= 255
    assert write_atomically(path, b"first") == path
    write_atomically(path, b"second")
    assert path.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_long_names_that_differ_only_at_the_end_have_their_own_temporary_files(tmp_path):
    """A shortened temporary name ends with a hash of the whole name: cleanups never touch another file."""
    dead = dead_pid()
    for ending in ("a.json", "b.json"):
        name = "w" * 239 + ending
        child_code = (
            "import os, sys\n"
            "os.replace = lambda src, dst: print(src, flush=True) or os._exit(0)\n"
            "from autograd.files import write_atomically\n"
            "write_atomically(sys.argv[1], b'x')\n"
        )
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        out = subprocess.run([sys.executable, "-c", child_code, str(tmp_path / name)], env=env,
                             capture_output=True, check=True).stdout
        left = Path(out.decode().strip())
        left.rename(left.with_name(re.sub(r"\.\d+\.([0-9a-f]{8})\.tmp$", rf".{dead}.\1.tmp", left.name)))
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert len(leftovers) == 2
    write_atomically(tmp_path / ("w" * 239 + "a.json"), b"new")
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert len(remaining) == 2 and "w" * 239 + "a.json" in remaining  # b's leftover is still there


def test_a_name_too_long_for_the_file_system_is_an_error_naming_the_callers_path(tmp_path):
    path = tmp_path / ("w" * 251 + ".json")  # 256 bytes
    with pytest.raises(OSError, match="too long") as caught:
        write_atomically(path, b"x")
    assert caught.value.filename == os.fspath(path) and caught.value.filename2 is None
    assert ".tmp" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("make_path", [
    lambda tmp: tmp / "missing-directory" / "weights.json",  # the temporary file cannot be created
    lambda tmp: (tmp / "a-directory").mkdir() or tmp / "a-directory",  # the rename fails
])
def test_a_file_error_names_the_callers_path_never_the_temporary_file(tmp_path, make_path):
    """Issue 20, item 10: errors from os.open and os.replace named ``.<name>.<pid>.<hex>.tmp``."""
    path = make_path(tmp_path)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(OSError) as caught:
        write_atomically(path, b"x")
    assert caught.value.filename == os.fspath(path) and caught.value.filename2 is None
    assert ".tmp" not in str(caught.value) and os.fspath(path) in str(caught.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only root can give a file away")
def test_rewriting_as_root_keeps_the_owner_and_group(tmp_path):
    """Issue 20, item 15: the new file belonged to root, so its owner could no longer write it."""
    path = tmp_path / "weights.json"
    path.write_bytes(b"old")
    path.chmod(0o640)
    os.chown(path, 12345, 23456)
    write_atomically(path, b"new")
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, mode(path)) == (12345, 23456, 0o640)
    assert path.read_bytes() == b"new"


def test_a_file_with_other_hard_links_is_replaced_at_this_name_only(tmp_path):
    """Issue 20, item 15, as documented: the rename gives this name a new file; other links keep the old one.

    Writing in place would keep the links together, but a crash part-way would
    then leave a half-written file: atomicity was chosen.
    """
    path, other = tmp_path / "weights.json", tmp_path / "backup.json"
    path.write_bytes(b"old")
    os.link(path, other)
    write_atomically(path, b"new")
    assert path.read_bytes() == b"new" and other.read_bytes() == b"old"
    assert os.stat(path).st_nlink == 1 and os.stat(other).st_nlink == 1
    assert "hard link" in write_atomically.__doc__


@pytest.mark.parametrize("suffix", [".json", ".svg", ".dot", ".html"])
def test_every_saver_takes_a_245_character_file_name(tmp_path, suffix):
    """Issue 20, item 10: nn.save, save_graph and walkthrough(...).save refused a valid long name."""
    import nn
    from autograd import Value, save_graph, walkthrough

    path = tmp_path / ("w" * (245 - len(suffix)) + suffix)
    y = (Value(0.5, label="x") * Value(-2.0, label="w")).tanh()
    if suffix == ".json":
        nn.save({"w": 1.5}, path)
        assert nn.load(path) == {"w": 1.5}
    elif suffix == ".html":
        walkthrough(y).save(path)
        assert path.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>")
    else:
        save_graph(y, path)
        assert (b"<svg" if suffix == ".svg" else b"digraph") in path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
