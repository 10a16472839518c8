"""Rows of a generated sheet that repeat one row openpyxl wrote, with only the row number changed (a
template's empty rows: the same formulas and styles on every row), rendered straight into the sheet
XML as the very bytes openpyxl writes for each of them.

openpyxl spends about 40 µs on a formula cell; a template of 100,000 rows is over a million of them.
openpyxl writes the pattern row and the row after it; the pattern is the first row's XML cut wherever
its row number stands (its `r`, each cell's reference, each relative reference in a formula), and it
must give the second row exactly, or the sheet is refused (a formula that does not repeat row by row)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from addin.io.bulk_rows import widened_dimension

CHUNK_ROWS = 5_000  # rows rendered at once: the XML of a large sheet is never held whole


class RowsDoNotRepeat(ValueError):
    """The row after the pattern is not the pattern with its number changed."""


@dataclass(frozen=True)
class RepeatedRows:
    """Rows `pattern_row + 2` to `last_row` (1-based) of the sheet named `sheet`, each the pattern row
    with its number changed; openpyxl wrote the pattern row and the one after it."""

    sheet: str
    pattern_row: int
    last_row: int


def _number_at(row: int) -> re.Pattern[str]:
    """Where a row's number stands in its XML: the row's r attribute, after a column's letters."""
    return re.compile(rf'(?:(?<=<row r=")|(?<=[A-Z])){row}(?!\d)')


def _row_xml(xml: str, row: int) -> tuple[int, int]:
    """Start and end (after </row>) of a row's element in the sheet XML."""
    start = xml.index(f'<row r="{row}"')
    return start, xml.index("</row>", start) + len("</row>")


def row_pattern(xml: str, row: int) -> list[str]:
    """The row's XML cut where its number stands: joined with another row's number, that row's XML."""
    start, end = _row_xml(xml, row)
    pieces = _number_at(row).split(xml[start:end])
    following_start, following_end = _row_xml(xml, row + 1)
    if str(row + 1).join(pieces) != xml[following_start:following_end]:
        raise RowsDoNotRepeat(f"row {row + 1} is not row {row} with its number changed")
    return pieces


def sheet_with_rows(xml: str, rows: RepeatedRows) -> Iterator[bytes]:
    """The sheet XML (UTF-8) with the repeated rows after the two openpyxl wrote, and a dimension
    covering them."""
    pieces = [piece.encode("utf-8") for piece in row_pattern(xml, rows.pattern_row)]
    _, insert_at = _row_xml(xml, rows.pattern_row + 1)
    yield widened_dimension(xml[:insert_at], rows.last_row).encode("utf-8")
    for start in range(rows.pattern_row + 2, rows.last_row + 1, CHUNK_ROWS):
        numbers = range(start, min(start + CHUNK_ROWS, rows.last_row + 1))
        yield b"".join((b"%d" % row).join(pieces) for row in numbers)
    yield xml[insert_at:].encode("utf-8")
