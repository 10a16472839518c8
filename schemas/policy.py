"""Policy parameters: every number the rules use, with unit, label, effective dates and clause."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from schemas import yaml_data
from schemas.lines import FundingLine, parse_line
from schemas.plan import Plan, parse_plan

DEFAULT_POLICY_FILE = "policy-xpcc-2025-03.yaml"
# The application's date fields (application_fields.yaml): the key dates a parameter may apply by.
KEY_DATE_FIELDS = ("contract_date", "completion_date", "evaluation_date")
DEFAULT_KEY_DATE = "contract_date"


class PolicyError(ValueError):
    """The policy file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class DatedValue:
    start: dt.date
    end: dt.date | None
    value: Any


@dataclass(frozen=True)
class DateWindow:
    """A date field of the row that must fall between two date parameters (a blank end: no end)."""

    field: str
    start: str
    end: str


CONTRACT_WINDOW = DateWindow("contract_date", "contract_window_start", "contract_window_end")


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    unit: str
    clause: str
    values: tuple[DatedValue, ...]
    note: str = ""
    applies_by: str = DEFAULT_KEY_DATE  # the row's date field that chooses the value in force

    def at(self, on: dt.date | None = None) -> Any:
        """The value in force on a date; without a date, the latest value. A date before the first
        value gets the first value, as `positions` prices a row."""
        if on is None:
            return self.values[-1].value
        return self.dated(on).value

    def positions(self, dates: pd.Series) -> np.ndarray:
        """Per row, the position in `values` of the value in force on the row's date. A blank date, or
        one before the first value, gets the first value (position 0)."""
        if len(self.values) == 1:
            return np.zeros(len(dates), dtype=np.intp)
        days = np.asarray(dates, dtype="datetime64[D]")
        starts = np.array([v.start for v in self.values], dtype="datetime64[D]")
        found = np.searchsorted(starts, days, side="right") - 1
        found[np.isnat(days)] = 0
        return np.maximum(found, 0)

    def on_dates(self, dates: pd.Series) -> pd.Series:
        """Per row, the value in force on the row's date (blank or early dates: see `positions`)."""
        table = np.empty(len(self.values), dtype=object)
        for n, dated in enumerate(self.values):
            table[n] = dated.value
        return pd.Series(table[self.positions(dates)], index=dates.index, dtype=object)

    @functools.cached_property
    def dates_in_force(self) -> np.ndarray:
        """A date parameter's values as datetime64 (NaT for a blank), worked out once: a check looks
        them up for every block of rows."""
        limits = pd.to_datetime(pd.Series([v.value for v in self.values], dtype=object)).to_numpy()
        limits.setflags(write=False)
        return limits

    def dated(self, on: dt.date | pd.Timestamp | None) -> DatedValue:
        """The dated value a row with this key date is priced with (the same lookup as `positions`)."""
        day = None if on is None or pd.isna(on) else on
        return self.values[int(self.positions(pd.Series([day], dtype=object))[0])]

    def latest_only(self) -> Parameter:
        """This parameter with its latest value in force from its first date on."""
        return replace(self, values=(DatedValue(self.values[0].start, None, self.values[-1].value),))


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
    lines: tuple[FundingLine, ...] = ()  # the application's funding lines (schemas.lines)
    field_texts: dict[str, dict[str, Any]] = field(default_factory=dict)  # a column's label, help, clause
    fund: str = ""  # the fund's name, printed in the titles of the templates, reports and 报送表
    windows: tuple[DateWindow, ...] = ()  # the dates that must each fall inside a window

    def line(self, line_id: str) -> FundingLine | None:
        return next((line for line in self.lines if line.id == line_id), None)

    @property
    def rated_line(self) -> FundingLine | None:
        """The line that is a share of the eligible base (at most one)."""
        return next((line for line in self.lines if line.rated), None)

    @property
    def claimed_line(self) -> FundingLine:
        """The line the 申请补贴金额 column claims: the rated line, or the first."""
        return self.rated_line or self.lines[0]

    @property
    def part_line(self) -> FundingLine:
        """The line whose parts by funding source the template shows (the first)."""
        return self.lines[0]

    @property
    def part_sources(self) -> list[str]:
        """The funding sources of the first line's split, in order."""
        return list(self.parameter(self.part_line.split).values[-1].value)

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

    def by_level(self, name: str) -> bool:
        """Whether the parameter is a table keyed by the evaluation levels (read at the row's level)."""
        value = self.parameter(name).values[-1].value
        return isinstance(value, dict) and set(value) <= set(self.value("levels"))

    @property
    def eligible_levels(self) -> list[str]:
        """The levels that can receive the lines: those of the rated line's cap table (every dated
        table lists the same levels), or every level when no cap is set by level."""
        line = self.rated_line
        if line is not None and line.cap and self.by_level(line.cap):
            return list(self.value(line.cap))
        return list(self.value("levels"))

    def latest(self) -> Policy:
        """This policy with every parameter at its latest value, whatever the date (for the add-in's
        functions that take no date)."""
        latest = {name: parameter.latest_only() for name, parameter in self.parameters.items()}
        return replace(self, parameters=latest)


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


