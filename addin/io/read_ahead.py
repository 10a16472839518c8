"""Workbooks parsed ahead of their use, in one background thread (python-calamine releases the GIL).
A file not read ahead, or whose reading ahead failed, is read (and its failure reported) as usual."""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import python_calamine

from addin.io.sheet_parts import parse_in_parts
from addin.io.workbook_reader import INTERRUPTS, defined_names, parse_whole, sniff

# How many files may be parsed and waiting at once: enough to keep the second core busy, few enough
# that a consolidation of many large files never holds them all in memory.
DEPTH = 2


@dataclass(frozen=True)
class ParsedBook:
    """A workbook opened by python-calamine, with the sheets its defined names refer to parsed; a
    sheet that could not be parsed has the exception instead (the check reports it as its own)."""

    book: Any
    sheets: dict[str, Any]
    failures: dict[str, BaseException]


def parse_named_sheets(path: Path) -> ParsedBook | None:
    """Open a workbook and parse every sheet a defined name refers to (the ones a check reads); a large
    one is only begun, in parts (addin.io.sheet_parts), and handed on part by part as it is parsed. None
    when the file cannot be opened: the check then opens it itself and says why."""
    try:
        sniff(path)  # the zip-bomb and file-kind checks come first, as on the usual path
        wanted = dict.fromkeys(ref.sheet for ref in defined_names(path).values())
        book = python_calamine.CalamineWorkbook.from_path(str(path))
    except INTERRUPTS:
        raise
    except BaseException:  # noqa: BLE001 - the usual path opens it again and reports the reason
        return None
    sheets, failures = {}, {}
    for sheet in (s for s in wanted if s in book.sheet_names):
        try:
            sheets[sheet] = parse_in_parts(path, sheet) or parse_whole(book, path, sheet)
        except INTERRUPTS:
            raise
        except BaseException as exc:  # noqa: BLE001 - pyo3's PanicException, see workbook_reader
            failures[sheet] = exc
    return ParsedBook(book, sheets, failures)


def stamp(path: Path) -> tuple[int, int] | None:
    """The file's size and modification time: a file replaced since it was read ahead is read again."""
    try:
        stat = Path(path).stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


@dataclass
class _Started:
    stamp: tuple[int, int] | None
    future: Future[ParsedBook | None]


class ReadAhead:
    """Files to be checked, in the order they will be: each parsed in the background, at most
    `depth` ahead of the one being checked."""

    def __init__(self, depth: int = DEPTH) -> None:
        self._depth = depth
        self._waiting: list[Path] = []
        self._started: OrderedDict[Path, _Started] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[Future[ParsedBook | None], Path]] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None

    def start(self, paths: Iterable[Path]) -> None:
        """Queue files in the order they will be taken, and begin parsing the first ones."""
        with self._lock:
            self._waiting.extend(Path(path).resolve() for path in paths if Path(path).is_file())
            self._fill()

    def busy(self) -> bool:
        """Files queued or being parsed that nobody has taken yet (a command that stopped early)."""
        with self._lock:
            return bool(self._waiting or self._started)

    def drop(self) -> None:
        """Forget every file queued or being parsed: the command stopped before checking them (in one
        process, a later command must not find them filling the queue)."""
        with self._lock:
            self._waiting.clear()
            for started in self._started.values():
                started.future.cancel()
            self._started.clear()

    def take(self, path: Path) -> ParsedBook | None:
        """The file's parse, waiting for it if it is under way; None when it was not read ahead or has
        changed since. Files queued before it and never taken (skipped, or failed earlier) are dropped."""
        key = Path(path).resolve()
        with self._lock:
            if key not in self._started:
                return None
            while self._started:
                earlier, started = self._started.popitem(last=False)
                if earlier == key:
                    break
                started.future.cancel()
            self._fill()
        parsed = started.future.result()
        return parsed if started.stamp == stamp(key) else None

    def _fill(self) -> None:
        while self._waiting and len(self._started) < self._depth:
            path = self._waiting.pop(0)
            if path in self._started:
                continue
            future: Future[ParsedBook | None] = Future()
            self._started[path] = _Started(stamp(path), future)
            self._queue.put((future, path))
            if self._worker is None:
                # A daemon thread: a command that stops early (a bad option, an unusable plan) exits at
                # once instead of waiting for parses nobody will use.
                self._worker = threading.Thread(target=self._work, name="dtfund-read-ahead", daemon=True)
                self._worker.start()

    def _work(self) -> None:
        while True:
            future, path = self._queue.get()
            if not future.set_running_or_notify_cancel():
                continue  # dropped before it started
            try:
                future.set_result(parse_named_sheets(path))
            except BaseException as exc:  # noqa: BLE001 - handed to the thread that takes the file
                future.set_exception(exc)


read_ahead = ReadAhead()
