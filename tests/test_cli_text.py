"""The command line speaks Chinese, framework text included (help, usage errors, did-you-mean); it confirms
every file it saves; `-q` prints the verdict only; numbers stay whole on a narrow terminal; and text from
a cell or a file name reaches the terminal as plain, visible text (issue 18's terminal, issue 20 item 1)."""

from __future__ import annotations

import inspect
import io
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
import typer
import typer.core
from rich.console import Console
from rich.table import Table
from typer._click import decorators, exceptions, formatting

from addin import cli_text
from addin.check.consolidate import consolidate
from addin.check.diff import compare
from addin.check.pipeline import check_file
from addin.cli import app
from addin.reports.check_report import print_result
from addin.reports.consolidation_report import print_consolidation
from addin.reports.diff import print_diff
from addin.reports.terminal_text import add_amount_column, print_table, visible
from addin.template_sizes import DEFAULT_ROWS
from addin.templates.bundled import EXAMPLE_EARLIER, EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from schemas.policy import Policy

SHIHEZI = REPOSITORY / EXAMPLES["第八师石河子市"]
EARLIER = REPOSITORY / EXAMPLE_EARLIER
PLAN = REPOSITORY / EXAMPLE_PLAN

# The framework's English, as it would show if any of it were left.
ENGLISH = re.compile(
    r"Usage|Options|Arguments|Commands|Show this|required|default:|Missing|Invalid|Try |Did you mean"
    r"|Error|No such|unexpected|Possible|Aborted|<bool>|<path>|<str>|<int|\[OPTIONS\]|COMMAND"
)


def dtfund(*args: str | Path, columns: int = 100, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "addin", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={"COLUMNS": str(columns), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY)},
    )


def command_paths() -> list[list[str]]:
    """Every command and group of `dtfund`, as the words that name it."""
    paths = []

    def walk(command: typer.core.TyperGroup | typer.core.TyperCommand, words: list[str]) -> None:
        paths.append(words)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*words, name])

    walk(typer.main.get_command(app), [])
    return paths


@pytest.mark.parametrize("words", command_paths(), ids=lambda words: " ".join(words) or "dtfund")
def test_help_is_chinese(words: list[str]) -> None:
    process = dtfund(*words, "--help")
    assert process.returncode == 0, process.stderr
    assert not ENGLISH.search(process.stdout), process.stdout
    assert "用法：" in process.stdout and "显示此帮助并退出。" in process.stdout
    assert "选项" in process.stdout


@pytest.mark.parametrize("words", [["check"], [], ["consolidate"]], ids=["check", "dtfund", "consolidate"])
def test_help_is_whole_on_a_narrow_terminal(words: list[str]) -> None:
    """Chinese help has no spaces to wrap at: it folds onto the next line instead of ending in "…"."""
    for columns in (60, 80):
        output = dtfund(*words, "--help", columns=columns).stdout
        assert "…" not in output, output


def test_help_shows_required_and_default_in_chinese() -> None:
    output = dtfund("template", "application", "--help").stdout
    assert "[必填]" in output and f"[默认：{DEFAULT_ROWS}]" in output
    assert "<整数>" in output and "<路径>" in output
    assert "参数" in dtfund("check", "--help").stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["chek"], "没有命令“chek”。您是不是要输入 check？"),
        (["check", "--jsn", "x.xlsx"], "没有选项“--jsn”。您是不是要输入 --json？"),
        (["explain", "x.xlsx"], "缺少选项“--row”。"),
        (["explain"], "缺少参数“文件”。"),
        (["template", "application", "-o", "x.xlsx", "--rows", "0"], "应为 1 到 1000000 之间的整数"),
        (["template", "application", "-o", "x.xlsx", "--rows", "abc"], "选项“--rows”的值无效"),
        (["check", "a.xlsx", "b.xlsx"], "多余的参数：b.xlsx。"),
        (["check", "a.xlsx", "--json"], "选项“--json”后面要跟一个值。"),
        (["template", "application"], "缺少选项“--output / -o”。"),
    ],
)
def test_usage_errors_are_chinese(args: list[str], says: str) -> None:
    process = dtfund(*args)
    assert process.returncode == 2
    assert says in process.stderr, process.stderr
    assert not ENGLISH.search(process.stdout + process.stderr), process.stderr


