"""Hostile and broken files: a clear Chinese reason and the right exit code, never a traceback, within
bounded time and memory; the input is never modified by any command."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from addin import template_spec as spec
from addin.templates.bundled import EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from tests.support.hostile import BILLION_LAUGHS, CORPUS, EXAMPLE, ROUND_TWO, Hostile

MEMORY_LIMIT = 3 * 1024**3
TIME_LIMIT = 120
# Round two (issue 18): every file under 10 MB is checked within these.
ROUND_TWO_MEMORY_LIMIT = 2 * 1024**3
ROUND_TWO_TIME_LIMIT = 30


def _limit_memory(limit: int = MEMORY_LIMIT) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def dtfund(
    *args: str | Path,
    limited: bool = True,
    memory: int = MEMORY_LIMIT,
    timeout: int = TIME_LIMIT,
    temp: Path | None = None,
) -> subprocess.CompletedProcess:
    env = {"COLUMNS": "250", "PATH": "/usr/bin:/bin"}
    if temp is not None:
        env["TMPDIR"] = str(temp)
    return subprocess.run(
        [sys.executable, "-m", "addin", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_limit_memory(memory) if limited else None,
        env=env,
    )


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_file(case: Hostile, tmp_path: Path) -> None:
    path = case.build(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    started = time.monotonic()
    out = tmp_path / "result.json"
    process = dtfund("check", path, "--json", out)
    elapsed = time.monotonic() - started
    output = process.stdout + process.stderr
    assert process.returncode in case.exit_codes, output
    assert "Traceback" not in output
    assert "panicked" not in output, "Rust's panic report reached the terminal"
    assert elapsed < TIME_LIMIT
    document = json.loads(out.read_text("utf-8"))
    assert case.says in output + json.dumps(document, ensure_ascii=False)
    assert document["valid"] is False
    assert "root:x:0:0" not in out.read_text("utf-8") + output, "an external entity was resolved"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_openpyxl_parses_with_defusedxml(tmp_path: Path) -> None:
    """openpyxl, which writes our annotated copies, refuses entity bombs because defusedxml is installed."""
    import openpyxl.xml
    from defusedxml import DefusedXmlException

    from tests.support.hostile import entity_bomb_in_workbook

    assert openpyxl.xml.DEFUSEDXML is True
    with pytest.raises(ValueError) as refused:
        openpyxl.load_workbook(entity_bomb_in_workbook(tmp_path))
    assert isinstance(refused.value.__cause__, DefusedXmlException)
    assert "<!ENTITY lol9" in BILLION_LAUGHS


def test_every_command_leaves_its_inputs_untouched(tmp_path: Path) -> None:
    inputs = [REPOSITORY / p for p in EXAMPLES.values()] + [REPOSITORY / EXAMPLE_PLAN]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs}
    dtfund(
        "check",
        EXAMPLE,
        "--json",
        tmp_path / "a.json",
        "--html",
        tmp_path / "a.html",
        "--annotate",
        tmp_path / "a.xlsx",
        limited=False,
    )
    dtfund("explain", EXAMPLE, "--row", "5", limited=False)
    dtfund(
        "consolidate",
        *inputs[:3],
        "--plan",
        inputs[3],
        "-o",
        tmp_path / "s.xlsx",
        "--json",
        tmp_path / "s.json",
        "--html",
        tmp_path / "s.html",
        limited=False,
    )
    refused = dtfund("consolidate", *inputs[:3], "--plan", inputs[3], "-o", inputs[0], limited=False)
    assert refused.returncode == 2 and "与输入文件相同" in refused.stdout + refused.stderr
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs} == before
    assert not list(tmp_path.glob(".dtfund-*")), "no work folder is left behind"


def test_hidden_rows_are_still_checked(tmp_path: Path) -> None:
    from tests.support.hostile import hidden_rows_and_columns

    path = hidden_rows_and_columns(tmp_path)
    assert openpyxl.load_workbook(path)["申报表"].row_dimensions[8].hidden
    document = json.loads(dtfund("check", path, "--json", "-").stdout)
    assert ("FEE_SERVICE_OVER_20", f"{spec.column_letters()['service_total']}8") in {
        (i["rule"], i["cell"]) for i in document["issues"]
    }


def _fingerprint(path: Path) -> str:
    """A regular file's digest; anything else (a pipe, a device, a folder) by its kind, never read."""
    info = os.lstat(path)
    if stat.S_ISREG(info.st_mode):
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{stat.S_IFMT(info.st_mode)}:{os.readlink(path) if stat.S_ISLNK(info.st_mode) else ''}"


