"""Shared building blocks of the template generators: cells, defined names, validations, printing,
and the sheets every template has (填表说明's start, 规则, 参数, the lists and the hidden _meta)."""

from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import save_workbook as write_package

from addin import template_spec as spec
from addin.io.output import finished_package
from addin.io.print_layout import text_width, wrapped_height
from addin.io.repeated_rows import RepeatedRows
from addin.reports.catalogue import rule_catalogue
from addin.templates.formulas import LEVELS_NAME, from_name, parameter_name
from addin.templates.printing import page_setup
from addin.templates.styles import (
    BOLD,
    BOX,
    COMPUTED_FILL,
    COUNT_FORMAT,
    DATE_FORMAT,
    INPUT_FILL,
    MONEY_FORMAT,
    RATIO_FORMAT,
    TEXT_FORMAT,
    TITLE_FONT,
    TOP,
    TOP_WRAP,
    UNLOCKED,
    WRAP,
)
from schemas.application_rules import rules_without_columns
from schemas.calculation import row_parameters
from schemas.fields import Field, field_by_id
from schemas.policy import Parameter, Policy
from schemas.registry import ledger_rules
from schemas.submission import FIRST_REVISION, LAST_REVISION

# Excel's own checks as the clerk types, by field kind: (validation type, its options).
CELL_VALIDATIONS = {
    "money": (
        "decimal",
        {
            "operator": "greaterThanOrEqual",
            "formula1": "0",
            "errorTitle": "金额无效",
            "error": "请输入大于或等于 0 的数字金额，单位为元，如 123456.78（不要写“万”“元”）。",
        },
    ),
    "date": (
        "date",
        {
            "operator": "greaterThan",
            "formula1": "1",
            "errorTitle": "日期无效",
            "error": "请输入日期，如 2025-12-31。",
        },
    ),
    "uscc": (
        "textLength",
        {
            "operator": "equal",
            "formula1": "18",
            "errorTitle": "统一社会信用代码无效",
            "error": "统一社会信用代码应为18位（单元格为文本格式）。",
        },
    ),
}


class RowsRepeatingWorkbook(Workbook):
    """A write-only openpyxl workbook whose sheets may end in rows that repeat one row it wrote
    (addin.io.repeated_rows: a template's empty rows), saved with those rows whether by its own `save`
    or by addin.io.output.save_workbook."""

    def __init__(self) -> None:
        super().__init__(write_only=True)
        self.repeated_rows: list[RepeatedRows] = []

    def save(self, filename: str | os.PathLike | IO[bytes]) -> None:
        buffer = io.BytesIO()
        write_package(self, buffer)
        data = finished_package(buffer.getvalue(), repeated=self.repeated_rows, reproducible=False)
        if isinstance(filename, str | os.PathLike):
            Path(filename).write_bytes(data)
        else:
            filename.write(data)


def styled_cell(
    ws,
    value: Any = None,
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    number_format: str | None = None,
    alignment: Alignment | None = None,
    border: Border | None = None,
    locked: bool = True,
) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=value)
    if font:
        cell.font = font
    if fill:
        cell.fill = fill
    if number_format:
        cell.number_format = number_format
    if alignment:
        cell.alignment = alignment
    if border:
        cell.border = border
    if not locked:
        cell.protection = UNLOCKED
    return cell


def number_format(field: Field) -> str:
    return {"money": MONEY_FORMAT, "ratio": RATIO_FORMAT, "date": DATE_FORMAT}.get(field.kind, TEXT_FORMAT)


def define(workbook: Workbook, name: str, sheet: str, ref: str) -> None:
    workbook.defined_names[name] = DefinedName(name, attr_text=f"'{sheet}'!{ref}")


def absolute(column: str, first: int, last: int | None = None) -> str:
    return f"${column}${first}" if last is None else f"${column}${first}:${column}${last}"


def dated_cells(column: str, first: int, last: int) -> str:
    """A parameter's dated cells in one column: one cell when it has one value."""
    return absolute(column, first, last if last > first else None)


def new_validation(kind: str, **options: Any) -> DataValidation:
    return DataValidation(
        type=kind,
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorStyle="stop",
        **options,
    )


