"""Generate the division application template (申报表) from the field specs, the policy and the rule
registry: defined name per column, dropdowns with Chinese error texts, native formulas, red
highlighting as the clerk types, protection, print setup, 填表说明, 规则 and 参数 sheets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from copy import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from addin import template_spec as spec
from addin.io.output import describe_generated, save_workbook
from addin.reports.catalogue import rule_catalogue
from addin.templates.formulas import LEVELS_NAME, RowFormulas, from_name, parameter_name
from schemas.calculation import ROW_PARAMETERS
from schemas.fields import YES, Field, application_fields, field_by_id, input_fields, material_fields
from schemas.policy import Parameter, Policy

HEADER_HEIGHT = 48  # three lines of wrapped Chinese header text
PRINT_PAGES_WIDE = 2  # 34 columns: inputs on the first page, computed amounts on the second
MONEY_FORMAT = "#,##0.00"
RATIO_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
TEXT_FORMAT = "@"
COUNT_FORMAT = "0"

INPUT_FILL = PatternFill("solid", fgColor="DDEBF7")
COMPUTED_FILL = PatternFill("solid", fgColor="EDEDED")
ALERT_FILL = PatternFill("solid", fgColor="FFC7CE")
ALERT_FONT = Font(color="9C0006", bold=True)
BOLD = Font(bold=True)
TITLE_FONT = Font(bold=True, size=14)
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center", horizontal="center")
TOP_WRAP = Alignment(wrap_text=True, vertical="top")
UNLOCKED = Protection(locked=False)


def _cell(
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


def _number_format(field: Field) -> str:
    return {"money": MONEY_FORMAT, "ratio": RATIO_FORMAT, "date": DATE_FORMAT}.get(field.kind, TEXT_FORMAT)


def _define(workbook: Workbook, name: str, sheet: str, ref: str) -> None:
    workbook.defined_names[name] = DefinedName(name, attr_text=f"'{sheet}'!{ref}")


def _absolute(column: str, first: int, last: int | None = None) -> str:
    return f"${column}${first}" if last is None else f"${column}${first}:${column}${last}"


def _dated(column: str, first: int, last: int) -> str:
    """A parameter's dated cells in one column: one cell when it has one value."""
    return _absolute(column, first, last if last > first else None)


