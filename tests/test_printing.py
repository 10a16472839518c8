"""The workbooks and reports print: header rows on every page, headers tall enough for their wrapped text,
only filled rows in the print area, A4 pages one or two wide; the HTML reports print on A4 without a cell
address or verdict broken across lines. LibreOffice and Chromium render them to PDF here."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import warnings
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.cli import app
from addin.io.print_layout import line_count, lines_height, wrapped_height, wrapped_lines
from addin.templates.application import data_print_area
from addin.templates.bundled import (
    APPLICATION_TEMPLATE,
    EXAMPLE_ROWS,
    REPOSITORY,
    filled_application,
    shihezi_rows,
)
from addin.templates.printing import load_workbook_keeping_print_areas
from schemas.awards import award_kinds
from schemas.fields import application_fields
from schemas.policy import load_policy
from tests.support.browser import CHROMIUM_FLAGS, require_chromium
from tests.support.libreoffice import recalculate, require_libreoffice

EXAMPLES = REPOSITORY / "addin" / "examples"
MAX_TWO_ROW_PAGES = 12  # issue 20: the two-row application workbook prints on at most 12 pages


def _names(path: Path) -> dict[tuple[str, int], str]:
    """The workbook's sheet-local defined names: (name, sheet index) -> formula."""
    xml = zipfile.ZipFile(path).read("xl/workbook.xml").decode()
    found = re.findall(r'<definedName name="([^"]+)" localSheetId="(\d+)">([^<]*)</definedName>', xml)
    return {
        (name, int(index)): value.replace("&lt;", "<").replace("&gt;", ">") for name, index, value in found
    }


def test_wrapped_height_counts_cjk_twice() -> None:
    assert line_count("企业名称", 10) == 1
    assert line_count("是否已获中央资金支持的专精特新“小巨人”", 14) >= 3
    assert line_count("ABCDEFGHIJ", 12) == 1
    assert wrapped_height([("一二三四五六七八九十", 6)]) > wrapped_height([("一二三四五六七八九十", 22)])


def test_wrapped_lines_of_a_table_are_each_rows_wrapped_height() -> None:
    """The table-wide count (a text up to half its column taken as one line without measuring it) gives
    every row the height wrapped_height gives it alone: CJK, ASCII, ambiguous-width (…, “”), line breaks."""
    texts = [
        "",
        "企业",
        "ABCDEFGHIJKLMNOPQRSTUV",
        "一二三四五六七八九十一二",
        "“小巨人”…" * 3,
        "甲\n乙\n丙",
        "a\n",
        "x" * 9,
    ]
    widths = [6, 10, 22]
    rows = [[texts[n % len(texts)], texts[(n * 3) % len(texts)], None if n % 4 else 7] for n in range(40)]
    expected = [
        wrapped_height([(v, w) for v, w in zip(row, widths, strict=False) if type(v) is str]) for row in rows
    ]
    assert [lines_height(count) for count in wrapped_lines(rows, widths)] == expected
    assert max(expected) > lines_height(1)
    for text in texts:  # each text alone, where no other text of its row hides its count
        for width in (1, 2, 3, 6, 10, 22, 40):
            assert wrapped_lines([[text]], [width]) == [max(line_count(text, width), 1)], (text, width)


def test_templates_print_titles_filled_rows_and_tall_headers() -> None:
    path = REPOSITORY / APPLICATION_TEMPLATE
    names = _names(path)
    workbook = load_workbook_keeping_print_areas(path, read_only=True)
    index = {name: n for n, name in enumerate(workbook.sheetnames)}
    data = index[spec.DATA_SHEET]
    assert names[("_xlnm.Print_Titles", data)] == f"'{spec.DATA_SHEET}'!$3:$4,'{spec.DATA_SHEET}'!$A:$B"
    for sheet in (spec.GUIDE_SHEET, spec.RULES_SHEET, spec.PARAMETERS_SHEET):
        assert ("_xlnm.Print_Titles", index[sheet]) in names, sheet
    area = names[("_xlnm.Print_Area", data)]
    last = spec.FIRST_DATA_ROW + spec.DEFAULT_ROWS - 1
    assert area.startswith(f"OFFSET('{spec.DATA_SHEET}'!$A$1,") and f"$A$5:$AB${last}" in area
    sheet = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    header = re.search(rf'<row r="{spec.HEADER_ROW}"[^>]*ht="([\d.]+)"[^>]*customHeight="1"', sheet)
    assert header, "the header row has an explicit height"
    needed = wrapped_height((f.header, f.width) for f in application_fields())
    assert float(header.group(1)) == needed >= 3 * 15
    setup = re.search(r"<pageSetup [^>]*>", sheet).group(0)
    assert all(a in setup for a in ('orientation="landscape"', 'paperSize="9"', 'fitToWidth="2"'))


