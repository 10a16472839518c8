"""addin.io.member_stream: a part inflated by zlib-ng gives zipfile's bytes, and a damaged part is refused
as zipfile refuses it."""

from __future__ import annotations

import random
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from addin.io import member_stream
from addin.io.member_stream import open_member

MEMBER = "xl/worksheets/sheet1.xml"


def _xml(rows: int) -> bytes:
    """Sheet-like XML that compresses as a sheet does, with some noise so that it does not inflate in
    one go."""
    rng = random.Random(rows)
    cells = (
        f'<row r="{n}"><c r="A{n}" t="s"><v>{rng.randrange(10**6)}</v></c><c r="B{n}"><v>{rng.random()}</v></c></row>'
        for n in range(1, rows + 1)
    )
    return b"<worksheet><sheetData>" + "".join(cells).encode() + b"</sheetData></worksheet>"


def _zip(path: Path, content: bytes, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr(MEMBER, content)
    return path


def _read_all(path: Path, size: int) -> bytes:
    with zipfile.ZipFile(path) as archive, open_member(archive, MEMBER) as stream:
        if size < 0:
            whole = stream.read()
            assert stream.read() == b""
            return whole
        pieces = []
        while piece := stream.read(size):
            assert len(piece) <= size
            pieces.append(piece)
        assert stream.read(size) == b""
        return b"".join(pieces)


@pytest.mark.parametrize("size", [1000, 65_536, 4 * 1024**2, -1])
def test_a_part_reads_as_zipfile_reads_it(size: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(member_stream, "COMPRESSED_READ_BYTES", 4096)  # many reads of the file
    content = _xml(20_000)
    path = _zip(tmp_path / "book.xlsx", content)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo(MEMBER).compress_size > 10 * 4096
        assert type(open_member(archive, MEMBER)).__name__ == "_Inflating"
    assert _read_all(path, size) == content


def test_a_stored_part_is_read_by_zipfile(tmp_path: Path) -> None:
    content = _xml(100)
    path = _zip(tmp_path / "stored.xlsx", content, zipfile.ZIP_STORED)
    with zipfile.ZipFile(path) as archive:
        assert isinstance(open_member(archive, MEMBER), zipfile.ZipExtFile)
    assert _read_all(path, 1000) == content


def _local_header_offset(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return archive.getinfo(MEMBER).header_offset


def _data_offset(path: Path) -> int:
    data = path.read_bytes()
    at = _local_header_offset(path)
    name_length, extra_length = struct.unpack("<HH", data[at + 26 : at + 30])
    return at + 30 + name_length + extra_length


def _damaged(path: Path, at: int, replacement: bytes) -> Path:
    data = bytearray(path.read_bytes())
    data[at : at + len(replacement)] = replacement
    path.write_bytes(bytes(data))
    return path


def _refused(path: Path) -> str:
    with pytest.raises(zipfile.BadZipFile) as refusal:
        _read_all(path, 65_536)
    return str(refusal.value)


def _refused_like_zipfile(path: Path) -> str:
    with zipfile.ZipFile(path) as archive, pytest.raises((zipfile.BadZipFile, zlib.error)):
        archive.read(MEMBER)
    return _refused(path)


def test_a_wrong_checksum_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "book.xlsx", _xml(2000))
    with zipfile.ZipFile(path) as archive:
        crc = archive.getinfo(MEMBER).CRC
    data = path.read_bytes()
    assert data.count(struct.pack("<L", crc)) == 2  # the local header's and the directory's
    path.write_bytes(data.replace(struct.pack("<L", crc), struct.pack("<L", crc ^ 1)))
    assert "Bad CRC-32" in _refused_like_zipfile(path)


def test_damaged_compressed_bytes_are_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "book.xlsx", _xml(2000))
    _damaged(path, _data_offset(path) + 200, b"\xff" * 100)
    _refused_like_zipfile(path)


def test_compressed_bytes_that_end_before_the_size_the_directory_says_are_refused(tmp_path: Path) -> None:
    """(zipfile hands on the shorter part; a part is as large as its directory says, or refused.)"""
    path = _zip(tmp_path / "book.xlsx", _xml(2000))
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(MEMBER)
    sizes = struct.pack("<LL", info.compress_size, info.file_size)
    data = path.read_bytes()
    assert data.count(sizes) == 2  # the local header's and the directory's
    path.write_bytes(data.replace(sizes, struct.pack("<LL", info.compress_size, info.file_size + 10)))
    assert "ends early" in _refused(path)


def test_a_local_header_naming_another_part_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path / "book.xlsx", _xml(100))
    name_at = _local_header_offset(path) + 30
    _damaged(path, name_at, b"yl")
    assert "differ" in _refused_like_zipfile(path)
