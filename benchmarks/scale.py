"""Benchmark at national scale. Prints measured figures; asserts nothing.

For application workbooks of 5,000, 50,000 and 100,000 realistic rows (about 5% breaking a rule),
measured on the same files in the same run, each command in its own process (wall time, peak RSS):
- `dtfund check` (its terminal report, as the clerk runs it) and `dtfund check --json` (the full
  per-row document besides), against a bare `pandas.read_excel(engine="calamine")` of the same file
  (the floor), and against `frictionless validate` with an equivalent table schema;
- `dtfund consolidate` over 12 workbooks of 5,000 rows, against the sum of their bare reads;
- `dtfund check --annotate` on 50,000 rows.

    python benchmarks/scale.py [--sizes 5000,50000,100000] [--skip-frictionless] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from workbooks import write_workbook  # noqa: E402

from addin.template_spec import DATA_SHEET, HEADER_ROW  # noqa: E402
from addin.templates.bundled import EXAMPLE_PLAN  # noqa: E402
from schemas.fields import application_fields  # noqa: E402
from schemas.policy import load_policy  # noqa: E402

UNITS = [
    "第一师阿拉尔市",
    "第二师铁门关市",
    "第三师图木舒克市",
    "第四师可克达拉市",
    "第五师双河市",
    "第六师五家渠市",
    "第七师胡杨河市",
    "第八师石河子市",
    "第九师白杨市",
    "第十师北屯市",
    "第十三师新星市",
    "第十四师昆玉市",
]

BARE_READ = """
import sys, pandas as pd
for path in sys.argv[1:]:
    pd.read_excel(path, engine="calamine", sheet_name={sheet!r}, header={header})
"""

FRICTIONLESS = """
import json, sys
from pathlib import Path
from frictionless import Dialect, Resource, Schema, formats
path = Path(sys.argv[1])
schema = Schema.from_descriptor(json.loads(sys.argv[2]))
dialect = Dialect(header_rows=[{header_row}], controls=[formats.ExcelControl(sheet={sheet!r})])
report = Resource(path=path.name, basepath=str(path.parent), schema=schema, dialect=dialect).validate(
    limit_errors=10**8)
print(report.stats["errors"])
"""


def table_schema() -> dict:
    """A frictionless table schema equivalent to the application's field rules (types, required,
    allowed values, non-negative amounts, credit-code pattern)."""
    policy = load_policy()
    fields = []
    for field in application_fields():
        spec: dict = {"name": field.header}
        constraints: dict = {}
        if field.computed:
            spec["type"] = "any"
        elif field.kind == "money":
            spec["type"], constraints["minimum"] = "number", 0
        elif field.kind == "date":
            spec["type"] = "date"
            spec["format"] = "any"
        else:
            spec["type"] = "string"
            if field.kind == "choice":
                constraints["enum"] = field.allowed(policy)
            if field.kind == "uscc":
                constraints["pattern"] = "[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}"
        if field.required == "always":
            constraints["required"] = True
        if constraints:
            spec["constraints"] = constraints
        fields.append(spec)
    return {"fields": fields}


def measured(command: list[str], timeout: int = 3600) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and output of one command in its own process. The peak is taken by
    /usr/bin/time inside the child: the parent's own memory at fork would otherwise count."""
    start = time.perf_counter()
    process = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS_KB %M", *command],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        timeout=timeout,
    )
    elapsed = time.perf_counter() - start
    errors = process.stderr.decode("utf-8", "replace")
    peak_kb = int(errors.rsplit("MAXRSS_KB", 1)[1].split()[0])
    return elapsed, peak_kb / 1024, process.stdout.decode("utf-8", "replace")


