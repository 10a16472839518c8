"""The issues as a person reads them in the terminal, for a check and for a consolidation.

A large file can have thousands of issues: nobody reads thousands of table rows in a terminal, and
drawing them takes longer than the check. So the terminal lists the first ones and counts every rule;
the complete list is in the reports (HTML, JSON, the annotated copy, the summary workbook), or in the
terminal with --all.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from addin.reports.catalogue import SEVERITY_LABELS
from addin.reports.terminal_text import plain, print_table, visible
from schemas.registry import Issue, sentence

# How many issues the terminal lists before it only counts them: about two screens.
TERMINAL_ISSUE_LIMIT = 50


INDENT = 2  # the lines of an issue under its heading line


def print_issues(
    console: Console, issues: list[Issue], where_else: str, show_file: bool = False, show_all: bool = False
) -> None:
    """The issues (the first TERMINAL_ISSUE_LIMIT unless `show_all`), and when some are left out, the
    count of each rule and `where_else` (where the complete list is).

    One layout at every terminal width: each issue a heading line (file, cell, rule, severity, clause),
    then its title, message and fix under it across the terminal's width. A table squeezed the message
    into a column a few characters wide on an 80-column terminal, and switched layout with the widths."""
    if not issues:
        return
    listed = issues if show_all else issues[:TERMINAL_ISSUE_LIMIT]
    console.print(Text("问题清单", style="bold"))
    for issue in listed:
        console.print(_heading(issue, show_file))
        body = Text.assemble((visible(issue.title), "bold"), "\n", visible(sentence(issue.message)))
        if issue.fix:
            body.append(f"\n建议：{visible(sentence(issue.fix))}")
        console.print(Padding(body, (0, 0, 0, INDENT)))
    if len(listed) < len(issues):
        print_table(console, _rule_counts(issues))
        console.print(
            f"以上列出前 {len(listed)} 条问题，另有 {len(issues) - len(listed)} 条未列出。"
            f"全部问题见{where_else}；或加 --all 在终端全部列出。"
        )


def _heading(issue: Issue, show_file: bool) -> Text:
    """An issue's heading line: where (file and cell), the rule and its severity, the clause."""
    where = issue.where or "—"
    if show_file and issue.file and issue.file != where:
        where = f"{issue.file}　{where}"
    heading = Text.assemble(("● ", _colour(issue)), (visible(where), "bold"), "　", visible(issue.rule), "　")
    heading.append_text(_severity(issue))
    if issue.clause:
        heading.append(f"　依据：{visible(issue.clause)}", style="dim")
    return heading


def _colour(issue: Issue) -> str:
    return "red" if issue.severity == "error" else "yellow"


def _severity(issue: Issue) -> Text:
    return Text(SEVERITY_LABELS[issue.severity], style=_colour(issue))


def _rule_counts(issues: list[Issue]) -> Table:
    """Each rule broken: how often, and where first."""
    counts = Counter(issue.rule for issue in issues)
    first = {}
    for issue in issues:
        first.setdefault(issue.rule, issue)
    table = Table(title="各规则问题数")
    table.add_column("规则", no_wrap=True)
    table.add_column("类别", no_wrap=True)
    table.add_column("说明", overflow="fold")
    table.add_column("条数", justify="right", no_wrap=True)
    table.add_column("首次出现", overflow="fold")
    for rule, count in counts.most_common():
        issue = first[rule]
        where = issue.where or "—"
        if issue.file and issue.file != where:
            where = f"{issue.file}：{where}"
        table.add_row(plain(rule), _severity(issue), plain(issue.title), str(count), plain(where))
    return table
