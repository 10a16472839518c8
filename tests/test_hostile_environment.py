"""Round three of the hostile corpus (issue 26), through the `dtfund` command in a subprocess: float
noise, Chinese Windows consoles (GBK, cp1252), closed, full and broken stdout, bounds, disks that fail,
deleted working folders, and what a clerk does in Excel. Every case: no traceback or panic text, the
right exit code, a Chinese message on exit 2, within 30 s, the input unchanged, nothing left behind,
the JSON written when asked, and the case's own expected outcome."""

from __future__ import annotations

import hashlib
import json
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest

from addin import template_spec as spec
from addin.templates.bundled import EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from tests.support import hostile_environment as corpus

TIME_LIMIT = 30
MEMORY_LIMIT = 4 * 1024**3
PLAN = REPOSITORY / EXAMPLE_PLAN
CHINESE = ("错误", "无法", "请")  # one of these in any exit-2 message
LETTERS = spec.column_letters()


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def dtfund(
    *args: str | Path,
    redirect: str = "",
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: int = TIME_LIMIT,
) -> subprocess.CompletedProcess:
    """The command in a shell, so that its stdout can be closed (`>&-`), full (`>/dev/full`) or a pipe
    (`| head -1`): `redirect` is put after it. The exit code is the command's own (not head's)."""
    command = " ".join(shlex.quote(str(a)) for a in (sys.executable, "-m", "addin", *args))
    script = (
        f"set -o pipefail 2>/dev/null; {command} {redirect}" if "|" in redirect else f"{command} {redirect}"
    )
    return subprocess.run(
        ["bash", "-c", script],
        capture_output=True,
        timeout=timeout,
        preexec_fn=_limits,
        env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY), **(env or {})},
        cwd=cwd,
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_sound(
    process: subprocess.CompletedProcess, exit_codes: tuple[int, ...], encoding: str = "utf-8"
) -> str:
    """The bar every run meets; returns its output as text."""
    output = (process.stdout + process.stderr).decode(encoding, "replace")
    assert process.returncode in exit_codes, output[-3000:]
    for crash in ("Traceback", "panicked", "Exception ignored", "Error:"):
        assert crash not in output, output[-3000:]
    if process.returncode == 2 and encoding == "utf-8":
        assert any(word in output for word in CHINESE), output[-3000:]
    return output


@dataclass(frozen=True)
class Case:
    """A workbook of the corpus, what `dtfund check` must end with, and what else must hold."""

    name: str
    build: Callable[[Path], Path]
    exit_codes: tuple[int, ...]
    says: str = ""  # in the terminal output or the JSON
    expect: Callable[[dict, str], None] = field(default=lambda document, output: None)
    options: tuple[str, ...] = ()


def _row_rules(document: dict, row: int) -> set[str]:
    return {i["rule"] for i in document["issues"] if i.get("row") == row}


def _no_noise(document: dict, output: str) -> None:
    assert not {"COST_COMPONENTS_MISMATCH", "CLAIM_OVER_CAP", "AMOUNT_PRECISION", "PAID_EXCEEDS_CONTRACT"} & (
        _row_rules(document, 5)
    ), _row_rules(document, 5)
    [row] = [r for r in document["rows"] if r["row"] == 5]
    assert row["amounts"]["transformation_subsidy"] == "500000.00"


def _sub_cent(document: dict, output: str) -> None:
    assert _row_rules(document, 5) == {"AMOUNT_PRECISION"}


def _revision(document: dict, output: str) -> None:
    assert "REVISION_INVALID" in {i["rule"] for i in document["issues"]}


def _long_name(document: dict, output: str) -> None:
    assert corpus.LONG_NAME not in output
    assert max(map(len, output.splitlines())) < 1000
    assert any(r["name"] == corpus.LONG_NAME for r in document["rows"]), "the JSON keeps the name whole"


def _renamed(document: dict, output: str) -> None:
    rules = {(i["rule"], i["sheet"]) for i in document["issues"]}
    assert ("SHEET_RENAMED", corpus.RENAMED) in rules
    assert ("FEE_SERVICE_OVER_20", corpus.RENAMED) in rules, "the table was read and checked"


def _uncalculated(document: dict, output: str) -> None:
    cell = f"{LETTERS['contract_total']}5"
    rules = {(i["rule"], i["cell"]) for i in document["issues"]}
    assert ("FORMULA_NOT_CALCULATED", cell) in rules and ("REQUIRED_MISSING", cell) not in rules
    assert "Ctrl+Alt+F9" in output


