"""The watch-list (``config/watchlist.yaml``): entities, their aliases and acronyms, validated.

The YAML format is described in the file's own comment header. ``load_watchlist`` validates it
before any fetch (pydantic for shapes, ``_cross_checks`` for rules spanning entities) and raises
``ConfigError`` naming the file, the line and the key path.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Iterator

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from hubwatch.config.loader import ConfigError, load_yaml, validation_error

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "watchlist.yaml"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Acronym = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9&]{2,12}$")]


class WatchlistRuleError(ValueError):
    """A cross-entity rule failed; ``loc`` is the key path of the offending value."""

    def __init__(self, loc: tuple, message: str) -> None:
        self.loc = loc
        super().__init__(message)


class Aliases(BaseModel):
    """Unambiguous names of one entity, grouped by script (grouping is for editors only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    en: list[Text] = []
    zh_hans: list[Text] = []
    zh_hant: list[Text] = []
    pinyin: list[Text] = []

    def located(self) -> Iterator[tuple[tuple, str]]:
        """Yield ``((group, index), alias)`` in file order."""
        for group in ("en", "zh_hans", "zh_hant", "pinyin"):
            for i, alias in enumerate(getattr(self, group)):
                yield (group, i), alias


class Entity(BaseModel):
    """One hub, sub-area or plan. ``parent`` names a top-level entity (sub-areas roll up)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    name: Text
    parent: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")] | None = None
    aliases: Aliases
    acronyms: list[Acronym] = []
    exclude: list[Text] = []

    @property
    def alias_list(self) -> list[str]:
        """Every unambiguous alias, in file order."""
        return [alias for _, alias in self.aliases.located()]


class Watchlist(BaseModel):
    """The validated watch-list. Build it with ``load_watchlist`` to get file/line errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    entities: list[Entity] = Field(min_length=1)

    @model_validator(mode="after")
    def _rules(self) -> "Watchlist":
        _cross_checks(self)
        return self

    def get(self, key: str) -> Entity:
        """The entity with ``key``; raises KeyError when there is none."""
        for entity in self.entities:
            if entity.key == key:
                return entity
        raise KeyError(key)

    def hub_of(self, key: str) -> str:
        """The top-level key an entity rolls up into (itself when it has no parent)."""
        return self.get(key).parent or key

    def children(self, key: str) -> list[str]:
        """Keys of the sub-areas whose parent is ``key``, in file order."""
        return [e.key for e in self.entities if e.parent == key]

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 hex of the normalised content: order of entities and of aliases, comments
        and formatting do not change it; any alias, acronym, exclusion or parent change does."""
        items = []
        for e in sorted(self.entities, key=lambda e: e.key):
            items.append({"key": e.key, "name": e.name, "parent": e.parent,
                          "aliases": sorted(set(e.alias_list)), "acronyms": sorted(set(e.acronyms)),
                          "exclude": sorted(set(e.exclude))})
        blob = json.dumps(items, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_watchlist(path: str | Path = DEFAULT_PATH) -> Watchlist:
    """Read and validate a watch-list YAML file.

    Raises:
        ConfigError: unreadable file, bad YAML, a wrong shape or a broken rule (duplicate key,
            unknown or nested parent, alias shared by two entities, entity without aliases);
            the error names the file, the 1-based line and the key path.
    """
    loaded = load_yaml(path)
    if not isinstance(loaded.data, dict):
        raise ConfigError(loaded.path, loaded.line_of(()), "(root)", "expected a mapping with 'entities'")
    try:
        return Watchlist.model_validate(loaded.data)
    except ValidationError as exc:
        rule = exc.errors()[0].get("ctx", {}).get("error")
        if isinstance(rule, WatchlistRuleError):
            key = ".".join(str(part) for part in rule.loc)
            raise ConfigError(loaded.path, loaded.line_of(rule.loc), key, str(rule)) from exc
        raise validation_error(loaded, exc) from exc


def _cross_checks(watchlist: Watchlist) -> None:
    """Rules spanning entities; raises WatchlistRuleError at the first failure."""
    seen: dict[str, int] = {}
    for i, entity in enumerate(watchlist.entities):
        if entity.key in seen:
            raise WatchlistRuleError(("entities", i, "key"), f"duplicate key {entity.key!r}")
        seen[entity.key] = i
        if not entity.alias_list:
            raise WatchlistRuleError(("entities", i, "aliases"), "an entity needs at least one alias")
    for i, entity in enumerate(watchlist.entities):
        _check_parent(watchlist, i, entity, seen)
    _check_shared_aliases(watchlist)


def _check_parent(watchlist: Watchlist, i: int, entity: Entity, index: dict[str, int]) -> None:
    if entity.parent is None:
        return
    loc = ("entities", i, "parent")
    if entity.parent == entity.key:
        raise WatchlistRuleError(loc, "an entity cannot be its own parent")
    if entity.parent not in index:
        raise WatchlistRuleError(loc, f"unknown parent {entity.parent!r}")
    if watchlist.entities[index[entity.parent]].parent is not None:
        raise WatchlistRuleError(loc, f"parent {entity.parent!r} is itself a sub-area (one level only)")


def _check_shared_aliases(watchlist: Watchlist) -> None:
    """Aliases, acronyms and exclusions are compared as the matcher sees them (folded), so
    粵港澳大灣區 in one entity and 粤港澳大湾区 in another collide."""
    from hubwatch.mentions.match import (
        normalise_alias,  # late: hubwatch.mentions.match imports this module's types
    )

    owner: dict[str, tuple[str, str]] = {}
    for i, entity in enumerate(watchlist.entities):
        for loc, surface, kind in _surfaces(i, entity):
            folded = normalise_alias(surface)
            if not folded:
                raise WatchlistRuleError(loc, f"{surface!r} is empty after normalisation")
            previous = owner.get(folded)
            if previous and (previous[0] != entity.key or previous[1] != kind):
                raise WatchlistRuleError(loc, f"{surface!r} is already used by {previous[0]!r} as "
                                              f"{previous[1]} (aliases must be unique)")
            owner[folded] = (entity.key, kind)


def _surfaces(i: int, entity: Entity) -> Iterator[tuple[tuple, str, str]]:
    for (group, j), alias in entity.aliases.located():
        yield ("entities", i, "aliases", group, j), alias, "alias"
    for j, acronym in enumerate(entity.acronyms):
        yield ("entities", i, "acronyms", j), acronym, "acronym"
    for j, phrase in enumerate(entity.exclude):
        yield ("entities", i, "exclude", j), phrase, "exclusion"
