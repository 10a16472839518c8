"""The styles part (xl/styles.xml) with the formats a marked copy needs added: for each cell format
marked with a fill, the same format with that fill; a bold header, wrapped text and links for a new
sheet. Nothing else of the part is touched; a part beyond Excel's own limits is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from addin.io.xlsx_parts import PackageError, parse_part, root_prefix, tag_pattern, with_attribute

# Excel's limit on the cell formats of a workbook ("Unique cell formats/cell styles").
MAX_CELL_FORMATS = 65_490
LINK_COLOR = b"FF0563C1"
_ALIGNED = b'<alignment vertical="top" wrapText="1"/>'


@dataclass
class _Section:
    """One list of the part (<fonts>, <fills>, <cellXfs>): where it is and its elements' XML."""

    start: re.Match[bytes]  # its start tag
    end: int  # where its end tag begins
    elements: list[bytes]
    added: list[bytes] = field(default_factory=list)

    def add(self, element: bytes) -> int:
        self.added.append(element)
        return len(self.elements) + len(self.added) - 1


@dataclass(frozen=True)
class SheetStyles:
    """Cell format indices for a new sheet: plain text, a bold header, wrapped text, a wrapped link."""

    header: int
    body: int
    link: int


class StylesPatch:
    def __init__(self, part: str, data: bytes) -> None:
        self.part, self.data = part, data
        self.prefix = root_prefix(data, b"styleSheet")
        self.fonts = self._section(b"fonts", b"font")
        self.fills = self._section(b"fills", b"fill")
        self.formats = self._section(b"cellXfs", b"xf")  # (counted first: a huge list is refused quickly)
        parse_part(part, data)  # well-formed, and no DTD
        self._marked: dict[tuple[int, str], int] = {}
        self._fills: dict[str, int] = {}

    def _section(self, name: bytes, element: bytes) -> _Section:
        p = self.prefix
        start = tag_pattern(p, name).search(self.data)
        end = tag_pattern(p, name, closing=True).search(self.data, start.end()) if start else None
        if start is None or start.group(2) or end is None:
            raise PackageError(f"样式部件 {self.part} 缺少 <{name.decode()}>，无法添加标注格式。")
        elements, item, item_end = [], tag_pattern(p, element), tag_pattern(p, element, closing=True)
        position = start.end()
        while True:
            found = item.search(self.data, position, end.start())
            if found is None:
                break
            if found.group(2):
                position = found.end()
            else:
                closing = item_end.search(self.data, found.end(), end.start())
                if closing is None:
                    raise PackageError(f"样式部件 {self.part} 的 <{name.decode()}> 不完整。")
                position = closing.end()
            elements.append(self.data[found.start() : position])
            if len(elements) > MAX_CELL_FORMATS:
                raise PackageError(
                    f"样式部件 {self.part} 中的 <{name.decode()}> 超过 {MAX_CELL_FORMATS:,} 项（Excel 的上限），"
                    "无法添加标注格式；请在 Excel 中清理多余的单元格格式后再试。"
                )
        if not elements:
            raise PackageError(f"样式部件 {self.part} 的 <{name.decode()}> 是空的。")
        return _Section(start, end.start(), elements)

    def marked(self, style: int, fill: str) -> int:
        """The index of the cell format `style` with the solid fill `fill` (RRGGBB)."""
        key = (style, fill)
        if key not in self._marked:
            base = (
                self.formats.elements[style]
                if 0 <= style < len(self.formats.elements)
                else self.formats.elements[0]
            )
            self._marked[key] = self.formats.add(
                self._with_attributes(base, b"xf", {b"fillId": b"%d" % self._fill(fill), b"applyFill": b"1"})
            )
            if len(self.formats.elements) + len(self.formats.added) > MAX_CELL_FORMATS:
                raise PackageError(
                    f"样式部件 {self.part} 加上标注格式后超过 {MAX_CELL_FORMATS:,} 种单元格格式（Excel 的上限）。"
                )
        return self._marked[key]

    def sheet_styles(self) -> SheetStyles:
        """Formats for a new sheet's header, text and links, on the workbook's default font."""
        p = self.prefix
        font = self._open(self.fonts.elements[0], b"font")
        close = b"</" + p + b"font>"
        bold = self.fonts.add(_without(font, p, b"b") + b"<" + p + b"b/>" + close)
        link = self.fonts.add(
            _without(_without(font, p, b"u"), p, b"color")
            + b'<%su/><%scolor rgb="%s"/>' % (p, p, LINK_COLOR)
            + close
        )
        aligned = _ALIGNED.replace(b"<", b"<" + p)
        header = self.formats.add(
            b'<%sxf numFmtId="0" fontId="%d" fillId="0" borderId="0" applyFont="1"/>' % (p, bold)
        )
        body, link_format = (
            self.formats.add(
                b'<%sxf numFmtId="0" fontId="%d" fillId="0" borderId="0"%s applyAlignment="1">%s</%sxf>'
                % (p, font_id, b' applyFont="1"' if font_id else b"", aligned, p)
            )
            for font_id in (0, link)
        )
        return SheetStyles(header=header, body=body, link=link_format)

    def xml(self) -> bytes:
        """The part with the formats added."""
        pieces, position = [], 0
        for section in sorted((self.fonts, self.fills, self.formats), key=lambda s: s.start.start()):
            count = b"%d" % (len(section.elements) + len(section.added))
            start = section.start
            name = re.match(rb"<([\w.:-]+)", start.group(0)).group(1)  # type: ignore[union-attr]
            pieces += [
                self.data[position : start.start()],
                b"<" + name + with_attribute(start.group(1), b"count", count) + b">",
                self.data[start.end() : section.end],
                *section.added,
            ]
            position = section.end
        pieces.append(self.data[position:])
        return b"".join(pieces)

    def _fill(self, color: str) -> int:
        if color not in self._fills:
            p = self.prefix
            argb = ("FF" + color.upper()).encode()
            self._fills[color] = self.fills.add(
                b'<%sfill><%spatternFill patternType="solid"><%sfgColor rgb="%s"/><%sbgColor indexed="64"/>'
                b"</%spatternFill></%sfill>" % (p, p, p, argb, p, p, p)
            )
        return self._fills[color]

    def _with_attributes(self, element: bytes, name: bytes, values: dict[bytes, bytes]) -> bytes:
        start = tag_pattern(self.prefix, name).match(element)
        assert start is not None  # the element was found by this very tag
        attributes = start.group(1)
        for key, value in values.items():
            attributes = with_attribute(attributes, key, value)
        return b"<" + self.prefix + name + attributes + start.group(2) + b">" + element[start.end() :]

    def _open(self, element: bytes, name: bytes) -> bytes:
        """An element's start tag and content, without its end tag (a self-closing one opened)."""
        start = tag_pattern(self.prefix, name).match(element)
        assert start is not None
        if start.group(2):
            return b"<" + self.prefix + name + start.group(1) + b">"
        return element[: element.rfind(b"</")]


def _without(xml: bytes, prefix: bytes, name: bytes) -> bytes:
    """The XML without the child elements `name` (empty or with content)."""
    child = re.escape(prefix + name)
    return re.sub(
        rb"<" + child + rb"(?=[\s/>])[^>]*?/>|<" + child + rb"(?=[\s/>])[^>]*>.*?</" + child + rb"\s*>",
        b"",
        xml,
        flags=re.S,
    )
