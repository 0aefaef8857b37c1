"""config/sources.yaml: the shipped file validates, and every kind of bad line is named by
file, line and key before anything is fetched."""

from __future__ import annotations

import textwrap

import pytest

from hubwatch.config.loader import ConfigError
from hubwatch.config.settings import CONFIG_DIR
from hubwatch.config.sources import load_sources, select_sources

REQUIRED = {"cgtn-opinions", "chinadaily-opinion", "xinhua-english", "govcn-en-policies",
            "govcn-zhengce", "ndrc-news", "gmw-theory", "people-en-opinion", "people-zh-opinion"}


def test_shipped_sources_validate_and_cover_the_starting_set():
    sources = load_sources(CONFIG_DIR / "sources.yaml")
    assert REQUIRED <= {s.slug for s in sources}
    for source in sources:
        assert source.kind in ("commentary", "policy")
        assert source.discovery and source.allowed_hosts
        for endpoint in source.discovery:
            assert any(endpoint.url.split("/")[2] == h for h in source.allowed_hosts), endpoint.url
    kinds = {s.discovery[0].type for s in sources} | {d.type for s in sources for d in s.discovery}
    assert {"feed", "listing", "json"} <= kinds


def test_no_stale_endpoint_is_configured():
    """Feeds the reference marks stale or dead must not come back by accident."""
    stale = ("chinadaily.com.cn/rss/", "english.news.cn/rss/", "xinhuanet.com/english/rss",
             "en.people.cn/rss/", "english.www.gov.cn/rss/", "globaltimes.cn/rss/outbrain")
    text = (CONFIG_DIR / "sources.yaml").read_text()
    assert not [s for s in stale if s in text]


@pytest.mark.parametrize("body, line, key", [
    ("""
     sources:
       - slug: ok-one
         name: A
         kind: blog
     """, 4, "sources.0.kind"),
    ("""
     sources:
       - slug: ok-one
         name: A
         kind: policy
         language: en
         allowed_hosts: [a.example]
         discovery:
           - type: listing
             url: https://a.example/list
     """, 8, "sources.0.discovery.0"),
    ("""
     sources:
       - slug: ok-one
         name: A
         kind: policy
         language: en
         timezone: Mars/Olympus
         allowed_hosts: [a.example]
         discovery: [{type: feed, url: 'https://a.example/f.xml'}]
     """, 6, "sources.0.timezone"),
    ("""
     sources:
       - slug: ok-one
         name: A
         kind: policy
         language: en
         allowed_hosts: [a.example]
         include: ['(unclosed']
         discovery: [{type: feed, url: 'https://a.example/f.xml'}]
     """, 7, "sources.0.include"),
    ("""
     sources:
       - slug: ok-one
         name: A
         kind: policy
         language: en
         allowed_hosts: [a.example]
         discovery: [{type: feed, url: 'https://a.example/f.xml'}]
         surprise: 1
     """, 8, "sources.0.surprise"),
    ("sources:\n  - slug: [unclosed\n", 3, "(syntax)"),
])
def test_config_errors_name_file_line_and_key(tmp_path, body, line, key):
    path = tmp_path / "sources.yaml"
    path.write_text(textwrap.dedent(body).lstrip("\n"))
    with pytest.raises(ConfigError) as err:
        load_sources(path)
    assert err.value.path == str(path)
    assert err.value.key.startswith(key)
    assert err.value.line == line
    assert str(err.value).startswith(f"{path}:{line}: {key}")


def test_select_sources_by_slug_and_unknown_slug():
    sources = load_sources(CONFIG_DIR / "sources.yaml")
    assert [s.slug for s in select_sources(sources, ["ndrc-news"])] == ["ndrc-news"]
    assert all(s.active for s in select_sources(sources, None))
    with pytest.raises(ConfigError, match="unknown source slug"):
        select_sources(sources, ["no-such-source"])
