"""Write a compound file (MS-CFB, version 3: 512-byte sectors) from a tree of streams, byte for byte the
same each time: no timestamps, the directory in a fixed order, free space filled with zeros.

olefile reads compound files and rewrites a stream in place, but cannot add one; the add-in's
vbaProject.bin needs new streams, so this small writer builds the whole file. Layout, in sectors:
FAT, directory, mini FAT, mini stream (the streams under 4096 bytes, in 64-byte mini sectors, held by
the root entry), then the larger streams.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from olefile import OleFileIO

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
HEADER_FAT_SLOTS = 109  # FAT sector numbers the header holds; more would need DIFAT sectors
ENTRIES_PER_SECTOR = SECTOR // 4
DIR_ENTRY = 128
MAX_NAME = 31  # characters, without the terminating null

FREESECT, ENDOFCHAIN, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
STORAGE, STREAM, ROOT = 1, 2, 5
RED, BLACK = 0, 1
SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")


@dataclass
class Storage:
    """A storage: its CLSID (16 bytes) and children by name (bytes for a stream, Storage for a storage)."""

    clsid: bytes = bytes(16)
    children: dict[str, bytes | Storage] = field(default_factory=dict)


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    clsid: bytes = bytes(16)
    children: list[int] = field(default_factory=list)
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    color: int = BLACK
    start: int = ENDOFCHAIN
    size: int = 0


def _sort_key(name: str) -> tuple[int, str]:
    """MS-CFB 2.6.4: shorter names first, then by upper-cased characters."""
    return len(name), name.upper()


def _flatten(root: Storage) -> list[_Entry]:
    """Directory entries in a fixed order: the root, then each storage's children breadth first, each
    storage's children sorted as the tree compares them."""
    entries = [_Entry("Root Entry", ROOT, clsid=root.clsid)]
    pending = [(0, root)]
    while pending:
        parent, storage = pending.pop(0)
        for name in sorted(storage.children, key=_sort_key):
            if not 0 < len(name) <= MAX_NAME or any(c in name for c in "/\\:!"):
                raise ValueError(f"invalid compound file name {name!r}")
            item = storage.children[name]
            entries[parent].children.append(len(entries))
            if isinstance(item, Storage):
                entries.append(_Entry(name, STORAGE, clsid=item.clsid, start=0))
                pending.append((len(entries) - 1, item))
            else:
                entries.append(_Entry(name, STREAM, data=item, size=len(item)))
    return entries


def _link_tree(entries: list[_Entry], ids: list[int], depth: int, red_from: int) -> int:
    """A balanced binary search tree of these (sorted) siblings, split at the median; its root. The
    levels above `red_from` are full and black; nodes on the last, partly filled level are red leaves.
    So every path has the same number of black nodes and no red node has a red child (MS-CFB 2.6.4)."""
    if not ids:
        return NOSTREAM
    middle = len(ids) // 2
    node = entries[ids[middle]]
    node.color = RED if depth >= red_from else BLACK
    node.left = _link_tree(entries, ids[:middle], depth + 1, red_from)
    node.right = _link_tree(entries, ids[middle + 1 :], depth + 1, red_from)
    return ids[middle]


def _chain(fat: list[int], first: int, count: int) -> None:
    for n in range(first, first + count):
        fat[n] = n + 1 if n + 1 < first + count else ENDOFCHAIN


def _pad(data: bytes, unit: int) -> bytes:
    return data + bytes(-len(data) % unit)


def _sectors(size: int, unit: int = SECTOR) -> int:
    return -(-size // unit)


def _directory_entry(entry: _Entry) -> bytes:
    name = (entry.name + "\0").encode("utf-16-le")
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name,
        len(name),
        entry.kind,
        entry.color,
        entry.left,
        entry.right,
        entry.child,
        entry.clsid,
        0,  # state bits
        0,  # creation time
        0,  # modified time
        entry.start,
        entry.size,
    )


EMPTY_ENTRY = struct.pack(
    "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, bytes(16), 0, 0, 0, 0, 0
)


def _link_trees(entries: list[_Entry]) -> None:
    """Each storage's children as its red-black tree (2.6.4)."""
    for entry in entries:
        if entry.children:
            full_levels = (len(entry.children) + 1).bit_length() - 1
            entry.child = _link_tree(entries, entry.children, 0, full_levels)


