"""The 版本号 and 报送日期 of a submission, the latest revision of each unit in a consolidation, and a
folder that hides nothing (issue 17 items 1, 2 and 4)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.cli import app
from addin.io.output import save_workbook
from addin.templates.bundled import EXAMPLE_EARLIER, EXAMPLE_PLAN, EXAMPLES, REPOSITORY, filled_application
from schemas.submission import Submission, latest_revisions, revision_of, submitted_on_issues
from tests.conftest import valid_code, valid_row
from tests.support.libreoffice import recalculate

runner = CliRunner()
PLAN = REPOSITORY / EXAMPLE_PLAN
SHIHEZI = REPOSITORY / EXAMPLES["第八师石河子市"]
EARLIER = REPOSITORY / EXAMPLE_EARLIER
UNIT = "第八师石河子市"


def run(*args) -> object:
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


def _application(path: Path, policy, revision: object, submitted_on: object = None, rows=None) -> Path:
    """A filled 第八师 application whose 版本号 and 报送日期 cells hold what a clerk typed."""
    workbook = filled_application(policy, UNIT, rows or [valid_row()], template_rows=20)
    sheet = workbook[spec.DATA_SHEET]
    sheet[spec.REVISION_CELL] = revision
    sheet[spec.SUBMITTED_ON_CELL] = submitted_on
    save_workbook(workbook, path, dynamic_arrays=spec.live_check_anchors())
    return path


# --- the cells (item 1) ----------------------------------------------------------------------------


def test_new_templates_hold_revision_1_and_a_blank_submitted_on(policy) -> None:
    for template in (
        "workbook_templates/application_template.xlsx",
        "workbook_templates/awards_template.xlsx",
    ):
        workbook = openpyxl.load_workbook(REPOSITORY / template)
        for name, cell in (
            (spec.NAME_REVISION, "$D$2"),
            (spec.NAME_SUBMITTED_ON, "$F$2"),
            (spec.NAME_UNIT, "$B$2"),
        ):
            sheet, ref = next(workbook.defined_names[name].destinations)
            assert ref == cell, (template, name)
        first = workbook[sheet]
        assert (first["C2"].value, first["D2"].value, first["E2"].value) == ("版本号：", 1, "报送日期：")
        guide = "".join(
            str(c.value) for row in workbook[spec.GUIDE_SHEET].iter_rows() for c in row if c.value
        )
        assert "版本号" in guide and "报送日期" in guide


def test_whole_revisions_are_read_as_numbers() -> None:
    assert revision_of(2.0, True, spec.DATA_SHEET, "D2") == (2, [])
    assert revision_of(3, True, spec.DATA_SHEET, "D2") == (3, [])
    # a formula's float noise, shown as 2 by Excel (=0.1*20 gives 2.0000000000000004 in some sums)
    assert revision_of(2.0000000000000004, True, spec.DATA_SHEET, "D2") == (2, [])
    _, [issue] = revision_of(10000.0, True, spec.DATA_SHEET, "D2")
    assert "“10000”" in issue.message, "quoted as Excel shows it, not 10000.0"


@pytest.mark.triggers("REVISION_STORED_AS_TEXT")
@pytest.mark.parametrize(("value", "read"), [("3", 3), ("２", 2), (" １２ ", 12)])
def test_a_revision_written_as_text_is_read_with_a_warning(value, read) -> None:
    """As a money cell's text is: read (full-width digits too) and reported, never passed silently."""
    revision, issues = revision_of(value, True, spec.DATA_SHEET, "D2")
    assert revision == read
    assert [(i.rule, i.severity, i.sheet, i.cell) for i in issues] == [
        ("REVISION_STORED_AS_TEXT", "warning", spec.DATA_SHEET, "D2")
    ]
    assert f"“{value}”是文本" in issues[0].message and f"识别为 {read}" in issues[0].message


@pytest.mark.triggers("REVISION_STORED_AS_TEXT")
def test_a_full_width_revision_in_a_workbook_is_reported_at_d2(tmp_path, policy) -> None:
    result = check_file(_application(tmp_path / "a.xlsx", policy, "２"), policy)
    assert result.revision == 2
    issues = [i for i in result.issues if i.rule == "REVISION_STORED_AS_TEXT"]
    assert [(i.sheet, i.cell) for i in issues] == [(spec.DATA_SHEET, "D2")]


