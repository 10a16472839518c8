"""`dtfund check FILE --print OUT.pdf`: the 报送表 on A4 landscape — the unit's rows and totals (the
check's), the verdict, the file's SHA-256, the lines to sign, 第 x 页 共 y 页 on every page."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.pipeline import check_file, rows_with_errors, totals
from addin.cli import app
from addin.io.output import save_workbook
from addin.reports.submission_form import FILE_HOLDS_ALL, SIGN_LINES, TITLE
from addin.templates.bundled import EXAMPLES, REPOSITORY, filled_application
from schemas.money import format_yuan
from schemas.policy import load_policy
from tests.conftest import valid_code, valid_row

runner = CliRunner()
EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]
A4_LANDSCAPE = (842, 595)  # points, rounded
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def pages_text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def flat(text: str) -> str:
    """The text without line breaks or spaces (a wrapped cell is one string again)."""
    return re.sub(r"\s+", "", text)


def test_the_example_prints_on_one_page_with_everything_to_submit(tmp_path: Path, policy) -> None:
    out = tmp_path / "报送表.pdf"
    result = run("check", EXAMPLE, "--print", out)
    assert result.exit_code == 1, result.output  # the example has errors: the form says so
    reader = PdfReader(out)
    assert len(reader.pages) == 1
    width, height = (round(float(v)) for v in reader.pages[0].mediabox.upper_right)
    assert (width, height) == A4_LANDSCAPE
    text = pages_text(out)[0]
    checked = check_file(EXAMPLE, policy)
    assert flat(TITLE) in flat(text)
    assert "填报单位：第八师石河子市" in text and "版本号：2" in text and "报送日期：2026-03-20" in text
    assert f"校验结论：不通过（错误 {checked.errors} 条，警告 {checked.warnings} 条）" in text
    assert "本表有错误，不能报送" in text
    assert hashlib.sha256(EXAMPLE.read_bytes()).hexdigest() in text
    assert "（北京时间）" in text
    for label in SIGN_LINES:
        assert f"{label}：" in text
    assert "第 1 页 共 1 页" in text
    figures = totals(checked.table, policy)
    for name in ("transformation_subsidy", "progress_bonus", "honor_award", "total_award"):
        assert format_yuan(Decimal(figures["amounts"][name])) in text, name
    for source in policy.funding_sources:
        assert format_yuan(Decimal(figures["by_source"][source])) in text, source
    errors = rows_with_errors(checked)
    assert errors == len({i.row for i in checked.issues if i.severity == "error" and i.row is not None}) > 0
    assert flat(
        f"合计（企业 {figures['rows']} 家，符合条件 {figures['eligible_rows']} 家，暂缓拨付 {errors} 家）"
    ) in flat(text)
    for name in checked.table.frame["name"]:
        assert name in flat(text)


def _code(n: int) -> str:
    return valid_code("MA" + "".join(ALPHABET[(n // 31**k) % 31] for k in range(4)) + "R1N")


@pytest.fixture(scope="module")
def three_hundred(tmp_path_factory, policy) -> Path:
    rows = [valid_row(name=f"石河子市第{n + 1}号数字化改造企业有限公司", uscc=_code(n)) for n in range(300)]
    rows[5] = valid_row(name="<b>甲&乙</b> 有限公司", uscc=_code(5))  # markup in a cell is text
    rows[7] = valid_row(
        name="新疆生产建设兵团第八师石河子市天山北坡经济带高端装备与新材料产业数字化转型示范有限责任公司",
        uscc=_code(7),
    )
    path = tmp_path_factory.mktemp("big") / "三百行.xlsx"
    save_workbook(filled_application(policy, "第八师石河子市", rows, template_rows=300), path)
    return path


def test_three_hundred_rows_run_over_pages_with_the_header_on_each(
    three_hundred: Path, tmp_path: Path
) -> None:
    out = tmp_path / "big.pdf"
    result = run("check", three_hundred, "--print", out)
    assert result.exit_code == 0, result.output
    pages = pages_text(out)
    assert len(pages) >= 10  # ~22 rows a page
    for number, text in enumerate(pages, start=1):
        assert "统一社会信用代码" in text and "补贴奖励合计" in text, number  # the header row repeats
        assert f"第 {number} 页 共 {len(pages)} 页" in text
    everything = "".join(pages)
    assert "校验结论：通过（错误 0 条，警告 0 条）" in everything
    assert "<b>甲&乙</b>" in everything
    assert flat("天山北坡经济带高端装备与新材料产业数字化转型示范有限责任公司") in flat(everything)
    assert flat("合计（企业 300 家，符合条件 300 家，暂缓拨付 0 家）") in flat(pages[-1])
    assert "150,000,000.00" in pages[-1]  # 300 × 500,000.00 改造补贴
    assert "填报人：" in pages[-1]


def test_the_rows_are_laid_out_once_not_once_a_page(three_hundred: Path, monkeypatch) -> None:
    """Linear in the rows: each row goes into a table to be measured once and into its page's table
    once (a single reportlab Table rebuilt what was left of it at every page break: 300 rows on 14
    pages made tables of 2,463 rows in all)."""
    from reportlab.platypus import tables

    from addin.reports import submission_form

    built: list[int] = []
    original = tables.Table.__init__

    def counted(self, data, *args, **kwargs) -> None:
        built.append(len(data))
        original(self, data, *args, **kwargs)

    monkeypatch.setattr(tables.Table, "__init__", counted)
    result = check_file(three_hundred, load_policy())
    pages = len(PdfReader(io.BytesIO(submission_form.submission_form_pdf(result))).pages)
    body = 300 + 1  # the rows and the totals row, each table with the header row too
    assert pages >= 10
    assert sum(built) <= 2 * body + 2 * pages + 20  # 20: the heading, verdict and signature tables


def test_a_file_that_cannot_be_read_gets_no_form(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    out = tmp_path / "out.pdf"
    result = run("check", broken, "--print", out)
    assert result.exit_code == 2
    assert "不能生成报送表" in result.output and not out.exists()


def test_only_an_application_prints_a_form(tmp_path: Path) -> None:
    out = tmp_path / "out.pdf"
    result = run("check", REPOSITORY / "addin/examples/awards.xlsx", "--print", out)
    assert result.exit_code == 2
    assert "报送表只能由申报表生成" in result.output and not out.exists()


def test_the_form_is_never_written_over_the_input(tmp_path: Path) -> None:
    copy = tmp_path / "copy.xlsx"
    copy.write_bytes(EXAMPLE.read_bytes())
    result = run("check", copy, "--print", copy)
    assert result.exit_code == 2
    assert copy.read_bytes() == EXAMPLE.read_bytes()


def test_an_error_on_the_file_is_said_to_hold_every_enterprise(tmp_path: Path) -> None:
    """A blank 填报单位 cell holds every row (as consolidate holds them): the form's count says so, and
    the box says why beside the rows' own errors."""
    workbook = openpyxl.load_workbook(EXAMPLE)
    workbook[spec.DATA_SHEET][spec.UNIT_CELL] = None
    source, out = tmp_path / "no-unit.xlsx", tmp_path / "form.pdf"
    workbook.save(source)
    assert run("check", source, "--print", out).exit_code == 1
    text = flat("".join(pages_text(out)))
    checked = check_file(source, load_policy())
    assert rows_with_errors(checked) == len(checked.table.amounts)
    assert flat(f"暂缓拨付 {len(checked.table.amounts)} 家") in text
    assert flat(FILE_HOLDS_ALL) in text


