"""The rules of an award sheet, vectorised over columns: the cells (required, allowed, amounts, credit
codes), the exclusions of 第十条（七） for every enterprise, caps, pools and the count of typical cases,
the 兵团 recognition of carriers, the same award twice, and the stored subsidy against the rules'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from schemas import cell_rules
from schemas.application_rules import MONEY_TOLERANCE
from schemas.awards import AwardKind
from schemas.fields import YES
from schemas.money import ZERO, as_money
from schemas.policy import Policy
from schemas.registry import Issue, implements, make_issue


@dataclass(frozen=True)
class AwardTable:
    """One award sheet, typed: inputs by field id (indexed by Excel row), which cells failed to convert,
    the values the workbook stores in computed columns, and the amounts the rules give."""

    kind: AwardKind
    frame: pd.DataFrame
    failed: pd.DataFrame
    stored: pd.DataFrame
    amounts: pd.DataFrame


def _found(table: AwardTable, rule_id: str, field_id: str, mask: pd.Series, **details: Any) -> list[Issue]:
    """One issue per row where `mask` holds (rows whose cell failed to convert are left to that issue);
    a detail is a Series (one value per row) or one value for all."""
    if field_id in table.failed.columns:
        mask = mask & ~table.failed[field_id]
    spec = table.kind.field(field_id)
    issues = []
    for row in mask[mask.astype(bool)].index:
        context = {k: (v.loc[row] if isinstance(v, pd.Series) else v) for k, v in details.items()}
        issues.append(
            make_issue(
                rule_id,
                sheet=table.kind.sheet,
                row=int(row),
                field=field_id,
                field_label=spec.label,
                field_clause=spec.clause,
                sheet_name=table.kind.sheet,
                **context,
            )
        )
    return issues


@implements("REQUIRED_MISSING", "VALUE_NOT_ALLOWED", "AMOUNT_NEGATIVE", "USCC_INVALID")
def cell_issues(table: AwardTable, policy: Policy) -> list[Issue]:
    frame, issues = table.frame, []
    for spec in table.kind.input_fields():
        values = frame[spec.id]
        if spec.required == "always":
            issues += _found(
                table,
                "REQUIRED_MISSING",
                spec.id,
                cell_rules.blank(values, table.failed[spec.id]),
                condition="",
            )
        if spec.kind == "choice":
            allowed = spec.allowed(policy)
            mask = cell_rules.not_allowed(values, allowed)
            issues += _found(
                table, "VALUE_NOT_ALLOWED", spec.id, mask, value=values, expected="、".join(allowed)
            )
        if spec.kind == "money":
            issues += _found(table, "AMOUNT_NEGATIVE", spec.id, cell_rules.negative(values), value=values)
        if spec.kind == "uscc":
            invalid = cell_rules.invalid_codes(values)
            reasons = pd.Series("", index=frame.index, dtype=object)
            reasons[invalid] = cell_rules.code_problems(values[invalid])
            issues += _found(table, "USCC_INVALID", spec.id, invalid, value=values, reason=reasons)
    return issues


@implements("EXCLUDED_NEGATIVE_RECORD", "EXCLUDED_NOT_ACCEPTED", "EXCLUDED_LITTLE_GIANT")
def exclusion_issues(table: AwardTable, policy: Policy) -> list[Issue]:
    """第十条（七） for every enterprise applicant: negative records, projects not accepted, 小巨人."""
    if table.kind.applicant != "enterprise":
        return []
    frame = table.frame
    record, accepted = frame["negative_record"], policy.value("acceptance_statuses")[0]
    none_record = table.kind.field("negative_record").none_value
    return [
        *_found(
            table,
            "EXCLUDED_NEGATIVE_RECORD",
            "negative_record",
            cell_rules.has_negative_record(record, none_record),
            value=record,
        ),
        *_found(
            table,
            "EXCLUDED_NOT_ACCEPTED",
            "acceptance",
            frame["acceptance"].notna() & (frame["acceptance"] != accepted),
            value=frame["acceptance"],
            expected=accepted,
        ),
        *_found(
            table,
            "EXCLUDED_LITTLE_GIANT",
            "little_giant",
            cell_rules.is_yes(frame["little_giant"], YES),
            value=YES,
        ),
    ]


@implements("AWARD_OVER_CAP")
def cap_issues(table: AwardTable, policy: Policy) -> list[Issue]:
    """An amount typed over the cap of its award (a computed subsidy is capped by its formula)."""
    kind = table.kind
    if not kind.cap or kind.rate:
        return []
    cap = policy.value(kind.cap)
    amounts = table.frame["amount"]
    return _found(table, "AWARD_OVER_CAP", "amount", as_money(amounts) > cap, value=amounts, expected=cap)


@implements("AWARD_POOL_EXCEEDED")
def pool_issues(table: AwardTable, policy: Policy) -> list[Issue]:
    """Per funding source, the row where the running total of the awards first passes the pool."""
    kind = table.kind
    if not kind.pool:
        return []
    issues = []
    amounts = table.amounts
    for source, pool in policy.value(kind.pool).items():
        running = amounts["award"].where(amounts["source"] == source, ZERO).astype(object).cumsum()
        over = (running > pool).astype(bool)
        first = over & ~over.shift(1, fill_value=False).cummax()
        issues += _found(
            table,
            "AWARD_POOL_EXCEEDED",
            "amount",
            first,
            value=running,
            expected=pool,
            excess=running - pool,
            source=policy.funding_sources[source],
        )
    return issues


@implements("AWARD_COUNT_EXCEEDED")
def count_issues(table: AwardTable, policy: Policy) -> list[Issue]:
    """Every row past the number of awards the measures allow (the 31st typical case onwards)."""
    kind = table.kind
    if not kind.count_limit:
        return []
    limit = int(policy.value(kind.count_limit))
    ordinal = pd.Series(range(1, len(table.frame) + 1), index=table.frame.index)
    first = kind.fields[0].id
    return _found(table, "AWARD_COUNT_EXCEEDED", first, ordinal > limit, value=ordinal, expected=limit)


@implements("CARRIER_NOT_RECOGNISED")
def recognition_issues(table: AwardTable, policy: Policy) -> list[Issue]:
    if not table.kind.has("recognized"):
        return []
    recognized = table.frame["recognized"]
    return _found(
        table,
        "CARRIER_NOT_RECOGNISED",
        "recognized",
        recognized.notna() & ~cell_rules.is_yes(recognized, YES),
        value=recognized,
        carrier=table.frame["carrier"],
    )


@implements("AWARD_DUPLICATE")
def duplicate_issues(table: AwardTable, policy: Policy) -> list[Issue]:
    """The same enterprise (credit code) — or the same division — twice on one award sheet."""
    key = table.kind.key_field
    values = table.frame[key]
    repeated = cell_rules.repeated(values)
    others = pd.Series("", index=values.index, dtype=object)
    others[repeated] = cell_rules.other_rows(values, values.index[repeated])
    return _found(table, "AWARD_DUPLICATE", key, repeated, value=values, expected=others)


@implements("FORMULA_VALUE_MISMATCH")
def stored_value_issues(table: AwardTable, policy: Policy) -> list[Issue]:
    """A stored subsidy that differs from the rules' (typed over the formula, or a stale cache)."""
    issues = []
    unreliable = table.failed.any(axis=1)
    for spec in (f for f in table.kind.fields if f.computed):
        stored, computed = table.stored[spec.id], table.amounts[spec.id]
        differs = cell_rules.differs(stored, computed, MONEY_TOLERANCE)
        issues += _found(
            table, "FORMULA_VALUE_MISMATCH", spec.id, differs & ~unreliable, value=stored, expected=computed
        )
    return issues


AwardCheck = Callable[[AwardTable, Policy], list[Issue]]
CHECKS: tuple[AwardCheck, ...] = (
    cell_issues,
    exclusion_issues,
    cap_issues,
    pool_issues,
    count_issues,
    recognition_issues,
    duplicate_issues,
    stored_value_issues,
)


def award_issues(table: AwardTable, policy: Policy) -> list[Issue]:
    """Every rule's issues for one award sheet."""
    return [issue for check in CHECKS for issue in check(table, policy)]
