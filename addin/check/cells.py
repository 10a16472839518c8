"""Convert raw cell values — what calamine reads or what Excel hands a UDF — into typed values.

One code path for the CLI and the UDFs, so both agree cell for cell. Raw values may be floats
(whole numbers too), ints, None or "" for blanks, datetimes, dates, Excel serial numbers for dates,
strings with stray spaces or full-width digits, booleans, and Excel error values (CellError).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from collections.abc import Sequence
from decimal import Context, Decimal
from typing import Any, NamedTuple

import numpy as np

from addin.io.cell_errors import CellError
from schemas.money import CENT
from schemas.registry import implements
from schemas.text import normalize_text, number_in_text

EXCEL_EPOCH = dt.date(1899, 12, 30)
FIRST_EXCEL_DAY = EXCEL_EPOCH + dt.timedelta(days=1)  # serial 1 (Excel shows 1900-01-01)
# Excel's own limits: dates run to 9999-12-31 (serial 2958465); numbers keep 15 significant digits,
# so a number of 10^15 or more may have lost digits: an amount that large cannot be what the clerk typed,
# nor can a credit code typed as a number be read back.
EXCEL_LAST_SERIAL = 2958465
EXCEL_DIGITS = 15  # the significant digits Excel keeps and shows of a number
EXCEL_EXACT_LIMIT = 10**EXCEL_DIGITS  # from here on a number has more digits than Excel keeps
AMOUNT_LIMIT = Decimal(EXCEL_EXACT_LIMIT)

_EXCEL_LOGICAL = {True: "TRUE", False: "FALSE"}  # a logical value as Excel shows it
_CODE_GAPS = re.compile(r"[\s-]")  # spaces and hyphens a credit code is read without
_PLAIN_CODE = re.compile(r"^[0-9A-Z]{18}$")  # already as a credit code is written: nothing to clean
_DATE_TEXT = re.compile(r"^(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*(?:-|/|\.|月)\s*(\d{1,2})\s*日?$")


class Converted(NamedTuple):
    """A converted cell: its value, and the rule it broke (if any). `failed` cells have no value.
    `shown`: the cell as the rule's message quotes it, where that is not its raw value (a number as
    Excel shows it). (A named tuple: a column converts many thousands of them.)"""

    value: Any
    rule: str | None = None
    expected: Any = None
    failed: bool = False
    from_text: bool = False
    shown: Any = None


BLANK = Converted(None)

# Below this size, a float whose repr has at most two decimals is exactly the float nearest a whole
# number of cents: floats there are spaced far closer than a cent.
_PLAIN_MONEY_LIMIT = 1e13
_EXACT = Context(prec=28)  # scaleb of a whole number of cents below the limit is exact


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


# How each kind of input cell is filled in, for the fix of an error value in it.
REFILL_MONEY = "填以元为单位的金额数字"
REFILL_DATE = "按 2025-12-31 的格式填写日期"
REFILL_TEXT = "填写文字"
REFILL_CHOICE = "从下拉列表选择"


@implements("CELL_ERROR_VALUE")
def error_value(refill: str) -> Converted:
    """An Excel error value (#N/A, #DIV/0!, …) in an input cell: the template's formulas cannot compute
    with it, so it fails whatever the cell's kind; `refill` says how such a cell is filled in."""
    return Converted(None, "CELL_ERROR_VALUE", failed=True, expected=refill)


def _decimal_from_number(raw: float | int) -> Decimal | None:
    """A number as Excel shows it: a float to its 15 significant digits, so that the noise of a formula's
    arithmetic (=43282.07+56374.91+343.02 is stored as 100000.00000000001) is not taken for a value the
    clerk typed; a negative zero (Excel shows 0) is zero."""
    if isinstance(raw, float):
        if not math.isfinite(raw):
            return None
        return Decimal(f"{raw + 0.0:.{EXCEL_DIGITS}g}")
    return Decimal(raw)


@implements("VALUE_NOT_A_NUMBER", "NUMBER_STORED_AS_TEXT", "AMOUNT_PRECISION", "AMOUNT_TOO_LARGE")
def to_money(raw: Any) -> Converted:
    """A money cell: a number in 元. Text holding a number is recognised but reported (the template's
    formulas cannot compute with it); an amount of more digits than Excel keeps is too large to be one
    the clerk typed."""
    if is_blank(raw):
        return BLANK
    if type(raw) is CellError:
        return error_value(REFILL_MONEY)
    from_text = False
    if isinstance(raw, bool | dt.date | dt.datetime | dt.time | dt.timedelta):
        return Converted(None, "VALUE_NOT_A_NUMBER", failed=True)
    if type(raw) is float:
        positions, amounts = plain_money([raw])  # the common cell, a number of whole cents: one code
        if len(positions):  # for a cell and for a column
            return Converted(amounts[0])
    if isinstance(raw, int | float | Decimal):
        amount = raw if isinstance(raw, Decimal) else _decimal_from_number(raw)
    else:
        amount = number_in_text(str(raw))
        if amount is None:
            return Converted(None, "VALUE_NOT_A_NUMBER", failed=True)
        from_text = True
    if amount is None or not amount.is_finite():
        return Converted(None, "VALUE_NOT_A_NUMBER", failed=True)
    if abs(amount) >= AMOUNT_LIMIT:
        return Converted(None, "AMOUNT_TOO_LARGE", failed=True, expected=AMOUNT_LIMIT, shown=amount)
    if from_text:
        return Converted(amount, "NUMBER_STORED_AS_TEXT", expected=f"{amount:f}", from_text=True)
    if amount != amount.quantize(CENT):
        return Converted(amount, "AMOUNT_PRECISION")
    return Converted(amount)


def plain_money(raws: Sequence[Any]) -> tuple[np.ndarray, list[Decimal]]:
    """The raw values to_money takes as they are — numbers of whole cents, the common case — found
    as one numpy column: their positions, and the same amounts to_money gives them."""
    if set(map(type, raws)) == {float}:  # the common column: numbers only, no per-value type test
        floats, numbers = np.arange(len(raws)), np.array(raws, dtype=float)
    else:
        floats = np.flatnonzero([type(raw) is float for raw in raws])
        numbers = np.array([raws[n] for n in floats], dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        cents = np.round(numbers * 100)
        whole_cents = (np.abs(numbers) < _PLAIN_MONEY_LIMIT) & (cents / 100 == numbers)
    # Decimals from whole cents (12345 -> 123.45, always two places)
    amounts = map(
        _EXACT.scaleb, map(Decimal, cents[whole_cents].astype(np.int64).tolist()), itertools.repeat(-2)
    )
    return floats[whole_cents], list(amounts)


def plain_text(raws: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """The raw values to_text takes as they are: text without stray spaces."""
    positions = np.flatnonzero([type(raw) is str and raw != "" and raw == raw.strip() for raw in raws])
    return positions, [raws[n] for n in positions]


def plain_uscc(raws: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """The raw values to_uscc takes as they are: 18 digits and capitals."""
    positions = np.flatnonzero([type(raw) is str and _PLAIN_CODE.match(raw) is not None for raw in raws])
    return positions, [raws[n] for n in positions]


def to_stored_number(raw: Any) -> Decimal | None:
    """A computed cell's stored value, for comparison: a number, or None when there is none to compare
    (no cached value, an error value such as #VALUE!, or text)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        return None
    return raw if isinstance(raw, Decimal) else _decimal_from_number(raw)


def _date_from_serial(serial: float) -> dt.date | None:
    if not math.isfinite(serial) or not 1 <= serial <= EXCEL_LAST_SERIAL:
        return None
    return EXCEL_EPOCH + dt.timedelta(days=int(serial))


@implements("VALUE_NOT_A_DATE", "DATE_STORED_AS_TEXT")
def to_date(raw: Any) -> Converted:
    """A date cell: an Excel date, a serial number, or text such as 2025-12-31, 2025/12/31,
    2025年12月31日 (accepted with a warning)."""
    if is_blank(raw):
        return BLANK
    if type(raw) is CellError:
        return error_value(REFILL_DATE)
    if isinstance(raw, dt.date):
        # Before Excel's first day: a serial of 0 or less, or a stored NaN, which python-calamine turns
        # into its epoch (1899-12-30) in a date-formatted cell.
        day = raw.date() if isinstance(raw, dt.datetime) else raw
        return Converted(day) if day >= FIRST_EXCEL_DAY else Converted(None, "VALUE_NOT_A_DATE", failed=True)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        day = _date_from_serial(float(raw))
        return Converted(day) if day else Converted(None, "VALUE_NOT_A_DATE", failed=True)
    if isinstance(raw, str):
        match = _DATE_TEXT.match(normalize_text(raw))
        if match:
            try:
                day = dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                day = None
            if day:
                return Converted(day, "DATE_STORED_AS_TEXT", expected=day.isoformat(), from_text=True)
    return Converted(None, "VALUE_NOT_A_DATE", failed=True)


def to_text(raw: Any) -> Converted:
    """A text cell. A number typed into it is read as its digits (1.0 -> "1")."""
    if type(raw) is str:
        text = raw.strip()
        return Converted(text) if text else BLANK
    if is_blank(raw):
        return BLANK
    if type(raw) is CellError:
        return error_value(REFILL_TEXT)
    if isinstance(raw, bool):
        return Converted(_EXCEL_LOGICAL[raw])
    if isinstance(raw, float) and raw.is_integer():
        return Converted(str(int(raw)))
    if isinstance(raw, dt.datetime | dt.date):
        return Converted(raw.isoformat())
    return Converted(str(raw).strip())


@implements("USCC_STORED_AS_NUMBER", "USCC_NOT_UPPERCASE")
def to_uscc(raw: Any) -> Converted:
    """A credit code: text, spaces and hyphens removed (validated by USCC_INVALID). Letters typed in
    lower case are read in upper case, with a warning: the template's formulas (COUNTIF, SEARCH) do not
    tell cases apart, but the licence writes capitals. A code stored as a number of more digits than
    Excel keeps has lost its last digits: it cannot be read back."""
    if type(raw) is str and _PLAIN_CODE.match(raw):
        return Converted(raw)
    if _beyond_excel_digits(raw):
        excel_shows = Decimal(f"{float(raw):.{EXCEL_DIGITS}g}")
        return Converted(None, "USCC_STORED_AS_NUMBER", failed=True, shown=f"{excel_shows:f}")
    text = to_text(raw)
    if text.value is None:
        return text
    code = _CODE_GAPS.sub("", normalize_text(text.value))
    if code != code.upper():
        return Converted(code.upper(), "USCC_NOT_UPPERCASE", expected=code.upper())
    return Converted(code)


def _beyond_excel_digits(raw: Any) -> bool:
    """A number (not a logical value) too large for Excel to keep every digit of."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return False
    return math.isfinite(raw) and abs(raw) >= EXCEL_EXACT_LIMIT


@implements("CHOICE_NOT_EXACT")
def to_choice(raw: Any, allowed: Sequence[str], none_value: str | None) -> Converted:
    """A dropdown cell: an allowed value exactly as listed; one that differs only by spaces or full-width
    forms is recognised but reported (the template's formulas cannot match it); a blank is the field's
    none value (None for a required field). Any other value is kept as typed (VALUE_NOT_ALLOWED)."""
    if is_blank(raw):
        return Converted(none_value)
    if type(raw) is str and raw in allowed:
        return Converted(raw)
    if type(raw) is CellError:
        return error_value(REFILL_CHOICE)
    text = to_text(raw).value
    wanted = normalize_text(text)
    for value in allowed:
        if normalize_text(value) == wanted:
            return Converted(value, "CHOICE_NOT_EXACT", expected=value, from_text=True)
    return Converted(text)