def build_application_template(
    policy: Policy,
    rows: int = spec.DEFAULT_ROWS,
    unit: str | None = None,
    records: Sequence[dict[str, Any] | None] = (),
) -> Workbook:
    """The application template as an openpyxl workbook (write-only, so 100,000 rows fit in memory)."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    workbook = Workbook(write_only=True)
    letters = spec.column_letters()
    last_row = spec.FIRST_DATA_ROW + rows - 1
    _data_sheet(workbook, policy, letters, last_row, unit, records)
    _live_check_sheet(workbook, letters, last_row)
    _guide_sheet(workbook, policy, letters)
    _rules_sheet(workbook, policy)
    _parameters_sheet(workbook, policy)
    _lists_sheet(workbook, policy)
    _meta_sheet(workbook, policy)
    for field in application_fields():
        _define(
            workbook, field.id, spec.DATA_SHEET, _absolute(letters[field.id], spec.FIRST_DATA_ROW, last_row)
        )
    _define(workbook, spec.NAME_UNIT, spec.DATA_SHEET, "$B$2")
    describe_generated(workbook, "兵团中小企业数字化转型城市试点专项资金 企业数字化改造补贴申报表")
    return workbook


def write_application_template(
    path: Path, policy: Policy, rows: int = spec.DEFAULT_ROWS, unit: str | None = None
) -> None:
    save_workbook(
        build_application_template(policy, rows=rows, unit=unit),
        path,
        dynamic_arrays=spec.live_check_anchors(),
    )


# --- 申报表 ------------------------------------------------------------------------------------------


def _data_sheet(
    workbook: Workbook,
    policy: Policy,
    letters: dict[str, str],
    last_row: int,
    unit: str | None,
    records: Sequence[dict[str, Any] | None] = (),
) -> None:
    ws = workbook.create_sheet(spec.DATA_SHEET)
    fields = application_fields()
    inputs = input_fields()
    last_letter = letters[fields[-1].id]
    format_columns(ws, fields, letters)
    ws.freeze_panes = f"C{spec.FIRST_DATA_ROW}"
    ws.print_title_rows = f"{spec.GROUP_ROW}:{spec.HEADER_ROW}"
    ws.print_title_cols = "A:B"
    print_and_protect(ws, PRINT_PAGES_WIDE)

    first_computed = letters[next(f.id for f in fields if f.computed)]
    ws.merged_cells.add(f"A{spec.TITLE_ROW}:{last_letter}{spec.TITLE_ROW}")
    ws.merged_cells.add(f"A{spec.GROUP_ROW}:{letters[inputs[-1].id]}{spec.GROUP_ROW}")
    ws.merged_cells.add(f"{first_computed}{spec.GROUP_ROW}:{last_letter}{spec.GROUP_ROW}")
    ws.append([_cell(ws, "兵团中小企业数字化转型城市试点专项资金 企业数字化改造补贴申报表", font=TITLE_FONT)])
    ws.append(
        [
            _cell(ws, "填报单位：", font=BOLD),
            _cell(ws, unit, fill=INPUT_FILL, border=BOX, locked=False, number_format=TEXT_FORMAT),
            None,
            _cell(ws, f"模板 {spec.TEMPLATE_ID} 版本 {spec.TEMPLATE_VERSION}；政策 {policy.version}"),
        ]
    )
    group = [None] * len(fields)
    group[0] = _cell(ws, "申报信息（蓝色表头列由师市填写）", font=BOLD, fill=INPUT_FILL, alignment=WRAP)
    group[len(inputs)] = _cell(
        ws, "自动计算（灰色表头列由公式计算，请勿填写）", font=BOLD, fill=COMPUTED_FILL, alignment=WRAP
    )
    ws.append(group)
    ws.append(header_cells(ws, fields))
    ws.row_dimensions[spec.HEADER_ROW].height = HEADER_HEIGHT

    formulas = RowFormulas(letters, policy)
    computed = [f for f in fields if f.computed]
    prototypes = {f.id: _cell(ws, None, number_format=_number_format(f)) for f in computed}
    padding = [None] * len(inputs)
    for row in range(spec.FIRST_DATA_ROW, last_row + 1):
        offset = row - spec.FIRST_DATA_ROW
        record = records[offset] if offset < len(records) else None
        inputs_of_row = [_input_cell(ws, record.get(f.id)) for f in inputs] if record else padding
        row_formulas = formulas.for_row(row)
        cells = []
        for field in computed:
            cell = WriteOnlyCell(ws, value=row_formulas[field.id])
            cell._style = copy(prototypes[field.id]._style)
            cells.append(cell)
        ws.append(inputs_of_row + cells)

    _validations(ws, policy, letters, last_row)
    _highlighting(ws, formulas, letters, last_row, policy)


def _input_cell(ws, value: Any) -> Any:
    """A value the clerk typed: text stays text even when it starts with "="."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def _validation(kind: str, **options: Any) -> DataValidation:
    return DataValidation(
        type=kind,
        allow_blank=True,
        showErrorMessage=True,
        showInputMessage=True,
        errorStyle="stop",
        **options,
    )


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


