"""Layer (1b) of every check: the template's structure, before any value is read. Each table's header
row must be the template's, column by column, and each column's defined name must cover its own column
over the table's rows; otherwise values would be read from the wrong column or paired with the wrong row.

A damaged layout is explained, not listed cell by cell: a deleted, inserted, moved or renamed column, or
two swapped columns, is one issue naming the column."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Literal

from addin import template_spec as spec
from addin.check.identity import Identified, UnreadableTemplate, text_of
from addin.check.table import did_you_mean, header_key
from addin.io.read_limits import template_grid
from addin.io.workbook_reader import InputError, NamedRange
from schemas.awards import AwardKind, award_kinds
from schemas.fields import application_fields
from schemas.policy import Policy
from schemas.registry import Issue, implements, make_issue

MAX_FINDINGS = 3  # more damages than this on one sheet are one issue: the row is no longer the template's
LISTED_COLUMNS = 8  # columns a message names before it says 等
FOUND_LENGTH = 30  # characters of a found header quoted in a message


@dataclass(frozen=True)
class Column:
    """One column of a template's table: its field, its header text, its letter and the defined name
    over its values (None when the check reads it by no name)."""

    field: str
    header: str
    letter: str
    name: str | None = None
    label: str = ""  # the header without its unit, also accepted

    def accepts(self) -> frozenset[str]:
        """The header keys this column accepts: its header, or its label alone."""
        return frozenset(header_key(text) for text in (self.header, self.label) if text)


@dataclass(frozen=True)
class Layout:
    """Where a table sits on its sheet, as the generator lays it out."""

    sheet: str
    header_row: int
    first_row: int
    columns: tuple[Column, ...]
    template: str  # the `dtfund template` command that makes a new one
    below: tuple[str, str, str] | None = None  # (name, first, last letter) of a name over the row after it


def layouts(kind: str, policy: Policy) -> list[Layout]:
    """The tables of one of our templates (its template id), in the order they are checked."""
    if kind == spec.PLAN_TEMPLATE_ID:
        return [_plan_layout()]
    if kind == spec.AWARDS_TEMPLATE_ID:
        return [_award_layout(k) for k in award_kinds(policy)]
    return [_application_layout(policy)]


def _application_layout(policy: Policy) -> Layout:
    letters = spec.column_letters(policy)
    columns = tuple(Column(f.id, f.header, letters[f.id], f.id, f.label) for f in application_fields(policy))
    return Layout(spec.DATA_SHEET, spec.HEADER_ROW, spec.FIRST_DATA_ROW, columns, "application")


def _award_layout(kind: AwardKind) -> Layout:
    letters = spec.award_letters(kind.fields)
    columns = tuple(
        Column(f.id, f.header, letters[f.id], spec.award_column_name(kind.id, f.id), f.label)
        for f in kind.fields
    )
    return Layout(kind.sheet, spec.AWARDS_HEADER_ROW, spec.AWARDS_FIRST_DATA_ROW, columns, "awards")


def _plan_layout() -> Layout:
    columns = tuple(
        Column(column, header, spec.PLAN_COLUMNS[column], spec.PLAN_NAMES.get(column))
        for column, header in sorted(spec.PLAN_HEADERS.items(), key=lambda item: spec.PLAN_COLUMNS[item[0]])
    )
    below = (spec.PLAN_TOTAL_NAME, spec.PLAN_COLUMNS["budget"], spec.PLAN_COLUMNS["division"])
    return Layout(spec.PLAN_SHEET, spec.PLAN_HEADER_ROW, spec.PLAN_FIRST_LINE_ROW, columns, "plan", below)


def check_structure(identified: Identified, policy: Policy) -> list[Issue]:
    """Raise UnreadableTemplate with one issue per damage when a table's headers or defined names are
    not the template's; InputError when one of its sheets is missing. Returns the warnings: a table's
    sheet renamed (its defined names moved with it, as Excel moves them) is read through the names."""
    _require_single_cells(identified)
    _require_policy(identified, policy)
    issues: list[Issue] = []
    warnings: list[Issue] = []
    for layout in layouts(identified.kind, policy):
        renamed = _renamed_sheet(identified, layout)
        if renamed is not None:
            warnings.append(
                make_issue(
                    "SHEET_RENAMED", sheet=renamed, file=identified.name, value=renamed, expected=layout.sheet
                )
            )
            layout = replace(layout, sheet=renamed)
        found = header_issues(layout, _header_row(identified, layout), identified.name)
        issues += found or name_issues(layout, identified.names, identified.name)
    if issues:
        raise UnreadableTemplate(issues, identified.template)
    return warnings


@implements("TEMPLATE_POLICY_MISMATCH")
def _require_policy(identified: Identified, policy: Policy) -> None:
    """A template made for another policy (its columns and rules are that policy's): said as such, not as
    columns changed (a 合肥 workbook checked without --policy)."""
    if identified.made_for is not None and identified.made_for != policy.id:
        issue = make_issue(
            "TEMPLATE_POLICY_MISMATCH", file=identified.name, value=identified.made_for, expected=policy.id
        )
        raise UnreadableTemplate([issue], identified.template)


@implements("SHEET_RENAMED")
def _renamed_sheet(identified: Identified, layout: Layout) -> str | None:
    """The sheet a table's defined names all point to, when the template's sheet of that name is gone
    (the clerk renamed it); None when the sheet is there, or the names do not agree on one sheet."""
    if layout.sheet in identified.book.sheet_names:
        return None
    sheets = {identified.names[c.name].sheet for c in layout.columns if c.name and c.name in identified.names}
    if len(sheets) != 1:
        return None
    [sheet] = sheets
    return sheet if sheet in identified.book.sheet_names else None


TEMPLATE_CELL_PREFIX = "DTFUND_"  # the names of the template's own cells (its id, the 填报单位, …)


def _require_single_cells(identified: Identified) -> None:
    """Each name of one of the template's own cells refers to one cell (a range stretched over many
    rows would be read, or crafted, as something else); raises InputError naming it."""
    for name, ref in identified.names.items():
        if name.upper().startswith(TEMPLATE_CELL_PREFIX) and (
            ref.first_row != ref.last_row or ref.first_column != ref.last_column
        ):
            raise InputError(
                f"{identified.name} 的定义名称“{name}”应指向模板的一个单元格，却指向 {_where(ref)}。",
                remedy="请勿修改定义名称（可在“公式 → 名称管理器”中查看）。请用 dtfund template 生成新模板，"
                "把数据按列复制过去后重新校验。",
            )


def _header_row(identified: Identified, layout: Layout) -> list[object]:
    """The header row's cells, from column A to one column past the table's last (a single read)."""
    if layout.sheet not in identified.book.sheet_names:
        hint = did_you_mean(identified.book.sheet_names, [layout.sheet])
        raise InputError(
            f"{identified.name} 缺少工作表“{layout.sheet}”{hint}。",
            remedy=f"请勿删除或改名模板的工作表。请用 dtfund template {layout.template} 生成新模板，"
            "把数据按列复制过去后重新校验。",
        )
    last = spec.column_letter(len(layout.columns) + 1)
    row = NamedRange(layout.sheet, "A", layout.header_row, last, layout.header_row)
    return identified.book.row(row)


# --- headers -----------------------------------------------------------------------------------------

Accepted = list[frozenset[str]]  # per column of the template, the header keys it accepts
FindingKind = Literal["deleted", "inserted", "moved", "swapped", "renamed", "many"]


@dataclass(frozen=True)
class Finding:
    """An explanation of some wrong headers: what happened (`kind`), at which columns (`at`, indices
    into the layout's columns: a moved column's from and to), and which wrong columns it accounts for."""

    kind: FindingKind
    at: tuple[int, ...]
    covers: frozenset[int]


@implements("TEMPLATE_COLUMN_CHANGED")
def header_issues(layout: Layout, cells: list[object], file: str | None = None) -> list[Issue]:
    """One issue per damage of the header row (`cells` from column A): none when every column's
    header is the template's."""
    expected = [c.accepts() for c in layout.columns]
    keys = [header_key(cell) for cell in cells] + [""] * (len(expected) + 1 - len(cells))
    findings = explain(expected, keys)
    if len(findings) > MAX_FINDINGS:
        wrong = sorted(set().union(*(f.covers for f in findings)))
        findings = [Finding("many", tuple(wrong), frozenset(wrong))]
    return [_header_issue(layout, finding, cells, keys, file) for finding in findings]


