"""The ledger's audit trail: each entry's hash is the SHA-256 of its content (with its batch's name,
文号 and date) and of the previous entry's hash, so that changing, removing or inserting an entry
breaks the chain from that entry on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

GENESIS = "0" * 64  # the "previous hash" of the first entry
HASHED = (
    "seq",
    "kind",
    "reverses",
    "unit",
    "enterprise",
    "uscc",
    "enterprise_key",
    "line",
    "line_name",
    "source",
    "amount_fen",
    "file",
    "file_sha256",
    "revision",
    "sheet",
    "row",
    "prev_hash",
)


class BatchFields(Protocol):
    name: str
    doc: str
    date: str


def canonical(content: Mapping[str, Any], batch_name: str, doc: str, date: str) -> bytes:
    """An entry's content as canonical bytes: its fields by name, in a fixed order, as JSON."""
    fields = {name: content[name] for name in HASHED}
    fields.update(batch=batch_name, doc=doc, date=date)
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def entry_hash(content: Mapping[str, Any], batch: BatchFields) -> str:
    return hashlib.sha256(canonical(content, batch.name, batch.doc, batch.date)).hexdigest()


def first_broken(rows: Iterable[Mapping[str, Any]]) -> tuple[Mapping[str, Any], str] | None:
    """The first entry (rows: every entry in order, with `batch`, `doc`, `date` and `batch_entries`)
    whose chain does not hold, and why (in Chinese); None when the whole chain holds."""
    previous, expected_seq = GENESIS, 1
    counts: dict[str, int] = {}
    declared: dict[str, int] = {}
    last = None
    for row in rows:
        if row["seq"] != expected_seq:
            return row, f"前面缺少第 {expected_seq} 至 {row['seq'] - 1} 条记录"
        if row["prev_hash"] != previous:
            return row, "它记载的上一条校验值与上一条记录不符（前面的记录被删改过）"
        digest = hashlib.sha256(canonical(row, row["batch"], row["doc"], row["date"])).hexdigest()
        if digest != row["hash"]:
            return row, "它的内容与记账时的校验值不符（金额、企业或批次信息被改动过）"
        previous, expected_seq, last = row["hash"], expected_seq + 1, row
        counts[row["batch"]] = counts.get(row["batch"], 0) + 1
        declared[row["batch"]] = row["batch_entries"]
    for batch, count in counts.items():
        if count != declared[batch]:
            return (
                last,
                f"批次“{batch}”记账时有 {declared[batch]} 条记录，现在只有 {count} 条（记录被删除过）",
            )
    return None
