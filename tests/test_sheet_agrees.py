"""The sheet and the check agree on every cell a clerk can type: for each value in a corpus of awkward
inputs (stray and full-width spaces, a date with a time, numbers and dates typed as text, unlisted or
blank choices, cost items short of the contract, Excel error values such as #N/A), the template's
formulas recalculated by LibreOffice give the check's amounts — or the check reports at that cell that
the sheet cannot compute it, and then counts nothing for the row."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from openpyxl.worksheet.worksheet import Worksheet

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.io.cell_errors import CellError
from addin.templates.bundled import filled_application
from schemas.fields import amount_fields
from schemas.policy import load_policy
from tests.conftest import valid_code, valid_row
from tests.support.libreoffice import recalculate

AMOUNT_FIELDS = amount_fields(load_policy())

# The rules that say the template's formulas cannot read a cell as the check does.
SHEET_CANNOT_COMPUTE = {
    "NUMBER_STORED_AS_TEXT",
    "DATE_STORED_AS_TEXT",
    "CHOICE_NOT_EXACT",
    "VALUE_NOT_A_NUMBER",
    "VALUE_NOT_A_DATE",
    "CELL_ERROR_VALUE",
}
COUNTED = ("transformation_subsidy", "progress_bonus", "honor_award", "total_award")

CORPUS: list[dict] = [
    {},  # the control: a valid row
    {"little_giant": "是 "},
    {"little_giant": "否 "},
    {"little_giant": "\u3000否"},
    {"little_giant": None},
    {"level": "二级 "},
    {"level": "二级\u3000"},
    {"level": "五级"},
    {"size_class": "大型"},
    {"size_class": None},
    {"size_class": "小型 "},
    {"honor": "省级数字化车间"},
    {"honor": "5G工厂"},
    {"honor": "5G工厂 "},
    {"negative_record": None},
    {"negative_record": "无 "},
    {"completion_date": dt.datetime(2025, 12, 31, 18, 30), "evaluation_date": dt.datetime(2025, 12, 31, 9)},
    {"contract_date": dt.datetime(2025, 1, 15, 9, 30)},
    {"contract_date": dt.datetime(2024, 10, 18, 23, 59)},
    {"paid": "800,000"},
    {"paid": "1000000"},
    {"contract_total": "1,000,000.00"},
    {"contract_date": "2025年1月15日"},
    {"completion_date": "2025-08-30"},
    {"software": 300000.0},  # items 800,000 of a 1,000,000 contract: the base is 800,000
    {"software": 300000.0, "paid": 750000.0},
    {"paid": "80万"},
    {"paid": CellError("#N/A")},  # error values, typed or pasted: the formulas carry them on
    {"contract_total": CellError("#VALUE!")},
    {"software": CellError("#DIV/0!")},
    {"contract_date": CellError("#N/A")},
    {"completion_date": CellError("#REF!")},
    {"level": CellError("#REF!")},
    {"size_class": CellError("#NUM!")},
    {"honor": CellError("#NAME?")},
    {"little_giant": CellError("#NULL!")},
]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, policy) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    rows = [valid_row(uscc=valid_code(f"MA9{n:06d}")) | _typed(changes) for n, changes in enumerate(CORPUS)]
    source = folder / "corpus.xlsx"
    book = filled_application(policy, "第八师石河子市", rows, template_rows=len(rows) + 5)
    _error_cells(book[spec.DATA_SHEET])
    book.save(source)
    target = folder / "recalculated.xlsx"
    recalculate([(source, target)])
    return source, target


def _typed(changes: dict) -> dict:
    """The corpus's changes as filled_application writes them: an error value as its code."""
    return {name: value.code if isinstance(value, CellError) else value for name, value in changes.items()}


def _error_cells(sheet: Worksheet) -> None:
    """The corpus's error values stored as error cells (<c t="e">), as Excel stores #N/A typed or pasted."""
    letters = spec.column_letters()
    for n, changes in enumerate(CORPUS):
        for name, value in changes.items():
            if isinstance(value, CellError):
                sheet[f"{letters[name]}{spec.FIRST_DATA_ROW + n}"].data_type = "e"


