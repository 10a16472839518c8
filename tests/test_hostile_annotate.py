"""Hostile workbooks given to `dtfund check --annotate`: the check's JSON is written whatever happens to
the copy, which is either complete or refused with a Chinese message (exit 2), never a traceback, in
bounded time and memory; nothing half-written is left behind."""

from __future__ import annotations

import json
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from tests.support.hostile import EXAMPLE
from tests.test_hostile import ROUND_TWO_MEMORY_LIMIT, dtfund

SECONDS = 30
STYLES = "xl/styles.xml"
SHEET = "xl/worksheets/sheet1.xml"


def _rewrite(target: Path, change: Callable[[str, bytes], bytes]) -> Path:
    with zipfile.ZipFile(EXAMPLE) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in source.infolist():
            out.writestr(entry.filename, change(entry.filename, source.read(entry.filename)))
    return target


def _in_part(part: str, edit: Callable[[bytes], bytes]) -> Callable[[str, bytes], bytes]:
    return lambda name, content: edit(content) if name == part else content


def control_character_in_styles(folder: Path) -> Path:
    return _rewrite(
        folder / "control.xlsx", _in_part(STYLES, lambda xml: xml.replace(b"yyyy-mm-dd", b"yyyy\x01mm"))
    )


def doctype_in_styles(folder: Path) -> Path:
    doctype = b'<!DOCTYPE styleSheet [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
    return _rewrite(folder / "doctype-styles.xlsx", _in_part(STYLES, lambda xml: doctype + xml))


def doctype_in_sheet(folder: Path) -> Path:
    doctype = b'<!DOCTYPE worksheet [<!ENTITY e "x">]>'
    return _rewrite(folder / "doctype-sheet.xlsx", _in_part(SHEET, lambda xml: doctype + xml))


def three_million_cell_formats(
    folder: Path, element: bytes = b'<xf numFmtId="%d" fontId="0" xfId="0"/>'
) -> Path:
    def edit(xml: bytes) -> bytes:
        formats = b"".join(element % (n % 997) if b"%d" in element else element for n in range(3_000_000))
        xml = re.sub(rb'<cellXfs count="\d+">', b'<cellXfs count="3000023">', xml)
        return xml.replace(b"</cellXfs>", formats + b"</cellXfs>")

    return _rewrite(folder / "formats.xlsx", _in_part(STYLES, edit))


def rows_to_the_last(folder: Path) -> Path:
    rows = b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n) for n in range(1000, 1_048_577))
    return _rewrite(
        folder / "last-row.xlsx",
        _in_part(SHEET, lambda xml: xml.replace(b"</sheetData>", rows + b"</sheetData>")),
    )


REFUSED = [
    ("a control character in the styles", control_character_in_styles, "控制字符"),
    ("a DTD in the styles", doctype_in_styles, "DTD"),
    ("a DTD in the marked sheet", doctype_in_sheet, "DTD"),
    ("3 million cell formats", three_million_cell_formats, ""),
]


def _run(path: Path, folder: Path) -> tuple[int, str, dict, Path, float]:
    started = time.monotonic()
    annotated = folder / "out" / "annotated.xlsx"
    annotated.parent.mkdir()
    process = dtfund(
        "check",
        path,
        "--json",
        folder / "result.json",
        "--annotate",
        annotated,
        memory=ROUND_TWO_MEMORY_LIMIT,
    )
    elapsed = time.monotonic() - started
    output = process.stdout + process.stderr
    assert "Traceback" not in output
    document = json.loads((folder / "result.json").read_text("utf-8"))
    return process.returncode, output, document, annotated, elapsed


@pytest.mark.parametrize(("name", "build", "says"), REFUSED, ids=[case[0] for case in REFUSED])
def test_a_hostile_part_is_refused_after_the_json(name: str, build, says: str, tmp_path: Path) -> None:
    path = build(tmp_path)
    before = path.read_bytes()
    code, output, document, annotated, elapsed = _run(path, tmp_path)
    assert code == 2, output
    assert elapsed < SECONDS
    assert "root:x:0:0" not in output
    assert document["file"] and "valid" in document, "the check's JSON is written before the copy fails"
    assert document["valid"] is False and document["issues"], "the check itself read the file"
    assert "无法生成标注副本" in output and says in output
    assert not annotated.exists() and list(annotated.parent.iterdir()) == [], "nothing half-written"
    assert path.read_bytes() == before


def test_a_sheet_down_to_the_last_row_is_annotated_quickly(tmp_path: Path) -> None:
    path = rows_to_the_last(tmp_path)
    code, output, document, annotated, elapsed = _run(path, tmp_path)
    assert code in (1, 2), output
    assert elapsed < SECONDS  # the check alone reads a million rows; the copy adds a few seconds
    if code == 1:
        with zipfile.ZipFile(annotated) as copy:
            workbook = copy.read("xl/workbook.xml").decode("utf-8")
        assert workbook.index('name="校验结果"') < workbook.index('name="申报表"')


@pytest.mark.parametrize(
    ("element", "says"),
    [(b"<xf/>", "超过 65,490 项"), (b'<xf numFmtId="%d" fontId="0" xfId="0"/>', "MB 的上限")],
)
def test_styles_beyond_excels_limit_are_refused_fast(element: bytes, says: str, tmp_path: Path) -> None:
    """The copy alone, without the check: 3 million cell formats, in a styles part small enough to be
    read (15 MB) or not (110 MB), are refused in seconds."""
    from addin.io.xlsx_parts import PackageError
    from addin.io.xlsx_patch import PackageEdits, write_edited_copy

    path = three_million_cell_formats(tmp_path, element)
    started = time.monotonic()
    with pytest.raises(PackageError, match=says):
        write_edited_copy(
            path, PackageEdits(marks={"申报表": {"A5": ("FFC7CE", "说明")}}), tmp_path / "a.xlsx"
        )
    assert time.monotonic() - started < 10
    assert list(tmp_path.iterdir()) == [path], "nothing written"


def test_text_is_escaped_and_control_characters_replaced(tmp_path: Path) -> None:
    """Notes and the results sheet carry text from cells: markup and control characters stay text."""
    from addin.io.xlsx_patch import NewSheet, PackageEdits, SheetCell, write_edited_copy

    hostile = "<b>&amp;</b>\x1b[2J _x0041_ \"'"
    edits = PackageEdits(
        marks={"申报表": {"C7": ("FFC7CE", hostile), "AZ9999": ("FFEB9C", "新单元格")}},
        first_sheet=NewSheet("校验结果", [[SheetCell(hostile, "link", "'申报表'!C7")]], [20]),
        note_author="dtfund 校验",
    )
    target = tmp_path / "a.xlsx"
    write_edited_copy(EXAMPLE, edits, target)
    workbook = openpyxl.load_workbook(target)
    assert workbook.sheetnames[0] == "校验结果"
    shown = workbook["校验结果"]["A1"]
    # stored with Excel's escapes, which Excel shows as the text itself (openpyxl leaves them as they are)
    assert (
        shown.value == "<b>&amp;</b>_x001B_[2J _x005F_x0041_ \"'"
        and shown.hyperlink.location == "'申报表'!C7"
    )
    assert workbook["申报表"]["C7"].comment.text == shown.value
    added = workbook["申报表"]["AZ9999"]
    assert added.fill.fgColor.rgb == "FFFFEB9C" and added.comment.text == "新单元格"
