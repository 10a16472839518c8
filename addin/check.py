"""The check pipeline, in layers: (1) is it our template, of a supported version, with every defined
name; (2) convert each cell; (3) the column and cross-column rules (pandera); (4) recompute every
computed column and compare with what the file stores; (5) file-level rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from addin import template_spec as spec
from addin.table import RawTable, TypedTable, convert_table
from addin.workbook_reader import InputError, NamedRange, Workbook, defined_names, sha256_of, sniff
from schemas.application_rules import RuleContext
from schemas.application_schema import validate
from schemas.calculation import AMOUNT_FIELDS, compute_amounts, funding_by_source
from schemas.fields import application_fields
from schemas.money import ZERO
from schemas.policy import Policy
from schemas.registry import Issue, implements, make_issue


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
        return self.errors == 0 and self.table is not None


class UnreadableTemplate(Exception):
    """Our template, but it cannot be checked (unsupported version, damaged structure)."""

    def __init__(self, issues: list[Issue], template: dict[str, str]) -> None:
        super().__init__(issues[0].message)
        self.issues = issues
        self.template = template


@implements("TABLE_EMPTY")
def check_table(raw: RawTable, policy: Policy) -> TableResult:
    """Check an application table: convert, validate, recompute. Shared by the CLI and the UDFs."""
    raw = raw.without_blank_rows()
    typed = convert_table(raw, policy)
    amounts = compute_amounts(typed.frame, policy)
    context = RuleContext(
        frame=typed.frame,
        failed=typed.failed,
        from_text=typed.from_text,
        amounts=amounts,
        stored=typed.stored,
        policy=policy,
    )
    rule_issues = validate(context)
    for issue in rule_issues:
        issue.sheet = raw.sheet
        issue.cell = raw.cell(issue.field, issue.row) if issue.field else None
    issues = _in_table_order(typed.issues + rule_issues)
    if not raw.rows:
        issues.append(make_issue("TABLE_EMPTY", sheet=raw.sheet))
    return TableResult(raw=raw, typed=typed, amounts=amounts, issues=issues)


def _in_table_order(issues: list[Issue]) -> list[Issue]:
    order = {f.id: n for n, f in enumerate(application_fields())}
    return sorted(issues, key=lambda i: (i.row or 0, order.get(i.field or "", len(order))))


@implements("TEMPLATE_VERSION_UNSUPPORTED", "TEMPLATE_NAME_MISSING")
def read_application(path: Path) -> tuple[RawTable, dict[str, str], str | None]:
    """Layer (1): identify our template and read its table. Raises InputError when the file is not
    ours, UnreadableTemplate when it is ours but cannot be checked."""
    sniff(path)
    names = defined_names(path)
    book = Workbook(path)
    if spec.NAME_TEMPLATE_ID not in names or book.value(names[spec.NAME_TEMPLATE_ID]) != spec.TEMPLATE_ID:
        raise InputError(
            f"{path.name} 不是专项资金申报模板（找不到模板标识）。请用 dtfund template application 生成模板后填报。"
        )
    template = {"id": spec.TEMPLATE_ID, "version": _text(book.value(names.get(spec.NAME_TEMPLATE_VERSION)))}
    if template["version"] not in spec.SUPPORTED_VERSIONS:
        issue = make_issue(
            "TEMPLATE_VERSION_UNSUPPORTED",
            file=path.name,
            value=f"{spec.TEMPLATE_ID} {template['version']}",
            expected="、".join(spec.SUPPORTED_VERSIONS),
        )
        raise UnreadableTemplate([issue], template)
    missing = [f.id for f in application_fields() if f.id not in names]
    if missing:
        issue = make_issue(
            "TEMPLATE_NAME_MISSING", file=path.name, value="、".join(missing), expected="每一列一个定义名称"
        )
        raise UnreadableTemplate([issue], template)
    refs: dict[str, NamedRange] = {f.id: names[f.id] for f in application_fields()}
    sheet = refs[application_fields()[0].id].sheet
    first = refs[application_fields()[0].id].first_row
    last = max(r.last_row for r in refs.values())
    if sheet not in book.sheet_names:
        raise InputError(f"{path.name} 缺少工作表“{sheet}”。")
    raw = RawTable(
        sheet=sheet,
        rows=list(range(first, last + 1)),
        values={name: _padded(book.column(ref), last - first + 1) for name, ref in refs.items()},
        columns={name: ref.first_column for name, ref in refs.items()},
    )
    unit = _text(book.value(names[spec.NAME_UNIT])) if spec.NAME_UNIT in names else None
    return raw, template, unit or None


def _padded(values: list[Any], length: int) -> list[Any]:
    return (values + [None] * length)[:length]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


@implements("FILE_UNREADABLE")
def check_file(path: Path, policy: Policy) -> CheckResult:
    """Check one application workbook. A file that cannot be checked gives a result with no table."""
    path = Path(path)
    digest = sha256_of(path) if path.is_file() else None
    try:
        raw, template, unit = read_application(path)
    except InputError as exc:
        issue = make_issue("FILE_UNREADABLE", file=path.name, value=str(exc))
        return CheckResult(file=str(path), sha256=digest, template={}, policy=policy, issues=[issue])
    except UnreadableTemplate as unreadable:
        return CheckResult(
            file=str(path),
            sha256=digest,
            template=unreadable.template,
            policy=policy,
            issues=unreadable.issues,
        )
    table = check_table(raw, policy)
    issues = unit_issues(unit, raw.sheet, policy) + table.issues
    return CheckResult(
        file=str(path), sha256=digest, template=template, policy=policy, issues=issues, table=table, unit=unit
    )


UNIT_CELL = "B2"


def unit_issues(unit: str | None, sheet: str, policy: Policy) -> list[Issue]:
    """The submitting unit in the sheet's heading: required, and one of the submitting units."""
    units = policy.value("submitting_units")
    where = {
        "sheet": sheet,
        "cell": UNIT_CELL,
        "row": 2,
        "field": "unit",
        "field_label": "填报单位",
        "field_clause": policy.clause("submitting_units"),
    }
    if not unit:
        return [make_issue("REQUIRED_MISSING", condition="（申报表第2行）", **where)]
    if unit not in units:
        return [make_issue("VALUE_NOT_ALLOWED", value=unit, expected="、".join(units), **where)]
    return []


def row_amounts(result: TableResult) -> list[dict[str, Any]]:
    """Per row: where it is, who, whether eligible, and every amount as a two-place decimal string."""
    frame, amounts = result.typed.frame, result.amounts
    records = []
    for row in frame.index:
        records.append(
            {
                "row": int(row),
                "uscc": frame.at[row, "uscc"],
                "name": frame.at[row, "name"],
                "eligible": bool(amounts.at[row, "eligible"]),
                "amounts": {name: f"{amounts.at[row, name]:.2f}" for name in AMOUNT_FIELDS},
            }
        )
    return records


def totals(result: TableResult, policy: Policy) -> dict[str, Any]:
    """Σ of every amount, and Σ per funding source of all awards."""
    amounts = result.amounts
    return {
        "rows": len(amounts),
        "eligible_rows": int(amounts["eligible"].sum()) if len(amounts) else 0,
        "amounts": {name: f"{sum(amounts[name], ZERO):.2f}" for name in AMOUNT_FIELDS},
        "by_source": {source: f"{total:.2f}" for source, total in funding_by_source(amounts, policy).items()},
    }
