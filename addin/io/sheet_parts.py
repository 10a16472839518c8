"""A large sheet cut between rows into small workbooks of its own, parsed on the other cores, and
handed on part by part as they are parsed.

The rows put back together are exactly those of one parse of the whole sheet. Whatever could make
them differ (rows without their numbers, comments, CDATA or processing instructions among the rows,
rows stored out of order, a part that fails) raises NotSplittable, perhaps after some parts were
handed on; the sheet is then parsed whole.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import queue
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import python_calamine

from addin.io.cell_errors import ErrorCells, find_error_cells, put_errors
from addin.io.member_stream import open_member
from addin.io.scratch import run_folder
from addin.io.sheet_extent import FarCells, Unusual
from addin.io.workbook_reader import INTERRUPTS, NotSplittable, sheet_members

# A part's share of the sheet's XML once its formulas are out (about 10,000 rows of the template); a
# sheet of less than twice as much XML with them is parsed whole. (8 MB parts were slower: 4.98 s
# against 4.83 s for 100,000 rows, and consolidate's 5,000-row files, then cut, 6.93 s against 6.53 s.)
PART_BYTES = 16 * 1024**2
# The other parts of the workbook are copied into every part's workbook; when they are this large
# (a huge shared-strings table), the copies would cost more than the split saves.
MAX_COPIED_BYTES = 32 * 1024**2
CHUNK_BYTES = 4 * 1024**2
_SHEET_DATA = re.compile(rb"<([A-Za-z_][\w.-]*:)?sheetData\s*(/?)>")
# A cell's formula right before its value (`<c …"><f>…</f><v`): python-calamine reads the value the
# formula left, never the formula, so the parts are cut without them. In the template's sheet they are
# 61% of the XML, which python-calamine, the searches below and the parts' writes then never see. Only a
# formula without attributes (shared and array formulas stay) whose text holds no markup, first in its
# cell right after a start tag ending in `">`, is taken out: not one inside a value's text, an
# attribute, or after another formula (tests/test_sheet_parts.py).
_FORMULA_BEFORE_VALUE = re.compile(rb"\"><f>[^<]*</f>(?=<v[\s/>])")
_KEPT_BEFORE_FORMULA = b'">'  # the end of the cell's start tag, which the match begins with
SLICE_BYTES = 256 * 1024  # formulas taken out of this much XML at a time (_without_formulas)
_ROOT = re.compile(rb"<(?![?!])([A-Za-z_][\w.:-]*)")

CUTTING_THREAD = "dtfund-cut"

__all__ = ["Block", "NotSplittable", "PartedSheet", "cutting", "parse_in_parts"]


@dataclass(frozen=True)
class Block:
    """One part's rows as Python values, from its first used cell (`start`, 0-based row and column)
    to its last (`end`); both None when the part has no used cell."""

    start: tuple[int, int] | None
    end: tuple[int, int] | None
    rows: list[list[Any]] | None  # None: let go of once handed on (PartedSheet.let_go_below)


_Arrival = Future | BaseException | None  # a part being parsed; why the cutting failed; the end


class PartedSheet:
    """A sheet being parsed in parts (begun by `parse_in_parts`). `blocks` hands on each part's rows
    as soon as they are parsed; `to_python` gives what python-calamine gives for the whole sheet (the
    CalamineSheet method it stands for). Both raise NotSplittable when the sheet cannot be read in
    parts after all. Read from one thread at a time."""

    def __init__(self) -> None:
        self._arrivals: queue.SimpleQueue[_Arrival] = queue.SimpleQueue()
        self._abandoned = threading.Event()  # tells the cutting to stop
        self._blocks: list[Block] = []
        self._last_row: int | None = None  # the last row of the parts taken so far (0-based)
        self._ended = False  # the cutting's last word (the end, or its failure) has been taken
        self._failure: NotSplittable | None = None
        self._kept_rows: int | None = None  # parts starting below this row (0-based) are not kept

    def let_go_below(self, row: int) -> None:
        """Keep only the parts that start above `row` (1-based) once they are handed on: a table read
        once, whose cells are most of a large check's memory. A later read of the rows let go of
        raises NotSplittable (the sheet is then parsed whole)."""
        self._kept_rows = row - 1

    def blocks(self) -> Iterator[Block]:
        """The parts' rows in row order, each once it is parsed. NotSplittable may come after some
        blocks: the rows handed on so far are then not to be used."""
        if self._failure is not None:
            raise self._failure
        yield from list(self._blocks)
        while not self._ended:
            try:
                block = self._next_block()
            except NotSplittable as failure:
                self._abandon(failure)
                raise
            if block is None:
                return
            let_go = self._kept_rows is not None and block.start is not None and block.start[0] >= self._kept_rows
            self._blocks.append(dataclasses.replace(block, rows=None) if let_go else block)
            yield block

    @property
    def end(self) -> tuple[int, int] | None:
        """The last row holding a cell, and the last column (both 0-based), over every part (each
        waited for), as python-calamine's sheet gives its `end`; None when no part has a cell."""
        filled = [block for block in self.blocks() if block.end is not None]
        if not filled:
            return None
        return filled[-1].end[0], max(block.end[1] for block in filled)

    def to_python(self, skip_empty_area: bool = False, nrows: int | None = None) -> list[list[Any]]:
        if skip_empty_area:
            raise ValueError("a parted sheet is read from A1")
        filled = [block for block in self.blocks() if block.start is not None and block.end is not None]
        if not filled:
            return []
        width = max(block.end[1] for block in filled) + 1
        rows: list[list[Any]] = []
        for block in filled:
            if nrows is not None and len(rows) >= nrows:
                break
            if block.rows is None:
                raise NotSplittable("rows let go of after they were read")
            first_row, first_column = block.start
            rows.extend([""] * width for _ in range(first_row - len(rows)))
            left = [""] * first_column
            right = [""] * (width - first_column - (len(block.rows[0]) if block.rows else 0))
            rows.extend([left + row + right for row in block.rows] if left or right else block.rows)
        return rows[:nrows] if nrows is not None else rows

    def begin(self, path: Path, sheet: str, member: str, others: list[tuple[str, bytes]]) -> None:
        """Start cutting and parsing, in a daemon thread like the reading ahead that calls it: a
        command that stops early does not wait for parses nobody will use."""
        threading.Thread(
            target=self._cut_and_parse, args=(path, sheet, member, others), name=CUTTING_THREAD, daemon=True
        ).start()

    def _cut_and_parse(self, path: Path, sheet: str, member: str, others: list[tuple[str, bytes]]) -> None:
        """Cut the sheet into parts and start each one's parse, handing each on as it starts; then the
        end, or why the cutting failed, once the temporary files are removed."""
        futures: list[Future[Block]] = []
        last_word: BaseException | None = None
        try:
            parent = run_folder()  # (removed by the next run if this one is killed)
            with tempfile.TemporaryDirectory(
                prefix="parts-", dir=parent, ignore_cleanup_errors=True
            ) as folder:
                try:
                    with zipfile.ZipFile(path) as archive:
                        for number, pieces in enumerate(_cut(archive, member)):
                            if self._abandoned.is_set():
                                break
                            part_path = Path(folder) / f"part-{number}.xlsx"
                            errors = find_error_cells(pieces)
                            _write_part(part_path, others, member, pieces)
                            futures.append(
                                _in_background(_parse_part, part_path, sheet, errors, self._abandoned)
                            )
                            self._arrivals.put(futures[-1])
                finally:
                    wait(futures)  # before the folder is removed
        except BaseException as exc:  # noqa: BLE001 - NotSplittable, OSError: handed to the reader
            last_word = exc
        self._arrivals.put(last_word)

    def _next_block(self) -> Block | None:
        """The next part's rows, refused when they overlap the previous part's (rows stored out of
        order would be put back in another order than one parse of the whole sheet gives); None at
        the end."""
        arrival = self._arrivals.get()
        if arrival is None or isinstance(arrival, BaseException):
            self._ended = True
            if arrival is None:
                return None
            raise NotSplittable(str(arrival)) from arrival
        try:
            block = arrival.result()
        except INTERRUPTS:
            raise
        except BaseException as exc:  # noqa: BLE001 - calamine's own errors: the sheet is parsed whole
            raise NotSplittable(f"a part failed to parse: {exc}") from exc
        if block.start is not None and block.end is not None:
            if self._last_row is not None and self._last_row >= block.start[0]:
                raise NotSplittable("rows out of order")
            self._last_row = block.end[0]
        return block

    def _abandon(self, failure: NotSplittable) -> None:
        """Stop the cutting, and wait for its last word: its temporary files are removed by then."""
        self._failure = failure
        self._abandoned.set()
        while not self._ended:
            arrival = self._arrivals.get()
            self._ended = arrival is None or isinstance(arrival, BaseException)


