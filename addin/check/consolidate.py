"""Consolidate the divisions' application workbooks and the awards workbooks into the 兵团 summary,
against the fund-use plan: each file checked fully (the same `check_file` as `dtfund check`), then the
rules across files (schemas.consolidation_rules) and the budget of each plan line (schemas.plan)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from addin.check.awards import award_frame
from addin.check.identity import KIND_NAMES
from addin.check.pipeline import CheckResult, check_file
from addin.io.input_files import Skipped, search_inputs
from addin.ledger.settlement import enterprise_keys, figure_per_row, parts_of, to_pay_by_line
from schemas import consolidation_rules
from schemas.awards import award_list_lines, committed_by_source
from schemas.disbursement import HOLD_COLUMNS, PLACE, holds
from schemas.fields import amount_fields
from schemas.ledger_balance import PaidBefore, paid_under_other_codes, settle_frame
from schemas.money import ZERO, column_total
from schemas.plan import LineExecution, execution, with_payable
from schemas.plan_rules import budget_exceeded, paid_over_budget
from schemas.policy import Policy
from schemas.registry import Issue, implements, issue_sentences, make_issue
from schemas.submission import FIRST_REVISION, Submission, latest_revisions

ROW_COLUMNS = ("name", "uscc", "division", "industry", "provider", "level")


class ConsolidationError(Exception):
    """The consolidation cannot start (no input files, plan unreadable): the message says why."""


@dataclass
class Consolidation:
    """Every file checked; their application rows (`rows`) and award rows (`awards`) gathered with
    their amounts and whether each can be paid (schemas.disbursement.HOLD_COLUMNS); the execution of
    the plan, committed and payable; and the issues across files."""

    policy: Policy
    plan: CheckResult
    files: list[CheckResult]
    rows: pd.DataFrame
    execution: list[LineExecution]
    issues: list[Issue] = field(default_factory=list)  # across files and against the plan
    awards: pd.DataFrame = field(default_factory=lambda: award_frame([]))  # every awards workbook's rows
    figures: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # see summary_figures
    labels: dict[str, str] = field(default_factory=dict)  # each checked file's name in the summary
    replaced: list[CheckResult] = field(default_factory=list)  # older revisions, neither counted nor compared
    # a replaced file's label -> its replacement's (the files of a tie, joined by 、)
    replaced_by: dict[str, str] = field(default_factory=dict)
    twice: set[str] = field(default_factory=set)  # labels of files sharing a unit's highest revision
    paid: PaidBefore | None = None  # what the ledger paid before (consolidate --ledger); None: no ledger
    ledger: str | None = None  # the ledger consulted, as shown
    ledger_missing: bool = False  # its SQLite file does not exist yet: nothing was ever recorded in it
    settled: pd.DataFrame | None = field(default=None, repr=False, compare=False)  # see settlement()

    def status(self, result: CheckResult) -> str:
        """consolidated, replaced, submitted_twice (same revision: not counted), skipped or unreadable."""
        label = self.label(result)
        if label in self.replaced_by:
            return "replaced"
        if any(i.rule == "FILE_SKIPPED" for i in result.issues):
            return "skipped"
        if result.kind is None:
            return "unreadable"
        return "submitted_twice" if label in self.twice else "consolidated"

    def label(self, result: CheckResult) -> str:
        """How the summary names a checked file (see file_labels)."""
        return self.labels.get(result.file) or Path(result.file).name

    @property
    def all_issues(self) -> list[Issue]:
        located = []
        for result in (self.plan, *self.files):
            for issue in result.issues:
                issue.file = self.label(result)
                located.append(issue)
        return located + self.issues

    @property
    def not_summed(self) -> list[CheckResult]:
        """Files found that could not be checked, or that are no workbook to check (a newer revision's
        replacement aside): while there is one, the consolidation is incomplete."""
        return [r for r in self.files if r.kind is None]

    @property
    def complete(self) -> bool:
        return self.plan.kind == "plan" and not self.not_summed

    @property
    def errors(self) -> int:
        return sum(1 for i in self.all_issues if i.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.all_issues if i.severity == "warning")

    @property
    def valid(self) -> bool:
        return self.complete and self.errors == 0


def file_labels(files: list[str]) -> dict[str, str]:
    """How the summary names each file: its name; where files share a name (each division's
    申报表.xlsx in its own folder), its path from the folder they have in common, so that every row and
    issue stays with its own file and a duplicate across them is found."""
    paths = {file: Path(file).resolve() for file in files}
    by_name: dict[str, list[str]] = {}
    for file, path in paths.items():
        by_name.setdefault(path.name, []).append(file)
    labels = {}
    for name, same in by_name.items():
        common = Path(os.path.commonpath([paths[f].parent for f in same])) if len(same) > 1 else None
        for file in same:
            labels[file] = paths[file].relative_to(common).as_posix() if common else name
    return labels


def _rows_of(result: CheckResult, label: str) -> pd.DataFrame:
    """One file's rows: who, where, and every amount (with each award's parts by source)."""
    table = result.table
    frame = table.frame[list(ROW_COLUMNS)].copy()
    amounts = table.amounts
    parts = [c for c in amounts.columns if ":" in c]
    for column in ("eligible", "level_ok", "readable", *amount_fields(result.policy), *parts):
        frame[column] = amounts[column]
    frame["file"] = label
    frame["unit"] = result.unit
    frame["sheet"] = table.raw.sheet
    frame["row"] = frame.index
    frame["uscc_cell"] = [table.raw.cell("uscc", row) for row in frame.index]
    return frame.reset_index(drop=True)


def committed_by_award(rows: pd.DataFrame, awards: pd.DataFrame) -> dict[str, Decimal]:
    """Σ per `<award>:<source>`: every such column of the application rows, and the award sheets'
    amounts by kind and funding source."""
    committed = {c: column_total(rows[c]) for c in rows.columns if ":" in c}
    for kind, sheet in awards.groupby("kind", sort=False):
        for source, total in committed_by_source(sheet).items():
            committed[f"{kind}:{source}"] = total
    return committed


def issue_places(results: list[CheckResult], across: list[Issue], labels: dict[str, str]) -> pd.DataFrame:
    """Every issue of the checked files and of the rules across them, by where it stands: the file's
    label, the sheet and the Excel row (None for an issue of the file as a whole), and its rule."""
    records = [(labels[r.file], i.sheet, i.row, i.rule) for r in results for i in r.issues]
    records += [(i.file, i.sheet, i.row, i.rule) for i in across]
    return pd.DataFrame(records, columns=[*PLACE, "rule"])


def _awards_of(result: CheckResult, label: str) -> pd.DataFrame:
    frame = award_frame(result.awards or [])
    frame["file"] = label
    return frame


def consolidate(
    paths: Iterable[Path], plan_path: Path, policy: Policy, on_file: Callable[[Path], None] | None = None
) -> Consolidation:
    found, skipped = search_inputs(paths)
    left_out = [s for s in skipped if s.own_output]
    skipped = [s for s in skipped if not s.own_output]
    files = [f for f in found if f.resolve() != Path(plan_path).resolve()]
    if not files and not skipped:
        raise ConsolidationError(
            "没有找到要汇总的申报表（.xlsx）文件。请指定存放申报表的文件夹，或逐个列出 .xlsx 文件。"
        )
    plan = check_file(Path(plan_path), policy)
    if plan.kind != "plan":
        reason = (
            issue_sentences(plan.issues[0])
            if plan.kind is None
            else f"{Path(plan_path).name} 是{KIND_NAMES[plan.kind]}。请指定用 dtfund template plan 生成的计划表。"
        )
        raise ConsolidationError(f"无法使用资金使用计划表：{reason}")
    results = []
    for path in files:
        results.append(check_file(path, policy))
        if on_file:
            on_file(path)
    results += [_skipped(s, policy) for s in skipped if s.rule == "FILE_SKIPPED"]
    labels = file_labels([plan.file, *(r.file for r in results)])
    _refuse_plans(results, labels)
    decision = latest_revisions(
        [
            Submission(labels[r.file], r.template_kind, r.unit or "", r.revision or FIRST_REVISION, r.sha256)
            for r in results
            if r.template_kind in ("application", "awards")
        ]
    )
    replaced = [r for r in results if labels[r.file] in decision.replaced]
    results = [r for r in results if labels[r.file] not in decision.replaced]
    counted = set(decision.kept)
    readable = [r for r in results if r.kind == "application" and labels[r.file] in counted]
    frames = [_rows_of(r, labels[r.file]) for r in readable if r.table is not None and len(r.table.amounts)]
    rows = pd.concat(frames, ignore_index=True) if frames else _empty_rows(policy)
    award_frames = [
        _awards_of(r, labels[r.file]) for r in results if r.kind == "awards" and labels[r.file] in counted
    ]
    awards = pd.concat(award_frames, ignore_index=True) if award_frames else _awards_of_nothing()
    lines = execution(policy.plan, plan.plan, committed_by_award(rows, awards))
    issues = (
        consolidation_rules.application_issues(rows, policy)
        + consolidation_rules.award_issues(awards, policy)
        + budget_exceeded(lines, plan.plan, policy)
        + decision.issues
        + [_open_in_excel(s) for s in skipped if s.rule == "FILE_OPEN_IN_EXCEL"]
        + [_left_out(s) for s in left_out]
    )
    for issue in issues:
        if issue.rule == "BUDGET_EXCEEDED":
            issue.file = labels[plan.file]
    places = issue_places(results, issues, labels)
    rows, awards = rows.join(holds(rows, places)), awards.join(holds(awards, places))
    lines = with_payable(lines, committed_by_award(rows[rows["payable"]], awards[awards["payable"]]))
    return Consolidation(
        policy=policy,
        plan=plan,
        files=results,
        rows=rows,
        execution=lines,
        issues=issues,
        awards=awards,
        labels=labels,
        replaced=replaced,
        replaced_by=decision.replaced,
        twice={i.file for i in decision.issues if i.rule == "UNIT_SUBMITTED_TWICE"},
    )


def apply_ledger(c: Consolidation, paid: PaidBefore, where: str, missing: bool = False) -> None:
    """Count what the ledger (shown as `where`; `missing`: its file does not exist yet) paid before: a
    row whose enterprise it paid beyond what the row now commits is an error at the row, which holds
    it (LEDGER_TO_RECOVER), as is a row whose enterprise it paid under another credit code
    (LEDGER_PAID_UNDER_OTHER_CODE); a plan line and source that the ledger's payments and this list's
    payable amounts take beyond its budget is an error at the plan's cell (LEDGER_OVER_BUDGET)."""
    c.paid, c.ledger, c.ledger_missing, c.settled = paid, where, missing, None
    holding = (_recovery_issues(c, settlement(c)) if paid.by_key else []) + (
        _other_code_issues(c) if paid.by_name else []
    )
    if holding:
        c.issues += holding
        _hold_again(c)  # (the rows now held pay nothing: settled again)
    c.issues += _paid_over_budget(c, settlement(c))  # (a first batch too: nothing paid yet, this list alone)
    c.figures.clear()


