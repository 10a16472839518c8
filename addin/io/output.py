"""Writing outputs: only regular files are replaced, never an input or another output of the same
command; atomically; every failure a Chinese sentence naming the output and the reason; and generated
workbooks reproducibly (fixed timestamps, so regenerating gives identical bytes).

A write goes into a private work folder beside its target, `.dtfund-<host>-<pid>-<random>`, and the file
written there is renamed over the target: the target is never half-written, and a failed write removes
the folder. A process killed mid-write (SIGKILL, a power cut) leaves its work folder behind: the next
write into the same folder removes the work folders of this machine's processes that are gone.

Not the run folder of addin.io.scratch (the system's temporary folder, cleaned by a lock): a rename is
atomic only within one disk, so an output's temporary file must lie beside its target."""

from __future__ import annotations

import datetime as dt
import errno
import io
import os
import re
import shutil
import socket
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openpyxl import Workbook

    from addin.io.repeated_rows import RepeatedRows

FIXED_ZIP_TIME = (2025, 3, 24, 0, 0, 0)  # the draft measures' date: stamped on every generated part
FIXED_ISO_TIME = "2025-03-24T00:00:00Z"
_CORE_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:(?:created|modified)>)")

STDOUT = "-"  # as an output path: the terminal (standard output), not a file
TERMINAL_OPTIONS = ("--json",)  # the outputs that may go to the terminal (`-`): text, not a workbook
WORK_PREFIX = ".dtfund-"
WORK_FILE = "output.tmp"  # short whatever the target's name, so that a 255-byte target name still works
_HOST = f"{zlib.crc32(socket.gethostname().encode('utf-8')):08x}"  # machines may share a network folder
_WORK_NAME = re.compile(rf"^{re.escape(WORK_PREFIX)}(?P<host>[0-9a-f]{{8}})-(?P<pid>\d+)-")
_OWN_WORK: set[str] = set()  # this process's work folders (a container's next run may reuse its pid)
MARKED_SUFFIXES = (".xlsx", ".xlsm")  # not the add-in (.xlam): it is installed as shipped, byte for byte
_MARKING = {"on": False}  # whether workbooks written are marked as dtfund's own (addin.io.overwrite)


def mark_own_workbooks(on: bool = True) -> None:
    """Mark every workbook this process writes from now on as dtfund's own output, so that the next run
    may replace it without --force (the `dtfund` command does; the bundled files stay unmarked)."""
    _MARKING["on"] = on


class OutputError(Exception):
    """An output cannot be written: the message says why, in Chinese."""


_ACCESS = ("没有写入权限", "请换一个可以写入的文件夹。")
_ACCESS_WINDOWS = ("没有写入权限，或文件正被其他程序（如 Excel）打开", "请关闭该文件或换一个输出位置后重试。")
_FULL = ("磁盘空间不足", "请腾出磁盘空间或换一个输出位置后重试。")
_REASONS: dict[int, tuple[str, str]] = {
    errno.EACCES: _ACCESS_WINDOWS if os.name == "nt" else _ACCESS,
    errno.EPERM: _ACCESS,
    errno.EROFS: ("所在的磁盘或文件夹是只读的", "请换一个可以写入的文件夹。"),
    errno.ENOSPC: _FULL,
    errno.EDQUOT: _FULL,
    errno.EFBIG: ("文件超过了该磁盘或系统允许的大小", "请换一个输出位置后重试。"),
    errno.ENAMETOOLONG: ("文件名或路径太长", "请换一个短一些的文件名。"),
    errno.EISDIR: ("这是一个文件夹", "请指定一个文件名。"),
    errno.ENOTDIR: ("路径中有一级不是文件夹", "请检查输出路径。"),
    errno.ENOENT: ("所在的文件夹不存在", "请先创建该文件夹，或换一个输出位置。"),
    errno.EEXIST: ("已有同名的文件", "请换一个名称。"),
    errno.EBUSY: ("文件正被其他程序使用", "请关闭该文件后重试。"),
    errno.ETXTBSY: ("文件正被其他程序使用", "请关闭该文件后重试。"),
    errno.ELOOP: ("路径中的符号链接太多或循环", "请检查输出路径。"),
    errno.EINVAL: ("文件名中有不允许的字符", "请换一个文件名。"),
    errno.EIO: ("读写磁盘时出错", "请检查该磁盘后重试。"),
}


def _reason(error: OSError) -> tuple[str, str]:
    """Why an operation failed, in plain words, and the fix (empty when there is none to give)."""
    return _REASONS.get(error.errno or 0, (error.strerror or str(error), ""))


def current_folder_exists() -> bool:
    """False when the folder the command was started in has been deleted (a relative path then leads
    nowhere; an absolute one still works)."""
    try:
        os.getcwd()
    except FileNotFoundError:
        return False
    return True


