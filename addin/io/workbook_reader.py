"""Read a workbook safely and fast: the file's kind is sniffed first, the defined names come from
workbook.xml (parsed with defusedxml), and cell values come from python-calamine."""

from __future__ import annotations

import gc
import hashlib
import itertools
import os
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import python_calamine
from defusedxml import ElementTree

from addin.io.cell_errors import ErrorCells, UnplacedError, find_error_cells, put_errors
from addin.io.member_stream import open_member
from addin.io.read_limits import (
    MAX_OTHER_PART_BYTES,
    MAX_PART_RATIO,
    MAX_PARTS,
    MAX_UNCOMPRESSED_BYTES,
    RATIO_CHECKED_FROM_BYTES,
)
from addin.io.sheet_extent import (
    FAR_CELL_REMEDY,
    column_number,
    far_cell,
    far_cell_message,
    filled_rows_message,
    filled_rows_remedy,
    filled_run,
    rows_of,
    sheet_pieces,
    valued_rows,
)

_FORMULA_CELL = re.compile(
    rb"""<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br\s*=\s*["']([A-Z]+\d+)["'][^>]*>\s*<(?:[A-Za-z_][\w.-]*:)?f[\s/>]"""
)
MAX_LOOKED_UP_CELLS = 1000  # blank cells looked up for a formula at once (a regular-expression alternation)
SCAN_BYTES = 4 * 1024**2  # a sheet's XML is looked through for error values this much at a time
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED_STREAM = "EncryptionInfo"  # the stream of an encrypted workbook (MS-OFFCRYPTO)
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
RELATIONSHIPS_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
OFFICE_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?$")


# What to do about a file that cannot be read, where its reason does not say it.
ACCESS_REMEDY = "请检查该文件的访问权限。"
UNREADABLE_REMEDY = "请上报用本工具模板填写、未加密的 .xlsx 文件。"


class InputError(Exception):
    """The file cannot be read as a workbook of ours: the message says why, in Chinese; `remedy` what to
    do about it ("" where the message already says it)."""

    def __init__(self, message: str, remedy: str = UNREADABLE_REMEDY) -> None:
        super().__init__(message)
        self.remedy = remedy


class NotSplittable(Exception):
    """A sheet cannot be read in parts (addin.io.sheet_parts) after all: it is parsed whole instead."""


@dataclass(frozen=True)
class RowBlock:
    """Consecutive rows of a sheet: `rows[0][0]` is the cell at `first_row`, `first_column` (1-based);
    every row has the same length."""

    first_row: int
    first_column: int
    rows: list[list[Any]]


@dataclass(frozen=True)
class NamedRange:
    sheet: str
    first_column: str
    first_row: int
    last_column: str
    last_row: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sniff(path: Path) -> None:
    """Refuse what is not an .xlsx/.xlsm workbook, with a reason the clerk can act on."""
    require_regular_file(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f"无法读取 {path.name}：{exc.strerror or exc}。", remedy=ACCESS_REMEDY) from None
    if head == OLE_SIGNATURE:
        if _encrypted(path):
            raise InputError(
                f"{path.name} 设置了打开密码（已加密），无法读取。",
                remedy="请在 Excel 中取消密码后另存为 .xlsx 再校验。",
            )
        raise InputError(
            f"{path.name} 是旧版 Excel 97-2003 (.xls) 文件。",
            remedy="请用 Excel 或 WPS 另存为 .xlsx 后再校验。",
        )
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path.name} 不是有效的 Excel (.xlsx) 文件，可能已损坏或只是改了扩展名。")
    refuse_zip_bombs(path)


def _encrypted(path: Path) -> bool:
    """An OLE file holding an encrypted workbook: its directory lists an EncryptionInfo stream (olefile
    reads the header and the directory, not the whole file)."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            return ole.exists(ENCRYPTED_STREAM)
    except (OSError, ValueError):  # not a readable OLE file: an .xls with a damaged directory, say
        return False


def require_regular_file(path: Path) -> None:
    """Refuse what is not a regular file (a symbolic link to one is followed) before opening it: opening
    a named pipe waits forever for a writer, a device such as /dev/zero never ends."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise InputError(f"找不到文件：{path}。", remedy="请检查文件名和所在的文件夹。") from None
    except OSError as exc:
        raise InputError(f"无法读取 {path.name}：{exc.strerror or exc}。", remedy=ACCESS_REMEDY) from None
    if stat.S_ISDIR(mode):
        raise InputError(f"{path} 是文件夹。", remedy="请指定一个 .xlsx 文件。")
    if not stat.S_ISREG(mode):
        raise InputError(
            f"{path} 不是普通文件（而是管道、设备或套接字），已拒绝读取。",
            remedy="请指定保存在磁盘上的 .xlsx 文件。",
        )


