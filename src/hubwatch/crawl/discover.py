"""Discovery: from a source's feeds, sitemaps, listing pages and JSON list endpoints to
candidate article URLs.

Each endpoint fetch is reported (so a broken feed is recorded with its cause) and never
stops discovery of the other endpoints. Feed and sitemap XML passes
:func:`hubwatch.crawl.safexml.check_safe_xml` first: no entity expansion, no external entities.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import feedparser
from lxml import etree

from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.crawl.fetch import FetchResult
from hubwatch.crawl.urls import is_allowed, normalize_url, url_problem
from hubwatch.outcomes import Outcome

log = logging.getLogger(__name__)

SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
MAX_SITEMAPS = 20  # child sitemaps followed per sitemap endpoint


@dataclass(frozen=True)
class Candidate:
    """A URL found by discovery, with what the endpoint said of it (date in UTC)."""

    url: str
    published_at: dt.datetime | None = None
    title: str | None = None
    #: every link written for it (tracking, fragment and host-case variants of ``url``)
    seen_as: tuple[str, ...] = ()
    #: the discovery fetch that first listed it: endpoint type and the URL fetched
    #: (``feed https://example.org/rss.xml``); shown by ``ingest --dry-run``
    found_by: str | None = None


@dataclass
class EndpointReport:
    """One discovery fetch: its fetch result, and the outcome after parsing.
    ``warnings``: links it held that cannot be fetched (dropped, the rest kept)."""

    fetch: FetchResult
    outcome: str
    error: str | None
    found: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class DiscoveryResult:
    candidates: list[Candidate] = field(default_factory=list)
    endpoints: list[EndpointReport] = field(default_factory=list)


class FeedError(ValueError):
    """A feed, sitemap or JSON list that cannot be read (becomes ``bad_feed``).

    ``salvaged`` holds the candidates a lenient parser still recovered from a broken file:
    they are used (nothing lost) while the endpoint is recorded as ``bad_feed``.
    """

    def __init__(self, message: str, salvaged: list[Candidate] | None = None) -> None:
        super().__init__(message)
        self.salvaged = salvaged or []


Fetch = Callable[..., FetchResult]


def discover(source: SourceConfig, fetch: Fetch, *, since: dt.date | None = None,
             limit: int | None = None) -> DiscoveryResult:
    """Candidates of ``source``, in endpoint order, deduplicated, filtered by the source's
    include/exclude patterns and allowed hosts, and by ``since`` (items dated before it in
    the source's time zone are dropped; undated items are kept).

    ``fetch(url, expect=...)`` is the fetcher bound to the source (allowed hosts, headers).
    ``limit`` (the per-source page cap) applies while discovering: once that many
    candidates are known, no further endpoint, child sitemap or listing page is fetched,
    and a sitemap is read only as far as needed (see ``_run_endpoint``). A link that
    cannot be a URL (``http://host:1:2/``) is dropped with a warning on its endpoint's
    report; discovery of the rest goes on.
    """
    result = DiscoveryResult()
    seen: dict[str, int] = {}  # normalised URL -> index in result.candidates
    tz = ZoneInfo(source.timezone)
    hosts = set(source.allowed_hosts)

    def want() -> int | None:
        return None if not limit else max(0, limit - len(result.candidates))

    for endpoint in source.discovery:
        if want() == 0:
            break
        for report, candidates in _run_endpoint(endpoint, fetch, tz, want):
            result.endpoints.append(report)
            for cand in candidates:
                if want() == 0:
                    break
                cand = replace(cand, found_by=f"{endpoint.type} {report.fetch.url}")
                _add(result, seen, report, cand, source, hosts, since, tz)
    if limit:
        result.candidates = result.candidates[:limit]
    return result


def _add(result: DiscoveryResult, seen: dict[str, int], report: EndpointReport, cand: Candidate,
         source: SourceConfig, hosts: set[str], since: dt.date | None, tz: ZoneInfo) -> None:
    problem = url_problem(cand.url)
    if problem is not None:
        report.warnings.append(problem)
        log.warning("discovery at %s dropped a link: %s", report.fetch.final_url, problem)
        return
    # One fetch per normalised URL: tracking, fragment and host-case variants
    # of a link are the same request.
    cand = replace(cand, url=normalize_url(cand.url), seen_as=(cand.url,))
    if cand.url in seen:
        first = result.candidates[seen[cand.url]]
        result.candidates[seen[cand.url]] = replace(
            first, seen_as=tuple(dict.fromkeys(first.seen_as + cand.seen_as)))
        return
    if not is_allowed(cand.url, hosts) or not source.wants(cand.url):
        return  # off-site links are normal in listings: not a warning
    if since and cand.published_at and cand.published_at.astimezone(tz).date() < since:
        return
    seen[cand.url] = len(result.candidates)
    report.found += 1
    result.candidates.append(cand)


def _run_endpoint(ep: Discovery, fetch: Fetch, tz: ZoneInfo, want: Callable[[], int | None]
                  ) -> Iterator[tuple[EndpointReport, list[Candidate]]]:
    """Fetch and parse one endpoint and what it leads to (child sitemaps, next listing
    pages), stopping as soon as ``want()`` (candidates still needed; None: no cap) is 0.
    A sitemap is read for at most ``2 * want() + 100`` entries: the margin covers entries
    that the filters drop; if it falls short, the next child sitemap supplies the rest."""
    urls = [ep.url]
    done: set[str] = set()
    pages = 0
    while (urls and pages < (ep.max_pages if ep.type in ("listing", "script_json") else MAX_SITEMAPS)
           and want() != 0):
        url = urls.pop(0)
        if url in done:
            continue
        done.add(url)
        pages += 1
        res = fetch(url, expect="feed" if ep.type in ("feed", "sitemap", "json") else "page")
        if res.outcome != Outcome.OK:
            yield EndpointReport(res, res.outcome, res.error), []
            continue
        needed = want()
        try:
            if ep.type == "sitemap":
                candidates, more = _sitemap(ep, res, tz, None if needed is None else 2 * needed + 100)
            else:
                candidates, more = _PARSERS[ep.type](ep, res, tz)
        except FeedError as exc:
            yield EndpointReport(res, Outcome.BAD_FEED, str(exc)), exc.salvaged
            continue
        except FeedWarning as warning:  # read in full once mended: ok, with the note
            yield EndpointReport(res, Outcome.OK, str(warning)), warning.candidates
            continue
        except Exception as exc:  # noqa: BLE001 - a bug must cost this endpoint, not the source
            log.exception("discovery at %s failed", url)
            yield EndpointReport(res, Outcome.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}"[:2000]), []
            continue
        yield EndpointReport(res, Outcome.OK, None), candidates
        urls.extend(more)
        if ep.type == "listing" and ep.page_template and not more:
            urls.append(ep.page_template.replace("{n}", str(ep.page_start + pages - 1)))


def _feed(ep: Discovery, res: FetchResult, tz: ZoneInfo) -> tuple[list[Candidate], list[str]]:
    body, notes = _readable_xml(res, "feed")
    parsed = feedparser.parse(body, response_headers={
        "content-type": "application/xml; charset=utf-8", "content-location": res.final_url})
    if not parsed.entries:
        cause = parsed.get("bozo_exception") or "no entries"
        raise FeedError(f"feed has no readable entries: {cause}")
    out = _feed_entries(parsed, res, tz)
    exc = parsed.get("bozo_exception")
    # A wrong or missing charset label is not a broken feed; bad XML is.
    if parsed.get("bozo") and not isinstance(exc, _BENIGN_FEED_ISSUES):
        raise FeedError(f"broken feed XML ({len(out)} entries salvaged): {exc}", out)
    if notes:
        raise FeedWarning("; ".join(notes), out)
    return out, []


class FeedWarning(Exception):
    """A feed read in full once a fault was mended: ``ok``, the warning kept as the
    endpoint's ``error`` (``snapshot.error_message``)."""

    def __init__(self, message: str, candidates: list[Candidate]) -> None:
        super().__init__(message)
        self.candidates = candidates


def _readable_xml(res: FetchResult, kind: str) -> tuple[bytes, list[str]]:
    """A feed's or sitemap's bytes as the parsers can take them, and what was mended.

    Refuses (``FeedError``) a document that declares entities (XXE, billion laughs) or
    whose bytes cannot be decoded. Then: decoded by our own rules and re-encoded as
    UTF-8 with its declaration rewritten (a gb2312 label over GBK bytes is read as
    GB18030, as pages are); a byte-order mark and white space before the XML
    declaration dropped (XML 1.0 §2.8 wants the declaration first, readers accept it); HTML named
    entities that XML does not define (``&mdash;``, ``&nbsp;``) turned into character
    references, with a note (only for a document with no DTD of its own: one that
    declares entities is refused above).
    """
    from hubwatch.crawl.safexml import UnsafeXMLError, check_safe_xml
    from hubwatch.text.decode import DecodeError, decode_xml

    try:
        check_safe_xml(res.body.lstrip(b"\xef\xbb\xbf \t\r\n"))
    except UnsafeXMLError as exc:
        raise FeedError(f"unsafe XML refused: {exc}") from None
    try:
        text = decode_xml(res.body, res.headers.get("content-type")).text
    except DecodeError as exc:
        raise FeedError(f"{kind} bytes cannot be decoded: {exc}") from None
    text = text.lstrip("\ufeff \t\r\n")
    text = _XML_DECL_ENCODING.sub(r"\1utf-8\2", text[:300], count=1) + text[300:]
    notes = []
    if "<!DOCTYPE" not in text[:2000].upper():
        text, replaced = _html_entities_as_references(text)
        if replaced:
            shown = ", ".join(f"&{name}; x{n}" for name, n in sorted(replaced.items())[:8])
            notes.append(f"HTML entities that XML does not define decoded: {shown}")
    return text.encode("utf-8"), notes


_XML_DECL_ENCODING = re.compile(r"""(<\?xml[^>]*?encoding\s*=\s*["'])[^"']*(["'])""", re.I)
_NAMED_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})


