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
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
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
        removed += _entries(old_sheet, only_old)
        added += _entries(new_sheet, only_new)
        changed += _changes(old_sheet, new_sheet, pairs)
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


def _keys(sheet: Sheet) -> pd.Series:
    """Each row's key, stripped and upper-cased (None when blank), by Excel row."""
    column = sheet.table.frame[sheet.key]
    keys = column.astype(str).str.strip().str.upper()
    return keys.where(~_blank_mask(column.to_numpy(dtype=object)) & (keys != ""), None)


def match_rows(old: Sheet, new: Sheet) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pairs (old row, new row) of the same entry, the old rows only in OLD and the new only in NEW."""
    old_keys, new_keys = _keys(old), _keys(new)
    old_count, new_count = old_keys.value_counts(), new_keys.value_counts()

    def unique(keys: pd.Series) -> pd.Series:
        """Rows whose key is in neither file more than once."""
        return (
            keys.notna()
            & (keys.map(old_count).fillna(0) <= 1).to_numpy()
            & (keys.map(new_count).fillna(0) <= 1).to_numpy()
        )

    old_unique, new_unique = unique(old_keys), unique(new_keys)
    by_key = pd.merge(
        pd.DataFrame({"key": old_keys[old_unique], "old": old_keys.index[old_unique]}),
        pd.DataFrame({"key": new_keys[new_unique], "new": new_keys.index[new_unique]}),
        on="key",
    )
    # the rest (key blank or repeated) are the same entry when they sit on the same row
    by_row = old_keys.index[~old_unique].intersection(new_keys.index[~new_unique])
    old_rows = np.concatenate([by_key["old"].to_numpy(dtype=int), by_row.to_numpy(dtype=int)])
    new_rows = np.concatenate([by_key["new"].to_numpy(dtype=int), by_row.to_numpy(dtype=int)])
    order = np.argsort(new_rows, kind="stable")
    pairs = list(zip(old_rows[order].tolist(), new_rows[order].tolist(), strict=True))
    only_old = old_keys.index[~old_keys.index.isin(old_rows)]
    only_new = new_keys.index[~new_keys.index.isin(new_rows)]
    return pairs, [int(r) for r in only_old], [int(r) for r in only_new]


def _entries(sheet: Sheet, rows: list[int]) -> list[Entry]:
    """The entries of these rows (Excel row numbers), each column's cells taken at once."""
    key, name = _cells(sheet.table.frame, sheet.key, rows), _cells(sheet.table.frame, sheet.name_field, rows)
    amounts = {amount: _cells(sheet.table.amounts, amount, rows) for amount in sheet.amounts}
    return [
        Entry(sheet, row, _text(key[n]), _text(name[n]), {a: _money(cells[n]) for a, cells in amounts.items()})
        for n, row in enumerate(rows)
    ]


def _cells(frame: pd.DataFrame, name: str, rows: Sequence[int]) -> list[Any]:
    """A column's cells in these rows (Excel row numbers, the frame's index), as frame.at gives them."""
    return frame.loc[list(rows), name].tolist()


def _changes(old: Sheet, new: Sheet, pairs: list[tuple[int, int]]) -> list[Changed]:
    """The pairs in which a cell or an amount changed, each with what changed. Whole columns are
    compared at once; only a cell that may have changed is looked at on its own."""
    if not pairs:
        return []
    old_rows, new_rows = (np.array(rows, dtype=int) for rows in zip(*pairs, strict=True))
    old_at = old.table.frame.index.get_indexer(old_rows)
    new_at = new.table.frame.index.get_indexer(new_rows)
    keys, names = (new.table.frame[name].to_numpy()[new_at] for name in (new.key, new.name_field))
    found: dict[int, Changed] = {}

    def change(at: int) -> Changed:
        if at not in found:
            found[at] = Changed(new, int(old_rows[at]), int(new_rows[at]), _text(keys[at]), _text(names[at]))
        return found[at]

    for f in new.inputs:
        before_flag, before = (part[old_at] for part in _compared(old.table, f.id))
        after_flag, after = (part[new_at] for part in _compared(new.table, f.id))
        for at in _maybe_changed(before, after, before_flag | after_flag):
            shown_before = _shown_cell(old.table, f.id, int(old_rows[at]), bool(before_flag[at]), before[at])
            shown_after = _shown_cell(new.table, f.id, int(new_rows[at]), bool(after_flag[at]), after[at])
            if shown_before != shown_after:
                change(at).cells.append(
                    CellChange(
                        f.id,
                        f.label,
                        old.table.raw.cell(f.id, int(old_rows[at])),
                        new.table.raw.cell(f.id, int(new_rows[at])),
                        shown_before[1],
                        shown_after[1],
                    )
                )
    for name, label in new.amounts.items():
        before = old.table.amounts[name].to_numpy()[old_at]
        after = new.table.amounts[name].to_numpy()[new_at]
        for at in _maybe_changed(before, after):
            before_amount, after_amount = _money(before[at]), _money(after[at])
            if before_amount != after_amount:
                change(at).amounts[name] = (label, before_amount, after_amount)
    return [found[at] for at in sorted(found)]


def _compared(table: Table, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A column in the frame's row order: whether each cell is taken from its raw value (it failed to
    convert or was read from text), and its converted values (in the column's own dtype)."""

    def column() -> tuple[np.ndarray, np.ndarray]:
        flags = np.zeros(len(table.frame), dtype=bool)
        for frame in (table.failed, table.from_text):
            if name in frame.columns:
                flags |= frame[name].reindex(table.frame.index, fill_value=False).to_numpy(dtype=bool)
        return flags, table.frame[name].to_numpy()

    return table.once(f"diff_column:{name}", column)


def _shown_cell(table: Table, name: str, row: int, flagged: bool, value: Any) -> tuple[bool, Any]:
    """A cell as compared: (taken from its raw value, the value shown). A cell that converted cleanly
    is its converted value; one that failed or was read from text is its raw value."""
    if flagged:
        return True, _shown(table.raw.values[name][_positions(table)[row]])
    return False, _shown(pd.Timestamp(value) if isinstance(value, np.datetime64) else value)


def _positions(table: Table) -> dict[int, int]:
    return table.once("diff_positions", lambda: {row: i for i, row in enumerate(table.raw.rows)})


def _maybe_changed(before: np.ndarray, after: np.ndarray, also: np.ndarray | None = None) -> list[int]:
    """Positions where two columns may differ: unequal and not both blank, or marked in ALSO (a superset
    of the cells that differ as shown, which the caller then compares one by one)."""
    try:
        unequal = np.asarray(before != after, dtype=bool)
    except TypeError:  # a value whose comparison has no truth value (pandas.NA): blanks first
        before, after = before.astype(object), after.astype(object)
        before[_blank_mask(before)] = None
        after[_blank_mask(after)] = None
        unequal = np.asarray(before != after, dtype=bool)
    at = np.flatnonzero(unequal)
    at = at[~(_blank_mask(before[at]) & _blank_mask(after[at]))]
    if also is not None:
        at = np.union1d(at, np.flatnonzero(also))
    return at.tolist()


def _blank_mask(values: np.ndarray) -> np.ndarray:
    """Which cells of an object column are blank (None, NaN, NaT or the empty string), as `_blank`."""
    blank = pd.isna(values)
    if values.dtype == object:
        blank |= values == ""
    return blank


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
