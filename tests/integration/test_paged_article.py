"""A multi-page article on a local site (issue 11, point 4): one document keyed on the
first page's canonical URL, one stitched text, mentions from all three pages at offsets
into it, every page URL mapped; a continuation page met first maps to the same document;
pager links to other articles and listings are not followed. ``hubwatch extract FILE``
lists the pager links it saw."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from support.static_site import StaticSite

from hubwatch.cli.inspect import inspect_target
from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.pipeline.ingest import Pipeline

BASE = "/news/2026/01/05/story"
HUBS = {1: "京津冀", 2: "粤港澳大湾区", 3: "长三角"}
PAGE_PATHS = {1: f"{BASE}.html", 2: f"{BASE}_2.html", 3: f"{BASE}_3.html"}


def _paragraph(n: int) -> str:
    return f"第{n}页正文：{HUBS[n]}协同发展持续推进，各项重点任务按计划落实，取得阶段性成效，第{n}页内容到此为止。"


def _page(n: int) -> bytes:
    pager = "".join(f"<a href='{PAGE_PATHS[i]}'>{i}</a>" for i in PAGE_PATHS)
    nxt = f"<a href='{PAGE_PATHS[n + 1]}'>下一页</a>" if n < 3 else ""
    canonical = f"<link rel='canonical' href='{PAGE_PATHS[n]}'>"
    return (f"<html><head><meta charset='utf-8'><title>区域协调发展综述</title>{canonical}</head><body>"
            f"<div class='nav'><a href='/'>首页</a></div><article><h1>区域协调发展综述</h1>"
            f"<div class='time'>2026-01-05 08:00</div><p>{_paragraph(n)}</p><p>{_paragraph(n)[::-1]}</p></article>"
            f"<div class='pages'>{pager}{nxt}</div>"
            f"<div class='list-pager'><a href='/news/index_2.html'>2</a><a href='/news/2026/01/05/other_2.html'>2</a>"
            f"</div></body></html>").encode()


def test_three_page_article_is_one_stitched_document(clean_db, tmp_path):
    with StaticSite({p: _page(n) for n, p in PAGE_PATHS.items()}) as site:
        source = SourceConfig(slug="paged", name="Paged", kind="policy", language="zh",
                              allowed_hosts=[site.host], delay_seconds=0,
                              discovery=[Discovery(type="feed", url=site.url("/feed.xml"))])
        engine = create_engine(clean_db)
        pipeline = Pipeline.open(sessionmaker(engine), [source], load_watchlist(get_settings().watchlist_file))
        with Fetcher(FetchSettings(host_delay=0, retries=0)) as fetcher:
            pipeline.fetch_and_store([site.url(PAGE_PATHS[2])], fetcher, source)  # a continuation first
            pipeline.fetch_and_store([site.url(PAGE_PATHS[1])], fetcher, source)
            pipeline.fetch_and_store([site.url(PAGE_PATHS[3])], fetcher, source)
        with engine.connect() as conn:
            docs = conn.execute(text("SELECT id, canonical_url FROM document")).all()
            versions = conn.execute(text("SELECT id, main_text, extractor_version FROM document_version")).all()
            mapped = dict(conn.execute(text("SELECT url, document_id FROM document_url")).all())
            mentions = conn.execute(text(
                "SELECT e.key, m.surface, m.start_offset, m.end_offset FROM mention m "
                "JOIN entity e ON e.id = m.entity_id WHERE m.zone = 'body' ORDER BY m.start_offset")).all()
        engine.dispose()
        requested = list(site.requested)
    assert [d.canonical_url for d in docs] == [site.url(PAGE_PATHS[1])]
    assert len(versions) == 1 and versions[0].extractor_version.endswith("+pages3")
    body = versions[0].main_text
    positions = [body.index(_paragraph(n)) for n in (1, 2, 3)]
    assert positions == sorted(positions)  # stitched in page order
    assert all(mapped[site.url(p)] == docs[0].id for p in PAGE_PATHS.values())
    by_entity = {}
    for key, surface, start, end in mentions:
        assert body[start:end] == surface
        by_entity.setdefault(key, []).append(start)
    assert set(by_entity) >= {"bth", "gba", "yrd"}
    assert by_entity["bth"][0] < by_entity["gba"][0] < by_entity["yrd"][0]
    assert not [p for p in requested if "index_2" in p or "other_2" in p]

    saved = tmp_path / "story_2.html"
    saved.write_bytes(_page(2))
    record = inspect_target(str(saved), original_url=f"https://www.paged.example{PAGE_PATHS[2]}")
    assert record["pager_links"] == [f"https://www.paged.example{PAGE_PATHS[1]}",
                                     f"https://www.paged.example{PAGE_PATHS[3]}"]