Problem = tuple[str, str]  # the key it is about ("parameters.subsidy_rate") and a Chinese message


def _parameter(name: str, raw: dict[str, Any], check: bool = True) -> Parameter:
    try:
        for entry in raw["values"]:
            for role in ("from", "until"):
                if not (role == "until" and entry.get(role) is None) and not _is_date(entry[role]):
                    raise PolicyError(
                        f"参数 {name} 的 {role} 写作“{entry[role]}”，应为日期（如 2024-10-18，不加引号）"
                    )
        entries = sorted(raw["values"], key=lambda e: e["from"])
        values = tuple(
            DatedValue(start=e["from"], end=e.get("until"), value=_convert(e["value"])) for e in entries
        )
        parameter = Parameter(
            name=name,
            label=raw["label"],
            unit=raw["unit"],
            clause=raw["clause"],
            values=values,
            note=raw.get("note", ""),
            applies_by=raw.get("applies_by", DEFAULT_KEY_DATE),
        )
    except (KeyError, TypeError) as exc:
        raise PolicyError(f"参数 {name} 的格式不正确：缺少 {exc}") from None
    if check:
        _raise_first(date_problems(parameter))
    return parameter


def _number(value: Any) -> bool:
    """A finite Decimal (NaN and Infinity are no amount: Infinity would lift a cap)."""
    return isinstance(value, Decimal) and value.is_finite()


def _is_date(value: Any) -> bool:
    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


# What each unit's values must be: a check of one value, and what it should be, as said in Chinese.
UNIT_VALUES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "比例": (lambda v: _number(v) and 0 <= v <= 1, '0 至 1 之间的数（如 "0.5" 表示 50%）'),
    "元": (lambda v: _number(v) and v >= 0, '不小于 0 的数（如 "500000"）'),
    "万元": (lambda v: _number(v) and v >= 0, "不小于 0 的数"),
    "个": (lambda v: _number(v) and v >= 0 and v == v.to_integral_value(), "不小于 0 的整数"),
    "日期": (lambda v: v is None or _is_date(v), "日期（如 2025-12-31）或 null（不设）"),
    "列表": (lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v), "文字的列表"),
}


def value_problems(parameter: Parameter) -> list[Problem]:
    """Each value as its unit says: a ratio between 0 and 1, an amount of 元 not below 0, a date, a list
    of texts; a table by level or source holds such values. An unknown unit is a problem too."""
    key, name = f"parameters.{parameter.name}", f"参数 {parameter.name}（{parameter.label}）"
    if parameter.unit not in UNIT_VALUES:
        return [(key, f"{name}的单位“{parameter.unit}”未知（可用：{'、'.join(UNIT_VALUES)}）")]
    valid, wanted = UNIT_VALUES[parameter.unit]
    problems = []
    for dated in parameter.values:
        table = (
            dated.value if isinstance(dated.value, dict) and parameter.unit != "列表" else {"": dated.value}
        )
        for item, value in table.items():
            if not valid(value):
                shown = f"的“{item}”" if item else ""
                problems.append((key, f"{name}自 {dated.start} 起的取值{shown}为“{value}”，应为{wanted}"))
    return problems


