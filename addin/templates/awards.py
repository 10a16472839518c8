"""Generate the awards workbook (奖励名单): one sheet per support line of 第十条（一）4, （三）, （四）2 and
（六）1, with the application template's standards: a defined name per column, dropdowns, native
formulas for the computed subsidy, violations highlighted as the clerk types, protection, 填表说明,
规则 and 参数 sheets. Every number is a named cell on 参数."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule

from addin import template_spec as spec
from addin.io.output import describe_generated, save_workbook
from addin.templates.formulas import latest_value
from addin.templates.printing import filled_rows_print_area, set_print_area_formula
from addin.templates.sheets import (
    SUBMISSION_STEPS,
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
    TITLE_FONT,
)
from schemas.awards import SOURCE_FIELD, AwardKind, award_kinds, award_units
from schemas.fields import YES
from schemas.money import format_yuan
from schemas.policy import Policy
from schemas.submission import FIRST_REVISION

UNIT_LIST = "LIST_AWARD_UNIT"
GUIDE_STEPS = (
    "1. 在第一张名单的第2行选择填报单位（通常为兵团专班），填写版本号和报送日期（见下）。",
    "2. 每张工作表是一类奖励或补贴，从第5行起每行填写一个获奖单位；灰色表头的列由公式计算，请勿改写。",
    "3. 金额以元为单位、保留两位小数；有下拉列表的列请从列表中选择；资金来源只能选该项允许的来源。",
    "4. 填写时变红的单元格表示违反规则：金额超过上限、累计超过预算总额、典型案例超过数量上限、"
    "有不良记录、未验收或验收不合格、已获支持的“小巨人”、赋能载体未经兵团认定、同一单位重复获奖。",
    "5. 提交前请运行 dtfund check 奖励名单.xlsx，按提示逐条修改；汇总时与各师市申报表一起交给 dtfund consolidate。",
    "6. 请勿增删、移动列，也不要修改隐藏的工作表；需要更多行时，用 dtfund template awards --rows N 生成新模板。",
    *SUBMISSION_STEPS,
)


def build_awards_template(
    policy: Policy,
    rows: int = spec.AWARDS_DEFAULT_ROWS,
    unit: str | None = None,
    records: dict[str, Sequence[dict[str, Any]]] | None = None,
    revision: int = FIRST_REVISION,
    submitted_on: dt.date | None = None,
) -> Workbook:
    """The awards workbook; `records` (kind id -> rows of field id -> value) pre-fill the sheets."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    workbook = Workbook(write_only=True)
    kinds = award_kinds(policy)
    last_row = spec.AWARDS_FIRST_DATA_ROW + rows - 1
    for n, kind in enumerate(kinds):
        _award_sheet(
            workbook,
            policy,
            kind,
            last_row,
            (unit, revision, submitted_on) if n == 0 else None,
            (records or {}).get(kind.id, ()),
        )
    _guide_sheet(workbook, policy, kinds)
    rules_sheet(workbook, policy)
    parameters_sheet(workbook, policy)
    lists = {UNIT_LIST: ("填报单位", award_units(policy))}
    for kind in kinds:
        for field in kind.input_fields():
            if field.kind == "choice":
                lists[_list_name(kind, field.id)] = (f"{kind.sheet}·{field.label}", field.allowed(policy))
    write_lists_sheet(workbook, lists)
    meta_sheet(workbook, policy, spec.AWARDS_TEMPLATE_ID, spec.AWARDS_TEMPLATE_VERSION)
    define_submission_names(workbook, kinds[0].sheet)
    describe_generated(workbook, f"{policy.fund} 奖励与补贴名单")
    return workbook


def write_awards_template(
    path: Path, policy: Policy, rows: int = spec.AWARDS_DEFAULT_ROWS, unit: str | None = None
) -> None:
    save_workbook(build_awards_template(policy, rows=rows, unit=unit), path)


def _list_name(kind: AwardKind, field_id: str) -> str:
    return f"LIST_{kind.id}_{field_id}".upper()


def sheet_note(kind: AwardKind, policy: Policy) -> str:
    """What bounds the sheet's awards, in the clerk's words, from the policy."""
    parts = [kind.clause]
    if kind.rate:
        parts.append(f"按投入的 {policy.value(kind.rate) * 100:g}% 补贴")
    if kind.cap:
        parts.append(f"每家最高 {format_yuan(policy.value(kind.cap))} 元")
    if kind.count_limit:
        parts.append(f"全兵团不超过 {policy.value(kind.count_limit)} 个")
    if kind.pool:
        pools = policy.value(kind.pool)
        parts.append(
            "预算总额 "
            + "、".join(f"{policy.funding_sources[s]} {format_yuan(v)} 元" for s, v in pools.items())
        )
    sources = kind.field(SOURCE_FIELD).allowed(policy)
    parts.append("资金来源：" + "或".join(sources))
    return "；".join(parts)