def cutting() -> bool:
    """A sheet is still being cut and parsed: its temporary files exist until its thread ends."""
    return any(thread.name == CUTTING_THREAD and thread.is_alive() for thread in threading.enumerate())


def parse_in_parts(path: Path, sheet: str) -> PartedSheet | None:
    """The sheet being parsed in parts, or None when it is small, its workbook's other parts are
    large, or this machine has one core: the caller then parses it whole."""
    if (os.cpu_count() or 1) < 2:
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            member = sheet_members(archive).get(sheet)
            if member is None or archive.getinfo(member).file_size < 2 * PART_BYTES:
                return None
            copied = [info for info in archive.infolist() if info.filename != member]
            if sum(info.file_size for info in copied) > MAX_COPIED_BYTES:
                return None
            others = [(info.filename, archive.read(info)) for info in copied]
    except INTERRUPTS:
        raise
    except BaseException:  # noqa: BLE001 - a damaged file: the whole parse says why
        return None
    parted = PartedSheet()
    parted.begin(path, sheet, member, others)
    return parted


@functools.cache
def _parse_slots() -> threading.BoundedSemaphore:
    """How many parts are parsed at a time, over every sheet being parsed in parts: one per core but
    one, which is left to the reader converting each part's rows as they come."""
    return threading.BoundedSemaphore(max(1, (os.cpu_count() or 1) - 1))