CURRENT_FOLDER_GONE = (
    "命令所在的当前文件夹已被删除或移走，相对路径无法使用",
    "请先进入一个存在的文件夹（cd），或写出完整路径后重试。",
)


def cannot_write(path: Path, error: OSError) -> OutputError:
    """The error of a write to `path` that failed with `error`."""
    reason, fix = _reason_at(path, error)
    return OutputError(f"无法写入 {path}：{reason}。{fix}")


def _reason_at(path: Path, error: OSError) -> tuple[str, str]:
    """_reason, or that the current folder is gone when a relative path led nowhere because of it."""
    if error.errno == errno.ENOENT and not Path(path).is_absolute() and not current_folder_exists():
        return CURRENT_FOLDER_GONE
    return _reason(error)


def current_folder_gone_message() -> str:
    """The clerk's sentence for a command run in a folder deleted since."""
    return "".join(f"{part}。" if n == 0 else part for n, part in enumerate(CURRENT_FOLDER_GONE))


def make_output_folder(folder: Path) -> None:
    """Create a folder for outputs (and the folders above it) unless it exists."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason, fix = _reason_at(folder, exc)
        raise OutputError(f"无法创建文件夹 {folder}：{reason}。{fix}") from None


def refuse_conflicting_outputs(outputs: Mapping[str, Path | None], inputs: Iterable[Path]) -> None:
    """Refuse, before any work, a command's outputs (option name -> path; None when not asked for, `-`
    for the terminal where TERMINAL_OPTIONS allow it) when one is an input, another output, or not a
    regular file."""
    for option, path in outputs.items():
        if path is not None and str(path) == STDOUT and option not in TERMINAL_OPTIONS:
            raise OutputError(f"{option} 不能输出到终端（-）。请指定一个文件名。")
    named = {
        option: Path(path) for option, path in outputs.items() if path is not None and str(path) != STDOUT
    }
    sources = list(inputs)
    for option, path in named.items():
        refuse_overwriting_inputs(path, sources)
        refuse_unsafe_target(path, option)
    chosen = list(named.items())
    for index, (option, path) in enumerate(chosen):
        for earlier, earlier_path in chosen[:index]:
            if _same_file(path, earlier_path):
                raise OutputError(
                    f"{earlier} 和 {option} 是同一个文件 {path}。请为每个输出指定不同的文件名。"
                )


def refuse_overwriting_inputs(output: Path, inputs: Iterable[Path]) -> None:
    """Refuse an output that is one of the inputs: the same path, or the same file by another name
    (a hard link, a symbolic link, another spelling)."""
    for source in inputs:
        if _same_file(Path(output), Path(source)):
            raise OutputError(f"输出文件 {output} 与输入文件相同。请换一个输出文件名，以免覆盖原文件。")


def refuse_unsafe_target(path: Path, option: str = "") -> None:
    """Refuse an output path that exists and is not a regular file (a folder, a symbolic link, a device,
    a named pipe): writing replaces it, and only regular files are replaced. Unlike an input, which is
    read through a symbolic link (addin.io.workbook_reader.require_regular_file), an output's link is
    refused: the rename would replace the link itself, not the file it points to."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise cannot_write(path, exc) from None
    kind = _KINDS.get(stat.S_IFMT(mode))
    if kind is None:
        return
    to_terminal = "要把 JSON 输出到终端，请用 --json -。" if option == "--json" and _is_stream(path) else ""
    raise OutputError(f"无法写入 {path}：它是{kind}，dtfund 只替换普通文件。{to_terminal}")


_KINDS = {
    stat.S_IFDIR: "一个文件夹",
    stat.S_IFLNK: "符号链接",
    stat.S_IFCHR: "设备",
    stat.S_IFBLK: "设备",
    stat.S_IFIFO: "命名管道",
    stat.S_IFSOCK: "套接字",
}


