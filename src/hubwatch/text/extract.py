"""HTML bytes -> ``Page``: title, main text, date, author, language, canonical URL.

One lxml parse per page. The body is walked once into text blocks (block-level
elements and ``<br>`` separate blocks; inline tags never insert separators). Each
block gets a content value (long, sentence-like, link-poor text is positive;
menus, link lists and blocks under navigation/sidebar/footer/related/comment
containers are negative), and the main text is the element whose blocks add up to
the highest value, minus the boilerplate blocks inside it. Metadata comes from
cheap signals first: JSON-LD, ``<meta>``, visible bylines, the URL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from lxml import etree

from hubwatch.contract import DEFAULT_TIMEZONE
from hubwatch.crawl.urls import absolute_url, normalize_url
from hubwatch.outcomes import Outcome
from hubwatch.text import textblocks as _blocks
from hubwatch.text.attachments import AttachmentLink, attachment_links
from hubwatch.text.dates import PRECISIONS, date_from_url, parse_date
from hubwatch.text.decode import DecodeError, decode_html, sniff_binary
from hubwatch.text.pager import pager_links
from hubwatch.text.policy import PolicyRecord, drop_elements, gov_meta_time, read_policy

#: Bump whenever the output for the same bytes can change (stored per version).
EXTRACTOR_VERSION = "1.3.1"
#: Largest body parsed (bytes, after Content-Encoding).
MAX_BYTES = 20 * 1024 * 1024
#: Element nesting refused from this depth on: libxml2 stops parsing silently at 2048
#: (huge mode), so deeper pages would lose their tail without a word; 500 also keeps
#: the recursive body walk far below Python's default recursion limit.
MAX_DEPTH = 500
#: A main text with fewer tokens than this is no text (outcome ``no_text``): tokens as the
#: gold scorer counts them (a Latin/digit word, or one CJK character). Measured on the gold
#: sets (docs/design.md, "No text"): the shortest gold text has 69 tokens in corpus-news and
#: 50 in corpus, while what stubs, placeholders and failed extractions leave (a link, a
#: site name, "Loading...") has under 10; 25 keeps a wide margin on both sides.
MIN_TEXT_TOKENS = 25

# Plain etree elements: lxml.html's element classes cost a lookup per node and add nothing here.
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True, default_doctype=False)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
# libxml2 drops whatever follows a </body> or </html>; browsers ignore those end tags, and
# CMS templates that include a header fragment (gov.cn) carry one mid-page.
_END_TAGS = re.compile(r"</(?:body|html)\s*>", re.IGNORECASE)
_TIME_VALUES = etree.XPath("//*[@itemprop='datePublished']/@content | //*[@itemprop='datePublished']/@datetime"
                           " | //time[@pubdate]/@datetime")
# Site-name separators in <title>: spaced dashes/bars/dots, or _ | ｜ -- :: in any spacing
# (a bare hyphen is part of words like Five-Year; a bare · joins transliterated names).
_SITE_SEPARATORS = re.compile(r"\s+[-–—|·»]\s+|\s*(?:_|\||｜|--|::)\s*")
_BLOCKED = re.compile(r"access denied|forbidden|captcha|just a moment|attention required|verify you are human|"
                      r"enable javascript|请开启\s*javascript|安全验证|安全检查|人机验证|验证码|访问被拒绝|访问受限|"
                      r"滑动验证|service (?:temporarily )?unavailable|too many requests", re.IGNORECASE)
_AUTHOR_CN = re.compile(r"(?:(?:作者|撰文|通讯员)\s*[：:]|(?<![\u4e00-\u9fff])文\s*[：:/／]|记者[：:\s])\s*"
                        r"([\u4e00-\u9fff·]{2,8}(?:[ 、,，　][\u4e00-\u9fff·]{2,4}){0,3})")
_NOT_NAME = re.compile(r"责任|编辑|来源|摄影|通讯员|校对|审核")
_AUTHOR_EN = re.compile(r"^\s*(?i:by)\s+([A-Z][\w.'-]+(?:\s+(?:[A-Z][\w.'-]+|and|de|van|von)){0,5})", re.MULTILINE)


@dataclass
class Page:
    """What one HTML page says. ``text`` holds the main text, paragraphs separated
    by a blank line; mentions index into ``title`` and ``text`` (code points)."""

    title: str
    text: str
    published_at: datetime | None = None
    published_precision: str | None = None
    author: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    boilerplate: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    encoding: str | None = None  # Python codec the body was decoded with
    policy: PolicyRecord | None = None  # the official-document block (text.policy), if any
    attachments: list[AttachmentLink] = field(default_factory=list)  # links to PDF, DOCX, OFD...
    #: The article's other pages (``hubwatch.text.pager``), first page first; [] if one page.
    pager_links: list[str] = field(default_factory=list)


class ExtractError(Exception):
    """The page yields no content; ``outcome`` is a ``hubwatch.outcomes.Outcome`` value
    (``binary``, ``decode_error``, ``parse_limit``, ``blocked_page`` or ``no_text``)."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(f"{outcome}: {message}")
        self.outcome, self.message = str(outcome), message