def refuse_zip_bombs(path: Path) -> None:
    """Refuse a workbook whose parts would inflate to absurd sizes, before inflating any."""
    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError):
        raise InputError(f"{path.name} 已损坏，无法解压。") from None
    if len(parts) > MAX_PARTS:
        raise InputError(f"{path.name} 含有 {len(parts)} 个部件，不是正常的 Excel 文件，已拒绝读取。")
    total = sum(part.file_size for part in parts)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise InputError(
            f"{path.name} 解压后超过 {MAX_UNCOMPRESSED_BYTES // 1024**3} GB，已拒绝读取（疑似压缩炸弹）。"
        )
    for part in parts:
        if part.file_size >= RATIO_CHECKED_FROM_BYTES and part.file_size > MAX_PART_RATIO * max(
            part.compress_size, 1
        ):
            raise InputError(
                f"{path.name} 中的 {part.filename} 压缩比异常（{part.file_size // max(part.compress_size, 1)} 倍），"
                "已拒绝读取（疑似压缩炸弹）。"
            )
    oversized = [p for p in parts if p.file_size > MAX_OTHER_PART_BYTES]
    if oversized:
        try:
            with zipfile.ZipFile(path) as archive:
                if any(p.filename.startswith("xl/workbook.xml") or "_rels/" in p.filename for p in oversized):
                    raise KeyError("the workbook's own structure is oversized")
                sheets = set(sheet_members(archive).values())
        except InputError:
            raise
        except Exception:  # noqa: BLE001 - a workbook whose structure cannot be read is no sheet of ours
            sheets = set()
        for part in oversized:
            if part.filename not in sheets:
                raise InputError(
                    f"{path.name} 中的 {part.filename} 解压后有 {part.file_size // 1024**2} MB，"
                    f"超过 {MAX_OTHER_PART_BYTES // 1024**2} MB 的上限，已拒绝读取。",
                    remedy="请用 Excel 或 WPS 打开后另存为 .xlsx，或只保留模板的工作表。",
                )


def defined_names(path: Path) -> dict[str, NamedRange]:
    """The workbook-level defined names that refer to one cell or one range."""
    try:
        with zipfile.ZipFile(path) as archive:
            xml = archive.read("xl/workbook.xml")
    except KeyError:
        raise InputError(f"{path.name} 不是 Excel 工作簿（缺少 xl/workbook.xml）。") from None
    except (zipfile.BadZipFile, OSError):
        raise InputError(f"{path.name} 已损坏，无法解压。") from None
    try:
        root = ElementTree.fromstring(xml)
    except Exception:  # defusedxml raises several kinds for hostile or broken XML
        raise InputError(f"{path.name} 的工作簿结构（xl/workbook.xml）无法解析。") from None
    names: dict[str, NamedRange] = {}
    seen: set[str] = set()
    for node in root.iter(f"{MAIN_NS}definedName"):
        if node.get("localSheetId") is not None:
            continue
        name = node.get("name", "")
        if name.casefold() in seen:  # Excel's names ignore case: which one counts would be a guess
            raise InputError(
                f"{path.name} 中的定义名称“{name}”定义了不止一次，无法确定各列的位置。",
                remedy="请用 Excel 或 WPS 打开（公式 → 名称管理器）检查后重新保存。",
            )
        seen.add(name.casefold())
        ref = parse_reference(node.text or "")
        if ref:
            names[name] = ref
    return names


def sheet_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each sheet's name and the zip member holding its XML, from workbook.xml and its relationships
    (parsed with defusedxml: the workbook may be anyone's)."""
    targets = {
        node.get("Id"): node.get("Target", "")
        for node in ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels")).iter(
            f"{RELATIONSHIPS_NS}Relationship"
        )
    }
    members = {}
    for node in ElementTree.fromstring(archive.read("xl/workbook.xml")).iter(f"{MAIN_NS}sheet"):
        target = targets.get(node.get(OFFICE_RELATIONSHIP_ID))
        if target:
            members[node.get("name", "")] = (
                target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            )
    return members


