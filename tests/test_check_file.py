"""`dtfund check` on real workbooks: the round trip, the JSON shape, exit codes, bad files."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.cli import app
from addin.io.output import save_workbook
from addin.templates.bundled import EXAMPLES, REPOSITORY, filled_application
from tests.conftest import valid_code, valid_row

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


def write_filled(path: Path, rows, policy, template_rows: int = 50) -> Path:
    save_workbook(filled_application(policy, "第八师石河子市", rows, template_rows=template_rows), path)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_generate_fill_check(tmp_path: Path, policy) -> None:
    template = tmp_path / "template.xlsx"
    assert (
        run("template", "application", "-o", template, "--rows", "30", "--unit", "第八师石河子市").exit_code
        == 0
    )
    workbook = openpyxl.load_workbook(template)
    sheet = workbook[spec.DATA_SHEET]
    letters = spec.column_letters()
    rows = [
        valid_row(),
        valid_row(
            uscc=valid_code("MA77T3B5W"),
            paid=123456.79,
            contract_total=123456.79,
            software=123456.79,
            cloud=0,
            equipment=0,
            consulting=0,
            integration=0,
            other_service=0,
            claimed=61728.40,
        ),
    ]
    for offset, row in enumerate(rows):
        for name, value in row.items():
            sheet[f"{letters[name]}{spec.FIRST_DATA_ROW + offset}"] = value
    filled = tmp_path / "filled.xlsx"
    workbook.save(filled)
    out = tmp_path / "result.json"
    result = run("check", filled, "--json", out)
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text("utf-8"))
    assert document["valid"] is True
    second = document["rows"][1]
    assert second["row"] == 6
    assert second["amounts"]["transformation_subsidy"] == "61728.40"
    assert second["amounts"]["central"] == "43209.88"
    assert second["amounts"]["bingtuan"] == "9259.26"
    assert second["amounts"]["division_fund"] == "9259.26"


def test_json_has_the_agreed_shape(tmp_path: Path, policy) -> None:
    path = write_filled(tmp_path / "a.xlsx", [valid_row(claimed="80万")], policy)
    out = tmp_path / "r.json"
    result = run("check", path, "--json", out)
    assert result.exit_code == 1
    document = json.loads(out.read_text("utf-8"))
    assert {"file", "sha256", "template", "policy", "valid", "counts", "issues", "rows", "totals"} <= set(
        document
    )
    assert document["sha256"] == digest(path)
    assert document["template"] == {"id": spec.TEMPLATE_ID, "version": spec.TEMPLATE_VERSION}
    assert document["policy"] == {"id": policy.id, "version": policy.version}
    assert document["counts"] == {"error": 1, "warning": 0}
    issue = document["issues"][0]
    assert {
        "rule",
        "severity",
        "sheet",
        "cell",
        "row",
        "field",
        "value",
        "expected",
        "message",
        "clause",
    } <= set(issue)
    assert (issue["rule"], issue["sheet"], issue["cell"], issue["row"], issue["field"], issue["value"]) == (
        "VALUE_NOT_A_NUMBER",
        "申报表",
        "S5",
        5,
        "claimed",
        "80万",
    )
    row = document["rows"][0]
    assert {"row", "uscc", "name", "eligible", "amounts"} <= set(row)
    assert set(row["amounts"]) == {
        "service_total",
        "eligible_base",
        "transformation_subsidy",
        "central",
        "bingtuan",
        "division_fund",
        "progress_bonus",
        "honor_award",
        "total_award",
    }
    assert all(len(v.split(".")[1]) == 2 for v in row["amounts"].values())


def test_terminal_shows_cell_rule_clause_and_totals(tmp_path: Path, policy) -> None:
    path = write_filled(tmp_path / "a.xlsx", [valid_row(claimed=500000.01)], policy)
    result = runner.invoke(app, ["check", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 1
    for text in ("申报表!S5", "CLAIM_OVER_CAP", "第十条（一）1", "中央专项资金", "不通过"):
        assert text in result.output


def test_warnings_alone_exit_zero(tmp_path: Path, policy) -> None:
    path = write_filled(tmp_path / "a.xlsx", [valid_row(paid=1000000.01, claimed=None)], policy)
    out = tmp_path / "r.json"
    assert run("check", path, "--json", out).exit_code == 0
    assert json.loads(out.read_text("utf-8"))["counts"] == {
        "error": 0,
        "warning": 1,
    }  # paid over the contract


def test_policy_option_changes_the_cap_without_code(tmp_path: Path, policy) -> None:
    text = (REPOSITORY / "schemas/data/policy-xpcc-2025-03.yaml").read_text("utf-8")
    other = tmp_path / "other.yaml"
    other.write_text(
        text.replace('二级: "500000.00"', '二级: "300000.00"').replace(
            "version: 2025-03-征求意见稿", "version: 测试-上限30万"
        ),
        "utf-8",
    )
    path = write_filled(tmp_path / "a.xlsx", [valid_row(claimed=None)], policy)
    out = tmp_path / "r.json"
    assert run("check", path, "--json", out, "--policy", other).exit_code == 0
    document = json.loads(out.read_text("utf-8"))
    assert document["policy"]["version"] == "测试-上限30万"
    assert document["rows"][0]["amounts"]["transformation_subsidy"] == "300000.00"


def test_broken_policy_file_is_exit_2(tmp_path: Path, policy) -> None:
    other = tmp_path / "bad.yaml"
    other.write_text("id: x\nparameters: [1, 2", "utf-8")
    path = write_filled(tmp_path / "a.xlsx", [valid_row()], policy)
    result = run("check", path, "--policy", other)
    assert result.exit_code == 2
    assert "YAML" in result.output


def _rewrite_meta(source: Path, target: Path, old: str, new: str) -> None:
    """Copy a workbook, replacing a value in its _meta sheet's XML."""
    with zipfile.ZipFile(source) as inside, zipfile.ZipFile(target, "w") as outside:
        for entry in inside.infolist():
            data = inside.read(entry.filename)
            if old.encode() in data and entry.filename.startswith("xl/worksheets/"):
                data = data.replace(old.encode(), new.encode())
            outside.writestr(entry, data)


