"""The issues as a person reads them in the terminal, for a check and for a consolidation.

A large file can have thousands of issues: nobody reads thousands of table rows in a terminal, and
drawing them takes longer than the check. So the terminal lists the first ones and counts every rule;
the complete list is in the reports (HTML, JSON, the annotated copy, the summary workbook), or in the
terminal with --all.
"""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from addin.reports.catalogue import SEVERITY_LABELS
from addin.reports.terminal_text import plain, print_table, visible
from schemas.registry import Issue, sentence

# How many issues the terminal lists before it only counts them: about two screens.
TERMINAL_ISSUE_LIMIT = 50


CLAUSE_WIDTH = 14  # terminal cells: the longest clause (第十一条（一）2) on one line, the rest to 说明


def print_issues(
    console: Console, issues: list[Issue], where_else: str, show_file: bool = False, show_all: bool = False
) -> None:
    """The issues (the first TERMINAL_ISSUE_LIMIT unless `show_all`), and when some are left out, the
    count of each rule and `where_else` (where the complete list is)."""
    if not issues:
        return
    listed = issues if show_all else issues[:TERMINAL_ISSUE_LIMIT]
    table = Table(show_lines=True, title="问题清单")
    if show_file:
        table.add_column("文件", overflow="fold")
    # A cell address and a rule id are read whole (a rule id broken at "_" reads as two words); the
    # texts fold instead.
    table.add_column("行/单元格", no_wrap=True)
    table.add_column("规则", no_wrap=True)
    table.add_column("说明", overflow="fold")
    table.add_column("依据", overflow="fold", max_width=CLAUSE_WIDTH)
    for issue in listed:
        table.add_row(
            *((plain(issue.file),) if show_file else ()),
            plain(issue.where or "—"),
            Text.assemble(visible(issue.rule), "\n", _severity(issue)),
            Text.assemble(
                (visible(issue.title), "bold"),
                "\n",
                visible(sentence(issue.message) + (f"\n建议：{sentence(issue.fix)}" if issue.fix else "")),
            ),
            plain(issue.clause),
        )
    print_table(console, table)
    if len(listed) < len(issues):
        print_table(console, _rule_counts(issues))
        console.print(
            f"以上列出前 {len(listed)} 条问题，另有 {len(issues) - len(listed)} 条未列出。"
            f"全部问题见{where_else}；或加 --all 在终端全部列出。"
        )


def _severity(issue: Issue) -> Text:
    return Text(SEVERITY_LABELS[issue.severity], style="red" if issue.severity == "error" else "yellow")


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
