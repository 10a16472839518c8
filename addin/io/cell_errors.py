"""Excel error values (#N/A, #DIV/0!, #VALUE!, …) stored in a sheet's cells. python-calamine reads
them as blanks, so they are found in the sheet's XML (`<c r="B7" t="e"><v>#N/A</v></c>`) and put
back into the rows as CellError values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

# Bytes of the next piece looked at past a piece's end: an error value's code is a dozen at most.
LOOK_AHEAD = 64
# Tags passed looking back from a value to its cell's start tag: </f>, then <f …>.
MAX_TAGS_BACK = 4

_VALUE_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?v\s*>")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c(?=[\s>/])[^>]*>")
_FORMULA_TAG = re.compile(rb"</?(?:[A-Za-z_][\w.-]*:)?f(?=[\s>/])")
_ERROR_TYPE = re.compile(rb"""\st\s*=\s*["']e["']""")
_REFERENCE = re.compile(rb"""\sr\s*=\s*["']\$?([A-Za-z]{1,3})\$?(\d+)["']""")


@dataclass(frozen=True, slots=True)
class CellError:
    """An Excel error value stored in a cell, such as #N/A: what the cell holds, never a blank."""

    code: str

    def __str__(self) -> str:
        return self.code


ErrorCells = dict[tuple[int, int], CellError]  # by (row, column), both 0-based


class UnplacedError(Exception):
    """An error value whose cell cannot be placed: its start tag has no reference (r="B7")."""


def find_error_cells(pieces: Iterable[bytes]) -> ErrorCells:
    """The error cells in consecutive pieces of a sheet's XML (a cell may straddle two pieces). A
    piece without "#" is passed over at the speed of memchr: every error value begins with one."""
    found: ErrorCells = {}
    previous = b""
    for piece, following in _with_next(pieces):
        if b"#" in piece:
            window = previous + piece + following[:LOOK_AHEAD]
            _find_in(window, len(previous), len(previous) + len(piece), found)
        previous = piece
    return found


def put_errors(rows: list[list[Any]], errors: ErrorCells, first_row: int = 0, first_column: int = 0) -> None:
    """Put the error values into rows whose first cell is at (first_row, first_column), 0-based; an
    error cell outside the rows is left out, as the rows leave it."""
    for (row, column), error in errors.items():
        r, c = row - first_row, column - first_column
        if 0 <= r < len(rows) and 0 <= c < len(rows[r]):
            rows[r][c] = error


def _with_next(pieces: Iterable[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """Each piece with the one after it (b"" after the last)."""
    iterator = iter(pieces)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following or b""
        current = following


def _find_in(window: bytes, start: int, end: int, found: ErrorCells) -> None:
    """The error cells whose value begins between `start` and `end` of the window."""
    at = window.find(b"#", start, end)
    while at >= 0:
        cell = _error_cell(window, at)
        if cell is not None:
            found[cell[0]] = cell[1]
        at = window.find(b"#", at + 1, end)


def _error_cell(window: bytes, at: int) -> tuple[tuple[int, int], CellError] | None:
    """The error cell whose value begins with the "#" at `at`; None when that "#" is not the start of
    a cell's value, or the cell is of another type (a formula's text result such as "#1")."""
    value_start = window.rfind(b"<", 0, at)
    if value_start < 0 or not _VALUE_TAG.fullmatch(window, value_start, at):
        return None
    tag = _cell_start_tag(window, value_start)
    if tag is None or not _ERROR_TYPE.search(tag):
        return None
    reference = _REFERENCE.search(tag)
    if reference is None:
        raise UnplacedError("an error value in a cell without its reference")
    code_end = window.find(b"<", at)
    code = window[at : code_end if code_end >= 0 else len(window)].decode("utf-8", "replace").strip()
    return (int(reference.group(2)) - 1, _column(reference.group(1))), CellError(code)


def _cell_start_tag(window: bytes, value_start: int) -> bytes | None:
    """The start tag of the cell holding the value tag at `value_start`: looking back past its formula
    (whose text holds no "<"); None when another element comes first."""
    at = value_start
    for _ in range(MAX_TAGS_BACK):
        at = window.rfind(b"<", 0, at)
        if at < 0:
            raise UnplacedError("a cell longer than the piece of XML looked back over")
        cell = _CELL_TAG.match(window, at)
        if cell:
            return cell.group(0)
        if not _FORMULA_TAG.match(window, at):
            return None
    return None


def _column(letters: bytes) -> int:
    """A1-style column letters to a 0-based index."""
    index = 0
    for letter in letters.upper():
        index = index * 26 + letter - ord("A") + 1
    return index - 1
