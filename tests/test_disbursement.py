"""Payable or held, per enterprise: which rows a consolidation lets the finance bureau pay, the 拨付清单's
two sections and their counts, the JSON's disbursement and its totals, and the totals that add up."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.consolidate import Consolidation, consolidate
from addin.cli import app
from addin.io.output import save_workbook
from addin.reports.summary_figures import disbursement, disbursement_totals
from addin.templates.bundled import (
    EXAMPLE_AWARDS,
    EXAMPLE_PLAN,
    EXAMPLES,
    REPOSITORY,
    SHARED_ENTERPRISE,
    filled_application,
)
from schemas.calculation import funding_by_source
from schemas.disbursement import distinct_enterprises, holding_rules, holds, totals_by_decision
from schemas.fields import part_fields
from schemas.policy import Policy, load_policy
from tests.conftest import valid_code, valid_row

SUBSIDY_PART_FIELDS = part_fields(load_policy())

runner = CliRunner()
PLAN = REPOSITORY / EXAMPLE_PLAN
EXAMPLE_FILES = [REPOSITORY / p for p in EXAMPLES.values()]
SHIHEZI, ALAR = "第八师石河子市", "第一师阿拉尔市"
SHEET = "拨付清单"
PAYABLE_HEADING, HELD_HEADING = "一、可拨付", "二、暂缓拨付"
D = Decimal


def _write(tmp_path: Path, policy: Policy, name: str, unit: str, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    save_workbook(filled_application(policy, unit, rows, template_rows=10), path)
    return path


def _row(rows: pd.DataFrame, file: str, excel_row: int) -> pd.Series:
    return rows[(rows["file"] == file) & (rows["row"] == excel_row)].iloc[0]


def _listed(path: Path) -> list[tuple[Any, ...]]:
    """The 拨付清单's rows from its header on, as openpyxl reads them back."""
    rows = list(openpyxl.load_workbook(path)[SHEET].iter_rows(values_only=True))
    header = next(n for n, row in enumerate(rows) if row[0] == "填报单位")
    return rows[header:]


def _section(rows: list[tuple[Any, ...]], heading: str) -> list[tuple[Any, ...]]:
    """The rows of one section, from its heading to its 合计 (both included)."""
    start = next(n for n, row in enumerate(rows) if str(row[0]).startswith(heading))
    end = next(n for n in range(start, len(rows)) if str(rows[n][0]).endswith("合计"))
    return rows[start : end + 1]


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
    text_amount = _row(
        rows, "division-08-shihezi.xlsx", 10
    )  # 实际支付 typed as text: the sheet cannot compute it
    assert text_amount["held_by"] == ("NUMBER_STORED_AS_TEXT",) and text_amount["total_award"] == 0


def test_a_warning_alone_does_not_hold(tmp_path, policy) -> None:
    rows = [valid_row(paid=1000000.01, claimed=None)]  # paid over the contract: a warning
    c = consolidate([_write(tmp_path, policy, "a.xlsx", SHIHEZI, rows)], PLAN, policy)
    assert {i.rule for i in c.all_issues if i.file == "a.xlsx"} == {"PAID_EXCEEDS_CONTRACT"}
    assert c.rows["payable"].tolist() == [True]


def test_only_errors_hold_a_payment() -> None:
    from schemas.registry import load_registry

    severities = {spec.severity for spec in load_registry().values() if spec.id in holding_rules()}
    assert severities == {"error"}
    assert {"DUPLICATE_ENTERPRISE", "MATERIALS_MISSING", "REQUIRED_MISSING", "VALUE_NOT_ALLOWED"} <= set(
        holding_rules()
    )
    assert "PAID_EXCEEDS_CONTRACT" not in holding_rules()  # a warning


