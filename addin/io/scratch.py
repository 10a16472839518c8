"""A private folder for this run's temporary files (copies of the submitted data among them), that the
next run removes if this one is killed before it can.

Each run has a folder `run-<pid>-…` (mode 0700) in a per-user `dtfund-<user>` folder of the system's
temporary folder, and holds an exclusive lock on the file `lock` in it while it lives (fcntl.flock on
POSIX, msvcrt.locking on Windows, where the finance officers run the add-in). The operating system drops
the lock when the process ends in any way, SIGKILL included, so a folder whose lock can be taken belongs
to a run that is gone, whatever process now has its pid: it is removed.

Not the mechanism of the outputs' work folders (addin.io.output): an output's temporary file must lie
beside its target, on the same disk, for the rename that replaces the target to be atomic; these files
are read back by this run only and belong in the system's temporary folder."""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

RUN_PREFIX = "run-"
MAKING_PREFIX = "making-"  # a run's folder before its lock is taken (then renamed to run-…)
LOCK_NAME = "lock"
# A folder being made is renamed (on Windows: given its lock file) within microseconds; one left older
# than this without its lock was made by a run killed at that moment.
STALE_MAKING_SECONDS = 60

_lock = threading.Lock()
_WINDOWS = os.name == "nt"
# Flags for opening a lock file: not inherited by child processes, and never through a symbolic link
# (Windows has neither flag; its descriptors are not inherited by default).
_OPEN_FLAGS = getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)


def _try_lock(handle: int) -> bool:
    """Take the exclusive lock on an open lock file without waiting; False when a live process holds it."""
    try:
        if _WINDOWS:
            import msvcrt

            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _user_name() -> str:
    """Who runs dtfund, for the per-user folder's name: the user id on POSIX; on Windows, where the
    temporary folder is already the user's own, the login name."""
    if _WINDOWS:
        import getpass

        return getpass.getuser()
    return str(os.getuid())


def _private(folder: Path) -> bool:
    """A real folder that only this user may enter (on Windows the user's temporary folder is private
    by its access list, which st_mode does not show: a real folder is enough)."""
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        return False
    return _WINDOWS or (info.st_uid == os.getuid() and not info.st_mode & 0o077)


def user_folder() -> Path:
    """The per-user folder holding every run's folder: created private, and used only when it is a
    real folder of this user that nobody else may enter (else a fresh private one is made)."""
    folder = _user_folder_path()
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    if not _private(folder):
        return Path(tempfile.mkdtemp(prefix=f"dtfund-{_user_name()}-"))
    return folder


def _user_folder_path() -> Path:
    return Path(tempfile.gettempdir()) / f"dtfund-{_user_name()}"


@functools.cache
def run_folder() -> Path:
    """This run's private folder, made (and the folders of runs that are gone removed) on first use."""
    with _lock:
        parent = user_folder()
        remove_stale_runs(parent)
        if _WINDOWS:
            # Windows renames no folder with a file open in it: the folder gets its final name at once.
            # Another run that looks at it before the lock is taken cannot delete the open lock file,
            # so the folder stays (and one without its lock file is left alone while young).
            folder = Path(tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-", dir=parent))
            _hold_lock(folder)
        else:
            making = Path(tempfile.mkdtemp(prefix=f"{MAKING_PREFIX}{os.getpid()}-", dir=parent))
            _hold_lock(making)  # (nobody else can know this folder yet)
            folder = making.with_name(RUN_PREFIX + making.name.removeprefix(MAKING_PREFIX))
            making.rename(folder)  # only now may another run look at its lock
        atexit.register(_remove, folder)
        return folder


def _hold_lock(folder: Path) -> None:
    """Create the folder's lock file and take its lock, held until the process ends."""
    handle = os.open(folder / LOCK_NAME, os.O_CREAT | os.O_RDWR | _OPEN_FLAGS, 0o600)
    _try_lock(handle)
    _held.append(handle)


_held: list[int] = []  # the lock's descriptor, kept open for the life of the process


def clean_up_after_killed_runs() -> None:
    """Remove the folders of runs that are gone: every run calls this when it starts, whether or not it
    writes temporary files itself (a listing and a lock tried per folder; the removal only after a kill).
    Nothing is created: where no run has made the per-user folder, there is nothing to clean."""
    if not _user_folder_path().is_dir():
        return
    with contextlib.suppress(OSError):
        remove_stale_runs(user_folder())


def remove_stale_runs(parent: Path) -> list[Path]:
    """Remove the run folders whose run is gone (their lock is free), and folders left half made; the
    folders removed."""
    removed = []
    for folder in sorted(parent.iterdir()):
        if folder.is_symlink() or not folder.is_dir():
            continue
        if folder.name.startswith(RUN_PREFIX):
            gone = _owner_gone(folder)
        elif folder.name.startswith(MAKING_PREFIX):
            gone = _age(folder) > STALE_MAKING_SECONDS
        else:
            continue
        if gone:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _owner_gone(folder: Path) -> bool:
    """No live process holds the folder's lock."""
    try:
        handle = os.open(folder / LOCK_NAME, os.O_RDWR | _OPEN_FLAGS)
    except FileNotFoundError:
        return not _WINDOWS or _age(folder) > STALE_MAKING_SECONDS
    except OSError:
        return False
    try:
        return _try_lock(handle)
    finally:
        os.close(handle)  # (which drops the lock just taken)


def _age(folder: Path) -> float:
    try:
        return time.time() - folder.stat().st_mtime
    except OSError:
        return 0.0


def remove_run_folder() -> None:
    """Remove this run's folder now (the process is about to end), if it was made. The lock is let go
    first: Windows does not delete a file that is open."""
    if run_folder.cache_info().currsize:
        _remove(run_folder())


def _remove(folder: Path) -> None:
    while _held:
        with contextlib.suppress(OSError):
            os.close(_held.pop())
    shutil.rmtree(folder, ignore_errors=True)