# --- a PDF that shows on any PC (issue 27 item 6) -------------------------------------------------------


def _pdffonts(path: Path) -> list[list[str]]:
    """pdffonts' table: name, type, encoding, emb, sub, uni, object, generation (poppler-utils)."""
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    return [line.split() for line in listing.splitlines()[2:] if line.strip()]


@pytest.fixture(scope="module")
def sixty(tmp_path_factory, policy) -> Path:
    """60 rows (the last page held only the sign lines before), one name with 𠮷 (outside the BMP)."""
    rows = [valid_row(name=f"石河子市第{n + 1}号数字化改造企业有限公司", uscc=_code(n)) for n in range(60)]
    rows[3] = valid_row(name="𠮷野家数字科技有限公司", uscc=_code(3))
    path = tmp_path_factory.mktemp("sixty") / "六十行.xlsx"
    save_workbook(filled_application(policy, "第八师石河子市", rows, template_rows=60), path)
    return path


@pytest.mark.skipif(
    shutil.which("pdffonts") is None, reason="pdffonts (poppler-utils) is installed by .ci/run"
)
def test_every_font_of_the_form_is_embedded(tmp_path: Path) -> None:
    out = tmp_path / "报送表.pdf"
    run("check", EXAMPLE, "--print", out)
    fonts = _pdffonts(out)
    assert fonts
    assert all(row[-5] == "yes" for row in fonts), fonts  # the emb column
    assert not any(row[0] in ("Helvetica", "STSong-Light") for row in fonts)