@pytest.mark.parametrize("case", ROUND_TWO, ids=[c.name for c in ROUND_TWO])
def test_hostile_file_round_two(case: Hostile, tmp_path: Path) -> None:
    """Within 30 s and 2 GB, the right exit and a Chinese reason naming what is wrong; nothing printed
    by Rust, no traceback, the input unchanged."""
    folder = tmp_path / "in"
    folder.mkdir()
    path = case.build(folder)
    if path.is_file():
        assert path.stat().st_size < 12 * 1024**2, "a small file on disk"
    before = _fingerprint(path)
    out = tmp_path / "result.json"
    started = time.monotonic()
    process = dtfund(
        "check",
        path,
        "--json",
        out,
        memory=ROUND_TWO_MEMORY_LIMIT,
        timeout=ROUND_TWO_TIME_LIMIT,
        temp=tmp_path,
    )
    elapsed = time.monotonic() - started
    output = process.stdout + process.stderr
    assert process.returncode in case.exit_codes, output
    assert "Traceback" not in output and "panicked" not in output
    assert elapsed < ROUND_TWO_TIME_LIMIT
    document = json.loads(out.read_text("utf-8"))
    assert case.says in output + json.dumps(document, ensure_ascii=False)
    assert document["valid"] is False
    assert _fingerprint(path) == before


def test_consolidate_lists_files_that_are_not_files_and_summarises_the_rest(tmp_path: Path) -> None:
    """A pipe, a link to /dev/zero, a broken link and a workbook with a far value beside a good one:
    the summary of the good one is written, the others listed as skipped or unreadable, exit 2."""
    from tests.support.hostile import far_cell, link_to_dev_zero, named_pipe

    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "good.xlsx").write_bytes(EXAMPLE.read_bytes())
    named_pipe(folder)
    link_to_dev_zero(folder)
    (folder / "gone.xlsx").symlink_to(folder / "nowhere.xlsx")
    far_cell("XFD1048576")(folder)
    summary = tmp_path / "summary.xlsx"
    process = dtfund(
        "consolidate",
        folder,
        "--plan",
        REPOSITORY / EXAMPLE_PLAN,
        "-o",
        summary,
        "--json",
        tmp_path / "summary.json",
        memory=ROUND_TWO_MEMORY_LIMIT,
        timeout=ROUND_TWO_TIME_LIMIT * 2,
        temp=tmp_path,
    )
    output = process.stdout + process.stderr
    assert process.returncode == 2, output
    assert "Traceback" not in output
    assert summary.is_file()
    document = json.loads((tmp_path / "summary.json").read_text("utf-8"))
    status = {Path(f["file"]).name: f["status"] for f in document["files"]}
    assert {name: status.get(name) for name in ("pipe.xlsx", "zero.xlsx", "gone.xlsx")} == dict.fromkeys(
        ("pipe.xlsx", "zero.xlsx", "gone.xlsx"), "skipped"
    )
    assert status["far-XFD1048576-sheet1.xlsx"] == "unreadable"
    assert status["good.xlsx"] == "consolidated"


def test_a_killed_check_leaves_its_part_copies_to_the_next_run(tmp_path: Path) -> None:
    """A check killed (SIGKILL) while it writes the parts of a large sheet leaves them in its private
    folder; the next run removes that folder."""
    from tests.support.hostile import million_junk_rows

    path = million_junk_rows(tmp_path)
    user_folder = tmp_path / f"dtfund-{os.getuid()}"
    child = subprocess.Popen(
        [sys.executable, "-m", "addin", "check", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path)},
    )
    deadline = time.monotonic() + TIME_LIMIT
    parts: list[Path] = []
    while not parts and time.monotonic() < deadline and child.poll() is None:
        parts = list(user_folder.glob("run-*/parts-*/part-*.xlsx"))
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert parts, "the check wrote its parts in its private folder"
    stale = parts[0].parent.parent
    assert stale.is_dir() and stat.S_IMODE(stale.stat().st_mode) == 0o700
    again = dtfund("check", EXAMPLE, limited=False, temp=tmp_path)
    assert again.returncode == 1, again.stdout + again.stderr
    assert not stale.exists()
    assert not list(user_folder.glob("run-*")), "the second run removed its own folder too"


