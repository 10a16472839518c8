"""Hostile and broken files: a clear Chinese reason and the right exit code, never a traceback, within
bounded time and memory; the input is never modified by any command."""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from addin import template_spec as spec
from addin.templates.bundled import EXAMPLE_PLAN, EXAMPLES, REPOSITORY
from tests.support.hostile import BILLION_LAUGHS, CORPUS, EXAMPLE, Hostile

MEMORY_LIMIT = 3 * 1024**3
TIME_LIMIT = 120


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def dtfund(*args: str | Path, limited: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "addin", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        preexec_fn=_limit_memory if limited else None,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_file(case: Hostile, tmp_path: Path) -> None:
    path = case.build(tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    started = time.monotonic()
    out = tmp_path / "result.json"
    process = dtfund("check", path, "--json", out)
    elapsed = time.monotonic() - started
    output = process.stdout + process.stderr
    assert process.returncode in case.exit_codes, output
    assert "Traceback" not in output
    assert elapsed < TIME_LIMIT
    document = json.loads(out.read_text("utf-8"))
    assert case.says in output + json.dumps(document, ensure_ascii=False)
    assert document["valid"] is False
    assert "root:x:0:0" not in out.read_text("utf-8") + output, "an external entity was resolved"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_openpyxl_parses_with_defusedxml(tmp_path: Path) -> None:
    """openpyxl, which writes our annotated copies, refuses entity bombs because defusedxml is installed."""
    import openpyxl.xml
    from defusedxml import DefusedXmlException

    from tests.support.hostile import entity_bomb_in_workbook

    assert openpyxl.xml.DEFUSEDXML is True
    with pytest.raises(ValueError) as refused:
        openpyxl.load_workbook(entity_bomb_in_workbook(tmp_path))
    assert isinstance(refused.value.__cause__, DefusedXmlException)
    assert "<!ENTITY lol9" in BILLION_LAUGHS


def test_every_command_leaves_its_inputs_untouched(tmp_path: Path) -> None:
    inputs = [REPOSITORY / p for p in EXAMPLES.values()] + [REPOSITORY / EXAMPLE_PLAN]
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs}
    dtfund(
        "check",
        EXAMPLE,
        "--json",
        tmp_path / "a.json",
        "--html",
        tmp_path / "a.html",
        "--annotate",
        tmp_path / "a.xlsx",
        limited=False,
    )
    dtfund("explain", EXAMPLE, "--row", "5", limited=False)
    dtfund(
        "consolidate",
        *inputs[:3],
        "--plan",
        inputs[3],
        "-o",
        tmp_path / "s.xlsx",
        "--json",
        tmp_path / "s.json",
        "--html",
        tmp_path / "s.html",
        limited=False,
    )
    refused = dtfund("consolidate", *inputs[:3], "--plan", inputs[3], "-o", inputs[0], limited=False)
    assert refused.returncode == 2 and "与输入文件相同" in refused.stdout + refused.stderr
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in inputs} == before
    assert not list(tmp_path.glob(".dtfund-*")), "no work folder is left behind"


def test_hidden_rows_are_still_checked(tmp_path: Path) -> None:
    from tests.support.hostile import hidden_rows_and_columns

    path = hidden_rows_and_columns(tmp_path)
    assert openpyxl.load_workbook(path)["申报表"].row_dimensions[8].hidden
    document = json.loads(dtfund("check", path, "--json", "-").stdout)
    assert ("FEE_SERVICE_OVER_20", f"{spec.column_letters()['service_total']}8") in {
        (i["rule"], i["cell"]) for i in document["issues"]
    }
