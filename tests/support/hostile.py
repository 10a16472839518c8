"""A corpus of hostile and broken workbooks, built from the bundled example, each with the outcome
`dtfund check` must give: an exit code and words the clerk must see. Large files are made here, at test
time, instead of being committed."""

from __future__ import annotations

import io
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl

from addin.io.read_limits import template_grid
from addin.template_spec import column_letter
from addin.templates.bundled import EXAMPLES, REPOSITORY

EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]
BILLION_LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">' for n in range(1, 10)
    )
    + "]>"
)


@dataclass(frozen=True)
class Hostile:
    name: str
    build: Callable[[Path], Path]
    exit_codes: tuple[int, ...]
    says: str  # words the output must contain ("" when any reason will do)


def _rewrite(
    target: Path, change: Callable[[str, bytes], bytes], extra: dict[str, bytes] | None = None
) -> Path:
    with zipfile.ZipFile(EXAMPLE) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in source.infolist():
            out.writestr(entry.filename, change(entry.filename, source.read(entry.filename)))
        for name, content in (extra or {}).items():
            out.writestr(name, content)
    return target


def _with_doctype(part: str, doctype: str, replace: tuple[bytes, bytes] | None = None):
    def change(name: str, content: bytes) -> bytes:
        if name != part:
            return content
        head, _, body = content.partition(b"?>")
        content = head + b"?>" + doctype.encode() + body if body else doctype.encode() + content
        return content.replace(*replace) if replace else content

    return change


def entity_bomb_in_workbook(folder: Path) -> Path:
    return _rewrite(folder / "bomb-workbook.xlsx", _with_doctype("xl/workbook.xml", BILLION_LAUGHS))


def entity_bomb_in_sheet(folder: Path) -> Path:
    return _rewrite(
        folder / "bomb-sheet.xlsx",
        _with_doctype(
            "xl/sharedStrings.xml",
            BILLION_LAUGHS,
            (
                b"<t>",
                b"<t>&lol9;",
            ),
        ),
    )


def external_entity(folder: Path) -> Path:
    return _rewrite(
        folder / "xxe.xlsx",
        _with_doctype(
            "xl/sharedStrings.xml",
            '<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            (b"<t>", b"<t>&xxe;"),
        ),
    )


def zip_bomb(folder: Path) -> Path:
    return _rewrite(
        folder / "zip-bomb.xlsx",
        lambda name, content: content,
        {"xl/media/image1.bin": bytes(300 * 1024 * 1024)},
    )


def truncated(folder: Path) -> Path:
    data = EXAMPLE.read_bytes()
    (folder / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    return folder / "truncated.xlsx"


def not_a_zip(folder: Path) -> Path:
    (folder / "renamed.xlsx").write_text("企业名称,统一社会信用代码\n甲,91\n", "utf-8")
    return folder / "renamed.xlsx"


def encrypted(folder: Path) -> Path:
    from msoffcrypto.format.ooxml import OOXMLFile

    buffer = io.BytesIO()
    with EXAMPLE.open("rb") as plain:
        OOXMLFile(plain).encrypt("密码123", buffer)
    (folder / "encrypted.xlsx").write_bytes(buffer.getvalue())
    return folder / "encrypted.xlsx"


def legacy_xls(folder: Path) -> Path:
    (folder / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))
    return folder / "old.xls"


def macro_workbook(folder: Path) -> Path:
    import xlwings

    workbook = openpyxl.load_workbook(EXAMPLE)
    workbook.vba_archive = openpyxl.load_workbook(
        Path(xlwings.__file__).parent / "quickstart.xlsm", keep_vba=True
    ).vba_archive
    workbook.save(folder / "macros.xlsm")
    return folder / "macros.xlsm"


def million_junk_rows(folder: Path) -> Path:
    junk = b"".join(
        b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>junk %d</t></is></c></row>' % (n, n, n)
        for n in range(1000, 1_000_001)
    )

    def change(name: str, content: bytes) -> bytes:
        if name == "xl/worksheets/sheet1.xml":
            content = content.replace(b"</sheetData>", junk + b"</sheetData>")
        return content

    return _rewrite(folder / "million-rows.xlsx", change)


