"""The no-text threshold: real gold texts clear it by a wide margin; what stubs, empty
templates and link-only pages leave does not (outcome ``no_text``)."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime

import pytest

from hubwatch.outcomes import Outcome
from hubwatch.text.extract import MIN_TEXT_TOKENS, ExtractError, parse_page, require_text, text_tokens

FETCHED = datetime(2026, 1, 1, tzinfo=UTC)


def _scorer(shared):
    spec = importlib.util.spec_from_file_location("score_text", shared / "corpus" / "score_text.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("corpus", ["corpus", "corpus-news"])
def test_every_gold_text_is_at_least_twice_the_threshold(shared_dir, corpus):
    scorer = _scorer(shared_dir)
    sizes = [text_tokens(gold) for _, gold, _ in scorer.pairs(shared_dir / corpus)]
    assert sizes and min(sizes) >= 2 * MIN_TEXT_TOKENS
    # the count agrees with the scorer's own tokens
    assert all(text_tokens(g) == len(scorer.tokens(g)) for _, g, _ in list(scorer.pairs(shared_dir / corpus))[:5])


@pytest.mark.parametrize("body", [
    "<html><head><title>Home</title></head><body></body></html>",
    "<html><body><a href='https://www.example.gov/'>https://www.example.gov/</a></body></html>",
    "<html><body><nav><a href='/a'>News</a> <a href='/b'>About</a></nav><p>Loading...</p></body></html>",
    "<html><body><div id='app'></div><script>render()</script></body></html>",
])
def test_pages_without_main_text_raise_no_text(body):
    with pytest.raises(ExtractError) as caught:
        require_text(parse_page(body.encode(), url="https://www.example.gov/x", content_type="text/html",
                                fetched_at=FETCHED))
    assert caught.value.outcome == Outcome.NO_TEXT


@pytest.mark.parametrize("line", ["Priorities for 2026-2030.", "长三角地区将推出新一轮一体化发展举措。"])
def test_one_whole_sentence_is_text(line):
    body = f"<html><body><article><h1>Notice</h1><p>{line}</p></article></body></html>".encode()
    page = require_text(parse_page(body, url=None, content_type="text/html; charset=utf-8", fetched_at=FETCHED))
    assert page.text == line


def test_a_short_real_notice_is_text():
    words = " ".join(f"word{i}" for i in range(MIN_TEXT_TOKENS))
    cjk = "关于做好春节期间安全生产工作的通知，请各单位认真落实。"
    for para in (f"The board met today and agreed {words}.", cjk):
        body = f"<html><body><article><h1>Notice</h1><p>{para}</p></article></body></html>".encode()
        page = require_text(parse_page(body, url=None, content_type="text/html; charset=utf-8", fetched_at=FETCHED))
        assert text_tokens(page.text) >= MIN_TEXT_TOKENS
