"""The pandera schema of an application table, built from the rule registry and the policy.

One Column per field the rules look at, one Check per (rule, field), named by the rule id. pandera
reports the failing (rule, field, row); the rule's details then give the figures for its message.
"""

from __future__ import annotations

import warnings
from collections import defaultdict

import pandas as pd

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pandera.pandas as pa

from schemas.application_rules import RULES, FieldRule, RuleContext
from schemas.fields import field_by_id
from schemas.registry import Issue, make_issue


def _check(rule: FieldRule, name: str, ctx: RuleContext) -> pa.Check:
    def passes(column: pd.Series) -> pd.Series:
        violated = rule.violated(ctx, name) & ~ctx.skipped(rule.needs)
        return ~violated.reindex(column.index, fill_value=False)

    return pa.Check(passes, name=rule.id, ignore_na=False)


def build_schema(ctx: RuleContext) -> pa.DataFrameSchema:
    """The schema for one table: every registered application rule on each of its fields."""
    checks: dict[str, list[pa.Check]] = defaultdict(list)
    for rule in RULES:
        for name in rule.fields(ctx.policy):
            checks[name].append(_check(rule, name, ctx))
    columns = {
        name: pa.Column(checks=field_checks, nullable=True, required=True)
        for name, field_checks in checks.items()
    }
    return pa.DataFrameSchema(columns, name="申报表", coerce=False)


def validate(ctx: RuleContext) -> list[Issue]:
    """Every rule's issues for the table, in the order of the rule list, then row, then field."""
    schema = build_schema(ctx)
    # The checks read the typed columns and the amounts from the context; pandera runs them and gathers
    # the failing rows. So it is handed only the rows under the columns' names: no copy of the table,
    # and no scan of its cells for blanks before every check.
    rows = pd.DataFrame(False, index=ctx.frame.index, columns=list(schema.columns))
    try:
        schema.validate(rows, lazy=True, inplace=True)
        return []
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    broken = failures[failures["index"].isna()]
    if not broken.empty:
        raise RuntimeError(f"a rule check failed to run: {broken.to_dict('records')}")
    by_rule = {rule.id: rule for rule in RULES}
    issues: list[Issue] = []
    for (rule_id, name), group in failures.groupby(["check", "column"], sort=False):
        rule = by_rule[rule_id]
        rows = pd.Index(sorted(int(i) for i in group["index"].unique()))
        issues.extend(_issues(rule, name, rows, ctx))
    order = {rule.id: n for n, rule in enumerate(RULES)}
    issues.sort(key=lambda i: (i.row or 0, order[i.rule], i.field or ""))
    return issues


def _issues(rule: FieldRule, name: str, rows: pd.Index, ctx: RuleContext) -> list[Issue]:
    spec = field_by_id()[name]
    details = {key: _per_row(values, len(rows)) for key, values in rule.details(ctx, name, rows).items()}
    found = []
    for n, row in enumerate(rows):
        context = {key: values[n] for key, values in details.items()}
        value = context.pop("value", None)
        expected = context.pop("expected", None)
        found.append(
            make_issue(
                rule.id,
                row=int(row),
                field=name,
                field_label=spec.label,
                field_clause=spec.clause,
                value=value,
                expected=expected,
                **context,
            )
        )
    return found


def _per_row(values: object, count: int) -> list:
    """A detail as one value per violating row: a column or list as it is, a single value repeated."""
    if isinstance(values, pd.Series):
        return values.tolist()
    if isinstance(values, list):
        return values
    return [values] * count
