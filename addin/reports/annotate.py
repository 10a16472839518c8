"""Annotated copies: the checked workbook with every offending cell marked and a 校验结果 sheet first
(`dtfund check FILE --annotate OUT.xlsx`). The input is never touched; an .xlsm keeps its macros."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink

from addin.check.pipeline import CheckResult
from addin.excel.markup import markup
from addin.io.cell_text import safe_text
from addin.io.output import write_bytes_atomically
from addin.templates.printing import load_workbook_keeping_print_areas

NOTE_SIZE = {"width": 360, "height": 160}


class OpenpyxlMarkup:
    """Marks a workbook loaded with openpyxl."""

    def __init__(self, workbook: openpyxl.Workbook) -> None:
        self.workbook = workbook

    def mark(self, sheet: str, cell: str, fill: str, note: str) -> None:
        target = self.workbook[sheet][cell]
        target.fill = PatternFill("solid", fgColor=fill)
        target.comment = Comment(note, "dtfund", **NOTE_SIZE)

    def results_sheet(
        self,
        title: str,
        lines: list[str],
        header: list[str],
        rows: list[list[Any]],
        links: dict[int, tuple[str, str]],
    ) -> None:
        if title in self.workbook.sheetnames:
            del self.workbook[title]
        sheet = self.workbook.create_sheet(title, 0)
        for line in lines:
            sheet.append([line])
        sheet.append([])
        sheet.append(header)
        top = sheet.max_row
        for cell in sheet[top]:
            cell.font = Font(bold=True)
        for values in rows:
            sheet.append([safe_text(v) for v in values])
        for n, (target_sheet, cell) in links.items():
            anchor = sheet.cell(top + 1 + n, 1)
            anchor.hyperlink = Hyperlink(
                ref=anchor.coordinate, location=f"'{target_sheet}'!{cell}", display=anchor.value
            )
            anchor.font = Font(color="0563C1", underline="single")
        for letter, width in zip("ABCDEFG", (18, 6, 30, 26, 60, 44, 16), strict=True):
            sheet.column_dimensions[letter].width = width
        for row in sheet.iter_rows(min_row=top + 1):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        self.workbook.active = 0

    def set_formulas(self, sheet: str, formulas: dict[str, str]) -> None:
        for cell, formula in formulas.items():
            self.workbook[sheet][cell] = formula


def annotated_copy(source: Path, result: CheckResult) -> bytes:
    """The source workbook with the check's result marked in it."""
    workbook = load_workbook_keeping_print_areas(
        source, keep_vba=source.suffix.lower() == ".xlsm", keep_links=False
    )
    markup(result, OpenpyxlMarkup(workbook))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_annotated_copy(source: Path, result: CheckResult, target: Path) -> None:
    write_bytes_atomically(target, annotated_copy(source, result))
