"""The numbers of a printed page that every writer of a sheet shares (openpyxl's sheet builders and the
annotated copy's part writer): text widths, the row height that shows wrapped text whole, A4 margins and
the page-number footer."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from typing import Any

LINE_HEIGHT = 15  # points of a row of one line of 11-point text (Excel's 等线 row is 14.25)
# Points per line of wrapped 11-point text: LibreOffice's CJK font sets about 15.6 (a row of 4 lines
# at 15 each cut the last line's underscores), Excel's 等线 14.25.
WRAPPED_LINE_HEIGHT = 16
ROW_PADDING = 3  # points above and below the text of a row
MAX_ROW_HEIGHT = 409  # Excel's tallest row, in points
CELL_MARGIN = 1  # column width units taken by the cell's inner margins (and bold text's extra width)
PAGE_FOOTER = "第 &P 页，共 &N 页"
A4_PAPER = 9  # A4's paper size code in a sheet's page setup (ECMA-376 paperSize)
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.6, "bottom": 0.6}  # inches
HEADER_FOOTER_MARGIN = 0.3  # inches
# The most characters of one text printed (a terminal line, a cell of the 报送表 PDF); the JSON keeps it
# whole. A cell holds up to 32,767: an enterprise name of thousands would fill screens, or be a PDF row
# taller than the page, which reportlab cannot lay out.
TERMINAL_TEXT_LIMIT = 500
PDF_CELL_TEXT_LIMIT = 200


def shortened(text: str, limit: int) -> str:
    """The text, or its first `limit` characters followed by "…（共 N 字）"."""
    return text if len(text) <= limit else f"{text[:limit]}…（共 {len(text)} 字）"


def text_width(text: str) -> int:
    """The width of a line of text in column width units: a CJK or full-width character counts 2."""
    if text.isascii():  # no character of East Asian width W, F or A
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def line_count(text: str, width: float) -> int:
    """How many lines `text` wraps to in a column `width` units wide."""
    usable = max(width - CELL_MARGIN, 1)
    return sum(_part_lines(part, usable) for part in str(text).split("\n"))


def _part_lines(part: str, usable: float) -> int:
    """The lines of one line of text: its width lies between its length and its length plus its
    characters beyond ASCII (each at most one unit more); measured only when the two differ in lines."""
    length = len(part)
    beyond_ascii = length - len(part.encode("ascii", "ignore"))
    fewest, most = math.ceil(length / usable), math.ceil((length + beyond_ascii) / usable)
    return max(fewest if fewest == most else math.ceil(text_width(part) / usable), 1)


def lines_height(lines: int, font_size: float = 11) -> float:
    """The height (points) of a row showing `lines` lines of text."""
    return min(lines * WRAPPED_LINE_HEIGHT * font_size / 11 + ROW_PADDING, MAX_ROW_HEIGHT)


def wrapped_height(cells: Iterable[tuple[Any, float]], font_size: float = 11) -> float:
    """The row height (points) that shows each (text, column width) of the row wrapped in full: Excel does
    not grow a generated file's rows for their wrapped text, and LibreOffice and WPS grow them unevenly."""
    lines = max((line_count(text, width) for text, width in cells if text not in (None, "")), default=1)
    return lines_height(lines, font_size)


def wrapped_lines(rows: Sequence[Sequence[Any]], widths: Sequence[float]) -> list[int]:
    """Per row, the most lines a text of it (a value that is a str) wraps to in its column: what
    wrapped_height counts, found a column at a time. A text on one line is measured only when it may
    be wider than its column: its length plus its characters beyond ASCII (each at most one unit more);
    a text repeated in a column is measured once."""
    most = [1] * len(rows)
    for column, width in zip(zip(*rows, strict=True), widths, strict=False):
        usable = max(width - CELL_MARGIN, 1)
        counted: dict[str, int] = {}  # a column repeats its texts (a rule's fix, a unit): each counted once
        for n, value in enumerate(column):
            if type(value) is str and not _one_line(value, usable):
                if value not in counted:
                    counted[value] = line_count(value, width)
                most[n] = max(most[n], counted[value])
    return most


