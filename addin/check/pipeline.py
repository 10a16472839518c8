"""The check pipeline, in layers: (1) is it our template, of a supported version, with every defined
name; (2) convert each cell; (3) the column and cross-column rules (pandera); (4) recompute every
computed column and compare with what the file stores; (5) file-level rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from addin import template_spec as spec
from addin.check.awards import AwardSheetResult, check_awards
from addin.check.identity import Identified, UnreadableTemplate, identify
from addin.check.plan import check_plan, read_plan
from addin.check.table import RawTable, TypedTable, convert_table
from addin.check.unit_cell import unit_cell_issues
from addin.io.workbook_reader import InputError, sha256_of
from schemas.application_rules import RuleContext
from schemas.application_schema import validate
from schemas.calculation import AMOUNT_FIELDS, compute_amounts, funding_by_source
from schemas.fields import application_fields, field_by_id
from schemas.money import column_total, two_place_texts
from schemas.plan import PlanFigures
from schemas.policy import Policy
from schemas.registry import Issue, implements, in_table_order, make_issue


@dataclass
class TableResult:
    """The outcome of checking one application table."""

    raw: RawTable
    typed: TypedTable
    amounts: pd.DataFrame
    issues: list[Issue]


@dataclass
class CheckResult:
    """The outcome of checking one file."""

    file: str
    sha256: str | None
    template: dict[str, str]
    policy: Policy
    issues: list[Issue]
    table: TableResult | None = None
    plan: PlanFigures | None = None
    awards: list[AwardSheetResult] | None = None
    kind: str | None = None  # "application" | "plan" | "awards"; None when the file could not be checked
    unit: str | None = None
    checked_at: str = field(
        default_factory=lambda: dt.datetime.now().astimezone().isoformat(timespec="seconds")
    )

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "warning")

    @property
    def valid(self) -> bool:
        return self.errors == 0 and self.kind is not None


def compute_table(raw: RawTable, policy: Policy) -> TableResult:
    """Convert an application table and compute its amounts, without checking its rules."""
    return compute_blocks([raw], policy)


def compute_blocks(blocks: Iterable[RawTable], policy: Policy) -> TableResult:
    """Convert an application table handed on in blocks of consecutive rows and compute its amounts,
    without checking its rules: each block as soon as it comes (a large sheet is read part by part),
    then the blocks joined. Every step is a row's own, so the result is the whole table's."""
    parts = []
    for raw in blocks:
        raw = raw.without_blank_rows()
        typed = convert_table(raw, policy)
        parts.append(
            TableResult(raw=raw, typed=typed, amounts=compute_amounts(typed.frame, policy), issues=[])
        )
    parts = [part for part in parts if part.raw.rows] or parts[:1]
    typed = TypedTable.joined([part.typed for part in parts])
    return TableResult(
        raw=RawTable.joined(part.raw for part in parts),
        typed=typed,
        amounts=pd.concat([part.amounts for part in parts]) if len(parts) > 1 else parts[0].amounts,
        issues=typed.issues,
    )


def check_table(raw: RawTable, policy: Policy) -> TableResult:
    """Check an application table: convert, recompute, validate. Shared by the CLI and the UDFs."""
    return check_computed(compute_table(raw, policy), policy)


@implements("TABLE_EMPTY")
def check_computed(computed: TableResult, policy: Policy) -> TableResult:
    """Validate a converted and computed application table: every rule's issues, in table order."""
    raw, typed, amounts = computed.raw, computed.typed, computed.amounts
    context = RuleContext(
        frame=typed.frame,
        failed=typed.failed,
        from_text=typed.from_text,
        amounts=amounts,
        stored=typed.stored,
        policy=policy,
    )
    rule_issues = raw.locate(validate(context))
    issues = in_table_order(typed.issues + rule_issues, [f.id for f in application_fields()])
    if not raw.rows:
        issues.append(make_issue("TABLE_EMPTY", sheet=raw.sheet))
    return TableResult(raw=raw, typed=typed, amounts=amounts, issues=issues)


def read_application(identified: Identified, policy: Policy) -> tuple[TableResult, str | None]:
    """The application table by its defined names, converted and computed as it is read; and the
    submitting unit (read after the table: its cell is on the table's sheet)."""
    names = {f.id: f.id for f in application_fields()}
    computed = identified.read_table_in_blocks(names, lambda blocks: compute_blocks(blocks, policy))
    return computed, identified.unit() or None