def parse_reference(text: str) -> NamedRange | None:
    """'申报表'!$A$5:$A$2004 (with or without a leading =) as a NamedRange; None for anything else."""
    match = _REF.match(text.strip().lstrip("="))
    if not match:
        return None
    quoted, plain, col1, row1, col2, row2 = match.groups()
    sheet = quoted.replace("''", "'") if quoted else plain
    return NamedRange(sheet, col1, int(row1), col2 or col1, int(row2 or row1))


# What calamine raises on a broken file: several exception kinds, and pyo3's PanicException when its
# Rust code panics on a hostile cell (a date or duration out of range). PanicException derives from
# BaseException, so `except Exception` would let it through as a traceback.
INTERRUPTS = (KeyboardInterrupt, SystemExit, GeneratorExit)


class Workbook:
    """Cell values of a workbook, read with python-calamine."""

    def __init__(self, path: Path, ahead: Any = None) -> None:
        """`ahead`: the file already opened, with some sheets parsed (addin.io.read_ahead.ParsedBook)."""
        self._sheets: dict[str, list[list[Any]]] = {}
        self._partial: dict[str, bool] = {}
        self._parsed: dict[str, Any] = dict(ahead.sheets) if ahead else {}
        self._failures: dict[str, BaseException] = dict(ahead.failures) if ahead else {}
        self._transposed: dict[str, tuple[list[list[Any]], list[tuple[Any, ...]]]] = {}
        self._errors: dict[str, ErrorCells] = {}
        self.path = path
        if ahead:
            self._book = ahead.book
            return
        try:
            self._book = python_calamine.CalamineWorkbook.from_path(str(path))
        except python_calamine.PasswordError:
            raise InputError(f"{path.name} 设置了密码，无法读取。", remedy="请取消密码后再校验。") from None
        except INTERRUPTS:
            raise
        except BaseException:  # noqa: BLE001 - see INTERRUPTS (python-calamine's reasons are English)
            raise InputError(f"{path.name} 无法读取，可能已损坏。") from None

    @property
    def sheet_names(self) -> list[str]:
        return list(self._book.sheet_names)

    def rows(self, sheet: str, upto: int | None = None) -> list[list[Any]]:
        """The rows of a sheet from A1 (down to row `upto` at most), as calamine gives them ("" for an
        empty cell), with a CellError for each error value. Each sheet is parsed once; rows below the
        last one asked for are never turned into Python values."""
        cached = self._sheets.get(sheet)
        if cached is not None and (
            not self._partial.get(sheet) or (upto is not None and len(cached) >= upto)
        ):
            return cached
        try:
            if sheet in self._failures:
                raise self._failures[sheet]
            if sheet not in self._parsed:
                self._parsed[sheet] = parse_whole(self._book, self.path, sheet)
            try:
                rows = _to_python(self._parsed[sheet], upto)
            except NotSplittable:  # the parts failed: the sheet is parsed whole
                self._parsed[sheet] = parse_whole(self._book, self.path, sheet)
                rows = _to_python(self._parsed[sheet], upto)
            if not hasattr(self._parsed[sheet], "blocks"):  # (parts put their error values in themselves)
                put_errors(rows, self._error_cells(sheet))
        except (*INTERRUPTS, InputError):
            raise
        except BaseException as exc:  # noqa: BLE001 - see INTERRUPTS
            where = f"{self.path.name} 的工作表“{sheet}”"
            if type(exc).__name__ == "PanicException":
                raise InputError(
                    f"{where}有日期或时间格式的单元格数值超出范围（例如日期列中填了极大或极小的数字）。",
                    remedy="请检查这些单元格后重新保存。",
                ) from None
            # (python-calamine's own reasons are English)
            raise InputError(f"{where}无法读取，其内容可能已损坏。") from None
        gc.freeze()  # the cells have no reference cycles: out of the cyclic collector's scans
        self._sheets[sheet], self._partial[sheet] = rows, upto is not None
        if upto is None:  # every row is in Python now: free calamine's copy of the sheet
            self._parsed.pop(sheet, None)
        return rows

    def let_go_below(self, sheet: str, row: int) -> None:
        """A sheet being read in parts keeps only the parts above `row` once they are handed on (see
        sheet_parts.PartedSheet.let_go_below); call keep_rows_above once the table is read."""
        parsed = self._parsed.get(sheet) if sheet not in self._sheets else None
        if hasattr(parsed, "let_go_below"):
            parsed.let_go_below(row)

    def keep_rows_above(self, sheet: str, row: int) -> None:
        """Let go of a sheet's rows from `row` down (a table read once and converted: its cells are
        most of a large check's memory). The rows above stay for what is read of them later (the
        填报单位, the 版本号); a later read below them parses the sheet again."""
        kept = max(row - 1, 1)
        try:
            rows = self.rows(sheet, upto=kept)
        except InputError:  # (the table was just read from it: kept as it is, a later read says why)
            return
        self._sheets[sheet], self._partial[sheet] = rows[:kept], True
        self._parsed.pop(sheet, None)
        self._transposed.pop(sheet, None)

    def cells_below(
        self, sheet: str, row: int, first: int, last: int, listed: int
    ) -> tuple[list[tuple[int, int]], int]:
        """The cells holding a value below row `row` from column `first` to `last` (1-based): the first
        `listed` of them as (row, column), in row order, and how many rows hold one. A sheet whose used
        area ends above is not read again; one that goes on below is read whole (rare)."""
        end = self._last_row(sheet)
        if end is not None and end <= row:
            return [], 0
        found: list[tuple[int, int]] = []
        rows_found = 0
        for number, cells in enumerate(self.rows(sheet)[row:], start=row + 1):
            filled = [n + 1 for n in range(first - 1, min(last, len(cells))) if cells[n] not in ("", None)]
            if filled:
                rows_found += 1
                found += [(number, column) for column in filled][: listed - len(found)]
        return found, rows_found

    def _last_row(self, sheet: str) -> int | None:
        """The last row (1-based) of the sheet's used area as python-calamine reads it, from what is
        known without reading it again (its rows read, the parsed sheet's extent, its parts'); None
        when that is not known."""
        cached = self._sheets.get(sheet)
        if cached is not None and not self._partial.get(sheet):
            return len(cached)
        parsed = self._parsed.get(sheet)
        if parsed is None:
            return None
        try:
            end = parsed.end
        except NotSplittable:  # the parts failed: the sheet is read whole
            return None
        return end[0] + 1 if end is not None else 0

    def formula_cells(self, sheet: str, references: Iterable[str]) -> set[str]:
        """Which of these cells (B7, …) hold a formula: read as blank, such a cell was never calculated
        (no cached value). Only their rows' XML is searched."""
        with zipfile.ZipFile(self.path) as archive:
            member = sheet_members(archive).get(sheet)
        wanted = set(sorted(set(references))[:MAX_LOOKED_UP_CELLS])
        if member is None or not wanted:
            return set()
        rows = {int(reference.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) for reference in wanted}
        found: set[str] = set()
        for row in rows_of(sheet_pieces(self.path, member), rows):
            found.update(
                m.group(1).decode() for m in _FORMULA_CELL.finditer(row) if m.group(1).decode() in wanted
            )
        return found

    def _error_cells(self, sheet: str) -> ErrorCells:
        """The error values stored in a sheet parsed whole, found in its XML once."""
        if sheet not in self._errors:
            try:
                self._errors[sheet] = stored_errors(self.path, sheet)
            except UnplacedError:
                raise InputError(
                    f"{self.path.name} 的工作表“{sheet}”中有错误值（如 #N/A）的单元格没有单元格地址，无法定位。",
                    remedy="请用 Excel 或 WPS 打开后另存为 .xlsx 再校验。",
                ) from None
        return self._errors[sheet]

    def row_blocks(self, sheet: str, upto: int | None = None) -> Iterator[RowBlock]:
        """The rows of a sheet (down to row `upto` at most) in blocks of consecutive rows, each as soon
        as it is read: a sheet parsed in parts (addin.io.sheet_parts) part by part, while the later parts
        are still being parsed; any other sheet in one block. Rows between blocks are empty.

        Raises NotSplittable when the parts fail after some blocks were handed on: the rows handed on
        are then not to be used, and the sheet is read whole from then on."""
        source = self._parsed.get(sheet) if sheet not in self._sheets else None
        if not hasattr(source, "blocks"):
            yield RowBlock(first_row=1, first_column=1, rows=self.rows(sheet, upto))
            return
        try:
            for block in source.blocks():
                first_row = block.start[0] + 1 if block.start else 0
                if block.start is None or (upto is not None and first_row > upto):
                    continue  # (the later parts are still waited for: they may refuse the earlier ones)
                if block.rows is None:
                    raise NotSplittable("rows let go of after they were read")
                gc.freeze()  # as in rows()
                first_column = block.start[1] + 1
                rows = block.rows if upto is None else block.rows[: upto - first_row + 1]
                yield RowBlock(first_row=first_row, first_column=first_column, rows=rows)
        except NotSplittable:
            self._parsed.pop(sheet, None)
            raise

    def value(self, ref: NamedRange) -> Any:
        rows = self.rows(ref.sheet, upto=ref.first_row)
        row, column = ref.first_row - 1, column_index(ref.first_column)
        if row < len(rows) and column < len(rows[row]):
            return rows[row][column]
        return None

    def column(self, ref: NamedRange) -> list[Any]:
        """The values of a one-column range, padded with None to its full length."""
        columns = self._columns(ref.sheet, self.rows(ref.sheet, upto=ref.last_row))
        length = ref.last_row - ref.first_row + 1
        return column_cells(columns, column_index(ref.first_column), ref.first_row - 1, length)

    def row(self, ref: NamedRange) -> list[Any]:
        """The values of a one-row range, padded with None to its full width. A sheet being parsed in
        parts is read only down to the part holding the row: the table below is still read part by part."""
        first = column_index(ref.first_column)
        width = column_index(ref.last_column) - first + 1
        try:
            cells = self._row_cells(ref.sheet, ref.first_row, first)
        except NotSplittable:  # the parts failed: the sheet is parsed whole
            cells = self._row_cells(ref.sheet, ref.first_row, first)
        values = [None if cell == "" else cell for cell in cells[:width]]
        return values + [None] * (width - len(values))

    def _row_cells(self, sheet: str, number: int, first: int) -> list[Any]:
        """The cells of row `number` from column `first` (0-based) rightwards; [] when the row is blank."""
        for block in self.row_blocks(sheet, upto=number):
            if block.first_row > number:
                break
            if number < block.first_row + len(block.rows):
                offset = first - block.first_column + 1  # the block may begin right of `first`
                line = list(block.rows[number - block.first_row])
                return [None] * -offset + line if offset < 0 else line[offset:]
        return []

    def _columns(self, sheet: str, rows: list[list[Any]]) -> list[tuple[Any, ...]]:
        """The rows turned into columns, once per parse of the sheet (short rows padded with None)."""
        cached = self._transposed.get(sheet)
        if cached is None or cached[0] is not rows:
            cached = self._transposed[sheet] = (rows, list(itertools.zip_longest(*rows)))
        return cached[1]


