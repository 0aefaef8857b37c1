"""Text blocks of an HTML body and the choice of the main-text zone.

``walk`` turns the parsed body into blocks in document order, as a browser lays
text out: block-level elements and ``<br>`` start a new block, inline elements
(``strong``, ``span``, ``a``, ...) never insert separators, so a name set in pieces
(``<b>粤港澳</b>大湾区``) stays whole. A source line break between two CJK
characters is dropped (CSS Text 3 segment-break rule for CJK) rather than
turned into a space. Scripts, styles, forms, hidden elements and image alt text
yield nothing.

``main_text`` gives every block a content value and picks the element whose
blocks sum highest: long, punctuated, link-poor text counts for it; menus, link
lists and anything under a navigation, sidebar, footer, related-links, share or
comment container counts against it. Inside that element, link lists and such
containers are still dropped and reported as boilerplate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

_INLINE = frozenset(["a", "abbr", "acronym", "b", "bdi", "bdo", "big", "blink", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins", "kbd", "label", "mark", "nobr", "q", "rp", "rt", "ruby", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "img", "wbr"])
_SKIP = frozenset(["script", "style", "noscript", "template", "iframe", "frame", "frameset", "svg", "canvas", "object", "embed", "applet", "select", "option", "button", "input", "textarea", "head", "title", "meta", "link", "map", "audio", "video", "source", "track", "math", "dialog"])
_BOILERPLATE_TAGS = frozenset({"nav", "aside", "footer", "menu"})
# Class/id words of non-content containers: whole words between - _ or digits, or
# compounds distinctive enough to match anywhere (gathered from news portals, CMS themes).
_NEGATIVE_WORDS = (
    "nav navs navbar subnav menu menus footer foot sidebar side aside sider related relate recommend "
    "recommendation comment comments reply share sharing social breadcrumb breadcrumbs crumb crumbs copyright "
    "banner ad ads advert\\w* sponsor\\w* tag tags tagcloud hot hotnews rank ranking login subscribe toolbar tool "
    "tools pager pagination page-?nav widget popup modal cookie disclaimer more top-?bar header masthead qrcode "
    "statement bottom support cta promo newsletter excerpt teaser river donate contribut\\w* membership signup "
    "paywall consent onetrust gdpr ot-sdk\\w* author-?info rail trending dialog "
    # pinyin initials used by Chinese portals: related news/reading, recommended, share, contact, editor
    "xgxw xgyd xgwz tjyd rmtj rdtj erweima ewm fenxiang bdshare lianxi zbj bianji"
)
_NEGATIVE = re.compile(r"(?:^|[\s_-])(?:" + "|".join(_NEGATIVE_WORDS.split()) + r")(?:$|[\s_\d-])"
                       r"|sidebar|navbar|footer|breadcrumb|recommend|related|comment(?!ary)|bdshare|share-?box"
                       r"|gallery|slideshow|carousel|slide-?count|playlist", re.IGNORECASE)
# Words that name furniture whatever its size (see Walk.settle): a page-wide wrapper is
# never called "comments" or "menu", while "ad", "header", "widget", "side" are common on them.
_STRONG = re.compile(r"(?:^|[\s_-])(?:nav|navs|subnav|menu|menus|footer|foot|related|relate|recommend\w*|comments?|"
                     r"reply|share|sharing|social|breadcrumbs?|crumbs?|copyright|login|subscribe|newsletter|"
                     r"modal|popup|trending|cookie|consent|onetrust|gdpr|xgxw|xgyd|xgwz|tjyd|rmtj|rdtj|fenxiang|bdshare)"
                     r"(?:$|[\s_\d-])|breadcrumb|recommend|related|comment(?!ary)|bdshare|share-?box", re.IGNORECASE)
_POSITIVE = re.compile(r"article|content|main|post|entry|story|detail|zhengwen|trs_editor|"
                       r"rich_media|artibody|endtext|post_body|conent", re.IGNORECASE)
_DATE_HINT = re.compile(r"date|time|pub|info|source|byline|meta|laiyuan|author|(?:^|[_-])(?:ly|sj|fbsj)(?:$|[_-])", re.IGNORECASE)
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_FLAG = re.compile(r"^(?:enable|disable|has|no|with|without|show|filter|use|allow)-", re.IGNORECASE)
_HIDDEN_CLASS = re.compile(r"^(?:hide|hidden|d-none|is-hidden|pc-?hide|hide-?pc|hidden-?pc|pc-?hidden|mobile-?only|"
                           r"only-?mobile|show-?mobile|mobile-?show|visible-xs|hidden-(?:lg|md|desktop))$", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.IGNORECASE)  # not visibility: WeChat reveals articles by script
_CJK = "\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t\r\f]*\n\s*(?=[{_CJK}])")
# Short furniture lines that sit inside article containers: editor, source, share, print.
_META_LINE = re.compile(r"^[（(【\[]?\s*(?:记者[\s：:]|责任编辑|编辑|作者|责编|来源|稿源|发布于|发布时间|发布日期|时间|字号|分享到|分享|打印|关闭窗口|"
                        r"纠错|扫一扫|返回\S{0,6}首页|本文来源|原文链接|标签|关键词|出所|出典|発表時間|tags?\b|share\b|print\b|"
                        # the page's own controls: font size, back to top
                        r"(?:调整)?字体(?:[：:]|大小|$)|(?:返回|回到)顶部|back to top\b)", re.IGNORECASE)
_BYLINE = re.compile(r"^(?:Written |Reported |Posted )?[Bb]y\s+[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+)*(?:,|\s+and\s|$)")
_DATE_START = r"^[\s\d:：/.年月日-]{6,}"  # a line opening with a date and/or time
_DATELINE = re.compile(_DATE_START + r"\S{0,12}$")
# A date line that goes on with the source or author ("2020-10-04 20:30 来源: 长江网").
_DATED_META = re.compile(_DATE_START + r"\s*(?:来源|稿源|作者|编辑|责任编辑|发布者|发布机构|记者)\s*[：:]")
# An English date/time line ("Updated 5:27 am CST, Wednesday, November 20, 2019"): nothing
# but these words, numbers and punctuation, with at least one number.
_DATE_WORDS = re.compile(r"\b(?:updated|published|posted|last|modified|on|at|am|pm|a\.m|p\.m|[ecmp][sd]t|gmt|utc|bst|cet|"
                         r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
                         r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon|tue|wed|thu|fri|sat|sun|"
                         r"(?:mon|tues|wednes|thurs|fri|satur|sun)day|ago|just now|(?:second|sec|minute|min|hour|hr|day|week|month|year)s?)\b\.?"
                         r"|\d+(?:st|nd|rd|th)?|[小時时]+前|分[钟鐘]前|天前|[今昨]天|年|月|日", re.IGNORECASE)
# A full date (source-and-date lines such as 「人民網日本語版」2023年8月11日 end with one).
_FULL_DATE = re.compile(r"(?:19|20)\d\d\s*(?:年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|[-/.]\d{1,2}[-/.]\d{1,2})")
# The hosting platform's own notice under user-published articles (Sohu, NetEase, 360kuai...).
_DISCLAIMER = re.compile(r"仅提供信息(?:存储|发布)(?:空间)?服务|^(?:免责)?声明[：:]")
# The publisher's appeals and disclaimers closing an article: follow us, write to us,
# subscribe, "views of the author, not necessarily of the site".
_APPEAL = re.compile(r"^(?:follow (?:us|@?[\w.]+(?: on| at)?)\b.{0,80}\b(?:twitter|facebook|instagram|x)\b|"
                     r"(?:if you would like to contribute|have a (?:news )?tip\b|get the latest\b.{0,60}\binbox|"
                     r"(?:email|contact) [\w .'-]{2,40} at \S+@|subscribe to (?:our|the)\b|sign up for (?:our|the)\b))"
                     r"|\bnot necessarily (?:reflect )?(?:those|the views?) of\b", re.IGNORECASE)
# Photo credits set apart from the caption: "Photo: Hau Dinh, AP", "(Image credit: NASA)".
_CREDIT = re.compile(r"^[(（]?\s*(?:photo|image|picture|credit|foto|source)s?(?:\s+credit)?\s*[:：]", re.IGNORECASE)
# HTML collapses ASCII white space only (and no-break space renders as one); an
# ideographic space (U+3000) inside a line is text, at a paragraph's edge indentation.
_SPACES = re.compile(r"[ \t\n\r\f\xa0]+")
_EDGE_SPACE = " \u3000\u2002\u2003\u200b\ufeff"
_SENTENCE = re.compile(r"[。，、；！？,;!?]|[a-z]\.(?:\s|$)")


#: Value taken off a short block without sentence punctuation (menu entry, label).
PENALTY_SHORT = 12.0
#: Most value a block inside a boilerplate container takes off.
NEGATIVE_CAP = 20.0
#: Share of its value an unpunctuated block brings when widening the chosen element.
WIDEN_UNPUNCTUATED = 0.5
#: Value taken off every block, so that many tiny blocks never outweigh prose.
PENALTY_BLOCK = 3.0
#: Blocks after the headline within which the article's element must start to be "under" it.
HEADLINE_REACH = 10
#: Least value an element under the headline needs to be taken as the article.
HEADLINE_MIN_VALUE = 50.0
#: How many enclosing elements up from the best one widening may reach (1: its parent).
WIDEN_LEVELS = 1
#: Share of the page's prose value above which a weakly named container is the article's wrapper.
WRAPPER_SHARE = 0.5

@dataclass
class Block:
    """One run of text between block boundaries, with its content ``value``: positive
    for article prose, negative for furniture. ``negs`` are the boilerplate-named
    containers the block sits in (ids into ``Walk.containers``); whether they count is
    settled once the whole page is walked (``Walk.settle``)."""

    text: str
    link_chars: int
    negs: tuple[int, ...]
    heading: str | None
    date_hint: bool
    punctuated: bool = field(init=False)
    raw_value: float = field(init=False)
    negative: bool = field(init=False, default=False)
    value: float = field(init=False)

    def __post_init__(self) -> None:
        size = len(self.text)
        self.punctuated = bool(_SENTENCE.search(self.text))
        value = size - 2.5 * self.link_chars
        if not self.punctuated and size < 60:  # labels, menu entries, short headlines
            value -= PENALTY_SHORT
        self.raw_value = self.value = value - PENALTY_BLOCK

    def set_negative(self, negative: bool) -> None:
        self.negative = negative
        # capped: one long donation appeal must not sink the article around it
        self.value = -min(len(self.text), NEGATIVE_CAP) - 10.0 if negative else self.raw_value


@dataclass
class Walk:
    """All blocks of a document and the block range ``[start, end)`` of each element
    (with the boilerplate-named containers the element sits in or is)."""

    blocks: list[Block] = field(default_factory=list)
    ranges: list[tuple[int, int, tuple[int, ...]]] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    near_main: list[str] = field(default_factory=list)  # set by main_text: short blocks at its top
    containers: list[bool] = field(default_factory=list)  # per boilerplate container: strong name?
    ignored: set[int] = field(default_factory=set)  # containers found to hold the article

    @property
    def visible_chars(self) -> int:
        return sum(len(b.text) for b in self.blocks)

    def all_text(self) -> list[str]:
        return [b.text for b in self.blocks]

    def dated_text(self) -> list[str]:
        """Short texts likely to carry the byline date: date/time/source-hinted blocks
        first, then the short blocks around the top of the main text."""
        hinted = [b.text for b in self.blocks if b.date_hint and len(b.text) < 200]
        return hinted + self.near_main

    def headline(self, title: str) -> int | None:
        """Index of the first ``<h1>`` block that is the page title, if any."""
        if not title:
            return None
        return next((i for i, b in enumerate(self.blocks) if b.heading == "h1" and b.text == title), None)

    def negative(self, negs: tuple[int, ...]) -> bool:
        return any(c not in self.ignored for c in negs)

    def settle(self, title: str = "") -> None:
        """Decide which boilerplate-named containers count. A container named only by a
        weak word (``ad``, ``header``, ``widget``, ``side``, ...: page builders and themes
        put these on the wrappers of whole pages) that holds most of the page's prose is
        the article's wrapper, not furniture: its name is ignored. Containers named by
        their tag (``nav``, ``aside``, ``footer``) or a strong word (comments, menus,
        related links, sharing) always count. So does a weakly named container holding
        the page's own headline (an ``<h1>`` that is the title): a page that scrolls
        into further articles holds less than half its prose in the first one."""
        headline = self.headline(title)
        titled = set(self.blocks[headline].negs) if headline is not None else set()
        prose: dict[int, float] = {}
        total = 0.0
        for block in self.blocks:
            gain = block.raw_value if block.punctuated and block.raw_value > 0 else 0.0
            total += gain
            for c in set(block.negs):
                prose[c] = prose.get(c, 0.0) + gain
        self.ignored = {c for c, amount in prose.items() if not self.containers[c] and amount > 0
                        and (amount >= WRAPPER_SHARE * total or c in titled)}
        for block in self.blocks:
            block.set_negative(self.negative(block.negs))


class _Walker:
    """One recursive pass over the body, collecting blocks and element ranges."""

    def __init__(self) -> None:
        self.walk = Walk()
        self.parts: list[str] = []
        self.link = 0
        self.neg_chars: dict[tuple[int, ...], int] = {}
        self.owner: list[tuple[str | None, bool]] = [(None, False)]
        self.starts: list[int] = []

    def add(self, text: str, in_link: bool, negs: tuple[int, ...]) -> None:
        self.parts.append(text)
        size = len(text.strip())
        if in_link:
            self.link += size
        if size:
            self.neg_chars[negs] = self.neg_chars.get(negs, 0) + size

    def flush(self) -> None:
        if not self.parts:
            return
        raw = "".join(self.parts)
        self.parts = []
        if "\n" in raw:
            raw = _CJK_BREAK.sub("", raw)
        text = _SPACES.sub(" ", raw).strip(_EDGE_SPACE)
        if text.endswith(" |"):  # a row whose last cells are empty
            text = text.rstrip(" |")
        link, self.link = self.link, 0
        chars, self.neg_chars = self.neg_chars, {}
        if text:
            heading, hinted = self.owner[-1]
            # the containers most of the block's characters sit in (inline ones included)
            negs = max(chars, key=chars.get) if chars else ()
            self.walk.blocks.append(Block(text, min(link, len(text)), negs, heading, hinted))

    def visit(self, el: etree._Element, negs: tuple[int, ...], in_link: bool, hinted: bool) -> None:
        tag = el.tag
        if tag in _SKIP or not isinstance(tag, str):
            return
        attrib = el.attrib
        named = None
        if attrib:
            if "hidden" in attrib or _hidden_style(attrib.get("style")) or _hidden_class(attrib.get("class") or ""):
                return
            named, own_hint = _classify(tag, attrib.get("class"), attrib.get("id"))
            hinted = hinted or own_hint
        if tag in _BOILERPLATE_TAGS:
            named = True
        if named is not None:
            self.walk.containers.append(named)
            negs = (*negs, len(self.walk.containers) - 1)
        # A link to the document's own attachment or section is its content, not a way out.
        in_link = in_link or (tag == "a" and not _own_link(attrib.get("href")))
        cell = tag in _CELLS
        block = tag not in _INLINE and not cell
        if block:
            self._open(tag, hinted)
        elif tag == "br":
            self.flush()
        elif cell:
            self._open_cell()
        if el.text:
            self.add(el.text, in_link, negs)
        for child in el:
            self.visit(child, negs, in_link, hinted)
            if child.tail:
                self.add(child.tail, in_link, negs)
        if block:
            self._close(tag, negs)
        elif cell:
            self._close_cell(negs)

    def _open_cell(self) -> None:
        """A table cell continues its row's block: the cells of a row read as one line,
        joined by " | " (a cell holding paragraphs, as layout tables do, still splits)."""
        if any(part.strip() for part in self.parts):
            self.parts.append(CELL_SEPARATOR)
        self.starts.append(len(self.walk.blocks))

    def _close_cell(self, negs: tuple[int, ...]) -> None:
        start = self.starts.pop()
        if len(self.walk.blocks) > start:  # a layout cell: an element of its own
            self.flush()
            self.walk.ranges.append((start, len(self.walk.blocks), negs))

    def _open(self, tag: str, hinted: bool) -> None:
        self.flush()
        self.owner.append((tag if tag in _HEADINGS else None, hinted))
        self.starts.append(len(self.walk.blocks))

    def _close(self, tag: str, negs: tuple[int, ...]) -> None:
        self.flush()
        self.owner.pop()
        start = self.starts.pop()
        if tag == "h1":
            self.walk.headings.extend(b.text for b in self.walk.blocks[start:])
        if len(self.walk.blocks) > start:
            self.walk.ranges.append((start, len(self.walk.blocks), negs))


_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))
_CELLS = frozenset(("td", "th"))
#: What joins the cells of one table row in the main text.
CELL_SEPARATOR = " | "
# Attachments (files a notice links to) and same-page anchors belong to the document.
_OWN_LINK = re.compile(r"^#|\.(?:pdf|docx?|xlsx?|pptx?|wps|et|ofd|zip|rar|7z|txt|csv)(?:[?#]|$)", re.IGNORECASE)


def _own_link(href: str | None) -> bool:
    return bool(href and _OWN_LINK.search(href.strip()))


@lru_cache(maxsize=4096)
def _classify(tag: str, cls: str | None, ident: str | None) -> tuple[bool | None, bool]:
    """(boilerplate container: None if not, else whether a strong word names it;
    date/byline container?) from class and id (cached: portals repeat the same few
    class names thousands of times)."""
    # camelCase split into words: "RightRailContainer" names a rail as "right-rail" does
    # Feature flags ("has-sidebar", "enableCommentsSection", "no-ads") say what the page
    # has, not what this element is.
    tokens = [t for t in _CAMEL.sub("-", f"{cls or ''} {ident or ''}").split() if not _FLAG.match(t)]
    if not tokens:
        return None, False
    hinted = any(_DATE_HINT.search(t) for t in tokens)
    if tag in ("body", "html"):
        return None, hinted
    negative = [bool(_NEGATIVE.search(t)) for t in tokens]
    # A container named both ways ("article-content side-left") is content, unless the
    # content word itself sits in a boilerplate name ("support-box__content").
    named_content = any(_POSITIVE.search(t) and not neg for t, neg in zip(tokens, negative))
    if not any(negative) or named_content:
        return None, hinted
    return any(_STRONG.search(t) for t, neg in zip(tokens, negative) if neg), hinted


def _hidden_style(style: str | None) -> bool:
    return bool(style and _HIDDEN_STYLE.search(style))


@lru_cache(maxsize=4096)
def _hidden_class(cls: str) -> bool:
    """Class names that hide an element on a desktop browser: ``hide``/``hidden``, and the
    mobile-only copies responsive templates keep beside the desktop one (gov.cn's
    ``pchide``, Bootstrap's ``visible-xs``/``hidden-lg``): the page's text is read once."""
    return any(_HIDDEN_CLASS.match(t) for t in cls.split())


def walk(doc: etree._Element) -> Walk:
    """Blocks of ``doc``'s body (the whole document when it has no ``<body>``)."""
    walker = _Walker()
    body = doc.find("body")
    walker.visit(body if body is not None else doc, (), False, False)
    walker.flush()
    return walker.walk


def _prefix_sums(values: list[float]) -> list[float]:
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + value)
    return sums