def window_problems(policy: Policy) -> list[Problem]:
    """A date window whose start falls after its end on some day: no date could be inside it."""
    problems = []
    for n, window in enumerate(policy.windows):
        start, end = policy.parameters.get(window.start), policy.parameters.get(window.end)
        if start is None or end is None:
            continue  # (line_problems says so)
        for day in sorted({v.start for v in (*start.values, *end.values)}):
            opens, closes = start.at(day), end.at(day)
            if _is_date(opens) and _is_date(closes) and opens > closes:
                problems.append(
                    (
                        f"windows[{n}]",
                        f"自 {day} 起，{start.label}（{opens}）晚于{end.label}（{closes}）：没有日期能在其间",
                    )
                )
                break
    return problems


def _raise_first(problems: list[Problem]) -> None:
    if problems:
        raise PolicyError(problems[0][1])


def date_problems(parameter: Parameter) -> list[Problem]:
    """Every day from the first value on has exactly one value: an `until` is the day before the next
    value's `from`, the last value has none, and every dated table lists the same keys."""
    key = f"parameters.{parameter.name}"
    name, values = f"参数 {parameter.name}（{parameter.label}）", parameter.values
    if not values:
        return [(key, f"{name}没有取值")]
    problems = []
    if parameter.applies_by not in KEY_DATE_FIELDS:
        problems.append(
            (key, f"{name}的 applies_by 为 {parameter.applies_by}，应为 {'、'.join(KEY_DATE_FIELDS)} 之一")
        )
    for earlier, later in pairwise(values):
        if earlier.start == later.start:
            problems.append((key, f"{name}有两个取值都从 {later.start} 起施行（重叠）"))
        elif earlier.end is not None and earlier.end != later.start - dt.timedelta(days=1):
            gap = "中间有空档" if earlier.end < later.start else "相互重叠"
            problems.append(
                (
                    key,
                    f"{name}自 {earlier.start} 起的取值施行至 {earlier.end}，下一个取值却从 {later.start} 起"
                    f"（{gap}）：until 应为下一个取值起施行的前一天",
                )
            )
    if values[-1].end is not None:
        problems.append(
            (
                key,
                f"{name}的最后一个取值施行至 {values[-1].end}，之后没有取值：请删去 until，或写明之后的取值（如 0）",
            )
        )
    keys = [list(v.value) for v in values if isinstance(v.value, dict)]
    if any(k != keys[0] for k in keys):
        problems.append((key, f"{name}的各个取值须按相同顺序列出相同的项目：{keys}"))
    return problems


def consistency_problems(policy: Policy) -> list[Problem]:
    """Shares that add up to 1 from known sources, every parameter in force from the window's opening,
    level tables of known levels."""
    problems = [problem for parameter in policy.parameters.values() for problem in value_problems(parameter)]
    if problems or any(not parameter.values for parameter in policy.parameters.values()):
        return problems  # (what follows reads the values as their units say; date_problems: none at all)
    problems += window_problems(policy)
    splits = {line.split for line in policy.lines} | {n for n in policy.parameters if n.endswith("_split")}
    for name in sorted(splits & set(policy.parameters)):
        parameter = policy.parameters[name]
        for dated in parameter.values:
            if not isinstance(dated.value, dict):
                problems.append((f"parameters.{name}", f"参数 {name} 应按资金来源列出比例"))
                continue
            total = sum(dated.value.values(), Decimal(0))
            if total != 1:
                problems.append(
                    (
                        f"parameters.{name}",
                        f"参数 {name}（{parameter.label}）各来源比例之和为 {total}，应为 1",
                    )
                )
            unknown = set(dated.value) - set(policy.funding_sources)
            if unknown:
                problems.append(
                    (
                        f"parameters.{name}",
                        f"参数 {name} 含有未定义的资金来源 {sorted(unknown)}（见 funding_sources）",
                    )
                )
    starts = [w.start for w in policy.windows[:1] if w.start in policy.parameters]
    if starts:
        opening = min(v.value for v in policy.parameters[starts[0]].values)
        for name, parameter in policy.parameters.items():
            if parameter.values and parameter.values[0].start > opening:
                problems.append(
                    (
                        f"parameters.{name}",
                        f"参数 {name}（{parameter.label}）自 {parameter.values[0].start} 起才有取值，晚于合同签订起始日"
                        f" {opening}：每个参数都须自该日起有取值",
                    )
                )
    levels = policy.parameters["levels"].values[-1].value if "levels" in policy.parameters else []
    for line in policy.lines:
        for name in (line.rate, line.cap, line.amount):
            value = policy.parameters[name].values[-1].value if name in policy.parameters else None
            unknown = set(value) - set(levels) if isinstance(value, dict) else set()
            if unknown:
                problems.append((f"parameters.{name}", f"参数 {name} 含有未定义的等级 {sorted(unknown)}"))
    return problems


