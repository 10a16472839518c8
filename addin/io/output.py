"""Writing outputs: atomically (a temporary file renamed over the target), never onto an input, and
for generated workbooks reproducibly (fixed timestamps, so regenerating gives identical bytes)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook

FIXED_ZIP_TIME = (2025, 3, 24, 0, 0, 0)  # the draft measures' date: stamped on every generated part
FIXED_ISO_TIME = "2025-03-24T00:00:00Z"
_CORE_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")


class OutputError(Exception):
    """An output cannot be written: the message says why, in Chinese."""


def refuse_overwriting_inputs(output: Path, inputs: Iterable[Path]) -> None:
    for source in inputs:
        if source.exists() and output.exists() and output.resolve() == Path(source).resolve():
            raise OutputError(f"输出文件 {output} 与输入文件相同；为保护原文件，请换一个输出文件名。")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` to write to; renamed over `path` when the block succeeds,
    removed when it fails."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"输出目录不存在：{folder}")
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as exc:
        raise OutputError(f"无法写入 {path}：{exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside the target, then rename it over the target."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_text_atomically(path: Path, text: str) -> None:
    write_bytes_atomically(path, text.encode("utf-8"))


def reproducible_xlsx(data: bytes) -> bytes:
    """The same workbook with every zip entry and document timestamp fixed."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry in source.infolist():
            content = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                content = _CORE_TIME.sub(rb"\g<1>" + FIXED_ISO_TIME.encode() + rb"\g<2>", content)
            info = zipfile.ZipInfo(entry.filename, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return target.getvalue()


def describe_generated(workbook: Workbook, title: str) -> None:
    """The document properties of a workbook we generate: its title, dtfund as author, and the fixed
    date every generated part carries (so that regenerating gives identical bytes)."""
    workbook.properties.creator = "dtfund"
    workbook.properties.title = title
    workbook.properties.created = dt.datetime(*FIXED_ZIP_TIME)


def save_workbook(
    workbook: Workbook,
    path: Path,
    reproducible: bool = True,
    dynamic_arrays: dict[str, list[str]] | None = None,
) -> None:
    """Save an openpyxl workbook atomically, with fixed timestamps unless told otherwise, marking the
    array formulas at `dynamic_arrays` (sheet -> cells) as dynamic so that Excel spills them."""
    from addin.io.dynamic_arrays import mark_dynamic_arrays

    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    if dynamic_arrays:
        data = mark_dynamic_arrays(data, dynamic_arrays)
    write_bytes_atomically(Path(path), reproducible_xlsx(data) if reproducible else data)
