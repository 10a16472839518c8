"""The rules a fund-use plan must keep, and BUDGET_EXCEEDED in a consolidation, run through the rule
engine: a plan is a table of its lines and its 合计 row (indexed by Excel row), its columns the
funding sources (万元) and the stored 资金预算."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from schemas.engine import Rule, only, run_rules
from schemas.money import ZERO, format_ratio
from schemas.plan import BUDGET, LineExecution, Plan, PlanFigures, wan
from schemas.policy import Policy
from schemas.registry import Issue, implements
from schemas.table import Table

LINE_TOTAL = "line_total"  # Σ of a line's sources; on the 合计 row, Σ of the lines of each column


@dataclass
class PlanCells:
    """Where the plan's figures sit: a column letter per plan column, the Excel row in the index."""

    sheet: str
    columns: dict[str, str]

    def cell(self, name: str, row: int) -> str | None:
        letter = self.columns.get(name)
        return f"{letter}{row}" if letter else None

    def locate(self, issues: list[Issue]) -> list[Issue]:
        for issue in issues:
            issue.sheet, issue.cell = self.sheet, self.cell(issue.extra.pop("column"), issue.row)
        return issues


def plan_table(figures: PlanFigures, policy: Policy) -> Table:
    """The plan as a table: one row per line and the 合计 row; each source's amount (the stored total on
    the 合计 row), the stored 资金预算, and `line_total`. The line of each row is in `line`."""
    plan: Plan = policy.plan
    sources = list(policy.funding_sources)
    index = pd.Index([figures.rows[line.key] for line in plan.lines] + [figures.total_row], name="row")
    frame = pd.DataFrame(
        {
            "line": [line.key for line in plan.lines] + [None],
            **{
                source: [figures.amounts[line.key][source] for line in plan.lines]
                + [figures.stored_totals.get(source)]
                for source in sources
            },
            BUDGET: [figures.stored_budget.get(line.key) for line in plan.lines]
            + [figures.stored_totals.get(BUDGET)],
        },
        index=index,
        dtype=object,
    )
    sums = {source: figures.source_total(source) for source in sources}
    totals = pd.DataFrame(
        {
            LINE_TOTAL: [figures.line_total(line.key) for line in plan.lines] + [sum(sums.values(), ZERO)],
            **{source: [None] * len(plan.lines) + [sums[source]] for source in sources},
        },
        index=index,
        dtype=object,
    )
    return Table.of_figures(frame, policy, PlanCells(figures.sheet, figures.columns), totals)


def _lines(table: Table) -> pd.Series:
    return table.frame["line"].notna()


def _total_row(table: Table) -> pd.Series:
    return table.frame["line"].isna()


def _where(table: Table, rows: pd.Index, column: str, clause: bool = False) -> dict[str, Any]:
    """The place of an issue as a clerk names it: the line (or 合计), and the plan column it is in."""
    lines = table.frame.loc[rows, "line"]
    plan = table.policy.plan
    names = [plan.line(key).name if key is not None else "合计" for key in lines]
    found: dict[str, Any] = {"field": names, "field_label": names, "column": column}
    if clause:
        found["field_clause"] = [plan.line(key).clause for key in lines]
    return found


def _wan(values: pd.Series | Decimal) -> Any:
    """万元 amounts shown without trailing zeros."""
    if isinstance(values, pd.Series):
        return values.map(lambda v: wan(v) if isinstance(v, Decimal) else v)
    return wan(values)


def _sources(policy: Policy) -> list[str]:
    return list(policy.funding_sources)


# AMOUNT_NEGATIVE is registered with the checks each column declares (schemas.engine)
def _negative(table: Table, column: pd.Series) -> pd.Series:
    return _lines(table) & column.map(lambda v: v is not None and v < 0).astype(bool)


def _negative_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {"value": table.frame.loc[rows, name], **_where(table, rows, name)}


@implements("PLAN_ROW_SUM_MISMATCH")
def _row_sum(table: Table, column: pd.Series) -> pd.Series:
    stored = column.where(_lines(table), None)
    return stored.notna() & (stored != table.amounts[LINE_TOTAL])


def _row_sum_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {
        "value": _wan(table.frame.loc[rows, BUDGET]),
        "expected": _wan(table.amounts.loc[rows, LINE_TOTAL]),
        **_where(table, rows, BUDGET),
    }


