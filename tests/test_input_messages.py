"""What a clerk reads about a cell typed the wrong way (a credit code as a number or in lower case, an
amount too large, a logical value in a 是/否 column): the message says what happened, at its cell, and
how to put it right; one issue per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.io.output import save_workbook
from addin.templates.bundled import filled_application
from tests.conftest import valid_code, valid_row

TYPED_AS_A_NUMBER = 916590011234567890  # an 18-digit code as the clerk typed it into a number cell


def _workbook(tmp_path: Path, policy, **cells) -> Path:
    """A one-row application whose cells (by field id) hold exactly what a clerk typed."""
    workbook = filled_application(policy, "第八师石河子市", [valid_row()], template_rows=20)
    sheet, letters = workbook[spec.DATA_SHEET], spec.column_letters()
    for name, value in cells.items():
        sheet[f"{letters[name]}{spec.FIRST_DATA_ROW}"] = value
    path = tmp_path / "a.xlsx"
    save_workbook(workbook, path)
    return path


def _issues(path: Path, policy) -> list:
    return [i for i in check_file(path, policy).issues if i.row == spec.FIRST_DATA_ROW]


@pytest.mark.triggers("USCC_STORED_AS_NUMBER")
def test_a_credit_code_stored_as_a_number_says_the_digits_are_lost(tmp_path, policy) -> None:
    [issue] = _issues(_workbook(tmp_path, policy, uscc=TYPED_AS_A_NUMBER), policy)
    assert (issue.rule, issue.severity, issue.sheet, issue.cell) == (
        "USCC_STORED_AS_NUMBER",
        "error",
        spec.DATA_SHEET,
        f"{spec.column_letters()['uscc']}{spec.FIRST_DATA_ROW}",
    )
    assert "916590011234568000" in issue.message  # as Excel shows the number: 15 significant digits
    assert "916590011234567936" not in issue.message  # not the float's digits, passed off as the code
    assert "15 位有效数字" in issue.message and "丢失" in issue.message
    assert "校验码" not in issue.message
    assert "文本" in issue.fix and "'" in issue.fix


@pytest.mark.triggers("AMOUNT_TOO_LARGE")
def test_an_amount_too_large_is_not_called_no_number(tmp_path, policy) -> None:
    [issue] = _issues(_workbook(tmp_path, policy, paid=1e20), policy)
    assert issue.rule == "AMOUNT_TOO_LARGE" and issue.cell == f"{spec.column_letters()['paid']}5"
    assert "不是金额数字" not in issue.message and "1e+20" not in issue.message
    assert "100,000,000,000,000,000,000.00 元" in issue.message and "金额过大" in issue.message
    assert "1,000,000,000,000,000.00 元以上的数字可能已丢失末尾几位" in issue.message


@pytest.mark.triggers("USCC_NOT_UPPERCASE")
def test_a_credit_code_in_lower_case_is_a_warning_naming_the_code_read(tmp_path, policy) -> None:
    code = valid_code()
    [issue] = _issues(_workbook(tmp_path, policy, uscc=code.lower()), policy)
    assert (issue.rule, issue.severity) == ("USCC_NOT_UPPERCASE", "warning")
    assert f"“{code.lower()}”" in issue.message and f"“{code}”" in issue.message
    assert "大写" in issue.fix


def test_a_logical_value_in_a_document_column_is_one_issue_shown_as_excel_shows_it(tmp_path, policy) -> None:
    issues = _issues(_workbook(tmp_path, policy, doc_diagnosis=True), policy)
    assert [i.rule for i in issues] == ["VALUE_NOT_ALLOWED"]  # not also MATERIALS_MISSING
    assert "“TRUE”" in issues[0].message and "True" not in issues[0].message
