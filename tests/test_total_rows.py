"""A clerk's 合计/小计 row under the data: one issue at its label's cell, saying to delete it; the row
counts nothing (no amount, no row, no enterprise), in applications and in award sheets."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.awards import check_award_sheet, raw_award_table
from addin.check.consolidate import consolidate
from addin.check.pipeline import check_file, totals
from addin.cli import app
from addin.templates.bundled import EXAMPLE_PLAN, REPOSITORY
from schemas.awards import award_kinds
from schemas.total_rows import is_total_label
from tests.conftest import check_records, valid_code, valid_row

EXAMPLE = REPOSITORY / "addin/examples/division-08-shihezi.xlsx"
PLAN = REPOSITORY / EXAMPLE_PLAN
SUMMED = ("contract_total", "software", "cloud", "equipment", "consulting", "integration", "other_service")


def with_total_row(folder: Path, label_field: str = "name", label: str = "合计") -> tuple[Path, int]:
    """The bundled example with a total row under its data: the label, the sums of the amounts, the
    rest blank (as a clerk adds it)."""
    workbook = openpyxl.load_workbook(EXAMPLE)
    sheet = workbook[spec.DATA_SHEET]
    letters = spec.column_letters()
    name = letters["name"]
    last = max(r for r in range(spec.FIRST_DATA_ROW, sheet.max_row + 1) if sheet[f"{name}{r}"].value)
    row = last + 1
    sheet[f"{letters[label_field]}{row}"] = label
    for field in (*SUMMED, "paid", "claimed"):
        column = letters[field]
        sheet[f"{column}{row}"] = f"=SUM({column}{spec.FIRST_DATA_ROW}:{column}{last})"
    path = folder / "with-total.xlsx"
    workbook.save(path)
    return path, row


@pytest.mark.triggers("TOTAL_ROW_PRESENT")
def test_a_total_row_is_one_issue_at_its_cell_and_counts_nothing(tmp_path: Path, policy) -> None:
    original = check_file(EXAMPLE, policy)
    path, row = with_total_row(tmp_path)
    result = check_file(path, policy)
    on_row = [i for i in result.issues if i.row == row]
    assert [(i.rule, i.cell, i.severity) for i in on_row] == [
        ("TOTAL_ROW_PRESENT", f"{spec.column_letters()['name']}{row}", "error")
    ]
    assert on_row[0].message == f"第 {row} 行是合计行（“合计”），没有作为企业校验和计数。"
    assert "请删除合计行" in on_row[0].fix
    assert on_row[0].clause == ""
    assert result.errors == original.errors + 1
    assert row not in result.table.frame.index
    assert totals(result.table, policy) == totals(original.table, policy)


def test_a_total_row_holds_no_payment(tmp_path: Path, policy) -> None:
    """The total row is not a gathered row, and the file's applications are paid as without it."""
    path, _ = with_total_row(tmp_path)
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / EXAMPLE.name).write_bytes(EXAMPLE.read_bytes())
    with_total = consolidate([path], PLAN, policy)
    without = consolidate([alone / EXAMPLE.name], PLAN, policy)
    assert "TOTAL_ROW_PRESENT" in {i.rule for i in with_total.all_issues}
    assert len(with_total.rows) == len(without.rows)
    assert with_total.rows["payable"].tolist() == without.rows["payable"].tolist()
    assert with_total.rows["payable"].any()


def test_a_total_label_in_the_credit_code_column_is_found_too(tmp_path: Path, policy) -> None:
    path, row = with_total_row(tmp_path, "uscc", "合 计")
    result = check_file(path, policy)
    on_row = [i for i in result.issues if i.row == row]
    assert [(i.rule, i.cell) for i in on_row] == [
        ("TOTAL_ROW_PRESENT", f"{spec.column_letters()['uscc']}{row}")
    ]


