"""A ``Pulumi.<stack>.yaml`` file: its ``config:`` and the line of each setting.

Problems name config paths; this maps a path back to the line a user edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .spec import Problem, SpecError, StackSpec, validate_stack


class UnreadableFile(Exception):
    """A stack file that cannot be read or parsed as YAML."""


@dataclass
class StackFile:
    """A stack file's ``config:`` mapping and the YAML nodes it came from."""

    path: Path
    config: dict[str, Any] | None
    root: yaml.Node | None

    @classmethod
    def load(cls, path: Path) -> StackFile:
        try:
            text = path.read_text(encoding="utf-8")
            root = yaml.compose(text, Loader=yaml.SafeLoader)
            document = yaml.safe_load(text)
        except (OSError, UnicodeDecodeError) as error:
            raise UnreadableFile(f"{path}: cannot be read: {error}") from None
        except yaml.YAMLError as error:
            raise UnreadableFile(
                f"{path}: is not valid YAML: {' '.join(str(error).split())}"
            ) from None
        if document is None:
            document = {}
        if not isinstance(document, dict):
            raise UnreadableFile(
                f"{path}: is not a stack file; expected a mapping with a 'config:' key"
            )
        config = document.get("config")
        return cls(path, config if isinstance(config, dict) else None, root)

    def line_of(self, config_path: str) -> int:
        """The 1-based line of a config path's key, or of its nearest parent's."""
        node, line = _child(self.root, "config")
        for part in _path_parts(config_path):
            child, child_line = _child(node, part)
            if child is None:
                break
            node, line = child, child_line
        return line + 1

    def validate(self) -> StackSpec:
        if self.config is None:
            raise SpecError(
                [
                    (
                        "config",
                        "is missing; a stack file keeps its settings under config:",
                    )
                ]
            )
        return validate_stack(self.config)

    def format(self, problem: Problem, kind: str = "") -> str:
        path, message = problem
        label = f"{kind}: " if kind else ""
        return f"{self.path}:{self.line_of(path)}: {label}{path}: {message}"


def _path_parts(config_path: str) -> list[str | int]:
    """``byoip:prefixes[0].cidr`` as ``["byoip:prefixes", 0, "cidr"]``."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", config_path):
        parts.append(int(index) if index else name)
    return parts


def _child(node: yaml.Node | None, key: str | int) -> tuple[yaml.Node | None, int]:
    """A child node and the 0-based line that names it (its key, or the item)."""
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node, key_node.start_mark.line
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(key, int)
        and key < len(node.value)
    ):
        return node.value[key], node.value[key].start_mark.line
    return None, 0