def _html_entities_as_references(text: str) -> tuple[str, dict[str, int]]:
    """``&name;`` for HTML5 names other than XML's five, as ``&#N;`` references (which
    XML parsers decode); unknown names are left for the parser to report."""
    from html.entities import html5

    replaced: dict[str, int] = {}

    def one(m: re.Match) -> str:
        name = m.group(1)
        chars = html5.get(name + ";")
        if name in _XML_ENTITIES or chars is None:
            return m.group(0)
        replaced[name] = replaced.get(name, 0) + 1
        return "".join(f"&#{ord(c)};" for c in chars)

    return _NAMED_ENTITY.sub(one, text), replaced
_BENIGN_FEED_ISSUES = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def _feed_entries(parsed, res: FetchResult, tz: ZoneInfo) -> list[Candidate]:
    out = []
    for entry in parsed.entries:
        link = entry.get("link")
        if not link:
            continue
        raw = entry.get("published") or entry.get("updated")
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        when = feed_date(raw, tz, res.fetched_at, stamp)
        out.append(Candidate(_join(res.final_url, link), when, entry.get("title")))
    return out


def feed_date(raw: str | None, tz: ZoneInfo, fetched_at: dt.datetime,
              parsed_utc: tuple | None = None) -> dt.datetime | None:
    """A feed item's date (aware), from its text as written.

    RFC 822 with a zone (RSS) is taken as is; a date with no zone is wall time in the
    source's zone ``tz`` (feedparser would read it as UTC), and Chinese forms
    (``2025年06月17日 08:00``) are read by the page date rules
    (``hubwatch.text.dates.parse_date``), which also refuse a date after ``fetched_at``.
    ``parsed_utc``, feedparser's UTC tuple, is the last resort for a form none of these
    read. None when there is no usable date.
    """
    from email.utils import parsedate_tz

    from hubwatch.text.dates import parse_date

    raw = (raw or "").strip()
    if raw:
        rfc = parsedate_tz(raw) if re.search(r"[A-Za-z]{3}", raw) else None
        if rfc is not None:
            zone = _RFC_ZONE.search(raw)
            named = (zone.group(1) or "").upper() if zone else None
            if zone is None or (named == "CST" and tz.key.startswith(("Asia/", "PRC"))):
                # No zone (parsedate_tz says +0000 then, as for GMT), or CST on a Chinese
                # site (China Standard Time, not US Central): the source's wall time.
                when = dt.datetime(*rfc[:6], tzinfo=tz)
            else:
                when = dt.datetime(*rfc[:6], tzinfo=dt.timezone(dt.timedelta(seconds=rfc[9] or 0)))
            return when if when <= fetched_at + _CLOCK_SKEW else None
        found = parse_date(raw, base=fetched_at, tz=tz.key)
        if found is not None:
            return found[0]
    if parsed_utc:
        when = dt.datetime(*parsed_utc[:6], tzinfo=dt.UTC)
        return when if when <= fetched_at + _CLOCK_SKEW else None
    return None