def explain(expected: Accepted, keys: list[str]) -> list[Finding]:
    """The damages that account for every column whose header (`keys`, one more than `expected`)
    is not the template's, from the left."""
    wrong = [n for n, accepted in enumerate(expected) if keys[n] not in accepted]
    findings: list[Finding] = []
    while wrong:
        start = wrong[0]
        finding = next(
            found
            for attempt in (_swapped, _shifted_left, _shifted_right, _renamed)
            if (found := attempt(start, expected, keys, set(wrong))) is not None
        )
        findings.append(finding)
        wrong = [n for n in wrong if n not in finding.covers]
    return findings


def _swapped(start: int, expected: Accepted, keys: list[str], wrong: set[int]) -> Finding | None:
    """Two columns whose headers (and so, presumably, contents) changed places."""
    for other in sorted(wrong - {start}):
        if keys[start] in expected[other] and keys[other] in expected[start]:
            return Finding("swapped", (start, other), frozenset((start, other)))
    return None


def _shifted_left(start: int, expected: Accepted, keys: list[str], wrong: set[int]) -> Finding | None:
    """The column at `start` is gone and the ones after it moved one column left: deleted (to the end
    of the table) or moved right (its header turns up where the shift stops)."""
    last = len(expected) - 1
    stop = start
    while stop < last and keys[stop] in expected[stop + 1] and stop in wrong:
        stop += 1
    if stop == start or stop not in wrong:
        return None
    if stop == last:
        return Finding("deleted", (start,), frozenset(range(start, last + 1)))
    if keys[stop] in expected[start]:
        return Finding("moved", (start, stop), frozenset(range(start, stop + 1)))
    return Finding("deleted", (start,), frozenset(range(start, stop)))


