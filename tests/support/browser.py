"""Headless Chromium (Debian's) driven by Playwright, for rendering the HTML reports."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def require_chromium() -> str:
    """The chromium binary; skips without it on a developer machine, fails in CI (CI=true)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        import playwright  # noqa: F401
    except ImportError:
        binary = None
    if binary:
        return binary
    reason = "Chromium (Debian package chromium) or playwright is not installed"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, but CI must run this test (.ci/run installs it)")
    pytest.skip(reason)
