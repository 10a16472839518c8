"""The 兵团 summary workbook: 汇总, 执行情况 (with a chart), 拨付清单, 服务商排名, 奖励名单, 问题清单."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter

from addin.check.consolidate import Consolidation
from addin.io.bulk_rows import BulkRows, insert_into_package
from addin.io.input_files import SUMMARY_AUTHOR, summary_title
from addin.io.output import atomic_path
from addin.io.print_layout import (
    A4_PAPER,
    HEADER_FOOTER_MARGIN,
    LINE_HEIGHT,
    MARGINS,
    NAMED_SHEET_FOOTER,
    SHEET_PAGE_FOOTER,
    lines_height,
    pages_of,
    print_scale,
    wrapped_height,
    wrapped_lines,
)
from addin.reports.catalogue import SEVERITY_LABELS
from addin.reports.labels import held_reasons_by_row, incomplete_note, part_of_total
from addin.reports.ledger_columns import (
    COMMITTED,
    EXECUTION_LEDGER_HEADERS,
    EXECUTION_LEDGER_NOTE,
    LEDGER_HEADERS,
    execution_ledger_cells,
    ledger_cell_columns,
    ledger_line,
    ledger_sums,
    owed_now,
)
from addin.reports.summary_figures import (
    DISBURSEMENT_MONEY,
    NOT_QUALIFIED,
    award_records,
    disbursement_frame,
    disbursement_totals,
    division_summary,
    enterprises,
    execution_records,
    file_counts,
    left_out_files,
    provider_ranking,
    source_execution,
    summed_files,
)
from schemas.calculation import award_labels
from schemas.fields import part_fields
from schemas.money import column_total, format_yuan
from schemas.policy import Policy
from schemas.registry import rule

MONEY = "#,##0.00"
WAN_YUAN = "#,##0.00"  # the chart's data, in 万元
PERCENT = "0.00%"
BOX = {"border": 1, "border_color": "#999999"}
STYLES = {
    "header": {
        **BOX,
        "bold": True,
        "bg_color": "#DDEBF7",
        "text_wrap": True,
        "valign": "vcenter",
        "align": "center",
    },
    "body": BOX,
    "total": {**BOX, "bold": True, "bg_color": "#FFF2CC"},
    "subtotal": {**BOX, "bold": True},
    "section": {**BOX, "bold": True, "bg_color": "#E2EFDA"},
    "held_section": {**BOX, "bold": True, "bg_color": "#FCE4D6"},
    "title": {"bold": True, "font_size": 14},
    "label": {"bold": True},
}
TITLE_HEIGHT = 20  # points: the 14-point heading of each sheet
SHA256_SHOWN = 12  # the SHA-256 prefix naming a file's exact content on the 拨付清单
SIGN_HEIGHT = 36  # points: room to sign by hand
CHART_PRECISION = Decimal("0.01")  # 万元 to the hundredth: the chart's resolution
NUMBER_TYPES = {int, float, Decimal}  # exact types: bool is an int, and is written as a boolean
# Rows streamed to disk as they are written; text always written as text (never a formula or a link).
WORKBOOK_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
# A table body longer than this is rendered straight into the sheet XML (addin/io/bulk_rows.py), byte for
# byte what XlsxWriter writes (tests/test_bulk_rows.py) at about a tenth of the time per row.
BULK_FROM_ROWS = 50


@dataclass
class SummaryBook:
    """The XlsxWriter workbook being written, and the table bodies still to insert into its sheets."""

    workbook: Any
    bulk: list[BulkRows] = field(default_factory=list)


class SummarySheet:
    """One sheet written top to bottom (XlsxWriter's constant-memory mode: a summary of many divisions
    is hundreds of thousands of cells). Every cell is written with its type: text never becomes a
    formula or a link."""

    def __init__(self, book: SummaryBook, title: str, widths: list[int]) -> None:
        self.book = book
        self.workbook = book.workbook
        self.sheet = book.workbook.add_worksheet(title)
        self.widths = widths
        self.header_row = 0  # the table header repeated on every printed page (0-based)
        self.row = 0
        self.heights: dict[int, float] = {}  # rows (0-based) given a height other than the default
        self.headings: set[int] = set()  # rows (0-based) of section headings: printed with the row after
        self._formats: dict[tuple, Any] = {}

    def set_height(self, row: int, height: float) -> None:
        self.sheet.set_row(row, height)
        self.heights[row] = height

    def format(self, kind: str, number_format: str | None = None, wrap: bool = False) -> Any:
        key = (kind, number_format, wrap)
        if key not in self._formats:
            properties = dict(STYLES[kind])
            if number_format:
                properties["num_format"] = number_format
            if wrap:
                properties.update(text_wrap=True, valign="top")
            self._formats[key] = self.workbook.add_format(properties)
        return self._formats[key]

    def write_row(self, values: list[Any], formats: list[Any]) -> None:
        sheet, row = self.sheet, self.row
        for column, (value, style) in enumerate(zip(values, formats, strict=True)):
            kind = type(value)
            if kind is str:
                sheet.write_string(row, column, value, style)  # a text cell: never a formula
            elif kind in NUMBER_TYPES:
                sheet.write_number(row, column, float(value), style)
            elif value is None:
                sheet.write_blank(row, column, None, style)
            elif kind is bool:
                sheet.write_boolean(row, column, value, style)
            elif isinstance(value, int | float | Decimal):  # a subclass, such as numpy's float64
                sheet.write_number(row, column, float(value), style)
            else:
                sheet.write_string(row, column, str(value), style)
        self.row += 1

    def line(self, text: str = "", kind: str | None = None) -> None:
        if text:
            self.sheet.write_string(self.row, 0, text, self.format(kind) if kind else None)
        self.row += 1

    def table(
        self,
        headers: list[str],
        rows: list[list[Any]],
        number_formats: dict[int, str],
        total: list[Any] | None = None,
        wrap: bool = False,
    ) -> int:
        """A bordered table with a header row; returns the row (0-based) of its header."""
        top = self.header(headers)
        self.body(rows, number_formats, len(headers), wrap)
        if total:
            self.emphasised(total, number_formats)
        return top

    def header(self, headers: list[str]) -> int:
        """A table's header row; returns its row (0-based)."""
        top = self.row
        self.set_height(top, wrapped_height(zip(headers, self.widths, strict=False)))
        self.write_row(headers, [self.format("header")] * len(headers))
        return top

    def body(
        self, rows: list[list[Any]], number_formats: dict[int, str], width: int, wrap: bool = False
    ) -> None:
        """Body rows of a table `width` columns wide; a long run is rendered straight into the sheet XML.
        Wrapped, each row is made tall enough for its text (a viewer does not grow a row for its wrapped
        text by itself)."""
        body = [self.format("body", number_formats.get(n), wrap) for n in range(width)]
        lines = wrapped_lines(rows, self.widths) if wrap else [1] * len(rows)
        heights = {self.row + n: lines_height(count) for n, count in enumerate(lines) if count > 1}
        if len(rows) > BULK_FROM_ROWS:
            if self.row in heights:
                self.set_height(self.row, heights[self.row])
            self.write_row(rows[0], body)  # the other rows copy its cell styles
            later = {row: height for row, height in heights.items() if row >= self.row}
            self.heights.update(later)  # XlsxWriter never writes those rows: their heights go with them
            part = f"xl/worksheets/sheet{self.sheet.index + 1}.xml"
            self.book.bulk.append(BulkRows(part, self.row - 1, self.row, rows[1:], later))
            self.row += len(rows) - 1
            return
        for values in rows:
            if self.row in heights:
                self.set_height(self.row, heights[self.row])
            self.write_row(values, body)

    def _fit_lines(self, values: list[Any]) -> None:
        """Make the next row tall enough for its wrapped text."""
        (count,) = wrapped_lines([values], self.widths)
        if count > 1:
            self.set_height(self.row, lines_height(count))

    def heading(self, text: str, kind: str, width: int) -> None:
        """A section's heading across a table `width` columns wide, never printed last on a page."""
        self.headings.add(self.row)
        self.emphasised([text, *[None] * (width - 1)], {}, kind)

    def emphasised(
        self, values: list[Any], number_formats: dict[int, str], kind: str = "total", wrap: bool = False
    ) -> None:
        """A row of a table set off from its body: a subtotal, a total, a section's heading."""
        if wrap:
            self._fit_lines(values)
        self.write_row(values, [self.format(kind, number_formats.get(n), wrap) for n in range(len(values))])


