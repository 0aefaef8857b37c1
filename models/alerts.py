"""Session-taking reads and writes for alerts: the rows a watch matches (over the analyst
views) and ``alert_delivery``. None of these commit: the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hubwatch.models.schema import AlertDelivery

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Fixed namespace: a delivery id is uuid5(namespace, alert name + row key) for good.
DELIVERY_NAMESPACE = uuid.UUID("5d0f8a2e-7c1b-4f7e-9a61-3b9e2f4c8d10")


def delivery_id(alert_name: str, row_key: str) -> uuid.UUID:
    """The stable id of one row of one alert: the same on every attempt and every run."""
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{alert_name}\x1f{row_key}")


@dataclass(frozen=True)
class Pending:
    """A row recorded for an alert and not yet delivered."""

    id: int
    row_key: str
    delivery_id: uuid.UUID
    payload: dict
    attempts: int


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(SHANGHAI).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, (dt.date, uuid.UUID)):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def enter_analyst_role(session: Session) -> bool:
    """Make the rest of this transaction read-only and, where this login may, run as
    ``hubwatch_analyst`` (views only). Call first in a fresh transaction."""
    session.execute(text("SET TRANSACTION READ ONLY"))
    try:
        with session.begin_nested():
            session.execute(text("SET LOCAL ROLE hubwatch_analyst"))
        return True
    except DBAPIError:  # not a member of the role: read-only still holds
        return False


def sql_rows(session: Session, sql: str, key: str) -> list[tuple[str, dict]]:
    """``(row key, row as JSON-ready dict)`` of a saved query; times in Asia/Shanghai.

    Raises:
        KeyError: the query returns no column ``key``.
    """
    result = session.execute(text(sql.strip().rstrip(";")))
    columns = list(result.keys())
    if key not in columns:
        raise KeyError(f"the query returns no column {key!r} (columns: {', '.join(columns)})")
    out = []
    for row in result:
        record = {c: _plain(v) for c, v in zip(columns, row)}
        out.append((str(record[key]), record))
    return out


_EVENT_SQL = {
    "new_document": """
        SELECT 'new_document:' || cd.document_id AS key, 'new_document' AS event,
               cd.document_id, cd.url, cd.title, cd.source, cd.kind, cd.first_seen_at AS at,
               array_agg(DISTINCT de.entity ORDER BY de.entity) AS entities
        FROM current_documents cd JOIN document_entities de USING (document_id)
        WHERE (cardinality(:entities) = 0 OR de.entity = ANY(:entities) OR de.hub = ANY(:entities))
          AND (cardinality(:sources) = 0 OR cd.source = ANY(:sources))
          -- a mention an edit brought is a new mention, not a new document
          AND NOT EXISTS (SELECT 1 FROM mention_changes mc WHERE mc.document_id = de.document_id
                          AND mc.entity = de.entity AND mc.mentions_before = 0)
          AND (cardinality(:kinds) = 0 OR cd.kind = ANY(:kinds))
        GROUP BY cd.document_id, cd.url, cd.title, cd.source, cd.kind, cd.first_seen_at""",
    "new_mention": """
        SELECT 'new_mention:' || mc.version_id || ':' || mc.entity AS key, 'new_mention' AS event,
               mc.document_id, mc.url, cd.title, mc.source, cd.kind, mc.changed_at AS at,
               ARRAY[mc.entity] AS entities
        FROM mention_changes mc JOIN current_documents cd USING (document_id)
        WHERE mc.added > 0
          AND (cardinality(:entities) = 0 OR mc.entity = ANY(:entities) OR mc.hub = ANY(:entities))
          AND (cardinality(:sources) = 0 OR mc.source = ANY(:sources))
          AND (cardinality(:kinds) = 0 OR cd.kind = ANY(:kinds))""",
}
_EVENT_SQL["mention_removed"] = (_EVENT_SQL["new_mention"]
                                 .replace("'new_mention", "'mention_removed")
                                 .replace("mc.added > 0", "mc.removed > 0"))
for _event, _sql in list(_EVENT_SQL.items()):  # typed lists: an empty one is text[] too
    for _name in ("entities", "sources", "kinds"):
        _sql = _sql.replace(f":{_name}", f"CAST(:{_name} AS text[])")
    _EVENT_SQL[_event] = _sql


def filter_rows(session: Session, events: Sequence[str], entities: Sequence[str],
                sources: Sequence[str], kinds: Sequence[str]) -> list[tuple[str, dict]]:
    """Rows of the given events (keys ``new_document:DOC``, ``new_mention:VERSION:ENTITY``,
    ``mention_removed:VERSION:ENTITY``), oldest first."""
    params = {"entities": list(entities), "sources": list(sources), "kinds": list(kinds)}
    sql = " UNION ALL ".join(f"({_EVENT_SQL[e]})" for e in events) + " ORDER BY at, key"
    out = []
    for row in session.execute(text(sql), params).mappings():
        record = {k: _plain(v) for k, v in row.items()}
        out.append((record["key"], record))
    return out


def record_rows(session: Session, alert_name: str, rows: Sequence[tuple[str, dict]]) -> int:
    """Remember rows of an alert as pending (rows already known are left as they are)."""
    if not rows:
        return 0
    values = [dict(alert_name=alert_name, row_key=key, payload=payload,
                   delivery_id=delivery_id(alert_name, key)) for key, payload in rows]
    result = session.execute(insert(AlertDelivery).values(values).on_conflict_do_nothing(
        index_elements=["alert_name", "row_key"]))
    return result.rowcount or 0


def undelivered(session: Session, alert_name: str) -> list[Pending]:
    """Rows of the alert not yet delivered (pending or failed), in the order found."""
    rows = session.execute(text(
        "SELECT id, row_key, delivery_id, payload, attempts FROM alert_delivery "
        "WHERE alert_name = :a AND status <> 'sent' ORDER BY id"), {"a": alert_name})
    return [Pending(*r) for r in rows]


def mark_attempt(session: Session, delivery: int, error: str | None) -> None:
    """Record one attempt: ``sent`` when ``error`` is None, else ``failed`` with why."""
    session.execute(text("""
        UPDATE alert_delivery SET attempts = attempts + 1, last_attempt_at = now(),
               status = CASE WHEN CAST(:e AS text) IS NULL THEN 'sent' ELSE 'failed' END,
               sent_at = CASE WHEN CAST(:e AS text) IS NULL THEN now() END,
               last_error = :e
        WHERE id = :i"""), {"i": delivery, "e": error})
