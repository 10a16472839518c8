"""Generate the division application template (申报表) from the field specs, the policy and the rule
registry: defined name per column, dropdowns with Chinese error texts, native formulas, red
highlighting as the clerk types, protection, print setup, 填表说明, 规则 and 参数 sheets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from copy import copy
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.worksheet.formula import ArrayFormula

from addin import template_spec as spec
from addin.io.output import describe_generated, save_workbook
from addin.io.print_layout import wrapped_height
from addin.io.repeated_rows import RepeatedRows
from addin.templates.formulas import LEVELS_NAME, RowFormulas, list_name, text_sensitive_inputs
from addin.templates.printing import filled_rows_print_area, page_setup, set_print_area_formula
from addin.templates.sheets import (
    SUBMISSION_STEPS,
    RowsRepeatingWorkbook,
    absolute,
    add_field_validation,
    define,
    define_submission_names,
    format_columns,
    guide_first_row,
    header_cells,
    meta_sheet,
    new_validation,
    number_format,
    parameters_sheet,
    print_and_protect,
    rules_sheet,
    start_guide_sheet,
    styled_cell,
    submission_cells,
    submission_validations,
    table_rows,
    write_lists_sheet,
)
from addin.templates.styles import (
    ALERT_FILL,
    ALERT_FONT,
    BOLD,
    COMPUTED_FILL,
    INPUT_FILL,
    TITLE_FONT,
    TOP_WRAP,
    WRAP,
)
from schemas.application_rules import COMPONENT_FIELDS
from schemas.fields import YES, application_fields, fee_limit_kinds, input_fields, material_fields
from schemas.policy import Policy
from schemas.submission import FIRST_REVISION
from schemas.total_rows import TOTAL_GAPS, TOTAL_WORDS
from schemas.uscc import LENGTH as USCC_LENGTH

PRINT_PAGES_WIDE = 2  # 34 columns: inputs on the first page, computed amounts on the second


def build_application_template(
    policy: Policy,
    rows: int = spec.DEFAULT_ROWS,
    unit: str | None = None,
    records: Sequence[dict[str, Any] | None] = (),
    revision: int = FIRST_REVISION,
    submitted_on: dt.date | None = None,
) -> Workbook:
    """The application template as an openpyxl workbook (write-only, so 100,000 rows fit in memory)."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    workbook = RowsRepeatingWorkbook()
    letters = spec.column_letters(policy)
    last_row = spec.FIRST_DATA_ROW + rows - 1
    _data_sheet(workbook, policy, letters, last_row, (unit, revision, submitted_on), records)
    _live_check_sheet(workbook, letters, last_row, policy)
    _guide_sheet(workbook, policy, letters)
    rules_sheet(workbook, policy)
    parameters_sheet(workbook, policy)
    _lists_sheet(workbook, policy)
    meta_sheet(workbook, policy)
    for field in application_fields(policy):
        define(
            workbook, field.id, spec.DATA_SHEET, absolute(letters[field.id], spec.FIRST_DATA_ROW, last_row)
        )
    define_submission_names(workbook, spec.DATA_SHEET)
    describe_generated(workbook, f"{policy.fund} 企业数字化改造补贴申报表")
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
    workbook: RowsRepeatingWorkbook,
    policy: Policy,
    letters: dict[str, str],
    last_row: int,
    submission: tuple[str | None, int, dt.date | None],
    records: Sequence[dict[str, Any] | None] = (),
) -> None:
    ws = workbook.create_sheet(spec.DATA_SHEET)
    fields = application_fields(policy)
    inputs = input_fields(policy)
    last_letter = letters[fields[-1].id]
    format_columns(ws, fields, letters)
    ws.freeze_panes = f"C{spec.FIRST_DATA_ROW}"
    ws.print_title_cols = "A:B"
    print_and_protect(ws, PRINT_PAGES_WIDE, title_rows=f"{spec.GROUP_ROW}:{spec.HEADER_ROW}")
    set_print_area_formula(ws, data_print_area(last_row, policy))

    first_computed = letters[next(f.id for f in fields if f.computed)]
    ws.merged_cells.add(f"A{spec.TITLE_ROW}:{last_letter}{spec.TITLE_ROW}")
    ws.merged_cells.add(f"A{spec.GROUP_ROW}:{letters[inputs[-1].id]}{spec.GROUP_ROW}")
    ws.merged_cells.add(f"{first_computed}{spec.GROUP_ROW}:{last_letter}{spec.GROUP_ROW}")
    ws.append([styled_cell(ws, f"{policy.fund} 企业数字化改造补贴申报表", font=TITLE_FONT)])
    heading = f"模板 {spec.TEMPLATE_ID} 版本 {spec.TEMPLATE_VERSION}；政策 {policy.version}"
    ws.append(submission_cells(ws, submission[0], heading, submission[1], submission[2]))
    group = [None] * len(fields)
    group[0] = styled_cell(ws, "申报信息（蓝色表头列由师市填写）", font=BOLD, fill=INPUT_FILL, alignment=WRAP)
    group[len(inputs)] = styled_cell(
        ws, "自动计算（灰色表头列由公式计算，请勿填写）", font=BOLD, fill=COMPUTED_FILL, alignment=WRAP
    )
    ws.append(group)
    ws.append(header_cells(ws, fields, spec.HEADER_ROW))

    formulas = RowFormulas(letters, policy)
    computed = [f for f in fields if f.computed]
    prototypes = {f.id: styled_cell(ws, None, number_format=number_format(f)) for f in computed}
    padding = [None] * len(inputs)
    # the empty rows below the records repeat the first of them: openpyxl writes it and the next
    pattern_row = spec.FIRST_DATA_ROW + len(records)
    if pattern_row + 2 <= last_row:
        workbook.repeated_rows.append(RepeatedRows(spec.DATA_SHEET, pattern_row, last_row))
    for row in range(spec.FIRST_DATA_ROW, min(last_row, pattern_row + 1) + 1):
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