def _award_sheet(
    workbook: Workbook,
    policy: Policy,
    kind: AwardKind,
    last_row: int,
    submission: tuple[str | None, int, dt.date | None] | None,
    records: Sequence[dict[str, Any]],
) -> None:
    ws = workbook.create_sheet(kind.sheet)
    letters = spec.award_letters(kind.fields)
    format_columns(ws, kind.fields, letters)
    ws.freeze_panes = f"B{spec.AWARDS_FIRST_DATA_ROW}"
    print_and_protect(ws, pages_wide=1, title_rows=f"{spec.AWARDS_HEADER_ROW}:{spec.AWARDS_HEADER_ROW}")
    inputs = f"A:{letters[kind.input_fields()[-1].id]}"
    first = spec.AWARDS_FIRST_DATA_ROW
    set_print_area_formula(ws, filled_rows_print_area(kind.sheet, inputs, len(kind.fields), first, last_row))
    ws.merged_cells.add(f"A1:{letters[kind.fields[-1].id]}1")
    ws.append([styled_cell(ws, f"{policy.fund} {kind.sheet}名单", font=TITLE_FONT)])
    heading = f"模板 {spec.AWARDS_TEMPLATE_ID} 版本 {spec.AWARDS_TEMPLATE_VERSION}；政策 {policy.version}"
    if submission is not None:
        ws.append(submission_cells(ws, submission[0], heading, submission[1], submission[2]))
    else:
        ws.append([styled_cell(ws, heading)])
    ws.append([styled_cell(ws, sheet_note(kind, policy), font=BOLD)])
    ws.append(header_cells(ws, kind.fields, spec.AWARDS_HEADER_ROW))
    formulas = computed_formulas(kind, letters, policy)
    for row in range(spec.AWARDS_FIRST_DATA_ROW, last_row + 1):
        offset = row - spec.AWARDS_FIRST_DATA_ROW
        record = records[offset] if offset < len(records) else {}
        ws.append(
            [
                styled_cell(ws, formulas[field.id](row), number_format=number_format(field))
                if field.computed
                else _input(ws, record.get(field.id), number_format(field))
                for field in kind.fields
            ]
        )
    _validations(ws, policy, kind, letters, last_row)
    _highlighting(ws, policy, kind, letters, last_row)
    for field in kind.fields:
        name = spec.award_column_name(kind.id, field.id)
        column = letters[field.id]
        define(workbook, name, kind.sheet, absolute(column, spec.AWARDS_FIRST_DATA_ROW, last_row))


def _input(ws, value: Any, shown_as: str) -> Any:
    """A filled input cell, shown with its column's number format (a cell's own style replaces it)."""
    if value is None:
        return None
    return styled_cell(ws, value, locked=False, number_format=shown_as)


def computed_formulas(kind: AwardKind, letters: dict[str, str], policy: Policy) -> dict[str, Any]:
    """The computed columns' formulas by row: the 赋能载体 subsidy, min(投入 × 比例, 上限), only when
    the carrier is recognised by the 兵团 (schemas.awards.compute_awards is their oracle). The award
    lists carry no dates: the parameters' latest values."""
    inputs = [f.id for f in kind.input_fields()]
    first, last = letters[inputs[0]], letters[inputs[-1]]

    def subsidy(row: int) -> str:
        investment = f"ROUND(N(${letters['investment']}{row}),2)"  # at the cent, as the check takes it
        rated = f"ROUND({investment}*{latest_value(policy, kind.rate)},2)"
        capped = f"MIN({rated},{latest_value(policy, kind.cap)})" if kind.cap else rated
        return (
            f'=IF(COUNTA(${first}{row}:${last}{row})=0,"",'
            f'IF(${letters["recognized"]}{row}="{YES}",{capped},0))'
        )

    return {f.id: subsidy for f in kind.fields if f.computed}


def _validations(ws, policy: Policy, kind: AwardKind, letters: dict[str, str], last_row: int) -> None:
    first = spec.AWARDS_FIRST_DATA_ROW
    if kind is award_kinds(policy)[0]:
        unit = new_validation(
            "list", formula1=f"={UNIT_LIST}", errorTitle="填报单位无效", error="请从下拉列表中选择。"
        )
        unit.add("B2")
        ws.data_validations.append(unit)
        for validation in submission_validations(ws):
            ws.data_validations.append(validation)
    for field in kind.input_fields():
        list_name = _list_name(kind, field.id)
        add_field_validation(ws, field, policy, list_name, letters[field.id], first, last_row)


