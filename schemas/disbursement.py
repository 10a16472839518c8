"""Which gathered rows can be paid (第十一条（一）6: only what passed 初审 and 复审 is paid). A row is held
while an error stands on it — on its own cells, or a duplicate of its enterprise in another row or file —
or on its file as a whole (the 填报单位 cell, the template); a warning never holds a payment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import pandas as pd

from schemas.money import column_total
from schemas.registry import load_registry
from schemas.total_rows import TOTAL_ROW_RULE

HOLDING_SEVERITY = "error"
PLACE = ["file", "sheet", "row"]  # where a gathered row, or an issue, stands: file name, sheet, Excel row
HOLD_COLUMNS = ("payable", "held_by", "held_by_row", "held_by_file")


def holding_rules() -> tuple[str, ...]:
    """The ids of the rules whose issues hold a payment, in registry order: every rule of severity error
    but a clerk's 合计 row's (the row is set aside: it is no application, nothing of it is paid, and it
    holds no other row)."""
    return tuple(
        spec.id
        for spec in load_registry().values()
        if spec.severity == HOLDING_SEVERITY and spec.id != TOTAL_ROW_RULE
    )


def _rules_by(
    keys: Iterable[Any], rules: Iterable[str], order: Mapping[str, int]
) -> dict[Any, tuple[str, ...]]:
    """The distinct rules found for each key, in registry order."""
    found: dict[Any, set[str]] = {}
    for key, rule in zip(keys, rules, strict=True):
        found.setdefault(key, set()).add(rule)
    return {key: tuple(sorted(rules, key=order.__getitem__)) for key, rules in found.items()}


def _places(frame: pd.DataFrame) -> pd.DataFrame:
    """The place columns with the Excel row as a nullable integer (an issue of no row has none)."""
    places = frame[PLACE].astype(object)
    places["row"] = pd.array(frame["row"].tolist(), dtype="Int64")
    return places


def holds(rows: pd.DataFrame, issues: pd.DataFrame) -> pd.DataFrame:
    """Per gathered row (`file`, `sheet`, Excel `row`), from the issues (`file`, `sheet`, `row`, `rule`),
    the holding rules (tuples in registry order): `held_by_row`, of errors on the row itself;
    `held_by_file`, of errors on no row of its file (they stand on every row of it); `held_by`, both;
    and `payable`, when nothing holds the row."""
    order = {rule: n for n, rule in enumerate(holding_rules())}
    errors = issues[issues["rule"].isin(order.keys())]
    at = _places(rows).assign(at=range(len(rows)))
    located = _places(errors).assign(rule=errors["rule"].to_numpy()).merge(at, on=PLACE, how="left")
    on_a_row = located["at"].notna()
    on_row = _rules_by(located.loc[on_a_row, "at"].astype(int), located.loc[on_a_row, "rule"], order)
    on_file = _rules_by(located.loc[~on_a_row, "file"], located.loc[~on_a_row, "rule"], order)
    own = [on_row.get(n, ()) for n in range(len(rows))]
    whole = [on_file.get(file, ()) for file in rows["file"]] if on_file else [()] * len(rows)
    held_by = [
        tuple(sorted({*a, *b}, key=order.__getitem__)) if b else a for a, b in zip(own, whole, strict=True)
    ]
    return pd.DataFrame(
        {
            "payable": pd.Series([not rules for rules in held_by], index=rows.index, dtype=bool),
            "held_by": _tuples(held_by, rows.index),
            "held_by_row": _tuples(own, rows.index),
            "held_by_file": _tuples(whole, rows.index),
        }
    )


def on_disbursement_list(payable: pd.Series, total_award: pd.Series) -> pd.Series:
    """Which rows the disbursement list shows: every held row, and a payable row with something to pay.
    A payable row that comes to 0 (not yet evaluated, not eligible) is left out: nothing is paid and
    nothing holds it."""
    return ~payable.astype(bool) | total_award.map(bool)


def _tuples(values: list[tuple[str, ...]], index: pd.Index) -> pd.Series:
    """A column of tuples (pandas would otherwise spread them over columns)."""
    column = pd.Series(index=index, dtype=object)
    column[:] = values
    return column


def totals_by_decision(amounts: pd.DataFrame, payable: pd.Series) -> dict[str, dict[str, Decimal]]:
    """Σ of each Decimal column over the payable rows and over the held rows: for every column the two
    add up exactly to its total (what is committed)."""
    payable = payable.astype(bool)
    return {
        "payable": {column: column_total(amounts.loc[payable, column]) for column in amounts.columns},
        "held": {column: column_total(amounts.loc[~payable, column]) for column in amounts.columns},
    }


def distinct_enterprises(codes: pd.Series) -> int:
    """How many enterprises the rows are, by credit code: a code once however many rows hold it; a row
    with no code is one enterprise (nothing tells it apart)."""
    return int(codes.dropna().nunique() + codes.isna().sum())