_RFC_ZONE = re.compile(r"(?:[+-]\d{4}|\b([A-Za-z]{1,5}))\s*$")

#: A feed date may run a little ahead of our clock (the server's clock, publishing
#: systems that stamp the scheduled minute); later than this it is not believed.
_CLOCK_SKEW = dt.timedelta(minutes=10)


def _sitemap(ep: Discovery, res: FetchResult, tz: ZoneInfo, max_entries: int | None = None
             ) -> tuple[list[Candidate], list[str]]:
    """The ``<url>`` entries of a urlset (at most ``max_entries``) or the child sitemaps of
    a sitemap index, read incrementally: stopping early leaves the rest unparsed."""
    from hubwatch.crawl.safexml import UnsafeXMLError, iter_xml_safely

    # A .xml.gz body arrives inflated: the fetcher does that, bounded, for expect="feed".
    body, notes = _readable_xml(res, "sitemap")
    entries: list[tuple[str, str]] = []
    root_tag = None
    try:
        for el in iter_xml_safely(body):
            parent = el.getparent()
            if parent is None:
                root_tag = etree.QName(el).localname
                break
            if parent.getparent() is not None or not isinstance(el.tag, str):
                continue  # <loc>, <lastmod>...: read with their entry
            if root_tag is None:
                root_tag = etree.QName(parent).localname
            entries.append((_child_text(el, "loc"), _child_text(el, "lastmod")))
            el.clear()
            while el.getprevious() is not None:  # drop finished entries: bounded memory
                del parent[0]
            if max_entries is not None and len(entries) >= max_entries and root_tag == "urlset":
                break
    except (UnsafeXMLError, etree.XMLSyntaxError, ValueError) as exc:
        raise FeedError(f"sitemap is not readable XML: {exc}") from None
    if root_tag is None:
        raise FeedError("sitemap is not readable XML: no root element")
    if root_tag == "sitemapindex":
        return [], [loc for loc, _ in entries if loc]
    if root_tag != "urlset":
        raise FeedError(f"root element <{root_tag}> is neither <urlset> nor <sitemapindex>")
    found = [Candidate(loc, _parse_date(mod, tz)) for loc, mod in entries if loc]
    if notes:
        raise FeedWarning("; ".join(notes), found)
    return found, []


