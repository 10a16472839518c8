"""The awards workbook: a test per rule at its boundary, the carrier subsidy against LibreOffice, a round
trip of the template, and consolidation totals per plan line checked by hand."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from addin import template_spec as spec
from addin.check.awards import check_award_sheet, raw_award_table
from addin.check.consolidate import consolidate
from addin.check.pipeline import check_file
from addin.io.cell_errors import CellError
from addin.io.output import save_workbook
from addin.templates.awards import build_awards_template
from addin.templates.bundled import (
    AWARDS_UNIT,
    EXAMPLE_AWARDS,
    EXAMPLE_PLAN,
    EXAMPLES,
    REPOSITORY,
    award_rows,
    credit_code,
)
from schemas.awards import award_kinds
from schemas.policy import Policy
from tests.support.libreoffice import recalculate, require_libreoffice

D = Decimal
AWARDS = REPOSITORY / EXAMPLE_AWARDS
PLAN = REPOSITORY / EXAMPLE_PLAN
APPLICATIONS = [REPOSITORY / p for p in EXAMPLES.values()]


def kind_of(policy: Policy, kind_id: str):
    return next(k for k in award_kinds(policy) if k.id == kind_id)


def winner(n: int = 0, **values: Any) -> dict[str, Any]:
    """A clean enterprise row on any enterprise award sheet (extra keys a sheet lacks are ignored)."""
    row = {
        "name": f"兵团获奖企业{n:03d}有限公司",
        "uscc": credit_code("659001", f"MA7{n:06d}"),
        "division": "第八师石河子市",
        "industry": "纺织服装",
        "title": f"典型案例{n}",
        "chain": "纺织产业链",
        "carrier": f"赋能载体{n}",
        "recognized": "是",
        "investment": 1000000.0,
        "product": f"产品{n}",
        "negative_record": "无",
        "acceptance": "已验收合格",
        "little_giant": "否",
        "amount": 100000.0,
    }
    row.update(values)
    return row


def issues_of(policy: Policy, kind_id: str, rows: list[dict[str, Any]]):
    kind = kind_of(policy, kind_id)
    return check_award_sheet(raw_award_table(kind, rows), kind, policy)


def fired(result) -> set[str]:
    return {i.rule for i in result.issues}


CASES = {
    # rule: (sheet, rows that trigger it, rows at the boundary that do not)
    "AWARD_OVER_CAP": (
        "typical_case",
        [winner(amount=200000.01)],
        [winner(amount=200000.0)],
    ),
    "AWARD_POOL_EXCEEDED": (
        "provider",
        [
            winner(1, source="兵团配套资金", amount=3000000.0),
            winner(2, source="兵团配套资金", amount=1000000.01),
        ],
        [
            winner(1, source="兵团配套资金", amount=3000000.0),
            winner(2, source="兵团配套资金", amount=1000000.0),
        ],
    ),
    "AWARD_COUNT_EXCEEDED": (
        "typical_case",
        [winner(n) for n in range(31)],
        [winner(n) for n in range(30)],
    ),
    "CARRIER_NOT_RECOGNISED": (
        "carrier",
        [winner(recognized="否", source="兵团配套资金")],
        [winner(recognized="是", source="兵团配套资金")],
    ),
    "EXCLUDED_NOT_ACCEPTED": (
        "chain_leader",
        [winner(acceptance="未验收")],
        [winner(acceptance="已验收合格")],
    ),
    "AWARD_DUPLICATE": (
        "product",
        [winner(1, product="甲"), winner(1, product="乙")],
        [winner(1, product="甲"), winner(2, product="乙")],
    ),
}


@pytest.mark.parametrize(
    "rule_id", [pytest.param(rule_id, marks=pytest.mark.triggers(rule_id)) for rule_id in CASES]
)
def test_award_rule_triggers_and_not_at_its_boundary(rule_id: str, policy) -> None:
    sheet, triggering, passing = CASES[rule_id]
    result = issues_of(policy, sheet, triggering)
    assert rule_id in fired(result), [i.message for i in result.issues]
    issue = next(i for i in result.issues if i.rule == rule_id)
    assert issue.cell and issue.cell.endswith(str(issue.row)) and issue.sheet == kind_of(policy, sheet).sheet
    assert "{" not in issue.message + issue.fix and issue.clause
    assert rule_id not in fired(issues_of(policy, sheet, passing))


def test_a_clean_sheet_of_every_kind_has_no_issue(policy) -> None:
    for kind in award_kinds(policy):
        source = kind.field("source").allowed(policy)[0]
        rows = [{**winner(1, source=source), "division": "第八师石河子市"}]
        assert issues_of(policy, kind.id, rows).issues == [], kind.id


def test_the_31st_case_is_the_one_reported(policy) -> None:
    result = issues_of(policy, "typical_case", [winner(n) for n in range(32)])
    counted = [i for i in result.issues if i.rule == "AWARD_COUNT_EXCEEDED"]
    assert [i.row for i in counted] == [5 + 30, 5 + 31]
    assert "第 31 个" in counted[0].message and "30" in counted[0].message


def test_a_pool_exactly_full_passes_and_a_cent_over_is_reported_once(policy) -> None:
    full = [winner(n, source="中央专项资金", amount=100000.0) for n in range(20)]  # 200万, the pool
    assert "AWARD_POOL_EXCEEDED" not in fired(issues_of(policy, "product", full))
    over = [
        *full,
        winner(99, source="中央专项资金", amount=0.01),
        winner(98, source="中央专项资金", amount=5.0),
    ]
    pooled = [i for i in issues_of(policy, "product", over).issues if i.rule == "AWARD_POOL_EXCEEDED"]
    assert [(i.row, i.extra["excess"]) for i in pooled] == [(25, D("0.01"))]


@pytest.mark.triggers("EXCLUDED_NEGATIVE_RECORD", "EXCLUDED_LITTLE_GIANT")
def test_the_exclusions_apply_to_every_enterprise_applicant(policy) -> None:
    for kind in (k for k in award_kinds(policy) if k.applicant == "enterprise"):
        source = kind.field("source").allowed(policy)[0]
        rows = [
            winner(1, source=source, negative_record="严重失信主体名单"),
            winner(2, source=source, acceptance="验收不合格"),
            winner(3, source=source, little_giant="是"),
        ]
        assert {(i.rule, i.row) for i in issues_of(policy, kind.id, rows).issues} == {
            ("EXCLUDED_NEGATIVE_RECORD", 5),
            ("EXCLUDED_NOT_ACCEPTED", 6),
            ("EXCLUDED_LITTLE_GIANT", 7),
        }, kind.id


def test_a_chain_leader_over_and_at_its_cap(policy) -> None:
    assert "AWARD_OVER_CAP" in fired(issues_of(policy, "chain_leader", [winner(amount=500000.01)]))
    assert "AWARD_OVER_CAP" not in fired(issues_of(policy, "chain_leader", [winner(amount=500000.0)]))


@pytest.mark.parametrize(
    ("investment", "recognized", "subsidy"),
    [
        (10000000.0, "是", "1000000.00"),  # 10% is exactly the cap
        (10000000.1, "是", "1000000.00"),  # 10% is a cent over: capped
        (9999999.9, "是", "999999.99"),
        (5000005.0, "是", "500000.50"),  # half a cent rounds up
        (5000004.9, "是", "500000.49"),
        (3000000.0, "否", "0.00"),  # not recognised by the 兵团: nothing
    ],
)
def test_carrier_subsidy(policy, investment, recognized, subsidy) -> None:
    rows = [winner(investment=investment, recognized=recognized, source="兵团配套资金")]
    result = issues_of(policy, "carrier", rows)
    assert f"{result.table.amounts.loc[5, 'subsidy']:.2f}" == subsidy


def test_the_template_round_trip_through_libreoffice(policy, tmp_path: Path) -> None:
    """The generated workbook's formulas, recalculated by LibreOffice, equal the Decimal engine to the
    cent; read back, every value comes out as written and the example's two mistakes are found."""
    require_libreoffice()
    carriers = [
        winner(n, investment=investment, recognized=recognized, source="兵团配套资金")
        for n, (investment, recognized) in enumerate(
            [(10000000.1, "是"), (9999999.9, "是"), (5000005.0, "是"), (3000000.0, "否"), (123456.78, "是")]
        )
    ]
    records = {**award_rows(), "carrier": carriers}
    source, target = tmp_path / "awards.xlsx", tmp_path / "recalculated.xlsx"
    save_workbook(build_awards_template(policy, rows=40, unit=AWARDS_UNIT, records=records), source)
    recalculate([(source, target)])
    result = check_file(target, policy)
    assert result.kind == "awards"
    carrier = next(s for s in result.awards if s.kind.id == "carrier")
    stored = openpyxl.load_workbook(target, data_only=True)[carrier.kind.sheet]
    letter = spec.award_letters(carrier.kind.fields)["subsidy"]
    for row in carrier.table.frame.index:
        assert (
            D(str(stored[f"{letter}{row}"].value)).quantize(D("0.01"))
            == carrier.table.amounts.loc[row, "subsidy"]
        )
    assert "FORMULA_VALUE_MISMATCH" not in fired(result)
    assert {(i.rule, i.cell) for i in result.issues} == {
        ("AWARD_OVER_CAP", "G7"),
        ("CARRIER_NOT_RECOGNISED", "E8"),
    }
    typical = next(s for s in result.awards if s.kind.id == "typical_case")
    assert typical.table.frame["title"].tolist() == [r["title"] for r in award_rows()["typical_case"]]


