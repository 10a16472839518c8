"""A test per rule that triggers it and one that does not, at the rule's boundary; and the proof that
registry and implementations agree."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
from pathlib import Path

import pytest

import addin.check.consolidate  # noqa: F401  (imports the rules across files)
import addin.check.pipeline  # noqa: F401  (imports every implementation within a file)
from addin.io.cell_errors import CellError
from schemas.application_rules import RULES
from schemas.registry import IMPLEMENTED, DuplicateRegistration, implements, load_registry
from tests.conftest import (
    COLLECTED_MODULES,
    TESTS,
    TRIGGERED_RULES,
    check_records,
    fired,
    valid_code,
    valid_row,
)

CASES = {
    # rule: (rows that trigger it, rows at the boundary that do not)
    "REQUIRED_MISSING": ([valid_row(provider=None)], [valid_row(provider=" 某服务商 ")]),
    "CELL_ERROR_VALUE": ([valid_row(paid=CellError("#N/A"))], [valid_row(paid="#N/A")]),
    "VALUE_NOT_A_NUMBER": ([valid_row(claimed="80万")], [valid_row(claimed=400000.0)]),
    "NUMBER_STORED_AS_TEXT": ([valid_row(paid="1,000,000.00")], [valid_row(paid=1000000.0)]),
    "AMOUNT_PRECISION": ([valid_row(claimed=400000.005)], [valid_row(claimed=400000.01)]),
    "AMOUNT_TOO_LARGE": ([valid_row(paid=1e15)], [valid_row(paid=999999999999999.0)]),
    "VALUE_NOT_A_DATE": (
        [valid_row(completion_date="明年六月")],
        [valid_row(completion_date=dt.date(2025, 6, 1))],
    ),
    "DATE_STORED_AS_TEXT": (
        [valid_row(completion_date="2025年6月1日")],
        [valid_row(completion_date=45809.0)],
    ),
    "VALUE_NOT_ALLOWED": ([valid_row(industry="农业")], [valid_row(industry="新材料(含化工)")]),
    "AMOUNT_NEGATIVE": ([valid_row(claimed=-0.01)], [valid_row(claimed=0.0)]),
    "USCC_INVALID": ([valid_row(uscc=valid_code()[:-1] + "0")], [valid_row(uscc=valid_code().lower())]),
    "USCC_STORED_AS_NUMBER": (
        [valid_row(uscc=float(916590011234567890))],
        [valid_row(uscc=123456789012345.0)],  # every digit kept (USCC_INVALID: too short)
    ),
    "USCC_NOT_UPPERCASE": ([valid_row(uscc=valid_code().lower())], [valid_row()]),
    "DUPLICATE_ENTERPRISE": (
        [valid_row(), valid_row(name="另一行")],
        [valid_row(), valid_row(uscc=valid_code("MA77T3B5W"))],
    ),
    "LEVEL_BELOW_2": (
        [valid_row(level="一级", claimed=None)],
        [valid_row(level=None, claimed=None, completion_date=None, evaluation_date=None)],
    ),
    "MATERIALS_MISSING": (
        [valid_row(doc_invoice="否")],
        [
            valid_row(
                level=None, claimed=None, completion_date=None, evaluation_date=None, doc_evaluation=None
            )
        ],
    ),
    "CONTRACT_DATE_OUT_OF_WINDOW": (
        [valid_row(contract_date=dt.date(2024, 10, 17))],
        [valid_row(contract_date=dt.date(2024, 10, 18))],
    ),
    "EXCLUDED_NEGATIVE_RECORD": (
        [valid_row(negative_record="严重失信主体名单")],
        [valid_row(negative_record=None)],
    ),
    "EXCLUDED_LITTLE_GIANT": ([valid_row(little_giant="是")], [valid_row(little_giant="否")]),
    "CHOICE_NOT_EXACT": ([valid_row(little_giant="否 ")], [valid_row(little_giant="否")]),
    "COST_COMPONENTS_MISMATCH": ([valid_row(software=500000.01)], [valid_row(software=500000.0)]),
    "PAID_EXCEEDS_CONTRACT": ([valid_row(paid=1000000.01)], [valid_row(paid=1000000.0)]),
    "FEE_SERVICE_OVER_20": (
        [valid_row(consulting=100000.01, software=499999.99)],
        [valid_row(consulting=100000.0)],
    ),
    "FEE_INTEGRATION_OVER_6": (
        [valid_row(integration=60000.01, other_service=39999.99)],
        [valid_row(integration=60000.0)],
    ),
    "CLAIM_OVER_CAP": ([valid_row(claimed=500000.01)], [valid_row(claimed=500000.0)]),
    "FORMULA_VALUE_MISMATCH": (
        [valid_row(transformation_subsidy=400000.0)],
        [valid_row(transformation_subsidy=500000.0)],
    ),
    "DATE_ORDER": (
        [valid_row(completion_date=dt.date(2025, 1, 14))],
        [valid_row(completion_date=dt.date(2025, 1, 15))],
    ),
    "TABLE_EMPTY": ([None, None], [valid_row()]),
}


@pytest.mark.parametrize(
    "rule_id", [pytest.param(rule_id, marks=pytest.mark.triggers(rule_id)) for rule_id in CASES]
)
def test_rule_triggers(rule_id: str, policy) -> None:
    triggering, _ = CASES[rule_id]
    result = check_records(triggering, policy)
    assert rule_id in fired(result), [i.message for i in result.issues]
    issue = next(i for i in result.issues if i.rule == rule_id)
    spec = load_registry()[rule_id]
    assert issue.severity == spec.severity
    assert issue.message and issue.fix
    assert bool(issue.clause) != spec.about_the_file, "a clause, except for a rule about the file"
    assert "{" not in issue.message + issue.fix, "every placeholder is filled"
    if issue.field:
        assert issue.cell and issue.cell.endswith(str(issue.row))


@pytest.mark.parametrize("rule_id", list(CASES))
def test_rule_does_not_trigger_at_boundary(rule_id: str, policy) -> None:
    _, passing = CASES[rule_id]
    result = check_records(passing, policy)
    assert rule_id not in fired(result), [i.message for i in result.issues]


def test_the_valid_row_has_no_issue(policy) -> None:
    result = check_records([valid_row()], policy)
    assert result.issues == []
    assert result.amounts.loc[5, "transformation_subsidy"] == 500000


def test_cost_items_typed_as_negative_zero_add_up_to_zero(policy) -> None:
    """Six cost items typed as "-0" add up to 0.00 in the issue's figures, never -0.00."""
    items = ("software", "cloud", "equipment", "consulting", "integration", "other_service")
    result = check_records([valid_row(contract_total=100.0, paid=0.0, **dict.fromkeys(items, "-0"))], policy)
    [issue] = [i for i in result.issues if i.rule == "COST_COMPONENTS_MISMATCH"]
    assert str(issue.expected) == "0.00"
    assert "六项费用之和为 0.00 元" in issue.message
    assert str(result.amounts.loc[5, "items_total"]) == "0.00"  # the calculation's sum of them alike


