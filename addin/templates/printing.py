"""How the workbooks print: A4 page setup, header rows tall enough for their wrapped text, and the
application and award sheets' print area that ends at the last filled row.

Excel and WPS evaluate a formula print area (`_xlnm.Print_Area` defined as OFFSET over the last filled
row) each time they print. LibreOffice ignores a formula print area on import and prints the sheet's used
area, the empty formula rows included: there the page count follows the template's row count."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.reader.excel import ExcelReader
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties

from addin.io.print_layout import A4_PAPER, HEADER_FOOTER_MARGIN, MARGINS, PAGE_FOOTER

PRINT_AREA = "Print_Area"  # openpyxl writes it as _xlnm.Print_Area


def page_setup(ws: Any, landscape: bool = True, pages_wide: int = 1, title_rows: str | None = None) -> None:
    """A4, `pages_wide` pages across and as many down as needed, page numbers in the footer and the
    `title_rows` (such as "3:4") repeated on every page. Works for openpyxl's normal and write-only sheets."""
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.paperSize = A4_PAPER
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
