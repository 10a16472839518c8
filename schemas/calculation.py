"""The calculation of every computed amount: one implementation for the check, the add-in's UDFs,
the reports, and the oracle of the template's native formulas.

It works on whole columns: money columns hold Decimal (or None for a blank), date columns are
datetime64 (NaT for a blank), choice columns hold the chosen text. Every number comes from the policy,
at the value in force on the row's key date (the parameter's `applies_by`, by default the contract date).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from schemas.fields import (
    NO,
    TOTAL_FIELD,
    TOTAL_LABEL,
    none_value,
    part_fields,
)
from schemas.lines import Base, FundingLine
from schemas.money import (
    ZERO,
    as_money,
    column_max,
    column_min,
    column_total,
    money_total,
    money_total_key,
    round_cents_column,
    split_column,
)
from schemas.policy import KEY_DATE_FIELDS, DateWindow, Policy

# The cost items a row may hold (application_fields.yaml); a policy's base counts some or all of them.
ALL_COST_ITEMS = ("software", "cloud", "equipment", "consulting", "integration", "other_service")

# The inputs of the enterprise's eligibility and of the base, whatever the lines.
ELIGIBILITY_INPUTS = ("contract_total", "paid", "size_class", "level", "little_giant", "negative_record")


def award_labels(policy: Policy) -> dict[str, str]:
    """Each line's label, and the total's, by column."""
    return {**{line.id: line.label for line in policy.lines}, TOTAL_FIELD: TOTAL_LABEL}


def row_parameters(policy: Policy) -> tuple[str, ...]:
    """The parameters a row's amounts use, each at the value in force on the row's key date."""
    names = [name for window in policy.windows for name in (window.start, window.end)]
    for line in policy.lines:
        names.extend(line.parameters())
    return tuple(dict.fromkeys(names))


def calculation_inputs(policy: Policy) -> tuple[str, ...]:
    """Every field a row's amounts read: a cell of one the sheet cannot compute stops the row's amounts."""
    names = [*ELIGIBILITY_INPUTS, *(w.field for w in policy.windows)]
    for line in policy.lines:
        names.extend(line.inputs())
    # the dates that choose a parameter's value (合肥's rate by the completion year)
    names.extend(policy.parameter(name).applies_by for name in row_parameters(policy))
    return tuple(dict.fromkeys(names))


def on_rows(frame: pd.DataFrame, policy: Policy, name: str) -> pd.Series:
    """Per row, the parameter's value in force on the row's key date."""
    parameter = policy.parameter(name)
    return parameter.on_dates(frame[parameter.applies_by])


def _date_limits(frame: pd.DataFrame, policy: Policy, name: str) -> pd.Series:
    """Per row, a date parameter in force on the row's key date, as datetime64 (NaT for no date)."""
    parameter = policy.parameter(name)
    limits = parameter.dates_in_force
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
    parts = list(_per_value(frame, policy, name, lambda table, rows: _level_amounts(level.loc[rows], table)))
    amounts = parts[0] if len(parts) == 1 else pd.concat(parts).reindex(frame.index)
    return amounts.astype(object)


def _level_amounts(levels: pd.Series, table: dict[str, Any]) -> pd.Series:
    """Per row, the table's amount for the row's level, ZERO for a level it does not list (or a blank):
    each distinct level looked up once."""
    codes, distinct = pd.factorize(levels.to_numpy(dtype=object))
    found = [table.get(level) for level in distinct]
    amounts = np.empty(len(found) + 1, dtype=object)  # the last one: a blank level (code -1)
    amounts[:] = [amount if isinstance(amount, Decimal) else ZERO for amount in found] + [ZERO]
    return pd.Series(amounts[codes], index=levels.index, dtype=object)


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


class MoneyColumns(dict):
    """The table's money columns as the calculation counts them (schemas.money.as_money), each worked
    out once and kept: the rules count the same columns again."""

    def __init__(self, frame: pd.DataFrame, counted: Mapping[str, pd.Series] | None = None) -> None:
        """`counted`: columns already counted (as the conversion counts them, table.Table.kept_money)."""
        super().__init__(counted or {})
        self.frame = frame

    def __missing__(self, name: str) -> pd.Series:
        self[name] = as_money(self.frame[name])
        return self[name]

    def total(self, names: Sequence[str]) -> pd.Series:
        """Σ of money columns, worked out once and kept beside them (the rules add up the same cost
        items)."""
        key = money_total_key(names)
        if key not in self:
            self[key] = money_total([self[name] for name in names], self.frame.index)
        return self[key]