def test_the_sheet_and_the_check_agree_on_every_cell(corpus, policy) -> None:
    source, target = corpus
    result = check_file(source, policy)
    amounts = result.table.amounts
    cannot = {i.row for i in result.issues if i.rule in SHEET_CANNOT_COMPUTE}
    sheet = openpyxl.load_workbook(target, data_only=True)[spec.DATA_SHEET]
    letters = spec.column_letters()
    compared = 0
    for n, changes in enumerate(CORPUS):
        row = spec.FIRST_DATA_ROW + n
        if row in cannot:
            assert all(amounts.at[row, name] == 0 for name in COUNTED), (changes, "counts nothing")
            continue
        for name in AMOUNT_FIELDS:
            value = sheet[f"{letters[name]}{row}"].value
            assert isinstance(value, int | float), (changes, name, value)
            engine = Decimal(repr(float(value))).quantize(Decimal("0.01"))
            assert engine == amounts.at[row, name], (changes, name, engine, amounts.at[row, name])
            compared += 1
    assert compared >= 12 * len(AMOUNT_FIELDS)
    # the awkward cells the sheet cannot compute are the ones the check says so for
    errors = range(27, 36)
    assert cannot == {
        spec.FIRST_DATA_ROW + n for n in (1, 2, 3, 5, 6, 10, 13, 15, 19, 20, 21, 22, 23, 26, *errors)
    }
    # each error value is reported at its own cell, and nothing else on its row
    letters = spec.column_letters()
    for n in errors:
        row, ((name, error),) = spec.FIRST_DATA_ROW + n, CORPUS[n].items()
        on_row = [(i.rule, i.cell, str(i.value)) for i in result.issues if i.row == row]
        assert on_row == [("CELL_ERROR_VALUE", f"{letters[name]}{row}", error.code)], on_row


def test_invalid_values_never_pay(corpus, policy) -> None:
    source, _ = corpus
    amounts = check_file(source, policy).table.amounts
    at = {tuple(sorted(c.items(), key=str)): spec.FIRST_DATA_ROW + n for n, c in enumerate(CORPUS)}

    def row(**changes):
        return at[tuple(sorted(changes.items(), key=str))]

    assert amounts.at[row(), "transformation_subsidy"] == Decimal("500000.00")
    for changes in (
        {"size_class": "大型"},
        {"size_class": None},
        {"little_giant": None},
        {"negative_record": None},
    ):
        assert amounts.at[row(**changes), "total_award"] == 0, changes
    assert amounts.at[row(honor="省级数字化车间"), "honor_award"] == 0
    assert amounts.at[row(honor="5G工厂"), "honor_award"] == Decimal("500000.00")
    base = amounts.at[row(software=300000.0), "eligible_base"]
    assert base == Decimal("800000.00")  # the supported items, not the contract
    assert amounts.at[row(software=300000.0, paid=750000.0), "eligible_base"] == Decimal("750000.00")


def test_the_recalculated_corpus_has_no_formula_mismatch(corpus, policy) -> None:
    """Formulas the clerk never touched are never reported as typed over, whatever the inputs."""
    _, target = corpus
    result = check_file(target, policy)
    assert not [i for i in result.issues if i.rule == "FORMULA_VALUE_MISMATCH"]


# (name, credit code) a clerk may type on a row: the template's red 合计 highlight and TOTAL_ROW_PRESENT
# must pick the same rows.
TOTAL_CORPUS: list[tuple[str | None, str | None]] = [
    ("合计", None),
    ("合 计", None),
    ("合\u3000计", None),  # a full-width space
    ("合\n计", None),  # Alt+Enter in the cell
    ("本页小计", None),
    (None, "总计"),  # the label in the code column
    ("合计", valid_code("MA9000001")[:-1] + "0"),  # 18 characters, not a valid code
    ("新疆合计数字科技有限公司", valid_code("MA9000002")),
    ("合\t计", None),  # a tab: neither the highlight nor the check reads it as 合计
    ("石河子市天山纺织有限公司", "合计"),
    ("新疆合计数字科技有限公司", valid_code("MA77T3B5W")[:8] + "-" + valid_code("MA77T3B5W")[8:]),
    ("新疆合计数字科技有限公司", " " + valid_code("MA9000003") + "\u3000"),  # with spaces around
]