def test_the_example_awards_workbook(policy) -> None:
    result = check_file(AWARDS, policy)
    assert result.kind == "awards" and result.unit == AWARDS_UNIT
    assert {(i.rule, i.sheet, i.cell) for i in result.issues} == {
        ("AWARD_OVER_CAP", "典型案例", "G7"),
        ("CARRIER_NOT_RECOGNISED", "赋能载体", "E7"),
    }


def test_consolidation_adds_the_awards_to_their_plan_lines(policy) -> None:
    """Totals per plan line and source, by hand from addin/templates/bundled.py's award_rows."""
    c = consolidate([*APPLICATIONS, AWARDS], PLAN, policy)
    committed = {(e.line.key, e.source): e.committed for e in c.execution if e.committed is not None}
    assert committed[("四", "bingtuan")] == D(200000 + 150000 + 250000 + 500000)
    assert committed[("十", "bingtuan")] == D(800000)  # 8,000,000 × 10%; the unrecognised carrier gets 0
    assert committed[("十", "division")] == D(1000000)  # 15,000,000 × 10% capped at 1,000,000
    assert committed[("六", "central")] == D(500000)
    assert committed[("六", "bingtuan")] == D(1000000)
    assert committed[("七", "central")] == D(400000)
    assert committed[("十四.1", "bingtuan")] == D(1000000 + 800000)
    assert committed[("一", "central")] == D(5159000), "the applications' lines are unchanged"
    assert not [i for i in c.issues if i.rule == "BUDGET_EXCEEDED"]