def test_a_character_no_font_has_is_named_never_dropped(sixty: Path, tmp_path: Path) -> None:
    out = tmp_path / "报送表.pdf"
    result = run("check", sixty, "--print", out)
    assert result.exit_code == 0
    said = result.output.replace("\n", "")
    assert "𠮷" in said and "U+20BB7" in said and "野家数字科技有限公司" in said
    assert "[U+20BB7]野家数字科技有限公司" in flat("".join(pages_text(out)))


@pytest.mark.triggers("TABLE_EMPTY")
def test_a_form_of_an_empty_table_says_so(tmp_path: Path) -> None:
    """An empty table checks 通过 with one warning (TABLE_EMPTY); its 报送表 says in red that no
    enterprise was filled in, instead of a signable form of 0 家."""
    empty = tmp_path / "空表.xlsx"
    assert run("template", "application", "--unit", "第八师石河子市", "-o", empty).exit_code == 0
    out = tmp_path / "报送表.pdf"
    assert run("check", empty, "--print", out).exit_code == 0
    assert flat("本表没有填写任何企业（TABLE_EMPTY）") in flat("".join(pages_text(out)))


def test_uyghur_names_are_said_to_be_unreadable_on_the_form(tmp_path: Path) -> None:
    """reportlab neither joins Arabic letters nor sets them right to left: a Uyghur name would print
    as separate letters running left to right, unreadable. Said so, naming the text."""
    from tests.conftest import valid_row

    name = "ئۈرۈمچى تېخنىكا شىركىتى"
    path = tmp_path / "维吾尔文.xlsx"
    save_workbook(
        filled_application(load_policy(), "第八师石河子市", [valid_row(name=name)], template_rows=5), path
    )
    result = run("check", path, "--print", tmp_path / "报送表.pdf")
    said = result.output.replace("\n", "")
    assert "从右向左书写、字母相连的文字" in said and name in said


def test_the_totals_and_the_sign_lines_share_the_last_page(sixty: Path, tmp_path: Path) -> None:
    out = tmp_path / "报送表.pdf"
    run("check", sixty, "--print", out)
    pages = [flat(text) for text in pages_text(out)]
    assert len(pages) >= 2
    last = pages[-1]
    assert flat("合计（企业 60 家") in last and "填报人：" in last and "负责人：" in last
    assert "第60号数字化改造企业" in last  # enterprise rows, not the sign lines alone
    assert sum("填报人：" in page for page in pages) == 1


def test_every_split_column_says_what_it_splits(tmp_path: Path) -> None:
    out = tmp_path / "报送表.pdf"
    run("check", EXAMPLE, "--print", out)
    text = flat(pages_text(out)[0])
    assert all(flat(f"合计中：{name}") in text for name in load_policy().funding_sources.values())
    assert "其中：" not in text


def test_without_an_embeddable_font_the_error_says_what_to_install(monkeypatch, tmp_path: Path) -> None:
    from addin.io.output import OutputError
    from addin.reports import pdf_fonts

    not_truetype = tmp_path / "NotoSansCJK.ttc"
    not_truetype.write_bytes(b"OTTO not TrueType outlines")
    monkeypatch.setitem(pdf_fonts.CANDIDATES, pdf_fonts.CJK_FONT, (tmp_path / "无.ttf", not_truetype))
    with pytest.raises(OutputError, match="fonts-droid-fallback") as refused:
        pdf_fonts._load(pdf_fonts.CJK_FONT)
    assert "中文字体" in str(refused.value)


