"""People, organisations and firms of the demo round.

Personal names are unique and drawn with Guangxi surname frequencies; universities, institutes,
banks and departments are real Guangxi institutions with synthetic credit codes; firms are
fictional (two-syllable brands, none a well-known real company). An organisation's credit code
depends on its name only, so the same unit keeps its code across seeds and tables.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from reviewer.demo.fields import FIELD_FIRM_SUFFIX
from reviewer.intake.credit_code import make_credit_code

CITY_DIVISION = {"南宁": "450100", "柳州": "450200", "桂林": "450300", "梧州": "450400", "北海": "450500",
                 "防城港": "450600", "钦州": "450700", "贵港": "450800", "玉林": "450900", "百色": "451000",
                 "贺州": "451100", "河池": "451200", "来宾": "451300", "崇左": "451400"}
OUTSIDE = "区外"

# ----------------------------------------------------------------------------- names
# (surname, relative frequency in Guangxi, pinyin): national order with the Zhuang surnames
# (韦 覃 莫 蒙 陆 农 黎 廖) and 黄/梁/罗 weighted up as they are in Guangxi.
_SURNAMES = (
    ("王", 7.1, "wang"), ("李", 7.0, "li"), ("张", 6.7, "zhang"), ("刘", 5.4, "liu"), ("陈", 4.6, "chen"),
    ("黄", 5.5, "huang"), ("杨", 3.1, "yang"), ("韦", 3.2, "wei"), ("梁", 2.4, "liang"), ("赵", 2.2, "zhao"),
    ("吴", 2.0, "wu"), ("周", 1.9, "zhou"), ("罗", 1.8, "luo"), ("覃", 1.6, "qin"), ("莫", 1.4, "mo"),
    ("徐", 1.3, "xu"), ("孙", 1.2, "sun"), ("马", 1.1, "ma"), ("朱", 1.1, "zhu"), ("胡", 1.1, "hu"),
    ("郭", 1.1, "guo"), ("何", 1.1, "he"), ("林", 1.0, "lin"), ("陆", 1.0, "lu"), ("廖", 1.0, "liao"),
    ("唐", 1.0, "tang"), ("高", 0.9, "gao"), ("郑", 0.8, "zheng"), ("谢", 0.8, "xie"), ("蒙", 0.8, "meng"),
    ("潘", 0.8, "pan"), ("邓", 0.7, "deng"), ("宋", 0.6, "song"), ("许", 0.6, "xu"), ("冯", 0.6, "feng"),
    ("曾", 0.6, "zeng"), ("黎", 0.6, "li"), ("农", 0.5, "nong"), ("韩", 0.5, "han"), ("彭", 0.5, "peng"),
    ("肖", 0.5, "xiao"), ("蒋", 0.5, "jiang"), ("蔡", 0.5, "cai"), ("卢", 0.5, "lu"), ("钟", 0.4, "zhong"),
    ("谭", 0.4, "tan"), ("苏", 0.4, "su"), ("田", 0.4, "tian"), ("董", 0.4, "dong"), ("袁", 0.4, "yuan"),
    ("叶", 0.4, "ye"), ("程", 0.4, "cheng"), ("龙", 0.4, "long"), ("魏", 0.3, "wei"), ("吕", 0.3, "lv"),
    ("丁", 0.3, "ding"), ("沈", 0.3, "shen"), ("姚", 0.3, "yao"), ("石", 0.3, "shi"), ("汪", 0.3, "wang"),
    ("范", 0.3, "fan"), ("方", 0.3, "fang"), ("甘", 0.3, "gan"), ("庞", 0.3, "pang"), ("秦", 0.2, "qin"),
    ("欧阳", 0.1, "ouyang"),
)
# Common given names (two characters, and single ones), as on real rosters.
_GIVEN2 = (
    "建国 建华 建军 建平 国强 国华 国庆 志强 志刚 志明 志勇 海涛 海波 海军 海峰 伟东 伟强 晓东 晓峰 晓明 晓军 文斌 文华 "
    "文杰 永强 永刚 明华 明辉 俊杰 俊峰 红兵 卫东 卫国 立新 立军 振华 振宇 德明 德华 学军 学文 光明 光辉 庆华 胜利 春生 "
    "家豪 宇航 浩然 子轩 一鸣 天宇 思远 嘉伟 铭泽 睿哲 泽宇 昊天 鹏飞 鹏程 云峰 云龙 金龙 福生 宏伟 宏图 继光 广平 中华 "
    "兴华 良才 志华 建新 建伟 国良 国平 海东 海林 文忠 永生 明亮 春雷 秋生 冬生 运强 少华 少峰 世杰 世明 汉文 汉生 "
    "丽华 丽娟 丽萍 丽芳 秀英 秀兰 秀珍 桂英 桂兰 桂芳 玉兰 玉梅 玉珍 红梅 红霞 红艳 海燕 海霞 晓燕 晓红 晓丽 晓梅 雪梅 "
    "雪莲 春梅 春燕 春兰 冬梅 秋菊 美玲 美华 婷婷 静怡 思琪 欣怡 佳怡 雨欣 梦瑶 慧敏 慧娟 丹丹 晶晶 莹莹 文静 文娟 小红 "
    "小燕 凤英 凤兰 淑珍 淑华 素芳 月娥 彩霞 燕玲 丽君 雅琴 雅婷 晓琳 佳琪 诗涵 思雨").split()
_GIVEN1 = tuple("伟强磊军勇杰涛斌波辉鹏浩凯健俊帆旭宁峰毅刚平明华芳娜敏静丽艳娟霞燕萍婷慧颖琳洁莉丹虹岚蓉")
_GIVEN = {  # pinyin of every character used in given names
    "建": "jian", "国": "guo", "华": "hua", "军": "jun", "平": "ping", "强": "qiang", "庆": "qing", "志": "zhi",
    "刚": "gang", "明": "ming", "勇": "yong", "海": "hai", "涛": "tao", "波": "bo", "峰": "feng", "伟": "wei",
    "东": "dong", "晓": "xiao", "文": "wen", "斌": "bin", "杰": "jie", "永": "yong", "辉": "hui", "俊": "jun",
    "红": "hong", "兵": "bing", "卫": "wei", "立": "li", "新": "xin", "振": "zhen", "宇": "yu", "德": "de",
    "学": "xue", "光": "guang", "胜": "sheng", "利": "li", "春": "chun", "生": "sheng", "家": "jia", "豪": "hao",
    "航": "hang", "浩": "hao", "然": "ran", "子": "zi", "轩": "xuan", "一": "yi", "鸣": "ming", "天": "tian",
    "思": "si", "远": "yuan", "嘉": "jia", "铭": "ming", "泽": "ze", "睿": "rui", "哲": "zhe", "昊": "hao",
    "鹏": "peng", "飞": "fei", "程": "cheng", "云": "yun", "龙": "long", "金": "jin", "福": "fu", "宏": "hong",
    "图": "tu", "继": "ji", "广": "guang", "中": "zhong", "兴": "xing", "良": "liang", "才": "cai", "林": "lin",
    "忠": "zhong", "亮": "liang", "雷": "lei", "秋": "qiu", "冬": "dong", "运": "yun", "少": "shao", "世": "shi",
    "汉": "han", "丽": "li", "娟": "juan", "萍": "ping", "芳": "fang", "秀": "xiu", "英": "ying", "兰": "lan",
    "珍": "zhen", "桂": "gui", "玉": "yu", "梅": "mei", "霞": "xia", "艳": "yan", "燕": "yan", "雪": "xue",
    "莲": "lian", "菊": "ju", "美": "mei", "玲": "ling", "婷": "ting", "静": "jing", "怡": "yi", "琪": "qi",
    "欣": "xin", "佳": "jia", "雨": "yu", "梦": "meng", "瑶": "yao", "慧": "hui", "敏": "min", "丹": "dan",
    "晶": "jing", "莹": "ying", "小": "xiao", "凤": "feng", "淑": "shu", "素": "su", "月": "yue", "娥": "e",
    "彩": "cai", "君": "jun", "雅": "ya", "琴": "qin", "琳": "lin", "诗": "shi", "涵": "han", "磊": "lei",
    "凯": "kai", "健": "jian", "帆": "fan", "旭": "xu", "宁": "ning", "毅": "yi", "娜": "na", "颖": "ying",
    "洁": "jie", "莉": "li", "虹": "hong", "岚": "lan", "蓉": "rong",
}
_SURNAME_PINYIN = {s: p for s, _, p in _SURNAMES}


class Names:
    """Unique Chinese personal names (surnames weighted by frequency, 1-2 character given names)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self._s = [s for s, _, _ in _SURNAMES]
        self._w = [w for _, w, _ in _SURNAMES]

    def new(self) -> str:
        for _ in range(10_000):
            s = self.rng.choices(self._s, self._w)[0]
            name = s + (self.rng.choice(_GIVEN2) if self.rng.random() < 0.75 else self.rng.choice(_GIVEN1))
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("name space exhausted")


