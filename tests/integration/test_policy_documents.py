"""The official-document record through the pipeline: stored per version, shown by the
``policy_documents`` view, a changed block alone makes a new version; the real gov.cn
policy-library page gives the issue's values; ``hubwatch extract`` prints it."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker
from typer.testing import CliRunner

from hubwatch.cli.main import app
from hubwatch.config.settings import get_settings
from hubwatch.config.sources import Discovery, SourceConfig
from hubwatch.config.watchlist import load_watchlist
from hubwatch.crawl.fetch import FetchResult
from hubwatch.outcomes import Outcome
from hubwatch.pipeline.ingest import Pipeline

HOST = "www.policy-hub.example"
SOURCE = SourceConfig(slug="policy-hub", name="Policy hub", kind="policy", language="zh",
                      allowed_hosts=[HOST], discovery=[Discovery(type="feed", url=f"https://{HOST}/f.xml")])
BODY = "<p>" + "为推进京津冀协同发展，支持雄安新区建设，现提出以下意见。" * 5 + "</p>"


def policy_page(number: str) -> bytes:
    return (f"<html><head><title>关于支持创新的意见</title></head><body><h1>关于支持创新的意见</h1>"
            f"<table><tr><td>发文机关：</td><td>国家发展改革委\u2002科技部</td>"
            f"<td>发文字号：</td><td>{number}</td></tr>"
            f"<tr><td>公文种类：</td><td>意见</td><td>成文日期：</td><td>2026年10月09日</td></tr></table>"
            f"<div>{BODY}</div></body></html>").encode()


def fetch(url: str, body: bytes, when: dt.datetime) -> FetchResult:
    return FetchResult(url=url, final_url=url, status=200, headers={"content-type": "text/html"},
                       body=body, outcome=Outcome.OK, error=None, attempts=1, fetched_at=when,
                       elapsed_seconds=0.1, redirects=[], etag=None, last_modified=None)


def rows(engine, sql: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql)).mappings()]


def test_record_per_version_and_view(clean_db):
    engine = create_engine(clean_db)
    pipeline = Pipeline.open(sessionmaker(engine), [SOURCE], load_watchlist(get_settings().watchlist_file))
    url = f"https://{HOST}/zc/content_1.htm"
    day = dt.datetime(2026, 10, 10, 2, tzinfo=dt.UTC)
    pipeline.store_fetch(fetch(url, policy_page(""), day), SOURCE)
    pipeline.store_fetch(fetch(url, policy_page(""), day + dt.timedelta(days=1)), SOURCE)
    first = rows(engine, "SELECT * FROM policy_documents")
    assert len(first) == 1 and first[0]["document_number"] is None
    assert first[0]["issuing_bodies"] == ["国家发展改革委", "科技部"]
    assert (first[0]["document_type"], first[0]["written_on"]) == ("意见", dt.date(2026, 10, 9))
    # the portal fills in the number later: same body, a new version with its own record
    pipeline.store_fetch(fetch(url, policy_page("发改高技 [２０２６] 88 号"), day + dt.timedelta(days=2)), SOURCE)
    history = rows(engine, "SELECT v.version_no, p.document_number FROM document_version v "
                           "JOIN policy_record p ON p.version_id = v.id ORDER BY v.version_no")
    assert history == [{"version_no": 1, "document_number": None},
                       {"version_no": 2, "document_number": "发改高技〔2026〕88号"}]
    current = rows(engine, "SELECT version_id, document_number FROM policy_documents")
    assert [r["document_number"] for r in current] == ["发改高技〔2026〕88号"]
    text_of = rows(engine, "SELECT text FROM current_documents")[0]["text"]
    assert "发文机关" not in text_of and "京津冀协同发展" in text_of
    mentions = {r["entity"] for r in rows(engine, "SELECT entity FROM current_mentions")}
    assert "bth" in mentions
    engine.dispose()


@pytest.fixture
def gov_page() -> Path:
    shared = os.environ.get("HUBWATCH_SHARED")
    path = Path(shared or "/nonexistent") / "corpus-gov/pages/govcn_zhengceku_202609_content_7082302.html"
    if not path.is_file():
        pytest.skip("HUBWATCH_SHARED/corpus-gov not available")
    return path


def test_real_gov_page_stored(clean_db, gov_page):
    engine = create_engine(clean_db)
    gov = SourceConfig(slug="govcn-test", name="gov.cn", kind="policy", language="zh",
                       allowed_hosts=["www.gov.cn"],
                       discovery=[Discovery(type="feed", url="https://www.gov.cn/f.xml")])
    pipeline = Pipeline.open(sessionmaker(engine), [gov], load_watchlist(get_settings().watchlist_file))
    url = "https://www.gov.cn/zhengce/zhengceku/202609/content_7082302.htm"
    pipeline.store_fetch(fetch(url, gov_page.read_bytes(), dt.datetime(2026, 10, 1, tzinfo=dt.UTC)), gov)
    (row,) = rows(engine, "SELECT * FROM policy_documents")
    assert len(row["issuing_bodies"]) == 8 and row["issuing_bodies"][0] == "中国人民银行"
    assert row["topic"] == ["财政、金融、审计", "其他"] and row["document_type"] == "意见"
    assert (row["written_on"], row["published_on"]) == (dt.date(2026, 9, 25), dt.date(2026, 9, 28))
    assert row["document_number"] is None and row["source"] == "govcn-test"
    engine.dispose()


def test_extract_jsonl_has_policy(gov_page, tmp_path):
    plain = tmp_path / "plain.html"
    plain.write_text("<html><body><p>" + "普通新闻正文。" * 40 + "</p></body></html>", encoding="utf-8")
    result = CliRunner().invoke(app, ["extract", "--format", "jsonl", str(gov_page), str(plain)])
    assert result.exit_code == 0, result.output
    gov, other = (json.loads(line) for line in result.output.splitlines() if line.strip())
    assert list(gov["policy"]) == ["issuing_bodies", "document_number", "source_organ", "document_type",
                                   "topic", "written_on", "published_on", "index_number", "validity"]
    assert gov["policy"]["written_on"] == "2026-09-25" and gov["policy"]["published_on"] == "2026-09-28"
    assert other["policy"] is None
