"""The `dtfund` command.

Only what parses the command line is imported up front: each command queues its input workbooks for
reading ahead before it imports its machinery (pandas, pandera), so that the two overlap."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from addin import cli_text
from addin.io.input_files import search_inputs
from addin.io.output import (
    OutputError,
    cannot_write,
    current_folder_exists,
    current_folder_gone_message,
    make_output_folder,
    mark_own_workbooks,
    refuse_conflicting_outputs,
    write_bytes_atomically,
    write_text_atomically,
)
from addin.io.overwrite import refuse_replacing_data, refuse_replacing_work
from addin.io.process import run_process, start_reading_ahead, stop_reading_ahead
from addin.io.streams import make_streams_forgiving, write_stdout_bytes
from addin.ledger.commands import ConsolidateLedgerOption, ledger_app, settle_with_ledger
from addin.reports.terminal_text import labelled, plain, print_table, visible
from addin.template_sizes import AWARDS_DEFAULT_ROWS, AWARDS_MAX_ROWS, DEFAULT_ROWS, MAX_ROWS

if TYPE_CHECKING:
    from addin.check.pipeline import CheckResult
    from schemas.policy import Policy

cli_text.install()

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2
DEMO_UNIT = "第八师石河子市"

app = typer.Typer(add_completion=False, no_args_is_help=True)


def _show_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("dtfund")
        except PackageNotFoundError:  # run from a checkout that was never installed
            number = "未安装"
        typer.echo(f"dtfund {number}")
        raise typer.Exit()


@app.callback()
def _options(
    context: typer.Context,
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="显示 dtfund 的版本并退出。"),
    ] = False,
) -> None:
    """兵团中小企业数字化转型城市试点专项资金：申报模板、校验与汇总。"""
    mark_own_workbooks()  # so that the next run recognises them (addin.io.overwrite), while this command runs
    context.call_on_close(partial(mark_own_workbooks, False))


template_app = typer.Typer(no_args_is_help=True, help="生成填报模板。")
app.add_typer(template_app, name="template")
addin_app = typer.Typer(no_args_is_help=True, help="Excel 加载项（专项资金 选项卡）。")
app.add_typer(addin_app, name="addin")
policy_app = typer.Typer(no_args_is_help=True, help="政策文件（YAML）：写法见 docs/policy.md。")
app.add_typer(policy_app, name="policy")
app.add_typer(ledger_app, name="ledger")

# Nothing printed is read as rich markup: a file name or cell text like "[/]" or "[link=…]" is shown as
# it is (styles are given as rich Text; addin.reports.terminal_text).
console = Console(markup=False, emoji=False)
errors = Console(stderr=True, markup=False, emoji=False)


def _fail(message: str, code: int = EXIT_UNREADABLE) -> typer.Exit:
    errors.print(labelled("错误", message, style="bold red"))
    return typer.Exit(code)


def _saved(what: str, path: Path, machine_output: bool = False) -> None:
    """Confirm a file written: "已保存 HTML 校验报告：path", one line however long (on stderr when stdout
    carries JSON)."""
    (errors if machine_output else console).print(plain(f"已保存{what}：{path}"), soft_wrap=True)


# A policy without a fund-use plan (合肥's measures): no plan template, and nothing to consolidate against.
NO_PLAN = (
    "政策“{policy}”没有资金使用计划（政策文件中没有 plan），不能生成计划表，也不能汇总（汇总须对照计划表）。"
)


def _policy(path: Path | None) -> Policy:
    from schemas.policy import PolicyError, load_policy

    try:
        return load_policy(path)
    except PolicyError as exc:
        raise _fail(str(exc)) from None


def _exit_code(result: CheckResult) -> int:
    if result.kind is None:
        return EXIT_UNREADABLE
    return EXIT_OK if result.valid else EXIT_ERRORS


ShowAllOption = Annotated[
    bool, typer.Option("--all", help="在终端列出全部问题（默认只列出前面的一部分，并按规则统计条数）。")
]
PolicyOption = Annotated[Path | None, typer.Option("--policy", help="使用另一个政策参数文件（YAML）。")]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force", "-f", help="替换已存在的输出文件（dtfund 生成且未被改动过的输出文件不加此项也会替换）。"
    ),
]
OverwriteDataOption = Annotated[
    bool,
    typer.Option("--overwrite-data", help="用空白模板替换已填写了数据的工作簿（填写的数据将全部丢失）。"),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="只输出一行结论（不列出问题和表格，也不提示保存的文件）。")
]


@app.command()
def check(
    file: Annotated[Path, typer.Argument(metavar="文件", help="要校验的申报表 .xlsx 文件。")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="把结果写成 JSON 文件；- 表示输出到终端。")
    ] = None,
    policy_file: PolicyOption = None,
    quiet: QuietOption = False,
    show_all: ShowAllOption = False,
    html: Annotated[Path | None, typer.Option("--html", help="另存一份可打印的 HTML 校验报告。")] = None,
    annotate: Annotated[
        Path | None,
        typer.Option("--annotate", help="另存一份标出问题单元格、附“校验结果”工作表的副本（.xlsx/.xlsm）。"),
    ] = None,
    print_out: Annotated[
        Path | None,
        typer.Option(
            "--print", help="另存一份报送表 PDF（A4 横向：各企业、合计、校验结论、签章栏），供打印盖章报送。"
        ),
    ] = None,
    force: ForceOption = False,
) -> None:
    """校验一个申报表：逐项重算金额，列出每个问题的单元格、规则、依据和修改建议。

    退出码：0 = 没有错误（可以有警告）；1 = 有错误；2 = 文件无法读取或不是本模板。
    """
    _refuse_conflicting_outputs(
        {"--json": json_out, "--html": html, "--annotate": annotate, "--print": print_out}, [file], force
    )
    if annotate is not None and annotate.suffix.lower() != file.suffix.lower():
        raise _fail(  # before the check: a refusal after it would waste the clerk's wait
            f"标注副本的扩展名应与原文件相同（{file.suffix}），以免丢失宏或格式。"
            f"请为 --annotate 换一个以 {file.suffix} 结尾的文件名。"
        )
    if print_out is not None and print_out.suffix.lower() != ".pdf":
        raise _fail(
            f"--print 的文件 {print_out} 的扩展名不是 .pdf（报送表是 PDF 文件）。请换一个以 .pdf 结尾的文件名。"
        )
    start_reading_ahead([file])
    from addin.check.pipeline import check_file
    from addin.reports.check_report import print_result, result_document, to_json, verdict
    from schemas.registry import sentence

    policy = _policy(policy_file)
    machine_output = json_out is not None and str(json_out) == "-"
    with _status("正在校验……", hidden=quiet or machine_output):
        result = check_file(file, policy)
    saved: list[tuple[str, Path]] = []
    try:
        _write_check_outputs(result, file, html, annotate, saved)
        if print_out is not None:
            from addin.reports.submission_form import write_submission_form

            for warning in write_submission_form(result, file, print_out):
                errors.print(labelled("警告", warning, style="bold yellow"))
            saved.append(("报送表 PDF", print_out))
        failed_output = None
    except OutputError as exc:  # the JSON and the verdict still come first: the check itself is done
        failed_output = exc
    if machine_output:
        _write_stdout(to_json(result_document(result)))
    else:
        if json_out is not None:
            try:
                write_bytes_atomically(json_out, to_json(result_document(result)))
            except OutputError as exc:
                raise _fail(str(exc)) from None
            saved.append((" JSON 校验结果", json_out))
        if result.kind is None:
            for issue in result.issues:  # a damaged template: one issue per damage, its fix below it
                where = "" if issue.rule == "FILE_UNREADABLE" else f" {file}"  # the reader's reason names it
                errors.print(labelled(f"无法校验{where}", sentence(issue.message), style="bold red"))
                if issue.fix:
                    errors.print(labelled("建议", sentence(issue.fix)))
        elif quiet:
            console.print(plain(verdict(result)))
        else:
            print_result(result, console, show_all=show_all)
    if not quiet:
        for what, path in saved:
            _saved(what, path, machine_output)
    if failed_output is not None:
        raise _fail(str(failed_output))
    raise typer.Exit(_exit_code(result))


def _write_stdout(data: bytes) -> None:
    """Machine output (JSON) as the UTF-8 bytes it is, whatever the terminal's encoding."""
    write_stdout_bytes(data)


