"""Where a sheet's cells lie, found in its XML before python-calamine parses it. python-calamine
allocates the rectangle from A1 to the farthest row and column holding a value; a value that would make
it larger than the template's grid (addin.io.read_limits) is refused, naming its cell.

A cell written as Excel, WPS, LibreOffice, openpyxl and XlsxWriter write them (`<c r="B7"`, the
reference first) is looked at only when it lies outside the near area: the template's columns, and the
rows the sheet's <dimension> announces rounded up to a power of ten (one regular-expression search a
piece finds none in a usual sheet). Each one outside is placed exactly, and the rectangle it makes with
the near area is weighed against the grid: a value just right of the table (an inserted column) is let
through for the structure check to explain. Any other cell (no reference, another attribute first, a
namespace prefix) sends the whole sheet to an exact walk of its rows and cells, placed as python-calamine
places them, where any value outside the grid is refused."""

from __future__ import annotations

import functools
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from addin.io.member_stream import open_member
from addin.io.read_limits import Grid, template_grid

CHUNK_BYTES = 4 * 1024**2  # inflated and searched this much at a time
OVERLAP = 64  # bytes of a piece searched again with the next: a cell's reference is shorter
SLICE_BYTES = 256 * 1024  # searched at once (see FarCells._search)
MAX_TAG_BYTES = 64 * 1024  # a cell's start tag carried over to the next piece, at most
EXCEL_COLUMNS = 16_384  # A to XFD: the columns of an Excel sheet

# A cell with a namespace prefix (python-calamine reads it as a cell whatever the prefix).
_COLON_C = re.compile(rb":c[\s/>]")  # found first: in a usual sheet, nowhere
_PREFIXED_CELL = re.compile(rb"<([A-Za-z_][\w.-]*:)c[\s/>]")
_PLAIN_CELL = re.compile(rb"<c[\s/>]")
# A row's or cell's start tag, to its end: a `>` or `/>` inside a quoted attribute value is not its end.
_TAG = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])((?:[^>"']|"[^"]*"|'[^']*')*)>""")
_REFERENCE = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]*)\$?(\d*)["']""")
# What python-calamine reads as a cell's value, and counts in the sheet's used area: an inline string,
# even empty; a <v> holding anything, even spaces or markup; for text (t="str"), any <v>, even empty.
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?v(?:\s[^>]*)?>(?!</|$)|<(?:[A-Za-z_][\w.-]*:)?is[\s>/]")
_ANY_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:v|is)[\s>/]")
_TEXT_TYPE = re.compile(rb"""\st\s*=\s*["']str["']""")
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c\s*>")


class Unusual(Exception):
    """The sheet has cells the quick search cannot place: walk it exactly."""


@functools.cache
def _not_near(grid: Grid, digits: int, prefix: bytes = b"") -> re.Pattern[bytes]:
    """A cell's start tag that is not `<c r="` with a column up to the grid's last and a row number of
    at most `digits` digits: a cell outside the near area, or one without a leading reference."""
    letters = _letters_up_to(grid.last_column_letters.encode())
    return re.compile(rb"<" + re.escape(prefix) + rb'c(?! r="' + letters + rb"\d{1,%d}\")[\s/>]" % digits)


_DIMENSION = re.compile(
    rb"""<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref\s*=\s*["'][^"':]*:?\$?[A-Za-z]*\$?(\d+)["']"""
)


def _letters_up_to(letters: bytes) -> bytes:
    """A pattern for the column letters up to `letters` (shorter ones, or as long and not later)."""
    upto = [rb"[A-Z]{1,%d}" % (len(letters) - 1)] if len(letters) > 1 else []
    for at, letter in enumerate(letters):
        if letter != ord("A"):
            rest = len(letters) - at - 1
            upto.append(letters[:at] + b"[A-%c]" % (letter - 1) + (rb"[A-Z]{%d}" % rest if rest else b""))
    upto.append(letters)
    return b"(?:" + b"|".join(upto) + b")"


