"""The shapes another city's measures take, written as a policy file without code (issue 25, item 2), and
`dtfund policy check`. One variant of the 合肥 file carries the shapes 合肥 itself does not: a rate by
evaluation level, a flat top-up for a level (a line of its own), invoice and payment dates that must each
fall inside a window, and a single funding source. The check's amounts and the template's formulas,
recalculated by LibreOffice, agree on every amount; the hand figures are worked below."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.cli import app
from addin.templates.bundled import filled_application
from schemas.calculation import calculation_inputs
from schemas.fields import amount_fields, application_fields
from schemas.policy import PolicyError, load_policy
from schemas.policy_check import check_policy_text
from tests.conftest import POLICY_FILE, valid_code
from tests.test_hefei import HEFEI, _row

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parent.parent / "addin/examples/division-01-alar.xlsx"


def variant(folder: Path, name: str = "shapes.yaml", change=None) -> Path:
    """The 合肥 file with the shapes it lacks: rate by level (30/35/40%), a 四级 top-up of 100,000,
    invoice and payment windows (2024-01-01 … 2025-12-31), one funding source (市级)."""
    raw = yaml.safe_load(HEFEI.read_text("utf-8"))
    parameters = raw["parameters"]
    parameters["subsidy_rate"] = {
        "label": "补贴比例（按评测等级）",
        "unit": "比例",
        "clause": "第一条",
        "values": [{"from": dt.date(2023, 1, 1), "value": {"二级": "0.30", "三级": "0.35", "四级": "0.40"}}],
    }
    parameters["top_up"] = {
        "label": "四级企业一次性奖励",
        "unit": "元",
        "clause": "第一条",
        "values": [{"from": dt.date(2023, 1, 1), "value": {"四级": "100000.00"}}],
    }
    parameters["top_up_split"] = {
        "label": "奖励资金来源比例",
        "unit": "比例",
        "clause": "第一条",
        "values": [{"from": dt.date(2023, 1, 1), "value": {"city": "1.00"}}],
    }
    parameters["subsidy_split"]["values"] = [{"from": dt.date(2023, 1, 1), "value": {"city": "1.00"}}]
    for bound, day in (
        ("document_window_start", dt.date(2024, 1, 1)),
        ("document_window_end", dt.date(2025, 12, 31)),
    ):
        parameters[bound] = {
            "label": "发票、付款日期期限",
            "unit": "日期",
            "clause": "第一条",
            "values": [{"from": dt.date(2023, 1, 1), "value": day}],
        }
    raw["funding_sources"] = {"city": "市级财政资金"}
    raw["lines"].append(
        {"id": "top_up", "label": "四级奖励", "clause": "第一条", "amount": "top_up", "split": "top_up_split"}
    )
    raw["windows"] += [
        {"field": "invoice_date", "start": "document_window_start", "end": "document_window_end"},
        {"field": "payment_date", "start": "document_window_start", "end": "document_window_end"},
    ]
    if change:
        change(raw)
    path = folder / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def _dated(row: dict[str, Any], invoice: dt.date, payment: dt.date) -> dict[str, Any]:
    return row | {
        "invoice_date": dt.datetime.combine(invoice, dt.time()),
        "payment_date": dt.datetime.combine(payment, dt.time()),
        "claimed": None,
    }


# (row, subsidy, top-up): the base is software + cloud + equipment; the rate is the level's
SHAPED = [
    # 二级 × 30%: 500,000 × 0.30 = 150,000.00 (≤ 300,000); no top-up
    (
        _dated(
            _row(
                1,
                dt.date(2024, 6, 30),
                "二级",
                {"software": 300000.0, "cloud": 100000.0, "equipment": 100000.0},
                500000.0,
                None,
            ),
            dt.date(2024, 6, 1),
            dt.date(2024, 7, 1),
        ),
        "150000.00",
        "0.00",
    ),
    # 四级 × 40%: 1,234,567.89 × 0.40 = 493,827.156 → 493,827.16 (≤ 500,000); top-up 100,000.00
    (
        _dated(
            _row(2, dt.date(2025, 3, 1), "四级", {"software": 1234567.89}, 1234567.89, None),
            dt.date(2025, 2, 1),
            dt.date(2025, 3, 20),
        ),
        "493827.16",
        "100000.00",
    ),
    # 三级, the payment after the window (2026-01-05): not eligible, nothing
    (
        _dated(
            _row(3, dt.date(2025, 11, 1), "三级", {"software": 400000.0}, 400000.0, None),
            dt.date(2025, 10, 1),
            dt.date(2026, 1, 5),
        ),
        "0.00",
        "0.00",
    ),
    # 四级, the invoice before the window (2023-12-31): nothing, the top-up neither
    (
        _dated(
            _row(4, dt.date(2024, 3, 1), "四级", {"software": 400000.0}, 400000.0, None),
            dt.date(2023, 12, 31),
            dt.date(2024, 2, 1),
        ),
        "0.00",
        "0.00",
    ),
]


@pytest.fixture(scope="module")
def shaped(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shapes")
    policy = load_policy(variant(folder))
    source = folder / "shapes.xlsx"
    filled_application(policy, "蜀山区", [row for row, *_ in SHAPED], template_rows=10).save(source)
    return policy, source, folder


def test_every_shape_is_a_column_of_the_template(shaped) -> None:
    policy, source, _ = shaped
    names = set(openpyxl.load_workbook(source).defined_names)
    assert {"invoice_date", "payment_date", "top_up", "city"} <= names
    assert not {"central", "honor", "progress_bonus", "service_total"} & names
    assert amount_fields(policy) == (
        "eligible_base",
        "transformation_subsidy",
        "city",
        "top_up",
        "total_award",
    )
    assert [f.label for f in application_fields(policy) if f.id == "top_up"] == ["四级奖励"]


@pytest.mark.triggers("DATE_OUT_OF_WINDOW")
def test_the_check_prices_every_shape(shaped) -> None:
    policy, source, _ = shaped
    result = check_file(source, policy)
    amounts = result.table.amounts
    for offset, (_, subsidy, top_up) in enumerate(SHAPED):
        row = spec.FIRST_DATA_ROW + offset
        assert f"{amounts.at[row, 'transformation_subsidy']:.2f}" == subsidy, row
        assert f"{amounts.at[row, 'top_up']:.2f}" == top_up, row
        assert amounts.at[row, "city"] == amounts.at[row, "transformation_subsidy"]  # one source: all of it
    outside = {(i.rule, i.field, i.row) for i in result.issues if i.rule == "DATE_OUT_OF_WINDOW"}
    assert outside == {("DATE_OUT_OF_WINDOW", "payment_date", 7), ("DATE_OUT_OF_WINDOW", "invoice_date", 8)}
    message = next(i.message for i in result.issues if i.row == 7 and i.rule == "DATE_OUT_OF_WINDOW")
    assert "付款日期" in message and "2024-01-01 至 2025-12-31" in message


def test_libreoffice_computes_every_shape_as_the_check(shaped) -> None:
    from tests.support.libreoffice import recalculate

    policy, source, folder = shaped
    target = folder / "recalculated.xlsx"
    recalculate([(source, target)])
    expected = check_file(source, policy).table.amounts
    sheet = openpyxl.load_workbook(target, data_only=True)[spec.DATA_SHEET]
    letters = spec.column_letters(policy)
    compared = 0
    for row in expected.index:
        for name in amount_fields(policy):
            found = sheet[f"{letters[name]}{row}"].value
            assert f"{found:.2f}" == f"{expected.at[row, name]:.2f}", (row, name, found)
            compared += 1
    assert compared == len(SHAPED) * len(amount_fields(policy))
    assert not [i for i in check_file(target, policy).issues if i.rule == "FORMULA_VALUE_MISMATCH"]


# --- dtfund policy check ----------------------------------------------------------------------------


def test_the_bundled_policies_have_no_problem() -> None:
    for path in (POLICY_FILE, HEFEI):
        result = runner.invoke(app, ["policy", "check", str(path)])
        assert result.exit_code == 0, result.output
        assert "没有发现问题" in result.output


def _broken(raw: dict) -> None:
    raw["colour"] = "blue"  # an unknown key
    rate = raw["parameters"]["subsidy_rate"]["values"]
    rate.append(
        {"from": dt.date(2023, 1, 1), "value": {"二级": "0.2", "三级": "0.2", "四级": "0.2"}}
    )  # overlap
    raw["parameters"]["top_up"]["values"] = [
        {"from": dt.date(2023, 1, 1), "until": dt.date(2024, 6, 30), "value": {"四级": "1"}},
        {"from": dt.date(2024, 9, 1), "value": {"四级": "2"}},  # a gap
    ]
    raw["parameters"]["top_up_split"]["values"][0]["value"] = {"city": "0.90"}  # does not add to 1
    raw["lines"][0]["base"]["items"] = ["software", "gateway"]  # a missing input
    raw["lines"][1]["amount"] = "bonus"  # a missing parameter


def test_policy_check_names_each_problem_with_its_key_and_line(tmp_path: Path) -> None:
    path = variant(tmp_path, "broken.yaml", _broken)
    text = path.read_text("utf-8")
    problems = check_policy_text(text, str(path))
    found = {(p.key, p.message.split("：")[0][:12]) for p in problems}
    keys = [p.key for p in problems]
    assert "colour" in keys
    assert keys.count("parameters.subsidy_rate") == 1 and keys.count("parameters.top_up") == 1
    assert "parameters.top_up_split" in keys
    assert "lines[0].base.items" in keys and "lines[1].amount" in keys
    lines = text.splitlines()
    for problem in problems:
        head = problem.key.split(".")[-1].split("[")[0]
        assert head in lines[problem.line - 1], (problem, lines[problem.line - 1])
    messages = " ".join(p.message for p in problems)
    assert "未知的键 colour" in messages and "重叠" in messages and "空档" in messages
    assert "比例之和为 0.90，应为 1" in messages and "gateway" in messages and "参数 bonus 不存在" in messages
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2
    assert f"有 {len(problems)} 个问题" in result.output.replace("\n", "")
    assert found  # every problem has a key and a message
    with pytest.raises(PolicyError):
        load_policy(path)  # the loader refuses the file with the first of them


def test_policy_check_reads_a_file_that_is_not_yaml(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nparameters: [unclosed\n", "utf-8")
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2 and "不是有效的 YAML" in result.output and "第 " in result.output
    missing = runner.invoke(app, ["policy", "check", str(tmp_path / "none.yaml")])
    assert missing.exit_code == 2 and "无法读取" in missing.output


def test_the_unit_list_is_the_policy_s(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    refused = runner.invoke(
        app, ["template", "application", "--policy", str(HEFEI), "--unit", "第八师石河子市", "-o", str(path)]
    )
    assert refused.exit_code == 2 and "不在名单中" in refused.output
    made = runner.invoke(
        app, ["template", "application", "--policy", str(HEFEI), "--unit", "合肥高新区", "-o", str(path)]
    )
    assert made.exit_code == 0, made.output


# --- the corpus of awkward inputs, under the shaped policy ---------------------------------------------


@pytest.mark.parametrize("which", ["shaped", "hefei"])
def test_the_sheet_and_the_check_agree_over_the_corpus(shaped, which: str) -> None:
    """test_sheet_agrees' corpus (stray spaces, text for numbers and dates, error values, unlisted
    choices) filled into the shaped policy's and 合肥's templates: every amount of every line the same in
    LibreOffice as in the check, or the check says at that cell why the sheet cannot compute it and counts
    nothing."""
    from addin.io.cell_errors import CellError
    from tests.support.libreoffice import recalculate
    from tests.test_hefei import HAND
    from tests.test_sheet_agrees import CORPUS, SHEET_CANNOT_COMPUTE

    policy, _, folder = shaped
    base = SHAPED[1][0]  # a 四级 row with a subsidy and a top-up
    if which == "hefei":
        policy, base = load_policy(HEFEI), HAND[0][0]  # 二级, completed in 2024
    letters = spec.column_letters(policy)
    corpus = [c for c in CORPUS if set(c) <= set(letters)]
    rows = [
        base
        | {"uscc": valid_code(f"MA3H{n:05d}", region="340104")}
        | {k: getattr(v, "code", v) for k, v in c.items()}
        for n, c in enumerate(corpus)
    ]
    book = filled_application(policy, "蜀山区", rows, template_rows=len(rows) + 2)
    for n, changes in enumerate(corpus):
        for name, value in changes.items():
            if isinstance(value, CellError):
                book[spec.DATA_SHEET][f"{letters[name]}{spec.FIRST_DATA_ROW + n}"].data_type = "e"
    source, target = folder / f"corpus-{which}.xlsx", folder / f"corpus-{which}-recalculated.xlsx"
    book.save(source)
    recalculate([(source, target)])
    result = check_file(source, policy)
    amounts = result.table.amounts
    # a cell the sheet cannot compute, where the amounts read it (合肥 reads the completion date: it
    # chooses the rate; the shaped policy does not)
    read = calculation_inputs(policy)
    cannot = {i.row for i in result.issues if i.rule in SHEET_CANNOT_COMPUTE and i.field in read}
    sheet = openpyxl.load_workbook(target, data_only=True)[spec.DATA_SHEET]
    compared = 0
    for n, changes in enumerate(corpus):
        row = spec.FIRST_DATA_ROW + n
        if row in cannot:
            assert amounts.at[row, "total_award"] == 0, changes
            continue
        for name in amount_fields(policy):
            value = sheet[f"{letters[name]}{row}"].value
            assert isinstance(value, int | float), (changes, name, value)
            assert f"{value:.2f}" == f"{amounts.at[row, name]:.2f}", (changes, name, value)
            compared += 1
    assert compared >= 10 * len(amount_fields(policy))
    control = {"shaped": "593827.16", "hefei": "250000.00"}[which]  # 493,827.16 + 100,000; 250,000
    assert f"{amounts.at[spec.FIRST_DATA_ROW, 'total_award']:.2f}" == control
    text_date = next(n for n, c in enumerate(corpus) if c == {"completion_date": "2025-08-30"})
    assert (spec.FIRST_DATA_ROW + text_date in cannot) == (which == "hefei")


def _edited(folder: Path, old: str, new: str) -> Path:
    """The 兵团's policy file with one text replaced (the first occurrence)."""
    text = POLICY_FILE.read_text("utf-8")
    assert old in text
    path = folder / "edited.yaml"
    path.write_text(text.replace(old, new, 1), "utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ('value: "0.50"}', 'value: "1.50"}', "应为0 至 1 之间的数"),
        ('value: "0.50"}', 'value: "50%"}', "应为0 至 1 之间的数"),
        ('value: "0.50"}', 'value: "-0.50"}', "应为0 至 1 之间的数"),
        ('value: "0.50"}', 'value: "NaN"}', "应为0 至 1 之间的数"),
        ('二级: "500000.00"', '二级: "Infinity"', "的“二级”为“Infinity”，应为不小于 0 的数"),
        ('二级: "500000.00"', '二级: "50万"', "的“二级”为“50万”，应为不小于 0 的数"),
        ("value: 2025-12-31}", "value: 2025年12月31日}", "应为日期"),
        ("value: 2025-12-31}", "value: 2025-02-30}", "第 58 行"),
        ("- {from: 2024-10-18, value: null}", "- {from: 2024-10-18, value: 2024-01-01}", "没有日期能在其间"),
        ("    values:\n      - {from: 2024-10-18, value: 2025-12-31}", "    values: []", "没有取值"),
        ("- {from: 2024-10-18, value: 2025-12-31}", '- {from: "2024-10-18", value: 2025-12-31}', "不加引号"),
    ],
    ids=[
        "rate 1.5",
        "rate 50%",
        "rate -0.5",
        "rate NaN",
        "cap Infinity",
        "cap 50万",
        "date in words",
        "no such date",
        "window reversed",
        "no values",
        "quoted from",
    ],
)
def test_a_policy_value_its_unit_does_not_allow_is_a_problem_at_its_line(
    tmp_path: Path, old, new, said
) -> None:
    """A rate of 150% or '50%', a cap typed as 50万, a date that does not exist or is text, a window
    whose start is after its end: each would have paid wrong amounts (or raised a traceback) before."""
    path = _edited(tmp_path, old, new)
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2, result.output
    assert said in result.output.replace("\n", "") and "Traceback" not in result.output
    checked = runner.invoke(app, ["check", str(EXAMPLE), "--policy", str(path)])
    assert checked.exit_code == 2 and "错误：" in checked.output and "Traceback" not in checked.output


