"""Watch-list mentions in a page's title and main text.

Matching runs on a normalised copy of the text and reports surfaces and offsets in the
original. The copy is built with numpy over the text's code points (one array lookup per
character instead of a Python-level loop), from tables built once:

1. fold: per-character NFKC (full-width forms, the ideographic space, ligatures), lower case,
   every dash/hyphen to ``-``, curly apostrophes to ``'``, every whitespace character to a
   space, Traditional Chinese to Simplified (OpenCC's character tables); zero-width/format
   characters and soft hyphens removed; the rare characters that fold to several (…, ㈱)
   expanded first, recording where;
2. spaces: removed next to a CJK character or a dash (line breaks inside names,
   ``Beijing - Tianjin``), other runs folded to one space.

The way back is an array holding, for each normalised character, its position in the
original (plus a short list of expansions), so each mention maps back in O(1).

Aho-Corasick (ahocorasick_rs) then finds every alias, acronym, exclusion and context word
(anchor, veto) in one scan; Latin ends must sit on word boundaries, CJK numeral ends on
numeral boundaries (十五五 is not inside 二十五五); acronyms must match case-sensitively in the
original; exclusions count where they can swallow a hit. Overlapping hits of one
entity merge, the longest hit wins elsewhere, "full name (ACRONYM)" is one mention, exclusions
swallow what they cover, and ambiguous acronyms count only in a document that also names the
entity by an alias and does not define the acronym as something else (cases 32-39 in
``../shared/cases``).

Ambiguous aliases (the watch-list's ``ambiguous`` groups: bare 南沙, 前海, "Greater Bay Area")
count by their context: the nearest anchor or veto within ``ANCHOR_WINDOW`` characters decides,
else the document does; acronyms are the case where the document alone decides
(``Matcher.find_explained``, docs/design.md "Ambiguous names"). The watch-list rule that names
must not collide once folded is checked here, where the folding lives.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from functools import cache
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING

import ahocorasick_rs
import numpy as np

from hubwatch.models.records import Mention

if TYPE_CHECKING:
    from hubwatch.config.watchlist import Watchlist

# Part of Matcher.revision: bump it whenever a matching rule changes, so that a reprocess
# re-matches every stored version (a watch-list edit changes the revision by itself).
MATCHER_VERSION = "2"  # 2: ambiguous aliases counted by their anchors and vetoes

_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\u2e3b\ufe58\ufe63\uff0d\u058a\u2043"
_APOSTROPHES = "\u2018\u2019\u02bc\u2032\uff07"
# Invisible characters that only affect rendering: zero-width space/joiners, word joiner,
# BOM, soft hyphen, bidi marks, invisible operators, variation selectors.
_INVISIBLE = ("\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060"
              "\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff"
              + "".join(map(chr, range(0xFE00, 0xFE10))) + "".join(map(chr, range(0xE0100, 0xE01F0))))
_DROP_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE))
_CJK_RANGES = ((0x2E80, 0x2FDF), (0x3001, 0x303F), (0x3040, 0x30FF), (0x3100, 0x312F), (0x3190, 0x31FF),
               (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x3134F))
_CJK_NUMERALS = frozenset("〇零一二三四五六七八九十百千万两")
_LONE_AFTER = re.compile(r"\s+\S(?:\s|$)")  # whitespace, one character, whitespace
_LONE_BEFORE = re.compile(r"(?:^|\s)\S\s+$")
_SENTENCE_END = re.compile(r"[。！？!?｡]+[”’」』\"')）]*|[.!?]+[”’\"')]*(?=\s)|\n")
_STOP = re.compile(r"[。！？｡!?.\n]")
_CLOSERS = "。！？｡!?.”’」』\"')）"  # enders repeated and closing quotes stay with their sentence
_ABBREVIATIONS = frozenset("mr mrs ms dr prof st no vs etc jan feb mar apr jun jul aug sep sept oct nov dec"
                           .split())
_SENTENCE_WINDOW = 600  # characters scanned either side of a mention for a sentence end
# "GBA (the state bar association)", "GBA (Game Boy Advance)": an acronym defined otherwise
_DEFINITION = re.compile(r"\s?[(（](?:(?:the|an?)\s|(?:[A-Z][\w'-]*[ ,]+)+[A-Z][\w'-]*[)）])")


# --------------------------------------------------------------------------- normalisation

_EXPAND = 0xFFFFFFFF  # fold-table marks: this code point folds to several characters
_DELETE = 0xFFFFFFFE  # ... or to nothing (invisible characters)
_N_CODEPOINTS = 0x110000


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
def _fold_table() -> dict[int, str]:
    """Code point -> folded string, for every code point that folding changes.

    Per-character NFKC: compatibility forms fold as NFKC folds them; canonical composition of
    decomposed sequences (e + U+0301) is not done (no alias contains a combining mark).
    Code points from U+30000 up (rare CJK extensions) are left alone, except invisibles.
    """
    t2s = _t2s_table()
    table: dict[int, str] = {}
    for cp in [*range(0xD800), *range(0xE000, 0x30000), *map(ord, _INVISIBLE)]:
        ch = chr(cp)
        folded = _fold_char(ch, t2s)
        if folded != ch:
            table[cp] = folded
    return table


@dataclass(frozen=True)
class _Tables:
    """Array forms of the fold table, indexed by code point (built once, ~6 MB)."""

    fold: np.ndarray  # uint32: folded code point, or _EXPAND / _DELETE
    joins: np.ndarray  # bool: spaces next to this (folded) character vanish (CJK, '-')
    expand: dict[str, str]  # character -> its folded expansion (length > 1)


@cache
def _tables() -> _Tables:
    fold = np.arange(_N_CODEPOINTS, dtype=np.uint32)
    expand: dict[str, str] = {}
    for cp, out in _fold_table().items():
        if len(out) == 1:
            fold[cp] = ord(out)
        elif out:
            fold[cp], expand[chr(cp)] = _EXPAND, out
        else:
            fold[cp] = _DELETE
    joins = np.zeros(_N_CODEPOINTS, dtype=bool)
    for first, last in _CJK_RANGES:
        joins[first:last + 1] = True
    joins[ord("-")] = True
    return _Tables(fold, joins, expand)


class _OffsetMap:
    """Maps positions of a rewritten string back to the string it was rewritten from.

    Built from the rewrites alone (old start, old end, new length), in order; positions
    between rewrites shift by a constant, found with one binary search. Used for the rare
    characters that fold to several (… -> ..., ㈱ -> (株)).
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


