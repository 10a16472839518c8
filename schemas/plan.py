"""The fund-use plan (附件：资金使用计划表): its lines from the policy, and the rules a plan must keep.

Amounts are Decimal 万元. A plan as filled is a `PlanFigures`: the amount per line and funding source,
the budgets and totals the workbook stores (None where it stores none), and where each line stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from schemas.money import ZERO, format_ratio
from schemas.registry import Issue, implements, make_issue

BUDGET = "budget"


@dataclass(frozen=True)
class PlanLine:
    key: str
    label: str
    direction: str
    content: str
    budget: dict[str, Decimal | None]
    sources: tuple[str, ...]
    clause: str
    awards: tuple[str, ...] = ()
    unit_cost: dict[str, Any] | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """How a clerk names the line: （二） 数字化改造进度奖励, （十四）2."""
        if self.label:
            return f"{self.label}{self.direction}"
        main, _, item = self.key.partition(".")
        return f"（{main}）{item}"


@dataclass(frozen=True)
class Plan:
    unit: str
    to_yuan: Decimal
    central_share_line: str
    lines: tuple[PlanLine, ...]
    total_notes: dict[str, str]

    def line(self, key: str) -> PlanLine:
        return next(line for line in self.lines if line.key == key)


def parse_plan(raw: dict[str, Any]) -> Plan:
    def amount(value: Any) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    lines = tuple(
        PlanLine(
            key=str(item["key"]),
            label=item.get("label", ""),
            direction=item.get("direction", ""),
            content=item["content"],
            budget={s: amount(v) for s, v in item["budget"].items()},
            sources=tuple(item["sources"]),
            clause=item["clause"],
            awards=tuple(item.get("awards", ())),
            unit_cost=item.get("unit_cost"),
            notes=dict(item.get("notes", {})),
        )
        for item in raw["lines"]
    )
    return Plan(
        unit=raw["unit"],
        to_yuan=Decimal(str(raw["to_yuan"])),
        central_share_line=str(raw["central_share_line"]),
        lines=lines,
        total_notes=dict(raw.get("total_notes", {})),
    )


@dataclass
class PlanFigures:
    """A filled plan: per line key the amount per source (万元), the stored budget and totals."""

    sheet: str
    amounts: dict[str, dict[str, Decimal | None]]
    stored_budget: dict[str, Decimal | None]
    stored_totals: dict[str, Decimal | None]
    rows: dict[str, int]
    total_row: int
    columns: dict[str, str]

    def cell(self, column: str, key: str | None = None) -> str:
        return f"{self.columns[column]}{self.total_row if key is None else self.rows[key]}"

    def line_total(self, key: str) -> Decimal:
        return sum((v for v in self.amounts[key].values() if v is not None), ZERO)

    def source_total(self, source: str) -> Decimal:
        return sum((a[source] for a in self.amounts.values() if a[source] is not None), ZERO)


def wan(amount: Decimal) -> Decimal:
    """An amount in 万元 without trailing zeros (12150.0 -> 12150, 2.50 -> 2.5)."""
    normalized = amount.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral() else normalized


def _issue(
    rule_id: str,
    figures: PlanFigures,
    column: str,
    key: str | None,
    line_name: str,
    clause: str | None = None,
    **context: Any,
) -> Issue:
    """An issue at a plan cell; amounts in 万元 are shown without trailing zeros (BUDGET_EXCEEDED is in 元)."""
    if rule_id.startswith("PLAN_"):
        context = {k: wan(v) if isinstance(v, Decimal) else v for k, v in context.items()}
    row = figures.total_row if key is None else figures.rows[key]
    return make_issue(
        rule_id,
        sheet=figures.sheet,
        cell=figures.cell(column, key),
        row=row,
        field=line_name,
        field_label=line_name,
        field_clause=clause,
        **context,
    )


@implements("PLAN_ROW_SUM_MISMATCH")
def row_sum_mismatches(plan: Plan, figures: PlanFigures) -> list[Issue]:
    issues = []
    for line in plan.lines:
        stored = figures.stored_budget.get(line.key)
        if stored is not None and stored != figures.line_total(line.key):
            issues.append(
                _issue(
                    "PLAN_ROW_SUM_MISMATCH",
                    figures,
                    BUDGET,
                    line.key,
                    line.name,
                    value=stored,
                    expected=figures.line_total(line.key),
                )
            )
    return issues


@implements("PLAN_TOTAL_MISMATCH")
def total_mismatches(
    plan: Plan, figures: PlanFigures, envelope: dict[str, Decimal], source_labels: dict[str, str]
) -> list[Issue]:
    """The 合计 row against the sum of the lines, and each source's total against its envelope."""
    issues = []
    envelope_wan = {source: amount / plan.to_yuan for source, amount in envelope.items()}
    sums = {source: figures.source_total(source) for source in envelope}
    sums[BUDGET] = sum(sums.values(), ZERO)
    envelope_wan[BUDGET] = sum(envelope_wan.values(), ZERO)
    for column in (BUDGET, *envelope):
        label = "资金预算" if column == BUDGET else source_labels[column]
        stored = figures.stored_totals.get(column)
        if stored is not None and stored != sums[column]:
            issues.append(
                _issue(
                    "PLAN_TOTAL_MISMATCH",
                    figures,
                    column,
                    None,
                    "合计",
                    what=f"的{label}",
                    value=stored,
                    expected=sums[column],
                )
            )
        if sums[column] != envelope_wan[column]:
            issues.append(
                _issue(
                    "PLAN_TOTAL_MISMATCH",
                    figures,
                    column,
                    None,
                    "合计",
                    what=f"的{label}各行之和（资金规模）",
                    value=sums[column],
                    expected=envelope_wan[column],
                )
            )
    return issues


