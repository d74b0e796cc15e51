"""fs/lock: a cache's lock file is held without following a link, opening anything but a
regular file, or leaving a file the cache's owner cannot open (cachekit often runs as root
in a user's cache)."""

import fcntl
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pytest

from cachekit.core.fs import lock

NOBODY = 65534


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's tmp_path sits below a 0700 one)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    path = Path(tempfile.mkdtemp(prefix="ck-fixpixi-lock-"))
    try:
        os.chmod(path, 0o755)
        yield path
    finally:
        shutil.rmtree(path)


def as_nobody(work: Callable[[], int]) -> int:
    """``work()``'s exit code, run in a forked child that became ``nobody``."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 99
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            code = work()
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_symlink_is_never_followed_nor_created_through(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / ".lock").symlink_to(outside / "evil")  # a missing target
    with pytest.raises(lock.NotAFile, match="a symbolic link, not a regular file"), \
            lock.exclusive(str(cache / ".lock")):
        pytest.fail("held through a symlink")
    assert not (outside / "evil").exists() and os.listdir(outside) == []
    (outside / "evil").write_text("precious")
    with pytest.raises(lock.NotAFile), lock.exclusive(str(cache / ".lock"), create=False):
        pass
    assert lock.is_free(str(cache / ".lock")) is False


def test_a_directory_or_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    (tmp_path / "dir.lock").mkdir()
    os.mkfifo(tmp_path / "fifo.lock")
    for name, what in (("dir.lock", "a directory"), ("fifo.lock", "a special file")):
        with pytest.raises(lock.NotAFile, match=what), lock.exclusive(str(tmp_path / name)):
            pass


def test_missing_lock_is_created_or_left_missing(tmp_path: Path) -> None:
    assert lock.is_free(str(tmp_path / ".lock")) and not (tmp_path / ".lock").exists()
    with lock.exclusive(str(tmp_path / ".lock"), create=False):
        assert not (tmp_path / ".lock").exists()
    with lock.exclusive(str(tmp_path / ".lock")):
        assert (tmp_path / ".lock").is_file()
        assert not lock.is_free(str(tmp_path / ".lock"))  # flock: per open file
    assert lock.is_free(str(tmp_path / ".lock"))
    fd = os.open(tmp_path / ".lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(lock.Busy), lock.exclusive(str(tmp_path / ".lock")):
            pass
    finally:
        os.close(fd)


def test_a_name_in_an_open_directory(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    dfd = os.open(tmp_path / "pkg", os.O_RDONLY | os.O_DIRECTORY)
    try:
        with lock.exclusive(".lock", create=False, dir_fd=dfd):
            pass
        assert not (tmp_path / "pkg/.lock").exists()
        (tmp_path / "pkg/.lock").write_text("")
        with lock.exclusive(".lock", create=False, dir_fd=dfd):
            assert not lock.is_free(str(tmp_path / "pkg/.lock"))
    finally:
        os.close(dfd)


@pytest.mark.root
def test_root_creates_the_lock_as_the_cache_owner_would(open_dir: Path) -> None:
    cache = open_dir / "users-cache"
    cache.mkdir()
    os.chown(cache, NOBODY, NOBODY)
    with lock.exclusive(str(cache / ".lock")):
        pass
    st = (cache / ".lock").stat()
    assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)


    def open_it() -> int:  # the user's own tool can still open it for writing and lock it
        fd = os.open(cache / ".lock", os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return 0

    assert as_nobody(open_it) == 0


@pytest.mark.root
def test_a_user_never_creates_a_lock_its_owner_could_not_open(open_dir: Path) -> None:
    """Not root, in another user's (writable) cache: no lock file is left behind."""
    cache = open_dir / "shared"
    cache.mkdir()
    os.chmod(cache, 0o777)

    def try_it() -> int:
        try:
            with lock.exclusive(str(cache / ".lock")):
                return 1
        except PermissionError as exc:
            return 0 if "not by the directory's owner (uid 0)" in exc.strerror else 2

    assert as_nobody(try_it) == 0
    assert os.listdir(cache) == []
