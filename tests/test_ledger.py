"""The fund's books (dtfund ledger, consolidate --ledger), on SQLite and on a real PostgreSQL server: a
batch is recorded once, whole or not at all; a second consolidation pays nothing twice and shows 补拨 and
应追回; the audit trail shows tampering; bad input and an unusable ledger are one sentence and exit 2."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal as D
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from addin import template_spec as spec
from addin.cli import app
from addin.io.output import save_workbook
from addin.ledger import store
from addin.templates.bundled import _costs, filled_application, shihezi_rows
from schemas.money import format_yuan
from schemas.policy import load_policy
from tests.conftest import valid_code
from tests.support.postgres import fresh_database

REPOSITORY = Path(__file__).resolve().parent.parent
EXAMPLES = REPOSITORY / "addin" / "examples"
FIRST = "2026年第一批"
runner = CliRunner()


def cli(*args: object):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger(request, tmp_path: Path) -> Iterator[str]:
    """A new ledger: a SQLite file not yet created, or an empty database on the PostgreSQL test server."""
    if request.param == "sqlite":
        yield str(tmp_path / "台账.sqlite")
    else:
        with fresh_database() as url:
            yield url


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    """A copy of the bundled examples (a test may change one)."""
    folder = tmp_path / "申报"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("plan.xlsx"))
    return folder


def consolidate(folder: Path | list[Path], out: Path, ledger: str | None) -> dict:
    inputs = folder if isinstance(folder, list) else [folder]
    plan = EXAMPLES / "plan.xlsx"
    extra = ["--ledger", ledger] if ledger else []
    result = cli(
        "consolidate", *inputs, "--plan", plan, "-o", out.with_suffix(".xlsx"), "--json", out, "-q", *extra
    )
    assert result.exit_code in (0, 1), result.output
    return json.loads(out.read_text(encoding="utf-8"))


def record(document: Path, ledger: str, batch: str = FIRST, doc: str = "兵财建〔2026〕1号"):
    return cli(
        "ledger",
        "record",
        document,
        "--batch",
        batch,
        "--doc",
        doc,
        "--date",
        "2026-04-30",
        "--ledger",
        ledger,
    )


def show(ledger: str) -> dict:
    result = cli("ledger", "show", "--json", "--ledger", ledger)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_bar_flow(ledger: str, examples: Path, tmp_path: Path) -> None:
    first = consolidate(examples, tmp_path / "第一批.json", ledger)
    payable = first["disbursement_totals"]["payable"]
    assert D(payable["total"]) > 0 and D(first["disbursement_totals"]["paid_before"]["total"]) == 0
    done = record(tmp_path / "第一批.json", ledger)
    assert done.exit_code == 0, done.output
    assert "已记入台账" in done.output and FIRST in done.output
    before = show(ledger)

    again = record(tmp_path / "第一批.json", ledger, doc="另一个文号")
    assert again.exit_code == 2 and "已记入台账" in again.output and "不能重复记账" in again.output
    assert show(ledger) == before, "a refused record changes nothing"

    paid = before["totals"]["paid"]
    assert paid == payable, "the ledger holds exactly what the list made payable, per source and in all"
    assert [b["name"] for b in before["batches"]] == [FIRST]

    second = consolidate(examples, tmp_path / "第二批.json", ledger)
    totals = second["disbursement_totals"]
    assert D(totals["payable"]["total"]) == 0
    assert totals["paid_before"] == payable and totals["held"] == first["disbursement_totals"]["held"]
    statuses = {r["ledger_status"] for r in second["disbursement"] if r["payable"]}
    assert statuses == {"已拨付"}
    planned = {(e["key"], e["source"]): e for e in second["execution"]}
    central = planned[("一", "central")]  # the JSON carries the 执行情况's ledger columns too
    assert (central["paid_before"], central["to_pay"]) == ("3430000.00", "0.00")
    assert D(central["left"]) == D(central["budget"]) - D("3430000.00")
    assert planned[("四", "bingtuan")]["paid_before"] is None, "award lists are not in the ledger"
    row = next(r for r in second["disbursement"] if r["payable"])
    assert row["paid_in"] == [f"{FIRST}（兵财建〔2026〕1号）"] and row["paid_before"]["total"] == row["total"]

    workbook = openpyxl.load_workbook(tmp_path / "第二批.xlsx", read_only=True)
    listed = list(workbook["拨付清单"].iter_rows(values_only=True))
    header = next(r for r in listed if r[0] == "填报单位")
    assert header[10:13] == ("已拨付（元）", "已承诺（元）", "台账")
    paid_row = next(r for r in listed if r[1] == row["name"])
    assert (paid_row[10], paid_row[11]) == (float(row["total"]),) * 2 and paid_row[12].startswith("已拨付：")
    assert paid_row[3:8] == (0, 0, 0, 0, 0), "what the list says to pay is what is owed now: nothing"
    total = next(r for r in listed if r[0] == "可拨付合计")
    assert total[3:8] == (0, 0, 0, 0, 0), "the section's total pays nothing a second time"
    decision = next(r[0] for r in listed if r[0] and r[0].startswith("可拨付："))
    assert "按规则计算的金额为 0" not in decision, "paid is not computed as 0"
    execution = list(workbook["执行情况"].iter_rows(values_only=True))
    line = next(r for r in execution if r[0] and r[0].startswith("（一）") and r[1] == "中央专项资金")
    assert line[9:12] == (3430000, 0, line[3] - 3430000)
    award_line = next(r for r in execution if r[0] and r[0].startswith("（四）"))
    assert award_line[5] > 0 and award_line[9:12] == ("—", "—", "—"), "award lists are not in the ledger"

    assert cli("ledger", "verify", "--ledger", ledger).exit_code == 0


def test_verify_names_the_first_entry_changed_in_the_file(examples: Path, tmp_path: Path) -> None:
    ledger = str(tmp_path / "台账.sqlite")
    consolidate(examples, tmp_path / "s.json", ledger)
    assert record(tmp_path / "s.json", ledger).exit_code == 0
    held = cli("ledger", "verify", "--ledger", ledger)
    assert held.exit_code == 0 and "校验链完整" in held.output
    with sqlite3.connect(ledger) as conn:
        conn.execute("UPDATE entries SET amount_fen = amount_fen + 100 WHERE seq IN (7, 9)")
    broken = cli("ledger", "verify", "--ledger", ledger)
    assert broken.exit_code == 1 and "第 7 条记录" in broken.output and "第 9 条" not in broken.output
    plan = EXAMPLES / "plan.xlsx"
    against = cli("consolidate", examples, "--plan", plan, "-o", tmp_path / "t.xlsx", "--ledger", ledger)
    assert against.exit_code == 2 and "第 7 条记录在记账后被改动过" in against.output
    assert not (tmp_path / "t.xlsx").exists(), "nothing is paid against a tampered ledger"
    onto = record(tmp_path / "s.json", ledger, batch="2026年第二批")
    assert onto.exit_code == 2 and "不能据此拨付或继续记账" in onto.output
    with sqlite3.connect(ledger) as conn:
        conn.execute("UPDATE entries SET amount_fen = amount_fen - 100 WHERE seq IN (7, 9)")
        conn.execute("DELETE FROM entries WHERE seq = (SELECT MAX(seq) FROM entries)")
    removed = cli("ledger", "verify", "--ledger", ledger)
    assert removed.exit_code == 1 and "被删除过" in removed.output


def test_the_sqlite_file_is_created_for_its_owner_only(examples: Path, tmp_path: Path) -> None:
    ledger = tmp_path / "新台账.sqlite"
    consolidate(examples, tmp_path / "s.json", str(ledger))
    assert not ledger.exists(), "consolidating against a ledger not yet made creates nothing"
    assert record(tmp_path / "s.json", str(ledger)).exit_code == 0
    assert stat.S_IMODE(ledger.stat().st_mode) == 0o600


def test_the_ledger_defaults_to_the_environment_then_the_current_folder(
    examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    consolidate(examples, tmp_path / "s.json", None)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(store.ENVIRONMENT, raising=False)
    args = ["ledger", "record", tmp_path / "s.json", "--batch", FIRST, "--doc", "d", "--date", "2026-04-30"]
    assert cli(*args).exit_code == 0
    assert (tmp_path / store.DEFAULT_FILE).exists()
    monkeypatch.setenv(store.ENVIRONMENT, str(tmp_path / "环境.sqlite"))
    assert cli(*args).exit_code == 0, "another ledger: the batch is new there"
    assert (tmp_path / "环境.sqlite").exists()
    second = consolidate(examples, tmp_path / "again.json", None)  # DTFUND_LEDGER is consulted
    assert D(second["disbursement_totals"]["payable"]["total"]) == 0


def _revision_3(path: Path) -> None:
    """第八师 revises again after the first batch: one paid enterprise's costs go down, another's up."""
    rows = shihezi_rows()
    for row in rows:
        if row and row["name"] == "石河子市天山纺织有限公司":
            row.update(_costs(800000, 300000, 100000, 200000, 100000, 60000, 40000), claimed=400000)
        if row and row["name"] == "石河子绿洲乳业有限公司":
            row.update(_costs(1400000, 900000, 150000, 180000, 120000, 30000, 20000), claimed=700000)
    save_workbook(
        filled_application(load_policy(), "第八师石河子市", rows, revision=(3, dt.date(2026, 5, 10))), path
    )


@pytest.mark.triggers("LEDGER_TO_RECOVER")
def test_a_revision_after_payment_shows_top_ups_and_recoveries(ledger: str, tmp_path: Path) -> None:
    earlier = EXAMPLES / "division-08-shihezi-revision-1.xlsx"
    consolidate([earlier], tmp_path / "r1.json", ledger)
    assert record(tmp_path / "r1.json", ledger).exit_code == 0
    later = tmp_path / "第八师-版本2.xlsx"
    shutil.copy(EXAMPLES / "division-08-shihezi.xlsx", later)
    second = consolidate([later], tmp_path / "r2.json", ledger)
    by_name = {r["name"]: r for r in second["disbursement"]}
    assert by_name["石河子绿洲乳业有限公司"]["ledger_status"] == "已拨付"
    assert by_name["石河子天业节水装备有限公司"]["ledger_status"] == ""  # new in revision 2: paid now

    revised = tmp_path / "第八师-版本3.xlsx"
    _revision_3(revised)
    third = consolidate([revised], tmp_path / "r3.json", ledger)
    by_name = {r["name"]: r for r in third["disbursement"]}
    top_up, recover = by_name["石河子绿洲乳业有限公司"], by_name["石河子市天山纺织有限公司"]
    assert top_up["ledger_status"] == "补拨"
    assert D(top_up["to_pay"]["total"]) == D(top_up["total"]) - D(top_up["paid_before"]["total"]) > 0
    listed = list(
        openpyxl.load_workbook(tmp_path / "r3.xlsx", read_only=True)["拨付清单"].iter_rows(values_only=True)
    )
    on_list = next(r for r in listed if r[1] == "石河子绿洲乳业有限公司")
    owed = [float(top_up["to_pay"][key]) for key in ("central", "bingtuan", "division_fund", "total")]
    assert [on_list[3], on_list[4], on_list[6], on_list[7]] == owed, "the list pays the top-up, per source"
    assert on_list[5] == pytest.approx(owed[0] + owed[1]) and on_list[11] == float(top_up["total"])
    assert recover["ledger_status"] == "应追回"
    assert (
        D(recover["to_recover"]["total"])
        == D(recover["paid_before"]["total"]) + D(recover["to_recover"]["total"]) - D(recover["total"])
        > 0
    )
    assert D(recover["to_pay"]["total"]) == 0, "a decrease is never netted against another payment"
    recovered = [i for i in third["issues"] if i["rule"] == "LEDGER_TO_RECOVER"]
    assert [(i["file"], i["row"], i["severity"]) for i in recovered] == [
        (recover["file"], recover["row"], "error")
    ]
    paid_total = D(recover["paid_before"]["total"]) + D(recover["to_recover"]["total"])
    assert format_yuan(paid_total) in recovered[0]["message"]
    assert not recover["payable"], "held until the recovery is settled"
    totals = third["disbursement_totals"]
    assert totals["to_recover"] == {k: recover["to_recover"][k] for k in totals["to_recover"]}

    done = record(tmp_path / "r3.json", ledger, batch="2026年第二批", doc="兵财建〔2026〕2号")
    assert done.exit_code == 0 and "应追回" in done.output
    paid = show(ledger)["totals"]["paid"]
    first_paid = D(json.loads((tmp_path / "r1.json").read_text())["disbursement_totals"]["payable"]["total"])
    assert D(paid["total"]) == first_paid + D(totals["payable"]["total"])
    assert cli("ledger", "verify", "--ledger", ledger).exit_code == 0


def test_a_list_made_before_another_batch_paid_its_enterprises_is_refused(
    ledger: str, examples: Path, tmp_path: Path
) -> None:
    consolidate(examples, tmp_path / "s.json", ledger)
    assert record(tmp_path / "s.json", ledger).exit_code == 0
    stale = record(tmp_path / "s.json", ledger, batch="2026年第二批")
    assert stale.exit_code == 2 and "已过时" in stale.output
    assert [b["name"] for b in show(ledger)["batches"]] == [FIRST]


def test_bad_input_is_one_sentence_and_changes_nothing(examples: Path, tmp_path: Path) -> None:
    ledger = str(tmp_path / "台账.sqlite")
    not_json = tmp_path / "x.json"
    not_json.write_text('{"files": []}', encoding="utf-8")
    refused = record(not_json, ledger)
    assert refused.exit_code == 2 and "不是 dtfund consolidate --json" in refused.output
    assert not Path(ledger).exists()
    bad_date = cli(
        "ledger", "record", not_json, "--batch", "b", "--doc", "d", "--date", "2026/4/30", "--ledger", ledger
    )
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output

    document = consolidate(examples, tmp_path / "s.json", None)
    del document["disbursement"][0]["lines"][0]["to_pay"]
    (tmp_path / "cut.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    cut = record(tmp_path / "cut.json", ledger)
    assert cut.exit_code == 2 and "不完整或被改动过" in cut.output and "Traceback" not in cut.output
    changed = examples / "division-01-alar.xlsx"
    changed.write_bytes(changed.read_bytes() + b"\0")
    refused = record(tmp_path / "s.json", ledger)
    assert refused.exit_code == 2 and "division-01-alar.xlsx 在汇总之后被改动过" in refused.output
    assert not Path(ledger).exists(), "nothing half-written: not even an empty ledger"

    unknown = cli("ledger", "show", "--batch", "第九批", "--ledger", ledger)
    assert unknown.exit_code == 2 and "没有批次" in unknown.output or "不存在" in unknown.output


def _recorded(tmp_path: Path, examples: Path) -> str:
    ledger = str(tmp_path / "台账.sqlite")
    consolidate([examples / "division-01-alar.xlsx"], tmp_path / "a.json", None)
    assert record(tmp_path / "a.json", ledger).exit_code == 0
    return ledger


def test_a_ledger_of_a_newer_dtfund_is_refused(examples: Path, tmp_path: Path) -> None:
    ledger = _recorded(tmp_path, examples)
    with sqlite3.connect(ledger) as conn:
        conn.execute("UPDATE ledger_schema SET version = ?", (store.SCHEMA_VERSION + 1,))
    for args in (["ledger", "show"], ["ledger", "verify"], ["ledger", "export", "-o", tmp_path / "t.xlsx"]):
        result = cli(*args, "--ledger", ledger)
        assert result.exit_code == 2 and "更新版本的 dtfund" in result.output, args
    newer = cli(
        "consolidate",
        examples,
        "--plan",
        EXAMPLES / "plan.xlsx",
        "-o",
        tmp_path / "s.xlsx",
        "--ledger",
        ledger,
    )
    assert newer.exit_code == 2 and "请升级 dtfund" in newer.output


def test_a_read_only_locked_or_unreachable_ledger_is_one_sentence(
    examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = _recorded(tmp_path, examples)
    consolidate([examples / "division-06-wujiaqu.xlsx"], tmp_path / "b.json", None)
    before = Path(ledger).read_bytes()
    read_only = record(tmp_path / "b.json", f"sqlite:///file:{ledger}?mode=ro&uri=true", batch="第二批")
    assert read_only.exit_code == 2 and "只读" in read_only.output
    monkeypatch.setattr(store, "WAIT_SECONDS", 0.2)
    holder = sqlite3.connect(ledger, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        locked = record(tmp_path / "b.json", ledger, batch="第二批")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert locked.exit_code == 2 and "正被另一个程序占用" in locked.output
    assert Path(ledger).read_bytes() == before
    gone = record(
        tmp_path / "b.json", f"postgresql://nobody@/dtfund?host={tmp_path}/没有服务", batch="第二批"
    )
    assert gone.exit_code == 2 and "无法连接台账数据库" in gone.output
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)")
    foreign = record(tmp_path / "b.json", str(other), batch="第二批")
    assert foreign.exit_code == 2 and "不是 dtfund 台账" in foreign.output


def test_export_and_report_are_printable_books(examples: Path, tmp_path: Path) -> None:
    ledger = _recorded(tmp_path, examples)
    consolidate([examples / "division-06-wujiaqu.xlsx"], tmp_path / "b.json", None)
    assert record(tmp_path / "b.json", ledger, batch="2026年第二批", doc="兵财建〔2026〕2号").exit_code == 0
    out = tmp_path / "台账.xlsx"
    assert cli("ledger", "export", "-o", out, "--ledger", ledger).exit_code == 0
    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == ["汇总", FIRST, "2026年第二批"]
    summary = [r for r in workbook["汇总"].iter_rows(values_only=True)]
    total = next(r for r in summary if r[0] == "合计")
    books = show(ledger)
    assert total[7] == float(books["totals"]["paid"]["total"])
    for sheet in workbook.worksheets:
        assert sheet.page_setup.paperSize == 9 and sheet.print_title_rows
        assert "&P" in sheet.oddFooter.center.text
        assert any(str(r[0]).startswith("经办人") for r in sheet.iter_rows(values_only=True) if r[0])
    batch = list(workbook[FIRST].iter_rows(values_only=True))
    assert sum(r[6] for r in batch if isinstance(r[0], int)) == float(books["batches"][0]["paid"]["total"])
    report = tmp_path / "拨付情况.xlsx"
    assert cli("ledger", "report", "-o", report, "--ledger", ledger).exit_code == 0
    assert openpyxl.load_workbook(report).sheetnames == ["拨付情况"]


# --- processes: killed mid-record, and two at once -----------------------------------------------------

# Runs `dtfund` with each entry's hash slowed down, so that a batch's transaction lasts long enough to be
# killed inside or to overlap another; the first hash (inside the transaction) touches the file MARKER.
SLOW_DTFUND = """
import os, sys, time
from pathlib import Path
import addin.ledger.store as store
original = store.entry_hash
def slow(content, batch):
    Path(os.environ["MARKER"]).touch()
    time.sleep(float(os.environ["PAUSE"]))
    return original(content, batch)