def _write_check_outputs(
    result: CheckResult, source: Path, html: Path | None, annotate: Path | None, saved: list[tuple[str, Path]]
) -> None:
    """The optional HTML report and annotated copy of a check, each added to `saved` once written."""
    if html is not None:
        from addin.reports.html import check_report

        write_text_atomically(html, check_report(result))
        saved.append((" HTML 校验报告", html))
    if annotate is not None:
        from addin.reports.annotate import write_annotated_copy

        if result.kind is None:
            raise OutputError("文件无法读取，不能生成标注副本。")
        write_annotated_copy(source, result, annotate)
        saved.append(("标注副本", annotate))


@contextmanager
def _status(message: str, hidden: bool) -> Iterator[None]:
    """A spinner on the terminal while a large workbook is read; nothing when output must stay clean."""
    if hidden:
        yield
        return
    with errors.status(message):
        yield


def _require_listed(unit: str | None, units: list[str]) -> None:
    """A pre-filled 填报单位 must be one the template's dropdown offers."""
    if unit is not None and unit not in units:
        meant = cli_text.did_you_mean(cli_text.close_matches(unit, units))
        raise _fail(f"填报单位“{unit}”不在名单中。{meant or '名单：' + '、'.join(units) + '。'}")


def _refuse_conflicting_outputs(outputs: dict[str, Path | None], inputs: list[Path], force: bool) -> None:
    """Before any work: an output that is an input, another output, or not a regular file is refused;
    so is one that would replace a file dtfund did not make (or that was changed since), unless `force`."""
    try:
        refuse_conflicting_outputs(outputs, inputs)
        refuse_replacing_work(outputs, force)
    except OutputError as exc:
        raise _fail(str(exc)) from None


