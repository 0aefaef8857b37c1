"""The redline of two texts: sentence boundaries (Latin and CJK), the word-level diff,
and the sentences an edit added and removed (hubwatch.text.redline)."""

from __future__ import annotations

import pytest

from hubwatch.text.redline import changed_sentences, diff_words, sentence_spans

PASTED_EN = "Officials said the 15th Five-Year Plan would give the delta a larger role."
PASTED_ZH = "“十五五”期间，粤港澳大湾区将加快建设国际科技创新中心。"


def _sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def test_sentence_boundaries_latin_and_cjk():
    text = "他说：“很好。”然后走了！Yes. It rose 3.5 percent? Ok\nnext line"
    assert _sentences(text) == ["他说：“很好。”", "然后走了！", "Yes.", "It rose 3.5 percent?",
                                "Ok", "next line"]


@pytest.mark.parametrize("old,new,added", [
    # a sentence pasted into the middle of another (the WARC days' edits)
    ("Since it opened in 2021, the park grew. It is large.",
     f"Since it opened in 2021 {PASTED_EN}, the park grew. It is large.", PASTED_EN),
    ("河南省有关负责同志介绍了相关情况。下一句。",
     f"河南省有关负责同{PASTED_ZH}志介绍了相关情况。下一句。", PASTED_ZH),
    # appended after a sentence: the diff may align on the shared 。, the result may not
    ("项目在北京市青年宫正式启动。活动很好。", f"项目在北京市青年宫正式启动。{PASTED_ZH}活动很好。",
     PASTED_ZH),
    # a new paragraph
    ("First paragraph here.\n\nSecond one.", f"First paragraph here.\n\n{PASTED_EN}\n\nSecond one.",
     PASTED_EN),
])
def test_an_inserted_sentence_is_reported_alone(old, new, added):
    assert changed_sentences(old, new) == ([added], [])


def test_edited_copy_beside_the_original_reports_only_the_edit():
    lead = "国务院新闻办举行新闻发布会，河南省有关负责同志介绍了相关情况。"
    edited = lead.replace("负责同志", f"负责同{PASTED_ZH}志")
    old = f"{lead}\n\n第二段的内容在这里。"
    new = f"{lead}\n\n{edited}\n\n第二段的内容在这里。"
    assert changed_sentences(old, new) == ([PASTED_ZH], [])


def test_a_reworded_sentence_is_removed_and_added():
    old = "The hub grows fast. The next sentence stays."
    new = "The centre grows fast. The next sentence stays."
    assert changed_sentences(old, new) == (["The centre grows fast."], ["The hub grows fast."])


def test_a_removed_paragraph_lists_its_sentences():
    old = "Kept paragraph.\n\nGone one. Gone two.\n\nKept too."
    new = "Kept paragraph.\n\nKept too."
    assert changed_sentences(old, new) == ([], ["Gone one.", "Gone two."])


def test_unchanged_text_has_no_change():
    assert changed_sentences("Same. 一样。", "Same. 一样。") == ([], [])


@pytest.mark.parametrize("old,new", [
    ("The hub grows.", "The centre grows."),
    ("粤港澳大湾区建设。\n\n第二段。", "粤港澳大湾区加快建设。\n\n第三段。\n\n第二段。"),
    ("a b c", ""), ("", "x y"),
])
def test_word_diff_rebuilds_both_texts(old, new):
    pieces = diff_words(old, new)
    assert "".join(p.text for p in pieces if p.kind != "delete") == new
    assert "".join(p.text for p in pieces if p.kind != "insert") == old


def test_word_diff_marks_words_and_characters():
    assert [(p.kind, p.text) for p in diff_words("The hub grows.", "The centre grows.")] == [
        ("equal", "The "), ("delete", "hub"), ("insert", "centre"), ("equal", " grows.")]
    assert [(p.kind, p.text) for p in diff_words("大湾区建设", "大湾区加快建设")] == [
        ("equal", "大湾区"), ("insert", "加快"), ("equal", "建设")]