@pytest.mark.triggers("TEMPLATE_VERSION_UNSUPPORTED")
def test_unsupported_template_version(tmp_path: Path, policy) -> None:
    path = write_filled(tmp_path / "a.xlsx", [valid_row()], policy)
    old = tmp_path / "old.xlsx"
    _rewrite_meta(path, old, f"<t>{spec.TEMPLATE_VERSION}</t>", "<t>0.9</t>")
    out = tmp_path / "r.json"
    result = run("check", old, "--json", out)
    assert result.exit_code == 2
    document = json.loads(out.read_text("utf-8"))
    assert document["valid"] is False
    assert [i["rule"] for i in document["issues"]] == ["TEMPLATE_VERSION_UNSUPPORTED"]


@pytest.mark.triggers("TEMPLATE_NAME_MISSING")
def test_missing_defined_name(tmp_path: Path, policy) -> None:
    workbook = filled_application(policy, "第八师石河子市", [valid_row()], template_rows=20)
    del workbook.defined_names["claimed"]
    path = tmp_path / "damaged.xlsx"
    workbook.save(path)
    out = tmp_path / "r.json"
    assert run("check", path, "--json", out).exit_code == 2
    issues = json.loads(out.read_text("utf-8"))["issues"]
    assert issues[0]["rule"] == "TEMPLATE_NAME_MISSING" and "claimed" in issues[0]["message"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "另存为 .xlsx"),
        ("renamed.xlsx", b"this is a text file, not a workbook", "不是有效的 Excel"),
        ("truncated.xlsx", b"PK\x03\x04" + b"\0" * 40, "不是有效的 Excel"),
    ],
    ids=["xls", "text", "truncated"],
)
def test_unreadable_files_exit_2_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    result = run("check", path)
    assert result.exit_code == 2
    assert reason in result.output
    assert "Traceback" not in result.output


def test_encrypted_workbook_exit_2(tmp_path: Path) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    encrypted = io.BytesIO()
    with (REPOSITORY / EXAMPLES["第一师阿拉尔市"]).open("rb") as plain:
        OOXMLFile(plain).encrypt("secret", encrypted)
    path = tmp_path / "locked.xlsx"
    path.write_bytes(encrypted.getvalue())
    result = run("check", path)
    assert result.exit_code == 2
    assert "密码" in result.output


def test_a_workbook_that_is_not_our_template(tmp_path: Path) -> None:
    path = tmp_path / "other.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "企业名称"
    workbook.save(path)
    result = run("check", path)
    assert result.exit_code == 2
    assert "不是专项资金的申报表、资金使用计划表或奖励名单模板" in result.output


