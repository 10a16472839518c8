"""Which workbooks a command was given: files named, and the workbooks in folders named."""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from addin.io.output import WORK_PREFIX
from addin.io.overwrite import HTML_MARK, JSON_MARK, PDF_MARK, PDF_READ_LIMIT, is_own_output
from addin.io.workbook_reader import InputError, require_regular_file

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """The workbooks named, and those in the folders named (not Excel's ~$ lock files), in order."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.iterdir()
                    if p.suffix.lower() in WORKBOOK_SUFFIXES and not p.name.startswith(("~$", "."))
                )
            )
        else:
            found.append(path)
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


@dataclass(frozen=True)
class Skipped:
    """A file in a folder searched that is not consolidated, and why (Chinese, for the clerk); the rule
    it is reported under (an Excel lock file is a warning about the workbook open in Excel);
    `own_output`: one of dtfund's own outputs (a summary written into the folder by an earlier run)."""

    path: Path
    reason: str
    remedy: str
    rule: str = "FILE_SKIPPED"
    own_output: bool = False


# What marks dtfund's own consolidation outputs, so that a re-run over a folder holding them leaves
# them out: the summary workbook's title and author (its document properties), the HTML report's title,
# and how the JSON result begins.
SUMMARY_AUTHOR = "dtfund"
_SUMMARY = " 汇总"
_REPORT = "报告"


def summary_title(fund: str) -> str:
    """The summary workbook's title: the fund's name and 汇总."""
    return f"{fund}{_SUMMARY}"


def summary_html_title(fund: str) -> str:
    return f"{summary_title(fund)}{_REPORT}"


_TITLE = re.compile(rf"<dc:title>[^<]*{_SUMMARY}</dc:title>".encode())
_HTML_TITLE = re.compile(rf"<title>[^<]*{_SUMMARY}{_REPORT}</title>".encode())
_SUMMARY_JSON_POLICY = b'\n  "policy": {'  # after the "generator" key (addin.io.overwrite)
_SUMMARY_JSON_KEYS = (b'\n  "plan": ', b'\n  "complete": ')
_SNIFFED_BYTES = 4096
_FIRST_SHEET = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"')


def _read_head(archive: zipfile.ZipFile, member: str) -> bytes:
    """The first bytes of a part (b"" when there is none): a sniff never inflates a whole part."""
    try:
        with archive.open(member) as stream:
            return stream.read(_SNIFFED_BYTES * 4)
    except KeyError:
        return b""


# The first sheet of an annotated copy (check --annotate, the ribbon's marking; addin.excel.markup):
# a copy of a submission, never one itself.
RESULTS_SHEET = "校验结果"
OUTPUT_SUFFIXES = (".json", ".html", ".htm", ".pdf")  # what dtfund writes beside its workbooks
LOCK_PREFIX = "~$"
OLD_EXCEL = (".xls", ".et", ".xlsb")


def search_inputs(paths: Iterable[Path]) -> tuple[list[Path], list[Skipped]]:
    """The workbooks named and those in the folders named and their sub-folders, in order; and every
    other file found in those folders, with the reason it is skipped."""
    found: list[Path] = []
    skipped: list[Skipped] = []
    for path in map(Path, paths):
        if not path.is_dir():
            if path.name.startswith(LOCK_PREFIX):  # a shell's *.xlsx names Excel's lock files too
                skipped.append(lock_file(path))
            else:
                found.append(path)
            continue
        for file in _files_under(path, skipped):
            reason = skip_reason(file)
            if file.name.startswith(LOCK_PREFIX):
                skipped.append(lock_file(file))
                continue
            may_be_ours = reason is None or file.suffix.lower() in OUTPUT_SUFFIXES
            output = own_output(file) if may_be_ours else None
            if output is not None:
                skipped.append(
                    Skipped(
                        file,
                        f"{file.name} 是 dtfund 以前生成的{output}，不是要汇总的工作簿，没有汇总。",
                        "",
                        own_output=True,
                    )
                )
            elif reason is None:
                found.append(file)
            else:
                skipped.append(Skipped(file, *reason))
    unique: dict[Path, Path] = {}
    for path in found:
        unique.setdefault(path.resolve(), path)
    return list(unique.values()), skipped


def _files_under(folder: Path, skipped: list[Skipped]) -> list[Path]:
    """Every file under `folder`, sub-folders included, sorted by path; a folder that cannot be
    listed is itself skipped."""
    files: list[Path] = []

    def unlisted(error: OSError) -> None:
        where = Path(error.filename or folder)
        skipped.append(
            Skipped(where, f"无法打开文件夹 {where}（没有读取权限）。", "请检查该文件夹的访问权限。")
        )

    for root, folders, names in os.walk(folder, onerror=unlisted):
        folders[:] = sorted(f for f in folders if not f.startswith(WORK_PREFIX))  # writes, not submissions
        files.extend(Path(root) / name for name in names)
    return sorted(files)


def _regular(file: Path) -> bool:
    """A regular file, or a symbolic link to one: never a pipe (opening it waits forever) or a device
    (the reader's own test, addin.io.workbook_reader.require_regular_file)."""
    try:
        require_regular_file(file)
    except InputError:
        return False
    return True


