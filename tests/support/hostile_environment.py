"""Round three of the hostile corpus (issue 26): real PCs and real numbers. Workbooks whose amounts are
typed as formulas (float noise), out-of-range 版本号, names of thousands of characters, a column filled
down to the last row, a renamed sheet, formulas never calculated, names that look like formulas; each
built from the bundled example at test time."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import openpyxl

from addin import template_spec as spec
from addin.templates.bundled import EXAMPLES, REPOSITORY
from tests.support.hostile import DATA_SHEET_PART, _rewrite

EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]  # row 5: 二级, contract 1,000,000, claims 500,000
CLEAN = REPOSITORY / "addin/examples/division-08-shihezi-revision-1.xlsx"  # checks with no error
NOISE = "43282.07+56374.91+343.02"  # Excel stores 100000.00000000001
LETTERS = spec.column_letters()


def _cells(replacements: dict[str, str]) -> Callable[[str, bytes], bytes]:
    """Replace whole cells of the 申报表 sheet's XML (each reference's <c>…</c> or <c …/>)."""

    def change(name: str, content: bytes) -> bytes:
        if name != DATA_SHEET_PART:
            return content
        for reference, xml in replacements.items():
            pattern = rb'<c r="' + reference.encode() + rb'"(?:[^>]*/>|[^>]*>.*?</c>)'
            content, count = re.subn(pattern, xml.encode().replace(b"\\", b"\\\\"), content, count=1)
            assert count == 1, reference
        return content

    return change


def _formula(reference: str, formula: str, cached: float | None) -> str:
    value = "" if cached is None else f"<v>{cached!r}</v>"
    return f'<c r="{reference}"><f>{formula}</f>{value}</c>'


def noisy_formula_amounts(folder: Path) -> Path:
    """Row 5's 合同总额, 软件费, 实际支付 and 申请补贴 typed as formulas whose sums carry float noise: each is
    a whole number of cents, as Excel shows it, stored a few units in the last place off."""
    contract, software = 10 * (43282.07 + 56374.91 + 343.02), 5 * (43282.07 + 56374.91 + 343.02)
    assert contract != 1_000_000 and software != 500_000  # the noise is real
    cells = {
        f"{LETTERS['contract_total']}5": _formula(f"{LETTERS['contract_total']}5", f"10*({NOISE})", contract),
        f"{LETTERS['software']}5": _formula(f"{LETTERS['software']}5", f"5*({NOISE})", software),
        f"{LETTERS['paid']}5": _formula(f"{LETTERS['paid']}5", f"10*({NOISE})", contract),
        f"{LETTERS['claimed']}5": _formula(f"{LETTERS['claimed']}5", f"5*({NOISE})", software),
    }
    return _rewrite(folder / "noisy-formulas.xlsx", _cells(cells))


def sub_cent_claim(folder: Path) -> Path:
    """申请补贴 typed 500000.004: more places than a cent (a warning), but not over the 500,000.00 cap."""
    return _edited(folder, "sub-cent.xlsx", {f"{LETTERS['claimed']}5": 500000.004})


def _edited(folder: Path, name: str, values: dict[str, object], source: Path = EXAMPLE) -> Path:
    workbook = openpyxl.load_workbook(source)
    sheet = workbook[spec.DATA_SHEET]
    for reference, value in values.items():
        sheet[reference] = value
        if isinstance(value, str):
            sheet[reference].data_type = "s"  # text, even when it begins with "=" (openpyxl's formula)
    workbook.save(folder / name)
    return folder / name


def huge_revision(folder: Path) -> Path:
    return _edited(folder, "revision-1e20.xlsx", {spec.REVISION_CELL: 1e20})


def revision_ten_thousand(folder: Path) -> Path:
    return _edited(folder, "revision-10000.xlsx", {spec.REVISION_CELL: 10000})


LONG_NAME = "新疆" * 2500 + "有限公司"


def long_names(folder: Path) -> Path:
    """An enterprise name and a provider of thousands of characters."""
    return _edited(folder, "long-name.xlsx", {"A5": LONG_NAME, f"{LETTERS['provider']}5": "服务商" * 2000})


def odd_characters(folder: Path) -> Path:
    """Characters outside GBK (✓, 𠮷) in a name, in a file that checks with no error."""
    return _edited(folder, "odd-characters.xlsx", {"A5": "✓𠮷石河子市天山纺织有限公司"}, source=CLEAN)


def filled_down(
    folder: Path, cell: bytes = b'<c r="%s%d" t="s"><v>0</v></c>', name: str = "filled-down"
) -> Path:
    """备注 filled down from row 205 (below the 200-row table) to row 1,048,576, as Excel saves it (the
    dimension grown to the last row); `cell`: each row's cell, its column and row to fill in."""
    note = LETTERS["remark"]

    def change(part: str, content: bytes) -> bytes:
        if part != DATA_SHEET_PART:
            return content
        rows = b"".join(
            b'<row r="%d">%s</row>' % (n, cell % (note.encode(), n)) for n in range(205, 1_048_577)
        )
        content = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:AM1048576"', content)
        return content.replace(b"</sheetData>", rows + b"</sheetData>")

    return _rewrite(folder / f"{name}.xlsx", change)


def filled_down_formula(folder: Path) -> Path:
    """The same with a formula that gives "", as Excel saves it: type str, an empty value (python-calamine
    reads it as a value, so the sheet is refused; the message must name the rows, not one cell)."""
    return filled_down(
        folder, b'<c r="%s%d" t="str"><f>IF(A1="","",A1)</f><v></v></c>', "filled-down-formula"
    )


RENAMED = "八师申报"


def renamed_sheet(folder: Path) -> Path:
    """申报表 renamed as Excel renames it: the sheet and every defined name and formula that refers to it."""

    def change(name: str, content: bytes) -> bytes:
        if name == "xl/workbook.xml" or (name.startswith("xl/worksheets/") and name.endswith(".xml")):
            text = content.decode("utf-8")
            text = text.replace(f'name="{spec.DATA_SHEET}"', f'name="{RENAMED}"')
            text = text.replace(f"'{spec.DATA_SHEET}'!", f"'{RENAMED}'!").replace(
                f"{spec.DATA_SHEET}!", f"{RENAMED}!"
            )
            return text.encode("utf-8")
        return content

    return _rewrite(folder / "renamed-sheet.xlsx", change)


def uncalculated_formula(folder: Path) -> Path:
    """合同总额 of row 5 a formula saved without its value (as a script writes it)."""
    reference = f"{LETTERS['contract_total']}5"
    return _rewrite(
        folder / "uncalculated.xlsx", _cells({reference: _formula(reference, f"10*({NOISE})", None)})
    )


FORMULA_LIKE_NAMES = ('=HYPERLINK("http://x","点我")', "+86 石河子", "-新疆-", "@石河子")


def formula_like_names(folder: Path) -> Path:
    """Enterprise names beginning with = + - @, typed as text."""
    values = {f"A{5 + n}": name for n, name in enumerate(FORMULA_LIKE_NAMES)}
    return _edited(folder, "formula-like-names.xlsx", values)