def test_missing_materials_are_one_issue_at_the_first_missing_document(policy) -> None:
    """Every missing document named in one issue, at the first one's cell; no amount changes."""
    complete = check_records([valid_row()], policy)
    result = check_records([valid_row(doc_contract="否", doc_payment=None, doc_evaluation="否")], policy)
    issues = [i for i in result.issues if i.rule == "MATERIALS_MISSING"]
    assert len(issues) == 1
    assert issues[0].field == "doc_contract"
    assert issues[0].message.endswith("本行缺少改造合同、付款凭证、评测报告。"), issues[0].message
    assert result.amounts.equals(complete.amounts)


def test_every_policy_document_has_a_column(policy, tmp_path) -> None:
    import yaml

    from schemas.fields import material_fields
    from schemas.policy import PolicyError, load_policy

    assert [f.label for f in material_fields(policy)] == policy.value("application_materials")
    source = Path(__file__).parent.parent / "schemas" / "data" / "policy-xpcc-2025-03.yaml"
    raw = yaml.safe_load(source.read_text("utf-8"))
    raw["parameters"]["application_materials"]["values"][0]["value"].append("审计报告")
    other = tmp_path / "policy.yaml"
    other.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError, match="审计报告"):
        material_fields(load_policy(other))


def test_every_registered_rule_is_implemented() -> None:
    assert set(load_registry()) - set(IMPLEMENTED) == set()


