"""The examples of rules.yaml are true under the bundled policy: the 规则 sheet of every template and
`dtfund rules` show them as what a rule says, so an award's name, cap, count, pool and funding source, a
plan line's number and name, its budget and the clause must be the policy's.

The award and plan rules are run on the situation each example describes (the official plan, or one
award row, with the example's figures) and must say exactly the catalogue's sentence; the application
rules' examples are compared with the parameters they quote."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from addin import template_spec as spec
from addin.check.awards import check_award_sheet, raw_award_table
from addin.reports.catalogue import rule_catalogue
from schemas.awards import AwardKind, award_kinds, source_ids
from schemas.fields import application_fields, material_fields
from schemas.money import ZERO, format_ratio
from schemas.plan import BUDGET, LineExecution, PlanFigures, PlanLine
from schemas.plan_rules import budget_exceeded, plan_issues
from schemas.policy import Policy
from schemas.registry import load_registry
from schemas.submission import REVISION_LABEL, SUBMITTED_ON_LABEL
from tests.test_awards import winner

PLAN_SHEET = "计划表"
PLAN_COLUMNS = {BUDGET: "C", "central": "D", "bingtuan": "E", "division": "F"}
TOTAL_LABEL = "合计"


def example(rule_id: str) -> dict[str, Any]:
    return load_registry()[rule_id].example


def amount(text: Any) -> Decimal:
    """An example's figure as a number: "1,500,000.00" -> 1500000.00."""
    return Decimal(str(text).replace(",", ""))


def catalogue_message(policy: Policy, rule_id: str) -> str:
    return next(entry.message for entry in rule_catalogue(policy) if entry.id == rule_id)


def said(issues: list, rule_id: str) -> list[str]:
    return [issue.message for issue in issues if issue.rule == rule_id]


# --- the plan ----------------------------------------------------------------------------------------


def line_named(policy: Policy, name: str) -> PlanLine:
    lines = [line for line in policy.plan.lines if line.name == name]
    assert lines, f"“{name}” is not a line of the bundled plan: {[line.name for line in policy.plan.lines]}"
    return lines[0]


def source_named(policy: Policy, label: str) -> str:
    ids = source_ids(policy)
    assert label in ids, f"“{label}” is not a funding source of the policy: {list(ids)}"
    return ids[label]


def official_figures(policy: Policy) -> PlanFigures:
    """The plan as the annex publishes it: each line's budget the sum of its sources, totals as formulas."""
    lines = policy.plan.lines
    amounts = {line.key: dict(line.budget) for line in lines}
    stored = {
        line.key: sum((v for v in line.budget.values() if v is not None), ZERO)
        if any(v is not None for v in line.budget.values())
        else None
        for line in lines
    }
    first = spec.PLAN_FIRST_LINE_ROW
    return PlanFigures(
        sheet=PLAN_SHEET,
        amounts=amounts,
        stored_budget=stored,
        stored_totals={},
        rows={line.key: first + n for n, line in enumerate(lines)},
        total_row=first + len(lines),
        columns=PLAN_COLUMNS,
    )


def _row_sum(policy: Policy, figures: PlanFigures, shown: dict[str, Any]) -> None:
    """The 资金预算 of the example's line typed as the example's figure."""
    figures.stored_budget[line_named(policy, shown["field"]).key] = amount(shown["value"])


def _total(policy: Policy, figures: PlanFigures, shown: dict[str, Any]) -> None:
    """The 合计 of the example's source typed as the example's figure."""
    assert shown["field"] == TOTAL_LABEL
    source = source_named(policy, shown["what"].removeprefix("的"))
    figures.stored_totals[source] = amount(shown["value"])


def _central_share(policy: Policy, figures: PlanFigures, shown: dict[str, Any]) -> None:
    """Central money moved from the transformation line to another line that may use it, down to the
    example's figure."""
    line = line_named(policy, shown["field"])
    assert line.key == policy.plan.central_share_line
    moved = figures.amounts[line.key]["central"] - amount(shown["value"])
    other = next(
        o for o in policy.plan.lines if o.key != line.key and "central" in o.sources and o.budget["central"]
    )
    for key, change in ((line.key, -moved), (other.key, moved)):
        figures.amounts[key]["central"] += change
        figures.stored_budget[key] += change


def _source(policy: Policy, figures: PlanFigures, shown: dict[str, Any]) -> None:
    """The example's figure put on the example's source of its line, taken from a source it may use."""
    line = line_named(policy, shown["field"])
    wrong = source_named(policy, shown["source"])
    allowed = next(s for s in line.sources if figures.amounts[line.key][s])
    figures.amounts[line.key][wrong] += amount(shown["value"])
    figures.amounts[line.key][allowed] -= amount(shown["value"])


