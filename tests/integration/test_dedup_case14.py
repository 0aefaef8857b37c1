"""Case 14 through the pipeline: one article under many URLs (tracking parameters, scheme,
host case, fragment, mobile and AMP hosts, trailing slash) is one document; id=101 and
id=102 stay apart; tracking and fragment variants are never fetched at all.

The internet is replaced at the transport seam (httpx.MockTransport) by the case's
recorded responses; everything above it (Fetcher, decoding, extraction, storage) is real.
"""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.pipeline.ingest import Pipeline

HOSTS = ["www.news.example", "m.news.example", "www.zhengce.example", "www.think.example"]


def _article(n: int) -> bytes:
    return (f"<html><head><meta charset='utf-8'><title>政策文件第{n}号</title></head><body>"
            f"<article><p>关于推进京津冀协同发展的第{n}号文件正文，内容与其他文件不同。</p>"
            f"<p>文件编号{n}，自发布之日起施行。</p></article></body></html>").encode()


@pytest.fixture
def case(shared_dir):
    folder = shared_dir / "cases/14-dedup-url-variants"
    responses = json.loads((folder / "responses.json").read_text())
    requested: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        requested.append(url)
        spec = responses.get(url)
        if spec is None:
            return httpx.Response(404)
        if spec["status"] in (301, 302):
            return httpx.Response(spec["status"], headers={"Location": spec["location"]})
        body = ((folder / spec["body_file"]).read_bytes() if "body_file" in spec
                else _article(int(url.rsplit("=", 1)[1])))
        return httpx.Response(200, content=body, headers={"Content-Type": "text/html"})

    discovered = [d["url"] for d in json.loads((folder / "discovered.json").read_text())]
    expected = json.loads((folder / "expected.json").read_text())["expected"]
    return discovered, expected, handler, requested


def test_url_variants_are_one_document(case, clean_db):
    discovered, expected, handler, requested = case
    source = SourceConfig(slug="case14", name="Case 14", kind="policy", language="zh",
                          allowed_hosts=HOSTS, delay_seconds=0,
                          discovery=[Discovery(type="feed", url="https://www.news.example/f.xml")])
    engine = create_engine(clean_db)
    pipeline = Pipeline.open(sessionmaker(engine), [source], load_watchlist(get_settings().watchlist_file))
    with Fetcher(FetchSettings(host_delay=0, retries=0),
                 transport=httpx.MockTransport(handler)) as fetcher:
        pipeline.fetch_and_store(discovered, fetcher, source)
    with engine.connect() as conn:
        docs = conn.execute(text("SELECT canonical_url FROM document ORDER BY 1")).scalars().all()
        mapped = dict(conn.execute(text("SELECT url, document_id FROM document_url")).all())
    engine.dispose()
    assert len(docs) == expected["distinct_documents"] == 4
    assert sorted(docs) == sorted(g["key"] for g in expected["groups"])
    for group in expected["groups"]:
        members = {mapped.get(m) for m in group["members"] if m in mapped}
        assert len(members) == 1, group["key"]
    # Variants that differ only by tracking parameters, fragment, host case or default
    # port were never requested; each remaining URL once (plus one redirect hop).
    assert not [u for u in requested if "utm_" in u or "spm=" in u or "#" in u or "WWW" in u]
    assert len(requested) == len(set(requested)) + 1  # the http:// redirect's target twice