@dataclass(frozen=True)
class Normalised:
    """A normalised text and the way back: ``index[i]`` is the position in the expanded text
    of normalised character ``i`` (None: the same position), ``expanded`` maps that text to
    the original."""

    text: str
    index: np.ndarray | None
    expanded: _OffsetMap
    codes: np.ndarray | None = None  # uint32 code points of ``text`` (the matcher's boundary tests)

    def original(self, start: int, end: int) -> tuple[int, int]:
        """Original ``[start, end)`` of normalised characters ``[start, end)`` (end > start)."""
        if self.index is not None:
            start, end = int(self.index[start]), int(self.index[end - 1]) + 1
        return self.expanded.range(start, end)

    def originals(self, starts: list[int], ends: list[int]) -> list[tuple[int, int]]:
        """``original`` of many spans at once (one array lookup for all of them)."""
        if self.index is not None:
            starts = self.index[starts].tolist()
            ends = (self.index[np.subtract(ends, 1)] + 1).tolist()
        if not self.expanded.new_starts:
            return list(zip(starts, ends))
        return [self.expanded.range(a, b) for a, b in zip(starts, ends)]


_EMPTY = Normalised("", None, _OffsetMap())


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _expand(text: str, positions: np.ndarray, expand: dict[str, str]) -> tuple[str, _OffsetMap]:
    """Replace the characters at ``positions`` by their expansions, recording the rewrites."""
    offsets, pieces, last, shift = _OffsetMap(), [], 0, 0
    for pos in positions.tolist():
        new = expand[text[pos]]
        pieces += [text[last:pos], new]
        offsets.add(pos, pos + 1, pos + shift, len(new))
        shift += len(new) - 1
        last = pos + 1
    pieces.append(text[last:])
    return "".join(pieces), offsets


def _spaces_kept(folded: np.ndarray, joins: np.ndarray) -> np.ndarray | None:
    """Indices of ``folded`` that survive the space rules, or None when all do.

    Two passes, each a few whole-array operations: every run of spaces folds to its first
    space; then a space next to a CJK character or a dash goes (so "Beijing - Tianjin",
    "长\n三角" and "G60\n\n科创走廊" close up). After the first pass a space's neighbours
    are the characters around its former run, so the second pass sees whole runs.
    """
    space = folded == 32
    if not space.any():
        return None
    kept = None
    run = space[1:] & space[:-1]
    if run.any():
        first = np.ones(len(folded), dtype=bool)
        first[1:] = ~run
        kept = np.flatnonzero(first)
        folded, space = folded[kept], space[kept]
    joining = joins[folded]
    drop = np.zeros(len(folded), dtype=bool)
    drop[1:] = joining[:-1]
    drop[:-1] |= joining[1:]
    drop &= space
    if not drop.any():
        return kept
    survivors = np.flatnonzero(~drop)
    return survivors if kept is None else kept[survivors]


def normalise(text: str) -> Normalised:
    """Normalise ``text`` for matching (see the module docstring), vectorised with numpy.

    Returns the normalised text with the map back to ``text`` (code point offsets).
    """
    tables = _tables()
    folded = tables.fold[_codepoints(text)]
    expanded, index = _OffsetMap(), None
    if (folded >= _DELETE).any():
        if tables.expand and (folded == _EXPAND).any():
            text, expanded = _expand(text, np.flatnonzero(folded == _EXPAND), tables.expand)
            folded = tables.fold[_codepoints(text)]
            folded = np.where(folded == _EXPAND, _codepoints(text), folded)  # already folded
        deleted = folded == _DELETE
        if deleted.any():
            index = np.flatnonzero(~deleted)
            folded = folded[index]
    kept = _spaces_kept(folded, tables.joins)
    if kept is not None:
        index = kept if index is None else index[kept]
        folded = folded[kept]
    return Normalised(folded.tobytes().decode("utf-32-le", "surrogatepass"), index, expanded, folded)


def normalise_alias(alias: str) -> str:
    """An alias as the matcher searches for it (stripped, folded like the text)."""
    return normalise(alias).text.strip(" ")


# --------------------------------------------------------------------------- matching


def _is_word(ch: str) -> bool:
    """A Latin-script word character (CJK characters are not: 关于GBA has a word boundary)."""
    return ch.isalnum() and ch < "\u2e80"


@dataclass(frozen=True)
class _Pattern:
    entity: str
    alias: str  # as written in the watch-list
    kind: str  # 'alias' | 'acronym' | 'exclude' (an ambiguous alias is an 'alias' with a rule)
    length: int  # normalised length
    latin_start: bool
    latin_end: bool
    numeral_start: bool
    numeral_end: bool
    rule: int | None = None  # index into Matcher._rules: the hit counts only if the rule says so


@dataclass(frozen=True)
class _Rule:
    """When an ambiguous name counts (docs/design.md, "Ambiguous names").

    ``window`` is the reach of near evidence in normalised characters (0: the document alone
    decides, as for acronyms); ``anchored_by`` the entities whose unambiguous hits anchor;
    ``words`` says whether anchor/veto words exist (else the context scan is skipped).
    """

    entity: str
    window: int
    anchored_by: frozenset[str]
    proper_noun: bool = False
    acronym: bool = False


@dataclass(frozen=True)
class _Context:
    """A context word of one or more rules: ``roles`` holds (rule index, is a veto)."""

    word: str  # as written in the watch-list
    roles: tuple[tuple[int, bool], ...]


@dataclass(slots=True)
class _Hit:
    start: int  # offsets in the normalised text
    end: int
    entity: str
    alias: str
    rule: int | None  # None: counts as it stands
    exclude: bool
    acronym: bool = False


@dataclass(frozen=True)
class Unanchored:
    """An ambiguous name that was found but not counted, and why (debugging output).

    Offsets as in ``Mention``. ``reason`` is one of ``no anchor`` (nothing in the document makes
    it count), ``veto nearby: <word>`` (a counter-anchor is the nearest evidence),
    ``veto in document: <word>`` (no near evidence, and the document holds a counter-anchor),
    ``acronym defined otherwise`` and ``entity not named`` (acronyms).
    """

    entity: str
    alias: str
    surface: str
    start: int
    end: int
    zone: str
    reason: str


@dataclass(frozen=True)
class Findings:
    """What ``Matcher.find_explained`` returns: the mentions, and the ambiguous names left out."""

    mentions: list[Mention]
    unanchored: list[Unanchored]


