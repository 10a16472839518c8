"""Every command's output files: only regular files are replaced, never an input or another output of
the same command; a write that fails (read-only folder, full disk, long name) is one Chinese sentence
naming the output, exit 2, no traceback, the previous output intact and nothing left behind, also after
a SIGKILL mid-write. Each case runs `python -m addin` in a subprocess, as a user would."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from addin.io.output import WORK_PREFIX
from addin.templates.bundled import EXAMPLE_PLAN, EXAMPLES, REPOSITORY

EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]
DIVISIONS = [REPOSITORY / path for path in EXAMPLES.values()]
PLAN = REPOSITORY / EXAMPLE_PLAN
PREVIOUS = b"the previous output\n"
TIME_LIMIT = 120


def dtfund(
    *args: str | Path, limit: Callable[[], None] | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "addin", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        preexec_fn=limit,
        env=_environment(env),
    )


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"COLUMNS": "250", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY), **(extra or {})}


def refused(process: subprocess.CompletedProcess, *says: str) -> str:
    """The one error of a refused or failed write: exit 2, no traceback, every phrase in it."""
    output = process.stdout + process.stderr
    assert process.returncode == 2, output
    assert "Traceback" not in output, output
    for phrase in says:
        assert phrase in output.replace("\n", ""), output  # the terminal wraps long lines
    return output


def work_folders(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(WORK_PREFIX)]


def previous_output(path: Path) -> Path:
    path.write_bytes(PREVIOUS)
    return path


def consolidate(output: Path, *extra: str | Path) -> list[str | Path]:
    # --force: these tests replace a previous output that is not dtfund's own (tests/test_overwrite.py)
    return ["consolidate", *DIVISIONS, "--plan", PLAN, "-o", output, "--quiet", "--force", *extra]


# Two outputs of one command, or an output and an input, are the same file.


def test_json_equal_to_the_summary_workbook_is_refused(tmp_path: Path) -> None:
    summary = previous_output(tmp_path / "汇总.xlsx")
    process = dtfund(*consolidate(summary, "--json", tmp_path / "." / "汇总.xlsx"))
    refused(process, "-o 和 --json 是同一个文件", "汇总.xlsx", "请为每个输出指定不同的文件名。")
    assert summary.read_bytes() == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["汇总.xlsx"]


@pytest.mark.parametrize(
    "command, first, second",
    [
        ("check", "--html", "--json"),
        ("check", "--annotate", "--html"),
        ("diff", "--json", "--html"),
        ("consolidate", "--html", "--json"),
    ],
)
def test_two_outputs_of_one_command_are_never_one_file(
    command: str, first: str, second: str, tmp_path: Path
) -> None:
    (tmp_path / "sub").mkdir()
    spellings = [tmp_path / "out.xlsx", tmp_path / "sub" / ".." / "out.xlsx"]
    arguments = {
        "check": ["check", EXAMPLE],
        "diff": ["diff", EXAMPLE, EXAMPLE],
        "consolidate": consolidate(tmp_path / "汇总.xlsx"),
    }[command]
    process = dtfund(*arguments, first, spellings[0], second, spellings[1])
    text = refused(process, "是同一个文件", "请为每个输出指定不同的文件名。")
    assert first in text and second in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"], "nothing was written"


def test_a_hard_link_between_two_outputs_is_the_same_file(tmp_path: Path) -> None:
    report = previous_output(tmp_path / "report.html")
    os.link(report, tmp_path / "report.json")
    process = dtfund("check", EXAMPLE, "--json", tmp_path / "report.json", "--html", report)
    refused(process, "--json 和 --html 是同一个文件")
    assert report.read_bytes() == PREVIOUS


@pytest.mark.parametrize("spelling", ["same", "hard link", "other spelling"])
def test_an_output_that_is_an_input_is_refused(spelling: str, tmp_path: Path) -> None:
    source = tmp_path / "申报表.xlsx"
    shutil.copyfile(EXAMPLE, source)
    output = {
        "same": source,
        "hard link": tmp_path / "link.xlsx",
        "other spelling": tmp_path / "sub" / ".." / source.name,
    }[spelling]
    (tmp_path / "sub").mkdir()
    if spelling == "hard link":
        os.link(source, output)
    for option in ("--json", "--html", "--annotate"):
        refused(dtfund("check", source, option, output), "与输入文件相同", "请换一个输出文件名")
    refused(dtfund("diff", EXAMPLE, source, "--json", output), "与输入文件相同")
    refused(dtfund("consolidate", *DIVISIONS, "--plan", source, "-o", output), "与输入文件相同")
    assert source.read_bytes() == EXAMPLE.read_bytes()


# Only regular files are replaced.


def _character_device(tmp_path: Path) -> Path:
    """A null device of our own (as root, a regression must not replace the machine's /dev/null);
    /dev/null itself when we may not create one (and then cannot replace it either)."""
    device = tmp_path / "null"
    try:
        os.mknod(device, 0o666 | 0o020000, os.makedev(1, 3))
    except OSError:
        return Path("/dev/null")
    return device


def _standard_output(tmp_path: Path) -> Path:
    """What /dev/stdout is: a symbolic link to the process's standard output (ours, not /dev's)."""
    link = tmp_path / "stdout"
    link.symlink_to("/proc/self/fd/1")
    return link


def _fifo(tmp_path: Path) -> Path:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    return fifo


def _symlink(tmp_path: Path) -> Path:
    target = previous_output(tmp_path / "target.json")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    return link


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "folder.json"
    folder.mkdir()
    return folder


NOT_REGULAR = {
    "device": (_character_device, "它是设备"),
    "standard output": (_standard_output, "它是符号链接"),
    "named pipe": (_fifo, "它是命名管道"),
    "symbolic link": (_symlink, "它是符号链接"),
    "folder": (_folder, "它是一个文件夹"),
}


@pytest.mark.parametrize("kind", NOT_REGULAR)
def test_only_regular_files_are_replaced(kind: str, tmp_path: Path) -> None:
    make, says = NOT_REGULAR[kind]
    output = make(tmp_path)
    before = os.lstat(output)
    process = dtfund("check", EXAMPLE, "--json", output)
    text = refused(process, f"无法写入 {output}", says, "dtfund 只替换普通文件。")
    if kind in ("device", "standard output", "named pipe"):
        assert "要把 JSON 输出到终端，请用 --json -。" in text
    after = os.lstat(output)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino), "left as it was"
    if kind == "symbolic link":
        assert (tmp_path / "target.json").read_bytes() == PREVIOUS
    assert work_folders(tmp_path) == []


def test_every_command_that_writes_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    pipe = _fifo(tmp_path)
    link = _symlink(tmp_path)
    (tmp_path / "addin").mkdir()
    (tmp_path / "addin" / "dtfund.xlam").symlink_to(tmp_path / "target.json")
    (tmp_path / "demo").mkdir()
    os.mkfifo(tmp_path / "demo" / "汇总.json")
    for arguments in [
        ("template", "application", "-o", pipe),
        ("template", "plan", "-o", link),
        ("template", "awards", "-o", pipe),
        ("rules", "--markdown", pipe),
        ("addin", "build", "-o", tmp_path / "addin" / "dtfund.xlam"),
        ("demo", "--output-dir", tmp_path / "demo"),
        ("diff", EXAMPLE, EXAMPLE, "--html", link),
        (*consolidate(pipe),),
    ]:
        refused(dtfund(*arguments), "dtfund 只替换普通文件。")
    assert (tmp_path / "target.json").read_bytes() == PREVIOUS
    assert not (tmp_path / "demo" / "汇总.xlsx").exists(), "the demo refused before writing anything"


def test_a_folder_that_cannot_be_made_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    refused(
        dtfund("demo", "--output-dir", tmp_path / "file" / "out"),
        "无法创建文件夹",
        "路径中有一级不是文件夹。",
    )
    refused(dtfund("rules", "--markdown", tmp_path / "missing" / "rules.md"), "所在的文件夹不存在。")


# A write that fails: one sentence naming the output, the previous output intact, nothing left behind.


def test_a_long_but_legal_name_is_written(tmp_path: Path) -> None:
    name = "汇总" * 40 + "a" * 5 + ".json"  # 240 + 5 + 5 = 250 bytes, within the 255 a name may have
    assert len(name.encode("utf-8")) == 250
    summary = previous_output(tmp_path / ("汇总" * 40 + "a" * 5 + ".xlsx"))
    process = dtfund(*consolidate(summary, "--json", tmp_path / name, "--html", tmp_path / f"{name}.html"))
    assert process.returncode == 1, process.stdout + process.stderr
    assert zipfile.ZipFile(summary).testzip() is None
    assert (tmp_path / name).read_text("utf-8").startswith("{")
    assert work_folders(tmp_path) == []


def test_a_name_too_long_is_one_sentence(tmp_path: Path) -> None:
    output = tmp_path / ("a" * 256 + ".json")
    refused(
        dtfund("check", EXAMPLE, "--json", output),
        f"无法写入 {output}：文件名或路径太长。请换一个短一些的文件名。",
    )
    assert list(tmp_path.iterdir()) == []


def test_a_path_through_a_file_is_one_sentence(tmp_path: Path) -> None:
    """Under a regular file nothing can be written, even as root."""
    (tmp_path / "file").write_text("not a folder")
    output = tmp_path / "file" / "result.json"
    refused(dtfund("check", EXAMPLE, "--json", output), f"无法写入 {output}：路径中有一级不是文件夹。")


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))  # Python ignores SIGXFSZ: writes get EFBIG


def test_a_file_too_large_for_the_system_leaves_the_previous_output(tmp_path: Path) -> None:
    summary = previous_output(tmp_path / "汇总.xlsx")
    process = dtfund(*consolidate(summary), limit=_limit_file_size)
    refused(process, f"无法写入 {summary}：文件超过了该磁盘或系统允许的大小。")
    assert summary.read_bytes() == PREVIOUS
    assert work_folders(tmp_path) == []


def _in_own_mount(tmp_path: Path, mount_options: str, kept: str, commands: str) -> tuple[str, list[str]]:
    """Run shell `commands` with a small tmpfs mounted at `disk` (in a user and mount namespace, which
    needs no privilege) holding a previous output `kept`; their output, and the folder's listing and
    the kept file's content afterwards."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rm", "true"]).returncode != 0:
        pytest.skip("this system cannot mount a file system of our own (unshare -rm)")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = (
        f"mount -t tmpfs -o {mount_options} tmpfs disk && printf '%s' '{PREVIOUS.decode()}' > disk/{kept} && "
        f"{{ {commands} ; }} ; echo rc=$? ; echo listing: ; ls -A disk ; echo kept: ; cat disk/{kept}"
    )
    process = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        env=_environment(),
    )
    return process.stdout + process.stderr, process.stdout.split("listing:")[-1].split()