def pinyin(name: str) -> str:
    s = "欧阳" if name.startswith("欧阳") else name[0]
    return _SURNAME_PINYIN[s] + "".join(_GIVEN[c] for c in name[len(s):])


# ----------------------------------------------------------------------------- organisations
@dataclass(frozen=True)
class Org:
    name: str
    code: str
    city: str          # one of the 14 cities, or 区外
    org_type: str      # 企业 / 高校 / 科研院所 / 政府部门 / 金融机构 / 其他
    domain: str = ""   # member unit type (企业/高校/科研院所/其他) when it joins an application


def _org(name: str, city: str, org_type: str, division: str | None = None, kind: str | None = None) -> Org:
    """The same name always gets the same code (seeded by the name, not by the round's seed)."""
    if kind is None:
        kind = {"高校": "12", "科研院所": "12", "政府部门": "11", "其他": "51"}.get(org_type, "91")
    division = division or CITY_DIVISION.get(city, "450000")
    code = make_credit_code(random.Random("credit-code:" + name), division, kind)
    member_type = org_type if org_type in ("企业", "高校", "科研院所") else ("企业" if org_type == "金融机构" else "其他")
    return Org(name, code, city, org_type, member_type)


# Real Guangxi universities and institutes (codes here are synthetic), and a few from elsewhere.
UNIVERSITIES = {n: _org(n, c, "高校") for n, c in (
    ("广西大学", "南宁"), ("桂林电子科技大学", "桂林"), ("广西科技大学", "柳州"), ("广西医科大学", "南宁"),
    ("桂林理工大学", "桂林"), ("广西民族大学", "南宁"), ("广西师范大学", "桂林"), ("广西中医药大学", "南宁"),
    ("北部湾大学", "钦州"), ("桂林航天工业学院", "桂林"), ("梧州学院", "梧州"), ("贺州学院", "贺州"),
    ("玉林师范学院", "玉林"), ("广西财经学院", "南宁"), ("百色学院", "百色"), ("河池学院", "河池"),
    ("右江民族医学院", "百色"))}
