"""The matcher's output, pinned: a fingerprint of everything ``Matcher.find_explained`` returns
(mentions with offsets and sentences, unanchored names with reasons) over the gold texts and
mention-dense documents built from them (and over the shared corpus's gold texts when
``HUBWATCH_SHARED`` is set), compared with the fingerprint recorded when the matcher was
restructured for speed.

A speed change must leave the output byte-identical. A rule change is the other case: it bumps
``MATCHER_VERSION`` (so the revision differs and this test says to record a new fingerprint with
``python tests/unit/test_match_fingerprint.py``), as does any watch-list edit.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from hubwatch.config.watchlist import load_watchlist
from hubwatch.mentions.match import Matcher

GOLD_DIR = Path(__file__).resolve().parents[1] / "gold"

# revision of the matcher that recorded the fingerprints -> {input set: fingerprint}
# (recorded with the matcher of main at 98a0e4e, before the speed work; the same since)
RECORDED = {
    "revision": "524fa37633546f7ba3e00f4bb1ec113a731f164c602d99cc3f318df082b69efb",
    "gold": "5e4c0ba86a6041e5b152fee72355f4c4507902a6c3a2c13a62e9ffde80152609",
    "corpus": "1b6089734a6ff73eb1f1137df8299940b3dc58cb1c55490025f2f1c68bbc4566",
}


def gold_inputs() -> list[tuple[str, str]]:
    """(title, text) pairs from the gold texts: as labelled, without title, with invisible
    characters and a multi-character fold (…) inside, and glued into dense documents."""
    texts = []
    for path in sorted(GOLD_DIR.glob("mentions*.yaml")):
        texts += yaml.safe_load(path.read_text(encoding="utf-8"))
    inputs = []
    for item in texts:
        text = item["text"]
        inputs += [(item.get("title", ""), text), ("", text),
                   (text[:40], text.replace("。", "…", 1).replace(" ", "\u200b ", 3)),
                   ("", text.replace("\n", "\n\n  ").replace(".", ". ") + " U.S. Mr. ok.\" Next!")]
    for size in (1500, 4000):
        current: list[str] = []
        for item in texts:
            current.append(item["text"])
            if sum(map(len, current)) >= size:
                inputs += [("", "\n\n".join(current)), ("", "\n\n".join(current).upper())]
                current = []
    return inputs


def corpus_inputs(shared: Path) -> list[tuple[str, str]]:
    """(title, text) pairs from the shared corpus's gold main texts, whole and split."""
    inputs = []
    for path in sorted((shared / "corpus").rglob("*.gold.json")):
        content = json.loads(path.read_text(encoding="utf-8")).get("content")
        if isinstance(content, str) and content.strip():
            inputs += [("", content), (content[:200], content[200:])]
    return inputs


def fingerprint(matcher: Matcher, inputs: list[tuple[str, str]]) -> str:
    """SHA-256 of the JSON of every finding, input by input."""
    digest = hashlib.sha256()
    for title, text in inputs:
        found = matcher.find_explained(title, text)
        assert found.mentions == matcher.find(title, text)
        record = [[list(vars(m).values()) for m in found.mentions],
                  [list(vars(u).values()) for u in found.unanchored]]
        digest.update(json.dumps(record, ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    matcher = Matcher(load_watchlist())
    if matcher.revision != RECORDED["revision"]:
        pytest.fail("matcher revision changed (MATCHER_VERSION or the watch-list): if the output is "
                    "meant to change, record new fingerprints: python tests/unit/test_match_fingerprint.py")
    return matcher


def test_gold_output_unchanged(matcher: Matcher) -> None:
    assert fingerprint(matcher, gold_inputs()) == RECORDED["gold"]


def test_corpus_output_unchanged(matcher: Matcher) -> None:
    shared = os.environ.get("HUBWATCH_SHARED")
    if not shared:
        pytest.skip("HUBWATCH_SHARED not set")
    assert fingerprint(matcher, corpus_inputs(Path(shared))) == RECORDED["corpus"]


if __name__ == "__main__":
    current = Matcher(load_watchlist())
    print(json.dumps({"revision": current.revision, "gold": fingerprint(current, gold_inputs()),
                      "corpus": fingerprint(current, corpus_inputs(Path(sys.argv[1] if len(sys.argv) > 1
                                                                            else os.environ["HUBWATCH_SHARED"])))},
                     indent=4))
