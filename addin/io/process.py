"""The `dtfund` process's own speed-ups: its input workbooks parsed ahead in the background, the
cyclic garbage collector off, and an exit that leaves its objects to the operating system."""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from addin.io.read_ahead import read_ahead
from addin.io.rust_panics import filter_stderr
from addin.io.scratch import clean_up_after_killed_runs, remove_run_folder
from addin.io.sheet_parts import cutting


def start_reading_ahead(paths: Iterable[Path]) -> None:
    """Begin parsing these workbooks in the background, in the order the command will open them."""
    read_ahead.start(paths)


def stop_reading_ahead() -> None:
    """A command that stops before checking what it queued (an unusable option found late)."""
    read_ahead.drop()


def run_process(command: Callable[[], object]) -> None:
    """Run the command with the cyclic garbage collector off. When it exits with a code and nothing
    runs in the background, end the process at once, its output flushed; else exit as usual (which
    removes the background work's temporary files)."""
    gc.disable()
    sys.unraisablehook = _quiet_about_failed_closes
    clean_up_after_killed_runs()
    restore_stderr = filter_stderr()  # (Rust's panic reports left out: the check reports the cell)
    atexit.register(restore_stderr)
    try:
        command()
    except SystemExit as exited:
        if not isinstance(exited.code, int | None) or _working_in_background():
            raise
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:  # a closed pipe (dtfund check … | head): nothing more can be written anyway
            pass
        remove_run_folder()  # (os._exit runs no atexit handlers)
        restore_stderr()
        os._exit(exited.code or 0)


def _quiet_about_failed_closes(unraisable: sys.UnraisableHookArgs) -> None:
    """An OSError in a finalizer (a ZipFile closing when the disk is full) comes after the write that
    failed first, which the command has reported in Chinese: not printed again as a traceback."""
    if isinstance(unraisable.exc_value, OSError):
        return
    sys.__unraisablehook__(unraisable)


def _working_in_background() -> bool:
    """A file read ahead that nobody took, or a sheet still being cut and parsed."""
    return read_ahead.busy() or cutting()