def _refuse_replacing_template(output: Path, policy: Policy, force: bool, overwrite_data: bool) -> None:
    """Before a template is written: the output's checks, and never over a workbook holding entered data
    unless --overwrite-data (which implies --force)."""
    from addin.check.entered_data import entered_data

    try:
        refuse_conflicting_outputs({"-o": output}, [])
        refuse_replacing_data(output, overwrite_data, partial(entered_data, policy=policy))
    except OutputError as exc:
        raise _fail(str(exc)) from None
    _refuse_conflicting_outputs({"-o": output}, [], force or overwrite_data)


def _write_output(write: Callable[[], None]) -> None:
    """Write an output; a refusal (the input itself, a missing folder) is a Chinese message, exit 2."""
    try:
        write()
    except OutputError as exc:
        raise _fail(str(exc)) from None


@template_app.command("application")
def template_application(
    output: Annotated[Path, typer.Option("--output", "-o", help="输出的 .xlsx 文件。")],
    unit: Annotated[
        str | None, typer.Option("--unit", help="预先填好的填报单位，如 第八师石河子市。")
    ] = None,
    rows: Annotated[int, typer.Option("--rows", min=1, max=MAX_ROWS, help="可填写的行数。")] = DEFAULT_ROWS,
    policy_file: PolicyOption = None,
    force: ForceOption = False,
    overwrite_data: OverwriteDataOption = False,
) -> None:
    """生成师市企业数字化改造补贴申报表模板。"""
    from addin.templates.application import write_application_template

    policy = _policy(policy_file)
    _refuse_replacing_template(output, policy, force, overwrite_data)
    _require_listed(unit, policy.value("submitting_units"))
    _write_output(lambda: write_application_template(output, policy, rows=rows, unit=unit))
    _saved(f"申报表模板（{rows} 行）", output)


