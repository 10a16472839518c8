"""A large sheet parsed in parts gives exactly the rows of one parse of the whole sheet; a sheet that
cannot be cut safely is left to be parsed whole."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from addin import template_spec as spec
from addin.check import pipeline as check_module
from addin.check.pipeline import check_file
from addin.io import read_ahead as read_ahead_module
from addin.io import sheet_parts
from addin.io.cell_errors import find_error_cells
from addin.io.read_ahead import ParsedBook, read_ahead
from addin.io.workbook_reader import NotSplittable, Workbook
from addin.reports.check_report import result_document
from addin.templates.bundled import EXAMPLES, REPOSITORY
from schemas.policy import load_policy
from tests.support.read_ahead_checks import checked_without_and_with_reading_ahead

SHEET = "数据"
MEMBER = "xl/worksheets/sheet1.xml"


def _nothing_left_but_the_run_folder(scratch: Path) -> None:
    """Every part's file and folder removed: what is left is the run's own folder with its lock, which
    goes when the process ends (or is removed by the next run, addin.io.scratch)."""
    left = sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*"))
    run = f"dtfund-{os.getuid()}/{sheet_parts.run_folder().name}"
    assert left == [f"dtfund-{os.getuid()}", run, f"{run}/lock"]


def _whole(path: Path, sheet: str, nrows: int | None = None) -> list[list]:
    parsed = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet)
    return (
        parsed.to_python(skip_empty_area=False, nrows=nrows)
        if nrows
        else parsed.to_python(skip_empty_area=False)
    )


def _varied_sheet(path: Path, rows: int = 1500) -> Path:
    """Text, numbers, dates, blanks; runs of empty rows; rows that start further right; a long text."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet["B2"] = "标题"
    for n in range(5, rows):
        if n % 97 < 12:
            continue  # a run of empty rows, some of them where a part would be cut
        first = 1 if n % 5 else 3
        sheet.cell(n, first, f"企业{n}")
        sheet.cell(n, 4, n * 1.25)
        sheet.cell(n, 5, dt.date(2025, 1, 1) + dt.timedelta(days=n % 300))
        if n % 7 == 0:
            sheet.cell(n, 9, "长" * 300)
    sheet.cell(rows + 40, 12, "最后")
    book.save(path)
    return path