def _sheet(
    book: SummaryBook,
    title: str,
    heading: str,
    widths: list[int],
    info: str | list[str] = "",
    landscape: bool = True,
) -> SummarySheet:
    """A sheet with its heading (row 1) and lines of information (row 2 on); the first table starts on
    the next row, and its header row is repeated on every printed page."""
    lines = [info] if isinstance(info, str) else info
    header_row = 1 + max(len(lines), 1)
    summary = SummarySheet(book, title, widths)
    summary.header_row = header_row
    sheet = summary.sheet
    for n, width in enumerate(widths):
        sheet.set_column(n, n, width)
    if landscape:
        sheet.set_landscape()
    else:
        sheet.set_portrait()
    sheet.set_paper(A4_PAPER)
    sheet.fit_to_pages(1, 0)
    sheet.set_margins(**MARGINS)
    sheet.set_start_page(1)
    sheet.set_footer(f"&C{NAMED_SHEET_FOOTER}", {"margin": HEADER_FOOTER_MARGIN})
    sheet.repeat_rows(header_row)
    sheet.freeze_panes(header_row + 1, 0)
    summary.set_height(0, TITLE_HEIGHT)
    summary.line(heading, "title")
    for line in lines or [""]:
        summary.line(line)
    return summary


SUMMARY_COUNTS_NOTE = (
    "企业数按申报表的行计，同一企业在几个师市申报的各计一次（见问题清单 DUPLICATE_ENTERPRISE）；金额为按规则计算的"
    "已承诺金额，含暂缓拨付的部分（可拨付与暂缓拨付按企业计数，见“拨付清单”）。"
)