def data_print_area(last_row: int, policy: Policy | None = None) -> str:
    """The 申报表's print area: its title and header rows and the rows down to the last one filled."""
    letters = spec.column_letters(policy)
    inputs = f"A:{letters[input_fields(policy)[-1].id]}"
    return filled_rows_print_area(
        spec.DATA_SHEET, inputs, len(application_fields(policy)), spec.FIRST_DATA_ROW, last_row
    )


def _input_cell(ws, value: Any) -> Any:
    """A value the clerk typed: text stays text even when it starts with "="."""
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell
    return value


def _validations(ws, policy: Policy, letters: dict[str, str], last_row: int) -> None:
    first = spec.FIRST_DATA_ROW
    unit_list = new_validation(
        "list",
        formula1=f"={list_name('division')}",
        errorTitle="填报单位无效",
        error=f"请从下拉列表中选择{_unit_words(policy)}。",
    )
    unit_list.add("B2")
    ws.data_validations.append(unit_list)
    for validation in submission_validations(ws):
        ws.data_validations.append(validation)
    for field in input_fields(policy):
        add_field_validation(ws, field, policy, list_name(field.id), letters[field.id], first, last_row)


def _highlighting(ws, formulas: RowFormulas, letters: dict[str, str], last_row: int, policy: Policy) -> None:
    """Red as the clerk types: claims over the computed subsidy, fees over their limits, contract dates
    outside the window, cost items that do not add up to the contract, amounts or dates typed as text,
    missing documents, a 合计 row. Amounts are compared at the cent, as the check compares them."""
    first = spec.FIRST_DATA_ROW
    r = lambda name: formulas.ref(name, first)  # noqa: E731
    claimed = r(policy.claimed_line.id)
    rules = {
        ("claimed",): f"AND({formulas.eligible(first)},ISNUMBER({r('claimed')}),"
        f"ISNUMBER({claimed}),{formulas.cents('claimed', first)}>{claimed})",
    }
    fee_columns = {
        "service": ("service_total", "service_ratio"),
        "integration": ("integration", "integration_ratio"),
    }
    for kind in fee_limit_kinds(policy):
        rules[fee_columns[kind]] = formulas.fee_limit_exceeded(first, kind)
    for window in policy.windows:
        rules[(window.field,)] = (
            f"AND(ISNUMBER({r(window.field)}),NOT(AND({formulas.in_window(first, window)})))"
        )
    rules |= {  # each item at the cent, then added, as the check adds them (COST_COMPONENTS_MISMATCH)
        ("contract_total",): f"AND(ISNUMBER({r('contract_total')}),"
        f"{formulas.cents('contract_total', first)}<>{formulas.items_total(first, COMPONENT_FIELDS)})",
    }
    # an amount or a date typed as text, which the formulas cannot compute: the row counts nothing
    typed_as_text = [((name,), f"ISTEXT({r(name)})") for name in text_sensitive_inputs(policy)]
    # a clerk's 合计 row: a total word (schemas.total_rows, its gaps removed) and no 18-character code
    # (counted as the check reads a code: spaces and hyphens removed)
    labels = _without(f"{r('name')}&{r('uscc')}", TOTAL_GAPS)
    said = ",".join(f'ISNUMBER(SEARCH("{word}",{labels}))' for word in TOTAL_WORDS)
    code = _without(r("uscc"), (*TOTAL_GAPS, "-"))
    rules[("name", "uscc")] = f"AND(LEN({code})<>{USCC_LENGTH},OR({said}))"
    materials = tuple(f.id for f in material_fields(policy))
    if materials:  # relative to each cell: a document not marked 是 on a row applying for the subsidy
        rules[materials] = (
            f'AND(ISNUMBER(MATCH({r("level")},{LEVELS_NAME},0)),{letters[materials[0]]}{first}<>"{YES}")'
        )
    for names, condition in [*rules.items(), *typed_as_text]:
        area = " ".join(f"{letters[n]}{first}:{letters[n]}{last_row}" for n in names)
        ws.conditional_formatting.add(
            area, FormulaRule(formula=[condition], fill=ALERT_FILL, font=ALERT_FONT, stopIfTrue=False)
        )


