"""`dtfund ledger …`: record a batch, show, export and report the books, verify the audit trail.

Exit codes: 0 done; 1 (`verify`) the chain does not hold; 2 the input or the ledger cannot be used
(nothing is written then)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from addin.reports.terminal_text import labelled, plain, visible

if TYPE_CHECKING:
    from addin.check.consolidate import Consolidation
    from addin.ledger.store import Ledger

EXIT_OK, EXIT_BROKEN, EXIT_UNUSABLE = 0, 1, 2
LEDGER_HELP = "台账：SQLite 文件路径或 postgresql:// 地址；默认取环境变量 DTFUND_LEDGER，再默认为当前文件夹的 dtfund-台账.sqlite。"

ledger_app = typer.Typer(
    no_args_is_help=True, help="资金台账：记录各批次的拨付，查看已拨付和剩余，导出台账，校验是否被改动。"
)
console = Console(markup=False, emoji=False)
errors = Console(stderr=True, markup=False, emoji=False)
LedgerOption = Annotated[str | None, typer.Option("--ledger", help=LEDGER_HELP)]
ReplaceOption = Annotated[
    bool,
    typer.Option("--force", "-f", help="替换已存在的输出文件（dtfund 生成且未被改动过的不加此项也会替换）。"),
]
ConsolidateLedgerOption = Annotated[
    str | None,
    typer.Option(
        "--ledger",
        help="对照资金台账（SQLite 文件或 postgresql:// 地址；未指定时取环境变量 DTFUND_LEDGER）："
        "已拨付的不再拨付，列出补拨和应追回。",
    ),
]
Result = TypeVar("Result")


def _fail(message: str, code: int = EXIT_UNUSABLE) -> typer.Exit:
    errors.print(labelled("错误", message, style="bold red"))
    return typer.Exit(code)


def _guarded(work: Callable[[], Result]) -> Result:
    """Run `work`; a ledger or output failure is one Chinese sentence and exit 2."""
    from addin.io.output import OutputError
    from addin.ledger.store import LedgerError

    try:
        return work()
    except (LedgerError, OutputError) as error:
        raise _fail(str(error)) from None


def open_ledger(given: str | None) -> Ledger:
    from addin.ledger.store import Ledger, location

    return _guarded(lambda: Ledger(location(given)))


def settle_with_ledger(result: Consolidation, given: str | None) -> None:
    """Read what the ledger (`--ledger`, else DTFUND_LEDGER; none: no ledger) paid the consolidated
    enterprises before, for every figure of the consolidation to count it."""
    from addin.check.consolidate import apply_ledger
    from addin.ledger.settlement import enterprise_keys
    from addin.ledger.store import ENVIRONMENT, refuse_broken_chain, shown

    if given is None and not os.environ.get(ENVIRONMENT):
        return
    books = open_ledger(given)
    _guarded(lambda: refuse_broken_chain(books.entry_rows(), books.where))
    paid = _guarded(lambda: books.paid_before(set(enterprise_keys(result.rows))))
    apply_ledger(result, paid, shown(books.where), missing=not books.exists)


def _sources() -> list[str]:
    from schemas.policy import load_policy

    return list(load_policy(None).funding_sources)


def _source_names() -> dict[str, str]:
    from addin.ledger.settlement import source_field
    from schemas.policy import load_policy

    return {source_field(key): name for key, name in load_policy(None).funding_sources.items()}


HEAD_SHOWN = 16  # the hex digits of the last entry's hash a clerk writes down
HEAD_NOTE = (
    "请把校验码记入拨付文件备查；以后运行 dtfund ledger verify 时与之核对：最后几条记录被整条删去时，"
    "校验链本身看不出，只有与记下的校验码对照才能发现。"
)


@ledger_app.command("record")
def record(
    consolidation: Annotated[
        Path, typer.Argument(metavar="汇总结果", help="dtfund consolidate --json 保存的 JSON 文件。")
    ],
    batch: Annotated[str, typer.Option("--batch", help="批次名称，如 2026年第一批。")],
    doc: Annotated[str, typer.Option("--doc", help="拨付文件的文号。")],
    date: Annotated[str, typer.Option("--date", help="拨付日期，YYYY-MM-DD。")],
    ledger: LedgerOption = None,
) -> None:
    """把一次汇总的可拨付企业记入台账（一个批次）：逐企业、计划行、资金来源记账；暂缓拨付的不记。

    同名批次已记账、汇总后文件被改动、或台账在汇总后已拨付过其中的企业，都会拒绝记账（退出码 2），台账不变。
    """
    from addin.ledger.record import record_batch
    from addin.ledger.store import shown
    from addin.reports.labels import incomplete
    from schemas.money import format_yuan

    books = open_ledger(ledger)
    new_ledger = not books.exists
    done = _guarded(lambda: record_batch(books, consolidation, batch, doc, date))
    names = _source_names()
    from addin.ledger.settlement import source_field

    parts = "，".join(
        f"{names.get(source_field(s), s)} {format_yuan(v)} 元" for s, v in done.by_source.items()
    )
    console.print(
        plain(
            f"已记入台账 {shown(books.where)}：批次“{batch.strip()}”（{doc.strip()}，{date}），"
            f"{done.enterprises} 家企业，{done.entries} 条记录，合计 {format_yuan(done.total)} 元"
            + (f"（{parts}）。" if parts else "。")
        ),
        soft_wrap=True,
    )
    head = _guarded(books.head)
    if head:
        console.print(plain(f"记账后最后一条记录的校验码：{head[:HEAD_SHOWN]}。{HEAD_NOTE}"), soft_wrap=True)
    if new_ledger:
        console.print(
            plain(
                f"注意：台账 {shown(books.where)} 原先不存在，已新建；如台账在别处，请核对 --ledger 或 DTFUND_LEDGER。"
            ),
            style="bold red",
            soft_wrap=True,
        )
    if done.not_summed:
        console.print(
            plain(
                f"注意：{incomplete(len(done.not_summed))}（{'、'.join(done.not_summed)}）："
                "这些文件中的企业不在本批次中；改正后重新汇总，可再记一个批次。"
            ),
            style="bold red",
            soft_wrap=True,
        )
    if done.to_recover:
        amount = sum((Decimal(r["to_recover"]["total"]) for r in done.to_recover), Decimal(0))
        console.print(
            plain(
                f"注意：有 {len(done.to_recover)} 家企业此前多拨了 {format_yuan(amount)} 元（应追回），未记入本批次："
                "请核实并按规定追回（见汇总表的“拨付清单”）。"
            ),
            style="bold red",
            soft_wrap=True,
        )


@ledger_app.command("reverse")
def reverse(
    batch: Annotated[str, typer.Option("--batch", help="这次更正的批次名称，如 2026年第一批更正。")],
    doc: Annotated[str, typer.Option("--doc", help="更正（或追回）文件的文号。")],
    date: Annotated[str, typer.Option("--date", help="更正日期，YYYY-MM-DD。")],
    entry: Annotated[
        list[int] | None, typer.Option("--entry", help="要冲销的记录号（见 ledger show --batch），可重复。")
    ] = None,
    of_batch: Annotated[str | None, typer.Option("--of-batch", help="整批冲销这一批次的全部记录。")] = None,
    ledger: LedgerOption = None,
) -> None:
    """冲销记错或已追回的记录：记入一个更正批次，每条为原记录的相反金额并注明冲销哪一条；原记录不改不删。"""
    from addin.ledger.record import reverse_entries

    books = open_ledger(ledger)
    if not books.exists:
        raise _fail(f"台账 {books.where} 不存在：请用 --ledger 指定台账。")
    count = _guarded(lambda: reverse_entries(books, set(entry or ()), of_batch, batch, doc, date))
    console.print(plain(f"已记入更正批次“{batch.strip()}”（{doc.strip()}，{date}）：冲销 {count} 条记录。"))


def _books(given: str | None, batch: str | None = None) -> tuple[Ledger, dict[str, Any]]:
    """The ledger and what it says (addin.ledger.books); of one batch, with its entries, when named."""
    from addin.ledger.books import books
    from addin.ledger.store import shown

    ledger = open_ledger(given)
    if not ledger.exists:
        raise _fail(f"台账 {ledger.where} 不存在：请先用 dtfund ledger record 记账，或用 --ledger 指定台账。")
    batches = _guarded(ledger.batch_rows)
    entries = _guarded(ledger.entry_rows)
    if batch is None:
        return ledger, books(batches, entries, _sources())
    batch = batch.strip()
    if not batches:
        raise _fail(f"台账 {shown(ledger.where)} 中还没有任何批次：请先用 dtfund ledger record 记账。")
    if batch not in {b["name"] for b in batches}:
        known = "、".join(b["name"] for b in batches)
        raise _fail(f"台账中没有批次“{batch}”：已记账的批次有 {known}；请在 --batch 后写其中一个批次的名称。")
    reversed_by = {e["reverses"]: e["seq"] for e in entries if e["reverses"] is not None}
    own = [e for e in entries if e["batch"] == batch]
    summary = books([b for b in batches if b["name"] == batch], own, _sources())
    summary["entries"] = [_entry_record(e, reversed_by.get(e["seq"])) for e in own]
    return ledger, summary


def _entry_record(entry: dict[str, Any], reversed_by: int | None) -> dict[str, Any]:
    """An entry as `ledger show --batch --json` gives it: what its hash covers, its amount in 元, its hash,
    and the entry that reverses it (None when none does)."""
    from addin.ledger.chain import HASHED

    shown_fields = [f for f in HASHED if f not in ("amount_fen", "enterprise_key", "prev_hash")]
    return {
        **{f: entry[f] for f in shown_fields},
        "amount": entry["amount"],
        "hash": entry["hash"],
        "reversed_by": reversed_by,
    }


@ledger_app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出到终端。")] = False,
    batch: Annotated[str | None, typer.Option("--batch", help="只看这一批次，逐条列出其记录。")] = None,
    ledger: LedgerOption = None,
) -> None:
    """列出台账的各批次，以及按资金来源、师市和计划行的已拨付合计；--batch 只看一个批次并逐条列出其记录。"""
    from addin.ledger.store import shown
    from addin.reports.check_report import to_json
    from addin.reports.ledger_report import books_document
    from schemas.money import format_yuan

    books, summary = _books(ledger, batch)
    if as_json:
        sys.stdout.buffer.write(to_json(books_document(shown(books.where), summary)))
        sys.stdout.buffer.flush()
        return
    table = _money_table(list(summary["totals"]["paid"]))
    batches = [
        ([b["name"], b["doc"], b["date"], str(b["enterprises"])], b["paid"]) for b in summary["batches"]
    ]
    title = f"台账 {shown(books.where)} 的批次（元）" if batch is None else "批次（元）"
    table(title, ["批次", "文号", "日期", "企业数"], batches)
    totals = summary["totals"]
    if totals["by_unit"]:
        table("已拨付，按师市（元）", ["师市"], [([u["unit"]], u["paid"]) for u in totals["by_unit"]])
        lines = [([li["line_name"]], li["paid"]) for li in totals["by_line"]]
        table("已拨付，按计划行（元）", ["计划行"], lines)
    if batch is not None:
        _print_entries(summary["batches"][0]["name"], summary["entries"])
    label = "已拨付合计" if batch is None else "本批次合计"
    console.print(plain(f"{label}：{format_yuan(totals['paid']['total'])} 元"))


MoneyRows = list[tuple[list[str], dict[str, Decimal]]]


def _money_table(fields: list[str]) -> Callable[[str, list[str], MoneyRows], None]:
    """A printer of tables whose rows are texts, then one amount per funding source and in all."""
    from rich.table import Table

    from addin.reports.terminal_text import add_amount_column, print_table
    from schemas.money import format_yuan

    names = _source_names()
    headers = [names.get(f, "合计") for f in fields]

    def table(title: str, first: list[str], rows: MoneyRows) -> None:
        out = Table(title=title)
        for header in first:
            out.add_column(header, overflow="fold")
        for header in headers:
            add_amount_column(out, header)
        for texts, shape in rows:
            out.add_row(*map(plain, texts), *(format_yuan(shape[f]) for f in fields))
        print_table(console, out)

    return table


ENTRY_HEADERS = ("企业名称", "统一社会信用代码", "师市", "计划行", "资金来源")
UNBROKEN_HEADERS = ("统一社会信用代码", "计划行", "资金来源")


def _print_entries(batch: str, entries: list[dict[str, Any]]) -> None:
    """A batch's entries, one per row: what a clerk needs to reverse one (`ledger reverse --entry`)."""
    from rich.table import Table

    from addin.reports.terminal_text import SHORT_SOURCE, add_amount_column, print_table
    from schemas.money import format_yuan
    from schemas.plan import line_number
    from schemas.policy import load_policy

    if not entries:
        console.print(
            plain(f"批次“{batch}”没有记录（记账时没有可拨付的金额），不影响已拨付金额。"), soft_wrap=True
        )
        return
    sources = load_policy(None).funding_sources
    out = Table(title=f"批次“{visible(batch)}”的记录（{len(entries)} 条）")
    add_amount_column(out, "记录号")
    # a credit code whole on one line (to be read and copied), and the short columns unbroken
    for header in ENTRY_HEADERS:
        out.add_column(header, overflow="fold", no_wrap=header in UNBROKEN_HEADERS)
    add_amount_column(out, "金额（元）")
    out.add_column("冲销", overflow="fold")
    for e in entries:
        texts = [e["enterprise"], e["uscc"] or "", e["unit"], line_number(e["line"])]  # (narrow: numbers)
        out.add_row(
            str(e["seq"]),
            *map(plain, [*texts, sources.get(e["source"], e["source"])[:SHORT_SOURCE]]),
            format_yuan(e["amount"]),
            plain(_reversal_note(e)),
        )
    print_table(console, out)


