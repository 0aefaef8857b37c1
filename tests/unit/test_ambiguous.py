"""Ambiguous names counted by their context: bare sub-area names (南沙, 前海, 临港,
张江, 河套, G60), "Greater Bay Area" outside China, and acronyms as the document-wide case of
the same rule. Sentences written for these tests."""

from __future__ import annotations

import pytest

from hubwatch.config.watchlist import Watchlist, load_watchlist
from hubwatch.mentions.match import ANCHOR_WINDOW, Matcher

FILLER = "会议还讨论了其他事项。"  # 11 characters, no watch-list word, no anchor, no veto


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load_watchlist())


def counted(matcher: Matcher, text: str, title: str = "") -> list[tuple[str, str]]:
    found = matcher.find_explained(title, text)
    for m in found.mentions:
        assert (title if m.zone == "title" else text)[m.start:m.end] == m.surface
    for u in found.unanchored:
        assert (title if u.zone == "title" else text)[u.start:u.end] == u.surface
    assert [(m.entity, m.surface) for m in found.mentions] == [
        (m.entity, m.surface) for m in matcher.find(title, text)], "find and find_explained agree"
    return [(m.entity, m.surface) for m in found.mentions]


def left_out(matcher: Matcher, text: str, title: str = "") -> list[tuple[str, str, str]]:
    return [(u.entity, u.surface, u.reason) for u in matcher.find_explained(title, text).unanchored]


