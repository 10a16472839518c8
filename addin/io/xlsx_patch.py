"""A copy of an .xlsx/.xlsm package with cells marked (a fill and a note), formulas put back and a new
sheet first, written without loading the workbook: every part is copied as it is except the few that
must change, and the marked sheets are rewritten as they are inflated (addin.io.sheet_rewrite). The
copy is written atomically; a part that cannot be rewritten safely (a DTD, control characters, styles
beyond Excel's limits) raises PackageError before anything is left behind."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name

from addin.io.comment_parts import Note, comments_xml, vml_xml
from addin.io.output import atomic_path
from addin.io.print_layout import A4_PAPER, HEADER_FOOTER_MARGIN, MARGINS, PAGE_FOOTER, wrapped_height
from addin.io.sheet_rewrite import RELATIONSHIPS_URI, CellChange, SheetEdits, rewrite_sheet, unselect_sheet
from addin.io.styles_patch import SheetStyles, StylesPatch
from addin.io.workbook_reader import MAIN_NS, OFFICE_RELATIONSHIP_ID, column_index
from addin.io.xlsx_parts import (
    RELATIONSHIP_TYPES,
    PackageError,
    Relationship,
    attribute,
    attribute_xml,
    namespace_prefix,
    parse_part,
    read_small_part,
    relationships,
    relative_target,
    rels_part,
    root_prefix,
    tag_pattern,
    text_xml,
    unused_id,
    unused_name,
    with_attribute,
)

WORKBOOK = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
CONTENT_TYPES = "[Content_Types].xml"
CHUNK_BYTES = 4 * 1024**2
# A part copied or rewritten from this size on gets zip64 headers: zipfile must know before writing, and a
# rewritten sheet grows by its marks, so the 2 GB limit of plain zip headers is not approached.
ZIP64_FROM_BYTES = 2**30
COMPRESS_LEVEL = 1  # the marked sheet can be 200 MB of XML: fast deflate, a slightly larger file
WORKSHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


Copier = Callable[[Iterator[bytes], Callable[[bytes], object]], None]


def _unchanged(chunks: Iterator[bytes], write: Callable[[bytes], object]) -> None:
    for chunk in chunks:
        write(chunk)


@dataclass(frozen=True)
class SheetCell:
    """A cell of the new sheet: its text, how it looks, and the cell it links to ('申报表'!H8)."""

    text: str
    look: str = "plain"  # plain, header, body, link
    link: str | None = None


@dataclass
class NewSheet:
    title: str
    rows: list[list[SheetCell]]
    widths: list[float]


@dataclass
class PackageEdits:
    marks: dict[str, dict[str, tuple[str, str]]] = field(
        default_factory=dict
    )  # sheet -> cell -> (fill, note)
    formulas: dict[str, dict[str, str]] = field(default_factory=dict)  # sheet -> cell -> formula
    first_sheet: NewSheet | None = None
    note_author: str = "dtfund"
    note_size: tuple[int, int] = (360, 160)


@dataclass
class _MarkedSheet:
    name: str
    part: str
    edits: SheetEdits
    notes: list[Note]
    rels: str  # its relationships part
    relations: list[Relationship]
    comments: str  # its comments part (existing or new)
    comments_exist: bool
    new_drawing: str  # a new VML part, used when the sheet has no legacy drawing
    new_ids: dict[str, str]  # new relationship ids: comments, drawing


def write_edited_copy(source: Path, edits: PackageEdits, target: Path) -> None:
    """Write the source package with the edits made to `target` (atomically)."""
    with zipfile.ZipFile(source) as archive:
        _Copy(archive, edits).write(target)


class _Copy:
    """One copy of a package being made: the small parts read and patched first, then every part written."""

    def __init__(self, archive: zipfile.ZipFile, edits: PackageEdits) -> None:
        self.archive, self.edits = archive, edits
        self.names = {info.filename for info in archive.infolist()}
        for part in (WORKBOOK, WORKBOOK_RELS, CONTENT_TYPES):
            if part not in self.names:
                raise PackageError(f"缺少部件 {part}，不是完整的 Excel 工作簿。")
        self.workbook = read_small_part(archive, WORKBOOK)
        self.workbook_rels = read_small_part(archive, WORKBOOK_RELS)
        self.content_types = read_small_part(archive, CONTENT_TYPES)
        self.relations = relationships(WORKBOOK_RELS, self.workbook_rels)
        self.sheets = _sheets(self.workbook, self.relations)  # (name, relationship id, part) in order
        self.sheet_parts = {part for _, _, part in self.sheets}
        styles = [r.target for r in self.relations if r.type == "styles" and r.target in self.names]
        if not styles:
            raise PackageError("工作簿没有样式部件（xl/styles.xml），无法添加标注格式。")
        self.styles_part = styles[0]
        self.styles = StylesPatch(self.styles_part, read_small_part(archive, self.styles_part))
        self.sheet_styles: SheetStyles | None = None
        self.taken = set(self.names)
        self.removed: set[str] = set()
        self.marked = self._marked_sheets()
        self.deferred = {m.rels for m in self.marked} | {m.comments for m in self.marked}
        self.deferred |= {r.target for m in self.marked for r in m.relations if r.type == "vmlDrawing"}

    def _marked_sheets(self) -> list[_MarkedSheet]:
        marked = []
        parts = {name: part for name, _, part in self.sheets}
        for name in dict.fromkeys([*self.edits.marks, *self.edits.formulas]):
            part = parts.get(name)
            if part is None or part not in self.names:
                continue
            cells: dict[int, dict[int, CellChange]] = {}
            notes = []
            for reference, (fill, note) in self.edits.marks.get(name, {}).items():
                row, column = _cell(reference)
                cells.setdefault(row, {})[column] = CellChange(fill=fill)
                notes.append(Note(row, column, f"{xl_col_to_name(column)}{row}", note))
            for reference, formula in self.edits.formulas.get(name, {}).items():
                row, column = _cell(reference)
                fill = cells.get(row, {}).get(column, CellChange()).fill
                cells.setdefault(row, {})[column] = CellChange(fill=fill, formula=formula.lstrip("="))
            rels = rels_part(part)
            relations = relationships(rels, read_small_part(self.archive, rels)) if rels in self.names else []
            comments = [r.target for r in relations if r.type == "comments" and r.target in self.names]
            ids = {r.id for r in relations}
            new_ids = {"comments": unused_id(ids), "drawing": unused_id(ids)}
            marked.append(
                _MarkedSheet(
                    name=name,
                    part=part,
                    edits=SheetEdits(cells, new_ids["drawing"] if notes else None),
                    notes=notes,
                    rels=rels,
                    relations=relations,
                    comments=comments[0]
                    if comments
                    else unused_name(self.taken, "xl/comments/dtfundComments{}.xml"),
                    comments_exist=bool(comments),
                    new_drawing=unused_name(self.taken, "xl/drawings/dtfundNotes{}.vml"),
                    new_ids=new_ids,
                )
            )
        return marked

    def write(self, target: Path) -> None:
        first = self.edits.first_sheet
        if first is not None:
            self.sheet_styles = self.styles.sheet_styles()
            self._remove_sheet(first.title)
        with (
            atomic_path(target) as temporary,
            zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as out,
        ):
            self._write(out)

    def _write(self, out: zipfile.ZipFile) -> None:
        marked = {m.part: m for m in self.marked}
        special = {WORKBOOK, WORKBOOK_RELS, CONTENT_TYPES, self.styles_part}
        added_types: list[tuple[str, str]] = []
        drawings: dict[str, str] = {}  # sheet part -> its notes' VML part
        for info in self.archive.infolist():
            name = info.filename
            if name in self.removed or name in special or name in self.deferred:
                continue
            if name in marked:
                drawings[name] = self._rewrite_sheet(out, info, marked[name])
            elif name in self.sheet_parts and self.edits.first_sheet is not None:
                self._copy(out, info, unselect_sheet)
            else:
                self._copy(out, info)
        for sheet in self.marked:
            added_types += self._write_notes(out, sheet, drawings.get(sheet.part))
        for name in self.deferred - {m.rels for m in self.marked} - {m.comments for m in self.marked}:
            if name in self.names and name not in self._written(out):
                self._copy(out, self.archive.getinfo(name))
        workbook, workbook_rels = self.workbook, self.workbook_rels
        if self.edits.first_sheet is not None:
            part = unused_name(self.taken, "xl/worksheets/dtfundResults{}.xml")
            relation = unused_id({r.id for r in self.relations})
            workbook = self._workbook_with_first(workbook, relation)
            workbook_rels = _with_relationship(
                workbook_rels, relation, "worksheet", relative_target(WORKBOOK, part), WORKBOOK_RELS
            )
            out.writestr(part, self._first_sheet_xml(self.edits.first_sheet))
            added_types.append((part, WORKSHEET_TYPE))
        out.writestr(WORKBOOK, workbook)
        out.writestr(WORKBOOK_RELS, workbook_rels)
        out.writestr(self.styles_part, self.styles.xml())
        out.writestr(CONTENT_TYPES, self._content_types(added_types))

    def _written(self, out: zipfile.ZipFile) -> set[str]:
        return {info.filename for info in out.infolist()}

    def _copy(self, out: zipfile.ZipFile, info: zipfile.ZipInfo, through: Copier = _unchanged) -> None:
        """Copy a part as it is, or through `through` (given its chunks and where to write them)."""
        with (
            self.archive.open(info) as source,
            out.open(info.filename, "w", force_zip64=info.file_size > ZIP64_FROM_BYTES) as copy,
        ):
            through(iter(lambda: source.read(CHUNK_BYTES), b""), copy.write)

    def _rewrite_sheet(self, out: zipfile.ZipFile, info: zipfile.ZipInfo, sheet: _MarkedSheet) -> str | None:
        """Rewrite a marked sheet; the VML part of the legacy drawing it already had (None if none)."""
        with (
            self.archive.open(info) as source,
            out.open(info.filename, "w", force_zip64=info.file_size > ZIP64_FROM_BYTES) as copy,
        ):
            pieces: list[bytes] = []
            size = 0

            def write(piece: bytes) -> None:  # many small pieces deflated at once: fewer calls
                nonlocal size
                pieces.append(piece)
                size += len(piece)
                if size >= CHUNK_BYTES:
                    copy.write(b"".join(pieces))
                    pieces.clear()
                    size = 0

            chunks: Iterator[bytes] = iter(lambda: source.read(CHUNK_BYTES), b"")
            existing = rewrite_sheet(sheet.part, chunks, write, sheet.edits, self.styles.marked)
            copy.write(b"".join(pieces))
        if existing is None:
            return None
        targets = {r.id: r.target for r in sheet.relations if r.type == "vmlDrawing"}
        if existing not in targets or targets[existing] not in self.names:
            raise PackageError(f"工作表“{sheet.name}”的批注绘图（legacyDrawing）指向不存在的部件。")
        return targets[existing]

    def _write_notes(
        self, out: zipfile.ZipFile, sheet: _MarkedSheet, drawing: str | None
    ) -> list[tuple[str, str]]:
        """A marked sheet's comments, VML drawing and relationships; the content types of new parts."""
        added = []
        relations = read_small_part(self.archive, sheet.rels) if sheet.rels in self.names else None
        if not sheet.notes:
            if relations is not None:
                out.writestr(sheet.rels, relations)
            if sheet.comments_exist:
                self._copy(out, self.archive.getinfo(sheet.comments))
            if drawing is not None:
                self._copy(out, self.archive.getinfo(drawing))
            return added
        existing = (
            (sheet.comments, read_small_part(self.archive, sheet.comments)) if sheet.comments_exist else None
        )
        comments, replaced = comments_xml(existing, sheet.notes, self.edits.note_author)
        out.writestr(sheet.comments, comments)
        if relations is None:
            relations = (
                b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
            )
        if not sheet.comments_exist:
            added.append((sheet.comments, COMMENTS_TYPE))
            target = relative_target(sheet.part, sheet.comments)
            relations = _with_relationship(
                relations, sheet.new_ids["comments"], "comments", target, sheet.rels
            )
        if drawing is None:
            out.writestr(sheet.new_drawing, vml_xml(None, sheet.notes, replaced, self.edits.note_size))
            added.append((sheet.new_drawing, VML_TYPE))
            target = relative_target(sheet.part, sheet.new_drawing)
            relations = _with_relationship(
                relations, sheet.new_ids["drawing"], "vmlDrawing", target, sheet.rels
            )
        else:
            existing_vml = (drawing, read_small_part(self.archive, drawing))
            out.writestr(drawing, vml_xml(existing_vml, sheet.notes, replaced, self.edits.note_size))
        out.writestr(sheet.rels, relations)
        return added

    def _remove_sheet(self, title: str) -> None:
        """Take out a sheet named `title` (the new sheet of an earlier copy), with its own parts."""
        for index, (name, relation, part) in enumerate(self.sheets):
            if name != title:
                continue
            self.removed |= {part, rels_part(part)}
            self.workbook = _without_sheet(self.workbook, index)
            self.workbook_rels = _without_relationship(self.workbook_rels, relation)
            self.relations = [r for r in self.relations if r.id != relation]
            del self.sheets[index]
            return

    def _workbook_with_first(self, workbook: bytes, relation: str) -> bytes:
        """workbook.xml with the new sheet first and shown: sheet-local names move one place on."""
        assert self.edits.first_sheet is not None
        p = root_prefix(workbook, b"workbook")
        root = tag_pattern(p, b"workbook").search(workbook)
        assert root is not None
        r = namespace_prefix(root.group(0), RELATIONSHIPS_URI)
        declaration = b"" if r else b' xmlns:dtfundr="%s"' % RELATIONSHIPS_URI
        r = r or b"dtfundr:"
        ids = [int(v) for v in re.findall(rb"""\ssheetId\s*=\s*["'](\d+)["']""", workbook)]
        sheet = b'<%ssheet name="%s" sheetId="%d"%s %sid="%s"/>' % (
            p,
            attribute_xml(self.edits.first_sheet.title).encode(),
            max(ids, default=0) + 1,
            declaration,
            r,
            relation.encode(),
        )
        sheets = tag_pattern(p, b"sheets").search(workbook)
        if sheets is None or sheets.group(2):
            raise PackageError("工作簿部件 xl/workbook.xml 中没有工作表列表。")
        workbook = workbook[: sheets.end()] + sheet + workbook[sheets.end() :]
        workbook = _shift_local_names(workbook, p, lambda index: index + 1)
        view = tag_pattern(p, b"workbookView")
        return view.sub(
            lambda m: (
                b"<"
                + p
                + b"workbookView"
                + with_attribute(with_attribute(m.group(1), b"activeTab", None), b"firstSheet", None)
                + m.group(2)
                + b">"
            ),
            workbook,
        )

    def _first_sheet_xml(self, sheet: NewSheet) -> bytes:
        styles = self.sheet_styles
        assert styles is not None
        looks = {"plain": 0, "header": styles.header, "body": styles.body, "link": styles.link}
        rows, links = [], []
        for number, cells in enumerate(sheet.rows, 1):
            xml = []
            for column, cell in enumerate(cells):
                reference = f"{xl_col_to_name(column)}{number}"
                style = looks[cell.look]
                styled = f' s="{style}"' if style else ""
                if cell.text == "":
                    xml.append(f'<c r="{reference}"{styled}/>' if style else "")
                else:
                    xml.append(
                        f'<c r="{reference}"{styled} t="inlineStr"><is><t xml:space="preserve">'
                        f"{text_xml(cell.text)}</t></is></c>"
                    )
                if cell.link:
                    links.append(
                        f'<hyperlink ref="{reference}" location="{attribute_xml(cell.link)}" '
                        f'display="{attribute_xml(cell.text)}"/>'
                    )
            rows.append(f'<row r="{number}"{_row_height(cells, sheet.widths)}>{"".join(xml)}</row>')
        columns = "".join(
            f'<col min="{n}" max="{n}" width="{width}" customWidth="1"/>'
            for n, width in enumerate(sheet.widths, 1)
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN_NS.strip("{}")}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
            f"<cols>{columns}</cols><sheetData>{''.join(rows)}</sheetData>"
            + (f"<hyperlinks>{''.join(links)}</hyperlinks>" if links else "")
            + _A4_LANDSCAPE_ONE_PAGE_WIDE
            + "</worksheet>"
        ).encode("utf-8")

    def _content_types(self, added: list[tuple[str, str]]) -> bytes:
        data = self.content_types
        p = root_prefix(data, b"Types")
        tree = parse_part(CONTENT_TYPES, data)
        for part in self.removed:
            data = re.sub(
                rb"<"
                + re.escape(p)
                + rb"""Override(?=\s)[^>]*PartName\s*=\s*["']/"""
                + re.escape(part.encode())
                + rb"""["'][^>]*>""",
                b"",
                data,
            )
        defaults = {
            (node.get("Extension") or "").lower()
            for node in tree.iter("{http://schemas.openxmlformats.org/package/2006/content-types}Default")
        }
        entries = b""
        for part, content_type in added:
            if part.endswith(".vml") and "vml" in defaults:
                continue
            entries += b'<%sOverride PartName="/%s" ContentType="%s"/>' % (
                p,
                attribute_xml(part).encode(),
                content_type.encode(),
            )
        close = data.rfind(b"</" + p + b"Types")
        if close < 0:
            raise PackageError("部件 [Content_Types].xml 不完整。")
        return data[:close] + entries + data[close:]


