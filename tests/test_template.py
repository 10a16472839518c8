"""The application template: names, dropdowns, formulas, highlighting, protection, print setup,
guide and rule sheets, and byte-for-byte reproducibility."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.cli import app
from addin.io.workbook_reader import defined_names
from addin.templates.bundled import APPLICATION_TEMPLATE, REPOSITORY, write_bundled
from schemas.fields import application_fields, computed_fields, input_fields
from schemas.registry import ledger_rules, load_registry

INPUT_IDS = [
    "name",
    "uscc",
    "division",
    "industry",
    "size_class",
    "provider",
    "contract_date",
    "completion_date",
    "evaluation_date",
    "level",
    "contract_total",
    "software",
    "cloud",
    "equipment",
    "consulting",
    "integration",
    "other_service",
    "paid",
    "claimed",
    "honor",
    "little_giant",
    "negative_record",
    "doc_diagnosis",
    "doc_contract",
    "doc_invoice",
    "doc_payment",
    "doc_evaluation",
    "remark",
]
COMPUTED_IDS = [
    "service_total",
    "service_ratio",
    "integration_ratio",
    "eligible_base",
    "transformation_subsidy",
    "central",
    "bingtuan",
    "division_fund",
    "progress_bonus",
    "honor_award",
    "total_award",
]

LAST_ROW = spec.FIRST_DATA_ROW + spec.DEFAULT_ROWS - 1  # the bundled template's last row


@pytest.fixture(scope="module")
def template() -> openpyxl.Workbook:
    return openpyxl.load_workbook(REPOSITORY / APPLICATION_TEMPLATE)


def test_every_column_is_a_defined_name_over_its_data_cells(template) -> None:
    assert [f.id for f in input_fields()] == INPUT_IDS
    assert [f.id for f in computed_fields()] == COMPUTED_IDS
    names = defined_names(REPOSITORY / APPLICATION_TEMPLATE)
    letters = spec.column_letters()
    for field_id in INPUT_IDS + COMPUTED_IDS:
        ref = names[field_id]
        assert (ref.sheet, ref.first_column, ref.first_row, ref.last_row) == (
            spec.DATA_SHEET,
            letters[field_id],
            spec.FIRST_DATA_ROW,
            spec.FIRST_DATA_ROW + spec.DEFAULT_ROWS - 1,
        )
        header = template[spec.DATA_SHEET][f"{letters[field_id]}{spec.HEADER_ROW}"].value
        assert header and all("\u4e00" <= ch <= "\u9fff" for ch in header[:2]), header


def test_dropdowns_with_chinese_errors(template) -> None:
    sheet = template[spec.DATA_SHEET]
    letters = spec.column_letters()
    validations = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    for field in input_fields():
        if field.kind != "choice":
            continue
        validation = validations[f"{letters[field.id]}5:{letters[field.id]}{LAST_ROW}"]
        assert validation.type == "list" and validation.formula1 == f"=LIST_{field.id.upper()}"
        assert validation.showErrorMessage and "下拉列表" in validation.error
    lists = defined_names(REPOSITORY / APPLICATION_TEMPLATE)
    assert lists["LIST_DIVISION"].sheet == spec.LISTS_SHEET
    assert template[spec.LISTS_SHEET].sheet_state == "hidden"
    money = validations[f"{letters['paid']}5:{letters['paid']}{LAST_ROW}"]
    assert money.type == "decimal" and "金额" in money.error
    assert validations["B2"].formula1 == "=LIST_DIVISION"


def test_computed_columns_are_formulas_in_every_row(template) -> None:
    sheet = template[spec.DATA_SHEET]
    letters = spec.column_letters()
    for row in (spec.FIRST_DATA_ROW, spec.FIRST_DATA_ROW + spec.DEFAULT_ROWS - 1):
        for field_id in COMPUTED_IDS:
            cell = sheet[f"{letters[field_id]}{row}"]
            assert str(cell.value).startswith("=IF(COUNTA("), (field_id, row)
            assert cell.protection.locked
            assert f"{row}" in cell.value
        for field_id in INPUT_IDS:
            assert sheet[f"{letters[field_id]}{row}"].value is None


def test_protection_inputs_unlocked_formulas_locked(template) -> None:
    sheet = template[spec.DATA_SHEET]
    assert sheet.protection.sheet
    letters = spec.column_letters()
    for field in application_fields():
        dimension = sheet.column_dimensions[letters[field.id]]
        assert dimension.protection.locked is field.computed, field.id
    for name in (spec.GUIDE_SHEET, spec.RULES_SHEET, spec.PARAMETERS_SHEET):
        assert template[name].protection.sheet


def test_highlighting_red_as_the_clerk_types(template) -> None:
    sheet = template[spec.DATA_SHEET]
    letters = spec.column_letters()
    ranges = {str(cf.sqref): [r.formula[0] for r in cf.rules] for cf in sheet.conditional_formatting}
    claimed = ranges[f"{letters['claimed']}5:{letters['claimed']}{LAST_ROW}"][0]
    assert f"ROUND(${letters['claimed']}5,2)>${letters['transformation_subsidy']}5" in claimed  # at the cent
    service = next(v for k, v in ranges.items() if k.startswith(f"{letters['service_total']}5"))[0]
    assert "P_SERVICE_FEE_LIMIT" in service
    integration = next(v for k, v in ranges.items() if k.startswith(f"{letters['integration']}5"))[0]
    assert "P_INTEGRATION_FEE_LIMIT" in integration
    assert f"{letters['service_ratio']}5" in " ".join(ranges)


def test_frozen_header_and_a4_landscape_print(template) -> None:
    sheet = template[spec.DATA_SHEET]
    assert sheet.freeze_panes == "C5"
    assert sheet.page_setup.orientation == "landscape"
    assert str(sheet.page_setup.paperSize) == "9"  # A4
    assert sheet.page_setup.fitToWidth == 2
    assert sheet.print_title_cols.replace("$", "") == "A:B"
    assert sheet.print_title_rows.replace("$", "") == "3:4"


def test_guide_rules_parameters_and_hidden_version(template) -> None:
    assert template.sheetnames[0] == spec.DATA_SHEET
    guide = " ".join(str(c.value) for row in template[spec.GUIDE_SHEET].iter_rows() for c in row if c.value)
    assert "dtfund check" in guide and "统一社会信用代码" in guide
    rules = [row for row in template[spec.RULES_SHEET].iter_rows(min_row=2, values_only=True)]
    # every rule but those the policy gives no column (the 兵团 has no date window besides the contract's)
    from schemas.application_rules import rules_without_columns
    from schemas.policy import load_policy

    assert rules_without_columns(load_policy()) == {"DATE_OUT_OF_WINDOW"}
    # and the rules of the fund's books, which only consolidate --ledger raises
    assert {r[0] for r in rules} == set(load_registry()) - {"DATE_OUT_OF_WINDOW"} - ledger_rules()
    assert ledger_rules() == {"LEDGER_TO_RECOVER", "LEDGER_PAID_UNDER_OTHER_CODE", "LEDGER_OVER_BUDGET"}
    assert all(r[5] for r in rules), "every rule shows its clause (— for a rule about the file)"
    parameters = [row for row in template[spec.PARAMETERS_SHEET].iter_rows(values_only=True)]
    assert any(
        r[6] == "P_SUBSIDY_RATE"
        and r[1] == dt.datetime(2024, 10, 18)
        and r[2] == 0.5
        and r[4] == "第十条（一）1"
        for r in parameters
    )
    meta = template[spec.META_SHEET]
    assert meta.sheet_state == "hidden"
    assert (meta["B1"].value, meta["B2"].value) == (spec.TEMPLATE_ID, spec.TEMPLATE_VERSION)


def test_unit_option_fills_the_submitting_unit(tmp_path: Path) -> None:
    path = tmp_path / "t.xlsx"
    result = CliRunner().invoke(
        app, ["template", "application", "-o", str(path), "--unit", "第八师石河子市", "--rows", "10"]
    )
    assert result.exit_code == 0
    assert openpyxl.load_workbook(path)[spec.DATA_SHEET]["B2"].value == "第八师石河子市"
    refused = CliRunner().invoke(app, ["template", "application", "-o", str(path), "--unit", "第八师"])
    assert refused.exit_code == 2 and "不在名单中" in refused.output


def test_regenerating_gives_identical_bytes(tmp_path: Path) -> None:
    """The committed template and examples are exactly what the generator writes."""
    written = write_bundled(tmp_path)
    for path in written:
        committed = REPOSITORY / path.relative_to(tmp_path)
        assert (
            hashlib.sha256(path.read_bytes()).hexdigest()
            == hashlib.sha256(committed.read_bytes()).hexdigest()
        ), f"{committed} is stale: run python -m addin.templates.bundled"


def test_hundred_thousand_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    result = CliRunner().invoke(app, ["template", "application", "-o", str(path), "--rows", "100000"])
    assert result.exit_code == 0
    names = defined_names(path)
    letters = spec.column_letters()
    for field in application_fields():
        assert (names[field.id].first_row, names[field.id].last_row) == (5, 100004)
    with zipfile.ZipFile(path) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode("utf-8")
    last_cell = f'<c r="{letters["total_award"]}100004"'
    assert last_cell in sheet_xml
    assert f"<f>IF(COUNTA($A100004:${letters['remark']}100004)" in sheet_xml[sheet_xml.index(last_cell) :]
    assert f"{letters['claimed']}5:{letters['claimed']}100004" in sheet_xml  # validation and highlighting


def test_column_letters_are_openpyxls() -> None:
    from openpyxl.utils import get_column_letter

    assert [spec.column_letter(n) for n in range(1, spec.MAX_COLUMN + 1)] == [
        get_column_letter(n) for n in range(1, spec.MAX_COLUMN + 1)
    ]
    for outside in (0, spec.MAX_COLUMN + 1):
        with pytest.raises(ValueError):
            spec.column_letter(outside)


def test_checking_an_application_does_not_import_openpyxl() -> None:
    """The check reads values with calamine and the workbook's small parts as XML; openpyxl's import
    alone would cost every check about 0.1 s."""
    import subprocess
    import sys

    from addin.templates.bundled import EXAMPLES

    application = REPOSITORY / EXAMPLES["第八师石河子市"]
    code = (
        "import sys; from pathlib import Path; from addin.check.pipeline import check_file; "
        "from addin.reports.check_report import result_document; from schemas.policy import load_policy; "
        f"result = check_file(Path({str(application)!r}), load_policy()); assert result.kind == 'application'; "
        "result_document(result); print(sorted(m for m in sys.modules if m.split('.')[0] == 'openpyxl'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == "[]"


def test_empty_rows_rendered_from_the_pattern_are_the_rows_openpyxl_writes(tmp_path: Path, policy) -> None:
    """A template's empty rows are the first empty row's XML with its number changed, rendered outside
    openpyxl; the workbook is byte for byte the one openpyxl writes row by row (given [None] * 60 as
    records, every row goes through openpyxl), saved by save_workbook or by the workbook's own save."""
    from addin.io.output import save_workbook
    from addin.templates.application import build_application_template

    repeated, written = tmp_path / "repeated.xlsx", tmp_path / "written.xlsx"
    rows = 60
    save_workbook(build_application_template(policy, rows=rows), repeated)
    save_workbook(build_application_template(policy, rows=rows, records=[None] * rows), written)
    assert repeated.read_bytes() == written.read_bytes()
    direct = tmp_path / "direct.xlsx"
    build_application_template(policy, rows=rows, records=[None] * 3).save(direct)
    sheet = openpyxl.load_workbook(direct)[spec.DATA_SHEET]
    assert sheet.max_row == spec.FIRST_DATA_ROW + rows - 1
    last = spec.FIRST_DATA_ROW + rows - 1
    assert sheet[f"AM{last}"].value == sheet[f"AM{spec.FIRST_DATA_ROW}"].value.replace(
        str(spec.FIRST_DATA_ROW), str(last)
    )


def test_rows_that_do_not_repeat_are_refused() -> None:
    """A pattern that does not give the next row (a formula that is not its row's number changed) is
    an error, never a sheet of wrong formulas."""
    from addin.io.repeated_rows import RepeatedRows, RowsDoNotRepeat, row_pattern, sheet_with_rows

    def sheet(dimension: str, rows: range) -> str:
        cells = "".join(f'<row r="{n}"><c r="B{n}" s="5"><f>$A{n}*2</f><v /></c></row>' for n in rows)
        return f'<worksheet><dimension ref="A1:{dimension}"/><sheetData>{cells}</sheetData></worksheet>'

    xml = sheet("B6", range(5, 7))
    assert b"".join(sheet_with_rows(xml, RepeatedRows("表", 5, 8))) == sheet("B8", range(5, 9)).encode()
    with pytest.raises(RowsDoNotRepeat):
        row_pattern(xml.replace("$A6*2", "$A5*2"), 5)
