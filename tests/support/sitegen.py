"""A small generated news site on 127.0.0.1 for crawl, orchestration and benchmark tests.

``SiteServer(pages=N)`` serves N article pages (English and Chinese, alternating) that
mention the watch-list hubs in their main text, plus what discovery needs:

======================  ==================================================================
``/robots.txt``         ``Disallow: /private/`` and a ``Sitemap:`` line
``/sitemap.xml``        every article with ``<lastmod>``
``/feed.xml``           RSS 2.0, the newest ``feed_items`` articles
``/news/``              listing pages of ``page_size`` links (``a.headline``), ``a.next`` to
                        ``/news/page/2.html``...; each listing also links ``/private/...``
``/news/YYYY/MM/DD/article-N.html``  the articles (ETag, Last-Modified, 304 support)
``/private/secret.html``  disallowed by robots.txt: a polite crawler never asks for it
======================  ==================================================================

Every request is logged (``requests``: wall and monotonic time of arrival, path, status,
conditional headers) so a test can check what was asked, how often and how fast.
What each article mentions is known (``Article.mentions``: entity key -> occurrences in
title + main text), so tests compare the database with the generator's plan rather than
with hard-coded numbers. ``edit(n)`` and ``remove(n)`` change the site between crawls.

Usage::

    with SiteServer(pages=20) as site:
        write_sources(tmp_path / "sources.yaml", site, delay_seconds=0.2)
        ...
        assert not site.requested("/private/")
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import html
import random
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: One unambiguous written form per entity and language (see config/watchlist.yaml).
ALIASES = {
    "en": {"bth": "Beijing-Tianjin-Hebei region", "gba": "Guangdong-Hong Kong-Macao Greater Bay Area",
           "yrd": "Yangtze River Delta", "fyp15": "15th Five-Year Plan"},
    "zh": {"bth": "京津冀", "gba": "粤港澳大湾区", "yrd": "长三角", "fyp15": "十五五"},
}
_FILLER = {
    "en": ["Officials described the measures as a practical step for local industry.",
           "The document sets out targets for research spending and skills training.",
           "Analysts said the details would matter more than the headline numbers.",
           "Several provinces have already published their own implementation rules.",
           "The plan also covers transport links, housing and public services.",
           "Companies welcomed the clearer approval procedures described in the text.",
           "Universities are expected to share laboratories with small firms."],
    "zh": ["有关部门表示，这些措施将有助于当地产业稳步发展。",
           "文件提出了研发投入和技能培训方面的具体目标。",
           "专家认为，政策细节比总体数字更值得关注。",
           "多个省份已经出台了各自的实施细则。",
           "规划还涉及交通互联、住房保障和公共服务等内容。",
           "企业普遍欢迎文件中更加清晰的审批流程。",
           "高校将与中小企业共享实验室资源。"],
}
_MENTION = {
    "en": "Work in the {alias} will be reviewed at the end of the year.",
    "zh": "{alias}相关工作将在年底进行评估。",
}


@dataclass(frozen=True)
class Article:
    """One generated article. ``published`` is aware (Asia/Shanghai)."""

    n: int
    path: str
    language: str
    title: str
    published: dt.datetime
    paragraphs: tuple[str, ...]
    mentions: dict[str, int]


@dataclass(frozen=True)
class Request:
    """One request as the server saw it: ``wall`` (time.time()) and ``mono``
    (time.monotonic()) at arrival, in this process's clocks."""

    wall: float
    mono: float
    method: str
    path: str
    status: int
    if_none_match: str | None
    if_modified_since: str | None
    client: str


@dataclass
class _Page:
    body: bytes
    content_type: str
    modified: dt.datetime | None = None
    status: int = 200

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


