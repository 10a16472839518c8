"""The VBA side of the add-in, read, written and checked from Python on any machine.

- The VBA modules of an .xlam (its xl/vbaProject.bin: an OLE file whose module streams hold source
  compressed as MS-OVBA 2.4.1 describes), to read the xlwings version and project name the shipped VBA
  was written for, and whether an installed add-in holds the DTFUND_ wrappers; the compression itself,
  for the build (addin.excel.vba_project).
- The wrappers xlwings writes for our Excel functions, made with xlwings' own generator
  (xlwings.udfs.generate_vba_wrapper), and the names in them that VBA would refuse.
"""

from __future__ import annotations

import importlib.util
import io
import re
import struct
import sys
import types
import zipfile
from functools import cache
from pathlib import Path

VBA_PART = "xl/vbaProject.bin"
UDF_WRAPPER_MODULE = "xlwings_udfs"  # the module xlwings' ImportPythonUDFs writes into the workbook
MAX_IDENTIFIER = 255  # VBA's longest identifier

# MS-VBAL 3.3.5.2 (reserved identifiers), plus statement names and the names the generated wrapper
# uses (Application, XLPy, ActiveWorkbook, …), which an argument would shadow. Compared lower-case: VBA
# names are not case-sensitive.
_RESERVED_WORDS = (
    # statement keywords
    "Call Case Close Const Declare DefBool DefByte DefCur DefDate DefDbl DefDec DefInt DefLng DefLngLng",
    "DefLngPtr DefObj DefSng DefStr DefVar Dim Do Else ElseIf End EndIf Enum Erase Event Exit For Friend",
    "Function Get Global GoSub GoTo If Implements Input Let Lock Loop LSet Next On Open Option Print",
    "Private Public Put RaiseEvent ReDim Resume Return RSet Seek Select Set Static Stop Sub Type Unlock",
    "Wend While With Write",
    # marker keywords and operators
    "Any As ByRef ByVal Each In New Shared Until WithEvents Optional ParamArray Preserve Spc Tab Then To",
    "AddressOf And Eqv Imp Is Like Mod Not Or TypeOf Xor",
    # reserved names, special forms, type names, literals, Rem, implementation use, future reserved
    "Abs CBool CByte CCur CDate CDbl CDec CInt CLng CLngLng CLngPtr CSng CStr CVar CVErr Date Debug",
    "DoEvents Fix Int Len LenB Me PSet Scale Sgn String Array Circle InputB LBound UBound",
    "Boolean Byte Currency Decimal Double Integer Long LongLong LongPtr Object Single Variant",
    "True False Nothing Empty Null Rem Attribute LineInput CDecl",
    # statement names outside the list, and what the generated wrapper uses
    "Error Line Name Property Local Step Alias Lib Application ActiveWorkbook ThisWorkbook XLPy Err",
    # the rest of what the wrapper itself uses: its error label, and the vararg array and counter
    "failed argsArray k",
)
VBA_RESERVED = frozenset(word.lower() for line in _RESERVED_WORDS for word in line.split())
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SIGNATURE = re.compile(r"^(Function|Sub) (\w+)\((.*)\)\s*$", re.M)
_CONSTANT = r'Public Const {name} As String = "([^"]*)"'


class VbaError(ValueError):
    """A VBA project that cannot be read."""


# --- reading the VBA of an .xlam ------------------------------------------------------------------------


