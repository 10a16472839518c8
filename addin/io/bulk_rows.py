"""The body rows of a large table, rendered straight into the sheet XML that XlsxWriter wrote (with
the table's first body row, whose cell styles they copy), as the very cells XlsxWriter writes."""

from __future__ import annotations

import math
import os
import re
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from addin.io.workbook_reader import column_index

# What Excel accepts in one cell (XlsxWriter truncates longer text to it, too).
MAX_TEXT = 32_767
CHUNK_ROWS = 5_000  # rows rendered at once: the XML of a large table is never held whole
WRITES_BEHIND = 3  # pieces rendered and waiting to be written, at most

_CELL_STYLE = re.compile(r'<c r="([A-Z]+)\d+"(?: s="(\d+)")?')
_ROW_START = re.compile(r'<row r="(\d+)"')
_DIMENSION = re.compile(r'<dimension ref="([A-Z]+\d+:)?([A-Z]+)(\d+)"/>')
_ESCAPED_ESCAPE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_EDGE_SPACE = re.compile(r"^\s|\s$")
# Text written as it is only when none of the escapes below would change it.
_NEEDS_ESCAPING = re.compile(r"[\x00-\x08\x0b-\x1f&<>\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_NUMBERS = {int, float, Decimal}


@dataclass
class BulkRows:
    """Rows to insert into one worksheet part; rows are 0-based, as XlsxWriter counts them."""

    part: str  # the worksheet's part in the package, e.g. xl/worksheets/sheet3.xml
    styled_row: int  # a row XlsxWriter wrote with the table's body formats
    first_row: int
    rows: list[list[Any]]
    heights: dict[int, float] = field(default_factory=dict)  # rows given a height (points), 0-based

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1


def excel_escapes(text: str) -> str:
    """Control characters as Excel's _xHHHH_ escapes (and a literal _xHHHH_ kept literal)."""
    text = _ESCAPED_ESCAPE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda match: f"_x{ord(match.group(1)):04X}_", text)
    return text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")


