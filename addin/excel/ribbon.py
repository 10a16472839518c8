"""The add-in's side in Excel: an open workbook read and marked through xlwings, and the ribbon's
校验 button. Excel (Windows or macOS) is needed to run this; the logic it calls is the CLI's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from addin.check.identity import UnreadableTemplate, identify_book
from addin.check.pipeline import CheckResult, check_identified
from addin.excel.markup import MarkupWriter, markup
from addin.io.named_tables import BookReader
from addin.io.workbook_reader import InputError, NamedRange, parse_reference
from schemas.policy import load_policy
from schemas.registry import Issue, issue_sentences, sentence

NOT_OUR_TEMPLATE = (
    "当前工作簿不是专项资金的申报表或资金使用计划表。\n"
    "请先打开用 dtfund template application（或 dtfund template plan）生成的模板，再点击“校验”。"
)


class ExcelBook:
    """An open Excel workbook, read like a file (see addin.io.named_tables.BookReader)."""

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
        return self.book.sheets[ref.sheet].range(f"{ref.first_column}{ref.first_row}").value

    def column(self, ref: NamedRange) -> list[Any]:
        area = f"{ref.first_column}{ref.first_row}:{ref.first_column}{ref.last_row}"
        return list(self.book.sheets[ref.sheet].range(area).options(ndim=1).value)

    def row(self, ref: NamedRange) -> list[Any]:
        area = f"{ref.first_column}{ref.first_row}:{ref.last_column}{ref.first_row}"
        return list(self.book.sheets[ref.sheet].range(area).options(ndim=1).value)


class ExcelMarkup:
    """Marks an open workbook through xlwings (protected sheets are unprotected while writing)."""

    def __init__(self, book: Any) -> None:
        self.book = book

    def _unprotected(self, sheet: str, action: Callable[[Any], None]) -> None:
        target = self.book.sheets[sheet]
        protected = bool(target.api.ProtectContents) if hasattr(target.api, "ProtectContents") else False
        if protected:
            target.api.Unprotect()
        try:
            action(target)
        finally:
            if protected:
                target.api.Protect(
                    DrawingObjects=False, Contents=True, AllowFormattingColumns=True, AllowFormattingRows=True
                )

    def mark(self, sheet: str, cell: str, fill: str, note: str) -> None:
        def apply(target: Any) -> None:
            rng = target.range(cell)
            rng.color = "#" + fill
            if rng.note is not None:
                rng.note.delete()
            rng.api.AddComment(note)

        self._unprotected(sheet, apply)

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
        def apply(target: Any) -> None:
            for cell, formula in formulas.items():
                target.range(cell).formula = formula

        self._unprotected(sheet, apply)


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
    reader = ExcelBook(book)
    run_ribbon(
        book.name,
        reader.defined_names(),
        reader,
        ExcelMarkup(book),
        lambda message: book.app.alert(message, title="专项资金校验"),
    )