@app.command()
def rules(
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="把规则一览（含各表的列）写成 Markdown 文件。")
    ] = None,
    columns: Annotated[
        bool, typer.Option("--columns", help="列出申报表和各奖励名单的每一列：类型、能否为空、可选值、规则。")
    ] = False,
    policy_file: PolicyOption = None,
    force: ForceOption = False,
) -> None:
    """列出全部校验规则：编号、级别、名称、说明、修改建议、依据条款。"""
    from rich.table import Table

    from addin.reports.catalogue import catalogue_markdown, rule_catalogue, schema_catalogue

    _refuse_conflicting_outputs({"--markdown": markdown}, [], force)
    policy = _policy(policy_file)
    if markdown is not None:
        try:
            write_text_atomically(markdown, catalogue_markdown(policy))
        except OutputError as exc:
            raise _fail(str(exc)) from None
        _saved("规则一览（Markdown）", markdown)
        return
    if columns:
        table = Table(title="各表的列", show_lines=True)
        for header in ("工作表", "列", "类型", "能否为空", "可选值或范围", "规则"):
            table.add_column(header, overflow="fold")
        for column in schema_catalogue(policy):
            table.add_row(
                *map(
                    plain,
                    (column.sheet, column.label, column.kind, column.blank, column.allowed, column.rules),
                )
            )
        console.print(table)
        return
    table = Table(title="校验规则", show_lines=True)
    table.add_column("规则编号", no_wrap=True)
    for header in ("级别", "名称", "说明", "修改建议", "依据"):
        table.add_column(header, overflow="fold")
    for entry in rule_catalogue(policy):
        table.add_row(
            *map(plain, (entry.id, entry.severity, entry.title, entry.message, entry.fix, entry.clause))
        )
    print_table(console, table)


@app.command()
def explain(
    file: Annotated[Path, typer.Argument(metavar="文件", help="申报表 .xlsx 文件。")],
    row: Annotated[int, typer.Option("--row", help="企业所在的 Excel 行号（数据从第 5 行开始）。")],
    policy_file: PolicyOption = None,
) -> None:
    """逐步说明一家企业的各项金额是怎样算出来的：每一步的数字和依据条款。"""
    from rich.table import Table

    from addin.check.identity import KIND_NAMES
    from addin.check.pipeline import check_file
    from addin.reports.explain import explain_row
    from addin.reports.terminal_text import add_amount_column
    from schemas.money import format_yuan
    from schemas.registry import issue_sentences

    policy = _policy(policy_file)
    result = check_file(file, policy)
    if result.kind in KIND_NAMES and result.kind != "application":  # read, but not an application
        raise _fail(
            f"{file.name} 是{KIND_NAMES[result.kind]}，不是申报表。dtfund explain 只说明申报表中一家企业的"
            "补贴是怎样算出来的；请指定申报表文件（校验这个文件请用 dtfund check）。"
        )
    if result.kind != "application":
        reason = issue_sentences(result.issues[0]) if result.issues else f"{file.name} 不是申报表。"
        raise _fail(f"无法说明：{reason}")
    table = result.table
    if row not in table.amounts.index:
        own = [issue_sentences(i) for i in result.issues if i.row == row]  # e.g. a 合计 row set aside
        if own:
            raise _fail(f"第 {row} 行不是企业数据：{' '.join(own)}")
        raise _fail(f"第 {row} 行没有企业数据。{_filled_rows(list(table.amounts.index))}")
    name = table.frame.at[row, "name"] or "（未填企业名称）"
    steps = Table(title=plain(f"第 {row} 行 {name} 的补贴计算"), show_lines=True)
    steps.add_column("步骤", overflow="fold")
    steps.add_column("计算", overflow="fold")
    add_amount_column(steps, "金额（元）")
    steps.add_column("依据", overflow="fold")
    for step in explain_row(table, row, policy):
        amount = "" if step.amount is None else format_yuan(step.amount)
        steps.add_row(plain(step.name), plain(step.how), amount, plain(step.clause))
    print_table(console, steps)
    own = [i for i in result.issues if i.row == row]
    for issue in own:
        style = "red" if issue.severity == "error" else "yellow"
        console.print(labelled(issue.rule, issue_sentences(issue), style=style))


LISTED_ROWS = 10  # the rows with data `dtfund explain` names when asked about a row without any


def _filled_rows(rows: list[int]) -> str:
    """The rows with data, for a clerk who asked about an empty one: the first few, and how many more."""
    if not rows:
        return "表中没有填写企业数据的行。"
    listed = "、".join(str(r) for r in rows[:LISTED_ROWS])
    more = len(rows) - LISTED_ROWS
    return f"有数据的行（共 {len(rows)} 行）：{listed}" + (
        f"……（另有 {more} 行未列出）。" if more > 0 else "。"
    )


