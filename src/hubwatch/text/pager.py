"""Multi-page articles: the links of an article's own pager, and the order of its pages.

Chinese state media and portals split long articles into pages: ``content_123_2.htm``,
``c1004-40232587-2.html``, ``index_1.htm``, ``?page=2``, reached by numbered links and
"下一页". A link is one of the article's pages when both hold:

- its URL is a page variant of this page's URL (same host and path once the page suffix
  is taken off: ``_N``/``-N`` before the extension, ``index_N`` for ``index``, a ``page``/
  ``p``/``pg`` query parameter), and
- it looks like a pager entry: its text is a page number or a next/previous/first/last
  word, or it sits in an element whose class/id names a pager.

So a listing's pager (``/news/index_2.html``) or a link to another article
(``article-13.html`` next to ``article-12.html``) is never taken for a page of this one.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from lxml import etree

from hubwatch.crawl.urls import absolute_url

#: Most pages of one article followed (the first included).
MAX_ARTICLE_PAGES = 20

_SUFFIX = re.compile(r"^(?P<stem>.+?)(?:[_-](?P<n>\d{1,2}))?(?P<ext>\.(?:s?html?|htm|shtml|jsp|php|aspx?))$", re.IGNORECASE)
_INDEX = re.compile(r"^(?P<dir>.*/)index(?:_(?P<n>\d{1,3}))?(?P<ext>\.s?html?)$", re.IGNORECASE)
_PAGE_PARAMS = ("page", "p", "pg", "pageno", "page_no", "curpage")
_PAGER_TEXT = re.compile(r"^\s*(?:\[?\s*\d{1,2}\s*\]?|下一页|上一页|下页|上页|首页|末页|尾页|第\s*\d{1,2}\s*页|"
                         r"next(?: page)?|previous(?: page)?|prev|next\s*[»›>]|[«‹<]\s*prev\w*|[»›]|[«‹])\s*$",
                         re.IGNORECASE)
_PAGER_CLASS = re.compile(r"page|pager|paging|pagination|fenye|fy\b", re.IGNORECASE)


def page_key(url: str) -> tuple[str, int]:
    """(the article's URL without its page suffix, this page's number: 1 for the first).

    ``https://x/a/content_9_3.htm`` -> (``https://x/a/content_9.htm``, 3); ``index_1.htm``
    is the second page of ``index.htm`` (the TRS/Hanweb convention); ``?page=2`` -> 2.
    """
    parts = urlsplit(url.split("#")[0])
    query = parse_qsl(parts.query, keep_blank_values=True)
    number = next((int(v) for k, v in query if k.lower() in _PAGE_PARAMS and v.isdigit()), None)
    path = parts.path
    if number is not None:
        query = [(k, v) for k, v in query if k.lower() not in _PAGE_PARAMS]
    elif (index := _INDEX.match(path)) is not None:
        number = int(index["n"]) + 1 if index["n"] else 1
        path = f"{index['dir']}index{index['ext']}"
    elif (suffix := _SUFFIX.match(path)) is not None and suffix["n"]:
        number, path = int(suffix["n"]), suffix["stem"] + suffix["ext"]
    base = urlunsplit((parts.scheme, parts.netloc.lower(), path, urlencode(query), ""))
    return base, number or 1


def pager_links(doc: etree._Element, url: str | None, base: str | None) -> list[str]:
    """URLs of the other pages of this article, in page order (see the module doc).

    ``url``: where the page was fetched; without one, nothing can be related, and the
    links that are pager entries inside a pager-named element are listed as seen.
    """
    found: dict[int, str] = {}
    if not url:
        for el in doc.iter("a"):
            href = (el.get("href") or "").strip()
            if (href and href not in found.values() and _PAGER_TEXT.match("".join(el.itertext()))
                    and _in_pager(el)):
                found[len(found) + 1] = absolute_url(href, base) if base else href
        return list(found.values())[:MAX_ARTICLE_PAGES - 1]
    own = url.split("#")[0]
    keys = (page_key(own), page_key_first(own))
    # Every page of the article names its file stem ("content_9", "story", "index") or a
    # page parameter: a substring test skips the page's other links cheaply.
    stem = _stem(keys[0][0])
    for el in doc.iter("a"):
        href = el.get("href")
        if not href or (stem not in href and "page" not in href.lower() and "p=" not in href):
            continue
        href = absolute_url(href, base)
        if not href or href.split("#")[0] == own:
            continue
        numbers = _related(own, href, keys)
        if (numbers is not None and numbers[1] not in found
                and (_PAGER_TEXT.match("".join(el.itertext())) or _in_pager(el))):
            found[numbers[1]] = href.split("#")[0]
    return [found[n] for n in sorted(found)][:MAX_ARTICLE_PAGES - 1]


def _stem(article_url: str) -> str:
    """The file name of an article's first page without its extension (``content_9``)."""
    name = urlsplit(article_url).path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] or name


def _related(url: str, href: str, keys: tuple[tuple[str, int], str] | None = None) -> tuple[int, int] | None:
    """(this page's number, the link's) when ``href`` is another page of the article at
    ``url``, else None. ``content_9.htm`` may be page 1 of itself or page 9 of
    ``content.htm``: the reading where the link's page-1 form is this URL (or this URL's
    page-1 form is the link) comes first."""
    own = url.split("#")[0]
    (own_base, own_number), own_first = keys or (page_key(own), page_key_first(own))
    link_base, link_number = page_key(href)
    if link_base == own_first:  # this is page 1, the link a later page
        return 1, link_number
    if href.split("#")[0] == own_base and own_number > 1:  # the link is page 1
        return own_number, 1
    if link_base == own_base and own_number > 1 and link_number != own_number:
        return own_number, link_number
    return None


def page_key_first(url: str) -> str:
    """``url`` read as the first page of its article (no suffix taken off)."""
    parts = urlsplit(url.split("#")[0])
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path, parts.query, ""))


def numbered(url: str, links: list[str]) -> tuple[int, list[tuple[int, str]]]:
    """(the number of the page at ``url``, [(number, url)] of ``links``, its pager links)."""
    own, others = 1, []
    for link in links:
        numbers = _related(url, link)
        if numbers is not None:
            own = numbers[0]
            others.append((numbers[1], link))
    return own, others


def _in_pager(el: etree._Element) -> bool:
    for _, ancestor in zip(range(4), el.iterancestors()):
        if _PAGER_CLASS.search(f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}"):
            return True
    return False
