"""Recording a batch: the payable rows of a `dtfund consolidate --json` result, line by line and source by
source, as ledger entries; refused when the JSON is not a consolidation, when a file it consolidated has
changed since, or when the ledger has paid any of its enterprises since (its payable amounts would then
pay twice: they are settled again against the ledger inside the writing transaction)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson

from addin.beijing_time import beijing_timestamp
from addin.ledger.store import PAYMENT, REVERSAL, Batch, Ledger, LedgerError, Reader, fen
from schemas.ledger_balance import TO_RECOVER, PaidBefore, Part, paid_under_other_codes, settle
from schemas.money import ZERO
from schemas.policy import load_policy

REQUIRED = ("policy", "files", "disbursement", "disbursement_totals")
COUNTED = "consolidated"
# what a correction repeats of the entry it reverses
CORRECTED_FIELDS = (
    *("unit", "enterprise", "uscc", "enterprise_key", "line", "line_name", "source"),
    *("file", "file_sha256", "revision", "sheet", "row"),
)


@dataclass
class Recorded:
    """What a record wrote: entries, enterprises, Σ per source key and in all, and the rows 应追回."""

    entries: int = 0
    enterprises: int = 0
    by_source: dict[str, Decimal] = field(default_factory=dict)
    total: Decimal = ZERO
    to_recover: list[dict[str, Any]] = field(default_factory=list)
    not_summed: list[str] = field(default_factory=list)  # files the consolidation could not sum


def read_consolidation(path: Path) -> tuple[dict[str, Any], str]:
    """The consolidation document and the SHA-256 of its bytes."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise LedgerError(f"无法读取汇总结果 {path}：{error.strerror}。") from None
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError:
        document = None
    if not isinstance(document, dict) or any(key not in document for key in REQUIRED):
        raise LedgerError(
            f"{path} 不是 dtfund consolidate --json 生成的汇总结果：请记入汇总时保存的 JSON 文件。"
        )
    rows = document["disbursement"]
    if not isinstance(rows, list) or any(not isinstance(r, dict) or "lines" not in r for r in rows):
        raise LedgerError(
            f"汇总结果 {path} 缺少逐计划行的金额（由旧版本的 dtfund 生成）：请用本版本重新汇总后再记账。"
        )
    return document, hashlib.sha256(data).hexdigest()


def _files_unchanged(document: dict[str, Any], base: Path) -> dict[str, dict[str, Any]]:
    """Every consolidated file, by the name the list gives it, after checking that its bytes are still
    those consolidated (a path relative to where consolidate ran is looked for here, then beside the JSON)."""
    counted: dict[str, dict[str, Any]] = {}
    for record in document["files"]:
        if record.get("status") != COUNTED:
            continue
        given = Path(record["file"])
        found = next((p for p in (given, base / given) if p.is_file()), None)
        if found is None:
            raise LedgerError(
                f"找不到汇总时的文件 {given}：无法核对它在汇总后是否改动，请在汇总时的文件夹中记账。"
            )
        if hashlib.sha256(found.read_bytes()).hexdigest() != record["sha256"]:
            raise LedgerError(f"文件 {given} 在汇总之后被改动过：请重新汇总后再记账。")
        counted[given.as_posix()] = record
    return counted


def _file_of(label: str, files: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The file record a row's file label names (its name, or its path from the files' common folder)."""
    for path, record in files.items():
        if path == label or path.endswith("/" + label):
            return record
    raise LedgerError(f"汇总结果中的企业行所在文件 {label} 不在已汇总的文件中：汇总结果不完整，请重新汇总。")


def _amount(text: Any) -> Decimal:
    try:
        return Decimal(str(text))
    except InvalidOperation:
        raise LedgerError(f"汇总结果中的金额“{text}”不是数字：请重新汇总后再记账。") from None


def _key(row: dict[str, Any]) -> str:
    return str(row.get("uscc") or row.get("name") or "")


def _parts(rows: list[dict[str, Any]]) -> list[tuple[Part, Decimal]]:
    """Every row's parts as consolidated, each with the amount the JSON says to pay now."""
    return [
        (
            Part(
                n,
                _key(row),
                str(line["line"]),
                str(line["source"]),
                _amount(line["committed"]),
                bool(row["payable"]),
            ),
            _amount(line["to_pay"]),
        )
        for n, row in enumerate(rows)
        for line in row["lines"]
    ]


