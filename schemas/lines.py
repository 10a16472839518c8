"""The funding lines of an application row, each declared once in the policy file (`lines:`).

A line names its dated parameters, its conditions beyond the enterprise's eligibility, its amount and
the parameter that splits it by funding source. Every use of a line is derived from this one
declaration: the Decimal amount (schemas.calculation), the template's Excel formula
(addin.templates.formulas), the steps `dtfund explain` prints (addin.reports.explain), the UDFs, the
JSON, the reports and the consolidation, which all loop over `Policy.lines`.

A line's amount is one of two shapes:
- rated: `rate` × the eligible base (the cost items of `base.items`, less the service fees over
  `base.fee_limits`), rounded to the cent, at most `cap`; there is at most one rated line (its base is
  the template's 可补贴改造费用 column);
- fixed: the parameter `amount`.
A parameter whose value is a table keyed by the evaluation levels (二级/三级/四级) is read at the row's
level (a level the table does not list gets 0); any parameter may be dated and chosen by any of the row's
dates (`applies_by`). The line is paid only on an eligible row and when its own conditions hold:
`deadline` (every date of `deadline_dates` filled and not later than the parameter's date) and
`listed` (the field's choice is in the list parameter).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The keys a line may have in the policy file (schemas.policy_check reports any other).
LINE_KEYS = (
    "id",
    "label",
    "clause",
    "base",
    "rate",
    "cap",
    "amount",
    "deadline",
    "deadline_dates",
    "listed",
    "split",
)
BASE_KEYS = ("items", "fee_limits")
FEE_LIMIT_KEYS = ("service", "integration")
LISTED_KEYS = ("field", "list")


@dataclass(frozen=True)
class Base:
    """The cost a rated line is a share of: the supported cost items, less the fees over their limits."""

    items: tuple[str, ...]
    fee_limits: dict[str, str] = field(default_factory=dict)  # service / integration -> parameter

    @property
    def service_limit(self) -> str | None:
        return self.fee_limits.get("service")

    @property
    def integration_limit(self) -> str | None:
        return self.fee_limits.get("integration")


@dataclass(frozen=True)
class Listed:
    """A condition that the row's choice in `field` is one of the list parameter's values."""

    field: str
    list: str


@dataclass(frozen=True)
class FundingLine:
    id: str  # the computed column that holds the line's amount
    label: str
    clause: str
    split: str  # the parameter of its shares by funding source
    base: Base | None = None
    rate: str | None = None
    cap: str | None = None
    amount: str | None = None
    deadline: str | None = None
    deadline_dates: tuple[str, ...] = ()
    listed: Listed | None = None

    @property
    def rated(self) -> bool:
        return self.base is not None

    def parameters(self) -> tuple[str, ...]:
        """Every parameter the line reads, in the order the steps show them."""
        names = [self.rate, self.cap, self.deadline, self.amount, self.split]
        if self.base is not None:
            names = [*self.base.fee_limits.values(), *names]
        return tuple(n for n in names if n)

    def inputs(self) -> tuple[str, ...]:
        """The row's fields the line reads besides the enterprise's eligibility."""
        names = [*(self.base.items if self.base else ()), *self.deadline_dates]
        if self.listed is not None:
            names.append(self.listed.field)
        return tuple(names)


def parse_line(raw: dict[str, Any]) -> FundingLine:
    """A line from its mapping in the policy file (KeyError/TypeError for a missing or malformed key:
    the loader reports it; `dtfund policy check` names it)."""
    base = raw.get("base")
    listed = raw.get("listed")
    return FundingLine(
        id=str(raw["id"]),
        label=str(raw["label"]),
        clause=str(raw["clause"]),
        split=str(raw["split"]),
        base=Base(tuple(base["items"]), dict(base.get("fee_limits") or {})) if base is not None else None,
        rate=raw.get("rate"),
        cap=raw.get("cap"),
        amount=raw.get("amount"),
        deadline=raw.get("deadline"),
        deadline_dates=tuple(raw.get("deadline_dates") or ()),
        listed=Listed(str(listed["field"]), str(listed["list"])) if listed is not None else None,
    )