INSTITUTES = {n: _org(n, c, t, kind=k) for n, c, t, k in (
    ("广西科学院", "南宁", "科研院所", "12"), ("广西机械工业研究院有限责任公司", "南宁", "科研院所", "91"),
    ("广西壮族自治区林业科学研究院", "南宁", "科研院所", "12"), ("广西壮族自治区中医药研究院", "南宁", "科研院所", "12"),
    ("广西化工研究院有限公司", "南宁", "科研院所", "91"), ("中国有色桂林矿产地质研究院有限公司", "桂林", "科研院所", "91"),
    ("广西计量检测研究院", "南宁", "科研院所", "12"), ("广西社会科学院", "南宁", "科研院所", "12"))}
OUTSIDE_ORGS = {n: _org(n, OUTSIDE, t, d, k) for n, t, d, k in (
    ("华南理工大学", "高校", "440100", "12"), ("中南大学", "高校", "430100", "12"), ("湖南大学", "高校", "430100", "12"),
    ("吉林大学", "高校", "220100", "12"), ("北京科技大学", "高校", "110000", "12"), ("上海交通大学", "高校", "310000", "12"),
    ("电子科技大学", "高校", "510100", "12"), ("北京邮电大学", "高校", "110000", "12"), ("武汉理工大学", "高校", "420100", "12"),
    ("中国石油大学（华东）", "高校", "370200", "12"), ("南京林业大学", "高校", "320100", "12"),
    ("中南林业科技大学", "高校", "430100", "12"), ("中国药科大学", "高校", "320100", "12"), ("中山大学", "高校", "440100", "12"),
    ("北京理工大学", "高校", "110000", "12"), ("华中科技大学", "高校", "420100", "12"), ("哈尔滨工业大学", "高校", "230100", "12"),
    ("清华大学", "高校", "110000", "12"), ("中国人民大学", "高校", "110000", "12"),
    ("中国汽车技术研究中心有限公司", "科研院所", "120000", "91"), ("中国信息通信研究院", "科研院所", "110000", "12"),
    ("中国科学院宁波材料技术与工程研究所", "科研院所", "330200", "12"),
    ("深圳前海弘远创业投资管理有限公司", "金融机构", "440300", "91"))}
