"""The code stays ruff-clean, and the rules package stays free of workbook I/O."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_clean() -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install '.[test]')")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schemas_never_imports_addin_or_workbook_libraries() -> None:
    for source in (ROOT / "schemas").rglob("*.py"):
        text = source.read_text("utf-8")
        for forbidden in ("import addin", "from addin", "openpyxl", "xlwings", "calamine"):
            assert forbidden not in text, f"{source.name} uses {forbidden}"