def xml_escapes(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cell_xml(reference: str, style: str | None, value: Any) -> str:
    """One cell as XlsxWriter writes it in constant-memory mode: a number, a boolean, inline text, or
    (None) a styled blank. Text is always text, never a formula."""
    styled = f' s="{style}"' if style else ""
    if value is None:
        return f'<c r="{reference}"{styled}/>' if style else ""
    if type(value) is bool:
        return f'<c r="{reference}"{styled} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float | Decimal) and math.isfinite(value):
        return f'<c r="{reference}"{styled}><v>{float(value):.16G}</v></c>'
    text = excel_escapes(str(value)[:MAX_TEXT])
    preserve = ' xml:space="preserve"' if _EDGE_SPACE.search(text) else ""
    return f'<c r="{reference}"{styled} t="inlineStr"><is><t{preserve}>{xml_escapes(text)}</t></is></c>'


def rows_xml(bulk: BulkRows, styles: dict[int, str | None]) -> Iterator[str]:
    """The rows as sheet XML, in pieces of CHUNK_ROWS rows; `styles`: the style of each column
    (0-based). Rendered a column at a time."""
    width = max((len(r) for r in bulk.rows), default=0)
    letters = [xl_col_to_name(n) for n in range(width)]
    for start in range(0, len(bulk.rows), CHUNK_ROWS):
        chunk = bulk.rows[start : start + CHUNK_ROWS]
        numbers = range(bulk.first_row + start + 1, bulk.first_row + start + len(chunk) + 1)
        cells = [
            column_xml(letter, styles.get(n), [r[n] if n < len(r) else None for r in chunk], numbers)
            for n, letter in enumerate(letters)
        ]
        yield "".join(
            f"{row_start(number, bulk.heights.get(number - 1))}{''.join(row)}</row>"
            for number, *row in zip(numbers, *cells, strict=True)
        )


def row_start(number: int, height: float | None) -> str:
    """A row's start tag (1-based `number`) as XlsxWriter writes it, with a height in points if any
    (XlsxWriter keeps a height as whole pixels, at 4/3 pixels a point)."""
    if height is None:
        return f'<row r="{number}">'
    points = int(height * 4 / 3 + 0.5) * 0.75
    return f'<row r="{number}" ht="{points:.16g}" customHeight="1">'


def column_xml(letter: str, style: str | None, values: list[Any], numbers: range) -> list[str]:
    """One column's cells, row by row: finite numbers and text that needs no escaping directly, any
    other value through cell_xml."""
    styled = f' s="{style}"' if style else ""
    cells = []
    for number, value in zip(numbers, values, strict=True):
        kind = type(value)
        if kind is str and len(value) < MAX_TEXT and not _NEEDS_ESCAPING.search(value):
            cells.append(f'<c r="{letter}{number}"{styled} t="inlineStr"><is><t>{value}</t></is></c>')
        elif kind in _NUMBERS and math.isfinite(amount := float(value)):
            cells.append(f'<c r="{letter}{number}"{styled}><v>{amount:.16G}</v></c>')
        else:
            cells.append(cell_xml(f"{letter}{number}", style, value))
    return cells


def _row_styles(xml: str, row: int) -> dict[int, str | None]:
    """The style of each cell of a row XlsxWriter wrote (0-based row), by 0-based column."""
    start = xml.index(f'<row r="{row + 1}"')
    end = xml.index("</row>", start)
    return {column_index(letters): style for letters, style in _CELL_STYLE.findall(xml[start:end])}


def sheet_pieces(xml: str, bulks: list[BulkRows]) -> Iterator[str]:
    """The worksheet XML with each bulk's rows inserted in row order, and its dimension covering them."""
    insertions = sorted(((_insertion_point(xml, bulk), bulk) for bulk in bulks), key=lambda pair: pair[0])
    last_row = max(bulk.last_row + 1 for bulk in bulks)
    done = 0
    for at, bulk in insertions:
        piece = xml[done:at]
        yield widened_dimension(piece, last_row) if done == 0 else piece
        yield from rows_xml(bulk, _row_styles(xml, bulk.styled_row))
        done = at
    yield xml[done:]


def _insertion_point(xml: str, bulk: BulkRows) -> int:
    """Before the first row XlsxWriter wrote below the bulk's rows, or at the end of the sheet data."""
    body_start = xml.index("<sheetData>") + len("<sheetData>")
    later = (m for m in _ROW_START.finditer(xml, body_start) if int(m.group(1)) > bulk.last_row + 1)
    following = next(later, None)
    return following.start() if following else xml.index("</sheetData>")


def widened_dimension(xml: str, last_row: int) -> str:
    """The sheet XML (its start at least) with its dimension reaching down to LAST_ROW (1-based)."""
    return _DIMENSION.sub(lambda match: _wider(match, last_row), xml, count=1)


def _wider(match: re.Match[str], last_row: int) -> str:
    first, column, row = match.group(1) or "A1:", match.group(2), int(match.group(3))
    return f'<dimension ref="{first}{column}{max(row, last_row)}"/>'


def insert_into_package(path: Path, bulks: list[BulkRows]) -> None:
    """Insert the rows into the worksheet parts of the .xlsx at `path` (a file we are writing; it is
    rewritten beside itself and renamed over)."""
    if not bulks:
        return
    rewritten = path.with_name(path.name + ".rows")
    try:
        with zipfile.ZipFile(path) as source, zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target:
            for info in source.infolist():
                info.compress_type = zipfile.ZIP_DEFLATED
                mine = [b for b in bulks if b.part == info.filename]
                if not mine:
                    target.writestr(info, source.read(info))
                    continue
                xml = source.read(info).decode("utf-8")
                with target.open(info, "w") as part:
                    write_behind(part.write, sheet_pieces(xml, mine))
        os.replace(rewritten, path)
    finally:
        rewritten.unlink(missing_ok=True)


def write_behind(write: Callable[[bytes], Any], pieces: Iterable[str]) -> None:
    """Write each piece (UTF-8) while the next ones are rendered: the writes, a zip entry's deflate, run
    in order on another core (zlib lets go of the interpreter lock while it compresses), at most
    WRITES_BEHIND pieces behind (a short piece between two long ones does not make the rendering wait
    for the long one's write). A failed write is raised here."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dtfund-write") as writer:
        pending: deque[Future[Any]] = deque()
        for piece in pieces:
            pending.append(writer.submit(write, piece.encode("utf-8")))
            if len(pending) > WRITES_BEHIND:
                pending.popleft().result()
        while pending:
            pending.popleft().result()