def _edited(folder: Path, name: str, edit: Callable[[openpyxl.Workbook], None]) -> Path:
    workbook = openpyxl.load_workbook(EXAMPLE)
    edit(workbook)
    workbook.save(folder / name)
    return folder / name


def longest_text(folder: Path) -> Path:
    def edit(workbook: openpyxl.Workbook) -> None:
        workbook["申报表"]["W5"] = "备" * 32767
        workbook["申报表"]["D6"] = "行" * 32767

    return _edited(folder, "long-text.xlsx", edit)


def merged_cells(folder: Path) -> Path:
    return _edited(folder, "merged.xlsx", lambda wb: wb["申报表"].merge_cells("A5:C6"))


def hidden_rows_and_columns(folder: Path) -> Path:
    def edit(workbook: openpyxl.Workbook) -> None:
        sheet = workbook["申报表"]
        sheet.row_dimensions[8].hidden = True
        sheet.column_dimensions["X"].hidden = True

    return _edited(folder, "hidden.xlsx", edit)


def date_out_of_range(folder: Path) -> Path:
    """A date-formatted cell holding -1e76: python-calamine's Rust code panics converting it."""

    def edit(workbook: openpyxl.Workbook) -> None:
        cell = workbook["申报表"]["G5"]
        cell.value = -1e76
        cell.number_format = "yyyy-mm-dd"

    return _edited(folder, "date-out-of-range.xlsx", edit)


CORPUS = [
    Hostile("entity bomb in workbook.xml", entity_bomb_in_workbook, (2,), "无法解析"),
    Hostile("entity bomb in the shared strings", entity_bomb_in_sheet, (1, 2), ""),
    Hostile("external entity", external_entity, (1, 2), ""),
    Hostile("zip bomb", zip_bomb, (2,), "压缩炸弹"),
    Hostile("truncated zip", truncated, (2,), "不是有效的 Excel"),
    Hostile("text renamed .xlsx", not_a_zip, (2,), "不是有效的 Excel"),
    Hostile("password-protected", encrypted, (2,), "密码"),
    Hostile("legacy .xls", legacy_xls, (2,), "另存为 .xlsx"),
    Hostile(".xlsm with macros", macro_workbook, (1,), "校验结论：不通过"),
    Hostile("a million rows of junk", million_junk_rows, (1,), "校验结论：不通过"),
    Hostile("32,767-character cells", longest_text, (1,), "共 32767 字"),
    Hostile("merged cells over the data", merged_cells, (1,), "REQUIRED_MISSING"),
    Hostile("hidden rows and columns", hidden_rows_and_columns, (1,), "FEE_SERVICE_OVER_20"),
    Hostile("a date cell calamine panics on", date_out_of_range, (2,), "超出范围"),
]


# --- round two (issue 18): grid inflation, crafted names, files that are not files, stray values ------

DATA_SHEET_PART = "xl/worksheets/sheet1.xml"  # 申报表
META_SHEET_PART = "xl/worksheets/sheet7.xml"  # _meta, hidden, read for the template's id
GUIDE_SHEET_PART = "xl/worksheets/sheet3.xml"  # 填表说明, which no defined name refers to


def _in_sheet(part: str, rows: bytes) -> Callable[[str, bytes], bytes]:
    """Rows added at the end of a sheet's data."""

    def change(name: str, content: bytes) -> bytes:
        return content.replace(b"</sheetData>", rows + b"</sheetData>") if name == part else content

    return change


def _far_value(part: str, reference: str) -> Callable[[str, bytes], bytes]:
    row = reference.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    return _in_sheet(part, f'<row r="{row}"><c r="{reference}"><v>1</v></c></row>'.encode())


def far_cell(reference: str, part: str = DATA_SHEET_PART) -> Callable[[Path], Path]:
    def build(folder: Path) -> Path:
        return _rewrite(folder / f"far-{reference}-{Path(part).stem}.xlsx", _far_value(part, reference))

    return build


