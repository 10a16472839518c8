"""The calculation of every computed amount: one implementation for the check, the add-in's UDFs,
the reports, and the oracle of the template's native formulas.

It works on whole columns: money columns hold Decimal (or None for a blank), date columns are
datetime64 (NaT for a blank), choice columns hold the chosen text. Every number comes from the policy,
at the value in force on the row's key date (the parameter's `applies_by`, by default the contract date).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from schemas.fields import NO, none_value
from schemas.money import (
    ZERO,
    as_money,
    column_max,
    column_min,
    column_total,
    round_cents_column,
    split_column,
)
from schemas.policy import Policy

# Where the parts of the transformation subsidy are stored, by funding source.
SUBSIDY_PART_FIELDS = {"central": "central", "bingtuan": "bingtuan", "division": "division_fund"}

AMOUNT_FIELDS = (
    "service_total",
    "eligible_base",
    "transformation_subsidy",
    "central",
    "bingtuan",
    "division_fund",
    "progress_bonus",
    "honor_award",
    "total_award",
)
RATIO_FIELDS = ("service_ratio", "integration_ratio")

# The parameters a row's amounts use, each at the value in force on the row's key date.
ROW_PARAMETERS = (
    "contract_window_start",
    "contract_window_end",
    "service_fee_limit",
    "integration_fee_limit",
    "subsidy_rate",
    "subsidy_cap",
    "subsidy_split",
    "progress_deadline",
    "progress_bonus",
    "progress_bonus_split",
    "honor_award",
    "honor_split",
)

# The cost items 第十条（一）1 supports: software, cloud, data equipment, and the services.
COST_ITEMS = ("software", "cloud", "equipment", "consulting", "integration", "other_service")

CALCULATION_INPUTS = (
    "contract_total",
    *COST_ITEMS,
    "paid",
    "size_class",
    "level",
    "contract_date",
    "completion_date",
    "evaluation_date",
    "honor",
    "little_giant",
    "negative_record",
)


def on_rows(frame: pd.DataFrame, policy: Policy, name: str) -> pd.Series:
    """Per row, the parameter's value in force on the row's key date."""
    parameter = policy.parameter(name)
    return parameter.on_dates(frame[parameter.applies_by])


def _date_limits(frame: pd.DataFrame, policy: Policy, name: str) -> pd.Series:
    """Per row, a date parameter in force on the row's key date, as datetime64 (NaT for no date)."""
    parameter = policy.parameter(name)
    limits = pd.to_datetime(pd.Series([v.value for v in parameter.values], dtype=object)).to_numpy()
    return pd.Series(limits[parameter.positions(frame[parameter.applies_by])], index=frame.index)


Part = TypeVar("Part")


def _per_value(
    frame: pd.DataFrame, policy: Policy, name: str, compute: Callable[[Any, pd.Index], Part]
) -> Iterator[Part]:
    """`compute(value, rows)` for each distinct value of the parameter in force on the rows' key
    dates (one call over every row when the parameter has one value)."""
    parameter = policy.parameter(name)
    if len(parameter.values) == 1:
        yield compute(parameter.values[0].value, frame.index)
        return
    positions = parameter.positions(frame[parameter.applies_by])
    for position in np.unique(positions) if len(positions) else [0]:
        yield compute(parameter.values[position].value, frame.index[positions == position])


def _by_level(frame: pd.DataFrame, policy: Policy, name: str) -> pd.Series:
    """Per row, the amount for the row's level in the parameter's table in force (0 for a level the
    table does not list)."""
    level = frame["level"]
    parts = list(_per_value(frame, policy, name, lambda table, rows: level.loc[rows].map(table)))
    amounts = parts[0] if len(parts) == 1 else pd.concat(parts).reindex(frame.index)
    return amounts.map(lambda v: v if isinstance(v, Decimal) else ZERO).astype(object)


def _split_by_date(
    amounts: pd.Series, frame: pd.DataFrame, policy: Policy, name: str
) -> dict[str, pd.Series]:
    """Each amount split by the shares in force on its row's key date (schemas.money.split_column)."""
    pieces = list(
        _per_value(frame, policy, name, lambda shares, rows: split_column(amounts.loc[rows], shares))
    )
    if len(pieces) == 1:
        return pieces[0]
    return {source: pd.concat([p[source] for p in pieces]).reindex(amounts.index) for source in pieces[0]}


def _on_or_before(dates: pd.Series, limits: pd.Series) -> pd.Series:
    """dates ≤ limits, where a blank limit (NaT) means no limit."""
    return ((dates <= limits) | limits.isna()).astype(bool)


def _on_or_after(dates: pd.Series, limits: pd.Series) -> pd.Series:
    return (dates >= limits).astype(bool)


def _items_total(frame: pd.DataFrame) -> pd.Series:
    """Σ of the supported cost items (blanks as zero): the base never exceeds it."""
    total = as_money(frame[COST_ITEMS[0]])
    for name in COST_ITEMS[1:]:
        total = total + as_money(frame[name])
    return round_cents_column(total)


def _ratio(part: pd.Series, whole: pd.Series) -> pd.Series:
    values = [None if w is None or w == 0 else p / w for p, w in zip(part, whole, strict=True)]
    return pd.Series(values, index=part.index, dtype=object)


