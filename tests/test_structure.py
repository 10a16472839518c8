"""The template's structure is checked before any value is read: a column deleted, inserted, moved,
swapped or renamed, or a defined name that does not cover its own column over the table's rows, is one
issue naming the column, and the file cannot be checked (exit 2); an untouched template checks clean."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.identity import Identified
from addin.check.pipeline import check_file
from addin.check.structure import explain, layouts
from addin.check.table import header_key
from addin.cli import app
from addin.excel.ribbon import run_ribbon
from addin.io.workbook_reader import NamedRange, Workbook, defined_names
from addin.reports.annotate import OpenpyxlMarkup
from addin.templates.bundled import (
    APPLICATION_TEMPLATE,
    AWARDS_TEMPLATE,
    EXAMPLE_AWARDS,
    EXAMPLE_PLAN,
    EXAMPLES,
    PLAN_TEMPLATE,
    REPOSITORY,
    filled_application,
)
from schemas.fields import application_fields
from tests.conftest import valid_code, valid_row

STRUCTURE_RULES = {"TEMPLATE_COLUMN_CHANGED", "TEMPLATE_NAME_MISPLACED", "TEMPLATE_NAME_MISSING"}
LETTERS = spec.column_letters()
HEADERS = {f.id: f.header for f in application_fields()}
LAST_COLUMN = len(application_fields())


def run(*args: Any):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


def _filled(policy) -> openpyxl.Workbook:
    """A clean application of two enterprises, on a template of 20 rows."""
    rows = [valid_row(), valid_row(name="阿拉尔市塔河纺织有限公司", uscc=valid_code("MA77T3B5W"))]
    return filled_application(policy, "第八师石河子市", rows, template_rows=20)


def _swap_columns(sheet: Any, first: str, second: str, from_row: int) -> None:
    """Exchange two columns' contents, header included, from `from_row` down."""
    for row in range(from_row, sheet.max_row + 1):
        a, b = sheet[f"{first}{row}"], sheet[f"{second}{row}"]
        a.value, b.value = b.value, a.value


def _rename_name(workbook: openpyxl.Workbook, name: str, ref: str) -> None:
    workbook.defined_names[name] = DefinedName(name, attr_text=ref)


def _data(workbook: openpyxl.Workbook) -> Any:
    return workbook[spec.DATA_SHEET]


# (what the clerk did, the edit, the rule, the column named (field id), what the message says)
DAMAGES: list[tuple[str, Callable[[openpyxl.Workbook], None], str, str, str]] = [
    (
        "column deleted",
        lambda wb: _data(wb).delete_cols(3),  # openpyxl leaves the defined names where they were
        "TEMPLATE_COLUMN_CHANGED",
        "division",
        "C4 应为“所属师市”，却是“所属试点行业”：“所属师市”列不见了（可能被删除）",
    ),
    (
        "two columns swapped",
        lambda wb: _swap_columns(_data(wb), LETTERS["uscc"], LETTERS["size_class"], spec.HEADER_ROW),
        "TEMPLATE_COLUMN_CHANGED",
        "uscc",
        "B4 应为“统一社会信用代码”，却是“企业规模”；E4 应为“企业规模”，却是“统一社会信用代码”：B 列与 E 列对调了",
    ),
    (
        "header renamed",
        lambda wb: _data(wb).__setitem__(f"{LETTERS['contract_total']}{spec.HEADER_ROW}", "合同金额"),
        "TEMPLATE_COLUMN_CHANGED",
        "contract_total",
        f"{LETTERS['contract_total']}4 应为“合同总额（元）”，却是“合同金额”（您是否指“合同总额（元）”？）",
    ),
    (
        "column inserted",
        lambda wb: (_data(wb).insert_cols(4), _data(wb).__setitem__("D4", "备注")),
        "TEMPLATE_COLUMN_CHANGED",
        "industry",
        "D4 应为“所属试点行业”，却是“备注”：D 列多了一列（可能插入了列）",
    ),
    (
        "defined name shifted by a row",
        lambda wb: _rename_name(wb, "uscc", f"'{spec.DATA_SHEET}'!$B$6:$B$25"),
        "TEMPLATE_NAME_MISPLACED",
        "uscc",
        "定义名称“uscc”（“统一社会信用代码”列的数据区域）指向 申报表!B6:B25，应为 申报表!B5:B24：它与其他各列的数据区域错开了 1 行",
    ),
]