def test_every_bundled_workbook_lies_within_the_template_grid() -> None:
    """The grid bounds our own templates and examples: every sheet of each is let through, and the plan
    and the award sheets are no wider or longer than the application's table it is made from."""
    from addin.io.read_limits import template_grid
    from addin.io.sheet_extent import far_cell
    from addin.io.workbook_reader import sheet_members
    from addin.template_sizes import AWARDS_MAX_ROWS, MAX_ROWS
    from addin.templates.bundled import APPLICATION_TEMPLATE, AWARDS_TEMPLATE, EXAMPLE_AWARDS, PLAN_TEMPLATE
    from schemas.awards import award_kinds
    from schemas.fields import declared_fields
    from schemas.policy import load_policy

    grid = template_grid()
    # the widest application table any policy makes: every declared column (schemas.fields)
    assert grid.last_column == len(declared_fields()) >= len(spec.column_letters())
    assert AWARDS_MAX_ROWS <= MAX_ROWS
    assert max(len(kind.fields) for kind in award_kinds(load_policy())) <= grid.last_column
    assert len(spec.PLAN_COLUMNS) <= grid.last_column
    files = [
        *EXAMPLES.values(),
        EXAMPLE_PLAN,
        EXAMPLE_AWARDS,
        APPLICATION_TEMPLATE,
        PLAN_TEMPLATE,
        AWARDS_TEMPLATE,
    ]
    for file in files:
        with zipfile.ZipFile(REPOSITORY / file) as archive:
            members = sheet_members(archive)
        for sheet, member in members.items():
            assert far_cell(REPOSITORY / file, member) is None, (file, sheet)


@pytest.mark.parametrize(
    ("rows", "far"),
    [
        (b'<row r="5000"><c r="XFD5000"><v>1</v></c></row>', "XFD5000"),
        (b'<row r="5"><c r="XFD5"><v>1</v></c></row>', None),  # 205 rows of XFD: about 100 MB, let through
        (b'<row r="5"><c r="XFD5" s="1"/><c r="XFD6" s="1"><v></v></c></row>', None),  # no value
        (b'<row r="9"><c r="AN9"><v>1</v></c></row>', None),  # beside the table: a small rectangle
        (b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>', "A1048576"),
        (b'<row r="3000"><c><v>1</v></c>' + b"<c/>" * 40 + b"<c><v>2</v></c></row>", "AP3000"),
        (b'<x:row r="5"><x:c r="ZZ5"><x:v>1</x:v></x:c></x:row>', "ZZ5"),
        (b'<row r="70000"><c s="2" r="XFD70000"><v>1</v></c></row>', "XFD70000"),  # the reference not first
        # values python-calamine reads (found by a review): a tag end inside a quoted attribute, markup
        # or spaces in <v>, an empty text result
        (b'<row r="70000"><c r="XFD70000" a="/>"><v>1</v></c></row>', "XFD70000"),
        (b'<row r="70000"><c r="XFD70000" t="str"><v><x/>a</v></c></row>', "XFD70000"),
        (b'<row r="70000"><c r="XFD70000"><v> </v></c></row>', "XFD70000"),
        (b'<row r="70000"><c r="XFD70000" t="str"><v/></c></row>', "XFD70000"),
        (b'<row r="70000"><c r="XFD70000" t="str"><f>""</f><v></v></c></row>', "XFD70000"),
        (b'<row r="70000"><c r="XFD70000"><f>x</f><v /></c></row>', None),  # a formula never calculated
    ],
)
def test_a_value_far_from_the_table_is_found_before_parsing(
    rows: bytes, far: str | None, tmp_path: Path
) -> None:
    from addin.io.sheet_extent import far_cell
    from tests.support.hostile import DATA_SHEET_PART, _in_sheet, _rewrite

    path = _rewrite(tmp_path / "far.xlsx", _in_sheet(DATA_SHEET_PART, rows))
    assert far_cell(path, DATA_SHEET_PART) == far


@pytest.mark.parametrize(
    "cell",
    [
        '<c r="Z700"><v>1</v></c>',
        '<c r="Z700"><v></v></c>',
        '<c r="Z700"><v/></c>',
        '<c r="Z700"><v> </v></c>',
        '<c r="Z700" t="str"><v/></c>',
        '<c r="Z700" t="str"><v></v></c>',
        '<c r="Z700" t="str"><v><x/>a</v></c>',
        '<c r="Z700" s="1"/>',
        '<c r="Z700"></c>',
        '<c r="Z700"><f>x</f></c>',
        '<c r="Z700"><f>x</f><v /></c>',
        '<c r="Z700" t="s"><v></v></c>',
        '<c r="Z700" t="inlineStr"><is></is></c>',
        '<c r="Z700" t="inlineStr"><is><t>x</t></is></c>',
        '<c r="Z700" a="/>"><v>1</v></c>',
        '<c r="Z700" a=\'"/>\'><v>1</v></c>',
    ],
)
def test_the_far_cell_search_counts_what_python_calamine_counts(cell: str, tmp_path: Path) -> None:
    """A cell outside a small grid is found by the quick search and by the exact walk exactly when
    python-calamine's used area reaches it: what the search passes over can never make it allocate."""
    from addin.io.read_limits import Grid
    from addin.io.sheet_extent import FarCells, walk_far_cell
    from tests.support.hostile import DATA_SHEET_PART, _in_sheet, _rewrite

    path = _rewrite(tmp_path / "cell.xlsx", _in_sheet(DATA_SHEET_PART, f'<row r="700">{cell}</row>'.encode()))
    parsed = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name("申报表")
    counted = parsed.end[0] == 699  # (the example's own rows end far above)
    with zipfile.ZipFile(path) as archive:
        xml = archive.read(DATA_SHEET_PART)
    grid = Grid(last_row=300, last_column=45)  # the example's own cells, and not Z700
    assert (FarCells(grid).feed(xml) is not None) == counted, cell
    assert (walk_far_cell([xml], grid) is not None) == counted, cell


def test_rust_panic_reports_are_left_out_of_stderr() -> None:
    from addin.io.rust_panics import without_panics

    lines = [
        b"before\n",
        b"\n",
        b"thread '<unnamed>' (3936) panicked at chrono-0.4.45/src/lib.rs:717:17:\n",
        b"TimeDelta::milliseconds out of bounds\n",
        b"stack backtrace:\n",
        b"   0: rust_begin_unwind\n",
        b"note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.\n",
        b"after\n",
        b"\n",
    ]
    assert list(without_panics(iter(lines))) == [b"before\n", b"after\n", b"\n"]


def test_a_live_run_keeps_its_folder_and_a_killed_one_loses_it(tmp_path: Path) -> None:
    """The lock, not the pid, tells a live run from a gone one."""
    from addin.io.scratch import remove_stale_runs

    live = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from addin.io.scratch import run_folder; print(run_folder(), flush=True); input()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPOSITORY)},
    )
    folder = Path(live.stdout.readline().strip())
    assert remove_stale_runs(folder.parent) == [] and folder.is_dir()
    live.kill()
    live.wait()
    assert remove_stale_runs(folder.parent) == [folder] and not folder.exists()