def test_a_key_written_twice_is_a_problem_not_the_last_value(tmp_path: Path) -> None:
    text = POLICY_FILE.read_text("utf-8")
    start = text.index("  subsidy_rate:\n")
    end = text.index("\n\n", start)
    path = tmp_path / "twice.yaml"
    path.write_text(text[:end] + "\n" + text[start:end].replace('"0.5"', '"0.3"') + text[end:], "utf-8")
    result = runner.invoke(app, ["policy", "check", str(path)])
    assert result.exit_code == 2 and "键 subsidy_rate 重复出现" in result.output
    with pytest.raises(PolicyError, match="重复出现"):
        load_policy(path)


@pytest.mark.parametrize("command", [["template", "plan"], ["template", "awards"], ["consolidate", "."]])
def test_a_policy_without_a_plan_or_awards_says_what_it_cannot_make(tmp_path: Path, command) -> None:
    extra = ["--plan", str(tmp_path / "计划.xlsx")] if command[0] == "consolidate" else []
    result = runner.invoke(app, [*command, "--policy", str(HEFEI), "-o", str(tmp_path / "x.xlsx"), *extra])
    assert result.exit_code == 2, result.output
    said = result.output.replace("\n", "")
    assert ("没有资金使用计划" in said or "没有奖励与补贴名单" in said) and "Traceback" not in said
    assert not (tmp_path / "x.xlsx").exists()