def test_usage_error_names_the_help() -> None:
    stderr = dtfund("check", "--jsn", "x").stderr
    assert "用法：" in stderr and "check [选项] 文件" in stderr
    assert "请运行" in stderr and "check --help 查看帮助。" in stderr


def test_a_group_without_a_command_shows_its_help_in_chinese() -> None:
    process = dtfund("template")
    assert process.returncode == 2
    assert "命令" in process.stdout and not ENGLISH.search(process.stdout + process.stderr)


@pytest.mark.parametrize(("typed", "meant"), [("第八师", "第八师石河子市"), ("石河子", "第八师石河子市")])
def test_a_unit_not_listed_offers_the_one_meant(typed: str, meant: str, tmp_path: Path) -> None:
    process = dtfund("template", "application", "-o", tmp_path / "a.xlsx", "--unit", typed)
    assert process.returncode == 2
    assert f"填报单位“{typed}”不在名单中。您是不是要输入 {meant}？" in process.stderr
    assert not (tmp_path / "a.xlsx").exists()


def test_a_unit_like_none_listed_lists_them(tmp_path: Path) -> None:
    stderr = dtfund("template", "application", "-o", tmp_path / "a.xlsx", "--unit", "xyz").stderr
    assert "填报单位“xyz”不在名单中。名单：第一师阿拉尔市" in stderr.replace("\n", "")


def test_a_missing_file_says_so_in_separate_sentences_with_a_fitting_hint() -> None:
    process = dtfund("check", "不存在.xlsx")
    assert process.returncode == 2
    message = process.stderr.replace("\n", "")
    assert "找不到文件：不存在.xlsx。建议：请检查文件名和所在的文件夹。" in message
    assert "未加密" not in message


def test_every_saved_file_is_confirmed_and_quiet_prints_the_verdict_only(tmp_path: Path) -> None:
    html, json_out, annotated = tmp_path / "r.html", tmp_path / "r.json", tmp_path / "标注.xlsx"
    output = dtfund("check", SHIHEZI, "--html", html, "--json", json_out, "--annotate", annotated).stdout
    lines = output.splitlines()
    for confirmation in (
        f"已保存 HTML 校验报告：{html}",
        f"已保存 JSON 校验结果：{json_out}",
        f"已保存标注副本：{annotated}",
    ):
        assert confirmation in lines, output
    quiet = dtfund("check", SHIHEZI, "-q", "--html", html)
    (only,) = quiet.stdout.strip().splitlines()
    assert re.fullmatch(r"校验结论：不通过（错误 \d+ 条，警告 \d+ 条）", only)
    files = [SHIHEZI, REPOSITORY / EXAMPLES["第一师阿拉尔市"]]
    summary = tmp_path / "汇总.xlsx"
    quiet = dtfund("consolidate", *files, "--plan", PLAN, "-o", summary, "-q")
    assert len(quiet.stdout.strip().splitlines()) == 1 and quiet.stdout.startswith("汇总结论：")
    loud = dtfund("consolidate", *files, "--plan", PLAN, "-o", summary, "--html", tmp_path / "s.html").stdout
    assert f"已保存汇总表：{summary}" in loud and "已保存 HTML 汇总报告：" in loud
    quiet = dtfund("diff", EARLIER, SHIHEZI, "-q")
    assert len(quiet.stdout.strip().splitlines()) == 1 and quiet.stdout.startswith("比较结论：")


def test_the_demo_prints_only_paths_that_exist(tmp_path: Path) -> None:
    output = dtfund("demo", "--output-dir", "演示", cwd=tmp_path).stdout
    assert "/tmp" not in output
    named = re.findall(r"示例-[^\s：（）│]+?\.xlsx", output)
    assert named
    for name in set(named):
        assert (tmp_path / "演示" / "示例文件" / name).exists(), name
    assert "已保存汇总表：演示/汇总.xlsx" in output


def test_times_are_beijing_time(tmp_path: Path) -> None:
    import json

    out = tmp_path / "r.json"
    dtfund("check", SHIHEZI, "--json", out, "--html", tmp_path / "r.html")
    assert json.loads(out.read_text("utf-8"))["checked_at"].endswith("+08:00")
    assert "（北京时间）" in (tmp_path / "r.html").read_text("utf-8")