@dataclass
class _Scan:
    """One text matched: its normalised copy (with the map back), surviving hits, the
    entities whose acronym it defines as something else, the strings found in it (with the
    context words: anchors, vetoes), and (only when an ambiguous word alias was hit) those
    context words by rule (``Matcher._gather``) with the near evidence of each rule
    (``Matcher._evidence``)."""

    text: str
    zone: str
    norm: Normalised
    hits: list[_Hit]
    redefined: set[str]
    found: list[tuple[int, int, int]] | None = None  # see Matcher._found
    classified: tuple[np.ndarray, ...] | None = None  # see Matcher._classify
    context: dict[int, list[tuple[int, int, bool, str]]] | None = None  # see Matcher._gather
    evidence: dict[int, tuple] = field(default_factory=dict)  # rule -> see Matcher._evidence
    named: dict[str, tuple[list[_Hit], list[_Hit]]] | None = None  # see Matcher._evidence

    def original(self, hit: _Hit) -> tuple[int, int]:
        return self.norm.original(hit.start, hit.end)


# Boundary tests as arrays: of each code point below _WORD_LIMIT, whether it is a Latin word
# character (_LATIN) or a CJK numeral (_NUMERAL); code points from _WORD_LIMIT up are neither
# (_is_word holds only below U+2E80). Of each searched string, which of these its first and its
# last character must not touch (Latin ends sit on word boundaries, CJK numeral ends on numeral
# boundaries: 十五五 is not inside 二十五五).
_LATIN, _NUMERAL = 1, 2
_WORD_LIMIT = 0xA000
_CHARACTER_CLASS = np.array([_LATIN * _is_word(chr(c)) | _NUMERAL * (chr(c) in _CJK_NUMERALS)
                             for c in range(_WORD_LIMIT)] + [0], dtype=np.uint8)
# What a searched string is (bits, several when one string is several things), times 4, and the
# table from that plus its boundary failures (_LATIN, _NUMERAL) to what it counts as: a context
# word needs only its Latin boundaries, a pattern all of them.
_CONTEXT_WORD, _NAME, _EXCLUSION = 1, 2, 4
_COUNTS_AS = np.array([(kind & _CONTEXT_WORD) * (not bad & _LATIN) | (kind & (_NAME | _EXCLUSION)) * (not bad)
                       for kind in range(8) for bad in range(4)], dtype=np.uint8)


def _ends_class(key: str, end: int) -> int:
    return _LATIN * _is_word(key[end]) | _NUMERAL * (key[end] in _CJK_NUMERALS)


_SEARCH_IMPLEMENTATION = ahocorasick_rs.Implementation.ContiguousNFA  # compact: a DFA's table crowds the caches

# Mentions are built by setting their fields in their ``__dict__`` (what the frozen dataclass's
# __init__ does, one object.__setattr__ call per field, four times slower): only while Mention
# stays a plain frozen dataclass of these fields, without __post_init__ or slots, which
# test_match checks.
_new_mention = object.__new__


# Near evidence for an ambiguous name: anchors and vetoes within this many normalised characters
# of it (about one English sentence, two or three Chinese ones). Part of MATCHER_VERSION.
ANCHOR_WINDOW = 100


_shared: dict[str, Matcher] = {}  # content hash -> matcher (Matcher.shared)
_shared_lock = threading.Lock()


