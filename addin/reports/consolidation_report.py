"""What a consolidation says: the JSON document and the terminal view."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from addin.beijing_time import beijing_timestamp
from addin.check.consolidate import Consolidation
from addin.check.pipeline import CheckResult
from addin.ledger.settlement import ledger_field, money_keys
from addin.reports.check_report import issue_record, json_value
from addin.reports.labels import incomplete
from addin.reports.ledger_columns import NOT_IN_LEDGER, execution_ledger_cells, ledger_line
from addin.reports.summary_figures import (
    DISBURSEMENT_MONEY,
    award_records,
    disbursement_frame,
    disbursement_overview,
    disbursement_totals,
    division_summary,
    execution_records,
    file_counts,
    ledger_lines,
    left_out_files,
    listed_rows,
    provider_ranking,
)
from addin.reports.terminal_issues import TERMINAL_ISSUE_LIMIT, print_issues
from addin.reports.terminal_text import SHORT_SOURCE, add_amount_column, plain, print_table, visible
from schemas.fields import part_fields
from schemas.ledger_balance import FIGURES
from schemas.money import format_yuan, two_place_texts
from schemas.plan import line_number
from schemas.registry import issue_sentences

AWARDS_APART_NOTE = "奖励与补贴名单的金额不在此表中；按资金来源的合计见汇总表的“执行情况”。"
HELD_NOTE = "暂缓拨付的企业有错误或重复申报，改正并重新汇总前不得拨付；原因见汇总表的“拨付清单”。"
TEXT_MIN_WIDTH = 8  # terminal cells: four Chinese characters a line before a text column folds


def _money(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return {k: _money(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_money(v) for v in value]
    return json_value(value)


def disbursement_entries(c: Consolidation) -> list[dict[str, Any]]:
    """The disbursement list as JSON: its amounts as two-place decimal strings, formatted a column at
    a time (the list has a row per enterprise and file); each ledger figure as a money shape
    ({source: amount, ..., total: amount}), and the row's parts by plan line."""
    frame = disbursement_frame(c)
    money_columns = {ledger_field(figure, key) for figure in FIGURES for key in money_keys(c.policy)}
    entries = {column: frame[column].tolist() for column in frame.columns if column not in money_columns}
    for column in DISBURSEMENT_MONEY:
        entries[column] = two_place_texts(frame[column])
    status = {column: entries.pop(column) for column in ("ledger_status", "paid_in")}
    for figure in FIGURES:
        keys = money_keys(c.policy)
        texts = [two_place_texts(frame[ledger_field(figure, key)]) for key in keys]
        entries[figure] = [dict(zip(keys, values, strict=True)) for values in zip(*texts, strict=True)]
    entries.update(status)
    entries["lines"] = ledger_lines(c).loc[listed_rows(c)].tolist()
    names = list(entries)
    return [dict(zip(names, values, strict=True)) for values in zip(*entries.values(), strict=True)]


# The JSON's names of the 执行情况's ledger columns (已拨付, 本次可拨付, 剩余 = 计划 − 已拨付 − 本次可拨付)
LEDGER_EXECUTION_KEYS = ("paid_before", "to_pay", "left")


def consolidation_document(c: Consolidation) -> dict[str, Any]:
    """The same figures as the summary workbook, as JSON (amounts as two-place decimal strings)."""
    execution = []
    for record in execution_records(c):
        others = {key: value for key, value in record.items() if key != "rate"}
        rate = record["rate"]
        if c.paid is not None:  # the 执行情况's ledger columns (None for a line of the award lists)
            cells = execution_ledger_cells(c, record)
            others |= {
                k: None if v == NOT_IN_LEDGER else v
                for k, v in zip(LEDGER_EXECUTION_KEYS, cells, strict=True)
            }
        execution.append(_money({**others, "rate": None if rate is None else f"{rate:.4f}"}))
    return {
        "policy": {"id": c.policy.id, "version": c.policy.version},
        "plan": {"file": c.plan.file, "sha256": c.plan.sha256},
        "created_at": beijing_timestamp(),
        "complete": c.complete,
        "valid": c.valid,
        "counts": {"error": c.errors, "warning": c.warnings},
        "file_counts": file_counts(c).record(),
        "files": [file_record(c, r) for r in (*c.files, *c.replaced)],
        "left_out": left_out_files(c),
        "summary": _money(division_summary(c)),
        "execution": execution,
        "disbursement": disbursement_entries(c),
        "disbursement_totals": _money(disbursement_totals(c)),
        "ledger": None if c.paid is None else {"location": c.ledger, "head": c.paid.head},
        "providers": provider_ranking(c),
        "awards": _money(award_records(c)),
        "issues": [issue_record(i) for i in c.all_issues],
    }


STATUS_TEXT = {
    "consolidated": "已汇总",
    "replaced": "已被替换，未汇总",
    "submitted_twice": "版本号与另一份相同，未汇总",
    "skipped": "未汇总",
    "unreadable": "无法校验（无法读取或模板被改动），未汇总",
}


def status_text(c: Consolidation, r: CheckResult) -> str:
    """A file's status in Chinese, with the replacing file or the reason it was skipped."""
    status = c.status(r)
    if status == "replaced":
        return f"已被 {c.replaced_by[c.label(r)]} 替换，未汇总"
    if status == "skipped" and r.issues:
        return f"未汇总：{r.issues[0].message}"
    return STATUS_TEXT[status]


