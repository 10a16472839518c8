"""合肥 as the second policy (issue 25): schemas/data/policy-hefei-2024.yaml, from clause 一 of
《合肥市支持中小企业数字化转型试点城市建设若干政策》. Six rows computed by hand from the text, filled into the
template `dtfund template application --policy … --unit 蜀山区` makes, give the hand subsidy to the cent
through `dtfund check --policy` and through LibreOffice recalculating the same workbook.

Clause 一: completed in 2024 → at most 50% of the investment, completed in 2025 → at most 40%; caps 30/40/50万
for 二/三/四级; the investment is software + cloud + gateways/routers (the 设备 column) only; no fee limits.
Funding (our assumption, the excerpt is silent): 中央 50%, 市级 the remainder.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.cli import app
from addin.templates.printing import load_workbook_keeping_print_areas
from addin.templates.sheets import shown_header
from schemas.fields import application_fields, field_by_id
from schemas.policy import load_policy
from tests.conftest import valid_code

HEFEI = Path(__file__).parent.parent / "schemas" / "data" / "policy-hefei-2024.yaml"
runner = CliRunner()


def _row(
    n: int,
    completed: dt.date,
    level: str,
    costs: dict[str, float],
    paid: float,
    claimed,
    signed=dt.date(2024, 3, 1),
) -> dict:
    """A 蜀山区 enterprise: the contract total is the six cost items (blanks are zero)."""
    items = ("software", "cloud", "equipment", "consulting", "integration", "other_service")
    total = round(sum(costs.get(name, 0.0) for name in items), 2)
    return {
        "name": f"合肥蜀山数字科技有限公司{n}",
        "uscc": valid_code(f"MA2H{n:05d}", region="340104"),
        "division": "蜀山区",
        "industry": "装备制造",
        "size_class": "小型",
        "provider": "安徽数智服务有限公司",
        "contract_date": dt.datetime.combine(signed, dt.time()),
        "completion_date": dt.datetime.combine(completed, dt.time()),
        "evaluation_date": dt.datetime.combine(completed, dt.time()) + dt.timedelta(days=20),
        "level": level,
        "contract_total": total,
        **costs,
        "paid": paid,
        "claimed": claimed,
        "little_giant": "否",
        "negative_record": "无",
        **{
            name: "是"
            for name in ("doc_diagnosis", "doc_contract", "doc_invoice", "doc_payment", "doc_evaluation")
        },
    }


# Each row: (the row, its subsidy, central part, city part), worked by hand from clause 一.
HAND = [
    # 2024, 二级: base = 300,000 + 100,000 + 100,000 = 500,000 (consulting 200,000 is 28.6% of the contract:
    # no limit, not in the base) × 50% = 250,000.00 ≤ 300,000 → 250,000.00 = 125,000.00 + 125,000.00
    (
        _row(
            1,
            dt.date(2024, 6, 30),
            "二级",
            {"software": 300000.0, "cloud": 100000.0, "equipment": 100000.0, "consulting": 200000.0},
            700000.0,
            250000.0,
        ),
        "250000.00",
        "125000.00",
        "125000.00",
    ),
    # 2025, 三级: base = 800,000 + 150,000 + 250,000 = 1,200,000 × 40% = 480,000 > cap 400,000 → 400,000.00
    # (integration 100,000 is 6.7% of 1,500,000: no limit either)
    (
        _row(
            2,
            dt.date(2025, 3, 15),
            "三级",
            {
                "software": 800000.0,
                "cloud": 150000.0,
                "equipment": 250000.0,
                "consulting": 100000.0,
                "integration": 100000.0,
                "other_service": 100000.0,
            },
            1500000.0,
            400000.0,
        ),
        "400000.00",
        "200000.00",
        "200000.00",
    ),
    # 2025-12-31, 四级: paid 777,777.77 < the items 1,000,000 → base 777,777.77 × 40% = 311,111.108 →
    # 311,111.11; central 155,555.555 → 155,555.56, city the remainder 155,555.55
    (
        _row(
            3,
            dt.date(2025, 12, 31),
            "四级",
            {"software": 600000.0, "cloud": 200000.0, "equipment": 200000.0},
            777777.77,
            None,
        ),
        "311111.11",
        "155555.56",
        "155555.55",
    ),
    # 2024-12-31, 二级: base 246,913.57 × 50% = 123,456.785 → 123,456.79 (half-up; float gives .78);
    # central 61,728.395 → 61,728.40, city 61,728.39
    (
        _row(
            4,
            dt.date(2024, 12, 31),
            "二级",
            {"software": 200000.0, "cloud": 40000.0, "equipment": 6913.57},
            246913.57,
            123456.79,
        ),
        "123456.79",
        "61728.40",
        "61728.39",
    ),
    # completed 2026-01-01: neither 2024 nor 2025 → none
    (
        _row(5, dt.date(2026, 1, 1), "四级", {"software": 900000.0, "cloud": 100000.0}, 1000000.0, None),
        "0.00",
        "0.00",
        "0.00",
    ),
    # completed 2023-12-31: before 2024 → none
    (
        _row(
            6,
            dt.date(2023, 12, 31),
            "三级",
            {"software": 500000.0, "equipment": 100000.0},
            600000.0,
            None,
            signed=dt.date(2023, 5, 1),
        ),
        "0.00",
        "0.00",
        "0.00",
    ),
]


@pytest.fixture(scope="module")
def hefei():
    return load_policy(HEFEI)


@pytest.fixture(scope="module")
def filled(tmp_path_factory, hefei) -> Path:
    """The template the command makes for 蜀山区, filled with the six rows as a clerk types them."""
    folder = tmp_path_factory.mktemp("hefei")
    template = folder / "蜀山区模板.xlsx"
    result = runner.invoke(
        app, ["template", "application", "--policy", str(HEFEI), "--unit", "蜀山区", "-o", str(template)]
    )
    assert result.exit_code == 0, result.output
    workbook = load_workbook_keeping_print_areas(template)
    sheet = workbook[spec.DATA_SHEET]
    letters = spec.column_letters(hefei)
    for offset, (row, *_) in enumerate(HAND):
        for name, value in row.items():
            sheet[f"{letters[name]}{spec.FIRST_DATA_ROW + offset}"] = value
    path = folder / "蜀山区.xlsx"
    workbook.save(path)
    return path


def test_the_template_keeps_the_shared_names_and_hides_the_missing_lines(filled: Path, hefei) -> None:
    names = set(openpyxl.load_workbook(filled).defined_names)
    shared = {
        "software",
        "cloud",
        "equipment",
        "consulting",
        "integration",
        "other_service",
        "contract_total",
        "paid",
        "claimed",
        "level",
        "completion_date",
        "contract_date",
        "eligible_base",
        "transformation_subsidy",
        "central",
        "total_award",
    }
    assert shared <= names
    # no progress bonus, honour line, fee-limit columns or 兵团/师市 parts; 市级 is derived from the policy
    for hidden in (
        "progress_bonus",
        "honor_award",
        "honor",
        "service_total",
        "service_ratio",
        "integration_ratio",
        "bingtuan",
        "division_fund",
        "P_PROGRESS_BONUS",
        "P_HONOR_AWARD",
    ):
        assert hidden not in names
    assert "city" in names
    sheet = openpyxl.load_workbook(filled)[spec.DATA_SHEET]
    assert sheet["A1"].value == "合肥市中小企业数字化转型试点城市建设专项资金 企业数字化改造补贴申报表"
    assert sheet["B2"].value == "蜀山区"
    headers = [c.value for c in sheet[spec.HEADER_ROW]]
    shown = [header.replace("\n", "") for header in headers]  # (a wrapping header's unit on its own line)
    assert "数字化水平提升补贴（元）" in shown and "其中：市级财政资金（元）" in shown
    assert headers == [shown_header(f) for f in application_fields(hefei)]
    rules = [row[0].value for row in openpyxl.load_workbook(filled)[spec.RULES_SHEET].iter_rows(min_row=2)]
    assert "FEE_SERVICE_OVER_20" not in rules and "FEE_INTEGRATION_OVER_6" not in rules
    assert "CLAIM_OVER_CAP" in rules
    book = openpyxl.load_workbook(filled)
    guide = " ".join(str(c.value) for row in book[spec.GUIDE_SHEET].iter_rows() for c in row if c.value)
    assert "选择填报单位（所属县（市）区、开发区）" in guide and "服务费或集成费超限" not in guide
    assert "兵团" not in guide and "第十条" not in guide
    unit_list = next(v for v in book[spec.DATA_SHEET].data_validations.dataValidation if "B2" in str(v.sqref))
    assert unit_list.error == "请从下拉列表中选择所属县（市）区、开发区。"


def test_check_gives_the_hand_subsidy_to_the_cent(filled: Path, hefei) -> None:
    result = check_file(filled, hefei)
    assert not [i for i in result.issues if i.severity == "error"], [i.message for i in result.issues]
    assert not [i for i in result.issues if i.rule.startswith("FEE_")]
    amounts = result.table.amounts
    for offset, (_, subsidy, central, city) in enumerate(HAND):
        row = spec.FIRST_DATA_ROW + offset
        assert f"{amounts.at[row, 'transformation_subsidy']:.2f}" == subsidy, row
        assert f"{amounts.at[row, 'central']:.2f}" == central, row
        assert f"{amounts.at[row, 'city']:.2f}" == city, row
        assert (
            amounts.at[row, "central"] + amounts.at[row, "city"] == amounts.at[row, "transformation_subsidy"]
        )


def test_check_on_the_command_line_writes_the_policy_s_sources(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "结果.json"
    result = runner.invoke(app, ["check", str(filled), "--policy", str(HEFEI), "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text("utf-8"))
    rows = report["rows"]
    assert [r["amounts"]["transformation_subsidy"] for r in rows] == [subsidy for _, subsidy, _, _ in HAND]
    assert set(rows[0]["amounts"]) == {
        "eligible_base",
        "transformation_subsidy",
        "central",
        "city",
        "total_award",
    }
    total = sum(Decimal(subsidy) for _, subsidy, _, _ in HAND)
    assert report["totals"]["by_source"] == {
        "central": f"{sum(Decimal(c) for _, _, c, _ in HAND):.2f}",
        "city": f"{sum(Decimal(c) for _, _, _, c in HAND):.2f}",
    }
    assert Decimal(report["totals"]["amounts"]["total_award"]) == total
    assert "FEE_" not in result.output


def test_libreoffice_recalculates_the_hand_subsidy(filled: Path, tmp_path: Path, hefei) -> None:
    from tests.support.libreoffice import recalculate

    target = tmp_path / "recalculated.xlsx"
    recalculate([(filled, target)])
    sheet = openpyxl.load_workbook(target, data_only=True)[spec.DATA_SHEET]
    letters = spec.column_letters(hefei)
    for offset, (_, subsidy, central, city) in enumerate(HAND):
        row = spec.FIRST_DATA_ROW + offset
        found = {n: sheet[f"{letters[n]}{row}"].value for n in ("transformation_subsidy", "central", "city")}
        assert f"{found['transformation_subsidy']:.2f}" == subsidy, (row, found)
        assert f"{found['central']:.2f}" == central, (row, found)
        assert f"{found['city']:.2f}" == city, (row, found)
    result = check_file(target, hefei)
    assert not [i for i in result.issues if i.rule == "FORMULA_VALUE_MISMATCH"]


def test_explain_shows_the_rate_of_the_completion_year(filled: Path) -> None:
    result = runner.invoke(
        app, ["explain", str(filled), "--row", "6", "--policy", str(HEFEI)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "三项支持费用之和" in result.output and "40%" in result.output
    assert "数字化水平提升补贴" in result.output and "数字化水平提升补贴中：市级财政资金" in result.output
    assert (
        "进度补贴" not in result.output and "荣誉" not in result.output and "服务费上限" not in result.output
    )
    late = runner.invoke(
        app, ["explain", str(filled), "--row", "9", "--policy", str(HEFEI)], env={"COLUMNS": "200"}
    )
    assert "0%" in late.output and "2026-01-01 起施行的取值" in late.output


def test_the_add_in_functions_price_with_the_policy_they_are_given(
    filled: Path, hefei, monkeypatch: pytest.MonkeyPatch
) -> None:
    from addin.excel import udfs
    from tests.test_addin import excel_table

    monkeypatch.setenv(udfs.POLICY_VARIABLE, str(HEFEI))
    udfs.policy.cache_clear()
    try:
        table = excel_table(filled)
        result = udfs.DTFUND_CALC(table)
        headers = result[0]
        assert headers == [f.header for f in application_fields(hefei) if f.computed]
        column = headers.index(field_by_id(hefei)["transformation_subsidy"].header)
        assert [f"{row[column]:.2f}" for row in result[1:7]] == [subsidy for _, subsidy, _, _ in HAND]
        assert udfs.DTFUND_VALIDATE(table)[1][0] == "通过"
        assert udfs.DTFUND_SPLIT(123456.79) == [[61728.40, 61728.39]]
    finally:
        udfs.policy.cache_clear()


def test_the_submission_form_prints_the_policy_s_lines_and_sources(filled: Path, tmp_path: Path) -> None:
    from pypdf import PdfReader

    pdf = tmp_path / "报送表.pdf"
    result = runner.invoke(app, ["check", str(filled), "--policy", str(HEFEI), "--print", str(pdf)])
    assert result.exit_code == 0, result.output
    text = "".join("".join(page.extract_text().split()) for page in PdfReader(pdf).pages)
    assert "合肥市中小企业数字化转型试点城市建设专项资金企业数字化改造补贴申报汇总表" in text
    assert "数字化水平提升补贴" in text and "市级财政资金" in text
    assert "进度补贴" not in text and "荣誉奖励" not in text and "兵团" not in text
    assert "123,456.79" in text and "1,084,567.90" in text


@pytest.mark.triggers("TEMPLATE_POLICY_MISMATCH")
def test_checked_without_its_policy_it_says_so(filled: Path) -> None:
    """A 合肥 workbook checked under the bundled 兵团 policy: the policy named, not its columns blamed."""
    result = check_file(filled, load_policy())
    [issue] = result.issues
    assert result.kind is None and issue.rule == "TEMPLATE_POLICY_MISMATCH"
    assert "hefei-dt-pilot-2024" in issue.message and "--policy" in issue.fix
    command = runner.invoke(app, ["check", str(filled)])
    assert command.exit_code == 2 and "TEMPLATE_COLUMN_CHANGED" not in command.output
