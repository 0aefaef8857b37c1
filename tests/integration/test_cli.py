"""The command line as people and scripts use it: ``extract`` (jsonl contract),
``check-config``, ``import-warc`` with its summary table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from hubwatch.cli.main import app
from hubwatch.config.settings import get_settings
from hubwatch.crawl.warc import count_responses

runner = CliRunner()
FIELDS = {"file", "url", "title", "text", "published_at", "published_precision", "author",
          "language", "canonical_url", "outcome", "error", "mentions"}


def _jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_extract_jsonl_on_real_pages(shared_dir):
    page = shared_dir / "corpus/policy/magichtml__finance.people.com.cn__1e20e02712.html"
    result = runner.invoke(app, ["extract", str(page), "--format", "jsonl", "--url",
                                 "http://finance.people.com.cn/n1/2024/0510/c1004-40232587.html"])
    assert result.exit_code == 0, result.output
    (record,) = _jsonl(result.stdout)
    assert set(record) >= FIELDS
    assert record["outcome"] == "ok" and record["error"] is None
    assert record["title"] and len(record["text"]) > 500
    assert record["published_at"] and record["published_at"][19:] in ("+08:00", "+00:00")
    for m in record["mentions"]:
        zone_text = record["title"] if m["zone"] == "title" else record["text"]
        assert zone_text[m["start"]:m["end"]] == m["surface"]


def test_extract_bad_targets_still_print_a_line(tmp_path):
    binary = tmp_path / "report.html"
    binary.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    result = runner.invoke(app, ["extract", str(binary), str(empty), "--format", "jsonl"])
    assert result.exit_code == 0
    records = _jsonl(result.stdout)
    # PDF bytes are read as a PDF whatever the file's name: these are junk
    assert [r["outcome"] for r in records] == ["decode_error", "no_text"]
    assert all(r["error"] for r in records) and "PDFium" in records[0]["error"]


def test_extract_usage_error_exits_nonzero(tmp_path):
    result = runner.invoke(app, ["extract", str(tmp_path), "--format", "xml"])
    assert result.exit_code != 0


def test_check_config_names_file_line_key(tmp_path, monkeypatch):
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - slug: Bad Slug\n    name: x\n")
    monkeypatch.setenv("HUBWATCH_SOURCES_FILE", str(bad))
    get_settings.cache_clear()  # read the variable just set (conftest clears after)
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 2
    assert f"{bad}:2: sources.0.slug" in result.output.replace("\n", "")


PAGE = """<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>{title}</title></head>
<body><article><h1>{title}</h1><p>{body}</p></article></body></html>"""


def test_extract_lists_unanchored_ambiguous_names(tmp_path):
    """Bare 南沙 in a Guangzhou notice is a mention; beside 岛礁 it is listed as unanchored,
    with the reason, in jsonl and in the table."""
    page = tmp_path / "notice.html"
    page.write_text(PAGE.format(title="广州市关于人才政策的通知", body=(
        "增城、南沙、番禺三区试点新的人才政策，相关部门将于下月公布实施细则，欢迎各界人士提出意见建议。"
        * 3 + "另据报道，南沙岛礁附近海域开展了科考活动。")), encoding="utf-8")
    result = runner.invoke(app, ["extract", str(page), "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    (record,) = _jsonl(result.stdout)
    assert [(m["entity"], m["surface"]) for m in record["mentions"]] == [("nansha", "南沙")] * 3
    (left,) = record["unanchored"]
    assert (left["entity"], left["surface"], left["zone"], left["reason"]) == (
        "nansha", "南沙", "body", "veto nearby: 岛礁")
    assert record["text"][left["start"]:left["end"]] == "南沙"
    table = runner.invoke(app, ["extract", str(page)])
    assert table.exit_code == 0 and "veto nearby: 岛礁" in table.output and "unanchored" in table.output


def test_check_config_reports_names_that_fold_together(tmp_path, monkeypatch):
    shipped = (Path(get_settings().watchlist_file)).read_text(encoding="utf-8")
    bad = tmp_path / "watchlist.yaml"
    bad.write_text(shipped.replace("zh_hans: [南沙新区, 南沙区,", "zh_hans: [粵港澳大湾区, 南沙区,", 1),
                   encoding="utf-8")
    assert bad.read_text(encoding="utf-8") != shipped
    line = next(i for i, t in enumerate(bad.read_text(encoding="utf-8").splitlines(), 1) if "粵港澳大湾区, 南沙区" in t)
    monkeypatch.setenv("HUBWATCH_WATCHLIST_FILE", str(bad))
    get_settings.cache_clear()  # read the variable just set (conftest clears after)
    result = runner.invoke(app, ["check-config"])
    assert result.exit_code == 2
    assert f"{bad}:{line}: entities." in result.output.replace("\n", "")
    assert "already used by 'gba'" in result.output.replace("\n", "")


@pytest.mark.usefixtures("prefect_harness")
def test_import_warc_command(shared_dir, clean_db):
    warc = shared_dir / "corpus/warc/policy-day1.warc.gz"
    result = runner.invoke(app, ["import-warc", str(warc)])
    assert result.exit_code == 0, result.output
    assert "new documents" in result.output
    records = count_responses(warc)
    assert records and f"import-warc {'━' * 40} {records}/{records}" in result.output
    engine = create_engine(clean_db)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM document")).scalar() == 36
        run = conn.execute(text("SELECT flow_name, run_status, flow_run_id FROM crawl_run")).one()
    engine.dispose()
    assert run.flow_name == "import-warc" and run.run_status == "completed"
    assert run.flow_run_id is not None
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert "import-warc" in status.output and "completed" in status.output
    assert "people-en-opinion" in status.output and "unassigned" in status.output