def _summary(book: SummaryBook, c: Consolidation) -> None:
    policy = c.policy
    levels = [*policy.eligible_levels, NOT_QUALIFIED]
    industries = list(policy.value("pilot_industries"))
    sources = list(policy.funding_sources)
    headers = [
        "师市",
        "申报企业数",
        "符合条件企业数",
        *levels,
        *industries,
        *(label + "（元）" for label in award_labels(policy).values()),
        *(part_of_total(policy.funding_sources[s]) + "（元）" for s in sources),
    ]
    sheet = _sheet(
        book,
        "汇总",
        "专项资金申报汇总（按师市、资金来源）",
        [16] + [10] * (2 + len(levels) + len(industries)) + [15] * 8,
        [
            f"政策：{policy.title}（{policy.version}）；{file_counts(c).sentence()}（未纳入的见“拨付清单”第三部分）",
            *_incomplete_lines(c),
            SUMMARY_COUNTS_NOTE,
        ],
    )
    rows = [
        [
            entry["division"],
            entry["enterprises"],
            entry["eligible"],
            *(entry["levels"][lv] for lv in levels),
            *(entry["industries"][i] for i in industries),
            *entry["awards"].values(),
            *(entry["sources"][s] for s in sources),
        ]
        for entry in division_summary(c)
    ]
    total = ["合计", *(sum(r[n] for r in rows) for n in range(1, len(headers)))] if rows else None
    first_money = 3 + len(levels) + len(industries)
    sheet.table(headers, rows, {n: MONEY for n in range(first_money, len(headers))}, total)
    for note in _units_left_out(c):
        sheet.line(note, "label")


def _incomplete_lines(c: Consolidation) -> list[str]:
    """The sheet's first note when some file found could not be summed."""
    return [incomplete_note(len(c.not_summed))] if c.not_summed else []