@pytest.mark.triggers("REVISION_INVALID")
@pytest.mark.parametrize("value", [None, "二", 1.5, 0, -1, True, "２.５", "1e0", "１００００"])
def test_a_blank_or_non_whole_revision_is_an_error_at_its_cell(value) -> None:
    revision, issues = revision_of(value, True, spec.DATA_SHEET, "D2")
    assert [(i.rule, i.severity, i.sheet, i.cell) for i in issues] == [
        ("REVISION_INVALID", "error", spec.DATA_SHEET, "D2")
    ]
    assert "版本号" in issues[0].message and "整数" in issues[0].message


@pytest.mark.triggers("REVISION_INVALID")
def test_a_text_revision_in_a_workbook_is_an_error_at_d2(tmp_path, policy) -> None:
    result = check_file(_application(tmp_path / "a.xlsx", policy, "第二版"), policy)
    issues = [i for i in result.issues if i.rule == "REVISION_INVALID"]
    assert [(i.sheet, i.cell) for i in issues] == [(spec.DATA_SHEET, "D2")]
    assert "第二版" in issues[0].message


@pytest.mark.triggers("SUBMITTED_ON_INVALID")
def test_a_submitted_on_that_is_not_a_date_is_an_error(tmp_path, policy) -> None:
    assert submitted_on_issues(None, True, spec.DATA_SHEET, "F2") == []
    assert submitted_on_issues(dt.datetime(2026, 3, 1), True, spec.DATA_SHEET, "F2") == []
    result = check_file(_application(tmp_path / "a.xlsx", policy, 2, "三月十日"), policy)
    issues = [i for i in result.issues if i.rule == "SUBMITTED_ON_INVALID"]
    assert [(i.sheet, i.cell, i.severity) for i in issues] == [(spec.DATA_SHEET, "F2", "error")]
    assert result.revision == 2


@pytest.mark.triggers("REVISION_MISSING")
def test_a_template_made_before_the_revision_is_revision_1_with_a_warning(tmp_path, policy) -> None:
    workbook = openpyxl.load_workbook(SHIHEZI)
    for name in (spec.NAME_REVISION, spec.NAME_SUBMITTED_ON):
        del workbook.defined_names[name]
    old = tmp_path / "old.xlsx"
    workbook.save(old)
    result = check_file(old, policy)
    assert result.kind == "application" and result.revision == 1
    missing = [i for i in result.issues if i.rule == "REVISION_MISSING"]
    assert [i.severity for i in missing] == ["warning"]
    assert not [i for i in result.issues if i.rule in ("REVISION_INVALID", "SUBMITTED_ON_INVALID")]


# --- the decision (item 2) -------------------------------------------------------------------------


@pytest.mark.triggers("FILE_REPLACED")
def test_the_highest_revision_is_kept_and_each_older_one_names_it() -> None:
    decision = latest_revisions(
        [
            Submission("a-v1.xlsx", "application", UNIT, 1),
            Submission("b.xlsx", "application", "第一师阿拉尔市", 1),
            Submission("a-v3.xlsx", "application", UNIT, 3),
            Submission("a-v2.xlsx", "application", UNIT, 2),
            Submission("awards.xlsx", "awards", UNIT, 1),  # another kind: not a resubmission
        ]
    )
    assert decision.kept == ["b.xlsx", "a-v3.xlsx", "awards.xlsx"]
    assert decision.replaced == {"a-v1.xlsx": "a-v3.xlsx", "a-v2.xlsx": "a-v3.xlsx"}
    assert {(i.rule, i.file, i.severity) for i in decision.issues} == {
        ("FILE_REPLACED", "a-v1.xlsx", "warning"),
        ("FILE_REPLACED", "a-v2.xlsx", "warning"),
    }
    assert all("a-v3.xlsx" in i.message for i in decision.issues)


