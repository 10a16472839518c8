"""Large tables of the summary workbook, rendered straight into the sheet XML: cell for cell what
XlsxWriter itself writes (values, types, styles), readable by openpyxl, python-calamine and LibreOffice,
and never a formula."""

from __future__ import annotations

import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlsxwriter
from python_calamine import CalamineWorkbook

from addin.check.consolidate import consolidate
from addin.io.bulk_rows import BulkRows, cell_xml, insert_into_package, write_behind
from addin.reports import summary_workbook
from addin.reports.summary_workbook import MONEY, WORKBOOK_OPTIONS, SummaryBook, _sheet, write_summary
from addin.templates.bundled import EXAMPLE_AWARDS, EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from schemas.policy import load_policy
from tests.support.libreoffice import recalculate

HOSTILE_TEXT = [
    '=HYPERLINK("http://example.com","点我")',
    "+86 991",
    "-1",
    "@SUM(A1)",
    " 前导空格",
    "末尾空格 ",
    "制表\t符",
    "控制\x01字符\x1f",
    "_x0041_ 字面转义",
    '<b>&amp;</b> "引号"',
    "\ufffe",
    "长" * 40_000,
    "第八师石河子市",
]


def _rows(count: int) -> list[list[Any]]:
    rows = []
    for n in range(count):
        text = HOSTILE_TEXT[n % len(HOSTILE_TEXT)]
        rows.append(
            [
                f"企业{n:05d}",
                text,
                None if n % 7 == 0 else Decimal(n) / 100,
                n,
                float(n) * 1.5,
                n % 2 == 0,
                Decimal("1E+30") if n == 3 else Decimal("123456789.01"),
            ]
        )
    rows.append(["小计", None, Decimal("1.00"), 1, None, False, Decimal(0)])  # a differently typed row
    return rows


