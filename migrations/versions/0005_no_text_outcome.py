"""The outcome ``no_text``: a page served and read, whose main text is empty or shorter
than the extractor's threshold (``hubwatch.text.extract.MIN_TEXT_TOKENS``). Such a fetch
stores no version, so ``source_health.last_run_without_text`` now counts the last run's
``no_text`` snapshots instead of versions with an empty text (which can no longer be
written). ``no_text`` is not a fetch failure: like ``gone`` it says nothing bad about
the source, so it counts as a success in ``consecutive_failures``/``last_run_failures``.

Why text + CHECK (see 0001): extending the vocabulary is one constraint swap. The view is
replaced in place (``CREATE OR REPLACE``, same columns), so the analyst role's grant stays.

It also adds ``snapshot.redirects`` (text[]): every URL a fetch passed through before its
final URL, HTTP redirects and redirect stubs (meta refresh, ``location`` scripts) alike, so
a stub followed to its target is on record with the target's snapshot.

Downgrade: ``no_text`` snapshots become ``ok`` (what the old code recorded for a page
without text) before the old constraint comes back.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_OUTCOMES = ("ok", "not_modified", "gone", "http_error", "deferred", "host_skipped", "timeout",
                "too_large", "binary", "blocked_page", "redirect_loop", "blocked_redirect", "robots",
                "bad_feed", "parse_limit", "decode_error", "network_error")
NEW_OUTCOMES = (*OLD_OUTCOMES, "no_text")


def _check(outcomes: tuple[str, ...]) -> str:
    return "outcome IN (" + ", ".join(f"'{o}'" for o in outcomes) + ")"


# Written out (not imported) so that this revision stays what it was when later ones
# replace the view. {succeeded} is the list of outcomes that are not fetch failures;
# {without_text} what one row of the last run counts as "without text".
SOURCE_HEALTH = """
CREATE OR REPLACE VIEW source_health AS
WITH runs AS (
    SELECT sn.source_id, sn.crawl_run_id, max(sn.fetched_at) AS run_at,
           bool_or(sn.outcome IN ({succeeded})) AS succeeded
    FROM snapshot sn
    WHERE sn.source_id IS NOT NULL AND sn.crawl_run_id IS NOT NULL
    GROUP BY sn.source_id, sn.crawl_run_id
),
ranked AS (
    SELECT r.*, row_number() OVER (PARTITION BY r.source_id ORDER BY r.run_at DESC,
                                   r.crawl_run_id DESC) AS rn
    FROM runs r
),
last_run AS (
    SELECT rk.source_id, rk.crawl_run_id, rk.run_at,
           count(sn.id) AS pages,
           count(sn.id) FILTER (WHERE sn.outcome NOT IN ({succeeded})) AS failures,
           count(DISTINCT v.id) FILTER (WHERE v.published_at IS NULL) AS without_date,
           {without_text} AS without_text
    FROM ranked rk
    JOIN snapshot sn ON sn.crawl_run_id = rk.crawl_run_id AND sn.source_id = rk.source_id
    LEFT JOIN document_version v ON v.id = sn.version_id
    WHERE rk.rn = 1
    GROUP BY rk.source_id, rk.crawl_run_id, rk.run_at
)
SELECT s.slug AS source, s.active,
       (SELECT max(sn.fetched_at) FROM snapshot sn
        WHERE sn.source_id = s.id AND sn.outcome IN ({succeeded}))
           AS last_success_at,
       (SELECT count(*) FROM ranked rk
        WHERE rk.source_id = s.id AND rk.rn < COALESCE(
            (SELECT min(r2.rn) FROM ranked r2 WHERE r2.source_id = s.id AND r2.succeeded),
            2147483647))::int AS consecutive_failures,
       lr.crawl_run_id AS last_run_id, lr.run_at AS last_run_at,
       COALESCE(lr.pages, 0)::int AS last_run_pages,
       COALESCE(lr.failures, 0)::int AS last_run_failures,
       COALESCE(lr.without_date, 0)::int AS last_run_without_date,
       COALESCE(lr.without_text, 0)::int AS last_run_without_text
FROM source s
LEFT JOIN last_run lr ON lr.source_id = s.id
"""


def upgrade() -> None:
    op.add_column("snapshot", sa.Column("redirects", postgresql.ARRAY(sa.Text()), nullable=True))
    op.drop_constraint(op.f("ck_snapshot_outcome"), "snapshot", type_="check")
    op.create_check_constraint(op.f("ck_snapshot_outcome"), "snapshot", _check(NEW_OUTCOMES))
    op.execute(SOURCE_HEALTH.format(
        succeeded="'ok', 'not_modified', 'gone', 'no_text'",
        without_text="count(sn.id) FILTER (WHERE sn.outcome = 'no_text')"))


def downgrade() -> None:
    op.execute(SOURCE_HEALTH.format(
        succeeded="'ok', 'not_modified', 'gone'",
        without_text="count(DISTINCT v.id) FILTER (WHERE btrim(v.main_text) = '')"))
    op.execute("UPDATE snapshot SET outcome = 'ok' WHERE outcome = 'no_text'")
    op.drop_constraint(op.f("ck_snapshot_outcome"), "snapshot", type_="check")
    op.create_check_constraint(op.f("ck_snapshot_outcome"), "snapshot", _check(OLD_OUTCOMES))
    op.drop_column("snapshot", "redirects")
