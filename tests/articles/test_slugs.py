"""Slugs from titles."""
from __future__ import annotations

from zhongcao.articles.slugs import is_valid_slug, slug_for_title, unique_slug


def test_ascii_titles_are_slugified():
    assert slug_for_title("Uniqlo Ultra Light Down: 2 Winters Later!") == "uniqlo-ultra-light-down-2-winters-later"
    assert slug_for_title("Café Crème") == "cafe-creme"


def test_chinese_titles_become_the_first_few_pinyin_syllables():
    slug = slug_for_title("三款轻薄羽绒服横向对比测评")

    assert slug == "san-kuan-qing-bo-yu-rong"
    assert slug.isascii() and is_valid_slug(slug)


def test_mixed_titles_keep_latin_words_and_pinyin():
    assert slug_for_title("iPhone 16 测评") == "iphone-16-ce-ping"


def test_titles_without_letters_get_a_short_id():
    slug = slug_for_title("🎉！？")

    assert slug.startswith("a-") and is_valid_slug(slug)


def test_unique_slug_appends_the_next_free_number():
    assert unique_slug("post", []) == "post"
    assert unique_slug("post", ["post", "post-2"]) == "post-3"
