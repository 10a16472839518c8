"""The rules' YAML files (the policy, the fields, the rule registry) as Python data."""

from __future__ import annotations

from typing import Any

import yaml
from yaml.constructor import ConstructorError

# PyYAML's safe loader, parsed by libyaml where PyYAML was built with it (its wheels are): the same
# data, in a tenth of the time of the pure-Python parser (0.08 s of every command's start).
BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SafeLoader(BaseLoader):  # type: ignore[misc,valid-type]
    """The safe loader, stricter where a policy file's author would be misled: a key given twice in
    one mapping (YAML keeps the last silently) and a date that does not exist (2025-02-30) are errors
    at their line, not a value quietly replaced or an exception without a place."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # (<<: *anchor merges a mapping in; its keys may be overridden)
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                raise ConstructorError(None, None, f"键 {key} 重复出现（只能写一次）", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            raise ConstructorError(None, None, f"日期 {node.value} 不存在", node.start_mark) from None


SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", SafeLoader.construct_yaml_timestamp)
SafeLoader.add_constructor("tag:yaml.org,2002:map", SafeLoader.construct_yaml_map)


def safe_load(text: str) -> Any:
    """What yaml.safe_load gives for the text, but for the errors SafeLoader adds."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - a safe loader