CASES = [
    Case("amounts typed as formulas with float noise", corpus.noisy_formula_amounts, (1,), expect=_no_noise),
    Case("a claim with more places than a cent", corpus.sub_cent_claim, (1,), "AMOUNT_PRECISION", _sub_cent),
    Case("版本号 1E+20", corpus.huge_revision, (1,), "1 至 9999 的整数", _revision),
    Case("版本号 10000", corpus.revision_ten_thousand, (1,), "REVISION_INVALID", _revision),
    Case(
        "names of thousands of characters", corpus.long_names, (1,), "", _long_name, ("--print", "form.pdf")
    ),
    Case(
        "a column filled down to row 1,048,576",
        corpus.filled_down,
        (2,),
        "第 205 行至第 1048576 行有内容，请删除这些行",
    ),
    Case(
        "a formula giving blank filled down to row 1,048,576",
        corpus.filled_down_formula,
        (2,),
        "第 205 行至第 1048576 行有内容，请删除这些行",
    ),
    Case("申报表 renamed", corpus.renamed_sheet, (1,), "SHEET_RENAMED", _renamed),
    Case(
        "a formula never calculated", corpus.uncalculated_formula, (1,), "没有保存它的计算结果", _uncalculated
    ),
]


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, marks=[pytest.mark.triggers(rule) for rule in rules])
        for c, rules in zip(
            CASES,
            [
                (),
                ("AMOUNT_PRECISION",),
                ("REVISION_INVALID",),
                ("REVISION_INVALID",),
                (),
                (),
                (),
                ("SHEET_RENAMED",),
                ("FORMULA_NOT_CALCULATED",),
            ],
            strict=True,
        )
    ],
    ids=[c.name for c in CASES],
)
def test_hostile_environment_corpus(case: Case, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    path = case.build(folder)
    before = _digest(path)
    out = tmp_path / "out"
    out.mkdir()
    options = [out / o if o.endswith(".pdf") else o for o in case.options]
    started = time.monotonic()
    process = dtfund("check", path, "--json", out / "result.json", *options)
    elapsed = time.monotonic() - started
    output = assert_sound(process, case.exit_codes)
    assert elapsed < TIME_LIMIT
    document = json.loads((out / "result.json").read_text("utf-8"))
    assert case.says in output + json.dumps(document, ensure_ascii=False)
    case.expect(document, output)
    for option in options:
        if isinstance(option, Path):
            assert option.is_file() and option.stat().st_size > 0
    assert _digest(path) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["result.json", *(p.name for p in options if isinstance(p, Path))]
    )
    assert sorted(p.name for p in folder.iterdir()) == [path.name], "nothing left beside the input"


def test_a_long_name_is_cut_on_the_terminal(tmp_path: Path) -> None:
    output = assert_sound(dtfund("explain", corpus.long_names(tmp_path), "--row", "5"), (0,))
    assert corpus.LONG_NAME not in output and "…（共 5016 字）" in output  # (第 5 行 … 的补贴计算)


def test_a_fill_down_is_refused_within_ten_seconds_of_work(tmp_path: Path) -> None:
    """Refused naming the rows, in under 10 s of the processor (the wall clock of a shared machine
    says less)."""
    path = corpus.filled_down(tmp_path)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = dtfund("check", path)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = assert_sound(process, (2,))
    assert "第 205 行至第 1048576 行" in output and "请删除这些行" in output
    work = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert work < 10, f"{work:.1f} s"


# --- consoles and streams ----------------------------------------------------------------------------

ALL_OUTPUTS = (
    "--html",
    "report.html",
    "--annotate",
    "copy.xlsx",
    "--print",
    "form.pdf",
    "--json",
    "result.json",
)


def _check_everything(tmp_path: Path, redirect: str = "", env: dict[str, str] | None = None):
    source = corpus.odd_characters(tmp_path)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    options = [out / o if "." in o else o for o in ALL_OUTPUTS]
    return source, out, dtfund("check", source, *options, redirect=redirect, env=env)


@pytest.mark.parametrize("encoding", ["gbk", "cp1252"])
def test_a_windows_code_page_replaces_what_it_cannot_encode(encoding: str, tmp_path: Path) -> None:
    """stdout a pipe in the console's code page (as on Chinese or English Windows): ✓ and 𠮷 (and,
    under cp1252, every Chinese character) are replaced; the run ends as its work earned (0: no error)."""
    _, out, process = _check_everything(tmp_path, env={"PYTHONIOENCODING": encoding})
    output = assert_sound(process, (0,), encoding=encoding)
    process.stdout.decode(encoding)  # strictly: every byte written is the code page's
    assert "校验结论" in output if encoding == "gbk" else "?" in output
    assert len(list(out.iterdir())) == 4


