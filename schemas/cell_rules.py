"""Column tests shared by the application rules and the award rules: which rows break a rule, as a
boolean Series over a typed column."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pandas as pd

from schemas import uscc


def blank(values: pd.Series, failed: pd.Series) -> pd.Series:
    """Empty cells (a cell that failed to convert is reported for that, not as blank)."""
    return values.isna() & ~failed


def not_allowed(values: pd.Series, allowed: Sequence[str]) -> pd.Series:
    return values.notna() & ~values.isin(list(allowed))


def below_zero(amounts: pd.Series) -> pd.Series:
    """Typed amounts below zero, as typed (-0.004 is; a blank is not): one comparison per cell, without
    pandas' per-call work or pandera's handling of blanks."""
    zero = Decimal(0)  # (a Decimal compares faster with a Decimal than with an int)
    below = (amount is not None and amount < zero for amount in amounts.tolist())
    return pd.Series(np.fromiter(below, dtype=bool, count=len(amounts)), index=amounts.index, dtype=bool)


def invalid_codes(codes: pd.Series) -> pd.Series:
    return codes.notna() & ~uscc.valid_mask(codes)


def code_problems(codes: pd.Series) -> list[str]:
    """Why each (invalid) code is invalid, in Chinese."""
    return [uscc.problem(code) or "格式不正确" for code in codes]


def repeated(values: pd.Series) -> pd.Series:
    """Values that occur more than once in the column."""
    return values.notna() & values.duplicated(keep=False)


def other_rows(values: pd.Series, rows: pd.Index) -> list[str]:
    """For each of `rows`, the other rows holding the same value: 第6行、第9行."""
    picked = values.loc[rows]
    rows_by_value = picked.groupby(picked).groups
    return [
        "、".join(f"第{r}行" for r in rows_by_value[value] if r != row)
        for row, value in zip(rows, picked, strict=True)
    ]


def has_negative_record(records: pd.Series, none_value: str) -> pd.Series:
    """第十条（七）1: a record filled and not the field's "none" choice (无)."""
    return records.notna() & (records != none_value)


def is_yes(values: pd.Series, yes: str) -> pd.Series:
    return (values == yes).astype(bool)


def differs(stored: pd.Series, computed: pd.Series, tolerance: Decimal) -> pd.Series:
    """A stored computed value that is not the rules' (within `tolerance`); no stored value is no
    difference (a workbook saved without cached values)."""
    result = np.zeros(len(stored), dtype=bool)
    present = np.flatnonzero(stored.notna().to_numpy())
    if len(present):  # only cells that store a value are compared
        pairs = zip(stored.to_numpy()[present], computed.to_numpy()[present], strict=True)
        result[present] = [c is None or abs(s - c) > tolerance for s, c in pairs]
    return pd.Series(result, index=stored.index, dtype=bool)
