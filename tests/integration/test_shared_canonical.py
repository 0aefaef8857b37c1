"""A canonical URL claimed by pages with different content is not trusted: each page
stays its own document; an edit of the page that owns the canonical is a new version."""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.pipeline.ingest import Pipeline

SITE = "https://www.gov.example"


def _page(topic: str) -> bytes:
    return (f"<html><head><meta charset='utf-8'><title>{topic}</title>"
            f"<link rel='canonical' href='{SITE}/zhengce/index.htm'></head><body><article>"
            f"<p>{topic}。本文介绍长三角一体化发展的具体安排和时间表。</p>"
            f"<p>{topic}的实施细则将另行公布。</p></article></body></html>").encode()


def test_shared_canonical_does_not_merge_pages(clean_db):
    pages = {"/zhengce/a.htm": _page("关于科技创新的通知"), "/zhengce/b.htm": _page("关于住房保障的意见")}

    def handler(request: httpx.Request) -> httpx.Response:
        body = pages.get(request.url.path)
        if body is None:
            return httpx.Response(404)
        return httpx.Response(200, content=body, headers={"Content-Type": "text/html"})

    source = SourceConfig(slug="gov", name="Gov", kind="policy", language="zh",
                          allowed_hosts=["www.gov.example"], delay_seconds=0,
                          discovery=[Discovery(type="feed", url=f"{SITE}/feed.xml")])
    engine = create_engine(clean_db)
    pipeline = Pipeline.open(sessionmaker(engine), [source], load_watchlist(get_settings().watchlist_file))
    with Fetcher(FetchSettings(host_delay=0, retries=0), transport=httpx.MockTransport(handler)) as f:
        for path in pages:  # one after the other: the first claims the canonical
            pipeline.fetch_and_store([SITE + path], f, source)
        pages["/zhengce/a.htm"] = _page("关于科技创新的通知（修订）")
        pipeline.fetch_and_store([SITE + "/zhengce/a.htm"], f, source)
    with engine.connect() as conn:
        docs = dict(conn.execute(text(
            "SELECT d.canonical_url, count(v.id) FROM document d "
            "JOIN document_version v ON v.document_id = d.id GROUP BY 1")).all())
    engine.dispose()
    assert docs == {f"{SITE}/zhengce/index.htm": 2, f"{SITE}/zhengce/b.htm": 1}
