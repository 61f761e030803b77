"""Text analysis shared by every search backend: folding, then tokens.

Folding makes the ways people write the same word equal: NFKC (full-width letters and digits to
half-width), lower case, and traditional Chinese characters to simplified, so 電商 and 电商 are one
word at index time and at query time. Folding keeps every character where it was (one character in,
one character out), so token offsets point into the original text and highlights land right.

Tokens: Chinese runs are segmented with jieba in "search mode" (each word plus the dictionary words
inside it, so 羽绒服 also yields 羽绒); other runs are split into words, English words are stemmed
(Snowball English), and words mixing letters and digits (spf50, k75) also yield their parts. jieba's
dictionary loads once per process, on first use.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape
from whoosh.analysis import Token, Tokenizer
from whoosh.lang.porter2 import stem as porter_stem

_OPENCC_DICTIONARY = "TSCharacters.txt"
# Words jieba's stock dictionary splits badly that matter on a shopping site.
DOMAIN_WORDS = (
    "种草", "拔草", "好物", "测评", "笔记", "攻略", "达人", "带货", "回购", "平替", "开箱",
    "羽绒服", "鹅绒服", "羽绒", "冲锋衣", "防晒霜", "防晒乳", "防晒", "降噪耳机", "降噪", "真无线",
    "机械键盘", "墨水屏", "阅读器", "电子书", "手环", "氮化镓", "充电头", "充电宝", "移动电源",
    "移动硬盘", "固态硬盘", "扫地机器人", "扫拖", "加湿器", "护眼台灯", "电水壶", "卸妆水",
    "洁面乳", "神经酰胺", "视黄醛", "精华液", "润唇膏", "面霜", "晚霜", "敏感肌", "成分党",
    "阔腿裤", "乐福鞋", "牛津纺", "美利奴", "羊毛衫", "登山杖", "徒步袜", "越野跑鞋", "头灯",
    "双肩包", "露营", "钛杯", "托特包", "帆布包", "收纳盒", "压缩袋", "真空压缩袋", "植绒衣架",
    "火锅底料", "牛油", "羊肚菌", "普洱", "熟普", "挂耳咖啡", "每日坚果", "葱油拌面", "五常大米",
    "稻花香", "通勤", "胶囊衣橱", "打工人",
)
ENGLISH_STOP_WORDS = frozenset(
    "a an and are as at be by for from has have i in is it its of on or that the this to was were "
    "will with you your my me we our".split()
)
# Single-character function words carry no meaning in a search; they only add noise to ranking.
CHINESE_STOP_WORDS = frozenset("的 了 是 在 和 与 及 也 都 就 吗 呢 吧 啊 呀 哦 么 之 而 或 把 被 给 让".split())

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_RUNS = re.compile(f"([{_HAN}]+)|([^\\W_{_HAN}]+)")
_LETTERS_OR_DIGITS = re.compile(r"[^\W\d_]+|\d+")
_log = logging.getLogger(__name__)
_jieba_lock = threading.Lock()
_jieba = None


@dataclass(frozen=True)
class Term:
    """One indexed word: its folded (and for English, stemmed) text and where it stands in the original."""

    text: str
    start: int
    end: int
    position: int
    is_part: bool = False  # a letters-or-digits part of a mixed word (spf of spf50), indexed beside it


def _fold_table() -> dict[int, str]:
    import opencc

    table: dict[int, str] = {}
    path = Path(opencc.__file__).parent / "dictionary" / _OPENCC_DICTIONARY
    for line in path.read_text(encoding="utf-8").splitlines():
        traditional, _, simplified = line.partition("\t")
        first = simplified.split(" ")[0] if simplified else ""
        # One character to one character only, so offsets survive folding.
        if len(traditional) == 1 and len(first) == 1 and first != traditional:
            table[ord(traditional)] = first
    for code in range(0xFF01, 0xFF5F):  # full-width ASCII forms
        table[code] = chr(code - 0xFEE0)
    table[0x3000] = " "
    table[0x0130] = "i"  # İ lower-cases to two characters
    return table


_TABLE: dict[int, str] | None = None


def _table() -> dict[int, str]:
    global _TABLE
    if _TABLE is None:
        _TABLE = _fold_table()
    return _TABLE


@lru_cache(maxsize=4096)
def _nfkc_char(char: str) -> str:
    normal = unicodedata.normalize("NFKC", char)
    return normal if len(normal) == 1 else char


def fold(text: str) -> str:
    """NFKC, lower case and traditional→simplified, one character for one character."""
    if text.isascii():
        return text.lower()
    text = text.translate(_table())
    if not unicodedata.is_normalized("NFKC", text):
        text = "".join(_nfkc_char(char) for char in text)
    lowered = text.lower()
    if len(lowered) != len(text):
        lowered = "".join(char if len(char.lower()) != 1 else char.lower() for char in text)
    return lowered


def _load_jieba():
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for word in DOMAIN_WORDS:
                    tokenizer.add_word(word, freq=max(tokenizer.FREQ.get(word, 0), 20000))
                _jieba = tokenizer
    return _jieba


def warm_up() -> None:
    """Load jieba's dictionary now (about half a second) instead of during the first search."""
    _load_jieba()
    _table()


