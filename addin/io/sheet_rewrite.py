"""A worksheet part rewritten as it is inflated, never held whole: the cells to mark get a new style
(a cell that does not exist is added in its place, a row too), formulas are put back, no sheet stays
selected (the workbook's first sheet is shown), and a <legacyDrawing> is added for the notes.

Only the rows holding a cell to change are taken apart; every other byte is copied as it is."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from xlsxwriter.utility import xl_col_to_name

from addin.io.sheet_extent import EXCEL_COLUMNS
from addin.io.workbook_reader import column_index
from addin.io.xlsx_parts import (
    PackageError,
    attribute,
    attribute_xml,
    has_forbidden_bytes,
    refuse_hostile_bytes,
    tag_pattern,
    with_attribute,
)

MAX_HEAD_BYTES = 16 * 1024**2  # the worksheet before its rows: views, column widths
RELATIONSHIPS_URI = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
# What follows <legacyDrawing> in a worksheet (CT_Worksheet's sequence): it is inserted before the first.
_AFTER_LEGACY_DRAWING = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(?:legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems"
    rb"|tableParts|extLst)(?=[\s/>])|</(?:[A-Za-z_][\w.-]*:)?worksheet\s*>"
)
_SHEET_DATA = re.compile(rb"<([A-Za-z_][\w.-]*:)?sheetData(?=[\s/>])[^>]*?(/?)>")
_REFERENCE = re.compile(rb"([A-Za-z]{1,3})(\d+)")
_SHEET_VIEW = re.compile(
    rb"""(<(?:[A-Za-z_][\w.-]*:)?sheetView)(?=[\s/>])((?:[^>"'/]+|"[^"]*"|'[^']*'|/(?!>))*)(/?>)"""
)


@dataclass(frozen=True)
class CellChange:
    fill: str | None = None  # a mark: the cell keeps its format, with this fill (RRGGBB)
    formula: str | None = None  # a formula put back (without "=")


StyleFor = Callable[[int, str], int]  # (the cell's style index, a fill) -> the marked style's index


@dataclass
class SheetEdits:
    cells: dict[int, dict[int, CellChange]]  # row (1-based) -> column (0-based) -> change
    legacy_drawing_id: str | None  # a relationship id for a <legacyDrawing> to add when there is none


def rewrite_sheet(
    part: str,
    chunks: Iterator[bytes],
    write: Callable[[bytes], object],
    edits: SheetEdits,
    style_for: StyleFor,
) -> str | None:
    """Write the worksheet `part` (its XML in `chunks`) with the edits made. Returns the id of the
    sheet's <legacyDrawing> when it had one (then nothing was added)."""
    rewriter = _Rewriter(part, chunks, write, edits, style_for)
    return rewriter.run()


class _Rewriter:
    def __init__(
        self,
        part: str,
        chunks: Iterator[bytes],
        write: Callable[[bytes], object],
        edits: SheetEdits,
        style_for: StyleFor,
    ) -> None:
        self.part, self.chunks, self.write, self.edits, self.style_for = part, chunks, write, edits, style_for
        self.rows = sorted(edits.cells)
        self.next_row = 0  # index in self.rows of the next row to change
        self.column_styles: dict[int, int] = {}
        self.prefix = b""

    def run(self) -> str | None:
        head, rest, empty = self._head()
        self.write(head)
        if empty:
            self.write(self._new_rows(None) + b"</" + self.prefix + b"sheetData>")
            return self._tail(rest + b"".join(self._checked(self.chunks)))
        return self._tail(self._rows(rest))

    def _checked(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            if has_forbidden_bytes(chunk) or b"<!" in chunk:
                refuse_hostile_bytes(self.part, chunk)
            yield chunk

    def _head(self) -> tuple[bytes, bytes, bool]:
        """The worksheet up to its <sheetData> (no sheet selected, an empty <sheetData/> opened), what
        follows it, and whether the sheet has no rows."""
        buffer = b""
        for chunk in self.chunks:
            buffer += chunk
            refuse_hostile_bytes(self.part, buffer[: MAX_HEAD_BYTES + len(chunk)])
            match = _SHEET_DATA.search(buffer)
            if match:
                self.prefix = match.group(1) or b""
                head = _unselected(buffer[: match.start()])
                self.column_styles = _column_styles(head, self.prefix)
                opening = b"<" + self.prefix + b"sheetData>" if match.group(2) else match.group(0)
                return head + opening, buffer[match.end() :], bool(match.group(2))
            if len(buffer) > MAX_HEAD_BYTES:
                break
        raise PackageError(f"工作表部件 {self.part} 中找不到单元格数据（<sheetData>）。")

    def _rows(self, rest: bytes) -> bytes:
        """Copy the rows, changing those to change; returns what follows the rows (from </sheetData>)."""
        p = self.prefix
        boundary = re.compile(
            rb"<"
            + re.escape(p)
            + rb"""row(?=[\s/>])((?:[^>"'/]+|"[^"]*"|'[^']*'|/(?!>))*)(/?)>|</"""
            + re.escape(p)
            + rb"sheetData\s*>"
        )
        chunks = self._checked(self.chunks)
        buffer, ended, previous = rest, False, 0
        self._refuse_markup_declarations(rest)
        while True:
            limit = len(buffer) if ended else buffer.rfind(b"<")  # every tag before it is whole
            skipped, last = self._skipped(buffer, limit, boundary, previous)
            if skipped:
                self.write(buffer[:skipped])
                buffer, limit, previous = buffer[skipped:], limit - skipped, last - 1
            written, keep = 0, max(limit, 0)
            for match in boundary.finditer(buffer, 0, max(limit, 0)):
                if match.group(0).startswith(b"</"):
                    self.write(buffer[written : match.start()] + self._new_rows(None))
                    return buffer[match.start() :] + b"".join(chunks)
                number = _number(attribute(match.group(1), b"r"), previous)
                if number <= previous:
                    raise PackageError(f"工作表部件 {self.part} 的第 {number} 行顺序错乱，无法标注。")
                missing = self._new_rows(number)
                tag = match.group(0)
                if attribute(match.group(1), b"r") is None:
                    tag = b"<" + p + b"row" + with_attribute(match.group(1), b"r", b"%d" % number)
                    tag += match.group(2) + b">"
                if not self._changes(number):
                    self.write(buffer[written : match.start()] + missing + tag)
                    written, previous = match.end(), number
                    continue
                end = boundary.search(buffer, match.end(), max(limit, 0))
                if end is None:  # the row goes on in the next chunk
                    self.write(buffer[written : match.start()] + missing)
                    keep = match.start()
                    previous = number - 1
                    break
                row = tag + buffer[match.end() : end.start()]
                self.write(buffer[written : match.start()] + missing + self._changed_row(row, number))
                self.next_row += 1
                written, previous = end.start(), number
            else:
                self.write(buffer[written:keep])
            if ended:
                raise PackageError(f"工作表部件 {self.part} 不完整（没有 </sheetData>）。")
            following = next(chunks, None)
            if following is None:
                ended = True
                following = b""
            self._refuse_markup_declarations(buffer[keep:][-1:] + following)
            buffer = buffer[keep:] + following

    def _skipped(
        self, buffer: bytes, limit: int, boundary: re.Pattern[bytes], previous: int
    ) -> tuple[int, int]:
        """How much of the buffer holds only rows that stay as they are, to copy without looking at each
        (all up to its last row, when that row is numbered and comes before the next row to change),
        and the number of that last row; (0, 0) when the rows must be looked at one by one."""
        last = buffer.rfind(b"<" + self.prefix + b"row", 0, max(limit, 0))
        match = boundary.match(buffer, last) if last > 0 else None
        if match is None or match.group(0).startswith(b"</"):
            return 0, 0
        number = _int(attribute(match.group(1), b"r"))
        following = self.rows[self.next_row] if self.next_row < len(self.rows) else None
        if number is None or number <= previous or (following is not None and number >= following):
            return 0, 0
        return last, number

    def _refuse_markup_declarations(self, xml: bytes) -> None:
        """Comments, CDATA and processing instructions among the rows: text in them may look like a row."""
        if (b"!" in xml and b"<!" in xml) or (b"?" in xml and b"<?" in xml):
            raise PackageError(
                f"工作表部件 {self.part} 的单元格数据中含有注释、CDATA 或处理指令，无法标注；"
                "请用 Excel 或 WPS 打开后另存为 .xlsx 再试。"
            )

    def _changes(self, number: int) -> dict[int, CellChange] | None:
        if self.next_row < len(self.rows) and self.rows[self.next_row] == number:
            return self.edits.cells[number]
        return None

    def _new_rows(self, before: int | None) -> bytes:
        """The rows to change that the sheet does not have, numbered below `before` (all when None)."""
        made = []
        while self.next_row < len(self.rows) and (before is None or self.rows[self.next_row] < before):
            number = self.rows[self.next_row]
            cells = b"".join(
                self._new_cell(number, column, change, None)
                for column, change in sorted(self.edits.cells[number].items())
            )
            made.append(b'<%srow r="%d">%s</%srow>' % (self.prefix, number, cells, self.prefix))
            self.next_row += 1
        return b"".join(made)

    def _inherited_style(self, column: int, row_style: int | None) -> int:
        """The format of a cell that names none: its row's (a row with customFormat), else its column's,
        as spreadsheets show it (a flagged cell keeps the number format it was shown with)."""
        return row_style if row_style is not None else self.column_styles.get(column, 0)

    def _new_cell(self, row: int, column: int, change: CellChange, row_style: int | None) -> bytes:
        style = self._inherited_style(column, row_style)
        if change.fill:
            style = self.style_for(style, change.fill)
        reference = f"{xl_col_to_name(column)}{row}".encode()
        styled = b' s="%d"' % style if style else b""
        if change.formula is None:
            return b'<%sc r="%s"%s/>' % (self.prefix, reference, styled)
        return b'<%sc r="%s"%s>%s</%sc>' % (
            self.prefix,
            reference,
            styled,
            self._formula(change),
            self.prefix,
        )

    def _formula(self, change: CellChange) -> bytes:
        text = attribute_xml(change.formula or "").encode()
        return b"<" + self.prefix + b"f>" + text + b"</" + self.prefix + b"f>"

    def _changed_row(self, row: bytes, number: int) -> bytes:
        """A row (its start tag to the next row) with its cells changed and the missing ones added."""
        p = self.prefix
        start = tag_pattern(p, b"row").match(row)
        assert start is not None  # the row was found by this very tag
        attributes, closed = start.group(1), bool(start.group(2))
        custom = attribute(attributes, b"customFormat") in (b"1", b"true")
        row_style = _int(attribute(attributes, b"s")) if custom else None
        if closed:
            body, after = b"", b"</" + p + b"row>" + row[start.end() :]
        else:
            close = row.rfind(b"</" + p + b"row")
            if close < 0:
                raise PackageError(f"工作表部件 {self.part} 的第 {number} 行不完整。")
            body, after = row[start.end() : close], row[close:]
        changes = self.edits.cells[number]
        todo = sorted(changes)
        out, written, column, k = [], 0, -1, 0
        cell_end = tag_pattern(p, b"c", closing=True)
        for cell in tag_pattern(p, b"c").finditer(body):
            if k == len(todo):
                break  # the rest of the row is copied as it is
            if cell.start() < written:
                continue  # (inside a cell already copied: cannot happen in well-formed XML)
            reference = attribute(cell.group(1), b"r")
            column = _column(reference, column)
            end = cell.end()
            if not cell.group(2):
                closing = cell_end.search(body, cell.end())
                if closing is None:
                    raise PackageError(f"工作表部件 {self.part} 的第 {number} 行有不完整的单元格。")
                end = closing.end()
            while k < len(todo) and todo[k] < column:
                out.append(body[written : cell.start()])
                out.append(self._new_cell(number, todo[k], changes[todo[k]], row_style))
                written, k = cell.start(), k + 1
            whole = body[cell.start() : end]
            if reference is None:  # a cell placed by its order gets its reference: cells are added
                whole = self._with_reference(whole, cell, number, column)
            if k < len(todo) and todo[k] == column:
                whole = self._changed_cell(whole, changes[column], row_style, column)
                k += 1
            out.append(body[written : cell.start()] + whole)
            written = end
        out.append(body[written:])
        out.extend(self._new_cell(number, c, changes[c], row_style) for c in todo[k:])
        attributes = with_attribute(attributes, b"spans", None)  # (a hint only, and cells may be added)
        if attribute(attributes, b"r") is None:
            attributes = with_attribute(attributes, b"r", b"%d" % number)
        return b"<" + p + b"row" + attributes + b">" + b"".join(out) + after

    def _with_reference(self, cell: bytes, start: re.Match[bytes], row: int, column: int) -> bytes:
        reference = f"{xl_col_to_name(column)}{row}".encode()
        tag = (
            b"<"
            + self.prefix
            + b"c"
            + with_attribute(start.group(1), b"r", reference)
            + start.group(2)
            + b">"
        )
        return tag + cell[start.end() - start.start() :]

    def _changed_cell(self, cell: bytes, change: CellChange, row_style: int | None, column: int) -> bytes:
        p = self.prefix
        start = tag_pattern(p, b"c").match(cell)
        assert start is not None
        attributes = start.group(1)
        if change.fill:
            own = attribute(attributes, b"s")
            base = self._inherited_style(column, row_style) if own is None else _int(own) or 0
            style = self.style_for(base, change.fill)
            attributes = with_attribute(attributes, b"s", b"%d" % style)
        if change.formula is not None and not _holds_shared_formula(cell, p):
            for name in (b"t", b"cm", b"vm"):
                attributes = with_attribute(attributes, name, None)
            return b"<" + p + b"c" + attributes + b">" + self._formula(change) + b"</" + p + b"c>"
        return b"<" + p + b"c" + attributes + start.group(2) + b">" + cell[start.end() :]

    def _tail(self, tail: bytes) -> str | None:
        """What follows the rows, with a <legacyDrawing> added unless there is one; the id of the one there was."""
        refuse_hostile_bytes(self.part, tail)
        existing = tag_pattern(self.prefix, b"legacyDrawing").search(tail)
        if existing:
            self.write(tail)
            found = re.search(rb"""(?:^|\s)[\w.-]+:id\s*=\s*["']([^"']*)["']""", existing.group(1))
            if found is None:
                raise PackageError(f"工作表部件 {self.part} 的批注绘图（legacyDrawing）没有关系编号。")
            return found.group(1).decode("utf-8", "replace")
        if self.edits.legacy_drawing_id is None:
            self.write(tail)
            return None
        where = _AFTER_LEGACY_DRAWING.search(tail)
        if where is None:
            raise PackageError(f"工作表部件 {self.part} 不完整（没有 </worksheet>）。")
        drawing = b'<%slegacyDrawing xmlns:r="%s" r:id="%s"/>' % (
            self.prefix,
            RELATIONSHIPS_URI,
            attribute_xml(self.edits.legacy_drawing_id).encode(),
        )
        self.write(tail[: where.start()] + drawing + tail[where.start() :])
        return None


def _unselected(head: bytes) -> bytes:
    """The head with no sheet view selected: the workbook opens on its new first sheet alone (two
    selected sheets would be grouped, and an edit would change both)."""
    return _SHEET_VIEW.sub(
        lambda m: m.group(1) + with_attribute(m.group(2), b"tabSelected", None) + m.group(3), head
    )


def unselect_sheet(chunks: Iterator[bytes], write: Callable[[bytes], object]) -> None:
    """Copy a sheet part (a worksheet or a chart sheet) with no sheet view selected; only its head,
    before the rows, is looked at."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        if _SHEET_DATA.search(buffer) or len(buffer) > MAX_HEAD_BYTES:
            break
    rows = _SHEET_DATA.search(buffer)
    end = rows.start() if rows else len(buffer)
    write(_unselected(buffer[:end]) + buffer[end:])
    for chunk in chunks:
        write(chunk)


def _column_styles(head: bytes, prefix: bytes) -> dict[int, int]:
    """The style of each column (0-based) that <cols> gives one: a cell added there takes it."""
    styles: dict[int, int] = {}
    for column in tag_pattern(prefix, b"col").finditer(head):
        style = _int(attribute(column.group(1), b"style"))
        first, last = _int(attribute(column.group(1), b"min")), _int(attribute(column.group(1), b"max"))
        if style and first and last and 1 <= first <= last:
            for n in range(first - 1, min(last, EXCEL_COLUMNS)):
                styles[n] = style
    return styles


def _holds_shared_formula(cell: bytes, prefix: bytes) -> bool:
    """The cell holds a shared formula's master: others refer to it, so it is left as it is."""
    formula = tag_pattern(prefix, b"f").search(cell)
    return formula is not None and attribute(formula.group(1), b"ref") is not None


def _number(value: bytes | None, previous: int) -> int:
    if value is None:
        return previous + 1
    number = _int(value)
    if number is None:
        raise PackageError(f"行号无效：{value.decode('utf-8', 'replace')}")
    return number


def _column(reference: bytes | None, previous: int) -> int:
    if reference is None:
        return previous + 1
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        raise PackageError(f"单元格地址无效：{reference.decode('utf-8', 'replace')}")
    return column_index(match.group(1).upper().decode())


def _int(value: bytes | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
