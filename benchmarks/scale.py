"""Benchmark at national scale. Prints measured figures and, beside each bar of issue 28, whether it
holds in this run; asserts nothing. Every command runs in its own process (wall time, peak RSS), and
each ratio is taken between commands run in turn in the same run (`--repeat N`: medians).

Realistic application workbooks (about 5% of rows breaking a rule, `workbooks.realistic_rows`):
- `dtfund check` (its terminal report) and `dtfund check --json`, at 5,000, 50,000 and 100,000 rows,
  against a bare `pandas.read_excel(engine="calamine")` of the same file and `frictionless validate`;
- `dtfund consolidate` over 12 workbooks of 5,000 rows, against the sum of their bare reads;
- `dtfund diff` of two revisions of 50,000 rows (5% of rows changed, 1% removed and added) against
  `dtfund check` of one;
- `dtfund check --print` of 10,000 rows against that of 5,000 rows and against its check;
- `dtfund template application --rows 100000`;
- `dtfund check --annotate` on 50,000 rows against `dtfund check` of the same file.
The "Bar" (issue-heavy workbooks whose rows cycle through the bundled example's hand-written cases,
most of which break a rule, `workbooks.hand_case_rows`):
- `check --json` of 30,000 rows against a bare pandas+calamine read of the same file;
- `consolidate` of 8 units × 4,000 rows against their reads;
- `diff` of two revisions of 20,000 rows against one check;
- `--print` of 10,000 rows against 5,000 rows and against its check.

    python benchmarks/scale.py [--sizes 5000,50000,100000] [--skip-frictionless] [--repeat N]
                               [--parts sizes,consolidate,diff,print,template,annotate,bar]
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

from workbooks import hand_case_rows, realistic_rows, revised, write_rows  # noqa: E402

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


def measured(command: list[str], timeout: int = 3600) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user and system) of one command in its own
    process, taken by /usr/bin/time inside the child (the parent's own memory at fork would otherwise
    count). On a busy machine the CPU seconds move less than the wall's."""
    start = time.perf_counter()
    process = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS_KB %M CPU %U %S", *command],
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        timeout=timeout,
    )
    elapsed = time.perf_counter() - start
    errors = process.stderr.decode("utf-8", "replace")
    if process.returncode not in (0, 1) or "Traceback" in errors:  # 1: dtfund found issues
        raise RuntimeError(f"{command[:4]} failed ({process.returncode}): {errors[-2000:]}")
    peak_kb, user, system = errors.rsplit("MAXRSS_KB", 1)[1].replace("CPU", "").split()[:3]
    return elapsed, int(peak_kb) / 1024, float(user) + float(system)


def interleaved(commands: dict[str, list[str]], repeat: int) -> list[tuple[float, float]]:
    """Each command run `repeat` times, in turn (so a change in the machine's speed falls on all of
    them alike): per command, the median seconds, the largest peak RSS and the median CPU seconds."""
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, command in commands.items():
            runs[name].append(measured(command))
    return [
        (
            statistics.median(s for s, _, _ in r),
            max(m for _, m, _ in r),
            statistics.median(c for _, _, c in r),
        )
        for r in runs.values()
    ]


def row(label: str, seconds: float, rss: float, cpu: float, ratio: str = "") -> str:
    return f"| {label} | {seconds:.1f} | {cpu:.1f} | {rss:.0f} | {ratio} |"


def cpu(measured: tuple[float, float, float], base: tuple[float, float, float]) -> str:
    """The ratio of CPU seconds, steadier than the wall's on a busy machine."""
    return f"CPU {measured[2] / base[2]:.2f}x"


def bar(value: float, limit: float, at_least: bool = False) -> str:
    """Whether a ratio holds its bar in this run."""
    holds = value >= limit if at_least else value <= limit
    return f"{'≥' if at_least else '≤'} {limit:g}: {'holds' if holds else 'DOES NOT HOLD'}"