def test_every_implementation_is_registered() -> None:
    assert {rule.id for rule in RULES} <= set(load_registry())
    with pytest.raises(KeyError):
        implements("NOT_A_REGISTERED_RULE")(lambda: None)


def test_a_rule_registered_twice_fails_at_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = dict(IMPLEMENTED)
    (tmp_path / "registers_again.py").write_text(
        "from schemas.registry import implements\n\n\n"
        '@implements("CLAIM_OVER_CAP")\n'
        "def claim_over_cap_again(table, column):\n"
        "    return column\n",
        "utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    expected = (
        "rule CLAIM_OVER_CAP is registered twice: by schemas.application_rules.claim_over_cap "
        "and by registers_again.claim_over_cap_again"
    )
    with pytest.raises(DuplicateRegistration, match=expected):
        importlib.import_module("registers_again")
    with pytest.raises(DuplicateRegistration, match="rule LEVEL_BELOW_2 is registered twice"):
        implements("LEVEL_BELOW_2", "LEVEL_BELOW_2")(lambda: None)
    assert before == IMPLEMENTED  # the failed registrations recorded nothing


def _implements_calls(tree: ast.AST) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "implements"
    ]


def test_every_rule_is_registered_one_way() -> None:
    """Each registration is an `@implements(...)` decorator on a function of schemas/ or addin/, naming
    its ids as written (a string or a constant), not derived from a list of rules: no registration by a
    call or inside a helper."""
    root = Path(__file__).parent.parent
    for path in sorted([*root.glob("schemas/**/*.py"), *root.glob("addin/**/*.py")]):
        tree = ast.parse(path.read_text("utf-8"))
        decorators = {
            id(decorator)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            for decorator in node.decorator_list
        }
        for call in _implements_calls(tree):
            assert id(call) in decorators, f"{path.name}:{call.lineno} registers a rule by a call"
            for argument in call.args:
                named = argument.value if isinstance(argument, ast.Starred) else argument
                written = isinstance(named, ast.Constant) and isinstance(named.value, str)
                assert written or isinstance(named, ast.Name), f"{path.name}:{call.lineno} derives its ids"


def test_every_rule_has_a_triggering_test() -> None:
    every_module = {p.name for p in TESTS.glob("test_*.py")}
    if not every_module <= COLLECTED_MODULES:
        pytest.skip("only part of the suite was collected")
    assert set(load_registry()) - TRIGGERED_RULES == set()


def test_required_rule_ids_exist() -> None:
    required = [
        "REQUIRED_MISSING",
        "VALUE_NOT_A_NUMBER",
        "VALUE_NOT_A_DATE",
        "NUMBER_STORED_AS_TEXT",
        "VALUE_NOT_ALLOWED",
        "AMOUNT_NEGATIVE",
        "USCC_INVALID",
        "DUPLICATE_ENTERPRISE",
        "LEVEL_BELOW_2",
        "CONTRACT_DATE_OUT_OF_WINDOW",
        "EXCLUDED_NEGATIVE_RECORD",
        "EXCLUDED_LITTLE_GIANT",
        "COST_COMPONENTS_MISMATCH",
        "PAID_EXCEEDS_CONTRACT",
        "FEE_SERVICE_OVER_20",
        "FEE_INTEGRATION_OVER_6",
        "CLAIM_OVER_CAP",
        "FORMULA_VALUE_MISMATCH",
        "DATE_ORDER",
        "TEMPLATE_VERSION_UNSUPPORTED",
    ]
    registry = load_registry()
    assert set(required) <= set(registry)
    warnings = {"PAID_EXCEEDS_CONTRACT", "DATE_ORDER"}  # text the formulas cannot compute is an error
    for rule_id in required:
        assert registry[rule_id].severity == ("warning" if rule_id in warnings else "error"), rule_id


