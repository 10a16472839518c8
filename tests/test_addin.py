"""The add-in: UDFs with the argument shapes Excel passes, agreement with `dtfund check`, the ribbon's
校验 button on a workbook, and the .xlam package."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.excel.ribbon import NOT_OUR_TEMPLATE, ExcelBook, run_ribbon
from addin.excel.udfs import (
    DTFUND_CALC,
    DTFUND_FEES,
    DTFUND_POLICY,
    DTFUND_RULE,
    DTFUND_SPLIT,
    DTFUND_SUBSIDY,
    DTFUND_VALIDATE,
    VALIDATE_HEADER,
)
from addin.io.cell_errors import CellError
from addin.io.workbook_reader import NamedRange, Workbook, defined_names
from addin.reports.annotate import OpenpyxlMarkup
from addin.templates.bundled import EXAMPLES, REPOSITORY, filled_application
from schemas.fields import application_fields, computed_fields
from schemas.policy import Policy, load_policy
from tests.conftest import RATE_REVISION, dated_policy_file, valid_code, valid_row

EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]


# Every function the add-in registers in Excel (README 五 lists them).
ALL_FUNCTIONS = {
    "DTFUND_SUBSIDY",
    "DTFUND_SPLIT",
    "DTFUND_FEES",
    "DTFUND_CALC",
    "DTFUND_VALIDATE",
    "DTFUND_POLICY",
    "DTFUND_RULE",
}


def excel_table(path: Path) -> list[list]:
    """The application table as Excel hands it to a UDF: header row 4 down to the last data row, with
    whole numbers as floats, blanks as None and dates as datetimes."""
    rows = Workbook(path).rows(spec.DATA_SHEET)[spec.HEADER_ROW - 1 :]
    width = len(rows[0])
    table = []
    for row in rows:
        cells = [
            (
                None
                if v == ""
                else dt.datetime.combine(v, dt.time())
                if isinstance(v, dt.date) and not isinstance(v, dt.datetime)
                else float(v)
                if isinstance(v, int)
                else v
            )
            for v in row
        ]
        table.append((cells + [None] * width)[:width])
    return table


# --- scalar UDFs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((123456.79, 123456.79, None, None, None, "二级"), 61728.40),
        ((1000000.0, 1000000.0, 150000.0, 70000.0, None, "四级"), 490000.0),  # 30000 of services disallowed
        ((4000000.0, 4000000.0, 0.0, 0.0, 0.0, "三级"), 800000.0),  # cap
        ((1000000.0, 1000000.0, "", "  ", None, " 二级 "), 500000.0),  # blanks; a level with spaces
        ((100000.0, 100000.0, None, None, None, "一级"), 0.0),
        ((100000.0, 100000.0, None, None, None, None), 0.0),
    ],
)
def test_subsidy(args, expected) -> None:
    assert DTFUND_SUBSIDY(*args) == pytest.approx(expected, abs=0.001)


def test_scalar_udfs_return_chinese_messages_not_tracebacks() -> None:
    assert DTFUND_SUBSIDY("80万", 1.0, 0, 0, 0, "二级").startswith("错误：")
    assert "评测等级" in DTFUND_SUBSIDY(1.0, 1.0, 0, 0, 0, "五级")
    assert DTFUND_SPLIT(1.0, "外资").startswith("错误：资金来源")
    assert DTFUND_POLICY("nothing").startswith("错误：没有名为")
    assert DTFUND_RULE("NO_SUCH_RULE").startswith("错误：")
    assert DTFUND_CALC("abc").startswith("错误：")
    assert DTFUND_VALIDATE([[1.0, 2.0], [3.0, 4.0]]).startswith("错误：")


def test_split() -> None:
    assert DTFUND_SPLIT(61728.40) == [[43209.88, 9259.26, 9259.26]]
    assert DTFUND_SPLIT(61728.40, "中央") == 43209.88
    assert DTFUND_SPLIT(0.01, "division") == 0.0
    assert sum(DTFUND_SPLIT(0.03)[0]) == pytest.approx(0.03)


def test_fees() -> None:
    assert DTFUND_FEES(1000000.0, 140000.0, 60000.0, None) == [[0.2, 0.06, ""]]
    ratio, integration, flag = DTFUND_FEES(1000000.0, 150000.0, 60000.01, 0.0)[0]
    assert "服务费超过" in flag and "集成费超过" in flag and ratio == pytest.approx(0.21000001)
    assert DTFUND_FEES(None, None, None, None) == [["", "", ""]]


def test_policy_and_rule() -> None:
    assert DTFUND_POLICY("subsidy_rate") == 0.5
    assert DTFUND_POLICY("subsidy_cap.四级") == 1500000.0
    assert DTFUND_POLICY("progress_deadline") == dt.datetime(2025, 12, 31)
    assert DTFUND_POLICY("subsidy_rate", 46022.0) == 0.5  # an Excel serial date
    assert DTFUND_POLICY("subsidy_split") == [["central", 0.7], ["bingtuan", 0.15], ["division", 0.15]]
    assert "、" in DTFUND_POLICY("pilot_industries")
    [[message, fix, clause]] = DTFUND_RULE("fee_integration_over_6")
    assert "集成" in message and fix and clause == "附件（一）"


@pytest.fixture
def dated_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Policy:
    """The add-in's functions under a policy whose rate drops to 40% for contracts from 2025-06-01."""
    from addin.excel import udfs

    dated = load_policy(dated_policy_file(tmp_path, **RATE_REVISION))
    monkeypatch.setattr(udfs, "policy", lambda: dated)
    return dated