def _units_left_out(c: Consolidation) -> list[str]:
    """A line for each unit none of whose files was summed: it is in no row above, and is named here."""
    reasons: dict[str, list[str]] = {}
    for record in left_out_files(c):
        if record["unit_left_out"]:
            reasons.setdefault(record["unit"], []).append(LEFT_OUT_STATUS[record["status"]])
    lines = [
        f"未纳入本次汇总：{unit}（{'；'.join(dict.fromkeys(why))}），其企业不在上表中，见“拨付清单”第三部分。"
        for unit, why in reasons.items()
    ]
    return [""] + lines if lines else []


def _execution(book: SummaryBook, c: Consolidation) -> None:
    policy = c.policy
    sheet = _sheet(
        book,
        "执行情况",
        "资金使用计划执行情况（按计划行、资金来源）",
        [36, 16, 16, 18, 18, 18, 18, 18, 10, 18, 18, 18],
        [
            "已承诺 = 各申报表按规则计算的金额与奖励名单的金额之和；未承诺和执行率按已承诺计算；“—”表示本工具暂不汇总该行的支出。",
            "其中可拨付 = 没有错误、没有重复申报的企业和名单行的金额（逐企业见“拨付清单”）；暂缓拨付 = 已承诺 − 可拨付。",
            EXECUTION_LEDGER_NOTE,
        ],
    )
    rows = []
    for record in execution_records(c):
        committed, payable = record["committed"], record["payable"]
        rows.append(
            [
                record["line"],
                policy.funding_sources[record["source"]],
                record["budget"] / policy.plan.to_yuan,
                record["budget"],
                "—" if committed is None else committed,
                "—" if payable is None else payable,
                "—" if committed is None or payable is None else committed - payable,
                "—" if committed is None else record["remaining"],
                "—" if record["rate"] is None else record["rate"],
                *execution_ledger_cells(c, record),
            ]
        )
    sheet.table(
        [
            "计划行",
            "资金来源",
            "计划（万元）",
            "计划（元）",
            "已承诺（元）",
            "其中可拨付（元）",
            "暂缓拨付（元）",
            "未承诺（元）",
            "执行率",
            *EXECUTION_LEDGER_HEADERS,
        ],
        rows,
        {2: "#,##0.######", **{n: MONEY for n in range(3, 8)}, 8: PERCENT, 9: MONEY, 10: MONEY, 11: MONEY},
    )
    sheet.line()
    sheet.line("按资金来源（申报汇总涉及的计划行）", "label")
    per_source = source_execution(c)
    figures = ("budget", "committed", "payable")
    wan = policy.plan.to_yuan  # 元 per 万元
    source_rows = [
        [
            policy.funding_sources[s],
            *(v[f] for f in figures),
            *((v[f] / wan).quantize(CHART_PRECISION, ROUND_HALF_UP) for f in figures),
        ]
        for s, v in per_source.items()
    ]
    top = sheet.table(
        [
            "资金来源",
            "计划（元）",
            "已承诺（元）",
            "其中可拨付（元）",
            "计划（万元）",
            "已承诺（万元）",
            "其中可拨付（万元）",
        ],
        source_rows,
        {1: MONEY, 2: MONEY, 3: MONEY, 4: WAN_YUAN, 5: WAN_YUAN, 6: WAN_YUAN},
    )
    _execution_chart(sheet, top, len(source_rows))


def _execution_chart(sheet: SummarySheet, top: int, rows: int) -> None:
    """A column chart of the per-source table's 万元 columns (top: its header row), below the table: an
    axis of 元 reads 140000000."""
    chart = sheet.workbook.add_chart({"type": "column"})
    for column in (4, 5, 6):
        chart.add_series(
            {
                "name": ["执行情况", top, column],
                "categories": ["执行情况", top + 1, 0, top + rows, 0],
                "values": ["执行情况", top + 1, column, top + rows, column],
            }
        )
    chart.set_title({"name": "计划、已承诺与可拨付（按资金来源，万元）"})
    chart.set_y_axis({"name": "万元", "num_format": "#,##0", "major_gridlines": {"visible": True}})
    chart.set_legend({"position": "bottom"})
    chart.set_size({"width": 720, "height": 320})
    sheet.sheet.insert_chart(sheet.row + 1, 0, chart)