@lru_cache(maxsize=65536)
def _segment_han(run: str) -> tuple[tuple[tuple[str, int, int], ...], ...]:
    """jieba search mode over one run of Chinese characters: per word, the word and then the
    dictionary words of two and three characters inside it, as (text, start, end) in the run."""
    tokenizer = _load_jieba()
    words: list[tuple[tuple[str, int, int], ...]] = []
    start = 0
    for word in tokenizer.cut(run, HMM=True):
        width = len(word)
        pieces = [(word, start, start + width)]
        for size in (2, 3):
            if size < width:
                for offset in range(width - size + 1):
                    gram = word[offset:offset + size]
                    if tokenizer.FREQ.get(gram):
                        pieces.append((gram, start + offset, start + offset + size))
        words.append(tuple(pieces))
        start += width
    return tuple(words)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Porter2 (Snowball English) stem of an ASCII word; other words are returned as they are."""
    return porter_stem(word) if word.isascii() and word.isalpha() else word


def terms(text: str, *, stems: bool = True) -> list[Term]:
    """The index terms of `text` with their offsets in `text`; stop words are left out.

    `stems=False` keeps English words whole (the vocabulary for spelling suggestions).
    """
    folded = fold(text)
    out: list[Term] = []
    position = 0
    for match in _RUNS.finditer(folded):
        han, word = match.group(1), match.group(2)
        if han:
            base = match.start()
            for pieces in _segment_han(han):
                if pieces[0][0] in CHINESE_STOP_WORDS:
                    continue
                for piece, start, end in pieces:
                    out.append(Term(piece, base + start, base + end, position))
                position += 1
            continue
        if word in ENGLISH_STOP_WORDS:
            continue
        out.append(Term(stem(word) if stems else word, match.start(), match.end(), position))
        parts = _LETTERS_OR_DIGITS.findall(word)
        if len(parts) > 1:
            offset = match.start()
            for part in parts:
                at = folded.index(part, offset, match.end())
                out.append(Term(stem(part) if stems else part, at, at + len(part), position, True))
                offset = at + len(part)
        position += 1
    return out


def query_groups(text: str) -> list[list[str]]:
    """The terms of a reader's query grouped by the word they came from.

    A result should match every group; within a group, any term will do (羽绒服 or its 羽绒). A
    word mixing letters and digits stays whole (k75, not k or 75): its parts would match far too
    much; `word_parts` splits it when the index does not know it whole. Groups keep the query's
    order and never repeat.
    """
    groups: dict[int, list[str]] = {}
    for term in terms(text):
        if term.is_part:
            continue
        group = groups.setdefault(term.position, [])
        if term.text not in group:
            group.append(term.text)
    unique: list[list[str]] = []
    for group in groups.values():
        if group not in unique:
            unique.append(group)
    return unique


def word_parts(word: str) -> list[str]:
    """The letter and digit parts of a mixed word (["iphon", "15"] for iphone15); [] for other words."""
    parts = _LETTERS_OR_DIGITS.findall(word)
    return [stem(part) for part in parts] if len(parts) > 1 else []


class ZhongcaoTokenizer(Tokenizer):
    """Whoosh tokenizer running `terms()`: the same analysis for indexing and for highlighting."""

    def __init__(self, stems: bool = True) -> None:
        self.stems = stems

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and other.stems == self.stems

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = fold(value)
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar = start_char
                token.endchar = start_char + len(value)
            yield token
            return
        for term in terms(value, stems=self.stems):
            token.text = term.text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = value[term.start:term.end]
            if positions:
                token.pos = start_pos + term.position
            if chars:
                token.startchar = start_char + term.start
                token.endchar = start_char + term.end
            yield token


def analyzer(*, stems: bool = True) -> ZhongcaoTokenizer:
    """The Whoosh analyzer for our text fields."""
    return ZhongcaoTokenizer(stems=stems)


# Highlighting, shared by both backends so results look the same whichever serves them.
def term_spans(text: str, wanted: set[str]) -> list[tuple[int, int]]:
    """Where `text`'s analysed terms in `wanted` stand, overlapping runs merged."""
    spans = sorted((term.start, term.end) for term in terms(text) if term.text in wanted)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mark(text: str, wanted: set[str], spans: list[tuple[int, int]] | None = None) -> Markup:
    """`text` escaped, with every analysed term in `wanted` wrapped in <mark>."""
    if not wanted or not text:
        return Markup(escape(text))
    spans = term_spans(text, wanted) if spans is None else spans
    out: list[str] = []
    last = 0
    for start, end in spans:
        out.append(str(escape(text[last:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        last = end
    out.append(str(escape(text[last:])))
    return Markup("".join(out))
