"""The official-document record (公文要素) of a policy page: who issued it, under which
number, written and published when, filed under which topic.

Government portals show these fields in a *metadata block* above the body. The
templates read here:

- label/value cells: the gov.cn policy library's table (``<td>发文机关：</td><td>…</td>``)
  and the same block repeated as a mobile list (``<li><span>label</span><span>value``);
- bracketed label lines separated by ``<br>``: ``【发布单位】…【发布文号】…【发文日期】…``;
- the TRS and Hanweb CMS line ``发布日期：… 信息来源：…`` (or ``日期：… 来源：…``);
- ``<meta>`` tags ``firstpublishedtime`` (gov.cn), ``PubDate`` and ``ContentSource``
  (TRS/Hanweb), which only fill in the publication date and the source organ of a
  record found in the body: a page without any block has no record.

``read_policy`` returns the record and the block's elements; the extractor removes
those from the tree before it looks for the main text, so the labels never reach it.
Values are normalised so that one document reposted on several portals groups
together: document numbers as ``国发〔2025〕12号`` (NFKC, ASCII digits, 〔〕 around
the year, no spaces), dates as Asia/Shanghai calendar dates.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from zoneinfo import ZoneInfo

from lxml import etree

#: Label (whitespace removed, colon and brackets stripped) -> record field. From the
#: gov.cn policy library, the 国务院文件 template, and provincial TRS/Hanweb portals.
LABELS = {
    **dict.fromkeys(("发文机关", "发布机关", "发文单位", "发布单位", "发布机构", "制发机关", "颁布机关",
                     "发文机构"), "issuing_bodies"),
    **dict.fromkeys(("发文字号", "发布文号", "文号", "发文文号", "文件编号"), "document_number"),
    **dict.fromkeys(("来源", "信息来源", "文章来源", "来源单位"), "source_organ"),
    **dict.fromkeys(("成文日期", "发文日期", "印发日期", "签发日期"), "written_on"),
    **dict.fromkeys(("发布日期", "发布时间", "公开日期", "公布日期", "日期", "时间"), "published_on"),
    **dict.fromkeys(("主题分类", "信息分类", "分类", "主题"), "topic"),
    **dict.fromkeys(("公文种类", "文种", "文件类型"), "document_type"),
    **dict.fromkeys(("索引号",), "index_number"),
    **dict.fromkeys(("有效性", "时效性", "效力状态", "是否有效", "有效状态"), "validity"),
    **dict.fromkeys(("标题", "名称", "文件名称"), "title"),
}
#: Labels too generic to make a block on their own (a news byline has 日期 and 来源).
_WEAK = frozenset({"来源", "信息来源", "文章来源", "来源单位", "日期", "时间", "发布日期", "发布时间",
                   "标题", "名称", "分类", "主题"})
FIELDS = ("issuing_bodies", "document_number", "source_organ", "document_type", "topic",
          "written_on", "published_on", "index_number", "validity")

_SPACE = re.compile(r"[\s\u00a0\u2000-\u200b\u3000\ufeff]+")
_LABEL_ANY = "|".join(sorted(map(re.escape, LABELS), key=len, reverse=True))
# A labelled segment in a line: 【label】 or label： (a colon, full or half width).
_SEGMENT = re.compile(rf"【\s*({_LABEL_ANY})\s*】|(?<![\u4e00-\u9fff])({_LABEL_ANY})\s*[：:]")
# Any short Chinese label with a colon ends the value before it (浏览次数：, 字号：).
_ANY_LABEL = re.compile(r"【[^】\n]{1,8}】|[\u4e00-\u9fff]{2,6}\s*[：:]")
# Substrings one of which every block's text holds: Chinese labels end in a full-width
# colon or sit in 【】; th-cell labels without a colon start with these words.
_GATE = ("：", "【", "发文", "文号", "索引号", "发布", "成文", "公文", "有效性")


def _may_hold_block(text: str) -> bool:
    """Could the page hold a block at all. Substring tests only: they run in C over even
    a page carrying megabytes of script."""
    return any(piece in text for piece in _GATE)


_DATE = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})")
_YEAR_BRACKETS = re.compile(r"[\[(（【〖﹝〔［{<《]\s*(\d{4})\s*[\])）】〗﹞〕］}>》]")
_BODY_SPLIT = re.compile(r"[\u2002\u2003\u3000\s,，;；、]+")
_TOPIC_SPLIT = re.compile(r"\s*[\\＼>]\s*")
_NONE_VALUES = frozenset({"", "无", "-", "—", "/", "暂无"})
_MARKED = re.compile(r"[：:】]$|^【")
_CONTAINERS = ("table", "ul", "ol", "dl")
_LINE_MAX = 300  # chars: a label line longer than this is body text quoting a label
_CELL_MAX = 12  # chars: a label cell holds the label and nothing else


@dataclass
class PolicyRecord:
    """The fields of a page's official-document block (None or [] where not given).

    ``issuing_bodies``: 发文机关, one item per body; ``document_number``: 发文字号,
    normalised (see ``normalise_number``); ``source_organ``: 来源; ``document_type``:
    公文种类 (通知, 意见, ...); ``topic``: 主题分类, one item per level;
    ``written_on``/``published_on``: 成文日期/发布日期 as Asia/Shanghai dates;
    ``index_number``: 索引号; ``validity``: 有效性 as written (有效, 失效, ...).
    """

    issuing_bodies: list[str] = field(default_factory=list)
    document_number: str | None = None
    source_organ: str | None = None
    document_type: str | None = None
    topic: list[str] = field(default_factory=list)
    written_on: dt.date | None = None
    published_on: dt.date | None = None
    index_number: str | None = None
    validity: str | None = None

    def as_dict(self) -> dict:
        """The record with the view's keys in its column order; dates as ISO strings."""
        out = asdict(self)
        for key in ("written_on", "published_on"):
            out[key] = out[key].isoformat() if out[key] else None
        return {key: out[key] for key in FIELDS}

    def fingerprint(self) -> str:
        """A stable text of the record, folded into the version hash (a block can change
        while the body does not)."""
        return "\x1f".join(str(v) for v in self.as_dict().values())


