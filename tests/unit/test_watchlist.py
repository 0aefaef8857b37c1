"""config/watchlist.yaml and its loader: contents, validation errors with file:line:key, hash."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hubwatch.config.loader import ConfigError
from hubwatch.config.watchlist import DEFAULT_PATH, Watchlist, load_watchlist

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
    (("[南沙新区]", "[粵港澳大灣區]"), 12, "entities.1.aliases.zh_hans.0", "already used by 'gba' as alias"),
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
