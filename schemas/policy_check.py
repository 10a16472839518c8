"""`dtfund policy check FILE`: every problem of a policy file, in Chinese, each naming its key and the
line of the file it is on. The loader (schemas.policy.load_policy) refuses a file with the first of the
same problems; this lists them all, so an official writing a city's measures fixes them in one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from schemas import yaml_data
from schemas.fields import declared_fields
from schemas.lines import BASE_KEYS, FEE_LIMIT_KEYS, LINE_KEYS, LISTED_KEYS
from schemas.policy import (
    Policy,
    PolicyError,
    Problem,
    _parameter,
    consistency_problems,
    date_problems,
    parse_policy,
)

TOP_KEYS = (
    "id",
    "version",
    "title",
    "fund",
    "source",
    "published",
    "parameters",
    "funding_sources",
    "lines",
    "windows",
    "fields",
    "awards",
    "plan",
)
MISSING = "缺少键"
REQUIRED_TOP = ("id", "version", "fund", "parameters", "funding_sources", "lines")
PARAMETER_KEYS = ("label", "unit", "clause", "values", "note", "applies_by")
VALUE_KEYS = ("from", "until", "value")
WINDOW_KEYS = ("field", "start", "end")
FIELD_TEXT_KEYS = ("label", "help", "clause", "width")
# The lists the template's columns choose from (application_fields.yaml `choices`), and the documents.
REQUIRED_PARAMETERS = (
    "levels",
    "submitting_units",
    "size_classes",
    "negative_records",
    "pilot_industries",
    "application_materials",
)


@dataclass(frozen=True)
class PolicyProblem:
    line: int | None  # 1-based, None when the key is missing altogether
    key: str
    message: str

    def text(self) -> str:
        where = f"第 {self.line} 行" if self.line else "文件中"
        return f"{where} {self.key}：{self.message}"


def check_policy_text(text: str, where: str) -> list[PolicyProblem]:
    """Every problem of a policy file's text, in file order."""
    try:
        node = yaml.compose(text, Loader=yaml_data.SafeLoader)
        raw = yaml_data.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return [PolicyProblem(line, "（整个文件）", f"不是有效的 YAML：{getattr(exc, 'problem', exc)}")]
    if not isinstance(raw, dict):
        return [PolicyProblem(1, "（整个文件）", "政策文件应为键值对（YAML 映射）")]
    lines = _key_lines(node)
    problems = _structure_problems(raw)
    missing = any(message.startswith(MISSING) for _, message in problems)
    try:
        policy = parse_policy(raw, where, check=False)
    except (KeyError, TypeError, AttributeError, PolicyError) as exc:
        if not missing:  # a missing key says why already
            problems.append(("（整个文件）", f"格式不正确：{exc}"))
    else:
        for parameter in policy.parameters.values():
            problems += date_problems(parameter)
        problems += consistency_problems(policy) + line_problems(policy)
    found = [PolicyProblem(_line_of(key, lines), key, message) for key, message in problems]
    return sorted(found, key=lambda p: (p.line or 0, p.key))


def _key_lines(node: yaml.Node, path: str = "") -> dict[str, int]:
    """Each key path of the file (`parameters.subsidy_rate`, `lines[0].rate`) and its 1-based line."""
    found: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = f"{path}.{key.value}" if path else str(key.value)
            found[child] = key.start_mark.line + 1
            found.update(_key_lines(value, child))
    elif isinstance(node, yaml.SequenceNode):
        for n, item in enumerate(node.value):
            child = f"{path}[{n}]"
            found[child] = item.start_mark.line + 1
            found.update(_key_lines(item, child))
    return found


def _line_of(key: str, lines: dict[str, int]) -> int | None:
    """The line of the key, or of its nearest enclosing key."""
    while key:
        if key in lines:
            return lines[key]
        key = key.rsplit(".", 1)[0] if "." in key else key.rsplit("[", 1)[0] if "[" in key else ""
    return None


def _unknown(mapping: Any, allowed: tuple[str, ...], key: str) -> list[Problem]:
    if not isinstance(mapping, dict):
        return [(key, "应为键值对（YAML 映射）")]
    return [
        (f"{key}.{name}" if key else str(name), f"未知的键 {name}（可用：{'、'.join(allowed)}）")
        for name in mapping
        if name not in allowed
    ]


def _missing(mapping: dict, required: tuple[str, ...], key: str) -> list[Problem]:
    return [(key or "（整个文件）", f"{MISSING} {name}") for name in required if name not in mapping]


def _structure_problems(raw: dict) -> list[Problem]:
    """Unknown and missing keys, before the file is read as a policy."""
    problems = _unknown(raw, TOP_KEYS, "") + _missing(raw, REQUIRED_TOP, "")
    for name, spec in (raw.get("parameters") or {}).items():
        key = f"parameters.{name}"
        problems += _unknown(spec, PARAMETER_KEYS, key)
        if not isinstance(spec, dict):
            continue
        problems += _missing(spec, ("label", "unit", "clause", "values"), key)
        for n, entry in enumerate(spec.get("values") or []):
            problems += _unknown(entry, VALUE_KEYS, f"{key}.values[{n}]")
            if isinstance(entry, dict):
                problems += _missing(entry, ("from", "value"), f"{key}.values[{n}]")
        try:
            _parameter(name, spec, check=False)
        except PolicyError as exc:
            problems.append((key, str(exc)))
    for n, line in enumerate(raw.get("lines") or []):
        key = f"lines[{n}]"
        problems += _unknown(line, LINE_KEYS, key)
        if not isinstance(line, dict):
            continue
        problems += _missing(line, ("id", "label", "clause", "split"), key)
        if isinstance(line.get("base"), dict):
            problems += _unknown(line["base"], BASE_KEYS, f"{key}.base") + _missing(
                line["base"], ("items",), f"{key}.base"
            )
            problems += _unknown(
                line["base"].get("fee_limits") or {}, FEE_LIMIT_KEYS, f"{key}.base.fee_limits"
            )
        if "listed" in line:
            problems += _unknown(line["listed"], LISTED_KEYS, f"{key}.listed")
    for n, window in enumerate(raw.get("windows") or []):
        problems += _unknown(window, WINDOW_KEYS, f"windows[{n}]")
        if isinstance(window, dict):
            problems += _missing(window, WINDOW_KEYS, f"windows[{n}]")
    for name, texts in (raw.get("fields") or {}).items():
        problems += _unknown(texts, FIELD_TEXT_KEYS, f"fields.{name}")
    return problems


