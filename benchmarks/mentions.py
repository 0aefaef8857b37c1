"""Mention matching: precision/recall per entity on the gold set, and throughput.

Usage::

    .venv/bin/python benchmarks/mentions.py [--shared ../shared] [--mb 20]

Part 1 scores ``Matcher.find`` on ``tests/gold/mentions*.yaml`` (TP/FP/FN, P, R, F1 per
entity; a hit is an (entity, surface) pair, counted with multiplicity per item).

Part 2 measures MB of UTF-8 text per second of CPU time (``time.process_time``, best of
``--repeat`` passes, so other load on the host barely moves it) over the shared corpus's gold
main texts (``$HUBWATCH_SHARED/corpus``) repeated to at least ``--mb`` MB, one document per
call, and over mention-dense documents (the gold texts glued together). Anchors measured in the
same run: ``unicodedata.normalize('NFKC')`` alone, a plain ``str.translate`` with the matcher's
fold table, and the matcher as it was before ambiguous names were anchored (commit
``ANCHOR_COMMIT``'s ``match.py``, read with ``git show``, on today's watch-list: it ignores the
``ambiguous`` groups), printed beside today's matcher with the ratio. The targets: today's
matcher within 10% of that anchor on both inputs, and at least ``DENSE_TARGET`` MB/s on dense
text (its own line under the dense figure, with today's ratio to it). Under it, the floor of a
pure-Python matcher on the same dense documents (normalise, one automaton scan, boundary
classes, one ``Mention`` per name found; no rule, no sentence) in µs per document, beside
today's and the target's budget: what the target leaves for the rules. The anchor imports
pyahocorasick (a dev dependency); today's matcher searches with ahocorasick_rs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent

from hubwatch.config.watchlist import load_watchlist
from hubwatch.mentions.match import Matcher, _fold_table, normalise

GOLD_DIR = REPO / "tests" / "gold"
ANCHOR_COMMIT = "7241ea7"  # the last matcher before context anchoring of ambiguous names
DENSE_TARGET = 15.0  # MB/s on mention-dense text (the speed issue's bar)


@dataclass
class Counts:
    """Confusion counts of one entity."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_gold(folder: Path = GOLD_DIR) -> list[dict]:
    """Every gold item (``id``, ``text``, optional ``title``, ``mentions``) of every file."""
    items = []
    for path in sorted(folder.glob("mentions*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")):
            item["file"] = path.name
            items.append(item)
    return items


def score(matcher: Matcher, items: list[dict]) -> tuple[dict[str, Counts], list[str]]:
    """Per-entity counts over ``items`` and a line per error (``id: FP|FN entity surface``)."""
    counts = {e.key: Counts() for e in matcher.watchlist.entities}
    errors = []
    for item in items:
        gold = Counter((entity, surface) for entity, surface in item["mentions"])
        found = Counter((m.entity, m.surface) for m in matcher.find(item.get("title", ""), item["text"]))
        for (entity, surface), _n in (gold | found).items():
            tp = min(gold[(entity, surface)], found[(entity, surface)])
            counts.setdefault(entity, Counts()).tp += tp
            for kind, extra in (("FP", found[(entity, surface)] - tp), ("FN", gold[(entity, surface)] - tp)):
                if extra:
                    setattr(counts[entity], kind.lower(), getattr(counts[entity], kind.lower()) + extra)
                    errors.append(f"{item['id']}: {kind} {entity} {surface!r}")
    return counts, errors


def corpus_texts(shared: Path) -> list[str]:
    """Gold main texts of the shared corpus (policy pages and extraction evaluation sets)."""
    corpus = shared / "corpus"
    texts = []
    for path in sorted(corpus.rglob("*.gold.json")):
        content = json.loads(path.read_text(encoding="utf-8")).get("content")
        if isinstance(content, str) and content.strip():
            texts.append(content)
    for path in sorted(corpus.rglob("*.gold.txt")):
        data = path.read_bytes()
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(data.decode("gb18030", errors="replace"))  # cx-netease-gbk gold is GBK
    return texts


