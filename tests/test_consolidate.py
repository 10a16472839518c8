"""Consolidating the divisions' workbooks against the plan: totals by hand, duplicates across files,
budget exceeded by a cent, the summary workbook and its JSON."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.consolidate import consolidate
from addin.cli import app
from addin.io.output import save_workbook
from addin.templates.bundled import EXAMPLE_EARLIER, EXAMPLE_PLAN, EXAMPLES, REPOSITORY, filled_application
from tests.conftest import check_records, valid_code, valid_row

runner = CliRunner()
EXAMPLE_FILES = [REPOSITORY / p for p in EXAMPLES.values()]
PLAN = REPOSITORY / EXAMPLE_PLAN
D = Decimal

# By hand, from addin/templates/bundled.py (subsidy = min(50% of the allowed cost, cap); bonus by level when
# completion and evaluation are on or before 2025-12-31; honor 500000):
#   第八师: subsidies 500000 + 600000 + 1500000 (四级 cap) + 375000 (800000 − 50000 service excess)
#           + 300000 + 200000 + 450000 = 3925000; bonuses 5 × 100000 + 150000 + 200000 = 850000;
#           honor 500000 (国家级数字化车间); 一级, pre-window contract and unevaluated rows get 0, and so
#           does row 10, whose 实际支付 is typed as text (the template's formulas cannot compute it).
#   第一师: 800000 (三级 cap) + 250000 + 450000 = 1500000; bonuses 150000 + 2 × 100000 = 350000; the
#           row with a negative record gets 0.
#   第六师: 1250000 + 200000 + 495000 (1000000 − 10000 integration excess) = 1945000; bonuses 200000
#           + 100000 = 300000 (梧桐 evaluated 2026-01-05: none); honor 500000 (5G工厂); 小巨人 row 0.
SUBSIDY = D(3925000 + 1500000 + 1945000)
BONUS = D(850000 + 350000 + 300000)
HONOR = D(1000000)


def run(*args) -> object:
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


@pytest.fixture(scope="module")
def examples(policy):
    return consolidate(EXAMPLE_FILES, PLAN, policy)


def test_totals_per_source_and_line_match_the_hand_computation(examples) -> None:
    lines = {(e.line.key, e.source): e for e in examples.execution}
    assert lines[("一", "central")].committed == SUBSIDY * D("0.70") == D(5159000)
    assert lines[("一", "bingtuan")].committed == SUBSIDY * D("0.15") == D(1105500)
    assert lines[("一", "division")].committed == D(1105500)
    assert lines[("二", "bingtuan")].committed == BONUS == D(1500000)
    assert lines[("三", "bingtuan")].committed == HONOR / 2 == lines[("三", "division")].committed
    assert lines[("一", "central")].budget == D(121500000)
    assert lines[("一", "central")].remaining == D(121500000 - 5159000)
    assert lines[("五", "central")].committed is None  # no application amount counts against （五）
    assert not [i for i in examples.issues if i.rule == "BUDGET_EXCEEDED"]


def test_the_duplicate_across_divisions_is_found(examples) -> None:
    duplicates = [i for i in examples.issues if i.rule == "DUPLICATE_ENTERPRISE"]
    assert {(i.file, i.cell) for i in duplicates} == {
        ("division-08-shihezi.xlsx", "B16"),
        ("division-01-alar.xlsx", "B7"),
    }
    assert all("另见" in i.message for i in duplicates)
    assert "division-01-alar.xlsx 申报表!B7" in next(i for i in duplicates if i.cell == "B16").message


def _plan_with(tmp_path: Path, cells: dict[str, object]) -> Path:
    workbook = openpyxl.load_workbook(PLAN)
    for cell, value in cells.items():
        workbook[spec.PLAN_SHEET][cell] = value
    path = tmp_path / "plan.xlsx"
    workbook.save(path)
    return path


@pytest.mark.triggers("BUDGET_EXCEEDED")
def test_budget_exceeded_by_a_cent_is_caught_and_exactly_at_budget_is_not(tmp_path: Path, policy) -> None:
    at_budget = consolidate(
        EXAMPLE_FILES, _plan_with(tmp_path, {"E5": 150}), policy
    )  # （二）兵团 = 1500000 元
    assert not [i for i in at_budget.issues if i.rule == "BUDGET_EXCEEDED"]
    short = consolidate(EXAMPLE_FILES, _plan_with(tmp_path, {"E5": 149.999999}), policy)  # 0.01 元 less
    exceeded = [i for i in short.issues if i.rule == "BUDGET_EXCEEDED"]
    assert [(i.cell, i.value, i.expected) for i in exceeded] == [("E5", D(1500000), D("1499999.99"))]
    assert exceeded[0].extra["excess"] == D("0.01")
    assert exceeded[0].clause == "第十条（一）2"


def test_consolidate_command_writes_summary_and_json(tmp_path: Path) -> None:
    summary, out = tmp_path / "汇总.xlsx", tmp_path / "汇总.json"
    result = run("consolidate", REPOSITORY / "addin/examples", "--plan", PLAN, "-o", summary, "--json", out)
    assert result.exit_code == 1, result.output
    assert "汇总结论：不通过" in result.output
    workbook = openpyxl.load_workbook(summary)
    assert workbook.sheetnames == ["汇总", "执行情况", "拨付清单", "服务商排名", "奖励名单", "问题清单"]
    awards = [r for r in workbook["奖励名单"].iter_rows(min_row=4, values_only=True)]
    assert awards[-1][0] == "合计" and awards[-1][-1] == 1100000 + 1800000 + 1500000 + 400000 + 1800000
    document = json.loads(out.read_text("utf-8"))
    files = [Path(f["file"]).name for f in document["files"]]
    earlier = Path(EXAMPLE_EARLIER).name
    assert sorted(files) == sorted(["awards.xlsx", earlier, *(Path(f).name for f in EXAMPLE_FILES)]), (
        "the folder's plan.xlsx is not read as an application; its awards workbook is read"
    )
    statuses = {Path(f["file"]).name: (f["status"], f["replaced_by"]) for f in document["files"]}
    assert statuses[earlier] == ("replaced", "division-08-shihezi.xlsx")
    assert statuses["division-08-shihezi.xlsx"] == ("consolidated", None)
    totals = {e["division"]: e for e in document["summary"]}
    assert totals["第八师石河子市"]["awards"]["transformation_subsidy"] == "3925000.00"
    assert totals["第六师五家渠市"]["awards"]["total_award"] == "2745000.00"
    assert totals["第一师阿拉尔市"]["levels"] == {"二级": 3, "三级": 1, "四级": 0, "未达二级或未评测": 0}
    summary_sheet = workbook["汇总"]
    assert "同一企业在几个师市申报的各计一次" in summary_sheet["A3"].value, "the 19 against 17 家 said"
    last = [c.value for c in summary_sheet[summary_sheet.max_row]]
    assert last[0] == "合计" and last[1] == 19
    issues_sheet = workbook["问题清单"]
    listed = {(r[0], r[2], r[3]) for r in issues_sheet.iter_rows(min_row=4, values_only=True)}
    assert ("division-08-shihezi.xlsx", "B16", "DUPLICATE_ENTERPRISE") in listed
    assert ("plan.xlsx", "C14", "PLAN_UNIT_COST_MISMATCH") in listed
    assert workbook["执行情况"]._charts, "the execution sheet has its bar chart"
    lines = [
        r for r in workbook["执行情况"].iter_rows(values_only=True) if r[0] and str(r[0]).startswith("（")
    ]
    unassigned = {r[0]: r[7] for r in lines if r[1] == "兵团配套资金" and r[4] != "—"}
    assert unassigned["（十四）1"] == 4000000 - 1800000, "（十四）1 by its number, as its items 2–4"
    assert "未承诺" in result.output and " 剩余 " not in result.output, (
        "the terminal's word for plan − 已承诺"
    )
    for sheet in workbook.worksheets:  # printed together, each sheet numbers its own pages from 1
        footer = sheet.oddFooter.center.text
        assert sheet.page_setup.useFirstPageNumber and "&P" in footer and "&N" not in footer, sheet.title
        assert footer.startswith("&A") or sheet.title == "拨付清单", sheet.title


def test_disbursement_and_provider_ranking(examples) -> None:
    from addin.reports.summary_figures import disbursement, provider_ranking
    from schemas.calculation import source_parts

    records = disbursement(examples)
    assert sum(r["total"] for r in records) == SUBSIDY + BONUS + HONOR
    assert all(r["transferred"] == r["central"] + r["bingtuan"] for r in records)
    assert all(r["central"] + r["bingtuan"] + r["division_fund"] == r["total"] for r in records)
    assert sum(source_parts(examples.rows, "division")) == SUBSIDY * D("0.15") + HONOR / 2
    ranking = provider_ranking(examples)
    assert [r["rank"] for r in ranking] == sorted(r["rank"] for r in ranking)
    assert sum(r["enterprises"] for r in ranking) == 18  # 19 rows, the shared enterprise once


def test_unreadable_file_makes_the_summary_incomplete(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    summary = tmp_path / "s.xlsx"
    result = run("consolidate", EXAMPLE_FILES[1], broken, "--plan", PLAN, "-o", summary, "--json", "-")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["complete"] is False
    assert "FILE_UNREADABLE" in {i["rule"] for i in document["issues"]}


def test_clean_divisions_consolidate_with_exit_zero(tmp_path: Path, policy) -> None:
    path = tmp_path / "clean.xlsx"
    rows = [valid_row(), valid_row(uscc=valid_code("MA77T3B5W"), name="另一家")]
    save_workbook(filled_application(policy, "第八师石河子市", rows, template_rows=10), path)
    result = run("consolidate", path, "--plan", PLAN, "-o", tmp_path / "s.xlsx", "--quiet")
    assert result.exit_code == 0, result.output


def test_no_input_files_and_bad_plan_exit_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run("consolidate", empty, "--plan", PLAN, "-o", tmp_path / "s.xlsx")
    assert result.exit_code == 2 and "没有找到" in result.output
    result = run("consolidate", EXAMPLE_FILES[0], "--plan", EXAMPLE_FILES[1], "-o", tmp_path / "s.xlsx")
    assert result.exit_code == 2 and "资金使用计划表" in result.output


def test_user_text_cannot_become_a_formula_in_the_summary(tmp_path: Path, policy) -> None:
    path = tmp_path / "injected.xlsx"
    rows = [valid_row(name='=HYPERLINK("http://x","点我")', provider="+cmd")]
    save_workbook(filled_application(policy, "第八师石河子市", rows, template_rows=10), path)
    summary = tmp_path / "s.xlsx"
    run("consolidate", path, "--plan", PLAN, "-o", summary)
    workbook = openpyxl.load_workbook(summary)
    values = [c for ws in workbook for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [c for c in values if c.data_type == "f"]
    texts = {c.value for c in values}
    assert '=HYPERLINK("http://x","点我")' in texts and "+cmd" in texts, "kept as typed, as text cells"


@pytest.mark.triggers("UNIT_MISMATCH")
def test_unit_mismatch_in_a_division_workbook(tmp_path: Path, policy) -> None:
    path = tmp_path / "a.xlsx"
    rows = [valid_row(), valid_row(uscc=valid_code("MA77T3B5W"), division="第一师阿拉尔市")]
    save_workbook(filled_application(policy, "第八师石河子市", rows, template_rows=10), path)
    result = run("check", path, "--json", "-")
    document = json.loads(result.stdout)
    assert [(i["rule"], i["cell"]) for i in document["issues"]] == [("UNIT_MISMATCH", "C6")]
    assert check_records([valid_row()]).issues == []


def test_an_application_given_as_the_plan_is_named_as_such(tmp_path: Path) -> None:
    """Not the application's first row issue, which would read as if the plan had it."""
    first, second = EXAMPLE_FILES[0], EXAMPLE_FILES[1]
    result = CliRunner().invoke(
        app, ["consolidate", str(first), "--plan", str(second), "-o", str(tmp_path / "汇总.xlsx")]
    )
    assert result.exit_code == 2
    said = result.output.replace("\n", "")
    assert f"{second.name} 是申报表" in said and "dtfund template plan" in said
    assert not (tmp_path / "汇总.xlsx").exists()