@implements("PLAN_CENTRAL_SHARE_BELOW_80")
def central_share_below(plan: Plan, figures: PlanFigures, minimum: Decimal) -> list[Issue]:
    line = plan.line(plan.central_share_line)
    central = figures.amounts[line.key]["central"] or ZERO
    total = figures.source_total("central")
    if total == 0 or central / total >= minimum:
        return []
    return [
        _issue(
            "PLAN_CENTRAL_SHARE_BELOW_80",
            figures,
            "central",
            line.key,
            line.name,
            value=central,
            expected=format_ratio(minimum),
            total=total,
            share=format_ratio((central / total).quantize(Decimal("0.0001"))),
        )
    ]


@implements("PLAN_SOURCE_NOT_ALLOWED")
def sources_not_allowed(plan: Plan, figures: PlanFigures, source_labels: dict[str, str]) -> list[Issue]:
    issues = []
    for line in plan.lines:
        for source, amount in figures.amounts[line.key].items():
            if source not in line.sources and amount is not None and amount != 0:
                issues.append(
                    _issue(
                        "PLAN_SOURCE_NOT_ALLOWED",
                        figures,
                        source,
                        line.key,
                        line.name,
                        line.clause,
                        value=amount,
                        source=source_labels[source],
                        expected="、".join(source_labels[s] for s in line.sources),
                    )
                )
    return issues


@implements("PLAN_UNIT_COST_MISMATCH")
def unit_cost_mismatches(plan: Plan, figures: PlanFigures) -> list[Issue]:
    issues = []
    for line in plan.lines:
        if not line.unit_cost:
            continue
        unit_cost, count = Decimal(str(line.unit_cost["amount"])), int(line.unit_cost["count"])
        expected = unit_cost * count
        budget = figures.line_total(line.key)
        if budget != expected:
            issues.append(
                _issue(
                    "PLAN_UNIT_COST_MISMATCH",
                    figures,
                    BUDGET,
                    line.key,
                    line.name,
                    line.clause,
                    value=budget,
                    expected=expected,
                    count=count,
                    unit_cost=f"{unit_cost} {line.unit_cost.get('unit', '')}",
                )
            )
    return issues


@dataclass(frozen=True)
class LineExecution:
    """One plan line and funding source: budget (元), committed (元; None where no application amount
    counts against the line), remaining, and the execution rate."""

    line: PlanLine
    source: str
    budget: Decimal
    committed: Decimal | None

    @property
    def remaining(self) -> Decimal | None:
        return None if self.committed is None else self.budget - self.committed

    @property
    def rate(self) -> Decimal | None:
        if self.committed is None or self.budget == 0:
            return None
        return self.committed / self.budget


def execution(plan: Plan, figures: PlanFigures, committed: dict[str, Decimal]) -> list[LineExecution]:
    """Every line × source with money or commitments; `committed` holds Σ per `<award>:<source>`."""
    rows = []
    for line in plan.lines:
        for source, amount in figures.amounts[line.key].items():
            budget = (amount or ZERO) * plan.to_yuan
            spent = (
                sum((committed.get(f"{award}:{source}", ZERO) for award in line.awards), ZERO)
                if line.awards
                else None
            )
            if budget or spent or (line.awards and source in line.sources):
                rows.append(LineExecution(line=line, source=source, budget=budget, committed=spent))
    return rows


@implements("BUDGET_EXCEEDED")
def budget_exceeded(
    lines: list[LineExecution], figures: PlanFigures, source_labels: dict[str, str]
) -> list[Issue]:
    """A line and source whose commitments are more than its budget, by even a cent."""
    return [
        _issue(
            "BUDGET_EXCEEDED",
            figures,
            item.source,
            item.line.key,
            item.line.name,
            item.line.clause,
            value=item.committed,
            expected=item.budget,
            excess=item.committed - item.budget,
            source=source_labels[item.source],
        )
        for item in lines
        if item.committed is not None and item.committed > item.budget
    ]