def test_policy_on_a_date_is_the_value_in_force(dated_policy) -> None:
    assert DTFUND_POLICY("subsidy_rate", dt.datetime(2025, 5, 31)) == 0.5
    assert DTFUND_POLICY("subsidy_rate", dt.datetime(2025, 6, 1)) == 0.4
    assert DTFUND_POLICY("subsidy_rate", 45809.0) == 0.4  # 2025-06-01 as an Excel serial
    assert DTFUND_POLICY("subsidy_rate", "2025-05-31") == 0.5
    assert DTFUND_POLICY("subsidy_rate") == 0.4  # no date: the latest value
    assert DTFUND_POLICY("subsidy_rate", "") == 0.4
    # before the first value: the first value, as `dtfund check` prices such a row (Parameter.positions)
    assert DTFUND_POLICY("subsidy_rate", dt.datetime(2024, 10, 17)) == 0.5


def test_functions_without_a_date_use_the_latest_values(dated_policy) -> None:
    assert DTFUND_SPLIT(80000.0) == [[56000.0, 12000.0, 12000.0]]


def test_the_subsidy_of_a_rate_that_changes_is_priced_on_the_date_given(dated_policy) -> None:
    """The rate went from 50% to 40% on 2025-06-01: without a date the function cannot say which (合肥's
    latest rate is 0: every enterprise came out 0); with one, the rate in force that day."""
    said = DTFUND_SUBSIDY(200000.0, 200000.0, None, None, None, "二级")
    assert said.startswith("错误：") and "按日期取不同的值" in said and "给出日期" in said
    assert DTFUND_SUBSIDY(200000.0, 200000.0, None, None, None, "二级", dt.datetime(2025, 6, 1)) == 80000.0
    assert DTFUND_SUBSIDY(200000.0, 200000.0, None, None, None, "二级", "2025-05-31") == 100000.0
    assert DTFUND_SUBSIDY(200000.0, 200000.0, None, None, None, "二级", "明天").startswith("错误：")


def test_amounts_typed_as_text_are_not_priced_and_a_split_is_at_the_cent() -> None:
    """The check and the template count an amount typed as text as nothing (NUMBER_STORED_AS_TEXT): so
    does the function, saying why; an amount with more places is split at the cent, as the template's
    其中 columns split it (the parts of 2.675 were 1.87, 0.40 and 0.405)."""
    for typed in ("1,000,000.00", "１０００００0"):
        said = DTFUND_SUBSIDY(typed, 1000000.0, 100000.0, 60000.0, 40000.0, "二级")
        assert said.startswith("错误：") and "文字形式的数字" in said
    assert DTFUND_SPLIT(2.675) == [[1.88, 0.4, 0.4]]


def test_calc_prices_each_row_by_its_contract_date(dated_policy, tmp_path: Path) -> None:
    rows = [
        valid_row(contract_date=dt.datetime(2024, 11, 20), paid=200000.0, claimed=None),
        valid_row(
            uscc=valid_code("MA77T3B5W"), contract_date=dt.datetime(2025, 7, 10), paid=200000.0, claimed=None
        ),
    ]
    path = tmp_path / "dated.xlsx"
    filled_application(dated_policy, "第八师石河子市", rows, template_rows=5).save(path)
    result = DTFUND_CALC(excel_table(path))
    column = [f.id for f in computed_fields()].index("transformation_subsidy")
    assert [row[column] for row in result[1:3]] == [100000.0, 80000.0]
    assert DTFUND_VALIDATE(excel_table(path))[1][0] == "通过"


