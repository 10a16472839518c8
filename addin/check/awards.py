"""Checking the awards workbook: each sheet read by its defined names, converted with the same cell
code as the application, its amounts computed (schemas.awards) and its rules applied
(schemas.award_rules)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from addin import template_spec as spec
from addin.check.identity import Identified
from addin.check.table import RawTable, convert_rows
from schemas.award_rules import award_issues
from schemas.awards import AwardKind, award_kinds, award_units, committed_by_source, compute_awards
from schemas.money import column_total
from schemas.policy import Policy
from schemas.registry import Issue, in_table_order
from schemas.table import Table
from schemas.unit_cell import unit_cell_issues


@dataclass
class AwardSheetResult:
    """One award sheet checked: its kind and its table (rows, amounts and issues)."""

    kind: AwardKind
    table: Table

    @property
    def raw(self) -> RawTable:
        return self.table.raw

    @property
    def issues(self) -> list[Issue]:
        return self.table.issues

    @property
    def total(self) -> Decimal:
        return column_total(self.table.amounts["award"])

    def by_source(self) -> dict[str, Decimal]:
        return committed_by_source(self.table.amounts)


def award_names(kind: AwardKind) -> dict[str, str]:
    """An award sheet's defined names: field id -> the name over its column."""
    return {f.id: spec.award_column_name(kind.id, f.id) for f in kind.fields}


def read_award_sheet(identified: Identified, kind: AwardKind) -> RawTable:
    """An award sheet's table by its defined names (one per column)."""
    return identified.read_table(award_names(kind))


def check_award_sheet(raw: RawTable, kind: AwardKind, policy: Policy) -> AwardSheetResult:
    """Convert, compute and check one award sheet. Shared by files and tests."""
    table = convert_rows(raw, policy, kind.fields)
    table.amounts = compute_awards(kind, table.frame, policy)
    issues = in_table_order(table.issues + award_issues(table, kind), [f.id for f in kind.fields])
    return AwardSheetResult(kind=kind, table=table.with_issues(issues))


def raw_award_table(kind: AwardKind, records: list[dict[str, Any]]) -> RawTable:
    """An award sheet from dicts of field id -> raw value, laid out as in the template (tests)."""
    first = spec.AWARDS_FIRST_DATA_ROW
    return RawTable(
        sheet=kind.sheet,
        rows=list(range(first, first + len(records))),
        values={f.id: [r.get(f.id) for r in records] for f in kind.fields},
        columns=spec.award_letters(kind.fields),
    )


def check_awards(identified: Identified, policy: Policy) -> tuple[list[AwardSheetResult], list[Issue], str]:
    """Every award sheet of a workbook (with what lies below its table), and the issues of its 填报单位
    cell."""
    results = []
    for kind in award_kinds(policy):
        result = check_award_sheet(read_award_sheet(identified, kind), kind, policy)
        below = identified.rows_below_issues(award_names(kind), "awards")
        result.table = result.table.with_issues(result.table.issues + below)
        results.append(result)
    unit = identified.unit()
    return results, award_unit_issues(unit, award_kinds(policy)[0].sheet, policy), unit


def award_unit_issues(unit: str, sheet: str, policy: Policy) -> list[Issue]:
    """The 填报单位 of an awards workbook: required, and 兵团专班 or one of the submitting units."""
    return unit_cell_issues(
        unit,
        award_units(policy),
        sheet,
        spec.UNIT_CELL,
        policy.clause("award_preparers"),
        "（第一张名单第2行）",
    )


def award_totals(results: list[AwardSheetResult], policy: Policy) -> dict[str, Any]:
    """Per award sheet: rows, total and total per funding source (as two-place strings)."""
    return {
        r.kind.id: {
            "sheet": r.kind.sheet,
            "line": r.kind.line,
            "rows": len(r.table.frame),
            "total": f"{r.total:.2f}",
            "by_source": {s: f"{v:.2f}" for s, v in r.by_source().items()},
        }
        for r in results
    }


def award_rows(results: list[AwardSheetResult]) -> dict[str, list[dict[str, Any]]]:
    """Per award sheet, each row: where, who, the funding source and the amount."""
    frame = award_frame(results)
    return {
        r.kind.id: [
            {
                "row": int(row.row),
                "key": row.key,
                "name": row.name,
                "source": row.source,
                "amount": f"{row.award:.2f}",
            }
            for row in frame[frame["kind"] == r.kind.id].itertuples(index=False)
        ]
        for r in results
    }


def award_frame(results: list[AwardSheetResult]) -> pd.DataFrame:
    """Every awarded row of a workbook: kind, plan line, key (credit code or division), source, amount."""
    parts = []
    for r in results:
        frame, amounts = r.table.frame, r.table.amounts
        key, name = frame[r.kind.key_field], frame[r.kind.name_field]
        parts.append(
            pd.DataFrame(
                {
                    "kind": r.kind.id,
                    "sheet": r.kind.sheet,
                    "line": r.kind.line,
                    "row": frame.index,
                    "cell": [r.raw.cell(key.name, row) for row in frame.index],
                    "key": key.values,
                    "name": name.values,
                    "source": amounts["source"].values,
                    "award": amounts["award"].values,
                }
            )
        )
    columns = ["kind", "sheet", "line", "row", "cell", "key", "name", "source", "award"]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    return frame.astype(object).where(frame.notna(), None)  # blanks stay None (pandas would make NaN)