def test_a_full_disk_leaves_the_previous_output(tmp_path: Path) -> None:
    python = f"{sys.executable} -m addin"
    output, listing = _in_own_mount(
        tmp_path,
        "size=16k",
        "汇总.xlsx",
        f"{python} consolidate {' '.join(map(str, DIVISIONS))} --plan {PLAN} -o disk/汇总.xlsx --quiet -f",
    )
    assert "rc=2" in output and "Traceback" not in output, output
    assert "无法写入 disk/汇总.xlsx：磁盘空间不足。请腾出磁盘空间或换一个输出位置后重试。" in output
    assert listing == ["汇总.xlsx", "kept:", *PREVIOUS.decode().split()], listing


def test_a_read_only_folder_is_one_sentence(tmp_path: Path) -> None:
    output, listing = _in_own_mount(
        tmp_path,
        "size=64k",
        "result.json",
        f"mount -o remount,ro disk && {sys.executable} -m addin check {EXAMPLE} --json disk/result.json --quiet -f",
    )
    assert "rc=2" in output and "Traceback" not in output, output
    assert "无法写入 disk/result.json：所在的磁盘或文件夹是只读的。请换一个可以写入的文件夹。" in output
    assert listing == ["result.json", "kept:", *PREVIOUS.decode().split()], listing


