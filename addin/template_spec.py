"""The layout of the application template, shared by the generator and the reader."""

from __future__ import annotations

from openpyxl.utils import get_column_letter

from schemas.fields import application_fields

TEMPLATE_ID = "dtfund-application"
TEMPLATE_VERSION = "1.0"
SUPPORTED_VERSIONS = ("1.0",)
DEFAULT_ROWS = 2000

DATA_SHEET = "申报表"
GUIDE_SHEET = "填表说明"
RULES_SHEET = "规则"
PARAMETERS_SHEET = "参数"
LISTS_SHEET = "_lists"
META_SHEET = "_meta"

TITLE_ROW = 1
UNIT_ROW = 2
GROUP_ROW = 3
HEADER_ROW = 4
FIRST_DATA_ROW = 5

# Workbook-level names of the template's own cells.
NAME_TEMPLATE_ID = "DTFUND_TEMPLATE_ID"
NAME_TEMPLATE_VERSION = "DTFUND_TEMPLATE_VERSION"
NAME_UNIT = "DTFUND_UNIT"


def column_letters() -> dict[str, str]:
    """Each field's column in the data sheet, in field order from column A."""
    return {f.id: get_column_letter(n) for n, f in enumerate(application_fields(), start=1)}