@app.command()
def consolidate(
    inputs: Annotated[
        list[Path],
        typer.Argument(metavar="文件或文件夹", help="各师市的申报表 .xlsx 文件，或存放它们的文件夹。"),
    ],
    plan: Annotated[Path, typer.Option("--plan", help="资金使用计划表（dtfund template plan 生成）。")],
    output: Annotated[Path, typer.Option("--output", "-o", help="输出的汇总 .xlsx 文件。")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="把汇总结果写成 JSON 文件；- 表示输出到终端。")
    ] = None,
    policy_file: PolicyOption = None,
    quiet: QuietOption = False,
    show_all: ShowAllOption = False,
    html: Annotated[Path | None, typer.Option("--html", help="另存一份可打印的 HTML 汇总报告。")] = None,
    force: ForceOption = False,
    ledger: ConsolidateLedgerOption = None,
) -> None:
    """汇总各师市申报表，对照资金使用计划表检查预算，生成兵团汇总表。

    退出码：0 = 没有错误；1 = 有错误；2 = 有文件无法读取或模板被改动（汇总不完整）或计划表不可用。
    """
    found, _ = search_inputs(inputs)
    files = [f for f in found if f.resolve() != plan.resolve()]
    _refuse_conflicting_outputs({"-o": output, "--json": json_out, "--html": html}, [*files, plan], force)
    start_reading_ahead([plan, *files])  # in the order consolidate checks them
    from addin.check.consolidate import ConsolidationError
    from addin.check.consolidate import consolidate as run_consolidation
    from addin.reports.check_report import to_json
    from addin.reports.consolidation_report import (
        consolidation_document,
        consolidation_verdict,
        print_consolidation,
    )
    from addin.reports.summary_workbook import write_summary

    policy = _policy(policy_file)
    if policy.plan is None:
        stop_reading_ahead()
        raise _fail(NO_PLAN.format(policy=policy.title or policy.id))
    machine_output = json_out is not None and str(json_out) == "-"
    try:
        with _progress(len(files), hidden=quiet or machine_output) as advance:
            result = run_consolidation(inputs, plan, policy, on_file=advance)
        settle_with_ledger(result, ledger)
        write_summary(result, output)
        saved = [("汇总表", output)]
        if html is not None:
            from addin.reports.html import consolidation_report

            write_text_atomically(html, consolidation_report(result))
            saved.append((" HTML 汇总报告", html))
        if machine_output:
            _write_stdout(to_json(consolidation_document(result)))
        elif json_out is not None:
            write_bytes_atomically(json_out, to_json(consolidation_document(result)))
            saved.append((" JSON 汇总结果", json_out))
    except (ConsolidationError, OutputError) as exc:
        raise _fail(str(exc)) from None
    if quiet:
        if not machine_output:
            console.print(plain(consolidation_verdict(result)))
    else:
        if not machine_output:
            print_consolidation(result, console, show_all=show_all)
        for what, path in saved:
            _saved(what, path, machine_output)
    raise typer.Exit(EXIT_UNREADABLE if not result.complete else EXIT_OK if result.valid else EXIT_ERRORS)


@app.command()
def diff(
    old: Annotated[
        Path, typer.Argument(metavar="上次文件", help="上次报送的 .xlsx 文件（申报表或奖励与补贴名单）。")
    ],
    new: Annotated[Path, typer.Argument(metavar="本次文件", help="本次报送的同一单位的 .xlsx 文件。")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="把比较结果写成 JSON 文件；- 表示输出到终端。")
    ] = None,
    html: Annotated[Path | None, typer.Option("--html", help="另存一份可打印的 HTML 对比报告。")] = None,
    policy_file: PolicyOption = None,
    quiet: QuietOption = False,
    force: ForceOption = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="在终端列出全部新增、删除和有修改的企业（默认各只列出前 50 家）。")
    ] = False,
) -> None:
    """比较同一单位的两个版本（如改正后重新报送的申报表）：新增、删除的企业，每家企业改动的单元格和金额。

    按统一社会信用代码对应企业；退出码：0 = 所有值相同；1 = 有变化；2 = 文件无法读取、不是本模板，或两个文件的种类或填报单位不同。
    """
    _refuse_conflicting_outputs({"--json": json_out, "--html": html}, [old, new], force)
    start_reading_ahead([old, new])
    from addin.check.diff import DiffError, compare
    from addin.check.pipeline import check_file
    from addin.reports.check_report import to_json
    from addin.reports.diff import diff_document, print_diff, summary_line
    from addin.reports.html import diff_report

    policy = _policy(policy_file)
    machine_output = json_out is not None and str(json_out) == "-"
    with _status("正在读取……", hidden=quiet or machine_output):
        results = check_file(old, policy, rules=False), check_file(new, policy, rules=False)
    try:
        result = compare(*results)
    except DiffError as exc:
        raise _fail(str(exc)) from None
    saved = []
    try:
        if html is not None:
            write_text_atomically(html, diff_report(result))
            saved.append((" HTML 对比报告", html))
        if json_out is not None and not machine_output:
            write_bytes_atomically(json_out, to_json(diff_document(result)))
            saved.append((" JSON 比较结果", json_out))
    except OutputError as exc:
        raise _fail(str(exc)) from None
    if machine_output:
        _write_stdout(to_json(diff_document(result)))
    elif quiet:
        console.print(plain(summary_line(result)))
    else:
        print_diff(result, console, show_all=show_all)
    if not quiet:
        for what, path in saved:
            _saved(what, path, machine_output)
    raise typer.Exit(EXIT_OK if result.same else EXIT_ERRORS)


