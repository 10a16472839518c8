"""The add-in as Excel on Windows meets it, checked on any machine: the VBA wrappers xlwings' own
generator writes for our functions, the xlwings version of the shipped VBA, the settings the VBA reads
(sheet and user file, encoding included), and Excel error values handed to the functions."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path, PureWindowsPath

import openpyxl
import pytest
import xlwings
from openpyxl.utils import column_index_from_string

from addin import template_spec as spec
from addin.check.pipeline import check_file
from addin.excel import udfs
from addin.excel.vba import (
    VBA_RESERVED,
    generate_wrappers,
    name_problems,
    vba_constant,
    vba_modules,
    wrapper_signatures,
)
from addin.excel.xlam import CONF_SHEET, TARGET, VBA_PROJECT_NAME, user_config_bytes, user_config_path
from addin.templates.bundled import REPOSITORY, filled_application
from schemas.fields import computed_fields
from tests.conftest import valid_row
from tests.test_addin import ALL_FUNCTIONS, excel_table


@pytest.fixture(scope="module")
def wrappers() -> str:
    return generate_wrappers()


@pytest.fixture(scope="module")
def shipped_vba() -> dict[str, str]:
    return vba_modules(TARGET)


# --- 1. the functions register ---------------------------------------------------------------------------


def test_xlwings_generates_a_wrapper_for_every_function(wrappers: str) -> None:
    signatures = wrapper_signatures(wrappers)
    assert set(signatures) == ALL_FUNCTIONS
    assert signatures["DTFUND_POLICY"] == ["parameter", "on_date"]
    assert "Function DTFUND_POLICY(parameter, Optional on_date)" in wrappers
    assert 'XLPy.CallUDF("dtfund", "DTFUND_CALC", Array(table, first_row), ActiveWorkbook' in wrappers


def test_every_generated_name_is_a_vba_identifier_that_is_not_reserved(wrappers: str) -> None:
    signatures = wrapper_signatures(wrappers)
    assert name_problems(signatures) == []
    for function, arguments in signatures.items():
        for name in (function, *arguments):
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,254}", name), name
            assert name.lower() not in VBA_RESERVED, name


@pytest.mark.parametrize("name", ["date", "Currency", "STRING", "name", "type", "next", "Application"])
def test_reserved_and_invalid_names_are_found(name: str) -> None:
    assert name_problems({"DTFUND_X": ["table", name]}) == [f"函数 DTFUND_X 的参数 {name}：是 VBA 的保留字"]
    assert "不是 VBA 的合法名称" in name_problems({"DTFUND_X": ["_x"]})[0]
    assert "超过 255 个字符" in name_problems({"DTFUND_X": ["a" * 256]})[0]


def test_every_argument_is_read_with_err_to_str() -> None:
    from addin.excel.vba import functions_as_on_windows

    module = functions_as_on_windows()
    for name in ALL_FUNCTIONS:
        for argument in getattr(module, name).__xlfunc__["args"]:
            assert argument["options"].get("err_to_str") is True, (name, argument["name"])
    assert module.DTFUND_CALC.__xlfunc__["argmap"]["table"]["options"]["ndim"] == 2


# --- 2. the VBA's version, the pin, the settings ------------------------------------------------------------


def test_shipped_vba_is_the_installed_and_pinned_xlwings(shipped_vba: dict[str, str]) -> None:
    version = vba_constant(shipped_vba, "XLWINGS_VERSION")
    assert version == xlwings.__version__
    assert f'Lib "xlwings64-{version}.dll"' in shipped_vba["xlwings"]
    dependencies = tomllib.loads((REPOSITORY / "pyproject.toml").read_text("utf-8"))["project"][
        "dependencies"
    ]
    assert f"xlwings=={version}" in dependencies


def test_the_settings_sheet_and_file_are_where_the_vba_reads(shipped_vba: dict[str, str]) -> None:
    source = shipped_vba["xlwings"]
    assert vba_constant(shipped_vba, "PROJECT_NAME") == VBA_PROJECT_NAME
    assert 'Set sht = wb.Sheets(PROJECT_NAME & ".conf")' in source
    assert f"{VBA_PROJECT_NAME}.conf" == CONF_SHEET
    windows = (
        'GetConfigFilePath = Environ("USERPROFILE") & "\\." & PROJECT_NAME & "\\" & PROJECT_NAME & ".conf"'
    )
    mac = 'GetConfigFilePath = GetMacDir("$HOME", False) & "/" & PROJECT_NAME & ".conf"'
    assert windows in source and mac in source
    home = PureWindowsPath("C:/Users/张伟")
    assert user_config_path(home, "win32") == PureWindowsPath("C:/Users/张伟/.myaddin/myaddin.conf")
    # on macOS $HOME inside Excel's sandbox is its container's Data folder
    assert str(user_config_path(Path("/Users/zw"), "darwin")) == (
        "/Users/zw/Library/Containers/com.microsoft.Excel/Data/myaddin.conf"
    )


def test_settings_file_is_in_the_code_page_the_vba_reads_it_in() -> None:
    executable = "C:\\Users\\张伟\\AppData\\Local\\Programs\\Python\\Python311\\python.exe"
    content = user_config_bytes(executable, "win32", "cp936")
    assert content.decode("cp936") == f'"INTERPRETER_WIN","{executable}"\r\n'
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")  # what was written before: the VBA read it as 寮犱紵
    assert user_config_bytes("/Users/张伟/venv/bin/python", "darwin", "utf-8") == (
        '"INTERPRETER_MAC","/Users/张伟/venv/bin/python"\n'.encode()
    )
    with pytest.raises(UnicodeEncodeError):
        user_config_bytes("C:\\Users\\Zoë\\python.exe", "win32", "cp936")


def test_settings_file_reads_back_as_xlwings_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """xlwings' own reader (utils.read_user_config, the locale's encoding) finds the interpreter."""
    from xlwings import utils

    path = tmp_path / "myaddin.conf"
    path.write_bytes(user_config_bytes("/opt/张伟/python", "linux", "utf-8"))
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(path))
    assert utils.read_user_config() == {"interpreter_win": "/opt/张伟/python"}


# --- 4. Excel errors reach the functions as errors -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "code"),
    [("paid", "#DIV/0!"), ("contract_date", "#N/A"), ("level", "#REF!"), ("little_giant", "#NAME?")],
)
def test_an_error_value_is_reported_as_the_check_reports_a_t_e_cell(
    tmp_path: Path, policy, field: str, code: str
) -> None:
    """A money, a date and a choice cell holding an error value: DTFUND_VALIDATE reports what the check
    reports of the file's t="e" cell, and DTFUND_CALC gives the row the check's amounts (nothing)."""
    path = tmp_path / "errors.xlsx"
    filled_application(policy, "第八师石河子市", [valid_row(contract_date=dt.datetime(2025, 3, 1))], 3).save(
        path
    )
    letter = spec.column_letters()[field]
    workbook = openpyxl.load_workbook(path)
    cell = workbook[spec.DATA_SHEET][f"{letter}{spec.FIRST_DATA_ROW}"]
    cell.value, cell.data_type = code, "e"  # as Excel stores an error value: t="e"
    workbook.save(path)
    checked = check_file(path, policy)
    from_cli = [(i.row, i.rule, i.field) for i in checked.issues if i.cell != "B2"]
    assert (spec.FIRST_DATA_ROW, "CELL_ERROR_VALUE", field) in from_cli

    table = excel_table(path)
    column = column_index_from_string(letter) - 1
    table[1][column] = code  # what xlwings hands over with err_to_str
    result = udfs.DTFUND_VALIDATE(table)
    assert [(r[0], r[2]) for r in result[1:]] == [(row, rule) for row, rule, _ in from_cli]
    amounts = checked.table.amounts.loc[spec.FIRST_DATA_ROW]
    calculated = dict(zip([f.id for f in computed_fields()], udfs.DTFUND_CALC(table)[1], strict=True))
    for name in ("transformation_subsidy", "total_award"):
        assert amounts[name] == 0 and calculated[name] in (0, 0.0, None, ""), (name, calculated[name])
    table[1][column] = None  # without err_to_str the error arrived as a blank: another finding
    assert "CELL_ERROR_VALUE" not in str(udfs.DTFUND_VALIDATE(table))


def test_scalar_functions_name_the_error_value() -> None:
    assert (
        udfs.DTFUND_SUBSIDY("#N/A", 1.0, 0, 0, 0, "二级")
        == "错误：“实际支付金额”是错误值 #N/A，不是填写的数据"
    )
    assert udfs.DTFUND_SPLIT(100.0, None) == [[70.0, 15.0, 15.0]]