def _rewrite(path: Path, change: Callable[[str], str]) -> Path:
    """The same workbook with its sheet's XML changed."""
    changed = path.with_name(f"changed-{path.name}")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(changed, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            content = source.read(entry)
            if entry.filename == MEMBER:
                content = change(content.decode("utf-8")).encode("utf-8")
            target.writestr(entry, content)
    return changed


def test_the_rows_of_the_parts_are_the_rows_of_the_whole_sheet(small_parts: Path, tmp_path: Path) -> None:
    path = _varied_sheet(tmp_path / "varied.xlsx")
    parted = sheet_parts.parse_in_parts(path, SHEET)
    assert parted is not None and len(list(parted.blocks())) > 20
    assert parted.to_python() == _whole(path, SHEET)
    for nrows in (1, 3, 700, 5000):
        assert parted.to_python(nrows=nrows) == _whole(path, SHEET, nrows)
    _nothing_left_but_the_run_folder(small_parts)


def test_every_example_sheet_parsed_in_parts_is_the_whole_sheet(small_parts: Path) -> None:
    for relative in EXAMPLES.values():
        path = REPOSITORY / relative
        names = python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names
        for sheet in (s for s in names if s in (spec.DATA_SHEET, spec.PLAN_SHEET)):
            parted = sheet_parts.parse_in_parts(path, sheet)
            assert parted is not None, (relative, sheet)
            assert parted.to_python() == _whole(path, sheet), (relative, sheet)


def test_a_namespace_prefix_on_the_tags_is_followed(small_parts: Path, tmp_path: Path) -> None:
    def prefixed(xml: str) -> str:
        xml = re.sub(r"<(/?)(?!\?)([A-Za-z]+)([\s>/])", r"<\1x:\2\3", xml)
        return xml.replace(
            'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
            'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
        )

    path = _rewrite(_varied_sheet(tmp_path / "varied.xlsx"), prefixed)
    parted = sheet_parts.parse_in_parts(path, SHEET)
    assert parted is not None and len(list(parted.blocks())) > 20
    assert parted.to_python() == _whole(path, SHEET)


_FORMULA_CELL = re.compile(r'<c r="([A-Z]+\d+)" s="(\d+)"><f>([^<]*)</f><v />')


def _with_cached_results(xml: str) -> str:
    """The template's formulas with the results a spreadsheet caches, of every kind and form: numbers,
    text (and empty text), error values, booleans, attributes on the formula, no value, an empty
    formula, `<v/>`."""
    forms = [
        '<c r="{0}" s="{1}"><f>{2}</f><v>12.5</v>',
        '<c r="{0}" s="{1}" t="str"><f>{2}</f><v>文本</v>',
        '<c r="{0}" s="{1}" t="str"><f>{2}</f><v></v>',
        '<c r="{0}" s="{1}" t="e"><f>{2}</f><v>#DIV/0!</v>',
        '<c r="{0}" s="{1}" t="b"><f>{2}</f><v>1</v>',
        '<c r="{0}" s="{1}"><f aca="false">{2}</f><v>7</v>',
        '<c r="{0}" s="{1}"><f>{2}</f>',
        '<c r="{0}" s="{1}"><f></f><v>3</v>',
        '<c r="{0}" s="{1}"><f>{2}</f><v/>',
    ]
    count = itertools.count()
    return _FORMULA_CELL.sub(lambda m: forms[next(count) % len(forms)].format(*m.groups()), xml)


@pytest.mark.parametrize("slice_bytes", [sheet_parts.SLICE_BYTES, 97])
def test_formulas_left_out_of_the_parts_change_no_value(
    slice_bytes: int, small_parts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """python-calamine reads a formula's cached result, never the formula: the parts are written without
    the formulas, and give the rows and the check of the whole sheet (slices of 97 bytes: formulas cut
    by a slice's end stay in)."""
    monkeypatch.setattr(sheet_parts, "SLICE_BYTES", slice_bytes)
    example = shutil.copy(REPOSITORY / EXAMPLES["第八师石河子市"], tmp_path / "example.xlsx")
    path = _rewrite(example, _with_cached_results)
    written: list[bytes] = []
    write_part = sheet_parts._write_part

    def recorded(part: Path, others: list, member: str, pieces: list[bytes]) -> None:
        written.append(b"".join(pieces))
        write_part(part, others, member, pieces)

    monkeypatch.setattr(sheet_parts, "_write_part", recorded)
    sheet = spec.DATA_SHEET
    whole = Workbook(path).rows(sheet)
    assert any("#DIV/0!" in map(str, row) for row in whole)  # the error values are read, too
    assert _read_ahead_with(path, sheet).rows(sheet) == whole
    with zipfile.ZipFile(path) as archive:
        formulas = archive.read(MEMBER).count(b"<f")
    left = sum(part.count(b"<f") for part in written)
    assert formulas > 1000 and len(written) > 5
    # most were left out (not those with attributes or without a value, nor those a chunk cuts)
    assert left < formulas / 2 if slice_bytes > 1000 else left < formulas

    checked_whole, checked_in_parts = checked_without_and_with_reading_ahead(path, load_policy())
    assert checked_in_parts == checked_whole


@pytest.mark.parametrize(
    "rows",
    [
        # markup inside a value's text (the schema allows none; found by a review): its text stays
        '<row r="5"><c r="A5" t="inlineStr"><is><t>a<f>b</f><v>c</v></t></is></c></row>',
        '<row r="5"><c r="A5" t="inlineStr"><is><r><t>a<f>b</f><v>c</v></t></r></is></c></row>',
        '<row r="5"><c r="A5" t="str"><v>ok<f>BAD</f><v>!</v></c></row>',
        '<row r="5"><c r="C5"><v><f>5</f><v></v></c></row>',
        # two formulas before an error value: the error search sees the cell as before
        '<row r="5"><c r="B5" t="e"><f>a</f><f>B5/0</f><v>#DIV/0!</v></c></row>',
        # a formula inside an attribute value
        '<row r="5"><c r="A5" a="<f>x</f><v/>"><v>1</v></c></row>',
        # what writers write: taken out
        '<row r="5"><c r="A5" s="4"><f>SUM(B5:C5)</f><v>3</v></c><c r="B5" t="str"><f>""</f><v></v></c></row>',
    ],
)
def test_formulas_are_taken_out_only_where_nothing_read_changes(rows: str, tmp_path: Path) -> None:
    """The sheet read by python-calamine (values and used area) and its error values are the same with
    the formulas taken out as without."""
    example = shutil.copy(REPOSITORY / EXAMPLES["第八师石河子市"], tmp_path / "example.xlsx")

    def with_rows(xml: str) -> str:
        return re.sub(r"<sheetData>.*</sheetData>", f"<sheetData>{rows}</sheetData>", xml, flags=re.S)

    original = _rewrite(example, with_rows)
    with zipfile.ZipFile(original) as archive:
        xml = archive.read(MEMBER)
    stripped = sheet_parts._without_formulas(xml)
    path = _rewrite(original, lambda _: stripped.decode())

    def read(book: Path) -> tuple:
        try:
            parsed = python_calamine.CalamineWorkbook.from_path(str(book)).get_sheet_by_name(spec.DATA_SHEET)
        except Exception as exc:  # noqa: BLE001 - a sheet python-calamine refuses is refused in both
            return ("refused", type(exc).__name__)
        return parsed.to_python(), parsed.start, parsed.end

    assert read(original) == read(path)
    assert find_error_cells([xml]) == find_error_cells([stripped])
    assert (stripped != xml) == rows.startswith('<row r="5"><c r="A5" s="4">')


def _move_row_first(xml: str, number: int) -> str:
    row = re.search(rf'<row r="{number}"[^>]*>.*?</row>', xml)[0]
    return xml.replace(row, "", 1).replace("<sheetData>", "<sheetData>" + row, 1)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(
            lambda xml: re.sub(r'(<row[^>]*?) r="\d+"', r"\1", xml), id="rows without their numbers"
        ),
        pytest.param(
            lambda xml: xml.replace('<row r="600"', '<!-- <row r="1"> --><row r="600"'),
            id="a comment among the rows",
        ),
        pytest.param(
            lambda xml: xml.replace('<row r="600"', '<?note <row ?><row r="600"'),
            id="a processing instruction among the rows",
        ),
        pytest.param(
            lambda xml: _move_row_first(xml, 1400),
            id="rows out of order",
        ),
    ],
)
def test_a_sheet_that_cannot_be_cut_safely_is_refused(change, small_parts: Path, tmp_path: Path) -> None:
    """Found as the sheet is cut, perhaps after some parts were handed on: reading it in parts fails,
    and goes on failing, once the cutting has stopped and put its temporary files away."""
    path = _rewrite(_varied_sheet(tmp_path / "varied.xlsx"), change)
    parted = sheet_parts.parse_in_parts(path, SHEET)
    assert parted is not None
    with pytest.raises(NotSplittable):
        parted.to_python()
    _nothing_left_but_the_run_folder(small_parts)
    with pytest.raises(NotSplittable):
        next(parted.blocks())
    assert _read_ahead_with(path, SHEET).rows(SHEET) == _whole(path, SHEET)  # the reader parses it whole