# The results sheet prints like the templates' sheets: A4 landscape, one page wide, page numbers below.
_A4_LANDSCAPE_ONE_PAGE_WIDE = (
    f'<pageMargins left="{MARGINS["left"]}" right="{MARGINS["right"]}" top="{MARGINS["top"]}" '
    f'bottom="{MARGINS["bottom"]}" header="{HEADER_FOOTER_MARGIN}" footer="{HEADER_FOOTER_MARGIN}"/>'
    f'<pageSetup paperSize="{A4_PAPER}" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
    f"<headerFooter><oddFooter>&amp;C{text_xml(PAGE_FOOTER)}</oddFooter></headerFooter>"
)


def _row_height(cells: list[SheetCell], widths: list[float]) -> str:
    """A wrapped row's height, set so that its text shows whole (Excel does not grow a generated file's
    rows); rows of plain text overflow and keep the default height."""
    wrapped = [(cell.text, width) for cell, width in zip(cells, widths, strict=False) if cell.look != "plain"]
    if not wrapped:
        return ""
    return f' ht="{wrapped_height(wrapped)}" customHeight="1"'


def _sheets(workbook: bytes, relations: list[Relationship]) -> list[tuple[str, str, str]]:
    """Each sheet's name, relationship id and part, in the workbook's order."""
    targets = {r.id: r.target for r in relations}
    found = []
    for node in parse_part(WORKBOOK, workbook).iter(f"{MAIN_NS}sheet"):
        relation = node.get(OFFICE_RELATIONSHIP_ID, "")
        found.append((node.get("name", ""), relation, targets.get(relation, "")))
    return found