def _items_total(money: MoneyColumns, items: tuple[str, ...]) -> pd.Series:
    """Σ of the supported cost items (blanks as zero): the base never exceeds it. (Each counted amount
    is whole cents, so are their sums and differences: only a product is rounded.)"""
    return money.total(items)


def _ratio(part: pd.Series, whole: pd.Series) -> pd.Series:
    values = [None if w is None or w == 0 else p / w for p, w in zip(part, whole, strict=True)]
    return pd.Series(values, index=part.index, dtype=object)


def window_column(window: DateWindow) -> str:
    """The eligibility column of a date window (the contract window's keeps its name, in_window)."""
    return "in_window" if window.field == "contract_date" else f"in_{window.field}_window"


def _in_window(frame: pd.DataFrame, policy: Policy, window: DateWindow) -> pd.Series:
    dates = frame[window.field]
    start = _date_limits(frame, policy, window.start)
    end = _date_limits(frame, policy, window.end)
    return (_on_or_after(dates, start) & _on_or_before(dates, end) & dates.notna()).astype(bool)


def eligibility(frame: pd.DataFrame, policy: Policy, unreadable: pd.Series | None = None) -> pd.DataFrame:
    """Each condition of 第九条, 第十条（一）1, 第十一条（一）2 and 第十条（七） as a column, and `eligible`.
    Each holds only on a valid value: a blank or unlisted choice meets no condition. `unreadable`:
    rows with a cell the template's formulas cannot compute (then no amount is counted)."""
    level_ok = frame["level"].isin(policy.eligible_levels)
    conditions = pd.DataFrame(
        {
            "level_ok": level_ok.astype(bool),
            **{window_column(w): _in_window(frame, policy, w) for w in policy.windows},
            "sme": frame["size_class"].isin(list(policy.value("size_classes"))).astype(bool),
            "no_negative_record": (frame["negative_record"] == none_value("negative_record")).astype(bool),
            "not_little_giant": (frame["little_giant"] == NO).astype(bool),
            "readable": ~unreadable.astype(bool) if unreadable is not None else True,
        },
        index=frame.index,
    )
    conditions["eligible"] = conditions.all(axis=1)
    return conditions


def _base_columns(
    frame: pd.DataFrame, policy: Policy, base: Base, money: MoneyColumns
) -> dict[str, pd.Series]:
    """The eligible base of the rated line, with its steps: Σ of its cost items, at most what was paid
    and the contract, less the larger excess of the service fees over their limits (附件（一））."""
    contract = money["contract_total"]
    integration = money["integration"]
    service_total = money["consulting"] + integration + money["other_service"]
    columns: dict[str, pd.Series] = {
        "service_total": service_total,
        "service_ratio": _ratio(service_total, frame["contract_total"]),
        "integration_ratio": _ratio(integration, frame["contract_total"]),
    }
    disallowed = pd.Series(ZERO, index=frame.index, dtype=object)
    for kind, fee in (("service", service_total), ("integration", integration)):
        limit = base.fee_limits.get(kind)
        if limit is None:
            continue
        columns[f"{kind}_limit"] = round_cents_column(contract * on_rows(frame, policy, limit))
        columns[f"{kind}_excess"] = column_max(fee - columns[f"{kind}_limit"], ZERO)
        disallowed = column_max(disallowed, columns[f"{kind}_excess"])
    items = _items_total(money, base.items)
    paid = money["paid"]
    columns["disallowed"] = disallowed
    columns["items_total"] = items
    columns["eligible_base"] = column_max(column_min(column_min(paid, contract), items) - disallowed, ZERO)
    return columns


def line_value(frame: pd.DataFrame, policy: Policy, name: str) -> pd.Series:
    """Per row, a parameter of a line in force on the row's key date: at the row's level when the
    parameter is a table by level."""
    return _by_level(frame, policy, name) if policy.by_level(name) else on_rows(frame, policy, name)


