"""Smaller truths of the engine (issue 25, item 5): a cell that fails its column's declared check is
skipped by the rules that read it, as a cell that failed to convert is; each rule is implemented once."""

from __future__ import annotations

from collections import Counter

from schemas.application_rules import EXCLUSIONS, RULES
from schemas.award_rules import award_rules
from schemas.awards import award_kinds
from schemas.registry import IMPLEMENTED
from tests.conftest import check_records, fired, valid_row


def test_a_negative_contract_total_is_one_issue(policy) -> None:
    before = fired(check_records([valid_row(contract_total=-1000000.0)], policy))
    assert before == {"AMOUNT_NEGATIVE"}  # not COST_COMPONENTS_MISMATCH, FEE_…, PAID_EXCEEDS_CONTRACT


def test_a_negative_fee_is_not_also_over_its_limit(policy) -> None:
    found = fired(check_records([valid_row(integration=-60000.0)], policy))
    assert "AMOUNT_NEGATIVE" in found
    assert not found & {"COST_COMPONENTS_MISMATCH", "FEE_SERVICE_OVER_20", "FEE_INTEGRATION_OVER_6"}


def test_a_level_not_in_the_list_is_not_also_below_two(policy) -> None:
    found = fired(check_records([valid_row(level="五级")], policy))
    assert "VALUE_NOT_ALLOWED" in found and "LEVEL_BELOW_2" not in found


def test_a_record_not_in_the_list_is_one_issue(policy) -> None:
    found = fired(check_records([valid_row(negative_record="黑名单")], policy))
    assert found == {"VALUE_NOT_ALLOWED"}  # not also EXCLUDED_NEGATIVE_RECORD


def test_each_rule_is_implemented_once(policy) -> None:
    assert all(count == 1 for count in Counter(rule.id for rule in RULES).values())
    exclusions = {rule.id for rule in EXCLUSIONS}
    assert {IMPLEMENTED[rule_id] for rule_id in exclusions} == {"schemas.application_rules.exclusion_rules"}
    for kind in award_kinds(policy):
        for rule in award_rules(kind):
            if rule.id in exclusions:
                assert rule in EXCLUSIONS  # the same rule object as the application's, not a copy


def test_a_document_not_in_the_list_is_one_issue(policy) -> None:
    """TRUE in a 是/否 document column breaks its column's check: MATERIALS_MISSING leaves the row to
    it, as it leaves a document cell that failed to convert; the value is quoted as Excel shows it."""
    result = check_records([valid_row(doc_invoice=True)], policy)
    assert fired(result) == {"VALUE_NOT_ALLOWED"}
    assert "“TRUE”" in result.issues[0].message
    other = check_records([valid_row(doc_invoice=True, doc_payment="否")], policy)
    assert fired(other) == {"VALUE_NOT_ALLOWED"}  # the row's other documents: once the cell is fixed
