"""A sheet's notes: the comments part (the texts) and the legacy VML drawing (the boxes Excel shows),
written anew or merged into the ones the sheet has. A note on a cell replaces the note it had; the notes
of an earlier marking (by the same author) are removed; every other note and drawing is kept as it is."""

from __future__ import annotations

import re
from dataclasses import dataclass

from addin.io.workbook_reader import MAIN_NS, column_index
from addin.io.xlsx_parts import (
    PackageError,
    attribute,
    parse_part,
    root_prefix,
    tag_pattern,
    text_xml,
)

MAIN_URI = MAIN_NS.strip("{}")
VML_URI, OFFICE_URI, EXCEL_URI = (
    b"urn:schemas-microsoft-com:vml",
    b"urn:schemas-microsoft-com:office:office",
    b"urn:schemas-microsoft-com:office:excel",
)
FIRST_SHAPE_ID = 1025  # shape ids of the first block (<o:idmap data="1"/>)
_REFERENCE = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d+)")


@dataclass(frozen=True)
class Note:
    row: int  # 1-based
    column: int  # 0-based
    reference: str  # H8
    text: str


def comments_xml(
    existing: tuple[str, bytes] | None, notes: list[Note], author: str
) -> tuple[bytes, set[tuple[int, int]]]:
    """The comments part with `notes` (by `author`), merged into the `existing` part (name, bytes);
    and the cells (0-based row, column) whose former notes were removed."""
    noted = {(n.row - 1, n.column) for n in notes}
    kept: list[bytes] = []
    authors: list[str] = []
    root, removed = b'<comments xmlns="%s">' % MAIN_URI.encode(), set()
    p = b""
    if existing is not None:
        part, data = existing
        tree = parse_part(part, data)
        p = root_prefix(data, b"comments")
        root = tag_pattern(p, b"comments").search(data).group(0)  # type: ignore[union-attr]
        authors = [node.text or "" for node in tree.iter(f"{MAIN_NS}author")]
        elements = _elements(data, p, b"comment")
        for element in elements:
            start = tag_pattern(p, b"comment").match(element)
            assert start is not None
            cell = _cell((attribute(start.group(1), b"ref") or b"").decode("utf-8", "replace"))
            author_id = attribute(start.group(1), b"authorId")
            by_us = (
                author_id is not None
                and author_id.isdigit()
                and int(author_id) < len(authors)
                and (authors[int(author_id)] == author)
            )
            if cell is None or cell in noted or by_us:
                if cell is not None:
                    removed.add(cell)
                continue
            kept.append(element)
        if root.endswith(b"/>"):
            root = root[:-2] + b">"
    if author not in authors:
        authors.append(author)
    ours = authors.index(author)
    author_list = b"".join(b"<%sauthor>%s</%sauthor>" % (p, text_xml(a).encode(), p) for a in authors)
    added = [
        b'<%scomment ref="%s" authorId="%d"><%stext><%st xml:space="preserve">%s</%st></%stext></%scomment>'
        % (p, note.reference.encode(), ours, p, p, text_xml(note.text).encode(), p, p, p)
        for note in notes
    ]
    body = b"<%sauthors>%s</%sauthors><%scommentList>%s</%scommentList>" % (
        p,
        author_list,
        p,
        p,
        b"".join(kept + added),
        p,
    )
    return root + body + b"</" + p + b"comments>", removed | noted


