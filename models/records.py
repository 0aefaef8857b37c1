"""Plain records passed between the domain library and the store (no SQLAlchemy here)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mention:
    """One occurrence of a watch-list entity, as the matcher finds it and ``mention`` stores it.

    ``entity`` is the entity's key; ``start``/``end`` are Unicode code point offsets
    (0-based, end exclusive) into the original title (``zone == 'title'``) or main text
    (``zone == 'body'``); ``surface`` is that slice; ``alias`` the watch-list alias (or
    acronym) it matched; ``sentence`` the original sentence around it (stripped; Chinese
    ends 。！？ included).
    """

    entity: str
    alias: str
    surface: str
    start: int
    end: int
    zone: str
    sentence: str