store.entry_hash = slow
from addin.cli import main
sys.argv = ["dtfund", *sys.argv[1:]]
main()
"""


def _slow_record(tmp_path: Path, document: Path, ledger: str, batch: str, marker: Path, pause: float):
    script = tmp_path / "slow_dtfund.py"
    script.write_text(SLOW_DTFUND, encoding="utf-8")
    env = {**os.environ, "MARKER": str(marker), "PAUSE": str(pause), "PYTHONPATH": str(REPOSITORY)}
    args = ["ledger", "record", str(document), "--batch", batch, "--doc", "d", "--date", "2026-04-30"]
    return subprocess.Popen(
        [sys.executable, str(script), *args, "--ledger", ledger],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _batches(ledger: str) -> dict[str, int]:
    """Each batch recorded and its entries (none: the ledger was never written)."""
    result = cli("ledger", "show", "--json", "--ledger", ledger)
    if result.exit_code == 2 and "不存在" in result.output:
        return {}
    assert result.exit_code == 0, result.output
    return {b["name"]: b["entries"] for b in json.loads(result.stdout)["batches"]}


def test_a_record_killed_at_any_moment_leaves_all_of_its_batch_or_none(
    ledger: str, examples: Path, tmp_path: Path
) -> None:
    document = tmp_path / "s.json"
    expected = D(consolidate(examples, document, ledger)["disbursement_totals"]["payable"]["total"])
    chance = random.Random(29)
    outcomes = set()
    for attempt in range(5):
        marker = tmp_path / f"started-{attempt}"
        process = _slow_record(tmp_path, document, ledger, FIRST, marker, pause=0.02)
        if attempt % 2 == 0:  # inside the transaction, at a random entry
            deadline = time.monotonic() + 60
            while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(chance.uniform(0, 0.5))
        else:  # at a random moment of the whole command
            time.sleep(chance.uniform(0.2, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        batches = _batches(ledger)
        assert batches in ({}, {FIRST: batches.get(FIRST)}), batches
        if batches:
            recorded = show(ledger)["batches"][0]
            assert D(recorded["paid"]["total"]) == expected, "a batch is recorded whole"
            assert cli("ledger", "verify", "--ledger", ledger).exit_code == 0
        outcomes.add(bool(batches))
        if batches:
            break
    assert False in outcomes, "at least one kill landed before the commit"
    if not _batches(ledger):
        assert record(document, ledger).exit_code == 0, "the ledger is usable after the kills"
    assert D(show(ledger)["totals"]["paid"]["total"]) == expected
    assert cli("ledger", "verify", "--ledger", ledger).exit_code == 0


def test_two_records_at_once_are_serialised(ledger: str, examples: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    a = consolidate([examples / "division-01-alar.xlsx"], first, ledger)["disbursement_totals"]["payable"]
    b = consolidate([examples / "division-06-wujiaqu.xlsx"], second, ledger)["disbursement_totals"]["payable"]
    processes = [
        _slow_record(tmp_path, document, ledger, batch, tmp_path / f"m-{batch}", pause=0.03)
        for document, batch in ((first, "第一师批次"), (second, "第六师批次"))
    ]
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output.decode("utf-8", "replace")
    books = show(ledger)
    assert sorted(b["name"] for b in books["batches"]) == ["第一师批次", "第六师批次"]
    for field, amount in books["totals"]["paid"].items():
        assert D(amount) == D(a[field]) + D(b[field]), field
    assert cli("ledger", "verify", "--ledger", ledger).exit_code == 0


def test_a_correction_reverses_entries_and_leaves_them_in_place(
    ledger: str, examples: Path, tmp_path: Path
) -> None:
    document = tmp_path / "a.json"
    payable = consolidate([examples / "division-01-alar.xlsx"], document, ledger)["disbursement_totals"][
        "payable"
    ]
    assert record(document, ledger).exit_code == 0
    args = ["ledger", "reverse", "--doc", "兵财建〔2026〕9号", "--date", "2026-06-01", "--ledger", ledger]
    assert cli(*args, "--batch", "更正", "--of-batch", FIRST).exit_code == 0
    books = show(ledger)
    assert [b["name"] for b in books["batches"]] == [FIRST, "更正"]
    assert books["batches"][0]["paid"] == payable, "the reversed entries stay as they were"
    assert D(books["totals"]["paid"]["total"]) == 0
    twice = cli(*args, "--batch", "再更正", "--entry", 1)
    assert twice.exit_code == 2 and "已被第" in twice.output
    again = consolidate([examples / "division-01-alar.xlsx"], tmp_path / "b.json", ledger)
    assert again["disbursement_totals"]["payable"] == payable, "what was reversed is owed again"
    entries = json.loads(cli("ledger", "show", "--json", "--batch", "更正", "--ledger", ledger).stdout)[
        "entries"
    ]
    assert {e["kind"] for e in entries} == {"reversal"} and sorted(e["reverses"] for e in entries) == list(
        range(1, len(entries) + 1)
    )
    assert cli("ledger", "verify", "--ledger", ledger).exit_code == 0


def test_a_read_only_or_locked_postgresql_ledger_is_one_sentence(
    examples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    consolidate([examples / "division-06-wujiaqu.xlsx"], tmp_path / "b.json", None)
    with fresh_database() as url:
        read_only = record(tmp_path / "b.json", url + "&options=-c%20default_transaction_read_only%3Don")
        assert read_only.exit_code == 2 and "只读" in read_only.output
        monkeypatch.setattr(store, "WAIT_SECONDS", 0.3)
        with psycopg.connect(url) as holder:
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (store.ADVISORY_LOCK,))
            locked = record(tmp_path / "b.json", url)
        assert locked.exit_code == 2 and "正被另一个程序占用" in locked.output
        assert show(url)["batches"] == []
        assert record(tmp_path / "b.json", url).exit_code == 0, "usable once the lock is released"


def test_export_never_replaces_a_persons_workbook_without_force(examples: Path, tmp_path: Path) -> None:
    """Issue 27's rule holds for the ledger's books too: a workbook dtfund did not make is kept."""
    ledger = _recorded(tmp_path, examples)
    for command in ("export", "report"):
        kept = tmp_path / f"{command}-手工.xlsx"
        kept.write_bytes(b"a person's workbook")
        refused = cli("ledger", command, "-o", kept, "--ledger", ledger)
        assert refused.exit_code == 2 and "--force" in refused.output.replace("\n", "")
        assert kept.read_bytes() == b"a person's workbook"
        assert cli("ledger", command, "-o", kept, "--ledger", ledger, "--force").exit_code == 0
        assert openpyxl.load_workbook(kept).sheetnames


# --- one batch's entries, and batches with nothing to pay ------------------------------------------------


def test_show_batch_lists_that_batchs_entries_for_a_clerk_to_reverse(examples: Path, tmp_path: Path) -> None:
    ledger = _recorded(tmp_path, examples)
    consolidate([examples / "division-06-wujiaqu.xlsx"], tmp_path / "b.json", None)
    assert record(tmp_path / "b.json", ledger, batch="2026年第二批", doc="兵财建〔2026〕2号").exit_code == 0
    args = ["ledger", "reverse", "--batch", "更正", "--doc", "兵财建〔2026〕9号", "--date", "2026-06-01"]
    assert cli(*args, "--entry", 2, "--ledger", ledger).exit_code == 0
    entries = json.loads(cli("ledger", "show", "--json", "--batch", FIRST, "--ledger", ledger).stdout)[
        "entries"
    ]
    listed = cli("ledger", "show", "--batch", FIRST, "--ledger", ledger)
    assert listed.exit_code == 0, listed.output
    assert listed.output != cli("ledger", "show", "--ledger", ledger).output
    assert "2026年第二批" not in listed.output and "五家渠" not in listed.output, "that batch only"
    cells = [line.split("│") for line in listed.output.splitlines()]
    rows = {int(c[1]): "│".join(c) for c in cells if len(c) == 10 and c[1].strip().isdigit()}
    assert sorted(rows) == [e["seq"] for e in entries] and len(entries) > 2
    sources = load_policy(None).funding_sources
    for entry in entries:
        row = rows[entry["seq"]]
        line = entry["line_name"][: entry["line_name"].index("）") + 1]  # its number: （一）
        for text in (entry["enterprise"], entry["uscc"], entry["unit"], line):
            assert text in row, (text, row)
        assert sources[entry["source"]][:2] in row and f"{D(entry['amount']):,.2f}" in row  # 中央, 兵团
    assert "已被第" in rows[2] and "冲销" not in rows[1]
    (reversal,) = json.loads(cli("ledger", "show", "--json", "--batch", "更正", "--ledger", ledger).stdout)[
        "entries"
    ]
    assert [e["reversed_by"] for e in entries][:3] == [None, reversal["seq"], None]
    assert f"已被第 {reversal['seq']} 条冲销" in rows[2]
    correction = cli("ledger", "show", "--batch", "更正", "--ledger", ledger)
    assert "冲销第 2 条" in correction.output and f"-{D(entries[1]['amount']):,.2f}" in correction.output

    unknown = cli("ledger", "show", "--batch", "第九批", "--ledger", ledger)
    assert unknown.exit_code == 2 and "没有批次“第九批”" in unknown.output and FIRST in unknown.output
    assert "Traceback" not in unknown.output


def test_a_consolidation_with_nothing_left_to_pay_is_not_recorded(
    ledger: str, examples: Path, tmp_path: Path
) -> None:
    consolidate(examples, tmp_path / "第一批.json", ledger)
    assert record(tmp_path / "第一批.json", ledger).exit_code == 0
    second = consolidate(examples, tmp_path / "第二批.json", ledger)
    assert D(second["disbursement_totals"]["payable"]["total"]) == 0
    before = show(ledger)
    empty = record(tmp_path / "第二批.json", ledger, batch="2026年第二批")
    assert empty.exit_code == 2 and "没有尚未拨付的可拨付金额" in empty.output and "没有记账" in empty.output
    assert "Traceback" not in empty.output
    assert show(ledger) == before, "nothing is written, and the batch name stays free"
    verified = cli("ledger", "verify", "--ledger", ledger)
    assert verified.exit_code == 0 and "1 个批次" in verified.output

    document = json.loads((tmp_path / "第一批.json").read_text(encoding="utf-8"))
    for row in document["disbursement"]:
        row["payable"] = False
    (tmp_path / "暂缓.json").write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    fresh = str(tmp_path / "新台账.sqlite")
    held = record(tmp_path / "暂缓.json", fresh)
    assert held.exit_code == 2 and "没有可拨付的企业" in held.output
    assert not Path(fresh).exists(), "not even an empty ledger"


def test_verify_counts_the_batches_show_and_export_list(examples: Path, tmp_path: Path) -> None:
    """A batch without entries (as an earlier dtfund could record) is a batch to verify as to show."""
    ledger = _recorded(tmp_path, examples)
    with sqlite3.connect(ledger) as conn:
        conn.execute(
            "INSERT INTO batches SELECT id + 1, '2026年第二批', doc, date, recorded_at, "
            "consolidation_sha256, 0 FROM batches"
        )
    assert len(show(ledger)["batches"]) == 2
    verified = cli("ledger", "verify", "--ledger", ledger)
    assert verified.exit_code == 0 and "2 个批次" in verified.output
    listed = cli("ledger", "show", "--batch", "2026年第二批", "--ledger", ledger)
    assert listed.exit_code == 0 and "没有记录" in listed.output


def test_the_ledger_never_writes_a_batch_without_entries(tmp_path: Path) -> None:
    books = store.Ledger(str(tmp_path / "台账.sqlite"))
    batch = store.Batch(FIRST, "d", "2026-04-30", "2026-04-30T00:00:00+08:00", "0" * 64)
    with pytest.raises(store.LedgerError, match="没有可记入的记录"):
        books.record(batch, lambda _reader: [])
    assert books.batch_rows() == [], "the file made for it stays, empty (see the test below)"


def test_a_refused_record_never_removes_a_ledger_another_record_wrote(examples: Path, tmp_path: Path) -> None:
    """A record that made the SQLite file and is then refused must not remove the file: another
    record may have written its batch into it meanwhile (the next consolidation would pay it again)."""
    consolidate(examples, tmp_path / "s.json", None)
    path = tmp_path / "台账.sqlite"
    books = store.Ledger(str(path))
    begin = books._transaction

    def after_another_clerk_recorded(write: bool):
        assert record(tmp_path / "s.json", str(path)).exit_code == 0  # between the file's making and the lock
        return begin(write=write)

    books._transaction = after_another_clerk_recorded
    batch = store.Batch(FIRST, "d", "2026-04-30", "2026-04-30T00:00:00+08:00", "0" * 64)
    with pytest.raises(store.LedgerError, match="同一批次不能重复记账"):
        books.record(batch, lambda _reader: [])
    assert [row["name"] for row in store.Ledger(str(path)).batch_rows()] == [FIRST]


def test_a_ledger_that_does_not_exist_yet_is_said_so(examples: Path, tmp_path: Path) -> None:
    """A mistyped --ledger names no file: consolidate says it counts nothing as paid, and record says
    it made a new ledger, so a clerk sees it before paying again what another ledger holds."""
    path = tmp_path / "打错的台账.sqlite"
    out = tmp_path / "s.json"
    result = cli(
        "consolidate",
        examples,
        "--plan",
        EXAMPLES / "plan.xlsx",
        "-o",
        out.with_suffix(".xlsx"),
        "--json",
        out,
        "--ledger",
        path,
    )
    said = result.output.replace("\n", "")
    assert "该台账文件尚不存在（还没有记过账），按此前没有拨付过任何款项汇总" in said and not path.exists()
    book = openpyxl.load_workbook(out.with_suffix(".xlsx"), read_only=True)
    assert any(
        "该台账文件尚不存在" in str(c)
        for row in book["拨付清单"].iter_rows(max_row=8, values_only=True)
        for c in row
    )
    recorded = record(out, str(path)).output.replace("\n", "")
    assert "原先不存在，已新建" in recorded
    assert "原先不存在" not in record(out, str(path), batch="2026年第二批").output


def test_a_batch_from_an_incomplete_consolidation_says_what_it_leaves_out(
    examples: Path, tmp_path: Path
) -> None:
    """The complete units are paid (a batch at a time is how the fund pays); the clerk is told which
    files were not summed, so their enterprises are not taken as paid."""
    (examples / "说明.txt").write_text("各师市报送材料", encoding="utf-8")
    out = tmp_path / "汇总.json"
    result = cli(
        "consolidate", examples, "--plan", EXAMPLES / "plan.xlsx", "-o", tmp_path / "汇总.xlsx", "--json", out
    )
    assert result.exit_code == 2, result.output
    assert not json.loads(out.read_text(encoding="utf-8"))["complete"]
    recorded = record(out, str(tmp_path / "台账.sqlite"))
    assert recorded.exit_code == 0, recorded.output
    said = recorded.output.replace("\n", "")
    assert (
        "注意：有 1 个文件未能汇总（无法读取、模板被改动或不是 .xlsx 工作簿），汇总不完整（说明.txt）" in said
    )
    complete = tmp_path / "完整.json"
    (examples / "说明.txt").unlink()
    consolidate(examples, complete, None)
    again = record(complete, str(tmp_path / "另一台账.sqlite"))
    assert again.exit_code == 0 and "未能汇总" not in again.output


@pytest.mark.triggers("LEDGER_OVER_BUDGET")
def test_what_the_ledger_paid_and_what_is_payable_now_keep_within_each_budget(tmp_path: Path) -> None:
    """Batch after batch, each list stays within the plan on its own, but what earlier batches paid and
    what this one can pay pass a line's budget: an error at the plan's cell, and a note on the 拨付清单
    (record's own check, under the ledger's lock, is the test below)."""
    from addin.check.consolidate import apply_ledger
    from addin.check.consolidate import consolidate as run_consolidation
    from addin.reports.summary_workbook import write_summary
    from schemas.ledger_balance import PaidBefore

    c = run_consolidation([EXAMPLES], EXAMPLES / "plan.xlsx", load_policy())
    line = next(item for item in c.execution if (item.line.key, item.source) == ("一", "bingtuan"))
    assert not [i for i in c.issues if i.rule == "BUDGET_EXCEEDED"] and line.payable > 0
    earlier = line.budget - line.payable + D("0.01")  # a cent too much with this list's payable amounts
    apply_ledger(c, PaidBefore(by_line={("一", "bingtuan"): earlier}), "台账.sqlite")
    [over] = [i for i in c.issues if i.rule == "LEDGER_OVER_BUDGET"]
    assert (over.file, over.severity) == ("plan.xlsx", "error") and over.cell
    assert "超出 0.01 元" in over.message and "兵团配套资金" in over.message
    write_summary(c, tmp_path / "汇总.xlsx")
    book = openpyxl.load_workbook(tmp_path / "汇总.xlsx", read_only=True)
    notes = [v for row in book["拨付清单"].iter_rows(values_only=True) for v in row if v]
    assert any(str(v).startswith("注意：资金台账已拨付与本次可拨付合计超出资金使用计划") for v in notes)
    within = run_consolidation([EXAMPLES], EXAMPLES / "plan.xlsx", load_policy())
    apply_ledger(within, PaidBefore(by_line={("一", "bingtuan"): earlier - D("0.01")}), "台账.sqlite")
    assert not [i for i in within.issues if i.rule == "LEDGER_OVER_BUDGET"], "exactly the budget is within it"


@pytest.mark.triggers("LEDGER_PAID_UNDER_OTHER_CODE")
def test_a_paid_enterprise_under_a_corrected_code_is_held_not_paid_again(ledger: str, tmp_path: Path) -> None:
    """A revision changes only a paid enterprise's credit code: the ledger paid nothing under the new
    code, but paid its unit's enterprise of the same name under the old one. Held with an error, not
    paid in full a second time."""
    earlier = EXAMPLES / "division-08-shihezi-revision-1.xlsx"
    consolidate([earlier], tmp_path / "r1.json", ledger)
    assert record(tmp_path / "r1.json", ledger).exit_code == 0
    revised = tmp_path / "第八师-第2版.xlsx"
    workbook = openpyxl.load_workbook(earlier)
    sheet = workbook["申报表"]
    row = next(r for r in range(5, 12) if sheet.cell(r, 1).value == "石河子绿洲乳业有限公司")
    old_code, new_code = sheet.cell(row, 2).value, valid_code("MA77T3B5Y")
    assert new_code != old_code
    sheet.cell(row, 2).value = new_code
    sheet["D2"] = 2
    workbook.save(revised)
    second = consolidate([revised], tmp_path / "r2.json", ledger)
    [issue] = [i for i in second["issues"] if i["rule"] == "LEDGER_PAID_UNDER_OTHER_CODE"]
    assert (issue["row"], issue["severity"]) == (row, "error")
    assert old_code in issue["message"] and new_code in issue["message"]
    [entry] = [r for r in second["disbursement"] if r["uscc"] == new_code]
    assert not entry["payable"] and D(entry["to_pay"]["total"]) == 0
    # consolidated without --ledger (and only that enterprise on it), the list pays it: record, under
    # the ledger's lock, refuses it
    for other in (r for r in range(5, 12) if r != row):
        for cell in sheet[other]:
            if cell.data_type != "f":  # the typed cells; the template's formulas stay
                cell.value = None
    only = tmp_path / "第八师-只有一家.xlsx"
    workbook.save(only)
    consolidate([only], tmp_path / "无台账.json", None)
    refused = record(tmp_path / "无台账.json", ledger, batch="2026年第二批")
    assert refused.exit_code == 2 and "LEDGER_PAID_UNDER_OTHER_CODE" in refused.output.replace("\n", "")
    assert len(show(ledger)["batches"]) == 1


def test_a_paid_row_whose_amounts_cannot_be_computed_claims_no_recovery(ledger: str, tmp_path: Path) -> None:
    """A revision types a paid enterprise's 实际支付金额 as text: the row counts nothing until corrected
    (NUMBER_STORED_AS_TEXT), which made its whole payment 应追回. What it now commits is not known:
    金额待定, no LEDGER_TO_RECOVER, and the 拨付清单 shows what it was paid."""
    earlier = EXAMPLES / "division-08-shihezi-revision-1.xlsx"
    first = consolidate([earlier], tmp_path / "r1.json", ledger)
    assert record(tmp_path / "r1.json", ledger).exit_code == 0
    paid = next(r for r in first["disbursement"] if r["payable"] and D(r["total"]) > 0)
    revised = tmp_path / "第八师-第2版.xlsx"
    workbook = openpyxl.load_workbook(earlier)
    sheet = workbook["申报表"]
    row = next(r for r in range(5, 12) if sheet.cell(r, 1).value == paid["name"])
    paid_cell = f"{spec.column_letters()['paid']}{row}"
    sheet[paid_cell] = f"{sheet[paid_cell].value:,.2f}"
    sheet["D2"] = 2
    workbook.save(revised)
    second = consolidate([revised], tmp_path / "r2.json", ledger)
    entry = next(r for r in second["disbursement"] if r["name"] == paid["name"])
    assert entry["ledger_status"] == "金额待定" and not entry["payable"]
    assert D(entry["to_recover"]["total"]) == 0 == D(second["disbursement_totals"]["to_recover"]["total"])
    assert D(entry["paid_before"]["total"]) == D(paid["total"]), "what it was paid, every output alike"
    assert not [i for i in second["issues"] if i["rule"] == "LEDGER_TO_RECOVER"]
    assert any(i["rule"] == "NUMBER_STORED_AS_TEXT" and i["row"] == row for i in second["issues"])
    listed = list(
        openpyxl.load_workbook(tmp_path / "r2.xlsx", read_only=True)["拨付清单"].iter_rows(values_only=True)
    )
    on_list = next(r for r in listed if r[1] == paid["name"])
    assert on_list[10] == float(paid["total"]) and on_list[12].startswith("金额待定：")


def test_the_last_entrys_code_is_shown_to_be_held_against_a_truncation(
    examples: Path, tmp_path: Path
) -> None:
    """The chain cannot tell that its last entries were taken off whole: record and verify show the last
    entry's code to write down and hold a later verify to."""
    ledger = str(tmp_path / "台账.sqlite")
    consolidate(examples, tmp_path / "s.json", ledger)
    recorded = record(tmp_path / "s.json", ledger)
    code = re.search(r"校验码：([0-9a-f]{16})", recorded.output).group(1)
    assert code in cli("ledger", "verify", "--ledger", ledger).output.replace("\n", "")
    with sqlite3.connect(ledger) as conn:
        conn.execute("DELETE FROM entries WHERE seq = (SELECT MAX(seq) FROM entries)")
        conn.execute("UPDATE batches SET entries = entries - 1")
    verified = cli("ledger", "verify", "--ledger", ledger)
    assert verified.exit_code == 0 and code not in verified.output.replace("\n", ""), "the code tells"