def _best_range(w: Walk, headline: int | None = None) -> tuple[int, int]:
    """The block range of the highest-valued element, widened on either side by any
    run of blocks whose values sum positive (an article split around an inline ad,
    or whose container also holds a tag list, loses nothing). Widening counts
    unpunctuated blocks at half value: a run of headlines next to the article (a
    video playlist, a teaser list) is not prose."""
    prefix = _prefix_sums([b.value for b in w.blocks])
    best, (start, end) = float("-inf"), (0, len(w.blocks))
    candidates = [(f, l) for f, l, negs in w.ranges if not w.negative(negs)]
    if headline is not None:
        # The article under the page's own headline: the element holding the <h1>, or one
        # starting just after it, when it carries prose (pages that scroll into more articles).
        # One article has one <h1>: an element holding another one holds another article.
        h1s = _prefix_sums([1.0 if b.heading == "h1" and b.text != w.blocks[headline].text else 0.0
                            for b in w.blocks])
        under = [(f, l) for f, l in candidates if (f <= headline < l or headline < f <= headline + HEADLINE_REACH)
                 and prefix[l] - prefix[f] >= HEADLINE_MIN_VALUE and h1s[l] == h1s[f]]
        # The page's best element is the article under the headline when it is the first
        # prose after it, inside the headline's element: that element then adds only
        # furniture around it. Without this, a wrapper of the whole page became "the article"
        # as soon as the page's total value passed HEADLINE_MIN_VALUE (one sentence more).
        # With prose in between worth an article of its own (a page scrolling into further
        # stories, the best of which is not this page's), or with the best element above
        # the headline, the headline's element stays the choice. A byline or a one-line lead
        # in between is not such prose (widening brings a lead back).
        if under:
            best_under, best_any = _highest(under, prefix), _highest(candidates, prefix)
            between = sum(b.value for b in w.blocks[headline + 1:best_any[0]] if b.punctuated and b.value > 0)
            first_prose = (best_under[0] <= best_any[0] and best_any[1] <= best_under[1]
                           and best_any[1] > headline and between < HEADLINE_MIN_VALUE)
            candidates = candidates if first_prose else [best_under]
    for first, last in candidates:
        if prefix[last] - prefix[first] > best:
            best, (start, end) = prefix[last] - prefix[first], (first, last)
    wide = _prefix_sums([b.value * (1.0 if b.value <= 0 or b.punctuated else WIDEN_UNPUNCTUATED)
                         for b in w.blocks])
    low, high = _ancestor_bounds(w, start, end, WIDEN_LEVELS)
    left = max(range(low, start + 1), key=lambda i: (wide[start] - wide[i], i))
    right = max(range(end, high + 1), key=lambda j: (wide[j] - wide[end], -j))
    return left, right


