"""Excel error values stored in cells (#N/A, #DIV/0!, …), which python-calamine reads as blanks, reach
the check as CellError values: found in the sheet's XML, in the whole-sheet path and in the parts path,
wherever a piece of XML ends."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from addin.io import sheet_parts
from addin.io.cell_errors import CellError, UnplacedError, find_error_cells, put_errors
from addin.io.workbook_reader import InputError, Workbook
from tests.test_sheet_parts import MEMBER, SHEET, _read_ahead_with, _rewrite

CODES = ("#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!")

XML = (
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>#1 \xe5\x8f\xb7</t></is></c>'
    b'<c r="B1" t="e"><v>#N/A</v></c><c r="C1" s="3" t="e"><f>1/0</f><v>#DIV/0!</v></c></row>'
    b'<row r="2"><c r="A2" t="str"><f>"#"&amp;1</f><v>#1</v></c><c t="e" r="AB2"><v>#VALUE!</v></c>'
    b'<c r="C2"><f>#REF!+1</f><v>3</v></c><c r="D2" t="e"><f t="shared" si="0"/><v>#REF!</v></c></row>'
    b"</sheetData>"
)
FOUND = {
    (0, 1): CellError("#N/A"),
    (0, 2): CellError("#DIV/0!"),
    (1, 27): CellError("#VALUE!"),
    (1, 3): CellError("#REF!"),
}


def test_the_error_cells_of_a_sheets_xml_and_nothing_else() -> None:
    """Not text that holds "#", a formula's text result, nor "#REF!" in a formula over a number."""
    assert find_error_cells([XML]) == FOUND


def test_a_cell_cut_anywhere_between_two_pieces_is_found() -> None:
    for at in range(1, len(XML)):
        assert find_error_cells([XML[:at], XML[at:]]) == FOUND, at


def test_tags_with_a_namespace_prefix() -> None:
    prefixed = re.sub(rb"<(/?)(c|v|f|row|is|t|sheetData)([\s>/])", rb"<\1x:\2\3", XML)
    assert find_error_cells([prefixed]) == FOUND


def test_an_error_cell_without_its_reference_cannot_be_placed() -> None:
    with pytest.raises(UnplacedError):
        find_error_cells([b'<row r="1"><c t="e"><v>#N/A</v></c></row>'])


def test_error_values_are_put_into_the_rows_they_fall_in() -> None:
    rows = [["", 1.0], ["", ""]]
    put_errors(
        rows, {(4, 2): CellError("#N/A"), (5, 3): CellError("#REF!"), (9, 9): CellError("#NUM!")}, 4, 2
    )
    assert rows == [[CellError("#N/A"), 1.0], ["", CellError("#REF!")]]
    assert str(CellError("#DIV/0!")) == "#DIV/0!"  # as a message or a JSON value shows it


def _with_errors(path: Path, rows: int = 1500) -> Path:
    """Numbers, text and every error code, over many rows (an error cell every few rows)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    for n in range(1, rows):
        sheet.cell(n, 1, f"企业{n}")
        sheet.cell(n, 2, n * 1.5)
        if n % 3 == 0:
            cell = sheet.cell(n, 2 + n % 4, CODES[n % len(CODES)])
            cell.data_type = "e"
    book.save(path)
    return path


def _expected(path: Path) -> list[list]:
    """The rows python-calamine reads, with the error values openpyxl reads where calamine has blanks."""
    rows = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(SHEET).to_python()
    for line in openpyxl.load_workbook(path)[SHEET].iter_rows():
        for cell in line:
            if cell.data_type == "e":
                rows[cell.row - 1][cell.column - 1] = CellError(cell.value)
    return rows


def test_the_whole_sheet_path_reads_error_values(tmp_path: Path) -> None:
    path = _with_errors(tmp_path / "errors.xlsx")
    rows = Workbook(path).rows(SHEET)
    assert rows == _expected(path)
    assert sum(isinstance(cell, CellError) for row in rows for cell in row) == 1499 // 3
    assert Workbook(path).rows(SHEET, upto=10)[8][2] == CellError(CODES[9 % len(CODES)])


def _chunk_ends(path: Path) -> list[int]:
    """Where the cutting's pieces of the sheet's XML end (each read of CHUNK_BYTES, less the bytes held
    back for the next read)."""
    with zipfile.ZipFile(path) as archive:
        size = archive.getinfo(MEMBER).file_size
    held = len(b"</sheetData>") - 1
    return list(range(sheet_parts.CHUNK_BYTES - held, size, sheet_parts.CHUNK_BYTES))


def test_the_parts_path_reads_error_values_as_the_whole_sheet_path(small_parts: Path, tmp_path: Path) -> None:
    path = _with_errors(tmp_path / "errors.xlsx")
    with zipfile.ZipFile(path) as archive:
        xml = archive.read(MEMBER)
    cells = [m.span() for m in re.finditer(rb'<c [^>]*t="e"[^>]*>.*?</c>', xml)]
    assert any(start < end_of_piece < end for start, end in cells for end_of_piece in _chunk_ends(path))
    parted = sheet_parts.parse_in_parts(path, SHEET)
    assert parted is not None and len(list(parted.blocks())) > 5
    assert parted.to_python() == _expected(path)
    assert _read_ahead_with(path, SHEET).rows(SHEET) == _expected(path)


def test_a_sheet_with_an_error_cell_that_cannot_be_placed_is_unreadable(
    small_parts: Path, tmp_path: Path
) -> None:
    """In parts it is parsed whole; whole, the file cannot be read, and says why."""
    path = _rewrite(
        _with_errors(tmp_path / "errors.xlsx"),
        lambda xml: re.sub(r'<c r="\w+" t="e">', '<c t="e">', xml, count=1),
    )
    with pytest.raises(InputError, match="没有单元格地址"):
        _read_ahead_with(path, SHEET).rows(SHEET)
