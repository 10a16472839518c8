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

# A cell whose start tag is not the usual `<c r="…"`: it is placed only by the exact walk.
_UNUSUAL_CELL = re.compile(rb'<c(?! r="[A-Z])[\s/>]')
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s/>]")
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_REFERENCE = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]*)\$?(\d*)["']""")
_VALUE = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:v|is)\s*>\s*[^<\s]|<(?:[A-Za-z_][\w.-]*:)?is[\s>]")
_CELL_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?c\s*>")


class Unusual(Exception):
    """The sheet has cells the quick search cannot place: walk it exactly."""


@functools.cache
def _far_reference(grid: Grid) -> re.Pattern[bytes]:
    """`<c r="` (or `<row r="`) followed by a column past the grid's last, or a row number as long as
    its last row's or longer (compared exactly afterwards)."""
    digits = len(str(grid.last_row))
    return re.compile(
        rb' r="(?:' + _letters_above(grid.last_column_letters.encode()) + rb"|[A-Z]{0,3}\d{%d})" % digits
    )


def _letters_above(letters: bytes) -> bytes:
    """A pattern for the column letters after `letters` (longer ones, or as long and later)."""
    after = [rb"[A-Z]{%d}" % (len(letters) + 1)]
    for at, letter in enumerate(letters):
        if letter != ord("Z"):
            rest = len(letters) - at - 1
            after.append(letters[:at] + b"[%c-Z]" % (letter + 1) + (rb"[A-Z]{%d}" % rest if rest else b""))
    return b"(?:" + b"|".join(after) + b")"


def column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


class FarCells:
    """Pieces of a sheet's XML, in order, searched for a value outside the grid."""

    def __init__(self, grid: Grid | None = None) -> None:
        self.grid = grid or template_grid()
        self._far = _far_reference(self.grid)
        self._held = b""

    def feed(self, piece: bytes) -> str | None:
        """The reference of a cell with a value outside the grid in this piece (or straddling the last
        one), else None. Raises Unusual for a cell the quick search cannot place."""
        window = self._held + piece
        self._held = window[-OVERLAP:]
        if _UNUSUAL_CELL.search(window) or (b":c" in window and _PREFIXED_CELL.search(window)):
            raise Unusual("a cell without a leading reference")
        for match in self._far.finditer(window):
            reference = _far_cell(window, match.start(), self.grid)
            if reference is not None:
                return reference
        return None


def _far_cell(window: bytes, at: int, grid: Grid) -> str | None:
    """The reference of the tag whose ` r="` is at `at`, when it is a cell outside the grid holding a
    value."""
    start = window.rfind(b"<", 0, at + 1)
    tag = _TAG.match(window, start)
    if tag is None:
        return None
    reference = _REFERENCE.search(tag.group(2))
    if reference is None:
        return None
    letters, digits = reference.group(1).decode().upper(), reference.group(2)
    row = int(digits) if digits else 0
    column = column_number(letters) if letters else 0
    if tag.group(1) == b"row" or (row <= grid.last_row and column <= grid.last_column):
        return None  # (a far row's cells are far cells themselves, or unusual ones)
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