def _anchor_matcher(watchlist):
    """The matcher of ``ANCHOR_COMMIT`` built on ``watchlist``, or (None, why not)."""
    try:
        source = subprocess.run(["git", "-C", str(REPO), "show", f"{ANCHOR_COMMIT}:src/hubwatch/mentions/match.py"],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"git show {ANCHOR_COMMIT} failed: {exc}"
    name = f"hubwatch_match_{ANCHOR_COMMIT}"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
    return module.Matcher(watchlist), ""


def _seconds(docs: list[str], fn, repeat: int) -> float:
    """Best-of-``repeat`` CPU seconds of ``fn`` over ``docs`` (CPU time and best-of damp other
    load on the host)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for doc in docs:
            fn(doc)
        best = min(best, time.process_time() - start)
    return best


def _rate(label: str, docs: list[str], nbytes: int, fn, repeat: int, anchor: float | None = None) -> float:
    """Print and return the MB/s of ``fn`` over ``docs``, with its ratio to ``anchor``."""
    best = _seconds(docs, fn, repeat)
    rate = nbytes / best / 1e6
    ratio = f"  x{rate / anchor:.2f} of NFKC" if anchor else ""
    print(f"  {label:<46} {rate:8.1f} MB/s  ({best:.2f} s CPU){ratio}")
    return rate


def _side_by_side(label: str, docs: list[str], nbytes: int, matcher: Matcher, anchor, repeat: int,
                  target: float | None = None) -> float:
    """Today's ``Matcher.find`` beside the anchor matcher's on the same documents (alternating
    passes, so both see the same load), with the ratio and the bar it must meet. Returns
    today's MB/s."""
    now = then = float("inf")
    for _ in range(repeat):
        now = min(now, _seconds(docs, lambda d: matcher.find("", d), 1))
        if anchor is not None:
            then = min(then, _seconds(docs, lambda d: anchor.find("", d), 1))
    rate = nbytes / now / 1e6
    line = f"  {label:<46} {rate:8.1f} MB/s"
    if anchor is not None:
        before = nbytes / then / 1e6
        line += (f"   anchor {ANCHOR_COMMIT}: {before:6.1f} MB/s   x{rate / before:.2f} "
                 f"({'within' if rate >= 0.9 * before else 'NOT within'} 10%)")
    print(line)
    if target is not None:
        print(f"  {'  target: absolute, mention-dense text':<46} {target:8.1f} MB/s   today x{rate / target:.2f} "
              f"of it ({'met' if rate >= target else 'NOT met'})")
    return rate


def throughput(matcher: Matcher, shared: Path, mb: float, repeat: int = 3) -> None:
    """Print MB/s of the matcher and of the anchors over the same documents."""
    base = corpus_texts(shared)
    base_bytes = sum(len(t.encode("utf-8")) for t in base)
    repeats = max(1, int(mb * 1e6 // base_bytes) + 1)
    docs = base * repeats
    nbytes = base_bytes * repeats
    cjk = sum(1 for t in base for c in t if "\u4e00" <= c <= "\u9fff") / sum(len(t) for t in base)
    print(f"\nThroughput: {len(base)} corpus gold texts x {repeats} = {len(docs)} documents, "
          f"{nbytes / 1e6:.1f} MB UTF-8, {cjk:.0%} CJK characters, one core, CPU time, best of {repeat}")
    table = _fold_table()
    nfkc = _rate("anchor: unicodedata.normalize('NFKC') alone", docs, nbytes,
                 lambda d: unicodedata.normalize("NFKC", d), repeat)
    _rate("anchor: plain str.translate (fold table)", docs, nbytes,
          lambda d: d.translate(table), repeat, nfkc)
    _rate("mentions.match.normalise (fold+spaces+map)", docs, nbytes, normalise, repeat, nfkc)
    found = Counter()
    _rate("Matcher.find (normalise+search+map+sentence)", docs, nbytes,
          lambda d: found.update(m.entity for m in matcher.find("", d)), repeat, nfkc)
    per_pass = {k: v // (repeats * repeat) for k, v in sorted(found.items())}
    print(f"  mentions found per pass over the corpus: {per_pass}")
    anchor, why = _anchor_matcher(matcher.watchlist)
    if anchor is None:
        print(f"  anchor matcher skipped: {why}")
    dense = _dense_documents()
    dense_bytes = sum(len(t.encode("utf-8")) for t in dense)
    times = max(1, int(mb * 1e6 / 4 // dense_bytes))
    per_doc = sum(len(matcher.find("", d)) for d in dense) / len(dense)
    print(f"\nMatcher.find today beside the matcher of {ANCHOR_COMMIT} (best of {repeat}, alternating):")
    _side_by_side("corpus", docs, nbytes, matcher, anchor, repeat)
    today = _side_by_side(f"dense ({per_doc:.0f} mentions/doc, {dense_bytes * times / 1e6:.1f} MB)",
                          dense * times, dense_bytes * times, matcher, anchor, repeat, DENSE_TARGET)
    floor = _seconds(dense * times, lambda d: _floor(matcher, d), repeat)
    us = 1e6 / (len(dense) * times)  # seconds over all passes' documents -> µs per document
    budget = dense_bytes / len(dense) / DENSE_TARGET  # µs per dense document at the target
    print(f"  {'  floor: normalise+search+a Mention per name':<46} {dense_bytes * times / floor / 1e6:8.1f} MB/s"
          f"   {floor * us:.0f} µs/doc; today {dense_bytes / len(dense) / today:.0f}, the target's budget "
          f"{budget:.0f}: rules and sentences get {budget - floor * us:.0f} µs/doc of it")


def _floor(matcher: Matcher, text: str) -> list:
    """The least a pure-Python matcher does per document: normalise, one automaton scan,
    the boundary classes, and one ``Mention`` per name found (surface sliced, offsets through
    the map back), without any matching rule or sentence. The dense line's distance to this
    is the cost of the rules."""
    from hubwatch.mentions.match import _NAME, _new_mention
    from hubwatch.models.records import Mention

    norm = normalise(text)
    found = matcher._found(norm)
    if found is None:
        return []
    starts, ends, _, counts = matcher._classify(norm, found)
    rows = (counts & _NAME).nonzero()[0]
    out = []
    for start, end in norm.originals(starts[rows].tolist(), ends[rows].tolist()):
        mention = _new_mention(Mention)
        mention.__dict__.update(entity="", alias="", surface=text[start:end], start=start, end=end,
                                zone="body", sentence="")
        out.append(mention)
    return out


def _dense_documents(size: int = 4000) -> list[str]:
    """The gold texts glued into documents of about ``size`` characters: pages that are
    mostly about the hubs (every sentence a mention or a look-alike)."""
    docs, current = [], []
    for item in load_gold():
        current.append(item["text"])
        if sum(map(len, current)) >= size:
            docs.append("\n\n".join(current))
            current = []
    return docs + (["\n\n".join(current)] if current else [])


def print_scores(counts: dict[str, Counts], errors: list[str], items: list[dict]) -> None:
    print(f"Gold set: {len(items)} items, {sum(len(i['mentions']) for i in items)} gold mentions, "
          f"{sum(1 for i in items if not i['mentions'])} negative items")
    print(f"  {'entity':<11} {'TP':>4} {'FP':>4} {'FN':>4} {'P':>7} {'R':>7} {'F1':>7}")
    total = Counts()
    for key, c in counts.items():
        total.tp, total.fp, total.fn = total.tp + c.tp, total.fp + c.fp, total.fn + c.fn
        print(f"  {key:<11} {c.tp:>4} {c.fp:>4} {c.fn:>4} {c.precision:>7.3f} {c.recall:>7.3f} {c.f1:>7.3f}")
    print(f"  {'(all)':<11} {total.tp:>4} {total.fp:>4} {total.fn:>4} "
          f"{total.precision:>7.3f} {total.recall:>7.3f} {total.f1:>7.3f}")
    for line in errors:
        print("  error:", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", default=os.environ.get("HUBWATCH_SHARED"),
                        help="path of ../shared (default: $HUBWATCH_SHARED)")
    parser.add_argument("--mb", type=float, default=20.0, help="MB of text for the throughput run")
    parser.add_argument("--repeat", type=int, default=3, help="timed passes per measurement (best kept)")
    args = parser.parse_args()
    matcher = Matcher(load_watchlist())
    items = load_gold()
    print_scores(*score(matcher, items), items)
    if args.shared:
        throughput(matcher, Path(args.shared), args.mb, args.repeat)
    else:
        print("\nThroughput skipped: pass --shared or set HUBWATCH_SHARED")


if __name__ == "__main__":
    main()
