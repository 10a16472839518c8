"""The check pipeline, in layers: (1) is it our template, of a supported version, with every defined
name, each column's header and defined name where the template puts them; (2) convert each cell; (3) the
column and cross-column rules (pandera); (4) recompute every computed column and compare with what the
file stores; (5) file-level rules."""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from addin import template_spec as spec
from addin.beijing_time import beijing_timestamp
from addin.check.addin_links import addin_link_issues
from addin.check.awards import AwardSheetResult, check_awards
from addin.check.identity import Identified, UnreadableTemplate, identify
from addin.check.plan import check_plan, read_plan
from addin.check.structure import check_structure
from addin.check.table import RawTable, convert_rows
from addin.io.workbook_reader import InputError, sha256_of
from schemas.application_schema import validate
from schemas.calculation import MoneyColumns, calculation_inputs, compute_amounts, funding_by_source
from schemas.disbursement import PLACE, holds
from schemas.fields import amount_fields, application_fields, field_by_id
from schemas.money import column_total, two_place_texts
from schemas.plan import PlanFigures
from schemas.policy import Policy
from schemas.registry import Issue, implements, in_table_order, make_issue
from schemas.table import Table
from schemas.unit_cell import unit_cell_issues


@dataclass
class CheckResult:
    """The outcome of checking one file."""

    file: str
    sha256: str | None
    template: dict[str, str]
    policy: Policy
    issues: list[Issue]
    table: Table | None = None
    plan: PlanFigures | None = None
    awards: list[AwardSheetResult] | None = None
    kind: str | None = None  # "application" | "plan" | "awards"; None when the file could not be checked
    unit: str | None = None
    revision: int | None = None  # the 版本号 (1 for a template made before it existed)
    submitted_on: dt.date | None = None  # the 报送日期 of an application or awards workbook, when a date
    checked_at: str = field(default_factory=beijing_timestamp)

    @property
    def template_kind(self) -> str | None:
        """The kind of workbook its template says it is, checked or not: a damaged application is still
        a unit's application, which replaces its older revisions (see consolidate)."""
        return spec.TEMPLATE_KINDS.get(self.template.get("id", ""))

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "warning")

    @property
    def valid(self) -> bool:
        return self.errors == 0 and self.kind is not None


def compute_table(raw: RawTable, policy: Policy) -> Table:
    """Convert an application table and compute its amounts, without checking its rules."""
    return compute_blocks([raw], policy)


def compute_blocks(blocks: Iterable[RawTable], policy: Policy, keep_raw: bool = True) -> Table:
    """Convert an application table handed on in blocks of consecutive rows and compute its amounts,
    without checking its rules: each block as it comes, then the blocks joined (every step is a row's
    own, so the result is the whole table's). `keep_raw=False`: each block's raw values are let go of
    once it is converted (RawTable.without_values)."""
    parts = []
    for raw in blocks:
        table = convert_rows(raw, policy)
        money = MoneyColumns(table.frame, table.kept_money())
        table.amounts = compute_amounts(table.frame, policy, unreadable_rows(table), money)
        table.keep_money(money)
        if not keep_raw:
            table.raw = table.raw.without_values()
        parts.append(table)
    parts = [part for part in parts if part.raw.rows] or parts[:1]
    joined = Table.joined(parts)
    joined.raw = RawTable.joined(part.raw for part in parts)
    return joined


def unreadable_rows(table: Table) -> pd.Series:
    """Rows with an input the amounts use that did not convert, or that the template's formulas read
    otherwise than the check (text for a number or date, a choice with stray spaces): no amount counts."""
    inputs = [name for name in calculation_inputs(table.policy) if name in table.failed.columns]
    return table.failed[inputs].any(axis=1) | table.from_text[inputs].any(axis=1)


def check_table(raw: RawTable, policy: Policy) -> Table:
    """Check an application table: convert, recompute, validate. Shared by the CLI and the UDFs."""
    return check_computed(compute_table(raw, policy), policy)


@implements("TABLE_EMPTY")
def check_computed(computed: Table, policy: Policy) -> Table:
    """Validate a converted and computed application table: every rule's issues, in table order."""
    issues = in_table_order(computed.issues + validate(computed), [f.id for f in application_fields(policy)])
    if not computed.raw.rows:
        issues.append(make_issue("TABLE_EMPTY", sheet=computed.sheet))
    return computed.with_issues(issues)


