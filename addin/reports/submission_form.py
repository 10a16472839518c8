"""The 报送表: a unit's checked applications laid out on A4 landscape for submission upward, printed,
signed and stamped — its rows and totals, the check's verdict, the file's SHA-256, the lines to sign.

Made with reportlab in Python on any system (no office suite). Every font is embedded (a subset; see
addin.reports.pdf_fonts), so the form shows the same on any reader, and the text stays searchable and
extractable; a character no embedded font has is shown as [U+XXXX] and named in a warning. Text from
cells is escaped before it goes into a Paragraph (reportlab parses Paragraph text as markup).

The last rows of the table, its 合计 row, the file's details and the lines to sign are one table kept
together (_KeptTail; with the header row again when they start a page): the last page never holds the
sign lines alone. Not reportlab's NOSPLIT, which recomputes a map of every cell at each page (a third
longer at 2,000 rows)."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.doctemplate import FrameBreak

from addin.beijing_time import shown_time
from addin.check.pipeline import CheckResult, held_rows, totals
from addin.io.output import OutputError, refuse_overwriting_inputs, write_bytes_atomically
from addin.io.print_layout import PDF_CELL_TEXT_LIMIT, shortened
from addin.reports.check_report import enterprise_counts
from addin.reports.drawn_rows import CENTRE, RIGHT, CellStyle, DrawnRows, Grid, fitted_size
from addin.reports.labels import part_of_total
from addin.reports.pdf_fonts import CJK_FONT, LATIN_FONT, Runs, register_fonts
from schemas.calculation import award_labels, source_parts
from schemas.money import column_total, format_yuan
from schemas.policy import Policy

FONT = CJK_FONT
KEPT_ROWS = 3  # enterprise rows kept on the last page with the 合计 row, the file's details and the signs
TITLE = "企业数字化改造补贴申报汇总表（报送表）"  # after the policy's fund
SIGN_LINES = ("填报单位（盖章）", "负责人", "填报人", "联系电话", "填报日期")
BODY_SIZE = 7.5  # points: the table's text
# a table's empty cells are drawn in its font too (Helvetica unless told): an embedded one
NO_STANDARD_FONT = ("FONT", (0, 0), (-1, -1), LATIN_FONT, BODY_SIZE)
CODE_SIZE = 6.5  # points: a credit code's 18 characters within its column (DejaVu Sans is wide)
CODE_LENGTH = 18  # a credit code's characters (a longer text in its cell wraps)
LISTED_ROWS = 30  # rows with errors named in the verdict; more are counted
PAGE = landscape(A4)
MARGIN = 10 * mm
ALERT = colors.HexColor("#C00000")
HEADER_FILL = colors.HexColor("#DDE6F0")
CELL_PADDING = 4  # points: a cell's left and right padding together
SMALLEST = 4.5  # points: the smallest an amount is set, however large
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
        Column("企业名称", 46),
        Column("统一社会信用代码", 32),
        Column("评测等级", 10),
        Column("合同总额", 19.5),
        Column("实际支付金额", 19.5),
        *(Column(label, _award_width(n, policy)) for n, label in enumerate(award_labels(policy).values())),
        *(Column(part_of_total(label), 19.5) for label in policy.funding_sources.values()),
        Column("校验", 10),
    ]


def write_submission_form(result: CheckResult, source: Path, output: Path) -> list[str]:
    """Write the 报送表 of a checked application workbook, atomically and never over the input; the
    warnings (characters no embedded font has)."""
    refuse_overwriting_inputs(output, [source])
    if result.kind is None:
        reasons = "".join(issue.message for issue in result.issues[:1])
        raise OutputError(f"文件无法读取，不能生成报送表：{reasons}")
    if result.kind != "application" or result.table is None:
        raise OutputError("报送表只能由申报表生成；资金使用计划表和奖励名单请直接打印工作簿。")
    data, warnings = submission_form(result)
    write_bytes_atomically(output, data)
    return warnings


def submission_form_pdf(result: CheckResult) -> bytes:
    """The 报送表 as PDF bytes."""
    return submission_form(result)[0]


def submission_form(result: CheckResult) -> tuple[bytes, list[str]]:
    """The 报送表 as PDF bytes, and a warning for each character no embedded font has."""
    register_fonts()
    runs = Runs()
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
        initialFontName=LATIN_FONT,  # not Helvetica, which a PDF names without embedding it
    )
    footer = f"{result.unit or '填报单位未填写'}　{name}　SHA-256 {(result.sha256 or '')[:16]}…"
    document.build(_story(result, runs), canvasmaker=_numbered_canvas(footer, runs))
    return buffer.getvalue(), runs.warnings()


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


def _text(value: object, style: ParagraphStyle, runs: Runs, keep_spaces: bool = False) -> Paragraph:
    """A cell's text as plain text (escaped: reportlab reads Paragraph text as markup), each character
    in an embedded font that has it; a text too long for a cell is cut with … (the JSON keeps it whole)."""
    text = shortened("" if value is None else str(value), PDF_CELL_TEXT_LIMIT)
    return Paragraph(runs.markup(text, keep_spaces), style)


def _story(result: CheckResult, runs: Runs) -> list:
    story = [
        _text(f"{result.policy.fund} {TITLE}", _style(15, TA_CENTER, leading=20), runs),
        Spacer(0, 3 * mm),
        _heading(result, runs),
        Spacer(0, 2 * mm),
        _verdict_block(result, runs),
        Spacer(0, 3 * mm),
        *_rows_table(result, runs),
    ]
    return story


def _heading(result: CheckResult, runs: Runs) -> Table:
    """填报单位, 版本号, 报送日期 (a blank date left to fill in by hand), and the unit of the amounts."""
    submitted = result.submitted_on.isoformat() if result.submitted_on else "    年    月    日"
    cells = [
        f"填报单位：{result.unit or '（未填写）'}",
        f"版本号：{result.revision or '（未填写）'}",
        f"报送日期：{submitted}",
        "金额单位：元",
    ]
    return _plain_row(cells, [110 * mm, 45 * mm, 70 * mm, 52 * mm], 10, runs)


def _plain_row(cells: list[str], widths: list[float], size: float, runs: Runs) -> Table:
    """One row of short texts shown as they are (no markup read, spaces kept)."""
    row = Table(
        [[_text(c, _style(size), runs, keep_spaces=True) for c in cells]], colWidths=widths, hAlign="LEFT"
    )
    row.setStyle(TableStyle([NO_STANDARD_FONT, ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return row


FILE_HOLDS_ALL = "填报单位、版本号等表上的错误改正前，全表企业暂缓拨付。"
EMPTY_TABLE = "本表没有填写任何企业（TABLE_EMPTY）：如确无申报企业，请在报送文件中说明；否则请填写后重新校验。"


def _verdict_block(result: CheckResult, runs: Runs) -> Table:
    """The check's verdict; with errors, a red box that says the table cannot be submitted as it is."""
    outcome = "通过" if result.valid else "不通过"
    verdict = f"校验结论：{outcome}（错误 {result.errors} 条，警告 {result.warnings} 条）"
    if result.valid:
        lines = [_text(verdict, _style(11), runs)]
        if result.table is not None and not len(result.table.rows):  # TABLE_EMPTY, a warning
            lines.append(_text(EMPTY_TABLE, _style(11, color=ALERT), runs))
        return Table([[lines]], colWidths=[PAGE[0] - 2 * MARGIN], style=[NO_STANDARD_FONT])
    lines = [
        _text(verdict, _style(13, color=ALERT), runs),
        _text(
            "本表有错误，不能报送：请按 dtfund check 列出的问题改正申报表，重新校验通过后再打印报送。",
            _style(10, color=ALERT),
            runs,
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
                runs,
            )
        )
    on_rows = set(rows)
    elsewhere = sum(1 for i in result.issues if i.severity == "error" and i.row not in on_rows)
    if elsewhere:
        lines.append(
            _text(
                f"不在企业行上的错误 {elsewhere} 条（如填报单位、版本号、合计行）。",
                _style(10, color=ALERT),
                runs,
            )
        )
    if held_rows(result)["held_by_file"].map(bool).any():
        lines.append(_text(FILE_HOLDS_ALL, _style(10, color=ALERT), runs))
    box = Table([[lines]], colWidths=[PAGE[0] - 2 * MARGIN])
    box.setStyle(
        TableStyle(
            [NO_STANDARD_FONT, ("BOX", (0, 0), (-1, -1), 1.5, ALERT), ("TOPPADDING", (0, 0), (-1, -1), 4)]
        )
    )
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


