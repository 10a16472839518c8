"""A headless LibreOffice Calc for tests: recalculate openpyxl-made workbooks with a real engine."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

UNO_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("uno_recalculate.py")


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def require_libreoffice() -> str:
    """The soffice binary; skips without it on a developer machine, fails in CI (CI=true)."""
    binary = soffice()
    has_uno = (
        Path(UNO_PYTHON).exists()
        and subprocess.run([UNO_PYTHON, "-c", "import uno"], capture_output=True).returncode == 0
    )
    if binary and has_uno:
        return binary
    reason = "LibreOffice (soffice and python3-uno) is not installed"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, but CI must run this test (.ci/run installs libreoffice-calc-nogui)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


UNO_ATTEMPTS = 3


def recalculate(pairs: list[tuple[Path, Path]]) -> None:
    """Load each workbook in LibreOffice, calculateAll(), and save the result as .xlsx."""
    run_uno_script(SCRIPT, [str(p) for pair in pairs for p in pair])


def run_uno_script(script: Path, arguments: list[str]) -> str:
    """Run a UNO client script (`script PORT ARGUMENTS…`, with /usr/bin/python3) against a fresh headless
    LibreOffice; its standard output. The UNO client has been seen to crash (SIGSEGV) when several
    LibreOffice instances run at once on a busy machine: then it is tried again, UNO_ATTEMPTS times in all."""
    for attempt in range(1, UNO_ATTEMPTS + 1):
        try:
            return _run_uno_script(script, arguments)
        except subprocess.CalledProcessError as crash:
            if crash.returncode >= 0 or attempt == UNO_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _run_uno_script(script: Path, arguments: list[str]) -> str:
    binary = require_libreoffice()
    port = _free_port()
    with tempfile.TemporaryDirectory() as profile:
        office = subprocess.Popen(
            [
                binary,
                "--headless",
                "--invisible",
                "--nologo",
                "--norestore",
                "--nodefault",
                f"-env:UserInstallation=file://{profile}",
                f"--accept=socket,host=127.0.0.1,port={port};urp;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            return subprocess.run(
                [UNO_PYTHON, str(script), str(port), *arguments],
                check=True,
                timeout=600,
                capture_output=True,
                text=True,
            ).stdout
        finally:
            office.terminate()
            try:
                office.wait(timeout=30)
            except subprocess.TimeoutExpired:
                office.kill()
