"""The command line's framework text in Chinese: the help layout and the usage errors of typer.

typer (0.29) carries its own copy of click whose English is written into the code, not looked up in a
gettext catalogue, so there is no translation to install. The Chinese goes in at the five places that
text comes from, all replaced by `install()` (tests/test_cli_text.py fails when a new typer moves them):

- the usage line (`HelpFormatter.write_usage`): "Usage:", "[OPTIONS]", "COMMAND [ARGS]...";
- the help option (`help_option`): "Show this message and exit.";
- the type column of the help (`display_type`): <path>, <str>, <int range>, <bool>;
- the help panels (module constants of typer.rich_utils, set before the first help is drawn, so that
  a command that draws no help never imports typer.rich_utils): "Options", "[required]", "[default: …]";
- the usage errors (`typer.core._main`): each kind of error is said again in Chinese from what the
  exception holds (the option, the parameter, the close matches); a plain UsageError, which holds only
  its English message, by the message's pattern (_PLAIN_ERRORS).
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer.core
from rich.console import Console
from rich.text import Text
from typer._click import decorators, formatting
from typer._click.exceptions import (
    BadOptionUsage,
    BadParameter,
    ClickException,
    FileError,
    MissingParameter,
    NoArgsIsHelpError,
    NoSuchOption,
    UsageError,
)
from typer.exceptions import Abort

from addin.reports.terminal_text import visible

# The typer releases whose internals `install` has been checked against (pyproject.toml pins them).
TYPER_VERSIONS = ("0.29",)

USAGE_PREFIX = "用法："
USAGE_WORDS = {"[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]..."}
HELP_OPTION_TEXT = "显示此帮助并退出。"

# typer's type labels (what `display_type` puts between < >) in Chinese; a flag shows no type.
TYPE_NAMES = {
    "path": "路径",
    "str": "文本",
    "int": "整数",
    "int range": "整数",
    "float": "数字",
    "float range": "数字",
    "datetime": "日期时间",
    "bool": "",
}

ABORTED = "已中止。"
RICH_HELP_TEXT = dict(  # typer.rich_utils' constants, by name
    DEPRECATED_STRING="（已停用）",
    DEFAULT_STRING="[默认：{}]",
    ENVVAR_STRING="[环境变量：{}]",
    REQUIRED_LONG_STRING="[必填]",
    ARGUMENTS_PANEL_TITLE="参数",
    OPTIONS_PANEL_TITLE="选项",
    COMMANDS_PANEL_TITLE="命令",
    ERRORS_PANEL_TITLE="错误",
    ABORTED_TEXT=ABORTED,
    RICH_HELP="请运行 [blue]{command_path} {help_option}[/] 查看帮助。",
)

# The usage errors typer raises as a plain UsageError: their English pattern and the Chinese.
_PLAIN_ERRORS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"No such command '(?P<name>.*)'\.(?: Did you mean (?P<matches>.+)\?)?$", re.S),
        lambda m: f"没有命令“{m['name']}”。" + did_you_mean(re.findall(r"'([^']*)'", m["matches"] or "")),
    ),
    (re.compile(r"Missing command\.$"), lambda m: "缺少命令。"),
    (
        re.compile(r"Got unexpected extra argument(?:s|\(s\))? \((?P<extra>.*)\)$", re.S),
        lambda m: f"多余的参数：{m['extra']}。",
    ),
    (
        re.compile(r"Argument '(?P<name>.*)' takes (?P<count>\d+) values\.$"),
        lambda m: f"参数“{m['name']}”需要 {m['count']} 个值。",
    ),
]


def did_you_mean(candidates: Sequence[str]) -> str:
    """The sentence that offers what the user may have meant; nothing when there is nothing close."""
    if not candidates:
        return ""
    return f"您是不是要输入 {' 或 '.join(candidates)}？"


def close_matches(typed: str, choices: Sequence[str]) -> list[str]:
    """The choices the user may have meant: those that begin with what was typed, else the similar ones."""
    beginning = [choice for choice in choices if choice.startswith(typed)] if typed else []
    return beginning or difflib.get_close_matches(typed, choices, n=3, cutoff=0.5)


def error_message(error: ClickException) -> str:
    """A usage error in Chinese, from what the exception holds."""
    if isinstance(error, NoSuchOption):
        return f"没有选项“{error.option_name}”。" + did_you_mean(sorted(error.possibilities or ()))
    if isinstance(error, MissingParameter):
        return f"缺少{_parameter(error)}。" + _choices(error.param)
    if isinstance(error, BadParameter):
        return f"{_parameter(error)}的值无效：应为{_expected(error.param)}。"
    if isinstance(error, BadOptionUsage):
        if error.message.endswith("does not take a value."):
            return f"选项“{error.option_name}”不带值。"
        return f"选项“{error.option_name}”后面要跟一个值。"
    if isinstance(error, FileError):
        return f"无法打开文件“{error.filename}”。"
    for pattern, chinese in _PLAIN_ERRORS:
        match = pattern.match(error.message)
        if match:
            return chinese(match)
    return f"命令行有误（{error.message}）。"


def _parameter(error: BadParameter) -> str:
    """The parameter an error is about: 选项“--row”, or 参数“文件”."""
    param, hint = error.param, error.param_hint
    if isinstance(hint, str):
        return f"参数“{hint}”"
    if hint:
        return f"参数“{' / '.join(hint)}”"
    if param is None:
        return "参数"
    if isinstance(param, typer.core.TyperOption):
        return f"选项“{' / '.join(param.opts)}”"
    return f"参数“{param.display_name_raw}”"


def _choices(param: Any) -> str:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or not descriptor.is_choice or not descriptor.choices:
        return ""
    return f"可选：{'、'.join(str(choice) for choice in descriptor.choices)}。"


def _expected(param: Any) -> str:
    """What a parameter takes, in words: 1 到 1000000 之间的整数, 路径, one of the choices."""
    if param is None:
        return "正确的值"
    descriptor = param.type_descriptor
    if descriptor.is_choice and descriptor.choices:
        return f"以下之一：{'、'.join(str(choice) for choice in descriptor.choices)}"
    kind = param.display_type(None).strip("<>") or "文本"  # display_type is in Chinese (install)
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        return f" {low} 到 {high} 之间的{kind}"
    if low is not None:
        return f"不小于 {low} 的{kind}"
    if high is not None:
        return f"不大于 {high} 的{kind}"
    return kind


def print_usage_error(error: ClickException) -> None:
    """The usage line, where to get help, and the error, on stderr; cell or argument text as plain text."""
    console = Console(stderr=True, highlight=False)
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        console.print(Text(visible(ctx.get_usage())))
        if ctx.command.get_help_option(ctx) is not None:
            console.print(Text(visible(f"请运行 {ctx.command_path} {ctx.help_option_names[0]} 查看帮助。")))
    console.print(Text.assemble(("错误", "bold red"), "：", visible(error_message(error))))


# --- the five places ----------------------------------------------------------------------------


def _chinese_usage(args: str) -> str:
    for english, chinese in USAGE_WORDS.items():
        args = args.replace(english, chinese)
    return re.sub(r"\{([^{}]*)\}", r"\1", args)  # typer shows a required argument as {name}


def _chinese_type(label: str) -> str:
    """<path> → <路径>, <list[Path]> → <路径>, <bool> → nothing."""
    inner = label.removeprefix("<").removesuffix(">")
    listed = re.fullmatch(r"list\[(.*)\]", inner)
    name = TYPE_NAMES.get((listed[1] if listed else inner).lower())
    if name is None:
        return label
    return f"<{name}>" if name else ""


def _localize_rich_help() -> None:
    from typer import rich_utils

    for name, text in RICH_HELP_TEXT.items():
        setattr(rich_utils, name, text)
    if not getattr(rich_utils, "_dtfund_folds", False):
        rich_utils._dtfund_folds = True  # type: ignore[attr-defined]
        rich_utils._make_rich_text = _folding(rich_utils._make_rich_text)


def _folding(make_rich_text: Callable[..., Any]) -> Callable[..., Any]:
    """A help text that wraps within its column: Chinese has no spaces to break at, so rich would cut a
    description at the terminal's edge with "…"; folded, it continues on the next line."""

    def folded(**options: Any) -> Any:
        text = make_rich_text(**options)
        if hasattr(text, "overflow"):
            text.overflow = "fold"
        return text

    return folded