class Matcher:
    """Finds watch-list mentions; build once per watch-list and reuse (thread-safe to read).

    ``revision`` is the SHA-256 hex of the watch-list's content hash and ``MATCHER_VERSION``:
    stored once per document version, it says which rules produced its mentions.

    Raises ``ConfigError`` (file, line, key path) when two different entities or kinds of the
    watch-list fold to the same search string, or a string folds to nothing: the folding is the
    matcher's, so this rule of the watch-list is checked here.
    """

    @classmethod
    def shared(cls, watchlist: Watchlist) -> Matcher:
        """The matcher of ``watchlist``'s content, built once per process and reused (a
        build takes a few tenths of a second: the config check, the run and each of its
        batches share one). Raises ``ConfigError`` like the constructor."""
        key = watchlist.content_hash
        with _shared_lock:
            found = _shared.get(key)
        if found is None:
            found = cls(watchlist)
            with _shared_lock:
                _shared[key] = found
                while len(_shared) > 8:  # tests build many watch-lists: keep the latest
                    _shared.pop(next(iter(_shared)))
        return found

    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        self.revision = hashlib.sha256(f"{watchlist.content_hash}:{MATCHER_VERSION}".encode()).hexdigest()
        self._patterns: list[_Pattern] = []
        self._rules: list[_Rule] = []
        self._contexts: list[_Context] = []
        owners: dict[str, tuple[str, str, str]] = {}  # folded -> (entity, kind, as written)
        keys: list[str] = []  # folded form of each pattern
        rules: dict[tuple[str, int | None], int] = {}
        context_roles: dict[str, list[tuple[int, bool]]] = {}
        context_words: dict[str, str] = {}
        for surface in watchlist.surfaces():
            key = normalise_alias(surface.text)
            if not key:
                raise watchlist.rule_error(surface.loc, f"{surface.text!r} is empty after normalisation")
            if surface.kind in ("anchor", "veto"):
                rule = self._rule(rules, watchlist, surface.entity, surface.group)
                context_roles.setdefault(key, []).append((rule, surface.kind == "veto"))
                context_words.setdefault(key, surface.text)
                continue
            kind = {"ambiguous": "alias", "exclusion": "exclude"}.get(surface.kind, surface.kind)
            owner = (surface.entity, "ambiguous alias" if surface.kind == "ambiguous" else surface.kind)
            previous = owners.get(key)
            if previous is not None:
                if previous[:2] != owner:
                    raise watchlist.rule_error(surface.loc, (
                        f"{surface.text!r} is already used by {previous[0]!r} as {previous[1]} "
                        f"{previous[2]!r} (aliases must be unique once folded)"))
                continue  # a Traditional spelling folding onto a Simplified one
            owners[key] = (*owner, surface.text)
            rule = None
            if surface.kind == "ambiguous":
                rule = self._rule(rules, watchlist, surface.entity, surface.group)
            elif surface.kind == "acronym":
                rule = self._rule(rules, watchlist, surface.entity, None)
            keys.append(key)
            self._patterns.append(_Pattern(
                surface.entity, surface.text, kind, len(key), _is_word(key[0]), _is_word(key[-1]),
                key[0] in _CJK_NUMERALS, key[-1] in _CJK_NUMERALS, rule))
        self._contexts = [_Context(context_words[key], tuple(roles)) for key, roles in context_roles.items()]
        # each context word's (rule, is veto, word as written), and each pattern's fields of a hit
        self._context_roles = [tuple((rule, veto, c.word) for rule, veto in c.roles) for c in self._contexts]
        self._hit_fields = [(p.entity, p.alias, p.rule, p.kind == "acronym", p.latin_start) for p in self._patterns]
        self._longest = max((p.length for p in self._patterns), default=0)
        self._context_reach = max(map(len, context_roles), default=0)  # longest context word
        self._build_search(keys, list(context_roles))

    def _build_search(self, keys: list[str], context_keys: list[str]) -> None:
        """One automaton for every string searched for: names, acronyms, exclusions and context
        words, so that a text is scanned once (ahocorasick_rs, whose cost barely grows
        with the number of strings). For each string: its pattern and its context word (-1:
        none; a string can be both), what it is (``_COUNTS_AS``) and its boundary classes."""
        index = {key: i for i, key in enumerate(dict.fromkeys([*keys, *context_keys]))}
        size = len(index) or 1
        self._word_pattern = np.full(size, -1, dtype=np.int64)
        self._word_pattern[[index[key] for key in keys]] = np.arange(len(keys))
        self._word_context = np.full(size, -1, dtype=np.int64)
        self._word_context[[index[key] for key in context_keys]] = np.arange(len(context_keys))
        kinds = np.zeros(size, dtype=np.uint8)
        kinds[[index[key] for key in context_keys]] |= _CONTEXT_WORD
        for key, p in zip(keys, self._patterns):
            kinds[index[key]] |= _EXCLUSION if p.kind == "exclude" else _NAME
        self._word_kind = kinds * 4
        self._name_words = ((kinds & _NAME) != 0).tolist()  # a text without these has no hit
        self._word_first = np.array([_ends_class(key, 0) for key in index] or [0], dtype=np.uint8)
        self._word_last = np.array([_ends_class(key, -1) for key in index] or [0], dtype=np.uint8)
        self._search = None
        if index:
            self._search = ahocorasick_rs.AhoCorasick(list(index), matchkind=ahocorasick_rs.MatchKind.Standard,
                                                      implementation=_SEARCH_IMPLEMENTATION)
        # lone surrogates cannot be searched (UTF-8): a character of no key stands in for them
        used = set("".join(index))
        self._stand_in = next(c for c in range(0xE000, 0xF900) if chr(c) not in used)

    def _rule(self, rules: dict, watchlist: Watchlist, entity: str, group: int | None) -> int:
        """The index of the rule of ``entity``'s ambiguous group ``group`` (None: acronyms)."""
        if (entity, group) not in rules:
            rules[(entity, group)] = len(self._rules)
            if group is None:  # acronyms: the document names the entity, and does not redefine it
                self._rules.append(_Rule(entity, 0, frozenset([entity]), acronym=True))
            else:
                spec = watchlist.get(entity).ambiguous[group]
                self._rules.append(_Rule(entity, ANCHOR_WINDOW,
                                         frozenset([entity, *spec.anchor_entities]), spec.proper_noun))
        return rules[(entity, group)]

    def find(self, title: str | None, text: str | None) -> list[Mention]:
        """Mentions in a page's title and main text, title first, each in text order.

        Ambiguous names count as their rule says (acronyms: when the title or the text names
        the entity by an alias and neither defines the acronym as something else; other
        ambiguous aliases: by their anchors and vetoes, see ``find_explained``). Offsets index
        ``title`` for zone ``title`` and ``text`` for zone ``body``.
        """
        scans = [self._scan(title or "", "title"), self._scan(text or "", "body")]
        return self._mentions(scans)

    def find_explained(self, title: str | None, text: str | None) -> Findings:
        """``find``, plus every ambiguous name found but not counted, with the reason.

        An ambiguous alias counts when the nearest anchor or veto within ``ANCHOR_WINDOW``
        normalised characters of it (same zone) is an anchor. With no near evidence, the
        document (title and main text) decides: a veto anywhere stops it, else an anchor
        anywhere makes it count, else it counts only if it is a ``proper_noun`` written with
        its capitals. Anchors are the rule's words, the entity's unambiguous hits and the hits
        (ambiguous ones too) of its ``anchor_entities``; a veto wins a tie.
        """
        unanchored: list[Unanchored] = []
        scans = [self._scan(title or "", "title"), self._scan(text or "", "body")]
        return Findings(self._mentions(scans, unanchored), unanchored)

    def find_in(self, text: str, zone: str = "body") -> list[Mention]:
        """Mentions in one text taken as a whole document (e.g. a boilerplate block)."""
        return self._mentions([self._scan(text, zone)])

    def _mentions(self, scans: list[_Scan], unanchored: list[Unanchored] | None = None) -> list[Mention]:
        rejected: dict[int, str] = {}  # id(hit) -> reason
        if any(h.rule is not None for s in scans for h in s.hits):
            rejected = self._judge(scans)
        out: list[Mention] = []
        for scan in scans:
            if scan.hits:
                self._records(scan, rejected, out, unanchored)
        return out

    @staticmethod
    def _records(scan: _Scan, rejected: dict[int, str], out: list[Mention],
                 unanchored: list[Unanchored] | None) -> None:
        """Append the mentions of ``scan`` to ``out`` (and its rejected hits to ``unanchored``).
        A mention is made as ``Mention(...)`` makes it, its fields set in their order, without
        the frozen dataclass's one ``object.__setattr__`` call per field (``_new_mention``)."""
        text, zone, hits = scan.text, scan.zone, scan.hits
        spans = scan.norm.originals([h.start for h in hits], [h.end for h in hits])
        # Pages full of names: the text's sentence ends are found together (where needed).
        sentences = _Sentences(text) if len(spans) > _SENTENCE_INDEX_FROM else None
        if sentences:  # the plain stops' answers of _Sentences.span, without the call
            stops, plain, span, count = sentences.stops, sentences.plain, sentences.span, len(sentences.stops)
        left = right = 0
        sentence = ""
        new, append = _new_mention, out.append
        for hit, (start, end) in zip(hits, spans):
            if rejected and id(hit) in rejected:
                if unanchored is not None:
                    unanchored.append(Unanchored(hit.entity, hit.alias, text[start:end], start,
                                                 end, zone, rejected[id(hit)]))
                continue
            if not left <= start < end <= right:  # else: same sentence as before
                if sentences is None:
                    left, right = sentence_span(text, start, end)
                else:
                    i = bisect_left(stops, end)
                    k = bisect_left(stops, start, 0, i) - 1
                    right = -1
                    if i < count:
                        q = stops[i]
                        # a plain stop, or ". " that ends the sentence: _Sentences._forward's first step
                        if plain[i] or text[q] == "." and text[q + 1:q + 2].isspace() and _ends_sentence(text, q, q + 1):
                            right = q + 1
                    if (0 <= right < min(len(text), end + _SENTENCE_WINDOW) and k >= 0 and plain[k]
                            and stops[k] >= start - _SENTENCE_WINDOW):
                        left = stops[k] + 1
                    else:
                        left, right = span(start, end)
                sentence = text[left:right].strip()
            mention = new(Mention)
            mention.__dict__.update(entity=hit.entity, alias=hit.alias, surface=text[start:end], start=start,
                                    end=end, zone=zone, sentence=sentence)
            append(mention)

    def _judge(self, scans: list[_Scan]) -> dict[int, str]:
        """The ambiguous hits that do not count, by ``id(hit)``, with the reason. Word aliases
        first; then acronyms, whose anchors are the entity's counted hits (so an anchored
        "Greater Bay Area" also anchors "GBA")."""
        rejected: dict[int, str] = {}
        words: list[tuple[int, _Hit]] = []
        acronyms: list[_Hit] = []
        for k, scan in enumerate(scans):
            for h in scan.hits:
                if h.rule is not None:
                    if h.acronym:
                        acronyms.append(h)
                    else:
                        words.append((k, h))
        rules = {h.rule for _, h in words}  # context words of other rules are not kept
        if rules:
            for scan in scans:
                self._gather(scan, rules)
        whole: dict[int, str | None] | None = None  # rule -> the document's verdict
        for k, hit in words:
            reason = self._near_reason(scans[k], hit)
            if reason == "":  # no near evidence: the whole document decides
                if whole is None:
                    whole = {}
                if hit.rule not in whole:
                    whole[hit.rule] = self._document_evidence(scans, hit.rule)
                reason = whole[hit.rule]
                if reason == "no anchor" and self._rules[hit.rule].proper_noun \
                        and self._capitalised(scans[k], hit):
                    reason = None
            if reason:
                rejected[id(hit)] = reason
        if acronyms:
            named = {h.entity for s in scans for h in s.hits if not h.acronym and id(h) not in rejected}
            redefined = set().union(*(s.redefined for s in scans))
            for hit in acronyms:
                if hit.entity in redefined:
                    rejected[id(hit)] = "acronym defined otherwise"
                elif hit.entity not in named:
                    rejected[id(hit)] = "entity not named"
        return rejected

    def _gather(self, scan: _Scan, rules: set[int]) -> None:
        """Fill ``scan.context``: the context words found in ``scan`` of the ``rules`` of the
        document's ambiguous hits, by rule, each list in text order (start, end, is veto, word
        as written)."""
        if scan.context is not None:
            return
        scan.context = {}
        if scan.found is None:
            return
        if scan.classified is None:
            scan.classified = self._classify(scan.norm, scan.found)
        starts, ends, words, counts = scan.classified
        rows = np.flatnonzero(counts & _CONTEXT_WORD)
        roles, context = self._context_roles, scan.context
        for start, end, cid in zip(starts[rows].tolist(), ends[rows].tolist(), self._word_context[words[rows]].tolist()):
            for rule, veto, word in roles[cid]:
                if rule in rules:
                    found = context.get(rule)
                    if found is None:
                        found = context[rule] = []
                    found.append((start, end, veto, word))
        for found in context.values():
            found.sort()  # (start, end) is one string, so one context word
        scan.evidence = {}

    def _anchors(self, rule: _Rule, h: _Hit) -> bool:
        """Whether hit ``h`` anchors ``rule``: an unambiguous name of the rule's entity, or
        any name (ambiguous too) of one of its anchor entities."""
        if h.acronym:
            return False
        if h.entity == rule.entity:
            return h.rule is None
        return h.entity in rule.anchored_by

    def _evidence(self, scan: _Scan, rule_id: int) -> tuple:
        """What can be near evidence for ``rule_id`` in ``scan``, in text order, kept for every
        ambiguous hit of the rule: the hits that anchor it (``_anchors``) as starts and ends,
        and its context words as starts and (start, end, is veto, word)."""
        rule = self._rules[rule_id]
        if scan.named is None:  # entity -> (its unambiguous, its ambiguous) word hits, in text order
            scan.named = {}
            for h in scan.hits:
                if not h.acronym:
                    scan.named.setdefault(h.entity, ([], []))[h.rule is not None].append(h)
        parts = []
        for entity in rule.anchored_by:
            named = scan.named.get(entity)
            if named:
                parts += [named[0], named[1]] if entity != rule.entity else [named[0]]
        anchors = sorted(chain.from_iterable(parts), key=_START) if len(parts) > 1 else parts[0] if parts else []
        words = scan.context.get(rule_id, [])
        return ([h.start for h in anchors], [h.end for h in anchors],
                [w[0] for w in words], words)

    def _near_reason(self, scan: _Scan, hit: _Hit) -> str | None:
        """By the evidence within the window of ``hit`` (same zone): None when the ambiguous
        word counts, why not when it does not, "" when nothing is near (the rule is in
        ``find_explained``). The nearest evidence decides; a veto wins a tie."""
        evidence = scan.evidence.get(hit.rule)
        if evidence is None:
            evidence = scan.evidence[hit.rule] = self._evidence(scan, hit.rule)
        anchor_starts, anchor_ends, word_starts, words = evidence
        window = self._rules[hit.rule].window
        hit_start, hit_end = hit.start, hit.end
        low, high = hit_start - window, hit_end + window
        best = window + 1  # nearest anchor's distance (window + 1: none)
        for k in range(bisect_left(anchor_starts, low - self._longest), bisect_right(anchor_starts, high)):
            start = anchor_starts[k]
            if start > hit_end:
                gap = start - hit_end
            else:
                end = anchor_ends[k]
                gap = hit_start - end if hit_start > end else 0
            if gap < best:
                best = gap
        veto_word, veto_gap = None, window + 1
        for start, end, veto, word in words[bisect_left(word_starts, low - self._context_reach):
                                            bisect_right(word_starts, high)]:
            gap = start - hit_end if start > hit_end else hit_start - end if hit_start > end else 0
            if veto:
                if gap < veto_gap:
                    veto_word, veto_gap = word, gap
            elif gap < best:
                best = gap
        if veto_word is not None and veto_gap <= best:
            return f"veto nearby: {veto_word}"
        return None if best <= window else ""

    def _document_evidence(self, scans: list[_Scan], rule_id: int) -> str | None:
        """With nothing near: a veto anywhere in the document stops the name (its reason),
        else an anchor anywhere makes it count (None), else "no anchor"."""
        rule = self._rules[rule_id]
        anchored = False
        for scan in scans:
            for _, _, veto, word in scan.context.get(rule_id, ()) if scan.context else ():
                if veto:
                    return f"veto in document: {word}"
                anchored = True
            anchored = anchored or any(self._anchors(rule, h) for h in scan.hits)
        return None if anchored else "no anchor"

    def _capitalised(self, scan: _Scan, hit: _Hit) -> bool:
        """Written with the watch-list's capitals, or all in capitals ("GREATER BAY AREA").
        A hit joined with its acronym ("Greater Bay Area (GBA)") has the name at one end."""
        start, end = scan.original(hit)
        surface = "".join(c for c in unicodedata.normalize("NFKC", scan.text[start:end]) if c.isalpha())
        written = "".join(c for c in hit.alias if c.isalpha())
        n = len(written)
        return bool(n) and any(part in (written, written.upper()) for part in (surface[:n], surface[-n:]))

    def _scan(self, text: str, zone: str) -> _Scan:
        if not text:
            return _Scan(text, zone, _EMPTY, [], set())
        normalised = normalise(text)
        scan = _Scan(text, zone, normalised, [], set())
        found = self._found(normalised)
        if found is None:
            return scan
        scan.found = found  # its context words are read only if the document hits an ambiguous name
        if not any(self._name_words[word] for word, _, _ in found):
            return scan
        starts, ends, words, counts = scan.classified = self._classify(normalised, found)
        rows = np.flatnonzero(counts & _NAME)
        if not len(rows):
            return scan
        hits = self._names(scan, *self._rows(normalised, starts, ends, words, rows))
        rows = np.flatnonzero(counts & _EXCLUSION)
        if hits and len(rows):
            hits += self._exclusions(scan, hits, *self._rows(normalised, starts, ends, words, rows))
        if hits:
            hits = _join_parenthesised(_resolve_overlaps(hits), normalised.text)
            scan.redefined = {h.entity for i, h in enumerate(hits)
                              if h.acronym and _redefines(scan, hits, i)}
            scan.hits = [h for h in hits if not h.exclude]
        return scan

    def _found(self, normalised: Normalised) -> list[tuple[int, int, int]] | None:
        """Every searched string in ``normalised`` (one scan) as (string index, start, end);
        None when nothing is found."""
        if self._search is None:
            return None
        try:
            found = self._search.find_matches_as_indexes(normalised.text, overlapping=True)
        except UnicodeEncodeError:  # lone surrogates
            codes = _codepoints(normalised.text)
            searched = np.where((codes >= 0xD800) & (codes <= 0xDFFF), self._stand_in, codes).astype(np.uint32)
            found = self._search.find_matches_as_indexes(searched.tobytes().decode("utf-32-le"), overlapping=True)
        return found or None

    def _classify(self, normalised: Normalised, found: list[tuple[int, int, int]]) -> tuple[np.ndarray, ...]:
        """The ``found`` strings as arrays: starts, ends, string indexes, and what each counts as
        on its boundaries (``_COUNTS_AS``: a context word, a name, an exclusion, or nothing)."""
        codes = normalised.codes
        if codes is None:
            codes = _codepoints(normalised.text)
        columns = np.fromiter(chain.from_iterable(found), dtype=np.int64, count=3 * len(found)).reshape(-1, 3)
        words, starts, ends = columns[:, 0], columns[:, 1], columns[:, 2]
        # the characters before and after each string (a space stands for the text's edges)
        padded = np.concatenate(([32], np.minimum(codes, _WORD_LIMIT), [32]))
        bad = (self._word_first[words] & _CHARACTER_CLASS[padded[starts]]) \
            | (self._word_last[words] & _CHARACTER_CLASS[padded[ends + 1]])
        return starts, ends, words, _COUNTS_AS[self._word_kind[words] | bad]

    def _rows(self, normalised: Normalised, starts: np.ndarray, ends: np.ndarray, words: np.ndarray,
              rows: np.ndarray) -> tuple[list[int], ...]:
        """Starts, ends, patterns of the found ``rows``, and whether normalising dropped
        characters inside each (only then can it be a spaced-out list, see ``_spaced_list``)."""
        starts, ends = starts[rows], ends[rows]
        index = normalised.index
        if index is None:
            gapped = [False] * len(rows)
        else:
            gapped = (index[ends - 1] - index[starts] != ends - 1 - starts).tolist()
        return starts.tolist(), ends.tolist(), self._word_pattern[words[rows]].tolist(), gapped

    def _names(self, scan: _Scan, starts: list[int], ends: list[int], pids: list[int],
               gapped: list[bool]) -> list[_Hit]:
        """The hits of names and acronyms on their boundaries, in any order: acronyms written
        as listed (``_exact``), no spaced-out lists (``_spaced_list``)."""
        fields, hits = self._hit_fields, []
        append = hits.append
        for start, end, pid, gap in zip(starts, ends, pids, gapped):
            entity, alias, rule, acronym, latin_start = fields[pid]
            if acronym and not self._exact(scan, start, end, self._patterns[pid]):
                continue
            if gap and not latin_start and _spaced_list(scan.text, *scan.norm.original(start, end),
                                                        self._patterns[pid].length):
                continue
            append(_Hit(start, end, entity, alias, rule, False, acronym))
        return hits

    def _exclusions(self, scan: _Scan, hits: list[_Hit], starts: list[int], ends: list[int],
                    pids: list[int], gapped: list[bool]) -> list[_Hit]:
        """The exclusions on their boundaries that can swallow one of the name ``hits``: those
        overlapping one, and those of an acronym's own entity that open the parenthesis right
        after it ("GBA (" + exclusion), which ``_redefines`` reads. No spaced-out lists."""
        covered = bytearray(len(scan.norm.text))  # 1 where a name hit lies
        for h in hits:
            covered[h.start:h.end] = b"\x01" * (h.end - h.start)
        after_acronym = {(h.entity, h.end + gap) for h in hits if h.acronym for gap in (1, 2)}
        out = []
        for start, end, pid, gap in zip(starts, ends, pids, gapped):
            x = self._patterns[pid]
            if covered.find(1, start, end) < 0 and (x.entity, start) not in after_acronym:
                continue
            if x.latin_start or not gap or not _spaced_list(scan.text, *scan.norm.original(start, end), x.length):
                out.append(_Hit(start, end, x.entity, x.alias, None, True))
        return out

    @staticmethod
    def _exact(scan: _Scan, start: int, end: int, p: _Pattern) -> bool:
        """Acronyms are case-sensitive: "gba" is not GBA, full-width ＧＢＡ is."""
        a, b = scan.norm.original(start, end)
        surface = unicodedata.normalize("NFKC", scan.text[a:b])
        return surface == p.alias or surface.translate(_DROP_INVISIBLE) == p.alias


