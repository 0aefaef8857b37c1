"""config/watchlist.yaml and its loader: contents, validation errors with file:line:key, hash."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hubwatch.config.loader import ConfigError
from hubwatch.config.watchlist import DEFAULT_PATH, Watchlist, load_watchlist
from hubwatch.mentions.match import Matcher

SUB_AREAS = {"xiongan": "bth", "qianhai": "gba", "hengqin": "gba", "nansha": "gba", "hetao": "gba",
             "g60": "yrd", "zhangjiang": "yrd", "lingang": "yrd"}

MINIMAL = """\
entities:
  - key: gba
    name: Greater Bay Area
    aliases:
      en: [Greater Bay Area]
      zh_hans: [粤港澳大湾区]
    acronyms: [GBA]
  - key: nansha
    name: Nansha
    parent: gba
    aliases:
      zh_hans: [南沙新区]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watchlist.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_watchlist(write(tmp_path, text))
    return info.value


def test_shipped_watchlist_has_the_hubs_and_sub_areas():
    wl = load_watchlist()
    top = {e.key for e in wl.entities if e.parent is None}
    assert top == {"bth", "gba", "yrd", "fyp15"}
    assert {e.key: e.parent for e in wl.entities if e.parent} == SUB_AREAS
    assert wl.children("gba") == ["qianhai", "hengqin", "nansha", "hetao"]
    assert wl.hub_of("lingang") == "yrd" and wl.hub_of("bth") == "bth"


def test_shipped_watchlist_covers_scripts_pinyin_and_acronyms():
    wl = load_watchlist()
    assert "粵港澳大灣區" in wl.get("gba").aliases.zh_hant
    assert {"Jing-Jin-Ji", "Jingjinji"} <= set(wl.get("bth").aliases.pinyin)
    assert {k: wl.get(k).acronyms for k in ("bth", "gba", "yrd", "fyp15")} == {
        "bth": ["BTH"], "gba": ["GBA"], "yrd": ["YRD"], "fyp15": ["FYP"]}
    for entity in wl.entities:
        assert entity.aliases.zh_hans and entity.aliases.en, entity.key


def test_sub_area_aliases_avoid_look_alike_places():
    wl = load_watchlist()
    assert "南沙新区" in wl.get("nansha").alias_list and "南沙" not in wl.get("nansha").alias_list
    assert "河套深港科技创新合作区" in wl.get("hetao").alias_list and "河套" not in wl.get("hetao").alias_list
    assert "临港新片区" in wl.get("lingang").alias_list and "临港" not in wl.get("lingang").alias_list


def test_minimal_file_loads(tmp_path):
    wl = load_watchlist(write(tmp_path, MINIMAL))
    assert [e.key for e in wl.entities] == ["gba", "nansha"]
    assert wl.get("nansha").parent == "gba"
    with pytest.raises(KeyError):
        wl.get("yrd")


def test_content_hash_ignores_order_and_comments_but_not_aliases(tmp_path):
    base = load_watchlist(write(tmp_path, MINIMAL)).content_hash
    reordered = MINIMAL.replace("en: [Greater Bay Area]\n      zh_hans: [粤港澳大湾区]",
                                "zh_hans: [粤港澳大湾区]  # Simplified\n      en: [Greater Bay Area]")
    assert reordered != MINIMAL
    assert load_watchlist(write(tmp_path, reordered)).content_hash == base
    edited = MINIMAL.replace("[南沙新区]", "[南沙新区, 广州南沙]")
    assert load_watchlist(write(tmp_path, edited)).content_hash != base


@pytest.mark.parametrize(("edit", "line", "key", "words"), [
    (("key: nansha", "key: gba"), 8, "entities.1.key", "duplicate key"),
    (("parent: gba", "parent: yrd"), 10, "entities.1.parent", "unknown parent"),
    (("parent: gba", "parent: nansha"), 10, "entities.1.parent", "own parent"),
    (("[南沙新区]", "[粤港澳大湾区]"), 12, "entities.1.aliases.zh_hans.0", "already used by 'gba' as alias"),
    (("zh_hans: [南沙新区]", "zh_hans: []"), 11, "entities.1.aliases", "at least one alias"),
    (("zh_hans: [南沙新区]", "zh_hans: ['  ']"), 12, "entities.1.aliases.zh_hans.0", "at least 1"),
    (("acronyms: [GBA]", "acronyms: [G B A]"), 7, "entities.0.acronyms.0", "pattern"),
    (("name: Nansha", "name: Nansha\n    colour: red"), 10, "entities.1.colour", "Extra inputs"),
    (("key: nansha", "key: Nansha"), 8, "entities.1.key", "pattern"),
])
def test_errors_name_file_line_and_key(tmp_path, edit, line, key, words):
    err = load_error(tmp_path, MINIMAL.replace(*edit))
    assert (err.line, err.key) == (line, key), str(err)
    assert words in err.message
    assert str(err).startswith(f"{tmp_path / 'watchlist.yaml'}:{line}: {key}: ")


def test_parent_must_be_top_level(tmp_path):
    text = MINIMAL + "  - key: deep\n    name: Deep\n    parent: nansha\n    aliases:\n      en: [Deep Zone]\n"
    err = load_error(tmp_path, text)
    assert (err.line, err.key) == (15, "entities.2.parent") and "one level only" in err.message


def test_exclusion_may_not_equal_an_alias(tmp_path):
    err = load_error(tmp_path, MINIMAL.replace("acronyms: [GBA]", "acronyms: [GBA]\n    exclude: [南沙新区]"))
    assert err.key == "entities.1.aliases.zh_hans.0" and "used by 'gba' as exclusion" in err.message