PLAN_SITUATIONS = {
    "PLAN_ROW_SUM_MISMATCH": _row_sum,
    "PLAN_TOTAL_MISMATCH": _total,
    "PLAN_CENTRAL_SHARE_BELOW_80": _central_share,
    "PLAN_SOURCE_NOT_ALLOWED": _source,
    "PLAN_UNIT_COST_MISMATCH": lambda policy, figures, shown: None,  # the official plan itself
}


@pytest.mark.parametrize("rule_id", list(PLAN_SITUATIONS))
def test_a_plan_rule_says_its_example_on_the_official_plan(rule_id: str, policy: Policy) -> None:
    figures = official_figures(policy)
    PLAN_SITUATIONS[rule_id](policy, figures, example(rule_id))
    assert catalogue_message(policy, rule_id) in said(plan_issues(figures, policy), rule_id)


def test_budget_exceeded_names_a_line_the_applications_count_against(policy: Policy) -> None:
    shown = example("BUDGET_EXCEEDED")
    line = line_named(policy, shown["field"])
    source = source_named(policy, shown["source"])
    assert line.awards and source in line.sources
    budget = line.budget[source] * policy.plan.to_yuan
    committed = [LineExecution(line=line, source=source, budget=budget, committed=amount(shown["value"]))]
    issues = budget_exceeded(committed, official_figures(policy), policy)
    assert said(issues, "BUDGET_EXCEEDED") == [catalogue_message(policy, "BUDGET_EXCEEDED")]


# --- the awards --------------------------------------------------------------------------------------


def kind_on(policy: Policy, sheet: str) -> AwardKind:
    kinds = {kind.sheet: kind for kind in award_kinds(policy)}
    assert sheet in kinds, f"“{sheet}” is not an award sheet of the policy: {list(kinds)}"
    return kinds[sheet]


def award_messages(policy: Policy, kind: AwardKind, rows: list[dict[str, Any]], rule_id: str) -> list[str]:
    return said(check_award_sheet(raw_award_table(kind, rows), kind, policy).issues, rule_id)


def test_the_over_cap_example_is_an_award_with_that_cap(policy: Policy) -> None:
    shown = example("AWARD_OVER_CAP")
    kind = kind_on(policy, shown["sheet_name"])
    assert kind.cap and not kind.rate, f"{kind.sheet} has no cap of its own amount"
    assert amount(shown["expected"]) == policy.value(kind.cap)
    rows = [winner(amount=float(amount(shown["value"])))]
    assert award_messages(policy, kind, rows, "AWARD_OVER_CAP") == [
        catalogue_message(policy, "AWARD_OVER_CAP")
    ]


def test_the_pool_example_is_an_award_paid_from_that_pool(policy: Policy) -> None:
    shown = example("AWARD_POOL_EXCEEDED")
    kind = kind_on(policy, shown["sheet_name"])
    assert kind.pool, f"{kind.sheet} has no pool"
    source = source_named(policy, shown["source"])
    assert source in policy.value(kind.pool) and source in policy.plan.line(kind.line).sources
    assert amount(shown["expected"]) == policy.value(kind.pool)[source]
    assert amount(shown["value"]) - amount(shown["expected"]) == amount(shown["excess"])
    rows = [winner(source=shown["source"], amount=float(amount(shown["value"])))]
    message = catalogue_message(policy, "AWARD_POOL_EXCEEDED")
    assert award_messages(policy, kind, rows, "AWARD_POOL_EXCEEDED") == [message]


def test_the_count_example_is_the_first_award_past_the_limit(policy: Policy) -> None:
    shown = example("AWARD_COUNT_EXCEEDED")
    kind = next(kind for kind in award_kinds(policy) if kind.count_limit)
    assert kind.sheet in load_registry()["AWARD_COUNT_EXCEEDED"].title
    assert shown["expected"] == policy.value(kind.count_limit) and shown["value"] == shown["expected"] + 1
    rows = [winner(n) for n in range(shown["value"])]
    message = catalogue_message(policy, "AWARD_COUNT_EXCEEDED")
    assert award_messages(policy, kind, rows, "AWARD_COUNT_EXCEEDED") == [message]