def test_a_folder_without_write_permission_is_one_sentence(tmp_path: Path) -> None:
    """Root writes anywhere: as root, run in a user namespace of its own, where a folder's permission
    bits bind it (the folder's owner is not mapped there)."""
    folder = tmp_path / "只读"
    folder.mkdir()
    summary = previous_output(folder / "汇总.xlsx")
    folder.chmod(0o555)
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("unshare") is None or subprocess.run(["unshare", "-U", "true"]).returncode != 0:
            pytest.skip("as root, permission bits cannot be made to bind here (unshare -U)")
        prefix = ["unshare", "-U"]
    try:
        process = subprocess.run(
            [*prefix, sys.executable, "-m", "addin", *map(str, consolidate(summary))],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            env=_environment(),
        )
    finally:
        folder.chmod(0o755)
    refused(process, f"无法写入 {summary}：没有写入权限。请换一个可以写入的文件夹。")
    assert summary.read_bytes() == PREVIOUS
    assert sorted(p.name for p in folder.iterdir()) == ["汇总.xlsx"]


# SIGKILL at any moment: the target is the previous output or the whole new one, and the next write
# into the folder removes what the killed process left.

STOPPED_MID_WRITE = """
import sys, time
from pathlib import Path
from addin.io.output import atomic_path

with atomic_path(Path(sys.argv[1])) as temporary:
    temporary.write_bytes(b"half of a summary")
    print("writing", flush=True)
    time.sleep(600)
"""


def _writing(target: Path) -> subprocess.Popen:
    """A process in the middle of writing `target`."""
    writer = subprocess.Popen(
        [sys.executable, "-c", STOPPED_MID_WRITE, str(target)],
        stdout=subprocess.PIPE,
        text=True,
        env=_environment(),
    )
    assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    return writer


