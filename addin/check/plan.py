"""Checking a fund-use plan workbook (资金使用计划表)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from addin import template_spec as spec
from addin.check.cells import Converted, to_money, to_stored_number
from addin.check.identity import Identified, UnreadableTemplate
from addin.io.workbook_reader import NamedRange
from schemas.money import CENT
from schemas.plan import BUDGET, PlanFigures, wan
from schemas.plan_rules import plan_issues
from schemas.policy import Policy
from schemas.registry import Issue, make_issue

SOURCES = ("central", "bingtuan", "division")


def _amount(raw: Any) -> Any:
    """The official table writes "-" for no money: read it as a blank."""
    return None if isinstance(raw, str) and raw.strip() == spec.NONE_MARK else raw


def _in_wan(converted: Converted, to_yuan: Decimal) -> Converted:
    """A plan amount (万元) needs no more places than make whole cents once in 元: 12149.9999 万元 is
    121,499,999.00 元, not an amount finer than a cent."""
    if converted.rule != "AMOUNT_PRECISION":
        return converted
    in_yuan = converted.value * to_yuan
    return converted._replace(rule=None, expected=None) if in_yuan == in_yuan.quantize(CENT) else converted


def read_plan(identified: Identified, policy: Policy) -> tuple[PlanFigures, list[Issue]]:
    """The plan's figures, and an issue for each source cell that is not an amount."""
    refs = identified.require([*spec.PLAN_NAMES.values(), spec.PLAN_TOTAL_NAME])
    book = identified.book
    keys = [str(k).strip() if k is not None else "" for k in book.column(refs[spec.PLAN_NAMES["key"]])]
    expected = [line.key for line in policy.plan.lines]
    if keys != expected:
        missing = [k for k in expected if k not in keys]
        issue = make_issue(
            "TEMPLATE_NAME_MISSING",
            file=identified.name,
            value=f"计划行{'、'.join(f'（{k}）' for k in missing)}" if missing else "按原顺序排列的计划行",
            expected="与官方计划表相同的各行，顺序不变",
        )
        raise UnreadableTemplate([issue], identified.template)
    first_row = refs[spec.PLAN_NAMES["key"]].first_row
    rows = {key: first_row + n for n, key in enumerate(keys)}
    total = refs[spec.PLAN_TOTAL_NAME]
    sheet = total.sheet
    issues: list[Issue] = []
    amounts: dict[str, dict[str, Decimal | None]] = {key: {} for key in keys}
    for source in SOURCES:
        ref = refs[spec.PLAN_NAMES[source]]
        for key, raw in zip(keys, book.column(ref), strict=True):
            converted = _in_wan(to_money(_amount(raw)), policy.plan.to_yuan)
            amounts[key][source] = converted.value
            label = policy.plan.line(key).name
            if converted.rule:
                issues.append(
                    make_issue(
                        converted.rule,
                        sheet=sheet,
                        cell=f"{ref.first_column}{rows[key]}",
                        row=rows[key],
                        field=label,
                        field_label=label,
                        value=raw,
                        expected=converted.expected,
                    )
                )
    budgets = book.column(refs[spec.PLAN_NAMES[BUDGET]])
    columns = {BUDGET: spec.PLAN_COLUMNS[BUDGET], **{s: spec.PLAN_COLUMNS[s] for s in SOURCES}}
    stored_totals = {
        column: to_stored_number(
            book.value(NamedRange(sheet, letter, total.first_row, letter, total.first_row))
        )
        for column, letter in columns.items()
    }
    figures = PlanFigures(
        sheet=sheet,
        amounts=amounts,
        stored_budget={key: to_stored_number(value) for key, value in zip(keys, budgets, strict=True)},
        stored_totals=stored_totals,
        rows=rows,
        total_row=total.first_row,
        columns=columns,
    )
    return figures, issues


def check_plan(figures: PlanFigures, policy: Policy) -> list[Issue]:
    """The plan's rules (schemas.plan_rules)."""
    return plan_issues(figures, policy)


def plan_totals(figures: PlanFigures, policy: Policy) -> dict[str, Any]:
    by_source = {source: figures.source_total(source) for source in SOURCES}
    return {
        "unit": policy.plan.unit,
        "budget": format(wan(sum(by_source.values(), Decimal(0))), "f"),
        "by_source": {source: format(wan(amount), "f") for source, amount in by_source.items()},
    }
