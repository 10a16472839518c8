"""The fund-use plan template and its checks."""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.cli import app
from addin.io.overwrite import is_own_output
from addin.templates.bundled import EXAMPLE_PLAN, PLAN_TEMPLATE, REPOSITORY

runner = CliRunner()
OFFICIAL = REPOSITORY / PLAN_TEMPLATE
# The annex, as published: label, budget, central, 兵团, 师市 (万元; None for "-").
ANNEX = [
    ("（一）企业数字化改造投入补贴及奖励", 17350, 12150, 2600, 2600),
    ("（二）数字化改造进度奖励", 1710, 0, 1710, 0),
    ("（三）数字化相关荣誉奖补", 500, 0, 250, 250),
    ("（四）试点行业数字化转型典型做法和模式奖励", 1100, 0, 1100, 0),
    ("（五）中小企业数字化转型公共服务平台建设", 300, 300, 0, 0),
    ("（六）优秀数字化服务商奖励", 450, 50, 400, 0),
    ("（七）优秀“小快轻准”产品奖励", 200, 200, 0, 0),
    ("（九）数字化转型供需对接会", 600, 200, 400, 0),
    ("（十）数字化转型赋能体系", 4550, 0, 200, 4350),
    ("（十一）智库支撑项目", 700, 700, 0, 0),
    ("（十二）企业数字化改造评测验收", 600, 600, 0, 0),
    ("（十三）全流程跟踪指导服务", 800, 800, 0, 0),
    ("（十四）其他", 400, 0, 400, 0),
    (None, 440, 0, 440, 0),
    (None, None, None, None, None),
    (None, 300, 0, 0, 300),
]