def _line_columns(
    frame: pd.DataFrame, policy: Policy, line: FundingLine, eligible: pd.Series, base: pd.Series | None
) -> dict[str, pd.Series]:
    """The line's amount per row, with its steps: rated (`rated_subsidy`, `cap`) or fixed, paid when the
    row is eligible and the line's own conditions hold (`on_time`, `listed`)."""
    columns: dict[str, pd.Series] = {}
    if line.rated and line.rate is not None and base is not None:
        amount = round_cents_column(base * line_value(frame, policy, line.rate))
        columns["rated_subsidy"] = amount
        if line.cap:
            columns["cap"] = line_value(frame, policy, line.cap)
            amount = column_min(amount, columns["cap"])
    else:
        amount = line_value(frame, policy, str(line.amount))
    holds = eligible
    if line.deadline:
        deadline = _date_limits(frame, policy, line.deadline)
        on_time = pd.Series(True, index=frame.index)
        for name in line.deadline_dates:
            on_time = on_time & _on_or_before(frame[name], deadline) & frame[name].notna()
        columns["on_time"] = on_time
        holds = holds & on_time
    if line.listed is not None:
        holds = holds & frame[line.listed.field].isin(list(policy.value(line.listed.list)))
    columns[line.id] = amount.where(holds, ZERO).astype(object)
    return columns


def compute_amounts(
    frame: pd.DataFrame,
    policy: Policy,
    unreadable: pd.Series | None = None,
    money: MoneyColumns | None = None,
) -> pd.DataFrame:
    """Every computed column for every row of an application table, line by line (Policy.lines).

    Besides the template's computed fields, the result holds the steps (limits, excesses, the
    eligibility conditions) and each line's part per funding source as `<line>:<source>` columns.
    `money`: where the money columns counted are kept (for the rules to count them again).
    """
    money = MoneyColumns(frame) if money is None else money
    out = eligibility(frame, policy, unreadable)
    rated = policy.rated_line
    columns = _base_columns(frame, policy, rated.base, money) if rated is not None and rated.base else {}
    total = pd.Series(ZERO, index=frame.index, dtype=object)
    for line in policy.lines:
        columns.update(_line_columns(frame, policy, line, out["eligible"], columns.get("eligible_base")))
        total = total + columns[line.id]
    columns[TOTAL_FIELD] = total.astype(object)
    for line in policy.lines:
        for source, part in _split_by_date(columns[line.id], frame, policy, line.split).items():
            columns[f"{line.id}:{source}"] = part
    for source, name in part_fields(policy).items():
        columns[name] = columns[f"{policy.part_line.id}:{source}"]
    # One frame built from every column at once: adding ~30 columns one by one costs more than the
    # arithmetic on a block of a few thousand rows.
    return pd.concat([out, pd.DataFrame(columns, index=frame.index)], axis=1)


def _part_columns(amounts: pd.DataFrame, source: str) -> list[str]:
    """The `<award>:<source>` columns of one funding source."""
    return [column for column in amounts.columns if column.endswith(f":{source}")]


def source_parts(amounts: pd.DataFrame, source: str) -> pd.Series:
    """Per row, every award's part from one funding source (the `<award>:<source>` columns added up)."""
    return money_total([amounts[column] for column in _part_columns(amounts, source)], amounts.index)


def funding_by_source(amounts: pd.DataFrame, policy: Policy) -> dict[str, Decimal]:
    """Σ of every award's parts per funding source: each part column summed, then the columns (the
    same exact Decimal total as summing the rows' parts, without a column per source)."""
    return {
        source: sum((column_total(amounts[column]) for column in _part_columns(amounts, source)), ZERO)
        for source in policy.funding_sources
    }


def compute_one(policy: Policy, **inputs: Any) -> dict[str, Any]:
    """The amounts of one application (for the scalar UDFs): the same code as for a table."""
    names = dict.fromkeys([*calculation_inputs(policy), *ALL_COST_ITEMS, *KEY_DATE_FIELDS])
    row = {name: inputs.get(name) for name in names}
    frame = pd.DataFrame([row], dtype=object)
    for name in (*KEY_DATE_FIELDS, *(w.field for w in policy.windows)):
        frame[name] = pd.to_datetime(frame[name])
    return compute_amounts(frame, policy).iloc[0].to_dict()