def line_problems(policy: Policy) -> list[Problem]:
    """What the lines, the date windows and the column texts refer to exists: parameters, the template's
    columns (a cost item, a date, a choice), the funding sources; one rated line at the most."""
    columns = {f.id: f for f in declared_fields()}
    inputs = {name for name, f in columns.items() if not f.computed}
    problems: list[Problem] = [
        ("parameters", f"缺少参数 {name}（模板的下拉列表或申报材料用到它）")
        for name in REQUIRED_PARAMETERS
        if name not in policy.parameters
    ]
    if not policy.lines:
        problems.append(("lines", "至少需要一条资金支持项目（lines）"))
    if sum(1 for line in policy.lines if line.rated) > 1:
        problems.append(("lines", "按比例补贴的项目（有 base 的）最多一条：模板只有一列“可补贴改造费用”"))
    ids = [line.id for line in policy.lines]
    for n, line in enumerate(policy.lines):
        key = f"lines[{n}]"
        if ids.count(line.id) > 1:
            problems.append((f"{key}.id", f"项目 {line.id} 重复"))
        if line.id in inputs:
            problems.append((f"{key}.id", f"项目 {line.id} 与申报表的填写列同名，请换一个 id"))
        for role in ("rate", "cap", "amount", "deadline", "split"):
            name = getattr(line, role)
            if name and name not in policy.parameters:
                problems.append((f"{key}.{role}", f"项目 {line.id} 引用的参数 {name} 不存在"))
        if line.listed is not None and line.listed.list not in policy.parameters:
            problems.append((f"{key}.listed", f"项目 {line.id} 引用的参数 {line.listed.list} 不存在"))
        if line.rated and not line.rate:
            problems.append((f"{key}.rate", f"项目 {line.id} 有 base，须写明比例 rate"))
        if not line.rated and not line.amount:
            problems.append((f"{key}.amount", f"项目 {line.id} 没有 base，须写明金额 amount"))
        if line.deadline and not line.deadline_dates:
            problems.append((f"{key}.deadline_dates", f"项目 {line.id} 有 deadline，须列出须在期限内的日期"))
        for name in line.base.fee_limits.values() if line.base else ():
            if name not in policy.parameters:
                problems.append((f"{key}.base.fee_limits", f"项目 {line.id} 引用的参数 {name} 不存在"))
        for role, names, kind in (
            ("base.items", line.base.items if line.base else (), "money"),
            ("deadline_dates", line.deadline_dates, "date"),
            ("listed", (line.listed.field,) if line.listed else (), "choice"),
        ):
            for name in names:
                if name not in inputs or columns[name].kind != kind:
                    problems.append((f"{key}.{role}", f"项目 {line.id} 引用的填写列 {name} 不存在或类型不符"))
    for n, window in enumerate(policy.windows):
        if window.field not in inputs or columns[window.field].kind != "date":
            problems.append((f"windows[{n}].field", f"日期列 {window.field} 不存在"))
        for role in ("start", "end"):
            if getattr(window, role) not in policy.parameters:
                problems.append((f"windows[{n}].{role}", f"参数 {getattr(window, role)} 不存在"))
    for name in policy.field_texts:
        if name not in columns:
            problems.append((f"fields.{name}", f"申报表没有列 {name}"))
    return problems + plan_line_problems(policy)


def plan_line_problems(policy: Policy) -> list[Problem]:
    """Every amount counts against the plan: each plan line's `awards` names a funding line (or an award
    sheet, which names its plan line itself), and each funding line is counted by one plan line; money
    that no plan line counts would be paid past every budget (BUDGET_EXCEEDED) unseen."""
    if policy.plan is None:
        return []
    ids = [line.id for line in policy.lines]
    problems: list[Problem] = []
    counted: dict[str, list[str]] = {}
    for n, line in enumerate(policy.plan.lines):
        for name in line.awards:
            if name not in ids and name not in policy.awards:
                problems.append(
                    (
                        f"plan.lines[{n}].awards",
                        f"计划行 {line.name} 计入的项目 {name} 不存在（可用：{'、'.join(ids)}）",
                    )
                )
            counted.setdefault(name, []).append(line.name)
    for n, line_id in enumerate(ids):
        planned = counted.get(line_id, [])
        if not planned:
            problems.append(
                (
                    f"lines[{n}].id",
                    f"项目 {line_id} 没有计入任何计划行（plan.lines 的 awards），其金额不受资金使用计划约束",
                )
            )
        elif len(planned) > 1:
            problems.append(
                (
                    f"lines[{n}].id",
                    f"项目 {line_id} 计入了 {len(planned)} 个计划行（{'、'.join(planned)}），会被重复计算",
                )
            )
    return problems
