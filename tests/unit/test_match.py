"""flows.match: normalisation, offsets into the original text, overlap and acronym rules."""

from __future__ import annotations

import random
import re

import pytest

from hubwatch.config.watchlist import Watchlist, load_watchlist
from hubwatch.mentions.match import (
    MATCHER_VERSION,
    Matcher,
    Mention,
    _fold_table,
    normalise,
    normalise_alias,
    sentence_around,
)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_watchlist())


def pairs(mentions: list[Mention]) -> list[tuple[str, str]]:
    return [(m.entity, m.surface) for m in mentions]


def assert_offsets(mentions: list[Mention], title: str, text: str) -> None:
    for m in mentions:
        source = title if m.zone == "title" else text
        assert source[m.start:m.end] == m.surface, m


@pytest.mark.parametrize(("text", "expected"), [
    ("Ｙａｎｇｔｚｅ Ｒｉｖｅｒ Ｄｅｌｔａ", "yangtze river delta"),  # full-width letters
    ("Beijing\u2013Tianjin \u2014 Hebei\uff0dX\u2011Y", "beijing-tianjin-hebei-x-y"),  # dashes
    ("京津\u200b冀\u00ad\ufeff", "京津冀"),  # zero-width, soft hyphen, BOM
    ("粤港澳\u3000大湾区\n长\n三角", "粤港澳大湾区长三角"),  # ideographic space, line breaks
    ("Greater\u00a0Bay \n\t Area", "greater bay area"),  # NBSP, whitespace runs
    ("粵港澳大灣區 長江三角洲 第十五個五年規劃", "粤港澳大湾区长江三角洲第十五个五年规划"),
    ("Xiong\u2019an\uff08GBA\uff09", "xiong'an(gba)"),  # curly apostrophe, full-width parens
    ("\ufb01ve \u3231", "five (株)"),  # NFKC expansions
])
def test_normalise(text, expected):
    assert normalise(text).text == expected


def test_normalise_alias_strips_and_folds():
    assert normalise_alias("  Jing‐Jin‐Ji ") == "jing-jin-ji"


def test_traditional_and_simplified_each_match(matcher):
    text = "粵港澳大灣區與長三角、京津冀。粤港澳大湾区和长三角。"
    found = matcher.find("", text)
    assert [m.entity for m in found] == ["gba", "yrd", "bth", "gba", "yrd"]
    assert found[0].alias == "粤港澳大湾区" and found[0].surface == "粵港澳大灣區"
    assert_offsets(found, "", text)


def test_case_insensitive_aliases_but_case_sensitive_acronyms(matcher):
    # (lower-case "greater bay area" is an ambiguous name: see test_ambiguous.py)
    text = "THE GREATER BAY AREA and the yangtze river delta. Not gba, Gba or gBA; but GBA."
    assert pairs(matcher.find("", text)) == [
        ("gba", "GREATER BAY AREA"), ("yrd", "yangtze river delta"), ("gba", "GBA")]


@pytest.mark.parametrize("text", [
    "Hengqinese", "XiongAnother", "the ShenzhenQianhai", "BTHS", "aGBA", "FYPs", "G600 Corridor",
    "Xiongan2", "Zhangjiangs",
])
def test_latin_aliases_need_word_boundaries(matcher, text):
    found = matcher.find("Greater Bay Area, Beijing-Tianjin-Hebei, 15th Five-Year Plan", text)
    assert len(found) == 3 and [m for m in found if m.zone == "body"] == []


def test_latin_alias_next_to_cjk_is_on_a_boundary(matcher):
    text = "关于Greater Bay Area的报道，和Hengqin。"
    assert pairs(matcher.find("", text)) == [("gba", "Greater Bay Area"), ("hengqin", "Hengqin")]


def test_longest_alias_wins_and_parenthesised_acronym_joins(matcher):
    text = ("The Guangdong-Hong Kong-Macao Greater Bay Area (GBA) grows. "
            "The Yangtze River Delta（YRD） too. 长三角（Yangtze River Delta）.")
    found = matcher.find("", text)
    assert pairs(found) == [
        ("gba", "Guangdong-Hong Kong-Macao Greater Bay Area (GBA)"), ("yrd", "Yangtze River Delta（YRD）"),
        ("yrd", "长三角"), ("yrd", "Yangtze River Delta")]
    assert found[0].alias == "Guangdong-Hong Kong-Macao Greater Bay Area"