def parse_whole(book: Any, path: Path, sheet: str) -> Any:
    """A sheet parsed whole by python-calamine, once no value lies outside the template's grid (which
    python-calamine would allocate up to). Raises InputError naming the far cell."""
    with zipfile.ZipFile(path) as archive:
        member = sheet_members(archive).get(sheet)
    if member is not None:
        reference = far_cell(path, member)
        if reference is not None:
            raise _far_cell_error(path, sheet, member, reference)
    return book.get_sheet_by_name(sheet)


def _far_cell_error(path: Path, sheet: str, member: str, reference: str) -> InputError:
    """The refusal of a far value: the rows to delete when it ends a column filled down below the table
    (its defined names' last row), else its cell."""
    rows = valued_rows(sheet_pieces(path, member))
    below = max((name.last_row for name in defined_names(path).values() if name.sheet == sheet), default=0)
    far_row = int(reference.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    run = None if rows is None else filled_run(rows, far_row, below if below < far_row else 0)
    if run is None:
        return InputError(far_cell_message(path.name, sheet, reference), remedy=FAR_CELL_REMEDY)
    return InputError(filled_rows_message(path.name, sheet, *run), remedy=filled_rows_remedy(*run))


def stored_errors(path: Path, sheet: str) -> ErrorCells:
    """The error values stored in a sheet's cells (python-calamine reads them as blanks), found in the
    sheet's XML as it is inflated, a piece at a time."""
    with zipfile.ZipFile(path) as archive:
        member = sheet_members(archive).get(sheet)
        if member is None:
            return {}
        with open_member(archive, member) as stream:
            return find_error_cells(iter(lambda: stream.read(SCAN_BYTES), b""))


def _to_python(source: Any, upto: int | None) -> list[list[Any]]:
    """A parsed sheet's rows from A1 (down to row `upto`)."""
    if upto:
        return source.to_python(skip_empty_area=False, nrows=upto)
    return source.to_python(skip_empty_area=False)


def column_cells(columns: Sequence[Sequence[Any]], index: int, start: int, length: int) -> list[Any]:
    """`length` cells of column `index` of rows turned into columns, from position `start`: None where
    there is no such column or row."""
    values = list(columns[index][start : start + length]) if 0 <= index < len(columns) else []
    return values + [None] * (length - len(values))


def column_index(letters: str) -> int:
    """A1-style column letters to a 0-based index."""
    return column_number(letters) - 1