def _rows_table(result: CheckResult, runs: Runs) -> list[Flowable]:
    """The applications, one row each, with a header row repeated on every page, the 合计 row, then the
    file's details and the lines to sign: the last KEPT_ROWS rows from there on are never split across
    pages. Names wrap within their cell; codes and amounts are never broken. The rows before those are
    drawn straight onto the pages (addin.reports.drawn_rows), looking as the kept rows do."""
    table, policy = result.table, result.policy
    frame, amounts = table.frame, table.amounts
    columns = _columns(policy)
    small = _style(BODY_SIZE, leading=9)
    centred = _style(BODY_SIZE, TA_CENTER, leading=9)
    header = [_text(c.header, centred, runs) for c in columns]
    figures = [
        frame["contract_total"],
        frame["paid"],
        *(amounts[name] for name in award_labels(policy)),
        *(source_parts(amounts, source) for source in policy.funding_sources),
    ]
    shown = [[format_yuan(figure) for figure in column.tolist()] for column in figures]
    marks = _severity_by_row(result)
    codes = ["" if code is None else str(code) for code in frame["uscc"].tolist()]
    rows = [
        [str(n), "" if name is None else str(name), code, level or "", *figures_of_row, marks.get(row, "")]
        for n, (row, name, code, level, *figures_of_row) in enumerate(
            zip(frame.index, frame["name"].tolist(), codes, frame["level"].tolist(), *shown, strict=True),
            start=1,
        )
    ]
    widths = [c.width * mm for c in columns]
    cut = max(0, len(rows) - KEPT_ROWS)  # the first row kept with the 合计 and the signs
    tail = [_table_row(cells, small, centred, runs) for cells in rows[cut:]]
    tail.append(_totals_row(result, runs))
    tail.append(
        [[*_provenance(result, runs), Spacer(0, 4 * mm), _sign_table(runs)]] + [""] * (len(columns) - 1)
    )
    kept = _KeptTail(_grid(tail, widths, header=False), _grid([header, *tail], widths, header=True))
    if cut == 0:
        return [kept]
    drawn = [_drawn_row(cells) for cells in rows[:cut]]
    header_row = _grid([header], widths, header=True, body_only=True)
    return [DrawnRows(header_row, drawn, _drawn_styles(len(columns)), Grid(widths), runs), kept]


