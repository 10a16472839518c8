"""Two checked versions of one unit's workbook compared: entries added and removed (by credit code), and
for each entry in both, every input cell and computed amount that changed. Pure: no I/O, no rules.

Two versions of different 填报单位 cannot be compared; one with the cell blank can (a change).
Matching: an entry whose key (credit code; the division on the 师市奖励 sheet) appears exactly once in
each file is matched by it. The rest (key blank, or repeated within a file) are matched by Excel row:
the same row in both files is the same entry; otherwise it is added or removed.
Values are compared after conversion (800000 and 800000.0 are the same); a cell that did not convert or
was read from text (the text "800,000") is compared by its raw value too, since the amounts treat it
differently from the number."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from addin.check.identity import KIND_NAMES
from addin.check.pipeline import CheckResult
from schemas.calculation import funding_by_source
from schemas.fields import Field, amount_fields, application_fields
from schemas.money import ZERO
from schemas.registry import issue_sentences
from schemas.table import Table

AWARD_AMOUNT_LABEL = "计入金额"


class DiffError(Exception):
    """The two files cannot be compared (unreadable, of different kinds or units); a Chinese message."""


@dataclass(frozen=True)
class Sheet:
    """One compared table: where it is, its input fields, its amounts and what identifies an entry."""

    id: str
    name: str
    table: Table
    inputs: tuple[Field, ...]
    amounts: dict[str, str]  # amount column -> label
    key: str
    name_field: str


@dataclass
class CellChange:
    field: str
    label: str
    old_cell: str | None
    new_cell: str | None
    old: Any
    new: Any


@dataclass
class Entry:
    """An enterprise (or division) present in one file only; its amounts as two-place strings."""

    sheet: Sheet
    row: int
    key: str | None
    name: str | None
    amounts: dict[str, str]


@dataclass
class Changed:
    """An entry in both files and what changed: cells, and amounts as (label, old, new)."""

    sheet: Sheet
    old_row: int
    new_row: int
    key: str | None
    name: str | None
    cells: list[CellChange] = field(default_factory=list)
    amounts: dict[str, tuple[str, str, str]] = field(default_factory=dict)


@dataclass
class Diff:
    old: CheckResult
    new: CheckResult
    added: list[Entry]
    removed: list[Entry]
    changed: list[Changed]
    before: dict[str, Decimal]  # total per funding source
    after: dict[str, Decimal]

    @property
    def unit_changed(self) -> bool:
        """The 填报单位 cell filled in (or cleared) between the versions."""
        return self.old.unit != self.new.unit

    @property
    def same(self) -> bool:
        return not (self.added or self.removed or self.changed or self.unit_changed)


def compare(old: CheckResult, new: CheckResult) -> Diff:
    """Compare two checked workbooks of the same kind and unit; DiffError when they cannot be."""
    _require_comparable(old, new)
    added, removed, changed = [], [], []
    for old_sheet, new_sheet in zip(_sheets(old), _sheets(new), strict=True):
        pairs, only_old, only_new = match_rows(old_sheet, new_sheet)
        removed += [_entry(old_sheet, row) for row in only_old]
        added += [_entry(new_sheet, row) for row in only_new]
        for old_row, new_row in pairs:
            change = _changed(old_sheet, new_sheet, old_row, new_row)
            if change.cells or change.amounts:
                changed.append(change)
    return Diff(old, new, added, removed, changed, by_source(old), by_source(new))


def _require_comparable(old: CheckResult, new: CheckResult) -> None:
    for result in (old, new):
        if result.kind is None:
            reasons = "".join(issue_sentences(i) for i in result.issues)
            raise DiffError(f"无法比较：{reasons or f'{Path(result.file).name} 不是本工具的模板。'}")
        if result.kind not in ("application", "awards"):
            raise DiffError(
                f"{result.file} 是{KIND_NAMES[result.kind]}，只能比较申报表或奖励与补贴名单。"
                "请指定同一填报单位的两个申报表（或两个奖励与补贴名单）。"
            )
    if old.kind != new.kind:
        raise DiffError(
            f"两个文件的种类不同：{old.file} 是{KIND_NAMES[old.kind]}，{new.file} 是{KIND_NAMES[new.kind]}。"
            "请比较同一种表的两个版本。"
        )
    if old.unit and new.unit and old.unit != new.unit:
        raise DiffError(
            f"两个文件的填报单位不同：{old.file} 为“{old.unit or '（空）'}”，{new.file} 为“{new.unit or '（空）'}”。"
            "请比较同一填报单位的两个版本。"
        )


def _sheets(result: CheckResult) -> list[Sheet]:
    """The tables of a checked workbook, in workbook order."""
    if result.kind == "application":
        labels = {f.id: f.label for f in application_fields(result.policy)}
        inputs = tuple(f for f in application_fields(result.policy) if not f.computed)
        amounts = {name: labels[name] for name in amount_fields(result.policy)}
        return [Sheet("application", result.table.sheet, result.table, inputs, amounts, "uscc", "name")]
    return [
        Sheet(
            s.kind.id,
            s.kind.sheet,
            s.table,
            s.kind.input_fields(),
            {"award": AWARD_AMOUNT_LABEL},
            s.kind.key_field,
            s.kind.name_field,
        )
        for s in result.awards or []
    ]


def by_source(result: CheckResult) -> dict[str, Decimal]:
    """Σ per funding source of a workbook's amounts."""
    if result.kind == "application":
        return funding_by_source(result.table.amounts, result.policy)
    totals = dict.fromkeys(result.policy.funding_sources, ZERO)
    for sheet in result.awards or []:
        for source, amount in sheet.by_source().items():
            totals[source] = totals.get(source, ZERO) + amount
    return totals


