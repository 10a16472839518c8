"""Self-contained HTML reports (jinja2, autoescaped; no external assets, no JavaScript), printable on A4:
what was checked under which rules, the verdict, the totals, and the issues grouped by rule."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from addin.beijing_time import beijing_timestamp, shown_time
from addin.check.consolidate import Consolidation
from addin.check.diff import KIND_NAMES, Diff
from addin.check.pipeline import CheckResult, held_rows, row_amounts, totals
from addin.check.plan import plan_totals
from addin.io.input_files import summary_html_title
from addin.reports.catalogue import SEVERITY_LABELS
from addin.reports.check_report import enterprise_counts
from addin.reports.consolidation_report import status_text
from addin.reports.diff import (
    BLANK,
    diff_document,
    money_fields,
    order_notes,
    shown_amount,
    signed,
    summary_line,
    version_lines,
)
from addin.reports.labels import NOTHING_TO_PAY, held_reasons_by_row, incomplete, part_of_total
from addin.reports.ledger_columns import ledger_line
from addin.reports.summary_figures import (
    disbursement_overview,
    division_summary,
    execution_records,
    file_counts,
    source_execution,
)
from schemas.calculation import award_labels
from schemas.disbursement import on_disbursement_list
from schemas.fields import part_fields
from schemas.money import format_yuan
from schemas.registry import Issue

# The chart's layout in pixels: bars start at `left` (the sources' names before it) and leave
# `value_room` for the amount written after the longest.
CHART = {"width": 700, "left": 110, "top": 48, "bar": 16, "gap": 3, "group_gap": 14, "value_room": 120}
_BRACKETED_RULE_ID = re.compile(r"（[A-Z][A-Z0-9_]*）")
PLAN_COLOR, COMMITTED_COLOR, PAYABLE_COLOR = "#4472c4", "#c0504d", "#9bbb59"
BAR_KINDS = (
    ("budget", PLAN_COLOR, "计划"),
    ("committed", COMMITTED_COLOR, "已承诺"),
    ("payable", PAYABLE_COLOR, "可拨付"),
)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("addin.reports", "html_templates"),
        autoescape=select_autoescape(["j2", "html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _now() -> str:
    return shown_time(beijing_timestamp())


def issue_groups(issues: list[Issue]) -> list[dict[str, Any]]:
    """Issues grouped by rule, errors first, in order of first appearance."""
    groups: OrderedDict[str, list[Issue]] = OrderedDict()
    for issue in sorted(issues, key=lambda i: i.severity != "error"):
        groups.setdefault(issue.rule, []).append(issue)
    return [
        {
            "rule": rule,
            "title": found[0].title,
            "severity": found[0].severity,
            "severity_label": SEVERITY_LABELS[found[0].severity],
            "fix": _common_fix(found),
            "fix_per_issue": _common_fix(found) is None,
            "count": len(found),
            "issues": found,
        }
        for rule, found in groups.items()
    ]


def _common_fix(issues: list[Issue]) -> str | None:
    """The fix every issue of a group shares ("" for none); None when they differ: then each issue's
    own fix is shown on its own line, never run together."""
    fixes = list(dict.fromkeys(i.fix or "" for i in issues))
    return fixes[0] if len(fixes) == 1 else None


def _enterprise_rows(result: CheckResult) -> list[dict[str, Any]]:
    """Each enterprise row of an application: where, who, its amounts, and its payment as the terminal,
    the 报送表 and the 拨付清单 decide it: `decision` "payable", "held" (`held_by`: the rules holding it,
    worded as the 拨付清单 words them) or "nothing" (payable but 0: the 拨付清单 leaves it out)."""
    if result.table is None or not len(result.table.amounts):
        return []
    held = held_rows(result)
    payable = held["payable"].astype(bool).tolist()
    listed = on_disbursement_list(held["payable"], result.table.amounts["total_award"]).tolist()
    reasons = held_reasons_by_row(held["held_by_row"].tolist(), held["held_by_file"].tolist())
    shown: dict[tuple[str, ...], list[Markup]] = {}  # each distinct set of reasons marked up once
    labels = award_labels(result.policy)
    yuan = _yuan_of_texts()
    records = []
    for record, can_pay, on_list, why in zip(
        row_amounts(result.table), payable, listed, reasons, strict=True
    ):
        if why not in shown:
            shown[why] = [_breakable(reason) for reason in why]
        records.append(
            {
                "row": record["row"],
                "name": record["name"],
                "uscc": record["uscc"],
                "amounts": [yuan(record["amounts"][name]) for name in labels],
                "decision": "held" if not can_pay else "payable" if on_list else "nothing",
                "held_by": shown[why],
            }
        )
    return records


def _yuan_of_texts() -> Callable[[str], str]:
    """format_yuan of a two-place amount text ("1234.50" -> "1,234.50"), each distinct text once (a
    column repeats its zeros, caps and fixed awards)."""
    shown: dict[str, str] = {}

    def yuan(text: str) -> str:
        if text not in shown:
            shown[text] = format_yuan(Decimal(text))
        return shown[text]

    return yuan


def _breakable(text: str) -> Markup:
    """The text, escaped, each bracketed rule id in it kept on one line where it fits (span.rule-id);
    where it does not, such as CONTRACT_DATE_OUT_OF_WINDOW in a narrow printed column, it breaks after
    an underscore, never inside a word."""
    pieces, at = [], 0
    for found in _BRACKETED_RULE_ID.finditer(text):
        rule_id = Markup("_<wbr>").join(found.group().split("_"))
        pieces += [
            escape(text[at : found.start()]),
            Markup('<span class="rule-id">{}</span>').format(rule_id),
        ]
        at = found.end()
    return Markup("").join([*pieces, escape(text[at:])])


def _policy(result_policy) -> dict[str, str]:
    return {"id": result_policy.id, "version": result_policy.version, "title": result_policy.title}


def check_report(result: CheckResult) -> str:
    policy = result.policy
    money_rows: list[tuple[str, str]] = []
    unit = "元"
    counts: list[tuple[str, str]] = []
    if result.table is not None:
        figures = totals(result.table, policy)
        labels = award_labels(policy)
        applied, eligible, held = enterprise_counts(result)
        counts = [
            ("申报企业数 / 符合条件", f"{applied} / {eligible}"),
            ("其中暂缓拨付（有错误，改正前不予拨付）", held),
        ]
        money_rows = [
            (label, format_yuan(Decimal(figures["amounts"][name]))) for name, label in labels.items()
        ]
        money_rows += [
            (part_of_total(policy.funding_sources[s]), format_yuan(Decimal(a)))
            for s, a in figures["by_source"].items()
        ]
    elif result.plan is not None:
        figures = plan_totals(result.plan, policy)
        unit = figures["unit"]
        money_rows = [(policy.funding_sources[s], f"{Decimal(a):,}") for s, a in figures["by_source"].items()]
        money_rows.append(("合计", f"{Decimal(figures['budget']):,}"))
    elif result.awards is not None:
        money_rows = [(sheet.kind.sheet, format_yuan(sheet.total)) for sheet in result.awards]
        money_rows += [
            (f"其中 {sheet.kind.sheet}·{policy.funding_sources[s]}", format_yuan(v))
            for sheet in result.awards
            for s, v in sheet.by_source().items()
        ]
    titles = {"plan": "资金使用计划表校验报告", "awards": "奖励与补贴名单校验报告"}
    title = titles.get(result.kind or "", "专项资金申报表校验报告")
    return (
        _environment()
        .get_template("check.html.j2")
        .render(
            title=title,
            valid=result.valid,
            counts={"error": result.errors, "warning": result.warnings},
            file_name=Path(result.file).name,
            sha256=result.sha256,
            template=result.template,
            policy=_policy(policy),
            unit=result.unit,
            checked_at=shown_time(result.checked_at),
            generated_at=_now(),
            totals={"unit": unit, "rows": money_rows} if money_rows else None,
            enterprise_counts=counts,
            enterprises=_enterprise_rows(result),
            amount_labels=list(award_labels(policy).values()),
            nothing_to_pay=NOTHING_TO_PAY,
            groups=issue_groups(result.issues),
        )
    )


def _chart(c: Consolidation) -> dict[str, Any]:
    """Horizontal bars, per funding source one each for plan, committed and payable, each with its
    amount at its end (so no amount is written over another)."""
    per_source = source_execution(c)
    largest = max([max(v[kind] for kind, _, _ in BAR_KINDS) for v in per_source.values()] + [Decimal(1)])
    scale = Decimal(CHART["width"] - CHART["left"] - CHART["value_room"]) / largest
    bars, labels = [], []
    y = CHART["top"]
    for source, values in per_source.items():
        first = y
        for kind, color, label in BAR_KINDS:
            length = float(values[kind] * scale)
            bars.append(
                {
                    "y": y,
                    "w": length,
                    "color": color,
                    "value": format_yuan(values[kind]),
                    "title": f"{c.policy.funding_sources[source]} {label}",
                }
            )
            y += CHART["bar"] + CHART["gap"]
        labels.append({"y": (first + y) / 2, "text": c.policy.funding_sources[source]})
        y += CHART["group_gap"]
    legend = [{"color": color, "text": label} for _, color, label in BAR_KINDS]
    return {**CHART, "height": y, "bars": bars, "labels": labels, "legend": legend}


def _disbursement(c: Consolidation) -> dict[str, Any]:
    """可拨付 and 暂缓拨付 side by side: enterprises, each source and the total, as the clerk reads them."""
    overview = disbursement_overview(c)
    amounts = [(c.policy.funding_sources[s], f) for s, f in part_fields(c.policy).items()] + [
        ("合计", "total")
    ]
    rows = [{"label": "企业数", "values": [line["enterprises"] for line in overview]}]
    rows += [{"label": label, "values": [format_yuan(line[f]) for line in overview]} for label, f in amounts]
    return {"columns": [line["label"] for line in overview], "rows": rows}


def consolidation_report(c: Consolidation) -> str:
    sources = list(c.policy.funding_sources)
    divisions = [
        {
            "division": d["division"],
            "enterprises": d["enterprises"],
            "eligible": d["eligible"],
            "sources": [format_yuan(d["sources"][s]) for s in sources],
            "total": format_yuan(d["awards"]["total_award"]),
        }
        for d in division_summary(c)
    ]
    execution = [
        {
            "line": e["line"],
            "source": c.policy.funding_sources[e["source"]],
            "budget": format_yuan(e["budget"]),
            "committed": "—" if e["committed"] is None else format_yuan(e["committed"]),
            "payable": "—" if e["payable"] is None else format_yuan(e["payable"]),
            "remaining": "—" if e["remaining"] is None else format_yuan(e["remaining"]),
            "rate": "—" if e["rate"] is None else f"{e['rate']:.2%}",
            "over": e["remaining"] is not None and e["remaining"] < 0,
        }
        for e in execution_records(c)
        if e["committed"] is not None
    ]
    files = [
        {
            "name": c.label(r),
            "unit": r.unit,
            "revision": r.revision,
            "status": status_text(c, r),
            "alarm": c.status(r) not in ("consolidated", "replaced"),
            "valid": r.valid,
            "errors": r.errors,
            "warnings": r.warnings,
            "sha256": r.sha256,
        }
        for r in (*c.files, *c.replaced)
    ]
    return (
        _environment()
        .get_template("consolidation.html.j2")
        .render(
            title=summary_html_title(c.policy.fund),
            valid=c.valid,
            complete=c.complete,
            incomplete=incomplete(len(c.not_summed)) if c.not_summed else "",
            counts={"error": c.errors, "warning": c.warnings},
            files=files,
            file_counts=file_counts(c).sentence(),
            plan_name=c.label(c.plan),
            plan_sha256=c.plan.sha256,
            policy=_policy(c.policy),
            generated_at=_now(),
            divisions=divisions,
            source_labels=[part_of_total(c.policy.funding_sources[s]) for s in sources],
            chart=_chart(c),
            execution=execution,
            disbursement=_disbursement(c),
            ledger=ledger_line(c) if c.paid is not None else "",
            has_awards=not c.awards.empty,
            groups=issue_groups(c.all_issues),
        )
    )


def diff_report(diff: Diff) -> str:
    """A self-contained HTML report of the comparison (autoescaped)."""
    sources = diff.new.policy.funding_sources
    totals = []
    for source, name in sources.items():
        before, after = diff.before.get(source, Decimal(0)), diff.after.get(source, Decimal(0))
        totals.append((name, format_yuan(before), format_yuan(after), signed(after - before)))
    before, after = sum(diff.before.values(), Decimal(0)), sum(diff.after.values(), Decimal(0))
    totals.append(("合计", format_yuan(before), format_yuan(after), signed(after - before)))
    document = diff_document(diff)
    return (
        _environment()
        .get_template("diff.html.j2")
        .render(
            title=f"{KIND_NAMES[diff.new.kind or '']}变化对比",
            old_file=Path(diff.old.file).name,
            new_file=Path(diff.new.file).name,
            unit=diff.new.unit or BLANK,
            old_unit=(diff.old.unit or BLANK) if diff.unit_changed else None,
            summary=summary_line(diff),
            versions=version_lines(diff),
            notes=order_notes(diff),
            same=diff.same,
            added=document["added"],
            removed=document["removed"],
            changed=document["changed"],
            totals=totals,
            generated_at=_now(),
            policy=_policy(diff.new.policy),
            blank=BLANK,
            money=money_fields(diff),
            amount=shown_amount,
        )
    )