def parse_page(body: bytes, *, url: str | None, content_type: str | None, fetched_at: datetime,
               site_timezone: str = DEFAULT_TIMEZONE, max_bytes: int = MAX_BYTES,
               max_depth: int = MAX_DEPTH) -> Page:
    """Extract a ``Page`` from an HTML body.

    ``body``: bytes after Content-Encoding; ``url``: the final URL (resolves
    relative links, gives a date of last resort); ``content_type``: the header
    value; ``fetched_at``: aware fetch time (relative dates resolve against it,
    later dates are refused); ``site_timezone``: IANA zone for naive times.
    Raises ``ExtractError`` with outcome ``binary`` (magic bytes), ``decode_error``,
    ``parse_limit`` (over ``max_bytes`` or nested deeper than ``max_depth``) or
    ``blocked_page`` (a WAF challenge or placeholder instead of content). Whether the
    text is long enough to store is ``require_text``'s decision.
    """
    doc, encoding = _parse(body, content_type, max_bytes, max_depth)
    meta = _Meta.read(doc, url)
    links = _links(doc, meta.base)
    files = attachment_links(doc, meta.base)
    # The official-document block is metadata: read it, then keep its labels out of the text.
    policy, block = read_policy(doc, site_timezone)
    drop_elements(block)
    walked = _blocks.walk(doc)
    title = _title(meta, walked.headings)
    main, boilerplate = _blocks.main_text(walked, title)
    lead = _lead_addition(meta, main)
    text = "\n\n".join([lead, *main] if lead else main)
    _refuse_placeholder(meta.raw_title, text, walked)
    published = _published(meta, walked, url, fetched_at, site_timezone)
    return Page(title=title, text=text, published_at=published[0] if published else None,
                published_precision=published[1] if published else None,
                author=_author(meta, main, walked, doc), language=_language(meta.lang, title + text),
                canonical_url=meta.canonical, boilerplate=boilerplate, links=links, encoding=encoding,
                policy=policy, attachments=files, pager_links=pager_links(doc, url, meta.base))


def _parse(body: bytes, content_type: str | None, max_bytes: int, max_depth: int) -> tuple[etree._Element, str]:
    if len(body) > max_bytes:
        raise ExtractError(Outcome.PARSE_LIMIT, f"body of {len(body)} bytes is over the {max_bytes}-byte cap")
    kind = sniff_binary(body)
    if kind is not None:
        raise ExtractError(Outcome.BINARY, f"{kind} data where an HTML page was expected")
    try:
        decoded = decode_html(body, content_type)
    except DecodeError as exc:
        raise ExtractError(Outcome.DECODE_ERROR, str(exc)) from exc
    if not decoded.text.strip():
        return etree.fromstring("<html><body></body></html>", parser=_PARSER), decoded.encoding
    text = _XML_DECL.sub("", decoded.text, count=1)  # lxml refuses str input that names an encoding
    text = _END_TAGS.sub("", text)
    try:
        doc = etree.fromstring(text, parser=_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError) as exc:
        raise ExtractError(Outcome.DECODE_ERROR, f"no HTML document in the body: {exc}") from exc
    if doc is None:
        raise ExtractError(Outcome.DECODE_ERROR, "no HTML document in the body")
    if _too_deep(max_depth)(doc):
        raise ExtractError(Outcome.PARSE_LIMIT, f"elements nested {max_depth} or more levels deep")
    return doc, decoded.encoding


@lru_cache(maxsize=8)
def _too_deep(depth: int) -> etree.XPath:
    """An XPath that is true when some element sits ``depth`` levels down (linear time)."""
    return etree.XPath("boolean(/" + "/*" * depth + ")")