def _shifted_right(start: int, expected: Accepted, keys: list[str], wrong: set[int]) -> Finding | None:
    """A column was put in at `start` and the ones after it moved one column right: inserted (to the
    end of the table) or moved left (the column it came from is where the shift stops)."""
    last = len(expected) - 1
    stop = start
    while stop <= last and keys[stop + 1] in expected[stop] and stop in wrong:
        stop += 1
    if stop == start:
        return None
    if stop > last:
        return Finding("inserted", (start,), frozenset(range(start, last + 1)))
    if keys[start] in expected[stop] and stop in wrong:
        return Finding("moved", (stop, start), frozenset(range(start, stop + 1)))
    return Finding("inserted", (start,), frozenset(range(start, stop)))


def _renamed(start: int, expected: Accepted, keys: list[str], wrong: set[int]) -> Finding:
    """A column whose header is not the template's, and none of the above."""
    return Finding("renamed", (start,), frozenset((start,)))


def _header_issue(
    layout: Layout, finding: Finding, cells: list[object], keys: list[str], file: str | None
) -> Issue:
    """The issue of one finding, at the header cell of its first column."""
    at = finding.at[0]
    column, cell = layout.columns[at], f"{spec.column_letter(at + 1)}{layout.header_row}"
    return make_issue(
        "TEMPLATE_COLUMN_CHANGED",
        sheet=layout.sheet,
        cell=cell,
        row=layout.header_row,
        field=column.field,
        field_label=column.header,
        value=(text_of(cells[at]) if at < len(cells) else "") or None,
        expected=column.header,
        file=file,
        detail=_detail(layout, finding, cells, keys),
        sheet_name=layout.sheet,
        header_cell=cell,
        first_row=layout.first_row,
        template=layout.template,
    )


def _detail(layout: Layout, finding: Finding, cells: list[object], keys: list[str]) -> str:
    """What happened to the column, after the message's "expected X, found Y" of its header cell."""
    columns, at = layout.columns, finding.at[0]
    column = columns[at]
    if finding.kind == "swapped":
        other = finding.at[1]
        found = _quoted(cells[other] if other < len(cells) else None)
        return (
            f"；{columns[other].letter}{layout.header_row} 应为“{columns[other].header}”，却是{found}："
            f"{column.letter} 列与 {columns[other].letter} 列对调了"
        )
    if finding.kind == "deleted":
        return f"：“{column.header}”列不见了（可能被删除），其后各列都向左移了一列"
    if finding.kind == "inserted":
        return f"：{column.letter} 列多了一列（可能插入了列），模板的各列从这里起都向右移了一列"
    if finding.kind == "moved":
        to = columns[finding.at[1]].letter
        return f"：“{column.header}”列从 {column.letter} 列移到了 {to} 列，其间各列都移动了一列"
    if finding.kind == "renamed":
        return _hint(layout, at, cells, keys)
    letters = "、".join(columns[n].letter for n in finding.at[:LISTED_COLUMNS])
    letters += " 等列" if len(finding.at) > LISTED_COLUMNS else " 列"
    return (
        f"；共 {len(finding.at)} 列的表头与模板不符（{letters}），"
        f"第 {layout.header_row} 行可能已不是表头行（是否插入或删除了行？）"
    )


def _hint(layout: Layout, at: int, cells: list[object], keys: list[str]) -> str:
    """Whose header a wrong one is: another column's exactly, or one it looks like."""
    owner = next((c for c in layout.columns if keys[at] in c.accepts()), None)
    if owner is not None:
        here = layout.columns[at].letter
        return f"（“{owner.header}”是 {owner.letter} 列的表头，是否把该列复制到了 {here} 列？）"
    text = text_of(cells[at]) if at < len(cells) else ""
    if not text:
        return "（该列可能被删除，或表头被清空）"
    return did_you_mean([c.header for c in layout.columns], [text])


def _quoted(value: object) -> str:
    """A found header as a message quotes it."""
    text = text_of(value)
    if not text:
        return "空白"
    return f"“{text if len(text) <= FOUND_LENGTH else text[:FOUND_LENGTH] + '…'}”"