class Bench:
    """The commands of one run, the workbooks they read, and the table of figures printed at the end."""

    def __init__(self, folder: Path, repeat: int) -> None:
        self.folder, self.repeat, self.python = folder, repeat, sys.executable
        self.lines = ["| measure | seconds | CPU seconds | peak RSS (MB) | ratio |", "|---|---|---|---|---|"]

    def dtfund(self, *args: object) -> list[str]:
        return [self.python, "-m", "addin", *map(str, args)]

    def read(self, *paths: Path) -> list[str]:
        return [
            self.python,
            "-c",
            BARE_READ.format(sheet=DATA_SHEET, header=HEADER_ROW - 1),
            *map(str, paths),
        ]

    def measure(self, commands: dict[str, list[str]]) -> dict[str, tuple[float, float, float]]:
        return dict(zip(commands, interleaved(commands, self.repeat), strict=True))

    def add(self, *lines: str) -> None:
        self.lines += lines
        print("\n".join(lines), flush=True)

    def against(
        self,
        base: tuple[str, tuple[float, float, float]],
        measured: tuple[str, tuple[float, float, float]],
        what: str,
        limit: float,
    ) -> None:
        """Two rows: a baseline, and a measure with its ratio to it and its bar."""
        ratio = measured[1][0] / base[1][0]
        self.add(
            row(base[0], *base[1]),
            row(
                measured[0],
                *measured[1],
                f"{ratio:.2f}x {what} ({bar(ratio, limit)}; {cpu(measured[1], base[1])})",
            ),
        )

    def workbook(self, name: str, rows: list[dict], revision: int = 1) -> Path:
        path = self.folder / f"{name}.xlsx"
        return path if path.exists() else write_rows(path, rows, revision=revision)

    def units(self, name: str, count: int, size: int, rows_of) -> Path:
        """COUNT workbooks of SIZE rows, one per unit, in a folder of their own."""
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        for n, unit in enumerate(UNITS[:count]):
            write_rows(folder / f"unit-{n:02d}.xlsx", rows_of(size, seed=n, unit=unit), unit)
        return folder

    def consolidate(self, label: str, folder: Path, limit: float) -> None:
        paths = sorted(folder.glob("*.xlsx"))
        out = self.folder / "summary.xlsx"
        m = self.measure(
            {
                "consolidate": self.dtfund("consolidate", folder, "--plan", ROOT / EXAMPLE_PLAN, "-o", out),
                "reads": self.read(*paths),
            }
        )
        self.against(
            (f"{label}: bare reads, one after another", m["reads"]),
            (f"{label}: dtfund consolidate", m["consolidate"]),
            "the reads",
            limit,
        )

    def diff(self, label: str, rows: list[dict], limit: float) -> None:
        old = self.workbook(f"{label}-old", rows)
        new = self.workbook(f"{label}-new", revised(rows), revision=2)
        m = self.measure({"check": self.dtfund("check", new), "diff": self.dtfund("diff", old, new)})
        self.against(
            (f"{label}: dtfund check of one revision", m["check"]),
            (f"{label}: dtfund diff of two revisions", m["diff"]),
            "one check",
            limit,
        )

    def print_form(self, label: str, small: Path, large: Path, limits: tuple[float, float | None]) -> None:
        pdf = self.folder / "form.pdf"
        m = self.measure(
            {
                "small": self.dtfund("check", small, "--print", pdf),
                "large": self.dtfund("check", large, "--print", pdf),
                "check": self.dtfund("check", large),
            }
        )
        growth, against_check = m["large"][0] / m["small"][0], m["large"][0] / m["check"][0]
        versus = (
            f"{growth:.2f}x 5,000 rows ({bar(growth, limits[0])}; {cpu(m['large'], m['small'])}), "
            f"{against_check:.2f}x its check"
        )
        if limits[1] is not None:
            versus += f" ({bar(against_check, limits[1])}; {cpu(m['large'], m['check'])})"
        self.add(
            row(f"{label}: dtfund check of 10,000 rows", *m["check"]),
            row(f"{label}: dtfund check --print, 5,000 rows", *m["small"]),
            row(f"{label}: dtfund check --print, 10,000 rows", *m["large"], versus),
        )


def sizes(bench: Bench, sizes_: list[int], frictionless: bool) -> None:
    """check and check --json against the bare read (and frictionless) at each size."""
    schema = json.dumps(table_schema(), ensure_ascii=False)
    for size in sizes_:
        path = bench.workbook(f"rows-{size}", realistic_rows(size))
        commands = {
            "check": bench.dtfund("check", path),
            "check --json": bench.dtfund("check", path, "--json", bench.folder / "out.json"),
            "read": bench.read(path),
        }
        if frictionless:
            commands["frictionless"] = [
                bench.python,
                "-c",
                FRICTIONLESS.format(header_row=HEADER_ROW, sheet=DATA_SHEET),
                str(path),
                schema,
            ]
        m = bench.measure(commands)
        read_s = m["read"][0]
        lines = [row(f"{size:,} rows: bare pandas.read_excel (calamine)", *m["read"])]
        for name, limit in (("check", 0.9), ("check --json", 1.0)):
            ratio = m[name][0] / read_s
            held = f" ({bar(ratio, limit)}; peak {bar(m[name][1], 900)} MB)" if size == 100_000 else ""
            lines.append(
                row(
                    f"{size:,} rows: dtfund {name}",
                    *m[name],
                    f"{ratio:.2f}x the read{held}; {cpu(m[name], m['read'])}",
                )
            )
        if "frictionless" in m:
            fl_s = m["frictionless"][0]
            faster = ", ".join(
                f"dtfund {name} {fl_s / m[name][0]:.1f}x faster"
                + (
                    f" ({bar(fl_s / m[name][0], 10, at_least=True)})"
                    if size == 100_000 and name == "check"
                    else ""
                )
                for name in ("check", "check --json")
            )
            lines.append(row(f"{size:,} rows: frictionless validate", *m["frictionless"], faster))
        bench.add(*lines)