def add_field_validation(
    ws, field: Field, policy: Policy, list_name: str, column: str, first: int, last: int
) -> None:
    """Excel's own check of a column as the clerk types: a dropdown for a choice (its values in the
    named list), the kind's check for amounts, dates and credit codes."""
    if field.kind == "choice":
        allowed = "、".join(field.allowed(policy))[:200]
        kind, options = (
            "list",
            {
                "formula1": f"={list_name}",
                "errorTitle": f"“{field.label}”无效",
                "error": f"请从下拉列表中选择：{allowed}",
            },
        )
    elif field.kind in CELL_VALIDATIONS:
        kind, options = CELL_VALIDATIONS[field.kind]
    else:
        return
    validation = new_validation(kind, promptTitle=field.label, prompt=field.help[:250], **options)
    validation.add(f"{column}{first}:{column}{last}")
    ws.data_validations.append(validation)


def format_columns(ws, fields: Sequence[Field], letters: dict[str, str]) -> None:
    """Each column's width and number format; input columns unlocked (the sheet is protected)."""
    for field in fields:
        dimension = ws.column_dimensions[letters[field.id]]
        dimension.width = field.width
        dimension.number_format = number_format(field)
        if not field.computed:
            dimension.protection = UNLOCKED


def print_and_protect(ws, pages_wide: int, title_rows: str) -> None:
    """A4 landscape, `pages_wide` pages across, `title_rows` on every page; protected, with columns, rows
    and filters usable."""
    page_setup(ws, landscape=True, pages_wide=pages_wide, title_rows=title_rows)
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.autoFilter = False


def shown_header(field: Field) -> str:
    """A column's header as its cell shows it: the unit on a line of its own when the header wraps (a
    viewer would otherwise break inside it: 咨询诊断服务费（/元）). The check compares headers without
    line breaks (addin.check.table.header_key)."""
    if field.unit and text_width(field.header) > field.width:
        return f"{field.label}\n（{field.unit}）"
    return field.header


def header_cells(ws, fields: Sequence[Field], row: int) -> list[WriteOnlyCell]:
    """The header row (sheet row `row`, tall enough for its wrapped text): inputs blue, computed columns
    grey, each with its help as a note."""
    ws.row_dimensions[row].height = wrapped_height((shown_header(f), f.width) for f in fields)
    headers = []
    for field in fields:
        cell = styled_cell(
            ws,
            shown_header(field),
            font=BOLD,
            fill=COMPUTED_FILL if field.computed else INPUT_FILL,
            alignment=WRAP,
            border=BOX,
        )
        if field.help:
            cell.comment = Comment(field.help, "dtfund", width=260, height=110)
        headers.append(cell)
    return headers


def start_guide_sheet(
    workbook: Workbook, steps: Sequence[str], headers: Sequence[str], widths: Sequence[int]
) -> Any:
    """A 填表说明 sheet printed A4 landscape, one page wide: its title, the numbered steps (each across the
    whole width, wrapped), then the header of the table of columns, repeated on every page."""
    ws = workbook.create_sheet(spec.GUIDE_SHEET)
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    last = get_column_letter(len(widths))
    header_row = guide_first_row(steps) - 1
    page_setup(ws, landscape=True, title_rows=f"{header_row}:{header_row}")
    ws.append([styled_cell(ws, "填表说明", font=TITLE_FONT)])
    for row, step in enumerate(steps, start=2):
        ws.merged_cells.add(f"A{row}:{last}{row}")
        ws.row_dimensions[row].height = wrapped_height([(step, sum(widths))])
        ws.append([styled_cell(ws, step, alignment=TOP_WRAP)])
    ws.append([])
    ws.row_dimensions[header_row].height = wrapped_height(zip(headers, widths, strict=True))
    ws.append([styled_cell(ws, h, font=BOLD, fill=INPUT_FILL, border=BOX, alignment=WRAP) for h in headers])
    return ws


def guide_first_row(steps: Sequence[str]) -> int:
    """The sheet row of the guide's first table row, below the title, the steps, a gap and the header."""
    return len(steps) + 4


