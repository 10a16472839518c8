"""Text from a workbook or the command line (cell values, file, sheet and unit names, messages that quote
them) as the terminal shows it: plain text, never rich markup, and every character that would act on
the terminal (escape sequences, other C0/C1 controls, bidirectional overrides) shown as a visible mark
instead. Every terminal printer passes such text through `plain` or `visible`."""

from __future__ import annotations

import re
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.measure import Measurement
from rich.table import Table as RichTable
from rich.text import Text

from addin.io.print_layout import TERMINAL_TEXT_LIMIT, shortened

# C0 controls but tab and line feed, DEL, C1 controls, and the bidirectional marks and overrides.
_ACTING = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_C0_PICTURES = 0x2400  # U+2400 ␀ … U+241F ␟: the Unicode pictures of the C0 controls
_DELETE_PICTURE = "\u2421"  # ␡
TEXT_FOLDED = 4  # terminal cells a text column may fold down to (two Chinese characters) before a
# table is drawn more compactly


SHORT_SOURCE = 2  # 中央 / 兵团 / 师市: a funding source's short name in narrow tables


def _mark(match: re.Match[str]) -> str:
    code = ord(match[0])
    if code < 0x20:
        return chr(_C0_PICTURES + code)
    if code == 0x7F:
        return _DELETE_PICTURE
    return f"\\u{code:04x}"


def visible(text: Any) -> str:
    """The text with each character that acts on a terminal replaced by a visible mark: ESC as ␛,
    U+202E as \\u202e; a text longer than TERMINAL_TEXT_LIMIT cut short with "…"."""
    return _ACTING.sub(_mark, shortened("" if text is None else str(text), TERMINAL_TEXT_LIMIT))


def plain(text: Any, style: str = "") -> Text:
    """The text as a rich Text (never parsed as markup), its acting characters made visible."""
    return Text(visible(text), style=style)


def labelled(label: str, text: Any, style: str = "bold") -> Text:
    """ "label：text", the label styled, the text plain."""
    return Text.assemble((label, style), "：", visible(text))


def add_amount_column(table: RichTable, header: str) -> None:
    """A column of amounts or counts: right-aligned, and never broken inside a number (the text columns
    fold instead when the terminal is narrow)."""
    table.add_column(header, justify="right", no_wrap=True)


def print_table(console: Console, table: RichTable) -> None:
    """A table whose numbers stay whole: as it is where it fits the terminal; else with less ruling;
    else, on a very narrow terminal, each row as a block of "header：value" lines."""
    if not any(column.no_wrap for column in table.columns) or _fits(console, table):
        console.print(table)
        return
    table.box, table.show_edge, table.pad_edge, table.show_lines = box.SIMPLE_HEAD, False, False, False
    if _fits(console, table):
        console.print(table)
        return
    console.print(_as_blocks(table))


def _fits(console: Console, table: RichTable) -> bool:
    """Whether the number columns fit whole, the text columns folded down to TEXT_FOLDED cells."""
    options = console.options.update_width(10 * console.width)
    needed = 0
    for column in table.columns:
        widest = max(
            (Measurement.get(console, options, cell).maximum for cell in [column.header, *column.cells]),
            default=0,
        )
        needed += widest if column.no_wrap else max(min(widest, TEXT_FOLDED), column.min_width or 0)
    count = len(table.columns)
    edges = 2 if table.box and table.show_edge else 0
    padding = 2 * count - (0 if table.pad_edge else 2)
    return needed + (count - 1 if table.box else 0) + edges + padding <= console.width


def _as_blocks(table: RichTable) -> Group:
    """Each row as its text cells on one line, then one line per number column: "header：value"."""
    lines: list[Text] = [] if table.title is None else [Text(str(table.title), style="bold")]
    columns = [(column, list(column.cells)) for column in table.columns]
    for n in range(table.row_count):
        title = [_text(cells[n]) for column, cells in columns if not column.no_wrap]
        lines.append(Text("　").join(part for part in title if part.plain) or Text("—"))
        for column, cells in columns:
            if column.no_wrap:
                lines.append(Text.assemble("  ", _text(column.header), "：", _text(cells[n])))
    return Group(*lines)


def _text(cell: Any) -> Text:
    return cell.copy() if isinstance(cell, Text) else Text(str(cell))
