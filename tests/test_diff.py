"""`dtfund diff`: two versions of one unit's workbook compared, through the CLI on real files."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.cli import app
from addin.io.output import save_workbook
from addin.templates.bundled import EXAMPLE_AWARDS, EXAMPLES, REPOSITORY, filled_application
from tests.conftest import valid_code, valid_row
from tests.support.libreoffice import recalculate

runner = CliRunner()
SHIHEZI = REPOSITORY / EXAMPLES["第八师石河子市"]
ALAR = REPOSITORY / EXAMPLES["第一师阿拉尔市"]
AWARDS = REPOSITORY / EXAMPLE_AWARDS
LETTERS = spec.column_letters()
SECOND, THIRD, FOURTH = valid_code("MA77T3B5W"), valid_code("MA77U8D2P"), valid_code("MA77W4E6L")
FULL = {
    "service_total": "200000.00",
    "eligible_base": "1000000.00",
    "transformation_subsidy": "500000.00",
    "central": "350000.00",
    "bingtuan": "75000.00",
    "division_fund": "75000.00",
    "progress_bonus": "100000.00",
    "honor_award": "0.00",
    "total_award": "600000.00",
}


def run(*args: object):
    return runner.invoke(app, ["diff", *(str(a) for a in args)], env={"COLUMNS": "250"})


def write_filled(path: Path, rows, policy) -> Path:
    save_workbook(filled_application(policy, "第八师石河子市", rows, template_rows=30), path)
    return path


def pair(tmp_path: Path, policy) -> tuple[Path, Path]:
    """OLD: three enterprises. NEW: the second paid less, the third removed, a fourth added."""
    old = write_filled(
        tmp_path / "上次.xlsx",
        [valid_row(), valid_row(uscc=SECOND, name="乙公司"), valid_row(uscc=THIRD, name="丙公司")],
        policy,
    )
    new = write_filled(
        tmp_path / "本次.xlsx",
        [
            valid_row(),
            valid_row(uscc=SECOND, name="乙公司", paid=800000.0),
            None,
            valid_row(uscc=FOURTH, name="丁公司"),
        ],
        policy,
    )
    return old, new


def test_identical_files_exit_0(tmp_path: Path) -> None:
    old, new = tmp_path / "上次.xlsx", tmp_path / "本次.xlsx"
    shutil.copyfile(SHIHEZI, old)
    shutil.copyfile(SHIHEZI, new)
    result = run(old, new, "--json", "-")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["same"] is True and document["unit_change"] is None
    assert (document["added"], document["removed"], document["changed"]) == ([], [], [])
    assert document["totals"]["before"] == document["totals"]["after"]
    terminal = run(old, new)
    assert terminal.exit_code == 0
    assert "两个文件的所有值相同" in terminal.output


def test_added_removed_and_changed_exact_json(tmp_path: Path, policy) -> None:
    old, new = pair(tmp_path, policy)
    target, html = tmp_path / "结果.json", tmp_path / "对比.html"
    result = run(old, new, "--json", target, "--html", html)
    assert result.exit_code == 1, result.output
    document = json.loads(target.read_text("utf-8"))
    assert document["kind"] == "application" and document["unit"] == "第八师石河子市"
    assert document["same"] is False
    assert document["added"] == [
        {"sheet": "申报表", "row": 8, "uscc": FOURTH, "name": "丁公司", "amounts": FULL}
    ]
    assert document["removed"] == [
        {"sheet": "申报表", "row": 7, "uscc": THIRD, "name": "丙公司", "amounts": FULL}
    ]
    paid = LETTERS["paid"]
    assert document["changed"] == [
        {
            "sheet": "申报表",
            "old_row": 6,
            "new_row": 6,
            "uscc": SECOND,
            "name": "乙公司",
            "cells": [
                {
                    "field": "paid",
                    "label": "实际支付金额",
                    "old_cell": f"{paid}6",
                    "new_cell": f"{paid}6",
                    "old": "1000000.00",
                    "new": "800000.00",
                }
            ],
            "amounts": [
                {
                    "field": "eligible_base",
                    "label": "可补贴改造费用",
                    "old": "1000000.00",
                    "new": "800000.00",
                },
                {
                    "field": "transformation_subsidy",
                    "label": "改造补贴",
                    "old": "500000.00",
                    "new": "400000.00",
                },
                {"field": "central", "label": "其中：中央资金", "old": "350000.00", "new": "280000.00"},
                {"field": "bingtuan", "label": "其中：兵团配套", "old": "75000.00", "new": "60000.00"},
                {"field": "division_fund", "label": "其中：师市配套", "old": "75000.00", "new": "60000.00"},
                {"field": "total_award", "label": "补贴奖励合计", "old": "600000.00", "new": "500000.00"},
            ],
        }
    ]
    assert document["totals"] == {
        "before": {
            "by_source": {"central": "1050000.00", "bingtuan": "525000.00", "division": "225000.00"},
            "total": "1800000.00",
        },
        "after": {
            "by_source": {"central": "980000.00", "bingtuan": "510000.00", "division": "210000.00"},
            "total": "1700000.00",
        },
    }
    page = html.read_text("utf-8")
    # amounts read as every other amount: with thousands separators, typed and computed alike
    assert "丁公司" in page and "丙公司" in page and "800,000.00" in page and "400,000.00" in page
    assert "800000.00" not in page
    terminal = run(old, new)
    assert terminal.exit_code == 1
    for text in ("新增的企业", "删除的企业", "丁公司", "丙公司", "实际支付金额", "800,000.00", "修改 1 家"):
        assert text in terminal.output
    assert "800000.00" not in terminal.output


def test_a_float_and_an_int_are_the_same_but_text_is_a_change(tmp_path: Path, policy) -> None:
    """Values compare after conversion; a number stored as text differs from the number (the template's
    formulas cannot compute it)."""
    old = write_filled(tmp_path / "上次.xlsx", [valid_row(paid=1000000.0)], policy)
    same = write_filled(tmp_path / "同.xlsx", [valid_row(paid=1000000)], policy)
    text = write_filled(tmp_path / "文本.xlsx", [valid_row(paid="1,000,000")], policy)
    assert run(old, same).exit_code == 0
    result = run(old, text, "--json", "-")
    assert result.exit_code == 1
    (change,) = json.loads(result.stdout)["changed"]
    assert [(c["field"], c["old"], c["new"]) for c in change["cells"]] == [
        ("paid", "1000000.00", "1,000,000")
    ]
    assert change["amounts"][-1] == {
        "field": "total_award",
        "label": "补贴奖励合计",
        "old": "600000.00",
        "new": "0.00",
    }


def test_dates_blanks_and_unconverted_cells_compared_by_column(tmp_path: Path, policy) -> None:
    """The columns are compared whole: a date moved, a date cleared, a blank filled in, a cell that does
    not convert changed (its raw text compared), and the rows that did not change are not listed."""
    rows = [valid_row(uscc=valid_code(f"MA7{n:06d}"), name=f"企业{n}") for n in range(6)]
    old = write_filled(
        tmp_path / "上次.xlsx", [*rows[:4], valid_row(**{**rows[4], "software": "abc"}), rows[5]], policy
    )
    new = write_filled(
        tmp_path / "本次.xlsx",
        [
            rows[0],
            valid_row(**{**rows[1], "contract_date": dt.datetime(2025, 2, 1)}),
            valid_row(**{**rows[2], "evaluation_date": None}),
            valid_row(**{**rows[3], "remark": "已更正"}),
            valid_row(**{**rows[4], "software": "abd"}),
            rows[5],
        ],
        policy,
    )
    document = json.loads(run(old, new, "--json", "-").stdout)
    assert [
        (c["name"], [(x["field"], x["old"], x["new"]) for x in c["cells"]]) for c in document["changed"]
    ] == [
        ("企业1", [("contract_date", "2025-01-15", "2025-02-01")]),
        ("企业2", [("evaluation_date", "2025-11-20", None)]),
        ("企业3", [("remark", None, "已更正")]),
        ("企业4", [("software", "abc", "abd")]),
    ]


def test_rows_without_a_unique_credit_code_match_by_row(tmp_path: Path, policy) -> None:
    """A blank or repeated credit code: the same Excel row in both files is the same entry."""
    old = write_filled(
        tmp_path / "上次.xlsx", [valid_row(uscc=None, name="甲"), valid_row(name="乙")], policy
    )
    new = write_filled(
        tmp_path / "本次.xlsx",
        [valid_row(uscc=None, name="甲改"), valid_row(name="乙"), valid_row(name="乙重复")],
        policy,
    )
    document = json.loads(run(old, new, "--json", "-").stdout)
    assert [(c["uscc"], c["old_row"], [x["field"] for x in c["cells"]]) for c in document["changed"]] == [
        (None, 5, ["name"])
    ]
    assert [(e["row"], e["name"]) for e in document["added"]] == [(7, "乙重复")]
    assert document["removed"] == []


def test_moved_rows_match_by_credit_code(tmp_path: Path, policy) -> None:
    old = write_filled(tmp_path / "上次.xlsx", [valid_row(), valid_row(uscc=SECOND, name="乙")], policy)
    new = write_filled(tmp_path / "本次.xlsx", [valid_row(uscc=SECOND, name="乙"), None, valid_row()], policy)
    result = run(old, new, "--json", "-")
    assert result.exit_code == 0, result.output


def test_different_units_or_kinds_exit_2(tmp_path: Path) -> None:
    units = run(SHIHEZI, ALAR)
    assert units.exit_code == 2
    assert "填报单位不同" in units.output and "Traceback" not in units.output
    kinds = run(SHIHEZI, AWARDS)
    assert kinds.exit_code == 2
    assert "种类不同" in kinds.output
    plan = REPOSITORY / "addin/examples/plan.xlsx"
    assert run(plan, plan).exit_code == 2


def test_a_unit_filled_in_is_a_change(tmp_path: Path, policy) -> None:
    """A blank 填报单位 then filled in: comparable, and a change (two different units are not)."""
    old = tmp_path / "上次.xlsx"
    save_workbook(filled_application(policy, None, [valid_row()], template_rows=30), old)
    new = write_filled(tmp_path / "本次.xlsx", [valid_row()], policy)
    html = tmp_path / "对比.html"
    result = run(old, new, "--json", "-", "--html", html)
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["unit_change"] == {"old": None, "new": "第八师石河子市"}
    assert (document["added"], document["removed"], document["changed"]) == ([], [], [])
    assert "上次：（空）" in html.read_text("utf-8")
    assert "填报单位有变化" in run(old, new).output


def test_unreadable_file_exit_2_with_a_chinese_message(tmp_path: Path) -> None:
    broken = tmp_path / "损坏.xlsx"
    broken.write_bytes(b"not a workbook")
    result = run(broken, SHIHEZI, "--json", tmp_path / "out.json")
    assert result.exit_code == 2
    assert "无法比较" in result.output and "损坏.xlsx" in result.output
    assert "请上报用本工具模板填写" in result.output  # the fix too, not only what is wrong
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.json").exists()
    assert run(SHIHEZI, tmp_path / "不存在.xlsx").exit_code == 2


def test_output_never_overwrites_an_input(tmp_path: Path) -> None:
    old = tmp_path / "上次.xlsx"
    shutil.copyfile(SHIHEZI, old)
    before = old.read_bytes()
    result = run(old, SHIHEZI, "--json", old)
    assert result.exit_code == 2
    assert old.read_bytes() == before


def test_rich_markup_in_a_cell_is_printed_as_text(tmp_path: Path) -> None:
    old, new = tmp_path / "上次.xlsx", tmp_path / "本次.xlsx"
    shutil.copyfile(SHIHEZI, old)
    workbook = openpyxl.load_workbook(SHIHEZI)
    workbook[spec.DATA_SHEET][f"{LETTERS['name']}6"] = "[bold red]乙[/bold red]"
    workbook.save(new)
    result = run(old, new)
    assert result.exit_code == 1
    assert "[bold red]乙[/bold red]" in result.output


def test_awards_pair_with_a_changed_amount(tmp_path: Path) -> None:
    old, new = tmp_path / "上次.xlsx", tmp_path / "本次.xlsx"
    shutil.copyfile(AWARDS, old)
    workbook = openpyxl.load_workbook(AWARDS)
    sheet = workbook["典型案例"]
    assert sheet["G7"].value == 250000  # 五家渠's case, over the 20万元 cap
    sheet["G7"] = 200000
    workbook.save(new)
    result = run(old, new, "--json", "-")
    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert document["kind"] == "awards" and document["added"] == [] and document["removed"] == []
    (change,) = document["changed"]
    assert change["sheet"] == "典型案例" and change["old_row"] == change["new_row"] == 7
    assert change["cells"] == [
        {
            "field": "amount",
            "label": "奖励金额",
            "old_cell": "G7",
            "new_cell": "G7",
            "old": "250000.00",
            "new": "200000.00",
        }
    ]
    assert change["amounts"] == [
        {"field": "award", "label": "计入金额", "old": "250000.00", "new": "200000.00"}
    ]
    before, after = document["totals"]["before"]["by_source"], document["totals"]["after"]["by_source"]
    assert float(before["bingtuan"]) - float(after["bingtuan"]) == 50000
    assert before["central"] == after["central"] and before["division"] == after["division"]


def test_workbooks_saved_by_libreoffice(tmp_path: Path, policy) -> None:
    """Cached values present: OLD and NEW recalculated by LibreOffice compare as the openpyxl files do,
    and a file compares the same as its recalculated copy."""
    old, new = pair(tmp_path, policy)
    old_lo, new_lo = tmp_path / "上次-lo.xlsx", tmp_path / "本次-lo.xlsx"
    recalculate([(old, old_lo), (new, new_lo)])
    assert run(old, old_lo).exit_code == 0
    plain, saved = run(old, new, "--json", "-"), run(old_lo, new_lo, "--json", "-")
    assert saved.exit_code == 1, saved.output
    strip = lambda d: {k: v for k, v in d.items() if k not in ("old", "new")}  # noqa: E731
    assert strip(json.loads(saved.stdout)) == strip(json.loads(plain.stdout))


# --- which file is which (issue 27 item 5) ------------------------------------------------------------

EARLIER = REPOSITORY / "addin/examples/division-08-shihezi-revision-1.xlsx"


def test_the_revisions_and_dates_of_both_files_are_shown(tmp_path) -> None:
    out = tmp_path / "d.json"
    result = run(EARLIER, SHIHEZI, "--json", out, "--html", tmp_path / "d.html")
    text = result.output.replace("\n", "")
    assert "版本号：上次 1，本次 2（有变化）" in text
    assert "报送日期：上次 2026-03-10，本次 2026-03-20" in text
    assert "注意" not in text
    document = json.loads(out.read_text("utf-8"))
    assert (document["old"]["revision"], document["new"]["revision"]) == (1, 2)
    assert document["new"]["submitted_on"] == "2026-03-20" and document["notes"] == []
    assert "上次 1，本次 2" in (tmp_path / "d.html").read_text("utf-8")


def test_the_newer_file_first_is_warned_with_the_order_to_use(tmp_path) -> None:
    out = tmp_path / "d.json"
    result = run(SHIHEZI, EARLIER, "--json", out, "--html", tmp_path / "d.html")
    text = result.output.replace("\n", "")
    assert "顺序可能颠倒" in text
    assert f"dtfund diff {EARLIER} {SHIHEZI}".replace(" ", "") in text.replace(" ", "")
    assert json.loads(out.read_text("utf-8"))["notes"]
    assert "顺序可能颠倒" in (tmp_path / "d.html").read_text("utf-8")


def test_one_revision_with_the_later_date_first_gets_both_notes(tmp_path) -> None:
    """The same 版本号 twice, the later 报送日期 given first: both that the order looks reversed and
    that a changed workbook's 版本号 must go up (the second was dropped)."""
    later = tmp_path / "后报.xlsx"
    workbook = openpyxl.load_workbook(SHIHEZI)
    workbook[spec.DATA_SHEET][spec.SUBMITTED_ON_CELL] = dt.date(2026, 3, 25)
    workbook[spec.DATA_SHEET]["B5"] = "改过的企业名称"
    workbook.save(later)
    out = tmp_path / "d.json"
    text = run(later, SHIHEZI, "--json", out).output.replace("\n", "")
    assert "顺序可能颠倒" in text and "版本号应加 1" in text
    assert len(json.loads(out.read_text("utf-8"))["notes"]) == 2


