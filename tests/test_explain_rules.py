"""`dtfund explain`, `dtfund rules`, the rule catalogue page, and messages a clerk can act on."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from addin.cli import app
from addin.excel.udfs import DTFUND_VALIDATE
from addin.reports.catalogue import CATALOGUE_PAGE, NO_CLAUSE, catalogue_markdown, rule_catalogue
from addin.templates.bundled import EXAMPLE_AWARDS, EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from schemas.fields import application_fields
from schemas.registry import load_registry

runner = CliRunner()
EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "220"})


def test_explain_shows_every_step_with_figures_and_clauses() -> None:
    result = run("explain", EXAMPLE, "--row", 8)
    assert result.exit_code == 0, result.output
    out = result.output
    for step, figure, clause in (
        ("总体服务费", "210,000.00", "附件（一）"),
        ("服务费上限", "160,000.00", "附件（一）"),
        ("不计入补贴基数的部分", "50,000.00", "附件（一）"),
        ("可补贴改造费用", "750,000.00", "第十条（一）1"),
        ("按比例补贴", "375,000.00", "第十条（一）1"),
        ("改造补贴中：中央专项资金", "262,500.00", "第十条（一）1"),
        ("进度补贴", "100,000.00", "第十条（一）2"),
        ("补贴奖励合计", "475,000.00", "第十条（一）"),
    ):
        line = next(line for line in out.splitlines() if step in line)
        assert figure in line and clause in line, line
    assert "FEE_SERVICE_OVER_20" in out


def test_explain_an_ineligible_row_says_why() -> None:
    out = run("explain", EXAMPLE, "--row", 14).output
    assert "条件不符合" in out and "2024-09-30" in out and "第十一条（一）2" in out
    assert "不符合条件，补贴为 0" in out


def test_explain_a_row_without_data() -> None:
    result = run("explain", EXAMPLE, "--row", 12)
    assert result.exit_code == 2 and "第 12 行没有企业数据" in result.output
    # eleven rows with data (5–11, 13–16): the first ten listed, and the one left out counted
    assert "有数据的行（共 11 行）：5、6、7、8、9、10、11、13、14、15……（另有 1 行未列出）" in result.output


def test_the_rows_with_data_are_counted_when_not_all_are_listed() -> None:
    from addin.cli import LISTED_ROWS, _filled_rows

    assert _filled_rows([]) == "表中没有填写企业数据的行。"
    assert _filled_rows([5, 7]) == "有数据的行（共 2 行）：5、7。"
    many = list(range(5, 5 + LISTED_ROWS + 95))
    assert _filled_rows(many).endswith(f"、{4 + LISTED_ROWS}……（另有 95 行未列出）。")


def test_explain_refuses_a_workbook_that_is_no_application() -> None:
    """Awards and the plan are read, but explain shows an application's steps: it says so, naming what
    the file is, rather than quoting the file's first issue."""
    for example, kind in ((EXAMPLE_AWARDS, "奖励与补贴名单"), (EXAMPLE_PLAN, "资金使用计划表")):
        result = run("explain", REPOSITORY / example, "--row", 5)
        assert result.exit_code == 2, result.output
        assert f"{Path(example).name} 是{kind}，不是申报表" in result.output
        assert "dtfund explain 只说明申报表" in result.output
        assert "无法说明" not in result.output


def test_rules_command_lists_every_rule() -> None:
    result = run("rules")
    assert result.exit_code == 0
    for rule_id, spec in load_registry().items():
        assert rule_id in result.output
        assert spec.title in result.output


# What the catalogue showed before each rule had an example: words standing for figures.
PLACEHOLDER_WORDS = (
    "具体原因",
    "要求值",
    "填写值",
    "某字段",
    "差额",
    "超出额",
    "规定比例",
    "该名单",
    "（空）",
)


def test_the_catalogue_shows_real_messages_and_no_clause_for_file_errors(policy) -> None:
    """Each rule's message and fix as a clerk would read them (its example's figures), every
    placeholder filled; a rule about the file cites no clause, every other one its clause."""
    output = run("rules").output
    entries = {entry.id: entry for entry in rule_catalogue(policy)}
    for rule_id, spec in load_registry().items():
        entry = entries[rule_id]
        shown = entry.message + entry.fix
        assert "{" not in shown and not [w for w in PLACEHOLDER_WORDS if w in shown], (rule_id, shown)
        assert not [w for w in PLACEHOLDER_WORDS if w in output]
        if spec.about_the_file:
            assert spec.clause == "" and entry.clause == NO_CLAUSE, rule_id
        else:
            assert spec.clause and entry.clause != NO_CLAUSE, rule_id
    assert entries["FILE_UNREADABLE"].clause == NO_CLAUSE
    assert entries["TEMPLATE_COLUMN_CHANGED"].clause == NO_CLAUSE
    assert entries["CLAIM_OVER_CAP"].message.startswith("申请补贴 500,000.01 元")


def test_the_errors_about_files_are_classified_as_such() -> None:
    file_rules = [spec for spec in load_registry().values() if spec.about_the_file]
    assert {"FILE_UNREADABLE", "FILE_SKIPPED", "TEMPLATE_COLUMN_CHANGED", "TOTAL_ROW_PRESENT"} <= {
        spec.id for spec in file_rules
    }


def test_the_catalogue_page_is_generated_from_the_registry(policy) -> None:
    committed = (REPOSITORY / CATALOGUE_PAGE).read_text("utf-8")
    assert committed == catalogue_markdown(policy), "run: dtfund rules --markdown docs/rules.md"
    assert all(rule_id in committed for rule_id in load_registry())


def test_every_message_says_what_was_found_and_how_to_fix_it() -> None:
    for rule_id, spec in load_registry().items():
        assert spec.fix.strip(), rule_id
        if rule_id != "TABLE_EMPTY":
            assert re.search(r"\{(value|field|reason)\}", spec.message), (
                f"{rule_id} does not say what was found"
            )


def test_misspelled_header_gets_a_suggestion() -> None:
    headers = [f.header for f in application_fields()]
    headers[0] = "企业明称"
    message = DTFUND_VALIDATE([headers, [None] * len(headers)])
    assert "“企业名称”（您是否指“企业明称”？）" in message


def test_misspelled_sheet_gets_a_suggestion(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    workbook.active.title = "申报"
    path = tmp_path / "copy.xlsx"
    workbook.save(path)
    result = run("check", path)
    assert result.exit_code == 2
    assert "您是否想用模板的“申报表”" in result.output
