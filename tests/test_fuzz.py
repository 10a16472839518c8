"""Random values of every kind in random cells of the application and awards templates: `dtfund check`
always ends with exit 0, 1 or 2 and valid JSON — never a traceback."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import re
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import MergedCell
from openpyxl.utils.exceptions import IllegalCharacterError
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.cli import app
from addin.reports.check_report import result_document
from addin.templates.application import build_application_template
from addin.templates.awards import build_awards_template
from schemas.awards import award_kinds
from schemas.fields import application_fields
from schemas.policy import load_policy
from schemas.registry import rule

COLUMNS = [spec.column_letters()[f.id] for f in application_fields()]

values = st.one_of(
    st.none(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**12), max_value=10**12).map(
        float
    ),
    st.text(max_size=40),
    st.sampled_from(
        [
            "NaN",
            "nan",
            "inf",
            "-",
            "N/A",
            "#VALUE!",
            "80万",
            "８００",
            "1,000,000.00",
            "2025年12月31日",
            "2025/02/30",
            "=1/0",
            "=SUM(A1:A3)",
            "+cmd|' /C calc'!A0",
            "@SUM(1)",
            "-1",
            "是",
            "二级",
            "第八师石河子市",
            "😀💰",
            "\u202e反向",
            " ",
            "\t",
        ]
    ),
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1800, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    st.booleans(),
)
cells = st.tuples(st.sampled_from(COLUMNS), st.integers(min_value=1, max_value=14), values)


@pytest.fixture(scope="module")
def template_bytes(policy) -> bytes:
    buffer = io.BytesIO()
    build_application_template(policy, rows=10, unit="第八师石河子市").save(buffer)
    return buffer.getvalue()


def _write(template: bytes, changes: list, path: Path, sheet_name: str | None = None) -> None:
    """The template with the changes written; each change is (column, row, value), or (sheet, column,
    row, value) when `sheet_name` is None and the template has several sheets to fuzz."""
    workbook = openpyxl.load_workbook(io.BytesIO(template))
    try:
        for change in changes:
            name, column, row, value = (
                change if len(change) == 4 else (sheet_name or spec.DATA_SHEET, *change)
            )
            sheet = workbook[name]
            if not isinstance(sheet[f"{column}{row}"], MergedCell):  # the merged title cells take no value
                sheet[f"{column}{row}"] = value
        workbook.save(path)
    except (IllegalCharacterError, ValueError, OverflowError, TypeError):
        assume(False)  # openpyxl cannot write this value: nothing for the checker to read


def _checked_document(path: Path, policy) -> dict:
    """`dtfund check`'s JSON document for the file, which the standard library must be able to encode
    (no NaN or infinity), with every issue's message filled."""
    document = json.loads(
        json.dumps(result_document(check_file(path, policy)), ensure_ascii=False, allow_nan=False)
    )
    assert document["valid"] in (True, False)
    for issue in document["issues"]:
        assert issue["message"] and issue["rule"]
        assert not _unfilled(rule(issue["rule"]).message, issue), issue
    return document


def _unfilled(template: str, issue: dict) -> list[str]:
    """The template's placeholders left in the issue's message; one the clerk's own cell text holds
    (a cell may hold "{" or even "{value}") is not counted."""
    quoted = str(issue.get("value") or "") + str(issue.get("expected") or "")
    return [
        name
        for name in re.findall(r"\{(\w+)\}", template)
        if "{" + name + "}" in issue["message"] and "{" + name + "}" not in quoted
    ]


def fuzz_settings(examples: int) -> settings:
    """Each example writes and checks a workbook: slow by hypothesis's measure, and fixture-driven."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


@fuzz_settings(250)
@given(changes=st.lists(cells, min_size=1, max_size=12))
def test_check_never_crashes(changes, template_bytes, policy, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.xlsx"
    _write(template_bytes, changes, path)
    document = _checked_document(path, policy)
    for row in document["rows"]:
        for amount in row["amounts"].values():
            assert math.isfinite(float(amount))


@fuzz_settings(25)
@given(changes=st.lists(cells, min_size=1, max_size=8))
def test_the_command_exits_0_1_or_2_with_json(changes, template_bytes, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.xlsx"
    _write(template_bytes, changes, path)
    result = CliRunner().invoke(app, ["check", str(path), "--json", "-"])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    json.loads(result.stdout)


@pytest.fixture(scope="module")
def awards_bytes(policy) -> bytes:
    buffer = io.BytesIO()
    build_awards_template(policy, rows=10, unit="兵团专班").save(buffer)
    return buffer.getvalue()


AWARD_CELLS = st.sampled_from(
    [
        (k.sheet, letter)
        for k in award_kinds(load_policy())
        for letter in spec.award_letters(k.fields).values()
    ]
)
award_changes = st.tuples(AWARD_CELLS, st.integers(min_value=1, max_value=14), values).map(
    lambda change: (*change[0], change[1], change[2])
)


@fuzz_settings(120)
@given(changes=st.lists(award_changes, min_size=1, max_size=12))
def test_the_awards_check_never_crashes(changes, awards_bytes, policy, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "awards.xlsx"
    _write(awards_bytes, changes, path)
    document = _checked_document(path, policy)
    for rows in document.get("awards", {}).values():
        for row in rows:
            assert math.isfinite(float(row["amount"]))
