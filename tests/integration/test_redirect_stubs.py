"""Redirect stubs through the pipeline (issue 11, point 6): a page that only redirects
(meta refresh, quoted or not, inside <noscript>; location.href / location.replace scripts)
is followed like an HTTP redirect: no document for the stub, the target stored once, the
stub's URL mapped to the target's document, the stub listed in the snapshot's redirects;
hops bounded, loops caught, other hosts refused. A real local HTTP server plays the site."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from support.static_site import StaticSite

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.crawl.stubs import stub_target
from hubwatch.pipeline.ingest import Pipeline

ARTICLE = ("<html><head><title>大湾区规则衔接新进展</title></head><body><article><h1>大湾区规则衔接新进展</h1>"
           + "<p>粤港澳大湾区建设持续推进，规则衔接和机制对接取得新进展，三地在资格互认方面形成更多成果。</p>" * 6
           + "</article></body></html>").encode()
STUBS = {
    "/old.html": b'<html><head><meta http-equiv="refresh" content="0; url=/news/new.html"></head><body></body></html>',
    "/bare.html": b"<html><head><meta content=0;URL=/news/new.html http-equiv=Refresh></head></html>",
    "/nojs.html": (b"<html><body><script>var x = 1;</script><noscript><meta http-equiv='refresh' "
                   b"content=\"0;URL='/news/new.html'\"></noscript><p>Redirecting...</p></body></html>"),
    "/href.html": b"<html><script>window.location.href = '/news/new.html';</script></html>",
    "/replace.html": b"<html><script>location.replace(\"/news/new.html\")</script><a href='/news/new.html'>here</a></html>",
}


def test_stub_detection_keeps_pages_that_are_not_stubs():
    base = "https://www.example.gov/a/b.html"
    assert stub_target(STUBS["/old.html"], base) == "https://www.example.gov/news/new.html"
    assert stub_target(STUBS["/bare.html"], base) == "https://www.example.gov/news/new.html"
    assert stub_target(b'<meta http-equiv="refresh" content="300">' + ARTICLE, base) is None  # reload
    assert stub_target(b'<meta http-equiv="refresh" content="0;url=/x">' + ARTICLE, base) is None  # content
    assert stub_target(b'<meta http-equiv="refresh" content="0;url=b.html">', base) is None  # itself
    assert stub_target(b"<script>location.href='javascript:void(0)'</script>", base) is None


def test_redirect_stubs_are_followed_like_http_redirects(clean_db):
    pages = {"/news/new.html": ARTICLE, **STUBS,
             "/loop1.html": b'<meta http-equiv="refresh" content="0;url=/loop2.html">',
             "/loop2.html": b'<meta http-equiv="refresh" content="0;url=/loop1.html">',
             "/away.html": b'<meta http-equiv="refresh" content="0;url=https://elsewhere.example/x.html">'}
    with StaticSite(pages) as site:
        source = SourceConfig(slug="stubs", name="Stubs", kind="policy", language="zh",
                              allowed_hosts=[site.host], delay_seconds=0,
                              discovery=[Discovery(type="feed", url=site.url("/feed.xml"))])
        engine = create_engine(clean_db)
        pipeline = Pipeline.open(sessionmaker(engine), [source], load_watchlist(get_settings().watchlist_file))
        with Fetcher(FetchSettings(host_delay=0, retries=0)) as fetcher:
            # one URL per call: the pipeline's own thread pool is not what is tested here
            for path in (*STUBS, "/loop1.html", "/away.html", "/news/new.html"):
                pipeline.fetch_and_store([site.url(path)], fetcher, source)
        with engine.connect() as conn:
            docs = conn.execute(text("SELECT id, canonical_url FROM document")).all()
            mapped = dict(conn.execute(text("SELECT url, document_id FROM document_url")).all())
            versions = conn.execute(text("SELECT count(*) FROM document_version")).scalar()
            snaps = {r.requested_url: r for r in conn.execute(text(
                "SELECT requested_url, final_url, outcome, redirects, document_id FROM snapshot"))}
        engine.dispose()
    target = site.url("/news/new.html")
    assert [d.canonical_url for d in docs] == [target] and versions == 1
    for path in STUBS:
        snap = snaps[site.url(path)]
        assert (snap.outcome, snap.final_url, snap.redirects, snap.document_id) == ("ok", target, [site.url(path)],
                                                                                      docs[0].id)
        assert mapped[site.url(path)] == docs[0].id
    assert snaps[site.url("/loop1.html")].outcome == "redirect_loop"
    assert snaps[site.url("/away.html")].outcome == "blocked_redirect"
