"""A table as it arrives (raw cell values by field, with their cells), and its conversion into a typed
Table (schemas.table). The CLI reads it from a workbook; the UDFs get it from a range."""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from addin.check.cells import (
    Converted,
    is_blank,
    normalize_text,
    plain_money,
    plain_text,
    plain_uscc,
    to_choice,
    to_date,
    to_money,
    to_stored_number,
    to_text,
    to_uscc,
)
from addin.template_spec import column_letter, column_letters
from schemas.fields import Field, application_fields, input_fields
from schemas.money import counted_amounts
from schemas.policy import Policy
from schemas.registry import Issue, make_issue
from schemas.table import Table
from schemas.total_rows import total_row_issues


@dataclass
class RawTable:
    """Raw values per field id, one entry per data row; `rows` are the Excel row numbers and `columns`
    the column letter of each field, so every issue can name its cell."""

    sheet: str
    rows: list[int]
    values: dict[str, list[Any]]
    columns: dict[str, str] = field(default_factory=dict)

    def cell(self, name: str, row: int) -> str | None:
        letter = self.columns.get(name)
        return f"{letter}{row}" if letter else None

    def locate(self, issues: list[Issue]) -> list[Issue]:
        """The issues of rules run on this table, placed at their cells (sheet and A1 address)."""
        for issue in issues:
            issue.sheet = self.sheet
            issue.cell = self.cell(issue.field, issue.row) if issue.field else None
        return issues

    @classmethod
    def joined(cls, tables: Iterable[RawTable]) -> RawTable:
        """Blocks of consecutive rows of one table (at least one), as one table."""
        parts = list(tables)
        if len(parts) == 1:
            return parts[0]
        return RawTable(
            sheet=parts[0].sheet,
            rows=list(itertools.chain.from_iterable(part.rows for part in parts)),
            values={
                name: list(itertools.chain.from_iterable(part.values[name] for part in parts))
                for name in parts[0].values
            },
            columns=parts[0].columns,
        )

    def without_blank_rows(self, fields: Sequence[Field] | None = None) -> RawTable:
        """Drop rows where every input cell is blank (empty rows between filled ones are skipped).
        `fields`: the table's fields (the application's by default)."""
        inputs = [f for f in (fields or application_fields(None)) if not f.computed]
        blank = range(len(self.rows))  # rows blank in every column looked at so far
        for name in (f.id for f in inputs if f.id in self.values):
            column = self.values[name]
            blank = [n for n in blank if is_blank(column[n])]
            if not blank:
                return self
        return self.without_rows({self.rows[n] for n in blank})

    def without_values(self) -> RawTable:
        """The table's rows and cells without their raw values (once converted, a check reports from
        the typed table; only `dtfund diff` shows a raw value)."""
        return RawTable(sheet=self.sheet, rows=self.rows, values={}, columns=self.columns)

    def without_rows(self, dropped: set[int]) -> RawTable:
        """The table without these Excel rows."""
        keep = [n for n, row in enumerate(self.rows) if row not in dropped]
        return RawTable(
            sheet=self.sheet,
            rows=[self.rows[n] for n in keep],
            columns=self.columns,
            values={name: [column[n] for n in keep] for name, column in self.values.items()},
        )


PLAIN = {"money": plain_money, "text": plain_text, "uscc": plain_uscc}


def _converter(spec: Field, policy: Policy) -> Callable[[Any], Converted]:
    if spec.kind == "money":
        return to_money
    if spec.kind == "date":
        return to_date
    if spec.kind == "uscc":
        return to_uscc
    if spec.kind == "choice":
        allowed = spec.allowed(policy)
        blank = spec.none_value if spec.required == "never" else None  # a required cell must be filled
        return lambda raw: to_choice(raw, allowed, blank)
    return to_text


_NUMBER_TYPES = {bool, int, float, Decimal}


def distinct_values(values: Sequence[Any]) -> tuple[np.ndarray, list[Any]]:
    """Codes, one per value, into the list of the column's distinct values (values[n] is
    distinct[codes[n]]). A column repeats its levels, choices, dates and amounts many times, so each
    distinct value is converted once. Equal values of different types stay apart: 1, 1.0 and True are
    equal in Python, and None and NaN are both missing to pandas."""
    count = len(values)
    mixed_numbers = len(set(map(type, values)) & _NUMBER_TYPES) > 1
    keys = ((type(v), v) for v in values) if mixed_numbers else values
    try:
        codes, uniques = pd.factorize(np.fromiter(keys, dtype=object, count=count))
    except TypeError:  # an unhashable value: no sharing
        return np.arange(count), list(values)
    distinct = [key[1] for key in uniques] if mixed_numbers else uniques.tolist()  # each one's first
    missing = np.flatnonzero(codes < 0)
    if len(missing) and len(set(map(type, map(values.__getitem__, missing.tolist())))) == 1:
        codes[missing] = len(distinct)  # one kind of missing (a blank column: all None)
        distinct.append(values[missing[0]])
    elif len(missing):  # None, NaN, NaT: one code per type
        kinds = [type(values[n]) for n in missing]
        code_of: dict[type, int] = {}
        for n, kind in zip(missing, kinds, strict=True):
            if kind not in code_of:
                code_of[kind] = len(distinct)
                distinct.append(values[n])
        codes[missing] = [code_of[kind] for kind in kinds]
    return codes, distinct