@pytest.mark.parametrize(
    "redirect",
    [">&-", ">/dev/full", "| head -1", "2>&- >&-", "2>/dev/full >/dev/full"],
    ids=["closed", "full", "broken pipe", "both closed", "both full"],
)
def test_a_stdout_that_takes_nothing_ends_the_run_quietly(redirect: str, tmp_path: Path) -> None:
    _, out, process = _check_everything(tmp_path, redirect=redirect)
    assert_sound(process, (0,))
    assert sorted(p.name for p in out.iterdir()) == ["copy.xlsx", "form.pdf", "report.html", "result.json"]
    assert json.loads((out / "result.json").read_text("utf-8"))["valid"] is True


@pytest.mark.parametrize("redirect", [">&-", "| head -1"], ids=["closed", "broken pipe"])
def test_json_to_a_stdout_that_takes_nothing(redirect: str, tmp_path: Path) -> None:
    process = dtfund("check", REPOSITORY / EXAMPLES["第八师石河子市"], "--json", "-", redirect=redirect)
    assert_sound(process, (1,))


@pytest.mark.parametrize("redirect", ["", ">&-", ">/dev/full", "| head -1"])
def test_every_command_survives_any_stdout(redirect: str, tmp_path: Path) -> None:
    example = REPOSITORY / EXAMPLES["第八师石河子市"]
    for args, code in [
        (("--help",), 0),
        (("rules",), 0),
        (("explain", example, "--row", "5"), 0),
        (
            (
                "diff",
                example,
                corpus.CLEAN,
            ),
            1,
        ),
        (("template", "application", "-o", tmp_path / "t.xlsx"), 0),
        (
            (
                "consolidate",
                example,
                "--plan",
                PLAN,
                "-o",
                tmp_path / "s.xlsx",
                "--json",
                tmp_path / "s.json",
            ),
            1,
        ),
    ]:
        process = dtfund(*args, redirect=redirect, env={"PYTHONIOENCODING": "gbk"})
        assert_sound(process, (code,), encoding="gbk")
    assert (tmp_path / "s.json").is_file() and (tmp_path / "t.xlsx").is_file()


# --- disks and folders -------------------------------------------------------------------------------


def _mounted(folder: Path, options: str) -> Path:
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.decode(errors='replace')}")
    return folder


@pytest.fixture
def small_disk(tmp_path: Path):
    folder = _mounted(tmp_path / "small", "size=12k")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture
def read_only_disk(tmp_path: Path):
    folder = _mounted(tmp_path / "ro", "size=1m,ro")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_is_one_sentence(small_disk: Path) -> None:
    example = REPOSITORY / EXAMPLES["第八师石河子市"]
    for args in [
        ("check", example, "--annotate", small_disk / "a.xlsx", "--json", small_disk / "a.json"),
        (
            "consolidate",
            example,
            "--plan",
            PLAN,
            "-o",
            small_disk / "s.xlsx",
            "--html",
            small_disk / "s.html",
        ),
    ]:
        output = assert_sound(dtfund(*args), (2,))
        assert "磁盘空间不足" in output
        assert not [p for p in small_disk.iterdir() if p.name.startswith(".dtfund-")], "nothing left behind"


def test_a_read_only_disk_is_named(read_only_disk: Path) -> None:
    process = dtfund("check", REPOSITORY / EXAMPLES["第八师石河子市"], "--json", read_only_disk / "r.json")
    assert "只读" in assert_sound(process, (2,))


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    process = dtfund(
        "check", REPOSITORY / EXAMPLES["第八师石河子市"], "--json", tmp_path / "nowhere" / "r.json"
    )
    assert "所在的文件夹不存在" in assert_sound(process, (2,))