def read_policy_text(path: str | Path | None) -> tuple[str, str]:
    """A policy file's text and where it is from; without a path, the bundled draft measures."""
    if path is None:
        text = resources.files("schemas").joinpath("data", DEFAULT_POLICY_FILE).read_text("utf-8")
        return text, f"schemas/data/{DEFAULT_POLICY_FILE}"
    try:
        return Path(path).read_text("utf-8"), str(path)
    except UnicodeDecodeError:
        raise PolicyError(
            f"无法读取政策文件 {path}：它不是 UTF-8 编码的文本，请用文本编辑器另存为 UTF-8。"
        ) from None
    except OSError as exc:
        raise PolicyError(
            f"无法读取政策文件 {path}：{_UNREADABLE.get(type(exc), exc.strerror or str(exc))}。"
        ) from None


_UNREADABLE: dict[type, str] = {
    FileNotFoundError: "文件不存在",
    IsADirectoryError: "这是一个文件夹",
    PermissionError: "没有读取权限",
}


def parse_policy(raw: dict[str, Any], where: str, check: bool = True) -> Policy:
    """A policy from its parsed YAML (KeyError, TypeError, AttributeError for a missing or malformed
    key); `check`: each parameter's dates (the first problem raised)."""
    parameters = {name: _parameter(name, spec, check) for name, spec in raw["parameters"].items()}
    return Policy(
        id=str(raw["id"]),
        version=str(raw["version"]),
        title=str(raw.get("title", "")),
        fund=str(raw["fund"]),
        field_texts={str(k): dict(v) for k, v in (raw.get("fields") or {}).items()},
        parameters=parameters,
        funding_sources=dict(raw["funding_sources"]),
        path=where,
        plan=parse_plan(raw["plan"]) if "plan" in raw else None,
        awards=dict(raw.get("awards") or {}),
        lines=tuple(parse_line(line) for line in raw["lines"]),
        windows=tuple(
            DateWindow(str(w["field"]), str(w["start"]), str(w["end"]))
            for w in raw.get("windows") or [vars(CONTRACT_WINDOW)]
        ),
    )


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy file; without a path, the bundled draft measures of 2025-03. A file with a problem
    (schemas.policy_check lists them all) raises PolicyError with the first."""
    from schemas.policy_check import line_problems  # it reads the template's columns (schemas.fields)

    text, where = read_policy_text(path)
    try:
        raw = yaml_data.safe_load(text)
        if not isinstance(raw, dict):
            raise PolicyError(f"政策文件 {where} 应为键值对（YAML 映射），而它是空的或只有一个值。")
        policy = parse_policy(raw, where)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"第 {mark.line + 1} 行" if mark is not None else ""
        raise PolicyError(
            f"政策文件 {where} {line}不是有效的 YAML：{getattr(exc, 'problem', None) or exc}"
        ) from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise PolicyError(f"政策文件 {where} 格式不正确：缺少 {exc}") from None
    _raise_first(consistency_problems(policy) + line_problems(policy))
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
