"""Alerts: after each writing run, every row an alert's watch matches and that did not
reach its targets yet is sent, with a stable delivery id (``config/data/alerts.yaml``).

Guarantees (docs/analyst.md, "Alerts"):

* no row is skipped: a row is recorded (``pending``) before it is sent, and only a
  recorded success (``sent``) stops it being sent on later runs;
* without a crash no row is sent twice; after a crash between sending and recording,
  the row is sent again with the same ``delivery_id`` (receivers drop the copy);
* a failed delivery is recorded with its cause and retried on the next run.

Target URLs come from environment variables named in the file and are never written to
logs, artifacts or the database: errors name the variable, not the URL.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from hubwatch.config.alerts import AlertConfig
from hubwatch.models import alerts as store

log = logging.getLogger(__name__)

#: ``send(urls, title, body) -> error or None``; the default uses apprise.
Sender = Callable[[Sequence[str], str, str], str | None]


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one row: what the run reports and artifacts show."""

    alert: str
    row_key: str
    delivery_id: str
    payload: dict
    error: str | None  # None: delivered

    def message(self) -> str:
        """The body sent: JSON with ``delivery_id``, ``alert``, ``key`` and ``row``."""
        return json.dumps({"delivery_id": self.delivery_id, "alert": self.alert,
                           "key": self.row_key, "row": self.payload}, ensure_ascii=False)


def apprise_send(urls: Sequence[str], title: str, body: str) -> str | None:
    """Send through apprise to every URL; None when all accepted it."""
    import apprise

    # apprise logs the URLs it parses and posts to (tokens included): silence it here
    quiet = logging.getLogger("apprise")
    level, quiet.level = quiet.level, logging.CRITICAL + 1
    try:
        notifier = apprise.Apprise()
        for url in urls:
            if not notifier.add(url):
                return "a target URL is not one apprise understands"
        ok = notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
    finally:
        quiet.level = level
    return None if ok else "a target refused or did not answer"


def run_alerts(sessions: sessionmaker[Session], alerts: Sequence[AlertConfig], *,
               environ: Mapping[str, str] = os.environ, send: Sender = apprise_send,
               after_send: Callable[[Delivery], None] | None = None) -> list[Delivery]:
    """Deliver every undelivered row of every active alert; returns the attempts made.

    ``after_send`` runs after a row was sent and before it is recorded (tests use it
    to simulate a crash there). A watch that cannot run (bad SQL, a missing key column)
    is logged and skipped for this run; the other alerts go on.
    """
    attempts: list[Delivery] = []
    for alert in alerts:
        if not alert.active:
            continue
        try:
            rows = _watch(sessions, alert)
        except Exception as exc:  # a broken saved query must not stop the other alerts
            log.error("alert %s: the watch failed: %s", alert.name, exc)
            continue
        with sessions.begin() as session:
            store.record_rows(session, alert.name, rows)
        with sessions() as session:
            todo = store.undelivered(session, alert.name)
        urls, missing = _targets(alert, environ)
        for item in todo:
            delivery = Delivery(alert.name, item.row_key, str(item.delivery_id), item.payload, None)
            error = (f"target variable(s) not set: {', '.join(missing)}" if missing
                     else send(urls, f"hubwatch alert {alert.name}: {item.row_key}", delivery.message()))
            if error is None and after_send is not None:
                after_send(delivery)
            with sessions.begin() as session:
                store.mark_attempt(session, item.id, error)
            attempts.append(Delivery(alert.name, item.row_key, str(item.delivery_id),
                                     item.payload, error))
        failed = sum(1 for a in attempts if a.alert == alert.name and a.error)
        log.info("alert %s: %d row(s) sent, %d failed", alert.name,
                 sum(1 for a in attempts if a.alert == alert.name) - failed, failed)
    return attempts


def _watch(sessions: sessionmaker[Session], alert: AlertConfig) -> list[tuple[str, dict]]:
    with sessions() as session:
        store.enter_analyst_role(session)
        watch = alert.watch
        if watch.sql is not None:
            rows = store.sql_rows(session, watch.sql, watch.key)
        else:
            f = watch.filter
            rows = store.filter_rows(session, f.events, f.entities, f.sources, f.kinds)
        session.rollback()
    return rows


def _targets(alert: AlertConfig, environ: Mapping[str, str]) -> tuple[list[str], list[str]]:
    urls = [environ[name] for name in alert.targets if environ.get(name)]
    missing = [name for name in alert.targets if not environ.get(name)]
    return urls, missing