def eligibility(frame: pd.DataFrame, policy: Policy, unreadable: pd.Series | None = None) -> pd.DataFrame:
    """Each condition of 第九条, 第十条（一）1, 第十一条（一）2 and 第十条（七） as a column, and `eligible`.
    Each holds only on a valid value: a blank or unlisted choice meets no condition. `unreadable`:
    rows with a cell the template's formulas cannot compute (then no amount is counted)."""
    level_ok = frame["level"].isin(policy.eligible_levels)
    start = _date_limits(frame, policy, "contract_window_start")
    end = _date_limits(frame, policy, "contract_window_end")
    dates = frame["contract_date"]
    in_window = _on_or_after(dates, start) & _on_or_before(dates, end) & dates.notna()
    conditions = pd.DataFrame(
        {
            "level_ok": level_ok.astype(bool),
            "in_window": in_window.astype(bool),
            "sme": frame["size_class"].isin(list(policy.value("size_classes"))).astype(bool),
            "no_negative_record": (frame["negative_record"] == none_value("negative_record")).astype(bool),
            "not_little_giant": (frame["little_giant"] == NO).astype(bool),
            "readable": ~unreadable.astype(bool) if unreadable is not None else True,
        },
        index=frame.index,
    )
    conditions["eligible"] = conditions.all(axis=1)
    return conditions


def compute_amounts(frame: pd.DataFrame, policy: Policy, unreadable: pd.Series | None = None) -> pd.DataFrame:
    """Every computed column for every row of an application table.

    Besides the template's computed fields, the result holds the steps (limits, excesses, the
    eligibility conditions) and each award's part per funding source as `<award>:<source>` columns.
    """
    contract = as_money(frame["contract_total"])
    integration = as_money(frame["integration"])
    paid = as_money(frame["paid"])
    out = eligibility(frame, policy, unreadable)

    service_total = round_cents_column(
        as_money(frame["consulting"]) + integration + as_money(frame["other_service"])
    )
    service_limit = round_cents_column(contract * on_rows(frame, policy, "service_fee_limit"))
    integration_limit = round_cents_column(contract * on_rows(frame, policy, "integration_fee_limit"))
    service_excess = column_max(service_total - service_limit, ZERO)
    integration_excess = column_max(integration - integration_limit, ZERO)
    disallowed = column_max(service_excess, integration_excess)
    items = _items_total(frame)
    eligible_base = column_max(
        round_cents_column(column_min(column_min(paid, contract), items) - disallowed), ZERO
    )

    caps = _by_level(frame, policy, "subsidy_cap")
    rated = round_cents_column(eligible_base * on_rows(frame, policy, "subsidy_rate"))
    subsidy = column_min(rated, caps).where(out["eligible"], ZERO).astype(object)

    deadline = _date_limits(frame, policy, "progress_deadline")
    on_time = (
        _on_or_before(frame["completion_date"], deadline)
        & frame["completion_date"].notna()
        & _on_or_before(frame["evaluation_date"], deadline)
        & frame["evaluation_date"].notna()
    )
    bonus_by_level = _by_level(frame, policy, "progress_bonus")
    progress_bonus = bonus_by_level.where(out["eligible"] & on_time, ZERO).astype(object)

    has_honor = frame["honor"].isin(list(policy.value("honors")))
    honor_award = (
        on_rows(frame, policy, "honor_award").where(out["eligible"] & has_honor, ZERO).astype(object)
    )

    columns: dict[str, pd.Series] = {
        "service_total": service_total,
        "service_ratio": _ratio(service_total, frame["contract_total"]),
        "integration_ratio": _ratio(integration, frame["contract_total"]),
        "service_limit": service_limit,
        "integration_limit": integration_limit,
        "service_excess": service_excess,
        "integration_excess": integration_excess,
        "disallowed": disallowed,
        "items_total": items,
        "eligible_base": eligible_base,
        "rated_subsidy": rated,
        "cap": caps,
        "transformation_subsidy": subsidy,
        "on_time": on_time,
        "progress_bonus": progress_bonus,
        "honor_award": honor_award,
        "total_award": (subsidy + progress_bonus + honor_award).astype(object),
    }
    awards = {
        "transformation_subsidy": (subsidy, "subsidy_split"),
        "progress_bonus": (progress_bonus, "progress_bonus_split"),
        "honor_award": (honor_award, "honor_split"),
    }
    for award, (amounts, split) in awards.items():
        for source, part in _split_by_date(amounts, frame, policy, split).items():
            columns[f"{award}:{source}"] = part
    for source, field in SUBSIDY_PART_FIELDS.items():
        columns[field] = columns[f"transformation_subsidy:{source}"]
    # One frame built from every column at once: adding ~30 columns one by one costs more than the
    # arithmetic on a block of a few thousand rows.
    return pd.concat([out, pd.DataFrame(columns, index=frame.index)], axis=1)


def _part_columns(amounts: pd.DataFrame, source: str) -> list[str]:
    """The `<award>:<source>` columns of one funding source."""
    return [column for column in amounts.columns if column.endswith(f":{source}")]


def source_parts(amounts: pd.DataFrame, source: str) -> pd.Series:
    """Per row, every award's part from one funding source (the `<award>:<source>` columns added up)."""
    total = pd.Series(ZERO, index=amounts.index, dtype=object)
    for column in _part_columns(amounts, source):
        total = total + amounts[column]
    return total


def funding_by_source(amounts: pd.DataFrame, policy: Policy) -> dict[str, Decimal]:
    """Σ of every award's parts per funding source: each part column summed, then the columns (the
    same exact Decimal total as summing the rows' parts, without a column per source)."""
    return {
        source: sum((column_total(amounts[column]) for column in _part_columns(amounts, source)), ZERO)
        for source in policy.funding_sources
    }


def compute_one(policy: Policy, **inputs: Any) -> dict[str, Any]:
    """The amounts of one application (for the scalar UDFs): the same code as for a table."""
    row = {name: inputs.get(name) for name in CALCULATION_INPUTS}
    frame = pd.DataFrame([row], dtype=object)
    for name in ("contract_date", "completion_date", "evaluation_date"):
        frame[name] = pd.to_datetime(frame[name])
    return compute_amounts(frame, policy).iloc[0].to_dict()
