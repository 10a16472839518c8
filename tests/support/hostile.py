"""A corpus of hostile and broken workbooks, built from the bundled example, each with the outcome
`dtfund check` must give: an exit code and words the clerk must see. Large files are made here, at test
time, instead of being committed."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl

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