def _sheet_elements(workbook: bytes, p: bytes) -> list[re.Match[bytes]]:
    sheets = tag_pattern(p, b"sheets").search(workbook)
    end = tag_pattern(p, b"sheets", closing=True).search(workbook)
    if sheets is None or end is None:
        return []
    pattern = re.compile(
        rb"<"
        + re.escape(p)
        + rb"""sheet(?=[\s/>])(?:[^>"'/]+|"[^"]*"|'[^']*'|/(?!>))*(?:/>|>\s*</"""
        + re.escape(p)
        + rb"sheet\s*>)"
    )
    return list(pattern.finditer(workbook, sheets.end(), end.start()))


def _without_sheet(workbook: bytes, index: int) -> bytes:
    """workbook.xml without its sheet `index` and the names local to it; later sheets' names move back."""
    p = root_prefix(workbook, b"workbook")
    elements = _sheet_elements(workbook, p)
    if index >= len(elements):
        raise PackageError("工作簿部件 xl/workbook.xml 的工作表列表无法解析。")
    element = elements[index]
    workbook = workbook[: element.start()] + workbook[element.end() :]
    name = re.compile(
        rb"<"
        + re.escape(p)
        + rb"""definedName(?=\s)((?:[^>"'/]+|"[^"]*"|'[^']*'|/(?!>))*)(?:/>|>.*?</"""
        + re.escape(p)
        + rb"definedName\s*>)",
        re.S,
    )
    workbook = name.sub(
        lambda m: b"" if attribute(m.group(1), b"localSheetId") == b"%d" % index else m.group(0), workbook
    )
    return _shift_local_names(workbook, p, lambda n: n - 1 if n > index else n)