def far(n: int = ANCHOR_WINDOW) -> str:
    """Filler sentences longer than ``n`` characters: evidence beyond it is not near."""
    return FILLER * (n // len(FILLER) + 1)


# ----------------------------------------------------------------------------- 南沙


def test_bare_nansha_in_a_guangzhou_notice_counts(matcher):
    text = "广州市发布通知：增城、南沙、番禺三区试点新的人才政策，尤其是南沙区将先行先试。"
    assert counted(matcher, text) == [("nansha", "南沙"), ("nansha", "南沙区")]


@pytest.mark.parametrize("text", [
    "我国对南沙群岛及其附近海域拥有无可争辩的主权。",
    "南海诸岛包括东沙、西沙、中沙和南沙，南沙的岛礁数量最多。",
    "Fishing boats sheltered at reefs in the Nansha area of the South China Sea.",
])
def test_bare_nansha_about_the_south_china_sea_islands_does_not(matcher, text):
    assert counted(matcher, text) == []
    assert left_out(matcher, text) and all(r.startswith("veto") for _, _, r in left_out(matcher, text))


def test_nansha_near_evidence_beats_the_document(matcher):
    """A page naming both: each bare 南沙 goes with the evidence next to it."""
    text = "广州番禺、南沙两区联合招商。" + far() + "另据报道，南沙岛礁附近海域开展了科考活动。"
    assert counted(matcher, text) == [("nansha", "南沙")]
    assert left_out(matcher, text) == [("nansha", "南沙", "veto nearby: 岛礁")]


def test_nansha_without_near_evidence_the_document_decides(matcher):
    anchored = "广州市人民政府办公厅印发通知。" + far() + "南沙将建设国际航运枢纽。"
    assert counted(matcher, anchored) == [("nansha", "南沙")]
    assert counted(matcher, "南沙将建设国际航运枢纽。", title="广州市政府关于航运枢纽建设的通知") == [
        ("nansha", "南沙")]  # the title anchors the main text
    vetoed = anchored + far() + "文章另附南沙群岛地图。"
    assert counted(matcher, vetoed) == []
    assert left_out(matcher, vetoed) == [("nansha", "南沙", "veto in document: 南沙群岛"),
                                         ("nansha", "南沙", "veto nearby: 南沙群岛")]  # the one inside it
    assert left_out(matcher, "南沙将建设国际航运枢纽。") == [("nansha", "南沙", "no anchor")]


def test_parent_and_sibling_names_anchor(matcher):
    assert counted(matcher, "粤港澳大湾区建设中，南沙的作用日益突出。") == [
        ("gba", "粤港澳大湾区"), ("nansha", "南沙")]
    assert counted(matcher, "横琴与南沙两个平台同步推进。") == [("hengqin", "横琴"), ("nansha", "南沙")]


def test_sansha_nansha_district_is_not_guangzhous(matcher):
    assert counted(matcher, "三沙市南沙区工委召开会议。") == []
    assert counted(matcher, "三沙市设立西沙区、南沙区。") == []


# ----------------------------------------------------------------------------- 前海


def test_bare_qianhai_in_a_shenzhen_text_counts(matcher):
    text = "深圳市前海管理局表示，前海将继续扩大对港开放。"
    assert counted(matcher, text) == [("qianhai", "前海"), ("qianhai", "前海")]


@pytest.mark.parametrize("text", [
    "深圳企业目前海外订单增长较快。",  # anchored, but 目前 + 海外 is not 前海
    "目前海外市场需求旺盛。",
    "此前海关总署在深圳召开会议。",
])
def test_muqian_haiwai_never(matcher, text):
    assert counted(matcher, text) == [] and left_out(matcher, text) == []


def test_beijing_lake_qianhai_does_not_count(matcher):
    assert counted(matcher, "北京什刹海由前海、后海和西海组成，夏天前海的荷花最盛。") == []
    assert left_out(matcher, "前海的荷花开了。") == [("qianhai", "前海", "no anchor")]


# ----------------------------------------------------------------------------- 临港, 张江, 河套, G60


@pytest.mark.parametrize(("text", "expected"), [
    ("上海临港新片区挂牌五周年，临港的滴水湖畔新建了实验室。",
     [("lingang", "上海临港新片区"), ("lingang", "临港")]),
    ("天津临港经济区的码头扩建完工。", []),
    ("大连临港工业区引进两家企业。", []),
    ("张江高科技片区和张江科学城发布人才政策。", [("zhangjiang", "张江高科技片区"), ("zhangjiang", "张江科学城")]),
    ("浦东张江的集成电路企业营收增长。", [("zhangjiang", "张江")]),
    ("本报记者张江报道：秋收进入高峰。", []),
    ("深圳福田与香港之间的河套将建设科研设施。", [("hetao", "河套")]),
    ("河套平原的小麦今年丰收。", []),
    ("内蒙古巴彦淖尔市地处河套腹地。", []),
    ("G60九城市联合发布科创政策。", [("g60", "G60")]),
    ("G60沪昆高速松江段发生拥堵。", []),
    ("沿G60科创走廊布局先进制造业。", [("g60", "G60科创走廊")]),
])
def test_other_bare_sub_area_names(matcher, text, expected):
    assert counted(matcher, text) == expected


def test_longer_forms_are_plain_aliases(matcher):
    for alias, entity in (("南沙新区", "nansha"), ("前海合作区", "qianhai"), ("临港新片区", "lingang"),
                          ("河套深港科技创新合作区", "hetao"), ("Lok Ma Chau Loop", "hetao")):
        assert counted(matcher, f"{alias}发布了新政策。") == [(entity, alias)]


# ----------------------------------------------------------------------------- Greater Bay Area


@pytest.mark.parametrize("text", [
    "Home prices across the greater Bay Area rose again, the California Association of Realtors said.",
    "The Greater Bay Area's housing market cooled as San Francisco and Oakland listings rose.",
    "Commuters in the greater Bay Area face higher BART fares this year.",
])
def test_greater_bay_area_about_california_does_not_count(matcher, text):
    assert counted(matcher, text) == []
    assert [r.split(":")[0] for _, _, r in left_out(matcher, text)] == ["veto nearby"]


@pytest.mark.parametrize(("text", "surface"), [
    ("Guangdong and Hong Kong officials say the Greater Bay Area will share a talent pass.", "Greater Bay Area"),
    ("Factories in the greater Bay Area around Guangzhou and Shenzhen hired again.", "greater Bay Area"),
    ("The Greater Bay Area is growing fast.", "Greater Bay Area"),  # the proper name, nothing against it
])
def test_greater_bay_area_about_guangdong_counts(matcher, text, surface):
    assert counted(matcher, text) == [("gba", surface)]


def test_lower_case_greater_bay_area_needs_an_anchor(matcher):
    assert counted(matcher, "Rents in the greater Bay Area keep rising.") == []
    assert left_out(matcher, "Rents in the greater Bay Area keep rising.") == [
        ("gba", "greater Bay Area", "no anchor")]


def test_near_anchor_beats_a_farther_veto(matcher):
    """Case 32's class: a Bay Area page that turns to Shenzhen's pitch."""
    text = ("Commuters in the San Francisco area face higher transit fares. "
            "Meanwhile, officials from Shenzhen pitched the Greater Bay Area to the same investors.")
    assert counted(matcher, text) == [("gba", "Greater Bay Area")]


# ----------------------------------------------------------------------------- acronyms: same rule


def test_acronyms_are_the_document_wide_case(matcher):
    """GBA counts where the document names the hub (any distance), not where it is defined as
    something else (anywhere); an anchored ambiguous name also names the hub."""
    assert counted(matcher, "The GBA cartridge is back.") == []
    assert left_out(matcher, "The GBA cartridge is back.") == [("gba", "GBA", "entity not named")]
    named = "粤港澳大湾区建设提速。" + far(3 * ANCHOR_WINDOW) + "The GBA budget rises."
    assert counted(matcher, named) == [("gba", "粤港澳大湾区"), ("gba", "GBA")]
    redefined = "The Game Boy Advance (GBA) turned 25. In Shenzhen, the Greater Bay Area fair had a GBA stand."
    assert counted(matcher, redefined) == [("gba", "Greater Bay Area")]
    assert ("gba", "GBA", "acronym defined otherwise") in left_out(matcher, redefined)
    assert counted(matcher, "Hong Kong's role in the greater Bay Area: the GBA budget rises.") == [
        ("gba", "greater Bay Area"), ("gba", "GBA")]
    assert counted(matcher, "Rents in the greater Bay Area and the GBA rise.") == []


# ----------------------------------------------------------------------------- the rule itself


def tiny(**group) -> Matcher:
    return Matcher(Watchlist.model_validate({"entities": [
        {"key": "hub", "name": "Hub", "aliases": {"en": ["Hub Region"]}},
        {"key": "sub", "name": "Sub", "parent": "hub", "aliases": {"en": ["Sub Zone"]},
         "ambiguous": [{"aliases": ["Sub"], **group}]}]}))


def test_window_edges_and_ties():
    m = tiny(anchors=["port"], vetoes=["island"])
    gap = " x" * ((ANCHOR_WINDOW - 2) // 2)  # "port" + gap + " Sub": the gap keeps it within the window
    assert [x.entity for x in m.find("", "port" + gap + " Sub")] == ["sub"]
    assert [x.entity for x in m.find("", "island" + gap + " Sub port")] == ["sub"]  # nearest decides
    assert m.find("", "port" + gap + " Sub island") == []
    assert m.find("", "port Sub island") == []  # both at distance 1: a veto wins a tie
    beyond = gap * 3  # nothing near: the document decides, a veto anywhere first
    assert [x.entity for x in m.find("", "port" + beyond + " Sub")] == ["sub"]
    assert m.find("", "port" + beyond + " Sub" + beyond + " island") == []
    assert [x.entity for x in m.find("port", "Sub")] == ["sub"]  # the title is part of the document
    assert [x.entity for x in m.find("", "Sub Zone and Sub")] == ["sub", "sub"]  # own alias anchors


def test_anchor_entities_and_proper_noun():
    m = tiny(anchors=["port"], anchor_entities=["hub"])
    assert [x.surface for x in m.find("", "The Hub Region and Sub")] == ["Hub Region", "Sub"]
    assert m.find("", "The Sub") == []
    p = tiny(anchors=["port"], vetoes=["island"], proper_noun=True)
    assert [x.surface for x in p.find("", "The Sub")] == ["Sub"]
    assert [x.surface for x in p.find("", "THE SUB")] == ["SUB"]
    assert p.find("", "the sub") == [] and p.find("", "The Sub island") == []
