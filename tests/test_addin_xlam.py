"""The shipped dtfund.xlam carries the DTFUND_ wrappers: built on any machine, byte-reproducible, and
read the same by four independent readers (olefile in strict mode, oletools' olevba, our reader and
LibreOffice through UNO)."""

from __future__ import annotations

import inspect
import io
import json
import random
import re
import zipfile
from pathlib import Path

import olefile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from addin.cli import app
from addin.excel import udfs
from addin.excel.cfb import BLACK, NOSTREAM, RED, Storage, write_compound_file
from addin.excel.vba import (
    UDF_MODULE_HEADER,
    VBA_PART,
    VbaNameError,
    _xlwings_udfs,
    compress,
    decompress,
    generate_wrappers,
    vba_modules,
)
from addin.excel.vba_project import VbaProject, parse_dir, serialize_dir
from addin.excel.workbook_code import LINK_HANDLER, vba_string_parts, vba_string_value
from addin.excel.xlam import SOURCE, TARGET, build_vba_project, build_xlam
from tests.support.libreoffice import run_uno_script

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # oletools' use of pyparsing

MODULES = ["ThisWorkbook", "Dictionary", "RibbonMyAddin", "Sheet2", "xlwings", "xlwings_udfs"]
DTFUND_FUNCTIONS = sorted(f.__name__ for f in udfs.UDFS)


def project_bytes(xlam: Path | bytes = TARGET) -> bytes:
    with zipfile.ZipFile(io.BytesIO(xlam) if isinstance(xlam, bytes) else xlam) as archive:
        return archive.read(VBA_PART)


@pytest.fixture(scope="module")
def shipped() -> dict[str, str]:
    return vba_modules(TARGET)


# --- the build ---------------------------------------------------------------------------------------------