def _drawn_row(cells: list[str]) -> list[str | tuple[str, CellStyle]]:
    """A body row as DrawnRows draws it: each text cut as _text cuts the kept rows' (the JSON keeps it
    whole), a credit code in its own small font."""
    serial, name, code, level, *rest = cells
    return [
        serial,
        _cell_text(name),
        _drawn_code(_cell_text(code)),
        shortened(level, LEVEL_TEXT_LIMIT),
        *rest,
    ]


def _cell_text(value: str) -> str:
    """A cell's text as the form shows it: cut with … when too long for a cell (the JSON keeps it whole)."""
    return shortened(value, PDF_CELL_TEXT_LIMIT)


def _table_row(cells: list[str], small: ParagraphStyle, centred: ParagraphStyle, runs: Runs) -> list:
    """A body row as a reportlab Table's cells (the rows kept with the 合计 and the signs)."""
    serial, name, code, level, *rest = cells
    return [
        serial,
        _text(name, small, runs),
        code if _plain_code(code) else _text(code, small, runs),  # a long or odd text wraps
        _short_text(level, centred, runs),
        *rest,
    ]


def _plain_code(code: str) -> bool:
    return len(code) <= CODE_LENGTH and code.isascii()


WRAPPED = CellStyle(BODY_SIZE, 9, wrap=True)  # text in the fonts that have each character, wrapped
AMOUNT = CellStyle(BODY_SIZE - 0.5, (BODY_SIZE - 0.5) * 1.2, RIGHT, LATIN_FONT, smallest=SMALLEST)
PLAIN_CODE = CellStyle(CODE_SIZE, CODE_SIZE * 1.2, font=LATIN_FONT)


