"""Redlines on the two WARC days of the shared corpus, imported through the CLI (the
flow computes the diffs at the end of the run): ``version_diffs`` and ``hubwatch diff``
(issue 14, point 1)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from hubwatch.cli.main import app

pytestmark = [pytest.mark.db, pytest.mark.usefixtures("prefect_harness")]
runner = CliRunner()


@pytest.fixture
def two_days(shared_dir, clean_db):
    warc = shared_dir / "corpus" / "warc"
    expected = json.loads((warc / "policy-expected.json").read_text(encoding="utf-8"))
    result = runner.invoke(app, ["import-warc", str(warc / "policy-day1.warc.gz"),
                                 str(warc / "policy-day2.warc.gz")])
    assert result.exit_code == 0, result.output
    engine = create_engine(clean_db)
    yield engine, expected
    engine.dispose()


def test_version_diffs_and_diff_command_on_the_warc_days(two_days):
    engine, expected = two_days
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT url, sentences_added, sentences_removed, version_id FROM version_diffs "
            "ORDER BY url")).all()
        changes = conn.execute(text(
            "SELECT version_id, entity, added, removed FROM mention_changes")).all()
    edited = {e["url"]: e["added"] for e in expected["edited_text"]}
    assert sorted(r.url for r in rows) == sorted(edited)  # every edited page, nothing else
    for row in rows:  # the edit and nothing else: extraction is stable outside it
        assert (row.sentences_added, row.sentences_removed) == ([edited[row.url]], [])
    for row in rows:
        result = runner.invoke(app, ["diff", row.url, "--format", "json"])
        assert result.exit_code == 0, result.output
        shown = json.loads(result.stdout)
        assert (shown["sentences_added"], shown["sentences_removed"]) == (
            row.sentences_added, row.sentences_removed)  # the command says what the view says
        assert (shown["from"]["version_no"], shown["to"]["version_no"]) == (1, 2)
        assert {(m["entity"], m["added"], m["removed"]) for m in shown["mentions"]} == {
            (c.entity, c.added, c.removed) for c in changes if c.version_id == row.version_id}
        assert any(m["added"] for m in shown["mentions"])


def test_diff_text_when_piped_and_html(two_days):
    engine, expected = two_days
    first = expected["edited_text"][0]
    piped = runner.invoke(app, ["diff", first["url"]])
    assert piped.exit_code == 0, piped.output
    assert first["url"].startswith("http://en.people.cn/")  # pasted mid-sentence, after "2021"
    assert "2021{+ " + first["added"] + "+}, the" in piped.stdout
    assert f"  + {first['added']}" in piped.stdout.splitlines()
    assert "\x1b[" not in piped.stdout  # no colour codes in a pipe
    page = runner.invoke(app, ["diff", first["url"], "--format", "html"])
    assert page.stdout.startswith("<!DOCTYPE html>") and "<ins>" in page.stdout
    assert f"<ins> {first['added']}</ins>" in page.stdout
    assert f"<li>{first['added']}</li>" in page.stdout


def test_diff_usage_errors(two_days):
    missing = runner.invoke(app, ["diff", "https://nowhere.example/x"])
    assert missing.exit_code == 2
    assert missing.stderr == ("error: no document 'https://nowhere.example/x' (give a "
                              "document id or a URL it was seen under)\n")
    engine, _ = two_days
    with engine.connect() as conn:
        single = conn.execute(text("SELECT document_id FROM current_documents "
                                   "WHERE version_no = 1 ORDER BY 1 LIMIT 1")).scalar()
    one = runner.invoke(app, ["diff", str(single)])
    assert one.exit_code == 2
    assert one.stderr == (f"error: document {single} has only one version before version 1: "
                          "nothing to compare\n")
