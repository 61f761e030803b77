"""A synthetic, deterministic search corpus for `make bench-search`: products and articles as
search Documents, in Chinese and English, with a realistic shopping vocabulary, plus a fixed mix
of queries drawn from the same vocabulary.

Product titles combine brands × category nouns × attributes × colours; article titles and bodies
are filled from sentence templates. A few documents are written in traditional characters. The
same seed gives the same corpus and queries, and generating 120,000 documents takes seconds.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from zhongcao.search import Document, SearchQuery

SEED = 20241121
START = datetime(2023, 1, 1, tzinfo=timezone.utc)

# (zh, en)
BRANDS = [
    ("波司登", "Bosideng"), ("优衣库", "Uniqlo"), ("安踏", "Anta"), ("李宁", "Li-Ning"), ("耐克", "Nike"),
    ("阿迪达斯", "Adidas"), ("始祖鸟", "Arcteryx"), ("北面", "The North Face"), ("蕉下", "Beneunder"),
    ("兰蔻", "Lancome"), ("雅诗兰黛", "Estee Lauder"), ("资生堂", "Shiseido"), ("欧莱雅", "LOreal"),
    ("珀莱雅", "Proya"), ("薇诺娜", "Winona"), ("科颜氏", "Kiehls"), ("完美日记", "Perfect Diary"),
    ("花西子", "Florasis"), ("小米", "Xiaomi"), ("华为", "Huawei"), ("索尼", "Sony"), ("苹果", "Apple"),
    ("罗技", "Logitech"), ("戴森", "Dyson"), ("飞利浦", "Philips"), ("美的", "Midea"), ("苏泊尔", "Supor"),
    ("九阳", "Joyoung"), ("无印良品", "MUJI"), ("宜家", "IKEA"), ("三顿半", "Saturnbird"), ("瑞幸", "Luckin"),
    ("三只松鼠", "Three Squirrels"), ("良品铺子", "Bestore"), ("元气森林", "Genki Forest"), ("乐高", "LEGO"),
    ("泡泡玛特", "Pop Mart"), ("膳魔师", "Thermos"), ("象印", "Zojirushi"), ("百雀羚", "Pechoin"),
]

# category slug → [(zh noun, en noun)]
CATEGORIES = {
    "clothing": [
        ("羽绒服", "down jacket"), ("卫衣", "hoodie"), ("T恤", "t-shirt"), ("牛仔裤", "jeans"), ("连衣裙", "dress"),
        ("风衣", "trench coat"), ("衬衫", "shirt"), ("毛衣", "sweater"), ("冲锋衣", "shell jacket"),
        ("运动裤", "joggers"), ("阔腿裤", "wide-leg trousers"), ("羊毛衫", "wool cardigan"),
    ],
    "beauty": [
        ("面霜", "face cream"), ("精华液", "serum"), ("口红", "lipstick"), ("防晒霜", "sunscreen"),
        ("粉底液", "foundation"), ("眼霜", "eye cream"), ("面膜", "sheet mask"), ("洁面乳", "cleanser"),
        ("爽肤水", "toner"), ("卸妆油", "cleansing oil"), ("润唇膏", "lip balm"), ("保湿乳", "moisturizer"),
    ],
    "digital": [
        ("降噪耳机", "noise cancelling headphones"), ("蓝牙音箱", "bluetooth speaker"), ("充电宝", "power bank"),
        ("机械键盘", "mechanical keyboard"), ("鼠标", "mouse"), ("平板电脑", "tablet"), ("智能手表", "smartwatch"),
        ("手机壳", "phone case"), ("相机", "camera"), ("充电头", "charger"), ("移动硬盘", "portable drive"),
    ],
    "home": [
        ("空气炸锅", "air fryer"), ("电饭煲", "rice cooker"), ("吸尘器", "vacuum cleaner"), ("咖啡机", "coffee machine"),
        ("加湿器", "humidifier"), ("四件套", "bedding set"), ("收纳盒", "storage box"), ("台灯", "desk lamp"),
        ("保温杯", "thermos flask"), ("电水壶", "electric kettle"), ("扫地机器人", "robot vacuum"),
    ],
    "food": [
        ("咖啡豆", "coffee beans"), ("挂耳咖啡", "drip coffee"), ("每日坚果", "mixed nuts"), ("牛肉干", "beef jerky"),
        ("燕麦片", "oatmeal"), ("绿茶", "green tea"), ("巧克力", "chocolate"), ("气泡水", "sparkling water"),
        ("火锅底料", "hotpot base"), ("五常大米", "wuchang rice"),
    ],
    "outdoor": [
        ("跑鞋", "running shoes"), ("瑜伽垫", "yoga mat"), ("登山包", "hiking backpack"), ("羽毛球拍", "badminton racket"),
        ("手环", "fitness band"), ("速干衣", "quick-dry shirt"), ("帐篷", "tent"), ("登山杖", "trekking pole"),
        ("头灯", "headlamp"), ("露营椅", "camping chair"),
    ],
}

ATTRIBUTES = [
    ("轻薄", "lightweight"), ("加厚", "thick"), ("保暖", "warm"), ("防水", "waterproof"), ("透气", "breathable"),
    ("无线", "wireless"), ("便携", "portable"), ("大容量", "large"), ("保湿", "hydrating"), ("美白", "brightening"),
    ("控油", "oil-control"), ("敏感肌", "sensitive skin"), ("有机", "organic"), ("低糖", "low-sugar"),
    ("复古", "vintage"), ("简约", "minimalist"), ("宽松", "oversized"), ("修身", "slim"), ("国潮", "guochao"),
    ("限定", "limited"), ("新款", "new"), ("经典", "classic"), ("高端", "premium"), ("入门", "entry-level"),
    ("专业", "professional"), ("静音", "quiet"), ("快充", "fast-charging"), ("护眼", "eye-care"),
]
COLOURS = [
    ("黑色", "black"), ("白色", "white"), ("米色", "beige"), ("藏青", "navy"), ("灰色", "grey"), ("奶茶色", "mocha"),
    ("军绿", "olive"), ("酒红", "burgundy"), ("雾霾蓝", "dusty blue"), ("樱花粉", "sakura pink"),
]
SEASONS = ["春天", "夏天", "秋天", "冬天", "双十一", "618", "开学季", "年货节"]
PEOPLE = ["打工人", "学生党", "宝妈", "通勤族", "户外爱好者", "成分党", "咖啡控", "健身党"]
FEELINGS = ["真的很惊喜", "有点失望", "超出预期", "中规中矩", "强烈推荐", "可以回购", "踩雷了", "性价比很高"]

ZH_TITLES = [
    "{brand}{noun}测评：{attr}到底值不值得买？",
    "{season}必备！{n}款{noun}横向对比",
    "{noun}怎么选？一篇讲清楚{attr}和{attr2}",
    "{people}的{noun}清单｜{brand}篇",
    "用了三个月的{brand}{noun}，{feeling}",
    "平价{noun}推荐：{attr}{colour}款",
    "{brand} vs {brand2}：{noun}哪家强",
]
EN_TITLES = [
    "{brand_en} {noun_en} review: is it worth it?",
    "The best {attr_en} {noun_en} for {season_en}",
    "{n} {noun_en} picks for students on a budget",
    "My honest take on the {brand_en} {attr_en} {noun_en}",
    "{brand_en} vs {brand2_en}: which {noun_en} should you buy",
]
ZH_SENTENCES = [
    "这款{brand}{noun}我已经用了{n}个月，{feeling}。",
    "{attr}是它最大的亮点，{people}会很喜欢。",
    "价格在{price}元左右，{season}的时候入手更划算。",
    "和{brand2}的{noun}比起来，{attr2}方面略胜一筹。",
    "{colour}很百搭，通勤和周末出门都合适。",
    "缺点是{attr2}一般，介意的朋友慎重考虑。",
    "包装很用心，物流也快，客服态度不错。",
    "如果你追求{attr}，这款{noun}值得种草。",
    "官方旗舰店经常有活动，记得领券再下单。",
    "整体来说{feeling}，打{score}分。",
    "身边的{people}朋友也都在用{brand}。",
    "细节做工扎实，{attr}的体验比想象中好。",
]
EN_SENTENCES = [
    "I have used the {brand_en} {noun_en} for {n} months and it is {feeling_en}.",
    "The {attr_en} design is the main selling point.",
    "At around {price} yuan it is good value, especially during {season_en} sales.",
    "Compared with the {brand2_en} {noun_en}, it feels more {attr2_en}.",
    "The {colour_en} colour goes with everything.",
    "Shipping was fast and the packaging was neat.",
    "If you want something {attr_en}, this {noun_en} is an easy recommendation.",
    "My only complaint is that it could be more {attr2_en}.",
]
EN_FEELINGS = ["excellent", "decent", "surprisingly good", "a little disappointing", "great value"]
EN_SEASONS = ["winter", "summer", "spring", "autumn", "singles day", "back to school"]
# Enough traditional forms for the words above that some documents read as zh-TW.
_TRADITIONAL = str.maketrans(
    "绒机电饭华话测评选买热轻质价够觉们这个为适会时还让欢实颜样变说对级装长东认亲爱发头门间经图书读写车马鸟鱼语见现",
    "絨機電飯華話測評選買熱輕質價夠覺們這個為適會時還讓歡實顏樣變說對級裝長東認親愛發頭門間經圖書讀寫車馬鳥魚語見現",
)


@dataclass(frozen=True)
class BenchQuery:
    cls: str  # zh_word, two_words, english, price_filtered, prefix, typo
    query: SearchQuery | None = None  # for search()
    prefix: str | None = None  # for suggest()


def _nouns() -> list[tuple[str, str, str]]:
    return [(slug, zh, en) for slug, nouns in CATEGORIES.items() for zh, en in nouns]


def products(count: int, rng: random.Random) -> list[Document]:
    nouns = _nouns()
    out = []
    for number in range(1, count + 1):
        slug, noun, noun_en = rng.choice(nouns)
        brand, brand_en = rng.choice(BRANDS)
        attr, attr_en = rng.choice(ATTRIBUTES)
        attr2, attr2_en = rng.choice(ATTRIBUTES)
        colour, colour_en = rng.choice(COLOURS)
        style = rng.random()
        if style < 0.55:
            title = f"{brand} {attr}{colour}{noun} {rng.choice(['', '2024新款', '官方正品', '礼盒装'])}".strip()
        elif style < 0.8:
            title = f"{brand_en} {noun} {attr}{attr2} {noun_en.title()}"
        else:
            title = f"{brand_en} {attr_en.title()} {colour_en.title()} {noun_en.title()}"
        if rng.random() < 0.05:
            title = title.translate(_TRADITIONAL)
        body = (
            f"{brand}（{brand_en}）{noun}，{attr}、{attr2}，{colour}。适合{rng.choice(PEOPLE)}，{rng.choice(SEASONS)}热卖。"
            f" {attr_en.capitalize()} {noun_en} in {colour_en}."
        )
        price = rng.choice([990, 1990, 2990, 4990, 6990, 9900, 12900, 19900, 29900, 49900, 89900, 159900])
        price += rng.randrange(0, 1000) * 10
        out.append(Document(
            kind="product", id=number, title=title, tags=f"{brand} {brand_en} {slug} {noun}", body=body,
            url=f"/products/p{number}", version=f"v{number}", published_at=START + timedelta(minutes=7 * number),
            popularity=int(rng.paretovariate(1.2) * 10), category=slug, price_fen=price,
            in_stock=rng.random() < 0.85, subtitle=f"{brand}官方旗舰店",
        ))
    return out


class _Slots(dict):
    """Template slots drawn only when a template uses them (brand and brand_en stay a pair)."""

    def __init__(self, rng: random.Random, nouns) -> None:
        super().__init__()
        self.rng = rng
        self.nouns = nouns

    def __missing__(self, key: str) -> str:
        rng = self.rng
        pairs = {
            "noun": lambda: rng.choice(self.nouns)[1:], "brand": lambda: rng.choice(BRANDS),
            "brand2": lambda: rng.choice(BRANDS), "attr": lambda: rng.choice(ATTRIBUTES),
            "attr2": lambda: rng.choice(ATTRIBUTES), "colour": lambda: rng.choice(COLOURS),
        }
        base = key.removesuffix("_en")
        if base in pairs:
            zh, en = pairs[base]()
            self[base], self[base + "_en"] = zh, en
            return self[key]
        value = {
            "season": lambda: rng.choice(SEASONS), "season_en": lambda: rng.choice(EN_SEASONS),
            "people": lambda: rng.choice(PEOPLE), "feeling": lambda: rng.choice(FEELINGS),
            "feeling_en": lambda: rng.choice(EN_FEELINGS), "n": lambda: rng.randint(2, 12),
            "price": lambda: rng.choice([99, 199, 299, 499, 899, 1299]), "score": lambda: rng.randint(6, 10),
        }[key]()
        self[key] = str(value)
        return self[key]


def _fill(template: str, rng: random.Random, nouns) -> str:
    return template.format_map(_Slots(rng, nouns))


def articles(count: int, rng: random.Random) -> list[Document]:
    nouns = _nouns()
    out = []
    for number in range(1, count + 1):
        english = rng.random() < 0.2
        # One topic per article: its title and most of its sentences talk about the same thing.
        topic = rng.choice(nouns)
        topical = [topic]
        title = _fill(rng.choice(EN_TITLES if english else ZH_TITLES), rng, topical)
        sentences = EN_SENTENCES if english else ZH_SENTENCES
        paragraphs = []
        for _ in range(rng.randint(3, 6)):
            paragraph = [
                _fill(rng.choice(sentences), rng, topical if rng.random() < 0.7 else nouns)
                for _ in range(rng.randint(3, 6))
            ]
            paragraphs.append((" " if english else "").join(paragraph))
        body = "\n\n".join(paragraphs)
        if not english and rng.random() < 0.08:
            title, body = title.translate(_TRADITIONAL), body.translate(_TRADITIONAL)
        author = rng.randrange(1, 2001)
        out.append(Document(
            kind="article", id=number, title=title, tags=f"{topic[0]} {topic[1]} {rng.choice(PEOPLE)}", body=body,
            url=f"/@writer{author}/a{number}", version=f"v{number}",
            published_at=START + timedelta(minutes=37 * number), popularity=int(rng.paretovariate(1.1) * 20),
            subtitle=f"@writer{author}",
        ))
    return out


def corpus(scale: float = 1.0, seed: int = SEED) -> list[Document]:
    """100,000 products and 20,000 articles at scale 1."""
    rng = random.Random(seed)
    return products(max(1, int(100_000 * scale)), rng) + articles(max(1, int(20_000 * scale)), rng)


def _typo(word: str, rng: random.Random) -> str:
    """One edit: swap two neighbours, drop or double a letter, or change one."""
    at = rng.randrange(1, len(word) - 1)
    change = rng.choice(("swap", "drop", "double", "change"))
    if change == "swap":
        return word[:at] + word[at + 1] + word[at] + word[at + 2:]
    if change == "drop":
        return word[:at] + word[at + 1:]
    if change == "double":
        return word[:at] + word[at] + word[at:]
    letter = rng.choice([c for c in "aeioutnrsl" if c != word[at]])
    return word[:at] + letter + word[at + 1:]


# Chinese typos as people make them: a homophone or a look-alike character.
ZH_TYPOS = ["羽戎服", "降燥耳机", "面双", "充电包", "冲峰衣", "保温悲", "咖非豆", "空气炸guo", "机械建盘", "防晒爽"]


def query_mix(per_class: int = 40, seed: int = SEED) -> list[BenchQuery]:
    """A fixed mix of `per_class` queries in each of six classes (240 by default)."""
    rng = random.Random(seed + 1)
    nouns = _nouns()
    queries: list[BenchQuery] = []
    for _ in range(per_class):
        queries.append(BenchQuery("zh_word", SearchQuery(text=rng.choice(
            [rng.choice(nouns)[1], rng.choice(BRANDS)[0], rng.choice(ATTRIBUTES)[0]]))))
    for _ in range(per_class):
        first = rng.choice([rng.choice(BRANDS)[0], rng.choice(ATTRIBUTES)[0], rng.choice(COLOURS)[0]])
        queries.append(BenchQuery("two_words", SearchQuery(text=f"{first} {rng.choice(nouns)[1]}")))
    for _ in range(per_class):
        text = rng.choice([rng.choice(nouns)[2], rng.choice(BRANDS)[1],
                           f"{rng.choice(ATTRIBUTES)[1]} {rng.choice(nouns)[2]}", f"{rng.choice(BRANDS)[1]} review"])
        queries.append(BenchQuery("english", SearchQuery(text=text)))
    for _ in range(per_class):
        low = rng.choice([0, 5000, 10000, 20000, 50000])
        high = low + rng.choice([5000, 10000, 30000, 100000])
        slug, noun, _ = rng.choice(nouns)
        queries.append(BenchQuery("price_filtered", SearchQuery(
            text=noun, kind="product", price_min_fen=low, price_max_fen=high, in_stock=rng.random() < 0.5,
            category=slug if rng.random() < 0.3 else None, sort=rng.choice(["relevance", "price_asc", "price_desc"]),
        )))
    for _ in range(per_class):
        source = rng.choice([rng.choice(nouns)[1], rng.choice(BRANDS)[0], rng.choice(nouns)[2], rng.choice(BRANDS)[1]])
        cut = max(1, min(len(source), rng.randint(1, 4))) if not source.isascii() else rng.randint(2, min(6, len(source)))
        queries.append(BenchQuery("prefix", prefix=source[:cut]))
    english_words = sorted({word for _, _, en in nouns for word in en.split() if len(word) >= 6 and word.isalpha()})
    for index in range(per_class):
        if index % 4 == 3:
            text = ZH_TYPOS[index // 4 % len(ZH_TYPOS)]
        else:
            text = _typo(rng.choice(english_words), rng)
        queries.append(BenchQuery("typo", SearchQuery(text=text)))
    return queries