def _without(text: str, characters: tuple[str, ...]) -> str:
    """A formula for `text` with each of `characters` removed."""
    for character in characters:
        text = f'SUBSTITUTE({text},{_formula_text(character)},"")'
    return text


def _formula_text(character: str) -> str:
    """One character as a formula's text: a string literal, or CHAR() for a control character."""
    return f"CHAR({ord(character)})" if ord(character) < 32 else f'"{character}"'


# --- 实时校验 ---------------------------------------------------------------------------------------


LIVE_CHECK_NOTE = (
    "下方单元格用 DTFUND_VALIDATE 校验整张申报表，结果随填写自动更新（行、字段、规则、说明、依据）。"
    "没有安装加载项，或使用 WPS、LibreOffice 时，该单元格会显示 #NAME? 等错误："
    "请改用命令 dtfund check 申报表.xlsx 校验，结果相同。"
    f"Excel 2019 及更早版本（没有动态数组）最多显示前 {spec.LIVE_CHECK_ISSUES} 条问题，问题更多时以 dtfund check 为准。"
)
# The block's cells the result does not reach show #N/A in Excel 2010-2019 (and every cell shows the
# error where the add-in is missing): printed in white, so only the anchor shows an error.
LIVE_CHECK_PADDING_FONT = Font(color="FFFFFF")