def template(bench: Bench) -> None:
    out = bench.folder / "template.xlsx"
    ((seconds, peak, cpu),) = interleaved(
        {"template": bench.dtfund("template", "application", "--rows", 100_000, "-o", out)}, bench.repeat
    )
    bench.add(
        row("100,000 rows: dtfund template application", seconds, peak, cpu, f"seconds {bar(seconds, 10)}")
    )


def annotate(bench: Bench) -> None:
    """`dtfund check --annotate` on 50,000 rows against `dtfund check` of the same file, in turn."""
    size = 50000
    source = bench.workbook(f"rows-{size}", realistic_rows(size))
    check = bench.dtfund("check", source)
    m = bench.measure(
        {"check": check, "annotate": [*check, "--annotate", str(bench.folder / "annotated.xlsx")]}
    )
    bench.add(
        row(f"{size:,} rows: dtfund check (the same file)", *m["check"]),
        row(
            f"{size:,} rows: dtfund check --annotate",
            *m["annotate"],
            f"{m['annotate'][0] / m['check'][0]:.2f}x the check",
        ),
    )


def issue_heavy(bench: Bench) -> None:
    """The Bar: workbooks whose rows cycle through the hand-written cases (most carry issues)."""
    path = bench.workbook("hand-30000", hand_case_rows(30_000))
    m = bench.measure(
        {"json": bench.dtfund("check", path, "--json", bench.folder / "out.json"), "read": bench.read(path)}
    )
    bench.against(
        ("Bar, 30,000 issue-heavy rows: bare pandas.read_excel (calamine)", m["read"]),
        ("Bar, 30,000 issue-heavy rows: dtfund check --json", m["json"]),
        "the read",
        1.6,
    )
    bench.consolidate(
        "Bar, 8 × 4,000 issue-heavy rows", bench.units("hand-units", 8, 4_000, hand_case_rows), 1.4
    )
    bench.diff("Bar, 20,000 issue-heavy rows", hand_case_rows(20_000), 2.0)
    bench.print_form(
        "Bar, issue-heavy",
        bench.workbook("hand-5000", hand_case_rows(5_000)),
        bench.workbook("hand-10000", hand_case_rows(10_000)),
        (2.3, 3.0),
    )


PARTS = ("sizes", "consolidate", "diff", "print", "template", "annotate", "bar")


def machine() -> str:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT)
    load = os.getloadavg()
    return (
        f"commit {commit.stdout.strip()}, python {sys.version.split()[0]}, {os.cpu_count()} cores, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="5000,50000,100000")
    parser.add_argument("--skip-frictionless", action="store_true")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run the commands of each measure this many times, in turn; report medians",
    )
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which measures: {', '.join(PARTS)}")
    parser.add_argument("--annotate-only", action="store_true", help="the same as --parts annotate")
    args = parser.parse_args()
    parts = {"annotate"} if args.annotate_only else set(args.parts.split(","))
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine(), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        bench = Bench(Path(folder), args.repeat)
        if "sizes" in parts:
            sizes(bench, [int(s) for s in args.sizes.split(",") if s], not args.skip_frictionless)
        if "consolidate" in parts:
            bench.consolidate("12 × 5,000 rows", bench.units("divisions", 12, 5_000, realistic_rows), 1.3)
        if "diff" in parts:
            bench.diff("50,000 rows", realistic_rows(50_000), 2.0)
        if "print" in parts:
            bench.print_form(
                "realistic",
                bench.workbook("rows-5000", realistic_rows(5_000)),
                bench.workbook("rows-10000", realistic_rows(10_000)),
                (2.2, None),
            )
        if "template" in parts:
            template(bench)
        if "annotate" in parts:
            annotate(bench)
        if "bar" in parts:
            issue_heavy(bench)
    print()
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), machine())
    print("\n".join(bench.lines))


if __name__ == "__main__":
    main()