def _highest(ranges: list[tuple[int, int]], prefix: list[float]) -> tuple[int, int]:
    """The first of ``ranges`` whose blocks sum highest (``prefix``: their prefix sums)."""
    return max(ranges, key=lambda r: prefix[r[1]] - prefix[r[0]])  # max keeps the first of equals


def _ancestor_bounds(w: Walk, start: int, end: int, levels: int) -> tuple[int, int]:
    """The block range of the element ``levels`` steps above ``[start, end)`` (counting
    only elements that hold more blocks than the one below): widening stays inside the
    article's neighbourhood and never reaches a teaser list at the other end of the page."""
    around = sorted({(f, l) for f, l, _ in w.ranges if f <= start and l >= end and (f, l) != (start, end)},
                    key=lambda r: r[1] - r[0])
    if len(around) < levels:
        return 0, len(w.blocks)
    return around[levels - 1]


def _dateline(text: str) -> bool:
    if len(text) > 80 or not any(c.isdigit() for c in text):
        return False
    return not re.sub(r"[\W_]+", "", _DATE_WORDS.sub("", text))


def _keep(block: Block, title: str) -> bool:
    if block.negative or block.text == title or block.heading == "h1":
        return False  # h1 is the headline (stored as the title), whatever its wording
    size = len(block.text)
    if size <= 40 and (_META_LINE.search(block.text) or _DATELINE.search(block.text) or _BYLINE.search(block.text)
                       or _DATED_META.search(block.text)):
        return False
    if size <= 250 and _APPEAL.search(block.text):
        return False
    if size <= 80 and (_CREDIT.search(block.text) or _dateline(block.text) or _DISCLAIMER.search(block.text)
                       or (_META_LINE.search(block.text) and _FULL_DATE.search(block.text))
                       or (size <= 30 and not block.punctuated and _FULL_DATE.search(block.text[-12:]))):
        return False
    return block.link_chars * 2 <= size or (size > 120 and block.link_chars * 3 <= size * 2)


def main_text(w: Walk, title: str) -> tuple[list[str], list[str]]:
    """(main-text paragraphs, boilerplate blocks) of a walked document. Blocks equal
    to the title are left out (the title is stored apart)."""
    w.settle(title)
    start, end = _best_range(w, w.headline(title))
    main, boilerplate = [], []
    for i, block in enumerate(w.blocks):
        if start <= i < end and _keep(block, title):
            main.append(block.text)
        elif block.text != title:
            boilerplate.append(block.text)
    w.near_main = [b.text for b in w.blocks[max(0, start - 8):start + 2] if len(b.text) < 200]
    return main, boilerplate