@contextmanager
def _progress(total: int, hidden: bool) -> Iterator[Callable[[Path], None]]:
    """A progress bar on the terminal while files are read; nothing when output must stay clean."""
    if hidden:
        yield lambda path: None
        return
    with Progress(
        TextColumn("读取申报表"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}", markup=False),
        console=errors,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=total)
        yield lambda path: progress.update(task, advance=1, description=visible(path.name))


@policy_app.command("check")
def policy_check(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="政策文件", help="要检查的政策文件（YAML），如 schemas/data/policy-hefei-2024.yaml。"
        ),
    ],
) -> None:
    """检查一个政策文件：逐条列出问题（所在行、键名、说明）。没有问题退出码为 0，有问题为 2。"""
    from schemas.policy import PolicyError, read_policy_text
    from schemas.policy_check import check_policy_text

    try:
        text, where = read_policy_text(file)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    problems = check_policy_text(text, where)
    for problem in problems:
        console.print(plain(problem.text()), soft_wrap=True)
    if problems:
        raise _fail(f"政策文件 {file} 有 {len(problems)} 个问题，请按上面的说明修改后再检查。")
    policy = _policy(file)
    lines = "、".join(line.label for line in policy.lines)
    console.print(
        plain(f"政策文件 {file} 没有发现问题：{policy.title}（{policy.version}），资金支持项目：{lines}。")
    )


@template_app.command("plan")
def template_plan(
    output: Annotated[Path, typer.Option("--output", "-o", help="输出的 .xlsx 文件。")],
    policy_file: PolicyOption = None,
    force: ForceOption = False,
    overwrite_data: OverwriteDataOption = False,
) -> None:
    """生成资金使用计划表模板（已按官方附件填好各行和金额）。"""
    from addin.templates.plan import write_plan_template

    policy = _policy(policy_file)
    if policy.plan is None:
        raise _fail(NO_PLAN.format(policy=policy.title or policy.id))
    _refuse_replacing_template(output, policy, force, overwrite_data)
    _write_output(lambda: write_plan_template(output, policy))
    _saved("资金使用计划表模板", output)


@template_app.command("awards")
def template_awards(
    output: Annotated[Path, typer.Option("--output", "-o", help="输出的 .xlsx 文件。")],
    unit: Annotated[str | None, typer.Option("--unit", help="预先填好的填报单位，如 兵团专班。")] = None,
    rows: Annotated[
        int, typer.Option("--rows", min=1, max=AWARDS_MAX_ROWS, help="每张名单可填写的行数。")
    ] = AWARDS_DEFAULT_ROWS,
    policy_file: PolicyOption = None,
    force: ForceOption = False,
    overwrite_data: OverwriteDataOption = False,
) -> None:
    """生成奖励与补贴名单模板（典型案例、链主企业、赋能载体、服务商、“小快轻准”产品、师市奖励）。"""
    from addin.templates.awards import write_awards_template
    from schemas.awards import award_units

    policy = _policy(policy_file)
    if not policy.awards:
        raise _fail(
            f"政策“{policy.title or policy.id}”没有奖励与补贴名单（政策文件中没有 awards），不能生成名单模板。"
        )
    _refuse_replacing_template(output, policy, force, overwrite_data)
    _require_listed(unit, award_units(policy))
    _write_output(lambda: write_awards_template(output, policy, rows=rows, unit=unit))
    _saved(f"奖励与补贴名单模板（每张名单 {rows} 行）", output)


