"""YAML loading that remembers where every key was written.

Config errors must name the file, the line and the key before any fetch starts, so the
YAML is composed into nodes (which carry line marks) and converted by hand into plain
Python values plus a map from key paths to line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class ConfigError(ValueError):
    """A config file is unreadable or invalid.

    ``str(error)`` is ``path:line: key: message`` (line is 1-based, 0 when unknown).
    """

    def __init__(self, path: str | Path, line: int, key: str, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.key = key
        self.message = message
        super().__init__(f"{self.path}:{line}: {key}: {message}")


@dataclass(frozen=True)
class LoadedYaml:
    """A YAML document as plain Python data, with the line of every key path.

    ``lines`` maps a tuple path such as ``("sources", 3, "feeds", 0)`` to its 1-based line.
    """

    path: Path
    data: Any
    lines: dict[tuple[Any, ...], int]

    def line_of(self, loc: tuple[Any, ...]) -> int:
        """The line of ``loc`` or of its nearest ancestor that has one (0 if none)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 0)


def load_yaml(path: str | Path) -> LoadedYaml:
    """Read ``path`` as one YAML document.

    Raises:
        ConfigError: the file is missing, not UTF-8, or not valid YAML.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, 0, "(file)", f"cannot read: {exc}") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError(path, line, "(syntax)", str(exc).replace("\n", " ")) from exc
    lines: dict[tuple[Any, ...], int] = {}
    data = _to_python(node, (), lines) if node is not None else None
    return LoadedYaml(path=path, data=data, lines=lines)


def _to_python(node: yaml.Node, loc: tuple[Any, ...], lines: dict) -> Any:
    lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader(" ").construct_object(key_node)  # scalar keys only
            lines[loc + (key,)] = key_node.start_mark.line + 1
            out[key] = _to_python(value_node, loc + (key,), lines)
            lines[loc + (key,)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(item, loc + (i,), lines) for i, item in enumerate(node.value)]
    return yaml.SafeLoader(" ").construct_object(node)


def validation_error(loaded: LoadedYaml, exc: ValidationError, prefix: tuple = ()) -> ConfigError:
    """Turn the first pydantic error into a ConfigError naming file, line and key path."""
    err = exc.errors()[0]
    loc = prefix + tuple(err.get("loc", ()))
    key = ".".join(str(part) for part in loc) or "(root)"
    return ConfigError(loaded.path, loaded.line_of(loc), key, err.get("msg", "invalid"))