def test_overlapping_aliases_of_one_entity_merge(matcher):
    text = "Work on the 15th Five-Year Plan (2026-2030) starts."
    found = matcher.find("", text)
    assert pairs(found) == [("fyp15", "15th Five-Year Plan (2026-2030)")]


def test_ambiguous_acronym_needs_the_full_name_somewhere_in_the_document(matcher):
    assert matcher.find("GBA news", "The GBA grows. BTH and YRD too.") == []
    found = matcher.find("The Greater Bay Area", "The GBA grows. BTH too.")
    assert [(m.zone, m.surface) for m in found] == [("title", "Greater Bay Area"), ("body", "GBA")]
    assert matcher.find_in("The GBA grows.") == []


@pytest.mark.parametrize("other", [
    "The Game Boy Advance (GBA) is back.",
    "The GBA (the state bar association) met.",
    "The GBA (Georgia Bar Association) met.",
])
def test_acronym_defined_as_something_else_does_not_count(matcher, other):
    found = matcher.find("", f"The Greater Bay Area grows. {other} The GBA grows.")
    assert pairs(found) == [("gba", "Greater Bay Area")]


def test_exclusions_swallow_look_alikes(matcher):
    text = "环杭州湾大湾区和粤港澳大湾区。The 14th FYP ended; the 15th Five-Year Plan began; FYP targets."
    assert pairs(matcher.find("", text)) == [
        ("gba", "粤港澳大湾区"), ("fyp15", "15th Five-Year Plan"), ("fyp15", "FYP")]


def test_cjk_numeral_boundaries(matcher):
    assert matcher.find("", "共二十五五个项目；十五五十") == []
    assert pairs(matcher.find("", "十五五时期")) == [("fyp15", "十五五")]


def test_sentence_is_taken_from_the_original_text(matcher):
    text = "第一句。\n推动粤港澳大灣區规则衔接！第三句。 First one. The Yangtze\nRiver Delta grew 3.5 per cent. Last"
    found = matcher.find("", text)
    assert [m.sentence for m in found] == ["推动粤港澳大灣區规则衔接！", "The Yangtze\nRiver Delta grew 3.5 per cent."]
    assert sentence_around("abc", 0, 3) == "abc"


def test_title_and_body_zones_and_empty_inputs(matcher):
    found = matcher.find("长三角观察", "京津冀")
    assert [(m.zone, m.entity, m.start, m.end) for m in found] == [("title", "yrd", 0, 3), ("body", "bth", 0, 3)]
    assert matcher.find("", "") == [] and matcher.find(None, None) == []


def test_revision_is_stable_and_follows_the_watchlist():
    wl = load_watchlist()
    assert Matcher(wl).revision == Matcher(load_watchlist()).revision
    data = wl.model_dump()
    data["entities"][0]["aliases"]["en"].append("Capital Region Hub")
    changed = Matcher(Watchlist.model_validate(data))
    assert changed.revision != Matcher(wl).revision and len(changed.revision) == 64
    assert MATCHER_VERSION


NOISE = ["\u200b", "\u00ad", "\ufeff", "\ufb01", "\u3231", "\u2460", "  ", "\n", "\u3000", "\u00bd"]


def test_offsets_survive_length_changing_noise(matcher):
    """Random texts with invisible and expanding characters around and between mentions:
    every mention's offsets slice out exactly the alias as it was written in."""
    rng = random.Random(20260101)
    names = [("gba", "粵港澳大灣區"), ("bth", "Beijing-Tianjin-Hebei"), ("fyp15", "十五五"),
             ("hetao", "河套深港科技创新合作区"), ("xiongan", "Xiong'an New Area")]
    for _ in range(200):
        pieces, expected, pos = [], [], 0
        for _ in range(rng.randint(1, 5)):
            filler = "".join(rng.choice(NOISE + ["。", " x ", "说"]) for _ in range(rng.randint(1, 6)))
            entity, name = rng.choice(names)
            pieces += [filler, " ", name, " "]
            start = pos + len(filler) + 1
            expected.append((entity, start, start + len(name)))
            pos = start + len(name) + 1
        text = "".join(pieces)
        found = matcher.find("", text)
        assert [(m.entity, m.start, m.end) for m in found] == expected, repr(text)