DISBURSEMENT_HEADERS = [
    "填报单位",
    "企业名称",
    "统一社会信用代码",
    "中央资金（元）",
    "兵团配套资金（元）",
    "兵团财政局拨付小计（元）",
    "师市配套资金（元）",
    "企业补贴合计（元）",
    "申报文件及行号",
    "暂缓原因（规则）",
    *LEDGER_HEADERS,
]
DISBURSEMENT_FORMATS = {n: MONEY for n in range(3, 3 + len(DISBURSEMENT_MONEY))} | {10: MONEY, 11: MONEY}
NO_UNIT = "（未填写填报单位）"
UNIT_UNKNOWN = (
    "（无法读取填报单位）"  # a file that could not be checked, whose 填报单位 could not be read either
)
PAYABLE_HEADING = ("一、可拨付：没有错误、没有重复申报的企业，按本节拨付", "section")
HELD_HEADING = ("二、暂缓拨付：有错误或重复申报的企业，改正并重新汇总前不得拨付", "held_section")


def _listed_rows(frame: pd.DataFrame) -> list[list[Any]]:
    """The list's rows (DISBURSEMENT_HEADERS) for rows of the disbursement frame, built a column at a time."""
    places = (
        f"{file} 第{row}行" for file, row in zip(frame["file"].tolist(), frame["row"].tolist(), strict=True)
    )
    columns = [
        [unit or NO_UNIT for unit in frame["unit"].tolist()],
        frame["name"].tolist(),
        frame["uscc"].tolist(),
        *(frame[money].tolist() for money in DISBURSEMENT_MONEY),
        list(places),
        ["\n".join(reasons) for reasons in held_reasons_by_row(frame["held_by_row"], frame["held_by_file"])],
        *ledger_cell_columns(frame),
    ]
    return [list(row) for row in zip(*columns, strict=True)]


def _sum_row(label: str, frame: pd.DataFrame, source: str | None = None) -> list[Any]:
    amounts = [column_total(frame[money]) for money in DISBURSEMENT_MONEY]
    paid, left = ledger_sums(frame)
    return [label, None, enterprises(frame["uscc"]), *amounts, source, None, paid, left, None]


def _source_files(names: Iterable[str], files: dict[str, dict[str, Any]]) -> str:
    """The files a unit's rows come from: name, 版本号 and SHA-256 prefix, a file a line."""
    lines = []
    for name in dict.fromkeys(names):
        known = files.get(name, {})
        sha = (known.get("sha256") or "")[:SHA256_SHOWN]
        lines.append(f"{name}（版本号 {known.get('revision') or '—'}，SHA-256 {sha or '—'}）")
    return "\n".join(lines)


def _disbursement_section(
    sheet: SummarySheet,
    heading: tuple[str, str],
    part: pd.DataFrame,
    total_label: str,
    files: dict[str, dict[str, Any]],
) -> None:
    """One section of the list: its heading (text, style), each unit's enterprises and 小计, its 合计."""
    width = len(DISBURSEMENT_HEADERS)
    text, style = heading
    sheet.heading(text, style, width)
    if part.empty:
        sheet.body([["（无）", *[None] * (width - 1)]], {}, width)
    rows = _listed_rows(part)
    by_unit: dict[str | None, list[int]] = {}
    for n, unit in enumerate(part["unit"].tolist()):  # the units in the order they come
        by_unit.setdefault(unit, []).append(n)
    for unit, positions in by_unit.items():
        sheet.body([rows[n] for n in positions], DISBURSEMENT_FORMATS, width, wrap=True)
        of_unit = part.iloc[positions]
        subtotal = _sum_row(
            f"{unit or NO_UNIT} 小计", of_unit, _source_files(of_unit["file"].tolist(), files)
        )
        sheet.emphasised(subtotal, DISBURSEMENT_FORMATS, "subtotal", wrap=True)
    sheet.emphasised(_sum_row(total_label, part), DISBURSEMENT_FORMATS)


