"""The 填报单位 cell (B2) of the application and awards templates: required, one of the allowed units."""

from __future__ import annotations

from collections.abc import Sequence

from schemas.registry import Issue, make_issue

UNIT_CELL = "B2"


def unit_cell_issues(
    unit: str | None, allowed: Sequence[str], sheet: str, clause: str, where_said: str
) -> list[Issue]:
    """REQUIRED_MISSING for a blank unit, VALUE_NOT_ALLOWED for one not in `allowed`; `where_said`
    tells the clerk where the cell is, e.g. （申报表第2行）."""
    where = {
        "sheet": sheet,
        "cell": UNIT_CELL,
        "row": 2,
        "field": "unit",
        "field_label": "填报单位",
        "field_clause": clause,
    }
    if not unit:
        return [make_issue("REQUIRED_MISSING", condition=where_said, **where)]
    if unit not in allowed:
        return [make_issue("VALUE_NOT_ALLOWED", value=unit, expected="、".join(allowed), **where)]
    return []
