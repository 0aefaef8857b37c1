"""The command line as people and scripts use it: ``extract`` (jsonl contract),
``check-config``, ``import-warc`` with its summary table."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from hubwatch.cli.main import app
from hubwatch.config.settings import get_settings

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
    missing = tmp_path / "missing.html"
    result = runner.invoke(app, ["extract", str(binary), str(missing), "--format", "jsonl"])
    assert result.exit_code == 0
    records = _jsonl(result.stdout)
    assert [r["outcome"] for r in records] == ["binary", "network_error"]
    assert all(r["error"] for r in records)


def test_extract_usage_error_exits_nonzero(tmp_path):
    result = runner.invoke(app, ["extract", str(tmp_path), "--format", "xml"])
    assert result.exit_code != 0


def test_check_config_names_file_line_key(tmp_path, monkeypatch):
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - slug: Bad Slug\n    name: x\n")
    monkeypatch.setenv("HUBWATCH_SOURCES_FILE", str(bad))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["check-config"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert f"{bad}:2: sources.0.slug" in result.output.replace("\n", "")


@pytest.mark.usefixtures("prefect_harness")
def test_import_warc_command(shared_dir, clean_db):
    warc = shared_dir / "corpus/warc/policy-day1.warc.gz"
    result = runner.invoke(app, ["import-warc", str(warc)])
    assert result.exit_code == 0, result.output
    assert "new documents" in result.output
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
