"""The alerts file (``alerts.yaml`` beside the sources file): what to watch and whom to
tell. Validated like the other config files (``file:line: key: message``).

Each alert has a ``name`` (its stable id: delivered rows are remembered under it), a
``watch`` and ``targets``. A watch is either

* ``sql``: one SELECT over the analyst views (run read-only, as ``hubwatch_analyst``)
  returning a column named by ``key`` (default ``key``) that identifies each row for
  good; or
* ``filter``: ``events`` among ``new_document``, ``new_mention`` and
  ``mention_removed``, narrowed by ``entities`` (keys; a hub also matches its
  sub-areas), ``sources`` (slugs) and ``kinds``.

``targets`` are names of environment variables, each holding one apprise URL
(``mailtos://...``, ``tgram://...``, ``json://host:port/path``): URLs carry tokens, so
the file names them and never holds them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hubwatch.config.loader import ConfigError, load_yaml, validation_error

EVENTS = ("new_document", "new_mention", "mention_removed")
_SELECT = re.compile(r"^\s*(select|with)\b", re.I)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertFilter(_Strict):
    """Rows of the events, narrowed by each list given (an empty list: no narrowing)."""

    events: list[Literal["new_document", "new_mention", "mention_removed"]] = Field(min_length=1)
    entities: list[str] = []
    sources: list[str] = []
    kinds: list[Literal["commentary", "policy", "other"]] = []


class AlertWatch(_Strict):
    sql: str | None = None
    key: str = Field(default="key", pattern=r"^[a-z_][a-z0-9_]*$")
    filter: AlertFilter | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "AlertWatch":
        if (self.sql is None) == (self.filter is None):
            raise ValueError("give exactly one of sql or filter")
        if self.sql is not None and (not _SELECT.match(self.sql) or ";" in self.sql.strip().rstrip(";")):
            raise ValueError("sql must be one SELECT (or WITH ... SELECT) statement")
        return self


class AlertConfig(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,62}$", description="stable id, as in artifact keys")
    watch: AlertWatch
    targets: list[str] = Field(min_length=1)
    active: bool = True

    @model_validator(mode="after")
    def _env_names(self) -> "AlertConfig":
        for name in self.targets:
            if not re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
                raise ValueError(f"target {name!r} must name an environment variable "
                                 "(A-Z, 0-9, _) holding the apprise URL, not the URL itself")
        return self


class AlertsFile(_Strict):
    alerts: list[AlertConfig] = []

    @model_validator(mode="after")
    def _unique(self) -> "AlertsFile":
        names = [a.name for a in self.alerts]
        if len(names) != len(set(names)):
            raise ValueError(f"alert names must be unique: {names}")
        return self


def load_alerts(path: str | Path) -> list[AlertConfig]:
    """Read and validate an alerts file; a missing file means no alerts.

    Raises:
        ConfigError: unreadable file, bad YAML, or an invalid key (file:line: key: message).
    """
    path = Path(path)
    if not path.exists():
        return []
    loaded = load_yaml(path)
    try:
        return AlertsFile.model_validate(loaded.data or {}).alerts
    except ValidationError as exc:
        raise validation_error(loaded, exc) from None


__all__ = ["EVENTS", "AlertConfig", "AlertFilter", "AlertWatch", "ConfigError", "load_alerts"]
