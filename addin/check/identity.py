"""Layer (1) of every check: is the file one of our templates, of a supported version, with every
defined name it needs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from addin import template_spec as spec
from addin.check.table import RawTable, closest
from addin.io.named_tables import BookReader, RowBatch, open_workbook, read_table_rows
from addin.io.workbook_reader import InputError, NamedRange, column_index
from schemas.registry import Issue, implements, make_issue
from schemas.submission import revision_of, submitted_on_issues

SUPPORTED = {
    spec.TEMPLATE_ID: spec.SUPPORTED_VERSIONS,
    spec.PLAN_TEMPLATE_ID: spec.PLAN_SUPPORTED_VERSIONS,
    spec.AWARDS_TEMPLATE_ID: spec.AWARDS_SUPPORTED_VERSIONS,
}


T = TypeVar("T")

OUR_SHEETS = (spec.DATA_SHEET, spec.PLAN_SHEET)  # (award sheets are named by the policy)
KIND_NAMES = {
    "application": "申报表",
    "awards": "奖励与补贴名单",
    "plan": "资金使用计划表",
}  # a workbook's kind, as said


class UnreadableTemplate(Exception):
    """Our template, but it cannot be checked (unsupported version, damaged structure)."""

    def __init__(
        self, issues: list[Issue], template: dict[str, str], identified: Identified | None = None
    ) -> None:
        super().__init__(issues[0].message)
        self.issues = issues
        self.template = template
        self.identified = identified  # what was identified, to read its 填报单位 and 版本号 if it can


# the policy's id, as templates.sheets.meta_sheet writes it on the hidden _meta sheet
META_POLICY = NamedRange(spec.META_SHEET, "B", 3, "B", 3)
MAX_LISTED_BELOW = 5  # cells below a table named in its issue (the rows holding one are counted)


@dataclass
class Identified:
    name: str
    names: dict[str, NamedRange]
    book: BookReader
    template: dict[str, str]
    made_for: str | None = None  # the id of the policy the template was made for (its hidden _meta sheet)

    @property
    def kind(self) -> str:
        return self.template["id"]

    @implements("TEMPLATE_NAME_MISSING")
    def require(self, wanted: list[str]) -> dict[str, NamedRange]:
        """The named ranges the check needs; a missing one means the template was damaged."""
        missing = [name for name in wanted if name not in self.names]
        if missing:
            issue = make_issue(
                "TEMPLATE_NAME_MISSING",
                file=self.name,
                value="定义名称 " + "、".join(missing),
                expected="模板的全部定义名称",
            )
            raise UnreadableTemplate([issue], self.template)
        for name in wanted:
            if self.names[name].sheet not in self.book.sheet_names:
                raise InputError(f"{self.name} 缺少工作表“{self.names[name].sheet}”。")
        return {name: self.names[name] for name in wanted}

    def read_table(self, names: dict[str, str]) -> RawTable:
        """A table by its defined names (field id -> the name over its column); the first field's
        range gives the sheet and the first row. Rows past the sheet's last one are left out."""
        return self.read_table_in_blocks(names, RawTable.joined)

    def read_table_in_blocks(self, names: dict[str, str], take: Callable[[Iterator[RawTable]], T]) -> T:
        """What `take` makes of the table handed to it in blocks of consecutive rows, each as soon as
        it is read (so that one block is converted while the next is read). `take` must depend on the
        blocks alone: it may be handed the table a second time, from its first row."""
        refs = self.require(list(names.values()))
        columns = {field: refs[name] for field, name in names.items()}
        sheet = next(iter(columns.values())).sheet
        letters = {field: ref.first_column for field, ref in columns.items()}

        def take_tables(batches: Iterator[RowBatch]) -> T:
            return take(
                RawTable(sheet=sheet, rows=batch.rows, values=batch.values, columns=letters)
                for batch in batches
            )

        return read_table_rows(self.book, columns, take_tables)

    @implements("ROWS_BELOW_TABLE")
    def rows_below_issues(self, names: dict[str, str], template: str) -> list[Issue]:
        """An error when the table's sheet holds values below the table's last row, in its columns:
        rows a clerk typed past the template's rows, which the check would otherwise pass over (neither
        checked, consolidated nor paid). `template`: the `dtfund template` command that makes a larger
        one. Call it right after the table is read (its sheet's extent is known then)."""
        cells_below = getattr(self.book, "cells_below", None)  # (a book open in Excel: not looked at)
        refs = [self.names[name] for name in names.values() if name in self.names]
        if cells_below is None or not refs:
            return []
        first, last_row = refs[0], max(ref.last_row for ref in refs)
        columns = [column_index(ref.first_column) + 1 for ref in refs]
        found, rows = cells_below(first.sheet, last_row, min(columns), max(columns), MAX_LISTED_BELOW)
        if not found:
            return []
        references = [f"{spec.column_letter(column)}{row}" for row, column in found]
        listed = "、".join(references) + ("等" if rows > 1 or len(found) == MAX_LISTED_BELOW else "")
        return [
            make_issue(
                "ROWS_BELOW_TABLE",
                file=self.name,
                sheet=first.sheet,
                cell=references[0],
                row=found[0][0],
                value=listed,
                rows=rows,
                table_first=first.first_row,
                table_last=last_row,
                template=template,
            )
        ]

    def unit(self) -> str:
        """The 填报单位 cell's text ("" when the template has none or it is blank)."""
        return text_of(self.book.value(self.names[spec.NAME_UNIT])) if spec.NAME_UNIT in self.names else ""

    def revision(self) -> tuple[int, list[Issue]]:
        """The 版本号 (1 for a template made before it existed, with a warning) and its issues."""
        present = spec.NAME_REVISION in self.names
        ref = self.names.get(spec.NAME_REVISION) or self.names.get(spec.NAME_UNIT)
        sheet = ref.sheet if ref else ""
        value = self.book.value(ref) if present and ref else None
        return revision_of(value, present, sheet, spec.REVISION_CELL)

    def submitted_on_issues(self) -> list[Issue]:
        """A 报送日期 that is filled but is not a date."""
        ref = self.names.get(spec.NAME_SUBMITTED_ON)
        if ref is None:
            return []
        return submitted_on_issues(self.book.value(ref), True, ref.sheet, spec.SUBMITTED_ON_CELL)

    def submitted_on(self) -> dt.date | None:
        """The 报送日期 when it is a date (a blank or a text is no date)."""
        ref = self.names.get(spec.NAME_SUBMITTED_ON)
        value = self.book.value(ref) if ref is not None else None
        if isinstance(value, dt.datetime):
            return value.date()
        return value if isinstance(value, dt.date) else None

    def submission(self) -> tuple[int, list[Issue]]:
        """The revision, and the issues of the 版本号 and 报送日期 cells."""
        revision, issues = self.revision()
        return revision, issues + self.submitted_on_issues()


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@implements("TEMPLATE_VERSION_UNSUPPORTED")
def identify(path: Path) -> Identified:
    """Which of our templates the file is. Raises InputError when it is none of them."""
    names, book = open_workbook(path)
    return identify_book(path.name, names, book)