def _drawn_code(code: str) -> str | tuple[str, CellStyle]:
    """A credit code in its small Latin font on one line; a long or odd text wrapped as a name is."""
    return (code, PLAIN_CODE) if _plain_code(code) else code


def _drawn_styles(count: int) -> list[CellStyle]:
    """How the drawn rows' columns look, as _grid sets the kept rows' cells."""
    return [
        CellStyle(BODY_SIZE - 0.5, (BODY_SIZE - 0.5) * 1.2, CENTRE, LATIN_FONT),  # 序号
        WRAPPED,  # 企业名称
        WRAPPED,  # 统一社会信用代码 (see _drawn_code)
        replace(WRAPPED, align=CENTRE),  # 评测等级
        *[AMOUNT] * (count - 5),
        CellStyle(BODY_SIZE, 9, CENTRE, color=ALERT),  # 校验: 错误 / 警告
    ]


def _grid(
    data: list[list],
    widths: list[float],
    header: bool,
    body_only: bool = False,
    heights: list[float] | None = None,
) -> Table:
    """A part of the applications' table: its header row (repeated on every page) if `header`; unless
    `body_only`, its last two rows are the 合计 and the file's details with the signs."""
    first, last = 4, len(widths) - 2  # the amount columns
    top = 1 if header else 0
    end = len(data) - 1 if body_only else len(data) - 2  # the last gridded row: a body row or the 合计
    commands: list[tuple] = [
        ("FONT", (0, 0), (-1, -1), LATIN_FONT, BODY_SIZE - 0.5),
        ("FONT", (2, top), (2, -1), LATIN_FONT, CODE_SIZE),
        ("FONT", (3, top), (3, -1), CJK_FONT, BODY_SIZE),  # 评测等级, as a plain string (_short_text)
        ("FONT", (-1, top), (-1, -1), CJK_FONT, BODY_SIZE),  # 错误 / 警告
        ("ALIGN", (3, top), (3, -1), "CENTER"),
        ("ALIGN", (-1, top), (-1, -1), "CENTER"),
        ("TEXTCOLOR", (-1, top), (-1, -1), ALERT),
        ("ALIGN", (first, top), (last, -1), "RIGHT"),
        ("ALIGN", (0, top), (0, -1), "CENTER"),
        ("GRID", (0, 0), (-1, end), 0.4, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        *_shrunk_to_fit(data, widths, range(first, last + 1), range(top, end + 1)),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEADER_FILL))
    if not body_only:
        commands += [
            ("BACKGROUND", (0, end), (-1, end), TOTAL_FILL),
            ("SPAN", (0, end), (3, end)),
            ("SPAN", (0, -1), (-1, -1)),
            ("TOPPADDING", (0, -1), (-1, -1), 4 * mm),
            ("LEFTPADDING", (0, -1), (-1, -1), 0),
        ]
    return Table(data, colWidths=widths, rowHeights=heights, repeatRows=top, style=TableStyle(commands))


class _KeptTail(KeepTogether):
    """The table's last rows, its 合计, the file's details and the signs, on one page: drawn in place
    after the rows before them, or, when they start a page, with the header row again."""

    def __init__(self, in_place: Table, on_new_page: Table) -> None:
        super().__init__([in_place])
        self._on_new_page = on_new_page

    def split(self, aW: float, aH: float) -> list:  # noqa: N803 (reportlab's names)
        parts = super().split(aW, aH)
        frame = getattr(self, "_frame", None)
        moved = bool(parts) and isinstance(parts[0], type(FrameBreak))  # an instance, not a class
        if moved or getattr(frame, "_atTop", False):
            return [self._on_new_page if isinstance(part, Table) else part for part in parts]
        return parts


