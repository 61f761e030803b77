"""Folding and tokenising shared by both backends."""
from __future__ import annotations

from zhongcao.search.analysis import fold, query_groups, terms, word_parts


def test_folding_turns_traditional_into_simplified_and_full_width_into_half_width():
    assert fold("電商 視黃醛 乾裂") == "电商 视黄醛 干裂"
    assert fold("ＳＰＦ５０＋　防曬") == "spf50+ 防晒"


def test_folding_keeps_every_character_in_its_place():
    for text in ("維C精華 ＡＢＣ", "İstanbul 羽絨服", "🙂 emoji ㎏"):
        assert len(fold(text)) == len(text)


def test_chinese_is_segmented_with_the_words_inside_longer_words():
    found = [term.text for term in terms("超轻薄短款羽绒服")]

    assert "羽绒服" in found and "羽绒" in found and "短款" in found


def test_english_is_stemmed_and_stop_words_are_dropped():
    assert [term.text for term in terms("The Running Shoes of hikers")] == ["run", "shoe", "hiker"]


def test_offsets_point_into_the_original_text():
    text = "冬天嘴唇乾裂，Keyboards"

    spans = {term.text: text[term.start:term.end] for term in terms(text)}

    assert spans["干裂"] == "乾裂"
    assert spans["keyboard"] == "Keyboards"


def test_mixed_words_are_indexed_whole_and_in_parts_but_queried_whole():
    assert [term.text for term in terms("SPF50")] == ["spf50", "spf", "50"]
    assert query_groups("SPF50 防晒霜") == [["spf50"], ["防晒霜", "防晒"]]
    assert word_parts("iphone15") == ["iphon", "15"]


def test_query_groups_hold_each_word_once_in_order():
    assert query_groups("羽绒服 羽絨服 down") == [["羽绒服", "羽绒"], ["down"]]
    assert query_groups("  ，。！  ") == []
