"""`dtfund addin doctor` on a finance officer's Windows PC (user 张伟, code page cp936), played on Linux
with the PC's paths and files, and on this machine (no Excel)."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import PurePath, PureWindowsPath
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from addin.cli import app
from addin.excel import doctor
from addin.excel.doctor import Finding, Machine, diagnose
from addin.excel.vba import generate_wrappers
from addin.excel.xlam import TARGET, user_config_bytes

HOME = PureWindowsPath("C:/Users/张伟")
PYTHON = HOME / "AppData/Local/Programs/Python/Python311/python.exe"
XLSTART = HOME / "AppData/Roaming/Microsoft/Excel/XLSTART/dtfund.xlam"
SETTINGS = HOME / ".myaddin/myaddin.conf"
DLL = PYTHON.parent / "xlwings64-0.37.8.dll"


def officer_pc(
    files: dict[PurePath, bytes], vbom: int | None = 1, xlwings_version: str = "0.37.8", excel: Any = None
) -> Machine:
    return Machine(
        platform="win32",
        home=HOME,
        executable=str(PYTHON),
        encoding="cp936",
        environ={"APPDATA": str(HOME / "AppData/Roaming")},
        xlwings_version=xlwings_version,
        pinned_xlwings=lambda: "0.37.8",
        read_file=files.get,
        access_vbom=lambda: vbom,
        excel=lambda: nullcontext(excel),
    )


def installed_files() -> dict[PurePath, bytes]:
    return {
        XLSTART: TARGET.read_bytes(),
        SETTINGS: user_config_bytes(str(PYTHON), "win32", "cp936"),
        DLL: b"",
    }


def by_title(findings: list[Finding]) -> dict[str, Finding]:
    return {finding.title: finding for finding in findings}


def test_a_pc_where_everything_is_in_place(monkeypatch: pytest.MonkeyPatch) -> None:
    # the installed add-in after ImportPythonUDFsToAddin and saving holds the generated module
    shipped = doctor.vba_modules
    monkeypatch.setattr(
        doctor,
        "vba_modules",
        lambda content: shipped(content) if content == TARGET else {"xlwings_udfs": generate_wrappers()},
    )
    findings = diagnose(officer_pc(installed_files()))
    assert [f.ok for f in findings] == [True, True, True, True, True, None]
    assert str(XLSTART) in findings[0].detail
    assert "张伟" in findings[1].detail and "cp936" in findings[1].detail
    assert "本机没有可用的 Excel" in findings[5].detail


def test_each_missing_piece_fails_its_point_with_a_fix() -> None:
    files = installed_files()
    files[SETTINGS] = f'"INTERPRETER_WIN","{PYTHON}"\r\n'.encode()  # as dtfund wrote it before: UTF-8
    findings = by_title(diagnose(officer_pc(files, vbom=0, xlwings_version="0.31.0")))
    settings = findings["加载项设置指向本机 Python"]
    assert (
        settings.ok is False and "cp936" in settings.detail and "dtfund addin install --force" in settings.fix
    )
    versions = findings["xlwings 版本与加载项的宏一致"]
    assert versions.ok is False and "已安装 0.31.0" in versions.detail and "xlwings==0.37.8" in versions.fix
    vbom = findings["信任对 VBA 工程对象模型的访问"]
    assert vbom.ok is False and "信任中心" in vbom.fix
    functions = findings["DTFUND_ 函数已注册到加载项"]
    assert functions.ok is False and "ImportPythonUDFsToAddin" in functions.fix and "保存" in functions.fix


def test_nothing_installed() -> None:
    findings = diagnose(officer_pc({}))
    assert findings[0].ok is False and "dtfund addin install" in findings[0].fix
    assert findings[1].ok is False and "没有找到设置文件" in findings[1].detail
    assert findings[2].ok is False and "xlwings64-0.37.8.dll" in findings[2].detail
    assert findings[4].ok is None  # cannot look into an add-in that is not there


def test_settings_for_another_python() -> None:
    files = installed_files()
    files[SETTINGS] = user_config_bytes("C:\\Python27\\python.exe", "win32", "cp936")
    assert diagnose(officer_pc(files))[1].ok is False


def test_a_python_path_the_code_page_cannot_hold() -> None:
    machine = officer_pc(installed_files())
    machine.executable = "C:\\Users\\Zoë\\python.exe"
    finding = diagnose(machine)[1]
    assert finding.ok is False and "只含英文字母和数字" in finding.fix


def test_on_this_machine_without_excel_it_checks_what_it_can() -> None:
    result = CliRunner().invoke(app, ["addin", "doctor"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "本机不是 Windows 或 macOS" in result.output
    assert "myaddin.conf" in result.output and "INTERPRETER_WIN" in result.output
    assert "7 个函数包装都是合法的 VBA" in result.output


def test_exit_code_one_when_a_point_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "diagnose", lambda: diagnose(officer_pc({})))
    result = CliRunner().invoke(app, ["addin", "doctor"], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert "✗" in result.output and "解决：" in result.output


class FakeExcel:
    """Excel as the doctor drives it: a workbook whose DTFUND_ formulas are computed by the functions
    themselves (registered) or show #NAME? (not registered); empty results come back as None."""

    def __init__(self, registered: bool) -> None:
        self.registered, self.opened, self.cells = registered, [], {}
        self.startup_path = str(XLSTART.parent)
        self.books = self

    def __getitem__(self, name: str) -> Any:
        raise KeyError(name)  # an Excel started by automation has not loaded the add-in

    def open(self, path: str) -> None:
        self.opened.append(path)

    def add(self) -> Any:
        return SimpleNamespace(sheets=[self], close=lambda: None)

    def range(self, address: str) -> Any:
        cells = self.cells

        class Cell:
            def __init__(self) -> None:
                self.address = address

            value = property(lambda self: cells[address], lambda self, v: cells.__setitem__(address, v))
            formula2 = property(None, lambda self, f: cells.__setitem__(address, ("formula", f)))

            def expand(self) -> Any:
                return self

            def options(self, **_: Any) -> Any:
                return self

        return Cell()

    def calculate(self) -> None:
        from addin.excel import udfs

        for address, content in list(self.cells.items()):
            if isinstance(content, tuple):
                name = content[1].removeprefix("=").split("(")[0]
                result = getattr(udfs, name)(self.cells["A1"], 2) if self.registered else [["#NAME?"]]
                self.cells[address] = [[None if v == "" else v for v in row] for row in result]