def spread(per_distinct: Sequence[Any], codes: np.ndarray, dtype: Any = object) -> np.ndarray:
    """A column from one result per distinct value."""
    array = np.empty(len(per_distinct), dtype=dtype)
    array[:] = per_distinct
    return array[codes]


@dataclass
class ConvertedColumn:
    values: np.ndarray  # typed values (object)
    failed: np.ndarray  # bool
    from_text: np.ndarray  # bool
    broken: list[tuple[int, Converted]]  # (position, conversion) of each cell that broke a rule, in order
    codes: np.ndarray  # each cell's distinct value: values[n] is typed_distinct[codes[n]]
    typed_distinct: np.ndarray  # each distinct raw value's typed value (object)
    plain: np.ndarray  # bool per distinct value: taken as it is (PlainValues)

    def counted_money(self) -> np.ndarray:
        """A money column as the calculation and the rules count it (schemas.money.as_money: a blank as
        zero, each amount at the cent), worked out per distinct value. A plain amount is a number of
        whole cents already (cells.plain_money), so it counts as it is."""
        rest = np.flatnonzero(~self.plain)
        if not len(rest):
            return self.values
        counted = self.typed_distinct.copy()
        counted[rest] = _objects(counted_amounts(counted[rest].tolist()))
        return counted[self.codes]


PlainValues = Callable[[Sequence[Any]], tuple[np.ndarray, list[Any]]]


def convert_column(
    convert: Callable[[Any], Converted], values: Sequence[Any], plain: PlainValues | None = None
) -> ConvertedColumn:
    """Convert a column, each distinct raw value once. `plain` finds, in one go, the distinct values
    that convert to themselves (or to an obvious typed value) without breaking a rule; the rest go
    through `convert`. Both give the same result for every value (tested)."""
    codes, distinct = distinct_values(values)
    count = len(distinct)
    typed, failed = np.empty(count, dtype=object), np.zeros(count, dtype=bool)
    from_text, rules = np.zeros(count, dtype=bool), np.zeros(count, dtype=bool)
    results: dict[int, Converted] = {}
    done = np.zeros(count, dtype=bool)
    if plain is not None:
        positions, plain_values = plain(distinct)
        typed[positions] = _objects(plain_values)
        done[positions] = True
    for n in np.flatnonzero(~done):
        result = results[n] = convert(distinct[n])
        typed[n], failed[n], from_text[n], rules[n] = (
            result.value,
            result.failed,
            result.from_text,
            result.rule is not None,
        )
    return ConvertedColumn(
        values=typed[codes],
        failed=failed[codes],
        from_text=from_text[codes],
        broken=[(int(n), results[codes[n]]) for n in np.flatnonzero(rules[codes])],
        codes=codes,
        typed_distinct=typed,
        plain=done,
    )


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def convert_table(raw: RawTable, policy: Policy, fields: Sequence[Field] | None = None) -> Table:
    """Convert every input cell; each failure is one issue at its cell, and the cell becomes blank.
    `fields`: the table's fields (the application's by default; an award sheet's)."""
    fields = fields or application_fields(policy)
    inputs = [f for f in fields if not f.computed]
    index = pd.Index(raw.rows, name="row")
    typed: dict[str, Any] = {}
    failed: dict[str, np.ndarray] = {}
    from_text: dict[str, np.ndarray] = {}
    issues: list[Issue] = []
    money: dict[str, pd.Series] = {}
    for spec in inputs:
        column = convert_column(
            _converter(spec, policy), raw.values.get(spec.id, [None] * len(raw.rows)), PLAIN.get(spec.kind)
        )
        typed[spec.id] = column.values
        if spec.kind == "money":
            money[spec.id] = pd.Series(column.counted_money(), index=index, dtype=object)
        failed[spec.id], from_text[spec.id] = column.failed, column.from_text
        issues.extend(
            make_issue(
                converted.rule,
                sheet=raw.sheet,
                cell=raw.cell(spec.id, raw.rows[n]),
                row=raw.rows[n],
                field=spec.id,
                field_label=spec.label,
                field_clause=spec.clause,
                value=raw.values[spec.id][n] if converted.shown is None else converted.shown,
                expected=converted.expected,
            )
            for n, converted in column.broken
        )
    stored = {}
    for spec in (f for f in fields if f.computed):
        codes, numbers = distinct_values(raw.values.get(spec.id, [None] * len(raw.rows)))
        stored[spec.id] = spread([to_stored_number(number) for number in numbers], codes)
    frame = pd.DataFrame(typed, index=index, dtype=object)
    for spec in inputs:
        if spec.kind == "date":
            frame[spec.id] = pd.to_datetime(frame[spec.id])
    table = Table(
        fields=tuple(fields),
        frame=frame,
        failed=pd.DataFrame(failed, index=index),
        from_text=pd.DataFrame(from_text, index=index),
        stored=pd.DataFrame(stored, index=index, dtype=object),
        policy=policy,
        raw=raw,
        issues=issues,
    )
    table.keep_money(money)
    return table


