"""Payable or held, per enterprise: which rows a consolidation lets the finance bureau pay, and the
totals that add up."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from addin import template_spec as spec
from addin.check.consolidate import Consolidation, consolidate
from addin.io.output import save_workbook
from addin.templates.bundled import (
    EXAMPLE_AWARDS,
    EXAMPLE_PLAN,
    EXAMPLES,
    REPOSITORY,
    SHARED_ENTERPRISE,
    filled_application,
)
from schemas.calculation import SUBSIDY_PART_FIELDS
from schemas.disbursement import distinct_enterprises, holding_rules, holds, totals_by_decision
from schemas.policy import Policy
from tests.conftest import valid_code, valid_row

PLAN = REPOSITORY / EXAMPLE_PLAN
EXAMPLE_FILES = [REPOSITORY / p for p in EXAMPLES.values()]
SHIHEZI, ALAR = "第八师石河子市", "第一师阿拉尔市"
D = Decimal


def _write(tmp_path: Path, policy: Policy, name: str, unit: str, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    save_workbook(filled_application(policy, unit, rows, template_rows=10), path)
    return path


def _row(rows: pd.DataFrame, file: str, excel_row: int) -> pd.Series:
    return rows[(rows["file"] == file) & (rows["row"] == excel_row)].iloc[0]


@pytest.fixture(scope="module")
def examples(policy: Policy) -> Consolidation:
    return consolidate([*EXAMPLE_FILES, REPOSITORY / EXAMPLE_AWARDS], PLAN, policy)


# --- the decision, on the bundled examples ------------------------------------------------------------


def test_an_enterprise_two_divisions_submit_is_held_in_both_files(examples) -> None:
    shared = examples.rows[examples.rows["uscc"] == SHARED_ENTERPRISE]
    assert set(shared["unit"]) == {SHIHEZI, ALAR}
    assert not shared["payable"].any()
    assert all(held == ("DUPLICATE_ENTERPRISE",) for held in shared["held_by"])


def test_an_error_holds_its_row_and_a_warning_does_not(examples) -> None:
    rows = examples.rows
    missing = _row(rows, "division-06-wujiaqu.xlsx", 7)  # 缺少发票、付款凭证
    assert not missing["payable"] and missing["held_by"] == ("MATERIALS_MISSING",)
    assert missing["total_award"] > 0, "held with its amount, not left out"
    clean = _row(rows, "division-08-shihezi.xlsx", 5)
    assert clean["payable"] and clean["held_by"] == ()
    text_amount = _row(rows, "division-08-shihezi.xlsx", 10)  # 实际支付 typed as text: a warning only
    issues = {i.rule for i in examples.all_issues if i.file == "division-08-shihezi.xlsx" and i.row == 10}
    assert issues == {"NUMBER_STORED_AS_TEXT"} and text_amount["payable"]


def test_only_errors_hold_a_payment() -> None:
    from schemas.registry import load_registry

    severities = {spec.severity for spec in load_registry().values() if spec.id in holding_rules()}
    assert severities == {"error"}
    assert {"DUPLICATE_ENTERPRISE", "MATERIALS_MISSING", "REQUIRED_MISSING", "VALUE_NOT_ALLOWED"} <= set(
        holding_rules()
    )
    assert "NUMBER_STORED_AS_TEXT" not in holding_rules()


def test_execution_shows_the_payable_part_of_each_commitment(examples) -> None:
    lines = {(e.line.key, e.source): e for e in examples.execution}
    rows = examples.rows
    payable_total = sum(rows.loc[rows["payable"], "total_award"], D(0))
    assert lines[("一", "central")].payable == D("3605000.00") < lines[("一", "central")].committed
    assert (
        sum(lines[("一", s)].payable for s in SUBSIDY_PART_FIELDS)
        + lines[("二", "bingtuan")].payable
        + sum(lines[("三", s)].payable for s in ("bingtuan", "division"))
        == payable_total
    ), "the application lines' payable parts are the payable rows' amounts"
    # awards.xlsx: a typical case over the cap (AWARD_OVER_CAP) is held out of line （四）
    assert (lines[("四", "bingtuan")].committed, lines[("四", "bingtuan")].payable) == (D(1100000), D(850000))
    assert lines[("五", "central")].payable is None  # nothing counts against （五）
    assert all(e.payable <= e.committed for e in examples.execution if e.committed is not None)


# --- the decision, on workbooks built here ------------------------------------------------------------


def test_blank_or_invalid_eligibility_fields_hold_the_row(tmp_path, policy) -> None:
    rows = [
        valid_row(little_giant=None),  # 小巨人 left blank: REQUIRED_MISSING
        valid_row(uscc=valid_code("MA77T3B5W"), paid="80万"),  # VALUE_NOT_A_NUMBER
        valid_row(uscc=valid_code("MA77U8D2P"), level="五级"),  # VALUE_NOT_ALLOWED
        valid_row(uscc=valid_code("MA77W4E6L"), negative_record="无", little_giant="否"),  # clean
    ]
    c = consolidate([_write(tmp_path, policy, "a.xlsx", SHIHEZI, rows)], PLAN, policy)
    held = dict(zip(c.rows["row"], c.rows["held_by"], strict=True))
    first = spec.FIRST_DATA_ROW
    assert "REQUIRED_MISSING" in held[first] and c.rows["total_award"].iloc[0] > 0
    assert "VALUE_NOT_A_NUMBER" in held[first + 1]
    assert "VALUE_NOT_ALLOWED" in held[first + 2]
    assert held[first + 3] == ()


def test_a_repeat_within_one_file_holds_both_rows(tmp_path, policy) -> None:
    rows = [valid_row(), valid_row(name="同一家，另一行")]
    c = consolidate([_write(tmp_path, policy, "a.xlsx", SHIHEZI, rows)], PLAN, policy)
    assert list(c.rows["held_by"]) == [("DUPLICATE_ENTERPRISE",)] * 2


# --- the reports ---------------------------------------------------------------------------------------


# --- schemas.disbursement on its own ------------------------------------------------------------------


def test_holds_tell_a_row_from_its_whole_file() -> None:
    rows = pd.DataFrame({"file": ["a", "a", "b"], "sheet": ["申报表"] * 3, "row": [5, 6, 5]}, index=[7, 8, 9])
    issues = pd.DataFrame(
        [
            ("a", "申报表", 5, "MATERIALS_MISSING"),
            ("a", "申报表", 5, "DATE_ORDER"),  # a warning
            ("a", "申报表", 5, "DUPLICATE_ENTERPRISE"),
            ("b", "申报表", 2, "REQUIRED_MISSING"),  # the 填报单位 cell: on no row of the table
            ("b", "申报表", 5, "REQUIRED_MISSING"),
            ("plan.xlsx", "资金使用计划表", 5, "BUDGET_EXCEEDED"),  # on no gathered row's file
            ("c", None, None, "FILE_UNREADABLE"),
        ],
        columns=["file", "sheet", "row", "rule"],
    )
    decided = holds(rows, issues)
    assert list(decided.index) == [7, 8, 9]
    assert list(decided["payable"]) == [False, True, False]
    assert decided.loc[7, "held_by"] == ("MATERIALS_MISSING", "DUPLICATE_ENTERPRISE"), "registry order"
    assert decided.loc[9, "held_by_row"] == ("REQUIRED_MISSING",)
    assert decided.loc[9, "held_by_file"] == ("REQUIRED_MISSING",)
    assert decided.loc[9, "held_by"] == ("REQUIRED_MISSING",)
    assert holds(rows.iloc[:0], issues).empty
    assert holds(rows, issues.iloc[:0])["payable"].all()


def test_distinct_enterprises_count_a_code_once_and_each_blank_code_apart() -> None:
    codes = pd.Series(["A", "A", "B", None, None], dtype=object)
    assert distinct_enterprises(codes) == 4
    assert distinct_enterprises(codes.iloc[:0]) == 0


amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(amounts, amounts, st.booleans()), max_size=30))
def test_payable_plus_held_is_the_whole_exactly(rows: list[tuple[Decimal, Decimal, bool]]) -> None:
    frame = pd.DataFrame({"central": [r[0] for r in rows], "bingtuan": [r[1] for r in rows]}, dtype=object)
    totals = totals_by_decision(frame, pd.Series([r[2] for r in rows], dtype=bool))
    for column in frame.columns:
        assert totals["payable"][column] + totals["held"][column] == sum(frame[column], D(0))
        assert totals["payable"][column].as_tuple().exponent == -2