def _is_stream(path: Path) -> bool:
    """A device or a named pipe, directly or through symbolic links (/dev/stdout)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode)


def _same_file(a: Path, b: Path) -> bool:
    """The same file: by identity (device, inode) when both exist, else by resolved spelling."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A file to write, in a private work folder beside `path`; renamed over `path` when the block
    succeeds. The work folder is removed in every case; an OSError is an OutputError naming `path`."""
    path = Path(path)
    refuse_unsafe_target(path)
    try:
        work = _make_work_folder(path.parent)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        yield work / WORK_FILE
        if _MARKING["on"] and path.suffix.lower() in MARKED_SUFFIXES:
            from addin.io.overwrite import stamp_workbook

            stamp_workbook(work / WORK_FILE)
        refuse_unsafe_target(path)  # something else may have appeared there while we wrote
        os.replace(work / WORK_FILE, path)
    except OutputError:
        raise
    except Exception as exc:
        error = _os_error(exc)
        if error is None:
            raise
        raise cannot_write(path, error) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        _OWN_WORK.discard(work.name)


def _os_error(exc: BaseException) -> OSError | None:
    """The OSError behind an exception: itself, or the one a library wrapped (xlsxwriter's
    FileCreateError carries it as its argument)."""
    for candidate in (exc, exc.__cause__, *exc.args[:1]):
        if isinstance(candidate, OSError):
            return candidate
    return None


def _make_work_folder(folder: Path) -> Path:
    """A new private work folder in `folder`, after removing the work folders left by gone processes."""
    _remove_abandoned_work(folder)
    work = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{_HOST}-{os.getpid()}-", dir=folder))
    _OWN_WORK.add(work.name)
    return work


def _remove_abandoned_work(folder: Path) -> None:
    """Remove the work folders in `folder` that processes on this machine, now gone, left behind."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return  # the write itself will say why the folder cannot be used
    for entry in entries:
        match = _WORK_NAME.match(entry.name)
        if match is None or match["host"] != _HOST or not entry.is_dir(follow_symlinks=False):
            continue
        pid = int(match["pid"])
        if entry.name not in _OWN_WORK and (pid == os.getpid() or not _running(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


_STILL_ACTIVE = 259  # Windows: GetExitCodeProcess of a running process
_QUERY_LIMITED_INFORMATION = 0x1000  # Windows: PROCESS_QUERY_LIMITED_INFORMATION
_ACCESS_DENIED = 5  # Windows: ERROR_ACCESS_DENIED (the process exists, run by someone else)


def _running(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if os.name == "nt":  # os.kill(pid, 0) would terminate it on Windows
        import ctypes

        kernel = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel.OpenProcess(_QUERY_LIMITED_INFORMATION, False, pid)
        if not handle:
            return kernel.GetLastError() == _ACCESS_DENIED
        code = ctypes.c_ulong()
        kernel.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel.CloseHandle(handle)
        return code.value == _STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (see atomic_path)."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def write_text_atomically(path: Path, text: str) -> None:
    write_bytes_atomically(path, text.encode("utf-8"))


def reproducible_xlsx(data: bytes) -> bytes:
    """The same workbook with every zip entry and document timestamp fixed."""
    return finished_package(data)


def finished_package(
    data: bytes,
    dynamic_arrays: Mapping[str, list[str]] | None = None,
    repeated: Sequence[RepeatedRows] = (),
    reproducible: bool = True,
) -> bytes:
    """A saved workbook finished in one pass over its parts: the array formulas at `dynamic_arrays`
    (sheet -> cells) marked dynamic, the repeated rows rendered into their sheets, and (reproducible)
    every zip entry and document timestamp fixed."""
    from addin.io.dynamic_arrays import METADATA_PART, METADATA_XML, anchor_parts, marked_part
    from addin.io.repeated_rows import sheet_with_rows
    from addin.io.workbook_reader import sheet_members

    if not (dynamic_arrays or repeated or reproducible):
        return data
    source = zipfile.ZipFile(io.BytesIO(data))
    anchors = anchor_parts(source, dict(dynamic_arrays)) if dynamic_arrays else {}
    members = sheet_members(source) if repeated else {}
    rows = {members[r.sheet]: r for r in repeated}
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:

        def entry(name: str, original: zipfile.ZipInfo | None = None) -> zipfile.ZipInfo:
            if original is not None and not reproducible:
                return original
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            return info

        for original in source.infolist():
            name, content = original.filename, source.read(original.filename)
            if name in rows:
                with archive.open(entry(name, original), "w") as part:
                    for piece in sheet_with_rows(content.decode("utf-8"), rows[name]):
                        part.write(piece)
                continue
            if dynamic_arrays:
                content = marked_part(name, content, anchors)
            if reproducible and name == "docProps/core.xml":
                content = _CORE_TIME.sub(rb"\g<1>" + FIXED_ISO_TIME.encode() + rb"\g<2>", content)
            archive.writestr(entry(name, original), content)
        if dynamic_arrays and METADATA_PART not in source.namelist():
            archive.writestr(entry(METADATA_PART), METADATA_XML)
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
    array formulas at `dynamic_arrays` (sheet -> cells) as dynamic so that Excel spills them, and with
    the rows its sheets repeat (`repeated_rows`, addin.templates.sheets.RowsRepeatingWorkbook)."""
    from openpyxl.writer.excel import save_workbook as write_package

    buffer = io.BytesIO()
    write_package(workbook, buffer)
    repeated = getattr(workbook, "repeated_rows", ())
    write_bytes_atomically(
        Path(path), finished_package(buffer.getvalue(), dynamic_arrays, repeated, reproducible)
    )
