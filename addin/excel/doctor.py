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
    udf_module_source,
    vba_constant,
    vba_modules,
    wrapper_signatures,
)
from addin.excel.xlam import ADDIN_MODULE, TARGET, user_config_bytes, user_config_path
from addin.template_spec import LIVE_CHECK_ISSUES

ADDIN_FILE = f"{ADDIN_MODULE}.xlam"
MAC_STARTUP = (
    "Library",
    "Group Containers",
    "UBF8T346G9.Office",
    "User Content.localized",
    "Startup.localized",
    "Excel",
)
OLDEST_EXCEL = 14  # Excel 2010: the oldest README 五 supports; MacroOptions takes argument texts from it on
REINSTALL = "关闭所有 Excel 窗口，运行 dtfund addin install --force，再重新打开 Excel。"


@dataclass(frozen=True)
class Finding:
    """One point checked: passed (True), failed (False) or not checkable here (None)."""

    title: str
    ok: bool | None
    detail: str
    fix: str = ""
    path: PurePath | None = None  # the file the point found, for the points after it


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


def check_functions(machine: Machine, installed: Finding) -> Finding:
    """The installed add-in holds the wrappers this dtfund builds (module xlwings_udfs, text for text)."""
    title = "DTFUND_ 函数已内置在加载项中"
    try:
        expected = udf_module_source(ADDIN_MODULE, ADDIN_FILE)
    except VbaError as exc:
        return Finding(title, False, str(exc), "请向开发者报告。")
    count = len(wrapper_signatures(expected))
    if installed.path is None:
        shipped = _wrapper_module(_shipped_vba(machine) or {}) == expected
        return Finding(
            title,
            None,
            f"加载项未安装，无法读取其中的函数（dtfund 附带、安装时复制的加载项中"
            f"{'有全部' if shipped else '没有'} {count} 个函数）。",
        )
    content = machine.read_file(installed.path)
    try:
        modules = vba_modules(content or b"")
    except VbaError as exc:
        return Finding(title, False, str(exc), REINSTALL)
    module = _wrapper_module(modules)
    if module is None:
        return Finding(title, False, f"{installed.path} 中没有 DTFUND_ 函数（旧版加载项）。", REINSTALL)
    if module != expected:
        missing = [name for name in wrapper_signatures(expected) if f"Function {name}(" not in module]
        what = f"缺少 {'、'.join(missing)}" if missing else "与本机 dtfund 的函数不一致"
        return Finding(title, False, f"{installed.path} 中的函数{what}（加载项来自另一版本的 dtfund）。", REINSTALL)
    return Finding(title, True, f"加载项中有本机 dtfund 的全部 {count} 个函数。")


def _wrapper_module(modules: dict[str, str]) -> str | None:
    return next((text for name, text in modules.items() if name.lower() == UDF_WRAPPER_MODULE), None)


@dataclass(frozen=True)
class ExcelFacts:
    """What the running Excel says about itself; None where it could not say."""

    version: str | None
    build: str | None
    dynamic_arrays: bool | None


def _attribute(read: Callable[[], Any]) -> str | None:
    try:
        value = read()
    except Exception:  # noqa: BLE001 - an older Excel, or Excel on macOS, lacks the property
        return None
    return None if value is None else str(value)


def _has_dynamic_arrays(app: Any) -> bool | None:
    """Whether this Excel spills array results: it has the UNIQUE worksheet function (xlwings' own test,
    xlwings.udfs.has_dynamic_array)."""
    try:
        functions = app.api.WorksheetFunction
    except Exception:  # noqa: BLE001 - no COM object (macOS): cannot tell
        return None
    try:
        functions.Unique("dummy")
    except Exception:  # noqa: BLE001 - AttributeError or a COM error: no dynamic arrays
        return False
    return True


def excel_facts(app: Any) -> ExcelFacts:
    return ExcelFacts(
        version=_attribute(lambda: app.version),
        build=_attribute(lambda: app.api.Build),
        dynamic_arrays=_has_dynamic_arrays(app),
    )


def check_excel(app: Any | None, facts: ExcelFacts | None) -> Finding:
    title = "Excel 版本与动态数组"
    if app is None or facts is None:
        return Finding(title, None, "本机没有可用的 Excel，无法读取版本。")
    build = f"（内部版本 {facts.build}）" if facts.build else ""
    version = f"Excel {facts.version or '版本未知'}{build}"
    major = _major(facts.version)
    if major is not None and major < OLDEST_EXCEL:
        return Finding(
            title, False, f"{version}：早于 Excel 2010，加载项不支持。", "请升级到 Excel 2010 或更新版本。"
        )
    if facts.dynamic_arrays is None:
        return Finding(title, True, f"{version}；无法判断是否支持动态数组。")
    if facts.dynamic_arrays:
        return Finding(title, True, f"{version}，支持动态数组：函数结果自动展开。")
    return Finding(
        title,
        True,
        f"{version}，不支持动态数组（Excel 2019 及更早版本）：返回多格结果的函数要先选中结果区域，"
        f"再按 Ctrl+Shift+Enter 输入；“实时校验”工作表显示前 {LIVE_CHECK_ISSUES} 条问题。",
    )


def _major(version: str | None) -> int | None:
    try:
        return int(str(version).split(".")[0])
    except ValueError:
        return None