def settlement(c: Consolidation) -> pd.DataFrame:
    """Every row's amount per plan line and source against what the ledger paid before (nothing
    without a ledger): schemas.ledger_balance. Worked out once for the rows' holds as they stand, for
    the ledger's checks and every report alike."""
    if c.settled is None:
        paid = c.paid or PaidBefore()
        c.settled = settle_frame(parts_of(c.rows, c.policy, paid), paid.by_key)
    return c.settled


def _recovery_issues(c: Consolidation, settled: pd.DataFrame) -> list[Issue]:
    count = len(c.rows)
    to_recover = pd.Series(figure_per_row(settled, "to_recover", count))
    paid = (
        pd.Series(figure_per_row(settled, "paid_before", count)) + to_recover
    )  # (parts_of: unknown amounts)
    return consolidation_rules.recovery_issues(c.rows, paid, to_recover, c.policy)


def _other_code_issues(c: Consolidation) -> list[Issue]:
    """Rows whose credit code the ledger never paid, while it paid their unit's enterprise of the same
    name under another code (a code corrected in a revision would be paid in full a second time)."""
    assert c.paid is not None
    keys, units, names = enterprise_keys(c.rows), c.rows["unit"].tolist(), c.rows["name"].tolist()
    others = [
        paid_under_other_codes(c.paid, key, unit or "", str(name or ""))
        for key, unit, name in zip(keys, units, names, strict=True)
    ]
    return consolidation_rules.paid_under_other_codes(c.rows, others, c.policy) if any(others) else []