@pytest.mark.triggers("UNIT_SUBMITTED_TWICE")
def test_two_of_the_same_highest_revision_are_an_error_and_neither_is_kept() -> None:
    decision = latest_revisions(
        [
            Submission("x.xlsx", "application", UNIT, 2),
            Submission("y.xlsx", "application", UNIT, 2),
            Submission("old.xlsx", "application", UNIT, 1),
        ]
    )
    assert decision.kept == []
    assert decision.replaced == {"old.xlsx": "x.xlsx、y.xlsx"}  # not one of a tie, as if it were kept
    twice = [i for i in decision.issues if i.rule == "UNIT_SUBMITTED_TWICE"]
    assert [(i.file, i.severity) for i in twice] == [("x.xlsx", "error"), ("y.xlsx", "error")]
    assert "y.xlsx" in twice[0].message and "x.xlsx" in twice[1].message
    assert "无法判断哪一份是最新的" in twice[0].message


def test_two_copies_of_one_workbook_are_named_as_copies() -> None:
    """Byte for byte the same (one SHA-256): not "which is newer?" but "delete the copy"."""
    decision = latest_revisions(
        [
            Submission("x.xlsx", "application", UNIT, 2, "ab" * 32),
            Submission("x - 副本.xlsx", "application", UNIT, 2, "ab" * 32),
        ]
    )
    assert decision.kept == []
    assert all("是同一文件的副本" in i.message and "无法判断" not in i.message for i in decision.issues)
    assert all(i.fix.startswith("删除多余的副本") and "版本号" not in i.fix for i in decision.issues)


def test_workbooks_without_a_unit_are_all_kept() -> None:
    decision = latest_revisions(
        [Submission("x.xlsx", "application", "", 1), Submission("y.xlsx", "application", "", 1)]
    )
    assert decision.kept == ["x.xlsx", "y.xlsx"] and not decision.issues


# --- through the command, on real files (items 2 and 4) ----------------------------------------------


def _summary_issues(path: Path) -> list[tuple]:
    sheet = openpyxl.load_workbook(path)["问题清单"]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.triggers("FILE_SKIPPED")
def test_a_folder_hides_nothing(tmp_path) -> None:
    folder = tmp_path / "报送"
    (folder / "第八师" / "旧").mkdir(parents=True)
    shutil.copyfile(SHIHEZI, folder / "第八师" / "第八师.xlsx")
    shutil.copyfile(EARLIER, folder / "第八师" / "旧" / "第八师-版本1.xlsx")
    (folder / "第一师.xls").write_bytes(b"\xd0\xcf\x11\xe0old excel")
    (folder / "~$第八师.xlsx").write_bytes(b"lock")
    (folder / "说明.txt").write_text("readme", "utf-8")
    (folder / "加密.xlsx").write_bytes(b"not a zip")
    summary, out = tmp_path / "汇总.xlsx", tmp_path / "汇总.json"
    result = run("consolidate", folder, "--plan", PLAN, "-o", summary, "--json", out)
    assert result.exit_code == 2, result.output
    assert summary.exists(), "the summary is written for the rest"
    document = json.loads(out.read_text("utf-8"))
    statuses = {Path(f["file"]).name: f["status"] for f in document["files"]}
    assert statuses == {
        "第八师.xlsx": "consolidated",
        "第八师-版本1.xlsx": "replaced",
        "第一师.xls": "skipped",
        "说明.txt": "skipped",
        "加密.xlsx": "unreadable",
    }
    assert (
        "第八师-版本1.xlsx" in result.output
        and "第一师.xls" in result.output
        and "~$第八师.xlsx" in result.output
    )
    skipped = {i["file"] for i in document["issues"] if i["rule"] == "FILE_SKIPPED"}
    assert skipped == {"第一师.xls", "说明.txt"}
    locks = [i for i in document["issues"] if i["rule"] == "FILE_OPEN_IN_EXCEL"]
    assert [(i["file"], i["severity"]) for i in locks] == [("~$第八师.xlsx", "warning")]
    listed = {(row[0], row[3]) for row in _summary_issues(summary)}
    assert {
        ("第一师.xls", "FILE_SKIPPED"),
        ("~$第八师.xlsx", "FILE_OPEN_IN_EXCEL"),
        ("说明.txt", "FILE_SKIPPED"),
    } <= listed
    assert ("第八师-版本1.xlsx", "FILE_REPLACED") in listed
    assert "Traceback" not in result.output


