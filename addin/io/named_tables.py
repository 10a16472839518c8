"""What the checks read of a workbook: a file opened for reading, and a table read by the defined
names over its columns, as batches of consecutive rows. How the bytes become rows stays in addin.io."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from addin.io.read_ahead import read_ahead
from addin.io.workbook_reader import (
    NamedRange,
    NotSplittable,
    Workbook,
    column_cells,
    column_index,
    defined_names,
    sniff,
)

T = TypeVar("T")


class BookReader(Protocol):
    """A workbook the checks can read: a file (`Workbook`) or one open in Excel (xlwings). `value` reads
    a range's first cell, `column` a one-column range and `row` a one-row range (both padded with None)."""

    @property
    def sheet_names(self) -> list[str]: ...

    def value(self, ref: NamedRange) -> Any: ...

    def column(self, ref: NamedRange) -> list[Any]: ...

    def row(self, ref: NamedRange) -> list[Any]: ...


@dataclass(frozen=True)
class RowBatch:
    """Consecutive rows of a table: their Excel row numbers, and each field's cells on those rows."""

    rows: list[int]
    values: dict[str, list[Any]]


def open_workbook(path: Path) -> tuple[dict[str, NamedRange], Workbook]:
    """A workbook file's defined names and a reader of its cells. Raises InputError when the file
    cannot be read as a workbook."""
    ahead = read_ahead.take(path)
    if ahead is None:
        sniff(path)
    return defined_names(path), Workbook(path, ahead)


def read_table_rows(
    book: BookReader, columns: Mapping[str, NamedRange], take: Callable[[Iterator[RowBatch]], T]
) -> T:
    """What `take` makes of a table's rows (`columns`: field id -> the range over its column; the
    first field's range gives the sheet and the first row), handed to it in batches of consecutive
    rows, each as soon as it is read. `take` must depend on the batches alone: it may be handed the
    table a second time, from its first row."""
    try:
        return take(_batches(book, columns))
    except NotSplittable:  # the sheet's parts failed after some rows were handed on: read it whole
        return take(_batches(book, columns))


def _batches(book: BookReader, columns: Mapping[str, NamedRange]) -> Iterator[RowBatch]:
    """The table in batches (at least one, perhaps empty). A table on a sheet read in parts comes part
    by part, without the rows the sheet does not have; any other table in one batch, through `column`."""
    first_ref = next(iter(columns.values()))
    first, last = first_ref.first_row, max(ref.last_row for ref in columns.values())
    aligned = all(ref.sheet == first_ref.sheet and ref.first_row == first for ref in columns.values())
    if not isinstance(book, Workbook) or not aligned:
        length = last - first + 1
        yield RowBatch(
            rows=list(range(first, last + 1)),
            values={field: (book.column(ref) + [None] * length)[:length] for field, ref in columns.items()},
        )
        return
    handed_on = False
    for block in book.row_blocks(first_ref.sheet, upto=last):
        top, bottom = max(first, block.first_row), min(last, block.first_row + len(block.rows) - 1)
        if top > bottom:
            continue
        cells = list(itertools.zip_longest(*block.rows[top - block.first_row : bottom - block.first_row + 1]))
        length, values = bottom - top + 1, {}
        for field, ref in columns.items():
            kept = min(length, max(0, ref.last_row - top + 1))  # past its own last row: blank
            index = column_index(ref.first_column) - block.first_column + 1
            values[field] = column_cells(cells, index, 0, kept) + [None] * (length - kept)
        handed_on = True
        yield RowBatch(rows=list(range(top, bottom + 1)), values=values)
    if not handed_on:
        yield RowBatch(rows=[], values={field: [] for field in columns})