def _keys(sheet: Sheet) -> dict[int, str | None]:
    """Each row's key, stripped and upper-cased (None when blank)."""
    keys = {}
    for row, value in sheet.table.frame[sheet.key].items():
        text = None if _blank(value) else str(value).strip().upper()
        keys[int(row)] = text or None
    return keys


def match_rows(old: Sheet, new: Sheet) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs (old row, new row) of the same entry, the old rows only in OLD and the new only in NEW."""
    old_keys, new_keys = _keys(old), _keys(new)
    old_count, new_count = Counter(old_keys.values()), Counter(new_keys.values())

    def unique(key: str | None) -> bool:
        return key is not None and old_count[key] <= 1 and new_count[key] <= 1

    new_by_key = {k: row for row, k in new_keys.items() if unique(k)}
    pairs = [(row, new_by_key[k]) for row, k in old_keys.items() if unique(k) and k in new_by_key]
    paired_old, paired_new = {o for o, _ in pairs}, {n for _, n in pairs}
    left_old = [r for r, k in old_keys.items() if r not in paired_old and not unique(k)]
    left_new = {r for r, k in new_keys.items() if r not in paired_new and not unique(k)}
    pairs += [(row, row) for row in left_old if row in left_new]
    paired_old, paired_new = {o for o, _ in pairs}, {n for _, n in pairs}
    only_old = [r for r in old_keys if r not in paired_old]
    only_new = [r for r in new_keys if r not in paired_new]
    return sorted(pairs, key=lambda p: p[1]), only_old, only_new


def _entry(sheet: Sheet, row: int) -> Entry:
    frame = sheet.table.frame
    return Entry(
        sheet,
        row,
        _text(frame.at[row, sheet.key]),
        _text(frame.at[row, sheet.name_field]),
        {name: _money(sheet.table.amounts.at[row, name]) for name in sheet.amounts},
    )


def _changed(old: Sheet, new: Sheet, old_row: int, new_row: int) -> Changed:
    frame = new.table.frame
    change = Changed(
        new,
        old_row,
        new_row,
        _text(frame.at[new_row, new.key]),
        _text(frame.at[new_row, new.name_field]),
    )
    old_index, new_index = _positions(old.table), _positions(new.table)
    for f in new.inputs:
        before = _cell(old.table, f.id, old_row, old_index)
        after = _cell(new.table, f.id, new_row, new_index)
        if before != after:
            change.cells.append(
                CellChange(
                    f.id,
                    f.label,
                    old.table.raw.cell(f.id, old_row),
                    new.table.raw.cell(f.id, new_row),
                    before[1],
                    after[1],
                )
            )
    for name, label in new.amounts.items():
        before_amount = _money(old.table.amounts.at[old_row, name])
        after_amount = _money(new.table.amounts.at[new_row, name])
        if before_amount != after_amount:
            change.amounts[name] = (label, before_amount, after_amount)
    return change


def _positions(table: Table) -> dict[int, int]:
    return table.once("diff_positions", lambda: {row: i for i, row in enumerate(table.raw.rows)})


def _cell(table: Table, name: str, row: int, positions: dict[int, int]) -> tuple[bool, Any]:
    """A cell as compared: (taken from its raw value, the value shown). A cell that converted cleanly
    is its converted value; one that failed or was read from text is its raw value."""
    raw_flagged = any(
        name in flags.columns and bool(flags.at[row, name]) for flags in (table.failed, table.from_text)
    )
    if raw_flagged:
        return True, _shown(table.raw.values[name][positions[row]])
    return False, _shown(table.frame.at[row, name])


def _shown(value: Any) -> Any:
    """A value as JSON and the terminal show it: money to the cent, dates as dates, blanks as None."""
    if _blank(value):
        return None
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, pd.Timestamp | dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _blank(value: Any) -> bool:
    if value is None or isinstance(value, str):
        return value is None or value == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _text(value: Any) -> str | None:
    return None if _blank(value) else str(value)


def _money(value: Any) -> str:
    return f"{(ZERO if _blank(value) else Decimal(value)):.2f}"