# --- table UDFs agree with dtfund check ---------------------------------------------------------------


@pytest.mark.parametrize("unit", list(EXAMPLES))
def test_calc_agrees_with_check_cell_for_cell(unit: str, policy) -> None:
    path = REPOSITORY / EXAMPLES[unit]
    expected = check_file(path, policy).table.amounts
    table = excel_table(path)
    result = DTFUND_CALC(table)
    assert result[0] == [f.header for f in computed_fields()]
    for offset, values in enumerate(result[1:]):
        row = spec.FIRST_DATA_ROW + offset
        if row not in expected.index:
            assert values == [""] * len(values)
            continue
        for field, value in zip(computed_fields(), values, strict=True):
            want = expected.at[row, field.id]
            assert value == ("" if want is None else pytest.approx(float(want), abs=1e-9)), (row, field.id)


@pytest.mark.parametrize("unit", list(EXAMPLES))
def test_validate_reports_what_check_reports(unit: str, policy) -> None:
    path = REPOSITORY / EXAMPLES[unit]
    from_cli = [(i.row, i.rule) for i in check_file(path, policy).issues if i.cell != "B2"]
    result = DTFUND_VALIDATE(excel_table(path))
    assert result[0] == ["行", "字段", "规则", "说明", "依据"]
    assert [(r[0], r[2]) for r in result[1:]] == from_cli


def test_validate_passes_a_clean_table() -> None:
    table = excel_table(EXAMPLE)
    clean = [table[0], table[1], table[2]]  # the first two enterprises are correct
    assert DTFUND_VALIDATE(clean) == [
        ["行", "字段", "规则", "说明", "依据"],
        ["通过", "", "", "没有发现问题", ""],
    ]


def test_table_udfs_take_one_row_and_reordered_columns() -> None:
    table = excel_table(EXAMPLE)
    header, first = table[0], table[1]
    order = list(reversed(range(len(header))))
    reordered = [[header[n] for n in order], [first[n] for n in order]]
    assert DTFUND_CALC(reordered)[1] == DTFUND_CALC([header, first])[1]
    ids = [f.id for f in (*computed_fields(),)]
    assert DTFUND_CALC([header])[0][0] == computed_fields()[0].header and ids


# --- the ribbon button ---------------------------------------------------------------------------------


def test_ribbon_checks_marks_links_and_restores_formulas(tmp_path: Path) -> None:
    source = tmp_path / "shihezi.xlsx"
    workbook = openpyxl.load_workbook(EXAMPLE)
    letters = spec.column_letters()
    workbook[spec.DATA_SHEET][f"{letters['central']}5"] = 1.0  # a number typed over a formula
    workbook[spec.DATA_SHEET][f"{letters['paid']}6"] = 1e8  # paid over the contract: a warning
    workbook.save(source)
    messages: list[str] = []
    target = openpyxl.load_workbook(source)
    result = run_ribbon(
        source.name, defined_names(source), Workbook(source), OpenpyxlMarkup(target), messages.append
    )
    assert result is not None and not result.valid
    assert messages and messages[0].startswith("校验完成：不通过")
    assert target.sheetnames[0] == "校验结果"
    sheet = target["校验结果"]
    links = [c.hyperlink.location for row in sheet.iter_rows() for c in row if c.hyperlink]
    assert f"'申报表'!{letters['central']}5" in links and f"'申报表'!{letters['service_total']}8" in links
    data = target[spec.DATA_SHEET]
    assert "FORMULA_VALUE_MISMATCH" in data[f"{letters['central']}5"].comment.text
    assert data[f"{letters['service_total']}8"].fill.fgColor.rgb.endswith("FFC7CE")
    assert data[f"{letters['central']}5"].value.startswith("=IF(COUNTA(")  # the formula is back
    assert data[f"{letters['paid']}10"].fill.fgColor.rgb.endswith("FFC7CE")  # text amount: an error
    assert data[f"{letters['paid']}6"].fill.fgColor.rgb.endswith("FFEB9C")  # a warning is yellow


