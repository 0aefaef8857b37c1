"""Let time pass for a test database: every stored instant moves ``days`` into the past,
as if the crawls so far had happened that long ago (the recheck schedule, gone dates and
version validity all follow). A helper for tests only; the product never rewrites times."""

from __future__ import annotations

from sqlalchemy import text

SHIFTED = {
    "document": ("first_seen_at", "last_fetched_at", "gone_at", "next_check_at"),
    "document_version": ("captured_at", "valid_from", "valid_to", "created_at"),
    "snapshot": ("fetched_at",),
    "crawl_run": ("started_at", "ended_at"),
}


def shift_days(engine, days: float) -> None:
    """Move every stored timestamp ``days`` back (NULLs stay NULL)."""
    with engine.begin() as conn:
        for table, columns in SHIFTED.items():
            sets = ", ".join(f"{c} = {c} - make_interval(secs => :s)" for c in columns)
            conn.execute(text(f"UPDATE {table} SET {sets}"), {"s": days * 86400})