def _decision_line(label: str, part: pd.DataFrame, total: dict[str, Decimal], policy: Policy) -> str:
    """可拨付：7 家，合计 7,150,000.00 元（中央专项资金 …），and how many of them come to nothing."""
    parts = "，".join(
        f"{policy.funding_sources[source]} {format_yuan(total[field])} 元"
        for source, field in part_fields(policy).items()
    )
    line = f"{label}：{enterprises(part['uscc'])}，合计 {format_yuan(total['total'])} 元（{parts}）"
    nothing = np.array([not amount for amount in part[COMMITTED].tolist()], dtype=bool)  # (not: paid)
    if nothing.any():
        line += f"，其中 {enterprises(part['uscc'][nothing])}按规则计算的金额为 0"
    return line + "。"


def _disbursement(book: SummaryBook, c: Consolidation) -> None:
    """第十一条（一）6: what can be paid, enterprise by enterprise, and what is held and why: each amount
    what is owed now (what an earlier batch paid is not paid again), beside what was paid and committed."""
    frame = disbursement_frame(c)
    # (without a ledger nothing was paid before: what is owed is what is committed)
    frame = (
        owed_now(frame, DISBURSEMENT_MONEY)
        if c.paid is not None
        else frame.assign(**{COMMITTED: frame["total"]})
    )
    can_pay = frame["payable"].to_numpy(dtype=bool)
    payable, held = frame[can_pay], frame[~can_pay]
    totals = disbursement_totals(c)
    sheet = _sheet(
        book,
        "拨付清单",
        "补贴资金拨付清单（第十一条（一）6）",
        [16, 30, 22, 16, 16, 20, 16, 16, 30, 58, 16, 16, 30],
        [
            *_incomplete_lines(c),
            _decision_line("可拨付", payable, totals["payable"], c.policy),
            _decision_line("暂缓拨付", held, totals["held"], c.policy)
            + "有错误或重复申报，改正并重新汇总前不得拨付。",
            "兵团财政局把中央资金和兵团配套资金拨付给企业所属师市财政局，限期拨付企业；"
            "师市配套资金由师市财政局同步拨付。金额为 0 且没有错误的企业（如尚未评测）不列入。",
            *([ledger_line(c)] if c.paid is not None else []),
        ],
    )
    sheet.header(DISBURSEMENT_HEADERS)
    files = summed_files(c)
    _disbursement_section(sheet, PAYABLE_HEADING, payable, "可拨付合计", files)
    _disbursement_section(sheet, HELD_HEADING, held, "暂缓拨付合计", files)
    sheet.emphasised(_sum_row("合计（可拨付＋暂缓拨付）", frame), DISBURSEMENT_FORMATS)
    _left_out_section(sheet, c)
    for note in _disbursement_notes(c):
        sheet.line(note)
    sign_from = sheet.row
    _sign_off(sheet)
    _paginate(sheet, keep_from=sign_from - 1)


LEFT_OUT_HEADING = ("三、未纳入本次汇总的单位和文件：其中的企业不在本清单中，不得据此拨付", "held_section")
LEFT_OUT_STATUS = {
    "replaced": "已被新版本替换",
    "submitted_twice": "版本号相同，无法确定哪一份为准",
    "skipped": "不是申报表",
    "unreadable": "无法校验",
}