def _still_owed(
    parts: list[tuple[Part, Decimal]], rows: list[dict[str, Any]]
) -> Callable[[PaidBefore], None]:
    """The check made under the writers' lock: settled against the ledger as it is now, every part is
    still owed what the JSON says (else the ledger paid some of its enterprises since)."""

    def check(paid: PaidBefore) -> None:
        now = settle([part for part, _ in parts], paid.by_key)
        for (part, promised), settled in zip(parts, now, strict=True):
            if settled.to_pay != promised:
                name = rows[part.row].get("name") or part.enterprise
                raise LedgerError(
                    f"台账在汇总之后已记入了本批企业（如 {name}）的拨付，本汇总结果的可拨付金额已过时："
                    "请用 --ledger 重新汇总后再记账，台账未改动。"
                )

    return check


def parse_date(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise LedgerError(f"日期“{text}”不是 YYYY-MM-DD 格式（如 2026-04-30）：请改正 --date。") from None


def record_batch(
    ledger: Ledger,
    json_path: Path,
    name: str,
    doc: str,
    date: str,
) -> Recorded:
    """Record the consolidation at `json_path` as the batch `name` (文号 `doc`, dated `date`)."""
    if not name.strip() or not doc.strip():
        raise LedgerError("批次名称和文号不能为空：请填写 --batch 和 --doc。")
    date = parse_date(date)
    document, digest = read_consolidation(json_path)
    files = _files_unchanged(document, json_path.parent)
    rows = document["disbursement"]
    try:
        parts = _parts(rows)
        drafts, result = _payments(rows, parts, files)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        raise LedgerError(
            f"汇总结果 {json_path} 的拨付清单不完整或被改动过：请重新汇总后再记账，台账未改动。"
        ) from None
    if not drafts:
        raise LedgerError(_nothing_to_record(json_path, rows, result))
    batch = Batch(
        name=name.strip(),
        doc=doc.strip(),
        date=date,
        recorded_at=beijing_timestamp(),
        consolidation_sha256=digest,
    )
    check, keys = _still_owed(parts, rows), {part.enterprise for part, _ in parts}

    def payments(books: Reader) -> list[dict[str, Any]]:
        paid = books.paid_before(keys)
        check(paid)
        _refuse_paid_under_other_codes(rows, paid, json_path)
        _refuse_past_budgets(document, parts, paid, json_path)
        return drafts

    ledger.record(batch, payments)
    result.not_summed = [
        str(entry.get("file")) for entry in document.get("left_out", []) if entry.get("status") in NOT_SUMMED
    ]
    return result


# The statuses of files an incomplete consolidation could not sum (Consolidation.not_summed).
NOT_SUMMED = ("unreadable", "skipped")


def _refuse_paid_under_other_codes(rows: list[dict[str, Any]], paid: PaidBefore, json_path: Path) -> None:
    """Under the writers' lock, whatever the list was consolidated against (or without a ledger): an
    enterprise to be paid now whose unit's enterprise of the same name the ledger paid under another
    code (LEDGER_PAID_UNDER_OTHER_CODE)."""
    for row in rows:
        if not row.get("payable"):
            continue
        others = paid_under_other_codes(
            paid, _key(row), str(row.get("unit") or ""), str(row.get("name") or "")
        )
        if others:
            raise LedgerError(
                f"台账已按统一社会信用代码 {'、'.join(others)} 拨付过{row.get('unit') or ''}的“{row.get('name')}”，"
                f"汇总结果 {json_path} 却按代码 {_key(row)} 再次拨付：请核实代码后用 --ledger 重新汇总"
                "（该企业将暂缓拨付，见 LEDGER_PAID_UNDER_OTHER_CODE），台账未改动。"
            )


def _refuse_past_budgets(
    document: dict[str, Any], parts: list[tuple[Part, Decimal]], paid: PaidBefore, json_path: Path
) -> None:
    """Under the writers' lock: what the ledger paid on a plan line and source and what this batch pays
    on it, against the line's budget as the consolidation read it from the plan (LEDGER_OVER_BUDGET)."""
    lines = [e for e in document.get("execution", []) if isinstance(e, dict) and e.get("budget") is not None]
    budgets = {(str(e.get("key")), str(e.get("source"))): _amount(e.get("budget")) for e in lines}
    names = {(str(e.get("key")), str(e.get("source"))): str(e.get("line")) for e in lines}
    sources = load_policy(None).funding_sources
    to_pay: dict[tuple[str, str], Decimal] = {}
    for part, amount in parts:
        to_pay[(part.line, part.source)] = to_pay.get((part.line, part.source), ZERO) + amount
    for line, amount in to_pay.items():
        if line in budgets and amount and paid.by_line.get(line, ZERO) + amount > budgets[line]:
            spent = paid.by_line.get(line, ZERO) + amount
            raise LedgerError(
                f"“{names[line]}”的{sources.get(line[1], line[1])}：台账已拨付与本批次拨付合计 {spent:,.2f} 元，超过计划 "
                f"{budgets[line]:,.2f} 元：没有记账，台账未改动。请用 --ledger 重新汇总，少拨付一些企业或调整计划后再记账。"
            )


def _nothing_to_record(json_path: Path, rows: list[dict[str, Any]], result: Recorded) -> str:
    """Why a consolidation with nothing left to pay is not recorded, and what to do instead."""
    payable = sum(1 for row in rows if row.get("payable"))
    why = (
        f"其中 {payable} 家可拨付企业的金额都已由此前的批次拨付"
        if payable
        else "其中没有可拨付的企业（都暂缓拨付或未通过校验）"
    )
    recover = (
        f"；另有 {len(result.to_recover)} 家企业此前多拨、应追回，请核实并按规定追回（见汇总表的“拨付清单”）"
        if result.to_recover
        else ""
    )
    return (
        f"汇总结果 {json_path} 中没有尚未拨付的可拨付金额（{why}），没有记账，台账未改动，批次名称仍可使用{recover}："
        "请在有新的申报或修改后，用 --ledger 重新汇总，再记账。"
    )


def _payments(
    rows: list[dict[str, Any]], parts: list[tuple[Part, Decimal]], files: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], Recorded]:
    """The entries of the parts to pay now (payable rows only), and what they come to."""
    result = Recorded()
    drafts = []
    paid_rows = set()
    for part, to_pay in parts:
        if not part.payable or not to_pay:
            continue
        row = rows[part.row]
        source_file = _file_of(row["file"], files)
        drafts.append(
            {
                "kind": PAYMENT,
                "reverses": None,
                "unit": row.get("unit") or "",
                "enterprise": row.get("name") or "",
                "uscc": row.get("uscc"),
                "enterprise_key": part.enterprise,
                "line": part.line,
                "line_name": next(
                    (li.get("line_name") or part.line for li in row["lines"] if li["line"] == part.line),
                    part.line,
                ),
                "source": part.source,
                "amount_fen": fen(to_pay),
                "file": row["file"],
                "file_sha256": source_file["sha256"],
                "revision": source_file.get("revision"),
                "sheet": row.get("sheet") or "",
                "row": int(row["row"]),
            }
        )
        paid_rows.add(part.enterprise)
        result.by_source[part.source] = result.by_source.get(part.source, ZERO) + to_pay
        result.total += to_pay
    result.entries = len(drafts)
    result.enterprises = len(paid_rows)
    result.to_recover = [r for r in rows if r.get("ledger_status") == TO_RECOVER]
    return drafts, result