def table_rows(ws, rows: Iterable[Sequence[Any]], widths: Sequence[int], first_row: int) -> None:
    """Bordered rows of wrapped text from sheet row `first_row` on, each tall enough to show all of its
    text; a row is never split across two printed pages (a spreadsheet breaks pages between rows)."""
    for row, values in enumerate(rows, start=first_row):
        ws.row_dimensions[row].height = wrapped_height(zip(values, widths, strict=True))
        ws.append([styled_cell(ws, v, alignment=TOP_WRAP, border=BOX) for v in values])


# 级别, 名称, 说明, 修改建议, 依据 (the id column fits the longest id). 说明 and 修改建议 are wide enough to
# wrap few lines: the two-row workbook prints on 12 pages with every rule (issue 20).
RULES_WIDTHS = (6, 18, 64, 52, 12)


def rules_sheet(workbook: Workbook, policy: Policy) -> None:
    """Every rule with its message, fix and clause: A4 landscape, one page wide, the header on every page."""
    ws = workbook.create_sheet(spec.RULES_SHEET)
    hidden = rules_without_columns(policy) | ledger_rules()
    entries = [entry for entry in rule_catalogue(policy) if entry.id not in hidden]
    widths = (max(text_width(entry.id) for entry in entries) + 2, *RULES_WIDTHS)
    for letter, width in zip("ABCDEF", widths, strict=True):
        ws.column_dimensions[letter].width = width
    page_setup(ws, landscape=True, title_rows="1:1")
    ws.append(
        [
            styled_cell(ws, h, font=BOLD, fill=INPUT_FILL, border=BOX, alignment=WRAP)
            for h in ("规则编号", "级别", "名称", "说明", "修改建议", "依据")
        ]
    )
    rows = [
        (entry.id, entry.severity, entry.title, entry.message, entry.fix, entry.clause) for entry in entries
    ]
    table_rows(ws, rows, widths, first_row=2)
    ws.protection.sheet = True


def parameter_cell(ws, value: Any, unit: str) -> WriteOnlyCell:
    if isinstance(value, Decimal):
        number_format = {"比例": RATIO_FORMAT, "元": MONEY_FORMAT}.get(unit, COUNT_FORMAT)
        return styled_cell(ws, float(value), number_format=number_format, border=BOX, alignment=TOP)
    if isinstance(value, dt.date):
        return styled_cell(ws, value, number_format=DATE_FORMAT, border=BOX, alignment=TOP)
    if isinstance(value, list):
        return styled_cell(ws, "、".join(value), alignment=TOP_WRAP, border=BOX)
    return styled_cell(ws, value, border=BOX, alignment=TOP)


# 名称, 起始日期, 取值 (or the first level), 单位 (or the second), 依据 (or the third), …, 参数代码 last.
PARAMETER_WIDTHS = (34, 12, 36, 14, 14, 16, 34, 34)
PARAMETER_NOTE = (
    "每个取值自“起始日期”起施行，至同一参数下一个起始日期的前一天。申报表每行按“按此日期取值”所列的日期"
    "取当日有效的值（该日期空白或早于第一个起始日期的，取第一个值）；标“取最新值”的参数取最后一个值。"
    "“参数代码”是公式引用该参数所用的名称。"
)


LATEST = "取最新值"


def key_date_label(parameter: Parameter, policy: Policy) -> str:
    """Which date chooses the parameter's value for a row: a date field's label, or the latest value
    for the parameters no row amount reads."""
    return (
        field_by_id(policy)[parameter.applies_by].label
        if parameter.name in row_parameters(policy)
        else LATEST
    )


