"""The watch-list (``config/watchlist.yaml``): entities, their aliases and acronyms, validated.

The YAML format is described in the file's own comment header. ``load_watchlist`` validates it
before any fetch (pydantic for shapes, ``_cross_checks`` for rules spanning entities) and raises
``ConfigError`` naming the file, the line and the key path.

This module imports no other layer of hubwatch: rules that need the matcher's text folding
(two aliases that fold to the same string, an alias that folds to nothing) are checked by
``hubwatch.mentions.match.Matcher`` when it is built, which reports them through
``Watchlist.rule_error`` with the same file, line and key path (``hubwatch check-config`` and
every flow build a matcher before fetching).
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Iterator, NamedTuple

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)

from hubwatch.config.loader import ConfigError, LoadedYaml, load_yaml, validation_error

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "watchlist.yaml"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Acronym = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9&]{2,12}$")]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]


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


class Ambiguous(BaseModel):
    """Names that mean this entity only in the right context (bare 南沙: Guangzhou's Nansha or
    the Nansha Islands), with the context that decides.

    ``anchors`` are words (place names, parent or sibling names) whose presence near the name
    (or, failing near evidence, anywhere in the document) makes it count; ``anchor_entities``
    are entity keys whose unambiguous aliases anchor the same way (the entity's own aliases
    always do). ``vetoes`` are counter-anchors that stop it (南沙群岛, San Francisco).
    ``proper_noun``: written with the watch-list's capitals (or all in capitals), the name
    counts without an anchor unless a veto stops it ("Greater Bay Area" yes, "the greater Bay
    Area" only when anchored). The window and the order of evidence are the matcher's
    (docs/design.md, "Ambiguous names").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    aliases: list[Text] = Field(min_length=1)
    anchors: list[Text] = []
    anchor_entities: list[Key] = []
    vetoes: list[Text] = []
    proper_noun: bool = False


class Entity(BaseModel):
    """One hub, sub-area or plan. ``parent`` names a top-level entity (sub-areas roll up)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: Key
    name: Text
    parent: Key | None = None
    aliases: Aliases
    ambiguous: list[Ambiguous] = []
    acronyms: list[Acronym] = []
    exclude: list[Text] = []

    @property
    def alias_list(self) -> list[str]:
        """Every unambiguous alias, in file order."""
        return [alias for _, alias in self.aliases.located()]


class Surface(NamedTuple):
    """One string of the watch-list the matcher searches for, with where it was written.

    ``kind`` is ``alias``, ``ambiguous`` (an alias of ``ambiguous[group]``), ``acronym``,
    ``exclusion``, ``anchor`` or ``veto`` (the last two: context words of ``ambiguous[group]``);
    ``loc`` is the key path (``("entities", 3, "ambiguous", 0, "vetoes", 2)``).
    """

    loc: tuple
    entity: str
    kind: str
    text: str
    group: int | None


class Watchlist(BaseModel):
    """The validated watch-list. Build it with ``load_watchlist`` to get file/line errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    entities: list[Entity] = Field(min_length=1)
    _source: LoadedYaml | None = PrivateAttr(default=None)

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

    def surfaces(self) -> Iterator[Surface]:
        """Every string the matcher searches for, entity by entity, in file order."""
        for i, entity in enumerate(self.entities):
            yield from _surfaces(i, entity)

    def rule_error(self, loc: tuple, message: str) -> ConfigError:
        """A ``ConfigError`` for the value at key path ``loc``, naming the file and line when
        this watch-list was read by ``load_watchlist`` (else ``(watch-list)``, line 0)."""
        key = ".".join(str(part) for part in loc)
        if self._source is None:
            return ConfigError("(watch-list)", 0, key, message)
        return ConfigError(self._source.path, self._source.line_of(loc), key, message)

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 hex of the normalised content: order of entities and of aliases, comments
        and formatting do not change it; any alias, acronym, exclusion, parent, ambiguous name,
        anchor or veto change does."""
        items = []
        for e in sorted(self.entities, key=lambda e: e.key):
            groups = sorted(({"aliases": sorted(set(g.aliases)), "anchors": sorted(set(g.anchors)),
                              "anchor_entities": sorted(set(g.anchor_entities)),
                              "vetoes": sorted(set(g.vetoes)), "proper_noun": g.proper_noun}
                             for g in e.ambiguous), key=lambda g: json.dumps(g, ensure_ascii=False))
            item = {"key": e.key, "name": e.name, "parent": e.parent,
                    "aliases": sorted(set(e.alias_list)), "acronyms": sorted(set(e.acronyms)),
                    "exclude": sorted(set(e.exclude))}
            if groups:  # absent when empty: watch-lists without ambiguous names keep their hash
                item["ambiguous"] = groups
            items.append(item)
        blob = json.dumps(items, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def load_watchlist(path: str | Path = DEFAULT_PATH) -> Watchlist:
    """Read and validate a watch-list YAML file.

    Raises:
        ConfigError: unreadable file, bad YAML, a wrong shape or a broken rule (duplicate key,
            unknown or nested parent, alias written twice across entities, entity without
            aliases, ambiguous alias without anchors, unknown anchor entity); the error names
            the file, the 1-based line and the key path. Aliases that differ as written but
            fold to the same string are found when a ``Matcher`` is built (module docstring).
    """
    loaded = load_yaml(path)
    if not isinstance(loaded.data, dict):
        raise ConfigError(loaded.path, loaded.line_of(()), "(root)", "expected a mapping with 'entities'")
    try:
        watchlist = Watchlist.model_validate(loaded.data)
        watchlist._source = loaded
        return watchlist
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
        _check_ambiguous(watchlist, i, entity, seen)
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
    """Aliases (ambiguous ones included), acronyms and exclusions as written (stripped, case
    ignored) belong to one entity and one kind. Anchors and vetoes may repeat anything: they
    are context words, not names. Folded spellings (粵港澳大灣區 in one entity, 粤港澳大湾区 in
    another) are compared by the matcher, which owns the folding."""
    owner: dict[str, tuple[str, str]] = {}
    for surface in watchlist.surfaces():
        if surface.kind in ("anchor", "veto"):
            continue
        kind = "ambiguous alias" if surface.kind == "ambiguous" else surface.kind
        written = " ".join(surface.text.split()).casefold()
        previous = owner.get(written)
        if previous and previous != (surface.entity, kind):
            raise WatchlistRuleError(surface.loc, f"{surface.text!r} is already used by {previous[0]!r} as "
                                                  f"{previous[1]} (aliases must be unique)")
        owner[written] = (surface.entity, kind)


def _check_ambiguous(watchlist: Watchlist, i: int, entity: Entity, index: dict[str, int]) -> None:
    """An ambiguous alias needs something that anchors it: with no anchor it could never count
    (the entity's own aliases anchor too, but a name listed as ambiguous on purpose must say
    which context makes it count)."""
    for j, group in enumerate(entity.ambiguous):
        loc = ("entities", i, "ambiguous", j)
        if not group.anchors and not group.anchor_entities:
            raise WatchlistRuleError(loc, f"ambiguous alias {group.aliases[0]!r} has no anchors "
                                          "(list anchors or anchor_entities that make it count)")
        for k, key in enumerate(group.anchor_entities):
            if key not in index:
                raise WatchlistRuleError((*loc, "anchor_entities", k), f"unknown entity {key!r}")
        if group.proper_noun:
            for k, alias in enumerate(group.aliases):
                if alias == alias.lower():
                    raise WatchlistRuleError((*loc, "aliases", k), f"proper_noun needs capitals: "
                                                                   f"{alias!r} has none")


def _surfaces(i: int, entity: Entity) -> Iterator[Surface]:
    key = entity.key
    for (group, j), alias in entity.aliases.located():
        yield Surface(("entities", i, "aliases", group, j), key, "alias", alias, None)
    for g, ambiguous in enumerate(entity.ambiguous):
        loc = ("entities", i, "ambiguous", g)
        for field, kind in (("aliases", "ambiguous"), ("anchors", "anchor"), ("vetoes", "veto")):
            for j, text in enumerate(getattr(ambiguous, field)):
                yield Surface((*loc, field, j), key, kind, text, g)
    for j, acronym in enumerate(entity.acronyms):
        yield Surface(("entities", i, "acronyms", j), key, "acronym", acronym, None)
    for j, phrase in enumerate(entity.exclude):
        yield Surface(("entities", i, "exclude", j), key, "exclusion", phrase, None)