def test_every_funding_line_counts_against_one_plan_line(tmp_path: Path) -> None:
    """A plan line counting a misspelt line, and a line no plan line counts: its money would be paid
    past every budget unseen (BUDGET_EXCEEDED never sees it)."""
    path = _edited(tmp_path, "awards: [progress_bonus]", "awards: [progress_bonuz]")
    result = runner.invoke(app, ["policy", "check", str(path)])
    said = result.output.replace("\n", "")
    assert result.exit_code == 2
    assert "计入的项目 progress_bonuz 不存在" in said
    assert "项目 progress_bonus 没有计入任何计划行" in said
    with pytest.raises(PolicyError):
        load_policy(path)
    twice = _edited(tmp_path, "awards: [honor_award]", "awards: [honor_award, progress_bonus]")
    assert "会被重复计算" in runner.invoke(app, ["policy", "check", str(twice)]).output.replace("\n", "")


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"", "应为键值对（YAML 映射）"),
        (b"\xff\xfe bad", "UTF-8 编码的文本"),
        (None, "文件不存在"),
    ],
    ids=["empty", "not utf-8", "missing"],
)
def test_a_policy_file_that_cannot_be_read_is_one_chinese_sentence(tmp_path: Path, content, said) -> None:
    """No Python internals ('NoneType' object is not subscriptable, codec names, [Errno 2])."""
    path = tmp_path / "政策.yaml"
    if content is not None:
        path.write_bytes(content)
    result = runner.invoke(app, ["check", str(EXAMPLE), "--policy", str(path)])
    text = result.output.replace("\n", "")
    assert result.exit_code == 2 and said in text
    assert not any(word in text for word in ("NoneType", "codec", "Errno", "Traceback"))


def test_a_mapping_merged_in_by_an_anchor_is_no_key_written_twice(tmp_path: Path) -> None:
    """YAML's own way to share a table (<<: *anchor, then a key overridden) is not a duplicate key."""
    text = POLICY_FILE.read_text("utf-8").replace(
        'value: {二级: "500000.00", 三级: "800000.00", 四级: "1500000.00"}',
        'value: &caps {二级: "500000.00", 三级: "800000.00", 四级: "1500000.00"}',
        1,
    )
    text = text.replace(
        "  subsidy_split:\n",
        "  caps_again:\n    label: 上限（同上）\n    unit: 元\n    clause: 第十条（一）1\n"
        '    values:\n      - from: 2024-10-18\n        value: {<<: *caps, 四级: "1500000.00"}\n\n  subsidy_split:\n',
        1,
    )
    path = tmp_path / "merged.yaml"
    path.write_text(text, "utf-8")
    assert load_policy(path).value("caps_again")["二级"] == Decimal("500000.00")
