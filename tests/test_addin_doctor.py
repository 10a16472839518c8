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
from addin.excel.doctor import Finding, Machine, diagnose, exit_code, summary_line
from addin.excel.vba import UDF_MODULE_HEADER, generate_wrappers, vba_modules
from addin.excel.xlam import SOURCE, TARGET, build_xlam, user_config_bytes
from addin.template_spec import LIVE_CHECK_ISSUES

HOME = PureWindowsPath("C:/Users/张伟")
PYTHON = HOME / "AppData/Local/Programs/Python/Python311/python.exe"
XLSTART = HOME / "AppData/Roaming/Microsoft/Excel/XLSTART/dtfund.xlam"
SETTINGS = HOME / ".myaddin/myaddin.conf"
DLL = PYTHON.parent / "xlwings64-0.37.8.dll"


def officer_pc(
    files: dict[PurePath, bytes], xlwings_version: str = "0.37.8", excel: Any = None
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


def test_a_pc_where_everything_is_in_place_but_excel_does_not_answer() -> None:
    """The shipped add-in holds the wrappers: nothing to import, no VBA editor."""
    findings = diagnose(officer_pc(installed_files()))
    assert [f.ok for f in findings] == [True, True, True, None, True, None]
    assert str(XLSTART) in findings[0].detail
    assert "张伟" in findings[1].detail and "cp936" in findings[1].detail
    assert "7 个函数" in findings[4].detail
    assert "本机没有可用的 Excel" in findings[5].detail
    assert not any("VBA 工程" in f.title for f in findings)  # the trust setting is no longer needed
    assert exit_code(findings) == 3
    assert summary_line(findings).startswith("共 6 项：已检查 4 项（通过 4 项，未通过 0 项），本机无法检查 2 项。")


def test_each_missing_piece_fails_its_point_with_a_fix() -> None:
    files = installed_files()
    files[SETTINGS] = f'"INTERPRETER_WIN","{PYTHON}"\r\n'.encode()  # as dtfund wrote it before: UTF-8
    files[XLSTART] = (SOURCE).read_bytes()  # xlwings' bare add-in, as dtfund installed it before
    findings = by_title(diagnose(officer_pc(files, xlwings_version="0.31.0")))
    settings = findings["加载项设置指向本机 Python"]
    assert (
        settings.ok is False and "cp936" in settings.detail and "dtfund addin install --force" in settings.fix
    )
    versions = findings["xlwings 版本与加载项的宏一致"]
    assert versions.ok is False and "已安装 0.31.0" in versions.detail and "xlwings==0.37.8" in versions.fix
    functions = findings["DTFUND_ 函数已内置在加载项中"]
    assert functions.ok is False and "旧版加载项" in functions.detail
    assert "dtfund addin install --force" in functions.fix and "ImportPythonUDFs" not in functions.fix
    assert exit_code(list(findings.values())) == 1


def test_an_addin_from_another_dtfund_version_is_found() -> None:
    files = installed_files()
    stale = generate_wrappers().replace("DTFUND_RULE(rule_id)", "DTFUND_RULE(rule_id, extra)")
    files[XLSTART] = build_xlam(wrappers="\r\n".join((*UDF_MODULE_HEADER, stale.replace("\n", "\r\n"))))
    functions = diagnose(officer_pc(files))[4]
    assert functions.ok is False and "另一版本的 dtfund" in functions.detail


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


def test_on_this_machine_without_excel_it_says_what_it_could_not_check() -> None:
    result = CliRunner().invoke(app, ["addin", "doctor"], env={"COLUMNS": "300"})
    assert result.exit_code == 3, result.output
    assert "本机不是 Windows 或 macOS" in result.output
    assert "myaddin.conf" in result.output and "INTERPRETER_WIN" in result.output
    assert "dtfund 附带、安装时复制的加载项中有全部 7 个函数" in result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("共 6 项：已检查 1 项（通过 1 项，未通过 0 项），本机无法检查 5 项。"), last
    assert "全部" not in last


def test_exit_code_one_when_a_point_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "diagnose", lambda: diagnose(officer_pc({})))
    result = CliRunner().invoke(app, ["addin", "doctor"], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert "×" in result.output and "解决：" in result.output


class FakeExcel:
    """Excel as the doctor drives it: a workbook whose DTFUND_ formulas are computed by the functions
    themselves (registered) or show #NAME? (not registered); empty results come back as None.
    Excel 365 (dynamic arrays) spills formula2; Excel 2016 has no Range.Formula2 and no UNIQUE, and
    takes array formulas over a block (Range.FormulaArray)."""

    def __init__(self, registered: bool, dynamic: bool = True, version: str = "16.0", build: str = "17928"):
        self.registered, self.dynamic, self.opened, self.cells = registered, dynamic, [], {}
        self.version = version
        functions = SimpleNamespace(Unique=lambda value: value) if dynamic else SimpleNamespace()
        self.api = SimpleNamespace(Build=build, WorksheetFunction=functions)
        self.startup_path = str(XLSTART.parent)
        self.books = self

    def __getitem__(self, name: str) -> Any:
        raise KeyError(name)  # an Excel started by automation has not loaded the add-in

    def open(self, path: str) -> None:
        self.opened.append(path)

    def add(self) -> Any:
        return SimpleNamespace(sheets=[self], close=lambda: None)

    def range(self, address: str) -> Any:
        excel = self

        class Cell:
            def __init__(self, size: tuple[int, int] | None = None) -> None:
                self.address, self.size = address, size

            value = property(lambda self: excel.cells[address], lambda self, v: excel.cells.__setitem__(address, v))

            @property
            def formula2(self) -> str:
                raise AttributeError("formula2")

            @formula2.setter
            def formula2(self, formula: str) -> None:
                if not excel.dynamic:  # what xlwings meets in Excel 2016: no such property
                    raise AttributeError("Range.Formula2")
                excel.cells[address] = ("formula", formula, None)

            @property
            def formula_array(self) -> str:
                raise AttributeError("formula_array")

            @formula_array.setter
            def formula_array(self, formula: str) -> None:
                excel.cells[address] = ("formula", formula, self.size)

            def resize(self, rows: int, columns: int) -> Any:
                return Cell((rows, columns))

            def expand(self) -> Any:
                return self

            def options(self, **_: Any) -> Any:
                return self

        return Cell()

    def calculate(self) -> None:
        from addin.excel import udfs

        for address, content in list(self.cells.items()):
            if isinstance(content, tuple):
                _, formula, size = content
                name = formula.removeprefix("=").split("(")[0]
                result = getattr(udfs, name)(self.cells["A1"], 2) if self.registered else [["#NAME?"]]
                if not self.dynamic and size is None:
                    result = [[result[0][0]]]  # Excel 2016 keeps the top-left value of a plain formula
                if size is not None:  # an array formula shows its block: cut, or padded with #N/A
                    rows, columns = size
                    padded = [row[:columns] + ["#N/A"] * (columns - len(row)) for row in result[:rows]]
                    result = padded + [["#N/A"] * columns] * (rows - len(padded))
                self.cells[address] = [[None if v == "" else v for v in row] for row in result]


@pytest.mark.parametrize(("registered", "dynamic"), [(True, True), (False, True), (True, False), (False, False)])
def test_in_excel_the_functions_give_what_the_check_gives(registered: bool, dynamic: bool) -> None:
    excel = FakeExcel(registered, dynamic)
    findings = diagnose(officer_pc(installed_files(), excel=excel))
    finding = findings[-1]
    assert excel.opened == [str(XLSTART)]
    assert finding.ok is registered
    assert ("与 dtfund check 一致" if registered else "函数没有注册") in finding.detail
    assert exit_code(findings) == (0 if registered else 1)


def test_excel_2016_is_reported_and_driven_with_array_formulas() -> None:
    excel = FakeExcel(registered=True, dynamic=False, version="16.0", build="4266")
    findings = by_title(diagnose(officer_pc(installed_files(), excel=excel)))
    version = findings["Excel 版本与动态数组"]
    assert version.ok is True
    assert "Excel 16.0（内部版本 4266），不支持动态数组" in version.detail
    assert "Ctrl+Shift+Enter" in version.detail and f"前 {LIVE_CHECK_ISSUES} 条" in version.detail
    assert all(content[2] is not None for content in excel.cells.values() if isinstance(content, tuple))
    assert findings["在 Excel 中调用 DTFUND_CALC 和 DTFUND_VALIDATE"].ok is True


def test_excel_365_and_excel_2007() -> None:
    findings = diagnose(officer_pc(installed_files(), excel=FakeExcel(True, True, "16.0", "17928")))
    assert "支持动态数组：函数结果自动展开" in findings[3].detail
    old = diagnose(officer_pc(installed_files(), excel=FakeExcel(True, False, "12.0", "6425")))[3]
    assert old.ok is False and "Excel 2010" in old.fix


def test_a_property_excel_lacks_is_explained_not_raised() -> None:
    class NoResize(FakeExcel):
        def range(self, address: str) -> Any:
            cell = super().range(address)
            cell.__class__.resize = lambda self, rows, columns: (_ for _ in ()).throw(AttributeError("resize"))
            return cell

    excel = NoResize(registered=True, dynamic=False)
    excel.api = SimpleNamespace()  # no Build, no WorksheetFunction: cannot tell
    findings = diagnose(officer_pc(installed_files(), excel=excel))
    assert "版本未知" not in findings[3].detail and "无法判断是否支持动态数组" in findings[3].detail
    assert findings[-1].ok is False  # explained, never an exception
    assert "在 Excel 中写入或计算公式时出错（AttributeError：resize）" in findings[-1].detail


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
    assert "Function DTFUND_VALIDATE(" in vba_modules(xlstart / "dtfund.xlam")["xlwings_udfs"]  # kept
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
