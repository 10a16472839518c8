"""A table read by its defined names gives the same rows however the workbook is read: in one batch
through the columns (as from Excel), from the sheet's rows, or part by part from a sheet parsed in parts."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from addin import template_spec as spec
from addin.io import sheet_parts
from addin.io.named_tables import RowBatch, open_workbook, read_table_rows
from addin.io.read_ahead import read_ahead
from addin.io.workbook_reader import NamedRange, Workbook
from addin.templates.bundled import EXAMPLES, REPOSITORY
from addin.templates.sheets import shown_header
from schemas.fields import application_fields

EXAMPLE_FILES = [REPOSITORY / relative for relative in EXAMPLES.values()]


class ColumnsOnly:
    """A workbook read a column at a time, as the add-in reads one open in Excel."""

    def __init__(self, book: Workbook) -> None:
        self._book = book

    @property
    def sheet_names(self) -> list[str]:
        return self._book.sheet_names

    def value(self, ref: NamedRange) -> Any:
        return self._book.value(ref)

    def column(self, ref: NamedRange) -> list[Any]:
        return self._book.column(ref)


def _table(path: Path, through_columns: bool = False) -> tuple[list[int], dict[str, list[Any]], int]:
    """The application table's rows, values and number of batches."""
    names, book = open_workbook(path)
    columns = {field.id: names[field.id] for field in application_fields()}
    batches: list[RowBatch] = read_table_rows(ColumnsOnly(book) if through_columns else book, columns, list)
    rows = [row for batch in batches for row in batch.rows]
    values = {field: [v for batch in batches for v in batch.values[field]] for field in columns}
    return rows, values, len(batches)


def _blank_as_none(values: list[Any]) -> list[Any]:
    """An empty cell is "" or None, depending on how far the rows read reach to the right."""
    return [None if value == "" else value for value in values]


def _same_table(rows: list[int], values: dict[str, list[Any]], path: Path) -> None:
    """The rows read are the rows read through the columns, but for blank ones: a sheet read in parts
    hands on only the rows python-calamine found a value in from the first to the last of each part,
    so a blank row between two parts is left out (the check drops blank rows). Every row left out is
    blank in every column, below the sheet's last row too."""
    whole_rows, whole_values, _ = _table(path, through_columns=True)
    position = {row: n for n, row in enumerate(whole_rows)}
    assert rows == sorted(set(rows)) and set(rows) <= set(whole_rows)
    kept = [position[row] for row in rows]
    for field, column in whole_values.items():
        assert _blank_as_none(values[field]) == _blank_as_none([column[n] for n in kept]), field
        left_out = sorted(set(range(len(column))) - set(kept))
        assert _blank_as_none([column[n] for n in left_out]) == [None] * len(left_out), field


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_the_rows_of_the_sheet_are_the_rows_of_the_columns(path: Path) -> None:
    rows, values, batches = _table(path)
    assert batches == 1 and rows
    _same_table(rows, values, path)


def test_a_sheet_parsed_in_parts_is_handed_on_in_batches_of_the_same_rows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sheet_parts, "PART_BYTES", 16 * 1024)
    monkeypatch.setattr(sheet_parts, "CHUNK_BYTES", 4 * 1024)
    monkeypatch.setattr(sheet_parts.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = EXAMPLE_FILES[0]
    read_ahead.start([path])
    rows, values, batches = _table(path)
    assert batches > 1
    _same_table(rows, values, path)


def test_reading_the_header_row_first_keeps_the_table_read_part_by_part(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The structure check reads the header row before the table: only the part holding it is waited
    for, and the table is still handed on part by part, the same rows."""
    monkeypatch.setattr(sheet_parts, "PART_BYTES", 16 * 1024)
    monkeypatch.setattr(sheet_parts, "CHUNK_BYTES", 4 * 1024)
    monkeypatch.setattr(sheet_parts.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    path = EXAMPLE_FILES[0]
    read_ahead.start([path])
    names, book = open_workbook(path)
    fields = application_fields()
    header = NamedRange(
        spec.DATA_SHEET, "A", spec.HEADER_ROW, spec.column_letter(len(fields)), spec.HEADER_ROW
    )
    assert book.row(header) == [shown_header(f) for f in fields]
    batches: list[RowBatch] = read_table_rows(book, {f.id: names[f.id] for f in fields}, list)
    assert len(batches) > 1
    rows = [row for batch in batches for row in batch.rows]
    values = {f.id: [v for batch in batches for v in batch.values[f.id]] for f in fields}
    _same_table(rows, values, path)