def file_record(c: Consolidation, r: CheckResult) -> dict[str, Any]:
    """One input file in the JSON: what it is, whether it was consolidated, and its counts."""
    status = c.status(r)
    return {
        "file": r.file,
        "sha256": r.sha256,
        "kind": r.kind,
        "unit": r.unit,
        "revision": r.revision,
        "status": status,
        "replaced_by": c.replaced_by.get(c.label(r)) if status == "replaced" else None,
        "reason": r.issues[0].message if status in ("skipped", "unreadable") and r.issues else None,
        "valid": r.valid,
        "counts": {"error": r.errors, "warning": r.warnings},
    }


def print_consolidation(
    c: Consolidation, console: Console, show_issues: bool = True, show_all: bool = False
) -> None:
    table = Table(title="汇总（元）")
    # The terminal shows the main figures; the summary workbook and the JSON hold every column.
    table.add_column("师市", overflow="fold", min_width=TEXT_MIN_WIDTH)
    for header in ("企业数", "符合条件", "改造补贴", "补贴奖励合计"):
        add_amount_column(table, header)
    for entry in division_summary(c):
        awards = entry["awards"]
        table.add_row(
            plain(entry["division"]),
            str(entry["enterprises"]),
            str(entry["eligible"]),
            format_yuan(awards["transformation_subsidy"]),
            format_yuan(awards["total_award"]),
        )
    print_table(console, table)
    execution = Table(title="计划执行情况（元）")
    execution.add_column("计划行", no_wrap=True)  # （十四）1 and 中央 are short: never broken
    execution.add_column("资金来源", no_wrap=True)
    for header in ("计划", "已承诺", "未承诺", "执行率"):
        add_amount_column(execution, header)
    for record in execution_records(c):
        if record["committed"] is None:
            continue
        rate = "" if record["rate"] is None else f"{record['rate']:.2%}"
        execution.add_row(
            plain(line_number(record["key"])),
            c.policy.funding_sources[record["source"]][:SHORT_SOURCE],
            format_yuan(record["budget"]),
            format_yuan(record["committed"]),
            format_yuan(record["remaining"]),
            rate,
        )
    print_table(console, execution)
    print_disbursement(c, console)
    if show_issues:
        print_issues(
            console, c.all_issues, "汇总表的“问题清单”工作表和 --json 结果", show_file=True, show_all=show_all
        )
    _print_file_statuses(c, console, show_all)
    console.print(plain(consolidation_verdict(c), style="bold green" if c.valid else "bold red"))


def _print_file_statuses(c: Consolidation, console: Console, show_all: bool) -> None:
    """A line per file not consolidated (replaced, submitted twice, skipped), the first
    TERMINAL_ISSUE_LIMIT unless `show_all`, then how many more; the files that could not be checked."""
    lines = [
        _status_line(
            "已被替换，未汇总",
            "yellow",
            f"{c.label(r)}（{r.unit}，版本号 {r.revision}）→ {c.replaced_by[c.label(r)]}",
        )
        for r in c.replaced
    ]
    for r in c.files:
        if c.status(r) == "submitted_twice":
            lines.append(
                _status_line(
                    "版本号与另一份相同，未汇总", "bold red", f"{c.label(r)}（{r.unit}，版本号 {r.revision}）"
                )
            )
        if c.status(r) == "skipped":
            # the reason names the file, and the fix says what to do with it
            lines.append(_status_line("未汇总", "bold red", issue_sentences(r.issues[0])))
    shown = lines if show_all else lines[:TERMINAL_ISSUE_LIMIT]
    for line in shown:
        console.print(line)
    if len(shown) < len(lines):
        console.print(
            plain(
                f"……另有 {len(lines) - len(shown)} 个文件未汇总，未在此列出；全部见汇总表的“问题清单”工作表和"
                " --json 结果，或加 --all 在终端全部列出。",
                style="bold red",
            )
        )
    not_summed = [r.file for r in c.not_summed]
    if not_summed:
        named = not_summed if show_all else not_summed[:TERMINAL_ISSUE_LIMIT]
        more = f" 等（另有 {len(not_summed) - len(named)} 个）" if len(named) < len(not_summed) else ""
        console.print(_status_line(incomplete(len(not_summed)), "bold red", "、".join(named) + more))


def consolidation_verdict(c: Consolidation) -> str:
    outcome = "通过" if c.valid else "不通过"
    twice = sum(1 for r in c.files if c.status(r) == "submitted_twice")
    not_summed = f"；{incomplete(len(c.not_summed))}" if c.not_summed else ""
    left_out = f"；{twice} 个文件与同一单位的另一份版本号相同，未汇总" if twice else ""
    return (
        f"汇总结论：{outcome}（{file_counts(c).sentence()}；错误 {c.errors} 条，警告 {c.warnings} 条"
        f"{not_summed}{left_out}）"
    )


def _status_line(status: str, style: str, what: str) -> Text:
    return Text.assemble((status, style), "：", visible(what))


def print_disbursement(c: Consolidation, console: Console) -> None:
    """How much can be paid and how much is held: enterprises, and the amounts per source and in all."""
    overview = disbursement_overview(c)
    table = Table(title="申报企业的拨付情况（元）")
    table.add_column("")
    for line in overview:
        add_amount_column(table, line["label"])
    table.add_row("企业数", *(line["enterprises"] for line in overview))
    for source, field in part_fields(c.policy).items():
        label = c.policy.funding_sources[source][:SHORT_SOURCE]
        table.add_row(label, *(format_yuan(line[field]) for line in overview))
    table.add_row("合计", *(format_yuan(line["total"]) for line in overview))
    print_table(console, table)
    if c.paid is not None:
        console.print(plain(ledger_line(c)), style="bold red" if c.ledger_missing else None, soft_wrap=True)
    console.print(HELD_NOTE)
    if not c.awards.empty:
        console.print(AWARDS_APART_NOTE)
