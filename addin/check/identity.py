"""Layer (1) of every check: is the file one of our templates, of a supported version, with every
defined name it needs."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from addin import template_spec as spec
from addin.check.table import RawTable, closest
from addin.io.read_ahead import read_ahead
from addin.io.workbook_reader import (
    InputError,
    NamedRange,
    NotSplittable,
    Workbook,
    column_cells,
    column_index,
    defined_names,
    sniff,
)
from schemas.registry import Issue, implements, make_issue

SUPPORTED = {
    spec.TEMPLATE_ID: spec.SUPPORTED_VERSIONS,
    spec.PLAN_TEMPLATE_ID: spec.PLAN_SUPPORTED_VERSIONS,
    spec.AWARDS_TEMPLATE_ID: spec.AWARDS_SUPPORTED_VERSIONS,
}


T = TypeVar("T")

OUR_SHEETS = (spec.DATA_SHEET, spec.PLAN_SHEET)  # (award sheets are named by the policy)


class UnreadableTemplate(Exception):
    """Our template, but it cannot be checked (unsupported version, damaged structure)."""

    def __init__(self, issues: list[Issue], template: dict[str, str]) -> None:
        super().__init__(issues[0].message)
        self.issues = issues
        self.template = template


class BookReader(Protocol):
    """What the checks read of a workbook: a file (python-calamine) or one open in Excel (xlwings)."""

    @property
    def sheet_names(self) -> list[str]: ...

    def value(self, ref: NamedRange) -> Any: ...

    def column(self, ref: NamedRange) -> list[Any]: ...


@dataclass
class Identified:
    name: str
    names: dict[str, NamedRange]
    book: BookReader
    template: dict[str, str]

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
                value="、".join(missing),
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
        it is read: a large sheet is parsed in parts, and the first parts' rows are taken while the
        later ones are parsed. When the reading in parts fails after some blocks were handed on, the
        sheet is read whole and `take` is given the whole table anew."""
        refs = self.require(list(names.values()))
        try:
            return take(self._table_blocks(names, refs))
        except NotSplittable:
            return take(self._table_blocks(names, refs))

    def _table_blocks(self, names: dict[str, str], refs: dict[str, NamedRange]) -> Iterator[RawTable]:
        """The table in blocks of consecutive rows (at least one, perhaps empty); rows the sheet does
        not have are left out. A table whose columns do not all start on its first row is read through
        `column`, in one block."""
        first_ref = refs[next(iter(names.values()))]
        first, last = first_ref.first_row, max(r.last_row for r in refs.values())
        columns = {field: refs[name].first_column for field, name in names.items()}
        aligned = all(ref.sheet == first_ref.sheet and ref.first_row == first for ref in refs.values())
        row_blocks = getattr(self.book, "row_blocks", None)
        if row_blocks is None or not aligned:
            values = {field: self.book.column(refs[name]) for field, name in names.items()}
            length = last - first + 1
            yield RawTable(
                sheet=first_ref.sheet,
                rows=list(range(first, last + 1)),
                values={field: (column + [None] * length)[:length] for field, column in values.items()},
                columns=columns,
            )
            return
        handed_on = False
        for block in row_blocks(first_ref.sheet, upto=last):
            top, bottom = max(first, block.first_row), min(last, block.first_row + len(block.rows) - 1)
            if top > bottom:
                continue
            cells = list(
                itertools.zip_longest(*block.rows[top - block.first_row : bottom - block.first_row + 1])
            )
            length, values = bottom - top + 1, {}
            for field, name in names.items():
                ref = refs[name]
                kept = min(length, max(0, ref.last_row - top + 1))  # past its own last row: blank
                index = column_index(ref.first_column) - block.first_column + 1
                values[field] = column_cells(cells, index, 0, kept) + [None] * (length - kept)
            handed_on = True
            yield RawTable(
                sheet=first_ref.sheet, rows=list(range(top, bottom + 1)), values=values, columns=columns
            )
        if not handed_on:
            yield RawTable(
                sheet=first_ref.sheet, rows=[], values={field: [] for field in names}, columns=columns
            )

    def unit(self) -> str:
        """The 填报单位 cell's text ("" when the template has none or it is blank)."""
        return text_of(self.book.value(self.names[spec.NAME_UNIT])) if spec.NAME_UNIT in self.names else ""


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@implements("TEMPLATE_VERSION_UNSUPPORTED")
def identify(path: Path) -> Identified:
    """Which of our templates the file is. Raises InputError when it is none of them."""
    ahead = read_ahead.take(path)
    if ahead is None:
        sniff(path)
    return identify_book(path.name, defined_names(path), Workbook(path, ahead))


def identify_book(name: str, names: dict[str, NamedRange], book: BookReader) -> Identified:
    """Which of our templates a workbook is, from its defined names and hidden version cells."""
    template_id = text_of(book.value(names[spec.NAME_TEMPLATE_ID])) if spec.NAME_TEMPLATE_ID in names else ""
    if template_id not in SUPPORTED:
        match = closest(book.sheet_names, list(OUR_SHEETS))
        hint = (
            f"工作簿中有工作表“{match[0]}”，您是否想用模板的“{match[1]}”？请把数据复制到 dtfund 模板的对应工作表。"
            if match
            else ""
        )
        raise InputError(
            f"{name} 不是专项资金的申报表、资金使用计划表或奖励名单模板（找不到模板标识）。{hint}"
            "请用 dtfund template application、plan 或 awards 生成模板后填报。"
        )
    version = (
        text_of(book.value(names[spec.NAME_TEMPLATE_VERSION])) if spec.NAME_TEMPLATE_VERSION in names else ""
    )
    template = {"id": template_id, "version": version}
    if version not in SUPPORTED[template_id]:
        issue = make_issue(
            "TEMPLATE_VERSION_UNSUPPORTED",
            file=name,
            value=f"{template_id} {version}",
            expected="、".join(SUPPORTED[template_id]),
        )
        raise UnreadableTemplate([issue], template)
    return Identified(name=name, names=names, book=book, template=template)