def test_noise_inside_names_is_part_of_the_surface(matcher):
    text = "ab\ufb01 粤港\u200b澳\n大湾\u00ad区 Beijing\u2011\nTianjin \u2013 Hebei."
    found = matcher.find("", text)
    assert pairs(found) == [("gba", "粤港\u200b澳\n大湾\u00ad区"), ("bth", "Beijing\u2011\nTianjin \u2013 Hebei")]
    assert_offsets(found, "", text)


@pytest.mark.parametrize(("text", "sentence"), [
    ("他说：“上一句。”推动长三角一体化。”下一句", "推动长三角一体化。”"),
    ("Growth was 3.5 per cent. The U.S. fund entered the Yangtze River Delta! Next?",
     "The U.S. fund entered the Yangtze River Delta!"),
    ("长三角", "长三角"),
    ("“Is it the Greater Bay Area?” she asked. No.", "“Is it the Greater Bay Area?” she asked."),
    ("Mr. Li met Dr. Wang in Xiongan . Then left.", "Mr. Li met Dr. Wang in Xiongan ."),
    (" . Hengqin", "Hengqin"),
    ("第一段\n\n京津冀协同发展\n\n第三段", "京津冀协同发展"),
])
def test_sentence_boundaries(matcher, text, sentence):
    assert [m.sentence for m in matcher.find("", text)] == [sentence]


def test_unusual_code_points_do_not_break_matching(matcher):
    text = "\ud800 lone surrogate, \U0002a6a5 ext-B, \U000e0041 tag, \x00 nul: 京津冀 and Hengqin\U0001f600."
    found = matcher.find("\udcff", text)
    assert pairs(found) == [("bth", "京津冀"), ("hengqin", "Hengqin")]
    assert_offsets(found, "", text)


def test_large_text_keeps_offsets(matcher):
    """A multi-megabyte text (many paragraphs) maps every mention back exactly."""
    para = "第一句话。推动粵港澳大灣區\n建设！ The Yangtze\u00a0River Delta grew\u2026 “十五五”规划。\n\n"
    text = para * 5000
    found = matcher.find("", text)
    assert len(found) == 15000
    assert_offsets(found, "", text)
    assert found[-1].end == len(text) - len(para) + para.index("”规划")


_CJK_CLASS = "\u2e80-\u2fdf\u3001-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_REFERENCE_SPACES = re.compile(rf" +(?=[-{_CJK_CLASS}])|(?<=[-{_CJK_CLASS}]) +")


def reference_normalise(text: str) -> str:
    """The normalisation spelled out with str.translate and regexes (slow, obvious)."""
    folded = text.translate(_fold_table())
    return _REFERENCE_SPACES.sub("", re.sub("  +", " ", folded))


def test_vectorised_normaliser_equals_the_plain_reference():
    rng = random.Random(7)
    alphabet = list("aZ9 -.\n\t") + ["\u00a0", "\u3000", "\u200b", "\u00ad", "\u2013", "\uff0d", "\ufb01",
                                      "\u3231", "\u2026", "粵", "灣", "长", "。", "（", "Ｇ", "İ", "\ud800"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        normalised = normalise(text)
        assert normalised.text == reference_normalise(text), repr(text)
        for i in range(len(normalised.text)):  # every character maps into the original
            start, end = normalised.original(i, i + 1)
            assert 0 <= start < end <= len(text)


@pytest.mark.parametrize(("text", "n"), [
    ("京 津 冀 晋 蒙", 0),  # a spaced-out list of province abbreviations
    ("晋\n京\n津\n冀", 0),
    ("京 津 冀三地", 1),
    ("长\n三角一体化", 1),
    ("京 津 冀", 1),
])
def test_spaced_out_single_characters(matcher, text, n):
    assert len(matcher.find("", text)) == n