def identify_book(name: str, names: dict[str, NamedRange], book: BookReader) -> Identified:
    """Which of our templates a workbook is, from its defined names and hidden version cells."""
    template_id = text_of(book.value(names[spec.NAME_TEMPLATE_ID])) if spec.NAME_TEMPLATE_ID in names else ""
    if template_id not in SUPPORTED:
        match = closest(book.sheet_names, list(OUR_SHEETS))
        hint = f"工作簿中有工作表“{match[0]}”，您是否想用模板的“{match[1]}”？" if match else ""
        raise InputError(
            f"{name} 不是专项资金的申报表、资金使用计划表或奖励名单模板（找不到模板标识）。{hint}",
            remedy="请用 dtfund template application、plan 或 awards 生成模板，把数据复制到模板的对应工作表后再校验。",
        )
    version = (
        text_of(book.value(names[spec.NAME_TEMPLATE_VERSION])) if spec.NAME_TEMPLATE_VERSION in names else ""
    )
    template = {"id": template_id, "version": version}
    made_for = text_of(book.value(META_POLICY)) if spec.META_SHEET in book.sheet_names else ""
    if version not in SUPPORTED[template_id]:
        issue = make_issue(
            "TEMPLATE_VERSION_UNSUPPORTED",
            file=name,
            value=f"{template_id} {version}",
            expected="、".join(SUPPORTED[template_id]),
        )
        identified = Identified(name=name, names=names, book=book, template=template, made_for=made_for or None)
        raise UnreadableTemplate([issue], template, identified)
    return Identified(name=name, names=names, book=book, template=template, made_for=made_for or None)
