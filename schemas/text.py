"""Text as a clerk types it into a cell: full-width forms, stray spaces, and numbers written as text."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

# A number as written: 800000, -5, 1,000,000.00 (thousands separators in threes), after normalize_text
NUMBER_TEXT = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def normalize_text(raw: str) -> str:
    """Full-width digits, letters and punctuation to their ordinary forms, stray spaces removed."""
    return unicodedata.normalize("NFKC", raw).strip()


def number_in_text(text: str) -> Decimal | None:
    """The number a text holds, written as a clerk writes one (1,000,000.00, full-width ８００), or None
    when the text is not a number."""
    normal = normalize_text(text)
    return Decimal(normal.replace(",", "")) if NUMBER_TEXT.match(normal) else None