def _shift_local_names(workbook: bytes, p: bytes, move: Callable[[int], int]) -> bytes:
    """workbook.xml with each sheet-local name's sheet index moved."""

    def moved(match: re.Match[bytes]) -> bytes:
        value = attribute(match.group(1), b"localSheetId")
        if value is None or not value.isdigit():
            return match.group(0)
        attributes = with_attribute(match.group(1), b"localSheetId", b"%d" % move(int(value)))
        return b"<" + p + b"definedName" + attributes + match.group(2) + b">"

    return tag_pattern(p, b"definedName").sub(moved, workbook)


def _with_relationship(data: bytes, relation: str, kind: str, target: str, part: str) -> bytes:
    p = root_prefix(data, b"Relationships")
    element = b'<%sRelationship Id="%s" Type="%s%s" Target="%s"/>' % (
        p,
        relation.encode(),
        RELATIONSHIP_TYPES.encode(),
        kind.encode(),
        attribute_xml(target).encode(),
    )
    root = tag_pattern(p, b"Relationships").search(data)
    if root is None:
        raise PackageError(f"部件 {part} 无法解析。")
    if root.group(2):
        opened = b"<" + p + b"Relationships" + root.group(1) + b">"
        return data[: root.start()] + opened + element + b"</" + p + b"Relationships>" + data[root.end() :]
    close = data.rfind(b"</" + p + b"Relationships")
    return data[:close] + element + data[close:]


def _without_relationship(data: bytes, relation: str) -> bytes:
    p = root_prefix(data, b"Relationships")

    def dropped(match: re.Match[bytes]) -> bytes:
        return b"" if attribute(match.group(1), b"Id") == relation.encode() else match.group(0)

    return tag_pattern(p, b"Relationship").sub(dropped, data)


def _cell(reference: str) -> tuple[int, int]:
    match = _CELL.fullmatch(reference)
    if match is None:
        raise PackageError(f"单元格地址无效：{reference}")
    return int(match.group(2)), column_index(match.group(1).upper())


__all__ = ["NewSheet", "PackageEdits", "PackageError", "SheetCell", "write_edited_copy"]