def open_workbook(lock: Path) -> Path | None:
    """The workbook an Excel lock file `~$name` stands beside: `name` (Excel), or the one whose name ends
    in `name` (Word's way: the first two characters of a long name replaced by ~$); None if neither is."""
    rest = lock.name[len(LOCK_PREFIX) :]
    exact = lock.with_name(rest)
    if exact.is_file():
        return exact
    try:
        near = sorted(p for p in lock.parent.iterdir() if p.name.endswith(rest) and p != lock and p.is_file())
    except OSError:
        return None
    return near[0] if len(near) == 1 else None


def lock_file(lock: Path) -> Skipped:
    """Excel's lock file: the workbook beside it is open in Excel, perhaps with changes not yet saved.
    A warning naming that workbook, which is still consolidated as saved on disk."""
    workbook = open_workbook(lock)
    if workbook is None:
        return Skipped(
            lock,
            f"{lock.name} 是 Excel 打开工作簿时生成的锁定文件，对应的工作簿不在此文件夹中，没有汇总。",
            "如果工作簿已关闭，可删除此锁定文件；否则请在 Excel 中保存并关闭工作簿后再汇总。",
            "FILE_OPEN_IN_EXCEL",
        )
    return Skipped(
        lock,
        f"{workbook.name} 正在 Excel 中打开（文件夹中有它的锁定文件 {lock.name}），"
        "本次按磁盘上已保存的内容汇总，尚未保存的修改不在其中。",
        f"请在 Excel 中保存并关闭 {workbook.name} 后再汇总；锁定文件会随之消失。",
        "FILE_OPEN_IN_EXCEL",
    )


def own_output(file: Path) -> str | None:
    """What dtfund output the file is (汇总表, HTML 汇总报告, JSON 汇总结果, a check's 报送表 PDF, JSON
    or HTML report: a division may send these with its workbook), or None."""
    suffix = file.suffix.lower()
    try:
        if suffix in WORKBOOK_SUFFIXES:
            with zipfile.ZipFile(file) as archive:
                core = archive.read("docProps/core.xml")[:_SNIFFED_BYTES]
                sheets = _read_head(archive, "xl/workbook.xml")
            ours = _TITLE.search(core) and f"<dc:creator>{SUMMARY_AUTHOR}</dc:creator>".encode() in core
            if ours:
                return "汇总表"
            first = _FIRST_SHEET.search(sheets)
            annotated = first and first.group(1).decode("utf-8", "replace") == RESULTS_SHEET
            # (the ribbon's 校验 adds the same sheet to the clerk's own workbook, which Excel then
            # saves: only a copy as dtfund wrote it, its fingerprint whole, is taken for one)
            return "标注副本" if annotated and is_own_output(file) else None
        if suffix not in OUTPUT_SUFFIXES:
            return None
        with open(file, "rb") as stream:
            if suffix == ".pdf":  # (the mark is in the document information, near the end)
                too_large = os.fstat(stream.fileno()).st_size > PDF_READ_LIMIT
                return None if too_large or PDF_MARK not in stream.read() else "报送表 PDF"
            head = stream.read(_SNIFFED_BYTES)
    except (OSError, KeyError, zipfile.BadZipFile):
        return None
    if suffix == ".json":
        if not head.startswith(b"{") or JSON_MARK not in head:
            return None
        summary = all(key in head for key in (_SUMMARY_JSON_POLICY, *_SUMMARY_JSON_KEYS))
        return "JSON 汇总结果" if summary else "JSON 结果"
    if _HTML_TITLE.search(head):
        return "HTML 汇总报告"
    return "HTML 报告" if HTML_MARK in head else None


def skip_reason(file: Path) -> tuple[str, str] | None:
    """Why a file found in a folder is not consolidated, or None for a workbook to check."""
    name, suffix = file.name, file.suffix.lower()
    if name.startswith(LOCK_PREFIX):
        return (
            f"{name} 是 Excel 打开工作簿时生成的临时锁定文件，不是申报表。",
            "关闭正在编辑该工作簿的 Excel 后删除此文件，再重新汇总。",
        )
    if suffix in OLD_EXCEL:
        return (
            f"{name} 是 {suffix} 格式，本工具只读取 .xlsx 工作簿。",
            "用 Excel 打开后“另存为”Excel 工作簿（.xlsx），或把数据复制到 dtfund 模板中，再重新汇总。",
        )
    if suffix not in WORKBOOK_SUFFIXES:
        return (
            f"{name} 不是 Excel 工作簿（.xlsx），没有汇总。",
            "请把与汇总无关的文件移出该文件夹；申报表须为 .xlsx 文件。",
        )
    if not _regular(file):
        return (
            f"{name} 不是普通文件（而是管道、设备、套接字或失效的链接），没有读取。",
            "请把与汇总无关的文件移出该文件夹；申报表须为保存在磁盘上的 .xlsx 文件。",
        )
    if not os.access(file, os.R_OK):
        return (f"没有读取 {name} 的权限。", "请检查该文件的访问权限，或复制一份可读取的文件后重新汇总。")
    return None
