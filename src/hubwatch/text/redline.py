"""Redlines between two versions of a text: a word-level diff (CJK one character a word)
and the sentences it added and removed.

Public API:

* ``sentence_spans(text)``: ``(start, end)`` of each sentence, in code points.
* ``diff_words(old, new)``: the word-level edit as ``Piece`` runs (equal / delete /
  insert), from :class:`difflib.SequenceMatcher` over tokens.
* ``changed_sentences(old, new)``: ``(added, removed)`` lists of sentences.

Sentence boundaries: a line break; 。！？ and ! ? (with closing quotes or brackets after
them), followed by anything (Chinese writes no space); a full stop (with closing quotes)
followed by white space or the end of the text. White space inside a sentence is
collapsed to one space in what is returned.

Added and removed sentences: an inserted run that is itself one or more whole sentences
(each piece ends with a sentence mark) is reported as those sentences, even when a site
pasted it into the middle of another sentence; a run that is a fragment (a word changed)
reports the sentence around it, in the new text for ``added`` and in the old text for
``removed``. So a reworded sentence is one removed and one added; a sentence moved is
reported removed where it was and added where it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

# One token: a run of white space, a Latin/digit word (with inner . ' ’ - such as 3.5 or
# Five-Year), one CJK ideograph (Chinese has no spaces: a character is the unit of an
# edit), or any other single character (punctuation).
_TOKEN = re.compile(r"\s+|[^\W_]+(?:[.'’\-][^\W_]+)*|.", re.S)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_CLOSERS = "”’」』）)\"'"
_BOUNDARY = re.compile(rf"[。！？!?]+[{_CLOSERS}]*|\.[{_CLOSERS}]*(?=\s|$)|\n")
_ENDS_SENTENCE = re.compile(rf"[.。！？!?][{_CLOSERS}]*$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Piece:
    """A run of the redline: ``kind`` is ``equal``, ``delete`` or ``insert``; ``text`` as
    written in the old (delete, equal) or new (insert) version."""

    kind: str
    text: str


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of each non-blank sentence of ``text``, trimmed."""
    spans, start = [], 0
    for match in _BOUNDARY.finditer(text):
        spans.append((start, match.end()))
        start = match.end()
    spans.append((start, len(text)))
    trimmed = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            trimmed.append((s, e))
    return trimmed


def _tokens(text: str) -> list[tuple[str, int]]:
    out = []
    for m in _TOKEN.finditer(text):
        token = m.group()
        if len(token) > 1 and _CJK.search(token):  # CJK inside a \w run: one per character
            out.extend((ch, m.start() + i) for i, ch in enumerate(token))
        else:
            out.append((token, m.start()))
    return out


def _opcodes(old: str, new: str):
    """``(tag, old_start, old_end, new_start, new_end)`` in code points."""
    a, b = _tokens(old), _tokens(new)
    ops = _slid(SequenceMatcher(None, [t for t, _ in a], [t for t, _ in b],
                                autojunk=False).get_opcodes(),
                [t for t, _ in a], [t for t, _ in b])
    a_at = [p for _, p in a] + [len(old)]
    b_at = [p for _, p in b] + [len(new)]
    for tag, i1, i2, j1, j2 in ops:
        if i2 > i1 or j2 > j1:
            yield tag, a_at[i1], a_at[i2], b_at[j1], b_at[j2]


def _slid(ops, a: list[str], b: list[str]) -> list[list]:
    """Opcodes with each pure insertion or deletion slid (where the tokens around it
    allow an equally short diff) to end on a sentence mark: ``。“X”中心`` and
    ``“X”中心。`` are the same edit, and the second is the sentence that was added."""
    ops = [list(op) for op in ops]
    for k in range(1, len(ops) - 1):
        tag, i1, i2, j1, j2 = ops[k]
        before, after = ops[k - 1], ops[k + 1]
        if before[0] != "equal" or after[0] != "equal" or tag not in ("insert", "delete"):
            continue
        seq, lo, hi = (b, j1, j2) if tag == "insert" else (a, i1, i2)
        floor = before[3] if tag == "insert" else before[1]
        ceiling = after[4] if tag == "insert" else after[2]
        shifts = [0]
        s = 0
        while lo + s - 1 >= floor and seq[lo + s - 1] == seq[hi + s - 1]:
            s -= 1
            shifts.append(s)
        s = 0
        while hi + s < ceiling and seq[lo + s] == seq[hi + s]:
            s += 1
            shifts.append(s)
        best = next((x for x in sorted(shifts, key=abs)
                     if _ENDS_SENTENCE.search("".join(seq[lo + x:hi + x]).rstrip())), 0)
        if best:
            before[2] += best; before[4] += best  # noqa: E702 - one shift, four ends
            ops[k] = [tag, i1 + best, i2 + best, j1 + best, j2 + best]
            after[1] += best; after[3] += best  # noqa: E702
    return ops


# A paragraph with the line breaks that end it: the units of the first, coarse diff.
_PARAGRAPH = re.compile(r"[^\n]*\n*")
SIMILAR = 0.6  # SequenceMatcher ratio above which an added paragraph is an edited copy


def _paragraphs(text: str) -> list[str]:
    return [m.group() for m in _PARAGRAPH.finditer(text) if m.group()]


