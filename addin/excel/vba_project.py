"""Add and replace VBA modules in a vbaProject.bin without Excel (MS-OVBA).

A module is three things: its source, compressed (MS-OVBA 2.4.1), in a stream of the VBA storage; its
records in the `dir` stream (2.3.4.2.3); and a line in the PROJECT stream (2.3.1), its name also in
PROJECTwm (2.3.3). The project keeps a `_VBA_PROJECT` stream of version 0xFFFF (7 bytes, no compiled
code), so Excel compiles every module from its source when it loads the add-in; a module stream holding
source only has its MODULEOFFSET at 0.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from addin.excel.cfb import Storage, read_tree, write_compound_file
from addin.excel.vba import VbaError, compress, decompress

PROJECT_VERSION = 0x0009  # its size field is a reserved 4, and six bytes follow
PROJECT_MODULES = 0x000F
MODULE_NAME = 0x0019
MODULE_OFFSET = 0x0031
MODULE_TERMINATOR = 0x002B
DIR_TERMINATOR = 0x0010
PROCEDURAL_MODULE = 0x0021
SOURCE_ONLY_VBA_PROJECT = b"\xcc\x61\xff\xff\x00\x01\x00"  # 2.3.4.1: version 0xFFFF, no performance cache


@dataclass
class Record:
    id: int
    data: bytes


def parse_dir(stream: bytes) -> list[Record]:
    """The records of a decompressed dir stream, in order."""
    records, at = [], 0
    while at + 6 <= len(stream):
        record, size = struct.unpack_from("<HI", stream, at)
        at += 6
        if record == PROJECT_VERSION:
            size = 6
        records.append(Record(record, stream[at : at + size]))
        at += size
    return records


def serialize_dir(records: list[Record]) -> bytes:
    return b"".join(
        struct.pack("<HI", r.id, 4 if r.id == PROJECT_VERSION else len(r.data)) + r.data for r in records
    )


def _module_records(name: str) -> list[Record]:
    """A standard module's records (2.3.4.2.3.2), shaped as those of the xlwings module: names in
    code page 1252 and UTF-16, no doc string, source at offset 0, cookie 0xFFFF."""
    ansi, unicode = name.encode("cp1252"), name.encode("utf-16-le")
    return [
        Record(MODULE_NAME, ansi),
        Record(0x0047, unicode),
        Record(0x001A, ansi),
        Record(0x0032, unicode),
        Record(0x001C, b""),
        Record(0x0048, b""),
        Record(MODULE_OFFSET, struct.pack("<I", 0)),
        Record(0x001E, struct.pack("<I", 0)),
        Record(0x002C, struct.pack("<H", 0xFFFF)),
        Record(PROCEDURAL_MODULE, b""),
        Record(MODULE_TERMINATOR, struct.pack("<I", 0)),
    ]


class VbaProject:
    """A vbaProject.bin being edited: its compound-file tree and parsed dir stream."""

    def __init__(self, data: bytes) -> None:
        import olefile

        try:
            self.tree = read_tree(olefile.OleFileIO(io.BytesIO(data)))
            self.vba = self.tree.children["VBA"]
            assert isinstance(self.vba, Storage)
            self.records = parse_dir(decompress(self._stream("dir")))
        except (OSError, KeyError, AssertionError, struct.error) as exc:
            raise VbaError("无法读取其中的宏，加载项文件可能已损坏。") from exc
        if self._stream("_VBA_PROJECT") != SOURCE_ONLY_VBA_PROJECT:
            raise VbaError("加载项的宏含有已编译的代码，无法在 Excel 以外修改。")

    def _stream(self, name: str) -> bytes:
        data = self.vba.children[name]
        assert isinstance(data, bytes)
        return data

    def module_names(self) -> list[str]:
        return [r.data.decode("cp1252") for r in self.records if r.id == MODULE_NAME]

    def _module_record(self, name: str, record_id: int) -> Record:
        current = None
        for record in self.records:
            if record.id == MODULE_NAME:
                current = record.data.decode("cp1252")
            elif record.id == record_id and current == name:
                return record
        raise KeyError(name)

    def set_source(self, name: str, source: str) -> None:
        """Replace an existing module's source (and drop its compiled cache)."""
        self._module_record(name, MODULE_OFFSET).data = struct.pack("<I", 0)
        self.vba.children[name] = compress(source.encode("cp1252"))

    def add_module(self, name: str, source: str) -> None:
        """Add a standard module after the others (the project must not have it yet)."""
        if name.lower() in (n.lower() for n in self.module_names()):
            raise ValueError(f"the project already has a module {name}")
        count = next(r for r in self.records if r.id == PROJECT_MODULES)
        count.data = struct.pack("<H", struct.unpack("<H", count.data)[0] + 1)
        end = next(i for i, r in enumerate(self.records) if r.id == DIR_TERMINATOR)
        self.records[end:end] = _module_records(name)
        self.vba.children[name] = compress(source.encode("cp1252"))
        self._add_project_lines(name)

    def _add_project_lines(self, name: str) -> None:
        project = self.tree.children["PROJECT"]
        assert isinstance(project, bytes)
        lines = project.decode("cp1252").split("\r\n")
        last_module = max(i for i, line in enumerate(lines) if line.startswith(("Module=", "Document=", "Class=")))
        lines.insert(last_module + 1, f"Module={name}")
        if "[Workspace]" in lines:
            end = next((i for i in range(lines.index("[Workspace]") + 1, len(lines)) if not lines[i]), len(lines))
            lines.insert(end, f"{name}=0, 0, 0, 0, C")
        self.tree.children["PROJECT"] = "\r\n".join(lines).encode("cp1252")
        names = self.tree.children.get("PROJECTwm")
        if isinstance(names, bytes):  # pairs of a cp1252 and a UTF-16 name, ended by two zero bytes
            entry = name.encode("cp1252") + b"\0" + name.encode("utf-16-le") + b"\0\0"
            self.tree.children["PROJECTwm"] = names.removesuffix(b"\0\0") + entry + b"\0\0"

    def to_bytes(self) -> bytes:
        self.vba.children["dir"] = compress(serialize_dir(self.records))
        return write_compound_file(self.tree)
