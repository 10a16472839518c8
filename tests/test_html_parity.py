"""The HTML check report says what the terminal says (issue 27 item 7): the held count, each enterprise
with its amounts and whether it can be paid, and one fix per line. Whether an enterprise is paid, held
(and why) or has nothing to be paid is said as the consolidation's 拨付清单 says it."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.check.consolidate import consolidate
from addin.check.pipeline import check_file, held_rows, rows_with_errors, totals
from addin.cli import app
from addin.reports.html import check_report
from addin.reports.summary_figures import disbursement
from addin.templates.bundled import EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from schemas.registry import make_issue, rule

EXAMPLE = REPOSITORY / EXAMPLES["第八师石河子市"]
NOT_EVALUATED = 15  # the example's 云智纺织: no error, not evaluated, every amount 0


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
    paid = result.table.amounts["total_award"].map(bool)
    assert len(re.findall(r">可拨付</td>", html)) == int((payable & paid).sum())
    assert len(re.findall(r">暂缓</span>", html)) == held
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


def _payment_cells(html: str) -> dict[int, list[str]]:
    """Per Excel row of the enterprise table, its 拨付 cell's lines."""
    cells = {}
    for row, cell in re.findall(
        r'<tr><td class="num">(\d+)</td>.*?<td class="[^"]*">((?:(?!<td).)*?)</td>\s*</tr>', html, re.S
    ):
        lines = [unescape(re.sub(r"<[^>]+>", "", line)).strip() for line in re.split(r"<br>", cell)]
        cells[int(row)] = lines
    return cells


def _without_unit(folder: Path) -> Path:
    """The example with its 填报单位 cell blank: an error on the file as a whole holds every row."""
    workbook = openpyxl.load_workbook(EXAMPLE)
    workbook[spec.DATA_SHEET][spec.UNIT_CELL] = None
    path = folder / "no-unit.xlsx"
    workbook.save(path)
    return path


@pytest.mark.parametrize("blank_unit", [False, True], ids=["example", "file-error"])
def test_each_enterprise_is_paid_held_or_left_out_as_the_disbursement_list_says(
    policy, tmp_path: Path, blank_unit: bool
) -> None:
    """One truth: the check's 拨付 column and the consolidation's 拨付清单 of the same file agree, row by
    row; a row of 0 with no error is 不拨付 (the 拨付清单 leaves it out), never 可拨付, and a held row
    names its rules with their titles as the 拨付清单's 暂缓原因 does."""
    path = _without_unit(tmp_path) if blank_unit else EXAMPLE
    cells = _payment_cells(check_report(check_file(path, policy)))
    listed = {r["row"]: r for r in disbursement(consolidate([path], REPOSITORY / EXAMPLE_PLAN, policy))}
    assert set(cells) >= set(listed) and NOT_EVALUATED in cells
    for row, lines in cells.items():
        record = listed.get(row)
        if record is None:
            assert lines == ["不拨付（金额为 0）"], row
        elif record["payable"]:
            assert lines == ["可拨付"], row
        else:
            reasons = [f"{rule(r).title}（{r}）" for r in record["held_by_row"]]
            reasons += [f"整个文件暂缓：{rule(r).title}（{r}）" for r in record["held_by_file"]]
            assert lines == ["暂缓", *reasons], row
    if blank_unit:
        assert all(lines[0] == "暂缓" and "整个文件暂缓：" in lines[-1] for lines in cells.values())
    else:
        assert cells[NOT_EVALUATED] == ["不拨付（金额为 0）"]
        assert cells[8] == ["暂缓", "总体服务费超过上限（FEE_SERVICE_OVER_20）"]


def test_a_file_that_cannot_be_checked_gets_its_report(tmp_path: Path) -> None:
    """A file that is no workbook at all has no template: the report says so (it crashed on the
    missing template id before) and the command exits 2, as without --html."""
    broken = tmp_path / "损坏.xlsx"
    broken.write_bytes(b"not a zip")
    report = tmp_path / "报告.html"
    outcome = CliRunner().invoke(app, ["check", str(broken), "--html", str(report)], env={"COLUMNS": "200"})
    assert outcome.exit_code == 2, outcome.output
    text = re.sub(r"\s+", " ", _text(report.read_text("utf-8")))
    assert "模板 —" in text and "不是有效的 Excel" in text


def test_an_enterprise_on_two_rows_is_counted_once_as_the_disbursement_list_counts_it(tmp_path: Path) -> None:
    """Two rows of one credit code: the terminal and the HTML say 1 家（2 行）, as the 拨付清单 does,
    where they said 2 (rows) and the list 1 家（2 行）."""
    from addin.io.output import save_workbook
    from addin.templates.bundled import filled_application
    from schemas.policy import load_policy
    from tests.conftest import valid_row

    path = tmp_path / "重复.xlsx"
    save_workbook(
        filled_application(load_policy(), "第八师石河子市", [valid_row(), valid_row()], template_rows=5), path
    )
    report = tmp_path / "r.html"
    terminal = CliRunner().invoke(app, ["check", str(path), "--html", str(report)], env={"COLUMNS": "200"})
    assert re.search(r"申报企业数 / 符合条件\s*│\s*1 家（2 行） / 1 家（2 行）", terminal.output), (
        terminal.output
    )
    assert "1 家（2 行）" in _text(report.read_text("utf-8"))
