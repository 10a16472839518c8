"""The ledger at scale: settle N parts against a ledger (the arithmetic of consolidate --ledger), record a
batch of N entries, read what it paid back, and verify the chain; on SQLite, and on PostgreSQL when
DTFUND_TEST_POSTGRES_URL names a server. Prints measured seconds; asserts nothing.

    python benchmarks/ledger.py [--entries 10000,100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the checkout's dtfund

from addin.ledger.chain import first_broken  # noqa: E402
from addin.ledger.store import PAYMENT, Batch, Ledger
from schemas.ledger_balance import Part, settle

SOURCES = ("central", "bingtuan", "division")


def drafts(count: int) -> list[dict]:
    return [
        {
            "kind": PAYMENT,
            "reverses": None,
            "unit": "第八师石河子市",
            "enterprise": f"企业{n // 3}",
            "uscc": f"U{n // 3:017d}",
            "enterprise_key": f"U{n // 3:017d}",
            "line": "一",
            "line_name": "（一）企业数字化改造投入补贴及奖励",
            "source": SOURCES[n % 3],
            "amount_fen": 10_000_00 + n,
            "file": "申报表.xlsx",
            "file_sha256": "0" * 64,
            "revision": 1,
            "sheet": "申报表",
            "row": 5 + n // 3,
        }
        for n in range(count)
    ]


def timed(label: str, work) -> object:
    start = time.perf_counter()
    result = work()
    print(f"{label}: {time.perf_counter() - start:.2f} s")
    return result


def measure(where: str, count: int) -> None:
    ledger = Ledger(where)
    batch = Batch("基准批次", "文号", "2026-04-30", "2026-04-30T00:00:00+08:00", "0" * 64)
    entries = drafts(count)
    timed(f"  record {count:,} entries", lambda: ledger.record(batch, lambda _books: entries))
    keys = {e["enterprise_key"] for e in entries}
    paid = timed(f"  read what {len(keys):,} enterprises were paid", lambda: ledger.paid_before(keys))
    rows = timed(f"  read {count:,} entries", ledger.entry_rows)
    timed(f"  verify {count:,} entries", lambda: first_broken(rows))
    parts = [
        Part(n, e["enterprise_key"], e["line"], e["source"], Decimal(e["amount_fen"]) / 100, True)
        for n, e in enumerate(entries)
    ]
    timed(f"  settle {count:,} parts", lambda: settle(parts, paid.by_key))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", default="10000,100000")
    counts = [int(n) for n in parser.parse_args().entries.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            print(f"SQLite, {count:,} entries")
            measure(str(Path(folder) / f"{count}.sqlite"), count)
    server = os.environ.get("DTFUND_TEST_POSTGRES_URL")
    if server:
        from tests.support.postgres import fresh_database

        for count in counts:
            print(f"PostgreSQL, {count:,} entries")
            with fresh_database() as url:
                measure(url, count)


if __name__ == "__main__":
    main()