def _hold_again(c: Consolidation) -> None:
    """The rows' holds and the plan's payable amounts, once issues were added."""
    rows = c.rows.drop(columns=list(HOLD_COLUMNS))
    c.rows = rows.join(holds(rows, issue_places(c.files, c.issues, c.labels)))
    c.settled = None
    payable = committed_by_award(c.rows[c.rows["payable"]], c.awards[c.awards["payable"]])
    c.execution = with_payable(c.execution, payable)


def _paid_over_budget(c: Consolidation, settled: pd.DataFrame) -> list[Issue]:
    """Each line and source (but those of the award lists, which the ledger does not record) with what
    the ledger paid on it and what this list can pay now."""
    assert c.paid is not None and c.plan.plan is not None
    to_pay = to_pay_by_line(settled)
    outside = award_list_lines(c.policy)
    lines = [
        replace(item, committed=c.paid.by_line.get(key, ZERO) + to_pay.get(key, ZERO))
        for item in c.execution
        if item.line.key not in outside
        for key in [(item.line.key, item.source)]
    ]
    issues = paid_over_budget(lines, c.plan.plan, c.policy)
    for issue in issues:
        issue.file = c.label(c.plan)
    return issues


@implements("OWN_OUTPUT_LEFT_OUT")
def _left_out(output: Skipped) -> Issue:
    """dtfund's own summary, written into a folder consolidated again: left out, with a note."""
    return make_issue("OWN_OUTPUT_LEFT_OUT", file=output.path.name, reason=output.reason)