def _spaced_list(text: str, start: int, end: int, length: int) -> bool:
    """A run of single characters set apart by spaces or line breaks, as menus and tables
    print province abbreviations ("京 津 冀 晋 蒙"): not a name, although folding the spaces
    away spells one. A name broken once ("长\n三角") or spaced alone ("京 津 冀三地") still is."""
    if end - start == length:  # nothing was folded away inside the surface
        return False
    parts = text[start:end].split()
    if len(parts) < 2 or any(len(part) != 1 for part in parts):
        return False
    return bool(_LONE_AFTER.match(text, end) or _LONE_BEFORE.search(text, max(0, start - 8), start))


def _resolve_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """``_longest_first(_merge_overlaps(hits))``, sorted by start, done for each group of hits
    that overlap one another: groups do not interact, most hits overlap nothing, and most of
    the rest overlap one other hit (a name inside a longer one, a look-alike around a name)."""
    hits.sort(key=_START)
    out: list[_Hit] = []
    i, count = 0, len(hits)
    while i < count:
        j, reach = i + 1, hits[i].end
        while j < count and hits[j].start < reach:
            reach = max(reach, hits[j].end)
            j += 1
        if j == i + 1:
            out.append(hits[i])
        elif j == i + 2:
            out.append(_resolve_pair(hits[i], hits[i + 1]))
        else:
            out += _longest_first(_merge_overlaps(hits[i:j]))
        i = j
    return out


