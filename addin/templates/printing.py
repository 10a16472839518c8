"""How the workbooks print: A4 page setup, header rows tall enough for their wrapped text, and the
application and award sheets' print area that ends at the last filled row.

Excel and WPS evaluate a formula print area (`_xlnm.Print_Area` defined as OFFSET over the last filled
row) each time they print. LibreOffice ignores a formula print area on import and prints the sheet's used
area, the empty formula rows included: there the page count follows the template's row count."""

from __future__ import annotations

import math
import unicodedata
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.reader.excel import ExcelReader
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

PRINT_AREA = "Print_Area"  # openpyxl writes it as _xlnm.Print_Area
LINE_HEIGHT = 15  # points per line of 11-point text (Excel's 等线 row is 14.25, LibreOffice's CJK ~14)
ROW_PADDING = 3  # points above and below the text of a row
MAX_ROW_HEIGHT = 409  # Excel's tallest row, in points
CELL_MARGIN = 1  # column width units taken by the cell's inner margins (and bold text's extra width)
PAGE_FOOTER = "第 &P 页，共 &N 页"
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.6}  # inches
HEADER_FOOTER_MARGIN = 0.3  # inches


def text_width(text: str) -> int:
    """The width of a line of text in column width units: a CJK or full-width character counts 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def line_count(text: str, width: float) -> int:
    """How many lines `text` wraps to in a column `width` units wide."""
    usable = max(width - CELL_MARGIN, 1)
    return sum(max(math.ceil(text_width(part) / usable), 1) for part in str(text).split("\n"))


def wrapped_height(cells: Iterable[tuple[Any, float]], font_size: float = 11) -> float:
    """The row height (points) that shows each (text, column width) of the row wrapped in full: Excel does
    not grow a generated file's rows for their wrapped text, and LibreOffice and WPS grow them unevenly."""
    lines = max((line_count(text, width) for text, width in cells if text not in (None, "")), default=1)
    return min(lines * LINE_HEIGHT * font_size / 11 + ROW_PADDING, MAX_ROW_HEIGHT)


def page_setup(ws: Any, landscape: bool = True, pages_wide: int = 1, title_rows: str | None = None) -> None:
    """A4, `pages_wide` pages across and as many down as needed, page numbers in the footer and the
    `title_rows` (such as "3:4") repeated on every page. Works for openpyxl's normal and write-only sheets."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = pages_wide
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.page_margins = PageMargins(**MARGINS, header=HEADER_FOOTER_MARGIN, footer=HEADER_FOOTER_MARGIN)
    ws.oddFooter.center.text = PAGE_FOOTER
    if title_rows:
        ws.print_title_rows = title_rows


def filled_rows_print_area(sheet: str, inputs: str, last_column: int, first_row: int, last_row: int) -> str:
    """A print area from A1 to the last row with anything typed in the input columns `inputs` ("A:AB"),
    `last_column` columns wide; only the rows above the data when none is filled."""
    first, last = inputs.split(":")
    quoted = f"'{sheet}'"
    block = f"{quoted}!${first}${first_row}:${last}${last_row}"
    last_filled = f'SUMPRODUCT(MAX(({block}<>"")*ROW({block})))'
    return f"OFFSET({quoted}!$A$1,0,0,MAX({first_row - 1},{last_filled}),{last_column})"


def set_print_area_formula(ws: Any, formula: str) -> None:
    """Set a sheet's print area to a formula (openpyxl's print_area takes only fixed ranges)."""
    ws.defined_names[PRINT_AREA] = DefinedName(PRINT_AREA, attr_text=formula)


def load_workbook_keeping_print_areas(source: Path | Any, **options: Any) -> openpyxl.Workbook:
    """openpyxl.load_workbook, keeping the formula print areas that it drops (with an English warning)."""
    reader = ExcelReader(source, **options)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Print area cannot be set to Defined name")
        reader.read()
    for index, names in reader.parser.defined_names.by_sheet().items():
        area = names.get(f"_xlnm.{PRINT_AREA}") if index != "global" else None
        if area is not None and "(" in area.value and index < len(reader.wb.worksheets):
            set_print_area_formula(reader.wb.worksheets[index], area.value)
    return reader.wb
