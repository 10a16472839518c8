"""The 报送表: a unit's checked applications laid out on A4 landscape for submission upward, printed,
signed and stamped — its rows and totals, the check's verdict, the file's SHA-256, the lines to sign.

Made with reportlab in Python on any system (no office suite). Its Chinese text uses the PDF standard
CID font STSong-Light (Adobe-GB1), codes and amounts the standard Helvetica: every PDF reader supplies
them or a substitute, so no font file is shipped or embedded, and the text stays searchable and
extractable. Text from cells is escaped before it goes into a Paragraph (reportlab parses Paragraph text
as markup) or drawn as a plain string."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from addin.beijing_time import shown_time
from addin.check.pipeline import CheckResult, held_rows, rows_with_errors, totals
from addin.io.output import OutputError, refuse_overwriting_inputs, write_bytes_atomically
from addin.io.print_layout import PDF_CELL_TEXT_LIMIT, shortened
from schemas.calculation import award_labels, source_parts
from schemas.money import column_total, format_yuan
from schemas.policy import Policy

FONT = "STSong-Light"
LATIN_FONT = "Helvetica"  # one of the PDF standard fonts
TITLE = "企业数字化改造补贴申报汇总表（报送表）"  # after the policy's fund
SIGN_LINES = ("填报单位（盖章）", "负责人", "填报人", "联系电话", "填报日期")
BODY_SIZE = 7.5  # points: the table's text
CODE_LENGTH = 18  # a credit code's characters (a longer text in its cell wraps)
LISTED_ROWS = 30  # rows with errors named in the verdict; more are counted
PAGE = landscape(A4)
MARGIN = 10 * mm
ALERT = colors.HexColor("#C00000")
HEADER_FILL = colors.HexColor("#DDE6F0")
TOTAL_FILL = colors.HexColor("#F2F2F2")


@dataclass(frozen=True)
class Column:
    header: str
    width: float  # mm


def _award_width(n: int, policy: Policy) -> float:
    """The first line's column and the total's are wider (their amounts are the largest)."""
    return 19 if n == 0 else 19.5 if n == len(policy.lines) else 17


def _columns(policy: Policy) -> list[Column]:
    return [
        Column("序号", 9),
        Column("企业名称", 48),
        Column("统一社会信用代码", 30),
        Column("评测等级", 10),
        Column("合同总额", 19.5),
        Column("实际支付金额", 19.5),
        *(Column(label, _award_width(n, policy)) for n, label in enumerate(award_labels(policy).values())),
        *(Column(f"其中：{label}", 19.5) for label in policy.funding_sources.values()),
        Column("校验", 10),
    ]


def write_submission_form(result: CheckResult, source: Path, output: Path) -> None:
    """Write the 报送表 of a checked application workbook, atomically and never over the input."""
    refuse_overwriting_inputs(output, [source])
    if result.kind is None:
        reasons = "".join(issue.message for issue in result.issues[:1])
        raise OutputError(f"文件无法读取，不能生成报送表：{reasons}")
    if result.kind != "application" or result.table is None:
        raise OutputError("报送表只能由申报表生成；资金使用计划表和奖励名单请直接打印工作簿。")
    write_bytes_atomically(output, submission_form_pdf(result))


def submission_form_pdf(result: CheckResult) -> bytes:
    """The 报送表 as PDF bytes."""
    _register_font()
    buffer = io.BytesIO()
    name = Path(result.file).name
    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=14 * mm,
        title=f"{result.policy.fund} {TITLE}",
        author=result.unit or "",
        subject=name,
        creator="dtfund",
    )
    footer = f"{result.unit or '填报单位未填写'}　{name}　SHA-256 {(result.sha256 or '')[:16]}…"
    document.build(_story(result), canvasmaker=_numbered_canvas(footer))
    return buffer.getvalue()


def _register_font() -> None:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _style(
    size: float, align: int = TA_LEFT, color: colors.Color = colors.black, leading: float = 0
) -> ParagraphStyle:
    return ParagraphStyle(
        f"s{size}-{align}",
        fontName=FONT,
        fontSize=size,
        leading=leading or size * 1.3,
        alignment=align,
        textColor=color,
        wordWrap="CJK",  # Chinese breaks between any two characters; a long name wraps in its cell
    )


def _text(value: object, style: ParagraphStyle) -> Paragraph:
    """A cell's text as plain text (escaped: reportlab reads Paragraph text as markup). A text of ASCII
    only (an amount, a credit code) is set in Helvetica, whose metrics every reader has exactly."""
    text = shortened("" if value is None else str(value), PDF_CELL_TEXT_LIMIT)
    if text.isascii():
        style = ParagraphStyle(f"{style.name}-latin", parent=style, fontName=LATIN_FONT)
    return Paragraph(escape(text), style)


def _story(result: CheckResult) -> list:
    story = [
        _text(f"{result.policy.fund} {TITLE}", _style(15, TA_CENTER, leading=20)),
        Spacer(0, 3 * mm),
        _heading(result),
        Spacer(0, 2 * mm),
        _verdict_block(result),
        Spacer(0, 3 * mm),
        _rows_table(result),
        Spacer(0, 4 * mm),
        KeepTogether([*_provenance(result), Spacer(0, 6 * mm), _sign_table()]),
    ]
    return story


def _heading(result: CheckResult) -> Table:
    """填报单位, 版本号, 报送日期 (a blank date left to fill in by hand), and the unit of the amounts."""
    submitted = result.submitted_on.isoformat() if result.submitted_on else "    年    月    日"
    cells = [
        f"填报单位：{result.unit or '（未填写）'}",
        f"版本号：{result.revision or '（未填写）'}",
        f"报送日期：{submitted}",
        "金额单位：元",
    ]
    return _plain_row(cells, [110 * mm, 45 * mm, 70 * mm, 52 * mm], 10)


def _plain_row(cells: list[str], widths: list[float], size: float) -> Table:
    """One row of short texts drawn as they are (no markup read, spaces kept)."""
    row = Table([cells], colWidths=widths, hAlign="LEFT")
    row.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), FONT, size), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return row


FILE_HOLDS_ALL = "填报单位、版本号等表上的错误改正前，全表企业暂缓拨付。"


def _verdict_block(result: CheckResult) -> Table:
    """The check's verdict; with errors, a red box that says the table cannot be submitted as it is."""
    outcome = "通过" if result.valid else "不通过"
    verdict = f"校验结论：{outcome}（错误 {result.errors} 条，警告 {result.warnings} 条）"
    if result.valid:
        lines = [_text(verdict, _style(11))]
        return Table([[lines]], colWidths=[PAGE[0] - 2 * MARGIN])
    lines = [
        _text(verdict, _style(13, color=ALERT)),
        _text(
            "本表有错误，不能报送：请按 dtfund check 列出的问题改正申报表，重新校验通过后再打印报送。",
            _style(10, color=ALERT),
        ),
    ]
    rows = _rows_with_errors(result)
    if rows:
        numbers = {row: n for n, row in enumerate(result.table.rows, start=1)}
        listed = rows[:LISTED_ROWS]
        more = f"等 {len(rows)} 家" if len(rows) > LISTED_ROWS else ""
        lines.append(
            _text(
                f"有错误的企业：序号 {'、'.join(str(numbers[row]) for row in listed)}{more}"
                f"（申报表第 {'、'.join(str(row) for row in listed)} 行{more and '等'}）。",
                _style(10, color=ALERT),
            )
        )
    on_rows = set(rows)
    elsewhere = sum(1 for i in result.issues if i.severity == "error" and i.row not in on_rows)
    if elsewhere:
        lines.append(
            _text(
                f"不在企业行上的错误 {elsewhere} 条（如填报单位、版本号、合计行）。", _style(10, color=ALERT)
            )
        )
    if held_rows(result)["held_by_file"].map(bool).any():
        lines.append(_text(FILE_HOLDS_ALL, _style(10, color=ALERT)))
    box = Table([[lines]], colWidths=[PAGE[0] - 2 * MARGIN])
    box.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 1.5, ALERT), ("TOPPADDING", (0, 0), (-1, -1), 4)]))
    return box