_START = attrgetter("start")


def _resolve_pair(a: _Hit, b: _Hit) -> _Hit:
    """``_longest_first(_merge_overlaps([a, b]))`` of two overlapping hits: one entity's merge
    into one, else the longer wins (then the earlier start, then the smaller entity, then the
    name over the exclusion, as the sorts there order them)."""
    if (a.start, -a.end) > (b.start, -b.end):
        a, b = b, a
    if a.entity == b.entity and a.exclude == b.exclude:
        _absorb(a, b)
        return a
    if (a.start - a.end, a.start, a.entity, a.exclude) < (b.start - b.end, b.start, b.entity, b.exclude):
        return a
    return b


def _merge_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """Overlapping hits of one entity become one hit over their union ("15th Five-Year Plan
    (2026-2030)" is matched by two aliases); the longest part names the alias. The union is
    ambiguous only when every part is (南沙 inside 南沙新区 is just 南沙新区)."""
    hits.sort(key=lambda h: (h.entity, h.exclude, h.start, -h.end))
    out: list[_Hit] = []
    for h in hits:
        cur = out[-1] if out else None
        if cur and (cur.entity, cur.exclude) == (h.entity, h.exclude) and h.start < cur.end:
            _absorb(cur, h)
        else:
            out.append(h)
    return out


