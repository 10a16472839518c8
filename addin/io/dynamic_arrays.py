"""Mark formulas as dynamic-array formulas in a saved .xlsx, so Excel 365 spills their results.

openpyxl writes array formulas (`<f t="array">`) but not the cell metadata that tells Excel a formula is
dynamic; without it Excel shows the formula as `=@DTFUND_VALIDATE(...)` and keeps one value. The
metadata is one XLDAPR block in xl/metadata.xml, referenced from each anchor cell by cm="1" (the same
parts Excel and XlsxWriter write). Other spreadsheet programs ignore it.

The array formula's `ref` is the block Excel without dynamic arrays (2010-2019) shows it in, as an
array-entered formula; Excel 365 takes `ref` as the last spill range and spills to the result's size.
"""

from __future__ import annotations

import io
import re
import zipfile

from addin.io.workbook_reader import sheet_members

METADATA_PART = "xl/metadata.xml"
METADATA_XML = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<metadata xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:xda="http://schemas.microsoft.com/office/spreadsheetml/2017/dynamicarray">'
    '<metadataTypes count="1"><metadataType name="XLDAPR" minSupportedVersion="120000" copy="1" pasteAll="1" '
    'pasteValues="1" merge="1" splitFirst="1" rowColShift="1" clearFormats="1" clearComments="1" assign="1" '
    'coerce="1" cellMeta="1"/></metadataTypes><futureMetadata name="XLDAPR" count="1"><bk><extLst>'
    '<ext uri="{bdbb8cdc-fa1e-496e-a857-3c3f30c029c3}"><xda:dynamicArrayProperties fDynamic="1" fCollapsed="0"/>'
    '</ext></extLst></bk></futureMetadata><cellMetadata count="1"><bk><rc t="1" v="0"/></bk></cellMetadata>'
    "</metadata>"
)
CONTENT_TYPE = (
    '<Override PartName="/xl/metadata.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheetMetadata+xml"/>'
)
RELATIONSHIP = (
    '<Relationship Id="rIdDtfundMetadata" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sheetMetadata" '
    'Target="metadata.xml"/>'
)


def mark_dynamic_arrays(data: bytes, anchors: dict[str, list[str]]) -> bytes:
    """The same workbook with the array formulas at the anchor cells marked dynamic."""
    source = zipfile.ZipFile(io.BytesIO(data))
    wanted = anchor_parts(source, anchors)
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            archive.writestr(entry, marked_part(entry.filename, source.read(entry.filename), wanted))
        if METADATA_PART not in source.namelist():
            archive.writestr(METADATA_PART, METADATA_XML)
    return target.getvalue()


def anchor_parts(source: zipfile.ZipFile, anchors: dict[str, list[str]]) -> dict[str, list[str]]:
    """The anchor cells by the worksheet part they are in."""
    parts = sheet_members(source)
    return {parts[sheet]: cells for sheet, cells in anchors.items()}


def marked_part(name: str, content: bytes, wanted: dict[str, list[str]]) -> bytes:
    """One part of the package as marked: its anchor cells pointing at the metadata, the content types
    and the workbook's relationships naming it."""
    if name in wanted:
        text = content.decode("utf-8")
        for cell in wanted[name]:
            text, count = re.subn(rf'<c r="{cell}"(?![^>]*\bcm=)', f'<c r="{cell}" cm="1"', text)
            if not count:
                raise ValueError(f"no cell {cell} in {name}")
        return text.encode("utf-8")
    if name == "[Content_Types].xml" and b"/xl/metadata.xml" not in content:
        return content.replace(b"</Types>", CONTENT_TYPE.encode() + b"</Types>")
    if name == "xl/_rels/workbook.xml.rels" and b"sheetMetadata" not in content:
        return content.replace(b"</Relationships>", RELATIONSHIP.encode() + b"</Relationships>")
    return content