@pytest.mark.triggers("FILE_OPEN_IN_EXCEL")
@pytest.mark.parametrize("named", [False, True])
def test_a_lock_file_is_a_warning_naming_the_open_workbook(tmp_path, named: bool) -> None:
    """Excel's ~$ lock file beside a workbook: the exit code is what it is without it, the workbook is
    still summed as saved, and the warning names it (issue 27 item 4)."""
    folder = tmp_path / "报送"
    folder.mkdir()
    shutil.copyfile(SHIHEZI, folder / "第八师申报表.xlsx")
    inputs = [folder / "第八师申报表.xlsx"] if named else [folder]

    def consolidated(tag: str) -> tuple[int, dict, str]:
        out = tmp_path / f"{tag}.json"
        result = run("consolidate", *inputs, "--plan", PLAN, "-o", tmp_path / f"{tag}.xlsx", "--json", out)
        return result.exit_code, json.loads(out.read_text("utf-8")), result.output.replace("\n", "")

    code, without, _ = consolidated("without")
    (folder / "~$第八师申报表.xlsx").write_bytes(b"lock")
    if named:
        inputs.append(folder / "~$第八师申报表.xlsx")
    locked_code, document, output = consolidated("with")
    assert locked_code == code
    assert document["summary"] == without["summary"]
    assert "第八师申报表.xlsx 正在 Excel 中打开" in output and "保存并关闭" in output
    locks = [i for i in document["issues"] if i["rule"] == "FILE_OPEN_IN_EXCEL"]
    assert len(locks) == 1 and locks[0]["severity"] == "warning"
    assert {Path(f["file"]).name for f in document["files"]} == {"第八师申报表.xlsx"}


def test_only_an_xls_is_listed_not_hidden(tmp_path) -> None:
    folder = tmp_path / "报送"
    folder.mkdir()
    (folder / "第一师.xls").write_bytes(b"old")
    result = run("consolidate", folder, "--plan", PLAN, "-o", tmp_path / "汇总.xlsx")
    assert result.exit_code == 2, result.output
    assert "第一师.xls" in result.output and ".xlsx" in result.output


@pytest.mark.triggers("UNIT_SUBMITTED_TWICE")
def test_the_same_revision_twice_counts_neither(tmp_path) -> None:
    folder = tmp_path / "报送"
    folder.mkdir()
    shutil.copyfile(SHIHEZI, folder / "第八师-甲.xlsx")
    shutil.copyfile(SHIHEZI, folder / "第八师-乙.xlsx")
    out = tmp_path / "汇总.json"
    result = run("consolidate", folder, "--plan", PLAN, "-o", tmp_path / "汇总.xlsx", "--json", out)
    assert result.exit_code == 1, result.output
    document = json.loads(out.read_text("utf-8"))
    assert {f["status"] for f in document["files"]} == {"submitted_twice"}
    assert "版本号与另一份相同，未汇总" in result.output
    assert "2 个文件与同一单位的另一份版本号相同，未汇总" in result.output.replace("\n", "")
    assert not [e for e in document["summary"] if e["division"] == UNIT and e["enterprises"]]
    twice = [i for i in document["issues"] if i["rule"] == "UNIT_SUBMITTED_TWICE"]
    assert {i["file"] for i in twice} == {"第八师-甲.xlsx", "第八师-乙.xlsx"}
    assert not [i for i in document["issues"] if i["rule"] == "DUPLICATE_ENTERPRISE"]


def _columns_swapped(source: Path, target: Path) -> Path:
    """The workbook with two headers of its table swapped: our template, which cannot be checked."""
    workbook = openpyxl.load_workbook(source)
    sheet = workbook[spec.DATA_SHEET]
    sheet["C4"].value, sheet["D4"].value = sheet["D4"].value, sheet["C4"].value
    workbook.save(target)
    return target


