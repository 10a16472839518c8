"""`dtfund addin doctor`: whether the add-in works on this PC, point by point, each failing point with
its fix. Everything it looks at comes from a `Machine`, so the checks run (and are tested) anywhere;
on a machine without Excel it checks what it can and says what it could not."""

from __future__ import annotations

import locale
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePath, PureWindowsPath
from typing import Any

import xlwings

from addin.excel.vba import (
    UDF_WRAPPER_MODULE,
    VbaError,
    generate_wrappers,
    name_problems,
    vba_constant,
    vba_modules,
    wrapper_signatures,
)
from addin.excel.xlam import ADDIN_MODULE, TARGET, user_config_bytes, user_config_path

ADDIN_FILE = f"{ADDIN_MODULE}.xlam"
VBOM_KEY = r"Software\Microsoft\Office\16.0\Excel\Security"
MAC_STARTUP = (
    "Library",
    "Group Containers",
    "UBF8T346G9.Office",
    "User Content.localized",
    "Startup.localized",
    "Excel",
)
REINSTALL = "关闭所有 Excel 窗口，运行 dtfund addin install --force，再重新打开 Excel。"


@dataclass(frozen=True)
class Finding:
    """One point checked: passed (True), failed (False) or not checkable here (None)."""

    title: str
    ok: bool | None
    detail: str
    fix: str = ""
    path: PurePath | None = None  # the file the point found, for the points after it


def _read_registry_vbom() -> int | None:
    """HKCU\\…\\Excel\\Security\\AccessVBOM (None when absent or not on Windows)."""
    try:
        import winreg
    except ImportError:
        return None
    try:
        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, VBOM_KEY) as key:
            return int(winreg.QueryValueEx(key, "AccessVBOM")[0])
    except OSError:
        return None


@contextmanager
def _excel_app() -> Iterator[Any | None]:
    """A running Excel through xlwings, or a new hidden one quit afterwards; None when Excel cannot be
    reached."""
    running = started = None
    try:
        if xlwings.apps.count:
            running = xlwings.apps.active
        else:
            started = xlwings.App(visible=False, add_book=False)
    except Exception:  # noqa: BLE001 - no Excel, or xlwings cannot drive it: the point says so
        pass
    try:
        yield running or started
    finally:
        if started is not None:
            started.quit()


def _default_startup(platform: str, home: PurePath, environ: dict[str, str]) -> PurePath | None:
    """Excel's user startup folder (XLSTART) when Excel cannot be asked."""
    if platform.startswith("win"):
        appdata = environ.get("APPDATA")
        base = type(home)(appdata) if appdata else home / "AppData" / "Roaming"
        return base / "Microsoft" / "Excel" / "XLSTART"
    if platform.startswith("darwin"):
        return home.joinpath(*MAC_STARTUP)
    return None


def _pinned_xlwings() -> str | None:
    """The xlwings version dtfund's package metadata pins (xlwings==X)."""
    try:
        requirements = metadata.requires("dtfund") or []
    except metadata.PackageNotFoundError:
        return None
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        if name.strip() == "xlwings":
            return version.split(";")[0].strip()
    return None


def _read(path: PurePath) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except OSError:
        return None


@dataclass
class Machine:
    """What the doctor looks at; tests replace any of it."""

    platform: str = sys.platform
    home: PurePath = field(default_factory=Path.home)
    executable: str = sys.executable
    encoding: str = field(default_factory=locale.getencoding)  # as user_config_bytes writes
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    xlwings_version: str = xlwings.__version__
    pinned_xlwings: Callable[[], str | None] = _pinned_xlwings
    shipped_addin: Path = TARGET
    read_file: Callable[[PurePath], bytes | None] = _read
    access_vbom: Callable[[], int | None] = _read_registry_vbom
    excel: Callable[[], AbstractContextManager[Any | None]] = _excel_app

    @property
    def has_excel_platform(self) -> bool:
        return self.platform.startswith(("win", "darwin"))

    @property
    def windows(self) -> bool:
        return self.platform.startswith("win")


def check_installed(machine: Machine, app: Any | None) -> Finding:
    title = "加载项安装在 Excel 的启动文件夹（XLSTART）"
    if not machine.has_excel_platform:
        return Finding(title, None, "本机不是 Windows 或 macOS，没有可加载它的 Excel。")
    folder = type(machine.home)(app.startup_path) if app is not None else None
    folder = folder or _default_startup(machine.platform, machine.home, machine.environ)
    path = folder / ADDIN_FILE
    if machine.read_file(path) is None:
        return Finding(title, False, f"没有找到 {path}。", REINSTALL)
    return Finding(title, True, str(path), path=path)