def test_a_deleted_working_folder(tmp_path: Path) -> None:
    """Started in a folder deleted since: absolute outputs are written; a relative path is refused
    naming the deleted folder, not a missing one."""
    gone = tmp_path / "gone"
    gone.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    example = REPOSITORY / EXAMPLES["第八师石河子市"]
    absolute = [out / "r.json", out / "r.html", out / "r.pdf", out / "r.xlsx"]
    script = f"cd {shlex.quote(str(gone))} && rmdir {shlex.quote(str(gone))} && "
    options = [
        "--json",
        absolute[0],
        "--html",
        absolute[1],
        "--print",
        absolute[2],
        "--annotate",
        absolute[3],
    ]
    runs = [(("check", example, *options), 1), (("check", example, "--json", "rel.json"), 2), (("demo",), 2)]
    for args, code in runs:  # (demo writes its folder where it is run: said so, not "所在的文件夹不存在")
        gone.mkdir(exist_ok=True)
        command = " ".join(shlex.quote(str(a)) for a in (sys.executable, "-m", "addin", *args))
        process = subprocess.run(
            ["bash", "-c", script + command],
            capture_output=True,
            timeout=TIME_LIMIT,
            env={"COLUMNS": "120", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY)},
        )
        output = assert_sound(process, (code,))
        if code == 2:
            assert "当前文件夹已被删除" in output
    assert all(p.is_file() for p in absolute)


# --- consolidation -----------------------------------------------------------------------------------


def test_names_that_look_like_formulas_reach_the_summary_as_typed(tmp_path: Path) -> None:
    path = corpus.formula_like_names(tmp_path)
    summary = tmp_path / "s.xlsx"
    assert_sound(dtfund("consolidate", path, "--plan", PLAN, "-o", summary), (1,))
    cells = [c for ws in openpyxl.load_workbook(summary) for row in ws.iter_rows() for c in row]
    texts = {c.value for c in cells if c.data_type == "s"}
    assert set(corpus.FORMULA_LIKE_NAMES) <= texts
    assert not [c for c in cells if c.data_type == "f"]


@pytest.mark.triggers("OWN_OUTPUT_LEFT_OUT")
def test_a_consolidation_run_again_over_its_own_outputs(tmp_path: Path) -> None:
    folder = tmp_path / "各师市"
    folder.mkdir()
    for name in ("division-01-alar.xlsx", "division-06-wujiaqu.xlsx"):
        (folder / name).write_bytes((REPOSITORY / "addin/examples" / name).read_bytes())
    outputs = ("-o", folder / "兵团汇总.xlsx", "--json", folder / "汇总.json", "--html", folder / "汇总.html")
    first = dtfund("consolidate", folder, "--plan", PLAN, *outputs)
    assert_sound(first, (1,))
    again = dtfund("consolidate", folder, "--plan", PLAN, *outputs)
    assert_sound(again, (1,))
    document = json.loads((folder / "汇总.json").read_text("utf-8"))
    left_out = [i for f in [document] for i in _all_issues(f) if i["rule"] == "OWN_OUTPUT_LEFT_OUT"]
    assert len(left_out) == 3
    assert {Path(f["file"]).name for f in document["files"]} == {
        "division-01-alar.xlsx",
        "division-06-wujiaqu.xlsx",
    }


def _all_issues(document: dict) -> list[dict]:
    issues = list(document.get("issues", []))
    for file in document["files"]:
        issues += file.get("issues", [])
    return issues


def test_ten_thousand_stray_files_print_a_bounded_list(tmp_path: Path) -> None:
    folder = tmp_path / "各师市"
    folder.mkdir()
    (folder / "alar.xlsx").write_bytes((REPOSITORY / "addin/examples/division-01-alar.xlsx").read_bytes())
    for n in range(10_000):
        (folder / f"说明-{n}.txt").write_text("x")
    process = dtfund(
        "consolidate",
        folder,
        "--plan",
        PLAN,
        "-o",
        tmp_path / "s.xlsx",
        "--json",
        tmp_path / "s.json",
        timeout=60,
    )
    output = assert_sound(process, (2,))
    assert len(output.splitlines()) < 2500
    assert "另有 9950 个文件未汇总" in output
    assert len(json.loads((tmp_path / "s.json").read_text("utf-8"))["files"]) == 10_001


def test_rows_of_finds_wanted_rows_across_piece_boundaries() -> None:
    from addin.io.sheet_extent import rows_of

    xml = b'<sheetData><row r="5"><c r="A5"><v>1</v></c></row><row r="6"><c r="K6"><f>1+1</f></c></row>'
    xml += b'<row r="9" spans="1:2"><c r="B9"/></row></sheetData>'
    for size in (1, 7, 64, len(xml)):
        pieces = [xml[n : n + size] for n in range(0, len(xml), size)]
        found = list(rows_of(iter(pieces), {6, 9}))
        assert [row.split(b">")[0] for row in found] == [b'<row r="6"', b'<row r="9" spans="1:2"'], size
        assert b'<c r="K6"><f>1+1</f></c>' in found[0]
