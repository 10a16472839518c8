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


def _pieces(path: Path, size: int, opener) -> list[int]:  # noqa: ANN001 - open_member or ZipFile.open
    with zipfile.ZipFile(path) as archive, opener(archive, MEMBER) as stream:
        return [len(piece) for piece in iter(lambda: stream.read(size), b"")]


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


@pytest.mark.parametrize("level", [0, 1, 9])
def test_every_piece_but_the_last_is_the_size_asked_for(
    level: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As zipfile's reader: the callers' searches look back into the previous piece and a little ahead
    into the next, and a piece of a few bytes would hide a cell's tag from them."""
    monkeypatch.setattr(member_stream, "COMPRESSED_READ_BYTES", 4096)
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        archive.writestr(MEMBER, _xml(30_000))
    for size in (1000, 65_536, 1024**2):
        assert _pieces(path, size, open_member) == _pieces(path, size, zipfile.ZipFile.open)


def _hand_built(path: Path, deflated: bytes, crc: int, size: int, name: bytes = MEMBER.encode()) -> Path:
    """A zip of one deflated part whose directory says what the test wants (its local header names it
    `name`, with the UTF-8 flag)."""
    header = struct.pack(
        "<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, 0x800, 8, 0, 0x21, crc, len(deflated), size, len(name), 0
    )
    local = header + name + deflated
    directory = (
        struct.pack(
            "<4s4B4HL2L5H2L",
            b"PK\x01\x02",
            20,
            0,
            20,
            0,
            0x800,
            8,
            0,
            0x21,
            crc,
            len(deflated),
            size,
            len(MEMBER.encode()),
            0,
            0,
            0,
            0,
            0,
            0,
        )
        + MEMBER.encode()
    )
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(local), 0)
    path.write_bytes(local + directory + end)
    return path


def _deflated(content: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(content) + compressor.flush()


def test_nothing_after_the_end_of_the_deflated_stream_is_inflated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A directory that says the part is larger than its stream, with junk after the stream: refused
    once the stream ends, without reading the junk (inflating it would cost time and memory that grow
    with its square)."""
    monkeypatch.setattr(member_stream, "COMPRESSED_READ_BYTES", 4096)
    content = _xml(300)
    junk = bytes(range(256)) * 40_000  # 10 MB
    path = _hand_built(
        tmp_path / "junk.xlsx", _deflated(content) + junk, zlib.crc32(content), len(content) + 10
    )
    with zipfile.ZipFile(path) as archive, open_member(archive, MEMBER) as stream:
        with pytest.raises(zipfile.BadZipFile, match="ends early"):
            stream.read(4 * 1024**2)
        assert stream._source.tell() < len(content) + 2 * 4096  # noqa: SLF001 - the bytes read from the file


def test_an_empty_part_with_a_wrong_checksum_is_refused(tmp_path: Path) -> None:
    path = _hand_built(tmp_path / "empty.xlsx", _deflated(b""), 1234, 0)
    assert _refused(path).startswith("Bad CRC-32")


def test_a_local_name_that_is_not_text_is_refused_as_a_damaged_zip(tmp_path: Path) -> None:
    content = _xml(10)
    name = b"xl/worksheets/sheet\xff.xml"
    path = _hand_built(tmp_path / "name.xlsx", _deflated(content), zlib.crc32(content), len(content), name)
    assert "differ" in _refused(path)


def test_a_file_replaced_since_the_archive_was_opened_is_read_by_zipfile(tmp_path: Path) -> None:
    """Opened again by its name, the file might be another one: then zipfile reads the part from the
    file it holds open."""
    content = _xml(100)
    path = _zip(tmp_path / "book.xlsx", content)
    with zipfile.ZipFile(path) as archive:
        path.rename(tmp_path / "moved.xlsx")
        _zip(path, _xml(50))
        stream = open_member(archive, MEMBER)
        assert isinstance(stream, zipfile.ZipExtFile)
        with stream:
            assert stream.read() == content


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