def _child_text(el, name: str) -> str:
    """Text of a sitemap child, with or without the sitemaps.org namespace."""
    return (el.findtext(f"{SITEMAP_NS}{name}") or el.findtext(name) or "").strip()


def _listing(ep: Discovery, res: FetchResult, tz: ZoneInfo) -> tuple[list[Candidate], list[str]]:
    # BeautifulSoup earns its cost here: CSS selectors (soupsieve) from the sources file.
    from bs4 import BeautifulSoup

    from hubwatch.text.decode import decode_html

    soup = BeautifulSoup(decode_html(res.body, res.headers.get("content-type")).text, "lxml")
    # Hanweb JCMS columns write their items as HTML fragments in CDATA records of a
    # <script type="text/xml"> datastore, rendered by JavaScript: read them as HTML too.
    records = [m for script in soup.select("script[type='text/xml'], datastore")
               for m in _CDATA.findall(script.get_text())]
    stored = BeautifulSoup("".join(records), "lxml") if records else None
    try:
        anchors = soup.select(ep.selector) + (stored.select(ep.selector) if stored else [])
        nexts = soup.select(ep.next_selector) if ep.next_selector else []
    except ValueError as exc:  # soupsieve.SelectorSyntaxError is a ValueError
        raise FeedError(f"bad CSS selector: {exc}") from None
    links = [_join(res.final_url, a["href"]) for a in anchors if a.get("href")]
    more = [_join(res.final_url, a["href"]) for a in nexts if a.get("href")][:1]
    return [Candidate(u) for u in links if u.startswith("http")], more


