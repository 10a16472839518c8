"""The fields of a transformation-subsidy application, from application_fields.yaml."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Literal

from schemas import yaml_data
from schemas.policy import Policy, PolicyError, load_policy

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
    optional: bool = False  # an input only a policy's line or date window reads: shown when one does

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
        optional=raw.get("optional", False),
    )


@cache
def declared_fields() -> tuple[Field, ...]:
    """Every column application_fields.yaml declares; a policy shows those its lines use."""
    text = resources.files("schemas").joinpath("data", "application_fields.yaml").read_text("utf-8")
    return tuple(field_from_spec(raw) for raw in yaml_data.safe_load(text)["fields"])


@cache
def default_policy() -> Policy:
    return load_policy()


# The template's computed columns besides the lines' (each shown when the policy's base has it).
FEE_AMOUNT_FIELDS = ("service_total",)
RATIO_FIELDS = ("service_ratio", "integration_ratio")
FEE_FIELDS = {"service": ("service_total", "service_ratio"), "integration": ("integration_ratio",)}
BASE_FIELD = "eligible_base"
TOTAL_FIELD = "total_award"
TOTAL_LABEL = "补贴奖励合计"


def fee_limit_kinds(policy: Policy) -> tuple[str, ...]:
    """The fee limits the rated line's base has (service, integration), in the policy's order."""
    line = policy.rated_line
    return tuple(line.base.fee_limits) if line is not None and line.base is not None else ()


def ratio_fields(policy: Policy) -> tuple[str, ...]:
    shown = {name for kind in fee_limit_kinds(policy) for name in FEE_FIELDS[kind]}
    return tuple(name for name in RATIO_FIELDS if name in shown)


@cache
def part_field(source: str) -> str:
    """The column of a funding source's part of the first line: the source's key, or `<key>_fund` where
    the key is already an input column's (the 兵团's `division` is the 所属师市 column)."""
    return f"{source}_fund" if source in {f.id for f in declared_fields() if not f.computed} else source


def part_fields(policy: Policy) -> dict[str, str]:
    """The template's columns of the first line's parts, by funding source."""
    return {source: part_field(source) for source in policy.part_sources}


def amount_fields(policy: Policy) -> tuple[str, ...]:
    """The money columns of a row, in template order: the steps, each line (the first with its parts by
    funding source), the total."""
    names: list[str] = [*FEE_AMOUNT_FIELDS] if "service" in fee_limit_kinds(policy) else []
    if policy.rated_line is not None:
        names.append(BASE_FIELD)
    for line in policy.lines:
        names.append(line.id)
        if line is policy.part_line:
            names.extend(part_fields(policy).values())
    return (*names, TOTAL_FIELD)


def _computed_order(policy: Policy) -> list[str]:
    """The computed columns in template order: the fee columns with their ratios, then the amounts."""
    amounts = list(amount_fields(policy))
    fees = [name for name in amounts if name in FEE_AMOUNT_FIELDS]
    return [*fees, *ratio_fields(policy), *amounts[len(fees) :]]


def _computed_field(name: str, policy: Policy, declared: dict[str, Field]) -> Field:
    """A computed column: as declared, with the label and clause of the policy's line it shows; a line or
    funding source the YAML does not know gets a column of its own."""
    line = policy.line(name)
    sources = {field: source for source, field in part_fields(policy).items()}
    clause = None
    if line is not None:
        spec, clause = declared.get(name), line.clause
        spec = replace(spec, label=line.label) if spec else _money_column(name, line.label)
    elif name in sources:
        spec = declared.get(name) or _money_column(name, f"其中：{policy.funding_sources[sources[name]]}")
        clause = policy.clause(policy.part_line.split)
    else:
        spec = declared[name]
        rated = policy.rated_line
        if name == BASE_FIELD and rated is not None:
            clause = rated.clause
    return replace(spec, clause=clause) if clause else spec


def _money_column(name: str, label: str) -> Field:
    return Field(id=name, label=label, kind="money", clause="", width=14, unit="元", computed=True)


def _fields_of(policy: Policy) -> tuple[Field, ...]:
    read = {w.field for w in policy.windows} | {name for line in policy.lines for name in line.inputs()}
    inputs = [f for f in declared_fields() if not f.computed and (not f.optional or f.id in read)]
    declared = {f.id: f for f in declared_fields()}
    computed = [_computed_field(name, policy, declared) for name in _computed_order(policy)]
    texts = policy.field_texts
    return tuple(replace(f, **texts[f.id]) if f.id in texts else f for f in (*inputs, *computed))


_FIELDS: dict[int, tuple[Policy, tuple[Field, ...]]] = {}


def application_fields(policy: Policy | None = None) -> tuple[Field, ...]:
    """The application table's columns under a policy (the bundled one by default): the inputs its lines
    read, the computed columns of its lines and funding sources, with the policy's own texts."""
    policy = policy if policy is not None else default_policy()
    known = _FIELDS.get(id(policy))
    if known is None or known[0] is not policy:
        known = _FIELDS[id(policy)] = (policy, _fields_of(policy))
    return known[1]


def field_by_id(policy: Policy | None = None) -> dict[str, Field]:
    return {f.id: f for f in application_fields(policy)}


def input_fields(policy: Policy | None = None) -> tuple[Field, ...]:
    return tuple(f for f in application_fields(policy) if not f.computed)


def computed_fields(policy: Policy | None = None) -> tuple[Field, ...]:
    return tuple(f for f in application_fields(policy) if f.computed)


def material_fields(policy: Policy) -> list[Field]:
    """The 是/否 columns of the documents the policy requires (第十一条（一）3), in template order."""
    required = policy.value("application_materials")
    fields = [f for f in application_fields(policy) if f.group == "materials" and f.label in required]
    missing = set(required) - {f.label for f in fields}
    if missing:
        raise PolicyError(f"政策要求的申报材料 {sorted(missing)} 在申报表中没有对应的列")
    return fields


def none_value(field_id: str) -> str:
    """The choice that means "nothing" for a field (a blank cell reads as it)."""
    value = {f.id: f for f in declared_fields()}[field_id].none_value
    if value is None:
        raise KeyError(f"field {field_id} has no none_value")
    return value
