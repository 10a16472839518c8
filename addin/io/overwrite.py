"""Whether an output may replace the file already at its path: never a person's work without being told.

An output that does not exist yet is written. One that exists is replaced when dtfund itself made it and
nobody has changed it since (`is_own_output`), or when the command was given `--force` (`-f`). A
template written over a workbook holding entered data is refused even with `--force`, unless
`--overwrite-data` is given (the caller says what the workbook holds: addin.check.entered_data).

How dtfund recognises its own outputs, by kind:
- a workbook (.xlsx, .xlsm; the add-in .xlam is shipped unmarked, so `addin build` over it needs --force): its zip archive comment, `dtfund-output:` and a fingerprint of every
  entry's name, size and CRC-32 (read from the zip's directory, not its contents). Excel, WPS and
  LibreOffice rewrite the whole archive when they save and drop the comment, so a workbook a person
  saved is no longer recognised;
- JSON: its first key, `"generator": "dtfund"` (addin.reports.check_report.to_json);
- HTML: `<meta name="generator" content="dtfund">` (addin/reports/html_templates/base.html.j2);
- PDF: the document information's `/Creator (dtfund)` (addin.reports.submission_form), ReportLab as its
  producer and one end of file: a signing or annotating tool that adds an incremental update (a second
  `%%EOF`) or saves the document again makes it a person's (a signed 报送表 is never replaced untold);
- Markdown: the rule catalogue's line saying it was made by `dtfund rules --markdown` (reports.catalogue).
Only the workbook's mark is lost when a person edits the file; the others are text a person rarely edits
by hand, and dtfund writes them whole from its input each time."""

from __future__ import annotations

import hashlib
import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from addin.io.output import STDOUT, OutputError

GENERATOR = "dtfund"
ZIP_SUFFIXES = (".xlsx", ".xlsm")
ZIP_MARK = b"dtfund-output:"
JSON_MARK = b'"generator": "dtfund"'
HTML_MARK = b'<meta name="generator" content="dtfund">'
PDF_MARK = b"/Creator (dtfund"
PDF_PRODUCER = b"/Producer (ReportLab PDF Library"  # what writes the 报送表
PDF_END = b"%%EOF"
MARKDOWN_MARK = "由 `dtfund rules --markdown".encode()  # the rule catalogue's line saying how it was made
READ_HEAD = 4096  # the JSON, HTML and Markdown marks stand in the first bytes
PDF_READ_LIMIT = 64 * 1024 * 1024  # a 报送表 of 100,000 rows is under this; a larger PDF is not ours

FORCE_HINT = "确需替换请加 --force（或 -f），或换一个文件名"


def _fingerprint(archive: zipfile.ZipFile) -> bytes:
    digest = hashlib.sha256()
    for entry in archive.infolist():
        digest.update(f"{entry.filename}\0{entry.file_size}\0{entry.CRC}\n".encode())
    return ZIP_MARK + digest.hexdigest().encode("ascii")


def stamp_workbook(path: Path) -> None:
    """Mark a workbook just written at `path` (before it is renamed over its target) as dtfund's own."""
    with zipfile.ZipFile(path, "a") as archive:
        archive.comment = _fingerprint(archive)


def is_own_output(path: Path) -> bool:
    """Whether the file at `path` is an output dtfund made, unchanged since (see the module's note)."""
    suffix = Path(path).suffix.lower()
    try:
        if suffix in ZIP_SUFFIXES:
            with zipfile.ZipFile(path) as archive:
                return archive.comment == _fingerprint(archive)
        with open(path, "rb") as file:
            if suffix == ".pdf":
                if os.fstat(file.fileno()).st_size > PDF_READ_LIMIT:
                    return False
                return unchanged_pdf(file.read())
            head = file.read(READ_HEAD)
    except (OSError, zipfile.BadZipFile, ValueError):
        return False
    marks = {".json": JSON_MARK, ".html": HTML_MARK, ".htm": HTML_MARK, ".md": MARKDOWN_MARK}
    mark = marks.get(suffix)
    if mark is None:
        return False
    return mark in head


def unchanged_pdf(data: bytes) -> bool:
    """A PDF as dtfund wrote it: its mark, ReportLab's producer line and a single end of file."""
    return PDF_MARK in data and PDF_PRODUCER in data and data.count(PDF_END) == 1


def _exists(path: Path) -> bool:
    try:
        return os.path.lexists(path) and Path(path).is_file()
    except OSError:
        return False


def refuse_replacing_work(outputs: Mapping[str, Path | None], force: bool) -> None:
    """Refuse, before any work, an output (option name -> path) that would replace a file dtfund did not
    make, or changed since, unless `force`."""
    if force:
        return
    for option, path in outputs.items():
        if path is None or str(path) == STDOUT or not _exists(Path(path)):
            continue
        if not is_own_output(Path(path)):
            raise OutputError(
                f"{option} 的文件 {path} 已存在，且不是 dtfund 生成的（或生成后被打开保存、修改过）。"
                f"为免覆盖您的工作，没有写入。{FORCE_HINT}。"
            )


def refuse_replacing_data(path: Path, overwrite_data: bool, entered: Callable[[Path], str | None]) -> None:
    """Refuse a template over a workbook holding entered data (`entered` says what it holds, or None),
    even with --force, unless `overwrite_data`."""
    if overwrite_data or not _exists(Path(path)):
        return
    holds = entered(Path(path))
    if holds:
        raise OutputError(
            f"{path} 中已填写了数据（{holds}）。生成模板会用空白模板替换它，填写的数据将全部丢失，因此没有写入"
            "（--force 也不替换填写了数据的工作簿）。要生成新模板请换一个文件名；确需丢弃这些数据，请加 --overwrite-data。"
        )
