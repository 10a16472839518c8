"""Text from a user's cell, copied into our outputs (summaries, annotated copies): it can never become
a formula there, even for someone who retypes it."""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@")


def safe_text(value: Any) -> Any:
    """Text that would start a formula gets a leading apostrophe; anything else is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
