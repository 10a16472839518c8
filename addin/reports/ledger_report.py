"""The books (addin.ledger.books) as JSON, and as a printable workbook (the summary workbook's sheet writer: A4, the header row repeated on
every page, page numbers): `ledger export` writes a summary and one sheet per batch, `ledger report` the
summary alone, titled as the 拨付情况 reported to 兵团专班. Each sheet ends with a sign-off block."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import xlsxwriter

from addin.beijing_time import beijing_timestamp, shown_time
from addin.io.bulk_rows import insert_into_package
from addin.io.output import atomic_path
from addin.reports.consolidation_report import _money
from addin.reports.summary_workbook import MONEY, WORKBOOK_OPTIONS, SummaryBook, SummarySheet, _sheet
from schemas.money import ZERO

SIGN_OFF = (
    "经办人：＿＿＿＿＿＿　　审核：＿＿＿＿＿＿　　负责人：＿＿＿＿＿＿　　日期：＿＿＿＿年＿＿月＿＿日"
)
SHEET_NAME_LIMIT = 31  # Excel's longest sheet name
_NOT_IN_SHEET_NAMES = re.compile(r"[\[\]:*?/\\]")


def books_document(where: str, summary: dict[str, Any]) -> dict[str, Any]:
    """`ledger show --json`: the ledger's location and the books, amounts as two-place decimal strings."""
    return {"ledger": where, **_money(summary)}


def sign_off(sheet: SummarySheet) -> None:
    """The signatures a printed page needs before it is filed or sent."""
    sheet.line()
    sheet.line(SIGN_OFF, "label")


def _money_columns(fields: list[str], names: dict[str, str]) -> list[str]:
    return [f"{names.get(f, '合计')}（元）" for f in fields]


def _summary(
    book: SummaryBook, summary: dict[str, Any], where: str, names: dict[str, str], full: bool
) -> None:
    totals = summary["totals"]
    fields = list(totals["paid"])
    money = _money_columns(fields, names)
    title = "专项资金拨付台账（汇总）" if full else "专项资金拨付情况（报兵团专班）"
    sheet = _sheet(
        book,
        "汇总" if full else "拨付情况",
        title,
        [22, 26, 12, 10] + [16] * len(money),
        [
            f"台账：{where}；{len(summary['batches'])} 个批次；{summary['chain']}；生成于 {shown_time(beijing_timestamp())}",
            "已拨付 = 各批次记入台账的金额（逐企业、计划行、资金来源）；暂缓拨付的企业不记入。",
        ],
    )
    formats = {n: MONEY for n in range(4, 4 + len(money))}
    rows = [
        [b["name"], b["doc"], b["date"], b["enterprises"], *(b["paid"][f] for f in fields)]
        for b in summary["batches"]
    ]
    total = ["合计", None, None, None, *(totals["paid"][f] for f in fields)]
    sheet.table(["批次", "文号", "日期", "企业数", *money], rows, formats, total)
    for heading, label, groups in (
        ("按师市", "师市", [(u["unit"], u["paid"]) for u in totals["by_unit"]]),
        ("按计划行", "计划行", [(li["line_name"], li["paid"]) for li in totals["by_line"]]),
    ):
        sheet.line()
        sheet.line(f"已拨付，{heading}", "label")
        sheet.table(
            [label, None, None, None, *money],
            [[name, None, None, None, *(shape[f] for f in fields)] for name, shape in groups],
            formats,
            total,
        )
    sign_off(sheet)


def _sheet_names(batches: list[str]) -> dict[str, str]:
    """A distinct valid sheet name per batch (at most 31 characters, none of []:*?/\\)."""
    names: dict[str, str] = {}
    taken = {"汇总"}
    for batch in batches:
        base = _NOT_IN_SHEET_NAMES.sub("_", batch)[:SHEET_NAME_LIMIT] or "批次"
        name, n = base, 1
        while name in taken:
            n += 1
            suffix = f"({n})"
            name = base[: SHEET_NAME_LIMIT - len(suffix)] + suffix
        taken.add(name)
        names[batch] = name
    return names


def _batch(
    book: SummaryBook,
    batch: dict[str, Any],
    name: str,
    entries: list[dict[str, Any]],
    sources: dict[str, str],
) -> None:
    sheet = _sheet(
        book,
        name,
        f"拨付批次：{batch['name']}",
        [8, 16, 30, 22, 36, 14, 16, 30, 8, 10],
        f"文号：{batch['doc']}；拨付日期：{batch['date']}；记账时间：{shown_time(batch['recorded_at'])}；"
        f"{batch['enterprises']} 家企业，{len(entries)} 条记录",
    )
    rows = [
        [
            n,
            e["unit"],
            e["enterprise"],
            e["uscc"] or "",
            e["line_name"],
            sources.get(e["source"], e["source"]),
            e["amount"],
            f"{e['file']} 第{e['row']}行",
            e["revision"],
            e["seq"],
        ]
        for n, e in enumerate(entries, start=1)
    ]
    total = [
        "合计",
        None,
        f"{batch['enterprises']} 家",
        None,
        None,
        None,
        sum((e["amount"] for e in entries), ZERO),
        None,
        None,
        None,
    ]
    sheet.table(
        [
            "序号",
            "师市",
            "企业名称",
            "统一社会信用代码",
            "计划行",
            "资金来源",
            "金额（元）",
            "申报文件及行号",
            "版本号",
            "记录号",
        ],
        rows,
        {6: MONEY},
        total,
        wrap=True,
    )
    sign_off(sheet)


def write_books(
    path: Path,
    summary: dict[str, Any],
    entries: list[dict[str, Any]],
    where: str,
    names: dict[str, str],
    full: bool,
) -> None:
    """Write the books to `path` atomically: the summary, and with `full` a sheet per batch."""
    from schemas.policy import load_policy

    sources = load_policy(None).funding_sources
    with atomic_path(path) as temporary:
        workbook = xlsxwriter.Workbook(str(temporary), {**WORKBOOK_OPTIONS, "tmpdir": str(temporary.parent)})
        title = "专项资金拨付台账" if full else "专项资金拨付情况"
        workbook.set_properties({"title": f"兵团中小企业数字化转型城市试点{title}", "author": "dtfund"})
        book = SummaryBook(workbook)
        _summary(book, summary, where, names, full)
        if full:
            sheet_names = _sheet_names([b["name"] for b in summary["batches"]])
            for batch in summary["batches"]:
                own = [e for e in entries if e["batch"] == batch["name"]]
                _batch(book, batch, sheet_names[batch["name"]], own, sources)
        workbook.close()
        insert_into_package(temporary, book.bulk)
