"""Shared fixtures, and the bookkeeping that proves every registered rule has a triggering test."""

from __future__ import annotations

import datetime as dt
import functools
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from addin.check.pipeline import check_table
from addin.check.table import raw_table_from_records
from addin.io import sheet_parts
from addin.io.scratch import run_folder
from schemas.policy import Policy, load_policy
from schemas.table import Table

TESTS = Path(__file__).parent
POLICY_FILE = TESTS.parent / "schemas/data/policy-xpcc-2025-03.yaml"
MATERIALS = ("doc_diagnosis", "doc_contract", "doc_invoice", "doc_payment", "doc_evaluation")
TRIGGERED_RULES: set[str] = set()
COLLECTED_MODULES: set[str] = set()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "triggers(rule_id): the test asserts that this rule fires")


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    for item in items:
        COLLECTED_MODULES.add(Path(str(item.fspath)).name)
        for marker in item.iter_markers("triggers"):
            TRIGGERED_RULES.update(marker.args)


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Parts and chunks of a few kilobytes, so a small sheet is cut many times (addin.io.sheet_parts);
    temporary files in a folder of the test's own. Returns that folder."""
    monkeypatch.setattr(sheet_parts, "PART_BYTES", 16 * 1024)
    monkeypatch.setattr(sheet_parts, "CHUNK_BYTES", 4 * 1024)
    monkeypatch.setattr(sheet_parts.os, "cpu_count", lambda: 2)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    # this test's own run folder (addin.io.scratch), under its temporary folder
    monkeypatch.setattr(sheet_parts, "run_folder", functools.cache(run_folder.__wrapped__))
    return scratch


def valid_code(body: str = "MA77R1N0X", region: str = "659001") -> str:
    from addin.templates.bundled import credit_code

    return credit_code(region, body)


def valid_row(**changes: Any) -> dict[str, Any]:
    """An eligible 二级 application: fees exactly at their limits (20% / 6%), components add up."""
    row = {
        "name": "石河子市天山纺织有限公司",
        "uscc": valid_code(),
        "division": "第八师石河子市",
        "industry": "纺织服装",
        "size_class": "小型",
        "provider": "新疆兵团数智科技有限公司",
        "contract_date": dt.datetime(2025, 1, 15),
        "completion_date": dt.datetime(2025, 8, 30),
        "evaluation_date": dt.datetime(2025, 11, 20),
        "level": "二级",
        "contract_total": 1000000.0,
        "software": 500000.0,
        "cloud": 100000.0,
        "equipment": 200000.0,
        "consulting": 100000.0,
        "integration": 60000.0,
        "other_service": 40000.0,
        "paid": 1000000.0,
        "claimed": 500000.0,
        "honor": "无",
        "little_giant": "否",
        "negative_record": "无",
        **dict.fromkeys(MATERIALS, "是"),
    }
    row.update(changes)
    return row


def check_records(records: list[dict[str, Any] | None], policy: Policy | None = None) -> Table:
    return check_table(raw_table_from_records([r or {} for r in records]), policy or load_policy())


def fired(result: Table) -> set[str]:
    return {issue.rule for issue in result.issues}


def dated_policy_file(folder: Path, **later: list[dict[str, Any]]) -> Path:
    """A copy of the bundled policy with more dated values: parameter name -> entries such as
    {"from": date, "value": "0.40"}, added after the parameter's own."""
    raw = yaml.safe_load(POLICY_FILE.read_text("utf-8"))
    for name, entries in later.items():
        raw["parameters"][name]["values"].extend(entries)
    path = folder / "dated-policy.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")
    return path


# The revision the dated tests use: 改造补贴比例 50% → 40% for contracts signed from 2025-06-01.
RATE_REVISION = {"subsidy_rate": [{"from": dt.date(2025, 6, 1), "value": "0.40"}]}