@implements("FILE_UNREADABLE")
def check_file(path: Path, policy: Policy) -> CheckResult:
    """Check one workbook file: an application or a plan. One that cannot be checked has no `kind`."""
    path = Path(path)
    digest = sha256_of(path) if path.is_file() else None
    try:
        identified = identify(path)
    except InputError as exc:
        issue = make_issue("FILE_UNREADABLE", file=path.name, reason=str(exc))
        return CheckResult(file=str(path), sha256=digest, template={}, policy=policy, issues=[issue])
    except UnreadableTemplate as unreadable:
        return CheckResult(
            file=str(path),
            sha256=digest,
            template=unreadable.template,
            policy=policy,
            issues=unreadable.issues,
        )
    return check_identified(identified, str(path), policy, digest)


def check_identified(
    identified: Identified, file: str, policy: Policy, sha256: str | None = None
) -> CheckResult:
    """Check a workbook already identified as one of our templates (a file, or a book open in Excel)."""
    result = CheckResult(file=file, sha256=sha256, template=identified.template, policy=policy, issues=[])
    try:
        if identified.kind == spec.PLAN_TEMPLATE_ID:
            figures, issues = read_plan(identified, policy)
            result.plan, result.issues, result.kind = figures, issues + check_plan(figures, policy), "plan"
            return result
        if identified.kind == spec.AWARDS_TEMPLATE_ID:
            sheets, unit_problems, unit = check_awards(identified, policy)
            result.awards, result.unit, result.kind = sheets, unit or None, "awards"
            result.issues = unit_problems + [issue for sheet in sheets for issue in sheet.issues]
            return result
        computed, unit = read_application(identified, policy)
    except InputError as exc:
        result.issues = [make_issue("FILE_UNREADABLE", file=Path(file).name, reason=str(exc))]
        return result
    except UnreadableTemplate as unreadable:
        result.issues = unreadable.issues
        return result
    table = check_computed(computed, policy)
    result.issues = unit_issues(unit, table, policy) + table.issues
    result.table, result.unit, result.kind = table, unit, "application"
    return result


@implements("UNIT_MISMATCH")
def unit_issues(unit: str | None, table: TableResult, policy: Policy) -> list[Issue]:
    """The submitting unit in the sheet's heading: required, one of the submitting units, and the
    division of every row."""
    units = policy.value("submitting_units")
    clause = policy.clause("submitting_units")
    problems = unit_cell_issues(unit, units, table.raw.sheet, clause, "（申报表第2行）")
    if problems:
        return problems
    divisions = table.typed.frame["division"]
    elsewhere = divisions[divisions.notna() & divisions.isin(units) & (divisions != unit)]
    return [
        make_issue(
            "UNIT_MISMATCH",
            sheet=table.raw.sheet,
            cell=table.raw.cell("division", row),
            row=int(row),
            field_label=field_by_id()["division"].label,
            value=division,
            expected=unit,
        )
        for row, division in elsewhere.items()
    ]


def row_amounts(result: TableResult) -> list[dict[str, Any]]:
    """Per row: where it is, who, whether eligible, and every amount as a two-place decimal string."""
    frame, amounts = result.typed.frame, result.amounts
    columns = [two_place_texts(amounts[name]) for name in AMOUNT_FIELDS]
    return [
        {
            "row": row,
            "uscc": uscc,
            "name": name,
            "eligible": eligible,
            "amounts": dict(zip(AMOUNT_FIELDS, parts, strict=True)),
        }
        for row, uscc, name, eligible, parts in zip(
            frame.index.tolist(),
            frame["uscc"].tolist(),
            frame["name"].tolist(),
            amounts["eligible"].astype(bool).tolist(),
            zip(*columns, strict=True),
            strict=True,
        )
    ]


def totals(result: TableResult, policy: Policy) -> dict[str, Any]:
    """Σ of every amount, and Σ per funding source of all awards."""
    amounts = result.amounts
    return {
        "rows": len(amounts),
        "eligible_rows": int(amounts["eligible"].sum()) if len(amounts) else 0,
        "amounts": {name: f"{column_total(amounts[name]):.2f}" for name in AMOUNT_FIELDS},
        "by_source": {source: f"{total:.2f}" for source, total in funding_by_source(amounts, policy).items()},
    }