def test_payable_and_held_add_up_to_what_is_committed_for_each_source(examples, policy) -> None:
    totals = disbursement_totals(examples)
    committed = funding_by_source(examples.rows, policy)
    for source, field in SUBSIDY_PART_FIELDS.items():
        assert totals["payable"][field] + totals["held"][field] == committed[source]
    assert totals["payable"]["total"] + totals["held"]["total"] == sum(committed.values())
    assert totals["payable"]["total"] == D("6800000.00") and totals["held"]["total"] == D("3070000.00")
    records = disbursement(examples)
    for decision, listed in (("payable", True), ("held", False)):
        for field in (*SUBSIDY_PART_FIELDS.values(), "total"):
            assert sum(r[field] for r in records if r["payable"] is listed) == totals[decision][field]


def test_execution_shows_the_payable_part_of_each_commitment(examples) -> None:
    lines = {(e.line.key, e.source): e for e in examples.execution}
    rows = examples.rows
    payable_total = sum(rows.loc[rows["payable"], "total_award"], D(0))
    assert lines[("一", "central")].payable == D("3430000.00") < lines[("一", "central")].committed
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


def test_two_divisions_each_submitting_an_enterprise_twice_hold_all_four_rows(tmp_path, policy) -> None:
    twice = [valid_row(name="天业节水", uscc=SHARED_ENTERPRISE, division=unit) for unit in (SHIHEZI, SHIHEZI)]
    other = valid_row(uscc=valid_code("MA77T3B5W"), name="另一家")
    shihezi = _write(tmp_path, policy, "a.xlsx", SHIHEZI, [*twice, other])
    alar = _write(tmp_path, policy, "b.xlsx", ALAR, [{**r, "division": ALAR} for r in twice])
    summary = tmp_path / "s.xlsx"
    result = runner.invoke(
        app, ["consolidate", str(shihezi), str(alar), "--plan", str(PLAN), "-o", str(summary), "--json", "-"]
    )
    document = json.loads(result.stdout)
    shared = [e for e in document["disbursement"] if e["uscc"] == SHARED_ENTERPRISE]
    assert len(shared) == 4 and not any(e["payable"] for e in shared)
    assert all(e["held_by"] == ["DUPLICATE_ENTERPRISE"] for e in shared)
    assert [e["payable"] for e in document["disbursement"] if e["uscc"] != SHARED_ENTERPRISE] == [True]
    rows = _listed(summary)
    held = _section(rows, HELD_HEADING)
    subtotals = {row[0]: row[2] for row in held if str(row[0]).endswith("小计")}
    assert subtotals == {f"{ALAR} 小计": "1 家（2 行）", f"{SHIHEZI} 小计": "1 家（2 行）"}
    assert held[-1][:3] == ("暂缓拨付合计", None, "1 家（4 行）")
    assert held[-1][7] == 4 * 600000, "held at the full amount of each row"
    payable = _section(rows, PAYABLE_HEADING)
    assert payable[-1][:3] == ("可拨付合计", None, "1 家") and payable[-1][7] == 600000


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
    assert "REQUIRED_MISSING" in held[first] and c.rows["total_award"].iloc[0] == 0  # and never pays
    assert "VALUE_NOT_A_NUMBER" in held[first + 1]
    assert "VALUE_NOT_ALLOWED" in held[first + 2]
    assert held[first + 3] == ()


def test_a_repeat_within_one_file_holds_both_rows(tmp_path, policy) -> None:
    rows = [valid_row(), valid_row(name="同一家，另一行")]
    c = consolidate([_write(tmp_path, policy, "a.xlsx", SHIHEZI, rows)], PLAN, policy)
    assert list(c.rows["held_by"]) == [("DUPLICATE_ENTERPRISE",)] * 2