def _reversal_note(entry: dict[str, Any]) -> str:
    """Whether an entry reverses another, or is reversed by one."""
    from addin.ledger.store import REVERSAL

    if entry["kind"] == REVERSAL:
        return f"冲销第 {entry['reverses']} 条"
    if entry["reversed_by"] is not None:
        return f"已被第 {entry['reversed_by']} 条冲销"
    return ""


@ledger_app.command("verify")
def verify(ledger: LedgerOption = None) -> None:
    """校验台账的校验链：每条记录的内容与记账时的校验值一致，没有记录被改动、删除或插入。

    退出码：0 = 完好；1 = 有记录被改动（指出第一条）；2 = 台账无法打开。
    """
    from addin.ledger.chain import first_broken

    books = open_ledger(ledger)
    if not books.exists:
        raise _fail(f"台账 {books.where} 不存在：请用 --ledger 指定台账。")
    rows = _guarded(books.entry_rows)
    broken = first_broken(rows)
    if broken is None:
        batches = len(_guarded(books.batch_rows))  # as show and export count them, an empty one too
        last = (
            f"；最后一条记录（第 {rows[-1]['seq']} 条）的校验码 {rows[-1]['hash'][:HEAD_SHOWN]}"
            if rows
            else ""
        )
        console.print(
            plain(f"台账完好：{batches} 个批次，{len(rows)} 条记录，校验链完整{last}。", style="bold green")
        )
        if rows:
            console.print(plain(HEAD_NOTE), soft_wrap=True)
        return
    entry, why = broken
    errors.print(
        labelled(
            "台账被改动",
            f"第 {entry['seq']} 条记录（批次“{entry['batch']}”，{entry['enterprise']}，{entry['line_name']}）：{why}。",
            style="bold red",
        )
    )
    raise typer.Exit(EXIT_BROKEN)