def _left_out_section(sheet: SummarySheet, c: Consolidation) -> None:
    """第三部分: every file found and not summed, by unit, with the reason and the rule; a unit none of
    whose files was summed is said to be left out whole."""
    width = len(DISBURSEMENT_HEADERS)
    records = left_out_files(c)
    text, style = LEFT_OUT_HEADING
    sheet.heading(f"{text}（{file_counts(c).sentence()}）", style, width)
    if not records:
        sheet.body([["（无）", *[None] * (width - 1)]], {}, width)
        return
    rows = []
    for r in records:
        status = LEFT_OUT_STATUS[r["status"]]
        if r["unit_left_out"]:
            status += "；该单位本次没有任何文件纳入汇总"
        source = _source_files([r["file"]], {r["file"]: r})
        reason = f"{r['reason']}（{rule(r['rule']).title}，{r['rule']}）" if r["rule"] else r["reason"]
        rows.append(
            _by_header(
                {
                    "填报单位": r["unit"]
                    or (UNIT_UNKNOWN if r["status"] in ("unreadable", "skipped") else NO_UNIT),
                    "企业名称": status,
                    SOURCE_HEADER: source,
                    REASON_HEADER: reason,
                }
            )
        )
    sheet.body(rows, {}, width, wrap=True)


SOURCE_HEADER, REASON_HEADER = "申报文件及行号", "暂缓原因（规则）"


def _by_header(values: dict[str, Any]) -> list[Any]:
    """A row of the list from its values by column header (the other columns blank): it stays right
    whatever columns are added to the list."""
    return [values.get(header) for header in DISBURSEMENT_HEADERS]


SIGN_LINES = (
    ("经办人（签字）：", "审核（签字）：", "负责人（签字）："),
    ("日期：      年    月    日", "", "单位（盖章）："),
)


