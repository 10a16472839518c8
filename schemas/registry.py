"""The rule registry (rules.yaml) and the issues the rules report.

The registry is the source of truth: an implementation declares the ids it reports with
`@implements(...)` on the function that decides them (or builds the engine's rule for them), the one
way a rule is registered. It refuses an id the registry does not know and an id registered a second
time; tests check that every registered rule is implemented and triggered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

from schemas import yaml_data

Severity = Literal["error", "warning"]
BY_FIELD = "按字段"
FILE_SCOPE = "file"  # a rule about the workbook as a file or form, not about the fund: it cites no clause
# a rule of the fund's books, raised by consolidate --ledger only: no template's 规则 sheet lists it
LEDGER_SCOPE = "ledger"


@dataclass(frozen=True)
class RuleSpec:
    id: str
    severity: Severity
    clause: str
    field: str | None
    title: str
    message: str
    fix: str
    scope: str | None = None
    example: dict[str, Any] = field(default_factory=dict)  # realistic figures to show its message with

    @property
    def about_the_file(self) -> bool:
        return self.scope == FILE_SCOPE


@dataclass
class Issue:
    """One occurrence of a rule: where, what was found, what was expected, how to fix, which clause."""

    rule: str
    severity: Severity
    sheet: str | None
    cell: str | None
    row: int | None
    field: str | None
    value: Any
    expected: Any
    title: str
    message: str
    fix: str
    clause: str
    file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or self.file or ""


class _SafeFormat(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def ledger_rules() -> set[str]:
    """The ids of the rules of the fund's books (LEDGER_SCOPE)."""
    return {rule_id for rule_id, spec in load_registry().items() if spec.scope == LEDGER_SCOPE}


@cache
def load_registry() -> dict[str, RuleSpec]:
    text = resources.files("schemas").joinpath("data", "rules.yaml").read_text("utf-8")
    specs: dict[str, RuleSpec] = {}
    for raw in yaml_data.safe_load(text)["rules"]:
        spec = RuleSpec(
            id=raw["id"],
            severity=raw["severity"],
            clause=raw.get("clause") or "",
            field=raw.get("field"),
            title=raw["title"],
            message=raw["message"],
            fix=raw["fix"],
            scope=raw.get("scope"),
            example=raw.get("example") or {},
        )
        if spec.id in specs:
            raise ValueError(f"rule id {spec.id} is registered twice")
        if spec.severity not in ("error", "warning"):
            raise ValueError(f"rule {spec.id} has severity {spec.severity!r}")
        if spec.scope not in (None, FILE_SCOPE, LEDGER_SCOPE):
            raise ValueError(f"rule {spec.id} has scope {spec.scope!r}")
        if spec.about_the_file == bool(spec.clause):
            raise ValueError(f"rule {spec.id}: a rule about the file cites no clause, every other rule one")
        specs[spec.id] = spec
    return specs


def rule(rule_id: str) -> RuleSpec:
    try:
        return load_registry()[rule_id]
    except KeyError:
        raise KeyError(f"rule {rule_id} is not in the registry (schemas/data/rules.yaml)") from None


IMPLEMENTED: dict[str, str] = {}  # rule id -> the function registered as its implementation


class DuplicateRegistration(ValueError):
    """A rule id registered by a second implementation: each rule is registered once."""


def implements(*rule_ids: str) -> Callable[[Callable], Callable]:
    """Register the decorated function as the implementation of rules of the registry: the function
    that decides them, or the one that builds the engine's rule for them. Each id is registered once;
    a second registration fails at import."""

    def mark(function: Callable) -> Callable:
        where = f"{function.__module__}.{function.__qualname__}"
        for rule_id in rule_ids:
            rule(rule_id)  # refuses an id the registry does not know
            if rule_id in IMPLEMENTED or rule_ids.count(rule_id) > 1:
                raise DuplicateRegistration(
                    f"rule {rule_id} is registered twice: by {IMPLEMENTED.get(rule_id, where)} and by {where}"
                )
        IMPLEMENTED.update(dict.fromkeys(rule_ids, where))
        return function

    return mark


def make_issue(
    rule_id: str,
    *,
    sheet: str | None = None,
    cell: str | None = None,
    row: int | None = None,
    field: str | None = None,
    field_label: str | None = None,
    field_clause: str | None = None,
    value: Any = None,
    expected: Any = None,
    file: str | None = None,
    **context: Any,
) -> Issue:
    """An issue of a registered rule, its message and fix filled from the occurrence."""
    spec = rule(rule_id)
    blamed = field or spec.field
    shown = {key: _shown(item) for key, item in context.items()}
    shown.update(
        field=field_label or blamed or "", value=_shown(value, SHOWN_LENGTH), expected=_shown(expected)
    )
    if row is not None:
        shown.setdefault("row", str(row))
    clause = field_clause if spec.clause == BY_FIELD and field_clause else spec.clause
    if clause == BY_FIELD:
        clause = "附件（一）"
    return Issue(
        rule=rule_id,
        severity=spec.severity,
        sheet=sheet,
        cell=cell,
        row=row,
        field=blamed,
        value=value,
        expected=expected,
        title=spec.title,
        message=spec.message.format_map(_SafeFormat(shown)),
        fix=spec.fix.format_map(_SafeFormat(shown)),
        clause=clause,
        file=file,
        extra=context,
    )


def sentence(text: str) -> str:
    """A message or fix as a sentence of its own: it ends with a full stop (or ？！) before the next."""
    text = text.strip()
    return text if not text or text.endswith(("。", "？", "！", "…")) else f"{text}。"


def issue_sentences(issue: Issue) -> str:
    """An issue's message and, where it has one, its fix: one sentence each."""
    return sentence(issue.message) + sentence(issue.fix)


SHOWN_LENGTH = 60  # characters of a cell's text quoted in a message


def _shown(value: Any, limit: int | None = None) -> str:
    """A value as a message shows it: amounts with thousands separators, dates as 2025-12-31; a cell's
    text cut short at `limit` characters."""
    if value is None:
        return "（空）"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime | dt.date):
        return value.strftime("%Y-%m-%d")
    text = str(value)
    return text if limit is None or len(text) <= limit else f"{text[:limit]}…（共 {len(text)} 字）"


def in_table_order(issues: list[Issue], field_ids: list[str]) -> list[Issue]:
    """Issues by row, then by the column order of their fields (an issue of no row or field first)."""
    order = {field_id: n for n, field_id in enumerate(field_ids)}
    return sorted(issues, key=lambda i: (i.row or 0, order.get(i.field or "", len(order))))
