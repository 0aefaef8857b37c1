"""The matcher's fast paths give the answers of the plain rules they stand for: one search for
names, exclusions and context words (context words found in the whole text, exclusions kept
where they can swallow a hit), overlaps resolved group by group, sentences found from the
text's stops, mentions built without the dataclass constructor. Small watch-lists written for
these tests; the gold and corpus outputs are pinned by ``test_match_fingerprint.py``."""

from __future__ import annotations

import copy
import dataclasses
import random

import pytest

from hubwatch.config.watchlist import Watchlist, load_watchlist
from hubwatch.mentions import match
from hubwatch.mentions.match import ANCHOR_WINDOW, Matcher, Mention, sentence_span


def tiny(exclude: list[str] | None = None, **group) -> Matcher:
    """A hub and its sub-area, whose bare name "Sub" is ambiguous (``group``: the rule)."""
    return Matcher(Watchlist.model_validate({"entities": [
        {"key": "hub", "name": "Hub", "aliases": {"en": ["Hub Region"]}, "acronyms": ["HR"]},
        {"key": "sub", "name": "Sub", "parent": "hub", "aliases": {"en": ["Sub Zone"]},
         "exclude": exclude or [], "ambiguous": [{"aliases": ["Sub"], **group}]},
        {"key": "isle", "name": "Isle", "aliases": {"en": ["Isle Bay"]}}]}))


def found(m: Matcher, text: str, title: str = "") -> list[tuple[str, str, str]]:
    """(entity, surface, zone) of every mention, checked against the texts."""
    out = m.find(title, text)
    for x in out:
        assert (title if x.zone == "title" else text)[x.start:x.end] == x.surface
    return [(x.entity, x.surface, x.zone) for x in out]


# ----------------------------------------------------------------------------- context words


def pad(n: int) -> str:
    """``n`` characters of filler (no watch-list word), as normalised: single spaced letters."""
    return ("x " * n)[:n]


@pytest.mark.parametrize(("veto_gap", "anchor_gap", "counts"), [
    (ANCHOR_WINDOW + 1, ANCHOR_WINDOW, True),  # the anchor is within the window, the veto just past it
    (ANCHOR_WINDOW, ANCHOR_WINDOW + 1, False),  # and the other way round
    (ANCHOR_WINDOW, ANCHOR_WINDOW, False),  # a veto wins a tie, at the window's edge too
])
def test_evidence_at_the_window_edge(veto_gap, anchor_gap, counts):
    """Context words are found over the whole text once; the window still decides which are
    near (distance: characters between the name and the word, normalised)."""
    m = tiny(anchors=["port"], vetoes=["island"])
    text = "island " + pad(veto_gap - 2) + " Sub " + pad(anchor_gap - 2) + " port"
    assert (found(m, text) == [("sub", "Sub", "body")]) is counts
    reasons = [u.reason for u in m.find_explained("", text).unanchored]
    assert reasons == ([] if counts else ["veto nearby: island"])


def test_context_words_of_a_zone_without_names_count_for_the_document():
    m = tiny(anchors=["port"], vetoes=["island"])
    far = pad(3 * ANCHOR_WINDOW)
    assert found(m, "Sub", title="port news") == [("sub", "Sub", "body")]
    assert found(m, "Sub " + far, title="island news") == []
    assert [u.reason for u in m.find_explained("island news", "Sub").unanchored] == ["veto in document: island"]


def test_a_name_that_is_also_a_context_word_is_both():
    """One search string can be an alias of one entity and an anchor or veto of another."""
    m = tiny(anchors=["Hub Region"], vetoes=["Isle Bay"])
    assert found(m, "Hub Region: Sub") == [("hub", "Hub Region", "body"), ("sub", "Sub", "body")]
    assert found(m, "Isle Bay: Sub") == [("isle", "Isle Bay", "body")]
    assert found(m, "Hub Regions and Sub") == []  # a word boundary fails for both roles


# ----------------------------------------------------------------------------- exclusions


def test_exclusions_swallow_only_through_a_hit():
    """An exclusion counts where it overlaps a hit; one that overlaps only another exclusion
    is not tried, so it cannot free the hit that exclusion swallows."""
    m = tiny(exclude=["Zone West", "West Gate Road"], anchors=["port"])
    assert found(m, "Sub Zone") == [("sub", "Sub Zone", "body")]
    assert found(m, "Sub Zone West") == []
    assert found(m, "Sub Zone West Gate Road") == []
    assert found(m, "West Gate Road, Sub Zone") == [("sub", "Sub Zone", "body")]