def parameters_sheet(workbook: Workbook, policy: Policy) -> None:
    """Every policy parameter with its clause as a dated table (from-date beside value, by date), its
    Chinese name first and the code the formulas use last; the formulas look the value in force up in the
    named ranges here."""
    ws = workbook.create_sheet(spec.PARAMETERS_SHEET)
    for n, width in enumerate(PARAMETER_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    headers = ("名称", "起始日期", "取值", "单位", "依据", "按此日期取值", "参数代码")
    page_setup(ws, landscape=True, title_rows="3:3")
    ws.append([styled_cell(ws, f"政策参数：{policy.title}（{policy.version}）", font=TITLE_FONT)])
    ws.merged_cells.add(f"A2:{get_column_letter(len(PARAMETER_WIDTHS))}2")
    ws.row_dimensions[2].height = wrapped_height([(PARAMETER_NOTE, sum(PARAMETER_WIDTHS))])
    ws.append([styled_cell(ws, PARAMETER_NOTE, alignment=TOP_WRAP)])
    ws.row_dimensions[3].height = wrapped_height(zip(headers, PARAMETER_WIDTHS, strict=False))
    ws.append([styled_cell(ws, h, font=BOLD, fill=INPUT_FILL, border=BOX, alignment=WRAP) for h in headers])
    levels = set(policy.value("levels"))
    by_level: list[Parameter] = []
    row = 3
    for name, parameter in policy.parameters.items():
        value = parameter.at()
        if isinstance(value, dict) and set(value) <= levels:
            by_level.append(parameter)
            continue
        for key in value if isinstance(value, dict) else [None]:
            label = parameter.label + (f"：{policy.funding_sources.get(key, key)}" if key else "")
            first = row + 1
            for dated in parameter.values:
                row += 1
                item = dated.value[key] if key else dated.value
                texts = (label, "", "、".join(item) if isinstance(item, list) else "")
                ws.row_dimensions[row].height = wrapped_height(zip(texts, PARAMETER_WIDTHS, strict=False))
                ws.append(
                    [
                        styled_cell(ws, label, border=BOX, alignment=TOP_WRAP),
                        parameter_cell(ws, dated.start, "日期"),
                        parameter_cell(ws, item, parameter.unit),
                        styled_cell(ws, parameter.unit, border=BOX, alignment=TOP),
                        styled_cell(ws, parameter.clause, border=BOX, alignment=TOP),
                        styled_cell(ws, key_date_label(parameter, policy), border=BOX, alignment=TOP),
                        styled_cell(ws, parameter_name(name, key), border=BOX, alignment=TOP),
                    ]
                )
            if not isinstance(value, list):
                define(
                    workbook, parameter_name(name, key), spec.PARAMETERS_SHEET, dated_cells("C", first, row)
                )
                define(workbook, from_name(name, key), spec.PARAMETERS_SHEET, dated_cells("B", first, row))
    levels_table(workbook, ws, policy, by_level, row + 2)
    ws.protection.sheet = True


def levels_table(workbook: Workbook, ws, policy: Policy, parameters: list[Parameter], header: int) -> None:
    """The amounts by evaluation level, one dated row per value: the level's column in the row in force."""
    eligible = policy.eligible_levels
    ws.append([])
    ws.append(
        [
            styled_cell(ws, h, font=BOLD, fill=INPUT_FILL, border=BOX, alignment=WRAP)
            for h in ("名称", "起始日期", *eligible, "依据", "按此日期取值", "参数代码")
        ]
    )
    levels = (get_column_letter(3), get_column_letter(2 + len(eligible)))
    define(workbook, LEVELS_NAME, spec.PARAMETERS_SHEET, f"${levels[0]}${header}:${levels[1]}${header}")
    row = header
    for parameter in parameters:
        first = row + 1
        for dated in parameter.values:
            row += 1
            ws.append(
                [
                    styled_cell(ws, f"{parameter.label}（{parameter.unit}）", border=BOX),
                    parameter_cell(ws, dated.start, "日期"),
                    *(
                        parameter_cell(ws, dated.value.get(level, Decimal(0)), parameter.unit)
                        for level in eligible
                    ),
                    styled_cell(ws, parameter.clause, border=BOX),
                    styled_cell(ws, key_date_label(parameter, policy), border=BOX),
                    styled_cell(ws, parameter_name(parameter.name), border=BOX),
                ]
            )
        block = f"${levels[0]}${first}:${levels[1]}${row}"
        define(workbook, parameter_name(parameter.name), spec.PARAMETERS_SHEET, block)
        define(workbook, from_name(parameter.name), spec.PARAMETERS_SHEET, dated_cells("B", first, row))


def write_lists_sheet(workbook: Workbook, lists: dict[str, tuple[str, list[str]]]) -> None:
    """The dropdowns' values, one named column per list (name -> (heading, values)): Excel caps an
    inline list at 255 characters."""
    ws = workbook.create_sheet(spec.LISTS_SHEET)
    ws.sheet_state = "hidden"
    columns = [[heading, *values] for heading, values in lists.values()]
    for n in range(max(len(c) for c in columns)):
        ws.append([c[n] if n < len(c) else None for c in columns])
    for n, name in enumerate(lists):
        letter = get_column_letter(n + 1)
        define(workbook, name, spec.LISTS_SHEET, absolute(letter, 2, len(columns[n])))
    ws.protection.sheet = True


def meta_sheet(
    workbook: Workbook,
    policy: Policy,
    template_id: str = spec.TEMPLATE_ID,
    template_version: str = spec.TEMPLATE_VERSION,
) -> None:
    ws = workbook.create_sheet(spec.META_SHEET)
    ws.sheet_state = "hidden"
    ws.append(["模板标识", template_id])
    ws.append(["模板版本", template_version])
    ws.append(["政策", policy.id])
    ws.append(["政策版本", policy.version])
    define(workbook, spec.NAME_TEMPLATE_ID, spec.META_SHEET, "$B$1")
    define(workbook, spec.NAME_TEMPLATE_VERSION, spec.META_SHEET, "$B$2")
    ws.protection.sheet = True


# The guide's lines on the submission cells of row 2 (application and awards templates).
SUBMISSION_STEPS = (
    f"版本号（{spec.REVISION_CELL}）：首次报送填 1；修改后重新报送时加 1（2、3……）。汇总时同一填报单位的多份工作簿"
    "只汇总版本号最大的一份，其余列为“已被替换”；两份版本号相同则都不汇总，须改正后重新汇总。",
    f"报送日期（{spec.SUBMITTED_ON_CELL}）：本次报送的日期，按 2026-03-31 格式填写，可留空。",
)


def submission_cells(
    ws, unit: str | None, heading: str, revision: int | None, submitted_on: Any
) -> list[Any]:
    """Row 2 of a sheet with the 填报单位: the unit, the 版本号 and 报送日期 cells, then the heading."""
    box = {"fill": INPUT_FILL, "border": BOX, "locked": False}
    return [
        styled_cell(ws, "填报单位：", font=BOLD),
        styled_cell(ws, unit, number_format=TEXT_FORMAT, **box),
        styled_cell(ws, "版本号：", font=BOLD),
        styled_cell(ws, revision, number_format="0", **box),
        styled_cell(ws, "报送日期：", font=BOLD),
        styled_cell(ws, submitted_on, number_format=DATE_FORMAT, **box),
        styled_cell(ws, heading),
    ]


def submission_validations(ws) -> list[DataValidation]:
    """The 版本号 a whole number from 1 to 9999, the 报送日期 a date."""
    revision = new_validation(
        "whole",
        operator="between",
        formula1=str(FIRST_REVISION),
        formula2=str(LAST_REVISION),
        errorTitle="版本号无效",
        error=f"请填写 {FIRST_REVISION} 至 {LAST_REVISION} 的整数。",
    )
    revision.add(spec.REVISION_CELL)
    kind, options = CELL_VALIDATIONS["date"]
    date = new_validation(kind, **options)
    date.add(spec.SUBMITTED_ON_CELL)
    return [revision, date]


def define_submission_names(workbook: Workbook, sheet: str, with_unit: bool = True) -> None:
    """The defined names of the 填报单位 (not on the plan), 版本号 and 报送日期 cells."""
    cells = [(spec.NAME_REVISION, spec.REVISION_CELL), (spec.NAME_SUBMITTED_ON, spec.SUBMITTED_ON_CELL)]
    for name, cell in [(spec.NAME_UNIT, spec.UNIT_CELL)] * with_unit + cells:
        column, row = cell[0], cell[1:]
        define(workbook, name, sheet, f"${column}${row}")