def _in_background(parse: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run in a daemon thread, like the cutting that calls it."""
    future: Future[Any] = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(parse(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that waits for it
            future.set_exception(exc)

    threading.Thread(target=run, name="dtfund-part", daemon=True).start()
    return future


def _parse_part(path: Path, sheet: str, errors: ErrorCells, abandoned: threading.Event) -> Block:
    """One part's sheet, parsed when a core is free, then turned into Python values (with the error
    values stored in its cells) while the next parts parse; not parsed once the sheet's reading in
    parts is abandoned. Its file is removed."""
    with _parse_slots():
        if abandoned.is_set():
            path.unlink(missing_ok=True)
            raise NotSplittable("abandoned")
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            parsed = book.get_sheet_by_name(sheet)
        finally:
            book.close()
            path.unlink(missing_ok=True)
    if parsed.start is None:
        return Block(None, None, [])
    rows = parsed.to_python(skip_empty_area=True)
    put_errors(rows, errors, *parsed.start)
    return Block(tuple(parsed.start), tuple(parsed.end), rows)


def _write_part(path: Path, others: list[tuple[str, bytes]], member: str, pieces: list[bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as part:
        for name, content in others:
            part.writestr(name, content)
        with part.open(member, "w", force_zip64=True) as sheet_xml:
            for piece in pieces:
                sheet_xml.write(piece)


@dataclass
class _Layout:
    head: bytes  # the worksheet up to and including <sheetData>
    row_start: re.Pattern[bytes]  # the start tag of a row, to its end
    close: bytes  # </sheetData>
    end: bytes  # </worksheet>


def _cut(archive: zipfile.ZipFile, member: str) -> Iterator[list[bytes]]:
    """The sheet's XML as whole worksheets of about PART_BYTES each: the head, a run of rows, and
    </sheetData> with the rest of the worksheet (which only the last part keeps)."""
    with open_member(archive, member) as stream:
        chunks = iter(lambda: stream.read(CHUNK_BYTES), b"")
        layout, rest = _read_head(chunks)
        pieces, size, tail = [layout.head], 0, b""
        previous_end = held = b""
        keep = len(layout.close) - 1  # bytes held back for the next chunk: a tag may straddle two
        far = FarCells(prefix=layout.close[2 : -len(b"sheetData>")])
        for read in map(_without_formulas, _with_first(rest, chunks)):
            if _far_or_unusual(far, read):
                raise NotSplittable(
                    "a cell outside the template's grid, or one the quick search cannot place"
                )
            chunk = held + read
            if _has_markup_declaration(chunk) or _has_markup_declaration(previous_end + chunk[:1]):
                raise NotSplittable("a comment, CDATA or processing instruction among the rows")
            end = chunk.find(layout.close)
            if end >= 0:
                pieces.append(chunk[:end])
                tail = chunk[end:] + b"".join(chunks)
                break
            chunk, held = chunk[:-keep], chunk[-keep:]
            previous_end = chunk[-1:]
            cut = _cut_point(chunk, layout) if size + len(chunk) >= PART_BYTES else -1
            if cut < 0:
                pieces.append(chunk)
                size += len(chunk)
                continue
            yield [*pieces, chunk[:cut], layout.close, layout.end]
            pieces, size = [layout.head, chunk[cut:]], len(chunk) - cut
        if not tail:
            raise NotSplittable("no end of the rows")
        yield [*pieces, tail]


def _without_formulas(xml: bytes) -> bytes:
    """The XML without the formulas python-calamine passes over, taken out a slice at a time: the thread
    converting rows gets the interpreter lock between two (a formula a slice's end cuts stays). Nothing
    else changes: what follows a formula taken out is a value's `<v`, so no tag, row, comment or end
    of the rows can be made or unmade by joining what was around it."""
    return b"".join(
        _FORMULA_BEFORE_VALUE.sub(_KEPT_BEFORE_FORMULA, xml[at : at + SLICE_BYTES])
        for at in range(0, len(xml), SLICE_BYTES)
    )


def _far_or_unusual(far: FarCells, xml: bytes) -> bool:
    """A value outside the template's grid, which would make a part's grid huge (the sheet parsed whole
    is then refused, naming it), or a cell only the exact walk can place."""
    try:
        return far.feed(xml) is not None
    except Unusual:
        return True


def _has_markup_declaration(xml: bytes) -> bool:
    """Comments, CDATA and processing instructions: text in them may look like a row's tag. (A
    single byte is searched for first: `<` is everywhere in XML, `!` and `?` almost nowhere.)"""
    return (b"!" in xml and b"<!" in xml) or (b"?" in xml and b"<?" in xml)


def _with_first(first: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from chunks


def _read_head(chunks: Iterator[bytes]) -> tuple[_Layout, bytes]:
    """Read up to <sheetData>: the head every part repeats, and the tags of this file's namespace
    prefix (x:row when the writer used one)."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        match = _SHEET_DATA.search(buffer)
        if match:
            if match.group(2):
                raise NotSplittable("no rows")
            prefix, root = match.group(1) or b"", _ROOT.search(buffer)
            if root is None or root.start() > match.start():
                raise NotSplittable("no worksheet element")
            layout = _Layout(
                head=buffer[: match.end()],
                row_start=re.compile(rb"<" + re.escape(prefix) + rb"row(?=[\s>/])[^>]*>"),
                close=b"</" + prefix + b"sheetData>",
                end=b"</" + root.group(1) + b">",
            )
            return layout, buffer[match.end() :]
        if len(buffer) > CHUNK_BYTES * 4:
            break
    raise NotSplittable("no rows found")


_ROW_NUMBER = re.compile(rb"\sr\s*=\s*[\"']\d+[\"']")


def _cut_point(chunk: bytes, layout: _Layout) -> int:
    """Where the last row of the chunk whose whole start tag is in it begins, if that tag carries the
    row's number (the part it starts must know which row it is); -1 when there is none."""
    starts = list(layout.row_start.finditer(chunk, max(0, len(chunk) - CHUNK_BYTES // 4)))
    if not starts:
        return -1
    last = starts[-1]
    if not _ROW_NUMBER.search(last.group(0)):
        raise NotSplittable("rows without their numbers")
    return last.start()