@pytest.mark.parametrize("registered", [True, False])
def test_in_excel_the_functions_give_what_the_check_gives(registered: bool, monkeypatch) -> None:
    shipped = doctor.vba_modules
    monkeypatch.setattr(
        doctor,
        "vba_modules",
        lambda content: shipped(content) if content == TARGET else {"xlwings_udfs": generate_wrappers()},
    )
    excel = FakeExcel(registered)
    finding = diagnose(officer_pc(installed_files(), excel=excel))[-1]
    assert excel.opened == [str(XLSTART)]
    assert finding.ok is registered
    assert ("与 dtfund check 一致" if registered else "函数没有注册") in finding.detail


def test_install_writes_the_settings_where_the_vba_reads_them(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`dtfund addin install` as on Windows (Excel's startup folder a folder of the test's)."""
    import sys
    from importlib import resources

    from xlwings import cli as xlwings_cli

    home = tmp_path / "张伟"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(sys, "platform", "win32")
    xlstart = tmp_path / "XLSTART"
    xlstart.mkdir()
    monkeypatch.setattr(xlwings_cli, "get_addin_dir", lambda global_location=False: str(xlstart))
    result = CliRunner().invoke(app, ["addin", "install"], env={"COLUMNS": "300", "HOME": str(home)})
    assert result.exit_code == 0, result.output
    settings = home / ".myaddin" / "myaddin.conf"
    assert settings.read_bytes() == user_config_bytes()
    shipped = resources.files("addin.excel").joinpath("dtfund.xlam").read_bytes()
    assert (xlstart / "dtfund.xlam").read_bytes() == shipped
    assert "dtfund addin doctor" in result.output and "Successfully" not in result.output


def test_install_without_a_responding_excel_says_so_in_chinese(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from xlwings import cli as xlwings_cli

    def no_excel(global_location: bool = False) -> str:
        raise RuntimeError("Could not activate Excel")

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(xlwings_cli, "get_addin_dir", no_excel)
    result = CliRunner().invoke(app, ["addin", "install"], env={"COLUMNS": "300", "HOME": str(tmp_path)})
    assert result.exit_code == 2
    assert "XLSTART" in result.output and "Could not" not in result.output