FINANCE = {n: _org(n, c, "金融机构", d) for n, c, d in (
    ("广西北部湾银行股份有限公司", "南宁", "450100"), ("国海证券股份有限公司", "南宁", "450100"),
    ("广西投资集团有限公司", "南宁", "450000"), ("广西金融投资集团有限公司", "南宁", "450000"),
    ("桂林银行股份有限公司", "桂林", "450300"), ("柳州银行股份有限公司", "柳州", "450200"),
    ("中国工商银行股份有限公司广西壮族自治区分行", "南宁", "450100"), ("国家开发银行广西壮族自治区分行", "南宁", "450100"),
    ("广西桂盛产业投资基金管理有限公司", "南宁", "450100"), ("广西鼎信创业投资有限公司", "南宁", "450100"),
    ("广西融桂融资担保有限公司", "南宁", "450100"))}
ADVISORY = {n: _org(n, c, "其他", kind="91") for n, c in (
    ("广西正衡会计师事务所（特殊普通合伙）", "南宁"), ("广西信达联合会计师事务所有限公司", "南宁"),
    ("广西中和资产评估有限公司", "南宁"), ("广西华智工程咨询有限公司", "南宁"), ("广西博睿管理咨询有限公司", "南宁"),
    ("柳州明诚会计师事务所有限公司", "柳州"), ("桂林致远企业管理咨询有限公司", "桂林"), ("广西税通税务师事务所有限公司", "南宁"))}
ASSOCIATIONS = {n: _org(n, "南宁", "其他") for n in (
    "广西汽车行业协会", "广西机械工业联合会", "广西电子信息行业协会", "广西有色金属行业协会", "广西碳酸钙行业协会",
    "广西石油和化学工业协会", "广西家具行业协会", "广西医药行业协会", "广西通信行业协会", "广西新材料产业协会")}
DEPARTMENT = _org("广西壮族自治区工业和信息化厅", "南宁", "政府部门", "450000")
CITY_DEPTS = {c: _org(f"{c}市工业和信息化局", c, "政府部门") for c in CITY_DIVISION}
INFO_CENTRE = _org("广西壮族自治区信息中心", "南宁", "科研院所", "450000", "12")
_ALL_NAMED = {**UNIVERSITIES, **INSTITUTES, **OUTSIDE_ORGS}


def named_org(name: str) -> Org:
    """A named university or institute (in Guangxi or outside)."""
    return _ALL_NAMED[name]


# ----------------------------------------------------------------------------- firms
# Brands of the fictional firms: two syllables, none a well-known real company.
_BRAND_A = "恒桂联鸿鑫嘉瑞德金海宏睿博凯晟裕鼎翔昊聚锐宝卓佳启荣永铭星众弘凌益澜峰诚信广邕漓邦拓锦润"
_BRAND_B = "驰拓创泰锐源盛丰润川远达越晟翔宇能业元明昌固扬航云禾康宏辰嘉欣湾岭舟"
_BRAND_BLACKLIST = {"华润", "中通", "联通", "正泰", "天能", "海康", "金川", "中航", "海航", "凯盛", "泰康", "德邦", "金科",
                    "宝钢", "恒源", "联创", "永达", "鸿达", "荣盛", "恒盛", "信达", "广汇", "广宇", "金达", "瑞康", "恒康",
                    "宏达", "卓越", "锦江", "众泰", "金龙", "宝丰", "诚达", "启明", "弘扬", "信元", "恒润", "宏源", "鑫源",
                    "恒达", "星宇", "瑞丰", "广盛", "金明", "海欣", "锦欣", "宝能", "金宇", "恒远", "德昌", "联明", "凌云",
                    "聚能", "卓创", "金固", "锐明", "德润", "盛能", "宏昌"}


class Firms:
    """Fictional firms of a field and city, each with a unique brand; `orgs` holds every firm made, by name."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.brands: set[str] = set()
        self.orgs: dict[str, Org] = {}

    def brand(self) -> str:
        for _ in range(10_000):
            b = self.rng.choice(_BRAND_A) + self.rng.choice(_BRAND_B)
            if b[0] != b[1] and b not in self.brands and b not in _BRAND_BLACKLIST:
                self.brands.add(b)
                return b
        raise RuntimeError("brand space exhausted")

    def new(self, field: str, city: str, suffix: str | None = None, regional: bool = False) -> Org:
        suffix = suffix or self.rng.choice(FIELD_FIRM_SUFFIX[field])
        prefix = "广西" if regional or self.rng.random() < 0.3 else city
        name = f"{prefix}{self.brand()}{suffix}"
        org = _org(name, city, "企业", "450000" if regional else CITY_DIVISION[city])
        self.orgs[name] = org
        return org
