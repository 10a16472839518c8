"""A submission's 版本号 and 报送日期 cells, and which of the workbooks a unit submitted more than once
is consolidated: the one of highest revision; two of the same revision are an error until resolved."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from schemas.registry import Issue, implements, make_issue
from schemas.text import number_in_text

FIRST_REVISION = 1
LAST_REVISION = 9999  # no unit resubmits ten thousand times: a larger 版本号 is a typing slip
REVISION_LABEL = "版本号"
SUBMITTED_ON_LABEL = "报送日期"
SUBMISSION_CLAUSE = "第十一条（一）3"


@dataclass(frozen=True)
class Submission:
    """One checked workbook of a consolidation: its file (as the summary names it), kind, unit, revision."""

    file: str
    kind: str
    unit: str
    revision: int
    sha256: str | None = None  # its content's digest: two files with the same one are copies


@dataclass(frozen=True)
class Decision:
    """Which submissions are consolidated; each replaced one with the file replacing it; the issues."""

    kept: list[str]
    replaced: dict[str, str]
    issues: list[Issue]


def _where(sheet: str, cell: str, label: str) -> dict[str, Any]:
    return {
        "sheet": sheet,
        "cell": cell,
        "row": int(cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")),
        "field": None,
        "field_label": label,
        "field_clause": SUBMISSION_CLAUSE,
    }


def whole_number(value: Any) -> int | None:
    """A cell's value as a whole number from 1 to LAST_REVISION (1, 1.0; text as an amount's text is
    read: "2", full-width "２"), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = number_in_text(value)
    if isinstance(value, float) and value == value and abs(value) < 2**53:
        value = float(f"{value:.15g}")  # as Excel shows it: 2.0000000000000004 (=0.1*20 and the like) is 2
    if (
        isinstance(value, int | float | Decimal)
        and FIRST_REVISION <= value <= LAST_REVISION
        and value == int(value)
    ):
        return int(value)
    return None


@implements("REVISION_INVALID", "REVISION_MISSING", "REVISION_STORED_AS_TEXT")
def revision_of(value: Any, present: bool, sheet: str, cell: str) -> tuple[int, list[Issue]]:
    """The workbook's revision and its issues: a template without the cell (made before 版本号 existed)
    counts as revision 1 with a warning; a blank, non-numeric, non-whole or out-of-range one is an error;
    a whole number written as text ("2", full-width "２") is read, with a warning, as a money cell's
    text is read and reported."""
    if not present:
        return FIRST_REVISION, [
            make_issue(
                "REVISION_MISSING",
                sheet=sheet,
                sheet_name=sheet,
                value="旧版模板，没有定义名称 DTFUND_REVISION",
                expected=FIRST_REVISION,
            )
        ]
    revision = whole_number(value)
    if revision is None:
        shown = "空白" if value is None or value == "" else f"{value:.15g}" if isinstance(value, float) else value
        return FIRST_REVISION, [
            make_issue(
                "REVISION_INVALID",
                value=shown,
                expected=f"{FIRST_REVISION} 至 {LAST_REVISION} 的整数",
                **_where(sheet, cell, REVISION_LABEL),
            )
        ]
    if isinstance(value, str):
        return revision, [
            make_issue(
                "REVISION_STORED_AS_TEXT",
                value=value,
                expected=revision,
                **_where(sheet, cell, REVISION_LABEL),
            )
        ]
    return revision, []


@implements("SUBMITTED_ON_INVALID")
def submitted_on_issues(value: Any, present: bool, sheet: str, cell: str) -> list[Issue]:
    """A 报送日期 that is filled but not a date is an error; a blank one is allowed."""
    if not present or value is None or value == "" or isinstance(value, dt.date):
        return []
    return [
        make_issue(
            "SUBMITTED_ON_INVALID",
            value=value,
            expected="日期",  # the fix gives the format
            **_where(sheet, cell, SUBMITTED_ON_LABEL),
        )
    ]


@implements("FILE_REPLACED", "UNIT_SUBMITTED_TWICE")
def latest_revisions(submissions: list[Submission]) -> Decision:
    """Per (kind, unit), the submission of highest revision is kept and the others are replaced by it;
    two or more sharing the highest revision are an error and none of them is kept. A blank unit is
    no unit: its workbooks are all kept (their own check reports the blank unit)."""
    groups: dict[tuple[str, str], list[Submission]] = {}
    for submission in submissions:
        key = (
            (submission.kind, submission.unit)
            if submission.unit
            else (submission.kind, f"\0{submission.file}")
        )
        groups.setdefault(key, []).append(submission)
    kept: list[str] = []
    replaced: dict[str, str] = {}
    issues: list[Issue] = []
    for group in groups.values():
        top = max(s.revision for s in group)
        latest = [s for s in group if s.revision == top]
        older = [s for s in group if s.revision < top]
        if len(latest) == 1:
            kept.append(latest[0].file)
            for s in older:
                replaced[s.file] = latest[0].file
                issues.append(_replaced(s, latest[0]))
            continue
        issues.extend(_twice(s, latest) for s in latest)
        for s in older:  # newer than these, though not consolidated either: every one of them is named
            replaced[s.file] = "、".join(newer.file for newer in latest)
            issues.append(_replaced(s, latest[0], replaced[s.file]))
    order = {s.file: n for n, s in enumerate(submissions)}
    return Decision(sorted(kept, key=order.__getitem__), replaced, issues)


def _replaced(old: Submission, new: Submission, named: str | None = None) -> Issue:
    """`old` replaced by `new`, or by the files `named` sharing `new`'s revision."""
    return make_issue(
        "FILE_REPLACED",
        file=old.file,
        value=old.revision,
        expected=new.revision,
        unit=old.unit,
        replaced_by=named or new.file,
    )


# Why two workbooks of a unit sharing its highest revision are not consolidated (UNIT_SUBMITTED_TWICE),
# and what to do.
SAME_CONTENT = "，且内容完全相同（是同一文件的副本）"
UNDECIDED = "，无法判断哪一份是最新的"
DELETE_COPY = "删除多余的副本，只保留一份，然后重新汇总。"
KEEP_LATEST = "只保留最新的一份，或把最新一份的“版本号”改为更大的数字后重新汇总。"


def _twice(one: Submission, same: list[Submission]) -> Issue:
    others = [s for s in same if s.file != one.file]
    copies = one.sha256 is not None and all(s.sha256 == one.sha256 for s in others)
    return make_issue(
        "UNIT_SUBMITTED_TWICE",
        file=one.file,
        value=one.revision,
        unit=one.unit,
        others="、".join(s.file for s in others),
        why=SAME_CONTENT if copies else UNDECIDED,
        remedy=DELETE_COPY if copies else KEEP_LATEST,
    )