def _sign_off(sheet: SummarySheet) -> None:
    """The block the list is signed in: 经办人、审核、负责人、日期、单位盖章, each with room to write."""
    width = len(DISBURSEMENT_HEADERS)
    places = (0, width // 3, 2 * width // 3)  # three columns of signatures, spread over the sheet
    sheet.line()
    for texts in SIGN_LINES:
        values: list[Any] = [None] * width
        for place, text in zip(places, texts, strict=True):
            values[place] = text or None
        sheet.set_height(sheet.row, SIGN_HEIGHT)
        sheet.write_row(values, [sheet.format("label")] * width)


def _paginate(sheet: SummarySheet, keep_from: int) -> None:
    """Print the sheet on pages of its own: fitted to one page wide by each viewer (whatever its fonts),
    page breaks between rows placed here for the smallest scale a viewer may choose (the rows from
    `keep_from` on, the sign-off block, stay on one page), and a footer numbering the sheet's own pages
    (第 x 页 共 y 页), whatever else the workbook prints. Fitted to a width with no height set, Excel,
    WPS and LibreOffice keep the manual page breaks."""
    heights = [sheet.heights.get(row, LINE_HEIGHT) for row in range(sheet.row)]
    scale = print_scale(sheet.widths, landscape=True)
    breaks = pages_of(
        heights,
        scale,
        landscape=True,
        repeated=sheet.header_row,
        keep_from=keep_from,
        keep_with_next=sheet.headings,
    )
    sheet.sheet.set_h_pagebreaks(breaks)
    sheet.sheet.set_start_page(1)
    sheet.sheet.set_footer(
        f"&C{SHEET_PAGE_FOOTER.format(pages=len(breaks) + 1)}", {"margin": HEADER_FOOTER_MARGIN}
    )


def _disbursement_notes(c: Consolidation) -> list[str]:
    """What the list cannot show: summed files with no enterprise on it (the files counted as summed
    are all named here or beside their rows; files left out are its third part), and commitments over
    the plan."""
    notes = _summed_not_listed(c)
    if any(i.rule == "BUDGET_EXCEEDED" for i in c.issues):
        notes.append(
            "注意：已承诺金额超出资金使用计划（见问题清单 BUDGET_EXCEEDED）；可拨付金额未按计划核减，"
            "拨付前须调整计划或核减申报。"
        )
    if any(i.rule == "LEDGER_OVER_BUDGET" for i in c.issues):
        notes.append(
            "注意：资金台账已拨付与本次可拨付合计超出资金使用计划（见问题清单 LEDGER_OVER_BUDGET）；"
            "本汇总结果不能记账，须少拨付一些企业或调整计划后重新汇总。"
        )
    return [""] + notes if notes else []


def _summed_not_listed(c: Consolidation) -> list[str]:
    """A line per summed file that puts no enterprise on the list: an awards workbook (its winners are
    on 奖励名单), an application with no enterprise, or with none to pay or hold (every amount 0)."""
    listed = set(disbursement_frame(c)["file"])
    files = summed_files(c)
    notes = []
    for result in c.files:
        label = c.label(result)
        if c.status(result) != "consolidated" or label in listed:
            continue
        what = (
            "奖励与补贴名单，其奖励见“奖励名单”工作表"
            if result.kind == "awards"
            else "申报表，没有列入本清单的企业（未填写企业，或各企业金额都为 0 且没有错误）"
        )
        notes.append(f"已汇总：{result.unit or NO_UNIT} {_source_files([label], files)}，{what}。")
    return notes


def _providers(book: SummaryBook, c: Consolidation) -> None:
    levels = c.policy.eligible_levels
    sheet = _sheet(
        book,
        "服务商排名",
        "数字化服务商排名（按服务企业达到二级及以上的数量，第十条（三）1）",
        [8, 34, 16] + [10] * len(levels) + [14],
        landscape=False,
    )
    rows = [
        [r["rank"], r["provider"], r["qualified"], *(r["levels"][lv] for lv in levels), r["enterprises"]]
        for r in provider_ranking(c)
    ]
    sheet.table(["名次", "数字化服务商", "二级及以上企业数", *levels, "服务企业数"], rows, {})


def _awards(book: SummaryBook, c: Consolidation) -> None:
    """The awards workbooks' winners, with the plan line and funding source each is charged to."""
    sources = c.policy.funding_sources
    sheet = _sheet(
        book,
        "奖励名单",
        "奖励与补贴名单（第十条（一）4、（三）、（四）2、（六）1）",
        [22, 14, 30, 22, 36, 14, 16],
        "金额按各奖励名单计算：赋能载体为按规则计算的补贴，其余为名单所填奖励金额。",
    )
    records = award_records(c)
    rows = [
        [
            r["file"],
            r["sheet"],
            r["name"],
            r["key"],
            r["line"],
            sources.get(r["source"], "（未知来源）"),
            r["amount"],
        ]
        for r in records
    ]
    total = [
        "合计",
        None,
        f"{len(records)} 项",
        None,
        None,
        None,
        sum((r["amount"] for r in records), Decimal(0)),
    ]
    sheet.table(
        ["文件", "名单", "获奖单位", "统一社会信用代码/师市", "计划行", "资金来源", "金额（元）"],
        rows,
        {6: MONEY},
        total if records else None,
    )


def _issues(book: SummaryBook, c: Consolidation) -> None:
    sheet = _sheet(book, "问题清单", "问题清单（全部文件）", [26, 12, 10, 30, 8, 60, 44, 16])
    rows = [
        [
            i.file,
            i.sheet,
            i.cell,
            i.rule,
            SEVERITY_LABELS[i.severity],
            f"{i.title}：{i.message}",
            i.fix,
            i.clause,
        ]
        for i in c.all_issues
    ]
    sheet.table(["文件", "工作表", "单元格", "规则", "级别", "说明", "修改建议", "依据"], rows, {}, wrap=True)


def write_summary(c: Consolidation, path: Path) -> None:
    """Write the summary workbook (atomically: a temporary file renamed over `path`)."""
    with atomic_path(path) as temporary:
        # xlsxwriter's files of rows go in the write's private work folder, removed with it
        workbook = xlsxwriter.Workbook(str(temporary), {**WORKBOOK_OPTIONS, "tmpdir": str(temporary.parent)})
        workbook.set_properties({"title": summary_title(c.policy.fund), "author": SUMMARY_AUTHOR})  # ours
        book = SummaryBook(workbook)
        for write_sheet in (_summary, _execution, _disbursement, _providers, _awards, _issues):
            write_sheet(book, c)
        workbook.close()
        insert_into_package(temporary, book.bulk)