def test_two_builds_give_the_shipped_bytes(tmp_path: Path) -> None:
    first = build_xlam()
    assert first == build_xlam()
    assert first == TARGET.read_bytes(), "dtfund.xlam is stale: run dtfund addin build and commit it"
    target = tmp_path / "dtfund.xlam"
    result = CliRunner().invoke(app, ["addin", "build", "-o", str(target)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == first


def test_the_wrapper_module_is_exactly_what_xlwings_generates(shipped: dict[str, str]) -> None:
    generated = generate_wrappers("dtfund", "dtfund.xlam")
    assert shipped["xlwings_udfs"] == "\r\n".join((*UDF_MODULE_HEADER, generated.replace("\n", "\r\n")))
    # the header lines are those xlwings' import_udfs writes above the wrappers
    import_udfs = inspect.getsource(_xlwings_udfs().import_udfs)
    positions = [import_udfs.find(line) for line in UDF_MODULE_HEADER]
    assert -1 not in positions and positions == sorted(positions)
    assert positions[-1] < import_udfs.index("generate_vba_wrapper(")
    for name in DTFUND_FUNCTIONS:
        assert re.search(rf"^Function {name}\(", shipped["xlwings_udfs"], re.M), name


def test_the_rest_of_xlwings_vba_is_kept(shipped: dict[str, str]) -> None:
    original = vba_modules(SOURCE)
    for name in ("Dictionary", "RibbonMyAddin", "Sheet2", "xlwings"):
        assert shipped[name] == original[name]
    assert project_bytes()[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    ole = olefile.OleFileIO(project_bytes())
    assert ole.openstream("VBA/_VBA_PROJECT").read() == b"\xcc\x61\xff\xff\x00\x01\x00"  # recompiled from source
    project = ole.openstream("PROJECT").read().decode("cp1252")
    assert "Module=xlwings\r\nModule=xlwings_udfs\r\n" in project
    assert b"x\0l\0w\0i\0n\0g\0s\0_\0u\0d\0f\0s\0" in ole.openstream("PROJECTwm").read()


# --- four readers ------------------------------------------------------------------------------------------


def test_olefile_in_strict_mode_reads_every_stream() -> None:
    ole = olefile.OleFileIO(project_bytes(), raise_defects=olefile.DEFECT_INCORRECT)
    streams = {"/".join(path) for path in ole.listdir()}
    assert streams == {"PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir", *(f"VBA/{m}" for m in MODULES)}
    source = olefile.OleFileIO(project_bytes(SOURCE))
    for path in ("VBA/xlwings", "VBA/Dictionary", "VBA/_VBA_PROJECT"):
        assert ole.openstream(path).read() == source.openstream(path).read()


def test_olevba_lists_the_same_modules_with_the_same_source(shipped: dict[str, str]) -> None:
    from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(TARGET))
    found = {Path(name).stem: code for _, _, name, code in parser.extract_macros()}
    parser.close()
    assert list(found) == MODULES
    assert found == shipped
    for name in DTFUND_FUNCTIONS:
        assert f"Function {name}(" in found["xlwings_udfs"]


def test_libreoffice_lists_the_same_modules_with_the_same_source(shipped: dict[str, str]) -> None:
    script = Path(__file__).parent / "support" / "uno_basic_modules.py"
    libraries = json.loads(run_uno_script(script, [str(TARGET.resolve())]))
    modules = libraries["MyAddin"]
    assert sorted(modules) == sorted(MODULES)
    for name, source in modules.items():
        # LibreOffice drops the Attribute lines and adds lines of its own at the top
        lines = source.split("\n")
        assert lines[0].startswith("Rem Attribute VBA_ModuleType=") and lines[1] == "Option VBASupport 1"
        added = 3 if lines[2] == "Option ClassModule" else 2
        ours = [line for line in shipped[name].splitlines() if not line.startswith("Attribute ")]
        assert "\n".join(lines[added:]).strip() == "\n".join(ours).strip(), name


# --- refusals ----------------------------------------------------------------------------------------------


def wrapper_with(function: str, argument: str = "table") -> str:
    return generate_wrappers().replace("DTFUND_RULE(rule_id)", f"{function}({argument})")


@pytest.mark.parametrize(
    ("function", "argument", "why"),
    [
        ("DTFUND_RULE", "规则", "代码页 1252"),
        ("DTFUND_规则", "rule_id", "代码页 1252"),
        ("DTFUND_RULE", "date", "保留字"),
        ("DTFUND_RULE", "Currency", "保留字"),
        ("DTFUND_RULE", "XLPy", "保留字"),  # the wrapper calls XLPy.CallUDF
        ("DTFUND_RULE", "failed", "保留字"),  # the wrapper's error label
        ("DTFUND_RULE", "argsArray", "保留字"),
        ("DTFUND_RULE", "a" * 256, "超过 255 个字符"),
        ("D" * 256, "rule_id", "超过 255 个字符"),
    ],
)
def test_the_build_refuses_a_name_vba_cannot_hold(function: str, argument: str, why: str) -> None:
    with pytest.raises(VbaNameError, match=why):
        build_vba_project(project_bytes(SOURCE), wrapper_with(function, argument))


# --- ThisWorkbook: descriptions and links ---------------------------------------------------------------------


def test_the_function_wizard_gets_the_chinese_descriptions(shipped: dict[str, str]) -> None:
    code = shipped["ThisWorkbook"]
    assert code.isascii()
    described = {}
    words = ""
    for line in code.split("\r\n"):
        assignment = re.fullmatch(r"    Words = (Words & )?(.*)", line)
        if assignment:
            words = (words if assignment.group(1) else "") + vba_string_value(assignment.group(2))
        macro = re.search(r"MacroOptions Macro:=\"'\" & ThisWorkbook.Name & \"'!(\w+)\", Description:=Words, ", line)
        if macro:
            described[macro.group(1)] = words
    assert described == {f.__name__: inspect.getdoc(f) for f in udfs.UDFS}
    assert "ArgumentDescriptions:=Array(\"Positional argument 1\", \"Positional argument 2\")" in code
    assert all(len(line) < 1023 for line in code.split("\r\n"))
    assert "Private Sub Workbook_Open()\r\n    Dim Wb As Workbook\r\n    Set ExcelEvents = Application\r\n    DescribeFunctions" in code


@given(st.text(max_size=80))
def test_vba_strings_decode_back(text: str) -> None:
    assert vba_string_value(" & ".join(vba_string_parts(text))) == text


def test_links_to_the_addin_elsewhere_are_repointed_on_open(shipped: dict[str, str]) -> None:
    code = shipped["ThisWorkbook"]
    assert "Private WithEvents ExcelEvents As Application" in code
    assert f"Private Sub ExcelEvents_WorkbookOpen(ByVal Wb As Workbook)\r\n    {LINK_HANDLER} Wb\r\nEnd Sub" in code
    assert f"For Each Wb In Application.Workbooks\r\n        {LINK_HANDLER} Wb" in code  # already open
    handler = code[code.index(f"Private Sub {LINK_HANDLER}(") :]
    handler = handler[: handler.index("End Sub")]
    assert "Sources = Wb.LinkSources(xlExcelLinks)" in handler
    assert "Wb.ChangeLink Link, ThisWorkbook.FullName, xlLinkTypeExcelLinks" in handler
    assert "StrComp(FileName, ThisWorkbook.Name, vbTextCompare) = 0" in handler  # only links to dtfund.xlam
    assert "StrComp(Link, ThisWorkbook.FullName, vbTextCompare) <> 0" in handler  # not already here
    assert "On Error GoTo Done" in handler  # a protected workbook does not stop Excel


# --- the pieces: compression, the dir stream, the compound file ---------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=9000) | st.text(alphabet="ab \r\nEnd Function", max_size=12000).map(str.encode))
def test_compression_round_trips(data: bytes) -> None:
    try:
        packed = compress(data)
    except ValueError:  # an incompressible short last chunk: never VBA source
        assert len(data) % 4096 and len(data) % 4096 > 3600
        return
    assert decompress(packed) == data


def test_text_compresses_to_what_xlwings_stored() -> None:
    """Our compressor packs xlwings' module into as many bytes as the tool that built it."""
    ole = olefile.OleFileIO(project_bytes(SOURCE))
    stored = ole.openstream("VBA/xlwings").read()
    assert len(compress(decompress(stored))) == len(stored)


def test_the_dir_stream_round_trips_and_gains_one_module() -> None:
    ole = olefile.OleFileIO(project_bytes(SOURCE))
    stream = decompress(ole.openstream("VBA/dir").read())
    assert serialize_dir(parse_dir(stream)) == stream
    project = VbaProject(project_bytes(SOURCE))
    project.add_module("Extra", 'Attribute VB_Name = "Extra"\r\n')
    assert project.module_names() == ["ThisWorkbook", "Dictionary", "RibbonMyAddin", "Sheet2", "xlwings", "Extra"]
    modules = vba_modules(_with_project(project.to_bytes()))
    assert modules["Extra"] == 'Attribute VB_Name = "Extra"\r\n'
    with pytest.raises(ValueError):
        project.add_module("extra", "")


def _with_project(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(VBA_PART, data)
    return buffer.getvalue()


def _check_red_black(ole: olefile.OleFileIO, sid: int) -> int:
    """The black height of the subtree (asserting the red-black rules and the name order)."""
    if sid == NOSTREAM:
        return 1
    entry = ole.direntries[sid]
    for child, side in ((entry.sid_left, -1), (entry.sid_right, 1)):
        if child != NOSTREAM:
            other = ole.direntries[child]
            if entry.color == RED:
                assert other.color == BLACK
            key = lambda e: (len(e.name), e.name.upper())  # noqa: E731
            assert (key(other) > key(entry)) == (side > 0)
    left, right = _check_red_black(ole, entry.sid_left), _check_red_black(ole, entry.sid_right)
    assert left == right
    return left + (entry.color == BLACK)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=40), st.integers(min_value=0, max_value=2**32))
def test_compound_files_are_valid_and_read_back(count: int, seed: int) -> None:
    rng = random.Random(seed)
    sizes = [0, 1, 63, 64, 4095, 4096, 5000, 70000]
    inner = Storage(children={f"s{n}": bytes([n]) * rng.choice(sizes[1:]) for n in range(count // 2)})
    root = Storage(children={f"Stream{n:02}": bytes([n]) * rng.choice(sizes[1:]) for n in range(count)})
    root.children["Inner"] = inner
    data = write_compound_file(root)
    assert data == write_compound_file(root)
    ole = olefile.OleFileIO(data, raise_defects=olefile.DEFECT_INCORRECT)
    for name, content in root.children.items():
        if isinstance(content, bytes):
            assert ole.openstream(name).read() == content
    for name, content in inner.children.items():
        assert ole.openstream(f"Inner/{name}").read() == content
    for entry in ole.direntries:
        if entry is not None and entry.sid_child != NOSTREAM:
            _check_red_black(ole, entry.sid_child)


def test_readme_installs_without_the_vba_editor() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text("utf-8")
    section = readme[readme.index("## 五、Excel 加载项") : readme.index("## 六、")]
    for gone in ("ImportPythonUDFs", "VBA 工程对象模型", "Alt+F11", "按 Ctrl+S 保存"):
        assert gone not in section, gone
    for version in ("Microsoft 365", "2021", "2019", "2016", "2013", "2010", "macOS", "WPS"):
        assert version in section, version
    assert "| 3 | 没有未通过的项目，但有本机无法检查的项目" in section
    from addin.template_spec import LIVE_CHECK_ISSUES

    assert f"显示前 {LIVE_CHECK_ISSUES} 条问题" in section
