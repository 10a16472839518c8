"""Cell conversion: the raw values Excel, WPS, LibreOffice and calamine hand over."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from addin.check.cells import (
    plain_money,
    plain_text,
    plain_uscc,
    to_choice,
    to_date,
    to_money,
    to_stored_number,
    to_text,
    to_uscc,
)
from addin.check.table import convert_column
from addin.io.cell_errors import CellError
from schemas.money import as_money


@pytest.mark.parametrize(
    ("raw", "value", "rule"),
    [
        (None, None, None),
        ("   ", None, None),
        (800000.0, Decimal("800000.0"), None),
        (123456.79, Decimal("123456.79"), None),
        (7, Decimal(7), None),
        (" 800,000.00 ", Decimal("800000.00"), "NUMBER_STORED_AS_TEXT"),
        ("８００", Decimal(800), "NUMBER_STORED_AS_TEXT"),
        ("１２，３４５．６７", Decimal("12345.67"), "NUMBER_STORED_AS_TEXT"),
        ("-5", Decimal(-5), "NUMBER_STORED_AS_TEXT"),
        (100.005, Decimal("100.005"), "AMOUNT_PRECISION"),
        # a formula's float noise is not the clerk's: Excel's 15 significant digits
        (43282.07 + 56374.91 + 343.02, Decimal("100000.00"), None),
        (5 * (43282.07 + 56374.91 + 343.02), Decimal("500000.00"), None),
        (0.1 + 0.2, Decimal("0.30"), None),
        (1234567.8949999999, Decimal("1234567.895"), "AMOUNT_PRECISION"),
        ("80万", None, "VALUE_NOT_A_NUMBER"),
        ("abc", None, "VALUE_NOT_A_NUMBER"),
        ("1,23", None, "VALUE_NOT_A_NUMBER"),
        (True, None, "VALUE_NOT_A_NUMBER"),
        (float("nan"), None, "VALUE_NOT_A_NUMBER"),
        (float("inf"), None, "VALUE_NOT_A_NUMBER"),
        (1e16, None, "AMOUNT_TOO_LARGE"),
        (-1e20, None, "AMOUNT_TOO_LARGE"),
        ("100000000000000000000", None, "AMOUNT_TOO_LARGE"),
        (999999999999999.0, Decimal("999999999999999"), None),
        (dt.date(2025, 1, 1), None, "VALUE_NOT_A_NUMBER"),
    ],
)
def test_money(raw, value, rule) -> None:
    converted = to_money(raw)
    assert (converted.value, converted.rule) == (value, rule)
    assert converted.failed is (rule in ("VALUE_NOT_A_NUMBER", "AMOUNT_TOO_LARGE"))


def test_an_amount_too_large_is_quoted_as_an_amount_with_the_limit() -> None:
    """1e20 is a number, not text that is no number: reported as too large, quoted as an amount."""
    converted = to_money(1e20)
    assert converted.shown == Decimal("1E+20")
    assert converted.expected == Decimal(10) ** 15  # Excel's 15 significant digits


def test_a_logical_value_is_text_as_excel_shows_it() -> None:
    assert to_text(True).value == "TRUE" and to_text(False).value == "FALSE"
    # a choice that is no option is kept for VALUE_NOT_ALLOWED to quote, as Excel shows it
    assert to_choice(True, ["是", "否"], "否").value == "TRUE"


def test_a_credit_code_stored_as_a_number_has_lost_digits() -> None:
    """Excel keeps 15 significant digits: an 18-digit code typed as a number cannot be read back."""
    converted = to_uscc(float(916590011234567890))
    assert (converted.value, converted.rule, converted.failed) == (None, "USCC_STORED_AS_NUMBER", True)
    assert converted.shown == "916590011234568000"  # as Excel shows the number: 15 significant digits
    assert to_uscc(916590011234567890).rule == "USCC_STORED_AS_NUMBER"
    short = to_uscc(123456789012345.0)  # every digit kept: a code too short, for USCC_INVALID
    assert (short.value, short.rule) == ("123456789012345", None)


def test_a_credit_code_in_lower_case_is_read_in_upper_case_with_a_warning() -> None:
    converted = to_uscc("91659001ma77r1n0xe")
    assert (converted.value, converted.rule, converted.failed) == (
        "91659001MA77R1N0XE",
        "USCC_NOT_UPPERCASE",
        False,
    )
    assert converted.expected == "91659001MA77R1N0XE"
    assert to_uscc("91659001 MA77R1N0XE") == to_uscc("91659001MA77R1N0XE")  # spaces: read without


@pytest.mark.parametrize(
    ("raw", "value", "rule"),
    [
        (None, None, None),
        (dt.datetime(2025, 12, 31, 0, 0), dt.date(2025, 12, 31), None),
        (dt.date(2024, 10, 18), dt.date(2024, 10, 18), None),
        (46022.0, dt.date(2025, 12, 31), None),
        (46022.75, dt.date(2025, 12, 31), None),
        ("2025-12-31", dt.date(2025, 12, 31), "DATE_STORED_AS_TEXT"),
        ("2025/12/31", dt.date(2025, 12, 31), "DATE_STORED_AS_TEXT"),
        ("2025年12月31日", dt.date(2025, 12, 31), "DATE_STORED_AS_TEXT"),
        (" ２０２５－１２－３１ ", dt.date(2025, 12, 31), "DATE_STORED_AS_TEXT"),
        ("2025-02-30", None, "VALUE_NOT_A_DATE"),
        ("下个月", None, "VALUE_NOT_A_DATE"),
        (-1.0, None, "VALUE_NOT_A_DATE"),
        (True, None, "VALUE_NOT_A_DATE"),
    ],
)
def test_date(raw, value, rule) -> None:
    converted = to_date(raw)
    assert (converted.value, converted.rule) == (value, rule)


def test_text_choice_and_credit_code() -> None:
    assert to_text(12.0).value == "12"
    assert to_text("  甲公司 ").value == "甲公司"
    assert to_uscc(" 91659001ma77r1n0x- 1").value == "91659001MA77R1N0X1"
    allowed = ["无", "国家级数字化车间", "5G工厂"]
    assert to_choice(None, allowed, "无").value == "无"
    assert to_choice("５Ｇ工厂", allowed, "无").value == "5G工厂"
    assert to_choice("省级车间", allowed, "无").value == "省级车间"  # kept; VALUE_NOT_ALLOWED reports it


def test_stored_numbers_of_computed_cells() -> None:
    assert to_stored_number(61728.4) == Decimal("61728.4")
    for nothing in (None, "", "#VALUE!", CellError("#VALUE!"), True):
        assert to_stored_number(nothing) is None


@pytest.mark.parametrize("code", ["#N/A", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!"])
def test_an_error_value_fails_in_every_kind_of_cell(code: str) -> None:
    """Whatever the cell's kind: no value, failed (the row counts nothing), one rule."""
    allowed = ["是", "否"]
    for convert in (to_money, to_date, to_text, to_uscc, lambda raw: to_choice(raw, allowed, "否")):
        converted = convert(CellError(code))
        assert (converted.value, converted.rule, converted.failed) == (None, "CELL_ERROR_VALUE", True)
    assert to_text(code).value == code  # the same characters typed as text are text