def _live_check_sheet(workbook: Workbook, letters: dict[str, str], last_row: int, policy: Policy) -> None:
    """One cell that validates the whole table live in Excel with the dtfund add-in."""
    ws = workbook.create_sheet(spec.LIVE_CHECK_SHEET)
    widths = (8, 18, 30, 90, 16)
    for letter, width in zip("ABCDE", widths, strict=True):
        ws.column_dimensions[letter].width = width
    page_setup(ws, landscape=True)
    last_letter = letters[application_fields(policy)[-1].id]
    table = f"'{spec.DATA_SHEET}'!$A${spec.HEADER_ROW}:${last_letter}${last_row}"
    ws.append([styled_cell(ws, "实时校验（需要安装 dtfund 加载项）", font=TITLE_FONT)])
    ws.merged_cells.add("A2:E2")
    ws.row_dimensions[2].height = wrapped_height([(LIVE_CHECK_NOTE, sum(widths))])
    ws.append([styled_cell(ws, LIVE_CHECK_NOTE, alignment=TOP_WRAP)])
    ws.append([])
    block = spec.live_check_block()
    formula = ArrayFormula(block, f"=DTFUND_VALIDATE({table},{spec.FIRST_DATA_ROW})")
    ws.append([styled_cell(ws, formula)])
    anchor = spec.LIVE_CHECK_CELL
    column, row = coordinate_from_string(anchor)
    not_anchor = f"OR(ROW({anchor})>{row},COLUMN({anchor})>{column_index_from_string(column)})"
    ws.conditional_formatting.add(
        block, FormulaRule(formula=[f"AND(ISERROR({anchor}),{not_anchor})"], font=LIVE_CHECK_PADDING_FONT)
    )
    # print the rows the result fills (its 说明 column is text in every row), at least the anchor's
    notes = f"'{spec.LIVE_CHECK_SHEET}'!$D${row}:$D${row + spec.LIVE_CHECK_ISSUES}"
    set_print_area_formula(
        ws,
        f"OFFSET('{spec.LIVE_CHECK_SHEET}'!$A$1,0,0,MAX({row},{row - 1}+COUNTIF({notes},\"?*\")),"
        f"{spec.LIVE_CHECK_COLUMNS})",
    )


# --- 填表说明, 规则 -----------------------------------------------------------------------------------


def _unit_words(policy: Policy) -> str:
    """How the template names the filing units: the policy's own label of the unit column (合肥:
    所属县（市）区、开发区), or the 兵团's."""
    return policy.field_texts.get("division", {}).get("label") or "兵团国资委或所属师市"


def guide_steps(policy: Policy) -> tuple[str, ...]:
    """The 填表说明's steps in the policy's words: its filing units, and the fee limits only where its
    base has them."""
    fees = "服务费或集成费超限、" if fee_limit_kinds(policy) else ""
    return (
        f"1. 在“申报表”第2行选择填报单位（{_unit_words(policy)}），填写版本号和报送日期（见下）。",
        "2. 从第5行起，每家试点企业填写一行；蓝色表头的列由师市填写，灰色表头的列由公式自动计算，请勿改写。",
        "3. 金额以元为单位、保留两位小数；日期按 2025-12-31 格式填写；有下拉列表的列请从列表中选择。",
        f"4. 填写时变红的单元格表示违反规则：申请金额超过可补贴金额、{fees}合同日期不在试点期内、"
        "费用明细与合同总额不符、申请补贴的企业缺少申报材料。",
        "5. 复制粘贴会绕过下拉列表的检查。提交前请运行 dtfund check 申报表.xlsx，按提示逐条修改，直到没有错误。",
        "6. 请勿增删、移动列，也不要修改隐藏的工作表；需要更多行时，用 dtfund template application --rows N 生成新模板。",
        *SUBMISSION_STEPS,
    )


def _guide_sheet(workbook: Workbook, policy: Policy, letters: dict[str, str]) -> None:
    widths = (6, 22, 12, 60, 36, 14)
    ws = start_guide_sheet(
        workbook, guide_steps(policy), ("列", "字段", "是否必填", "填写说明", "可选值", "依据"), widths
    )
    required = {"always": "必填", "when_evaluated": "已评测必填", "never": "选填"}
    rows = [
        (
            letters[field.id],
            field.header,
            "自动计算" if field.computed else required[field.required],
            field.help or "由公式按规则计算。",
            "、".join(field.allowed(policy)),
            field.clause,
        )
        for field in application_fields(policy)
    ]
    table_rows(ws, rows, widths, guide_first_row(guide_steps(policy)))
    ws.protection.sheet = True


# --- 参数, lists, meta ---------------------------------------------------------------------------------


def _lists_sheet(workbook: Workbook, policy: Policy) -> None:
    choices = [f for f in input_fields(policy) if f.kind == "choice"]
    write_lists_sheet(workbook, {list_name(f.id): (f.label, f.allowed(policy)) for f in choices})