def make_articles(pages: int, *, seed: int = 0, start: dt.datetime | None = None) -> list[Article]:
    """The articles of a site: alternating English/Chinese, one a day backwards from
    ``start`` (default 2026-09-30 09:00 Asia/Shanghai), each mentioning one to three hubs
    once in its main text, chosen by ``random.Random(seed)``."""
    rng = random.Random(seed)
    start = start or dt.datetime(2026, 9, 30, 9, 0, tzinfo=SHANGHAI)
    out = []
    for n in range(1, pages + 1):
        lang = "en" if n % 2 else "zh"
        when = start - dt.timedelta(days=n - 1, minutes=n % 60)
        keys = rng.sample(sorted(ALIASES[lang]), rng.randint(1, 3))
        paragraphs = [" ".join(rng.sample(_FILLER[lang], 3)) for _ in range(3)]
        for i, key in enumerate(keys):
            sentence = _MENTION[lang].format(alias=ALIASES[lang][key])
            paragraphs[i] = paragraphs[i] + (" " if lang == "en" else "") + sentence
        title = (f"Regional development notice number {n}" if lang == "en"
                 else f"关于区域发展工作的第{n}号通知")
        path = f"/news/{when:%Y/%m/%d}/article-{n}.html"
        out.append(Article(n, path, lang, title, when, tuple(paragraphs), {k: 1 for k in keys}))
    return out


def article_html(a: Article, *, sidebar_mentions: bool = False) -> str:
    """An article page: site navigation, the article, a related-links sidebar, a footer."""
    side = ""
    if sidebar_mentions:  # hub names in boilerplate: never counted as mentions
        side = "".join(f'<li><a href="/topic/{k}.html">{html.escape(v)}</a></li>'
                       for k, v in ALIASES[a.language].items())
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in a.paragraphs)
    return f"""<!DOCTYPE html>
<html lang="{'en' if a.language == 'en' else 'zh-CN'}"><head><meta charset="utf-8">
<title>{html.escape(a.title)}</title>
<meta property="article:published_time" content="{a.published.isoformat()}">
<link rel="canonical" href="{a.path}">
</head><body>
<header><nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/about.html">About</a></nav></header>
<main><article>
<h1>{html.escape(a.title)}</h1>
<p class="byline">By Staff Writer <time datetime="{a.published.isoformat()}">{a.published:%Y-%m-%d %H:%M}</time></p>
{paras}
</article>
<aside class="related"><h2>Related</h2><ul>{side}<li><a href="/news/">More news</a></li></ul></aside>
</main>
<footer><p>Test Site Daily. All rights reserved.</p></footer>
</body></html>
"""