@dataclass
class _Meta:
    """Signals from ``<head>`` and JSON-LD, read before the body walk."""

    raw_title: str
    tags: dict[str, str]
    jsonld: list[dict]
    lang: str | None
    base: str | None
    canonical: str | None
    time_values: list[str]  # itemprop=datePublished / <time pubdate> values

    @classmethod
    def read(cls, doc: etree._Element, url: str | None) -> _Meta:
        tags: dict[str, str] = {}
        for el in doc.iter("meta"):
            key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
            if key and el.get("content") and key not in tags:
                tags[key] = el.get("content").strip()
        title_el = next(doc.iter("title"), None)
        base_el = next((el for el in doc.iter("base") if el.get("href")), None)
        base = absolute_url(base_el.get("href"), url) if base_el is not None else url
        return cls(raw_title=_squash("".join(title_el.itertext())) if title_el is not None else "", tags=tags,
                   jsonld=_jsonld(doc), lang=doc.get("lang") or doc.get("xml:lang"), base=base,
                   canonical=_canonical(doc, tags, base), time_values=[str(v) for v in _TIME_VALUES(doc)])

    def jsonld_value(self, *keys: str) -> object | None:
        for item in self.jsonld:
            for key in keys:
                if item.get(key):
                    return item[key]
        return None


_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)\s")
_NON_WORD = re.compile(r"[\W_]+")  # spaces, punctuation, hyphens: compare words only
_TERMINAL = ("。", "！", "？", "!", "?", ".", "”", "\"")


def _lead_addition(meta: _Meta, main: list[str]) -> str | None:
    """Sentences of the publisher's summary (``<meta name="description">``) that its body
    lacks, when that summary was cut from this body: it begins as the body begins.

    Sites such as people.com.cn fill the description with the article's opening
    paragraphs; when the two disagree, the page was edited in one place only, and what
    the summary says is still the article's own text (so an analyst sees the change).
    Descriptions made of title and keywords do not begin as the body, and add nothing.
    """
    desc = meta.tags.get("description") or meta.tags.get("og:description") or ""
    body = _NON_WORD.sub("", "".join(main))
    compact = _NON_WORD.sub("", desc)
    if len(compact) < 40 or len(body) < 40 or compact[:20] != body[:20] or compact in body:
        return None
    # Whole sentences only: a summary cut off mid-sentence ("…", "...") adds nothing.
    extra = [part.strip() for part in _SENTENCE_END.split(desc)
             if part.strip().endswith(_TERMINAL) and not part.strip().endswith(("..", "…"))
             and len(_NON_WORD.sub("", part)) >= 8
             and _NON_WORD.sub("", part) not in body]
    return _squash(" ".join(extra)) or None


def _squash(text: str) -> str:
    return " ".join(text.split())


def _jsonld(doc: etree._Element) -> list[dict]:
    """JSON-LD objects (``@graph`` flattened); unreadable scripts are skipped."""
    found: list[dict] = []
    for el in doc.iter("script"):
        if (el.get("type") or "").strip().lower() != "application/ld+json" or not el.text:
            continue
        try:
            # strict=False: raw newlines and tabs inside strings are common (case 50)
            data = json.loads(el.text.strip().rstrip(";"), strict=False)
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        for item in stack:
            if isinstance(item, dict):
                found.append(item)
                found.extend(g for g in item.get("@graph") or [] if isinstance(g, dict))
    return found


def _canonical(doc: etree._Element, tags: dict[str, str], base: str | None) -> str | None:
    """rel=canonical, else og:url, made absolute against the final URL and normalised.
    A site-root candidate gives way to the other one when that names a page."""
    candidates = [el.get("href") for el in doc.iter("link")
                  if "canonical" in (el.get("rel") or "").lower().split()][:1] + [tags.get("og:url")]
    resolved = [normalize_url(u) for u in (absolute_url(c, base) for c in candidates) if u]
    pages = [u for u in resolved if re.sub(r"^[a-z]+://[^/]+", "", u) not in ("", "/")]
    return (pages or resolved or [None])[0]


def _links(doc: etree._Element, base: str | None) -> list[str]:
    seen: dict[str, None] = {}
    for el in doc.iter("a", "area"):
        resolved = absolute_url(el.get("href"), base)
        if resolved:
            seen.setdefault(resolved.split("#")[0], None)
    return list(seen)


def _title(meta: _Meta, headings: list[str]) -> str:
    """The article title, not the site name: an ``<h1>``/``og:title``/JSON-LD headline
    found inside ``<title>`` wins; else ``<title>`` cut at its first site separator."""
    raw = meta.raw_title
    named = [_squash(str(h)) for h in (*headings[:3], meta.tags.get("og:title"), meta.jsonld_value("headline")) if h]
    inside = [h for h in named if len(h) >= 4 and h in raw]
    if inside:
        return max(inside, key=len)
    parts = [p for p in _SITE_SEPARATORS.split(raw) if p.strip()]
    if parts:
        longest = max(parts, key=len)
        return parts[0] if len(parts[0]) * 2 >= len(longest) else longest
    return named[0] if named else ""


