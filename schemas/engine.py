"""The rule engine: one pandera schema per table declares its columns (type, whether blank is allowed,
allowed values or range) and carries every rule as a check named by its rule id; validating the table
itself gives the failing (rule, field, row), which become issues placed at their cells. Applications,
award sheets, the plan and the consolidation run their rules here."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pandera.pandas as pa

from schemas import cell_rules
from schemas.fields import Field
from schemas.policy import Policy
from schemas.registry import Issue, implements, make_issue
from schemas.table import Table

# pandera registers its pandas backends (importing its data-synthesis strategies, and hypothesis where
# it is installed) at the first validation. Done as the engine is imported, that is while the CLI's
# workbook is being read ahead, not in a check's last step, which waits for it (0.07 s).
_register_backends = getattr(pa.DataFrameSchema, "register_default_backends", None)
if _register_backends is not None:
    _register_backends(pd.DataFrame)

Violated = Callable[[Table, pd.Series], pd.Series]  # (the table, the column pandera hands) -> broken rows
Details = Callable[[Table, str, pd.Index], dict[str, Any]]


def value_only(table: Table, name: str, rows: pd.Index) -> dict[str, Any]:
    return {"value": table.frame.loc[rows, name]}


@dataclass(frozen=True)
class Rule:
    """A rule checked on each of its fields; an issue is blamed on the field where it is found. Rows
    where a cell in `needs` failed to convert are skipped (the conversion issue is the one to fix)."""

    id: str
    fields: Callable[[Policy], Sequence[str]]
    violated: Violated
    details: Details = value_only
    needs: tuple[str, ...] = field(default=())


def only(*names: str) -> Callable[[Policy], list[str]]:
    return lambda policy: list(names)


# --- what each column is, declared from its field ---------------------------------------------------

REQUIRED = "REQUIRED_MISSING"  # pandera's not_nullable failures on a column that may not be blank
DTYPES = {
    "money": object,
    "ratio": object,
    "date": pa.DateTime,
    "text": object,
    "uscc": object,
    "choice": object,
}


DECLARED = ("REQUIRED_MISSING", "VALUE_NOT_ALLOWED", "AMOUNT_NEGATIVE", "USCC_INVALID")


@implements(*DECLARED)
def _declared_checks(spec: Field, policy: Policy) -> list[pa.Check]:
    """The cell rules a field's kind declares: its allowed values, a range, a valid credit code."""
    if spec.computed:
        return []
    if spec.kind == "choice":
        allowed = spec.allowed(policy)
        return [pa.Check.isin(allowed, name="VALUE_NOT_ALLOWED", description="可选值：" + "、".join(allowed))]
    if spec.kind == "money":
        return [pa.Check.ge(0, name="AMOUNT_NEGATIVE", description="≥ 0")]
    if spec.kind == "uscc":
        return [
            pa.Check(
                lambda codes: ~cell_rules.invalid_codes(codes),
                name="USCC_INVALID",
                description="18位统一社会信用代码（GB 32100-2015）",
                ignore_na=False,
            )
        ]
    return []


# Declared checks whose failing cells are found directly, as pandera finds them (tested to agree), without
# its work per call: a money column's ≥ 0 is nine calls of pandas' comparison and blank handling a table.
FOUND_DIRECTLY: dict[str, Callable[[pd.Series], pd.Series]] = {"AMOUNT_NEGATIVE": cell_rules.below_zero}


def _breaks(check: pa.Check, values: pd.Series) -> pd.Series:
    """The cells that fail a declared check, as pandera finds them (a blank passes a check that
    ignores blanks)."""
    found = FOUND_DIRECTLY.get(check.name)
    return found(values) if found is not None else pandera_breaks(check, values)


def pandera_breaks(check: pa.Check, values: pd.Series) -> pd.Series:
    """The cells that fail a check, run by pandera."""
    passed = check(values).check_output
    return ~passed.reindex(values.index, fill_value=True).astype(bool)


def declared_breaks(table: Table) -> dict[tuple[str, str], pd.Series]:
    """Per input column and check its field declares (by the check's rule id): the cells that break
    it, found once per table for pandera's pass and for the rules that skip such cells alike."""

    def found() -> dict[tuple[str, str], pd.Series]:
        breaks = {}
        for spec in table.fields:
            if spec.computed or spec.id not in table.frame.columns:
                continue
            for check in _declared_checks(spec, table.policy):
                breaks[(spec.id, check.name)] = _breaks(check, table.frame[spec.id])
        return breaks

    return table.once("declared_breaks", found)