def column_number(letters: str) -> int:
    """A1-style column letters (either case) to a 1-based number: A -> 1, AA -> 27."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


class FarCells:
    """Pieces of a sheet's XML, in order, searched for a value that would make python-calamine's
    rectangle larger than the grid."""

    def __init__(self, grid: Grid | None = None, prefix: bytes = b"") -> None:
        """`prefix`: the namespace prefix of the sheet's tags (b"x:"), when it has one."""
        self.grid = grid or template_grid()
        self._prefix = prefix
        self._digits = len(str(self.grid.last_row)) - 1  # until the sheet's <dimension> is read
        self._held = b""
        self._first = True
        self._rows = self._columns = 0  # the farthest row and column of the values outside the near area

    def feed(self, piece: bytes) -> str | None:
        """The reference of a cell in this piece (or straddling the last one) whose value makes the
        rectangle too large, else None. Raises Unusual for a cell the quick search cannot place."""
        window = self._held + piece
        self._held = window[-OVERLAP:]
        if self._first:
            self._first = False
            dimension = _DIMENSION.search(window)
            if dimension:
                self._digits = min(self._digits, len(dimension.group(1).lstrip(b"0") or b"0"))
        for colon in _COLON_C.finditer(window):
            cell = _PREFIXED_CELL.search(window, max(0, colon.start() - OVERLAP), colon.end())
            if cell and cell.group(1) != self._prefix:
                raise Unusual("a cell with another namespace prefix")
        if self._prefix and _PLAIN_CELL.search(window):
            raise Unusual("a cell without the sheet's namespace prefix")
        return self._search(window, _not_near(self.grid, self._digits, self._prefix))

    def _search(self, window: bytes, not_near: re.Pattern[bytes]) -> str | None:
        """Search a slice at a time: the thread converting rows gets the GIL between two (a search of a
        whole piece would hold it for milliseconds)."""
        position = 0
        while position < len(window):
            stop = min(len(window), position + SLICE_BYTES)
            match = not_near.search(window, position, stop + OVERLAP)
            if match is None or match.start() >= stop:
                position = stop
                continue
            position = match.end()
            try:
                place = _valued_cell(window, match.start())
            except Incomplete:  # the tag goes on in the next piece: looked at again with it
                self._held = window[match.start() :]
                if len(self._held) > MAX_TAG_BYTES:
                    raise Unusual("a cell's start tag longer than any a writer makes") from None
                return None
            if place is None:
                continue
            letters, row = place
            self._rows, self._columns = max(self._rows, row), max(self._columns, column_number(letters))
            rows = max(10**self._digits - 1, self._rows)
            if rows * max(self.grid.last_column, self._columns) > self.grid.cells:
                return f"{letters}{row}"
        return None


class Incomplete(Exception):
    """A cell's start tag cut at the end of the piece."""


def _valued_cell(window: bytes, start: int) -> tuple[str, int] | None:
    """The column letters and row of the cell whose start tag is at `start`, when it holds a value.
    Raises Unusual when it has no reference."""
    tag = _TAG.match(window, start)
    if tag is None:
        if window.find(b">", start) < 0:
            raise Incomplete(start)
        return None
    reference = _REFERENCE.search(tag.group(2))
    if reference is None or not reference.group(1) or not reference.group(2):
        raise Unusual("a cell without its full reference")
    if tag.group(0).endswith(b"/>"):
        return None  # an empty cell: python-calamine makes no rectangle for it
    end = _CELL_END.search(window, tag.end())
    if end is not None and not _holds_value(tag, window, end.start()):
        return None
    return reference.group(1).decode().upper(), int(reference.group(2))


def _holds_value(tag: re.Match[bytes], window: bytes, end: int) -> bool:
    """The cell whose start tag is `tag` and whose content ends at `end` holds what python-calamine
    reads as a value (tested against it: tests/test_hostile.py)."""
    found = _TEXT_TYPE.search(tag.group(2)) and _ANY_VALUE.search(window, tag.end(), end)
    return bool(found or _VALUE.search(window, tag.end(), end))


def walk_far_cell(pieces: Iterable[bytes], grid: Grid | None = None) -> str | None:
    """The first cell with a value outside the grid, every row and cell placed as python-calamine
    places them (a cell without a reference is the one right of the previous; a row without one, the
    one below)."""
    grid = grid or template_grid()
    row, column, held = 0, 0, b""
    for piece in pieces:
        window = held + piece
        cut = window.rfind(b"<")
        window, held = (window[:cut], window[cut:]) if cut >= 0 else (window, b"")
        for tag in _TAG.finditer(window):
            reference = _REFERENCE.search(tag.group(2))
            letters = reference.group(1).decode().upper() if reference else ""
            digits = reference.group(2) if reference else b""
            if tag.group(1) == b"row":
                row, column = (int(digits) if digits else row + 1), 0
                continue
            column = column_number(letters) if letters else column + 1
            row = int(digits) if digits else row
            if (row > grid.last_row or column > grid.last_column) and not tag.group(0).endswith(b"/>"):
                end = _CELL_END.search(window, tag.end())
                if end is None or _holds_value(tag, window, end.start()):
                    from addin.template_spec import MAX_COLUMN, column_letter

                    return f"{column_letter(min(column, MAX_COLUMN)) if column else ''}{row}"
    return None


def sheet_pieces(path: Path, member: str) -> Iterator[bytes]:
    with zipfile.ZipFile(path) as archive, open_member(archive, member) as stream:
        yield from iter(lambda: stream.read(CHUNK_BYTES), b"")


def far_cell(path: Path, member: str, grid: Grid | None = None) -> str | None:
    """The first cell of a sheet (its zip member) holding a value outside the grid, or None."""
    scan = FarCells(grid)
    try:
        for piece in sheet_pieces(path, member):
            found = scan.feed(piece)
            if found:
                return found
        return None
    except Unusual:
        return walk_far_cell(sheet_pieces(path, member), grid)


