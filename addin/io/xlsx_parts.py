"""The small parts of an .xlsx package read for rewriting it (workbook, relationships, content types,
styles, comments): read whole within a size bound, refused when they hold a DTD or characters XML 1.0
forbids, parsed with defusedxml (no entity is ever resolved); and the text helpers that write XML."""

from __future__ import annotations

import functools
import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from addin.io.bulk_rows import excel_escapes, xml_escapes
from addin.io.workbook_reader import RELATIONSHIPS_NS

# A part read whole (never a worksheet): real ones are a few MB at most (the notes of 50,000 cells: 30 MB).
MAX_SMALL_PART_BYTES = 64 * 1024**2
RELATIONSHIP_TYPES = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
# Bytes XML 1.0 forbids anywhere in a document (tab, line feed and carriage return are allowed).
FORBIDDEN_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)])
_ALLOWED_BYTES = bytes(b for b in range(256) if b not in FORBIDDEN_BYTES)
_FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)


class PackageError(Exception):
    """A part of the package cannot be rewritten safely: the message says which and why, in Chinese."""


def has_forbidden_bytes(data: bytes) -> bool:
    return bool(data.translate(None, _ALLOWED_BYTES))


def refuse_hostile_bytes(part: str, data: bytes) -> None:
    """Refuse a DTD (entity declarations) or a control character XML 1.0 forbids in a part's bytes."""
    if _DECLARATION.search(data):
        raise PackageError(f"部件 {part} 含有 DTD（实体声明），已拒绝处理。")
    if has_forbidden_bytes(data):
        raise PackageError(f"部件 {part} 含有 XML 不允许的控制字符，已拒绝处理。")


def read_small_part(archive: zipfile.ZipFile, part: str) -> bytes:
    """A part's bytes, refused beyond MAX_SMALL_PART_BYTES or when hostile."""
    size = archive.getinfo(part).file_size
    if size > MAX_SMALL_PART_BYTES:
        raise PackageError(
            f"部件 {part} 解压后有 {size // 1024**2} MB，超过 {MAX_SMALL_PART_BYTES // 1024**2} MB 的上限，已拒绝处理。"
        )
    with archive.open(part) as stream:
        data = stream.read(MAX_SMALL_PART_BYTES + 1)
    if len(data) > MAX_SMALL_PART_BYTES:
        raise PackageError(f"部件 {part} 超过 {MAX_SMALL_PART_BYTES // 1024**2} MB 的上限，已拒绝处理。")
    refuse_hostile_bytes(part, data)
    return data


def parse_part(part: str, data: bytes) -> Element:
    """A part's XML tree (defusedxml: a DTD or an entity is refused, never resolved)."""
    try:
        return ElementTree.fromstring(data)
    except Exception:  # defusedxml and expat raise several kinds for hostile or broken XML
        raise PackageError(f"部件 {part} 的 XML 无法解析。") from None


@dataclass(frozen=True)
class Relationship:
    id: str
    type: str  # the last segment of the type URI: worksheet, styles, comments, vmlDrawing, …
    target: str  # the part it points to, resolved to a path in the package (or the external URI)
    external: bool


def relationships(part: str, data: bytes) -> list[Relationship]:
    """The relationships of a .rels part, their targets resolved against the part they belong to."""
    owner_folder = posixpath.dirname(posixpath.dirname(part))  # xl/_rels/workbook.xml.rels -> xl
    found = []
    for node in parse_part(part, data).iter(f"{RELATIONSHIPS_NS}Relationship"):
        target = node.get("Target", "")
        external = node.get("TargetMode") == "External"
        if not external:
            target = resolve_target(owner_folder, target)
        found.append(
            Relationship(node.get("Id", ""), node.get("Type", "").rsplit("/", 1)[-1], target, external)
        )
    return found


def resolve_target(folder: str, target: str) -> str:
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(folder, target))


