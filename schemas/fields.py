"""The fields of a transformation-subsidy application, from application_fields.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml

from schemas.policy import Policy, PolicyError

YES = "是"  # the 是/否 fields' "yes" (小巨人, the documents)
NO = "否"

Kind = Literal["text", "uscc", "choice", "money", "date", "ratio"]


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    kind: Kind
    clause: str
    width: int
    unit: str = ""
    computed: bool = False
    required: str = "never"
    choices: str | tuple[str, ...] | None = None
    none_value: str | None = None
    help: str = ""
    group: str = ""  # "materials": one document of 第十一条（一）3

    @property
    def header(self) -> str:
        """The column header a clerk sees: the label with its unit."""
        return f"{self.label}（{self.unit}）" if self.unit else self.label

    def allowed(self, policy: Policy) -> list[str]:
        """The values a choice field accepts, `none_value` first when there is one."""
        if self.choices is None:
            return []
        values = list(self.choices) if isinstance(self.choices, tuple) else list(policy.value(self.choices))
        return ([self.none_value] if self.none_value else []) + values


def field_from_spec(raw: dict) -> Field:
    """A field from its YAML mapping."""
    choices = raw.get("choices")
    return Field(
        id=raw["id"],
        label=raw["label"],
        kind=raw["kind"],
        clause=raw["clause"],
        width=raw["width"],
        unit=raw.get("unit", ""),
        computed=raw.get("computed", False),
        required=raw.get("required", "never"),
        choices=tuple(choices) if isinstance(choices, list) else choices,
        none_value=raw.get("none_value"),
        help=raw.get("help", ""),
        group=raw.get("group", ""),
    )


@cache
def application_fields() -> tuple[Field, ...]:
    text = resources.files("schemas").joinpath("data", "application_fields.yaml").read_text("utf-8")
    return tuple(field_from_spec(raw) for raw in yaml.safe_load(text)["fields"])


def field_by_id() -> dict[str, Field]:
    return {f.id: f for f in application_fields()}


def input_fields() -> tuple[Field, ...]:
    return tuple(f for f in application_fields() if not f.computed)


def computed_fields() -> tuple[Field, ...]:
    return tuple(f for f in application_fields() if f.computed)


def material_fields(policy: Policy) -> list[Field]:
    """The 是/否 columns of the documents the policy requires (第十一条（一）3), in template order."""
    required = policy.value("application_materials")
    fields = [f for f in application_fields() if f.group == "materials" and f.label in required]
    missing = set(required) - {f.label for f in fields}
    if missing:
        raise PolicyError(f"政策要求的申报材料 {sorted(missing)} 在申报表中没有对应的列")
    return fields


def part_field(source: str) -> str:
    """The column of a funding source's part of the first line: the source's key, or `<key>_fund` where
    the key is already an input column's (the 兵团's `division` is the 所属师市 column)."""
    return f"{source}_fund" if source in {f.id for f in input_fields()} else source


def none_value(field_id: str) -> str:
    """The choice that means "nothing" for a field (a blank cell reads as it)."""
    value = field_by_id()[field_id].none_value
    if value is None:
        raise KeyError(f"field {field_id} has no none_value")
    return value
