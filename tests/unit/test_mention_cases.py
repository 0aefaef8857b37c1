"""Mention cases 32, 33, 35, 37, 39 of ../shared/cases, through the real extractor, plus inputs
of our own for each case's fault class (look-alikes, ambiguous acronyms, province lists,
names broken by markup and invisible characters, typography variants)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from hubwatch.config.watchlist import load_watchlist
from hubwatch.mentions.match import _APOSTROPHES, _DASHES, Matcher, Mention, normalise_alias
from hubwatch.text.extract import parse_page

FETCHED = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_watchlist())


def case_page(shared_dir: Path, case: str, name: str) -> tuple[str, str, dict]:
    folder = shared_dir / "cases" / case
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    page = parse_page((folder / name).read_bytes(), url=f"https://cases.example/{case}/{name}",
                      content_type="text/html; charset=utf-8", fetched_at=FETCHED)
    return page.title, page.text, expected


def found_in(matcher: Matcher, title: str, text: str) -> list[Mention]:
    found = matcher.find(title, text)
    for m in found:  # offsets always slice the stored title/text
        assert (title if m.zone == "title" else text)[m.start:m.end] == m.surface, m
    return found


def assert_expected(found: list[Mention], expected: dict) -> None:
    """Entities, surface counts and non-mentions as an expected.json block states them."""
    assert sorted({m.entity for m in found}) == sorted(expected["entities"])
    want = Counter({(e["entity"], e["surface"]): e.get("count", 1) for e in expected.get("mentions", [])})
    assert Counter((m.entity, m.surface) for m in found) == want
    for bad in expected.get("non_mentions", []):
        for surface in bad["surface"].split(" (")[0].split(" / "):
            assert surface not in {m.surface for m in found}, bad


def test_case_32_bay_area(shared_dir, matcher):
    title, text, expected = case_page(shared_dir, "32-mention-bay-area-sf", "page.html")
    assert_expected(found_in(matcher, title, text), expected["expected"])


@pytest.mark.parametrize("name", ["gaming.html", "policy.html", "bar.html"])
def test_case_33_gba_acronym(shared_dir, matcher, name):
    title, text, expected = case_page(shared_dir, "33-mention-gba-acronym", name)
    doc = next(d for d in expected["expected"]["documents"] if d["file"] == name)
    found = found_in(matcher, title, text)
    assert_expected(found, doc)
    assert len(found) == doc.get("gba_mention_total", 0)


def test_case_35_hebei_alone(shared_dir, matcher):
    title, text, expected = case_page(shared_dir, "35-mention-hebei-alone", "page.html")
    found = found_in(matcher, title, text)
    assert_expected(found, expected["expected"])
    assert len(found) == expected["expected"]["bth_mention_total"]


def test_case_37_linebreaks_inline_tags(shared_dir, matcher):
    title, text, expected = case_page(shared_dir, "37-mention-linebreak-inline", "page.html")
    exp = expected["expected"]
    found = found_in(matcher, title, text)
    assert len(found) == exp["mention_total"]
    assert Counter((m.entity, normalise_alias(m.surface)) for m in found) == Counter(
        (e["entity"], normalise_alias(e["surface_normalised"])) for e in exp["mentions"])
    assert any("\u200b" in m.surface for m in found)  # reported as written, not as normalised


def test_case_39_fullwidth_and_dashes(shared_dir, matcher):
    title, text, expected = case_page(shared_dir, "39-mention-fullwidth-dashes", "page.html")
    exp = expected["expected"]
    found = found_in(matcher, title, text)
    assert len(found) == exp["mention_total"]
    want = Counter()
    for e in exp["mentions"]:
        want[e["entity"]] += e["count"]
        surfaces = [m.surface for m in found if m.entity == e["entity"]]
        if "raw_codepoint" in e:
            char = chr(int(e["raw_codepoint"].split()[0][2:], 16))
            assert any(char in s for s in surfaces), e
        else:
            raw = e["raw"].replace("U+3000", "\u3000").split(" (")[0].strip("“”")
            assert any(s in raw or raw in s for s in surfaces), e
    assert Counter(m.entity for m in found) == want


# ----------------------------------------------------------------- our own inputs per class

BREAKS = ["\n", "\r\n", "\n\n", "\u00a0", "\u3000", "\t", " \n ", "\u200b", "\u200c", "\u200d",
          "\u2060", "\ufeff", "\u00ad"]
CJK_NAMES = [("gba", "粤港澳大湾区"), ("gba", "粵港澳大灣區"), ("yrd", "长三角"), ("bth", "京津冀"),
             ("fyp15", "十五五"), ("xiongan", "雄安新区"), ("nansha", "南沙新区"), ("lingang", "临港新片区")]
LATIN_NAMES = [("yrd", "Yangtze River Delta"), ("gba", "Greater Bay Area"), ("hetao", "Lok Ma Chau Loop"),
               ("fyp15", "15th Five-Year Plan"), ("xiongan", "Xiong'an New Area")]


@pytest.mark.parametrize("brk", BREAKS, ids=[f"U+{ord(b[0]):04X}x{len(b)}" for b in BREAKS])
def test_class_37_any_break_inside_any_name(matcher, brk):
    for entity, name in CJK_NAMES:
        for cut in range(1, len(name)):
            text = f"报道：{name[:cut]}{brk}{name[cut:]}建设。"
            found = found_in(matcher, "", text)
            assert [(m.entity, m.start) for m in found] == [(entity, 3)], repr(text)
    for entity, name in LATIN_NAMES:
        text = "Report: " + name.replace(" ", brk if brk.strip(" \u00a0\u3000\t\r\n") == "" else " " + brk)
        assert [m.entity for m in found_in(matcher, "", text + " grew.")] == [entity], repr(text)


def test_class_37_break_does_not_glue_two_latin_words(matcher):
    assert matcher.find("", "Greater\u200bBay Area") == []  # a zero-width space is not a space
    assert [m.entity for m in matcher.find("", "Greater \u200bBay Area")] == ["gba"]


@pytest.mark.parametrize("dash", list(_DASHES) + ["-", " - ", " \u2013 ", "-\n", "\u2014 "])
def test_class_39_every_dash_in_every_hyphenated_name(matcher, dash):
    names = [("bth", "Beijing-Tianjin-Hebei"), ("bth", "Jing-Jin-Ji"), ("g60", "G60 Sci-Tech Innovation Corridor"),
             ("gba", "Guangdong-Hong Kong-Macao Greater Bay Area"), ("fyp15", "five-year plan for 2026-2030")]
    for entity, name in names:
        text = f"The {name.replace('-', dash)} plan."
        found = found_in(matcher, "", text)
        assert [m.entity for m in found] == [entity], repr(text)
        assert found[0].start == 4


def test_class_39_full_width_forms_and_apostrophes(matcher):
    def wide(s: str) -> str:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in s)
    for _entity, name in LATIN_NAMES + [("bth", "Beijing-Tianjin-Hebei"), ("g60", "G60科创走廊")]:
        assert [m.surface for m in found_in(matcher, "", f"({wide(name)})")] == [wide(name)]
    for apostrophe in _APOSTROPHES:
        assert [m.entity for m in matcher.find("", f"Xiong{apostrophe}an New Area")] == ["xiongan"]
    assert [m.surface for m in matcher.find("", "the ＧＢＡ, the Greater Bay Area")] == ["ＧＢＡ", "Greater Bay Area"]


@pytest.mark.parametrize("text", [
    "Housing costs in the Bay Area keep rising.",
    "The San Francisco Bay Area and the East Bay Area.",
    "The bay areas of Tokyo and New York are older.",
    "旧金山湾区、纽约湾区和东京湾区。",
    "杭州湾大湾区的规划。",
    "Pearl River Delta factories; the Yangtze River Economic Belt; the Bohai Rim.",
])
def test_class_32_bay_area_look_alikes(matcher, text):
    assert matcher.find("", text) == []


@pytest.mark.parametrize(("title", "text", "acronyms"), [
    ("Retro consoles", "A GBA and a GBA SP were sold.", 0),
    ("Greater Bay Area fair", "The GBA (the Georgia Bar Association) sent lawyers; the GBA paid.", 0),
    ("Greater Bay Area fair", "Game Boy Advance (GBA) fans came; the GBA was on show.", 0),
    ("Greater Bay Area fair", "GBA firms came; GBA cities paid.", 2),
    ("", "The Yangtze River Delta (YRD) and the YRD's firms; BTH air; the FYP.", 1),
    ("京津冀观察", "BTH air quality and the BTH region.", 2),
    ("Fifteenth Five-Year Plan", "The FYP targets; the 14th FYP is over.", 1),
])
def test_class_33_acronyms_need_an_anchor(matcher, title, text, acronyms):
    found = found_in(matcher, title, text)
    assert sum(1 for m in found if m.alias in {"GBA", "YRD", "BTH", "FYP"}) == acronyms


@pytest.mark.parametrize(("text", "n"), [
    ("Beijing, Tianjin and Hebei each reported more rain.", 0),
    ("Beijing, Tianjin, Hebei and Shandong signed the pact.", 0),
    ("北京、天津、河北和山西四省市联合发布。", 0),
    ("河北省、河北、天津市、北京市。京津两地和津冀两地。", 0),
    ("The Beijing, Tianjin and Hebei region and the Beijing, Tianjin and Hebei integration.", 2),
    ("Jingjinji, Jing-Jin-Ji and 京津冀.", 3),
])
def test_class_35_provinces_alone_or_listed(matcher, text, n):
    found = found_in(matcher, "", text)
    assert len(found) == n and all(m.entity == "bth" for m in found)