def check_settings(machine: Machine) -> Finding:
    title = "加载项设置指向本机 Python"
    path = user_config_path(machine.home, machine.platform)
    try:
        expected = user_config_bytes(machine.executable, machine.platform, machine.encoding)
    except UnicodeEncodeError:
        return Finding(
            title,
            False,
            f"Python 的路径（{machine.executable}）含有系统代码页 {machine.encoding} 无法表示的字符，Excel 读不到它。",
            "把 Python 安装到只含英文字母和数字的文件夹，再运行 dtfund addin install --force。",
        )
    if not machine.has_excel_platform:
        windows_path = user_config_path(PureWindowsPath("%USERPROFILE%"), "win32")
        line = expected.decode(machine.encoding).strip()
        return Finding(  # nothing was checked: not a pass
            title,
            None,
            f"本机没有 Excel，未检查。在 Windows 上会写入 {windows_path}：{line}（{machine.encoding} 编码）。",
        )
    content = machine.read_file(path)
    if content is None:
        return Finding(title, False, f"没有找到设置文件 {path}。", REINSTALL)
    garbled = Finding(
        title,
        False,
        f"{path} 不是按系统代码页 {machine.encoding} 写入的，Excel 读出的 Python 路径是乱码。",
        REINSTALL,
    )
    try:
        text = content.decode(machine.encoding)
    except UnicodeDecodeError:
        return garbled
    if machine.executable not in text:
        if machine.executable in content.decode("utf-8", "replace"):
            return garbled
        return Finding(
            title, False, f"{path} 中的 Python 不是本机运行 dtfund 的 {machine.executable}。", REINSTALL
        )
    return Finding(title, True, f"{path}：{machine.executable}（{machine.encoding} 编码）")


def _shipped_vba(machine: Machine) -> dict[str, str] | None:
    try:
        return vba_modules(machine.shipped_addin)
    except VbaError:
        return None


def check_versions(machine: Machine) -> Finding:
    title = "xlwings 版本与加载项的宏一致"
    modules = _shipped_vba(machine)
    shipped = vba_constant(modules, "xlwings_version") if modules else None
    pinned = machine.pinned_xlwings()
    installed = machine.xlwings_version
    detail = f"已安装 {installed}，加载项的宏 {shipped or '未知'}" + (
        f"，dtfund 要求 {pinned}" if pinned else ""
    )
    if shipped is None:
        return Finding(title, None, detail + "（无法读取加载项的宏）。")
    if installed != shipped or (pinned is not None and pinned != shipped):
        return Finding(
            title, False, detail + "。", f"运行 pip install xlwings=={shipped}，再运行 dtfund addin install。"
        )
    if machine.windows:
        python_folder = type(machine.home)(machine.executable).parent
        dll = f"xlwings64-{shipped}.dll"
        if all(machine.read_file(folder / dll) is None for folder in (python_folder, python_folder.parent)):
            return Finding(
                title,
                False,
                f"{detail}，但 Python 的文件夹中没有 {dll}。",
                f"运行 pip install --force-reinstall xlwings=={shipped}。",
            )
    return Finding(title, True, detail + "。")


def check_vba_access(machine: Machine) -> Finding:
    title = "信任对 VBA 工程对象模型的访问"
    if not machine.windows:
        return Finding(
            title, None, "只在 Windows 上需要（注册函数的宏 ImportPythonUDFsToAddin 只能在 Windows 上运行）。"
        )
    if machine.access_vbom() == 1:
        return Finding(title, True, "已开启。")
    return Finding(
        title,
        False,
        "未开启：加载项无法把 DTFUND_ 函数写入自己的宏。",
        "在 Excel 中：文件 → 选项 → 信任中心 → 信任中心设置 → 宏设置，勾选“信任对 VBA 工程对象模型的访问”，然后重新打开 Excel。",
    )


def check_functions(machine: Machine, installed: Finding) -> Finding:
    title = "DTFUND_ 函数已注册到加载项"
    signatures = wrapper_signatures(generate_wrappers(ADDIN_MODULE, ADDIN_FILE))
    problems = name_problems(signatures)
    if problems:
        return Finding(
            title, False, "生成的函数包装有 VBA 不接受的名称：" + "；".join(problems), "请向开发者报告。"
        )
    generated = f"xlwings 生成的 {len(signatures)} 个函数包装都是合法的 VBA"
    if installed.path is None:
        return Finding(title, None, generated + "；加载项未安装，无法检查是否已注册。")
    content = machine.read_file(installed.path)
    try:
        modules = vba_modules(content or b"")
    except VbaError as exc:
        return Finding(title, None, f"{generated}；{exc}", REINSTALL)
    module = next((source for name, source in modules.items() if name.lower() == UDF_WRAPPER_MODULE), "")
    missing = [name for name in signatures if f"Function {name}(" not in module]
    if missing:
        return Finding(
            title,
            False,
            f"{generated}，但加载项中没有 {'、'.join(missing)}。",
            "打开 Excel，按 Alt+F11，在 VBAProject (dtfund.xlam) 中运行宏 ImportPythonUDFsToAddin，"
            "然后在 VBA 编辑器中按 Ctrl+S 保存加载项。",
        )
    return Finding(title, True, f"{generated}，加载项中都已注册。")


