"""The maintained analyst views as revision 0003's materialised views defined them, computed
live from the base tables: the oracle the incremental upkeep (revision 0012) is checked
against, in tests and in benchmarks/analyst_queries.py.

The SQL is read from the revision file itself (revisions never change), so the oracle is
the old definition word for word, not a second copy that could drift with the new one.
"""

from __future__ import annotations

import importlib.util
import re
from functools import cache

from sqlalchemy import text

from hubwatch.models.analytics import MAINTAINED_VIEWS
from hubwatch.models.db import MIGRATIONS_DIR

_LIVE_DE = "live_document_entities"


@cache
def _revision_0003():
    path = MIGRATIONS_DIR / "versions" / "0003_analyst_contract.py"
    spec = importlib.util.spec_from_file_location("revision_0003_oracle", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _body(create: str) -> str:
    """The SELECT of a ``CREATE MATERIALIZED VIEW name AS ...`` statement."""
    return re.sub(r"^\s*CREATE MATERIALIZED VIEW \w+ AS\s*", "", create)


@cache
def live_sql(view: str) -> str:
    """A query giving ``view``'s rows (same columns) straight from the base tables."""
    old = _revision_0003()
    creates = dict(zip(MAINTAINED_VIEWS, (old.DOCUMENT_ENTITIES, old.MENTION_DAILY,
                                          old.HUB_DAILY, old.CO_MENTIONS, old.MENTION_CHANGES)))
    body = _body(creates[view])
    if "document_entities" not in body:
        return body
    body = re.sub(r"\bdocument_entities\b", _LIVE_DE, body)
    cte = f"{_LIVE_DE} AS MATERIALIZED ({_body(old.DOCUMENT_ENTITIES)})"
    if body.lstrip().startswith("WITH "):
        return re.sub(r"^\s*WITH ", f"WITH {cte},\n", body, count=1)
    return f"WITH {cte}\n{body}"


def differences(session, view: str) -> int:
    """Rows in ``view`` and not live, plus rows live and not in ``view`` (multisets)."""
    live = live_sql(view)
    sql = (f"SELECT (SELECT count(*) FROM (SELECT * FROM {view} EXCEPT ALL ({live})) a)"
           f" + (SELECT count(*) FROM (({live}) EXCEPT ALL SELECT * FROM {view}) b)")
    return session.execute(text(sql)).scalar_one()


def all_differences(session) -> dict[str, int]:
    """``{view: differences}`` for every maintained view (all zero when current)."""
    return {view: differences(session, view) for view in MAINTAINED_VIEWS}