def _rows_with_errors(result: CheckResult) -> list[int]:
    """The enterprise rows with an error of their own (a file's error holds every row: said apart)."""
    held_by_row = held_rows(result)["held_by_row"]
    return [int(row) for row, rules in held_by_row.items() if rules]


def _severity_by_row(result: CheckResult) -> dict[int, str]:
    marks: dict[int, str] = {}
    for issue in result.issues:
        if issue.row is not None:
            if issue.severity == "error":
                marks[issue.row] = "错误"
            else:
                marks.setdefault(issue.row, "警告")
    return marks


def _rows_table(result: CheckResult) -> Table:
    """The applications, one row each, with a header row repeated on every page and a totals row.
    Names wrap within their cell; codes and amounts are drawn as plain strings (never broken)."""
    table, policy = result.table, result.policy
    frame, amounts = table.frame, table.amounts
    columns = _columns(policy)
    small = _style(BODY_SIZE, leading=9)
    header = [_text(c.header, _style(BODY_SIZE, TA_CENTER, leading=9)) for c in columns]
    by_source = {source: source_parts(amounts, source) for source in policy.funding_sources}
    marks = _severity_by_row(result)
    data = [header]
    for n, row in enumerate(frame.index, start=1):
        figures = [
            frame.at[row, "contract_total"],
            frame.at[row, "paid"],
            *(amounts.at[row, name] for name in award_labels(policy)),
            *(by_source[source].at[row] for source in policy.funding_sources),
        ]
        code = "" if frame.at[row, "uscc"] is None else str(frame.at[row, "uscc"])
        data.append(
            [
                str(n),
                _text(frame.at[row, "name"], small),
                code if len(code) <= CODE_LENGTH else _text(code, small),  # a long text wraps
                frame.at[row, "level"] or "",
                *(format_yuan(figure) for figure in figures),
                marks.get(row, ""),
            ]
        )
    data.append(_totals_row(result))
    first, last = 4, len(columns) - 2  # the amount columns
    grid = Table(data, colWidths=[c.width * mm for c in columns], repeatRows=1)
    grid.setStyle(
        TableStyle(
            [
                ("FONT", (0, 1), (-1, -1), FONT, BODY_SIZE),
                ("FONT", (2, 1), (2, -1), LATIN_FONT, BODY_SIZE - 0.5),
                ("FONT", (first, 1), (last, -1), LATIN_FONT, BODY_SIZE - 0.5),
                ("ALIGN", (first, 1), (last, -1), "RIGHT"),
                ("ALIGN", (0, 1), (0, -1), "CENTER"),
                ("ALIGN", (3, 1), (3, -1), "CENTER"),
                ("ALIGN", (-1, 1), (-1, -1), "CENTER"),
                ("TEXTCOLOR", (-1, 1), (-1, -1), ALERT),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL),
                ("BACKGROUND", (0, -1), (-1, -1), TOTAL_FILL),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("SPAN", (0, -1), (3, -1)),
            ]
        )
    )
    return grid


