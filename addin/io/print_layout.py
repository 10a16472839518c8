"""The numbers of a printed page that every writer of a sheet shares (openpyxl's sheet builders and the
annotated copy's part writer): text widths, the row height that shows wrapped text whole, A4 margins and
the page-number footer."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from typing import Any

LINE_HEIGHT = 15  # points per line of 11-point text (Excel's 等线 row is 14.25, LibreOffice's CJK ~14)
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
    return sum(2 if unicodedata.east_asian_width(ch) in "WFA" else 1 for ch in text)


def line_count(text: str, width: float) -> int:
    """How many lines `text` wraps to in a column `width` units wide."""
    usable = max(width - CELL_MARGIN, 1)
    return sum(max(math.ceil(text_width(part) / usable), 1) for part in str(text).split("\n"))


def wrapped_height(cells: Iterable[tuple[Any, float]], font_size: float = 11) -> float:
    """The row height (points) that shows each (text, column width) of the row wrapped in full: Excel does
    not grow a generated file's rows for their wrapped text, and LibreOffice and WPS grow them unevenly."""
    lines = max((line_count(text, width) for text, width in cells if text not in (None, "")), default=1)
    return min(lines * LINE_HEIGHT * font_size / 11 + ROW_PADDING, MAX_ROW_HEIGHT)