@implements("FILE_SKIPPED")
def _skipped(skipped: Skipped, policy: Policy) -> CheckResult:
    """A file found in a folder and not consolidated: a result that could not be checked, with why."""
    issue = make_issue("FILE_SKIPPED", file=skipped.path.name, reason=skipped.reason, remedy=skipped.remedy)
    return CheckResult(file=str(skipped.path), sha256=None, template={}, policy=policy, issues=[issue])


@implements("FILE_OPEN_IN_EXCEL")
def _open_in_excel(lock: Skipped) -> Issue:
    """Excel's lock file beside a workbook: a warning naming the open workbook (consolidated as saved)."""
    return make_issue("FILE_OPEN_IN_EXCEL", file=lock.path.name, reason=lock.reason, remedy=lock.remedy)


def _refuse_plans(results: list[CheckResult], labels: dict[str, str]) -> None:
    """A second plan among the files is not an application: it cannot be checked as one."""
    for result in results:
        if result.kind == "plan":
            result.kind = None
            name = labels[result.file]
            result.issues = [
                make_issue(
                    "FILE_UNREADABLE",
                    file=name,
                    reason=f"{name} 是资金使用计划表，不是申报表。",
                    remedy="请用 --plan 指定计划表。",
                )
            ]


def _awards_of_nothing() -> pd.DataFrame:
    frame = award_frame([])
    frame["file"] = pd.Series(dtype=object)
    return frame


def _empty_rows(policy: Policy) -> pd.DataFrame:
    award_parts = [f"{line.id}:{source}" for line in policy.lines for source in policy.shares(line.split)]
    columns = [
        *ROW_COLUMNS,
        "eligible",
        "level_ok",
        "readable",
        *amount_fields(policy),
        *award_parts,
        "file",
        "unit",
        "sheet",
        "row",
        "uscc_cell",
    ]
    return pd.DataFrame(columns=columns)
