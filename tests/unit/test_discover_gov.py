"""Discovery on the government listings of corpus-gov: an HTML listing (MOFCOM), items as
JSON inside a <script> (a Jiangxi Hanweb JCMS column), and the gov.cn policy library's
JSON search API with its four catMap lists (the configured source entry)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig, load_sources
from hubwatch.crawl.discover import discover
from hubwatch.crawl.fetch import FetchResult
from hubwatch.outcomes import Outcome

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def serve(pages: dict[str, tuple[bytes, str]]):
    def fetch(url: str, **_):
        body, ctype = pages[url]
        return FetchResult(url=url, final_url=url, status=200, headers={"content-type": ctype},
                           body=body, outcome=Outcome.OK, error=None, attempts=1, fetched_at=NOW,
                           elapsed_seconds=0.0, redirects=[], etag=None, last_modified=None)
    return fetch


@pytest.fixture
def listings(shared_dir) -> Path:
    path = shared_dir / "corpus-gov/listings"
    if not path.is_dir():
        pytest.skip("corpus-gov not in HUBWATCH_SHARED")
    return path


def test_mofcom_listing_links(listings):
    url = "https://www.mofcom.gov.cn/zcfb/index.html"
    source = SourceConfig(slug="mofcom", name="MOFCOM", kind="policy", language="zh",
                          allowed_hosts=["www.mofcom.gov.cn"],
                          discovery=[Discovery(type="listing", url=url, selector="a[href*='/art/']")],
                          include=[r"/art/\d{4}/art_[0-9a-f]{32}\.html$"])
    found = discover(source, serve({url: ((listings / "mofcom_zcfb_index.html").read_bytes(), "text/html")}))
    urls = [c.url for c in found.candidates]
    assert len(urls) == len(set(urls)) == 20
    assert all(u.startswith("https://www.mofcom.gov.cn/") for u in urls)


def test_hanweb_column_json_in_script(listings):
    url = "https://sthjt.jiangxi.gov.cn/jxssthjt/col/col42150/index.html"
    source = SourceConfig(slug="jx", name="Jiangxi", kind="policy", language="zh",
                          allowed_hosts=["sthjt.jiangxi.gov.cn"],
                          discovery=[Discovery(type="script_json", url=url, script_key="articleList",
                                               url_field="urls.pc", date_field="pubDate",
                                               title_field="title")])
    body = (listings / "jiangxi_sthjt_col42150_list.html").read_bytes()
    found = discover(source, serve({url: (body, "text/html; charset=utf-8")}))
    assert [r.outcome for r in found.endpoints] == [Outcome.OK]
    cands = found.candidates
    assert len({c.url for c in cands}) == 50
    assert all(c.url.startswith("https://sthjt.jiangxi.gov.cn/jxssthjt/col/col42150/content/content_")
               for c in cands)
    first = cands[0]
    assert first.title.endswith("政策解读")
    assert first.published_at == dt.datetime(2025, 7, 29, 8, 59, tzinfo=dt.UTC)  # 16:59 Beijing


def test_script_without_the_key_is_a_bad_feed():
    url = "https://x.example/list.html"
    source = SourceConfig(slug="x", name="X", kind="policy", language="zh", allowed_hosts=["x.example"],
                          discovery=[Discovery(type="script_json", url=url, script_key="articleList",
                                               url_field="url")])
    page = b"<html><script>var articleList = makeList();</script></html>"
    found = discover(source, serve({url: (page, "text/html")}))
    assert found.endpoints[0].outcome == Outcome.BAD_FEED and not found.candidates


def test_govcn_policy_library_json_api(listings):
    (source,) = [s for s in load_sources(get_settings().sources_file) if s.slug == "govcn-policy-library"]
    (endpoint,) = [e for e in source.discovery if "sousuo.www.gov.cn" in e.url]
    sample = (listings / "govcn_sousuo_search-gov_data_gwyzcwjk_p1_n5.RECONSTRUCTED.json")
    found = discover(source, serve({endpoint.url: (sample.read_bytes(), "application/json")}))
    data = json.loads(sample.read_text(encoding="utf-8"))
    lists = data["searchVO"]["catMap"]
    assert sorted(lists) == ["bumenfile", "gongbao", "gongwen", "otherfile"]
    want = [item["url"] for part in lists.values() for item in part["listVO"]]
    assert sorted(c.url for c in found.candidates) == sorted(want) and len(want) == 20
    # pubtime is epoch milliseconds: 1790758800000 = 2026-09-30 16:20 Beijing time
    by_url = {c.url: c for c in found.candidates}
    first = lists["gongwen"]["listVO"][0]
    assert by_url[first["url"]].published_at == dt.datetime.fromtimestamp(1790758800, dt.UTC)


def test_epoch_zero_is_no_date(listings):
    url = "https://sousuo.www.gov.cn/search-gov/data?t=x"
    source = SourceConfig(slug="g", name="G", kind="policy", language="zh", allowed_hosts=["www.gov.cn", "sousuo.www.gov.cn"],
                          discovery=[Discovery(type="json", url=url, items_path="searchVO.catMap.*.listVO",
                                               url_field="url", date_field="ptime")])
    sample = listings / "govcn_sousuo_search-gov_data_gwyzcwjk_p1_n5.RECONSTRUCTED.json"
    found = discover(source, serve({url: (sample.read_bytes(), "application/json")}))
    undated = [c.url for c in found.candidates if c.published_at is None]
    other = json.loads(sample.read_text(encoding="utf-8"))["searchVO"]["catMap"]["otherfile"]["listVO"]
    assert sorted(undated) == sorted(i["url"] for i in other)  # ptime 0 in otherfile
    assert len(found.candidates) == 20


def test_hanweb_datastore_records_in_a_listing():
    url = "https://www.example.gov.cn/col/col1/index.html"
    records = "".join(f"<record><![CDATA[<li><a href='/art/2026/10/{d}/art_1_{d}.html'>文件{d}</a></li>]]></record>"
                      for d in range(1, 4))
    page = (f"<html><body><div id='x'><script type='text/xml'><datastore><recordset>{records}"
            f"</recordset></datastore></script></div><a href='/art/2026/9/1/art_1_0.html'>旧</a></body></html>")
    source = SourceConfig(slug="hw", name="HW", kind="policy", language="zh", allowed_hosts=["www.example.gov.cn"],
                          discovery=[Discovery(type="listing", url=url, selector="a[href*='/art/']")])
    found = discover(source, serve({url: (page.encode(), "text/html; charset=utf-8")}))
    assert [c.url.rsplit("/", 1)[1] for c in found.candidates] == [
        "art_1_0.html", "art_1_1.html", "art_1_2.html", "art_1_3.html"]
