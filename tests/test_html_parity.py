"""The HTML check report says what the terminal says (issue 27 item 7): the held count, each enterprise
with its amounts and whether it can be paid, and one fix per line."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from typer.testing import CliRunner

from addin.check.pipeline import check_file, held_rows, rows_with_errors, totals
from addin.cli import app
from addin.reports.html import check_report
from addin.templates.bundled import EXAMPLES, REPOSITORY
from schemas.registry import make_issue

EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


def test_the_held_count_and_each_enterprise_are_in_the_report(policy, tmp_path: Path) -> None:
    result = check_file(EXAMPLE, policy)
    html = check_report(result)
    text = re.sub(r"\s+", " ", _text(html))
    held = rows_with_errors(result)
    assert f"其中暂缓拨付（有错误，改正前不予拨付） {held} 家" in text
    terminal = CliRunner().invoke(app, ["check", str(EXAMPLE)], env={"COLUMNS": "200"}).output
    assert re.search(rf"其中暂缓拨付（有错误，改正前不予拨付）\s*│\s*{held}\b", terminal)
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td>", html)
    assert [int(r) for r in rows] == list(result.table.amounts.index)
    payable = held_rows(result)["payable"]
    assert len(re.findall(r">可拨付</td>", html)) == int(payable.sum())
    assert text.count("暂缓（") == held
    figures = totals(result.table, policy)
    assert f"{int(figures['rows'])} 家 / {figures['eligible_rows']} 家" in text


def test_different_fixes_of_one_rule_are_never_run_together(policy) -> None:
    result = check_file(EXAMPLE, policy)
    twin = next(i for i in result.issues if i.fix)
    other = make_issue(twin.rule, sheet=twin.sheet, cell="Z99", row=99)
    other.fix = "另一处的修改建议。"
    result.issues = [twin, other]
    text = _text(check_report(result))
    assert twin.fix in text and other.fix in text
    assert "。；" not in text and f"{twin.fix}；" not in text