@pytest.fixture
def damaged(tmp_path: Path, policy, request) -> tuple[Path, str, str, str]:
    _, edit, rule, field, words = request.param
    workbook = _filled(policy)
    edit(workbook)
    path = tmp_path / "damaged.xlsx"
    workbook.save(path)
    return path, rule, field, words


@pytest.mark.parametrize(
    "damaged",
    [pytest.param(d, marks=pytest.mark.triggers(d[2]), id=d[0]) for d in DAMAGES],
    indirect=True,
)
def test_a_damaged_table_is_one_issue_naming_the_column_and_exit_2(damaged, tmp_path: Path) -> None:
    path, rule, field, words = damaged
    out = tmp_path / "r.json"
    result = run("check", path, "--json", out)
    assert result.exit_code == 2, result.output
    document = json.loads(out.read_text("utf-8"))
    assert document["valid"] is False
    [issue] = document["issues"]
    assert (issue["rule"], issue["severity"], issue["field"], issue["sheet"]) == (
        rule,
        "error",
        field,
        "申报表",
    )
    assert words in issue["message"], issue["message"]
    assert HEADERS[field] in issue["message"]
    assert "dtfund template application" in issue["fix"] and "按列复制" in issue["fix"]
    assert issue["clause"] == ""  # an error about the file cites no clause