def test_a_write_killed_midway_is_cleaned_by_the_next(tmp_path: Path) -> None:
    summary = previous_output(tmp_path / "汇总.xlsx")
    writer = _writing(summary)
    writer.send_signal(signal.SIGKILL)
    writer.wait(TIME_LIMIT)
    [left] = work_folders(tmp_path)
    assert (left / "output.tmp").read_bytes() == b"half of a summary"
    assert summary.read_bytes() == PREVIOUS, "the target is never half-written"
    process = dtfund(*consolidate(summary))
    assert process.returncode == 1, process.stdout + process.stderr
    assert work_folders(tmp_path) == [], "the next write removed the killed write's folder"
    assert zipfile.ZipFile(summary).testzip() is None


def test_a_consolidation_killed_while_writing_leaves_a_whole_file(tmp_path: Path) -> None:
    """Kill `consolidate` the moment its write has begun; nothing lands in the temporary folder, and
    the target is the previous output."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    summary = previous_output(tmp_path / "汇总.xlsx")
    process = subprocess.Popen(
        [sys.executable, "-m", "addin", *map(str, consolidate(summary))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_environment({"TMPDIR": str(temporary)}),
    )
    deadline = time.monotonic() + TIME_LIMIT
    while not work_folders(tmp_path) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait(TIME_LIMIT)
    assert process.returncode == -signal.SIGKILL, "killed before it had finished"
    assert work_folders(tmp_path) != [], "killed while writing"
    assert summary.read_bytes() == PREVIOUS
    runs = temporary / f"dtfund-{os.getuid()}"  # the reader's run folders (addin/io/scratch.py)
    assert [p for p in temporary.iterdir() if p != runs] == [], (
        "xlsxwriter's files of rows are in the work folder"
    )
    assert (
        dtfund("check", EXAMPLE, "--json", tmp_path / "r.json", env={"TMPDIR": str(temporary)}).returncode
        == 1
    )
    assert work_folders(tmp_path) == []
    assert not runs.exists() or list(runs.iterdir()) == [], "the next run removed the killed run's folder"


def test_the_work_of_a_running_write_or_another_machine_is_left_alone(tmp_path: Path) -> None:
    writer = _writing(tmp_path / "汇总.xlsx")
    try:
        [running] = work_folders(tmp_path)
        host = running.name.split("-")[1]
        other_host = f"{WORK_PREFIX}{int(host, 16) ^ 1:08x}-{writer.pid + 1_000_000}-abc"  # a pid not here
        (tmp_path / other_host).mkdir()
        assert dtfund("check", EXAMPLE, "--json", tmp_path / "r.json").returncode == 1
        assert sorted(work_folders(tmp_path)) == sorted([running, tmp_path / other_host])
    finally:
        writer.kill()
        writer.wait(TIME_LIMIT)


def test_a_consolidated_folder_ignores_the_work_of_writes(tmp_path: Path) -> None:
    """A write killed in the folder being consolidated left its work folder: not a submission to list."""
    folder = tmp_path / "报送"
    folder.mkdir()
    shutil.copyfile(EXAMPLE, folder / EXAMPLE.name)
    writer = _writing(folder / "汇总.xlsx")
    writer.kill()
    writer.wait(TIME_LIMIT)
    process = dtfund(
        "consolidate", folder, "--plan", PLAN, "-o", tmp_path / "汇总.xlsx", "--json", tmp_path / "s.json"
    )
    assert process.returncode == 1, process.stdout + process.stderr
    assert "output.tmp" not in process.stdout + (tmp_path / "s.json").read_text("utf-8")
    assert len(work_folders(folder)) == 1, "left for the next write into that folder"


def test_an_annotated_copy_with_another_extension_is_refused_before_the_check(tmp_path: Path) -> None:
    process = dtfund("check", EXAMPLE, "--annotate", tmp_path / "copy.csv")
    output = refused(process, "扩展名应与原文件相同")
    assert "校验结论" not in output
    assert list(tmp_path.iterdir()) == []


def test_only_json_goes_to_the_terminal(tmp_path: Path) -> None:
    """`--html -` would otherwise write a file named "-" in the current folder."""
    commands = [
        *(["check", str(EXAMPLE), option, "-"] for option in ("--html", "--annotate", "--print")),
        ["rules", "--markdown", "-"],
        *(["template", kind, "-o", "-"] for kind in ("application", "plan", "awards")),
    ]
    for command in commands:
        process = subprocess.run(
            [sys.executable, "-m", "addin", *command],
            capture_output=True,
            text=True,
            timeout=TIME_LIMIT,
            env=_environment(),
            cwd=tmp_path,
        )
        refused(process, "不能输出到终端")
        assert list(tmp_path.iterdir()) == [], command


def test_a_submission_form_not_named_pdf_is_refused_before_the_check(tmp_path: Path) -> None:
    process = dtfund("check", EXAMPLE, "--print", tmp_path / "报送表.xlsx")
    output = refused(process, "扩展名不是 .pdf")
    assert "校验结论" not in output
    assert list(tmp_path.iterdir()) == []
