"""The add-in's side in Excel: an open workbook read and marked through xlwings, and the ribbon's
校验 button. Excel (Windows or macOS) is needed to run this; the logic it calls is the CLI's."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from addin.check.identity import UnreadableTemplate, identify_book
from addin.check.pipeline import CheckResult, check_identified
from addin.excel.markup import MarkupWriter, is_our_note, markup
from addin.excel.udfs import with_cell_errors
from addin.io.named_tables import BookReader
from addin.io.workbook_reader import InputError, NamedRange, parse_reference
from schemas.policy import load_policy
from schemas.registry import Issue, issue_sentences, sentence

NOT_OUR_TEMPLATE = (
    "当前工作簿不是专项资金的申报表、资金使用计划表或奖励与补贴名单。\n"
    "请先打开用 dtfund template application、plan 或 awards 生成的模板，再点击“校验”。"
)


class ExcelBook:
    """An open Excel workbook, read like a file (see addin.io.named_tables.BookReader). Error values
    are read as their codes (`err_to_str`) and become CellErrors, as a file's t="e" cells do."""

    def __init__(self, book: Any) -> None:
        self.book = book

    @property
    def sheet_names(self) -> list[str]:
        return [sheet.name for sheet in self.book.sheets]

    def defined_names(self) -> dict[str, NamedRange]:
        names = {}
        for name in self.book.names:
            ref = parse_reference(name.refers_to)
            if ref and "!" not in name.name:
                names[name.name] = ref
        return names

    def value(self, ref: NamedRange) -> Any:
        cell = self.book.sheets[ref.sheet].range(f"{ref.first_column}{ref.first_row}")
        return with_cell_errors(cell.options(err_to_str=True).value)

    def column(self, ref: NamedRange) -> list[Any]:
        return self._line(ref.sheet, f"{ref.first_column}{ref.first_row}:{ref.first_column}{ref.last_row}")

    def row(self, ref: NamedRange) -> list[Any]:
        return self._line(ref.sheet, f"{ref.first_column}{ref.first_row}:{ref.last_column}{ref.first_row}")

    def _line(self, sheet: str, area: str) -> list[Any]:
        values = self.book.sheets[sheet].range(area).options(ndim=1, err_to_str=True).value
        return with_cell_errors(list(values))


WRITE_FAILED = (
    "校验时无法读写当前工作簿。\n"
    "若工作表受保护（macOS 版 Excel 中加载项无法撤销保护），请先在“审阅 → 撤销工作表保护”中撤销保护，再点击“校验”；"
    "仍不成功时请用 dtfund check 校验该文件，并运行 dtfund addin doctor 检查加载项。"
)
# The protection options Excel keeps per sheet (Worksheet.Protection), re-applied as they were read.
PROTECTION_OPTIONS = (
    "AllowFormattingCells",
    "AllowFormattingColumns",
    "AllowFormattingRows",
    "AllowInsertingColumns",
    "AllowInsertingRows",
    "AllowInsertingHyperlinks",
    "AllowDeletingColumns",
    "AllowDeletingRows",
    "AllowSorting",
    "AllowFiltering",
    "AllowUsingPivotTables",
)
MARKS_SHEET = "校验标记"
MARKS_HEADER = ["工作表", "单元格", "原填充色", "原批注"]
_CELL = re.compile(r"([A-Z]+)(\d+)")


def _hex(color: Any) -> str:
    """An xlwings colour (an RGB tuple, or None for no fill) as "#RRGGBB" ("" for no fill)."""
    return "" if color is None else "#{:02X}{:02X}{:02X}".format(*color)


def formula_blocks(formulas: dict[str, str]) -> list[tuple[str, list[list[str]]]]:
    """Formulas grouped into runs of consecutive rows of one column: (range address, one formula per
    row), so each run is written in one call."""
    by_column: dict[str, dict[int, str]] = {}
    for cell, formula in formulas.items():
        column, row = _CELL.fullmatch(cell).groups()  # type: ignore[union-attr]
        by_column.setdefault(column, {})[int(row)] = formula
    blocks = []
    for column, rows in by_column.items():
        run: list[int] = []
        for row in sorted(rows):
            if run and row != run[-1] + 1:
                blocks.append((f"{column}{run[0]}:{column}{run[-1]}", [[rows[r]] for r in run]))
                run = []
            run.append(row)
        blocks.append((f"{column}{run[0]}:{column}{run[-1]}", [[rows[r]] for r in run]))
    return blocks


