"""What the rule engine's pandera pass costs beside the rule functions it runs (issue 28): the same
computed application table validated through pandera (`schemas.application_schema.validate`, what the
check runs) and through the very same checks called one after another without pandera, each on a fresh
copy of the table (the rules' shared figures are worked out again every time). Prints both, per size.

    python benchmarks/rules_engine.py [--sizes 5000,100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbooks import realistic_rows, write_rows  # noqa: E402

from addin.check.identity import identify  # noqa: E402
from addin.check.pipeline import read_application  # noqa: E402
from schemas.application_rules import RULES  # noqa: E402
from schemas.application_schema import validate  # noqa: E402
from schemas.engine import REQUIRED, _column_checks, _declared_details, _issues  # noqa: E402
from schemas.policy import load_policy  # noqa: E402
from schemas.table import Table  # noqa: E402


def fresh(table: Table) -> Table:
    """The table with none of its shared figures worked out yet."""
    return dataclasses.replace(table)


def without_pandera(table: Table) -> int:
    """Every check of the schema called on its column directly, and an issue made for every cell that
    breaks one, as run_rules makes them (blanks where a column may not be blank, then each check)."""
    sheet = table.as_sheet()
    required = {f.id for f in table.fields if f.required == "always"}
    issues = []
    for column, checks in _column_checks(table.fields, RULES, table.policy, table).items():
        if column not in sheet.columns:
            continue
        values = sheet[column]
        if column in required:
            rows = values.index[values.isna().to_numpy()]
            issues += _issues(REQUIRED, column, rows, _declared_details(table, REQUIRED, column, rows), table, {})
        for check, rule in checks:
            passed = pd.Series(check._check_fn(values), index=values.index).astype(bool)
            rows = values.index[~passed.to_numpy()]
            if rows.empty:
                continue
            if rule is None:
                details = _declared_details(table, check.name, column, rows)
            else:
                details = rule.details(table, column, rows)
            issues += _issues(check.name, column, rows, details, table, {})
    return len(issues)


def timed(work, table: Table, repeat: int) -> float:
    seconds = []
    for _ in range(repeat):
        copy = fresh(table)
        start = time.perf_counter()
        work(copy)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="5000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    policy = load_policy()
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(s) for s in args.sizes.split(",")):
            path = write_rows(Path(folder) / f"rows-{size}.xlsx", realistic_rows(size))
            table, _unit = read_application(identify(path), policy)
            through = timed(validate, table, args.repeat)
            direct = timed(without_pandera, table, args.repeat)
            print(
                f"{size:,} rows: rules through pandera {through:.2f} s, the same checks called directly "
                f"{direct:.2f} s: pandera's own work {through - direct:.2f} s ({through / direct:.2f}x)",
                flush=True,
            )


if __name__ == "__main__":
    main()
