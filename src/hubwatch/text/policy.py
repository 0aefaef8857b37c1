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


def _text(el: etree._Element) -> str:
    """The element's text with ``<br>`` and block children as line breaks."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if not isinstance(child.tag, str):
                parts.append(child.tail or "")
                continue
            if child.tag in ("br", "p", "div", "li", "tr"):
                parts.append("\n")
            if child.tag not in ("script", "style"):
                walk(child)
            parts.append(child.tail or "")

    walk(el)
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
    found = _Found()
    _read_cells(body, found)
    _read_lines(body, found)
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


def _read_cells(body: etree._Element, found: _Found) -> None:
    """Label/value cells: an element whose whole text is a label, its value in the next
    sibling element. The enclosing table/list is the block when it holds little else."""
    groups: dict[etree._Element, list[tuple[etree._Element, etree._Element | None, str]]] = {}
    for el in body.iter("td", "th", "span", "li", "dt", "dd", "b", "strong", "label", "em", "div", "p"):
        raw = "".join(el.itertext())
        if len(raw) > 40:
            continue
        label = _norm_label(raw)
        if label not in LABELS or len(label) > _CELL_MAX:
            continue
        if el.tag not in ("th", "dt") and not _MARKED.search(raw.strip()):
            continue  # a bare word (日期) in a cell is not a label without its colon
        if any(_norm_label("".join(c.itertext())) == label for c in el.iterdescendants()
               if isinstance(c.tag, str)):
            continue  # the innermost element is the label (li > span: the span)
        value_el = el.getnext()
        container = next((a for a in el.iterancestors() if a.tag in _CONTAINERS), el.getparent())
        groups.setdefault(container, []).append((el, value_el, label))
    for container, cells in groups.items():
        if len(cells) < 2:
            continue
        covered = 0
        for el, value_el, label in cells:
            value = "".join(value_el.itertext()) if value_el is not None else (el.tail or "")
            found.put(label, value)
            covered += len(_SPACE.sub("", "".join(el.itertext()) + value))
        whole = len(_SPACE.sub("", "".join(container.itertext())))
        if whole <= covered * 2 + 100:  # a layout table around the whole page stays
            found.elements.append(container)
        else:
            found.elements.extend(x for el, value_el, _ in cells for x in (el, value_el) if x is not None)


def _read_lines(body: etree._Element, found: _Found) -> None:
    """Label lines (``【发布单位】…<br>【发布文号】…``, ``发布日期：… 信息来源：…``):
    the smallest element whose short text holds two labelled segments or more."""
    taken = set(found.elements)
    hits: list[tuple[etree._Element, list[tuple[str, str]]]] = []
    for el in body.iter("p", "div", "span", "td", "li", "section", "font"):
        if any(a in taken for a in el.iterancestors()) or el in taken:
            continue
        text = _text(el)
        if len(text.strip()) > _LINE_MAX:
            continue
        segments = _segments(text)
        if len(segments) >= 2:
            hits.append((el, segments))
    chosen = [(el, segs) for el, segs in hits
              if not any(other is not el and el in set(other.iterancestors()) for other, _ in hits)]
    for el, segments in chosen:
        for label, value in segments:
            found.put(label, value)
        found.elements.append(el)


def _segments(text: str) -> list[tuple[str, str]]:
    """(label, value) pairs of a line; text before the first label must be short."""
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