@implements("PLAN_SOURCE_NOT_ALLOWED")
def _source_not_allowed(table: Table, column: pd.Series) -> pd.Series:
    plan = table.policy.plan
    allowed = table.frame["line"].map(lambda key: key is None or column.name in plan.line(key).sources)
    return _lines(table) & ~allowed.astype(bool) & column.map(lambda v: v is not None and v != 0).astype(bool)


def _source_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    labels = table.policy.funding_sources
    plan = table.policy.plan
    allowed = ["、".join(labels[s] for s in plan.line(key).sources) for key in table.frame.loc[rows, "line"]]
    return {
        "value": _wan(table.frame.loc[rows, name]),
        "source": labels[name],
        "expected": allowed,
        **_where(table, rows, name, clause=True),
    }


def _unit_cost(line_key: str | None, policy: Policy) -> tuple[Decimal, int, str] | None:
    if line_key is None:
        return None
    cost = policy.plan.line(line_key).unit_cost
    if not cost:
        return None
    return Decimal(str(cost["amount"])), int(cost["count"]), str(cost.get("unit", ""))


@implements("PLAN_UNIT_COST_MISMATCH")
def _unit_cost_mismatch(table: Table, column: pd.Series) -> pd.Series:
    costs = table.frame["line"].map(lambda key: _unit_cost(key, table.policy))
    expected = costs.map(lambda c: None if c is None else c[0] * c[1])
    return (expected.notna() & (table.amounts[LINE_TOTAL] != expected)).astype(bool)


def _unit_cost_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    costs = [_unit_cost(key, table.policy) for key in table.frame.loc[rows, "line"]]
    return {
        "value": _wan(table.amounts.loc[rows, LINE_TOTAL]),
        "expected": [_wan(cost * count) for cost, count, _ in costs],
        "count": [count for _, count, _ in costs],
        "unit_cost": [f"{cost} {unit}" for cost, _, unit in costs],
        **_where(table, rows, BUDGET, clause=True),
    }


def _central_share(table: Table) -> tuple[Decimal, Decimal]:
    """The central money of the transformation line, and the central money of all lines."""
    key = table.policy.plan.central_share_line
    line_row = table.frame.index[table.frame["line"] == key][0]
    total_row = table.frame.index[_total_row(table)][0]
    return table.frame.at[line_row, "central"] or ZERO, table.amounts.at[total_row, "central"]


@implements("PLAN_CENTRAL_SHARE_BELOW_80")
def _share_below(table: Table, column: pd.Series) -> pd.Series:
    central, total = _central_share(table)
    minimum = table.policy.rate("central_transformation_min_share")
    below = total != 0 and central / total < minimum
    return (table.frame["line"] == table.policy.plan.central_share_line) & below


def _share_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    central, total = _central_share(table)
    return {
        "value": _wan(central),
        "expected": format_ratio(table.policy.rate("central_transformation_min_share")),
        "total": _wan(total),
        "share": format_ratio((central / total).quantize(Decimal("0.0001"))),
        **_where(table, rows, "central"),
    }


def _total_columns(policy: Policy) -> list[str]:
    return [BUDGET, *_sources(policy)]


def _sum_of_lines(table: Table, name: str) -> pd.Series:
    return table.amounts[LINE_TOTAL if name == BUDGET else name]


def _label(table: Table, name: str) -> str:
    return "资金预算" if name == BUDGET else table.policy.funding_sources[name]


@implements("PLAN_TOTAL_MISMATCH")
def _stored_total(table: Table, column: pd.Series) -> pd.Series:
    stored = column.where(_total_row(table), None)
    return stored.notna() & (stored != _sum_of_lines(table, column.name))


def _stored_total_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {
        "what": f"的{_label(table, name)}",
        "value": _wan(table.frame.loc[rows, name]),
        "expected": _wan(_sum_of_lines(table, name).loc[rows]),
        **_where(table, rows, name),
    }


def _envelope(table: Table, name: str) -> Decimal:
    """A source's money in the plan's unit (万元); for 资金预算, all the sources'."""
    envelope = table.policy.value("fund_envelope")
    in_plan_unit = {source: amount / table.policy.plan.to_yuan for source, amount in envelope.items()}
    return sum(in_plan_unit.values(), ZERO) if name == BUDGET else in_plan_unit[name]