class SiteServer:
    """The generated site on ``127.0.0.1:<free port>``; a context manager.

    Args:
        pages: number of articles.
        feed_items: items in ``/feed.xml`` (newest first).
        page_size: links per listing page.
        seed: drives which hubs each article mentions.
        latency: seconds each article response waits before it is sent.
        sidebar_mentions: also put hub names in each article's related-links box.
        robots_extra: lines added to the ``User-agent: *`` group of robots.txt
            (``Crawl-delay: 2``).
    """

    def __init__(self, pages: int = 20, *, feed_items: int = 20, page_size: int = 50,
                 seed: int = 0, latency: float = 0.0, sidebar_mentions: bool = False,
                 robots_extra: str = "") -> None:
        self.articles = make_articles(pages, seed=seed)
        self.feed_items, self.page_size, self.latency = feed_items, page_size, latency
        self.sidebar_mentions = sidebar_mentions
        self.robots_extra = robots_extra
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._pages: dict[str, _Page] = {}
        self._unlisted: set[int] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for a in self.articles:
            self._pages[a.path] = _Page(article_html(a, sidebar_mentions=sidebar_mentions).encode(),
                                        "text/html; charset=utf-8", a.published)

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> SiteServer:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="sitegen")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- addresses -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return self._server.server_address[1]

    @property
    def host(self) -> str:
        """``127.0.0.1:PORT``, as an ``allowed_hosts`` entry."""
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}{path}"

    def article_urls(self) -> list[str]:
        return [self.url(a.path) for a in self.articles]

    # -- changing the site between crawls --------------------------------------------------
    def edit(self, n: int, sentence: str) -> Article:
        """Append ``sentence`` to article ``n``'s last paragraph (a new version); returns the
        new article (its ``mentions`` are NOT recounted: pass an entity-free sentence or
        adjust in the test)."""
        i = n - 1
        old = self.articles[i]
        paragraphs = old.paragraphs[:-1] + (old.paragraphs[-1] + " " + sentence,)
        new = Article(old.n, old.path, old.language, old.title, old.published, paragraphs,
                      old.mentions)
        with self._lock:
            self.articles[i] = new
            self._pages[new.path] = _Page(article_html(new, sidebar_mentions=self.sidebar_mentions)
                                          .encode(), "text/html; charset=utf-8",
                                          dt.datetime.now(dt.UTC).replace(microsecond=0))
        return new

    def unlist(self, n: int) -> None:
        """Article ``n`` leaves the sitemap, feed and listings (its page still answers)."""
        with self._lock:
            self._unlisted.add(n)

    def relist(self, n: int) -> None:
        """Article ``n`` is listed again (undoes ``unlist``)."""
        with self._lock:
            self._unlisted.discard(n)

    @property
    def listed(self) -> list[Article]:
        """The articles the sitemap, feed and listings show, newest first."""
        return [a for a in self.articles if a.n not in self._unlisted]

    def remove(self, n: int) -> None:
        """Article ``n`` answers 404 from now on (it stays in the listings)."""
        with self._lock:
            self._pages[self.articles[n - 1].path].status = 404

    # -- the request log -------------------------------------------------------------------
    def requested(self, prefix: str) -> list[Request]:
        """Logged requests whose path starts with ``prefix``."""
        with self._lock:
            return [r for r in self.requests if r.path.startswith(prefix)]

    def min_gap(self, requests: Sequence[Request] | None = None) -> float | None:
        """Smallest time in seconds between two consecutive request arrivals (None if < 2)."""
        times = sorted(r.mono for r in (self.requests if requests is None else requests))
        return min((b - a for a, b in zip(times, times[1:])), default=None)

    def _log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    # -- content ---------------------------------------------------------------------------
    def page(self, path: str) -> _Page | None:
        """What ``path`` serves (generated pages are built on demand)."""
        with self._lock:
            known = self._pages.get(path)
        if known is not None:
            return known
        if path == "/robots.txt":
            return _Page(f"User-agent: *\nDisallow: /private/\n{self.robots_extra}\n"
                         f"Sitemap: {self.url('/sitemap.xml')}\n".encode(), "text/plain; charset=utf-8")
        if path == "/sitemap.xml":
            return _Page(self._sitemap().encode(), "application/xml")
        if path == "/feed.xml":
            return _Page(self._feed().encode(), "application/rss+xml; charset=utf-8")
        if path in ("/news/", "/news/index.html") or path.startswith("/news/page/"):
            return self._listing(path)
        if path.startswith("/private/"):
            return _Page(b"<html><body><p>private</p></body></html>", "text/html")
        return None

    def _sitemap(self) -> str:
        urls = "".join(f"<url><loc>{self.url(a.path)}</loc><lastmod>{a.published.isoformat()}"
                       "</lastmod></url>" for a in self.listed)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
                f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n')

    def _feed(self) -> str:
        items = "".join(
            f"<item><title>{html.escape(a.title)}</title><link>{self.url(a.path)}</link>"
            f"<guid>{self.url(a.path)}</guid><pubDate>{email.utils.format_datetime(a.published)}"
            "</pubDate></item>" for a in self.listed[:self.feed_items])
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
                f"<title>Test Site Daily</title><link>{self.url('/')}</link>"
                f"<description>generated</description>{items}</channel></rss>\n")

    def _listing(self, path: str) -> _Page | None:
        number = 1
        if path.startswith("/news/page/"):
            try:
                number = int(path.rsplit("/", 1)[-1].removesuffix(".html"))
            except ValueError:
                return None
        listed = self.listed
        chunk = listed[(number - 1) * self.page_size:number * self.page_size]
        if not chunk:
            return None
        links = "".join(f'<li><a class="headline" href="{a.path}">{html.escape(a.title)}</a></li>'
                        for a in chunk)
        more = (f'<a class="next" href="/news/page/{number + 1}.html">Next</a>'
                if number * self.page_size < len(listed) else "")
        body = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>News {number}</title>"
                f"</head><body><ul class='list'>{links}</ul>{more}"
                "<p><a class='headline' href='/private/secret.html'>Members only</a></p></body></html>")
        return _Page(body.encode(), "text/html; charset=utf-8")


