"""The `dtfund` command."""

from __future__ import annotations

import shutil
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from addin import template_spec
from addin.check import CheckResult, check_file
from addin.output import OutputError, refuse_overwriting_inputs, write_text_atomically
from addin.report import print_result, result_document, to_json
from schemas.policy import Policy, PolicyError, load_policy

EXIT_OK, EXIT_ERRORS, EXIT_UNREADABLE = 0, 1, 2
DEMO_UNIT = "第八师石河子市"

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="兵团中小企业数字化转型城市试点专项资金：申报模板、校验与汇总。",
)
template_app = typer.Typer(no_args_is_help=True, help="生成填报模板。")
app.add_typer(template_app, name="template")

console = Console()
errors = Console(stderr=True)


def _fail(message: str, code: int = EXIT_UNREADABLE) -> typer.Exit:
    errors.print(f"[bold red]错误[/bold red]：{message}")
    return typer.Exit(code)


def _policy(path: Path | None) -> Policy:
    try:
        return load_policy(path)
    except PolicyError as exc:
        raise _fail(str(exc)) from None


def _exit_code(result: CheckResult) -> int:
    if result.table is None:
        return EXIT_UNREADABLE
    return EXIT_OK if result.valid else EXIT_ERRORS


PolicyOption = Annotated[Path | None, typer.Option("--policy", help="使用另一个政策参数文件（YAML）。")]


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="要校验的申报表 .xlsx 文件。")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="把结果写成 JSON 文件；- 表示输出到终端。")
    ] = None,
    policy_file: PolicyOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="只输出结论。")] = False,
) -> None:
    """校验一个申报表：逐项重算金额，列出每个问题的单元格、规则、依据和修改建议。

    退出码：0 = 没有错误（可以有警告）；1 = 有错误；2 = 文件无法读取或不是本模板。
    """
    policy = _policy(policy_file)
    result = check_file(file, policy)
    document = result_document(result)
    if json_out is not None and str(json_out) == "-":
        sys.stdout.write(to_json(document))
    else:
        if json_out is not None:
            try:
                refuse_overwriting_inputs(json_out, [file])
                write_text_atomically(json_out, to_json(document))
            except OutputError as exc:
                raise _fail(str(exc)) from None
        if result.table is None:
            errors.print(f"[bold red]无法校验[/bold red]：{result.issues[0].message}{result.issues[0].fix}")
        else:
            print_result(result, console, show_issues=not quiet)
    raise typer.Exit(_exit_code(result))


@template_app.command("application")
def template_application(
    output: Annotated[Path, typer.Option("--output", "-o", help="输出的 .xlsx 文件。")],
    unit: Annotated[
        str | None, typer.Option("--unit", help="预先填好的填报单位，如 第八师石河子市。")
    ] = None,
    rows: Annotated[
        int, typer.Option("--rows", min=1, max=1_000_000, help="可填写的行数。")
    ] = template_spec.DEFAULT_ROWS,
    policy_file: PolicyOption = None,
) -> None:
    """生成师市企业数字化改造补贴申报表模板。"""
    from addin.template_application import write_application_template

    policy = _policy(policy_file)
    if unit is not None and unit not in policy.value("submitting_units"):
        raise _fail(f"填报单位“{unit}”不在名单中：{'、'.join(policy.value('submitting_units'))}")
    try:
        write_application_template(output, policy, rows=rows, unit=unit)
    except OutputError as exc:
        raise _fail(str(exc)) from None
    console.print(f"已生成申报表模板：{output}（{rows} 行）")


@app.command()
def demo() -> None:
    """用内置示例申报表演示校验（示例中有故意填错的行）。"""
    from addin.bundled import EXAMPLES

    policy = load_policy()
    shown_name = f"示例-{DEMO_UNIT}.xlsx"
    with tempfile.TemporaryDirectory() as folder:
        example = Path(folder) / shown_name
        source = resources.files("addin").joinpath(*Path(EXAMPLES[DEMO_UNIT]).parts[1:])
        with resources.as_file(source) as path:
            shutil.copyfile(path, example)
        console.print(f"[bold]示例[/bold]：dtfund check {shown_name}（第八师石河子市的示例申报表）\n")
        result = check_file(example, policy)
        print_result(result, console)
    console.print("\n示例中的错误是故意填写的，用来展示校验结果。校验您自己的文件：dtfund check 申报表.xlsx")


def main() -> None:
    app()