def _read_ahead_with(path: Path, sheet: str) -> Workbook:
    """A reader of the workbook whose sheet was read ahead in parts."""
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return Workbook(path, ParsedBook(book, {sheet: sheet_parts.parse_in_parts(path, sheet)}, {}))


def test_a_small_sheet_or_a_single_core_is_left_whole(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _varied_sheet(tmp_path / "varied.xlsx")
    assert sheet_parts.parse_in_parts(path, SHEET) is None  # far below two parts of the default size
    monkeypatch.setattr(sheet_parts, "PART_BYTES", 16 * 1024)
    monkeypatch.setattr(sheet_parts.os, "cpu_count", lambda: 1)
    assert sheet_parts.parse_in_parts(path, SHEET) is None


def test_the_check_is_the_same_when_its_sheets_are_parsed_in_parts(
    small_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = load_policy()
    parted_sheets = []

    def recorded(path: Path, sheet: str) -> sheet_parts.PartedSheet | None:
        parted_sheets.append(sheet_parts.parse_in_parts(path, sheet))
        return parted_sheets[-1]

    monkeypatch.setattr(read_ahead_module, "parse_in_parts", recorded)
    for relative in EXAMPLES.values():
        whole, parted = checked_without_and_with_reading_ahead(REPOSITORY / relative, policy)
        assert parted == whole, relative
    assert sum(parsed is not None for parsed in parted_sheets) >= len(EXAMPLES)


def test_a_part_failing_after_others_were_taken_starts_the_check_over_on_the_whole_sheet(
    small_parts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check converts the first parts while later ones parse; when a later part fails, what it
    took is dropped and the whole sheet is checked instead: the same result as a check without parts."""
    policy = load_policy()
    path = REPOSITORY / EXAMPLES["第八师石河子市"]
    parse_part = sheet_parts._parse_part

    def failing(part_path: Path, *args: object) -> sheet_parts.Block:
        if part_path.name == "part-2.xlsx":
            raise OSError("磁盘已满")
        return parse_part(part_path, *args)

    handed_on: list[int] = []
    compute_blocks = check_module.compute_blocks

    def counted(blocks, policy, keep_raw=True):  # noqa: ANN001, ANN202 - the wrapped function's own types
        counting = (handed_on.append(len(raw.rows)) or raw for raw in blocks)
        return compute_blocks(counting, policy, keep_raw)

    monkeypatch.setattr(check_module, "compute_blocks", counted)
    whole = result_document(check_file(path, policy))
    whole_table = handed_on.pop()  # the table of the sheet parsed whole, in one block
    monkeypatch.setattr(sheet_parts, "_parse_part", failing)
    read_ahead.start([path])
    parted = result_document(check_file(path, policy))
    whole.pop("checked_at"), parted.pop("checked_at")
    assert parted == whole
    # the blocks of parts 0 and 1 were taken before part 2 failed, then the whole table in one block
    assert handed_on[2:] == [whole_table] and 0 < handed_on[0] + handed_on[1] < whole_table + 1
    _nothing_left_but_the_run_folder(small_parts)


def test_rows_let_go_of_once_read_are_read_again_whole(small_parts: Path, tmp_path: Path) -> None:
    """A table's rows read in parts are let go of as they are handed on (let_go_below); the rows above
    the table stay for what is read of them later, and a later read of the rest parses the sheet whole:
    the same rows, never fewer."""
    path = _varied_sheet(tmp_path / "varied.xlsx")
    whole = _whole(path, SHEET)
    book = _read_ahead_with(path, SHEET)
    book.let_go_below(SHEET, 5)
    blocks = list(book.row_blocks(SHEET))
    assert len(blocks) > 2  # read in parts
    with pytest.raises(NotSplittable):  # read again: the parts let go of cannot be handed on twice
        list(book.row_blocks(SHEET))
    book = _read_ahead_with(path, SHEET)
    book.let_go_below(SHEET, 5)
    assert len(list(book.row_blocks(SHEET))) == len(blocks)
    book.keep_rows_above(SHEET, 5)
    assert book.rows(SHEET, upto=4) == whole[:4]  # kept: no second parse
    assert book.rows(SHEET) == whole  # let go of: parsed whole again
