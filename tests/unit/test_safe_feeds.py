"""Feeds from the fault server through flows.safexml: no entity expansion, no XXE, no leak."""

from __future__ import annotations

import feedparser
import pytest
from lxml import etree
from support.faultserver import ARTICLES, FaultServer

from hubwatch.crawl.fetch import Fetcher, FetchSettings
from hubwatch.crawl.safexml import UnsafeXMLError, check_safe_xml, parse_xml_safely
from hubwatch.outcomes import Outcome

SETTINGS = FetchSettings(connect_timeout=1, read_timeout=2, total_deadline=3, retries=0, host_delay=0)


@pytest.fixture(scope="module")
def feeds():
    with FaultServer() as site, Fetcher(SETTINGS) as f:
        bodies = {}
        for path in ("/feed.xml", "/fault/broken-feed.xml", "/fault/lol-feed.xml", "/fault/xxe-feed.xml"):
            r = f.fetch(site.url(path), allowed_hosts={site.host}, expect="feed")
            assert r.outcome == Outcome.OK
            bodies[path] = r.body
        yield site, bodies


def test_good_feed_parses(feeds):
    site, bodies = feeds
    root = parse_xml_safely(bodies["/feed.xml"])
    assert [link.text for link in root.iter("link")][1:] == [site.url(p) for p in ARTICLES]


@pytest.mark.parametrize("path", ["/fault/lol-feed.xml", "/fault/xxe-feed.xml"])
def test_entity_feeds_are_refused(feeds, path):
    _, bodies = feeds
    with pytest.raises(UnsafeXMLError):
        check_safe_xml(bodies[path])
    with pytest.raises(UnsafeXMLError):
        parse_xml_safely(bodies[path])


def test_broken_feed_is_a_syntax_error_not_unsafe(feeds):
    _, bodies = feeds
    check_safe_xml(bodies["/fault/broken-feed.xml"])  # nothing unsafe in it
    with pytest.raises(etree.XMLSyntaxError):
        parse_xml_safely(bodies["/fault/broken-feed.xml"])


def test_xxe_secret_never_reaches_any_parser_output(feeds):
    site, bodies = feeds
    body = bodies["/fault/xxe-feed.xml"]
    assert site.secret_file.read_text() == site.secret_marker and site.secret_marker.encode() not in body
    # Even past the check, our lxml parser and feedparser must not read the file.
    lenient = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, recover=True)
    assert site.secret_marker not in etree.tostring(etree.fromstring(body, lenient)).decode()
    assert site.secret_marker not in repr(feedparser.parse(body))


@pytest.mark.parametrize("body", [
    # the same class in other clothes: parameter entities, UTF-16, an encoding expat lacks, SYSTEM http
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]><r/>',
    '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>'.encode("utf-16"),
    b'<?xml version="1.0" encoding="gb2312"?><!DOCTYPE r [<!ENTITY a "aaaa">]><r>&a;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "http://169.254.169.254/latest/">]><r>&x;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x PUBLIC "-//A//B" "file:///etc/hostname">]><r>&x;</r>',
])
def test_entity_declarations_refused_in_every_form(body):
    with pytest.raises(UnsafeXMLError):
        check_safe_xml(body)


@pytest.mark.parametrize("body", [
    # an RSS 0.91 DOCTYPE names an external DTD but declares nothing: harmless, never loaded
    b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
    b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel/></rss>',
    '<?xml version="1.0" encoding="gb2312"?><rss><channel><title>京津冀</title></channel></rss>'.encode("gb18030"),
    b"\xef\xbb\xbf<?xml version='1.0'?><urlset><url><loc>http://a.example/</loc></url></urlset>",
])
def test_ordinary_documents_pass(body):
    check_safe_xml(body)
    assert parse_xml_safely(body) is not None


def test_deep_nesting_stops_at_libxml2_limit():
    body = b"<a>" * 200_000 + b"</a>" * 200_000
    with pytest.raises(etree.XMLSyntaxError, match="depth"):
        parse_xml_safely(body)
