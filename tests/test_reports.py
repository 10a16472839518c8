"""Reports people read: HTML reports in a real browser, annotated copies in a real spreadsheet."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.cli import app
from addin.templates.bundled import EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from tests.support.browser import CHROMIUM_FLAGS, require_chromium
from tests.support.libreoffice import recalculate

runner = CliRunner()
EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]
ARTIFACTS = REPOSITORY / "test-artifacts"
SERVICE_TOTAL = spec.column_letters()["service_total"]  # the column of the example's fee excess


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def render(path: Path, screenshot: Path | None = None) -> tuple[str, list[str], int]:
    """The page's text, its console errors, and the number of pages it prints to on A4."""
    binary = require_chromium()
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(path.as_uri())
        text = page.inner_text("body")
        if screenshot:
            screenshot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
        pdf = page.pdf(format="A4")
        browser.close()
    return text, errors, pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")


def test_check_html_report_in_a_browser(tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    assert run("check", EXAMPLE, "--html", html, "--quiet").exit_code == 1
    source = html.read_text("utf-8")
    assert "<script" not in source and "http://" not in source and "https://" not in source
    text, errors, pages = render(html, ARTIFACTS / "check-report.png")
    assert errors == []
    for heading in ("专项资金申报表校验报告", "校验结论", "按资金来源的金额合计", "问题（按规则）"):
        assert heading in text
    assert "不通过" in text and "division-08-shihezi.xlsx" in text and "xpcc-dt-pilot-fund" in text
    digest = json.loads(run("check", EXAMPLE, "--json", "-").stdout)["sha256"]
    assert digest in text
    assert "FEE_SERVICE_OVER_20" in text and f"申报表!{SERVICE_TOTAL}8" in text and "附件（一）" in text
    assert 1 <= pages <= 4


def test_consolidation_html_report_has_the_chart(tmp_path: Path) -> None:
    html = tmp_path / "summary.html"
    result = run(
        "consolidate",
        REPOSITORY / "addin/examples",
        "--plan",
        REPOSITORY / EXAMPLE_PLAN,
        "-o",
        tmp_path / "s.xlsx",
        "--html",
        html,
        "--quiet",
    )
    assert result.exit_code == 1
    source = html.read_text("utf-8")
    assert source.count("<rect") >= 6 and "<svg" in source
    text, errors, _ = render(html, ARTIFACTS / "consolidation-report.png")
    assert errors == []
    for heading in ("汇总报告", "校验结论", "申报文件", "拨付情况", "计划、已承诺与可拨付", "问题（按规则）"):
        assert heading in text
    assert "DUPLICATE_ENTERPRISE" in text and "5,159,000.00" in text
    assert "6,800,000.00" in text and "3,070,000.00" in text, "how much is payable and how much is held"
    assert "11 家（12 行）" in text, "the enterprise two divisions both submitted counts once"


def test_user_text_is_escaped_in_the_html(tmp_path: Path, policy) -> None:
    from addin.io.output import save_workbook
    from addin.templates.bundled import filled_application
    from tests.conftest import valid_row

    path = tmp_path / "x.xlsx"
    save_workbook(
        filled_application(
            policy,
            "第八师石河子市",
            [valid_row(name="<script>alert(1)</script>", industry="<b>农业</b>")],
            template_rows=10,
        ),
        path,
    )
    html = tmp_path / "r.html"
    run("check", path, "--html", html)
    source = html.read_text("utf-8")
    assert "<b>农业</b>" not in source and "&lt;b&gt;农业&lt;/b&gt;" in source


def test_annotated_copy_survives_libreoffice(tmp_path: Path) -> None:
    annotated = tmp_path / "annotated.xlsx"
    before = EXAMPLE.read_bytes()
    assert run("check", EXAMPLE, "--annotate", annotated, "--quiet").exit_code == 1
    assert EXAMPLE.read_bytes() == before
    reopened = tmp_path / "reopened.xlsx"
    recalculate([(annotated, reopened)])
    workbook = openpyxl.load_workbook(reopened)
    assert workbook.sheetnames[0] == "校验结果"
    links = [c.hyperlink.location for row in workbook["校验结果"].iter_rows() for c in row if c.hyperlink]
    assert any(f"{SERVICE_TOTAL}8" in (link or "") for link in links)
    note = workbook["申报表"][f"{SERVICE_TOTAL}8"].comment
    assert note is not None and "FEE_SERVICE_OVER_20" in note.text and "附件（一）" in note.text


def test_a_flagged_cell_keeps_its_number_format(tmp_path: Path) -> None:
    """The example's cells name no format and are shown in their column's: once flagged, an amount still
    reads 350,000.00, a credit code stays text and a date a date."""
    annotated = tmp_path / "annotated.xlsx"
    assert run("check", EXAMPLE, "--annotate", annotated, "--quiet").exit_code == 1
    issues = json.loads(run("check", EXAMPLE, "--json", "-").stdout)["issues"]
    cell = {i["rule"]: i["cell"] for i in issues}
    sheet = openpyxl.load_workbook(annotated)[spec.DATA_SHEET]
    formats = {
        rule: (sheet[cell[rule]].number_format, sheet[cell[rule]].fill.fgColor.rgb)
        for rule in ("CLAIM_OVER_CAP", "USCC_INVALID", "CONTRACT_DATE_OUT_OF_WINDOW")
    }
    assert formats == {
        "CLAIM_OVER_CAP": ("#,##0.00", "FFFFC7CE"),
        "USCC_INVALID": ("@", "FFFFC7CE"),
        "CONTRACT_DATE_OUT_OF_WINDOW": ("yyyy-mm-dd", "FFFFC7CE"),
    }


def test_the_results_sheet_shows_the_time_as_the_reports_do(tmp_path: Path, policy) -> None:
    """校验时间 in Beijing time as the HTML report and the 报送表 show it, not the JSON's ISO 8601."""
    from addin.check.pipeline import check_file
    from addin.reports.annotate import write_annotated_copy

    result = check_file(EXAMPLE, policy)
    result.checked_at = "2026-12-05T10:46:12+00:00"
    annotated = tmp_path / "annotated.xlsx"
    write_annotated_copy(EXAMPLE, result, annotated)
    lines = [
        row[0] for row in openpyxl.load_workbook(annotated)["校验结果"].iter_rows(max_row=2, values_only=True)
    ]
    assert lines[1].endswith("；校验时间：2026-12-05 18:46:12（北京时间）"), lines


def test_annotated_xlsm_keeps_its_macros(tmp_path: Path) -> None:
    import xlwings

    macros = openpyxl.load_workbook(Path(xlwings.__file__).parent / "quickstart.xlsm", keep_vba=True)
    workbook = openpyxl.load_workbook(EXAMPLE)
    workbook.vba_archive = macros.vba_archive
    source = tmp_path / "with-macros.xlsm"
    workbook.save(source)
    annotated = tmp_path / "annotated.xlsm"
    assert run("check", source, "--annotate", annotated, "--quiet").exit_code == 1
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(annotated) as after:
        assert after.read("xl/vbaProject.bin") == before.read("xl/vbaProject.bin")
        assert b"macroEnabled" in after.read("[Content_Types].xml")


def test_annotating_an_annotated_copy_replaces_its_marks(tmp_path: Path) -> None:
    """A second run keeps one results sheet and one note per cell; the template's own notes and a
    sheet-local name (a print area, which moves one place on with each new first sheet) stay right."""
    workbook = openpyxl.load_workbook(EXAMPLE)
    workbook["申报表"].print_area = "A1:C9"
    workbook.active = 2  # another sheet selected: the copy opens on its results alone, no sheets grouped
    for sheet in workbook.worksheets:
        sheet.sheet_view.tabSelected = sheet is workbook.active
    source = tmp_path / "source.xlsx"
    workbook.save(source)
    first, second = tmp_path / "first.xlsx", tmp_path / "second.xlsx"
    assert run("check", source, "--annotate", first, "--quiet").exit_code == 1
    assert run("check", first, "--annotate", second, "--quiet").exit_code == 1
    annotated = openpyxl.load_workbook(second)
    assert annotated.sheetnames == ["校验结果", *workbook.sheetnames]
    assert annotated.active.title == "校验结果"
    assert [s.title for s in annotated.worksheets if s.sheet_view.tabSelected] == ["校验结果"]
    sheet = annotated["申报表"]
    assert sheet.print_area == "'申报表'!$A$1:$C$9"
    assert sheet["A4"].comment.text == workbook["申报表"]["A4"].comment.text, "the template's note is kept"
    note = sheet[f"{SERVICE_TOTAL}8"].comment.text
    assert (
        note.count("FEE_SERVICE_OVER_20") == 1 and sheet[f"{SERVICE_TOTAL}8"].fill.fgColor.rgb == "FFFFC7CE"
    )
    with zipfile.ZipFile(second) as copy:
        assert sum(name.startswith("xl/worksheets/dtfundResults") for name in copy.namelist()) == 1
        comments = [name for name in copy.namelist() if name.startswith("xl/comments")]
        notes = copy.read(comments[0]).decode("utf-8").count("<comment ")
    with zipfile.ZipFile(first) as copy:
        assert copy.read(comments[0]).decode("utf-8").count("<comment ") == notes


def test_annotated_copy_of_a_sheet_without_notes(tmp_path: Path) -> None:
    """A sheet with no notes and no relationships gets its comments, drawing and relationships."""
    workbook = openpyxl.load_workbook(EXAMPLE)
    for row in workbook["申报表"].iter_rows():
        for cell in row:
            if cell.comment:
                cell.comment = None
    source, annotated = tmp_path / "plain.xlsx", tmp_path / "annotated.xlsx"
    workbook.save(source)
    with zipfile.ZipFile(source) as plain:
        assert not [name for name in plain.namelist() if "comments" in name or name.endswith(".vml")]
    assert run("check", source, "--annotate", annotated, "--quiet").exit_code == 1
    sheet = openpyxl.load_workbook(annotated)["申报表"]
    noted = [cell.coordinate for row in sheet.iter_rows() for cell in row if cell.comment]
    assert f"{SERVICE_TOTAL}8" in noted and "A4" not in noted and len(noted) == 6


def test_annotate_refuses_to_overwrite_the_input_or_change_its_kind(tmp_path: Path) -> None:
    copy = tmp_path / "a.xlsx"
    copy.write_bytes(EXAMPLE.read_bytes())
    result = run("check", copy, "--annotate", copy)
    assert result.exit_code == 2 and "与输入文件相同" in result.output
    assert copy.read_bytes() == EXAMPLE.read_bytes()
    assert run("check", copy, "--annotate", tmp_path / "a.xlsm").exit_code == 2


@pytest.mark.parametrize("flag", ["--quiet", "--json"])
def test_machine_clean_output(flag: str) -> None:
    args = ["check", EXAMPLE, flag] + (["-"] if flag == "--json" else [])
    result = run(*args)
    if flag == "--json":
        json.loads(result.stdout)
    else:
        assert result.stdout.strip().splitlines() == ["校验结论：不通过（错误 6 条，警告 0 条）"]