def test_ribbon_on_the_awards_workbook_restores_the_carrier_formula(tmp_path: Path) -> None:
    from addin.templates.bundled import EXAMPLE_AWARDS

    source = tmp_path / "awards.xlsx"
    workbook = openpyxl.load_workbook(REPOSITORY / EXAMPLE_AWARDS)
    workbook["赋能载体"]["L5"] = 900000.0  # typed over the subsidy formula (the rules give 800,000)
    workbook.save(source)
    messages: list[str] = []
    target = openpyxl.load_workbook(source)
    result = run_ribbon(
        source.name, defined_names(source), Workbook(source), OpenpyxlMarkup(target), messages.append
    )
    assert result is not None and result.kind == "awards"
    carrier = target["赋能载体"]
    assert "FORMULA_VALUE_MISMATCH" in carrier["L5"].comment.text
    assert carrier["L5"].value.startswith("=IF(COUNTA(") and "P_CARRIER_SUBSIDY_CAP" in carrier["L5"].value
    assert target["典型案例"]["G7"].fill.fgColor.rgb.endswith("FFC7CE")


def test_ribbon_on_a_workbook_that_is_not_ours(tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    openpyxl.Workbook().save(path)
    messages: list[str] = []
    assert (
        run_ribbon(
            path.name,
            defined_names(path),
            Workbook(path),
            OpenpyxlMarkup(openpyxl.load_workbook(path)),
            messages.append,
        )
        is None
    )
    assert messages == [NOT_OUR_TEMPLATE]


class FakeRange:
    def __init__(self, sheet: FakeSheet, address: str) -> None:
        self.sheet, self.address = sheet, address
        self._ndim = None

    def options(self, ndim: int | None = None, err_to_str: bool = False) -> FakeRange:
        assert err_to_str, "an error value must be read as its code"
        self._ndim = ndim
        return self

    @property
    def value(self):
        cells = self.sheet.cells[self.address]
        return cells if self._ndim else cells


class FakeSheet:
    def __init__(self, name: str, cells: dict) -> None:
        self.name, self.cells = name, cells

    def range(self, address: str) -> FakeRange:
        return FakeRange(self, address)


class FakeName:
    def __init__(self, name: str, refers_to: str) -> None:
        self.name, self.refers_to = name, refers_to


def test_excel_book_reads_names_and_ranges_like_a_file() -> None:
    """The xlwings adapter, against the shape of xlwings' objects (Excel itself is not here)."""
    sheet = FakeSheet(
        "申报表",
        {
            "B2": "第八师石河子市",
            "A5:A7": ["甲", "#N/A", "乙"],  # an error value, as err_to_str hands it over
            "A4:C4": ["企业名称", "统一社会信用代码", None],
        },
    )
    book = type(
        "Book",
        (),
        {
            "sheets": {"申报表": sheet},
            "names": [
                FakeName("name", "=申报表!$A$5:$A$7"),
                FakeName("DTFUND_UNIT", "='申报表'!$B$2"),
                FakeName("申报表!_FilterDatabase", "=申报表!$A$4:$A$5"),
                FakeName("const", "=0.5"),
            ],
        },
    )()
    book.sheets = type("Sheets", (dict,), {"__iter__": lambda self: iter(self.values())})(book.sheets)
    reader = ExcelBook(book)
    names = reader.defined_names()
    assert set(names) == {"name", "DTFUND_UNIT"}
    assert reader.column(names["name"]) == ["甲", CellError("#N/A"), "乙"]
    assert reader.value(names["DTFUND_UNIT"]) == "第八师石河子市"
    assert reader.row(NamedRange("申报表", "A", 4, "C", 4)) == ["企业名称", "统一社会信用代码", None]
    assert reader.sheet_names == ["申报表"]


# --- the .xlam package -------------------------------------------------------------------------------


def _xlam_parts() -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(REPOSITORY / "addin/excel/dtfund.xlam") as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def parts_to_xlsx(parts: dict[str, bytes]) -> bytes:
    """The add-in's parts as a plain workbook package (readers refuse the add-in content type)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in parts.items():
            if name == "[Content_Types].xml":
                content = content.replace(
                    b"application/vnd.ms-excel.addin.macroEnabled.main+xml",
                    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                )
            archive.writestr(name, content)
    return buffer.getvalue()


def test_xlam_ribbon_has_our_tab_and_button_bound_to_run_main() -> None:
    from defusedxml import ElementTree

    ribbon = ElementTree.fromstring(_xlam_parts()["customUI/customUI.xml"])
    ns = "{http://schemas.microsoft.com/office/2006/01/customui}"
    tabs = list(ribbon.iter(f"{ns}tab"))
    buttons = list(ribbon.iter(f"{ns}button"))
    assert [t.get("label") for t in tabs] == ["专项资金"]
    assert [(b.get("label"), b.get("onAction")) for b in buttons] == [("校验", "RibbonMyAddin.RunMain")]


def test_xlam_settings_name_our_udf_module_which_exists_with_main() -> None:
    import importlib
    import io

    import python_calamine

    parts = _xlam_parts()
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(parts_to_xlsx(parts)))
    # the VBA reads the sheet PROJECT_NAME & ".conf" (xlwings' "_" prefix would switch it off), A1 down
    assert book.sheet_names == ["myaddin.conf"]
    rows = book.get_sheet_by_name("myaddin.conf").to_python()
    settings = {row[0]: row[1] for row in rows if row and row[0]}
    # only the module: an empty Interpreter_Win row there would hide the user settings file's value
    assert settings == {"UDF Modules": "dtfund"}
    module = importlib.import_module(settings["UDF Modules"])
    assert callable(module.main)
    for name in ALL_FUNCTIONS:
        assert callable(getattr(module, name)), name
    assert Path(module.__file__).stem == "dtfund"  # RunMain imports the add-in's file name: dtfund.xlam


def test_xlam_rebuilds_identically(tmp_path: Path) -> None:
    """(Its VBA: tests/test_addin_xlam.py.)"""
    import zipfile

    from addin.excel.xlam import build_xlam

    first, second = build_xlam(), build_xlam()
    assert first == second
    built = zipfile.ZipFile(__import__("io").BytesIO(first))
    committed = _xlam_parts()
    for part in ("customUI/customUI.xml", "xl/worksheets/sheet1.xml", "xl/workbook.xml"):
        assert built.read(part) == committed[part], f"{part}: run python -m addin.excel.xlam"


def test_addin_install_outside_windows_explains_itself() -> None:
    from typer.testing import CliRunner

    from addin.cli import app

    result = CliRunner().invoke(app, ["addin", "install"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "Windows" in result.output and "dtfund check" in result.output


def test_user_config_points_excel_at_this_python() -> None:
    from addin.excel.xlam import user_config_text

    assert (
        user_config_text("C:\\Python\\python.exe", "win32") == '"INTERPRETER_WIN","C:\\Python\\python.exe"\n'
    )
    assert user_config_text("/usr/bin/python3", "darwin").startswith('"INTERPRETER_MAC"')


def test_live_check_sheet_calls_validate_as_a_dynamic_array() -> None:
    import re
    import zipfile

    from addin.io.workbook_reader import sheet_members
    from addin.templates.bundled import APPLICATION_TEMPLATE

    with zipfile.ZipFile(REPOSITORY / APPLICATION_TEMPLATE) as archive:
        part = sheet_members(archive)[spec.LIVE_CHECK_SHEET]
        xml = archive.read(part).decode("utf-8")
        assert "xl/metadata.xml" in archive.namelist()
        assert b"sheetMetadata" in archive.read("xl/_rels/workbook.xml.rels")
        assert b"/xl/metadata.xml" in archive.read("[Content_Types].xml")
        assert b"XLDAPR" in archive.read("xl/metadata.xml")
    cell = re.search(r'<c r="A4"[^>]*>.*?</c>', xml).group(0)
    assert 'cm="1"' in cell and 't="array"' in cell
    # Excel 2010-2019 shows it as an array formula over the header and the first issues, five columns
    assert spec.live_check_block() == f"A4:E{4 + spec.LIVE_CHECK_ISSUES}"
    assert f'ref="{spec.live_check_block()}"' in cell
    assert len(VALIDATE_HEADER) == spec.LIVE_CHECK_COLUMNS
    padding = re.search(r'<conditionalFormatting sqref="([^"]+)">.*?<formula>(.*?)</formula>', xml)
    assert padding.groups() == (spec.live_check_block(), "AND(ISERROR(A4),OR(ROW(A4)&gt;4,COLUMN(A4)&gt;1))")
    last = spec.column_letters()[application_fields()[-1].id]
    last_row = spec.FIRST_DATA_ROW + spec.DEFAULT_ROWS - 1
    assert f"DTFUND_VALIDATE('申报表'!$A$4:${last}${last_row},5)" in cell
    sheet = openpyxl.load_workbook(REPOSITORY / APPLICATION_TEMPLATE)[spec.LIVE_CHECK_SHEET]
    assert "dtfund check" in sheet["A2"].value