def convert_rows(raw: RawTable, policy: Policy, fields: Sequence[Field] | None = None) -> Table:
    """Convert a table's rows, blank rows dropped; a clerk's 合计 row is set aside (schemas.total_rows):
    its one issue is kept, and the row is converted no further, so it counts nothing."""
    fields = fields or application_fields(policy)
    raw = raw.without_blank_rows(fields)
    table = convert_table(raw, policy, fields)
    found = total_row_issues(table)
    if not found:
        return table
    table = convert_table(raw.without_rows({issue.row for issue in found}), policy, fields)
    table.issues = found + table.issues
    return table


def raw_table_from_records(
    records: Sequence[dict[str, Any]], sheet: str = "申报表", first_row: int = 5, policy: Policy | None = None
) -> RawTable:
    """A table from dicts of field id -> raw value, laid out as in the template of the policy (the
    bundled one by default) (tests, UDFs)."""
    names = [f.id for f in application_fields(policy)]
    return RawTable(
        sheet=sheet,
        rows=list(range(first_row, first_row + len(records))),
        values={name: [r.get(name) for r in records] for name in names},
        columns=column_letters(policy),
    )


def closest(candidates: list[str], wanted: list[str]) -> tuple[str, str] | None:
    """The candidate that looks most like one of the wanted names, and that name: a misspelling."""
    for target in wanted:
        close = difflib.get_close_matches(target, [c for c in candidates if c != target], n=1, cutoff=0.5)
        if close:
            return close[0], target
    return None


def did_you_mean(candidates: list[str], wanted: list[str]) -> str:
    """（您是否指“…”？） for the candidate closest to what was wanted, or nothing."""
    match = closest(candidates, wanted)
    return f"（您是否指“{match[0]}”？）" if match else ""


class HeaderError(ValueError):
    """A table handed to a UDF has no recognisable header row."""


def header_key(text: Any) -> str:
    """A header as compared: normalized, without any spaces or line breaks; "" for a blank cell."""
    return "".join(normalize_text(str(text)).split()) if text is not None else ""


def _field_by_header(policy: Policy | None) -> dict[str, str]:
    keys: dict[str, str] = {}
    for spec in application_fields(policy):
        for alias in (spec.id, spec.label, spec.header):
            keys[header_key(alias)] = spec.id
    return keys


def as_grid(value: Any) -> list[list[Any]]:
    """What Excel hands a UDF, as rows of cells: a scalar, a row or column (1-D), or a 2-D range."""
    if not isinstance(value, list | tuple):
        return [[value]]
    if not value or not isinstance(value[0], list | tuple):
        return [list(value)]
    return [list(row) for row in value]


def raw_table_from_grid(
    grid: Any, first_row: int, first_column: int = 1, sheet: str = "申报表", policy: Policy | None = None
) -> RawTable:
    """A table from a header row and data rows (as a UDF receives a range): columns are recognised by
    their header (the template's Chinese header, the label, or the field id), in any order."""
    rows = as_grid(grid)
    known = _field_by_header(policy)
    positions = {known[header_key(h)]: n for n, h in enumerate(rows[0]) if header_key(h) in known}
    missing = [f for f in input_fields(policy) if f.id not in positions]
    if not positions:
        raise HeaderError("第一行应为申报表的表头（如“企业名称”“统一社会信用代码”），没有找到可识别的列")
    if missing:
        unknown = [str(h) for h in rows[0] if h is not None and header_key(h) not in known]
        raise HeaderError(
            "表头缺少这些列："
            + "、".join(f"“{f.header}”" + did_you_mean(unknown, [f.header, f.label]) for f in missing)
        )
    data = rows[1:]
    return RawTable(
        sheet=sheet,
        rows=list(range(first_row, first_row + len(data))),
        values={name: [row[n] if n < len(row) else None for row in data] for name, n in positions.items()},
        columns={name: column_letter(first_column + n) for name, n in positions.items()},
    )