def test_through_python_m_addin_check(tmp_path: Path, policy) -> None:
    workbook = _filled(policy)
    _data(workbook).delete_cols(3)
    path = tmp_path / "deleted.xlsx"
    workbook.save(path)
    process = subprocess.run(
        [sys.executable, "-m", "addin", "check", str(path)],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert process.returncode == 2, process.stdout + process.stderr
    said = "".join(process.stderr.split())  # (rich wraps long lines)
    assert said.count("无法校验") == 1 and "Traceback" not in said
    assert "工作表“申报表”的表头与模板不符：C4应为“所属师市”，却是“所属试点行业”：“所属师市”列不见了" in said
    assert "请用dtfundtemplateapplication生成新模板，把数据按列复制" in said


def test_the_untouched_filled_template_checks_clean(tmp_path: Path, policy) -> None:
    path = tmp_path / "clean.xlsx"
    _filled(policy).save(path)
    out = tmp_path / "r.json"
    assert run("check", path, "--json", out).exit_code == 0
    assert json.loads(out.read_text("utf-8"))["issues"] == []


@pytest.mark.parametrize(
    "relative",
    [APPLICATION_TEMPLATE, AWARDS_TEMPLATE, PLAN_TEMPLATE, EXAMPLE_AWARDS, EXAMPLE_PLAN, *EXAMPLES.values()],
)
def test_every_bundled_template_and_example_has_the_templates_structure(relative: str, policy) -> None:
    result = check_file(REPOSITORY / relative, policy)
    assert result.kind is not None
    assert not {issue.rule for issue in result.issues} & STRUCTURE_RULES


def test_no_value_is_read_when_the_structure_is_damaged(tmp_path: Path, policy, monkeypatch) -> None:
    workbook = _filled(policy)
    _data(workbook).delete_cols(3)
    path = tmp_path / "deleted.xlsx"
    workbook.save(path)

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a value was read")

    monkeypatch.setattr(Identified, "read_table_in_blocks", refuse)
    monkeypatch.setattr(Workbook, "column", refuse)
    result = check_file(path, policy)
    assert result.kind is None and [i.rule for i in result.issues] == ["TEMPLATE_COLUMN_CHANGED"]


@pytest.mark.triggers("TEMPLATE_COLUMN_CHANGED")
def test_an_awards_sheet_with_two_columns_swapped(tmp_path: Path, policy) -> None:
    workbook = openpyxl.load_workbook(REPOSITORY / EXAMPLE_AWARDS)
    kind = next(layout for layout in layouts(spec.AWARDS_TEMPLATE_ID, policy) if layout.sheet == "链主企业")
    first, third = kind.columns[0], kind.columns[2]
    _swap_columns(workbook[kind.sheet], first.letter, third.letter, spec.AWARDS_HEADER_ROW)
    path = tmp_path / "awards.xlsx"
    workbook.save(path)
    out = tmp_path / "r.json"
    assert run("check", path, "--json", out).exit_code == 2
    [issue] = json.loads(out.read_text("utf-8"))["issues"]
    assert (issue["rule"], issue["sheet"], issue["cell"]) == ("TEMPLATE_COLUMN_CHANGED", "链主企业", "A4")
    assert (
        f"A4 应为“{first.header}”，却是“{third.header}”；C4 应为“{third.header}”，却是“{first.header}”：A 列与 C 列对调了"
        in issue["message"]
    )
    assert "dtfund template awards" in issue["fix"]


def test_a_plan_header_renamed(tmp_path: Path, policy) -> None:
    workbook = openpyxl.load_workbook(REPOSITORY / EXAMPLE_PLAN)
    workbook[spec.PLAN_SHEET]["D3"] = "中央资金"
    path = tmp_path / "plan.xlsx"
    workbook.save(path)
    result = check_file(path, policy)
    assert result.kind is None
    [issue] = result.issues
    assert (issue.rule, issue.cell) == ("TEMPLATE_COLUMN_CHANGED", "D3")
    assert "D3 应为“中央资金（万元）”，却是“中央资金”" in issue.message


def test_a_plan_total_name_off_its_row(tmp_path: Path, policy) -> None:
    workbook = openpyxl.load_workbook(REPOSITORY / EXAMPLE_PLAN)
    total = defined_names(REPOSITORY / EXAMPLE_PLAN)[spec.PLAN_TOTAL_NAME]
    _rename_name(
        workbook,
        spec.PLAN_TOTAL_NAME,
        f"'{spec.PLAN_SHEET}'!$C${total.first_row - 1}:$F${total.first_row - 1}",
    )
    path = tmp_path / "plan.xlsx"
    workbook.save(path)
    [issue] = check_file(path, policy).issues
    assert issue.rule == "TEMPLATE_NAME_MISPLACED" and f"合计行（第 {total.first_row} 行）" in issue.message


@pytest.mark.triggers("TEMPLATE_NAME_MISPLACED")
@pytest.mark.parametrize(
    ("ref", "words"),
    [
        (f"'{spec.DATA_SHEET}'!$C$5:$C$24", "它指向 C 列，而表头“统一社会信用代码”在 B 列"),
        ("'参数'!$B$5:$B$24", "它指向工作表“参数”"),
        (f"'{spec.DATA_SHEET}'!$B$5:$C$24", "它跨了 B 到 C 列"),
        (
            f"'{spec.DATA_SHEET}'!$B$5:$B$23",
            "它覆盖第 5 到第 23 行，而表格其他各列的数据区域是第 5 到第 24 行",
        ),
    ],
    ids=["another column", "another sheet", "two columns", "a row short"],
)
def test_a_name_off_its_column_or_rows(tmp_path: Path, policy, ref: str, words: str) -> None:
    workbook = _filled(policy)
    _rename_name(workbook, "uscc", ref)
    path = tmp_path / "name.xlsx"
    workbook.save(path)
    result = check_file(path, policy)
    assert result.kind is None
    [issue] = result.issues
    assert (issue.rule, issue.field, issue.cell) == ("TEMPLATE_NAME_MISPLACED", "uscc", "B5")
    assert words in issue.message


def test_a_column_deleted_in_excel_is_one_issue_not_a_missing_name(tmp_path: Path, policy) -> None:
    """Excel moves the names left with the columns and turns the deleted column's into #REF!."""
    workbook = _filled(policy)
    _data(workbook).delete_cols(3)
    fields = [f.id for f in application_fields()]
    for n, field in enumerate(fields[3:], start=3):
        letter = spec.column_letter(n)
        _rename_name(workbook, field, f"'{spec.DATA_SHEET}'!${letter}$5:${letter}$24")
    _rename_name(workbook, "division", f"'{spec.DATA_SHEET}'!#REF!")
    path = tmp_path / "excel-deleted.xlsx"
    workbook.save(path)
    [issue] = check_file(path, policy).issues
    assert issue.rule == "TEMPLATE_COLUMN_CHANGED" and "“所属师市”列不见了" in issue.message


def test_a_column_moved_is_one_issue(tmp_path: Path, policy) -> None:
    workbook = _filled(policy)
    sheet = _data(workbook)
    moved = [sheet.cell(row, 2).value for row in range(1, 30)]
    sheet.delete_cols(2)
    sheet.insert_cols(5)
    for row, value in enumerate(moved, start=1):
        if row >= spec.HEADER_ROW:
            sheet.cell(row, 5).value = value
    path = tmp_path / "moved.xlsx"
    workbook.save(path)
    [issue] = check_file(path, policy).issues
    assert issue.rule == "TEMPLATE_COLUMN_CHANGED"
    assert "“统一社会信用代码”列从 B 列移到了 E 列" in issue.message


def test_a_row_inserted_above_the_header_is_one_issue(tmp_path: Path, policy) -> None:
    workbook = _filled(policy)
    _data(workbook).insert_rows(3)
    path = tmp_path / "row.xlsx"
    workbook.save(path)
    [issue] = check_file(path, policy).issues
    assert issue.rule == "TEMPLATE_COLUMN_CHANGED"
    assert (
        f"共 {LAST_COLUMN} 列的表头与模板不符（A、B、C、D、E、F、G、H 等列）" in issue.message
        and "是否插入或删除了行" in issue.message
    )


def test_a_header_without_its_unit_or_with_line_breaks_is_still_the_column(tmp_path: Path, policy) -> None:
    workbook = _filled(policy)
    _data(workbook)[f"{LETTERS['contract_total']}4"] = "合同总额"
    _data(workbook)[f"{LETTERS['name']}4"] = "企业\n名称"
    path = tmp_path / "labels.xlsx"
    workbook.save(path)
    assert check_file(path, policy).issues == []


def test_a_missing_sheet_cannot_be_checked(tmp_path: Path, policy) -> None:
    workbook = openpyxl.load_workbook(REPOSITORY / EXAMPLE_AWARDS)
    workbook["链主企业"].title = "链主企业名单"
    path = tmp_path / "awards.xlsx"
    workbook.save(path)
    result = run("check", path)
    assert result.exit_code == 2
    assert "缺少工作表“链主企业”（您是否指“链主企业名单”？）" in result.output


def test_the_ribbon_runs_the_same_check_through_the_open_books_reader(tmp_path: Path, policy) -> None:
    workbook = _filled(policy)
    _swap_columns(_data(workbook), "B", "E", spec.HEADER_ROW)
    path = tmp_path / "open.xlsx"
    workbook.save(path)
    messages: list[str] = []
    result = run_ribbon(
        path.name,
        defined_names(path),
        Workbook(path),
        OpenpyxlMarkup(openpyxl.load_workbook(path)),
        messages.append,
    )
    assert result is None
    [message] = messages
    assert message.startswith("无法校验：") and "B 列与 E 列对调了" in message and "按列复制" in message


# --- the explanation of a header row -----------------------------------------------------------------

TEMPLATE = list("abcdef")


def _explained(found: str) -> list[tuple[str, tuple[int, ...]]]:
    """The findings for a header row of one-letter headers (the template's are a to f)."""
    keys = list(found) + [""] * (len(TEMPLATE) + 1 - len(found))
    return [(f.kind, f.at) for f in explain([frozenset({k}) for k in TEMPLATE], keys)]


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ("abcdef", []),
        ("abdef", [("deleted", (2,))]),
        ("abcde", [("renamed", (5,))]),  # the last column: its header is blank
        ("abXcdef", [("inserted", (2,))]),
        ("aecdbf", [("swapped", (1, 4))]),
        ("acbdef", [("swapped", (1, 2))]),
        ("acdbef", [("moved", (1, 3))]),
        ("adbcef", [("moved", (3, 1))]),
        ("abXdef", [("renamed", (2,))]),
        ("abddef", [("renamed", (2,))]),  # another column's header, not a shift
        ("XbcdeY", [("renamed", (0,)), ("renamed", (5,))]),
        ("bacdfe", [("swapped", (0, 1)), ("swapped", (4, 5))]),
        ("XYZWVU", [("renamed", (n,)) for n in range(6)]),
    ],
)
def test_explain(found: str, expected: list[tuple[str, tuple[int, ...]]]) -> None:
    assert _explained(found) == expected