def normalise_number(value: str | None) -> str | None:
    """发文字号 in one form: NFKC (full-width digits and brackets to ASCII), spaces
    removed, the year between 〔〕 whatever brackets the portal used, so 国发[2025]12号,
    国发（2025）12号 and 国发〔２０２５〕１２号 all read 国发〔2025〕12号. Empty -> None."""
    if value is None:
        return None
    text = _SPACE.sub("", unicodedata.normalize("NFKC", value))
    if text in _NONE_VALUES:
        return None
    return _YEAR_BRACKETS.sub(r"〔\1〕", text)


def parse_day(value: str | None, tz: str = "Asia/Shanghai") -> dt.date | None:
    """A calendar date in ``tz`` from ``2026年09月25日``, ``2026-09-25``,
    ``2026-09-28-21:50:00`` (gov.cn meta) or an ISO time with an offset (converted to
    ``tz``). None when no valid date is found."""
    if not value:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        if stamp.tzinfo is not None:
            return stamp.astimezone(ZoneInfo(tz)).date()
    except ValueError:
        pass
    match = _DATE.search(text)
    if not match:
        return None
    try:
        return dt.date(*map(int, match.groups()))
    except ValueError:
        return None


_GOV_META_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})-(\d{2}:\d{2}(?::\d{2})?)$")


def gov_meta_time(value: str | None) -> str | None:
    """gov.cn's ``firstpublishedtime`` (``2026-09-28-21:50:00``, Beijing time) as
    ``2026-09-28 21:50:00``: read as is, the hyphen before the time looks like a UTC
    offset of -21:50."""
    if not value:
        return value
    return _GOV_META_TIME.sub(r"\1 \2", value.strip())


def _norm_label(text: str) -> str:
    return _SPACE.sub("", text).strip("：:【】[]").strip()


class _TooLong(Exception):
    pass


def _text(el: etree._Element, limit: int | None = None) -> str:
    """The element's text with ``<br>`` and block children as line breaks; None-free.
    With ``limit``: raises ``_TooLong`` as soon as the text passes ``limit`` characters
    (a page's large containers are never read whole)."""
    parts: list[str] = []
    size = 0

    def add(piece: str | None) -> None:
        nonlocal size
        if piece:
            parts.append(piece)
            size += len(piece)
            if limit is not None and size > limit:
                raise _TooLong

    def walk(node: etree._Element) -> None:
        add(node.text)
        for child in node:
            if not isinstance(child.tag, str):
                add(child.tail)
                continue
            if child.tag in ("br", "p", "div", "li", "tr"):
                add("\n")
            if child.tag not in ("script", "style"):
                walk(child)
            add(child.tail)

    walk(el)
    return "".join(parts)


