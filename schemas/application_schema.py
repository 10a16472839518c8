"""The application table's schema: its columns declared from application_fields.yaml, its rules from
schemas.application_rules, run by the rule engine."""

from __future__ import annotations

from schemas.application_rules import RULES
from schemas.engine import build_schema, run_rules
from schemas.fields import application_fields
from schemas.policy import Policy
from schemas.registry import Issue
from schemas.table import Table

SHEET = "申报表"


def application_schema(policy: Policy, table: Table | None = None):
    """The pandera schema of an application table (without a table: to describe it)."""
    return build_schema(SHEET, application_fields(policy), RULES, policy, table)


def validate(table: Table) -> list[Issue]:
    """Every rule's issues for the table, placed at their cells when the table knows them."""
    return run_rules(RULES, table, SHEET)