def read_application(identified: Identified, policy: Policy, keep_raw: bool = True) -> tuple[Table, str | None]:
    """The application table by its defined names, converted and computed as it is read; and the
    submitting unit (read after the table: its cell is on the table's sheet). The sheet's rows below
    the table's header are let go of as they are read; `keep_raw=False`: the table's raw values too,
    each block's once converted (what the check needs of them is in its issues and its typed table:
    a large table's raw cells are a good part of a check's memory)."""
    names = {f.id: f.id for f in application_fields(policy)}
    first = identified.names.get(next(iter(names.values())))  # (missing: the read below says so)
    book = identified.book  # (a workbook file lets go of rows; one open in Excel does not)
    if first is not None and hasattr(book, "let_go_below"):
        book.let_go_below(first.sheet, first.first_row)
    computed = identified.read_table_in_blocks(names, lambda blocks: compute_blocks(blocks, policy, keep_raw))
    computed.issues = computed.issues + identified.rows_below_issues(names, "application")
    if first is not None and hasattr(book, "keep_rows_above"):
        book.keep_rows_above(first.sheet, first.first_row)
    return computed, identified.unit() or None


@implements("FILE_UNREADABLE")
def check_file(path: Path, policy: Policy, rules: bool = True) -> CheckResult:
    """Check one workbook file: an application or a plan. One that cannot be checked has no `kind`.
    `rules=False`: an application's table is converted and computed but its rules are not run (what
    `dtfund diff` compares: values and amounts, not issues)."""
    path = Path(path)
    try:
        digest = sha256_of(path) if path.is_file() else None
    except OSError:  # unreadable: identify() below says so
        digest = None
    try:
        identified = identify(path)
    except InputError as exc:
        issue = make_issue("FILE_UNREADABLE", file=path.name, reason=str(exc), remedy=exc.remedy)
        return CheckResult(file=str(path), sha256=digest, template={}, policy=policy, issues=[issue])
    except UnreadableTemplate as unreadable:
        result = CheckResult(
            file=str(path),
            sha256=digest,
            template=unreadable.template,
            policy=policy,
            issues=unreadable.issues,
        )
        # (a newer template's version: still the unit's newest revision, see _with_submission)
        return _with_submission(result, unreadable.identified) if unreadable.identified else result
    result = check_identified(identified, str(path), policy, digest, rules)
    result.issues += addin_link_issues(path)
    return result


def check_identified(
    identified: Identified, file: str, policy: Policy, sha256: str | None = None, rules: bool = True
) -> CheckResult:
    """Check a workbook already identified as one of our templates (a file, or a book open in Excel)."""
    result = CheckResult(file=file, sha256=sha256, template=identified.template, policy=policy, issues=[])
    try:
        renamed_sheets = check_structure(identified, policy)
        if identified.kind == spec.PLAN_TEMPLATE_ID:
            figures, issues = read_plan(identified, policy)
            result.revision, submission_problems = identified.submission()
            result.plan, result.kind = figures, "plan"
            result.issues = renamed_sheets + submission_problems + issues + check_plan(figures, policy)
            return result
        if identified.kind == spec.AWARDS_TEMPLATE_ID:
            sheets, unit_problems, unit = check_awards(identified, policy)
            result.revision, submission_problems = identified.submission()
            result.submitted_on = identified.submitted_on()
            result.awards, result.unit, result.kind = sheets, unit or None, "awards"
            result.issues = (
                renamed_sheets
                + unit_problems
                + submission_problems
                + [issue for sheet in sheets for issue in sheet.issues]
            )
            return result
        computed, unit = read_application(identified, policy, keep_raw=not rules)  # (diff shows raw text)
    except InputError as exc:
        result.issues = [
            make_issue("FILE_UNREADABLE", file=Path(file).name, reason=str(exc), remedy=exc.remedy)
        ]
        return _with_submission(result, identified)
    except UnreadableTemplate as unreadable:
        result.issues = unreadable.issues
        return _with_submission(result, identified)
    computed.unit = unit
    table = check_computed(computed, policy) if rules else computed
    unit_problems = unit_cell_issues(
        unit,
        policy.value("submitting_units"),
        table.sheet,
        spec.UNIT_CELL,
        policy.clause("submitting_units"),
        "（申报表第2行）",
    )
    result.revision, submission_problems = identified.submission()
    result.submitted_on = identified.submitted_on()
    result.issues = (
        renamed_sheets
        + unit_problems
        + submission_problems
        + uncalculated_formulas(identified, table.issues, policy)
    )
    result.table, result.unit, result.kind = table, unit, "application"
    return result