def test_syntax_error_and_missing_file(tmp_path):
    err = load_error(tmp_path, MINIMAL.replace("  - key: nansha", "  - key: [nansha"))
    assert err.key == "(syntax)" and err.line > 0
    with pytest.raises(ConfigError, match="cannot read"):
        load_watchlist(tmp_path / "absent.yaml")


def test_models_validate_without_a_file():
    with pytest.raises(ValueError, match="duplicate key"):
        Watchlist.model_validate({"entities": [
            {"key": "a", "name": "A", "aliases": {"en": ["Alpha"]}},
            {"key": "a", "name": "A2", "aliases": {"en": ["Alpha Two"]}}]})


def test_default_path_is_the_shipped_file():
    assert DEFAULT_PATH.name == "watchlist.yaml" and DEFAULT_PATH.is_file()


def matcher_error(tmp_path: Path, text: str) -> ConfigError:
    watchlist = load_watchlist(write(tmp_path, text))  # valid as written ...
    with pytest.raises(ConfigError) as info:
        Matcher(watchlist)  # ... but the matcher folds two entities' names into one
    return info.value


def test_folded_collisions_are_found_by_the_matcher_with_file_and_line(tmp_path):
    err = matcher_error(tmp_path, MINIMAL.replace("[南沙新区]", "[粵港澳大灣區]"))
    assert (err.line, err.key) == (12, "entities.1.aliases.zh_hans.0"), str(err)
    assert "already used by 'gba' as alias" in err.message
    assert str(err).startswith(f"{tmp_path / 'watchlist.yaml'}:12: entities.1.aliases.zh_hans.0: ")
    err = matcher_error(tmp_path, MINIMAL.replace("[南沙新区]", "[\"\\u200b\"]"))
    assert err.key == "entities.1.aliases.zh_hans.0" and "empty after normalisation" in err.message


AMBIGUOUS = MINIMAL + """\
    ambiguous:
      - aliases: [南沙]
        anchors: [广州]
        anchor_entities: [gba]
        vetoes: [南沙群岛]
"""


def test_ambiguous_group_loads_and_changes_the_hash(tmp_path):
    wl = load_watchlist(write(tmp_path, AMBIGUOUS))
    group = wl.get("nansha").ambiguous[0]
    assert (group.aliases, group.anchors, group.anchor_entities, group.vetoes) == (
        ["南沙"], ["广州"], ["gba"], ["南沙群岛"])
    base = load_watchlist(write(tmp_path, MINIMAL)).content_hash
    assert wl.content_hash != base
    for edit in (("[广州]", "[广州, 番禺]"), ("[南沙群岛]", "[南沙群岛, 南海]"), ("[南沙]", "[南沙, Nansha]")):
        assert load_watchlist(write(tmp_path, AMBIGUOUS.replace(*edit))).content_hash != wl.content_hash
    reordered = AMBIGUOUS.replace("anchors: [广州]\n        anchor_entities: [gba]",
                                  "anchor_entities: [gba]\n        anchors: [广州]")
    assert load_watchlist(write(tmp_path, reordered)).content_hash == wl.content_hash


@pytest.mark.parametrize(("edit", "line", "key", "words"), [
    # an ambiguous alias without anchors could never count: rejected
    (("        anchors: [广州]\n        anchor_entities: [gba]\n", ""), 14, "entities.1.ambiguous.0",
     "has no anchors"),
    (("anchor_entities: [gba]", "anchor_entities: [hk]"), 16, "entities.1.ambiguous.0.anchor_entities.0",
     "unknown entity 'hk'"),
    (("aliases: [南沙]", "aliases: []"), 14, "entities.1.ambiguous.0.aliases", "at least 1"),
    (("aliases: [南沙]", "aliases: [南沙新区]"), 14, "entities.1.ambiguous.0.aliases.0",
     "already used by 'nansha' as alias"),
    (("aliases: [南沙]", "aliases: [粤港澳大湾区]"), 14, "entities.1.ambiguous.0.aliases.0",
     "already used by 'gba' as alias"),
    (("vetoes: [南沙群岛]", "vetoes: [南沙群岛]\n        proper_noun: true"), 14,
     "entities.1.ambiguous.0.aliases.0", "proper_noun needs capitals"),
    (("vetoes: [南沙群岛]", "vetos: [南沙群岛]"), 17, "entities.1.ambiguous.0.vetos", "Extra inputs"),
])
def test_ambiguous_errors_name_file_line_and_key(tmp_path, edit, line, key, words):
    assert edit[0] in AMBIGUOUS
    err = load_error(tmp_path, AMBIGUOUS.replace(*edit))
    assert (err.key, err.line) == (key, line), str(err)
    assert words in err.message


def test_shipped_ambiguous_names_all_have_anchors_and_known_entities():
    wl = load_watchlist()
    keys = {e.key for e in wl.entities}
    groups = {alias: g for e in wl.entities for g in e.ambiguous for alias in g.aliases}
    assert {"南沙", "前海", "临港", "张江", "河套", "G60", "Greater Bay Area"} <= set(groups)
    for group in groups.values():
        assert group.anchors or group.anchor_entities
        assert set(group.anchor_entities) <= keys
    for alias in ("张江高科技片区", "张江科学城", "南沙区", "南沙新区", "前海合作区", "临港新片区",
                  "河套深港科技创新合作区", "Lok Ma Chau Loop"):
        assert any(alias in e.alias_list for e in wl.entities), alias
    Matcher(wl)  # and no two names fold together
