"""The weekly briefing from the two WARC days (``--until 2026-11-08``): briefing.html
opens in headless Chromium without a console error, shows something, and its chart
counts and "new" rows are those of the analyst views (issue 14, point 2)."""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker
from support.headless import open_page
from typer.testing import CliRunner

from hubwatch.cli.main import app
from hubwatch.config.settings import get_settings
from hubwatch.config.sources import load_sources
from hubwatch.config.watchlist import load_watchlist
from hubwatch.models.analytics import refresh_analytics
from hubwatch.pipeline.diffs import update_version_diffs
from hubwatch.pipeline.ingest import Pipeline

pytestmark = pytest.mark.db
SHANGHAI = ZoneInfo("Asia/Shanghai")
UNTIL = dt.date(2026, 11, 8)
WEEKS = 3

# The page's tables as JSON: chart tables by header, the new-document rows.
READ_PAGE = """JSON.stringify({
  charts: [...document.querySelectorAll('table.chart-data')].map(t =>
    [...t.querySelectorAll('tr')].map(r => [...r.children].map(c => c.textContent))),
  fresh: [...document.querySelectorAll('table.new-documents tbody tr')].map(r =>
    [...r.children].map(c => c.textContent)),
  images: [...document.images].map(i => [i.naturalWidth, i.src.slice(0, 22)]),
})"""


@pytest.fixture
def warc_db(shared_dir, clean_db):
    engine = create_engine(clean_db)
    settings = get_settings()
    pipeline = Pipeline.open(sessionmaker(engine, expire_on_commit=False),
                        load_sources(settings.sources_file), load_watchlist(settings.watchlist_file),
                        settings=settings)
    for day in (1, 2):
        pipeline.import_warc(shared_dir / "corpus" / "warc" / f"policy-day{day}.warc.gz")
    with Session(engine) as session, session.begin():
        update_version_diffs(session)
        refresh_analytics(session)
    yield engine
    engine.dispose()


def _expected_counts(engine) -> tuple[dict[str, list[int]], list[int]]:
    """Documents per hub and week, from current_documents and document_entities."""
    with engine.connect() as conn:
        seen = dict(conn.execute(text("SELECT document_id, first_seen_at FROM current_documents")).all())
        hubs = conn.execute(text("SELECT DISTINCT document_id, hub FROM document_entities")).all()
    def week(doc: int) -> int | None:
        back = (UNTIL - seen[doc].astimezone(SHANGHAI).date()).days
        return WEEKS - 1 - back // 7 if 0 <= back < 7 * WEEKS else None
    per_hub: dict[str, list[int]] = defaultdict(lambda: [0] * WEEKS)
    for doc, hub in hubs:
        if week(doc) is not None:
            per_hub[hub][week(doc)] += 1
    totals = [0] * WEEKS
    for doc in seen:
        if week(doc) is not None:
            totals[week(doc)] += 1
    return dict(per_hub), totals


def test_briefing_opens_and_matches_the_views(warc_db, tmp_path):
    from PIL import Image

    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["report", "--weeks", str(WEEKS), "--until",
                                      UNTIL.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"briefing.html", "summary.md", "hubs.png",
                                               "share.png", "subareas-gba.png"}
    page = open_page(out / "briefing.html", tmp_path / "profile", READ_PAGE)
    assert page.errors == []
    shot = Image.open(io.BytesIO(page.screenshot)).convert("L")
    histogram = shot.histogram()
    assert sum(histogram[:200]) > 0.02 * shot.width * shot.height  # ink, not a blank page
    assert all(width > 0 and src == "data:image/png;base64," for width, src in page.value["images"])

    per_hub, totals = _expected_counts(warc_db)
    with warc_db.connect() as conn:
        names = dict(conn.execute(text(
            "SELECT entity_name_zh || ' ' || entity_name, entity FROM entities WHERE depth = 0")).all())
        fresh = conn.execute(text("""
            SELECT DISTINCT hub.entity_name_zh, cd.title, cd.source,
                   (cd.first_seen_at AT TIME ZONE 'Asia/Shanghai')::date AS day
            FROM current_mentions cm JOIN current_documents cd USING (document_id)
            JOIN entities hub ON hub.entity = cm.hub
            WHERE (cd.first_seen_at AT TIME ZONE 'Asia/Shanghai')::date
                  BETWEEN :start AND :until"""),
            {"start": UNTIL - dt.timedelta(days=7 * WEEKS - 1), "until": UNTIL}).all()
    hub_table = page.value["charts"][0]
    assert hub_table[0][1:] == [(UNTIL - dt.timedelta(days=7 * k)).isoformat()
                                for k in reversed(range(WEEKS))]
    shown = {row[0]: [int(c) for c in row[1:]] for row in hub_table[1:]}
    assert shown.pop("all documents") == totals
    assert {names[label]: counts for label, counts in shown.items()} == {
        key: per_hub.get(key, [0] * WEEKS) for key in names.values()}
    assert sum(totals) == 36 and per_hub["gba"][-2] > 0  # day 1 (1 Nov) is the week before
    assert sorted((r[0], r[1], r[2], r[3]) for r in page.value["fresh"]) == sorted(
        (zh, title, source, day.isoformat()) for zh, title, source, day in fresh)
    assert len(page.value["fresh"]) == 10
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert summary.startswith(f"# hubwatch briefing: {WEEKS} week(s) to 2026-11-08\n")
    assert "- [Monitoring system aids wild animal protection efforts in NE China]" in summary