def _with_submission(result: CheckResult, identified: Identified) -> CheckResult:
    """A workbook of ours that could not be checked, with its 填报单位 and 版本号 as far as they can be
    read: a unit's newest revision must replace its older ones even when it cannot be checked, or
    consolidate would sum (and pay) the older revision in its place."""
    try:
        result.unit = identified.unit() or None
        result.revision = identified.revision()[0]
    except (InputError, UnreadableTemplate):
        pass  # (the file's own issue already says why it cannot be read)
    return result


@implements("FORMULA_NOT_CALCULATED")
def uncalculated_formulas(identified: Identified, issues: list[Issue], policy: Policy) -> list[Issue]:
    """A cell reported blank (REQUIRED_MISSING) that holds a formula was never calculated: the file has
    no value for it (written by a program, or saved without recalculating). Said so at the cell."""
    blanks = {(i.sheet, i.cell): i for i in issues if i.rule == "REQUIRED_MISSING" and i.sheet and i.cell}
    look_up = getattr(identified.book, "formula_cells", None)
    if not blanks or look_up is None:
        return issues
    formulas = {
        (sheet, cell)
        for sheet in {sheet for sheet, _ in blanks}
        for cell in look_up(sheet, [cell for s, cell in blanks if s == sheet])
    }
    return [
        make_issue(
            "FORMULA_NOT_CALCULATED",
            sheet=i.sheet,
            cell=i.cell,
            row=i.row,
            field=i.field,
            **_field_details(i.field, policy),
        )
        if (i.sheet, i.cell) in formulas and i.rule == "REQUIRED_MISSING"
        else i
        for i in issues
    ]


def _field_details(field_id: str | None, policy: Policy) -> dict[str, str]:
    if not field_id:
        return {}
    blamed = field_by_id(policy)[field_id]
    return {"field_label": blamed.label, "field_clause": blamed.clause}


def row_amounts(result: Table) -> list[dict[str, Any]]:
    """Per row: where it is, who, whether eligible, and every amount as a two-place decimal string."""
    frame, amounts = result.frame, result.amounts
    names = amount_fields(result.policy)
    columns = [two_place_texts(amounts[name]) for name in names]
    by_row = list(map(dict, map(zip, itertools.repeat(names), zip(*columns, strict=True))))
    return [
        {"row": row, "uscc": uscc, "name": name, "eligible": eligible, "amounts": parts}
        for row, uscc, name, eligible, parts in zip(
            frame.index.tolist(),
            frame["uscc"].tolist(),
            frame["name"].tolist(),
            amounts["eligible"].astype(bool).tolist(),
            by_row,
            strict=True,
        )
    ]


def held_rows(result: CheckResult) -> pd.DataFrame:
    """Per enterprise row (indexed by Excel row), what holds its payment, decided as consolidate decides
    (schemas.disbursement.holds): `held_by_row`, errors on the row itself; `held_by_file`, errors on the
    file as a whole (the 填报单位 cell, the template), which hold every row; `payable`, neither."""
    table = result.table
    index = table.amounts.index if table is not None else pd.Index([], dtype=int)
    sheet = table.raw.sheet if table is not None and table.raw is not None else None
    rows = pd.DataFrame({"file": result.file, "sheet": sheet, "row": list(index)}, columns=PLACE)
    issues = pd.DataFrame(
        [(result.file, i.sheet, i.row, i.rule) for i in result.issues], columns=[*PLACE, "rule"]
    )
    return holds(rows, issues).set_axis(index)


def rows_with_errors(result: CheckResult) -> int:
    """How many enterprise rows are not paid until an error is corrected: on the row or on the file
    (what consolidate's 暂缓拨付 list holds of this file)."""
    return int((~held_rows(result)["payable"]).sum())


def totals(result: Table, policy: Policy) -> dict[str, Any]:
    """Σ of every amount, and Σ per funding source of all awards (worked out once per table under its
    own policy: the terminal and the JSON both show them)."""
    amounts = result.amounts

    def summed() -> dict[str, Any]:
        by_source = funding_by_source(amounts, policy)
        return {
            "rows": len(amounts),
            "eligible_rows": int(amounts["eligible"].sum()) if len(amounts) else 0,
            "amounts": {name: f"{column_total(amounts[name]):.2f}" for name in amount_fields(policy)},
            "by_source": {source: f"{total:.2f}" for source, total in by_source.items()},
        }

    if policy is not result.policy:
        return summed()
    return copy.deepcopy(result.once("totals", summed))
