"""A large sheet parsed in parts, one per core at a time.

python-calamine parses a sheet in one thread, about 60 MB of XML a second; a sheet of 100,000 rows
is over 300 MB. The sheet's XML is therefore cut, between rows, into parts of about PART_BYTES, each
written (uncompressed) into a small workbook of its own beside the original's other parts, and the
parts are parsed at the same time, one thread per core: calamine releases the GIL while it parses.

The rows put back together are exactly the rows of one parse of the whole sheet (tested). Anything
that could make them differ is refused, and the sheet is then parsed whole as usual: rows without
their numbers where it would be cut; comments, CDATA or processing instructions among the rows; parts
whose rows overlap (rows stored out of order); a part that fails to parse; a temporary file that
cannot be written.
"""

from __future__ import annotations

import itertools
import os
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

from addin.workbook_reader import INTERRUPTS, sheet_members

# A part's share of the sheet's XML (about 4,500 rows of the template). Small parts keep both cores
# busy from the start to the end of the parse: measured on 100,000 rows, 16 MB parts were about 0.8 s
# faster than 48 MB ones, and lighter. A sheet of less than two parts is parsed whole: it takes about
# half a second, which the CLI's imports or the previous file's check already overlap.
PART_BYTES = 16 * 1024**2
# The other parts of the workbook are copied into every part's workbook; when they are this large
# (a huge shared-strings table), the copies would cost more than the split saves.
MAX_COPIED_BYTES = 32 * 1024**2
CHUNK_BYTES = 4 * 1024**2
_SHEET_DATA = re.compile(rb"<([A-Za-z_][\w.-]*:)?sheetData\s*(/?)>")
_ROOT = re.compile(rb"<(?![?!])([A-Za-z_][\w.:-]*)")


class NotSplittable(Exception):
    """The sheet cannot be cut safely: it is parsed whole instead."""


@dataclass(frozen=True)
class Block:
    """One part's rows as Python values, from its first used cell (`start`, 0-based row and column)
    to its last (`end`); both None when the part has no used cell."""

    start: tuple[int, int] | None
    end: tuple[int, int] | None
    rows: list[list[Any]]


@dataclass(frozen=True)
class PartedSheet:
    """A sheet parsed as consecutive parts, in row order, their rows not overlapping. `to_python`
    gives what python-calamine gives for the whole sheet (the CalamineSheet method it stands for)."""

    blocks: list[Block]

    def to_python(self, skip_empty_area: bool = False, nrows: int | None = None) -> list[list[Any]]:
        if skip_empty_area:
            raise ValueError("a parted sheet is read from A1")
        filled = [block for block in self.blocks if block.start is not None and block.end is not None]
        if not filled:
            return []
        width = max(block.end[1] for block in filled if block.end) + 1
        rows: list[list[Any]] = []
        for block in filled:
            if nrows is not None and len(rows) >= nrows:
                break
            first_row, first_column = block.start or (0, 0)
            rows.extend([""] * width for _ in range(first_row - len(rows)))
            left = [""] * first_column
            right = [""] * (width - first_column - (len(block.rows[0]) if block.rows else 0))
            rows.extend([left + row + right for row in block.rows] if left or right else block.rows)
        return rows[:nrows] if nrows is not None else rows


def parse_in_parts(path: Path, sheet: str) -> PartedSheet | None:
    """The sheet parsed in parts, or None when it is small, cannot be cut safely, or this machine has
    one core: the caller then parses it whole."""
    workers = os.cpu_count() or 1
    if workers < 2:
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
            with tempfile.TemporaryDirectory(prefix="dtfund-", ignore_cleanup_errors=True) as folder:
                slots = threading.BoundedSemaphore(workers)
                futures: list[Future[Any]] = []
                try:
                    for number, pieces in enumerate(_cut(archive, member)):
                        part_path = Path(folder) / f"part-{number}.xlsx"
                        _write_part(part_path, others, member, pieces)
                        futures.append(_in_background(_parse_part, part_path, sheet, slots))
                finally:
                    wait(futures)  # before the folder is removed
                return _checked([future.result() for future in futures])
    except INTERRUPTS:
        raise
    except BaseException:  # noqa: BLE001 - NotSplittable, OSError, or calamine's own errors: parse it whole
        return None


def _in_background(parse: Callable[..., Any], *args: Any) -> Future[Any]:
    """Run in a daemon thread, like the reading ahead that calls it: a command that stops early does
    not wait for parses nobody will use."""
    future: Future[Any] = Future()

    def run() -> None:
        future.set_running_or_notify_cancel()
        try:
            future.set_result(parse(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that waits for it
            future.set_exception(exc)

    threading.Thread(target=run, name="dtfund-part", daemon=True).start()
    return future


def _parse_part(path: Path, sheet: str, slots: threading.BoundedSemaphore) -> Block:
    """One part's sheet, parsed when a core is free, then turned into Python values while the next
    parts parse (the thread that waits for them has nothing else to do). Its file is removed once
    parsed."""
    with slots:
        book = python_calamine.CalamineWorkbook.from_path(str(path))
        try:
            parsed = book.get_sheet_by_name(sheet)
        finally:
            book.close()
            path.unlink(missing_ok=True)
    if parsed.start is None:
        return Block(None, None, [])
    return Block(tuple(parsed.start), tuple(parsed.end), parsed.to_python(skip_empty_area=True))


def _checked(blocks: list[Block]) -> PartedSheet:
    """The parts, refused when their rows overlap: rows stored out of order would be put back in
    another order than one parse of the whole sheet gives."""
    filled = [block for block in blocks if block.start is not None and block.end is not None]
    for earlier, later in itertools.pairwise(filled):
        if earlier.end[0] >= later.start[0]:
            raise NotSplittable("rows out of order")
    return PartedSheet(blocks)


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
    with archive.open(member) as stream:
        chunks = iter(lambda: stream.read(CHUNK_BYTES), b"")
        layout, rest = _read_head(chunks)
        pieces, size, tail = [layout.head], 0, b""
        previous_end = b""
        for chunk in _with_first(rest, chunks):
            if _has_markup_declaration(chunk) or _has_markup_declaration(previous_end + chunk[:1]):
                raise NotSplittable("a comment, CDATA or processing instruction among the rows")
            previous_end = chunk[-1:]
            end = chunk.find(layout.close)
            if end >= 0:
                pieces.append(chunk[:end])
                tail = chunk[end:] + b"".join(chunks)
                break
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