def invalid_cells(table: Table) -> pd.DataFrame:
    """Per input column, the cells that break a rule their column declares (a blank where one may not
    be blank, a value not allowed, an amount below zero): the rules that read such a cell skip its row,
    as they skip a cell that failed to convert (its own issue is the one to fix)."""

    def invalid() -> pd.DataFrame:
        breaks = declared_breaks(table)
        columns = {}
        for spec in table.fields:
            if spec.computed or spec.id not in table.frame.columns:
                continue
            values = table.frame[spec.id]
            broken = values.isna() if spec.required == "always" else pd.Series(False, index=values.index)
            for check in _declared_checks(spec, table.policy):
                broken = broken | breaks[(spec.id, check.name)]
            columns[spec.id] = broken.astype(bool)
        return pd.DataFrame(columns, index=table.frame.index)

    return table.once("invalid_cells", invalid)


def _declared_details(table: Table, rule_id: str, name: str, rows: pd.Index) -> dict[str, Any]:
    values = table.frame.loc[rows, name]
    if rule_id == REQUIRED:
        return {"value": None, "condition": ""}
    if rule_id == "VALUE_NOT_ALLOWED":
        return {"value": values, "expected": "、".join(_field(table, name).allowed(table.policy))}
    if rule_id == "AMOUNT_NEGATIVE":
        return {"value": values, "expected": "≥ 0"}
    return {"value": values, "reason": cell_rules.code_problems(values), "expected": "18位有效代码"}


def invalid_rows(table: Table, needs: Sequence[str]) -> pd.Series:
    """Rows where a cell the rule needs breaks its column's declared rules."""
    cells = invalid_cells(table)
    present = [name for name in needs if name in cells.columns]
    return cells[present].any(axis=1) if present else pd.Series(False, index=table.frame.index)


def _rule_check(rule: Rule, table: Table | None) -> pa.Check:
    def passes(column: pd.Series) -> pd.Series:
        assert table is not None, "a schema built for display is not run"
        broken = rule.violated(table, column) & ~table.skipped(rule.needs) & ~invalid_rows(table, rule.needs)
        return ~broken.reindex(column.index, fill_value=False)

    return pa.Check(passes, name=rule.id, ignore_na=False)


def _declared_check(check: pa.Check, column: str, table: Table | None) -> pa.Check:
    """A declared check as pandera runs it on a table: the cells declared_breaks found (the same
    cells the check itself finds; without a table, the check as declared, for display)."""
    if table is None:
        return check

    def passes(values: pd.Series) -> pd.Series:
        return ~declared_breaks(table)[(column, check.name)].reindex(values.index, fill_value=False)

    return pa.Check(passes, name=check.name, description=check.description, ignore_na=False)


def _column_checks(
    fields: Sequence[Field], rules: Sequence[Rule], policy: Policy, table: Table | None
) -> dict[str, list[tuple[pa.Check, Rule | None]]]:
    """Per column, its checks in order, each with its rule (None for a check its field declares)."""
    checks: dict[str, list[tuple[pa.Check, Rule | None]]] = {
        f.id: [(_declared_check(check, f.id, table), None) for check in _declared_checks(f, policy)]
        for f in fields
    }
    for rule in rules:
        for field_id in rule.fields(policy):
            checks.setdefault(field_id, []).append((_rule_check(rule, table), rule))
    return checks


def build_schema(
    name: str, fields: Sequence[Field], rules: Sequence[Rule], policy: Policy, table: Table | None = None
) -> pa.DataFrameSchema:
    """The schema of a table: every column declared from its field, the rules as its checks. Built
    without a table it only describes (for `dtfund rules` and the docs)."""
    return _schema(name, fields, _column_checks(fields, rules, policy, table))


def _schema(
    name: str, fields: Sequence[Field], checks: dict[str, list[tuple[pa.Check, Rule | None]]]
) -> pa.DataFrameSchema:
    by_id = {f.id: f for f in fields}
    columns = {}
    for field_id, column_checks in checks.items():
        spec = by_id.get(field_id)
        columns[field_id] = pa.Column(
            DTYPES[spec.kind] if spec else None,
            checks=[check for check, _ in column_checks],
            nullable=spec is None or spec.required != "always",
            required=spec is not None,
            title=spec.label if spec else field_id,
            description=spec.clause if spec else None,
        )
    return pa.DataFrameSchema(columns, name=name, coerce=False)