def reverse_entries(
    ledger: Ledger, seqs: set[int], of_batch: str | None, name: str, doc: str, date: str
) -> int:
    """Record the batch `name` of corrections: for each entry given (by number, or every entry of
    `of_batch`) an entry of the opposite amount that references it. An entry already reversed, or itself
    a correction, is refused. Returns the number of corrections."""
    if not name.strip() or not doc.strip():
        raise LedgerError("批次名称和文号不能为空：请填写 --batch 和 --doc。")
    if not seqs and of_batch is None:
        raise LedgerError("请用 --entry 指定要冲销的记录号，或用 --of-batch 指定要整批冲销的批次。")
    batch = Batch(
        name.strip(), doc.strip(), parse_date(date), beijing_timestamp(), hashlib.sha256(b"").hexdigest()
    )

    def corrections(books: Reader) -> list[dict[str, Any]]:
        found = books.entries(seqs=seqs) if seqs else books.entries(batch=of_batch)
        missing = sorted(seqs - {e["seq"] for e in found})
        if missing or not found:
            what = f"记录号 {'、'.join(map(str, missing))}" if missing else f"批次“{of_batch}”的记录"
            raise LedgerError(f"台账中没有{what}：请用 dtfund ledger show --batch 批次名称 查看记录号。")
        for entry in found:
            if entry["kind"] == REVERSAL or entry["reversed_by"] is not None:
                done = (
                    "本身是冲销记录" if entry["kind"] == REVERSAL else f"已被第 {entry['reversed_by']} 条冲销"
                )
                raise LedgerError(f"第 {entry['seq']} 条记录{done}，不能再冲销：台账未改动。")
        return [
            {
                **{field: entry[field] for field in CORRECTED_FIELDS},
                "kind": REVERSAL,
                "reverses": entry["seq"],
                "amount_fen": -entry["amount_fen"],
            }
            for entry in found
        ]

    return ledger.record(batch, corrections)