def vml_xml(
    existing: tuple[str, bytes] | None,
    notes: list[Note],
    replaced: set[tuple[int, int]],
    size: tuple[int, int],
) -> bytes:
    """The legacy drawing with a box for each note, merged into the `existing` drawing (name, bytes):
    the boxes of the cells in `replaced` (0-based row, column) are removed, other shapes kept."""
    if existing is None:
        data = (
            b'<xml xmlns:v="%s" xmlns:o="%s" xmlns:x="%s"><o:shapelayout v:ext="edit">'
            b'<o:idmap v:ext="edit" data="1"/></o:shapelayout></xml>' % (VML_URI, OFFICE_URI, EXCEL_URI)
        )
    else:
        data = existing[1]
    root = re.search(rb"<xml(?=[\s>])[^>]*>", data)
    close = data.rfind(b"</xml")
    if root is None or close < root.end():
        raise PackageError(f"批注绘图部件 {existing[0] if existing else ''} 无法解析。")
    declarations, prefixes = b"", {}
    for uri, wanted in ((VML_URI, b"v"), (OFFICE_URI, b"o"), (EXCEL_URI, b"x")):
        found = re.search(rb"""xmlns:([\w.-]+)\s*=\s*["']""" + re.escape(uri) + rb"""["']""", root.group(0))
        if found:
            prefixes[wanted] = found.group(1)
        else:
            prefixes[wanted] = b"dtfund" + wanted
            declarations += b' xmlns:%s="%s"' % (prefixes[wanted], uri)
    v, o, x = prefixes[b"v"], prefixes[b"o"], prefixes[b"x"]
    content = data[root.end() : close]
    content = re.sub(
        rb"<" + re.escape(v) + rb":shape(?=[\s>]).*?</" + re.escape(v) + rb":shape\s*>",
        lambda m: b"" if _note_cell(m.group(0), x) in replaced else m.group(0),
        content,
        flags=re.S,
    )
    names = {"v": v.decode(), "o": o.decode(), "x": x.decode()}
    if b'id="_x0000_t202"' not in content:
        content += _SHAPE_TYPE.format(**names).encode()
    used = [int(n) for n in re.findall(rb"_x0000_s(\d+)", content)]
    first = max([FIRST_SHAPE_ID - 1, *used]) + 1
    width, height = size
    shapes = [
        _SHAPE.format(
            **names, id=first + n, width=width, height=height, row=note.row - 1, column=note.column
        ).encode()
        for n, note in enumerate(notes)
    ]
    start = root.group(0)[:-1] + declarations + b">"
    return data[: root.start()] + start + content + b"".join(shapes) + data[close:]


_SHAPE_TYPE = (
    '<{v}:shapetype id="_x0000_t202" coordsize="21600,21600" {o}:spt="202" path="m,l,21600r21600,l21600,xe">'
    '<{v}:stroke joinstyle="miter"/><{v}:path gradientshapeok="t" {o}:connecttype="rect"/></{v}:shapetype>'
)
_SHAPE = (
    '<{v}:shape id="_x0000_s{id}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
    'margin-top:1.5pt;width:{width}px;height:{height}px;z-index:1;visibility:hidden" fillcolor="#ffffe1" '
    '{o}:insetmode="auto"><{v}:fill color2="#ffffe1"/><{v}:shadow color="black" obscured="t"/>'
    '<{v}:path {o}:connecttype="none"/><{v}:textbox style="mso-direction-alt:auto"><div style="text-align:left">'
    '</div></{v}:textbox><{x}:ClientData ObjectType="Note"><{x}:MoveWithCells/><{x}:SizeWithCells/>'
    "<{x}:AutoFill>False</{x}:AutoFill><{x}:Row>{row}</{x}:Row><{x}:Column>{column}</{x}:Column>"
    "</{x}:ClientData></{v}:shape>"
)


def _note_cell(shape: bytes, x: bytes) -> tuple[int, int] | None:
    """The cell (0-based row, column) a note's box belongs to; None for any other shape."""
    if not re.search(rb"""ObjectType\s*=\s*["']Note["']""", shape):
        return None
    row = re.search(rb"<" + re.escape(x) + rb":Row>\s*(\d+)\s*<", shape)
    column = re.search(rb"<" + re.escape(x) + rb":Column>\s*(\d+)\s*<", shape)
    if row is None or column is None:
        return None
    return int(row.group(1)), int(column.group(1))


def _elements(data: bytes, prefix: bytes, name: bytes) -> list[bytes]:
    elements, position = [], 0
    start_tag, end_tag = tag_pattern(prefix, name), tag_pattern(prefix, name, closing=True)
    while True:
        found = start_tag.search(data, position)
        if found is None:
            return elements
        if found.group(2):
            position = found.end()
        else:
            closing = end_tag.search(data, found.end())
            if closing is None:
                raise PackageError("批注部件不完整。")
            position = closing.end()
        elements.append(data[found.start() : position])


def _cell(reference: str) -> tuple[int, int] | None:
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        return None
    return int(match.group(2)) - 1, column_index(match.group(1).upper())
