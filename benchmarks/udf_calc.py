"""Benchmark: one DTFUND_CALC over a whole table against one scalar DTFUND_SUBSIDY call per row, and
against building the typed DataFrame alone. Prints measured seconds and ratios; asserts nothing.

    python benchmarks/udf_calc.py [ROWS]
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from addin.check.table import convert_table, raw_table_from_grid  # noqa: E402
from addin.excel.udfs import DTFUND_CALC, DTFUND_SUBSIDY, policy  # noqa: E402
from addin.template_spec import FIRST_DATA_ROW  # noqa: E402
from addin.templates.bundled import credit_code, shihezi_rows  # noqa: E402
from schemas.fields import application_fields  # noqa: E402


def excel_grid(rows: int) -> list[list]:
    """A header row and `rows` data rows, as Excel hands them over (floats, datetimes, None)."""
    fields = application_fields()
    examples = [r for r in shihezi_rows() if r]
    grid = [[f.header for f in fields]]
    for n in range(rows):
        row = dict(examples[n % len(examples)], uscc=credit_code("659001", f"MA{n:07d}"))
        cells = []
        for f in fields:
            value = row.get(f.id)
            if isinstance(value, dt.date):
                value = dt.datetime.combine(value, dt.time())
            elif isinstance(value, int):
                value = float(value)
            cells.append(value)
        grid.append(cells)
    return grid


def best_of(repeats: int, action) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    grid = excel_grid(rows)
    policy()  # load the policy once, as Excel's Python process does
    header = {f.id: n for n, f in enumerate(application_fields())}
    args = [
        (
            r[header["paid"]],
            r[header["contract_total"]],
            r[header["consulting"]],
            r[header["integration"]],
            r[header["other_service"]],
            r[header["level"]],
        )
        for r in grid[1:]
    ]

    calc_best, calc_median = best_of(5, lambda: DTFUND_CALC(grid))
    scalar_best, scalar_median = best_of(3, lambda: [DTFUND_SUBSIDY(*a) for a in args])
    frame_best, frame_median = best_of(
        5, lambda: convert_table(raw_table_from_grid(grid, FIRST_DATA_ROW), policy())
    )

    print(f"rows: {rows}")
    print(f"{'measure':<44}{'best s':>10}{'median s':>10}")
    print(f"{'DTFUND_CALC, one call for the table':<44}{calc_best:>10.3f}{calc_median:>10.3f}")
    print(f"{'DTFUND_SUBSIDY, one call per row':<44}{scalar_best:>10.3f}{scalar_median:>10.3f}")
    print(f"{'building the typed DataFrame alone':<44}{frame_best:>10.3f}{frame_median:>10.3f}")
    print(f"scalar calls / one table call: {scalar_best / calc_best:.1f}x")
    print(f"one table call / DataFrame alone: {calc_best / frame_best:.1f}x")


if __name__ == "__main__":
    main()
