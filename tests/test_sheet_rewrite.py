"""The streamed rewrite of a worksheet part behind annotated copies: the same result whatever the
chunks the XML arrives in, cells and rows added in order, namespace prefixes and implied references
handled, and what it cannot rewrite safely refused."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from addin.io.sheet_rewrite import CellChange, SheetEdits, rewrite_sheet
from addin.io.xlsx_parts import PackageError

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SHEET = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<x:worksheet xmlns:x="{MAIN}"><x:sheetViews><x:sheetView tabSelected="1" workbookViewId="0"/></x:sheetViews>'
    '<x:cols><x:col min="3" max="3" style="4"/></x:cols><x:sheetData>'
    '<x:row r="2" spans="1:3"><x:c r="A2" s="1"><x:v>1</x:v></x:c><x:c r="C2"><x:f>A2*2</x:f><x:v>2</x:v></x:c></x:row>'
    "<x:row><x:c><x:v>5</x:v></x:c><x:c/></x:row>"  # row 3, cells A3 and B3, all by their order
    '<x:row r="6" customFormat="1" s="2"/>'
    "</x:sheetData><x:pageMargins/></x:worksheet>"
).encode()
MARKS = {
    2: {1: CellChange(fill="FFC7CE"), 2: CellChange(fill="FFEB9C", formula="A2*3")},  # B2 is added
    3: {1: CellChange(fill="FFC7CE")},
    4: {2: CellChange(fill="FFC7CE")},  # a row that is not there
    6: {0: CellChange(fill="FFC7CE")},  # a self-closing row with its own format
    9: {3: CellChange(fill="FFC7CE")},  # after the last row
}


def rewritten(xml: bytes, size: int, cells=MARKS, drawing: str | None = "rIdN") -> tuple[bytes, list]:
    styles: list[tuple[int, str]] = []

    def style_for(style: int, fill: str) -> int:
        styles.append((style, fill))
        return 100 + len(styles)

    out: list[bytes] = []
    chunks = iter([xml[n : n + size] for n in range(0, len(xml), size)])
    rewrite_sheet("sheet.xml", chunks, out.append, SheetEdits(cells, drawing), style_for)
    return b"".join(out), styles


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
def test_the_same_rewrite_whatever_the_chunks(size: int) -> None:
    xml, styles = rewritten(SHEET, size)
    assert xml == rewritten(SHEET, 1 << 20)[0]
    root = ElementTree.fromstring(xml)
    cells = {c.get("r"): c for c in root.iter(f"{{{MAIN}}}c")}
    rows = [r.get("r") for r in root.iter(f"{{{MAIN}}}row")]
    assert rows == ["2", "3", "4", "6", "9"]
    assert [c.get("r") for c in root.iter(f"{{{MAIN}}}c")] == ["A2", "B2", "C2", "A3", "B3", "C4", "A6", "D9"]
    assert (
        cells["A2"].get("s") == "1"
        and cells["B2"].get("s")
        and cells["C2"].findtext(f"{{{MAIN}}}f") == "A2*3"
    )
    assert cells["C2"].find(f"{{{MAIN}}}v") is None, "a formula put back has no stale value"
    # the format each mark builds on: a cell's own, else its column's (C2 names none: column C's, as a cell
    # added in C4), the row's own format in row 6
    expected = [(0, "FFC7CE"), (4, "FFEB9C"), (0, "FFC7CE"), (4, "FFC7CE"), (2, "FFC7CE"), (0, "FFC7CE")]
    assert sorted(styles) == sorted(expected)
    assert b"tabSelected" not in xml and b"spans" not in xml
    assert xml.index(b"<x:legacyDrawing") > xml.index(b"<x:pageMargins")


def test_a_marked_cell_keeps_the_format_it_is_shown_with() -> None:
    """A cell that names no format is shown in its row's (customFormat) or else its column's: a mark
    builds on that one, so a money cell keeps showing 350,000.00; a format the cell names wins."""
    xml = (
        f'<worksheet xmlns="{MAIN}"><cols><col min="1" max="3" style="4"/></cols><sheetData>'
        '<row r="1"><c r="A1"><v>350000</v></c><c r="B1" s="7"><v>1</v></c><c r="C1" s="0"><v>2</v></c></row>'
        '<row r="2" customFormat="1" s="9"><c r="A2"><v>3</v></c></row>'
        "</sheetData></worksheet>"
    ).encode()
    cells = {1: {n: CellChange(fill="FFC7CE") for n in range(3)}, 2: {0: CellChange(fill="FFC7CE")}}
    out, styles = rewritten(xml, 1 << 20, cells, drawing=None)
    assert styles == [(4, "FFC7CE"), (7, "FFC7CE"), (0, "FFC7CE"), (9, "FFC7CE")]
    marked = {c.get("r"): c.get("s") for c in ElementTree.fromstring(out).iter(f"{{{MAIN}}}c")}
    assert marked == {"A1": "101", "B1": "102", "C1": "103", "A2": "104"}


@pytest.mark.parametrize("size", [7, 300, 1 << 20])
def test_long_runs_of_rows_to_keep(size: int) -> None:
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 501))
    xml = f'<worksheet xmlns="{MAIN}"><sheetData>{rows}</sheetData></worksheet>'.encode()
    cells = {400: {3: CellChange(fill="FFC7CE")}, 600: {0: CellChange(fill="FFC7CE")}}
    out, _ = rewritten(xml, size, cells, drawing=None)
    marked = b'<row r="400"><c r="A400"><v>400</v></c><c r="D400" s="101"/></row>'
    expected = xml.replace(b'<row r="400"><c r="A400"><v>400</v></c></row>', marked)
    assert out == expected.replace(b"</sheetData>", b'<row r="600"><c r="A600" s="102"/></row></sheetData>')


def test_an_empty_sheet_gets_its_rows() -> None:
    xml = f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>'.encode()
    out, _ = rewritten(xml, 5, {7: {0: CellChange(fill="FFC7CE")}}, drawing=None)
    assert (
        out
        == f'<worksheet xmlns="{MAIN}"><sheetData><row r="7"><c r="A7" s="101"/></row></sheetData></worksheet>'.encode()
    )


@pytest.mark.parametrize(
    ("xml", "says"),
    [
        (SHEET.replace(b'<x:row r="6"', b'<!-- <x:row r="4"/> --><x:row r="6"'), "注释"),
        (SHEET.replace(b'r="6"', b'r="1"'), "顺序"),
        (SHEET.replace(b"</x:sheetData>", b""), "不完整"),
        (SHEET.replace(b"<x:v>5", b"<x:v>\x015"), "控制字符"),
        (b'<!DOCTYPE x [<!ENTITY e "e">]>' + SHEET, "DTD"),
    ],
    ids=[
        "a comment among the rows",
        "rows out of order",
        "no end of the rows",
        "a control character",
        "a DTD",
    ],
)
def test_what_cannot_be_rewritten_safely_is_refused(xml: bytes, says: str) -> None:
    with pytest.raises(PackageError, match=says):
        rewritten(xml, 16)