def _validations(ws, policy: Policy, letters: dict[str, str], last_row: int) -> None:
    first = spec.FIRST_DATA_ROW
    unit_list = _validation(
        "list",
        formula1=f"=LIST_{'division'.upper()}",
        errorTitle="填报单位无效",
        error="请从下拉列表中选择兵团国资委或所属师市。",
    )
    unit_list.add("B2")
    ws.data_validations.append(unit_list)
    for field in input_fields():
        add_field_validation(
            ws, field, policy, f"LIST_{field.id.upper()}", letters[field.id], first, last_row
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
    validation = _validation(kind, promptTitle=field.label, prompt=field.help[:250], **options)
    validation.add(f"{column}{first}:{column}{last}")
    ws.data_validations.append(validation)


def format_columns(ws, fields: Sequence[Field], letters: dict[str, str]) -> None:
    """Each column's width and number format; input columns unlocked (the sheet is protected)."""
    for field in fields:
        dimension = ws.column_dimensions[letters[field.id]]
        dimension.width = field.width
        dimension.number_format = _number_format(field)
        if not field.computed:
            dimension.protection = UNLOCKED


def print_landscape(ws, pages_wide: int) -> None:
    """A4 landscape, `pages_wide` pages across."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = pages_wide
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)


def print_and_protect(ws, pages_wide: int) -> None:
    """A4 landscape, `pages_wide` pages across; protected, with columns, rows and filters usable."""
    print_landscape(ws, pages_wide)
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.autoFilter = False


def header_cells(ws, fields: Sequence[Field]) -> list[WriteOnlyCell]:
    """The header row: inputs blue, computed columns grey, each with its help as a note."""
    headers = []
    for field in fields:
        cell = _cell(
            ws,
            field.header,
            font=BOLD,
            fill=COMPUTED_FILL if field.computed else INPUT_FILL,
            alignment=WRAP,
            border=BOX,
        )
        if field.help:
            cell.comment = Comment(field.help, "dtfund", width=260, height=110)
        headers.append(cell)
    return headers


def _highlighting(ws, formulas: RowFormulas, letters: dict[str, str], last_row: int, policy: Policy) -> None:
    """Red as the clerk types: claims over the computed subsidy, fees over their limits, contract dates
    outside the window, cost items that do not add up to the contract, missing documents."""
    first = spec.FIRST_DATA_ROW
    r = lambda name: formulas.ref(name, first)  # noqa: E731
    start, end = formulas.at("contract_window_start", first), formulas.at("contract_window_end", first)
    components = f"${letters['software']}{first}:${letters['other_service']}{first}"
    rules = {
        ("claimed",): f"AND(ISNUMBER({r('claimed')}),ISNUMBER({r('transformation_subsidy')}),"
        f"{r('claimed')}>{r('transformation_subsidy')})",
        ("service_total", "service_ratio"): formulas.service_limit_exceeded(first),
        ("integration", "integration_ratio"): formulas.integration_limit_exceeded(first),
        ("contract_date",): f"AND(ISNUMBER({r('contract_date')}),OR({r('contract_date')}<{start},"
        f'AND({end}<>"",{r("contract_date")}>{end})))',
        ("contract_total",): f"AND(ISNUMBER({r('contract_total')}),"
        f"ROUND({r('contract_total')}-SUM({components}),2)<>0)",
    }
    materials = tuple(f.id for f in material_fields(policy))
    if materials:  # relative to each cell: a document not marked 是 on a row applying for the subsidy
        rules[materials] = (
            f'AND(ISNUMBER(MATCH({r("level")},{LEVELS_NAME},0)),{letters[materials[0]]}{first}<>"{YES}")'
        )
    for names, condition in rules.items():
        area = " ".join(f"{letters[n]}{first}:{letters[n]}{last_row}" for n in names)
        ws.conditional_formatting.add(
            area, FormulaRule(formula=[condition], fill=ALERT_FILL, font=ALERT_FONT, stopIfTrue=False)
        )


# --- 实时校验 ---------------------------------------------------------------------------------------


def _live_check_sheet(workbook: Workbook, letters: dict[str, str], last_row: int) -> None:
    """One cell that validates the whole table live in Excel with the dtfund add-in."""
    ws = workbook.create_sheet(spec.LIVE_CHECK_SHEET)
    for letter, width in zip("ABCDE", (8, 18, 30, 90, 16), strict=True):
        ws.column_dimensions[letter].width = width
    last_letter = letters[application_fields()[-1].id]
    table = f"'{spec.DATA_SHEET}'!$A${spec.HEADER_ROW}:${last_letter}${last_row}"
    ws.append([_cell(ws, "实时校验（需要安装 dtfund 加载项）", font=TITLE_FONT)])
    ws.append(
        [
            _cell(
                ws,
                "下方单元格用 DTFUND_VALIDATE 校验整张申报表，结果随填写自动更新（行、字段、规则、说明、依据）。"
                "没有安装加载项，或使用 WPS、LibreOffice 时，该单元格会显示 #NAME? 等错误："
                "请改用命令 dtfund check 申报表.xlsx 校验，结果相同。",
            )
        ]
    )
    ws.append([])
    ws.append(
        [_cell(ws, ArrayFormula(spec.LIVE_CHECK_CELL, f"=DTFUND_VALIDATE({table},{spec.FIRST_DATA_ROW})"))]
    )


# --- 填表说明, 规则 -----------------------------------------------------------------------------------

GUIDE_STEPS = (
    "1. 在“申报表”第2行选择填报单位（兵团国资委或所属师市）。",
    "2. 从第5行起，每家试点企业填写一行；蓝色表头的列由师市填写，灰色表头的列由公式自动计算，请勿改写。",
    "3. 金额以元为单位、保留两位小数；日期按 2025-12-31 格式填写；有下拉列表的列请从列表中选择。",
    "4. 填写时变红的单元格表示违反规则：申请金额超过可补贴金额、服务费或集成费超限、合同日期不在试点期内、费用明细与合同总额不符、申请补贴的企业缺少申报材料。",
    "5. 复制粘贴会绕过下拉列表的检查。提交前请运行 dtfund check 申报表.xlsx，按提示逐条修改，直到没有错误。",
    "6. 请勿增删、移动列，也不要修改隐藏的工作表；需要更多行时，用 dtfund template application --rows N 生成新模板。",
)


def start_guide_sheet(
    workbook: Workbook, steps: Sequence[str], headers: Sequence[str], widths: Sequence[int]
) -> Any:
    """A 填表说明 sheet: its title, the numbered steps, then the header of the table of columns."""
    ws = workbook.create_sheet(spec.GUIDE_SHEET)
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.append([_cell(ws, "填表说明", font=TITLE_FONT)])
    for step in steps:
        ws.append([_cell(ws, step)])
    ws.append([])
    ws.append([_cell(ws, h, font=BOLD, fill=INPUT_FILL, border=BOX) for h in headers])
    return ws


def _guide_sheet(workbook: Workbook, policy: Policy, letters: dict[str, str]) -> None:
    ws = start_guide_sheet(
        workbook,
        GUIDE_STEPS,
        ("列", "字段", "是否必填", "填写说明", "可选值", "依据"),
        (8, 24, 14, 60, 40, 16),
    )
    required = {"always": "必填", "when_evaluated": "已评测必填", "never": "选填"}
    for field in application_fields():
        needed = "自动计算" if field.computed else required[field.required]
        values = "、".join(field.allowed(policy))
        ws.append(
            [
                _cell(ws, v, alignment=TOP_WRAP, border=BOX)
                for v in (
                    letters[field.id],
                    field.header,
                    needed,
                    field.help or "由公式按规则计算。",
                    values,
                    field.clause,
                )
            ]
        )
    ws.protection.sheet = True


def _rules_sheet(workbook: Workbook, policy: Policy) -> None:
    ws = workbook.create_sheet(spec.RULES_SHEET)
    for letter, width in zip("ABCDEF", (30, 8, 26, 60, 50, 16), strict=True):
        ws.column_dimensions[letter].width = width
    ws.append(
        [
            _cell(ws, h, font=BOLD, fill=INPUT_FILL, border=BOX)
            for h in ("规则编号", "级别", "名称", "说明", "修改建议", "依据")
        ]
    )
    for entry in rule_catalogue(policy):
        ws.append(
            [
                _cell(ws, v, alignment=TOP_WRAP, border=BOX)
                for v in (entry.id, entry.severity, entry.title, entry.message, entry.fix, entry.clause)
            ]
        )
    ws.protection.sheet = True


# --- 参数, lists, meta ---------------------------------------------------------------------------------


def _parameter_cell(ws, value: Any, unit: str) -> WriteOnlyCell:
    if isinstance(value, Decimal):
        number_format = {"比例": RATIO_FORMAT, "元": MONEY_FORMAT}.get(unit, COUNT_FORMAT)
        return _cell(ws, float(value), number_format=number_format, border=BOX)
    if isinstance(value, dt.date):
        return _cell(ws, value, number_format=DATE_FORMAT, border=BOX)
    if isinstance(value, list):
        return _cell(ws, "、".join(value), alignment=TOP_WRAP, border=BOX)
    return _cell(ws, value, border=BOX)


PARAMETER_WIDTHS = (30, 44, 12, 18, 14, 14, 14, 14)
LATEST = "取最新值"


def _key_date(parameter: Parameter) -> str:
    """Which date chooses the parameter's value for a row: a date field's label, or the latest value
    for the parameters no row amount reads."""
    return field_by_id()[parameter.applies_by].label if parameter.name in ROW_PARAMETERS else LATEST


def _parameters_sheet(workbook: Workbook, policy: Policy) -> None:
    """Every policy parameter with its clause as a dated table (from-date beside value, by date); the
    formulas look the value in force up in the named ranges here."""
    ws = workbook.create_sheet(spec.PARAMETERS_SHEET)
    for n, width in enumerate(PARAMETER_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    print_landscape(ws, pages_wide=1)
    ws.append([_cell(ws, f"政策参数：{policy.title}（{policy.version}）", font=TITLE_FONT)])
    ws.append(
        [
            _cell(
                ws,
                "每个取值自“起始日期”起施行，至同一参数下一个起始日期的前一天。申报表每行按“按此日期取值”所列的日期"
                "取当日有效的值（该日期空白或早于第一个起始日期的，取第一个值）；标“取最新值”的参数取最后一个值。",
            ),
        ]
    )
    ws.append(
        [
            _cell(ws, h, font=BOLD, fill=INPUT_FILL, border=BOX)
            for h in ("参数", "说明", "起始日期", "取值", "单位", "依据", "按此日期取值")
        ]
    )
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
                ws.append(
                    [
                        _cell(ws, parameter_name(name, key), border=BOX),
                        _cell(ws, label, border=BOX),
                        _parameter_cell(ws, dated.start, "日期"),
                        _parameter_cell(ws, item, parameter.unit),
                        _cell(ws, parameter.unit, border=BOX),
                        _cell(ws, parameter.clause, border=BOX),
                        _cell(ws, _key_date(parameter), border=BOX),
                    ]
                )
            if not isinstance(value, list):
                _define(workbook, parameter_name(name, key), spec.PARAMETERS_SHEET, _dated("D", first, row))
                _define(workbook, from_name(name, key), spec.PARAMETERS_SHEET, _dated("C", first, row))
    _levels_table(workbook, ws, policy, by_level, row + 2)
    ws.protection.sheet = True


def _levels_table(workbook: Workbook, ws, policy: Policy, parameters: list[Parameter], header: int) -> None:
    """The amounts by evaluation level, one dated row per value: the level's column in the row in force."""
    eligible = policy.eligible_levels
    ws.append([])
    ws.append(
        [
            _cell(ws, h, font=BOLD, fill=INPUT_FILL, border=BOX, alignment=WRAP)
            for h in ("参数", "说明", "起始日期", *eligible, "依据", "按此日期取值")
        ]
    )
    levels = (get_column_letter(4), get_column_letter(3 + len(eligible)))
    _define(workbook, LEVELS_NAME, spec.PARAMETERS_SHEET, f"${levels[0]}${header}:${levels[1]}${header}")
    row = header
    for parameter in parameters:
        first = row + 1
        for dated in parameter.values:
            row += 1
            ws.append(
                [
                    _cell(ws, parameter_name(parameter.name), border=BOX),
                    _cell(ws, f"{parameter.label}（{parameter.unit}）", border=BOX),
                    _parameter_cell(ws, dated.start, "日期"),
                    *(
                        _parameter_cell(ws, dated.value.get(level, Decimal(0)), parameter.unit)
                        for level in eligible
                    ),
                    _cell(ws, parameter.clause, border=BOX),
                    _cell(ws, _key_date(parameter), border=BOX),
                ]
            )
        block = f"${levels[0]}${first}:${levels[1]}${row}"
        _define(workbook, parameter_name(parameter.name), spec.PARAMETERS_SHEET, block)
        _define(workbook, from_name(parameter.name), spec.PARAMETERS_SHEET, _dated("C", first, row))


def _lists_sheet(workbook: Workbook, policy: Policy) -> None:
    choices = [f for f in input_fields() if f.kind == "choice"]
    write_lists_sheet(workbook, {f"LIST_{f.id.upper()}": (f.label, f.allowed(policy)) for f in choices})


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
        _define(workbook, name, spec.LISTS_SHEET, _absolute(letter, 2, len(columns[n])))
    ws.protection.sheet = True


def _meta_sheet(
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
    _define(workbook, spec.NAME_TEMPLATE_ID, spec.META_SHEET, "$B$1")
    _define(workbook, spec.NAME_TEMPLATE_VERSION, spec.META_SHEET, "$B$2")
    ws.protection.sheet = True