def test_workbook_row_reads_one_row_padded() -> None:
    path = REPOSITORY / APPLICATION_TEMPLATE
    book = Workbook(path)
    last = spec.column_letter(LAST_COLUMN + 2)
    cells = book.row(NamedRange(spec.DATA_SHEET, "A", spec.HEADER_ROW, last, spec.HEADER_ROW))
    assert [header_key(cell) for cell in cells[:LAST_COLUMN]] == [header_key(h) for h in HEADERS.values()]
    assert any("\n" in cell for cell in cells[:LAST_COLUMN]), "a wrapping header's unit on its own line"
    assert cells[LAST_COLUMN:] == [None, None]
    assert book.row(NamedRange(spec.DATA_SHEET, "B", 2, "D", 2)) == [None, "版本号：", 1]
    assert book.row(NamedRange(spec.DATA_SHEET, "C", 4000, "D", 4000)) == [None, None]


def test_two_damaged_sheets_are_two_issues_each_printed_with_its_fix(tmp_path: Path, policy) -> None:
    workbook = openpyxl.load_workbook(REPOSITORY / EXAMPLE_AWARDS)
    workbook["链主企业"]["B4"] = "信用代码"
    workbook["典型案例"]["A4"] = None
    path = tmp_path / "awards.xlsx"
    workbook.save(path)
    out = tmp_path / "r.json"
    result = run("check", path, "--json", out)
    assert result.exit_code == 2
    issues = json.loads(out.read_text("utf-8"))["issues"]
    assert [(i["rule"], i["sheet"], i["cell"]) for i in issues] == [
        ("TEMPLATE_COLUMN_CHANGED", "典型案例", "A4"),
        ("TEMPLATE_COLUMN_CHANGED", "链主企业", "B4"),
    ]
    said = "".join(result.output.split())
    assert said.count("无法校验") == 2 and said.count("dtfundtemplateawards") == 2