def _one_line(text: str, usable: float) -> bool:
    """Whether a text surely fits one line: no line break, and at most `usable` wide even if every
    character beyond ASCII were wide."""
    if "\n" in text:
        return False
    return 2 * len(text) <= usable or 2 * len(text) - len(text.encode("ascii", "ignore")) <= usable


# A sheet printed on pages of its own (the 拨付清单): its own page numbers whatever the workbook prints
# before it (the page number restarts at 1; the total is the sheet's, counted here, since LibreOffice's
# &N counts every page of the workbook).
SHEET_PAGE_FOOTER = "第 &P 页 共 {pages} 页"
# Any other sheet of a workbook whose sheets are printed together (the summary): its name and its own page
# number, from 1 (with the workbook's &N, LibreOffice counts every sheet's pages, and after a sheet that
# restarts its numbering the next ones would read 第 3 页，共 7 页 on the fifth page).
NAMED_SHEET_FOOTER = "&A　第 &P 页"
A4_POINTS = (595.28, 841.89)  # width, height in portrait
POINTS_PER_INCH = 72
CHARACTER_PIXELS = 7  # one column width unit of the default 11-point font, in pixels
COLUMN_PADDING_PIXELS = 5
POINTS_PER_PIXEL = 0.75
# Page breaks are placed for the scale at which the columns, in Excel's Calibri, fill WIDTH_SAFETY of the
# page's width, each page filled to PAGE_SAFETY of its height: a viewer that fits the columns to the
# width at a scale up to 1 / 0.92 × 0.85 ≈ 8% larger (LibreOffice's Carlito draws ~4% wider) still holds
# every page's rows, and one with wider fonts (a smaller scale) holds them with room to spare.
PAGE_SAFETY = 0.85
WIDTH_SAFETY = 0.92


def _printable(landscape: bool) -> tuple[float, float]:
    """The printable width and height of an A4 page within MARGINS, in points."""
    width, height = reversed(A4_POINTS) if landscape else A4_POINTS
    across = (MARGINS["left"] + MARGINS["right"]) * POINTS_PER_INCH
    down = (MARGINS["top"] + MARGINS["bottom"]) * POINTS_PER_INCH
    return width - across, height - down


def print_scale(widths: Iterable[float], landscape: bool) -> int:
    """The print scale (percent, 10–100) at which columns of these widths fit the page's width."""
    points = sum((w * CHARACTER_PIXELS + COLUMN_PADDING_PIXELS) * POINTS_PER_PIXEL for w in widths)
    across, _ = _printable(landscape)
    return max(10, min(100, math.floor(100 * across * WIDTH_SAFETY / points))) if points else 100


def pages_of(
    heights: list[float],
    scale: int,
    landscape: bool,
    repeated: int | None = None,
    keep_from: int | None = None,
    keep_with_next: Collection[int] = (),
) -> list[int]:
    """The rows (0-based) that begin a new printed page, for rows of these heights (points) at `scale`
    percent; the row `repeated` (a table's header) printed again at the top of each page after the
    first; the rows from `keep_from` to the end kept on one page when they fit on one; a row of
    `keep_with_next` (a section's heading) never last on a page, but moved to the next with its row."""
    _, down = _printable(landscape)
    room = down * PAGE_SAFETY * 100 / scale
    header = heights[repeated] if repeated is not None else 0
    breaks: list[int] = []
    used = 0.0
    for row, height in enumerate(heights):
        if used + height > room and row > 0:
            start = row
            while start - 1 in keep_with_next and start - 1 > (breaks[-1] if breaks else 0):
                start -= 1
            breaks.append(start)
            used = (header if repeated is not None and start > repeated else 0.0) + sum(heights[start:row])
        used += height
    if keep_from is not None and 0 < keep_from < len(heights):
        while keep_from - 1 in keep_with_next and keep_from - 1 > 0:
            keep_from -= 1  # (a heading just above the kept rows goes with them)
        tail = sum(heights[keep_from:])
        first = max([b for b in breaks if b <= keep_from], default=0)
        split = [b for b in breaks if b > keep_from]
        if split and tail + header <= room:
            # start the kept rows on a page of their own, then the rest as before ends there
            breaks = [b for b in breaks if b <= keep_from] + ([keep_from] if keep_from != first else [])
    return breaks
