"""The fund-use plan (附件：资金使用计划表): its lines from the policy, a filled plan's figures, and the
execution of each line (its rules: schemas.plan_rules).

Amounts are Decimal 万元. A plan as filled is a `PlanFigures`: the amount per line and funding source,
the budgets and totals the workbook stores (None where it stores none), and where each line stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from schemas.money import ZERO

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
        """How a clerk names the line: （二）数字化改造进度奖励; an item of a line, by its number: （十四）1
        (the first item of （十四）其他 as its others, though the annex heads it with the line's name)."""
        if "." in self.key:
            return line_number(self.key)
        return f"{self.label}{self.direction}" if self.label else line_number(self.key)


def line_number(key: str) -> str:
    """A plan line's number as the annex writes it, from its key: 二 -> （二）, 十四.1 -> （十四）1."""
    main, _, item = key.partition(".")
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


@dataclass(frozen=True)
class LineExecution:
    """One plan line and funding source: budget (元), committed (元; None where no application amount
    counts against the line), the part of it that can be paid, remaining, and the execution rate."""

    line: PlanLine
    source: str
    budget: Decimal
    committed: Decimal | None
    payable: Decimal | None = None  # None where nothing counts against the line, or not yet decided

    @property
    def remaining(self) -> Decimal | None:
        return None if self.committed is None else self.budget - self.committed

    @property
    def rate(self) -> Decimal | None:
        if self.committed is None or self.budget == 0:
            return None
        return self.committed / self.budget


def _counted(line: PlanLine, source: str, by_award: dict[str, Decimal]) -> Decimal | None:
    """Σ of a line's awards from one source (by_award: Σ per `<award>:<source>`); None for a line that
    no award counts against."""
    if not line.awards:
        return None
    return sum((by_award.get(f"{award}:{source}", ZERO) for award in line.awards), ZERO)


def execution(plan: Plan, figures: PlanFigures, committed: dict[str, Decimal]) -> list[LineExecution]:
    """Every line × source with money or commitments; `committed` holds Σ per `<award>:<source>`."""
    rows = []
    for line in plan.lines:
        for source, amount in figures.amounts[line.key].items():
            budget = (amount or ZERO) * plan.to_yuan
            spent = _counted(line, source, committed)
            if budget or spent or (line.awards and source in line.sources):
                rows.append(LineExecution(line=line, source=source, budget=budget, committed=spent))
    return rows


def with_payable(lines: list[LineExecution], payable: dict[str, Decimal]) -> list[LineExecution]:
    """The same lines with the part of each commitment that can be paid (Σ per `<award>:<source>` of
    the rows nothing holds)."""
    return [replace(item, payable=_counted(item.line, item.source, payable)) for item in lines]