def test_amounts_stay_whole_on_a_narrow_terminal(policy: Policy) -> None:
    """Every amount of the number tables a wide terminal shows, a 60-column one shows too, whole. (An
    amount inside a Chinese sentence, in an issue's message, folds with the sentence.)"""
    amount = re.compile(r"-?\d{1,3}(?:,\d{3})*\.\d{2}%?")
    checked = check_file(SHIHEZI, policy)
    consolidation = consolidate([SHIHEZI, REPOSITORY / EXAMPLES["第一师阿拉尔市"]], PLAN, policy)
    compared = compare(check_file(EARLIER, policy), checked)
    printers = [
        lambda console: print_result(checked, console, show_issues=False),
        lambda console: print_consolidation(consolidation, console, show_issues=False),
        lambda console: print_diff(compared, console),
    ]
    for print_it in printers:
        wide, narrow = rendered(print_it, 250), rendered(print_it, 60)
        assert amount.findall(wide), wide
        assert Counter(amount.findall(narrow)) == Counter(amount.findall(wide)), narrow
        assert max(map(len, narrow.splitlines())) <= 60


def rendered(print_it: Callable[[Console], None], width: int) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    print_it(console)
    return console.export_text()


def test_print_table_keeps_numbers_whole_at_every_width() -> None:
    for width in (120, 80, 60, 40):
        table = Table(title="计划执行情况（元）")
        table.add_column("计划行", overflow="fold")
        table.add_column("资金来源", overflow="fold")
        for header in ("计划", "已承诺", "剩余", "执行率"):
            add_amount_column(table, header)
        table.add_row("（十四）1", "中央", "121,500,000.00", "5,159,000.00", "116,341,000.00", "100.00%")
        console = Console(width=width, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        print_table(console, table)
        text = console.export_text()
        for amount in ("121,500,000.00", "5,159,000.00", "116,341,000.00", "100.00%"):
            assert amount in text, (width, text)


# --- issue 18: the terminal ---------------------------------------------------------------------

# ESC, CSI and BEL are stored as Excel stores them, _xHHHH_ escapes, which readers decode.
HOSTILE_TEXTS = [
    "[/]",
    "[link=http://x]a[/link]",
    "_x001B_[2J清屏",
    "\u202e反向",
    "_x009B_31m",
    "_x0007_响铃",
]


def hostile_copy(folder: Path) -> Path:
    """The example with hostile text in 企业名称 and other text cells, in a file whose name is rich markup."""
    workbook = openpyxl.load_workbook(SHIHEZI)
    sheet = workbook["申报表"]
    for row, text in enumerate(HOSTILE_TEXTS, start=5):
        sheet[f"A{row}"] = f"企业{text}"
        sheet[f"F{row}"] = f"服务商{text}"
        sheet[f"E{row}"] = text  # 企业规模: not an allowed value, so an issue quotes it
    path = folder / "a[red]b[link=x]c.xlsx"  # a name cannot hold "/"; markup that would hide text
    workbook.save(path)
    return path


def assert_plain(process: subprocess.CompletedProcess) -> str:
    output = process.stdout + process.stderr
    assert "Traceback" not in output, output
    for acting in ("\x1b", "\u202e", "\x9b", "\x07"):
        assert acting not in output, repr(acting)
    return output


def test_hostile_cells_and_file_name_are_printed_as_plain_visible_text(tmp_path: Path) -> None:
    path = hostile_copy(tmp_path)
    check = dtfund("check", path, "--all", columns=250)
    assert check.returncode == 1, check.stderr
    output = assert_plain(check)
    assert "a[red]b[link=x]c.xlsx" in output and "“[/]”" in output and "[link=http://x]a[/link]" in output
    assert "␛[2J清屏" in output and "\\u202e反向" in output and "\\u009b31m" in output and "␇响铃" in output
    explain = dtfund("explain", path, "--row", "7", columns=250)
    assert explain.returncode == 0, explain.stderr
    assert "企业␛[2J清屏" in assert_plain(explain)
    explain = dtfund("explain", path, "--row", "5", columns=250)
    assert "企业[/]" in assert_plain(explain)
    diff = dtfund("diff", SHIHEZI, path, columns=250)
    assert diff.returncode == 1
    assert "服务商[link=http://x]a[/link]" in assert_plain(diff)
    folder = tmp_path / "师市"
    folder.mkdir()
    shutil.copyfile(path, folder / path.name)
    consolidate = dtfund(
        "consolidate", folder, "--plan", PLAN, "-o", tmp_path / "汇总.xlsx", "--all", columns=300
    )
    assert consolidate.returncode == 1, consolidate.stderr
    assert "a[red]b[link=x]c.xlsx" in assert_plain(consolidate)


def test_visible_marks_every_acting_character() -> None:
    assert visible("a\x1b[2Jb\u202ec\x00\x7f\x85\td\ne") == "a␛[2Jb\\u202ec␀␡\\u0085\td\ne"


def test_a_hostile_argument_in_a_usage_error_is_plain(tmp_path: Path) -> None:
    process = dtfund("check", "--[/]\x1b[2J")
    assert process.returncode == 2
    assert_plain(process)


# --- the typer internals cli_text relies on -----------------------------------------------------


def test_typer_is_a_release_cli_text_was_checked_against() -> None:
    assert typer.__version__.rsplit(".", 1)[0] in cli_text.TYPER_VERSIONS, (
        f"typer {typer.__version__}: check addin/cli_text.py's five places against it, then add it"
    )


def test_the_english_cli_text_replaces_is_where_it_was() -> None:
    sources = {
        "formatting": inspect.getsource(formatting),
        "decorators": inspect.getsource(decorators),
        "exceptions": inspect.getsource(exceptions),
        "core": inspect.getsource(typer.core),
        "click core": inspect.getsource(typer._click.core),
        "parser": inspect.getsource(typer._click.parser),
    }
    assert 'prefix = "Usage: "' in sources["formatting"]
    assert 'help="Show this message and exit."' in sources["decorators"]
    for english in ("[OPTIONS]", "COMMAND [ARGS]..."):
        assert english in sources["core"]
    for english in ("No such command {name!r}.", "Did you mean", "Missing command.", "def _main("):
        assert english in sources["core"]
    assert "def display_type(self, ctx" in sources["core"]
    assert "Got unexpected extra argument(s)" in sources["click core"]
    assert "does not take a value." in sources["parser"] and "requires {msg}" in sources["parser"]
    for name in ("NoSuchOption", "MissingParameter", "BadParameter", "BadOptionUsage", "NoArgsIsHelpError"):
        assert f"class {name}(" in sources["exceptions"]
    from typer import rich_utils

    rich_source = inspect.getsource(rich_utils)
    for name in cli_text.RICH_HELP_TEXT:
        assert f"\n{name} = " in rich_source, name


def test_version_is_shown() -> None:
    process = dtfund("--version")
    assert process.returncode == 0 and re.fullmatch(r"dtfund \S+\n", process.stdout), process.stdout


@pytest.mark.parametrize("columns", [80, 120])
def test_issues_read_in_one_layout_at_80_and_120_columns(columns: int, policy: Policy) -> None:
    """Each issue a heading line (cell, rule, severity, clause) with its message and fix under it across
    the terminal: the same at every width, never a message squeezed into a narrow column (issue 27)."""
    checked = check_file(SHIHEZI, policy)
    output = rendered(lambda console: print_result(checked, console), columns)
    lines = output.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= columns
    headings = [line for line in lines if line.startswith("● ")]
    assert len(headings) == len(checked.issues)
    for issue, heading in zip(checked.issues, headings, strict=True):
        assert heading.startswith(f"● {issue.where}　{issue.rule}　"), heading
    flat = re.sub(r"\s+", "", output)
    for issue in checked.issues:
        assert re.sub(r"\s+", "", issue.message) in flat
    wide = rendered(lambda console: print_result(checked, console), 120)
    assert [line for line in wide.splitlines() if line.startswith("● ")] == headings
    # the message runs across the terminal: no more lines than a message's length at that width needs
    issue_lines = output[output.index("问题清单") : output.index("补贴金额合计")].splitlines()
    assert len(issue_lines) <= 6 * len(checked.issues)