# PLAN_TOTAL_MISMATCH's second test (the sum against the fund envelope), registered with the first
def _envelope_mismatch(table: Table, column: pd.Series) -> pd.Series:
    return _total_row(table) & (_sum_of_lines(table, column.name) != _envelope(table, column.name))


def _envelope_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {
        "what": f"的{_label(table, name)}各行之和（资金规模）",
        "value": _wan(_sum_of_lines(table, name).loc[rows]),
        "expected": _wan(_envelope(table, name)),
        **_where(table, rows, name),
    }


PLAN_RULES = (
    Rule("AMOUNT_NEGATIVE", _sources, _negative, _negative_details),
    Rule("PLAN_ROW_SUM_MISMATCH", only(BUDGET), _row_sum, _row_sum_details),
    Rule("PLAN_SOURCE_NOT_ALLOWED", _sources, _source_not_allowed, _source_details),
    Rule("PLAN_UNIT_COST_MISMATCH", only(BUDGET), _unit_cost_mismatch, _unit_cost_details),
    Rule("PLAN_CENTRAL_SHARE_BELOW_80", only("central"), _share_below, _share_details),
    Rule("PLAN_TOTAL_MISMATCH", _total_columns, _stored_total, _stored_total_details),
    Rule("PLAN_TOTAL_MISMATCH", _total_columns, _envelope_mismatch, _envelope_details),
)


def plan_issues(figures: PlanFigures, policy: Policy) -> list[Issue]:
    """Every rule's issues for a filled plan, placed at their cells."""
    return run_rules(PLAN_RULES, plan_table(figures, policy), figures.sheet)


# --- the budget against what is committed (consolidation) -------------------------------------------


def execution_table(lines: list[LineExecution], figures: PlanFigures, policy: Policy) -> Table:
    """Per plan line (indexed by its Excel row): what is committed from each source (元, None where
    nothing counts against the line), and each budget (元) among the amounts."""
    sources = list(policy.funding_sources)
    rows = sorted({figures.rows[item.line.key] for item in lines})
    index = pd.Index(rows, name="row")
    frame = pd.DataFrame({"line": None, **dict.fromkeys(sources)}, index=index, dtype=object)
    budgets = pd.DataFrame(dict.fromkeys(sources), index=index, dtype=object)
    for item in lines:
        row = figures.rows[item.line.key]
        frame.at[row, "line"] = item.line.key
        frame.at[row, item.source] = item.committed
        budgets.at[row, item.source] = item.budget
    return Table.of_figures(frame, policy, PlanCells(figures.sheet, figures.columns), budgets)


@implements("BUDGET_EXCEEDED")
def _over_budget(table: Table, column: pd.Series) -> pd.Series:
    budget = table.amounts[column.name]
    pairs = zip(column, budget, strict=True)
    return pd.Series([c is not None and b is not None and c > b for c, b in pairs], index=column.index)


def _over_budget_details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    committed, budget = table.frame.loc[rows, name], table.amounts.loc[rows, name]
    return {
        "value": committed,
        "expected": budget,
        "excess": committed - budget,
        "source": table.policy.funding_sources[name],
        **_where(table, rows, name, clause=True),
    }


BUDGET_RULES = (Rule("BUDGET_EXCEEDED", _sources, _over_budget, _over_budget_details),)


@implements("LEDGER_OVER_BUDGET")
def _paid_over_budget(table: Table, column: pd.Series) -> pd.Series:
    return _over_budget(table, column)


LEDGER_BUDGET_RULES = (Rule("LEDGER_OVER_BUDGET", _sources, _paid_over_budget, _over_budget_details),)


def budget_exceeded(lines: list[LineExecution], figures: PlanFigures, policy: Policy) -> list[Issue]:
    """A line and source whose commitments are more than its budget, by even a cent."""
    return run_rules(BUDGET_RULES, execution_table(lines, figures, policy), figures.sheet)


def paid_over_budget(lines: list[LineExecution], figures: PlanFigures, policy: Policy) -> list[Issue]:
    """A line and source whose ledger payments and this list's payable amounts (each line's `committed`
    here) are more than its budget, by even a cent."""
    return run_rules(LEDGER_BUDGET_RULES, execution_table(lines, figures, policy), figures.sheet)