def test_the_same_file_twice_is_said(tmp_path) -> None:
    copy = tmp_path / "副本.xlsx"
    shutil.copyfile(SHIHEZI, copy)
    result = run(SHIHEZI, copy)
    assert result.exit_code == 0
    said = result.output.replace("\n", "")
    assert "内容完全相同" in said and "同一份文件" in said


def test_the_terminal_lists_the_first_changed_entries_and_all_with_all(tmp_path: Path, policy) -> None:
    """Thousands of changed enterprises are not drawn as thousands of tables: the first ones are listed,
    the rest counted (the JSON holds them all); --all lists them all."""
    rows = [valid_row(uscc=valid_code(f"MA8{n:06d}"), name=f"企业{n:02d}") for n in range(55)]
    old, new = tmp_path / "上次.xlsx", tmp_path / "本次.xlsx"
    save_workbook(filled_application(policy, "第八师石河子市", rows, template_rows=60), old)
    changed = [{**r, "remark": "已更正"} for r in rows]
    save_workbook(filled_application(policy, "第八师石河子市", changed, template_rows=60), new)
    terminal = run(old, new)
    assert terminal.exit_code == 1
    assert "企业49" in terminal.output and "企业50" not in terminal.output
    assert "另有 5 家未列出" in terminal.output and "修改 55 家" in terminal.output
    everything = run(old, new, "--all")
    assert "企业54" in everything.output and "未列出" not in everything.output
    assert len(json.loads(run(old, new, "--json", "-").stdout)["changed"]) == 55