@pytest.mark.triggers("FILE_REPLACED")
def test_a_newest_revision_that_cannot_be_checked_still_replaces_the_older(tmp_path) -> None:
    """The 第八师's revision 2 has its columns moved: it cannot be checked, but it is the unit's newest
    submission, so its revision 1 must not be summed (and paid) in its place. The unit is left out,
    and every report says the consolidation is incomplete in the same words."""
    folder = tmp_path / "报送"
    folder.mkdir()
    shutil.copyfile(EARLIER, folder / "第八师-第1版.xlsx")
    _columns_swapped(SHIHEZI, folder / "第八师-第2版.xlsx")
    out = tmp_path / "汇总.json"
    summary, report = tmp_path / "汇总.xlsx", tmp_path / "汇总.html"
    result = run("consolidate", folder, "--plan", PLAN, "-o", summary, "--json", out, "--html", report)
    assert result.exit_code == 2, result.output
    document = json.loads(out.read_text("utf-8"))
    status = {f["file"]: (f["status"], f["unit"], f["revision"]) for f in document["left_out"]}
    assert status == {
        "第八师-第1版.xlsx": ("replaced", UNIT, 1),
        "第八师-第2版.xlsx": ("unreadable", UNIT, 2),
    }
    assert not document["disbursement"] and not document["complete"]
    said = "有 1 个文件未能汇总（无法读取、模板被改动或不是 .xlsx 工作簿），汇总不完整"
    assert said in result.output.replace("\n", "")
    assert said in report.read_text("utf-8")
    book = openpyxl.load_workbook(summary, read_only=True)
    for sheet in ("汇总", "拨付清单"):
        notes = [row[0] for row in book[sheet].iter_rows(max_row=4, values_only=True)]
        assert any(note and note.startswith(said) for note in notes), sheet


@pytest.mark.triggers("TEMPLATE_VERSION_UNSUPPORTED")
def test_a_newest_revision_in_a_newer_template_still_replaces_the_older(tmp_path) -> None:
    """Revision 2 made with a newer dtfund's template (a version this one cannot check): still the
    unit's newest submission, so revision 1 is not summed in its place."""
    folder = tmp_path / "报送"
    folder.mkdir()
    shutil.copyfile(EARLIER, folder / "第八师-第1版.xlsx")
    workbook = openpyxl.load_workbook(SHIHEZI)
    workbook[spec.META_SHEET]["B2"] = "9.9"
    workbook.save(folder / "第八师-第2版.xlsx")
    out = tmp_path / "汇总.json"
    run("consolidate", folder, "--plan", PLAN, "-o", tmp_path / "汇总.xlsx", "--json", out)
    document = json.loads(out.read_text("utf-8"))
    status = {f["file"]: (f["status"], f["revision"]) for f in document["left_out"]}
    assert status == {"第八师-第1版.xlsx": ("replaced", 1), "第八师-第2版.xlsx": ("unreadable", 2)}
    assert not document["disbursement"]


def test_an_older_revision_that_cannot_be_checked_is_replaced(tmp_path) -> None:
    """An unreadable revision 1 beside a good revision 2: replaced, and the consolidation complete."""
    folder = tmp_path / "报送"
    folder.mkdir()
    _columns_swapped(EARLIER, folder / "第八师-第1版.xlsx")
    shutil.copyfile(SHIHEZI, folder / "第八师-第2版.xlsx")
    out = tmp_path / "汇总.json"
    result = run("consolidate", folder, "--plan", PLAN, "-o", tmp_path / "汇总.xlsx", "--json", out)
    document = json.loads(out.read_text("utf-8"))
    assert document["complete"] and result.exit_code == 1, result.output
    assert [(f["file"], f["status"]) for f in document["left_out"]] == [("第八师-第1版.xlsx", "replaced")]
    assert {row["file"] for row in document["disbursement"]} == {"第八师-第2版.xlsx"}


def test_a_divisions_own_check_outputs_beside_its_workbook_are_left_out(tmp_path) -> None:
    """A division sends its 报送表 PDF (and JSON, HTML, an annotated copy) with its workbook: dtfund's
    own outputs, left out with a warning (the annotated copy was read as a second submission of the
    unit, and neither was summed); the consolidation stays complete."""
    folder = tmp_path / "报送"
    folder.mkdir()
    shutil.copyfile(SHIHEZI, folder / "第八师.xlsx")
    outputs = [
        "--print",
        folder / "报送表.pdf",
        "--json",
        folder / "结果.json",
        "--html",
        folder / "报告.html",
        "--annotate",
        folder / "标注.xlsx",
    ]
    assert run("check", folder / "第八师.xlsx", *outputs, "-q").exit_code == 1
    out = tmp_path / "汇总.json"
    result = run("consolidate", folder, "--plan", PLAN, "-o", tmp_path / "汇总.xlsx", "--json", out)
    document = json.loads(out.read_text("utf-8"))
    assert document["complete"] and result.exit_code == 1, result.output
    left_out = [i["message"] for i in document["issues"] if i["rule"] == "OWN_OUTPUT_LEFT_OUT"]
    assert sorted(left_out) == [
        "报告.html 是 dtfund 以前生成的HTML 报告，不是要汇总的工作簿，没有汇总。",
        "报送表.pdf 是 dtfund 以前生成的报送表 PDF，不是要汇总的工作簿，没有汇总。",
        "标注.xlsx 是 dtfund 以前生成的标注副本，不是要汇总的工作簿，没有汇总。",
        "结果.json 是 dtfund 以前生成的JSON 结果，不是要汇总的工作簿，没有汇总。",
    ]