def test_files_of_the_same_name_in_two_folders_stay_apart(tmp_path, policy) -> None:
    for folder, unit in (("第八师", SHIHEZI), ("第一师", ALAR)):
        (tmp_path / folder).mkdir()
        _write(tmp_path / folder, policy, "申报表.xlsx", unit, [valid_row(division=unit)])
    c = consolidate([tmp_path / "第八师", tmp_path / "第一师"], PLAN, policy)
    assert sorted(c.rows["file"]) == ["第一师/申报表.xlsx", "第八师/申报表.xlsx"]
    duplicates = {i.file for i in c.issues if i.rule == "DUPLICATE_ENTERPRISE"}
    assert duplicates == {"第一师/申报表.xlsx", "第八师/申报表.xlsx"}
    assert not c.rows["payable"].any()
    assert {i.file for i in c.all_issues} >= duplicates | {"plan.xlsx"}


@pytest.mark.parametrize(("unit", "rule"), [("", "REQUIRED_MISSING"), ("第八师", "VALUE_NOT_ALLOWED")])
def test_an_invalid_unit_cell_holds_every_row_of_its_file(tmp_path, policy, unit, rule) -> None:
    path = tmp_path / "a.xlsx"
    workbook = filled_application(policy, SHIHEZI, [valid_row(), valid_row(uscc=valid_code("MA77T3B5W"))], 10)
    workbook[spec.DATA_SHEET][spec.UNIT_CELL].value = unit or None
    save_workbook(workbook, path)
    clean = _write(tmp_path, policy, "b.xlsx", ALAR, [valid_row(uscc=valid_code("MA78A1P2R"), division=ALAR)])
    summary = tmp_path / "s.xlsx"
    runner.invoke(app, ["consolidate", str(path), str(clean), "--plan", str(PLAN), "-o", str(summary)])
    c = consolidate([path, clean], PLAN, policy)
    own = c.rows[c.rows["file"] == "a.xlsx"]
    assert not own["payable"].any() and all(held == (rule,) for held in own["held_by_file"])
    assert all(held == () for held in own["held_by_row"])
    assert c.rows[c.rows["file"] == "b.xlsx"]["payable"].all()
    reasons = [row[9] for row in _section(_listed(summary), HELD_HEADING) if row[9]]
    assert len(reasons) == 2 and all(r.startswith("整个文件暂缓：") and f"（{rule}）" in r for r in reasons)


def test_a_file_that_cannot_be_checked_is_named_under_the_list(tmp_path, policy) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    summary = tmp_path / "s.xlsx"
    runner.invoke(
        app, ["consolidate", str(EXAMPLE_FILES[1]), str(broken), "--plan", str(PLAN), "-o", str(summary)]
    )
    rows = list(openpyxl.load_workbook(summary)[SHEET].iter_rows(values_only=True))
    # in the list's third part, 未纳入本次汇总: its status, the file, and the reason with the rule
    assert any(
        row[1] == "无法校验" and "broken.xlsx" in row[8] and "FILE_UNREADABLE" in row[9] for row in rows
    )


def test_commitments_over_the_plan_are_noted_under_the_list(tmp_path) -> None:
    workbook = openpyxl.load_workbook(PLAN)
    workbook[spec.PLAN_SHEET]["E5"] = 149.999999  # （二）兵团: 0.01 元 less than committed
    plan = tmp_path / "plan.xlsx"
    workbook.save(plan)
    summary = tmp_path / "s.xlsx"
    runner.invoke(app, ["consolidate", *map(str, EXAMPLE_FILES), "--plan", str(plan), "-o", str(summary)])
    notes = [row[0] for row in openpyxl.load_workbook(summary)[SHEET].iter_rows(values_only=True) if row[0]]
    assert any("BUDGET_EXCEEDED" in note and "拨付前须调整计划或核减申报" in note for note in notes)


# --- the reports ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[Path, dict[str, Any], str]:
    folder = tmp_path_factory.mktemp("summary")
    summary, document = folder / "汇总.xlsx", folder / "汇总.json"
    result = runner.invoke(
        app,
        ["consolidate", str(REPOSITORY / "addin/examples"), "--plan", str(PLAN), "-o", str(summary)]
        + ["--json", str(document)],
        env={"COLUMNS": "120"},
    )
    return summary, json.loads(document.read_text("utf-8")), result.output