def test_many_misplaced_names_are_one_issue(tmp_path: Path, policy) -> None:
    workbook = _filled(policy)
    for field in ("name", "uscc", "division", "industry", "size_class"):
        letter = LETTERS[field]
        _rename_name(workbook, field, f"'{spec.DATA_SHEET}'!${letter}$6:${letter}$25")
    path = tmp_path / "names.xlsx"
    workbook.save(path)
    [issue] = check_file(path, policy).issues
    assert issue.rule == "TEMPLATE_NAME_MISPLACED" and issue.field == "name"
    assert "另有 4 个定义名称（uscc、division、industry、size_class）也与表头不一致" in issue.message


def test_a_header_that_is_another_columns_names_that_column(tmp_path: Path, policy) -> None:
    workbook = _filled(policy)
    software = LETTERS["software"]
    _data(workbook)[f"{LETTERS['contract_total']}4"] = HEADERS["software"]
    path = tmp_path / "copied.xlsx"
    workbook.save(path)
    [issue] = check_file(path, policy).issues
    assert (issue.rule, issue.field) == ("TEMPLATE_COLUMN_CHANGED", "contract_total")
    assert (
        f"（“软件费（元）”是 {software} 列的表头，是否把该列复制到了 {LETTERS['contract_total']} 列？）"
        in issue.message
    )