def test_the_drawn_rows_line_up_with_the_kept_tail() -> None:
    """The rows drawn straight onto the pages (DrawnRows) are placed as reportlab places a Table, as
    the last rows, the 合计 and the signs are: a table wider than the frame is centred, so a
    left-placed part stood apart."""
    from reportlab.platypus import Table

    from addin.reports.drawn_rows import CellStyle, DrawnRows, Grid
    from addin.reports.pdf_fonts import Runs

    rows = DrawnRows(Table([[""]], colWidths=[10.0]), [], [CellStyle(7, 9)], Grid([10.0]), Runs())
    assert rows.hAlign == Table([[""]]).hAlign == "CENTER"


def test_drawn_rows_are_as_tall_as_a_table_makes_them() -> None:
    """The rows drawn straight onto the pages take the height reportlab's Table gives the same rows
    (as the kept last rows are laid out): wrapped names, a long odd code, a character no font has."""
    from reportlab.lib.units import mm

    from addin.reports import submission_form as form
    from addin.reports.drawn_rows import DrawnRows, Grid
    from addin.reports.pdf_fonts import Runs, register_fonts

    register_fonts()
    runs, columns = Runs(), form._columns(load_policy())
    widths = [column.width * mm for column in columns]
    amounts = ["1,000,000.00", "123,456,789,012.00", *["0.00"] * (len(columns) - 7)]
    names = [
        "石河子市第1号数字化改造企业有限公司",
        "<b>甲&乙</b> 有限公司𠮷",
        "新疆生产建设兵团第八师石河子市天山北坡经济带高端装备与新材料产业数字化转型示范有限责任公司",
        "短名",
        "  石河子市　　天山\t纺织    装备 制造有限公司  ",  # white space as a Paragraph sets it
    ]
    codes = [
        "91659001MA0000R1NL",
        "ABC-不是代码-超长的统一社会信用代码文本12345",
        "91659001MA0000R1NL",
        "",
        "",
    ]
    rows = [
        [str(n), name, code, "二级", *amounts, "错误"]
        for n, (name, code) in enumerate(zip(names, codes, strict=True), 1)
    ]
    small = form._style(form.BODY_SIZE, leading=9)
    centred = form._style(form.BODY_SIZE, form.TA_CENTER, leading=9)
    header = [form._text(column.header, centred, runs) for column in columns]
    cells = [form._table_row(row, small, centred, runs) for row in rows]
    table = form._grid([header, *cells], widths, header=True, body_only=True)
    table.wrap(sum(widths), 10**6)
    drawn = DrawnRows(
        form._grid([header], widths, header=True, body_only=True),
        [[form._drawn_code(text) if n == 2 else text for n, text in enumerate(row)] for row in rows],
        form._drawn_styles(len(columns)),
        Grid(widths),
        runs,
    )
    assert [round(row.height, 1) for row in drawn.rows] == [round(h, 1) for h in table._rowHeights[1:]]
    assert [len(row.cells[1]) for row in drawn.rows] == [2, 2, 3, 1, 2]  # the names' lines
    assert round(drawn.header_height, 1) == round(table._rowHeights[0], 1)


@pytest.mark.parametrize("count", [2, 8])
def test_long_texts_are_cut_once_in_drawn_and_kept_rows(count: int, tmp_path: Path, policy) -> None:
    """A name, a credit code or a 评测等级 too long for a cell is cut with its whole length said, once,
    whether its row is drawn (addin.reports.drawn_rows) or kept with the 合计 (a reportlab Table); a
    1,000-character code no longer makes a row taller than a page."""
    rows = [valid_row(name=f"石河子市第{n}号企业有限公司", uscc=_code(n)) for n in range(count)]
    rows[0] = valid_row(name="长" * 450, uscc="码" * 1000)
    rows[-1] = valid_row(name="短名有限公司", uscc=_code(99), level="级" * 300)
    path = tmp_path / "长文本.xlsx"
    save_workbook(filled_application(policy, "第八师石河子市", rows, template_rows=count), path)
    out = tmp_path / "长文本.pdf"
    result = run("check", path, "--print", out)
    assert result.exit_code == 1, result.output  # the long code and level are errors
    text = flat("".join(pages_text(out)))
    for length in (450, 1000, 300):
        assert flat(f"…（共 {length} 字）") in text, length
    assert "共200字" not in text and "共210字" not in text
