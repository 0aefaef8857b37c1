"""Watch-list mentions in a page's title and main text.

Matching runs on a normalised copy of the text and reports surfaces and offsets in the
original. The normalised copy is built in two passes, each of which records only the places
where it changed the length of the text (so mapping back costs a binary search per mention,
not a per-character table):

1. one ``str.translate`` with a table built once: per-character NFKC (full-width forms, the
   ideographic space, ligatures), lower case, every dash/hyphen to ``-``, curly apostrophes to
   ``'``, every whitespace character to a space, zero-width/format characters and soft hyphens
   removed, Traditional Chinese folded to Simplified (OpenCC's character tables);
2. one regex pass over spaces: removed next to a CJK character or a dash (line breaks inside
   names, ``Beijing - Tianjin``), other runs folded to one space.

Aho-Corasick (pyahocorasick) then finds every alias, acronym and exclusion at once; Latin
ends must sit on word boundaries, CJK numeral ends on numeral boundaries (十五五 is not inside
二十五五); acronyms must match case-sensitively in the original. Overlapping hits of one
entity merge, the longest hit wins elsewhere, "full name (ACRONYM)" is one mention, exclusions
swallow what they cover, and ambiguous acronyms count only in a document that also names the
entity by an alias and does not define the acronym as something else (cases 32-39 in
``../shared/cases``).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import ahocorasick

if TYPE_CHECKING:
    from config.watchlist import Watchlist

MATCHER_VERSION = "1"

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d\u058a\u2043"
_APOSTROPHES = "\u2018\u2019\u02bc\u2032\uff07"
# Invisible characters that only affect rendering: zero-width space/joiners, word joiner,
# BOM, soft hyphen, bidi marks, invisible operators, variation selectors.
_INVISIBLE = ("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060"
              "\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
              + "".join(map(chr, range(0xFE00, 0xFE10))) + "".join(map(chr, range(0xE0100, 0xE01F0))))
_CJK = ("\u2e80-\u2fdf\u3001-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
        "\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f")
_CJK_NUMERALS = frozenset("〇零一二三四五六七八九十百千万两")
# spaces next to a dash or a CJK character go; other runs of two or more fold to one
_SPACES = re.compile(rf" +(?=-)| +(?=[{_CJK}])|(?<=-) +|(?<=[{_CJK}]) +|(?P<run>  +)")
_SENTENCE_END = re.compile(r"[。！？!?｡]+[”’」』\"')）]*|[.!?]+[”’\"')]*(?=\s)|\n")
_SENTENCE_WINDOW = 600  # characters scanned either side of a mention for a sentence end
# "GBA (the state bar association)", "GBA (Game Boy Advance)": an acronym defined otherwise
_DEFINITION = re.compile(r"\s?[(（](?:(?:the|an?)\s|(?:[A-Z][\w'-]*[ ,]+)+[A-Z][\w'-]*[)）])")


@dataclass(frozen=True)
class Mention:
    """One occurrence of a watch-list entity.

    ``start``/``end`` are Unicode code point offsets (0-based, end exclusive) into the original
    title (``zone == 'title'``) or main text (``zone == 'body'``); ``surface`` is that slice;
    ``alias`` the watch-list alias (or acronym) it matched; ``sentence`` the original sentence
    around it (stripped; Chinese ends 。！？ included).
    """

    entity: str
    alias: str
    surface: str
    start: int
    end: int
    zone: str
    sentence: str


# --------------------------------------------------------------------------- normalisation


def _fold_char(ch: str, t2s: dict[str, str]) -> str:
    out = []
    for c in unicodedata.normalize("NFKC", ch).lower():
        if c in _INVISIBLE:
            continue
        if c in _DASHES:
            c = "-"
        elif c in _APOSTROPHES:
            c = "'"
        elif c.isspace():
            c = " "
        out.append(t2s.get(c, c))
    return "".join(out)


@cache
def _t2s_table() -> dict[str, str]:
    """Traditional (and Taiwan/Hong Kong variant) characters -> Simplified, one to one."""
    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"
    table: dict[str, str] = {}
    for name in ("TSCharacters.txt", "TWVariantsRev.txt", "HKVariantsRev.txt"):
        for line in (folder / name).read_text(encoding="utf-8").splitlines():
            source, _, targets = line.partition("\t")
            target = targets.split(" ")[0] if targets else ""
            if len(source) == 1 and len(target) == 1 and source not in table:
                table[source] = target
    # variant forms first fold to the standard Traditional character, then to Simplified
    return {s: table.get(t, t) for s, t in table.items()}


@cache
def _fold_table() -> tuple[dict[int, str], re.Pattern[str] | None]:
    """The translate table for pass 1 and a regex of the characters it lengthens or deletes.

    Per-character NFKC: compatibility forms fold as NFKC folds them; canonical composition of
    decomposed sequences (e + U+0301) is not done (no alias contains a combining mark).
    """
    t2s = _t2s_table()
    table: dict[int, str] = {}
    resized: list[int] = []
    candidates = [*range(0x30000), *map(ord, _INVISIBLE)]
    for cp in candidates:
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        folded = _fold_char(ch, t2s)
        if folded != ch:
            table[cp] = folded
            if len(folded) != 1:
                resized.append(cp)
    return table, re.compile(f"[{_char_class(resized)}]+") if resized else None


def _char_class(codepoints: list[int]) -> str:
    """A regex character class body for sorted code points, as ranges."""
    parts, start, prev = [], None, None
    for cp in sorted(set(codepoints)):
        if start is not None and cp == prev + 1:
            prev = cp
            continue
        if start is not None:
            parts.append(_range(start, prev))
        start = prev = cp
    if start is not None:
        parts.append(_range(start, prev))
    return "".join(parts)


def _range(a: int, b: int) -> str:
    return re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"


class _OffsetMap:
    """Maps positions of a rewritten string back to the string it was rewritten from.

    Built from the rewrites alone (old start, old end, new length), in order; positions
    between rewrites shift by a constant, found with one binary search.
    """

    __slots__ = ("new_starts", "new_ends", "old_starts", "old_ends")

    def __init__(self) -> None:
        self.new_starts: list[int] = []
        self.new_ends: list[int] = []
        self.old_starts: list[int] = []
        self.old_ends: list[int] = []

    def add(self, old_start: int, old_end: int, new_start: int, new_len: int) -> None:
        self.new_starts.append(new_start)
        self.new_ends.append(new_start + new_len)
        self.old_starts.append(old_start)
        self.old_ends.append(old_end)

    def span(self, i: int) -> tuple[int, int]:
        """The old span that produced new character ``i``."""
        k = bisect_right(self.new_starts, i) - 1
        if k < 0:
            return i, i + 1
        if i < self.new_ends[k]:
            return self.old_starts[k], self.old_ends[k]
        old = i + self.old_ends[k] - self.new_ends[k]
        return old, old + 1

    def range(self, start: int, end: int) -> tuple[int, int]:
        """The old span covering new characters ``[start, end)`` (end > start)."""
        return self.span(start)[0], self.span(end - 1)[1]


def _rewrite(text: str, pattern: re.Pattern[str], replace) -> tuple[str, _OffsetMap]:
    """Replace each match of ``pattern`` by ``replace(match)``, recording the rewrites."""
    offsets = _OffsetMap()
    pieces: list[str] = []
    last = shift = 0
    for m in pattern.finditer(text):
        a, b = m.span()
        new = replace(m)
        pieces.append(text[last:a])
        pieces.append(new)
        offsets.add(a, b, a + shift, len(new))
        shift += len(new) - (b - a)
        last = b
    if not pieces:
        return text, offsets
    pieces.append(text[last:])
    return "".join(pieces), offsets


def _space_replacement(match: re.Match[str]) -> str:
    return " " if match.group("run") else ""


def normalise(text: str) -> tuple[str, _OffsetMap, _OffsetMap]:
    """Normalise ``text`` for matching (see module docstring).

    Returns the normalised string and the two offset maps (pass 2 -> pass 1 -> original).
    """
    table, resized = _fold_table()
    if resized is not None and resized.search(text):
        text1, map1 = _rewrite(text, resized, lambda m: m.group().translate(table))
    else:
        text1, map1 = text, _OffsetMap()
    text1 = text1.translate(table)
    text2, map2 = _rewrite(text1, _SPACES, _space_replacement)
    return text2, map1, map2


def normalise_alias(alias: str) -> str:
    """An alias as the matcher searches for it (stripped, folded like the text)."""
    return normalise(alias)[0].strip(" ")


# --------------------------------------------------------------------------- matching


def _is_word(ch: str) -> bool:
    """A Latin-script word character (CJK characters are not: 关于GBA has a word boundary)."""
    return ch.isalnum() and ch < "\u2e80"


@dataclass(frozen=True)
class _Pattern:
    entity: str
    alias: str  # as written in the watch-list
    kind: str  # 'alias' | 'acronym' | 'exclude'
    length: int  # normalised length
    latin_start: bool
    latin_end: bool
    numeral_start: bool
    numeral_end: bool


@dataclass
class _Hit:
    start: int  # offsets in the normalised text
    end: int
    entity: str
    alias: str
    ambiguous: bool
    exclude: bool


@dataclass
class _Scan:
    """One text matched: normalised copy, offset maps, surviving hits, acronym conflicts."""

    text: str
    zone: str
    maps: tuple[_OffsetMap, _OffsetMap]
    hits: list[_Hit]
    redefined: set[str]  # entities whose acronym this text defines as something else

    def original(self, hit: _Hit) -> tuple[int, int]:
        map1, map2 = self.maps
        return map1.range(*map2.range(hit.start, hit.end))


class Matcher:
    """Finds watch-list mentions; build once per watch-list and reuse (thread-safe to read).

    ``revision`` is the SHA-256 hex of the watch-list's content hash and ``MATCHER_VERSION``:
    stored once per document version, it says which rules produced its mentions.
    """

    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        self.revision = hashlib.sha256(f"{watchlist.content_hash}:{MATCHER_VERSION}".encode()).hexdigest()
        self._patterns: list[_Pattern] = []
        self._automaton = ahocorasick.Automaton()
        for entity in watchlist.entities:
            for kind, surfaces in (("alias", entity.alias_list), ("acronym", entity.acronyms),
                                   ("exclude", entity.exclude)):
                for surface in surfaces:
                    self._add(entity.key, surface, kind)
        self._automaton.make_automaton()

    def _add(self, entity: str, surface: str, kind: str) -> None:
        key = normalise_alias(surface)
        if key in self._automaton:  # a Traditional spelling folding onto a Simplified one
            return
        self._automaton.add_word(key, len(self._patterns))
        self._patterns.append(_Pattern(
            entity, surface, kind, len(key), _is_word(key[0]), _is_word(key[-1]),
            key[0] in _CJK_NUMERALS, key[-1] in _CJK_NUMERALS))

    def find(self, title: str | None, text: str | None) -> list[Mention]:
        """Mentions in a page's title and main text, title first, each in text order.

        Ambiguous acronyms count when the title or the text names the entity by an alias and
        neither defines the acronym as something else. Offsets index ``title`` for zone
        ``title`` and ``text`` for zone ``body``.
        """
        scans = [self._scan(title or "", "title"), self._scan(text or "", "body")]
        return self._mentions(scans)

    def find_in(self, text: str, zone: str = "body") -> list[Mention]:
        """Mentions in one text taken as a whole document (e.g. a boilerplate block)."""
        return self._mentions([self._scan(text, zone)])

    def _mentions(self, scans: list[_Scan]) -> list[Mention]:
        named = {h.entity for s in scans for h in s.hits if not h.ambiguous}
        redefined = set().union(*(s.redefined for s in scans))
        out = []
        for scan in scans:
            for hit in scan.hits:
                if hit.ambiguous and (hit.entity not in named or hit.entity in redefined):
                    continue
                start, end = scan.original(hit)
                out.append(Mention(hit.entity, hit.alias, scan.text[start:end], start, end,
                                   scan.zone, sentence_around(scan.text, start, end)))
        return out

    def _scan(self, text: str, zone: str) -> _Scan:
        norm, map1, map2 = normalise(text)
        scan = _Scan(text, zone, (map1, map2), [], set())
        hits = []
        for last, pid in self._automaton.iter(norm):
            p = self._patterns[pid]
            start, end = last + 1 - p.length, last + 1
            if self._bounded(norm, start, end, p) and (p.kind != "acronym" or self._exact(scan, start, end, p)):
                hits.append(_Hit(start, end, p.entity, p.alias, p.kind == "acronym", p.kind == "exclude"))
        if hits:
            hits = _join_parenthesised(_longest_first(_merge_overlaps(hits), len(norm)), norm)
            scan.redefined = {h.entity for h in hits if h.ambiguous and _redefines(scan, norm, h)}
            scan.hits = [h for h in hits if not h.exclude]
        return scan

    @staticmethod
    def _bounded(norm: str, start: int, end: int, p: _Pattern) -> bool:
        before = norm[start - 1] if start else ""
        after = norm[end] if end < len(norm) else ""
        if p.latin_start and before and _is_word(before):
            return False
        if p.latin_end and after and _is_word(after):
            return False
        if p.numeral_start and before in _CJK_NUMERALS:
            return False
        return not (p.numeral_end and after and after in _CJK_NUMERALS)

    @staticmethod
    def _exact(scan: _Scan, start: int, end: int, p: _Pattern) -> bool:
        """Acronyms are case-sensitive: "gba" is not GBA, full-width ＧＢＡ is."""
        a, b = scan.original(_Hit(start, end, "", "", True, False))
        surface = unicodedata.normalize("NFKC", scan.text[a:b])
        return "".join(c for c in surface if c not in _INVISIBLE) == p.alias


def _merge_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """Overlapping hits of one entity become one hit over their union ("15th Five-Year Plan
    (2026-2030)" is matched by two aliases); the longest part names the alias."""
    hits.sort(key=lambda h: (h.entity, h.exclude, h.start, -h.end))
    out: list[_Hit] = []
    for h in hits:
        cur = out[-1] if out else None
        if cur and (cur.entity, cur.exclude) == (h.entity, h.exclude) and h.start < cur.end:
            if h.end - h.start > cur.end - cur.start:
                cur.alias, cur.ambiguous = h.alias, h.ambiguous and cur.ambiguous
            else:
                cur.ambiguous = cur.ambiguous and h.ambiguous
            cur.end = max(cur.end, h.end)
        else:
            out.append(h)
    return out


def _longest_first(hits: list[_Hit], size: int) -> list[_Hit]:
    """Keep the longest hits, dropping any that overlaps one already kept; sorted by start."""
    taken = bytearray(size)
    kept = []
    for h in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        if taken.find(1, h.start, h.end) == -1:
            taken[h.start:h.end] = b"\x01" * (h.end - h.start)
            kept.append(h)
    kept.sort(key=lambda h: h.start)
    return kept


def _join_parenthesised(hits: list[_Hit], norm: str) -> list[_Hit]:
    """"Greater Bay Area (GBA)" is one mention: a name followed by its own acronym in
    parentheses (full-width ones too). Two full names ("长三角（Yangtze River Delta）") stay two."""
    out: list[_Hit] = []
    for h in hits:
        prev = out[-1] if out else None
        if (prev and h.ambiguous and not prev.ambiguous and not prev.exclude and prev.entity == h.entity
                and norm[prev.end:h.start] in ("(", " (") and norm[h.end:h.end + 1] == ")"):
            prev.end = h.end + 1
        else:
            out.append(h)
    return out


def _redefines(scan: _Scan, norm: str, hit: _Hit) -> bool:
    """An acronym defined as something else: "Game Boy Advance (GBA)" (an unjoined
    parenthesis) or "GBA (the state bar association)" (a definition after it)."""
    if norm[hit.start - 1:hit.start] == "(" and norm[hit.end:hit.end + 1] == ")":
        return True
    end = scan.original(hit)[1]
    return _DEFINITION.match(scan.text, end) is not None


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` holding ``[start, end)``, stripped.

    Sentences end after 。！？ (and their closing quotes), after . ! ? followed by whitespace,
    and at line breaks; at most ``_SENTENCE_WINDOW`` characters are taken on either side.
    """
    lo = max(0, start - _SENTENCE_WINDOW)
    left = lo
    for m in _SENTENCE_END.finditer(text, lo, start):
        left = m.end()
    m = _SENTENCE_END.search(text, end, min(len(text), end + _SENTENCE_WINDOW))
    right = m.end() if m else min(len(text), end + _SENTENCE_WINDOW)
    return text[left:right].strip()