def test_a_file_that_cannot_be_opened_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as root, who may read any file: opening it is made to fail as for another user."""
    from addin.check.pipeline import check_file
    from schemas.policy import load_policy

    path = tmp_path / "locked.xlsx"
    path.write_bytes(EXAMPLE.read_bytes())
    original = Path.open

    def refused(self: Path, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(path))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refused)
    result = check_file(path, load_policy())
    [issue] = result.issues
    assert issue.rule == "FILE_UNREADABLE" and "无法读取 locked.xlsx" in issue.message


def test_the_cli_imports_where_fcntl_does_not_exist() -> None:
    """Windows has no fcntl: the run folder's lock (addin.io.scratch) must not need it to import."""
    code = "import sys; sys.modules['fcntl'] = None; import addin.cli, addin.io.scratch; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY)},
        timeout=60,
    )
    assert result.stdout.strip() == "ok", result.stderr


# msvcrt.locking as on Windows, made of flock (both are dropped when the process ends), with fcntl itself
# out of reach of addin.io.scratch: its Windows branch run on this machine.
AS_ON_WINDOWS = """
import fcntl, sys, types
msvcrt = types.ModuleType("msvcrt")
msvcrt.LK_NBLCK = 2
msvcrt.locking = lambda fd, mode, n: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
sys.modules["msvcrt"], sys.modules["fcntl"] = msvcrt, None
from addin.io import scratch
scratch._WINDOWS = True
"""


def test_the_windows_lock_keeps_a_live_run_and_frees_a_killed_one(tmp_path: Path) -> None:
    live = subprocess.Popen(
        [sys.executable, "-c", AS_ON_WINDOWS + "print(scratch.run_folder(), flush=True); input()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPOSITORY)},
    )
    folder = Path(live.stdout.readline().strip())
    assert folder.name.startswith("run-") and (folder / "lock").is_file()
    check = AS_ON_WINDOWS + f"print(scratch.remove_stale_runs(scratch.Path({str(folder.parent)!r})))"

    def stale() -> str:
        env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "PYTHONPATH": str(REPOSITORY)}
        done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    assert stale() == "[]" and folder.is_dir()
    live.kill()
    live.wait()
    assert str(folder) in stale() and not folder.exists()