def test_the_list_has_a_payable_and_a_held_section_counting_distinct_enterprises(written) -> None:
    rows = _listed(written[0])
    payable, held = _section(rows, PAYABLE_HEADING), _section(rows, HELD_HEADING)
    names = {row[1] for row in payable[1:-1] if row[1]}
    assert "五家渠青湖装备有限公司" in names and "五家渠梧桐纺织有限公司" not in names
    assert payable[-1][:3] == ("可拨付合计", None, "6 家") and payable[-1][7] == 6800000
    assert held[-1][:3] == ("暂缓拨付合计", None, "11 家（12 行）") and held[-1][7] == 3070000
    reasons = {row[1]: row[9] for row in held if row[1]}
    assert reasons["五家渠梧桐纺织有限公司"] == "申报材料不全（MATERIALS_MISSING）"
    assert reasons["天业节水（阿拉尔）分公司"] == "同一企业重复申报（DUPLICATE_ENTERPRISE）"
    assert reasons["五家渠恒信新材料有限公司"].split("\n") == [
        "集成费超过上限（FEE_INTEGRATION_OVER_6）",
        "申请金额超过可补贴金额（CLAIM_OVER_CAP）",
    ]
    assert not [row for row in payable if row[9]], "a payable row has no reason to be held"
    everything = rows[rows.index(held[-1]) + 1]
    assert everything[:3] == ("合计（可拨付＋暂缓拨付）", None, "17 家（18 行）")
    assert everything[7] == 9870000
    subtotals = [row for row in payable if str(row[0]).endswith("小计")]
    assert [row[2] for row in subtotals] == ["2 家", "1 家", "3 家"]  # 第八师: row 10 now held
    assert sum(row[7] for row in subtotals) == payable[-1][7]


def test_the_execution_sheet_shows_committed_and_payable_side_by_side(written) -> None:
    rows = list(openpyxl.load_workbook(written[0])["执行情况"].iter_rows(values_only=True))
    header = next(row for row in rows if row[0] == "计划行")
    assert header[4:7] == ("已承诺（元）", "其中可拨付（元）", "暂缓拨付（元）")
    line = next(row for row in rows if row[0] and row[0].startswith("（一）") and row[1] == "中央专项资金")
    assert line[4:7] == (5159000, 3430000, 1729000)


def test_the_json_disbursement_and_its_totals_add_up(written, policy) -> None:
    document = written[1]
    entries, totals = document["disbursement"], document["disbursement_totals"]
    assert set(totals) == {"payable", "held", "paid_before", "to_recover"}  # without a ledger: nothing paid
    assert {text for shape in (totals["paid_before"], totals["to_recover"]) for text in shape.values()} == {"0.00"}
    for decision, flag in (("payable", True), ("held", False)):
        assert set(totals[decision]) == {"central", "bingtuan", "division_fund", "total"}
        for field, text in totals[decision].items():
            assert text == f"{sum(D(e[field]) for e in entries if e['payable'] is flag):.2f}"
        parts = sum(D(totals[decision][f]) for f in ("central", "bingtuan", "division_fund"))
        assert parts == D(totals[decision]["total"])
    committed = sum(D(e["awards"]["total_award"]) for e in document["summary"])
    assert D(totals["payable"]["total"]) + D(totals["held"]["total"]) == committed
    entry = next(e for e in entries if e["name"] == "五家渠梧桐纺织有限公司")
    assert (entry["unit"], entry["payable"], entry["held_by"]) == (
        "第六师五家渠市",
        False,
        ["MATERIALS_MISSING"],
    )
    assert entry["total"] == "200000.00" and entry["uscc"]
    assert {e["payable"] for e in entries if not e["held_by"]} == {True}


def test_the_terminal_says_what_is_payable_and_what_is_held(written) -> None:
    output = written[2]
    assert "拨付情况" in output and "6,800,000.00" in output and "3,070,000.00" in output
    assert "11 家（12 行）" in output and "暂缓拨付的企业有错误或重复申报" in output


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