def test_revisions_saved_by_libreoffice_replace_one_another(tmp_path, policy) -> None:
    rows = [valid_row(), valid_row(uscc=valid_code("MA77R1N1X"), name="石河子市第二公司")]
    first = _application(tmp_path / "v1.xlsx", policy, 1, dt.datetime(2026, 3, 10), rows[:1])
    second = _application(tmp_path / "v2.xlsx", policy, 2, dt.datetime(2026, 3, 20), rows)
    folder = tmp_path / "报送"
    (folder / "旧").mkdir(parents=True)
    recalculate([(first, folder / "旧" / "第八师-版本1.xlsx"), (second, folder / "第八师-版本2.xlsx")])
    out = tmp_path / "汇总.json"
    result = run("consolidate", folder, "--plan", PLAN, "-o", tmp_path / "汇总.xlsx", "--json", out)
    document = json.loads(out.read_text("utf-8"))
    files = {Path(f["file"]).name: (f["revision"], f["status"], f["replaced_by"]) for f in document["files"]}
    assert files == {
        "第八师-版本2.xlsx": (2, "consolidated", None),
        "第八师-版本1.xlsx": (1, "replaced", "第八师-版本2.xlsx"),
    }, result.output
    assert not [i for i in document["issues"] if i["rule"] in ("SUBMITTED_ON_INVALID", "REVISION_INVALID")]
    assert next(e for e in document["summary"] if e["division"] == UNIT)["enterprises"] == 2
    assert result.exit_code == 0, result.output


@pytest.mark.triggers("REVISION_INVALID")
def test_the_plan_has_its_revision_too(tmp_path, policy) -> None:
    workbook = openpyxl.load_workbook(PLAN)
    sheet = workbook[spec.PLAN_SHEET]
    assert (sheet["C2"].value, sheet["D2"].value, sheet["E2"].value) == ("版本号：", 1, "报送日期：")
    assert check_file(PLAN, policy).revision == 1
    sheet["D2"] = 2.5
    edited = tmp_path / "plan.xlsx"
    workbook.save(edited)
    result = check_file(edited, policy)
    assert [(i.sheet, i.cell) for i in result.issues if i.rule == "REVISION_INVALID"] == [
        (spec.PLAN_SHEET, "D2")
    ]


def test_a_workbook_the_ribbon_checked_is_still_a_submission(tmp_path) -> None:
    """The ribbon's 校验 puts a 校验结果 sheet first in the clerk's own workbook, which Excel saves: it is
    the submission, not an annotated copy (only a copy as dtfund wrote it is left out), so it replaces
    the unit's older revision."""
    folder = tmp_path / "报送"
    folder.mkdir()
    shutil.copyfile(EARLIER, folder / "第八师-第1版.xlsx")
    workbook = openpyxl.load_workbook(SHIHEZI)
    workbook.create_sheet("校验结果", 0)["A1"] = "校验结论：通过"
    workbook.save(folder / "第八师-第2版.xlsx")
    out = tmp_path / "汇总.json"
    run("consolidate", folder, "--plan", PLAN, "-o", tmp_path / "汇总.xlsx", "--json", out)
    document = json.loads(out.read_text("utf-8"))
    status = {Path(f["file"]).name: f["status"] for f in document["files"]}
    assert status == {"第八师-第2版.xlsx": "consolidated", "第八师-第1版.xlsx": "replaced"}
    assert not [i for i in document["issues"] if i["rule"] == "OWN_OUTPUT_LEFT_OUT"]
