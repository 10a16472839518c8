"""Annotated copies: the checked workbook with every offending cell marked and a 校验结果 sheet first
(`dtfund check FILE --annotate OUT.xlsx`). The input is never touched; an .xlsm keeps its macros.

`markup` decides what is marked; `PackageMarkup` records it, and the copy is written in one pass over
the package without loading the workbook (addin.io.xlsx_patch): a sheet of a million rows or a styles
part beyond Excel's limits costs seconds, not minutes. `OpenpyxlMarkup` marks a workbook already
loaded with openpyxl."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink

from addin.check.pipeline import CheckResult
from addin.excel.markup import markup
from addin.io.cell_text import safe_text
from addin.io.output import OutputError
from addin.io.xlsx_parts import PackageError
from addin.io.xlsx_patch import NewSheet, PackageEdits, SheetCell, write_edited_copy

NOTE_SIZE = {"width": 360, "height": 160}
RESULTS_COLUMN_WIDTHS = (18, 6, 30, 26, 60, 44, 16)
# The author of the notes on marked cells: notes of an earlier annotated copy are recognised by it (the
# templates' own notes on the header row are by "dtfund").
NOTE_AUTHOR = "dtfund 校验"


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
        for letter, width in zip("ABCDEFG", RESULTS_COLUMN_WIDTHS, strict=True):
            sheet.column_dimensions[letter].width = width
        for row in sheet.iter_rows(min_row=top + 1):
            for cell in row:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        self.workbook.active = 0

    def set_formulas(self, sheet: str, formulas: dict[str, str]) -> None:
        for cell, formula in formulas.items():
            self.workbook[sheet][cell] = formula


class PackageMarkup:
    """Records what `markup` asks for, to be written into a copy of the package in one pass."""

    def __init__(self) -> None:
        self.edits = PackageEdits(
            note_author=NOTE_AUTHOR, note_size=(NOTE_SIZE["width"], NOTE_SIZE["height"])
        )

    def mark(self, sheet: str, cell: str, fill: str, note: str) -> None:
        self.edits.marks.setdefault(sheet, {})[cell] = (fill, note)

    def results_sheet(
        self,
        title: str,
        lines: list[str],
        header: list[str],
        rows: list[list[Any]],
        links: dict[int, tuple[str, str]],
    ) -> None:
        cells = [[SheetCell(line)] for line in lines] + [[]] + [[SheetCell(h, "header") for h in header]]
        for n, values in enumerate(rows):
            row = [SheetCell(_text(value), "body") for value in values]
            if n in links and row:
                sheet, cell = links[n]
                location = "'" + sheet.replace("'", "''") + "'!" + cell
                row[0] = SheetCell(row[0].text, "link", location)
            cells.append(row)
        self.edits.first_sheet = NewSheet(title, cells, list(RESULTS_COLUMN_WIDTHS))

    def set_formulas(self, sheet: str, formulas: dict[str, str]) -> None:
        self.edits.formulas.setdefault(sheet, {}).update(formulas)


def _text(value: Any) -> str:
    return "" if value is None else str(safe_text(value))


def write_annotated_copy(source: Path, result: CheckResult, target: Path) -> None:
    """Write the source workbook with the check's result marked in it to `target` (atomically)."""
    recorder = PackageMarkup()
    markup(result, recorder)
    try:
        write_edited_copy(source, recorder.edits, target)
    except PackageError as exc:
        raise OutputError(f"无法生成标注副本：{source.name} {exc}") from None
    except (zipfile.BadZipFile, KeyError, OSError):
        raise OutputError(f"无法生成标注副本：{source.name} 无法读取，可能已损坏或缺少部件。") from None