def test_an_award_line_a_cent_over_its_budget(policy, tmp_path: Path) -> None:
    workbook = openpyxl.load_workbook(PLAN)
    workbook[spec.PLAN_SHEET]["D9"] = 49.999999  # （六） central: 499,999.99 元 against 500,000 committed
    plan = tmp_path / "plan.xlsx"
    workbook.save(plan)
    c = consolidate([AWARDS], plan, policy)
    exceeded = [i for i in c.issues if i.rule == "BUDGET_EXCEEDED"]
    assert [(i.cell, i.value, i.expected) for i in exceeded] == [("D9", D(500000), D("499999.99"))]


def test_awards_across_workbooks(policy, tmp_path: Path) -> None:
    """The same winner in two awards workbooks, and 20 + 11 typical cases: the 31st is reported."""
    first = {"typical_case": [winner(n) for n in range(20)]}
    second = {"typical_case": [winner(n) for n in range(19, 30)]}  # winner 19 again, then ten more
    paths = []
    # Two units: two awards workbooks of one unit and one revision would be UNIT_SUBMITTED_TWICE.
    for name, records, unit in (("a.xlsx", first, AWARDS_UNIT), ("b.xlsx", second, "第八师石河子市")):
        save_workbook(build_awards_template(policy, rows=40, unit=unit, records=records), tmp_path / name)
        paths.append(tmp_path / name)
    c = consolidate(paths, PLAN, policy)
    duplicates = [(i.file, i.cell) for i in c.issues if i.rule == "AWARD_DUPLICATE"]
    assert duplicates == [("a.xlsx", "B24"), ("b.xlsx", "B5")]
    counted = [(i.file, i.row, i.value) for i in c.issues if i.rule == "AWARD_COUNT_EXCEEDED"]
    assert counted == [("b.xlsx", 15, 31)]