def test_award_sheets_print_their_header_and_filled_rows() -> None:
    path = REPOSITORY / "workbook_templates" / "awards_template.xlsx"
    names = _names(path)
    for n, kind in enumerate(award_kinds(load_policy())):
        row = spec.AWARDS_HEADER_ROW
        assert names[("_xlnm.Print_Titles", n)] == f"'{kind.sheet}'!${row}:${row}"
        assert names[("_xlnm.Print_Area", n)].startswith("OFFSET(")


def test_a_copy_made_with_openpyxl_keeps_the_print_area(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        workbook = load_workbook_keeping_print_areas(REPOSITORY / APPLICATION_TEMPLATE)
    workbook.save(tmp_path / "copy.xlsx")
    assert _names(tmp_path / "copy.xlsx")[("_xlnm.Print_Area", 0)].startswith("OFFSET(")


def test_print_area_ends_at_the_last_filled_row(tmp_path: Path) -> None:
    """The print area's formula, evaluated in cells by a real engine: rows 5 to 13 filled, row 12 left
    empty, gives A1 to the last column of row 13."""
    records = shihezi_rows()[:9]
    assert records[7] is None
    workbook = filled_application(load_policy(), "第八师石河子市", records)
    area = data_print_area(spec.FIRST_DATA_ROW + EXAMPLE_ROWS - 1)
    probe = workbook[spec.LIVE_CHECK_SHEET]
    probe["G1"], probe["G2"] = f"=ROWS({area})", f"=COLUMNS({area})"
    workbook.save(tmp_path / "area.xlsx")
    recalculate([(tmp_path / "area.xlsx", tmp_path / "calculated.xlsx")])
    calculated = openpyxl.load_workbook(tmp_path / "calculated.xlsx", data_only=True)[spec.LIVE_CHECK_SHEET]
    assert (calculated["G1"].value, calculated["G2"].value) == (13, len(application_fields()))


def test_parameters_lead_with_the_chinese_name() -> None:
    workbook = load_workbook_keeping_print_areas(REPOSITORY / APPLICATION_TEMPLATE, read_only=True)
    header = next(workbook[spec.PARAMETERS_SHEET].iter_rows(min_row=3, max_row=3, values_only=True))
    assert header[0] == "名称" and header[6] == "参数代码"


def _pdf_pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def _libreoffice_pdfs(files: list[Path], folder: Path) -> list[list[str]]:
    """Each workbook printed to PDF by LibreOffice, as the text of its pages."""
    binary = require_libreoffice()
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [binary, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf"]
            + ["--outdir", str(folder), *map(str, files)],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return [_pdf_pages(folder / f"{f.stem}.pdf") for f in files]


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> dict[str, list[str]]:
    """The two-row application workbook and the demo's summary workbook, printed by LibreOffice."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    folder = tmp_path_factory.mktemp("printed")
    two_rows = folder / "two-rows.xlsx"
    filled_application(load_policy(), "第八师石河子市", shihezi_rows()[:2]).save(two_rows)
    summary = folder / "summary.xlsx"
    result = CliRunner().invoke(
        app,
        ["consolidate", *(str(EXAMPLES / n) for n in ("division-08-shihezi.xlsx", "awards.xlsx"))]
        + ["--plan", str(EXAMPLES / "plan.xlsx"), "--output", str(summary), "-q"],
    )
    assert summary.exists(), result.output
    two, book = _libreoffice_pdfs([two_rows, summary], folder)
    return {"two-rows": two, "summary": book}


def test_two_row_workbook_prints_on_few_pages_with_whole_headers(printed) -> None:
    pages = printed["two-rows"]
    assert len(pages) <= MAX_TWO_ROW_PAGES
    first_two = "".join(pages[:2]).replace(" ", "").replace("\n", "")
    assert "石河子市天山纺织有限公司" in first_two
    assert "是否已获中央资金支持的专精特新“小巨人”" in first_two, "the header is cut"
    assert "参数代码" in "".join(pages)


def test_summary_workbook_prints_with_its_chart_in_wan_yuan(printed) -> None:
    pages = printed["summary"]
    assert len(pages) <= 8
    execution = next(p for p in pages if "资金使用计划执行情况" in p)
    assert "万元" in execution and re.search(r"\d{1,3},\d{3}\n", execution)


# --- HTML reports --------------------------------------------------------------------------------------


def _print_html(path: Path) -> tuple[list[str], dict[str, str]]:
    """The report printed to A4 by Chromium (its pages' text) and the computed white-space of its cell
    addresses and verdicts."""
    binary = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(path.as_uri())
        styles = page.evaluate(
            "() => Object.fromEntries(['.addr', '.verdict', 'td.num'].map(s => [s,"
            " document.querySelector(s) ? getComputedStyle(document.querySelector(s)).whiteSpace : null]))"
        )
        pdf = path.with_suffix(".pdf")
        page.pdf(path=str(pdf), format="A4")
        browser.close()
    return _pdf_pages(pdf), styles


def test_html_reports_print_without_broken_addresses(tmp_path: Path) -> None:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    runner = CliRunner()
    check, diff, summary = tmp_path / "check.html", tmp_path / "diff.html", tmp_path / "summary.html"
    shihezi = EXAMPLES / "division-08-shihezi.xlsx"
    runner.invoke(app, ["check", str(shihezi), "--html", str(check), "-q"])
    runner.invoke(
        app,
        ["diff", str(EXAMPLES / "division-08-shihezi-revision-1.xlsx"), str(shihezi)] + ["--html", str(diff)],
    )
    runner.invoke(
        app,
        [
            "consolidate",
            str(shihezi),
            str(EXAMPLES / "division-01-alar.xlsx"),
            "--plan",
            str(EXAMPLES / "plan.xlsx"),
        ]
        + ["--html", str(summary), "--output", str(tmp_path / "summary.xlsx"), "-q"],
    )
    pages, styles = _print_html(check)
    assert styles == {".addr": "nowrap", ".verdict": "nowrap", "td.num": "nowrap"}
    assert 1 < len(pages) <= 3, "the issues start on a page of their own"
    lines = "\n".join(pages)
    addresses = set(re.findall(rf"{spec.DATA_SHEET}!\S*", lines))
    assert addresses and all(re.fullmatch(rf"{spec.DATA_SHEET}![A-Z]+\d+", a) for a in addresses), addresses
    assert "不通过" in lines and "第十条（一）1" in lines
    diff_pages, _ = _print_html(diff)
    assert len(diff_pages) <= 2
    summary_pages, _ = _print_html(summary)
    assert len(summary_pages) <= 6
    assert any(p.lstrip().startswith("问题（按规则）") for p in summary_pages), "the issues start a page"


A4_PRINTED_WIDTH = round((210 - 2 * 12) / 25.4 * 96)  # CSS px between the @page margins of 12 mm


def test_enterprise_names_print_on_one_or_two_lines(tmp_path: Path) -> None:
    """On A4 the 企业名称 column has room for a name: the example's (13 characters at most) on one line,
    no longer wrapped 3 or 4 characters a line; the table keeps within the page."""
    binary = require_chromium()
    from playwright.sync_api import sync_playwright

    html = tmp_path / "check.html"
    CliRunner().invoke(app, ["check", str(EXAMPLES / "division-08-shihezi.xlsx"), "--html", str(html), "-q"])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": A4_PRINTED_WIDTH, "height": 1000})
        page.emulate_media(media="print")
        page.goto(html.as_uri())
        table, lines = page.evaluate(
            """() => {
                const header = [...document.querySelectorAll('th')].find(th => th.textContent === '企业名称');
                const table = header.closest('table');
                const names = [...table.querySelectorAll('tbody td:nth-child(2)')].map(cell => {
                    const range = document.createRange();
                    range.selectNodeContents(cell);
                    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                    return [cell.textContent, tops.size];
                });
                return [table.getBoundingClientRect().width, names];
            }"""
        )
        browser.close()
    assert len(lines) == 11 and all(len(name) <= 13 for name, _ in lines)
    assert {name: n for name, n in lines if n != 1} == {}
    assert table <= A4_PRINTED_WIDTH