@addin_app.command("build")
def addin_build(
    output: Annotated[Path | None, typer.Option("--output", "-o", help="输出的 .xlam 文件。")] = None,
    force: ForceOption = False,
) -> None:
    """由 xlwings 自带的功能区加载项生成 dtfund.xlam，内置全部 DTFUND_ 函数（开发者使用；仓库中已附带生成好的文件）。"""
    from addin.excel.xlam import TARGET, build_xlam

    target = output or TARGET
    if target.name != "dtfund.xlam":
        raise _fail("加载项文件必须命名为 dtfund.xlam：功能区按钮按文件名调用 dtfund.main()。")
    _refuse_conflicting_outputs({"-o": target}, [], force)
    try:
        write_bytes_atomically(target, build_xlam())
    except OutputError as exc:
        raise _fail(str(exc)) from None
    _saved("加载项", target)


@addin_app.command("install")
def addin_install(
    force: Annotated[bool, typer.Option("--force", help="覆盖已有的加载项用户设置。")] = False,
) -> None:
    """在本机 Excel 中安装 dtfund 加载项（Windows；macOS 上只有功能区按钮可用）。"""
    from addin.excel.xlam import user_config_bytes, user_config_path

    if not sys.platform.startswith(("win", "darwin")):
        raise _fail(
            "Excel 加载项只能安装在 Windows（或 macOS）的 Excel 中。在本机请使用 dtfund check / dtfund consolidate。"
        )

    settings = Path(user_config_path())
    if force or not settings.exists():
        try:
            content = user_config_bytes()
        except UnicodeEncodeError:
            raise _fail(
                f"本机 Python 的路径（{sys.executable}）含有系统代码页无法表示的字符，Excel 读不到它。"
                "请把 Python 安装到只含英文字母和数字的文件夹，再运行 dtfund addin install --force。"
            ) from None
        _write_output(lambda: make_output_folder(settings.parent))
        _write_output(lambda: write_bytes_atomically(settings, content))
        console.print(
            plain(f"已写入加载项设置（使用本机 Python：{sys.executable}）：{settings}"), soft_wrap=True
        )
    _saved("加载项", _install_xlam())
    console.print(
        "已安装。重新打开 Excel 后，功能区会出现“专项资金”选项卡；再运行 dtfund addin doctor 检查安装。"
    )


def _install_xlam() -> Path:
    """Copy the add-in into Excel's startup folder (XLSTART) atomically, and on macOS the AppleScript
    that RunPython needs; the add-in's path. Not xlwings' `addin install`: it prints English, and on a
    failure prints the error and returns as if it had worked."""
    from xlwings import cli as xlwings_cli

    try:
        folder = Path(xlwings_cli.get_addin_dir())
    except Exception:  # noqa: BLE001 - xlwings starts Excel to ask for the folder: any failure means no Excel
        raise _fail(
            "无法找到 Excel 的启动文件夹（XLSTART）：本机的 Excel 没有响应。"
            "请确认已安装 Excel 并能正常打开，再运行 dtfund addin install。"
        ) from None
    target = folder / "dtfund.xlam"
    data = resources.files("addin.excel").joinpath("dtfund.xlam").read_bytes()
    _write_output(lambda: write_bytes_atomically(target, data))
    if sys.platform.startswith("darwin"):
        try:
            xlwings_cli.runpython_install(None)  # (None: it prints nothing)
        except OSError as exc:
            raise _fail(
                str(cannot_write(Path("~/Library/Application Scripts/com.microsoft.Excel"), exc))
            ) from None
    return target


@addin_app.command("doctor")
def addin_doctor() -> None:
    """逐项检查本机的加载项：启动文件夹、用户设置、xlwings 版本、Excel 版本、内置函数，有 Excel 时实际调用函数。
    退出码：0 全部检查且通过；1 有未通过的项目；3 有本机无法检查的项目。"""
    from addin.excel.doctor import diagnose, exit_code, print_findings

    findings = diagnose()
    print_findings(findings, console)
    raise typer.Exit(exit_code(findings))