def test_check_command_reports_awards_as_json_and_html(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from addin.cli import app

    html = tmp_path / "报告.html"
    result = CliRunner().invoke(app, ["check", str(AWARDS), "--json", "-", "--html", str(html)])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["template"]["id"] == spec.AWARDS_TEMPLATE_ID
    assert document["totals"]["carrier"]["by_source"] == {"bingtuan": "800000.00", "division": "1000000.00"}
    assert [r["amount"] for r in document["awards"]["typical_case"]] == [
        "200000.00",
        "150000.00",
        "250000.00",
    ]
    page = html.read_text("utf-8")
    assert "奖励与补贴名单校验报告" in page and "AWARD_OVER_CAP" in page and "典型案例!G7" in page


def test_an_error_value_on_an_award_sheet_is_one_issue_at_its_cell(policy) -> None:
    """Whatever the sheet and the column, nothing cascades from it."""
    for kind in award_kinds(policy):
        alone = fired(issues_of(policy, kind.id, [winner(0)]))
        for field in (f for f in kind.fields if not f.computed):
            result = issues_of(policy, kind.id, [winner(0, **{field.id: CellError("#N/A")})])
            errors = [i for i in result.issues if i.rule == "CELL_ERROR_VALUE"]
            assert [i.field for i in errors] == [field.id], (kind.id, field.id)
            assert fired(result) - alone == {"CELL_ERROR_VALUE"}, (kind.id, field.id)


def test_blank_and_unknown_cells_on_an_award_sheet(policy) -> None:
    rows = [winner(1, name=None), winner(2, source="地方财政资金")]
    result = issues_of(policy, "provider", rows)
    messages = {(i.rule, i.cell): i.message for i in result.issues}
    assert messages[("REQUIRED_MISSING", "A5")] == "“数字化服务商名称”未填写。"
    assert ("VALUE_NOT_ALLOWED", "C6") in messages
    assert result.table.amounts["source"].tolist() == [None, None], "no source: counted under none"


def test_blank_cells_are_null_in_the_json(policy, tmp_path: Path) -> None:
    """Found by fuzzing: a blank name beside filled ones came out as NaN (pandas stores a column of
    text and blanks as strings with NaN)."""
    from addin.check.awards import award_rows

    path = tmp_path / "awards.xlsx"
    records = {"product": [winner(1, name=None, product="甲"), winner(2, product="乙")]}
    save_workbook(build_awards_template(policy, rows=5, unit=AWARDS_UNIT, records=records), path)
    listed = award_rows(check_file(path, policy).awards)["product"]
    assert [(r["name"], r["source"]) for r in listed] == [
        (None, "central"),
        ("兵团获奖企业002有限公司", "central"),
    ]
    json.dumps(listed, allow_nan=False)


def test_filled_award_amounts_show_as_money() -> None:
    """A filled cell keeps its column's number format (its own style would show 200000, not 200,000.00)."""
    import openpyxl

    from addin.templates.bundled import EXAMPLE_AWARDS, REPOSITORY
    from addin.templates.sheets import MONEY_FORMAT

    sheet = openpyxl.load_workbook(REPOSITORY / EXAMPLE_AWARDS).worksheets[0]
    amounts = [
        c for row in sheet.iter_rows(min_row=5, max_row=7) for c in row if isinstance(c.value, int | float)
    ]
    assert amounts and all(c.number_format == MONEY_FORMAT for c in amounts)
