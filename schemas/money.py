"""Money: Decimal amounts in 元, rounded half-up to the cent, and splits that always add up."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal

import numpy as np
import pandas as pd

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Rounds as Decimal.quantize(CENT, rounding=ROUND_HALF_UP) does in the default context (28 digits),
# as a bound method a column's values can be mapped through without a keyword call per amount.
_HALF_UP = Context(rounding=ROUND_HALF_UP)


def round_cents(amount: Decimal) -> Decimal:
    """Round one amount half-up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def round_cents_column(amounts: pd.Series) -> pd.Series:
    """Round a column of Decimal amounts half-up to the cent (as round_cents does, without a call
    per amount)."""
    rounded = list(map(_HALF_UP.quantize, amounts.tolist(), itertools.repeat(CENT)))
    return pd.Series(rounded, index=amounts.index, dtype=object)


def counted_amounts(amounts: list[Decimal | None]) -> list[Decimal]:
    """Amounts as the rules compare and compute with them: a blank (None) counts as zero, and each
    amount is rounded half-up to the cent."""
    return [ZERO if amount is None else _HALF_UP.quantize(amount, CENT) for amount in amounts]


def as_money(amounts: pd.Series) -> pd.Series:
    """A column of Decimal amounts as the rules compare and compute with them: a blank (None) counts as
    zero, and each amount is rounded half-up to the cent (the template's formulas ROUND each amount
    they take, so an amount typed with more places counts as its cents in both).

    A column read from a sheet holds one object per distinct amount (each is converted once), so each
    object is rounded once and its rows share the rounded one: as many objects as the column has, not
    one a row (50 MB at 100,000 rows over the eight amounts a check counts)."""
    values = amounts.astype(object).where(amounts.notna(), ZERO).to_numpy(dtype=object)
    codes, first = each_object_once(values)
    rounded = np.empty(len(first), dtype=object)
    rounded[:] = counted_amounts(values[first].tolist())
    return pd.Series(rounded[codes], index=amounts.index, dtype=object)


def each_object_once(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes into the distinct objects of an object array (by identity: rows that share an amount
    object share its code), and each code's first position: values[first][codes] is values. A
    computed column shares its zeros, caps and fixed awards; a column read from a sheet, each
    distinct amount. Telling objects apart by identity costs a fraction of hashing Decimals."""
    codes, _ = pd.factorize(np.fromiter(map(id, values), dtype=np.int64, count=len(values)))
    _, first = np.unique(codes, return_index=True)  # each object's first row, in the order of the codes
    return codes, first


def money_total(columns: Sequence[pd.Series], index: pd.Index) -> pd.Series:
    """Σ of money columns over `index`, row by row, from zero: exact for counted amounts (whole cents),
    and a sum of negative zeros (items typed as -0) is 0.00, as the template shows it."""
    total = pd.Series(ZERO, index=index, dtype=object)
    for column in columns:
        total = total + column
    return total.astype(object)


def money_total_key(names: Sequence[str]) -> str:
    """The key a Σ of money columns is kept under beside the columns themselves."""
    return "+".join(names)


def column_min(a: pd.Series, b: pd.Series | Decimal) -> pd.Series:
    """Element-wise minimum of Decimal columns (or a column and one Decimal)."""
    other = b.to_numpy(dtype=object) if isinstance(b, pd.Series) else b
    return pd.Series(np.minimum(a.to_numpy(dtype=object), other), index=a.index, dtype=object)


def column_max(a: pd.Series, b: pd.Series | Decimal) -> pd.Series:
    """Element-wise maximum of Decimal columns (or a column and one Decimal)."""
    other = b.to_numpy(dtype=object) if isinstance(b, pd.Series) else b
    return pd.Series(np.maximum(a.to_numpy(dtype=object), other), index=a.index, dtype=object)


def split_column(amounts: pd.Series, shares: Mapping[str, Decimal]) -> dict[str, pd.Series]:
    """Split each amount by the shares, in order: every part but the last is rounded half-up to the
    cent and the last part is what remains, so the parts always add up to the amount. A zero amount's
    parts are all ZERO (one object, however many rows: a line most rows get nothing of)."""
    names = list(shares)
    nonzero = (amounts != 0).to_numpy(dtype=bool)
    if not nonzero.all():
        split = split_column(amounts[nonzero], shares) if nonzero.any() else {}
        return {name: _zero_elsewhere(split.get(name), amounts.index, nonzero) for name in names}
    parts: dict[str, pd.Series] = {}
    remaining = amounts
    for name in names[:-1]:
        parts[name] = round_cents_column(amounts * shares[name])
        remaining = remaining - parts[name]
    parts[names[-1]] = remaining.astype(object)
    return parts


def _zero_elsewhere(part: pd.Series | None, index: pd.Index, where: np.ndarray) -> pd.Series:
    """A column of ZERO over `index`, with `part`'s amounts where `where` holds."""
    values = np.full(len(index), ZERO, dtype=object)
    if part is not None:
        values[where] = part.to_numpy(dtype=object)
    return pd.Series(values, index=index, dtype=object)


def column_total(amounts: pd.Series) -> Decimal:
    """Σ of a column of Decimal amounts, exact (summed as a list: iterating a Series boxes each value)."""
    return sum(amounts.tolist(), ZERO)


def two_place_texts(amounts: pd.Series) -> list[str]:
    """Each amount as a two-place decimal string ("1234.50"; never "-0.00"). A column repeats its
    awards, caps and zeros, so each amount object is formatted once (each_object_once)."""
    values = amounts.to_numpy(dtype=object)
    codes, first = each_object_once(values)
    texts = np.empty(len(first), dtype=object)
    texts[:] = [_two_places(amount) for amount in values[first].tolist()]
    texts[texts == "-0.00"] = "0.00"
    return texts[codes].tolist()


def _two_places(amount: Decimal) -> str:
    """format(amount, ".2f"); an amount of whole cents (most are) is its own text, made faster."""
    text = str(amount)
    return text if text[-3:-2] == "." else format(amount, ".2f")


def format_yuan(amount: Decimal | None) -> str:
    """An amount as the clerk reads it: 1,234,567.80."""
    if amount is None:
        return ""
    return f"{amount:,.2f}"


def format_ratio(ratio: Decimal) -> str:
    """A ratio as a percentage: 0.2 -> 20%, 0.065 -> 6.5%."""
    percent = (ratio * 100).normalize()
    return f"{percent:f}%"