def test_diff_reads_values_and_amounts_without_running_the_rules(policy) -> None:
    """diff compares values and amounts, never issues: its files are read without their rules (the
    example's deliberate errors are not looked for), with the amounts a full check gives."""
    from addin.check.pipeline import check_file

    checked, read = check_file(SHIHEZI, policy), check_file(SHIHEZI, policy, rules=False)
    assert {i.rule for i in checked.issues} - {i.rule for i in read.issues}
    assert read.table.amounts.equals(checked.table.amounts)
    assert read.table.frame.equals(checked.table.frame)


def test_the_terminal_lists_the_first_added_and_removed_entries_and_all_with_all(
    tmp_path: Path, policy
) -> None:
    """Hundreds of new or dropped enterprises are listed as the changed ones are: the first ones, the
    rest counted; --all lists them all; the JSON holds them all."""
    kept = [valid_row(uscc=valid_code(f"MA7{n:06d}"), name=f"留存{n:02d}") for n in range(3)]
    gone = [valid_row(uscc=valid_code(f"MA8{n:06d}"), name=f"删除{n:02d}") for n in range(53)]
    came = [valid_row(uscc=valid_code(f"MA9{n:06d}"), name=f"新增{n:02d}") for n in range(52)]
    old, new = tmp_path / "上次.xlsx", tmp_path / "本次.xlsx"
    save_workbook(filled_application(policy, "第八师石河子市", kept + gone, template_rows=60), old)
    save_workbook(filled_application(policy, "第八师石河子市", kept + came, template_rows=60), new)
    terminal = run(old, new)
    assert terminal.exit_code == 1
    said = terminal.output.replace("\n", "")
    assert "新增49" in said and "新增50" not in said and "删除49" in said and "删除50" not in said
    assert "前 50 家新增的企业，另有 2 家未列出" in said and "前 50 家删除的企业，另有 3 家未列出" in said
    everything = run(old, new, "--all").output.replace("\n", "")
    assert "新增51" in everything and "删除52" in everything and "未列出" not in everything
    document = json.loads(run(old, new, "--json", "-").stdout)
    assert (len(document["added"]), len(document["removed"])) == (52, 53)


def test_awards_pair_with_a_code_changed_lists_the_entry_removed_and_added(tmp_path: Path) -> None:
    """An award row whose credit code changed is another entry: the old one removed and the new one added,
    each with its own row, name and 计入金额."""
    old, new = tmp_path / "上次.xlsx", tmp_path / "本次.xlsx"
    shutil.copyfile(AWARDS, old)
    workbook = openpyxl.load_workbook(AWARDS)
    sheet = workbook["典型案例"]
    assert sheet["B7"].value == "91659004MA79A2R3W3" and sheet["G7"].value == 250000
    sheet["B7"] = valid_code("MA79A2R3W")
    workbook.save(new)
    document = json.loads(run(old, new, "--json", "-").stdout)
    (removed,), (added,) = document["removed"], document["added"]
    assert (
        removed["row"] == added["row"] == 7 and removed["name"] == added["name"] == "五家渠青湖装备有限公司"
    )
    assert removed["uscc"] == "91659004MA79A2R3W3" and added["uscc"] == valid_code("MA79A2R3W")
    assert removed["amounts"] == added["amounts"] == {"award": "250000.00"}