def test_missing_file_exit_2(tmp_path: Path) -> None:
    result = run("check", tmp_path / "nowhere.xlsx")
    assert result.exit_code == 2
    assert "找不到文件" in result.output


def test_input_is_never_modified_and_json_never_overwrites_it(tmp_path: Path, policy) -> None:
    path = write_filled(tmp_path / "a.xlsx", [valid_row(claimed="80万")], policy)
    before = digest(path)
    assert run("check", path, "--json", tmp_path / "r.json").exit_code == 1
    result = run("check", path, "--json", path)
    assert result.exit_code == 2
    assert "与输入文件相同" in result.output
    assert digest(path) == before


def test_stored_values_cached_by_a_spreadsheet_are_compared(tmp_path: Path, policy) -> None:
    """A number typed over a formula is FORMULA_VALUE_MISMATCH at its cell."""
    workbook = filled_application(policy, "第八师石河子市", [valid_row()], template_rows=20)
    letter = spec.column_letters()["central"]
    workbook[spec.DATA_SHEET][f"{letter}5"] = 999.0
    path = tmp_path / "typed.xlsx"
    workbook.save(path)
    out = tmp_path / "r.json"
    assert run("check", path, "--json", out).exit_code == 1
    issues = json.loads(out.read_text("utf-8"))["issues"]
    assert [(i["rule"], i["cell"]) for i in issues] == [("FORMULA_VALUE_MISMATCH", f"{letter}5")]


def test_dates_written_as_text_in_a_workbook(tmp_path: Path, policy) -> None:
    path = write_filled(
        tmp_path / "a.xlsx", [valid_row(contract_date="2025/01/15", evaluation_date="2025年11月20日")], policy
    )
    out = tmp_path / "r.json"
    assert run("check", path, "--json", out).exit_code == 1  # the template's formulas cannot compute them
    document = json.loads(out.read_text("utf-8"))
    assert [i["rule"] for i in document["issues"]] == ["DATE_STORED_AS_TEXT", "DATE_STORED_AS_TEXT"]
    assert all(i["severity"] == "error" for i in document["issues"])
    assert [i["expected"] for i in document["issues"]] == ["2025-01-15", "2025-11-20"]  # read, but
    assert document["rows"][0]["amounts"]["total_award"] == "0.00"  # the row counts nothing until fixed


def test_the_bundled_examples_check_as_documented(policy) -> None:
    """第八师's example holds its deliberate errors; its good rows compute as by hand."""
    path = REPOSITORY / EXAMPLES["第八师石河子市"]
    out_rules = {}
    result = run("check", path, "--json", "-")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    for issue in document["issues"]:
        out_rules.setdefault(issue["rule"], []).append(issue["cell"])
    assert out_rules == {
        "FEE_SERVICE_OVER_20": [f"{spec.column_letters()['service_total']}8"],
        "CLAIM_OVER_CAP": ["S9"],
        "NUMBER_STORED_AS_TEXT": ["R10"],
        "USCC_INVALID": ["B11"],
        "LEVEL_BELOW_2": ["J13"],
        "CONTRACT_DATE_OUT_OF_WINDOW": ["G14"],
    }
    rows = {r["row"]: r for r in document["rows"]}
    assert 12 not in rows, "the empty row is skipped"
    assert rows[7]["amounts"]["transformation_subsidy"] == "1500000.00"  # 四级 cap reached exactly
    assert rows[6]["amounts"]["honor_award"] == "500000.00"
    assert rows[8]["amounts"]["eligible_base"] == "750000.00"  # 800000 − (210000 − 160000)


def test_real_process_exit_codes_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_text("no", "utf-8")
    process = subprocess.run(
        [sys.executable, "-m", "addin", "check", str(bad)], capture_output=True, text=True
    )
    assert process.returncode == 2
    assert "Traceback" not in process.stderr + process.stdout
    good = REPOSITORY / EXAMPLES["第一师阿拉尔市"]
    process = subprocess.run(
        [sys.executable, "-m", "addin", "check", str(good), "--quiet"], capture_output=True, text=True
    )
    assert process.returncode == 1
    assert "校验结论" in process.stdout


