"""The process's stdout and stderr made safe to print to, whatever they are.

On Windows, output redirected to a file or a pipe is encoded in the console's code page (GBK, or cp1252
on an English system): a character it cannot encode is replaced by "?", never fatal. A stream that is
closed (`>&-`), full (`>/dev/full`) or gone (`| head -1`) takes nothing more and raises nothing: the run
goes on, writes its files and ends with the exit code its work earned. Installed once, at the start of the
`dtfund` process (`addin.cli.run`)."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any, TextIO

STDOUT, STDERR = 1, 2


class ForgivingStream:
    """A text stream whose write and flush never fail: an encoding error writes "?" instead, an OS error
    (a closed, full or broken stream) sends this and every later write to the null device."""

    def __init__(self, stream: TextIO, descriptor: int) -> None:
        self._stream = stream
        self._descriptor = descriptor
        self.lost = False

    def write(self, text: str) -> int:
        if not self.lost:
            try:
                self._stream.write(text)
            except (OSError, ValueError):  # (ValueError: the stream was closed)
                self._give_up()
        return len(text)

    def flush(self) -> None:
        if not self.lost:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self._give_up()

    def write_bytes(self, data: bytes) -> None:
        """Machine output (JSON) as the bytes it is, after the text written so far."""
        self.flush()
        if self.lost:
            return
        try:
            self._stream.buffer.write(data)
            self._stream.buffer.flush()
        except (OSError, ValueError):
            self._give_up()

    def _give_up(self) -> None:
        """Point the descriptor at the null device, so that what the stream still buffers, and what C or
        Rust code writes there, goes nowhere instead of failing again when the process ends."""
        self.lost = True
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._descriptor)
            os.close(null)
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, errors, isatty, fileno, buffer …
        return getattr(self._stream, name)


def _usable(stream: TextIO | None, descriptor: int) -> TextIO:
    """The stream with unencodable characters replaced; when the descriptor was closed before the
    process started (Python then has no stream), the null device in its place, so that no file the run
    opens takes that descriptor and receives what is printed."""
    if stream is None:
        null = os.open(os.devnull, os.O_WRONLY)
        if null != descriptor:
            os.dup2(null, descriptor)
            os.close(null)
        return open(descriptor, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
    with contextlib.suppress(AttributeError, ValueError):  # (a stream that cannot be reconfigured)
        stream.reconfigure(errors="replace")  # type: ignore[union-attr]
    return stream


def make_streams_forgiving() -> None:
    """Replace sys.stdout and sys.stderr by forgiving streams (once)."""
    if not isinstance(sys.stdout, ForgivingStream):
        sys.stdout = ForgivingStream(_usable(sys.stdout, STDOUT), STDOUT)  # type: ignore[assignment]
    if not isinstance(sys.stderr, ForgivingStream):
        sys.stderr = ForgivingStream(_usable(sys.stderr, STDERR), STDERR)  # type: ignore[assignment]


def write_stdout_bytes(data: bytes) -> None:
    """Write bytes (JSON) to stdout, as they are, whatever the terminal's encoding."""
    if isinstance(sys.stdout, ForgivingStream):
        sys.stdout.write_bytes(data)
        return
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
