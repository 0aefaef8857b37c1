"""``config/sources.yaml``: the sites hubwatch crawls and how their pages are discovered.

Validated with pydantic before any fetch; an error names file, line and key
(:class:`hubwatch.config.loader.ConfigError`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hubwatch.config.loader import ConfigError, load_yaml, validation_error
from hubwatch.contract import DEFAULT_TIMEZONE

CATCH_ALL_SLUG = "unassigned"

_HOST = re.compile(r"^[a-z0-9.-]+(:\d{1,5})?$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Discovery(_Strict):
    """One discovery endpoint of a source.

    ``type``:
      * ``feed``: RSS or Atom; item links are candidates.
      * ``sitemap``: sitemap or sitemap index (gzip allowed); ``<loc>`` are candidates.
      * ``listing``: an HTML page; links matched by ``selector`` (CSS) are candidates;
        more pages through ``next_selector`` (a link to follow) or ``page_template``
        (``{n}`` = ``page_start``, ``page_start`` + 1, ...), at most ``max_pages`` listing pages.
      * ``json``: a JSON list endpoint; ``items_path`` (dot path, empty = top level; a
        ``*`` step takes every value of an object, so ``searchVO.catMap.*.listVO`` joins
        the gov.cn search API's four lists) is the list, ``url_field`` / ``date_field`` /
        ``title_field`` name fields of each item (dot paths too; a field holding a JSON
        string, as Hanweb's ``urls`` does, is read as JSON). Dates: ISO text or epoch
        numbers (13 digits: milliseconds; 0 = no date).
      * ``script_json``: an HTML listing whose items sit as JSON inside a ``<script>``
        (Hanweb JCMS columns: ``var listData = {articleList: [...]}``): the JSON value
        after ``script_key`` followed by ``:`` or ``=`` is read, then as ``json``.
    """

    type: Literal["feed", "sitemap", "listing", "json", "script_json"]
    url: str
    selector: str | None = None
    next_selector: str | None = None
    page_template: str | None = None
    max_pages: int = Field(default=1, ge=1, le=50)
    page_start: int = Field(default=2, ge=0, description="{n} of the second listing page")
    items_path: str = ""
    url_field: str | None = None
    date_field: str | None = None
    title_field: str | None = None
    script_key: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @model_validator(mode="after")
    def _fields_for_type(self) -> Discovery:
        if self.type == "listing" and not self.selector:
            raise ValueError("a listing needs 'selector' (CSS selector of article links)")
        if self.type in ("json", "script_json") and not self.url_field:
            raise ValueError(f"a {self.type} endpoint needs 'url_field'")
        if self.type == "script_json" and not self.script_key:
            raise ValueError("a script_json endpoint needs 'script_key' (the name before the JSON)")
        if self.page_template and "{n}" not in self.page_template:
            raise ValueError("page_template must contain {n}")
        return self


class SourceConfig(_Strict):
    """One source. ``slug`` is the name every view shows."""

    slug: str
    name: str
    active: bool = True
    kind: Literal["commentary", "policy"]
    language: Literal["en", "zh"]
    timezone: str = DEFAULT_TIMEZONE
    allowed_hosts: list[str] = Field(min_length=1)
    discovery: list[Discovery] = Field(min_length=1)
    include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)
    delay_seconds: float = Field(default=2.0, ge=0, le=600)
    max_pages: int | None = Field(default=None, ge=1)
    notes: str | None = None

    @field_validator("slug")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _SLUG.match(value):
            raise ValueError("lower-case letters, digits and dashes only")
        return value

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        hosts = [h.lower() for h in hosts]
        for host in hosts:
            if not _HOST.match(host):
                raise ValueError(f"{host!r} is not a host or host:port")
        return hosts

    @field_validator("include", "exclude")
    @classmethod
    def _regexes(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from exc
        return patterns

    def wants(self, url: str) -> bool:
        """True if ``url`` passes the include patterns (any; none = all) and no exclude."""
        if self.include and not any(re.search(p, url) for p in self.include):
            return False
        return not any(re.search(p, url) for p in self.exclude)


class SourcesFile(_Strict):
    sources: list[SourceConfig]

    @model_validator(mode="after")
    def _unique(self) -> SourcesFile:
        seen: set[str] = set()
        for source in self.sources:
            if source.slug in seen or source.slug == CATCH_ALL_SLUG:
                raise ValueError(f"slug {source.slug!r} is used twice or reserved")
            seen.add(source.slug)
        return self


def load_sources(path: str | Path) -> list[SourceConfig]:
    """Read and validate a sources file.

    Raises:
        ConfigError: unreadable file, bad YAML, or an invalid key (file:line: key: message).
    """
    loaded = load_yaml(path)
    try:
        parsed = SourcesFile.model_validate(loaded.data)
    except ValidationError as exc:
        raise validation_error(loaded, exc) from None
    return parsed.sources


def select_sources(sources: list[SourceConfig], slugs: list[str] | None) -> list[SourceConfig]:
    """The active sources, or exactly the named ones (active or not).

    Raises:
        ConfigError: a slug names no source.
    """
    if not slugs:
        return [s for s in sources if s.active]
    by_slug = {s.slug: s for s in sources}
    unknown = [slug for slug in slugs if slug not in by_slug]
    if unknown:
        raise ConfigError("(parameters)", 0, "sources", f"unknown source slug(s): {unknown}")
    return [by_slug[slug] for slug in slugs]