def _mini_stream(small: list[_Entry]) -> tuple[list[int], bytes]:
    """The mini FAT and the mini stream holding these streams (each entry's start set)."""
    mini_fat: list[int] = []
    mini_stream = b""
    for entry in small:
        entry.start = len(mini_fat)
        count = _sectors(entry.size, MINI_SECTOR)
        mini_fat += [FREESECT] * count
        _chain(mini_fat, entry.start, count)
        mini_stream += _pad(entry.data, MINI_SECTOR)
    return mini_fat, mini_stream


def _fat_sectors(data_sectors: int) -> int:
    """How many FAT sectors map themselves and the data sectors."""
    count = 1
    while count * ENTRIES_PER_SECTOR < count + data_sectors:
        count += 1
    if count > HEADER_FAT_SLOTS:
        raise ValueError("compound file too large for a header-only FAT")
    return count


def write_compound_file(root: Storage) -> bytes:
    """The compound file holding this tree."""
    entries = _flatten(root)
    _link_trees(entries)
    streams = [e for e in entries if e.kind == STREAM]
    large = [e for e in streams if e.size >= MINI_CUTOFF]
    mini_fat, mini_stream = _mini_stream([e for e in streams if 0 < e.size < MINI_CUTOFF])
    entries[0].size = len(mini_stream)

    dir_count = _sectors(len(entries) * DIR_ENTRY)
    mini_fat_count = _sectors(len(mini_fat) * 4)
    mini_stream_count = _sectors(len(mini_stream))
    fat_count = _fat_sectors(dir_count + mini_fat_count + mini_stream_count + sum(_sectors(e.size) for e in large))

    fat = [FREESECT] * (fat_count * ENTRIES_PER_SECTOR)
    fat[:fat_count] = [FATSECT] * fat_count
    at = fat_count
    first_dir = at
    _chain(fat, at, dir_count)
    at += dir_count
    first_mini_fat = at if mini_fat_count else ENDOFCHAIN
    _chain(fat, at, mini_fat_count)
    at += mini_fat_count
    entries[0].start = at if mini_stream_count else ENDOFCHAIN
    _chain(fat, at, mini_stream_count)
    at += mini_stream_count
    body = b""
    for entry in large:
        entry.start = at
        count = _sectors(entry.size)
        _chain(fat, at, count)
        at += count
        body += _pad(entry.data, SECTOR)

    directory = b"".join(map(_directory_entry, entries))
    directory += EMPTY_ENTRY * (dir_count * SECTOR // DIR_ENTRY - len(entries))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        SIGNATURE,
        bytes(16),
        0x003E,  # minor version
        0x0003,  # major version: 512-byte sectors
        0xFFFE,  # byte order: little-endian
        9,  # sector shift: 2**9
        6,  # mini sector shift: 2**6
        bytes(6),
        0,  # directory sectors: always 0 in version 3
        fat_count,
        first_dir,
        0,  # transaction signature
        MINI_CUTOFF,
        first_mini_fat,
        mini_fat_count,
        ENDOFCHAIN,  # no DIFAT sectors
        0,
    )
    header += struct.pack(f"<{HEADER_FAT_SLOTS}I", *range(fat_count), *[FREESECT] * (HEADER_FAT_SLOTS - fat_count))
    mini_fat += [FREESECT] * (mini_fat_count * ENTRIES_PER_SECTOR - len(mini_fat))
    return b"".join(
        (
            header,
            struct.pack(f"<{len(fat)}I", *fat),
            directory,
            struct.pack(f"<{len(mini_fat)}I", *mini_fat),
            _pad(mini_stream, SECTOR),
            body,
        )
    )


def read_tree(ole: OleFileIO) -> Storage:
    """The streams and storages of a compound file opened with olefile, as a tree to write back."""
    root = Storage(clsid=_clsid(ole.root.clsid))
    for path in ole.listdir(streams=True, storages=True):
        parent = root
        for name in path[:-1]:
            child = parent.children[name]
            assert isinstance(child, Storage)
            parent = child
        joined = "/".join(path)
        if ole.get_type(joined) == STORAGE:
            parent.children[path[-1]] = Storage(clsid=_clsid(ole.getclsid(joined)))
        else:
            parent.children[path[-1]] = ole.openstream(joined).read()
    return root


def _clsid(text: str) -> bytes:
    """olefile's CLSID text ('' when null) as the 16 bytes of a directory entry."""
    return uuid.UUID(text).bytes_le if text else bytes(16)
