"""An application table as it arrives (raw cell values by field, with their cells), and its conversion
into typed columns. The CLI reads it from a workbook; the UDFs get it from a range."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from addin.cells import Converted, is_blank, to_choice, to_date, to_money, to_stored_number, to_text, to_uscc
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


def convert_table(raw: RawTable, policy: Policy) -> TypedTable:
    """Convert every input cell; each failure is one issue at its cell, and the cell becomes blank."""
    index = pd.Index(raw.rows, name="row")
    typed: dict[str, list[Any]] = {}
    failed: dict[str, list[bool]] = {}
    from_text: dict[str, list[bool]] = {}
    issues: list[Issue] = []
    for spec in input_fields():
        convert = _converter(spec, policy)
        cells = [convert(v) for v in raw.values.get(spec.id, [None] * len(raw.rows))]
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
            spec.id: [to_stored_number(v) for v in raw.values.get(spec.id, [None] * len(raw.rows))]
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