# --- running the rules ------------------------------------------------------------------------------


def run_rules(
    rules: Sequence[Rule], table: Table, name: str = "", context: dict[str, Any] | None = None
) -> list[Issue]:
    """Every rule's issues for a table (declared cell rules first, then `rules` in their order; then by
    row and field), placed at their cells when the table knows them. `context`: extra figures for every
    issue's message (e.g. the sheet's name)."""
    checks = _column_checks(table.fields, rules, table.policy, table)
    # Validated in place: pandera's deep copy of the table is not needed (the schema coerces and adds
    # nothing) and was 60 MB of the peak at 100,000 rows. A frame of its own all the same (sharing the
    # columns), which pandera registers its schema on and which goes with this call.
    sheet = table.as_sheet()
    sheet = sheet.copy(deep=False) if sheet is table.frame else sheet
    try:
        _schema(name or table.sheet, table.fields, checks).validate(sheet, lazy=True, inplace=True)
        return []
    except pa.errors.SchemaErrors as errors:
        failures = errors.failure_cases
    order = {rule_id: n for n, rule_id in reversed(list(enumerate([*DECLARED, *(r.id for r in rules)])))}
    issues: list[Issue] = []
    for column, rule, rule_id, rows in _broken(failures, checks):
        if rule is None:
            if rule_id == REQUIRED and column in table.failed:
                rows = rows[~table.failed.loc[rows, column].to_numpy(dtype=bool)]
            details = _declared_details(table, rule_id, column, rows)
        else:
            details = rule.details(table, column, rows)
        issues.extend(_issues(rule_id, column, rows, details, table, context or {}))
    issues.sort(key=lambda i: (i.row or 0, order[i.rule], i.field or ""))
    return table.raw.locate(issues) if table.raw is not None else issues


def _broken(
    failures: pd.DataFrame, checks: dict[str, list[tuple[pa.Check, Rule | None]]]
) -> Iterable[tuple[str, Rule | None, str, pd.Index]]:
    """Per column and check: the column, the check's rule (None for a declared one), the rule id and the
    rows that break it. A blank in a column that may not be blank is REQUIRED_MISSING; anything else
    (a wrong column type, a check that could not run) is a fault of the program, not of the data."""
    if failures["index"].isna().any():
        broken = failures[failures["index"].isna()].to_dict("records")
        raise RuntimeError(f"a rule check failed to run: {broken}")
    numbers = failures["check_number"].fillna(-1).astype(int)
    for (column, check, number), group in failures.groupby(
        [failures["column"], failures["check"], numbers], sort=False
    ):
        rows = pd.Index(sorted({int(i) for i in group["index"]}))
        if check == "not_nullable":
            yield column, None, REQUIRED, rows
            continue
        if number < 0:
            raise RuntimeError(f"the table breaks its schema: {column} {check}")
        found, rule = checks[column][number]
        yield column, rule, found.name, rows


def _field(table: Table, name: str) -> Field:
    return next(f for f in table.fields if f.id == name)


def _issues(
    rule_id: str,
    name: str,
    rows: pd.Index,
    details: dict[str, Any],
    table: Table,
    context: dict[str, Any],
) -> Iterable[Issue]:
    """One issue per row; a detail may also name the field or clause to show (a table of rows gathered
    from several sheets has no fields of its own)."""
    spec = next((f for f in table.fields if f.id == name), None)
    where = {
        "field": name,
        "field_label": spec.label if spec else None,
        "field_clause": spec.clause if spec else None,
    }
    per_row = {key: _per_row(values, len(rows)) for key, values in details.items()}
    for n, row in enumerate(rows):
        found = {key: values[n] for key, values in per_row.items()}
        yield make_issue(rule_id, row=int(row), **{**where, **context, **found})


def _per_row(values: object, count: int) -> list:
    """A detail as one value per row: a column or list as it is, a single value repeated."""
    if isinstance(values, pd.Series):
        return values.tolist()
    if isinstance(values, list):
        return values
    return [values] * count
