"""The body rows of a long table drawn straight onto the page: each row measured once, the rows cut
into pages, each page its header (one reportlab Table, laid out once and drawn on every page) and
its rows drawn line by line with the grid around them.

reportlab's Table builds a style for every cell and lays out a Paragraph for every wrapped text, for
the measuring and again for the drawing: most of the time of a 报送表 of thousands of rows. Here a
text is wrapped once, between any two characters as the 报送表's Chinese text is (each character in
an embedded font that has it, pdf_fonts.Runs), and drawn as text runs.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache

from reportlab.lib import colors
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Flowable, Table

from addin.reports.pdf_fonts import Runs

LEFT, CENTRE, RIGHT = "left", "centre", "right"


@dataclass(frozen=True)
class CellStyle:
    """How a column's cells are drawn: in one font (`font`) or run by run in the fonts that have each
    character (`font` None); wrapped within the column or on one line."""

    size: float
    leading: float
    align: str = LEFT
    font: str | None = None
    wrap: bool = False
    color: colors.Color = colors.black
    smallest: float | None = None  # a one-line text too wide for its column is set smaller, down to this


@dataclass(frozen=True)
class Grid:
    """The table's geometry: column widths, cell padding, the grid's line width."""

    widths: Sequence[float]
    padding: float = 2
    top_padding: float = 1.5
    bottom_padding: float = 1.5
    line_width: float = 0.4


def fitted_size(text: str, room: float, font: str, size: float, smallest: float) -> float:
    """The size that sets `text` in `font` within `room` points: `size` when it fits, else smaller
    (to a tenth of a point), never below `smallest`."""
    wide = run_width(text, font, size)
    if wide <= room:
        return size
    return max(smallest, math.floor(size * room / wide * 10) / 10)


@cache
def _character_width(character: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(character, font, size)


_LATIN_WORD = re.compile(r"[!-~]+|.", re.DOTALL)  # a run of visible ASCII, else one character


def wrapped(text: str, width: float, style: CellStyle, runs: Runs) -> list[list[tuple[str, str]]]:
    """The text as lines no wider than `width` (one line unless the style wraps), broken between any
    two Chinese characters and around words of Latin letters and digits (a word wider than a line is
    broken too, as is a line's one character), each line as (font, text) runs."""
    if style.font is None:  # laid out as a Paragraph lays out text: runs of white space as one space
        text = " ".join(text.split())
    pieces = [(style.font, text)] if style.font else runs.split(text)
    if not style.wrap or line_width(pieces, style.size) <= width:
        return [pieces]
    lines: list[list[tuple[str, str]]] = [[]]
    used = 0.0
    for font, run in pieces:
        for word in _LATIN_WORD.findall(run):
            if word == " " and used == 0:
                continue  # a space where a line breaks is not drawn at the start of the next
            wide = sum(_character_width(character, font, style.size) for character in word)
            for part in [word] if wide <= width else list(word):
                part_width = wide if part is word else _character_width(part, font, style.size)
                if used + part_width > width and used > 0:
                    lines.append([])
                    used = 0.0
                line = lines[-1]
                if line and line[-1][0] == font:
                    line[-1] = (font, line[-1][1] + part)
                else:
                    line.append((font, part))
                used += part_width
    return lines


def line_width(line: list[tuple[str, str]], size: float) -> float:
    return sum(run_width(run, font, size) for font, run in line)


@lru_cache(maxsize=1 << 16)
def run_width(text: str, font: str, size: float) -> float:
    """A run's width in points (a table repeats its amounts, levels and marks: each measured once)."""
    return pdfmetrics.stringWidth(text, font, size)


Cell = str | tuple[str, CellStyle]  # a cell's text, in its column's style or its own


@dataclass
class _Row:
    cells: list[list[list[tuple[str, str]]]]  # per column, its lines, each as runs
    styles: list[CellStyle]  # per column, how its text is set (its size fitted to the column)
    height: float


class DrawnRows(Flowable):
    """Body rows under a header row, split over as many pages as they need (see the module's text).
    `header` is a one-row Table of the same column widths; `rows` hold each cell's text (or its text
    and a style of its own); `styles` say how each column is drawn."""

    def __init__(
        self,
        header: Table,
        rows: Sequence[Sequence[Cell]],
        styles: Sequence[CellStyle],
        grid: Grid,
        runs: Runs,
    ) -> None:
        super().__init__()
        self.hAlign = "CENTER"  # placed as reportlab places a Table, so it lines up with the rows below
        self.header, self.styles, self.grid = header, styles, grid
        self.width = sum(grid.widths)
        _, self.header_height = header.wrap(self.width, 10**6)
        self.rows = [self._measured(row, runs) for row in rows]
        self.ends = list(itertools.accumulate((row.height for row in self.rows), initial=0.0))
        self.start, self.end = 0, len(self.rows)

    def _measured(self, row: Sequence[Cell], runs: Runs) -> _Row:
        cells, styles, tallest = [], [], 0.0
        for column, (cell, style) in enumerate(zip(row, self.styles, strict=True)):
            text, style = cell if isinstance(cell, tuple) else (cell, style)
            room = self.grid.widths[column] - 2 * self.grid.padding
            if style.smallest is not None and style.font is not None:
                size = fitted_size(text, room, style.font, style.size, style.smallest)
                style = style if size == style.size else replace(style, size=size)
            lines = wrapped(text, room, style, runs)
            cells.append(lines)
            styles.append(style)
            tallest = max(tallest, len(lines) * style.leading)
        return _Row(cells, styles, tallest + self.grid.top_padding + self.grid.bottom_padding)

    def _height(self, start: int, end: int) -> float:
        return self.header_height + self.ends[end] - self.ends[start]

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:  # noqa: N803
        return self.width, self._height(self.start, self.end)

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:  # noqa: N803
        """The rows that fit below the header in AVAILHEIGHT, and the rest."""
        room = self.ends[self.start] + availHeight - self.header_height
        end = min(self.end, bisect.bisect_right(self.ends, room) - 1)
        if end <= self.start:
            return []  # not even one row fits: the frame moves on to the next page
        page, rest = copy.copy(self), copy.copy(self)
        page.end, rest.start = end, end
        rest.__dict__.pop("_postponed", None)  # platypus's mark of a flowable moved on once already
        return [page, rest]

    def draw(self) -> None:
        canvas, grid = self.canv, self.grid
        height = self._height(self.start, self.end)
        self.header.drawOn(canvas, 0, height - self.header_height)
        edges = list(itertools.accumulate(grid.widths, initial=0.0))
        top = height - self.header_height
        tops = [top - (self.ends[n] - self.ends[self.start]) for n in range(self.start, self.end + 1)]
        text = canvas.beginText()
        self._color = colors.black
        for row, row_top in zip(self.rows[self.start : self.end], tops, strict=False):
            for column, (lines, style) in enumerate(zip(row.cells, row.styles, strict=True)):
                self._draw_cell(text, lines, style, edges[column], edges[column + 1], row_top, row.height)
        canvas.drawText(text)
        canvas.setLineWidth(grid.line_width)
        canvas.setStrokeColor(colors.black)
        canvas.grid(edges, tops)

    def _draw_cell(
        self,
        text: object,
        lines: list[list[tuple[str, str]]],
        style: CellStyle,
        left: float,
        right: float,
        top: float,
        height: float,
    ) -> None:
        """A cell's lines, the block of them centred in the row's height."""
        if not any(lines):
            return
        size = style.size
        block = len(lines) * style.leading
        baseline = top - (height - block) / 2 - style.leading + (style.leading - size) / 2 + size * 0.2
        if style.color is not self._color:  # (reportlab's Color compares slowly)
            text.setFillColor(style.color)  # type: ignore[attr-defined]
            self._color = style.color
        for line in lines:
            wide = line_width(line, size) if style.align != LEFT else 0.0
            if style.align == RIGHT:
                x = right - self.grid.padding - wide
            elif style.align == CENTRE:
                x = (left + right - wide) / 2
            else:
                x = left + self.grid.padding
            text.setTextOrigin(x, baseline)  # type: ignore[attr-defined]
            for font, run in line:
                text.setFont(font, size)  # type: ignore[attr-defined]
                text.textOut(run)  # type: ignore[attr-defined]
            baseline -= style.leading
