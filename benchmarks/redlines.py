"""Redline cost: ``changed_sentences`` (what ``update_version_diffs`` runs per version
pair) on generated page pairs, beside an anchor measured in the same run.

Usage::

    .venv/bin/python benchmarks/redlines.py [--pairs 300] [--paragraphs 20]

Each pair is a generated article (Chinese and English paragraphs of about 120 code points)
and the same article with one sentence pasted into a paragraph, one paragraph dropped and
one word changed. The anchor is ``difflib.SequenceMatcher.ratio`` over the two whole texts
character by character (the cheapest whole-text diff of the standard library).
"""

from __future__ import annotations

import argparse
import random
import time
from difflib import SequenceMatcher

from hubwatch.text.redline import changed_sentences

ZH = "粤港澳大湾区加快建设国际科技创新中心，推动产业协同发展。长三角一体化继续深化。"
EN = "The Yangtze River Delta expands its chip research. Officials cite the plan. "


def _pair(rng: random.Random, paragraphs: int) -> tuple[str, str]:
    paras = [(ZH if i % 2 else EN) * 2 + f"{i} {rng.random():.6f}。" for i in range(paragraphs)]
    old = "\n\n".join(paras)
    edited = list(paras)
    k = rng.randrange(paragraphs)
    cut = len(edited[k]) // 2
    edited[k] = edited[k][:cut] + "“十五五”期间，京津冀将加快协同。" + edited[k][cut:]
    del edited[(k + 3) % paragraphs]
    j = (k + 5) % len(edited)
    edited[j] = edited[j].replace("expands", "widens", 1).replace("加快", "全面加快", 1)
    return old, "\n\n".join(edited)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--paragraphs", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(14)
    pairs = [_pair(rng, args.paragraphs) for _ in range(args.pairs)]
    chars = sum(len(a) + len(b) for a, b in pairs)
    started = time.perf_counter()
    for old, new in pairs:
        changed_sentences(old, new)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    for old, new in pairs:
        SequenceMatcher(None, old, new, autojunk=False).ratio()
    anchor = time.perf_counter() - started
    print(f"{args.pairs} pairs, {chars / args.pairs / 2:.0f} code points a version")
    print(f"changed_sentences            {ours / args.pairs * 1000:7.2f} ms/pair "
          f"{args.pairs / ours:8.0f} pairs/s")
    print(f"anchor SequenceMatcher.ratio {anchor / args.pairs * 1000:7.2f} ms/pair "
          f"{args.pairs / anchor:8.0f} pairs/s")


if __name__ == "__main__":
    main()
