"""Where a sheet's cells lie, found in its XML before python-calamine parses it: a value outside the
template's grid (addin.io.read_limits) is refused, naming its cell, instead of letting python-calamine
allocate the grid up to it.

A cell written as Excel, WPS, LibreOffice, openpyxl and XlsxWriter write them (`<c r="B7"`, the
reference first) is looked at only when its reference is far: one regular-expression search a piece.
Any other cell (no reference, another attribute first, a namespace prefix) sends the whole sheet to an
exact walk of its rows and cells, placed as python-calamine places them."""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from addin.io.read_limits import Grid, template_grid

CHUNK_BYTES = 4 * 1024**2  # inflated and searched this much at a time
OVERLAP = 64  # bytes of a piece searched again with the next: a cell's reference is shorter

# A cell with a namespace prefix (python-calamine reads it as a cell whatever the prefix).
_COLON_C = re.compile(rb":c[\s/>]")  # found first: in a usual sheet, nowhere
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s/>]")
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_REFERENCE = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]*)\$?(\d*)["']""")
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:v|is)\s*>\s*[^<\s]|<(?:[A-Za-z_][\w.-]*:)?is[\s>]")
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c\s*>")


class Unusual(Exception):
    """The sheet has cells the quick search cannot place: walk it exactly."""


@functools.cache
def _not_near(grid: Grid) -> re.Pattern[bytes]:
    """A cell's start tag that is not `<c r="` with a column up to the grid's last and a row number
    shorter than its last row's (a row as long is compared exactly afterwards): a far cell, or one
    without a leading reference. One search of a piece finds none in a usual sheet."""
    digits = len(str(grid.last_row)) - 1
    letters = _letters_up_to(grid.last_column_letters.encode())
    return re.compile(rb'<c(?! r="' + letters + rb"\d{1,%d}\")[\s/>]" % digits)


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
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


class FarCells:
    """Pieces of a sheet's XML, in order, searched for a value outside the grid."""

    def __init__(self, grid: Grid | None = None) -> None:
        self.grid = grid or template_grid()
        self._not_near = _not_near(self.grid)
        self._held = b""

    def feed(self, piece: bytes) -> str | None:
        """The reference of a cell with a value outside the grid in this piece (or straddling the last
        one), else None. Raises Unusual for a cell the quick search cannot place."""
        window = self._held + piece
        self._held = window[-OVERLAP:]
        for colon in _COLON_C.finditer(window):
            if _PREFIXED_CELL.search(window, max(0, colon.start() - OVERLAP), colon.end()):
                raise Unusual("a cell with a namespace prefix")
        # (a start tag cut at the piece's end is looked at again with the next piece)
        whole = len(window) - OVERLAP // 2
        for match in self._not_near.finditer(window, 0, len(window)):
            if match.start() >= whole:
                break
            reference = _far_cell(window, match.start(), self.grid)
            if reference is not None:
                return reference
        return None


def _far_cell(window: bytes, start: int, grid: Grid) -> str | None:
    """The reference of the cell whose start tag is at `start`, when it lies outside the grid and holds
    a value. Raises Unusual when it has no reference."""
    tag = _TAG.match(window, start)
    if tag is None:
        return None
    reference = _REFERENCE.search(tag.group(2))
    if reference is None or not reference.group(1) or not reference.group(2):
        raise Unusual("a cell without its full reference")
    letters, row = reference.group(1).decode().upper(), int(reference.group(2))
    if row <= grid.last_row and column_number(letters) <= grid.last_column:
        return None
    if tag.group(0).endswith(b"/>"):
        return None  # an empty cell: python-calamine makes no grid for it
    end = _CELL_END.search(window, tag.end())
    content = window[tag.end() : end.start() if end else len(window)]
    return f"{letters}{row}" if end is None or _VALUE.search(content) else None


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
                if end is None or _VALUE.search(window, tag.end(), end.start()):
                    from addin.template_spec import column_letter

                    return f"{column_letter(min(column, 18278)) if column else ''}{row}"
    return None


def sheet_pieces(path: Path, member: str) -> Iterator[bytes]:
    with zipfile.ZipFile(path) as archive, archive.open(member) as stream:
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
        f"{file} 的 {sheet}!{reference} 有内容，超出模板范围（模板的表格最远到 {grid.last_column_letters} 列、"
        f"第 {grid.last_row} 行）。请删除该单元格后重新保存，再校验。"
    )