def test_the_duplicate_example_is_a_sheet_of_the_policy(policy: Policy) -> None:
    shown = example("AWARD_DUPLICATE")
    kind = kind_on(policy, shown["sheet_name"])
    rows = [winner(1, uscc=shown["value"]), winner(2), winner(3, uscc=shown["value"])]
    assert catalogue_message(policy, "AWARD_DUPLICATE") in award_messages(
        policy, kind, rows, "AWARD_DUPLICATE"
    )


def test_the_acceptance_and_carrier_examples_are_the_sheets_choices(policy: Policy) -> None:
    accepted = example("EXCLUDED_NOT_ACCEPTED")
    statuses = policy.value("acceptance_statuses")
    assert accepted["expected"] == statuses[0] and accepted["value"] in statuses[1:]
    carrier = next(kind for kind in award_kinds(policy) if kind.has("recognized"))
    shown = example("CARRIER_NOT_RECOGNISED")
    assert shown["field"] == carrier.field("recognized").label
    assert shown["value"] in carrier.field("recognized").choices


# --- the applications --------------------------------------------------------------------------------


def test_the_application_examples_quote_the_policys_parameters(policy: Policy) -> None:
    claim = example("CLAIM_OVER_CAP")
    cap = policy.value("subsidy_cap")[claim["level"]]
    assert amount(claim["cap"]) == cap and claim["rate"] == format_ratio(policy.rate("subsidy_rate"))
    assert amount(claim["value"]) > amount(claim["expected"]) and amount(claim["expected"]) <= cap
    for rule_id, limit in (
        ("FEE_SERVICE_OVER_20", "service_fee_limit"),
        ("FEE_INTEGRATION_OVER_6", "integration_fee_limit"),
    ):
        assert example(rule_id)["rate"] == format_ratio(policy.rate(limit)), rule_id
    window = example("CONTRACT_DATE_OUT_OF_WINDOW")
    start = policy.value("contract_window_start")
    assert window["expected"].startswith(start.isoformat()) and window["value"] < start.isoformat()
    below = example("LEVEL_BELOW_2")
    assert below["value"] in policy.value("levels") and below["value"] not in policy.eligible_levels
    assert example("EXCLUDED_NEGATIVE_RECORD")["value"] in policy.value("negative_records")
    materials = example("MATERIALS_MISSING")
    assert materials["expected"] == "、".join(f.label for f in material_fields(policy))
    units = policy.value("submitting_units")
    assert {example("UNIT_MISMATCH")["value"], example("UNIT_MISMATCH")["expected"]} <= set(units)
    assert {example(r)["unit"] for r in ("UNIT_SUBMITTED_TWICE", "FILE_REPLACED")} <= set(units)


def test_every_example_field_is_a_column_or_plan_line(policy: Policy) -> None:
    """An example's 字段 is a column of the application or an award sheet, a plan line, or a cell of the
    submission (版本号, 报送日期)."""
    labels = {f.label for f in application_fields(policy)}
    labels |= {f.label for kind in award_kinds(policy) for f in kind.fields}
    labels |= {line.name for line in policy.plan.lines} | {TOTAL_LABEL, REVISION_LABEL, SUBMITTED_ON_LABEL}
    unknown = {
        rule_id: spec_.example["field"]
        for rule_id, spec_ in load_registry().items()
        if "field" in spec_.example
        and spec_.example["field"] not in labels
        and rule_id != "DATE_OUT_OF_WINDOW"
    }
    # DATE_OUT_OF_WINDOW is for a policy with a date window besides the contract's; the 兵团 has none,
    # so its example cannot name one of its columns (and its templates leave the rule out).
    assert not unknown


# --- the template ------------------------------------------------------------------------------------


def test_the_template_examples_name_the_templates_cells(policy: Policy) -> None:
    letters = spec.column_letters(policy)
    by_label = {f.label: f.id for f in application_fields(policy)}
    misplaced = example("TEMPLATE_NAME_MISPLACED")
    letter = letters[misplaced["name"]]
    last_row = spec.FIRST_DATA_ROW + spec.DEFAULT_ROWS - 1
    assert by_label[misplaced["column"]] == misplaced["name"]
    assert misplaced["expected"] == f"{spec.DATA_SHEET}!{letter}{spec.FIRST_DATA_ROW}:{letter}{last_row}"
    assert misplaced["value"] != misplaced["expected"]
    changed = example("TEMPLATE_COLUMN_CHANGED")
    assert changed["header_cell"] == f"{letters[by_label[changed['expected']]]}{spec.HEADER_ROW}"
    assert changed["first_row"] == spec.FIRST_DATA_ROW and changed["sheet_name"] == spec.DATA_SHEET
