r"""Build the Excel add-in addin/excel/dtfund.xlam from xlwings' own ribbon add-in, on any machine, and
write the user settings its VBA reads.

xlwings ships `quickstart_addin_ribbon.xlam`: a ribbon with one button bound to RibbonMyAddin.RunMain,
whose VBA runs `import <add-in file name>; <add-in file name>.main()`, and the ImportPythonUDFsToAddin
macro. Its VBA (xlwings' module, PROJECT_NAME = "myaddin") reads settings from a sheet named
`myaddin.conf` in the add-in, then from the user's file: %USERPROFILE%\.myaddin\myaddin.conf on Windows,
~/Library/Containers/com.microsoft.Excel/Data/myaddin.conf on macOS (GetConfigFilePath). VBA cannot be
compiled here; the ribbon XML and the settings sheet are ours: the tab 专项资金 with one 校验 button, and a
sheet `myaddin.conf` holding UDF Modules = dtfund and nothing else (a row left
empty there, such as Interpreter_Win, would hide the user file's value). Naming the file dtfund.xlam
makes RunMain call dtfund.main(). The VBA is tied to the xlwings version that shipped it (its DLL and
AppleScript file names carry it), so pyproject.toml pins xlwings to that version.

The VBA project gains, without Excel (addin.excel.vba_project): the module xlwings_udfs, exactly what
ImportPythonUDFsToAddin would import (xlwings' own generator run on addin/excel/udfs.py), and our
ThisWorkbook (addin.excel.workbook_code: function-wizard texts, links to the add-in repointed). The
project keeps xlwings' source-only `_VBA_PROJECT`, so Excel compiles the modules when it loads the add-in.
Run `python -m addin addin build` to rebuild; the timestamps are fixed, so the bytes are the same each time.
"""

from __future__ import annotations

import io
import locale
import re
import sys
import zipfile
from pathlib import Path, PurePath
from xml.sax.saxutils import escape

import xlwings

from addin.excel.vba import (
    UDF_WRAPPER_MODULE,
    VBA_PART,
    functions_as_on_windows,
    refuse_bad_names,
    udf_module_source,
)
from addin.excel.vba_project import VbaProject
from addin.excel.workbook_code import macro_options, workbook_module
from addin.io.output import reproducible_xlsx, write_bytes_atomically
from addin.io.workbook_reader import sheet_members

SOURCE = Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam"
TARGET = Path(__file__).parent / "dtfund.xlam"
ADDIN_MODULE = "dtfund"  # the file name without .xlam: what RunMain imports
VBA_PROJECT_NAME = "myaddin"  # the VBA's PROJECT_NAME: it names the settings sheet and the user file
SOURCE_CONF_SHEET = f"_{VBA_PROJECT_NAME}.conf"  # as xlwings ships it: ignored by the VBA
CONF_SHEET = f"{VBA_PROJECT_NAME}.conf"
RIBBON_CALLBACK = "RibbonMyAddin.RunMain"
SETTINGS = {"UDF Modules": ADDIN_MODULE}
MAC_SANDBOX = ("Library", "Containers", "com.microsoft.Excel", "Data")

RIBBON_XML = f"""<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">
    <ribbon>
        <tabs>
            <tab id="dtfundTab" label="专项资金">
                <group id="dtfundCheckGroup" label="数字化转型专项资金">
                    <button id="dtfundCheck" label="校验" size="large" onAction="{RIBBON_CALLBACK}" imageMso="MacroPlay"
                        screentip="校验当前工作簿"
                        supertip="校验当前打开的申报表或资金使用计划表：列出问题（校验结果工作表，可点击跳转），标出有问题的单元格，并恢复计算列的公式。" />
                </group>
            </tab>
        </tabs>
    </ribbon>
</customUI>
"""