def _blocks(old: str, new: str):
    """Paragraph-level opcodes ``(tag, old_paragraphs, new_paragraphs)``: the word diff
    runs only inside replaced blocks, so a paragraph repeated elsewhere in the page
    cannot pull the alignment across the whole text (what ``git diff --word-diff``
    does by lines)."""
    a, b = _paragraphs(old), _paragraphs(new)
    matcher = SequenceMatcher(None, [p.strip() for p in a], [p.strip() for p in b],
                              autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        yield tag, a[i1:i2], b[j1:j2]


def diff_words(old: str, new: str) -> list[Piece]:
    """The word-level redline from ``old`` to ``new`` (a replacement is a delete then an
    insert); concatenating the equal and insert pieces gives ``new``."""
    pieces: list[Piece] = []
    for tag, olds, news in _blocks(old, new):
        if tag == "equal":
            pieces.append(Piece("equal", "".join(news)))
        elif tag == "delete":
            pieces.append(Piece("delete", "".join(olds)))
        elif tag == "insert":
            pieces.append(Piece("insert", "".join(news)))
        else:
            pieces.extend(_word_pieces("".join(olds), "".join(news)))
    merged: list[Piece] = []
    for piece in pieces:  # neighbours of one kind read as one run
        if merged and merged[-1].kind == piece.kind:
            merged[-1] = Piece(piece.kind, merged[-1].text + piece.text)
        elif piece.text:
            merged.append(piece)
    return merged


def _word_pieces(old: str, new: str) -> list[Piece]:
    pieces = []
    for tag, a1, a2, b1, b2 in _opcodes(old, new):
        if tag == "equal":
            pieces.append(Piece("equal", new[b1:b2]))
            continue
        if a2 > a1:
            pieces.append(Piece("delete", old[a1:a2]))
        if b2 > b1:
            pieces.append(Piece("insert", new[b1:b2]))
    return pieces


def changed_sentences(old: str, new: str) -> tuple[list[str], list[str]]:
    """``(added, removed)``: the sentences an edit from ``old`` to ``new`` added and
    removed, each in text order, without repeats (see the module docstring)."""
    added: dict[str, None] = {}
    removed: dict[str, None] = {}
    old_paras = [p.strip() for p in _paragraphs(old)]
    new_paras = [p.strip() for p in _paragraphs(new)]
    for tag, olds, news in _blocks(old, new):
        if tag == "replace":
            _word_changes("".join(olds), "".join(news), added, removed)
        if tag == "insert":
            for para in news:
                _whole_or_edited(para.strip(), old_paras, added, side=0)
        if tag == "delete":
            for para in olds:
                _whole_or_edited(para.strip(), new_paras, removed, side=1)
    return list(added), list(removed)


def _whole_or_edited(para: str, others: list[str], into: dict[str, None], side: int) -> None:
    """An added (``side`` 0) or removed (1) paragraph: when it is an edited copy of a
    paragraph of the other version (a site may keep the old wording in a summary beside
    the edited body), only what the edit changed; else every sentence of it."""
    best, best_ratio = None, SIMILAR
    for other in others:
        matcher = SequenceMatcher(None, other, para, autojunk=False)
        # the cheap upper bounds first: most paragraphs are nothing alike
        if matcher.real_quick_ratio() >= best_ratio and matcher.quick_ratio() >= best_ratio:
            ratio = matcher.ratio()
            if ratio >= best_ratio:
                best, best_ratio = other, ratio
    if best is not None:
        sink: dict[str, None] = {}
        pair = (best, para) if side == 0 else (para, best)
        _word_changes(*pair, *((into, sink) if side == 0 else (sink, into)))
        return
    for s, e in sentence_spans(para):
        into[_SPACE.sub(" ", para[s:e])] = None


def _word_changes(old: str, new: str, added: dict[str, None], removed: dict[str, None]) -> None:
    old_spans, new_spans = sentence_spans(old), sentence_spans(new)
    for tag, a1, a2, b1, b2 in _opcodes(old, new):
        if tag == "equal":
            continue
        _collect(new, b1, b2, new_spans, added)
        _collect(old, a1, a2, old_spans, removed)


def _collect(text: str, start: int, end: int, spans: list[tuple[int, int]],
             into: dict[str, None]) -> None:
    if not text[start:end].strip():
        return
    for s, e in sentence_spans(text[start:end]):
        piece = text[start + s:start + e]
        if _whole_sentence(piece) and _starts_sentence(text, start + s, spans):
            into[_SPACE.sub(" ", piece)] = None
            continue
        for ss, se in spans:  # a fragment: the sentence(s) it touches
            if ss < start + e and start + s < se:
                into[_SPACE.sub(" ", text[ss:se])] = None


def _whole_sentence(piece: str) -> bool:
    """Ends with a sentence mark and is long enough to be one (not a changed last word)."""
    if not _ENDS_SENTENCE.search(piece):
        return False
    return len(piece.split()) >= 3 or len(_CJK.findall(piece)) >= 6


def _starts_sentence(text: str, at: int, spans: list[tuple[int, int]]) -> bool:
    """Whether a piece beginning at ``at`` can be a sentence of its own: it begins a
    sentence of the text, or with a capital letter, a CJK character or an opening quote
    (a pasted sentence), not with a lower-case word continuing another."""
    if any(s == at for s, _ in spans):
        return True
    first = text[at]
    return first.isupper() or bool(_CJK.match(first)) or first in "“‘「『（(\"'"