def _totals_row(result: CheckResult) -> list:
    """合计: the inputs summed, the computed amounts and the parts by source as the check totals them."""
    frame = result.table.frame
    figures = totals(result.table, result.policy)
    computed = figures["amounts"]
    sums = [
        column_total(frame["contract_total"].fillna(Decimal(0))),
        column_total(frame["paid"].fillna(Decimal(0))),
        *(Decimal(computed[n]) for n in award_labels(result.policy)),
        *(Decimal(figures["by_source"][source]) for source in result.policy.funding_sources),
    ]
    count = (
        f"合计（{figures['rows']} 家企业，符合条件 {figures['eligible_rows']} 家，"
        f"暂缓拨付 {rows_with_errors(result)} 家）"
    )
    return [_text(count, _style(BODY_SIZE, TA_CENTER, leading=9)), "", "", "", *map(format_yuan, sums), ""]


def _provenance(result: CheckResult) -> list[Paragraph]:
    """Which file was checked (name, SHA-256), when (Beijing time), against which policy."""
    small = _style(9)
    return [
        _text(f"校验文件：{Path(result.file).name}", small),
        _text(f"文件 SHA-256：{result.sha256 or '（无）'}", small),
        _text(f"校验时间：{shown_time(result.checked_at)}", small),
        _text(f"校验依据：{result.policy.title}（{result.policy.version}），由 dtfund check 生成。", small),
    ]


def _sign_table() -> Table:
    """The lines to sign, each label followed by a line to write on, with room for a stamp."""
    labels = [f"{label}：" for label in SIGN_LINES]
    rows = [
        [labels[0], "", labels[1], "", labels[2], ""],
        [labels[3], "", labels[4], "    年    月    日", "", ""],
    ]
    widths = [34 * mm, 62 * mm, 20 * mm, 55 * mm, 20 * mm, 55 * mm]
    sign = Table(rows, colWidths=widths, rowHeights=[18 * mm, 14 * mm], hAlign="LEFT")
    lines = [("LINEBELOW", (column, 0), (column, 0), 0.6, colors.black) for column in (1, 3, 5)]
    lines += [("LINEBELOW", (column, 1), (column, 1), 0.6, colors.black) for column in (1, 3)]
    sign.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 11),
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("ALIGN", (0, 0), (0, -1), "RIGHT"),
                ("ALIGN", (2, 0), (2, -1), "RIGHT"),
                ("ALIGN", (4, 0), (4, -1), "RIGHT"),
                ("ALIGN", (3, 1), (3, 1), "RIGHT"),
                *lines,
            ]
        )
    )
    return sign


def _numbered_canvas(footer: str) -> type[canvas.Canvas]:
    """A canvas that writes, on every page, the footer and 第 x 页 共 y 页 (y known once all are laid out)."""

    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            count = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(FONT, 8)
                self.drawString(MARGIN, 7 * mm, footer)
                self.drawRightString(PAGE[0] - MARGIN, 7 * mm, f"第 {number} 页 共 {count} 页")
                super().showPage()
            super().save()

    return NumberedCanvas