def interleaved(commands: dict[str, list[str]], repeat: int) -> list[tuple[float, float]]:
    """Each command run `repeat` times, in turn (so a change in the machine's speed falls on all of
    them alike): per command, the median seconds and the largest peak RSS."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            seconds, peak, _ = measured(command)
            runs[name].append((seconds, peak))
    return [(statistics.median(s for s, _ in r), max(m for _, m in r)) for r in runs.values()]


def row(label: str, seconds: float, rss: float, ratio: str = "") -> str:
    return f"| {label} | {seconds:.1f} | {rss:.0f} | {ratio} |"


def annotate_rows(python: str, folder: Path, files: dict[int, Path], repeat: int) -> list[str]:
    """`dtfund check --annotate` on 50,000 rows against `dtfund check` of the same file, in turn."""
    size = 50000
    source = files.get(size) or write_workbook(folder / f"rows-{size}.xlsx", size)
    check = [python, "-m", "addin", "check", str(source)]
    commands = {"check": check, "annotate": [*check, "--annotate", str(folder / "annotated.xlsx")]}
    (check_s, check_mb), (annotate_s, annotate_mb) = interleaved(commands, repeat)
    return [
        row(f"{size:,} rows: dtfund check (the same file)", check_s, check_mb),
        row(
            f"{size:,} rows: dtfund check --annotate",
            annotate_s,
            annotate_mb,
            f"{annotate_s / check_s:.2f}x the check",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="5000,50000,100000")
    parser.add_argument("--skip-frictionless", action="store_true")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the commands of each size this many times, in turn; report medians",
    )
    parser.add_argument("--annotate-only", action="store_true", help="measure only --annotate against check")
    args = parser.parse_args()
    python = sys.executable
    schema = json.dumps(table_schema(), ensure_ascii=False)
    lines = ["| measure | seconds | peak RSS (MB) | ratio |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        files: dict[int, Path] = {}
        if args.annotate_only:
            args.sizes = ""
        for size in (int(s) for s in args.sizes.split(",") if s):
            files[size] = write_workbook(folder / f"rows-{size}.xlsx", size)
            check = [python, "-m", "addin", "check", str(files[size])]
            commands = {
                "check": check,
                "check --json": [*check, "--json", str(folder / "out.json")],
                "read": [
                    python,
                    "-c",
                    BARE_READ.format(sheet=DATA_SHEET, header=HEADER_ROW - 1),
                    str(files[size]),
                ],
            }
            if not args.skip_frictionless:
                commands["frictionless"] = [
                    python,
                    "-c",
                    FRICTIONLESS.format(header_row=HEADER_ROW, sheet=DATA_SHEET),
                    str(files[size]),
                    schema,
                ]
            measures = dict(zip(commands, interleaved(commands, args.repeat), strict=True))
            read_s, read_mb = measures["read"]
            lines.append(row(f"{size:,} rows: bare pandas.read_excel (calamine)", read_s, read_mb))
            for name in ("check", "check --json"):
                seconds, peak = measures[name]
                lines.append(
                    row(f"{size:,} rows: dtfund {name}", seconds, peak, f"{seconds / read_s:.2f}x the read")
                )
            if "frictionless" in measures:
                fl_s, fl_mb = measures["frictionless"]
                faster = ", ".join(
                    f"dtfund {name} {fl_s / measures[name][0]:.1f}x faster"
                    for name in ("check", "check --json")
                )
                lines.append(row(f"{size:,} rows: frictionless validate", fl_s, fl_mb, faster))
            print("\n".join(lines[-4:]), flush=True)
        if not args.annotate_only:
            twelve = folder / "divisions"
            twelve.mkdir()
            paths = [
                write_workbook(twelve / f"division-{n:02d}.xlsx", 5000, seed=n, unit=unit)
                for n, unit in enumerate(UNITS)
            ]
            (consolidate_s, consolidate_mb), (reads_s, reads_mb) = interleaved(
                {
                    "consolidate": [
                        python,
                        "-m",
                        "addin",
                        "consolidate",
                        str(twelve),
                        "--plan",
                        str(ROOT / EXAMPLE_PLAN),
                        "-o",
                        str(folder / "s.xlsx"),
                    ],
                    "reads": [
                        python,
                        "-c",
                        BARE_READ.format(sheet=DATA_SHEET, header=HEADER_ROW - 1),
                        *map(str, paths),
                    ],
                },
                args.repeat,
            )
            lines.append(row("12 × 5,000 rows: bare reads, one after another", reads_s, reads_mb))
            lines.append(
                row(
                    "12 × 5,000 rows: dtfund consolidate",
                    consolidate_s,
                    consolidate_mb,
                    f"{consolidate_s / reads_s:.2f}x the reads",
                )
            )
        lines += annotate_rows(python, folder, files, args.repeat)
    print()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