@pytest.mark.parametrize("against_the_ledger", [True, False])
def test_record_keeps_each_budget_whatever_the_list_was_consolidated_against(
    against_the_ledger: bool, tmp_path: Path
) -> None:
    """（二）兵团's budget cut to 500,000: 第八师 pays 450,000 on it, then 第一师's list, 350,000 on it
    and within the plan on its own. Recorded, they would pay 800,000: refused under the ledger's lock,
    whether the list was consolidated with --ledger (LEDGER_OVER_BUDGET) or without it."""
    plan = tmp_path / "计划.xlsx"
    book = openpyxl.load_workbook(EXAMPLES / "plan.xlsx")
    book.worksheets[0]["E5"] = 50  # 万元
    book.save(plan)
    ledger = str(tmp_path / "台账.sqlite")

    def listed(name: str, with_ledger: bool) -> Path:
        out = tmp_path / f"{name}.json"
        extra = ["--ledger", ledger] if with_ledger else []
        cli(
            "consolidate",
            EXAMPLES / name,
            "--plan",
            plan,
            "-o",
            out.with_suffix(".xlsx"),
            "--json",
            out,
            "-q",
            *extra,
        )
        return out

    assert record(listed("division-08-shihezi-revision-1.xlsx", True), ledger).exit_code == 0
    second = listed("division-01-alar.xlsx", against_the_ledger)
    refused = record(second, ledger, batch="2026年第二批")
    assert refused.exit_code == 2 and "超过计划" in refused.output and "台账未改动" in refused.output
    assert [b["name"] for b in show(ledger)["batches"]] == [FIRST]