def _absorb(cur: _Hit, h: _Hit) -> None:
    """Merge ``h`` into ``cur``, of one entity, overlapping it and starting no earlier."""
    longer = h.end - h.start > cur.end - cur.start
    if cur.rule is None or h.rule is None:
        cur.rule, cur.acronym = None, False
    elif longer:
        cur.rule, cur.acronym = h.rule, h.acronym
    if longer:
        cur.alias = h.alias
    cur.end = max(cur.end, h.end)


def _longest_first(hits: list[_Hit]) -> list[_Hit]:
    """Keep the longest hits, dropping any that overlaps one already kept; sorted by start.
    Ties: the earlier start, then the order of ``hits``."""
    base = min(h.start for h in hits)
    taken = bytearray(max(h.end for h in hits) - base)
    kept = []
    for h in sorted(hits, key=lambda h: (h.start - h.end, h.start)):
        start, end = h.start - base, h.end - base
        if taken.find(1, start, end) == -1:
            taken[start:end] = b"\x01" * (end - start)
            kept.append(h)
    kept.sort(key=_START)
    return kept


def _join_parenthesised(hits: list[_Hit], norm: str) -> list[_Hit]:
    """"Greater Bay Area (GBA)" and "GBA（粤港澳大湾区）" are one mention each: a name and its
    own acronym in parentheses. Two full names ("长三角（Yangtze River Delta）") stay two."""
    out: list[_Hit] = []
    for h in hits:
        prev = out[-1] if out else None
        if (prev and prev.acronym != h.acronym and not (prev.exclude or h.exclude)
                and prev.entity == h.entity
                and norm[prev.end:h.start] in ("(", " (") and norm[h.end:h.end + 1] == ")"):
            if prev.acronym:  # the joined hit is as ambiguous as the name in it
                prev.alias, prev.rule, prev.acronym = h.alias, h.rule, False
            prev.end = h.end + 1
        else:
            out.append(h)
    return out


def _redefines(scan: _Scan, hits: list[_Hit], i: int) -> bool:
    """An acronym defined as something else: "Game Boy Advance (GBA)" (an unjoined
    parenthesis) or "GBA (the state bar association)" (a definition after it), unless that
    definition names the entity itself ("GBA (Greater Bay Area Development Office)")."""
    hit, norm = hits[i], scan.norm.text
    if norm[hit.start - 1:hit.start] == "(" and norm[hit.end:hit.end + 1] == ")":
        return True
    after = hits[i + 1] if i + 1 < len(hits) else None
    if (after and after.entity == hit.entity and not after.acronym
            and norm[hit.end:after.start] in ("(", " (")):
        return False
    return _DEFINITION.match(scan.text, scan.original(hit)[1]) is not None


def sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` holding ``[start, end)``, stripped (see ``sentence_span``)."""
    left, right = sentence_span(text, start, end)
    return text[left:right].strip()


def sentence_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Offsets of the sentence of ``text`` holding ``[start, end)`` (unstripped).

    Sentences end after 。！？ (and their closing quotes), after . ! ? followed by whitespace
    (not after abbreviations such as "U.S." or "Mr.", nor before a lower-case word), and at
    line breaks; at most ``_SENTENCE_WINDOW`` characters are taken on either side.
    """
    right = min(len(text), end + _SENTENCE_WINDOW)
    for m in _SENTENCE_END.finditer(text, end, right):
        if _ends_sentence(text, m.start(), m.end()):
            right = m.end()
            break
    return _sentence_start(text, start), right


_SENTENCE_INDEX_FROM = 4  # mentions in a text from which their sentences are found together
# Classes of the characters below U+10000 (the sentence rules' characters all are): _STOP's
# characters; . ! ? (a stop that ends a sentence only by _ends_sentence); _CLOSERS.
_STOP_CHARACTER, _SOFT_STOP, _CLOSING = 1, 2, 4
_SENTENCE_CLASS = np.zeros(0x10001, dtype=np.uint8)  # the last: past the text's end
for _chars, _bit in (("。！？｡!?.\n", _STOP_CHARACTER), (".!?", _SOFT_STOP), (_CLOSERS, _CLOSING)):
    _SENTENCE_CLASS[[ord(c) for c in _chars]] |= _bit


class _Sentences:
    """``sentence_span`` for the mentions of one text: exactly its answers, found faster where
    a text holds many mentions.

    Every match of ``_SENTENCE_END`` and of ``_STOP`` begins at a ``_STOP`` character, so the
    text's stops are found once (array operations, which also tell the plain ones), and what
    follows from any other stop is decided once and kept: ``forward``, for the first stop at or after a mention's end, the end of the
    sentence that ``sentence_span`` reaches from there (the matches it steps over do not depend
    on the mention); ``boundary``, for the last stop before a mention's start, the nearest stop
    at or before it that ends a sentence. The rare answer that depends on the mention (beyond
    the window, a sentence end inside the mention's own closing marks) is left to
    ``sentence_span`` itself.
    """

    __slots__ = ("text", "stops", "plain", "forward", "boundary", "after")

    def __init__(self, text: str) -> None:
        self.text = text
        classes = _SENTENCE_CLASS[np.minimum(_codepoints(text), 0xFFFF)]  # U+FFFF up: no class
        stops = np.flatnonzero(classes & _STOP_CHARACTER)
        self.stops = stops.tolist()
        # Most stops are plain: 。 or a line break with no closing mark after it. Such a stop
        # ends the sentence right after itself, both ways (no walk needed).
        following = np.append(classes, 0)[stops + 1]
        self.plain = (((classes[stops] & _SOFT_STOP) | (following & _CLOSING)) == 0).tolist()
        self.forward: dict[int, int] = {}  # stop index -> end of the sentence reached from it (-1: none)
        self.boundary: dict[int, int] = {}  # stop index -> nearest sentence-ending stop at or before it (-1)
        self.after: dict[int, int] = {}  # stop index -> end of the closing marks after it

    def span(self, start: int, end: int) -> tuple[int, int]:
        """``sentence_span(text, start, end)``."""
        text, stops, plain = self.text, self.stops, self.plain
        i = bisect_left(stops, end)
        if i < len(stops) and plain[i]:
            right = stops[i] + 1
        else:
            right = self.forward.get(i)
            if right is None:
                right = self._forward(i)
        if not 0 <= right < min(len(text), end + _SENTENCE_WINDOW):
            right = sentence_span(text, start, end)[1]
        i = bisect_left(stops, start) - 1
        if i >= 0 and plain[i]:
            k, left = i, stops[i] + 1
        else:
            k = self.boundary.get(i)
            if k is None:
                k = self._boundary(i)
            left = self.after.get(k, 0)
        if k < 0 or stops[k] < start - _SENTENCE_WINDOW:
            return max(0, start - _SENTENCE_WINDOW), right
        if text[stops[k]] not in ".!?":  # ends a sentence: past its closing marks, cut at start
            return min(left, start), right
        if left < start:
            return left, right
        return _sentence_start(text, start), right

    def _forward(self, i: int) -> int:
        """Where ``sentence_span`` ends a sentence when its search meets stop ``i`` first:
        matches of ``_SENTENCE_END`` that end no sentence are stepped over (the search resumes
        after them). Kept for every stop the walk meets."""
        text, stops, forward = self.text, self.stops, self.forward
        met, right = [], -1
        while i < len(stops):
            known = forward.get(i)
            if known is not None:
                right = known
                break
            met.append(i)
            q = stops[i]
            m = _SENTENCE_END.match(text, q)
            if m is None:
                i += 1
            elif text[q] not in ".!?" or _ends_sentence(text, q, m.end()):
                right = m.end()
                break
            else:
                i = bisect_left(stops, m.end(), i + 1)
        for k in met:
            forward[k] = right
        return right

    def _boundary(self, i: int) -> int:
        """The nearest stop at or before stop ``i`` that ends a sentence (-1: none), with the
        end of the closing marks after each stop met (``after``). Kept for every stop met."""
        text, stops, boundary, after = self.text, self.stops, self.boundary, self.after
        size, met, found = len(text), [], -1
        while i >= 0:
            known = boundary.get(i)
            if known is not None:
                found = known
                break
            met.append(i)
            k = stops[i]
            j = k + 1
            while j < size and text[j] in _CLOSERS:
                j += 1
            after[i] = j
            if text[k] not in ".!?" or (j < size and _ends_sentence(text, k, j)):
                found = i
                break
            i -= 1
        for k in met:
            boundary[k] = found
        return found


def _sentence_start(text: str, start: int) -> int:
    """Start of the sentence holding position ``start``: after the nearest sentence end before
    it, looked for in a short window first (most sentences are short), then the full one."""
    for width in (64, 200, _SENTENCE_WINDOW):
        lo = max(0, start - width)
        stops = [m.start() for m in _STOP.finditer(text, lo, start)]
        for k in reversed(stops):
            j = k + 1
            while j < start and text[j] in _CLOSERS:
                j += 1
            if text[k] not in ".!?" or j < start and _ends_sentence(text, k, j):
                return j
        if lo == 0:
            break
    return lo


def _ends_sentence(text: str, k: int, j: int) -> bool:
    """Whether the stop at ``k`` (its closing marks ending at ``j``) ends a sentence."""
    if text[k] not in ".!?":
        return True
    if j >= len(text) or not text[j].isspace():
        return False
    following = text[j:j + 3].lstrip()
    if following[:1].islower():
        return False
    words = text[max(0, k - 6):k].split()
    word = words[-1].rsplit(".", 1)[-1] if words else ""  # "U.S." -> "S"
    return text[k] != "." or not (len(word) == 1 or word.lower() in _ABBREVIATIONS)
