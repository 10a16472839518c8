"""An application table as it arrives (raw cell values by field, with their cells), and its conversion
into typed columns. The CLI reads it from a workbook; the UDFs get it from a range."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from openpyxl.utils import get_column_letter

from addin.cells import (
    Converted,
    is_blank,
    normalize_text,
    to_choice,
    to_date,
    to_money,
    to_stored_number,
    to_text,
    to_uscc,
)
from addin.template_spec import column_letters
from schemas.fields import Field, computed_fields, input_fields
from schemas.policy import Policy
from schemas.registry import Issue, make_issue


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

    def without_blank_rows(self) -> RawTable:
        """Drop rows where every input cell is blank (empty rows between filled ones are skipped)."""
        names = [f.id for f in input_fields() if f.id in self.values]
        keep = [n for n in range(len(self.rows)) if not all(is_blank(self.values[f][n]) for f in names)]
        return RawTable(
            sheet=self.sheet,
            rows=[self.rows[n] for n in keep],
            columns=self.columns,
            values={name: [column[n] for n in keep] for name, column in self.values.items()},
        )


@dataclass
class TypedTable:
    frame: pd.DataFrame  # typed inputs, indexed by Excel row
    failed: pd.DataFrame  # True where a cell did not convert
    from_text: pd.DataFrame  # True where a number or date was read from text
    stored: pd.DataFrame  # the numbers the workbook stores in its computed columns
    issues: list[Issue]


def _converter(spec: Field, policy: Policy) -> Callable[[Any], Converted]:
    if spec.kind == "money":
        return to_money
    if spec.kind == "date":
        return to_date
    if spec.kind == "uscc":
        return to_uscc
    if spec.kind == "choice":
        allowed = spec.allowed(policy)
        return lambda raw: to_choice(raw, allowed, spec.none_value)
    return to_text


def convert_column(convert: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """Convert a column, each distinct raw value once: a column repeats its levels, choices, dates and
    amounts many times. (The type is part of the key: 1, 1.0 and True are equal in Python.)"""
    seen: dict[tuple[type, Any], Any] = {}
    converted = []
    for value in values:
        key = (type(value), value)
        try:
            result = seen[key]
        except KeyError:
            result = seen[key] = convert(value)
        except TypeError:  # an unhashable value
            result = convert(value)
        converted.append(result)
    return converted


def convert_table(raw: RawTable, policy: Policy) -> TypedTable:
    """Convert every input cell; each failure is one issue at its cell, and the cell becomes blank."""
    index = pd.Index(raw.rows, name="row")
    typed: dict[str, list[Any]] = {}
    failed: dict[str, list[bool]] = {}
    from_text: dict[str, list[bool]] = {}
    issues: list[Issue] = []
    for spec in input_fields():
        cells = convert_column(_converter(spec, policy), raw.values.get(spec.id, [None] * len(raw.rows)))
        typed[spec.id] = [c.value for c in cells]
        failed[spec.id] = [c.failed for c in cells]
        from_text[spec.id] = [c.from_text for c in cells]
        issues.extend(
            make_issue(
                c.rule,
                sheet=raw.sheet,
                cell=raw.cell(spec.id, row),
                row=row,
                field=spec.id,
                field_label=spec.label,
                field_clause=spec.clause,
                value=raw.values[spec.id][n],
                expected=c.expected,
            )
            for n, (row, c) in enumerate(zip(raw.rows, cells, strict=True))
            if c.rule
        )
    frame = pd.DataFrame(typed, index=index, dtype=object)
    for spec in input_fields():
        if spec.kind == "date":
            frame[spec.id] = pd.to_datetime(frame[spec.id])
    stored = pd.DataFrame(
        {
            spec.id: convert_column(to_stored_number, raw.values.get(spec.id, [None] * len(raw.rows)))
            for spec in computed_fields()
        },
        index=index,
        dtype=object,
    )
    return TypedTable(
        frame=frame,
        failed=pd.DataFrame(failed, index=index, dtype=bool),
        from_text=pd.DataFrame(from_text, index=index, dtype=bool),
        stored=stored,
        issues=issues,
    )


def raw_table_from_records(
    records: Sequence[dict[str, Any]], sheet: str = "申报表", first_row: int = 5
) -> RawTable:
    """A table from dicts of field id -> raw value, laid out as in the template (tests, UDFs)."""
    names = [f.id for f in (*input_fields(), *computed_fields())]
    return RawTable(
        sheet=sheet,
        rows=list(range(first_row, first_row + len(records))),
        values={name: [r.get(name) for r in records] for name in names},
        columns=column_letters(),
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


def _header_key(text: Any) -> str:
    return "".join(normalize_text(str(text)).split()) if text is not None else ""


def _field_by_header() -> dict[str, str]:
    keys: dict[str, str] = {}
    for spec in (*input_fields(), *computed_fields()):
        for alias in (spec.id, spec.label, spec.header):
            keys[_header_key(alias)] = spec.id
    return keys


def as_grid(value: Any) -> list[list[Any]]:
    """What Excel hands a UDF, as rows of cells: a scalar, a row or column (1-D), or a 2-D range."""
    if not isinstance(value, list | tuple):
        return [[value]]
    if not value or not isinstance(value[0], list | tuple):
        return [list(value)]
    return [list(row) for row in value]


def raw_table_from_grid(grid: Any, first_row: int, first_column: int = 1, sheet: str = "申报表") -> RawTable:
    """A table from a header row and data rows (as a UDF receives a range): columns are recognised by
    their header (the template's Chinese header, the label, or the field id), in any order."""
    rows = as_grid(grid)
    known = _field_by_header()
    positions = {known[_header_key(h)]: n for n, h in enumerate(rows[0]) if _header_key(h) in known}
    missing = [f for f in input_fields() if f.id not in positions]
    if not positions:
        raise HeaderError("第一行应为申报表的表头（如“企业名称”“统一社会信用代码”），没有找到可识别的列")
    if missing:
        unknown = [str(h) for h in rows[0] if h is not None and _header_key(h) not in known]
        raise HeaderError(
            "表头缺少这些列："
            + "、".join(f"“{f.header}”" + did_you_mean(unknown, [f.header, f.label]) for f in missing)
        )
    data = rows[1:]
    return RawTable(
        sheet=sheet,
        rows=list(range(first_row, first_row + len(data))),
        values={name: [row[n] if n < len(row) else None for row in data] for name, n in positions.items()},
        columns={name: get_column_letter(first_column + n) for name, n in positions.items()},
    )
