"""A policy revision applies by date: 改造补贴比例 50% → 40% for contracts signed from 2025-06-01 prices
a 2024-11 contract at 50% and a 2025-07 contract at 40%, through `dtfund check` and `dtfund explain`."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from addin.cli import app
from addin.io.output import save_workbook
from addin.templates.bundled import filled_application
from schemas.policy import load_policy
from tests.conftest import RATE_REVISION, dated_policy_file, valid_code, valid_row

UNIT = "第八师石河子市"


def revision_rows() -> list[dict]:
    """Two eligible 二级 contracts of 200,000 paid in full, on either side of the revision."""
    return [
        valid_row(contract_date=dt.datetime(2024, 11, 20), paid=200000.0, claimed=100000.0),
        valid_row(
            uscc=valid_code("MA77T3B5W"),
            contract_date=dt.datetime(2025, 7, 10),
            paid=200000.0,
            claimed=80000.0,
        ),
        valid_row(uscc=valid_code("MA7K8L9M0"), contract_date=None, paid=200000.0, claimed=None),
    ]


@pytest.fixture(scope="module")
def revised(tmp_path_factory) -> tuple[Path, Path]:
    """The policy file with the revision, and a template generated with it and filled."""
    folder = tmp_path_factory.mktemp("dated")
    policy_path = dated_policy_file(folder, **RATE_REVISION)
    workbook = folder / "申报表.xlsx"
    save_workbook(
        filled_application(load_policy(policy_path), UNIT, revision_rows(), template_rows=10), workbook
    )
    return policy_path, workbook


def test_check_prices_each_contract_at_the_rate_of_its_date(revised, tmp_path: Path) -> None:
    policy_path, workbook = revised
    report = tmp_path / "结果.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "addin",
            "check",
            str(workbook),
            "--policy",
            str(policy_path),
            "--json",
            str(report),
        ],
        capture_output=True,
        text=True,
    )
    document = json.loads(report.read_text("utf-8"))
    rows = {row["row"]: row["amounts"] for row in document["rows"]}
    assert rows[5]["transformation_subsidy"] == "100000.00"  # 2024-11-20: 50%
    assert (rows[5]["central"], rows[5]["bingtuan"], rows[5]["division_fund"]) == (
        "70000.00",
        "15000.00",
        "15000.00",
    )
    assert rows[6]["transformation_subsidy"] == "80000.00"  # 2025-07-10: 40%
    assert (rows[6]["central"], rows[6]["bingtuan"], rows[6]["division_fund"]) == (
        "56000.00",
        "12000.00",
        "12000.00",
    )
    assert rows[7]["transformation_subsidy"] == "0.00"  # no contract date: not eligible
    assert not [i for i in document["issues"] if i["rule"] in ("CLAIM_OVER_CAP", "FORMULA_VALUE_MISMATCH")]
    assert done.returncode == 1  # the blank contract date is an error (REQUIRED_MISSING), nothing else
    assert {i["rule"] for i in document["issues"]} == {"REQUIRED_MISSING"}


def test_the_bundled_policy_prices_both_at_fifty_percent(revised, policy) -> None:
    """The same workbook under the policy without the revision: the 2025-07 contract is at 50% (so the
    test above fails if the revision is not applied by date)."""
    from addin.check.pipeline import check_file

    amounts = check_file(revised[1], policy).table.amounts
    assert amounts.loc[[5, 6], "transformation_subsidy"].tolist() == [100000, 100000]


def test_explain_names_the_dated_value_and_the_date_that_chose_it(revised) -> None:
    policy_path, workbook = revised

    def explain(row: int) -> str:
        result = CliRunner().invoke(
            app,
            ["explain", str(workbook), "--row", str(row), "--policy", str(policy_path)],
            env={"COLUMNS": "250"},
        )
        assert result.exit_code == 0, result.output
        return result.output

    def line(out: str, text: str) -> str:
        return next(line for line in out.splitlines() if text in line)

    late, early, blank = explain(6), explain(5), explain(7)
    rate = line(late, "所用参数：改造补贴比例")
    assert "40%（2025-06-01 起施行的取值）" in rate and "按合同签订日期 2025-07-10 选定" in rate
    assert "× 40%" in line(late, "按比例补贴") and "80,000.00" in line(late, "按比例补贴")
    assert "50%（2024-10-18 起施行的取值）：按合同签订日期 2024-11-20 选定" in line(
        early, "所用参数：改造补贴比例"
    )
    assert "合同签订日期为空，取第一个取值" in line(blank, "所用参数：改造补贴比例")
    bonus = line(late, "所用参数：数字化改造进度补贴")
    assert "按改造完成日期 2025-08-30 选定" in bonus
