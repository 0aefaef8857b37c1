"""hubwatch's advisory locks: tried, waited for a bounded time, never waited on blindly.

Any session of the database may take any advisory lock (``pg_advisory_lock`` is open to
``PUBLIC``, analysts included), so a plain ``pg_advisory_lock`` would let one idle psql
session hang every hubwatch command. :func:`acquire` polls ``pg_try_advisory_lock``
until ``HUBWATCH_LOCK_WAIT_SECONDS`` pass, then raises :class:`LockBusy` naming the
session that holds the lock (pid, user, application_name, since when), from
``pg_locks`` joined to ``pg_stat_activity``.

Keys: one ``bigint`` (``key2`` None) or two ``int4`` (``key1``, ``key2``), as PostgreSQL's
functions take them; ``pg_locks`` shows the first as ``classid``/``objid`` halves with
``objsubid`` 1, the second as ``classid=key1, objid=key2, objsubid=2``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text

_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class Holder:
    """A session holding an advisory lock, as ``pg_stat_activity`` shows it."""

    pid: int
    user: str | None
    application_name: str | None
    since: object | None  # the holder's backend_start (timestamptz)

    def describe(self) -> str:
        app = self.application_name or "-"
        return f"pid {self.pid}, user {self.user or '?'}, application_name {app!r}"


class LockBusy(RuntimeError):
    """An advisory lock stayed held by another session past the bounded wait."""

    def __init__(self, what: str, waited: float, holders: list[Holder]) -> None:
        self.what, self.waited, self.holders = what, waited, holders
        who = "; ".join(h.describe() for h in holders) or "a session that has since ended"
        super().__init__(
            f"{what}: database lock still held after {waited:.0f} s by {who} "
            "(end that session, e.g. SELECT pg_terminate_backend(pid) as its owner, or wait; "
            "HUBWATCH_LOCK_WAIT_SECONDS sets the wait)")


def _key_filter(key1: int, key2: int | None) -> dict:
    if key2 is None:
        return {"classid": (key1 >> 32) & 0xFFFFFFFF, "objid": key1 & 0xFFFFFFFF, "objsubid": 1}
    return {"classid": key1 & 0xFFFFFFFF, "objid": key2 & 0xFFFFFFFF, "objsubid": 2}


def holders(conn, key1: int, key2: int | None = None) -> list[Holder]:
    """Sessions (other than this one) holding the advisory lock, in this database."""
    rows = conn.execute(text("""
        SELECT a.pid, a.usename, a.application_name, a.backend_start
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND l.classid::bigint = :classid AND l.objid::bigint = :objid
          AND l.objsubid = :objsubid AND l.pid <> pg_backend_pid()
        ORDER BY a.backend_start"""), _key_filter(key1, key2)).all()
    return [Holder(*row) for row in rows]


def acquire(conn, key1: int, key2: int | None = None, *, what: str,
            wait_seconds: float | None = None, xact: bool = False) -> None:
    """Take an advisory lock on ``conn`` (a SQLAlchemy Connection or Session), waiting at
    most ``wait_seconds`` (default: the setting). Session-level, or with ``xact`` held
    until the current transaction ends (``pg_try_advisory_xact_lock``).

    Raises:
        LockBusy: still held by another session at the end of the wait; names it.
    """
    if wait_seconds is None:
        from hubwatch.config.settings import get_settings

        wait_seconds = get_settings().database.lock_wait_seconds
    function = "pg_try_advisory_xact_lock" if xact else "pg_try_advisory_lock"
    if key2 is None:
        sql, params = f"SELECT {function}(:k1)", {"k1": key1}
    else:
        sql, params = f"SELECT {function}(:k1, :k2)", {"k1": key1, "k2": key2}
    started = time.monotonic()
    while True:
        if conn.execute(text(sql), params).scalar():
            return
        waited = time.monotonic() - started
        if waited >= wait_seconds:
            raise LockBusy(what, waited, holders(conn, key1, key2))
        time.sleep(min(_POLL_SECONDS, max(wait_seconds - waited, 0.01)))