def decompress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1: a compressed container (signature byte 1, then chunks of at most 4096 bytes)."""
    if not data or data[0] != 1:
        raise VbaError("其中的宏不是有效的压缩数据，加载项文件可能已损坏。")
    out = bytearray()
    at = 1
    while at < len(data):
        header = int.from_bytes(data[at : at + 2], "little")
        chunk_end = min(len(data), at + (header & 0x0FFF) + 3)
        at += 2
        if not header & 0x8000:  # a raw chunk
            out += data[at : at + 4096]
            at += 4096
            continue
        chunk_start = len(out)
        while at < chunk_end:
            flags = data[at]
            at += 1
            for bit in range(8):
                if at >= chunk_end:
                    break
                if not flags >> bit & 1:
                    out.append(data[at])
                    at += 1
                    continue
                token = int.from_bytes(data[at : at + 2], "little")
                at += 2
                bit_count = max((len(out) - chunk_start - 1).bit_length(), 4)
                offset = (token >> (16 - bit_count)) + 1
                for _ in range((token & (0xFFFF >> bit_count)) + 3):
                    out.append(out[-offset])
    return bytes(out)


CHUNK = 4096


def _longest_match(data: bytes, at: int, start: int, end: int, seen: dict[bytes, list[int]]) -> tuple[int, int]:
    """The longest earlier copy (offset back, length) of data[at:] within this chunk, the nearest of
    equal length; (0, 0) when none is 3 bytes or longer."""
    bit_count = max((at - start - 1).bit_length(), 4)
    longest = min((0xFFFF >> bit_count) + 3, end - at)
    best_offset = best_length = 0
    for candidate in reversed(seen.get(data[at : at + 3], ())):
        if at - candidate > 1 << bit_count:  # MS-OVBA 2.4.1.3.19.4: offsets fit in bit_count bits
            break
        length = 0
        while length < longest and data[candidate + length] == data[at + length]:
            length += 1
        if length > best_length:
            best_offset, best_length = at - candidate, length
            if length == longest:
                break
    return (best_offset, best_length) if best_length >= 3 else (0, 0)


def _compress_chunk(data: bytes, start: int) -> bytes:
    """One compressed chunk (MS-OVBA 2.4.1.3.7) of data[start:start + 4096], header included."""
    end = min(start + CHUNK, len(data))
    out, seen, at = bytearray(), {}, start
    while at < end:
        flags, tokens = 0, bytearray()
        for bit in range(8):
            if at >= end:
                break
            offset, length = _longest_match(data, at, start, end, seen)
            if length:
                bit_count = max((at - start - 1).bit_length(), 4)
                token = (offset - 1) << (16 - bit_count) | (length - 3)
                tokens += token.to_bytes(2, "little")
                flags |= 1 << bit
            else:
                length = 1
                tokens.append(data[at])
            for position in range(at, at + length):
                seen.setdefault(data[position : position + 3], []).append(position)
            at += length
        out.append(flags)
        out += tokens
    if len(out) > CHUNK:  # incompressible: a raw chunk (2.4.1.3.10), which holds exactly 4096 bytes
        if end - start < CHUNK:
            raise ValueError("an incompressible last chunk would need padding: not VBA source")
        return (0x3FFF).to_bytes(2, "little") + data[start:end]
    return (0xB000 | (len(out) + 2 - 3)).to_bytes(2, "little") + bytes(out)


def compress(data: bytes) -> bytes:
    """MS-OVBA 2.4.1 compression: a signature byte, then one chunk per 4096 bytes of input."""
    return b"\x01" + b"".join(_compress_chunk(data, start) for start in range(0, len(data), CHUNK))


def _module_offsets(dir_stream: bytes) -> dict[str, int]:
    """Each module's stream name and where its compressed source starts (MS-OVBA 2.3.4.2 records)."""
    offsets, name, at = {}, None, 0
    while at + 6 <= len(dir_stream):
        record, size = struct.unpack_from("<HI", dir_stream, at)
        at += 6
        if record == 0x0009:  # PROJECTVERSION: its "size" is a reserved 4, six bytes follow
            size = 6
        data = dir_stream[at : at + size]
        at += size
        if record == 0x001A:  # MODULESTREAMNAME
            name = data.decode("latin-1")
        elif record == 0x0031 and name is not None:  # MODULEOFFSET
            offsets[name] = struct.unpack("<I", data)[0]
    return offsets


def vba_modules(workbook: Path | bytes, codepage: str = "cp1252") -> dict[str, str]:
    """The source of every VBA module of a macro workbook or add-in, by module name."""
    import olefile

    try:
        with zipfile.ZipFile(io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook) as archive:
            project = archive.read(VBA_PART)
        ole = olefile.OleFileIO(project)
        offsets = _module_offsets(decompress(ole.openstream("VBA/dir").read()))
        return {
            name: decompress(ole.openstream(f"VBA/{name}").read()[offset:]).decode(codepage, "replace")
            for name, offset in offsets.items()
        }
    except (OSError, KeyError, zipfile.BadZipFile, struct.error) as exc:
        raise VbaError("无法读取其中的宏，加载项文件可能已损坏。") from exc


def vba_constant(modules: dict[str, str], name: str) -> str | None:
    """The value of a `Public Const <name> As String` in any module (e.g. xlwings_version; VBA names
    are not case-sensitive)."""
    for source in modules.values():
        found = re.search(_CONSTANT.format(name=re.escape(name)), source, flags=re.IGNORECASE)
        if found:
            return found.group(1)
    return None


# --- the wrappers xlwings generates -----------------------------------------------------------------------