@app.command()
def demo(
    output_dir: Annotated[Path, typer.Option("--output-dir", help="汇总结果保存的文件夹。")] = Path(
        "dtfund-示例输出"
    ),
    force: ForceOption = False,
) -> None:
    """用内置示例演示：校验第八师的申报表，再把三个师市的申报表和兵团专班的奖励名单对照资金使用计划表汇总。

    第八师报送了两次：版本号 1 的较早一份被版本号 2 替换，汇总时列为“已被替换”。

    示例中有故意填错的行，用来展示校验结果。
    """
    from addin.check.consolidate import consolidate as run_consolidation
    from addin.check.pipeline import check_file
    from addin.reports.check_report import print_result, to_json
    from addin.reports.consolidation_report import consolidation_document, print_consolidation
    from addin.reports.summary_workbook import write_summary
    from addin.templates.bundled import EXAMPLE_AWARDS, EXAMPLE_EARLIER, EXAMPLE_PLAN, EXAMPLES

    policy = _policy(None)
    _write_output(lambda: make_output_folder(output_dir))
    summary, summary_json = output_dir / "汇总.xlsx", output_dir / "汇总.json"
    examples = output_dir / "示例文件"
    copies = {
        name: examples / f"示例-{name}.xlsx"
        for name in [*EXAMPLES, f"{DEMO_UNIT}-版本1", "奖励名单", "资金使用计划表"]
    }
    _refuse_conflicting_outputs(
        {"汇总表": summary, "汇总 JSON": summary_json, **{f"示例文件 {p.name}": p for p in copies.values()}},
        [],
        force,
    )
    _write_output(lambda: make_output_folder(examples))
    for name, relative in [
        *EXAMPLES.items(),
        (f"{DEMO_UNIT}-版本1", EXAMPLE_EARLIER),
        ("奖励名单", EXAMPLE_AWARDS),
        ("资金使用计划表", EXAMPLE_PLAN),
    ]:
        with resources.as_file(resources.files("addin").joinpath(*Path(relative).parts[1:])) as path:
            data = path.read_bytes()
        _write_output(partial(write_bytes_atomically, copies[name], data))
    console.rule(f"第一步：dtfund check 示例-{DEMO_UNIT}.xlsx")
    print_result(check_file(copies[DEMO_UNIT], policy), console)
    console.rule("第二步：dtfund consolidate")
    console.print(
        "汇总三个师市的申报表和 示例-奖励名单.xlsx，对照 示例-资金使用计划表.xlsx。"
        "第八师另有一份较早的版本1，将被版本2替换。"
    )
    plan = copies.pop("资金使用计划表")
    result = run_consolidation(list(copies.values()), plan, policy)
    _write_output(lambda: write_summary(result, summary))
    _write_output(lambda: write_bytes_atomically(summary_json, to_json(consolidation_document(result))))
    print_consolidation(result, console, show_issues=False)
    console.print()
    _saved("示例文件（可以打开查看）", examples)
    _saved("汇总表", summary)
    _saved(" JSON 汇总结果", summary_json)
    console.print("示例中的错误是故意填写的。校验您自己的文件：dtfund check 申报表.xlsx")


def main() -> None:
    """The `dtfund` commands."""
    try:
        app()
    except FileNotFoundError:
        if current_folder_exists():
            raise
        errors.print(labelled("错误", current_folder_gone_message(), style="bold red"))
        raise SystemExit(EXIT_UNREADABLE) from None


def run() -> None:
    """The `dtfund` process (its console script and `python -m addin`): `main`, with the process's
    speed-ups (addin.io.process), printing to any stdout and stderr (addin.io.streams)."""
    make_streams_forgiving()
    if not current_folder_exists():
        _load_without_current_folder()
    run_process(main)


def _load_without_current_folder() -> None:
    """Libraries that ask for the current folder as they load, loaded without it: hypothesis (which
    pandera imports when it is installed) is left out, reportlab's settings are loaded from the root
    folder, and the run goes back to the deleted folder (relative paths then fail with their cause)."""
    import os

    sys.modules["hypothesis"] = None  # type: ignore[assignment]
    if not hasattr(os, "fchdir"):
        return
    here = os.open(".", os.O_RDONLY)
    try:
        os.chdir(os.path.abspath(os.sep))
        import reportlab.rl_config  # noqa: F401
    finally:
        os.fchdir(here)
        os.close(here)
