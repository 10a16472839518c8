"""The rules of an award sheet, vectorised over columns: the exclusions of 第十条（七） for every
enterprise, caps, pools and the count of typical cases, the 兵团 recognition of carriers, the same award
twice, and the stored subsidy against the rules'. The cell rules (required, allowed, amounts, credit
codes) are declared by the sheet's columns (schemas.engine)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from schemas import cell_rules
from schemas.application_rules import MONEY_TOLERANCE, exclusion_rules
from schemas.awards import AwardKind
from schemas.engine import Rule, only, run_rules
from schemas.fields import YES
from schemas.money import ZERO, as_money
from schemas.registry import Issue, implements
from schemas.table import Table


def _rule(rule_id: str, field_id: str, violated, details, needs: tuple[str, ...] | None = None) -> Rule:
    """A rule on one column; rows whose cell in that column failed to convert are left to that issue."""
    return Rule(rule_id, only(field_id), violated, details, (field_id,) if needs is None else needs)


def _values(table: Table, name: str, rows: pd.Index) -> pd.Series:
    return table.frame.loc[rows, name]


def cap_rule(kind: AwardKind) -> Rule:
    """An amount typed over the cap of its award (a computed subsidy is capped by its formula)."""
    return _rule(
        "AWARD_OVER_CAP",
        "amount",
        lambda table, column: as_money(column) > table.policy.value(kind.cap),
        lambda table, name, rows: {
            "value": _values(table, name, rows),
            "expected": table.policy.value(kind.cap),
        },
    )


def pool_rule(kind: AwardKind) -> Rule:
    """Per funding source, the row where the running total of the awards first passes the pool."""

    def running(table: Table) -> pd.Series:
        def by_source() -> pd.Series:
            amounts = table.amounts
            total = pd.Series(ZERO, index=amounts.index, dtype=object)
            for source in table.policy.value(kind.pool):
                within = amounts["award"].where(amounts["source"] == source, ZERO).astype(object).cumsum()
                total = total.where(amounts["source"] != source, within)
            return total

        return table.once("pool_running_total", by_source)

    def pools(table: Table) -> pd.Series:
        return table.amounts["source"].map(table.policy.value(kind.pool))

    def violated(table: Table, column: pd.Series) -> pd.Series:
        limits = pools(table)
        over = (limits.notna() & (running(table) > limits.fillna(ZERO))).astype(bool)
        passed_before = pd.Series(False, index=over.index)
        for source in table.policy.value(kind.pool):
            mine = table.amounts["source"] == source
            passed_before |= mine & over.where(mine, False).shift(1, fill_value=False).cummax()
        return over & ~passed_before

    def details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
        total, limit = running(table).loc[rows], pools(table).loc[rows]
        sources = table.amounts.loc[rows, "source"].map(table.policy.funding_sources)
        return {"value": total, "expected": limit, "excess": total - limit, "source": sources}

    return _rule("AWARD_POOL_EXCEEDED", "amount", violated, details)


def count_rule(kind: AwardKind) -> Rule:
    """Every row past the number of awards the measures allow (the 31st typical case onwards)."""

    def ordinal(table: Table) -> pd.Series:
        return pd.Series(range(1, len(table.frame) + 1), index=table.frame.index)

    def limit(table: Table) -> int:
        return int(table.policy.value(kind.count_limit))

    return _rule(
        "AWARD_COUNT_EXCEEDED",
        kind.fields[0].id,
        lambda table, column: ordinal(table) > limit(table),
        lambda table, name, rows: {"value": ordinal(table).loc[rows], "expected": limit(table)},
    )


def recognition_rule() -> Rule:
    return _rule(
        "CARRIER_NOT_RECOGNISED",
        "recognized",
        lambda table, column: column.notna() & ~cell_rules.is_yes(column, YES),
        lambda table, name, rows: {
            "value": _values(table, name, rows),
            "carrier": _values(table, "carrier", rows),
        },
    )


def duplicate_rule(kind: AwardKind) -> Rule:
    """The same enterprise (credit code) — or the same division — twice on one award sheet."""
    return _rule(
        "AWARD_DUPLICATE",
        kind.key_field,
        lambda table, column: cell_rules.repeated(column),
        lambda table, name, rows: {
            "value": _values(table, name, rows),
            "expected": cell_rules.other_rows(table.frame[name], rows),
        },
    )


def stored_value_rule(kind: AwardKind) -> Rule:
    """A stored subsidy that differs from the rules' (typed over the formula, or a stale cache); rows
    with a cell that failed to convert are skipped (the formulas could not see it)."""
    computed = [f.id for f in kind.fields if f.computed]

    def violated(table: Table, column: pd.Series) -> pd.Series:
        return cell_rules.differs(column, table.amounts[column.name], MONEY_TOLERANCE)

    def details(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
        return {"value": table.stored.loc[rows, name], "expected": table.amounts.loc[rows, name]}

    needs = tuple(f.id for f in kind.input_fields())
    return Rule("FORMULA_VALUE_MISMATCH", lambda policy: computed, violated, details, needs)


@implements(
    "AWARD_OVER_CAP",
    "AWARD_POOL_EXCEEDED",
    "AWARD_COUNT_EXCEEDED",
    "CARRIER_NOT_RECOGNISED",
    "AWARD_DUPLICATE",
    "FORMULA_VALUE_MISMATCH",
)
def award_rules(kind: AwardKind) -> list[Rule]:
    """The rules of one award sheet, in the order their issues are listed."""
    rules = exclusion_rules(kind.fields) if kind.applicant == "enterprise" else []
    if kind.cap and not kind.rate:
        rules.append(cap_rule(kind))
    if kind.pool:
        rules.append(pool_rule(kind))
    if kind.count_limit:
        rules.append(count_rule(kind))
    if kind.has("recognized"):
        rules.append(recognition_rule())
    return [*rules, duplicate_rule(kind), stored_value_rule(kind)]


def award_issues(table: Table, kind: AwardKind) -> list[Issue]:
    """Every rule's issues for one award sheet, placed at their cells."""
    return run_rules(award_rules(kind), table, kind.sheet, context={"sheet_name": kind.sheet})