_CDATA = re.compile(r"<!\[CDATA\[(.*?)\]\]>", re.S)


def _json(ep: Discovery, res: FetchResult, tz: ZoneInfo) -> tuple[list[Candidate], list[str]]:
    from hubwatch.text.decode import decode_html

    try:
        data = json.loads(decode_html(res.body, res.headers.get("content-type")).text)
    except ValueError as exc:
        raise FeedError(f"JSON list is not valid JSON: {exc}") from None
    return _json_items(ep, data, res, tz), []


def _script_json(ep: Discovery, res: FetchResult, tz: ZoneInfo) -> tuple[list[Candidate], list[str]]:
    """Items written as JSON into a ``<script>`` of an HTML listing (the page renders
    them with JavaScript): the JSON value after ``script_key:`` or ``script_key =``."""
    from hubwatch.text.decode import decode_html

    page = decode_html(res.body, res.headers.get("content-type")).text
    key = re.compile(rf"(?<![\w$]){re.escape(ep.script_key)}[\"']?\s*[:=]\s*")
    for script in _SCRIPT.finditer(page):
        for match in key.finditer(script.group(1)):
            try:
                data, _ = _DECODER.raw_decode(script.group(1), match.end())
            except ValueError:
                continue  # a JavaScript expression, not JSON: try the next occurrence
            return _json_items(ep, data, res, tz), []
    raise FeedError(f"no JSON after {ep.script_key!r} in any <script> of the page")


_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script\s*>", re.S | re.I)
_DECODER = json.JSONDecoder()


def _json_items(ep: Discovery, data, res: FetchResult, tz: ZoneInfo) -> list[Candidate]:
    items = _at_path(data, ep.items_path)
    if items is None:
        raise FeedError(f"items_path {ep.items_path!r} does not lead to a list")
    out = []
    for item in items:
        url = _field(item, ep.url_field)
        if not url:
            continue
        when = _parse_date(str(_field(item, ep.date_field) or ""), tz) if ep.date_field else None
        title = _field(item, ep.title_field) if ep.title_field else None
        out.append(Candidate(_join(res.final_url, str(url)), when,
                             str(title) if title else None))
    return out


def _at_path(data, path: str) -> list | None:
    """The list at a dot path; a ``*`` step flattens every value of an object."""
    nodes = [data]
    for part in filter(None, path.split(".")):
        step = []
        for node in nodes:
            if not isinstance(node, dict):
                continue
            step.extend(node.values() if part == "*" else [node.get(part)])
        nodes = [n for n in step if n is not None]
    lists = [n for n in nodes if isinstance(n, list)]
    if not lists:
        return None
    return [item for found in lists for item in found]


def _field(item, path: str | None):
    """A dot-path field of an item; a step holding a JSON string is read as JSON."""
    value = item
    for part in (path or "").split("."):
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                value = json.loads(value)
            except ValueError:
                return None
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _join(base: str, href: str) -> str:
    """``href`` resolved against ``base``; as written when it cannot be parsed (an unclosed
    IPv6 bracket): ``url_problem`` then drops it with a warning instead of losing the page."""
    href = href.strip()
    try:
        return urljoin(base, href)
    except ValueError:
        return href


def _parse_date(value: str, tz: ZoneInfo) -> dt.datetime | None:
    """ISO-like dates from sitemaps and JSON lists (naive ones are in the source's zone),
    or epoch seconds / milliseconds (13 digits); 0 means no date."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        stamp = int(value) / (1000 if len(value) >= 12 else 1)
        return dt.datetime.fromtimestamp(stamp, dt.UTC) if stamp > 0 else None
    for candidate in (value, value.replace(" ", "T", 1), value[:10]):
        try:
            parsed = dt.datetime.fromisoformat(candidate.replace("Z", "+00:00"))
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    return None


_PARSERS = {"feed": _feed, "sitemap": _sitemap, "listing": _listing, "json": _json,
            "script_json": _script_json}