def _load_addin(app: Any, installed: Finding) -> None:
    """Open the installed add-in in an Excel started by automation, which loads no add-ins itself."""
    if installed.path is None:
        return
    try:
        app.books[ADDIN_FILE]
    except Exception:  # noqa: BLE001 - not open (xlwings raises KeyError or a COM error)
        app.books.open(str(installed.path))


def check_in_excel(app: Any | None, installed: Finding) -> Finding:
    """Open a workbook in Excel, write a small table, call DTFUND_CALC and DTFUND_VALIDATE and compare
    with what the check computes."""
    from addin.excel.udfs import calc, validate

    title = "在 Excel 中调用 DTFUND_CALC 和 DTFUND_VALIDATE"
    if app is None:
        return Finding(title, None, "本机没有可用的 Excel，未实际调用。")
    table = sample_table()
    _load_addin(app, installed)
    book = app.books.add()
    try:
        sheet = book.sheets[0]
        sheet.range("A1").value = table
        area = f"A1:{_column(len(table[0]))}{len(table)}"
        sheet.range("A20").formula2 = f"=DTFUND_CALC({area},2)"
        sheet.range("A40").formula2 = f"=DTFUND_VALIDATE({area},2)"
        app.calculate()
        got_calc = sheet.range("A20").expand().options(ndim=2).value
        got_validate = sheet.range("A40").expand().options(ndim=2).value
    finally:
        book.close()
    want_calc, want_validate = calc(table, 2), validate(table, 2)
    same = _comparable(got_calc) == _comparable(want_calc)
    if not same or _comparable(got_validate, 3) != _comparable(want_validate, 3):
        first = str(got_calc[0][0]) if got_calc and got_calc[0] else ""
        hint = "函数没有注册（单元格显示 #NAME?）" if first.startswith("#NAME") else f"Excel 返回 {first}"
        return Finding(
            title,
            False,
            f"结果与 dtfund check 不一致：{hint}。",
            "先解决上面标 ✗ 的各项；仍不一致时运行 dtfund addin install --force。",
        )
    return Finding(title, True, f"{len(want_calc) - 1} 行的计算列和问题清单与 dtfund check 一致。")


def _column(number: int) -> str:
    from addin.template_spec import column_letter

    return column_letter(number)


def _comparable(rows: list[list[Any]] | None, width: int | None = None) -> list[list[Any]]:
    """Rows as Excel shows them: a blank is "", a number rounded to the cent's hundredth."""
    return [
        [
            "" if value is None else round(value, 4) if isinstance(value, float | int) else value
            for value in row[:width]
        ]
        for row in rows or []
    ]


def sample_table() -> list[list[Any]]:
    """The header and the first filled rows of the bundled example, as values."""
    from addin.io.workbook_reader import Workbook
    from addin.template_spec import DATA_SHEET, FIRST_DATA_ROW, HEADER_ROW
    from addin.templates.bundled import EXAMPLES, REPOSITORY

    rows = Workbook(REPOSITORY / next(iter(EXAMPLES.values()))).rows(DATA_SHEET)
    return [list(row) for row in rows[HEADER_ROW - 1 : FIRST_DATA_ROW + 2]]


def diagnose(machine: Machine | None = None) -> list[Finding]:
    machine = machine or Machine()
    with machine.excel() if machine.has_excel_platform else nullcontext() as app:
        installed = check_installed(machine, app)
        return [
            installed,
            check_settings(machine),
            check_versions(machine),
            check_vba_access(machine),
            check_functions(machine, installed),
            check_in_excel(app, installed),
        ]


def print_findings(findings: list[Finding], console: Any) -> None:
    from rich.text import Text

    from addin.reports.terminal_text import visible

    marks = {True: ("✓", "green"), False: ("✗", "red"), None: ("–", "dim")}
    for finding in findings:
        console.print(
            Text.assemble(marks[finding.ok], f" {visible(finding.title)}：{visible(finding.detail)}")
        )
        if finding.ok is False and finding.fix:
            console.print(Text(f"    解决：{visible(finding.fix)}"))
    failed = sum(finding.ok is False for finding in findings)
    console.print(
        "全部可检查的项目都通过。"
        if not failed
        else f"{failed} 项未通过，请按“解决”逐项处理后再运行 dtfund addin doctor。"
    )