@cache
def _xlwings_udfs() -> types.ModuleType:
    """xlwings.udfs, importable off Windows: it imports pywin32 at the top, so stand-ins for those
    modules are in place during the import only (the generator itself uses none of them)."""
    stand_ins = {}
    if not sys.platform.startswith("win"):
        client = types.ModuleType("win32com.client")
        client.Dispatch = None
        stand_ins = {
            "pythoncom": types.SimpleNamespace(CoInitialize=lambda: None),
            "pywintypes": types.ModuleType("pywintypes"),
            "win32com": types.ModuleType("win32com"),
            "win32com.client": client,
        }
    saved = {name: sys.modules.get(name) for name in (*stand_ins, "xlwings.udfs")}
    sys.modules.update(stand_ins)
    try:
        return importlib.import_module("xlwings.udfs")
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def functions_as_on_windows() -> types.ModuleType:
    """addin/excel/udfs.py executed with xlwings' real @func/@arg decorators (elsewhere they do nothing),
    so each function carries the __xlfunc__ description the generator reads."""
    import xlwings

    real = _xlwings_udfs()
    spec = importlib.util.spec_from_file_location("dtfund_udfs_for_vba", Path(__file__).with_name("udfs.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    saved = xlwings.func, xlwings.arg
    xlwings.func, xlwings.arg = real.xlfunc, real.xlarg
    try:
        spec.loader.exec_module(module)
    finally:
        xlwings.func, xlwings.arg = saved
    return module


def generate_wrappers(module_name: str = "dtfund", addin_name: str = "dtfund.xlam") -> str:
    """The VBA that ImportPythonUDFsToAddin writes for our functions, from xlwings' own generator."""
    text = io.StringIO()
    _xlwings_udfs().generate_vba_wrapper(
        module_name, functions_as_on_windows(), text, types.SimpleNamespace(Name=addin_name)
    )
    return text.getvalue()


# The lines ImportPythonUDFs writes above the wrappers (xlwings/udfs.py, import_udfs).
UDF_MODULE_HEADER = (
    f'Attribute VB_Name = "{UDF_WRAPPER_MODULE}"',
    "'Autogenerated code by xlwings - changes will be lost with next import!",
    """#Const App = "Microsoft Excel" 'Adjust when using outside of Excel""",
)


def udf_module_source(module_name: str = "dtfund", addin_name: str = "dtfund.xlam") -> str:
    """The xlwings_udfs module as ImportPythonUDFs imports it into the add-in: its header lines, then
    the generated wrappers, with VBA's CRLF line ends. Raises VbaNameError for a name VBA would refuse."""
    wrappers = generate_wrappers(module_name, addin_name)
    refuse_bad_names(wrappers)
    return "\r\n".join((*UDF_MODULE_HEADER, wrappers.replace("\r\n", "\n").replace("\n", "\r\n")))


class VbaNameError(VbaError):
    """A function or argument name the add-in's VBA cannot hold."""


def refuse_bad_names(vba: str) -> None:
    problems = name_problems(wrapper_signatures(vba))
    if problems:
        raise VbaNameError("DTFUND_ 函数的名称不能写入加载项的宏：" + "；".join(problems))


def wrapper_signatures(vba: str) -> dict[str, list[str]]:
    """Each generated function's name and its argument names (`Optional x` → x)."""
    signatures = {}
    for _, name, arguments in _SIGNATURE.findall(vba):
        words = [a.strip().split()[-1].removesuffix("()") for a in arguments.split(",") if a.strip()]
        signatures[name] = words
    return signatures


def name_problems(signatures: dict[str, list[str]]) -> list[str]:
    """The function and argument names VBA would refuse, each with why (in Chinese, for doctor)."""
    problems = []
    for function, arguments in signatures.items():
        for name in (function, *arguments):
            where = f"函数 {function}" + ("" if name == function else f" 的参数 {name}")
            if not name.isascii():
                problems.append(f"{where}：含有英文字母、数字和下划线以外的字符（加载项的宏按代码页 1252 保存）")
            elif not _IDENTIFIER.fullmatch(name):
                problems.append(f"{where}：不是 VBA 的合法名称")
            elif len(name) > MAX_IDENTIFIER:
                problems.append(f"{where}：超过 {MAX_IDENTIFIER} 个字符")
            elif name.lower() in VBA_RESERVED:
                problems.append(f"{where}：是 VBA 的保留字")
        if function.lower() in (a.lower() for a in arguments):
            problems.append(f"函数 {function}：参数与函数同名")
    return problems
