"""Values typed below a template's table (past its last row): an error naming them, never passed over
in silence — the rows would be neither checked, consolidated nor paid."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from addin import template_spec as spec
from addin.check.consolidate import consolidate
from addin.check.pipeline import check_file
from addin.io.read_ahead import read_ahead
from addin.templates.bundled import EXAMPLE_AWARDS, EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from schemas.policy import Policy

DIVISION_08 = REPOSITORY / EXAMPLES["第八师石河子市"]
LAST_ROW = spec.FIRST_DATA_ROW + spec.DEFAULT_ROWS - 1  # the bundled examples' table ends here


def _copied_below(folder: Path, source: Path, sheet: str, first_row: int, below: int) -> Path:
    """The workbook with its row `first_row` copied `below` rows under the table's last row."""
    workbook = openpyxl.load_workbook(source)
    cells = workbook[sheet]
    for column in range(1, cells.max_column + 1):
        value = cells.cell(first_row, column).value
        if value is not None and not (isinstance(value, str) and value.startswith("=")):
            cells.cell(first_row + below, column).value = value
    path = folder / f"below-{source.name}"
    workbook.save(path)
    return path


def _below(result) -> list:
    return [issue for issue in result.issues if issue.rule == "ROWS_BELOW_TABLE"]


@pytest.mark.triggers("ROWS_BELOW_TABLE")
def test_an_enterprise_typed_below_the_table_is_an_error(tmp_path: Path, policy: Policy) -> None:
    path = _copied_below(tmp_path, DIVISION_08, spec.DATA_SHEET, spec.FIRST_DATA_ROW, spec.DEFAULT_ROWS + 1)
    result = check_file(path, policy)
    [issue] = _below(result)
    row = LAST_ROW + 2
    assert (issue.sheet, issue.cell, issue.row, issue.severity) == (spec.DATA_SHEET, f"A{row}", row, "error")
    assert (
        f"表格为第 {spec.FIRST_DATA_ROW} 至 {LAST_ROW} 行，其下还有 1 行有内容" in issue.message
        and f"A{row}、B{row}" in issue.message
    )
    assert "dtfund template application --rows N" in issue.fix
    assert not result.valid
    assert len(result.table.frame) == len(check_file(DIVISION_08, policy).table.frame)  # (not read)


def test_the_bundled_examples_have_nothing_below(policy: Policy) -> None:
    for relative in EXAMPLES.values():
        assert not _below(check_file(REPOSITORY / relative, policy))


def test_a_sheet_read_in_parts_finds_it_too(small_parts: Path, tmp_path: Path, policy: Policy) -> None:
    path = _copied_below(tmp_path, DIVISION_08, spec.DATA_SHEET, spec.FIRST_DATA_ROW, spec.DEFAULT_ROWS + 1)
    read_ahead.start([path])  # (parsed in parts, as the CLI reads it)
    [issue] = _below(check_file(path, policy))
    assert issue.cell == f"A{LAST_ROW + 2}"


def test_its_file_is_not_paid(tmp_path: Path, policy: Policy) -> None:
    folder = tmp_path / "units"
    folder.mkdir()
    _copied_below(folder, DIVISION_08, spec.DATA_SHEET, spec.FIRST_DATA_ROW, spec.DEFAULT_ROWS + 1)
    shutil.copy(REPOSITORY / EXAMPLES["第一师阿拉尔市"], folder)
    rows = consolidate([folder], REPOSITORY / EXAMPLE_PLAN, policy).rows
    held = rows[rows["file"].str.startswith("below-")]
    assert len(held) and not held["payable"].any()
    assert all("ROWS_BELOW_TABLE" in reasons for reasons in held["held_by_file"])
    assert rows.loc[~rows["file"].str.startswith("below-"), "payable"].any()


@pytest.mark.parametrize("kind_index", [0, -1])
def test_an_award_sheet_too(kind_index: int, tmp_path: Path, policy: Policy) -> None:
    from schemas.awards import award_kinds

    kind = award_kinds(policy)[kind_index]
    first = spec.AWARDS_FIRST_DATA_ROW
    path = _copied_below(
        tmp_path, REPOSITORY / EXAMPLE_AWARDS, kind.sheet, first, spec.AWARDS_DEFAULT_ROWS + 3
    )
    result = check_file(path, policy)
    [sheet] = [s for s in result.awards if s.kind.id == kind.id]
    [issue] = _below(sheet.table)
    assert issue.sheet == kind.sheet and issue.row == first + spec.AWARDS_DEFAULT_ROWS + 3
    assert "dtfund template awards --rows N" in issue.fix
    assert not result.valid
