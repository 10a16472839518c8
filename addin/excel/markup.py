"""Marking a checked workbook for the person who fixes it: every offending cell filled and given a
note (rule, message, fix, clause), and a 校验结果 sheet first, listing every issue with a link to its
cell. One piece of logic for the Excel ribbon (xlwings) and annotated copies (openpyxl); each writes
through a `MarkupWriter`.

A writer may also offer, and `markup` then uses:
- `clear_marks()`: remove the marks a previous check left (the ribbon, on a workbook marked before);
- `batch()`: a context manager around all the writing (the ribbon: calculation manual, screen updating
  off, protection handled once per sheet).
A writer without them (an annotated copy, written fresh) needs neither."""

from __future__ import annotations

import re
from collections import defaultdict
from contextlib import nullcontext
from pathlib import Path
from typing import Any, Protocol

from addin.beijing_time import shown_time
from addin.check.pipeline import CheckResult
from addin.io.input_files import RESULTS_SHEET
from addin.reports.catalogue import SEVERITY_LABELS
from addin.reports.check_report import verdict
from addin.templates.awards import computed_formulas
from addin.templates.formulas import RowFormulas
from schemas.fields import amount_fields, ratio_fields
from schemas.registry import Issue

RESULTS_HEADER = ["单元格", "级别", "规则", "名称", "说明", "修改建议", "依据"]
ERROR_FILL = "FFC7CE"
WARNING_FILL = "FFEB9C"


class MarkupWriter(Protocol):
    def mark(self, sheet: str, cell: str, fill: str, note: str) -> None:
        """Fill one cell and give it a note."""

    def results_sheet(
        self,
        title: str,
        lines: list[str],
        header: list[str],
        rows: list[list[Any]],
        links: dict[int, tuple[str, str]],
    ) -> None:
        """Write the results sheet first in the workbook; `links` maps a row index of `rows` to the
        (sheet, cell) its first column links to."""

    def set_formulas(self, sheet: str, formulas: dict[str, str]) -> None:
        """Put formulas back into computed cells."""


# How every note markup writes begins: 【错误】 or 【警告】, then the rule id.
_OUR_NOTE = re.compile(rf"^【(?:{'|'.join(SEVERITY_LABELS.values())})】[A-Z][A-Z0-9_]* ")


def is_our_note(text: str | None) -> bool:
    """Whether a cell's note was written by markup (and so may be replaced or removed)."""
    return bool(text) and _OUR_NOTE.match(text) is not None


def note_text(issues: list[Issue]) -> str:
    return "\n\n".join(
        f"【{SEVERITY_LABELS[i.severity]}】{i.rule} {i.title}\n{i.message}\n建议：{i.fix}"
        + (f"\n依据：{i.clause}" if i.clause else "")  # an error about the file cites no clause
        for i in issues
    )


def markup(result: CheckResult, writer: MarkupWriter, restore_formulas: bool = False) -> None:
    """Mark every issue's cell, write the results sheet, and (for the ribbon) put the template's
    formulas back where a computed cell lost its formula or was typed over."""
    with getattr(writer, "batch", nullcontext)():
        clear_marks = getattr(writer, "clear_marks", None)
        if clear_marks is not None:
            clear_marks()
        _write_markup(result, writer, restore_formulas)


def _write_markup(result: CheckResult, writer: MarkupWriter, restore_formulas: bool) -> None:
    by_cell: dict[tuple[str, str], list[Issue]] = defaultdict(list)
    for issue in result.issues:
        if issue.sheet and issue.cell:
            by_cell[(issue.sheet, issue.cell)].append(issue)
    for (sheet, cell), issues in by_cell.items():
        worst = ERROR_FILL if any(i.severity == "error" for i in issues) else WARNING_FILL
        writer.mark(sheet, cell, worst, note_text(issues))
    rows, links = [], {}
    for n, issue in enumerate(result.issues):
        rows.append(
            [
                issue.where or issue.file or "",
                SEVERITY_LABELS[issue.severity],
                issue.rule,
                issue.title,
                issue.message,
                issue.fix,
                issue.clause,
            ]
        )
        if issue.sheet and issue.cell:
            links[n] = (issue.sheet, issue.cell)
    lines = [
        verdict(result),
        f"文件：{Path(result.file).name}；模板：{result.template.get('id', '')} {result.template.get('version', '')}；"
        f"政策：{result.policy.id} {result.policy.version}；校验时间：{shown_time(result.checked_at)}",
    ]
    writer.results_sheet(RESULTS_SHEET, lines, RESULTS_HEADER, rows, links)
    if restore_formulas:
        for sheet, formulas in formulas_to_restore(result).items():
            writer.set_formulas(sheet, formulas)


def formulas_to_restore(result: CheckResult) -> dict[str, dict[str, str]]:
    """Per sheet, the template's formula for every computed cell of every filled row (application
    table or award sheets)."""
    restored: dict[str, dict[str, str]] = {}
    if result.table is not None:
        table = result.table
        letters = table.raw.columns
        formulas = RowFormulas(letters, result.policy)
        restored[table.raw.sheet] = {
            f"{letters[name]}{row}": formula
            for row in table.frame.index
            for name, formula in formulas.for_row(int(row)).items()
            if name in (*amount_fields(result.policy), *ratio_fields(result.policy)) and name in letters
        }
    for sheet in result.awards or []:
        letters = sheet.raw.columns
        formulas = computed_formulas(sheet.kind, letters, result.policy)
        cells = {
            f"{letters[name]}{row}": formula(int(row))
            for row in sheet.table.frame.index
            for name, formula in formulas.items()
        }
        if cells:
            restored[sheet.raw.sheet] = cells
    return restored
