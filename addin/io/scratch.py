"""A private folder for this run's temporary files (copies of the submitted data among them), that the
next run removes if this one is killed before it can.

Each run has a folder `run-<pid>-…` (mode 0700) in a per-user `dtfund-<uid>` folder of the system's
temporary folder, and holds an exclusive lock (fcntl.flock) on the file `lock` in it while it lives. The
kernel drops the lock when the process ends in any way, SIGKILL included, so a folder whose lock can be
taken belongs to a run that is gone, whatever process now has its pid: it is removed."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
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
# A folder being made is renamed within microseconds; one left older than this was made by a run killed
# at that moment.
STALE_MAKING_SECONDS = 60

_lock = threading.Lock()


def user_folder() -> Path:
    """The per-user folder holding every run's folder: created private, and used only when it is a
    real folder of this user that nobody else may enter (else a fresh private one is made)."""
    folder = Path(tempfile.gettempdir()) / f"dtfund-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        folder.mkdir(mode=0o700)
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return Path(tempfile.mkdtemp(prefix=f"dtfund-{os.getuid()}-"))
    return folder


@functools.cache
def run_folder() -> Path:
    """This run's private folder, made (and the folders of runs that are gone removed) on first use."""
    with _lock:
        parent = user_folder()
        remove_stale_runs(parent)
        making = Path(tempfile.mkdtemp(prefix=f"{MAKING_PREFIX}{os.getpid()}-", dir=parent))
        handle = os.open(making / LOCK_NAME, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held until the process ends
        _held.append(handle)
        folder = making.with_name(RUN_PREFIX + making.name.removeprefix(MAKING_PREFIX))
        making.rename(folder)  # only now may another run look at its lock
        atexit.register(shutil.rmtree, folder, True)
        return folder


_held: list[int] = []  # the lock's descriptor, kept open for the life of the process


def clean_up_after_killed_runs() -> None:
    """Remove the folders of runs that are gone: every run calls this when it starts, whether or not it
    writes temporary files itself (a listing and a lock tried per folder; the removal only after a kill)."""
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
        handle = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(handle)  # (which drops the lock just taken)
    return True


def _age(folder: Path) -> float:
    try:
        return time.time() - folder.stat().st_mtime
    except OSError:
        return 0.0


def remove_run_folder() -> None:
    """Remove this run's folder now (the process is about to end), if it was made."""
    if run_folder.cache_info().currsize:
        shutil.rmtree(run_folder(), ignore_errors=True)
