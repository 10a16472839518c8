"""The layout of the application template, shared by the generator and the reader."""

from __future__ import annotations

from collections.abc import Sequence

from addin.template_sizes import AWARDS_DEFAULT_ROWS, DEFAULT_ROWS  # noqa: F401 - part of the spec
from schemas.fields import Field, application_fields
from schemas.policy import Policy

MAX_COLUMN = 18278  # ZZZ, the last column openpyxl names (Excel's own last is XFD, the 16,384th)

TEMPLATE_ID = "dtfund-application"
TEMPLATE_VERSION = "1.1"  # 1.1: the 申报材料 columns (第十一条（一）3)
SUPPORTED_VERSIONS = ("1.1",)

PLAN_TEMPLATE_ID = "dtfund-plan"
PLAN_TEMPLATE_VERSION = "1.0"
PLAN_SUPPORTED_VERSIONS = ("1.0",)
PLAN_SHEET = "资金使用计划表"
PLAN_HEADER_ROW = 3
PLAN_FIRST_LINE_ROW = 4
# Columns of the plan sheet: what each holds, and its letter.
PLAN_COLUMNS = {
    "direction": "A",
    "content": "B",
    "budget": "C",
    "central": "D",
    "bingtuan": "E",
    "division": "F",
    "key": "G",
}
PLAN_HEADERS = {
    "direction": "资金使用方向",
    "content": "资金支持的具体内容",
    "budget": "资金预算（万元）",
    "central": "中央资金（万元）",
    "bingtuan": "兵团配套资金（万元）",
    "division": "师市配套资金（万元）",
    "key": "行号",
}
# Defined names of the plan's columns over its lines, and of its 合计 row.
PLAN_NAMES = {
    "key": "plan_key",
    "budget": "plan_budget",
    "central": "plan_central",
    "bingtuan": "plan_bingtuan",
    "division": "plan_division",
}
PLAN_TOTAL_NAME = "plan_total"
NONE_MARK = "-"  # the official table's mark for "no money on this line"

AWARDS_TEMPLATE_ID = "dtfund-awards"
# each template's kind of workbook, as a check result names it
TEMPLATE_KINDS = {TEMPLATE_ID: "application", PLAN_TEMPLATE_ID: "plan", AWARDS_TEMPLATE_ID: "awards"}
AWARDS_TEMPLATE_VERSION = "1.0"
AWARDS_SUPPORTED_VERSIONS = ("1.0",)
AWARDS_NOTE_ROW = 3  # the sheet's clause, cap, pool and funding sources
AWARDS_HEADER_ROW = 4
AWARDS_FIRST_DATA_ROW = 5


def column_letter(number: int) -> str:
    """A column's letters from its number (1 -> A, 27 -> AA), as openpyxl's get_column_letter gives
    them (tested), so the check need not import openpyxl."""
    if not 1 <= number <= MAX_COLUMN:
        raise ValueError(f"no column {number}")
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def award_letters(fields: Sequence[Field]) -> dict[str, str]:
    """Each field's column on an award sheet, in field order from column A."""
    return {f.id: column_letter(n) for n, f in enumerate(fields, start=1)}


def award_column_name(kind_id: str, field_id: str) -> str:
    """The defined name of an award sheet's column, e.g. AWD_TYPICAL_CASE_AMOUNT."""
    return f"AWD_{kind_id}_{field_id}".upper()


DATA_SHEET = "申报表"
LIVE_CHECK_SHEET = "实时校验"
LIVE_CHECK_CELL = "A4"
# Excel without dynamic arrays (2010-2019) shows DTFUND_VALIDATE as an array formula over a fixed block:
# its header row, the first LIVE_CHECK_ISSUES issues (the block prints on one A4 page), and its columns
# (行、字段、规则、说明、依据). The 校验 button lists every issue in every Excel.
LIVE_CHECK_ISSUES = 30
LIVE_CHECK_COLUMNS = 5
GUIDE_SHEET = "填表说明"
RULES_SHEET = "规则"
PARAMETERS_SHEET = "参数"
LISTS_SHEET = "_lists"
META_SHEET = "_meta"

TITLE_ROW = 1
UNIT_ROW = 2
UNIT_CELL = f"B{UNIT_ROW}"  # the 填报单位 cell, on the application sheet and the first award sheet
GROUP_ROW = 3
HEADER_ROW = 4
FIRST_DATA_ROW = 5

# Workbook-level names of the template's own cells.
NAME_TEMPLATE_ID = "DTFUND_TEMPLATE_ID"
NAME_TEMPLATE_VERSION = "DTFUND_TEMPLATE_VERSION"
NAME_UNIT = "DTFUND_UNIT"
NAME_REVISION = "DTFUND_REVISION"
NAME_SUBMITTED_ON = "DTFUND_SUBMITTED_ON"

# Row 2 beside the 填报单位: the 版本号 and 报送日期 cells (templates before them lack both names, and
# count as revision 1), then the template's heading.
REVISION_CELL = f"D{UNIT_ROW}"
SUBMITTED_ON_CELL = f"F{UNIT_ROW}"


def column_letters(policy: Policy | None = None) -> dict[str, str]:
    """Each field's column in the data sheet under a policy (the bundled one by default), in field
    order from column A."""
    return {f.id: column_letter(n) for n, f in enumerate(application_fields(policy), start=1)}


def live_check_block() -> str:
    """The cells the 实时校验 formula covers as an array formula: what Excel 2010-2019 shows of it
    (Excel 365 spills the same formula to the size of its result)."""
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    column, row = coordinate_from_string(LIVE_CHECK_CELL)
    last_column = column_letter(column_index_from_string(column) + LIVE_CHECK_COLUMNS - 1)
    return f"{LIVE_CHECK_CELL}:{last_column}{row + LIVE_CHECK_ISSUES}"


def live_check_anchors() -> dict[str, list[str]]:
    """The application template's dynamic-array formula: DTFUND_VALIDATE on the 实时校验 sheet."""
    return {LIVE_CHECK_SHEET: [LIVE_CHECK_CELL]}