def far_cell_message(file: str, sheet: str, reference: str, grid: Grid | None = None) -> str:
    """The clerk's message for a value outside the template's grid."""
    grid = grid or template_grid()
    return (
        f"{file} 的 {sheet}!{reference} 有内容，超出模板范围（工作表用到的区域不能大于模板最大的表格："
        f"{grid.last_column_letters} 列 × {grid.last_row} 行）。"
    )


FAR_CELL_REMEDY = "请删除该单元格后重新保存，再校验。"

_ROW_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_ROW_NUMBER = re.compile(rb"""<(?:[A-Za-z_][\w.-]*:)?row\s[^>]*?\br\s*=\s*["'](\d+)["']""")


# A formula cell of type str with a value tag, even an empty one (a formula filled down that gives ""),
# which python-calamine reads as a value (as _holds_value and far_cell count it). Written as Excel,
# openpyxl and LibreOffice write it (t="str", the formula then the value): a literal start to search.
_STRING_VALUE = re.compile(
    rb't="str"[^>]*>(?:<(?:[A-Za-z_][\w.-]*:)?f\b[^>]*/>|<(?:[A-Za-z_][\w.-]*:)?f\b[^>]*>[^<]*'
    rb"</(?:[A-Za-z_][\w.-]*:)?f>)?<(?:[A-Za-z_][\w.-]*:)?v[\s>/]"
)


def _value_positions(window: bytes) -> np.ndarray:
    """Where the cells holding a value have it, ascending: a value tag with content or inline text, and
    a formula cell of type str with any value tag (_STRING_VALUE)."""
    values = np.fromiter((m.start() for m in _VALUE.finditer(window)), dtype=np.int64)
    if b't="str"' not in window:  # (at the speed of memchr: a sheet of numbers has no string formulas)
        return values
    strings = np.fromiter((m.start() for m in _STRING_VALUE.finditer(window)), dtype=np.int64)
    return np.union1d(values, strings)


def valued_rows(pieces: Iterable[bytes]) -> np.ndarray | None:
    """The numbers of the rows holding a value, ascending as the sheet lists them; None when a row has
    no number (then where the rows lie is python-calamine's guess). One regular-expression pass a piece:
    a million rows take about a second."""
    found: list[np.ndarray] = []
    held = b""
    for piece in itertools.chain(pieces, [b""]):
        window = held + piece
        starts = [match.start() for match in _ROW_START.finditer(window)]
        if piece and starts:  # the last row may go on in the next piece
            window, held = window[: starts[-1]], window[starts[-1] :]
            starts.pop()
        elif piece:
            window, held = b"", window
        numbers = _ROW_NUMBER.findall(window)
        if len(numbers) != len(starts):
            return None
        values = _value_positions(window)
        bounds = np.append(np.asarray(starts, dtype=np.int64), len(window))
        valued = np.searchsorted(values, bounds[1:]) > np.searchsorted(values, bounds[:-1])
        found.append(np.asarray(numbers, dtype=np.int64)[valued])
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def rows_of(pieces: Iterable[bytes], wanted: set[int]) -> Iterator[bytes]:
    """The XML of the rows numbered in `wanted` (each from its <row> tag to the next row's), found by
    their row tags only: a row's cells are not looked at unless it is wanted."""
    held = b""
    for piece in itertools.chain(pieces, [b""]):
        window = held + piece
        starts = list(_ROW_NUMBER.finditer(window))
        held = b""
        if piece and starts:  # the last row may go on in the next piece
            held = window[starts[-1].start() :]
        elif piece:
            held = window[-MAX_TAG_BYTES:]
            continue
        ends = [m.start() for m in starts[1:]] + [len(window)]
        for match, end in zip(starts[:-1] if piece else starts, ends, strict=False):
            if int(match.group(1)) in wanted:
                yield window[match.start() : end]


def filled_run(rows: np.ndarray, far_row: int, below: int = 0) -> tuple[int, int] | None:
    """The run of consecutive rows holding values that goes through `far_row` (a column filled down to the
    end of the sheet), from below row `below` (the end of the template's table) to the last row holding a
    value: (first, last), or None when `far_row` is alone."""
    at = int(np.searchsorted(rows, far_row))
    if at >= len(rows) or rows[at] != far_row:
        return None
    gaps = np.flatnonzero(np.diff(rows[: at + 1]) != 1)
    first = max(int(rows[gaps[-1] + 1]) if len(gaps) else int(rows[0]), below + 1)
    last = int(rows.max())
    return (first, last) if last > first else None


def filled_rows_message(file: str, sheet: str, first: int, last: int, grid: Grid | None = None) -> str:
    """The clerk's message for rows filled down beyond the template's grid."""
    grid = grid or template_grid()
    return (
        f"{file} 的工作表“{sheet}”第 {first} 行至第 {last} 行有内容，请删除这些行：工作表用到的区域"
        f"不能大于模板最大的表格（{grid.last_column_letters} 列 × {grid.last_row} 行）。"
    )


def filled_rows_remedy(first: int, last: int) -> str:
    return f"选中第 {first} 行至第 {last} 行（单击行号 {first}，按 Ctrl+Shift+↓），右键“删除”，保存后再校验。"