def test_column_check_digits_agree_with_python_stdnum() -> None:
    """schemas.uscc checks a column at once; python-stdnum is the reference for every code."""
    import pandas as pd
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from stdnum.cn import uscc as reference

    from schemas.uscc import ALPHABET, valid_mask

    body = st.text(alphabet=ALPHABET, min_size=17, max_size=17)
    noise = st.text(alphabet=ALPHABET + "IOSVZ-x 中", min_size=0, max_size=20)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.one_of(
                body.map(lambda b: b + reference.calc_check_digit(b) if b[:8].isdigit() else b + "0"),
                body.map(lambda b: b + "0"),
                noise,
            ),
            min_size=1,
            max_size=20,
        )
    )
    def agree(codes: list[str]) -> None:
        mask = valid_mask(pd.Series(codes, dtype=object))
        assert list(mask) == [reference.is_valid(c) and c == reference.compact(c) for c in codes]

    agree()


raw_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**16), max_value=10**16),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, places=3, min_value=-(10**6), max_value=10**6).map(float),
    st.integers(min_value=0, max_value=10**9).map(lambda cents: cents / 100),
    st.text(max_size=20),
    st.sampled_from(["", " ", " a ", "91659001MA77R1N0X3", "800,000.00", "二级"]),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.sampled_from(["#N/A", "#REF!"]).map(CellError),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(raw_values, max_size=30))
def test_column_conversion_agrees_with_converting_each_cell(values) -> None:
    """The column converter (distinct values once, the plain ones found in one go) gives exactly what
    converting each cell on its own gives: the UDFs convert cell by cell."""
    for convert, plain in ((to_money, plain_money), (to_text, plain_text), (to_uscc, plain_uscc)):
        column = convert_column(convert, values, plain)
        cells = [convert(value) for value in values]
        assert [repr(v) for v in column.values] == [repr(c.value) for c in cells]
        assert column.failed.tolist() == [c.failed for c in cells]
        assert column.from_text.tolist() == [c.from_text for c in cells]
        assert [(n, c) for n, c in column.broken] == [(n, c) for n, c in enumerate(cells) if c.rule]


@settings(max_examples=300, deadline=None)
@example([0.0, -0.0, None, "", "1,000", 0.125, 1e13, -0.005])
@given(st.lists(raw_values, max_size=30))
def test_money_counted_at_conversion_is_what_as_money_counts(values) -> None:
    """A money column counted as it is converted (each distinct value once, the plain ones as they
    are) is exactly what schemas.money.as_money counts from the typed column: the rules and the
    calculation read the one, the UDFs and the award sheets the other."""
    column = convert_column(to_money, values, plain_money)
    counted = column.counted_money()
    expected = as_money(pd.Series(column.values, dtype=object))
    assert [repr(v) for v in counted] == [repr(v) for v in expected]


@settings(max_examples=200, deadline=None)
@example([0.0, -0.0]).via("a negative zero after a zero: one distinct value to pandas")
@example([-0.0, 0.0])
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(min_value=-(10**11), max_value=10**11).map(lambda cents: cents / 100),
        ),
        max_size=30,
    )
)
def test_money_column_of_numbers_only_agrees_with_converting_each_cell(values) -> None:
    """A column holding numbers only (the common case, found without a type test per value) converts
    exactly as each cell on its own does."""
    column = convert_column(to_money, values, plain_money)
    assert [repr(v) for v in column.values] == [repr(to_money(value).value) for value in values]
    assert [(n, c) for n, c in column.broken] == [
        (n, to_money(v)) for n, v in enumerate(values) if to_money(v).rule
    ]