def _handler(site: SiteServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real sites

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            wall, mono = time.time(), time.monotonic()
            path = self.path.split("?", 1)[0]
            page = site.page(path)
            status = self._respond(page, path)
            site._log(Request(wall, mono, "GET", self.path, status, self.headers.get("If-None-Match"),
                              self.headers.get("If-Modified-Since"), self.client_address[0]))

        def _respond(self, page: _Page | None, path: str) -> int:
            if page is None or page.status == 404:
                self._send(404, b"<html><body>not found</body></html>", "text/html")
                return 404
            if path.endswith(".html") and "/article-" in path and site.latency:
                time.sleep(site.latency)
            headers = {"ETag": page.etag}
            if page.modified is not None:
                headers["Last-Modified"] = email.utils.format_datetime(
                    page.modified.astimezone(dt.UTC), usegmt=True)
            if _not_modified(self.headers, page):
                self._send(304, b"", None, headers)
                return 304
            self._send(200, page.body, page.content_type, headers)
            return 200

        def _send(self, status: int, body: bytes, ctype: str | None,
                  headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # the request log replaces stderr noise
            pass

    return Handler


def _not_modified(headers, page: _Page) -> bool:
    """RFC 9110 §13.2.2: If-None-Match wins over If-Modified-Since."""
    inm = headers.get("If-None-Match")
    if inm is not None:
        return page.etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
    ims = headers.get("If-Modified-Since")
    if ims and page.modified is not None:
        try:
            since = email.utils.parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            return False
        return page.modified.replace(microsecond=0) <= since
    return False


def write_sources(path: Path, site: SiteServer, *, slug: str = "testsite",
                  delay_seconds: float = 0.0, discovery: Iterable[str] = ("sitemap",),
                  max_pages: int | None = None, extra_sources: str = "") -> Path:
    """Write a sources.yaml with one source crawling ``site``.

    ``discovery`` picks endpoints among ``sitemap``, ``feed`` and ``listing`` (the
    listing follows ``a.next`` through every page). ``max_pages`` defaults to the
    number of articles + 1 (the listings also link the robots-disallowed page). ``extra_sources`` is YAML appended to the list as is.
    """
    endpoints = {
        "sitemap": f"      - type: sitemap\n        url: {site.url('/sitemap.xml')}\n",
        "feed": f"      - type: feed\n        url: {site.url('/feed.xml')}\n",
        "listing": (f"      - type: listing\n        url: {site.url('/news/')}\n"
                    "        selector: 'a.headline'\n        next_selector: 'a.next'\n"
                    f"        max_pages: {min(50, -(-len(site.articles) // site.page_size))}\n"),
    }
    text = (f"sources:\n  - slug: {slug}\n    name: Test Site Daily\n    kind: commentary\n"
            f"    language: en\n    allowed_hosts: ['{site.host}']\n    discovery:\n"
            + "".join(endpoints[d] for d in discovery)
            + f"    delay_seconds: {delay_seconds}\n"
            f"    max_pages: {max_pages or len(site.articles) + 1}\n" + extra_sources)
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Expected:
    """What a complete crawl of ``articles`` must leave in the database."""

    documents: int
    mentions: int
    mentions_by_entity: dict[str, int] = field(default_factory=dict)


def expected(articles: Iterable[Article]) -> Expected:
    """The totals implied by the generator's plan (one version per article)."""
    by_entity: dict[str, int] = {}
    docs = 0
    for a in articles:
        docs += 1
        for key, n in a.mentions.items():
            by_entity[key] = by_entity.get(key, 0) + n
    return Expected(docs, sum(by_entity.values()), by_entity)