@pytest.mark.parametrize("label", ["合计", "合 计", "小计", "总计", "本页小计", " 合计：", "合\n计"])
def test_total_labels(label: str) -> None:
    assert is_total_label(label)


@pytest.mark.parametrize("label", ["石河子天合科技有限公司", "", None, 100])
def test_not_total_labels(label: object) -> None:
    assert not is_total_label(label)


def test_an_enterprise_with_a_valid_code_is_never_a_total_row(policy) -> None:
    """The words in a real enterprise's name (with its valid credit code) do not make a total row."""
    result = check_records([valid_row(name="新疆合计数字科技有限公司")], policy)
    assert result.issues == []
    assert len(result.frame) == 1


def test_a_total_row_of_records_leaves_the_other_rows_alone(policy) -> None:
    rows = [valid_row(), valid_row(uscc=valid_code("MA77T3B5W")), {"name": "小计", "paid": 2000000.0}]
    result = check_records(rows, policy)
    alone = check_records(rows[:2], policy)
    assert [(i.rule, i.row) for i in result.issues] == [("TOTAL_ROW_PRESENT", 7)]
    pd.testing.assert_frame_equal(result.amounts, alone.amounts)


def test_a_total_row_in_an_award_sheet(policy) -> None:
    kind = award_kinds(policy)[0]
    label = kind.fields[0].id
    result = check_award_sheet(raw_award_table(kind, [{label: "合计", "amount": 1000000}]), kind, policy)
    assert [i.rule for i in result.issues] == ["TOTAL_ROW_PRESENT"]
    assert len(result.table.frame) == 0 and result.total == 0


def test_the_annotated_copy_notes_the_total_row_without_a_clause(tmp_path: Path) -> None:
    path, row = with_total_row(tmp_path)
    annotated = tmp_path / "annotated.xlsx"
    result = CliRunner().invoke(app, ["check", str(path), "--annotate", str(annotated)])
    assert result.exit_code == 1, result.output
    note = openpyxl.load_workbook(annotated)[spec.DATA_SHEET][f"{spec.column_letters()['name']}{row}"].comment
    assert note is not None and "请删除合计行" in note.text and "依据" not in note.text


def test_the_submission_form_lists_no_total_row_and_counts_its_error(tmp_path: Path) -> None:
    path, _ = with_total_row(tmp_path)
    with_total, without = tmp_path / "with.pdf", tmp_path / "without.pdf"
    assert CliRunner().invoke(app, ["check", str(path), "--print", str(with_total)]).exit_code == 1
    assert CliRunner().invoke(app, ["check", str(EXAMPLE), "--print", str(without)]).exit_code == 1
    text = PdfReader(with_total).pages[0].extract_text()
    assert "不在企业行上的错误 1 条" in text
    table = lambda t: t[t.index("企业名称") : t.index("校验文件")]  # noqa: E731
    assert table(text) == table(PdfReader(without).pages[0].extract_text())


def test_the_template_highlights_a_total_row_as_it_is_typed(policy) -> None:
    workbook = openpyxl.load_workbook(REPOSITORY / "workbook_templates/application_template.xlsx")
    letters = spec.column_letters()
    formulas = {
        str(area.sqref): rule.formula[0]
        for area in workbook[spec.DATA_SHEET].conditional_formatting
        for rule in area.rules
    }
    found = [(area, f) for area, f in formulas.items() if "合计" in f]
    assert len(found) == 1
    area, formula = found[0]
    assert area.startswith(f"{letters['name']}{spec.FIRST_DATA_ROW}:")
    assert all(word in formula for word in ("合计", "小计", "总计"))


def test_explain_of_a_total_row_says_it_is_one(tmp_path: Path) -> None:
    path, row = with_total_row(tmp_path)
    result = CliRunner().invoke(app, ["explain", str(path), "--row", str(row)])
    assert result.exit_code == 2
    assert f"第 {row} 行不是企业数据" in result.output and "请删除合计行" in result.output
