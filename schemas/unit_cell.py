"""The 填报单位 cell of a submitted workbook: required, and one of the units allowed to submit it."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.registry import Issue, make_issue


def unit_cell_issues(
    unit: str | None, allowed: Sequence[str], sheet: str, cell: str, clause: str, where_said: str
) -> list[Issue]:
    """REQUIRED_MISSING for a blank unit, VALUE_NOT_ALLOWED for one not in `allowed`; `where_said`
    tells the clerk where the cell is, e.g. （申报表第2行）."""
    where = {
        "sheet": sheet,
        "cell": cell,
        "row": int(cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
        "field": "unit",
        "field_label": "填报单位",
        "field_clause": clause,
    }
    if not unit:
        return [make_issue("REQUIRED_MISSING", condition=where_said, **where)]
    if unit not in allowed:
        return [make_issue("VALUE_NOT_ALLOWED", value=unit, expected="、".join(allowed), **where)]
    return []