def _write(path: Path, rows: list[list[Any]], bulk_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two tables on one sheet, with rows after each, as the summary's sheets have."""
    monkeypatch.setattr(summary_workbook, "BULK_FROM_ROWS", bulk_from)
    workbook = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    book = SummaryBook(workbook)
    _sheet(book, "其他", "前一张表", [10])
    sheet = _sheet(book, "拨付清单", "标题", [16] * 7, "说明")
    headers = ["名称", "文本", "金额", "整数", "小数", "是否", "大数"]
    sheet.table(
        headers, rows, {2: MONEY, 6: MONEY}, total=["合计", None, Decimal("9.99"), 0, 0.0, True, None]
    )
    sheet.line()
    sheet.line("第二张表", "label")
    sheet.table(headers, rows[: len(rows) // 2], {}, wrap=True)
    sheet.line("表后的一行")
    workbook.close()
    insert_into_package(path, book.bulk)


def _cells(path: Path) -> list[tuple[str, str, Any, str, Any, Any, Any]]:
    workbook = openpyxl.load_workbook(path)
    return [
        (
            sheet.title,
            cell.coordinate,
            cell.value,
            cell.number_format,
            cell.border.left.style,
            cell.font.b,
            cell.alignment.wrap_text,
        )
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for cell in row
    ]


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, list[list[Any]]]:
    rows = _rows(120)
    bulk, plain = tmp_path / "bulk.xlsx", tmp_path / "plain.xlsx"
    _write(bulk, rows, 10, monkeypatch)
    _write(plain, rows, 10**9, monkeypatch)
    return bulk, plain, rows


def test_the_rows_are_the_cells_xlsxwriter_writes(written) -> None:
    bulk, plain, _ = written
    with zipfile.ZipFile(bulk) as package:
        assert package.read("xl/worksheets/sheet2.xml").count(b"<row ") > 150  # the rows were inserted
    assert _cells(bulk) == _cells(plain)


def test_calamine_reads_the_same_values(written) -> None:
    bulk, plain, _ = written
    read = [
        CalamineWorkbook.from_path(str(p)).get_sheet_by_name("拨付清单").to_python() for p in (bulk, plain)
    ]
    assert read[0] == read[1]


def test_text_is_never_a_formula_and_is_kept_whole_up_to_excels_limit(written) -> None:
    bulk, _, _ = written
    sheet = openpyxl.load_workbook(bulk)["拨付清单"]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    # python-calamine decodes Excel's _xHHHH_ escapes, as Excel does
    rows = CalamineWorkbook.from_path(str(bulk)).get_sheet_by_name("拨付清单").to_python()
    texts = [row[1] for row in rows if isinstance(row[1], str)]
    assert '=HYPERLINK("http://example.com","点我")' in texts and "@SUM(A1)" in texts  # as typed
    assert " 前导空格" in texts and "末尾空格 " in texts and "制表\t符" in texts
    assert "控制\x01字符\x1f" in texts and "_x0041_ 字面转义" in texts and '<b>&amp;</b> "引号"' in texts
    assert len(max(texts, key=len)) == 32_767


def test_the_dimension_covers_the_inserted_rows(written) -> None:
    bulk, plain, _ = written
    assert (
        openpyxl.load_workbook(bulk)["拨付清单"].dimensions
        == openpyxl.load_workbook(plain)["拨付清单"].dimensions
    )


def test_a_number_that_is_not_finite_is_written_as_text() -> None:
    assert 't="inlineStr"' in cell_xml("A1", "3", float("nan"))
    assert cell_xml("A1", None, None) == ""


def test_libreoffice_reads_the_inserted_rows(written, tmp_path: Path) -> None:
    bulk, plain, _ = written
    saved = tmp_path / "libreoffice.xlsx"
    recalculate([(bulk, saved)])
    theirs = openpyxl.load_workbook(saved)["拨付清单"]
    ours = openpyxl.load_workbook(plain)["拨付清单"]
    for row in range(1, ours.max_row + 1):
        for column in (1, 3, 4):
            assert theirs.cell(row, column).value == ours.cell(row, column).value, (row, column)


def test_bulks_are_inserted_in_row_order_between_rows_xlsxwriter_wrote(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    workbook = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    sheet = workbook.add_worksheet("表")
    for row in (0, 10, 20):
        sheet.write_number(row, 0, row)
    workbook.close()
    insert_into_package(
        path,
        [
            BulkRows("xl/worksheets/sheet1.xml", 10, 11, [[n] for n in range(11, 20)]),
            BulkRows("xl/worksheets/sheet1.xml", 0, 1, [[n] for n in range(1, 10)]),
        ],
    )
    values = [c.value for c in openpyxl.load_workbook(path)["表"]["A"]]
    assert values == list(range(21))


def test_the_summary_of_the_examples_is_the_same_with_every_table_rendered_in_bulk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real sheets (subtotals per division, the wrapped 问题清单, the awards) through the bulk path."""
    consolidation = consolidate(
        [REPOSITORY / p for p in (*EXAMPLES.values(), EXAMPLE_AWARDS)],
        REPOSITORY / EXAMPLE_PLAN,
        load_policy(),
    )
    monkeypatch.setattr(summary_workbook, "BULK_FROM_ROWS", 10**9)
    write_summary(consolidation, tmp_path / "plain.xlsx")
    inserted: list[BulkRows] = []

    def insert(path: Path, bulks: list[BulkRows]) -> None:
        inserted.extend(bulks)
        insert_into_package(path, bulks)

    monkeypatch.setattr(summary_workbook, "BULK_FROM_ROWS", 1)
    monkeypatch.setattr(summary_workbook, "insert_into_package", insert)
    write_summary(consolidation, tmp_path / "bulk.xlsx")
    assert {b.part for b in inserted} >= {"xl/worksheets/sheet3.xml", "xl/worksheets/sheet6.xml"}
    assert any(b.heights for b in inserted)  # wrapped rows (the 问题清单's) made tall in bulk, too
    with zipfile.ZipFile(tmp_path / "bulk.xlsx") as bulk, zipfile.ZipFile(tmp_path / "plain.xlsx") as plain:
        sheets = [name for name in plain.namelist() if name.startswith("xl/worksheets/sheet")]
        assert [bulk.read(name) for name in sheets] == [plain.read(name) for name in sheets]  # byte for byte


def test_write_behind_writes_every_piece_in_order_and_raises_a_failed_write() -> None:
    written: list[bytes] = []
    pieces = [f"<row>{n}</row>" if n % 3 else "" for n in range(40)]  # short pieces between long ones
    write_behind(written.append, iter(pieces))
    assert written == [piece.encode("utf-8") for piece in pieces]

    def failing(data: bytes) -> None:
        if data == b"<row>5</row>":
            raise OSError("disk full")
        written.append(data)

    with pytest.raises(OSError, match="disk full"):
        write_behind(failing, iter(pieces))