def test_the_total_row_highlight_and_the_check_pick_the_same_rows(tmp_path: Path, policy) -> None:
    rows = [valid_row(name=name, uscc=code) for name, code in TOTAL_CORPUS]
    source = tmp_path / "totals.xlsx"
    book = filled_application(policy, "第八师石河子市", rows, template_rows=len(rows) + 5)
    sheet = book[spec.DATA_SHEET]
    first = spec.FIRST_DATA_ROW
    highlight = next(
        rule.formula[0]
        for area in sheet.conditional_formatting
        for rule in area.rules
        if "合计" in rule.formula[0]
    )
    probe = "AZ"  # a spare column: the highlight's condition as a cell formula, row by row
    for n in range(len(rows)):
        sheet[f"{probe}{first + n}"] = "=" + re.sub(rf"(\$[A-Z]+){first}\b", rf"\g<1>{first + n}", highlight)
    book.save(source)
    target = tmp_path / "recalculated.xlsx"
    recalculate([(source, target)])
    values = openpyxl.load_workbook(target, data_only=True)[spec.DATA_SHEET]
    highlighted = {first + n for n in range(len(rows)) if values[f"{probe}{first + n}"].value is True}
    reported = {i.row for i in check_file(source, policy).issues if i.rule == "TOTAL_ROW_PRESENT"}
    assert highlighted == reported
    assert reported == {first + n for n in (0, 1, 2, 3, 4, 5, 9)}


# Rows of real PCs (issue 26): amounts typed as formulas whose sums carry float noise, amounts with more
# places than a cent, and a row's date or amounts typed as text.
NOISE = "(43282.07+56374.91+343.02)"  # Excel stores 100000.00000000001
NOISY_FORMULAS = {
    "contract_total": f"=10*{NOISE}",
    "software": f"=5*{NOISE}",
    "consulting": f"={NOISE}",
    "integration": f"=0.6*{NOISE}",  # the 6% limit, give or take the noise
    "other_service": f"=0.4*{NOISE}",
    "paid": f"=10*{NOISE}",
    "claimed": f"=5*{NOISE}",  # the 二级 cap
}
# LibreOffice snaps a sum's noise away and compares with a tolerance of its own (Excel does neither), so
# in this engine the cent is shown by amounts typed with more places: over their limits by less than
# half a cent, they are at their limits once rounded, as the check counts them (AMOUNT_PRECISION only).
SUB_CENT = {"integration": 60000.004, "claimed": 500000.004, "paid": 1000000.004}
RAW_COMPARISONS = (("integration", 60000), ("claimed", 500000))  # over their limits before ROUND
TEXT_ROWS = [
    {"contract_date": "2025年1月15日"},  # the whole row was #VALUE!
    {"completion_date": "2025-08-30"},
    {"contract_total": "246,913.50", "paid": "246,913.50"},  # the sheet showed the 10万 progress bonus
]


def _highlight_probes(sheet: Worksheet, row: int, probe_column: int) -> list[str]:
    """Each highlight rule's condition written as a cell formula on `row` (the rules are written for the
    first data row), in columns from `probe_column`: their values say whether the row is marked red."""
    first = spec.FIRST_DATA_ROW
    conditions = [rule.formula[0] for area in sheet.conditional_formatting for rule in area.rules]
    cells = []
    for n, condition in enumerate(conditions):
        cell = sheet.cell(row, probe_column + n)
        cell.value = "=" + re.sub(rf"(\$?[A-Z]+){first}\b", rf"\g<1>{row}", condition)
        cells.append(cell.coordinate)
    return cells


