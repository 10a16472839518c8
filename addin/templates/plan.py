"""Generate the fund-use plan template (资金使用计划表), pre-filled with the official annex: same lines,
order, labels and figures; 资金预算 and 合计 as formulas; the known inconsistencies as cell notes."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, Protection
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from addin import template_spec as spec
from addin.io.output import describe_generated, save_workbook
from addin.io.print_layout import wrapped_height
from addin.templates.printing import page_setup
from addin.templates.sheets import SUBMISSION_STEPS, define_submission_names, submission_validations
from addin.templates.styles import BOX, COMPUTED_FILL, DATE_FORMAT, INPUT_FILL, TITLE_FONT, WRAP
from schemas.plan import BUDGET, Plan
from schemas.policy import Policy
from schemas.submission import FIRST_REVISION

AMOUNT_FORMAT = "#,##0.######"
SOURCES = ("central", "bingtuan", "division")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
TOP_LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)


def plan_rows(plan: Plan) -> tuple[dict[str, int], int]:
    """The sheet row of each plan line, and of the 合计 row."""
    rows = {line.key: spec.PLAN_FIRST_LINE_ROW + n for n, line in enumerate(plan.lines)}
    return rows, spec.PLAN_FIRST_LINE_ROW + len(plan.lines)


def _letter(column: str) -> str:
    return spec.PLAN_COLUMNS[column]


def _note(text: str) -> Comment:
    return Comment(f"说明：{text}", "dtfund", width=320, height=140)


def build_plan_template(policy: Policy) -> Workbook:
    plan = policy.plan
    if plan is None:
        raise ValueError("the policy has no plan")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = spec.PLAN_SHEET
    rows, total_row = plan_rows(plan)
    _heading(sheet, policy)
    _lines(sheet, plan, rows)
    _totals(sheet, plan, rows, total_row)
    _layout(sheet, rows, total_row)
    _names(workbook, rows, total_row)
    _meta(workbook, policy)
    describe_generated(workbook, f"{policy.fund}使用计划表")
    return workbook


def write_plan_template(path: Path, policy: Policy) -> None:
    save_workbook(build_plan_template(policy), path)


def _heading(sheet: Worksheet, policy: Policy) -> None:
    sheet.merge_cells("A1:F1")
    sheet["A1"] = "新疆生产建设兵团中小企业数字化转型城市试点专项资金使用计划表"
    sheet["A1"].font = TITLE_FONT
    sheet["A1"].alignment = CENTER
    sheet["A2"] = f"模板 {spec.PLAN_TEMPLATE_ID} 版本 {spec.PLAN_TEMPLATE_VERSION}；政策 {policy.version}"
    sheet["A2"] = f"{sheet['A2'].value}；单位：万元"  # F2 now holds the 报送日期
    _submission_cells(sheet)


def _submission_cells(sheet: Worksheet) -> None:
    """C2:F2, the 版本号 (1) and 报送日期 cells, unlocked, each with a note explaining it."""
    for label, cell, value, number_format, note in (
        ("版本号：", spec.REVISION_CELL, FIRST_REVISION, "0", SUBMISSION_STEPS[0]),
        ("报送日期：", spec.SUBMITTED_ON_CELL, None, DATE_FORMAT, SUBMISSION_STEPS[1]),
    ):
        label_cell = sheet.cell(row=spec.UNIT_ROW, column=sheet[cell].column - 1, value=label)
        label_cell.font = Font(bold=True)
        target = sheet[cell]
        target.value, target.number_format, target.fill, target.border = value, number_format, INPUT_FILL, BOX
        target.protection = Protection(locked=False)
        target.comment = _note(note)
    for validation in submission_validations(sheet):
        sheet.add_data_validation(validation)
    for column, header in spec.PLAN_HEADERS.items():
        cell = sheet[f"{_letter(column)}{spec.PLAN_HEADER_ROW}"]
        cell.value = header
        cell.font = Font(bold=True)
        cell.fill = INPUT_FILL if column in SOURCES else COMPUTED_FILL
        cell.alignment = WRAP
        cell.border = BOX


def _lines(sheet: Worksheet, plan: Plan, rows: dict[str, int]) -> None:
    for line in plan.lines:
        row = rows[line.key]
        values = {
            "direction": f"{line.label}{line.direction}" if line.label else None,
            "content": line.content,
            "key": line.key,
        }
        texts = [(values[c], COLUMN_WIDTHS[_letter(c)]) for c in ("direction", "content")]
        sheet.row_dimensions[row].height = wrapped_height(texts)
        for column, value in values.items():
            cell = sheet[f"{_letter(column)}{row}"]
            cell.value = value
            cell.alignment = TOP_LEFT
            cell.border = BOX
        sources = [f"{_letter(s)}{row}" for s in SOURCES]
        budget = sheet[f"{_letter(BUDGET)}{row}"]
        budget.value = (
            f'=IF(COUNT({sources[0]}:{sources[-1]})=0,"{spec.NONE_MARK}",SUM({sources[0]}:{sources[-1]}))'
        )
        budget.number_format = AMOUNT_FORMAT
        budget.fill = COMPUTED_FILL
        budget.border = BOX
        budget.alignment = CENTER
        for source in SOURCES:
            cell = sheet[f"{_letter(source)}{row}"]
            amount = line.budget[source]
            cell.value = spec.NONE_MARK if amount is None else float(amount) if amount % 1 else int(amount)
            cell.number_format = AMOUNT_FORMAT
            cell.protection = Protection(locked=False)
            cell.border = BOX
            cell.alignment = CENTER
        for column, text in line.notes.items():
            target = "direction" if column == "label" else column
            sheet[f"{_letter(target)}{row}"].comment = _note(text)
    # （十四）'s items share one 资金使用方向 cell, as in the official table
    for line in plan.lines:
        if line.label:
            continue
        first = max(r for k, r in rows.items() if plan.line(k).label and r < rows[line.key])
        sheet.merge_cells(f"A{first}:A{rows[line.key]}")


def _totals(sheet: Worksheet, plan: Plan, rows: dict[str, int], total_row: int) -> None:
    first, last = min(rows.values()), max(rows.values())
    sheet[f"A{total_row}"] = "合计"
    sheet[f"A{total_row}"].font = Font(bold=True)
    sheet[f"A{total_row}"].border = BOX
    sheet[f"B{total_row}"].border = BOX
    for column in (BUDGET, *SOURCES):
        letter = _letter(column)
        cell = sheet[f"{letter}{total_row}"]
        cell.value = f"=SUM({letter}{first}:{letter}{last})"
        cell.number_format = AMOUNT_FORMAT
        cell.font = Font(bold=True)
        cell.fill = COMPUTED_FILL
        cell.border = BOX
        cell.alignment = CENTER
    for column, text in plan.total_notes.items():
        sheet[f"{_letter(column)}{total_row}"].comment = _note(text)


COLUMN_WIDTHS = {"A": 22, "B": 70, "C": 13, "D": 13, "E": 13, "F": 13, "G": 8}


def _layout(sheet: Worksheet, rows: dict[str, int], total_row: int) -> None:
    for column, width in COLUMN_WIDTHS.items():
        sheet.column_dimensions[column].width = width
    sheet.column_dimensions[_letter("key")].hidden = True
    headers = [(header, COLUMN_WIDTHS[_letter(column)]) for column, header in spec.PLAN_HEADERS.items()]
    sheet.row_dimensions[spec.PLAN_HEADER_ROW].height = wrapped_height(headers)
    sheet.freeze_panes = f"A{spec.PLAN_FIRST_LINE_ROW}"
    sheet.print_area = f"A1:F{total_row}"
    page_setup(sheet, landscape=True, title_rows=f"{spec.PLAN_HEADER_ROW}:{spec.PLAN_HEADER_ROW}")
    sheet.protection.sheet = True
    sheet.protection.formatColumns = False
    sheet.protection.formatRows = False


def _names(workbook: Workbook, rows: dict[str, int], total_row: int) -> None:
    first, last = min(rows.values()), max(rows.values())
    for column, name in spec.PLAN_NAMES.items():
        letter = _letter(column)
        workbook.defined_names[name] = DefinedName(
            name, attr_text=f"'{spec.PLAN_SHEET}'!${letter}${first}:${letter}${last}"
        )
    define_submission_names(workbook, spec.PLAN_SHEET, with_unit=False)
    workbook.defined_names[spec.PLAN_TOTAL_NAME] = DefinedName(
        spec.PLAN_TOTAL_NAME,
        attr_text=f"'{spec.PLAN_SHEET}'!${_letter(BUDGET)}${total_row}:${_letter('division')}${total_row}",
    )


def _meta(workbook: Workbook, policy: Policy) -> None:
    meta = workbook.create_sheet(spec.META_SHEET)
    meta.sheet_state = "hidden"
    for row in (
        ("模板标识", spec.PLAN_TEMPLATE_ID),
        ("模板版本", spec.PLAN_TEMPLATE_VERSION),
        ("政策", policy.id),
        ("政策版本", policy.version),
    ):
        meta.append(row)
    meta.protection.sheet = True
    for name, ref in ((spec.NAME_TEMPLATE_ID, "$B$1"), (spec.NAME_TEMPLATE_VERSION, "$B$2")):
        workbook.defined_names[name] = DefinedName(name, attr_text=f"'{spec.META_SHEET}'!{ref}")