def check(path: Path) -> tuple[int, dict]:
    """`dtfund check --json` on a file; the JSON goes to a temporary folder, never beside the input."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        result = runner.invoke(app, ["check", str(path), "--json", str(out)], env={"COLUMNS": "250"})
        return result.exit_code, json.loads(out.read_text("utf-8"))


def edited(tmp_path: Path, changes: dict[str, object]) -> Path:
    workbook = openpyxl.load_workbook(OFFICIAL)
    sheet = workbook[spec.PLAN_SHEET]
    for cell, value in changes.items():
        sheet[cell] = value
    path = tmp_path / "plan.xlsx"
    workbook.save(path)
    return path


def rules(document: dict) -> list[tuple[str, str]]:
    return [(i["rule"], i["cell"]) for i in document["issues"]]


def test_the_template_mirrors_the_annex() -> None:
    sheet = openpyxl.load_workbook(OFFICIAL)[spec.PLAN_SHEET]
    headers = [sheet.cell(spec.PLAN_HEADER_ROW, n).value for n in range(1, 7)]
    assert headers == [
        "资金使用方向",
        "资金支持的具体内容",
        "资金预算（万元）",
        "中央资金（万元）",
        "兵团配套资金（万元）",
        "师市配套资金（万元）",
    ]
    for offset, (label, _, central, bingtuan, division) in enumerate(ANNEX):
        row = spec.PLAN_FIRST_LINE_ROW + offset
        if label:
            assert sheet[f"A{row}"].value == label
        shown = [sheet[f"{c}{row}"].value for c in "DEF"]
        assert shown == ([central, bingtuan, division] if central is not None else ["-", "-", "-"])
        assert str(sheet[f"C{row}"].value).startswith("=IF(COUNT(")
        assert not sheet[f"D{row}"].protection.locked and sheet[f"C{row}"].protection.locked
    total_row = spec.PLAN_FIRST_LINE_ROW + len(ANNEX)
    assert sheet[f"A{total_row}"].value == "合计"
    assert sheet[f"C{total_row}"].value == f"=SUM(C4:C{total_row - 1})"
    assert "（十四）" in str(sheet["A16"].value) and "A16:A19" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet.protection.sheet and sheet.page_setup.orientation == "landscape"
    assert not any("（八）" in str(sheet[f"A{r}"].value) for r in range(4, total_row))


def test_known_inconsistencies_are_notes_on_their_cells() -> None:
    sheet = openpyxl.load_workbook(OFFICIAL)[spec.PLAN_SHEET]
    notes = {cell.coordinate: cell.comment.text for row in sheet.iter_rows() for cell in row if cell.comment}
    assert "空白" in notes["C20"]  # §7.1 the 合计 budget is blank in the annex
    assert "600" in notes["C16"]  # §7.2 （十四）1 says 600, budgets 400
    assert "750" in notes["C14"]  # §7.3 （十二） 2.5 × 300 ≠ 600
    assert "兵团配套" in notes["F12"]  # §7.4 （十） body text vs table
    assert "70.03%" in notes["D4"]  # §7.5 the split of （一）
    assert "（八）" in notes["A11"]  # §7.8 the numbering gap


def test_official_plan_passes_with_only_the_unit_cost_warning() -> None:
    code, document = check(OFFICIAL)
    assert code == 0
    assert document["valid"] is True and document["rows"] == []
    assert document["template"]["id"] == spec.PLAN_TEMPLATE_ID
    assert rules(document) == [("PLAN_UNIT_COST_MISMATCH", "C14")]
    assert document["issues"][0]["field"] == "（十二）企业数字化改造评测验收"
    assert document["totals"]["by_source"] == {"central": "15000", "bingtuan": "7500", "division": "7500"}


def test_example_plan_is_the_official_plan() -> None:
    assert (REPOSITORY / EXAMPLE_PLAN).read_bytes() == OFFICIAL.read_bytes()


@pytest.mark.triggers("PLAN_ROW_SUM_MISMATCH")
def test_row_sum_mismatch(tmp_path: Path) -> None:
    code, document = check(edited(tmp_path, {"C5": 1700}))
    assert code == 1
    assert ("PLAN_ROW_SUM_MISMATCH", "C5") in rules(document)
    _, untouched = check(edited(tmp_path, {"C5": 1710}))
    assert "PLAN_ROW_SUM_MISMATCH" not in {r for r, _ in rules(untouched)}


@pytest.mark.triggers("PLAN_TOTAL_MISMATCH")
def test_total_mismatch_against_lines_and_envelope(tmp_path: Path) -> None:
    code, document = check(edited(tmp_path, {"D20": 14000}))
    assert code == 1 and ("PLAN_TOTAL_MISMATCH", "D20") in rules(document)
    _, moved = check(edited(tmp_path, {"D8": 301}))  # central now adds up to 15001
    central = [i for i in moved["issues"] if i["rule"] == "PLAN_TOTAL_MISMATCH" and i["cell"] == "D20"]
    assert [(i["value"], i["expected"]) for i in central] == [("15001", "15000")]
    _, balanced = check(edited(tmp_path, {"D8": 299, "D10": 201}))  # moved within central: still 15000
    assert "PLAN_TOTAL_MISMATCH" not in {r for r, _ in rules(balanced)}


@pytest.mark.triggers("PLAN_CENTRAL_SHARE_BELOW_80")
def test_central_share_below_80(tmp_path: Path) -> None:
    # 11999/15000 = 79.99%: below 第四条's 80%; 12000 is exactly 80%
    _, below = check(edited(tmp_path, {"D4": 11999, "D8": 451}))
    assert ("PLAN_CENTRAL_SHARE_BELOW_80", "D4") in rules(below)
    _, at = check(edited(tmp_path, {"D4": 12000, "D8": 450}))
    assert "PLAN_CENTRAL_SHARE_BELOW_80" not in {r for r, _ in rules(at)}


@pytest.mark.triggers("PLAN_SOURCE_NOT_ALLOWED")
def test_source_not_allowed(tmp_path: Path) -> None:
    # （二） is 兵团 only: 10 万元 moved to central
    code, document = check(edited(tmp_path, {"D5": 10, "E5": 1700}))
    assert code == 1
    issue = next(i for i in document["issues"] if i["rule"] == "PLAN_SOURCE_NOT_ALLOWED")
    assert (issue["cell"], issue["clause"]) == ("D5", "第十条（一）2")
    _, allowed = check(edited(tmp_path, {"E6": 240, "F6": 260}))  # （三） may use 兵团 and 师市
    assert "PLAN_SOURCE_NOT_ALLOWED" not in {r for r, _ in rules(allowed)}


@pytest.mark.triggers("PLAN_UNIT_COST_MISMATCH")
def test_unit_cost_mismatch(tmp_path: Path) -> None:
    _, document = check(edited(tmp_path, {"D14": 750, "D15": 650}))
    assert "PLAN_UNIT_COST_MISMATCH" not in {r for r, _ in rules(document)}
    _, official = check(OFFICIAL)
    assert official["issues"][0]["severity"] == "warning"


def test_text_in_a_plan_cell(tmp_path: Path) -> None:
    code, document = check(edited(tmp_path, {"E5": "一千七百万"}))
    assert code == 1 and ("VALUE_NOT_A_NUMBER", "E5") in rules(document)


def test_an_error_value_in_a_plan_cell(tmp_path: Path) -> None:
    code, document = check(edited(tmp_path, {"E5": "#DIV/0!"}))  # (openpyxl stores it as an error cell)
    issue = next(i for i in document["issues"] if i["rule"] == "CELL_ERROR_VALUE")
    assert code == 1 and (issue["cell"], issue["value"]) == ("E5", "#DIV/0!")


def test_template_plan_command_reproduces_the_committed_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    assert runner.invoke(app, ["template", "plan", "-o", str(path)]).exit_code == 0
    # the same bytes but the zip's end record, whose comment marks the file as dtfund's own output
    end = 22 + len(zipfile.ZipFile(path).comment)
    assert path.read_bytes()[:-end] == OFFICIAL.read_bytes()[:-22]
    assert is_own_output(path) and not is_own_output(OFFICIAL)


def test_a_plan_amount_in_wan_yuan_is_precise_to_the_cent_in_yuan(tmp_path: Path) -> None:
    """12149.9999 万元 is 121,499,999.00 元: whole cents, no AMOUNT_PRECISION; 0.0000001 万元 is a
    hundredth of a cent."""
    _, yuan = check(edited(tmp_path, {"D4": 12149.9999, "D8": 300.0001}))
    assert "AMOUNT_PRECISION" not in {r for r, _ in rules(yuan)}
    _, finer = check(edited(tmp_path, {"D8": 300.0000001}))
    assert ("AMOUNT_PRECISION", "D8") in rules(finer)