def _load_addin(app: Any, installed: Finding) -> None:
    """Open the installed add-in in an Excel started by automation, which loads no add-ins itself."""
    if installed.path is None:
        return
    try:
        app.books[ADDIN_FILE]
    except Exception:  # noqa: BLE001 - not open (xlwings raises KeyError or a COM error)
        app.books.open(str(installed.path))


def _enter(sheet: Any, anchor: str, formula: str, size: tuple[int, int], dynamic: bool) -> Any:
    """Enter a formula whose result has `size` (rows, columns): spilling where Excel has dynamic arrays,
    else array-entered over that block (as Ctrl+Shift+Enter does); the result's range."""
    cell = sheet.range(anchor)
    if dynamic:
        cell.formula2 = formula
        return cell
    block = cell.resize(*size)
    block.formula_array = formula
    return block


def check_in_excel(app: Any | None, installed: Finding, facts: ExcelFacts | None, windows: bool) -> Finding:
    """Open a workbook in Excel, write a small table, call DTFUND_CALC and DTFUND_VALIDATE and compare
    with what the check computes. Whatever Excel raises is explained, never a traceback."""
    title = "在 Excel 中调用 DTFUND_CALC 和 DTFUND_VALIDATE"
    if app is None or facts is None:
        return Finding(title, None, "本机没有可用的 Excel，未实际调用。")
    if not windows:
        return Finding(title, None, "xlwings 的自定义函数只能在 Windows 版 Excel 中使用，未调用。")
    try:
        return _call_in_excel(app, installed, facts, title)
    except Exception as exc:  # noqa: BLE001 - any Excel failure becomes an explained point
        return Finding(
            title,
            False,
            f"在 Excel 中写入或计算公式时出错（{type(exc).__name__}：{exc}）。",
            "先解决上面标 × 的各项；仍出错时把这一行发给开发者。",
        )


def _call_in_excel(app: Any, installed: Finding, facts: ExcelFacts, title: str) -> Finding:
    from addin.excel.udfs import DTFUND_CALC, DTFUND_VALIDATE, calc, validate

    table = sample_table()
    want_calc, want_validate = calc(table, 2), validate(table, 2)
    dynamic = bool(facts.dynamic_arrays)
    _load_addin(app, installed)
    book = app.books.add()
    try:
        sheet = book.sheets[0]
        sheet.range("A1").value = table
        area = f"A1:{_column(len(table[0]))}{len(table)}"
        sizes = [(len(rows), len(rows[0])) for rows in (want_calc, want_validate)]
        got = [
            _enter(sheet, anchor, f"={function.__name__}({area},2)", size, dynamic)
            for anchor, function, size in zip(("A20", "A40"), (DTFUND_CALC, DTFUND_VALIDATE), sizes, strict=True)
        ]
        app.calculate()
        got_calc, got_validate = (
            (cell.expand() if dynamic else cell).options(ndim=2).value for cell in got
        )
    finally:
        book.close()
    same = _comparable(got_calc) == _comparable(want_calc)
    if not same or _comparable(got_validate, 3) != _comparable(want_validate, 3):
        first = str(got_calc[0][0]) if got_calc and got_calc[0] else ""
        hint = "函数没有注册（单元格显示 #NAME?）" if first.startswith("#NAME") else f"Excel 返回 {first}"
        return Finding(
            title,
            False,
            f"结果与 dtfund check 不一致：{hint}。",
            "先解决上面标 × 的各项；仍不一致时运行 dtfund addin install --force。",
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
        facts = excel_facts(app) if app is not None else None
        installed = check_installed(machine, app)
        return [
            installed,
            check_settings(machine),
            check_versions(machine),
            check_excel(app, facts),
            check_functions(machine, installed),
            check_in_excel(app, installed, facts, machine.windows),
        ]


# `dtfund addin doctor`'s exit codes
ALL_PASSED, SOME_FAILED, SOME_UNCHECKED = 0, 1, 3


def exit_code(findings: list[Finding]) -> int:
    """0 every point checked and passed; 1 a point failed; 3 none failed but some could not be checked."""
    if any(finding.ok is False for finding in findings):
        return SOME_FAILED
    if any(finding.ok is None for finding in findings):
        return SOME_UNCHECKED
    return ALL_PASSED


def summary_line(findings: list[Finding]) -> str:
    """The last line: how many points were checked, passed, failed, and could not be checked here."""
    checked = [finding for finding in findings if finding.ok is not None]
    failed = sum(finding.ok is False for finding in checked)
    unchecked = len(findings) - len(checked)
    counts = f"共 {len(findings)} 项：已检查 {len(checked)} 项（通过 {len(checked) - failed} 项，未通过 {failed} 项），本机无法检查 {unchecked} 项。"
    if failed:
        return counts + "请按“解决”逐项处理后再运行 dtfund addin doctor。"
    if unchecked:
        return counts + "已检查的都通过；无法检查的项目要在装有 Excel 的 Windows 电脑上运行 dtfund addin doctor。"
    return counts + "全部通过。"


def print_findings(findings: list[Finding], console: Any) -> None:
    from rich.text import Text

    from addin.reports.terminal_text import visible

    marks = {True: ("√", "green"), False: ("×", "red"), None: ("–", "dim")}  # (in GBK: a Chinese console shows them)
    for finding in findings:
        console.print(
            Text.assemble(marks[finding.ok], f" {visible(finding.title)}：{visible(finding.detail)}")
        )
        if finding.ok is False and finding.fix:
            console.print(Text(f"    解决：{visible(finding.fix)}"))
    console.print(summary_line(findings))