@ledger_app.command("export")
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="输出的台账 .xlsx 文件。")],
    ledger: LedgerOption = None,
    force: ReplaceOption = False,
) -> None:
    """导出台账：每个批次一张工作表，另有汇总表；A4 可打印（表头每页重复、页码、签字栏）。"""
    _write_books(output, ledger, full=True, force=force)


@ledger_app.command("report")
def report(
    output: Annotated[Path, typer.Option("--output", "-o", help="输出的拨付情况 .xlsx 文件。")],
    ledger: LedgerOption = None,
    force: ReplaceOption = False,
) -> None:
    """生成报兵团专班的拨付情况：各批次、按资金来源、师市和计划行的已拨付合计，A4 可打印，附签字栏。"""
    _write_books(output, ledger, full=False, force=force)


def _write_books(output: Path, given: str | None, full: bool, force: bool) -> None:
    from addin.io.output import refuse_conflicting_outputs
    from addin.io.overwrite import refuse_replacing_work
    from addin.ledger.chain import first_broken
    from addin.ledger.store import shown
    from addin.reports.ledger_report import write_books

    _guarded(lambda: refuse_conflicting_outputs({"-o": output}, []))
    _guarded(lambda: refuse_replacing_work({"-o": output}, force))
    books, summary = _books(given)
    entries = _guarded(books.entry_rows)
    broken = first_broken(entries)
    summary["chain"] = (
        "校验链完整" if broken is None else f"校验链不完整：第 {broken[0]['seq']} 条记录起被改动过"
    )
    _guarded(lambda: write_books(output, summary, entries, shown(books.where), _source_names(), full))
    what = "台账" if full else "拨付情况报告"
    console.print(plain(f"已保存{what}：{output}"), soft_wrap=True)