class ExcelMarkup:
    """Marks an open workbook through xlwings, in one batch (see `batch`): the marks of the previous
    check are removed first, each protected sheet is unprotected once and protected again with the
    options it had, formulas go back a block at a time. Our marks are recorded, with the fill and note
    each cell had before, on the hidden sheet 校验标记, which the next check reads to remove them."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self._protection: dict[str, dict[str, bool] | None] = {}
        self._marks: list[list[str]] = []

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Calculation manual and screen updating off while writing; protection, the marks record,
        calculation and screen updating restored whatever happens."""
        app = self.book.app
        calculation, updating = app.calculation, app.screen_updating
        app.screen_updating = False
        app.calculation = "manual"
        try:
            yield
        finally:
            try:
                self._record_marks()
                self._protect_again()
            finally:
                app.calculation = calculation
                app.screen_updating = updating

    def _writable(self, name: str) -> Any:
        """The sheet, unprotected (once) after its protection options are read (Windows; macOS's
        Excel offers no protection calls through xlwings, so a protected sheet stays protected)."""
        sheet = self.book.sheets[name]
        if name not in self._protection:
            api = sheet.api
            options = None
            if getattr(api, "ProtectContents", False):
                protection = api.Protection
                options = {
                    "DrawingObjects": bool(api.ProtectDrawingObjects),
                    "Contents": True,
                    "Scenarios": bool(api.ProtectScenarios),
                    **{option: bool(getattr(protection, option)) for option in PROTECTION_OPTIONS},
                }
                api.Unprotect()
            self._protection[name] = options
        return sheet

    def _protect_again(self) -> None:
        for name, options in self._protection.items():
            if options is not None:
                self.book.sheets[name].api.Protect(**options)
        self._protection.clear()

    def clear_marks(self) -> None:
        """Remove the previous check's marks: each recorded cell gets back its fill and note."""
        if MARKS_SHEET not in [sheet.name for sheet in self.book.sheets]:
            return
        record = self.book.sheets[MARKS_SHEET]
        rows = record.range("A1").expand().options(ndim=2).value[1:]
        present = {sheet.name for sheet in self.book.sheets}
        for sheet, cell, fill, note in ((row + [None] * 4)[:4] for row in rows):
            if sheet not in present:
                continue
            rng = self._writable(sheet).range(cell)
            rng.color = fill or None
            if rng.note is not None and is_our_note(rng.note.text):
                rng.note.delete()
            if note and rng.note is None:
                rng.add_note(note)
        record.delete()

    def mark(self, sheet: str, cell: str, fill: str, note: str) -> None:
        rng = self._writable(sheet).range(cell)
        previous = rng.note.text if rng.note is not None else ""
        self._marks.append([sheet, cell, _hex(rng.color), "" if is_our_note(previous) else previous])
        rng.color = "#" + fill
        if rng.note is not None:
            rng.note.delete()
        rng.add_note(note)

    def _record_marks(self) -> None:
        if not self._marks:
            return
        record = self.book.sheets.add(MARKS_SHEET, after=self.book.sheets[len(self.book.sheets) - 1])
        record.range("A1").value = [MARKS_HEADER, *self._marks]
        record.visible = False
        self._marks = []

    def results_sheet(
        self,
        title: str,
        lines: list[str],
        header: list[str],
        rows: list[list[Any]],
        links: dict[int, tuple[str, str]],
    ) -> None:
        if title in [s.name for s in self.book.sheets]:
            self.book.sheets[title].delete()
        sheet = self.book.sheets.add(title, before=self.book.sheets[0])
        sheet.range("A1").options(ndim=2).value = [[line] for line in lines]
        top = len(lines) + 2
        sheet.range(f"A{top}").value = [header, *rows]
        for n, (target_sheet, cell) in links.items():
            sheet.range(f"A{top + 1 + n}").add_hyperlink(
                f"#'{target_sheet}'!{cell}", f"{target_sheet}!{cell}"
            )
        sheet.range(f"A{top}").expand("right").font.bold = True
        sheet.autofit("c")

    def set_formulas(self, sheet: str, formulas: dict[str, str]) -> None:
        target = self._writable(sheet)
        for address, block in formula_blocks(formulas):
            target.range(address).formula = block


def cannot_check(issues: list[Issue]) -> str:
    """Why a workbook cannot be checked, and how to fix it (a damaged template has one issue per
    damage; a file Excel opened is not the place for the advice on files)."""
    lines = [
        sentence(issue.message) if issue.rule == "FILE_UNREADABLE" else issue_sentences(issue)
        for issue in issues
    ]
    return "无法校验：" + "\n".join(lines)


def run_ribbon(
    name: str,
    names: dict[str, NamedRange],
    reader: BookReader,
    writer: MarkupWriter,
    notify: Callable[[str], None],
) -> CheckResult | None:
    """The 校验 button: check a workbook, mark it, restore its formulas, and tell the user the verdict."""
    try:
        identified = identify_book(name, names, reader)
    except InputError:
        notify(NOT_OUR_TEMPLATE)
        return None
    except UnreadableTemplate as unreadable:
        notify(cannot_check(unreadable.issues))
        return None
    result = check_identified(identified, name, load_policy())
    if result.kind is None:
        notify(cannot_check(result.issues))
        return None
    markup(result, writer, restore_formulas=True)
    notify(
        f"校验完成：{'通过' if result.valid else '不通过'}（错误 {result.errors} 条，警告 {result.warnings} 条）。"
        "详见“校验结果”工作表。"
    )
    return result


def main() -> None:
    """What the ribbon's 校验 button runs (RibbonMyAddin.RunMain → import dtfund; dtfund.main())."""
    import xlwings as xw

    book = xw.books.active

    def notify(message: str) -> None:
        book.app.alert(message, title="专项资金校验")

    try:
        reader = ExcelBook(book)
        run_ribbon(book.name, reader.defined_names(), reader, ExcelMarkup(book), notify)
    except Exception:  # noqa: BLE001 - Excel shows the officer a message, never a traceback
        notify(WRITE_FAILED)
