"""The labelled gold set (tests/gold/mentions*.yaml): precision >= 0.99, recall >= 0.98 per entity.

Scoring is shared with benchmarks/mentions.py (which prints the same numbers with F1 and
confusion counts); a hit is an (entity, surface) pair, counted with multiplicity per item.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from hubwatch.config.watchlist import load_watchlist
from hubwatch.mentions.match import Matcher

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "mentions.py"
_spec = importlib.util.spec_from_file_location("bench_mentions", BENCH)
bench = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bench  # dataclasses look their module up while the file runs
_spec.loader.exec_module(bench)

# look-alikes the gold set must contain as negatives
REQUIRED_NEGATIVES = [
    "Bay Area", "San Francisco Bay Area", "Pearl River Delta", "Yangtze River Economic Belt",
    "Bohai Rim", "Hebei province", "北京、天津、河北", "十三五", "十四五", "十五年", "第十五届",
    "13th Five-Year Plan", "14th Five-Year Plan", "15-year plan", "Nansha Islands", "南沙群岛",
    "河套平原", "天津临港", "Game Boy", "旧金山湾区", "珠江三角洲", "长江经济带", "环渤海",
    # ambiguous names without their context, or with a counter-anchor
    "目前海外", "什刹海", "天津临港经济区", "记者张江", "沪昆高速", "南沙群岛", "greater Bay Area rose",
    "The Greater Bay Area's housing market", "the GBA rise",
]
REQUIRED_POSITIVES = ["five-year plan for 2026-2030", "15th Five-Year Plan (2026-2030)", "第十五个五年规划",
                      "“十五五”", "十五五规划", "Jing-Jin-Ji", "Jingjinji", "粵港澳大灣區",
                      "增城、南沙、番禺", "尤其是南沙区", "张江高科技片区", "前海将", "greater Bay Area around"]


@pytest.fixture(scope="module")
def items() -> list[dict]:
    return bench.load_gold()


@pytest.fixture(scope="module")
def scored(items):
    return bench.score(Matcher(load_watchlist()), items)


def test_gold_set_size_and_languages(items):
    assert len(items) >= 150
    files = {item["file"] for item in items}
    assert files >= {"mentions_en.yaml", "mentions_zh_hans.yaml", "mentions_zh_hant.yaml",
                     "mentions_mixed.yaml", "mentions_pages.yaml", "mentions_ambiguous.yaml"}
    ambiguous = [item for item in items if item["file"] == "mentions_ambiguous.yaml"]
    assert len(ambiguous) >= 60 and 2 * sum(1 for i in ambiguous if not i["mentions"]) >= len(ambiguous)
    assert len({item["id"] for item in items}) == len(items), "duplicate gold ids"
    assert sum(1 for item in items if item.get("title")) >= 10


def test_gold_set_holds_the_required_look_alikes_and_positives(items):
    texts = [item.get("title", "") + "\n" + item["text"] for item in items]
    negatives = [t for t, item in zip(texts, items) if not item["mentions"]]
    for phrase in REQUIRED_NEGATIVES:
        assert any(phrase in t for t in negatives), f"no negative item with {phrase!r}"
    for phrase in REQUIRED_POSITIVES:
        assert any(phrase in t for t, item in zip(texts, items) if item["mentions"]), phrase


def test_gold_mentions_are_written_in_their_items(items):
    """Every labelled surface occurs in its item as often as it is labelled."""
    for item in items:
        whole = item.get("title", "") + "\n" + item["text"]
        for entity, surface in item["mentions"]:
            labelled = sum(1 for e, s in item["mentions"] if (e, s) == (entity, surface))
            assert whole.count(surface) >= labelled, (item["id"], surface)


def test_every_entity_has_enough_gold_positives(scored):
    counts, _ = scored
    for key, c in counts.items():
        assert c.tp + c.fn >= 8, f"{key}: only {c.tp + c.fn} gold mentions"


def test_precision_and_recall_per_entity(scored):
    counts, errors = scored
    report = {k: (c.tp, c.fp, c.fn, round(c.precision, 3), round(c.recall, 3)) for k, c in counts.items()}
    for key, c in counts.items():
        assert c.precision >= 0.99, (key, report[key], errors)
        assert c.recall >= 0.98, (key, report[key], errors)
