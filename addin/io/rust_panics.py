"""Rust's panic reports kept off the clerk's terminal. python-calamine panics on a hostile cell (a date
far out of range); pyo3 turns the panic into an exception that the reader reports as a Chinese message
naming the sheet, but Rust's panic hook has already written its own report to the process's stderr.

The process's stderr (file descriptor 2, where Rust writes) is routed through a pipe; a thread copies
it to the real stderr line by line, leaving out each panic report: from `thread '…' panicked at` to the
`note: …` line that ends it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import BinaryIO

PANIC_START = b"panicked at "
PANIC_END = b"note: "


def without_panics(lines: Iterator[bytes]) -> Iterator[bytes]:
    """The lines, without Rust's panic reports (and the blank line Rust writes before each)."""
    blank = b""
    inside = False
    for line in lines:
        if inside:
            inside = not line.startswith(PANIC_END)
            continue
        if line.startswith(b"thread '") and PANIC_START in line:
            inside, blank = True, b""
            continue
        if blank:
            yield blank
            blank = b""
        if line.strip() == b"":
            blank = line
            continue
        yield line
    if blank:
        yield blank


def filter_stderr() -> Callable[[], None]:
    """Route file descriptor 2 through the filter; returns the function that puts it back and waits
    until everything written is copied (call it before the process ends)."""
    try:
        original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:  # no stderr to route (a closed descriptor): nothing to filter
        return lambda: None
    source = os.fdopen(read_end, "rb", buffering=0)
    copier = threading.Thread(target=_copy, args=(source, original), name="dtfund-stderr", daemon=True)
    copier.start()

    def restore() -> None:
        os.dup2(original, 2)  # closes the pipe's last write end: the copier reads to its end
        copier.join(timeout=5)

    return restore


def _copy(source: BinaryIO, target: int) -> None:
    with source:
        for line in without_panics(iter(source.readline, b"")):
            try:
                os.write(target, line)
            except OSError:  # a closed terminal or pipe: nothing more can be written
                return