def _refuse_placeholder(raw_title: str, text: str, walked: _blocks.Walk) -> None:
    """A WAF challenge or outage placeholder: little visible text, a challenge marker."""
    if len(text) >= 200 or walked.visible_chars >= 600:
        return
    if _BLOCKED.search(raw_title) or _BLOCKED.search(" ".join(walked.all_text()[:20])):
        raise ExtractError(Outcome.BLOCKED_PAGE, f"challenge or placeholder page ({raw_title or 'no title'!r})")


_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")
_SENTENCE_ENDS = ("。", "！", "？", ".", "!", "?", "”", "\"")


def text_tokens(text: str) -> int:
    """Tokens of ``text`` as the gold scorer counts them: Latin/digit words, CJK characters."""
    return len(_TOKEN.findall(text))


#: A paragraph of at least this many tokens ending as a sentence ends is text, however short
#: the page (a one-line bulletin); fragments (a link, "Loading...", a menu) are not.
MIN_SENTENCE_TOKENS = 3


def require_text(page: Page, min_tokens: int = MIN_TEXT_TOKENS) -> Page:
    """``page`` unchanged when its main text has at least ``min_tokens`` tokens (see
    ``MIN_TEXT_TOKENS``) or holds one whole sentence (``MIN_SENTENCE_TOKENS`` tokens and a
    terminal 。！？.!?); else raises ``ExtractError`` with outcome ``no_text``. The
    pipeline, ``reprocess --extract`` and ``hubwatch extract`` call it after ``parse_page``."""
    tokens = text_tokens(page.text)
    if tokens < min_tokens and not any(
            text_tokens(p) >= MIN_SENTENCE_TOKENS and p.rstrip().endswith(_SENTENCE_ENDS) and "://" not in p
            for p in page.text.split("\n\n")):
        raise ExtractError(Outcome.NO_TEXT, f"main text of {tokens} tokens, under the {min_tokens}-token threshold")
    return page


_DATE_KEYS = ("article:published_time", "firstpublishedtime", "og:article:published_time", "published_time", "pubdate", "publishdate",
              "publish-date", "publish_date", "datepublished", "dc.date.issued", "dc.date", "dc.date.created",
              "sailthru.date", "parsely-pub-date", "weibo:article:create_at", "og:release_date",
              "firstpublishedtime", "date")


def _published(meta: _Meta, walked: _blocks.Walk, url: str | None, fetched_at: datetime, tz: str) -> tuple[datetime, str] | None:
    """Publication time in the site zone: JSON-LD, ``<meta>`` and ``itemprop``/``<time
    pubdate>`` first; then a visible byline near the title (refining an explicit value
    of the same day); then the URL's date, which also overrules a byline from another
    day (captions and teasers carry dates too); a byline alone comes last."""
    def parse(value: object) -> tuple[datetime, str] | None:
        return parse_date(value, base=fetched_at, tz=tz) if isinstance(value, str) else None

    explicit = parse(meta.jsonld_value("datePublished", "dateCreated"))
    tags = {**meta.tags, "firstpublishedtime": gov_meta_time(meta.tags.get("firstpublishedtime"))}
    for value in (*(tags.get(key) for key in _DATE_KEYS), *meta.time_values):
        explicit = explicit or parse(value)
    # An absolute date anywhere in the byline area beats a relative phrase ("7小时前")
    # that comes first; relative phrases count only when no absolute date is there.
    dated = walked.dated_text()
    visible = next((d for d in (parse_date(t, base=fetched_at, tz=tz, relative=False) for t in dated) if d), None)
    visible = visible or next((d for d in map(parse, dated) if d), None)
    in_url = date_from_url(url, base=fetched_at, tz=tz)
    if explicit:
        same_day = visible and visible[0].date() == explicit[0].date()
        found = visible if same_day and _finer(visible, explicit) else explicit
    elif visible and in_url and not _agree(visible, in_url):
        found = in_url
    else:
        found = visible or in_url
    return (found[0].astimezone(ZoneInfo(tz)), found[1]) if found else None


