"""What `dtfund diff` says: the JSON document and the terminal tables of a Diff (the HTML: reports.html).
Cell values are always plain text (addin.reports.terminal_text; jinja2 autoescapes)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from addin.check.diff import KIND_NAMES, Changed, Diff, Entry
from addin.reports.check_report import json_value
from addin.reports.terminal_issues import TERMINAL_ISSUE_LIMIT
from addin.reports.terminal_text import add_amount_column, labelled, plain, print_table
from schemas.money import format_yuan

BLANK = "（空）"


def _side(diff_result: Any) -> dict[str, Any]:
    submitted = diff_result.submitted_on
    return {
        "file": diff_result.file,
        "sha256": diff_result.sha256,
        "revision": diff_result.revision,
        "submitted_on": submitted.isoformat() if submitted else None,
    }


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else "（未填）"


def version_lines(diff: Diff) -> list[tuple[str, str, str]]:
    """The 版本号 and 报送日期 of both files: (label, 上次, 本次)."""
    old, new = diff.old, diff.new
    return [
        ("版本号", str(old.revision or "—"), str(new.revision or "—")),
        ("报送日期", _date(old.submitted_on), _date(new.submitted_on)),
    ]


def order_notes(diff: Diff) -> list[str]:
    """What the reader must know before reading the changes: both arguments are the same file (by
    content); the first is the newer revision (or the later 报送日期), so that every addition reads as a
    deletion, with the order to use; or both carry one 版本号 though they differ."""
    old, new = diff.old, diff.new
    if old.sha256 and old.sha256 == new.sha256:
        return [
            f"两个文件的内容完全相同（SHA-256 {new.sha256[:12]}…），是同一份文件：{old.file} 与 {new.file}。"
        ]
    swap = f"请交换两个文件的顺序，先写上次报送的文件：dtfund diff {new.file} {old.file}"
    if (old.revision or 0) > (new.revision or 0):
        return [
            f"上次文件的版本号（{old.revision}）比本次文件的版本号（{new.revision}）大：两个文件的顺序可能颠倒了，"
            f"下面的“新增”“删除”也因此相反。{swap}"
        ]
    if old.revision != new.revision:
        return []
    later = old.submitted_on and new.submitted_on and old.submitted_on > new.submitted_on
    reversed_order = (
        [
            f"两个文件的版本号相同（{new.revision}），上次文件的报送日期（{_date(old.submitted_on)}）"
            f"却晚于本次文件（{_date(new.submitted_on)}）：两个文件的顺序可能颠倒了。{swap}"
        ]
        if later
        else []
    )
    return [
        *reversed_order,
        f"两个文件的版本号相同（都是 {new.revision}），内容却不同：修改后重新报送时，版本号应加 1，"
        "否则汇总时两份都不会纳入（UNIT_SUBMITTED_TWICE）。",
    ]


def _entry_record(entry: Entry) -> dict[str, Any]:
    return {
        "sheet": entry.sheet.name,
        "row": entry.row,
        "uscc": entry.key if entry.sheet.key == "uscc" else None,
        "name": entry.name,
        "amounts": entry.amounts,
    }


def _changed_record(change: Changed) -> dict[str, Any]:
    return {
        "sheet": change.sheet.name,
        "old_row": change.old_row,
        "new_row": change.new_row,
        "uscc": change.key if change.sheet.key == "uscc" else None,
        "name": change.name,
        "cells": [
            {
                "field": c.field,
                "label": c.label,
                "old_cell": c.old_cell,
                "new_cell": c.new_cell,
                "old": json_value(c.old),
                "new": json_value(c.new),
            }
            for c in change.cells
        ],
        "amounts": [
            {"field": name, "label": label, "old": old, "new": new}
            for name, (label, old, new) in change.amounts.items()
        ],
    }


def _totals(by_source: dict[str, Decimal]) -> dict[str, Any]:
    return {
        "by_source": {source: f"{amount:.2f}" for source, amount in by_source.items()},
        "total": f"{sum(by_source.values(), Decimal(0)):.2f}",
    }


def diff_document(diff: Diff) -> dict[str, Any]:
    """The comparison as the JSON document `dtfund diff --json` writes."""
    return {
        "kind": diff.new.kind,
        "unit": diff.new.unit,
        "old": _side(diff.old),
        "new": _side(diff.new),
        "same": diff.same,
        "notes": order_notes(diff),
        "unit_change": {"old": diff.old.unit, "new": diff.new.unit} if diff.unit_changed else None,
        "added": [_entry_record(e) for e in diff.added],
        "removed": [_entry_record(e) for e in diff.removed],
        "changed": [_changed_record(c) for c in diff.changed],
        "totals": {"before": _totals(diff.before), "after": _totals(diff.after)},
    }


def _plain(value: Any) -> str:
    """A cell value as plain text; blank as （空）."""
    return BLANK if value is None else str(json_value(value))


_TWO_PLACES = re.compile(r"^-?\d+\.\d{2}$")


def shown_amount(value: Any) -> str:
    """An amount the comparison holds as a two-place string, with thousands separators as every other
    amount is shown; anything else (text as the clerk typed it) as it is."""
    if isinstance(value, str) and _TWO_PLACES.match(value):
        return format_yuan(Decimal(value))
    return _plain(value)


def money_fields(diff: Diff) -> set[str]:
    """The compared input fields that hold amounts."""
    sheets = [c.sheet for c in diff.changed]
    return {f.id for sheet in sheets for f in sheet.inputs if f.kind == "money"}


def _who(name: str | None, key: str | None) -> str:
    return f"{name or '（未填名称）'}（{key or '无信用代码'}）"


def summary_line(diff: Diff) -> str:
    if diff.same:
        return "比较结论：两个文件的所有值相同"
    return (
        f"比较结论：有变化（新增 {len(diff.added)} 家，删除 {len(diff.removed)} 家，"
        f"修改 {len(diff.changed)} 家" + ("，填报单位有变化" if diff.unit_changed else "") + "）"
    )


def _entries_table(title: str, entries: list[Entry], total_label: str) -> Table:
    table = Table(title=title, show_lines=False)
    table.add_column("工作表", overflow="fold")
    add_amount_column(table, "行")
    table.add_column("名称（信用代码）", overflow="fold")
    add_amount_column(table, total_label)
    for e in entries:
        amount = e.amounts.get("total_award", e.amounts.get("award", "0.00"))
        table.add_row(
            plain(e.sheet.name), str(e.row), plain(_who(e.name, e.key)), format_yuan(Decimal(amount))
        )
    return table


def _changes_table(change: Changed) -> Table:
    rows = (
        f"第 {change.old_row} 行"
        if change.old_row == change.new_row
        else (f"原第 {change.old_row} 行 → 第 {change.new_row} 行")
    )
    table = Table(
        title=plain(f"{change.sheet.name} {rows}：{_who(change.name, change.key)}"), show_lines=False
    )
    for header in ("项目", "单元格（上次 → 本次）", "上次", "本次"):
        table.add_column(header, overflow="fold")
    money = {f.id for f in change.sheet.inputs if f.kind == "money"}
    for c in change.cells:
        where = c.new_cell if c.old_cell == c.new_cell else f"{c.old_cell} → {c.new_cell}"
        shown = shown_amount if c.field in money else _plain
        table.add_row(plain(c.label), plain(where), plain(shown(c.old)), plain(shown(c.new)))
    for label, old, new in change.amounts.values():
        table.add_row(plain(f"{label}（计算）"), "", format_yuan(Decimal(old)), format_yuan(Decimal(new)))
    return table


def _totals_table(diff: Diff, sources: dict[str, str]) -> Table:
    table = Table(title="按资金来源的金额合计（元）")
    table.add_column("资金来源")
    for header in ("上次", "本次", "变化"):
        add_amount_column(table, header)
    for source, name in sources.items():
        before, after = diff.before.get(source, Decimal(0)), diff.after.get(source, Decimal(0))
        table.add_row(name, format_yuan(before), format_yuan(after), signed(after - before))
    before, after = sum(diff.before.values(), Decimal(0)), sum(diff.after.values(), Decimal(0))
    table.add_row("合计", format_yuan(before), format_yuan(after), signed(after - before))
    return table


def _left_out(console: Console, what: str, listed: int, count: int) -> None:
    """Where the entries not listed in the terminal are to be found."""
    if listed < count:
        console.print(
            f"以上列出前 {listed} 家{what}，另有 {count - listed} 家未列出。"
            "全部见 --json 或 --html 保存的比较结果；或加 --all 在终端全部列出。"
        )


def signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "") + format_yuan(amount)


def print_diff(diff: Diff, console: Console, show_all: bool = False) -> None:
    """The terminal report: files, added, removed, each changed entry's cells and amounts (of each, the
    first TERMINAL_ISSUE_LIMIT entries unless `show_all`: drawing thousands of rows takes longer than the
    comparison, and the JSON and HTML hold them all), totals."""
    console.print(plain(f"上次：{diff.old.file}"))
    console.print(plain(f"本次：{diff.new.file}"))
    for label, before, after in version_lines(diff):
        changed = "" if before == after else "（有变化）"
        console.print(plain(f"{label}：上次 {before}，本次 {after}{changed}"))
    console.print(plain(f"种类：{KIND_NAMES[diff.new.kind or '']}　填报单位：{diff.new.unit or BLANK}"))
    for note in order_notes(diff):
        console.print(labelled("注意", note, style="bold yellow"))
    if diff.unit_changed:
        console.print(plain(f"填报单位：上次“{diff.old.unit or BLANK}”，本次“{diff.new.unit or BLANK}”"))
    total_label = "补贴奖励合计" if diff.new.kind == "application" else "计入金额"
    for what, entries in (("新增", diff.added), ("删除", diff.removed)):
        if entries:
            listed_entries = entries if show_all else entries[:TERMINAL_ISSUE_LIMIT]
            print_table(console, _entries_table(f"{what}的企业", listed_entries, total_label))
            _left_out(console, f"{what}的企业", len(listed_entries), len(entries))
    listed = diff.changed if show_all else diff.changed[:TERMINAL_ISSUE_LIMIT]
    for change in listed:
        print_table(console, _changes_table(change))
    _left_out(console, "有修改的企业", len(listed), len(diff.changed))
    print_table(console, _totals_table(diff, diff.new.policy.funding_sources))
    style = "green" if diff.same else "yellow"
    console.print(plain(summary_line(diff), style=f"bold {style}"))