def _shrunk_to_fit(data: list[list], widths: list[float], columns: range, rows: range) -> list[tuple]:
    """A smaller font for each amount too wide for its column at the body's size (a total of hundreds of
    millions): amounts are never cut or broken."""
    size = BODY_SIZE - 0.5
    commands = []
    for row in rows:
        for column in columns:
            fitted = fitted_size(data[row][column], widths[column] - CELL_PADDING, LATIN_FONT, size, SMALLEST)
            if fitted < size:
                commands.append(("FONTSIZE", (column, row), (column, row), fitted))
    return commands


SHORT_TEXT = 3  # characters of a 评测等级 that fit its column unwrapped (二级, 未评测)
# A 评测等级 is one of a few short choices; a longer text (an error) is cut at this length, so that its
# narrow cell never grows taller than a page (200 characters wrapped three a line would).
LEVEL_TEXT_LIMIT = 20


def _short_text(value: object, style: ParagraphStyle, runs: Runs) -> object:
    """A short cell (评测等级): a plain string in the column's Chinese font when that font has all of it
    and it fits unwrapped, else a Paragraph (each character in a font that has it; slower to lay out)."""
    text = shortened("" if value is None else str(value), LEVEL_TEXT_LIMIT)
    if not text or (len(text) <= SHORT_TEXT and runs.single_font(text) == CJK_FONT):
        return text
    return _text(text, style, runs)


def _totals_row(result: CheckResult, runs: Runs) -> list:
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
    applied, eligible, held = enterprise_counts(result)
    count = f"合计（企业 {applied}，符合条件 {eligible}，暂缓拨付 {held}）"
    label = _text(count, _style(BODY_SIZE, TA_CENTER, leading=9), runs)
    return [label, "", "", "", *map(format_yuan, sums), ""]


def _provenance(result: CheckResult, runs: Runs) -> list[Paragraph]:
    """Which file was checked (name, SHA-256), when (Beijing time), against which policy."""
    small = _style(9)
    return [
        _text(f"校验文件：{Path(result.file).name}", small, runs),
        _text(f"文件 SHA-256：{result.sha256 or '（无）'}", small, runs),
        _text(f"校验时间：{shown_time(result.checked_at)}", small, runs),
        _text(
            f"校验依据：{result.policy.title}（{result.policy.version}），由 dtfund check 生成。", small, runs
        ),
    ]


def _sign_table(runs: Runs) -> Table:
    """The lines to sign, each label followed by a line to write on, with room for a stamp."""
    right = _style(11, TA_RIGHT)
    labels = [_text(f"{label}：", right, runs) for label in SIGN_LINES]
    date = _text("    年    月    日", right, runs, keep_spaces=True)
    rows = [
        [labels[0], "", labels[1], "", labels[2], ""],
        [labels[3], "", labels[4], date, "", ""],
    ]
    widths = [42 * mm, 54 * mm, 24 * mm, 53 * mm, 24 * mm, 53 * mm]
    sign = Table(rows, colWidths=widths, rowHeights=[18 * mm, 14 * mm], hAlign="LEFT")
    lines = [("LINEBELOW", (column, 0), (column, 0), 0.6, colors.black) for column in (1, 3, 5)]
    lines += [("LINEBELOW", (column, 1), (column, 1), 0.6, colors.black) for column in (1, 3)]
    sign.setStyle(
        TableStyle(
            [
                NO_STANDARD_FONT,
                ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
                ("RIGHTPADDING", (0, 0), (-1, -1), 1),
                *lines,
            ]
        )
    )
    return sign


def _numbered_canvas(footer: str, runs: Runs) -> type[canvas.Canvas]:
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
                runs.draw(self, MARGIN, 7 * mm, footer, 8)
                runs.draw(self, PAGE[0] - MARGIN, 7 * mm, f"第 {number} 页 共 {count} 页", 8, right=True)
                super().showPage()
            super().save()

    return NumberedCanvas