def install() -> None:
    """Put the Chinese into typer's usage line, help option, type labels, help panels and usage errors.
    Idempotent."""
    if getattr(typer.core, "_dtfund_chinese", False):
        return
    typer.core._dtfund_chinese = True  # type: ignore[attr-defined]

    write_usage = formatting.HelpFormatter.write_usage

    def chinese_write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, _chinese_usage(args), USAGE_PREFIX if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = chinese_write_usage  # type: ignore[method-assign]

    help_option = decorators.help_option

    def chinese_help_option(param_decls: list[str]) -> Callable[[Any], Any]:
        add = help_option(param_decls)

        def add_in_chinese(command: Any) -> Any:
            command = add(command)
            command.params[-1].help = HELP_OPTION_TEXT
            return command

        return add_in_chinese

    decorators.help_option = chinese_help_option

    display_type = typer.core._TyperParameter.display_type
    typer.core._TyperParameter.display_type = (  # type: ignore[method-assign]
        lambda self, ctx: _chinese_type(display_type(self, ctx))
    )

    for command_class in (typer.core.TyperCommand, typer.core.TyperGroup):
        command_class.format_help = _localized_help(command_class.format_help)  # type: ignore[method-assign]

    typer.core._main = _chinese_main(typer.core._main)


def _localized_help(format_help: Callable[..., None]) -> Callable[..., None]:
    def format_help_in_chinese(self: Any, ctx: Any, formatter: Any) -> None:
        _localize_rich_help()
        format_help(self, ctx, formatter)

    return format_help_in_chinese


def _chinese_main(main: Callable[..., Any]) -> Callable[..., Any]:
    """typer's `_main` with its usage errors said in Chinese; the same exits otherwise."""

    def main_in_chinese(self: Any, *, standalone_mode: bool = True, **options: Any) -> Any:
        if not standalone_mode:
            return main(self, standalone_mode=False, **options)
        try:
            result = main(self, standalone_mode=False, **options)
        except NoArgsIsHelpError as error:  # the help is already printed
            sys.exit(error.exit_code)
        except UsageError as error:
            print_usage_error(error)
            sys.exit(error.exit_code)
        except ClickException as error:
            Console(stderr=True, highlight=False).print(
                Text.assemble(("错误", "bold red"), "：", visible(error_message(error)))
            )
            sys.exit(error.exit_code)
        except Abort:
            Console(stderr=True).print(Text(ABORTED, style="red"))
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)

    return main_in_chinese