def _agree(visible: tuple[datetime, str], in_url: tuple[datetime, str]) -> bool:
    """A visible date agrees with the URL's at the URL's precision: a month-only URL
    (``/202405/``) agrees with any day of that month, and the finer visible date wins."""
    if in_url[1] == "month":
        return (visible[0].year, visible[0].month) == (in_url[0].year, in_url[0].month)
    return visible[0].date() == in_url[0].date()


def _finer(a: tuple[datetime, str], b: tuple[datetime, str]) -> bool:
    return PRECISIONS.index(a[1]) > PRECISIONS.index(b[1])


def _author(meta: _Meta, main: list[str], walked: _blocks.Walk, doc: etree._Element) -> str | None:
    """JSON-LD author, else author markup (``itemprop="author"``, ``rel="author"``, a
    ``class`` naming an author or byline), else a byline in the text (作者：…, 记者 …, 文/…,
    By …), else ``<meta name=author>``; ids, site names and editor labels (责任编辑) are
    not authors."""
    value = meta.jsonld_value("author")
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, dict):
        value = value.get("name")
    def candidates():  # lazily, in order of trust: most pages stop at the first
        yield value if isinstance(value, str) else None
        yield from _marked_authors(doc)
        for line in walked.dated_text() + main[:3] + main[-3:]:
            match = _AUTHOR_CN.search(line) or _AUTHOR_EN.search(line)
            if match:
                yield _NOT_NAME.split(match.group(1))[0]
        yield meta.tags.get("article:author")
        yield meta.tags.get("author")
    return next((_clean_author(c) for c in candidates() if _plausible_author(_clean_author(c), meta.raw_title)), None)


_AUTHOR_MARKUP = etree.XPath(
    "//*[@itemprop='author'] | //a[contains(concat(' ', normalize-space(@rel), ' '), ' author ')]"
    " | //*[contains(@class, 'author') or contains(@class, 'byline') or contains(@class, 'writer')]")
_AUTHOR_CLASS = re.compile(r"(?:^|[\s_-])(?:author|byline|writer)(?:-?names?)?(?:$|[\s_-])", re.IGNORECASE)
_BYLINE_PREFIX = re.compile(r"^\s*(?:(?i:by)\s+|(?:作者|撰文|文|记者|作\s*者)\s*[：:/]?\s*)")


def _marked_authors(doc: etree._Element) -> list[str]:
    """Names from author markup, in document order: the ``itemprop="name"`` inside an
    ``itemprop="author"`` element, else its ``content`` or text; a ``rel="author"`` link's
    text; a short element whose class names an author/byline (not an author's biography)."""
    found = []
    for el in _AUTHOR_MARKUP(doc)[:20]:
        if el.get("itemprop") != "author" and el.tag != "a" and not _AUTHOR_CLASS.search(el.get("class") or ""):
            continue
        named = next((n for n in el.iter() if n.get("itemprop") == "name"), None)
        source = named if named is not None else el
        text = source.get("content") or " ".join("".join(source.itertext()).split())
        if 1 < len(text) <= 80:
            found.append(text)
    return found


def _clean_author(name: str | None) -> str | None:
    """A byline without its label (By, 作者：, 记者) and trailing separators."""
    if not name:
        return None
    name = _BYLINE_PREFIX.sub("", " ".join(name.split()))
    return _NOT_NAME.split(name)[0].strip(" |,，、:：/") or None


def _plausible_author(name: str | None, raw_title: str) -> bool:
    name = (name or "").strip()
    return (1 < len(name) <= 60 and not name.startswith("http") and not name.isdigit()
            and not _NOT_NAME.search(name) and not re.search(r"[，。！？—]", name) and name not in raw_title)


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_LATIN = re.compile(r"[A-Za-z]")


def _language(declared: str | None, text: str) -> str | None:
    """The page's ``lang`` primary subtag when the text agrees with it, else the
    language the script of the text says (Han -> zh, kana -> ja, Hangul -> ko,
    Latin -> en): character counts decide, so an English page quoting Chinese stays en."""
    lang = (declared or "").strip().lower().replace("_", "-").split("-")[0] or None
    sample = text[:5000]
    han, kana, hangul = len(_HAN.findall(sample)), len(_KANA.findall(sample)), len(_HANGUL.findall(sample))
    latin = len(_LATIN.findall(sample))
    if han + kana + hangul + latin < 20:
        return lang
    if kana * 20 > han + kana:
        guess = "ja"
    elif hangul > han:
        guess = "ko"
    elif (han + hangul) > latin * 0.5:
        guess = "zh"
    else:
        return lang if lang and lang not in ("zh", "ja", "ko") else "en"
    return guess if lang != guess else lang