def test_no_rule_id_in_code_is_unregistered() -> None:
    """Every quoted upper-case rule-like id in the source is a registered rule."""
    import re

    root = Path(__file__).resolve().parent.parent
    known = set(load_registry())
    pattern = re.compile(r'"([A-Z][A-Z0-9]+(?:_[A-Z0-9]+){1,})"')
    ignored = {
        "TEMPLATE_ID",
        "TEMPLATE_VERSION",
        "DTFUND_TEMPLATE_ID",
        "DTFUND_TEMPLATE_VERSION",
        "DTFUND_UNIT",
        "DTFUND_REVISION",
        "DTFUND_SUBMITTED_ON",
        "P_ELIGIBLE_LEVELS",
        "MONEY_FORMAT",
        "RATIO_FORMAT",
        "DATE_FORMAT",
        "TEXT_FORMAT",
        "INTERPRETER_WIN",  # xlwings' user settings, not rules
        "INTERPRETER_MAC",
        "DTFUND_POLICY_FILE",  # the environment variable naming the add-in functions' policy file
        "DTFUND_LEDGER",  # the ledger's environment variable (addin/ledger/store.py)
    }
    unknown = set()
    for folder in ("schemas", "addin"):
        for source in (root / folder).rglob("*.py"):
            for found in pattern.findall(source.read_text("utf-8")):
                if found not in known and found not in ignored and not found.startswith(("P_", "LIST_")):
                    unknown.add(f"{source.name}:{found}")
    assert unknown == set()


def test_conversion_failure_does_not_cascade(policy) -> None:
    """A failed cell is one issue; rules that need it are skipped for that row."""
    result = check_records([valid_row(contract_total="一百万")], policy)
    assert fired(result) == {"VALUE_NOT_A_NUMBER"}


def test_an_error_value_in_any_input_cell_is_one_issue_at_that_cell(policy) -> None:
    """No rule cascades from it; when the amounts use the cell, the row counts nothing."""
    from addin.template_spec import column_letters
    from schemas.calculation import calculation_inputs
    from schemas.fields import input_fields

    counted = ["transformation_subsidy", "progress_bonus", "honor_award", "total_award"]
    for spec in input_fields():
        result = check_records([valid_row(**{spec.id: CellError("#N/A")})], policy)
        assert [(i.rule, i.field, i.cell) for i in result.issues] == [
            ("CELL_ERROR_VALUE", spec.id, f"{column_letters()[spec.id]}5")
        ], spec.id
        assert (
            result.issues[0].message
            == f"“{spec.label}”中是错误值 #N/A，不是填写的数据，模板的公式无法用它计算本行。"
        )
        if spec.id in calculation_inputs(policy):
            assert (result.amounts.loc[5, counted] == 0).all(), spec.id


def test_empty_rows_between_filled_rows_are_skipped(policy) -> None:
    result = check_records([valid_row(), None, valid_row(uscc=valid_code("MA77T3B5W"))], policy)
    assert list(result.frame.index) == [5, 7]
    assert result.issues == []


def test_ineligible_row_is_not_also_reported_over_cap(policy) -> None:
    result = check_records([valid_row(little_giant="是")], policy)
    assert fired(result) == {"EXCLUDED_LITTLE_GIANT"}
    assert result.amounts.loc[5, "transformation_subsidy"] == 0


def test_level_blank_with_a_claim_is_below_2(policy) -> None:
    result = check_records([valid_row(level=None, completion_date=None, evaluation_date=None)], policy)
    assert fired(result) == {"LEVEL_BELOW_2"}


def test_required_when_evaluated(policy) -> None:
    result = check_records([valid_row(evaluation_date=None)], policy)
    issues = [i for i in result.issues if i.rule == "REQUIRED_MISSING"]
    assert [i.field for i in issues] == ["evaluation_date"]
    assert "已填写评测等级" in issues[0].message


def test_duplicate_names_the_other_row(policy) -> None:
    result = check_records([valid_row(), valid_row(name="重复")], policy)
    duplicates = [i for i in result.issues if i.rule == "DUPLICATE_ENTERPRISE"]
    assert [(i.cell, i.expected) for i in duplicates] == [("B5", "第6行"), ("B6", "第5行")]