def _short_text(el: etree._Element, limit: int) -> str | None:
    """The element's plain text, or None when it is longer than ``limit`` characters."""
    parts, size = [], 0
    for piece in el.itertext():
        parts.append(piece)
        size += len(piece)
        if size > limit:
            return None
    return "".join(parts)


@dataclass
class _Found:
    values: dict[str, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    elements: list[etree._Element] = field(default_factory=list)

    def put(self, label: str, value: str) -> None:
        self.labels.append(label)
        name = LABELS[label]
        value = value.strip()
        if value and not self.values.get(name):
            self.values[name] = value


def read_policy(doc: etree._Element, tz: str = "Asia/Shanghai"
                ) -> tuple[PolicyRecord | None, list[etree._Element]]:
    """The page's official-document record and the block elements holding it.

    ``doc``: the parsed page (lxml). Returns ``(None, [])`` when the body shows no block
    (at least two labelled fields, one of them beyond a byline's date and source; or a
    label/value table). Never raises.
    """
    body = doc.find(".//body")
    if body is None:
        body = doc
    # One pass in C over the page's text first: most pages name no label at all.
    if not _may_hold_block(etree.tostring(body, method="text", encoding=str)):
        return None, []
    found = _Found()
    marked = _marked_elements(body)
    _read_cells(body, marked, found)
    _read_lines(body, marked, found)
    if not found.labels or all(label in _WEAK for label in found.labels) and len(found.labels) < 2:
        return None, []
    meta = _meta(doc)
    values = found.values
    record = PolicyRecord(
        issuing_bodies=[b for b in _BODY_SPLIT.split(values.get("issuing_bodies", "")) if b],
        document_number=normalise_number(values.get("document_number")),
        source_organ=_clean(values.get("source_organ")) or _clean(meta.get("contentsource")),
        document_type=_clean(values.get("document_type")),
        topic=[t for t in _TOPIC_SPLIT.split(_clean(values.get("topic")) or "") if t],
        written_on=parse_day(values.get("written_on"), tz),
        published_on=(parse_day(values.get("published_on"), tz)
                      or parse_day(gov_meta_time(meta.get("firstpublishedtime")), tz)
                      or parse_day(meta.get("pubdate"), tz)),
        index_number=normalise_number(values.get("index_number")),
        validity=_clean(values.get("validity")))
    return record, found.elements


def _clean(value: str | None) -> str | None:
    value = " ".join((value or "").split())
    return None if value in _NONE_VALUES else value


def _meta(doc: etree._Element) -> dict[str, str]:
    tags: dict[str, str] = {}
    for el in doc.iter("meta"):
        key = (el.get("name") or "").strip().lower()
        if key and el.get("content") and key not in tags:
            tags[key] = el.get("content").strip()
    return tags


# Only text that could hold a label is looked at: a colon, a closing 【】 bracket, or a
# th/dt cell (labels without a colon); the elements above those few text nodes are few.
_MARK = re.compile(r"[\u4e00-\u9fff]\s*[：:]|】")  # a Chinese label's colon, or a closing 】
_COLONS = re.compile(r"[：:】]")
_SKIP_TEXT = frozenset({"script", "style", "noscript", "template"})
_CELL_TAGS = frozenset({"td", "th", "span", "li", "dt", "dd", "b", "strong", "label", "em", "div", "p", "font"})
_LINE_TAGS = frozenset({"p", "div", "span", "td", "li", "section", "font"})


def _marked_elements(body: etree._Element) -> list[etree._Element]:
    """The elements holding marked text (their own text, or a child's tail), in document
    order, each once."""
    seen: dict[etree._Element, None] = {}
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        if el.text and el.tag not in _SKIP_TEXT and (el.tag in ("th", "dt") or _MARK.search(el.text)):
            seen.setdefault(el, None)
        parent = el.getparent()
        if el.tail and parent is not None and _MARK.search(el.tail):
            seen.setdefault(parent, None)
    return sorted(seen, key=_order(body)) if seen else []


def _order(body: etree._Element):
    index = {el: i for i, el in enumerate(body.iter())}
    return lambda el: index.get(el, 0)


def _label_cell(el: etree._Element) -> tuple[etree._Element, str] | None:
    """The innermost element at or above ``el`` (two levels at most) whose whole text is
    a label (with its colon, or in a th/dt), and that label."""
    for candidate in (el, el.getparent(), el.getparent().getparent() if el.getparent() is not None else None):
        if candidate is None or candidate.tag not in _CELL_TAGS:
            continue
        raw = _short_text(candidate, 40)
        if raw is None:
            return None
        label = _norm_label(raw)
        if label in LABELS and len(label) <= _CELL_MAX and (
                candidate.tag in ("th", "dt") or _MARKED.search(raw.strip())):
            return candidate, label
    return None


def _read_cells(body: etree._Element, marked: list[etree._Element], found: _Found) -> None:
    """Label/value cells: an element whose whole text is a label, its value in the next
    sibling element. The enclosing table/list is the block when it holds little else."""
    groups: dict[etree._Element, list[tuple[etree._Element, etree._Element | None, str]]] = {}
    cells: dict[etree._Element, str] = {}
    for el in marked:
        hit = _label_cell(el)
        if hit is not None:
            cells.setdefault(*hit)
    for el, label in cells.items():
        value_el = el.getnext()
        container = next((a for a in el.iterancestors() if a.tag in _CONTAINERS), el.getparent())
        groups.setdefault(container, []).append((el, value_el, label))
    for container, members in groups.items():
        if len(members) < 2:
            continue
        covered = 0
        for el, value_el, label in members:
            value = "".join(value_el.itertext()) if value_el is not None else (el.tail or "")
            found.put(label, value)
            covered += len(_SPACE.sub("", "".join(el.itertext()) + value))
        whole = len(_SPACE.sub("", "".join(container.itertext())))
        if whole <= covered * 2 + 100:  # a layout table around the whole page stays
            found.elements.append(container)
        else:
            found.elements.extend(x for el, value_el, _ in members for x in (el, value_el) if x is not None)


def _read_lines(body: etree._Element, marked: list[etree._Element], found: _Found) -> None:
    """Label lines (``【发布单位】…<br>【发布文号】…``, ``发布日期：… 信息来源：…``):
    the smallest element whose short text holds two labelled segments or more."""
    taken = set(found.elements)
    hits: dict[etree._Element, list[tuple[str, str]]] = {}
    texts: dict[etree._Element, str] = {}
    for start in marked:
        # the element of the marked text and its short ancestors (a line's spans sit in a div)
        for el in (start, *start.iterancestors()):
            if taken and (el in taken or any(a in taken for a in el.iterancestors())):
                break
            if el.tag not in _LINE_TAGS:
                continue
            if el not in texts:
                try:
                    texts[el] = _text(el, limit=_LINE_MAX * 3)  # slack for indentation
                except _TooLong:
                    texts[el] = ""
                    break
            if len(texts[el].strip()) > _LINE_MAX or not texts[el]:
                break
            segments = _segments(texts[el])
            if len(segments) >= 2:
                hits.setdefault(el, segments)
    chosen = [el for el in hits if not any(other is not el and el in set(other.iterancestors())
                                           for other in hits)]
    for el in chosen:
        for label, value in hits[el]:
            found.put(label, value)
        found.elements.append(el)


def _segments(text: str) -> list[tuple[str, str]]:
    """(label, value) pairs of a line; text before the first label must be short."""
    if len(_COLONS.findall(text)) < 2:
        return []  # two labelled segments need two colons or brackets
    out = []
    matches = list(_SEGMENT.finditer(text))
    if not matches or len(_SPACE.sub("", text[:matches[0].start()])) > 10:
        return []
    for match in matches:
        rest = text[match.end():]
        stop = _ANY_LABEL.search(rest)
        value = rest[:stop.start()] if stop else rest
        out.append((match.group(1) or match.group(2), value.split("\n")[0]))
    return out


def drop_elements(elements: list[etree._Element]) -> None:
    """Remove the block's elements from their tree, keeping the text that follows each."""
    for el in elements:
        parent = el.getparent()
        if parent is None:
            continue
        if el.tail and el.tail.strip():
            prev = el.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + el.tail
            else:
                parent.text = (parent.text or "") + el.tail
        parent.remove(el)
