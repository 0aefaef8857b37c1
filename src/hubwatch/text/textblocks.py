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
    "paywall consent onetrust gdpr ot-sdk\\w* author-?info "
    # pinyin initials used by Chinese portals: related news/reading, recommended, share, contact, editor
    "xgxw xgyd xgwz tjyd rmtj rdtj erweima ewm fenxiang bdshare lianxi zbj bianji"
)
_NEGATIVE = re.compile(r"(?:^|[\s_-])(?:" + "|".join(_NEGATIVE_WORDS.split()) + r")(?:$|[\s_\d-])"
                       r"|sidebar|navbar|footer|breadcrumb|recommend|related|comment(?!ary)|bdshare|share-?box", re.IGNORECASE)
_POSITIVE = re.compile(r"article|content|main|post|entry|story|detail|zhengwen|trs_editor|"
                       r"rich_media|artibody|endtext|post_body|conent", re.IGNORECASE)
_DATE_HINT = re.compile(r"date|time|pub|info|source|byline|meta|laiyuan|author|(?:^|[_-])(?:ly|sj|fbsj)(?:$|[_-])", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none", re.IGNORECASE)  # not visibility: WeChat reveals articles by script
_CJK = "\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef"
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])[ \t\r\f]*\n\s*(?=[{_CJK}])")
# Short furniture lines that sit inside article containers: editor, source, share, print.
_META_LINE = re.compile(r"^[（(【\[]?\s*(?:记者[\s：:]|责任编辑|编辑|作者|责编|来源|稿源|发布于|发布时间|时间|字号|分享到|分享|打印|关闭窗口|"
                        r"纠错|扫一扫|返回\S{0,6}首页|本文来源|原文链接|标签|关键词|tags?\b|share\b|print\b)", re.IGNORECASE)
_BYLINE = re.compile(r"^(?:Written |Reported |Posted )?[Bb]y\s+[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+)*(?:,|\s+and\s|$)")
_DATELINE = re.compile(r"^[\s\d:：/.年月日-]{6,}\S{0,12}$")
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

@dataclass
class Block:
    """One run of text between block boundaries, with its content ``value``: positive
    for article prose, negative for furniture (computed once, in ``__post_init__``)."""

    text: str
    link_chars: int
    negative: bool
    heading: str | None
    date_hint: bool
    punctuated: bool = field(init=False)
    value: float = field(init=False)

    def __post_init__(self) -> None:
        size = len(self.text)
        self.punctuated = bool(_SENTENCE.search(self.text))
        if self.negative:  # capped: one long donation appeal must not sink the article around it
            self.value = -min(size, NEGATIVE_CAP) - 10.0
            return
        value = size - 2.5 * self.link_chars
        if not self.punctuated and size < 60:  # labels, menu entries, short headlines
            value -= PENALTY_SHORT
        self.value = value - PENALTY_BLOCK


@dataclass
class Walk:
    """All blocks of a document and the block range ``[start, end)`` of each element."""

    blocks: list[Block] = field(default_factory=list)
    ranges: list[tuple[int, int, bool]] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    near_main: list[str] = field(default_factory=list)  # set by main_text: short blocks at its top

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


class _Walker:
    """One recursive pass over the body, collecting blocks and element ranges."""

    def __init__(self) -> None:
        self.walk = Walk()
        self.parts: list[str] = []
        self.link = self.neg = 0
        self.owner: list[tuple[str | None, bool]] = [(None, False)]
        self.starts: list[int] = []

    def add(self, text: str, in_link: bool, neg: bool) -> None:
        self.parts.append(text)
        if in_link or neg:
            size = len(text.strip())
            self.link += size if in_link else 0
            self.neg += size if neg else 0

    def flush(self) -> None:
        if not self.parts:
            return
        raw = "".join(self.parts)
        self.parts = []
        if "\n" in raw:
            raw = _CJK_BREAK.sub("", raw)
        text = _SPACES.sub(" ", raw).strip(_EDGE_SPACE)
        link, neg, self.link, self.neg = self.link, self.neg, 0, 0
        if text:
            heading, hinted = self.owner[-1]
            self.walk.blocks.append(Block(text, min(link, len(text)), neg * 2 > len(text), heading, hinted))

    def visit(self, el: etree._Element, neg: bool, in_link: bool, hinted: bool) -> None:
        tag = el.tag
        if tag in _SKIP or not isinstance(tag, str):
            return
        attrib = el.attrib
        if attrib:
            if "hidden" in attrib or _hidden_style(attrib.get("style")):
                return
            own_neg, own_hint = _classify(tag, attrib.get("class"), attrib.get("id"))
            neg, hinted = neg or own_neg, hinted or own_hint
        neg = neg or tag in _BOILERPLATE_TAGS
        in_link = in_link or tag == "a"
        block = tag not in _INLINE
        if block:
            self._open(tag, hinted)
        elif tag == "br":
            self.flush()
        if el.text:
            self.add(el.text, in_link, neg)
        for child in el:
            self.visit(child, neg, in_link, hinted)
            if child.tail:
                self.add(child.tail, in_link, neg)
        if block:
            self._close(tag, neg)

    def _open(self, tag: str, hinted: bool) -> None:
        self.flush()
        self.owner.append((tag if tag in _HEADINGS else None, hinted))
        self.starts.append(len(self.walk.blocks))

    def _close(self, tag: str, neg: bool) -> None:
        self.flush()
        self.owner.pop()
        start = self.starts.pop()
        if tag == "h1":
            self.walk.headings.extend(b.text for b in self.walk.blocks[start:])
        if len(self.walk.blocks) > start:
            self.walk.ranges.append((start, len(self.walk.blocks), neg))


_HEADINGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))


@lru_cache(maxsize=4096)
def _classify(tag: str, cls: str | None, ident: str | None) -> tuple[bool, bool]:
    """(boilerplate container?, date/byline container?) from class and id (cached:
    portals repeat the same few class names thousands of times)."""
    tokens = f"{cls or ''} {ident or ''}".split()
    if not tokens:
        return False, False
    hinted = any(_DATE_HINT.search(t) for t in tokens)
    if tag in ("body", "html"):
        return False, hinted
    negative = [bool(_NEGATIVE.search(t)) for t in tokens]
    # A container named both ways ("article-content side-left") is content, unless the
    # content word itself sits in a boilerplate name ("support-box__content").
    named_content = any(_POSITIVE.search(t) and not neg for t, neg in zip(tokens, negative))
    return any(negative) and not named_content, hinted


def _hidden_style(style: str | None) -> bool:
    return bool(style and _HIDDEN_STYLE.search(style))


def walk(doc: etree._Element) -> Walk:
    """Blocks of ``doc``'s body (the whole document when it has no ``<body>``)."""
    walker = _Walker()
    body = doc.find("body")
    walker.visit(body if body is not None else doc, False, False, False)
    walker.flush()
    return walker.walk


def _prefix_sums(values: list[float]) -> list[float]:
    sums = [0.0]
    for value in values:
        sums.append(sums[-1] + value)
    return sums


def _best_range(w: Walk) -> tuple[int, int]:
    """The block range of the highest-valued element, widened on either side by any
    run of blocks whose values sum positive (an article split around an inline ad,
    or whose container also holds a tag list, loses nothing). Widening counts
    unpunctuated blocks at half value: a run of headlines next to the article (a
    video playlist, a teaser list) is not prose."""
    prefix = _prefix_sums([b.value for b in w.blocks])
    best, (start, end) = float("-inf"), (0, len(w.blocks))
    for first, last, neg in w.ranges:
        if not neg and prefix[last] - prefix[first] > best:
            best, (start, end) = prefix[last] - prefix[first], (first, last)
    wide = _prefix_sums([b.value * (1.0 if b.value <= 0 or b.punctuated else WIDEN_UNPUNCTUATED)
                         for b in w.blocks])
    left = max(range(start + 1), key=lambda i: (wide[start] - wide[i], i))
    right = max(range(end, len(w.blocks) + 1), key=lambda j: (wide[j] - wide[end], -j))
    return left, right


def _keep(block: Block, title: str) -> bool:
    if block.negative or block.text == title or block.heading == "h1":
        return False  # h1 is the headline (stored as the title), whatever its wording
    size = len(block.text)
    if size <= 40 and (_META_LINE.search(block.text) or _DATELINE.search(block.text) or _BYLINE.search(block.text)):
        return False
    return block.link_chars * 2 <= size or (size > 120 and block.link_chars * 3 <= size * 2)


def main_text(w: Walk, title: str) -> tuple[list[str], list[str]]:
    """(main-text paragraphs, boilerplate blocks) of a walked document. Blocks equal
    to the title are left out (the title is stored apart)."""
    start, end = _best_range(w)
    main, boilerplate = [], []
    for i, block in enumerate(w.blocks):
        if start <= i < end and _keep(block, title):
            main.append(block.text)
        elif block.text != title:
            boilerplate.append(block.text)
    w.near_main = [b.text for b in w.blocks[max(0, start - 8):start + 2] if len(b.text) < 200]
    return main, boilerplate