def _settings_sheet(sheet_xml: str, settings: dict[str, str]) -> str:
    """The settings sheet holding exactly these settings, one per row from A1 (the VBA reads A1 down
    to the first blank)."""
    rows = "".join(
        f'<row r="{n}" spans="1:2"><c r="A{n}" s="1" t="inlineStr"><is><t>{escape(key)}</t></is></c>'
        f'<c r="B{n}" s="1" t="inlineStr"><is><t>{escape(value)}</t></is></c></row>'
        for n, (key, value) in enumerate(settings.items(), start=1)
    )
    sheet_xml = re.sub(
        r"<sheetData>.*?</sheetData>|<sheetData\s*/>", f"<sheetData>{rows}</sheetData>", sheet_xml, flags=re.S
    )
    return re.sub(r'<dimension ref="[^"]*"', f'<dimension ref="A1:B{len(settings)}"', sheet_xml)


def build_vba_project(data: bytes, wrappers: str | None = None) -> bytes:
    """xlwings' VBA project with the DTFUND_ wrappers as ImportPythonUDFs would import them (module
    xlwings_udfs) and our ThisWorkbook (function descriptions, repointing links to the add-in)."""
    project = VbaProject(data)
    if wrappers is None:
        wrappers = udf_module_source(ADDIN_MODULE, f"{ADDIN_MODULE}.xlam")
    else:
        refuse_bad_names(wrappers)
    project.add_module(UDF_WRAPPER_MODULE, wrappers)
    project.set_source("ThisWorkbook", workbook_module(macro_options(functions_as_on_windows())))
    return project.to_bytes()


def build_xlam(source: Path = SOURCE, wrappers: str | None = None) -> bytes:
    """dtfund.xlam: xlwings' ribbon add-in with our ribbon, settings and VBA (the DTFUND_ wrappers built
    in). `wrappers` replaces the generated xlwings_udfs module (for tests)."""
    with zipfile.ZipFile(source) as archive:
        settings_part = sheet_members(archive)[SOURCE_CONF_SHEET]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in archive.infolist():
                content = archive.read(entry.filename)
                if entry.filename == "customUI/customUI.xml":
                    content = RIBBON_XML.encode("utf-8")
                elif entry.filename == settings_part:
                    content = _settings_sheet(content.decode("utf-8"), SETTINGS).encode("utf-8")
                elif entry.filename == VBA_PART:
                    content = build_vba_project(content, wrappers)
                elif entry.filename == "xl/workbook.xml":
                    content = content.replace(
                        f'name="{SOURCE_CONF_SHEET}"'.encode(), f'name="{CONF_SHEET}"'.encode()
                    )
                target.writestr(entry.filename, content)
    return reproducible_xlsx(buffer.getvalue())


def user_config_path(home: PurePath | None = None, platform: str = sys.platform) -> PurePath:
    """Where the add-in's VBA looks for the user settings (GetConfigFilePath): on Windows
    %USERPROFILE%\\.myaddin\\myaddin.conf, on macOS the file in Excel's sandbox."""
    home = Path.home() if home is None else home
    if platform.startswith("darwin"):
        return home.joinpath(*MAC_SANDBOX, f"{VBA_PROJECT_NAME}.conf")
    return home / f".{VBA_PROJECT_NAME}" / f"{VBA_PROJECT_NAME}.conf"


def user_config_text(executable: str = sys.executable, platform: str = sys.platform) -> str:
    """The user settings: the Python that has dtfund installed, one line as xlwings' `config_create`
    writes it (the VBA's `Input #` reads two quoted fields)."""
    key = "INTERPRETER_MAC" if platform.startswith("darwin") else "INTERPRETER_WIN"
    return f'"{key}","{executable}"\n'


def user_config_bytes(
    executable: str = sys.executable, platform: str = sys.platform, encoding: str | None = None
) -> bytes:
    """The settings file's bytes as xlwings writes it (`open(path, "w")`): the locale's encoding, which
    is the code page the VBA reads it in (cp936 on a Chinese Windows), and the platform's line ending.
    The encoding is `locale.getencoding()`, xlwings' own except under Python's UTF-8 mode, which would
    make xlwings write UTF-8 while the VBA still reads the code page. A path the code page cannot hold
    raises UnicodeEncodeError."""
    encoding = encoding or locale.getencoding()
    newline = "\r\n" if platform.startswith("win") else "\n"
    return user_config_text(executable, platform).replace("\n", newline).encode(encoding)


if __name__ == "__main__":
    write_bytes_atomically(TARGET, build_xlam())
    print(TARGET)