def huge_dimension(folder: Path) -> Path:
    def change(name: str, content: bytes) -> bytes:
        if name != DATA_SHEET_PART:
            return content
        return re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', content)

    return _rewrite(folder / "huge-dimension.xlsx", change)


PAST_THE_GRID = column_letter(template_grid().last_column + 1)


def cells_without_references(folder: Path) -> Path:
    """One row of 200 cells without their references: python-calamine places them from column A on."""
    return _rewrite(
        folder / "unreferenced-cells.xlsx",
        _in_sheet(DATA_SHEET_PART, b'<row r="3000">' + b"<c><v>1</v></c>" * 200 + b"</row>"),
    )


TINY_CELLS_ROWS = 1_000_000
TINY_CELLS_PER_ROW = 100


def hundred_million_tiny_cells(folder: Path) -> Path:
    """10^8 cells below the table (rows and cells without references), streamed into a part that
    deflates to about 11 MB (a ratio the zip-bomb check lets through), 1.5 GB inflated."""
    target = folder / "tiny-cells.xlsx"
    row = b"<row>" + b"<c><v>1</v></c>" * TINY_CELLS_PER_ROW + b"</row>"
    block_rows = 1000
    with (
        zipfile.ZipFile(EXAMPLE) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
    ):
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename != DATA_SHEET_PART:
                out.writestr(entry.filename, content)
                continue
            head, _, tail = content.partition(b"</sheetData>")
            with out.open(entry.filename, "w", force_zip64=True) as part:
                part.write(head)
                for _ in range(TINY_CELLS_ROWS // block_rows):
                    part.write(row * block_rows)
                part.write(b"</sheetData>" + tail)
    return target


def huge_shared_strings(folder: Path) -> Path:
    """A shared-strings part of 300 MB inflated, in a few megabytes."""
    target = folder / "huge-shared-strings.xlsx"
    count = 12_000_000
    with (
        zipfile.ZipFile(EXAMPLE) as source,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out,
    ):
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename == "[Content_Types].xml":
                content = content.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            if entry.filename == "xl/_rels/workbook.xml.rels":
                content = content.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            out.writestr(entry.filename, content)
        with out.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            block = b"<si><t>shared text</t></si>" * 10_000
            for _ in range(count // 10_000):
                part.write(block)
            part.write(b"</sst>")
    return target


def _names_edited(target: Path, edit: Callable[[bytes], bytes]) -> Path:
    return _rewrite(target, lambda name, content: edit(content) if name == "xl/workbook.xml" else content)


def table_names_stretched(folder: Path) -> Path:
    """Every column's name over rows 5 to 99,999,999: they agree with each other."""
    return _names_edited(
        folder / "names-stretched.xlsx",
        lambda xml: re.sub(rb"(!\$[A-Z]+\$5:\$[A-Z]+\$)\d+<", rb"\g<1>99999999<", xml),
    )


def unit_name_stretched(folder: Path) -> Path:
    """The 填报单位's one-cell name over rows 6 to 99,999,999."""
    return _names_edited(
        folder / "unit-name-stretched.xlsx",
        lambda xml: re.sub(rb"(DTFUND_UNIT\">[^<]*!)\$B\$2<", rb"\1$B$6:$B$99999999<", xml),
    )


def name_shifted_one_row(folder: Path) -> Path:
    """The credit codes' name one row down: each code would be paired with the next row's amounts."""
    return _names_edited(
        folder / "name-shifted.xlsx",
        lambda xml: re.sub(rb"(name=\"uscc\">[^!]*!)\$B\$5:\$B\$(\d+)<", _one_down, xml),
    )


def _one_down(match: re.Match[bytes]) -> bytes:
    return match.group(1) + b"$B$6:$B$" + str(int(match.group(2)) + 1).encode() + b"<"


def name_given_twice(folder: Path) -> Path:
    """The credit codes' name defined a second time, one row down (which one Excel uses is a guess)."""

    def edit(xml: bytes) -> bytes:
        original = re.search(rb'<definedName name="uscc">[^<]*</definedName>', xml).group(0)
        return xml.replace(original, original + re.sub(rb"\$B\$5:\$B\$(\d+)", b"$B$6:$B$205", original))

    return _names_edited(folder / "name-twice.xlsx", edit)


def named_pipe(folder: Path) -> Path:
    os.mkfifo(folder / "pipe.xlsx")
    return folder / "pipe.xlsx"


def link_to_dev_zero(folder: Path) -> Path:
    (folder / "zero.xlsx").symlink_to("/dev/zero")
    return folder / "zero.xlsx"


def folder_named_xlsx(folder: Path) -> Path:
    (folder / "folder.xlsx").mkdir()
    return folder / "folder.xlsx"


def _cell(reference: bytes, replacement: bytes) -> Callable[[str, bytes], bytes]:
    def change(name: str, content: bytes) -> bytes:
        if name != DATA_SHEET_PART:
            return content
        return re.sub(rb'<c r="' + reference + rb'"[^>]*>.*?</c>', replacement, content, count=1)

    return change


def division_by_zero_amount(folder: Path) -> Path:
    """合同总额 (K5) holding a formula's cached #DIV/0!."""
    return _rewrite(folder / "div0.xlsx", _cell(b"K5", b'<c r="K5" t="e"><f>1/0</f><v>#DIV/0!</v></c>'))


def not_a_number_date(folder: Path) -> Path:
    """合同签订日期 (G5) storing NaN in its date format."""
    return _rewrite(folder / "nan-date.xlsx", _cell(b"G5", b'<c r="G5" s="22" t="n"><v>NaN</v></c>'))


ROUND_TWO = [
    Hostile("a value in XFD1048576", far_cell("XFD1048576"), (2,), "申报表!XFD1048576 有内容，超出模板范围"),
    Hostile("a value in XFD20000", far_cell("XFD20000"), (2,), "XFD20000 有内容，超出模板范围"),
    Hostile("a value in XFD8200", far_cell("XFD8200"), (2,), "XFD8200 有内容，超出模板范围"),
    # (near the table: python-calamine's grid stays small, the value is left out as before)
    Hostile("a value in AN5, right of the table", far_cell("AN5"), (1,), "校验结论"),
    Hostile("a value in A1048576", far_cell("A1048576"), (2,), "申报表!A1048576"),
    Hostile(
        "a far value in the hidden _meta", far_cell("XFD1048576", META_SHEET_PART), (2,), "_meta!XFD1048576"
    ),
    Hostile("a far value in a sheet never read", far_cell("XFD1048576", GUIDE_SHEET_PART), (1,), "校验结论"),
    Hostile("a huge <dimension>", huge_dimension, (1,), "校验结论"),
    # the first of its 200 cells past the widest table a policy can make (addin.io.read_limits)
    Hostile("cells without references", cells_without_references, (2,), f"申报表!{PAST_THE_GRID}3000"),
    Hostile("10^8 tiny cells below the table", hundred_million_tiny_cells, (2,), "超出模板范围"),
    Hostile("300 MB of shared strings", huge_shared_strings, (2,), "xl/sharedStrings.xml 解压后有"),
    Hostile("table names over 10^8 rows", table_names_stretched, (2,), "超出了模板最多的"),
    Hostile("the unit's name over 10^8 rows", unit_name_stretched, (2,), "DTFUND_UNIT"),
    Hostile("a name one row down", name_shifted_one_row, (2,), "错开了 1 行"),
    Hostile("a name given twice", name_given_twice, (2,), "定义了不止一次"),
    Hostile("a named pipe", named_pipe, (2,), "不是普通文件"),
    Hostile("a link to /dev/zero", link_to_dev_zero, (2,), "不是普通文件"),
    Hostile("a folder named .xlsx", folder_named_xlsx, (2,), "是文件夹"),
    Hostile("#DIV/0! in an amount", division_by_zero_amount, (1,), "错误值 #DIV/0!"),
    Hostile("NaN in a date", not_a_number_date, (1,), "VALUE_NOT_A_DATE"),
]