# --- defined names -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Misplaced:
    """A defined name over the wrong cells: which, whose column, where it points, where it should."""

    name: str
    column: str  # the header of the column it is for
    ref: NamedRange
    wanted: NamedRange
    detail: str


@implements("TEMPLATE_NAME_MISPLACED")
def name_issues(layout: Layout, names: dict[str, NamedRange], file: str | None = None) -> list[Issue]:
    """One issue per defined name that does not cover its own column over the table's rows (the rows
    most of the table's names cover). A missing name is left to Identified.require."""
    misplaced = misplaced_names(layout, names)
    if len(misplaced) > MAX_FINDINGS:
        first, others = misplaced[0], "、".join(m.name for m in misplaced[1:])
        detail = f"{first.detail}；另有 {len(misplaced) - 1} 个定义名称（{others}）也与表头不一致"
        misplaced = [Misplaced(first.name, first.column, first.ref, first.wanted, detail)]
    return [_name_issue(layout, m, file) for m in misplaced]


def misplaced_names(layout: Layout, names: dict[str, NamedRange]) -> list[Misplaced]:
    """The table's defined names that are not where the template puts them, in column order."""
    present = [(c, names[c.name]) for c in layout.columns if c.name and c.name in names]
    if not present:
        return []
    # The rows most names cover, but never past the longest table of a template: names stretched
    # beyond it (by hand, or crafted) would have every row down to their end read.
    last_row = min(Counter(ref.last_row for _, ref in present).most_common(1)[0][0], _longest_table_row())
    misplaced = []
    for column, ref in present:
        wanted = NamedRange(layout.sheet, column.letter, layout.first_row, column.letter, last_row)
        if ref != wanted:
            detail = _name_detail(layout, column, ref, wanted)
            misplaced.append(Misplaced(column.name or "", column.header, ref, wanted, detail))
    if layout.below and layout.below[0] in names:
        name, first, last = layout.below
        wanted = NamedRange(layout.sheet, first, last_row + 1, last, last_row + 1)
        if names[name] != wanted:
            detail = f"它应覆盖表格下方合计行（第 {wanted.first_row} 行）的 {first} 到 {last} 列"
            misplaced.append(Misplaced(name, "合计", names[name], wanted, detail))
    return misplaced


def _longest_table_row() -> int:
    """The last row of the longest table a template can have (the row below it is its 合计 row)."""
    return template_grid().last_row - 1


def _name_detail(layout: Layout, column: Column, ref: NamedRange, wanted: NamedRange) -> str:
    """What is wrong with a name's range, in the clerk's words."""
    if ref.last_row > _longest_table_row():
        return (
            f"它覆盖到第 {ref.last_row} 行，超出了模板最多的 {_longest_table_row()} 行"
            "（可能被手工修改或拉伸）"
        )
    if ref.sheet != wanted.sheet:
        return f"它指向工作表“{ref.sheet}”，而“{column.header}”列在工作表“{layout.sheet}”"
    if ref.first_column != ref.last_column:
        return (
            f"它跨了 {ref.first_column} 到 {ref.last_column} 列，应只含表头“{column.header}”所在的 "
            f"{column.letter} 列"
        )
    if ref.first_column != column.letter:
        return f"它指向 {ref.first_column} 列，而表头“{column.header}”在 {column.letter} 列"
    shift = ref.first_row - wanted.first_row
    if shift and shift == ref.last_row - wanted.last_row:
        direction = "下" if shift > 0 else "上"
        return f"它与其他各列的数据区域错开了 {abs(shift)} 行（向{direction}），每一行的数据会配到别的行"
    return (
        f"它覆盖第 {ref.first_row} 到第 {ref.last_row} 行，而表格其他各列的数据区域是第 {wanted.first_row} "
        f"到第 {wanted.last_row} 行"
    )


def _name_issue(layout: Layout, misplaced: Misplaced, file: str | None) -> Issue:
    """The issue of a misplaced name, at the first cell it should cover."""
    wanted = misplaced.wanted
    return make_issue(
        "TEMPLATE_NAME_MISPLACED",
        sheet=layout.sheet,
        cell=f"{wanted.first_column}{wanted.first_row}",
        field=next((c.field for c in layout.columns if c.name == misplaced.name), None),
        field_label=misplaced.column,
        value=_where(misplaced.ref),
        expected=_where(wanted),
        file=file,
        name=misplaced.name,
        column=misplaced.column,
        detail=misplaced.detail,
        template=layout.template,
    )


def _where(ref: NamedRange) -> str:
    """A range as the clerk reads it: 申报表!C5:C2004."""
    start, end = f"{ref.first_column}{ref.first_row}", f"{ref.last_column}{ref.last_row}"
    return f"{ref.sheet}!{start}" if start == end else f"{ref.sheet}!{start}:{end}"