def test_demo_runs(tmp_path: Path) -> None:
    result = run("demo", "--output-dir", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    assert "校验结论：不通过" in result.output and "汇总结论" in result.output
    assert (tmp_path / "demo" / "汇总.xlsx").exists()
    assert json.loads((tmp_path / "demo" / "汇总.json").read_text("utf-8"))["files"]


def test_dates_before_the_window_and_on_deadline(policy, tmp_path: Path) -> None:
    """2024-10-18 and 2025-12-31 are inclusive, through a real workbook."""
    rows = [
        valid_row(
            contract_date=dt.date(2024, 10, 18),
            completion_date=dt.date(2025, 12, 31),
            evaluation_date=dt.date(2025, 12, 31),
        ),
        valid_row(uscc=valid_code("MA77T3B5W"), evaluation_date=dt.date(2026, 1, 1)),
    ]
    path = write_filled(tmp_path / "a.xlsx", rows, policy)
    out = tmp_path / "r.json"
    assert run("check", path, "--json", out).exit_code == 0
    amounts = [r["amounts"]["progress_bonus"] for r in json.loads(out.read_text("utf-8"))["rows"]]
    assert amounts == ["100000.00", "0.00"]


def test_submitting_unit_is_required_and_must_be_known(tmp_path: Path, policy) -> None:
    workbook = filled_application(policy, "第八师石河子市", [valid_row()], template_rows=20)
    for unit, rule in ((None, "REQUIRED_MISSING"), ("第八师", "VALUE_NOT_ALLOWED")):
        workbook[spec.DATA_SHEET]["B2"] = unit
        path = tmp_path / "unit.xlsx"
        workbook.save(path)
        out = tmp_path / "r.json"
        assert run("check", path, "--json", out).exit_code == 1
        issues = json.loads(out.read_text("utf-8"))["issues"]
        assert [(i["rule"], i["cell"], i["field"]) for i in issues] == [(rule, "B2", "unit")]


@pytest.mark.triggers("FILE_UNREADABLE")
def test_unreadable_file_still_writes_a_json_document(tmp_path: Path) -> None:
    path = tmp_path / "renamed.xlsx"
    path.write_bytes(b"not a zip")
    out = tmp_path / "r.json"
    assert run("check", path, "--json", out).exit_code == 2
    document = json.loads(out.read_text("utf-8"))
    assert document["valid"] is False and document["rows"] == []
    assert document["sha256"] == digest(path)
    assert [i["rule"] for i in document["issues"]] == ["FILE_UNREADABLE"]
    assert "不是有效的 Excel" in document["issues"][0]["message"]


def test_the_terminal_lists_the_first_issues_and_counts_every_rule(tmp_path: Path, policy) -> None:
    """Thousands of issues are not drawn in the terminal: the first ones, then each rule's count, then
    where the rest are. --all lists every one; the JSON always holds every one."""
    from addin.reports.terminal_issues import TERMINAL_ISSUE_LIMIT

    count = TERMINAL_ISSUE_LIMIT + 15
    rows = [valid_row(uscc=f"BAD{n:04d}", name=f"企业{n}") for n in range(count)]
    path = write_filled(tmp_path / "many.xlsx", rows, policy, template_rows=count)
    listed = run("check", path)
    assert listed.exit_code == 1
    assert listed.output.count("USCC_INVALID") == TERMINAL_ISSUE_LIMIT + 1  # the rows, and its count
    assert "各规则问题数" in listed.output
    assert re.search(rf"│ USCC_INVALID +│ 错误 │[^│]+│ +{count} │ 申报表!B5 ", listed.output)
    assert f"以上列出前 {TERMINAL_ISSUE_LIMIT} 条问题，另有 15 条未列出" in listed.output
    everything = run("check", path, "--all")
    assert everything.output.count("USCC_INVALID") == count
    assert "各规则问题数" not in everything.output
    document = json.loads(run("check", path, "--json", "-").output)
    assert sum(issue["rule"] == "USCC_INVALID" for issue in document["issues"]) == count


def test_the_dtfund_process_exits_at_once_only_when_nothing_runs_in_the_background(monkeypatch) -> None:
    """`run` ends the process without freeing its objects one by one, with main's exit code, once the
    output is flushed; with a reading ahead or a cutting still under way it exits as usual (which
    removes their temporary files)."""
    from addin import cli
    from addin.io import process

    class HardExit(Exception):
        pass

    def hard_exit(code: int) -> None:
        raise HardExit(code)

    def main_exiting_with(code: int | None):
        def main() -> None:
            raise SystemExit(code)

        return main

    monkeypatch.setattr(process.os, "_exit", hard_exit)
    monkeypatch.setattr(process.read_ahead, "busy", lambda: False)
    for code, status in ((1, 1), (None, 0), (2, 2)):
        monkeypatch.setattr(cli, "main", main_exiting_with(code))
        monkeypatch.setattr(process, "cutting", lambda: False)
        with pytest.raises(HardExit) as hard:
            cli.run()
        assert hard.value.args == (status,)
        monkeypatch.setattr(process, "cutting", lambda: True)
        with pytest.raises(SystemExit) as usual:
            cli.run()
        assert usual.value.code == code
    monkeypatch.setattr(process, "cutting", lambda: False)
    monkeypatch.setattr(process.read_ahead, "busy", lambda: True)
    with pytest.raises(SystemExit):
        cli.run()


def test_the_dtfund_command_writes_all_its_output_before_it_exits(tmp_path: Path) -> None:
    """The process, as the clerk runs it: the whole JSON document on stdout, and the exit code."""
    path = REPOSITORY / EXAMPLES["第八师石河子市"]
    done = subprocess.run(
        [sys.executable, "-m", "addin", "check", str(path), "--json", "-"],
        capture_output=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 1
    document = json.loads(done.stdout)
    assert document["counts"]["error"] > 0
    assert len(document["issues"]) == sum(document["counts"].values())


def test_the_dtfund_process_runs_without_the_cycle_collector(monkeypatch, tmp_path: Path) -> None:
    import gc

    from addin import cli
    from addin.io import process

    class HardExit(Exception):
        pass

    def hard_exit(code: int) -> None:
        raise HardExit(code)

    collecting: list[bool] = []

    def main() -> None:
        collecting.append(gc.isenabled())
        cli.app()

    monkeypatch.setattr(process.os, "_exit", hard_exit)
    monkeypatch.setattr(cli, "main", main)
    monkeypatch.setattr(sys, "argv", ["dtfund", "check", str(REPOSITORY / EXAMPLES["第八师石河子市"]), "-q"])
    try:
        with pytest.raises((HardExit, SystemExit)) as exited:
            cli.run()
        code = exited.value.args[0] if exited.type is HardExit else exited.value.code
        assert code in (0, 1)
        assert collecting == [False]
    finally:
        gc.enable()


def test_the_totals_say_how_many_enterprises_have_errors() -> None:
    """符合条件 counts rows the rules give an amount; the line below says how many of them (and others)
    carry an error and are not paid until corrected."""
    from addin.check.pipeline import check_file, rows_with_errors
    from schemas.policy import load_policy

    example = REPOSITORY / EXAMPLES["第八师石河子市"]
    errors = rows_with_errors(check_file(example, load_policy()))
    assert errors == 6
    output = runner.invoke(app, ["check", str(example)], env={"COLUMNS": "200"}).output
    assert re.search(rf"其中暂缓拨付（有错误，改正前不予拨付）\s*│\s*{errors}\s", output), output


def test_an_error_on_the_file_holds_every_row_in_the_check_as_in_consolidate(tmp_path: Path) -> None:
    """The check's 暂缓拨付 count and consolidate's held list of the same file agree, also when an error
    stands on the file as a whole (a blank 填报单位 cell) and not on a row."""

    from addin.check.consolidate import consolidate
    from addin.check.pipeline import check_file, held_rows, rows_with_errors
    from addin.templates.bundled import EXAMPLE_PLAN
    from schemas.policy import load_policy

    policy = load_policy()
    workbook = openpyxl.load_workbook(REPOSITORY / EXAMPLES["第八师石河子市"])
    workbook[spec.DATA_SHEET][spec.UNIT_CELL] = None
    path = tmp_path / "no-unit.xlsx"
    workbook.save(path)
    result = check_file(path, policy)
    assert any(i.row is None or i.row == spec.UNIT_ROW for i in result.issues if i.severity == "error")
    assert rows_with_errors(result) == len(result.table.amounts) > 0
    assert held_rows(result)["held_by_file"].map(bool).all()
    gathered = consolidate([path], REPOSITORY / EXAMPLE_PLAN, policy).rows
    assert rows_with_errors(result) == int((~gathered["payable"]).sum())