@pytest.mark.parametrize("exclude", [["Harbour Road Office"], []])
def test_an_exclusion_opening_an_acronyms_parenthesis(exclude):
    """"HR (" or "HR(" + an exclusion of the acronym's own entity is tried although it overlaps
    no hit: the parenthesis then names the entity's own office, not something else, so the
    acronym counts. Without that exclusion, "(Harbour Road Office)" defines HR otherwise."""
    m = Matcher(Watchlist.model_validate({"entities": [
        {"key": "hub", "name": "Hub", "aliases": {"en": ["Hub Region"]}, "acronyms": ["HR"],
         "exclude": exclude}]}))
    for text in ("Hub Region is near. HR (Harbour Road Office) said.", "Hub Region. HR(Harbour Road Office)."):
        expected = [("hub", "Hub Region", "body")] + ([("hub", "HR", "body")] if exclude else [])
        assert found(m, text) == expected


def test_lone_surrogates_around_names():
    m = Matcher(load_watchlist())
    text = "\ud800京津冀\udfff and \ud83d Hengqin\ud800"
    assert found(m, text, title="\udc00雄安") == [
        ("xiongan", "雄安", "title"), ("bth", "京津冀", "body"), ("hengqin", "Hengqin", "body")]


# ----------------------------------------------------------------------------- overlaps


def random_hits(rng: random.Random) -> list[match._Hit]:
    hits = []
    for _ in range(rng.randint(1, 9)):
        start = rng.randint(0, 30)
        hits.append(match._Hit(start, start + rng.randint(1, 8), rng.choice("ab"), rng.choice("pqrs"),
                               rng.choice([None, 0, 1]), rng.random() < 0.3, rng.random() < 0.2))
    return hits


@pytest.mark.parametrize("seed", range(400))
def test_overlaps_resolved_by_group_as_over_the_whole_text(seed):
    """``_resolve_overlaps`` (groups of overlapping hits, pairs directly) equals merging one
    entity's overlaps and keeping the longest hits over all hits at once."""
    hits = random_hits(random.Random(seed))
    expected = match._longest_first(match._merge_overlaps(copy.deepcopy(hits)))
    assert match._resolve_overlaps(copy.deepcopy(hits)) == expected


# ----------------------------------------------------------------------------- sentences

PIECES = ["。", "！", "？", ".", "!", "?", "?!", "...", "\n", "\n\n", " ", "  ", "”", "」", ")", "\"", "’",
          "U.S.", "Mr.", "No. 5", "a", "Bay", "the", "南沙", "大湾区", "x", "y z", "3.5", "。”", ".)"]


@pytest.mark.parametrize("seed", range(300))
def test_sentences_found_together_are_sentence_span(seed):
    rng = random.Random(seed)
    text = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 400)))
    spans = sorted((a, min(len(text), a + rng.randint(1, 6))) for a in
                   (rng.randrange(len(text)) for _ in range(12)))
    together = match._Sentences(text)
    assert [together.span(a, b) for a, b in spans] == [sentence_span(text, a, b) for a, b in spans]


def test_sentences_beyond_the_window_are_sentence_span():
    text = "Start. " + "word " * 200 + "Sub here " + "more " * 200 + "end."
    start = text.index("Sub")
    assert match._Sentences(text).span(start, start + 3) == sentence_span(text, start, start + 3)


@pytest.mark.parametrize("seed", range(100))
def test_sentences_of_many_mentions_are_sentence_span(seed):
    """A text with many mentions takes its sentences from its stops (plain ones and ". " read
    inline): each is the sentence ``sentence_span`` gives, or the sentence of the mention
    before when it lies inside that (a mention in its predecessor's sentence shares it)."""
    rng = random.Random(seed)
    text = "".join(rng.choice([*PIECES, "Hub Region", " Sub Zone", "HR", "Hub Region (HR)"])
                   for _ in range(rng.randint(20, 400)))
    mentions = tiny(anchors=["port"]).find_in(text)
    expected, left, right = [], 0, 0
    for x in mentions:
        if not left <= x.start < x.end <= right:
            left, right = sentence_span(text, x.start, x.end)
        expected.append(text[left:right].strip())
    assert [x.sentence for x in mentions] == expected


# ----------------------------------------------------------------------------- records


def test_mentions_are_the_constructors():
    """Mentions are built by filling their ``__dict__``: only right while Mention is a plain
    frozen dataclass of these fields (no __post_init__, no slots)."""
    assert dataclasses.is_dataclass(Mention) and Mention.__dataclass_params__.frozen
    assert not hasattr(Mention, "__post_init__") and not hasattr(Mention, "__slots__")
    assert [f.name for f in dataclasses.fields(Mention)] == [
        "entity", "alias", "surface", "start", "end", "zone", "sentence"]
    m = Matcher(load_watchlist())
    text = "粤港澳大湾区（GBA）建设。京津冀协同发展。Lingang and Nansha. 南沙区。前海合作区。长三角。"
    mentions = m.find("", text)
    assert len(mentions) > match._SENTENCE_INDEX_FROM
    for x in mentions:
        built = Mention(**vars(x))
        assert x == built and hash(x) == hash(built) and list(vars(x)) == list(vars(built))
        with pytest.raises(dataclasses.FrozenInstanceError):
            x.start = 0  # type: ignore[misc]
