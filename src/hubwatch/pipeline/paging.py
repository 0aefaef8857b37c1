"""Multi-page articles in the pipeline: fetch the article's other pages and stitch them.

A page whose pager (``hubwatch.text.pager``) names other pages of the same article has them
fetched with the same bound fetch (allowed hosts, politeness delay, robots), at most
``MAX_ARTICLE_PAGES`` in all; their main texts are joined in page order (paragraphs, so
mention offsets index the stitched text) and the first page gives the title, date, author
and canonical URL. Fetching happens before the storing transaction opens.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from hubwatch.crawl.fetch import FetchResult
from hubwatch.outcomes import Outcome
from hubwatch.text.extract import ExtractError, Page, parse_page
from hubwatch.text.pager import MAX_ARTICLE_PAGES, numbered


@dataclass
class Article:
    """One article's pages that were fetched and parsed, in page order (a single page
    when it has no pager), and the URL of its first page (fetched or not)."""

    pages: list[tuple[int, FetchResult, Page]]
    first_url: str

    @property
    def paged(self) -> bool:
        return len(self.pages) > 1 or self.pages[0][0] != 1

    def urls(self) -> list[str]:
        """Every URL the article's pages were fetched under or passed through."""
        return [self.first_url, *(u for _, r, _ in self.pages for u in (r.url, r.final_url, *r.redirects))]

    def first(self) -> tuple[FetchResult, Page]:
        return self.pages[0][1], self.pages[0][2]

    def stitched(self) -> Page:
        """The first page's metadata with the texts of all pages, in order."""
        _, page = self.first()
        text = "\n\n".join(p.text for _, _, p in self.pages if p.text)
        return dataclasses.replace(page, text=text) if self.paged else page


def parse(res: FetchResult, tz: str) -> Page:
    """``parse_page`` on a fetch result (raises ``ExtractError``)."""
    return parse_page(res.body, url=res.final_url, content_type=res.headers.get("content-type"),
                      fetched_at=res.fetched_at, site_timezone=tz)


def collect(res: FetchResult, tz: str, fetch: Callable[..., FetchResult],
            limit: int = MAX_ARTICLE_PAGES, *,
            parse: Callable[[FetchResult, str], Page] = parse) -> Article | None:
    """The article ``res`` belongs to: ``res`` parsed, plus its other pages fetched with
    ``fetch(url, expect="page")`` when its pager names any. None when ``res`` is not an
    ``ok`` fetch or does not parse (the caller records why). ``parse``: how a page is
    parsed (the pipeline passes its bounded parse workers)."""
    if res.outcome != Outcome.OK:
        return None
    try:
        page = parse(res, tz)
    except ExtractError:
        return None
    own, others = numbered(res.final_url, page.pager_links)
    pages = {own: (res, page)}
    for number, url in others[:limit - 1]:
        other = fetch(url, expect="page")
        if other.outcome != Outcome.OK:
            continue
        try:
            pages[number] = (other, parse(other, tz))
        except ExtractError:
            continue
    first_url = next((u for n, u in others if n == 1), res.final_url if own == 1 else res.final_url)
    return Article([(n, *pages[n]) for n in sorted(pages)], first_url)