def highlight_rules(
    policy: Policy, kind: AwardKind, letters: dict[str, str], last_row: int
) -> dict[str, str]:
    """Conditions (for the sheet's first data row, relative by row) that turn a column red."""
    row = spec.AWARDS_FIRST_DATA_ROW
    top = spec.AWARDS_FIRST_DATA_ROW
    ref = lambda name: f"${letters[name]}{row}"  # noqa: E731
    rules: dict[str, str] = {}
    if kind.cap and not kind.rate:
        rules["amount"] = (
            f"AND(ISNUMBER({ref('amount')}),ROUND({ref('amount')},2)>{latest_value(policy, kind.cap)})"
        )
    if kind.pool:
        pools = policy.value(kind.pool)
        source, amount = letters[SOURCE_FIELD], letters["amount"]
        running = f"SUMIF(${source}${top}:${source}{row},${source}{row},${amount}${top}:${amount}{row})"
        names = {policy.funding_sources[s]: latest_value(policy, kind.pool, s) for s in pools}
        blank_reads_as = kind.field(SOURCE_FIELD).none_value  # one allowed source: a blank is it
        limit = "0"
        for name, cell in reversed(list(names.items())):
            chosen = [f'${source}{row}="{name}"'] + ([f'${source}{row}=""'] if blank_reads_as == name else [])
            limit = f"IF(OR({','.join(chosen)}),{cell},{limit})"
        over = f"AND(ISNUMBER({ref('amount')}),ROUND({running},2)>{limit})"  # at the cent
        rules["amount"] = f"OR({rules['amount']},{over})" if "amount" in rules else over
    if kind.count_limit:
        name_column = letters[kind.fields[0].id]
        rules[kind.fields[0].id] = (
            f'AND({ref(kind.fields[0].id)}<>"",'
            f"COUNTA(${name_column}${top}:${name_column}{row})>{latest_value(policy, kind.count_limit)})"
        )
    if kind.applicant == "enterprise":
        none_record = kind.field("negative_record").none_value
        accepted = policy.value("acceptance_statuses")[0]
        rules["negative_record"] = (
            f'AND({ref("negative_record")}<>"",{ref("negative_record")}<>"{none_record}")'
        )
        rules["acceptance"] = f'AND({ref("acceptance")}<>"",{ref("acceptance")}<>"{accepted}")'
        rules["little_giant"] = f'{ref("little_giant")}="{YES}"'
    if kind.has("recognized"):
        rules["recognized"] = f'AND({ref("recognized")}<>"",{ref("recognized")}<>"{YES}")'
    key = "uscc" if kind.has("uscc") else "division"
    column = letters[key]
    rules[key] = f'AND({ref(key)}<>"",COUNTIF(${column}${top}:${column}${last_row},{ref(key)})>1)'
    return rules


def _highlighting(ws, policy: Policy, kind: AwardKind, letters: dict[str, str], last_row: int) -> None:
    first = spec.AWARDS_FIRST_DATA_ROW
    for field_id, condition in highlight_rules(policy, kind, letters, last_row).items():
        area = f"{letters[field_id]}{first}:{letters[field_id]}{last_row}"
        ws.conditional_formatting.add(
            area, FormulaRule(formula=[condition], fill=ALERT_FILL, font=ALERT_FONT, stopIfTrue=False)
        )


def _guide_sheet(workbook: Workbook, policy: Policy, kinds: Sequence[AwardKind]) -> None:
    widths = (14, 6, 24, 10, 60, 14)
    ws = start_guide_sheet(
        workbook, GUIDE_STEPS, ("工作表", "列", "字段", "是否必填", "填写说明", "依据"), widths
    )
    required = {"always": "必填", "never": "选填"}
    rows = []
    for kind in kinds:
        letters = spec.award_letters(kind.fields)
        rows.append((kind.sheet, "", "", "", sheet_note(kind, policy), kind.clause))
        for field in kind.fields:
            needed = "自动计算" if field.computed else required.get(field.required, "选填")
            values = "、".join(field.allowed(policy))
            text = (field.help or "由公式按规则计算。") + (f"（可选：{values}）" if values else "")
            rows.append((kind.sheet, letters[field.id], field.header, needed, text, field.clause))
    table_rows(ws, rows, widths, guide_first_row(GUIDE_STEPS))
    ws.protection.sheet = True