def test_noise_and_text_rows_in_a_real_engine(tmp_path: Path, policy) -> None:
    """LibreOffice: amounts compared at the cent (ROUND) raise no red mark for a noisy formula-typed
    amount or one with more places than a cent, and the check agrees (no rule but AMOUNT_PRECISION); a
    row with a date or amounts typed as text shows 0 in every amount, not #VALUE! and not a bonus, with
    the text cell marked red, as the check counts it."""
    changes = [{}, SUB_CENT, *TEXT_ROWS]
    rows = [valid_row(uscc=valid_code(f"MA8{n:06d}")) | c for n, c in enumerate(changes)]
    book = filled_application(policy, "第八师石河子市", rows, template_rows=10)
    sheet = book[spec.DATA_SHEET]
    letters = spec.column_letters()
    noisy, sub_cent = spec.FIRST_DATA_ROW, spec.FIRST_DATA_ROW + 1
    for name, formula in NOISY_FORMULAS.items():
        sheet[f"{letters[name]}{noisy}"] = formula
    probes = {row: _highlight_probes(sheet, row, 60) for row in range(noisy, noisy + len(rows))}
    for n, (name, limit) in enumerate(RAW_COMPARISONS):
        sheet.cell(sub_cent, 59 - n).value = f"={letters[name]}{sub_cent}>{limit}"
    source, target = tmp_path / "noise.xlsx", tmp_path / "recalculated.xlsx"
    book.save(source)
    recalculate([(source, target)])
    values = openpyxl.load_workbook(target, data_only=True)[spec.DATA_SHEET]
    result = check_file(target, policy)
    assert all(values.cell(sub_cent, 59 - n).value is True for n in range(len(RAW_COMPARISONS)))
    for row in (noisy, sub_cent):
        assert not [c for c in probes[row] if values[c].value is True], (row, "no red mark")
        assert {i.rule for i in result.issues if i.row == row} <= {"AMOUNT_PRECISION"}, row
        assert result.table.amounts.at[row, "total_award"] == Decimal("600000.00")
        for name in AMOUNT_FIELDS:
            engine = Decimal(repr(float(values[f"{letters[name]}{row}"].value))).quantize(Decimal("0.01"))
            assert engine == result.table.amounts.at[row, name], (row, name)
    for n, text in enumerate(TEXT_ROWS, start=2):
        row = noisy + n
        for name in COUNTED:
            assert values[f"{letters[name]}{row}"].value == 0, (
                text,
                name,
                values[f"{letters[name]}{row}"].value,
            )
            assert result.table.amounts.at[row, name] == 0
        assert [c for c in probes[row] if values[c].value is True], (text, "the text cell is marked red")
        assert {i.rule for i in result.issues if i.row == row} & {
            "NUMBER_STORED_AS_TEXT",
            "DATE_STORED_AS_TEXT",
        }


def test_every_highlight_compares_typed_amounts_at_the_cent(policy) -> None:
    """Excel compares exactly (=43282.07+56374.91+343.02 > 100000 is TRUE there): every typed amount a
    highlight compares with a limit is ROUNDed to the cent first."""
    from addin.templates.formulas import RowFormulas

    formulas = RowFormulas(spec.column_letters(), policy)
    letters = spec.column_letters()
    for kind in ("service", "integration"):
        assert f"ROUND(${letters['contract_total']}5,2)" in formulas.fee_limit_exceeded(5, kind)
    assert f"ROUND(${letters['integration']}5,2)>" in formulas.fee_limit_exceeded(5, "integration")
    sheet = filled_application(policy, "第八师石河子市", [valid_row()], template_rows=3)[spec.DATA_SHEET]
    conditions = [rule.formula[0] for area in sheet.conditional_formatting for rule in area.rules]
    assert any(f"ROUND(${letters['claimed']}5,2)>" in c for c in conditions)


# Cost items typed with fractions of a cent (issue 26): the check rounds each item to the cent and then
# adds them; the contract's red mark compared the raw sum, rounded once, so the two disagreed both ways.
SUB_CENT_ITEMS = [
    {"software": 500000.006, "cloud": 99999.996},  # items 500,000.01 + 100,000.00: a cent over the contract
    {"software": 500000.004, "cloud": 100000.004},  # items 500,000.00 + 100,000.00: the contract exactly
]


def test_cost_items_with_fractions_of_a_cent_are_added_as_the_check_adds_them(tmp_path: Path, policy) -> None:
    rows = [valid_row(uscc=valid_code(f"MA9{n:06d}")) | c for n, c in enumerate(SUB_CENT_ITEMS)]
    book = filled_application(policy, "第八师石河子市", rows, template_rows=5)
    sheet = book[spec.DATA_SHEET]
    letters = spec.column_letters()
    contract = letters["contract_total"]
    first = spec.FIRST_DATA_ROW
    condition = next(
        rule.formula[0]
        for area in sheet.conditional_formatting
        for rule in area.rules
        if str(area.sqref).startswith(f"{contract}{first}") and "ISTEXT" not in rule.formula[0]
    )
    for n in range(len(rows)):
        sheet[f"AZ{first + n}"] = "=" + re.sub(rf"(\$?[A-Z]+){first}\b", rf"\g<1>{first + n}", condition)
    source, target = tmp_path / "sub-cent.xlsx", tmp_path / "recalculated.xlsx"
    book.save(source)
    recalculate([(source, target)])
    values = openpyxl.load_workbook(target, data_only=True)[spec.DATA_SHEET]
    red = {first + n for n in range(len(rows)) if values[f"AZ{first + n}"].value is True}
    mismatch = {i.row for i in check_file(source, policy).issues if i.rule == "COST_COMPONENTS_MISMATCH"}
    assert red == mismatch == {first}