def rels_part(part: str) -> str:
    """xl/worksheets/sheet1.xml -> xl/worksheets/_rels/sheet1.xml.rels"""
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def relative_target(owner: str, target: str) -> str:
    """A part's path as a relationship target from the part `owner`."""
    # (from the package's root "/": relpath of relative paths asks for the current folder, which may
    # have been deleted)
    return posixpath.relpath(f"/{target.lstrip('/')}", f"/{posixpath.dirname(owner.lstrip('/'))}")


def unused_name(taken: set[str], pattern: str) -> str:
    """The first name `pattern.format(n)` (n = 1, 2, …) not taken (compared case-insensitively, as zip
    readers on Windows do); the name is then taken."""
    lowered = {name.lower() for name in taken}
    n = 1
    while pattern.format(n).lower() in lowered:
        n += 1
    taken.add(pattern.format(n))
    return pattern.format(n)


def unused_id(taken: set[str], prefix: str = "rIdDtfund") -> str:
    return unused_name(taken, prefix + "{}")


def clean_text(value: Any) -> str:
    """Text for XML: characters XML 1.0 forbids removed."""
    return _FORBIDDEN_CHARACTERS.sub("", str(value))


def text_xml(value: Any) -> str:
    """A cell's or a note's text as the content of a <t> element: control characters as Excel's
    _xHHHH_ escapes (a literal _xHHHH_ kept literal), then XML-escaped."""
    return xml_escapes(clean_text(excel_escapes(str(value))))


def attribute_xml(value: Any) -> str:
    """A value for a double-quoted attribute."""
    text = xml_escapes(clean_text(value)).replace('"', "&quot;")
    return text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")


@functools.cache
def tag_pattern(prefix: bytes, name: bytes, closing: bool = False) -> re.Pattern[bytes]:
    """A start (or end) tag of `name` with the namespace prefix `prefix` (b"" or b"x:"), its attributes
    in group 1 and a self-closing slash in group 2; quoted attribute values may hold ">"."""
    if closing:
        return re.compile(rb"</" + re.escape(prefix + name) + rb"\s*>")
    return re.compile(
        rb"<" + re.escape(prefix + name) + rb"""(?=[\s/>])((?:[^>"'/]+|"[^"]*"|'[^']*'|/(?!>))*)(/?)>"""
    )


@functools.cache
def _attribute_pattern(name: bytes) -> re.Pattern[bytes]:
    return re.compile(rb"""(?:^|\s)""" + re.escape(name) + rb"""\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def attribute(attributes: bytes, name: bytes) -> bytes | None:
    """An attribute's raw value in a start tag's attributes."""
    match = _attribute_pattern(name).search(attributes)
    if match is None:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def with_attribute(attributes: bytes, name: bytes, value: bytes | None) -> bytes:
    """The attributes with `name` set to `value` (added when missing) or removed (None)."""
    pattern = re.compile(rb"""\s+""" + re.escape(name) + rb"""\s*=\s*(?:"[^"]*"|'[^']*')""")
    stripped = pattern.sub(b"", attributes)
    if value is None:
        return stripped
    return stripped.rstrip() + b" " + name + b'="' + value + b'"'


def root_prefix(data: bytes, local_name: bytes) -> bytes:
    """The namespace prefix (b"" or b"x:") of the root element `local_name`."""
    match = re.search(rb"<([A-Za-z_][\w.-]*:)?" + re.escape(local_name) + rb"(?=[\s/>])", data)
    if match is None:
        raise PackageError(f"找不到 <{local_name.decode()}> 元素。")
    return match.group(1) or b""


def namespace_prefix(start_tag: bytes, uri: bytes) -> bytes | None:
    """The prefix a start tag declares for a namespace URI (b"r:"), b"" for the default, None if none."""
    for match in re.finditer(rb"""xmlns(?::([\w.-]+))?\s*=\s*["']([^"']*)["']""", start_tag):
        if match.group(2) == uri:
            return match.group(1) + b":" if match.group(1) else b""
    return None
