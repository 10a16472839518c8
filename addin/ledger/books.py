"""What the books say, from the ledger's entries: the batches, and Σ paid per funding source, per unit
and per plan line and source (the one source of `ledger show`, `ledger export` and `ledger report`)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from addin.ledger.settlement import TOTAL, money_shape, source_field
from schemas.money import ZERO


def _add(shape: dict[str, Decimal], source: str, amount: Decimal) -> None:
    field = source_field(source)
    shape[field] = shape.get(field, ZERO) + amount
    shape[TOTAL] += amount


def books(
    batches: list[dict[str, Any]], entries: list[dict[str, Any]], sources: Iterable[str]
) -> dict[str, Any]:
    """Batches (each with its enterprises and Σ per source) and totals: `paid` per source and in all,
    `by_unit` and `by_line` in the same shape."""
    sources = list(dict.fromkeys([*sources, *(e["source"] for e in entries)]))
    paid = money_shape(sources)
    by_unit: dict[str, dict[str, Decimal]] = {}
    by_line: dict[str, dict[str, Any]] = {}
    by_batch: dict[str, dict[str, Any]] = {
        b["name"]: {"paid": money_shape(sources), "enterprises": set()} for b in batches
    }
    for entry in entries:
        amount, source = entry["amount"], entry["source"]
        _add(paid, source, amount)
        _add(by_unit.setdefault(entry["unit"], money_shape(sources)), source, amount)
        line = by_line.setdefault(
            entry["line"], {"line_name": entry["line_name"], "paid": money_shape(sources)}
        )
        _add(line["paid"], source, amount)
        batch = by_batch[entry["batch"]]
        _add(batch["paid"], source, amount)
        batch["enterprises"].add(entry["enterprise_key"])
    return {
        "sources": sources,
        "batches": [
            {
                "name": b["name"],
                "doc": b["doc"],
                "date": b["date"],
                "recorded_at": b["recorded_at"],
                "entries": b["entries"],
                "enterprises": len(by_batch[b["name"]]["enterprises"]),
                "paid": by_batch[b["name"]]["paid"],
            }
            for b in batches
        ],
        "totals": {
            "paid": paid,
            "by_unit": [{"unit": unit, "paid": shape} for unit, shape in by_unit.items()],
            "by_line": [{"line": key, **value} for key, value in by_line.items()],
        },
    }
