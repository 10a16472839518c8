"""Build the Excel add-in addin/excel/dtfund.xlam from xlwings' own ribbon add-in, on any machine.

xlwings ships `quickstart_addin_ribbon.xlam`: a ribbon with one button bound to RibbonMyAddin.RunMain,
whose VBA runs `import <add-in file name>; <add-in file name>.main()`, a settings sheet `_myaddin.conf`
(the VBA's PROJECT_NAME is "myaddin"), and the ImportPythonUDFsToAddin macro. VBA cannot be compiled or
edited here, so only the ribbon XML and the settings are ours: the tab 专项资金 with one 校验 button,
and UDF Modules = dtfund. Naming the file dtfund.xlam makes RunMain call dtfund.main().
Run `python -m addin.excel.xlam` to rebuild; the timestamps are fixed, so the bytes are the same each time.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import xlwings

from addin.io.output import reproducible_xlsx, write_bytes_atomically
from addin.io.workbook_reader import sheet_members

SOURCE = Path(xlwings.__file__).parent / "quickstart_addin_ribbon.xlam"
TARGET = Path(__file__).parent / "dtfund.xlam"
ADDIN_MODULE = "dtfund"  # the file name without .xlam: what RunMain imports
CONF_SHEET = "_myaddin.conf"
RIBBON_CALLBACK = "RibbonMyAddin.RunMain"
SETTINGS = {"UDF Modules": ADDIN_MODULE}
USER_CONFIG = Path.home() / ".myaddin" / "myaddin.conf"

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


def _shared_strings(xml: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", item) for item in re.findall(r"<si>(.*?)</si>", xml, flags=re.S)]


def _set_settings(sheet_xml: str, strings: list[str], settings: dict[str, str]) -> str:
    """Write each setting's value into column B of the row whose column A names it."""
    for key, value in settings.items():
        index = strings.index(key)
        row = re.search(
            rf'<row r="(\d+)"[^>]*>(?:(?!</row>).)*?<c r="A\1"[^>]*t="s"[^>]*><v>{index}</v></c>',
            sheet_xml,
            flags=re.S,
        )
        if row is None:
            raise ValueError(f"the settings sheet has no row for {key}")
        number = row.group(1)
        cell = f'<c r="B{number}" s="1" t="inlineStr"><is><t>{escape(value)}</t></is></c>'
        end = sheet_xml.index("</row>", row.start())
        sheet_xml = (
            re.sub(rf'<c r="B{number}"[^>]*/>|<c r="B{number}"[^>]*>.*?</c>', "", sheet_xml[:end], flags=re.S)
            + cell
            + sheet_xml[end:]
        )
        sheet_xml = sheet_xml.replace(f'<row r="{number}" spans="1:1"', f'<row r="{number}" spans="1:2"')
    return sheet_xml


def build_xlam(source: Path = SOURCE) -> bytes:
    """dtfund.xlam: xlwings' ribbon add-in with our ribbon and settings."""
    with zipfile.ZipFile(source) as archive:
        strings = _shared_strings(archive.read("xl/sharedStrings.xml").decode("utf-8"))
        settings_part = sheet_members(archive)[CONF_SHEET]
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in archive.infolist():
                content = archive.read(entry.filename)
                if entry.filename == "customUI/customUI.xml":
                    content = RIBBON_XML.encode("utf-8")
                elif entry.filename == settings_part:
                    content = _set_settings(content.decode("utf-8"), strings, SETTINGS).encode("utf-8")
                target.writestr(entry.filename, content)
    return reproducible_xlsx(buffer.getvalue())


def user_config_lines(executable: str = sys.executable, platform: str = sys.platform) -> str:
    """The add-in's user settings (~/.myaddin/myaddin.conf): the Python that has dtfund installed."""
    key = "INTERPRETER_MAC" if platform.startswith("darwin") else "INTERPRETER_WIN"
    return f'"{key}","{executable}"\n'


if __name__ == "__main__":
    write_bytes_atomically(TARGET, build_xlam())
    print(TARGET)
