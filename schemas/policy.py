"""Policy parameters: every number the rules use, with unit, label, effective dates and clause."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from schemas.plan import Plan, parse_plan

DEFAULT_POLICY_FILE = "policy-xpcc-2025-03.yaml"


class PolicyError(ValueError):
    """The policy file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class DatedValue:
    start: dt.date
    end: dt.date | None
    value: Any


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    unit: str
    clause: str
    values: tuple[DatedValue, ...]
    note: str = ""

    def at(self, on: dt.date | None = None) -> Any:
        """The value in force on a date; without a date, the latest value."""
        if on is None:
            return self.values[-1].value
        in_force = [v for v in self.values if v.start <= on and (v.end is None or on <= v.end)]
        if not in_force:
            raise PolicyError(f"参数 {self.name}（{self.label}）在 {on} 没有生效的取值")
        return in_force[-1].value


@dataclass(frozen=True)
class Policy:
    id: str
    version: str
    title: str
    parameters: dict[str, Parameter]
    funding_sources: dict[str, str]
    path: str
    plan: Plan | None = None
    awards: dict[str, dict[str, Any]] = field(default_factory=dict)  # the award sheets (schemas.awards)

    def parameter(self, name: str) -> Parameter:
        try:
            return self.parameters[name]
        except KeyError:
            raise PolicyError(f"政策文件 {self.path} 缺少参数 {name}") from None

    def value(self, name: str, on: dt.date | None = None) -> Any:
        return self.parameter(name).at(on)

    def clause(self, name: str) -> str:
        return self.parameter(name).clause

    def rate(self, name: str) -> Decimal:
        return self.value(name)

    def shares(self, name: str) -> dict[str, Decimal]:
        return dict(self.value(name))

    @property
    def eligible_levels(self) -> list[str]:
        """The levels that can receive the transformation subsidy: those with a cap."""
        return list(self.value("subsidy_cap"))


def _convert(value: Any) -> Any:
    """Numbers in the policy are written as strings and become Decimal; dates stay dates."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {str(k): _convert(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if isinstance(v, str) else _convert(v) for v in value]
    return value


def _parameter(name: str, raw: dict[str, Any]) -> Parameter:
    try:
        entries = sorted(raw["values"], key=lambda e: e["from"])
        values = tuple(
            DatedValue(start=e["from"], end=e.get("until"), value=_convert(e["value"])) for e in entries
        )
        return Parameter(
            name=name,
            label=raw["label"],
            unit=raw["unit"],
            clause=raw["clause"],
            values=values,
            note=raw.get("note", ""),
        )
    except (KeyError, TypeError) as exc:
        raise PolicyError(f"参数 {name} 的格式不正确：缺少 {exc}") from None


def _check_consistency(policy: Policy) -> None:
    for name, parameter in policy.parameters.items():
        if name.endswith("_split"):
            for dated in parameter.values:
                total = sum(dated.value.values(), Decimal(0))
                if total != 1:
                    raise PolicyError(f"参数 {name}（{parameter.label}）各来源比例之和为 {total}，应为 1")
                unknown = set(dated.value) - set(policy.funding_sources)
                if unknown:
                    raise PolicyError(f"参数 {name} 含有未定义的资金来源 {sorted(unknown)}")
    levels = policy.value("levels")
    for name in ("subsidy_cap", "progress_bonus"):
        unknown = set(policy.value(name)) - set(levels)
        if unknown:
            raise PolicyError(f"参数 {name} 含有未定义的等级 {sorted(unknown)}")


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy file; without a path, the bundled draft measures of 2025-03."""
    if path is None:
        text = resources.files("schemas").joinpath("data", DEFAULT_POLICY_FILE).read_text("utf-8")
        where = f"schemas/data/{DEFAULT_POLICY_FILE}"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(f"无法读取政策文件 {path}：{exc}") from None
        where = str(path)
    try:
        raw = yaml.safe_load(text)
        parameters = {name: _parameter(name, spec) for name, spec in raw["parameters"].items()}
        policy = Policy(
            id=str(raw["id"]),
            version=str(raw["version"]),
            title=str(raw.get("title", "")),
            parameters=parameters,
            funding_sources=dict(raw["funding_sources"]),
            path=where,
            plan=parse_plan(raw["plan"]) if "plan" in raw else None,
            awards=dict(raw.get("awards") or {}),
        )
    except yaml.YAMLError as exc:
        raise PolicyError(f"政策文件 {where} 不是有效的 YAML：{exc}") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise PolicyError(f"政策文件 {where} 格式不正确：缺少 {exc}") from None
    _check_consistency(policy)
    return _with_award_lines(policy)


def _with_award_lines(policy: Policy) -> Policy:
    """Each award sheet counts against its plan line: the line lists the award beside the application
    amounts, so execution and BUDGET_EXCEEDED see both."""
    if policy.plan is None or not policy.awards:
        return policy
    keys = {line.key for line in policy.plan.lines}
    extra: dict[str, list[str]] = {}
    for kind, spec in policy.awards.items():
        line = str(spec.get("line"))
        if line not in keys:
            raise PolicyError(f"奖励 {kind} 指向的计划行 {line} 不在资金使用计划表中")
        extra.setdefault(line, []).append(kind)
    lines = tuple(
        replace(line, awards=(*line.awards, *extra.get(line.key, ()))) for line in policy.plan.lines
    )
    return replace(policy, plan=replace(policy.plan, lines=lines))
