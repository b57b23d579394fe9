"""Synthetic demo data for one review round (2026) of 广西制造业创新中心试点, and past-centre indicators.

Everything here is fictional: firm names, people, phone numbers and figures are invented
(universities, research institutes and banks are real Guangxi institutions, their codes are not).
The generator is deterministic: the same seed gives the same tables, whatever today's date is.
The round is dated on `REFERENCE_DATE` (2026-11-01), the day conflict windows are judged on.

    python -m reviewer.demo.generate [--out reviewer/data/demo] [--seed 2026]

Files written to the output folder
----------------------------------
Input tables (headers = the `zh` names of `reviewer.intake.schema`, in schema order):
``applications.xlsx`` (sheet 申报书), ``members.xlsx`` (成员单位), ``platforms.xlsx`` (创新平台),
``experts.xlsx`` (专家库), ``expert_history.xlsx`` (专家履历), ``declared_conflicts.xlsx`` (回避申报);
``round2026.xlsx`` holds the same six sheets in one workbook; ``csv/<table>.csv`` are UTF-8-with-BOM
copies (``utf-8-sig``, so Excel shows the Chinese correctly).

Demo panels and scores (until the optimiser exists, a simple random draw of our own):
``demo_panels.csv`` — 阶段 stage, 申报编号 application_id, 专家编号 expert_id, 角色 role (组长 chair / 成员 member),
  drawn by `draw_demo_panels` for 现场考察 (5) and 认定评审 (7) on the applications planted to pass
  (stage days from the policy's [stages] dates, else `STAGE_DATES`);
``scores.csv`` / ``scores.xlsx`` (sheet 评分) — long format, one row per expert, application and criterion:
  阶段 stage, 申报编号 application_id, 专家编号 expert_id, 评分项 criterion (A1..F3 of the policy rubric),
  得分 score (0..criterion max; one decimal, or whole points for experts who score that way; blank = not scored).

Past round (2022) pilot centres, for the annual evaluation (考核评估):
``past_centres.xlsx`` (sheet 试点中心) — 中心编号 centre_id, 中心名称 name, 领域 field, 所在市 city,
  牵头单位 lead_unit, 牵头单位统一社会信用代码 lead_credit_code, 批复年度 approval_year,
  建设期起始日期 build_start (date), 状态 state (as recorded: 试点).
``indicators.xlsx`` (sheet 年度指标) — one row per centre and year (2023-2025):
  中心编号 centre_id, 年度 year, 委托研发合同数 contract_count, 委托研发合同金额(元) contract_amount,
  发明专利申请数 invention_applications, 发明专利授权数 invention_grants, 标准数 standards,
  产业化成果数 industrialised_count, 产业化成功率 industrialised_rate (ratio 0..1),
  研发投入(元) rd_input, 研发人员数 rd_staff, 合作与服务次数 collaboration_services,
  建设任务完成率 build_completion (cumulative share of the build tasks done, ratio 0..1),
  and the annual build targets declared at approval: 目标_委托研发合同数, 目标_委托研发合同金额(元),
  目标_发明专利授权数, 目标_标准数, 目标_产业化成果数, 目标_产业化成功率, 目标_研发投入(元),
  目标_研发人员数, 目标_合作与服务次数.

``planted.json`` lists what was planted on purpose (expected screening outcomes, conflicts with
their rule, scoring quirks, centre life-cycle cases), so tests and reviewers can check the pipeline.

In memory, `generate_demo` returns DataFrames with the internal (English) column keys.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import random
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from reviewer.intake import schema
from reviewer.intake.credit_code import make_credit_code
from reviewer.policy import Policy, load_policy

REFERENCE_DATE = dt.date(2026, 11, 1)
DEFAULT_SEED = 2026
from reviewer.resources import DEMO_DIR as DEFAULT_OUT  # noqa: E402
# Days the demo's later stages meet (for availability windows of the demo panel draw).
STAGE_DATES = {"初审评估": dt.date(2026, 10, 20), "现场考察": dt.date(2026, 11, 18), "认定评审": dt.date(2026, 12, 10)}
DEMO_STAGES = ("现场考察", "认定评审")

# ----------------------------------------------------------------------------- extra tables
SCORE_COLUMNS = (("stage", "阶段"), ("application_id", "申报编号"), ("expert_id", "专家编号"),
                 ("criterion", "评分项"), ("score", "得分"))
PANEL_COLUMNS = (("stage", "阶段"), ("application_id", "申报编号"), ("expert_id", "专家编号"), ("role", "角色"))
PAST_CENTRE_COLUMNS = (("centre_id", "中心编号"), ("name", "中心名称"), ("field", "领域"), ("city", "所在市"),
                       ("lead_unit", "牵头单位"), ("lead_credit_code", "牵头单位统一社会信用代码"),
                       ("approval_year", "批复年度"), ("build_start", "建设期起始日期"), ("state", "状态"))
_INDICATORS = (("contract_count", "委托研发合同数"), ("contract_amount", "委托研发合同金额(元)"),
               ("invention_applications", "发明专利申请数"), ("invention_grants", "发明专利授权数"),
               ("standards", "标准数"), ("industrialised_count", "产业化成果数"),
               ("industrialised_rate", "产业化成功率"), ("rd_input", "研发投入(元)"), ("rd_staff", "研发人员数"),
               ("collaboration_services", "合作与服务次数"))
_TARGETED = ("contract_count", "contract_amount", "invention_grants", "standards", "industrialised_count",
             "industrialised_rate", "rd_input", "rd_staff", "collaboration_services")
INDICATOR_COLUMNS = (("centre_id", "中心编号"), ("year", "年度"), *_INDICATORS, ("build_completion", "建设任务完成率"),
                     *((f"target_{k}", f"目标_{zh}") for k, zh in _INDICATORS if k in _TARGETED))

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


class _Names:
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


def _pinyin(name: str) -> str:
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
_UNIVERSITIES = {n: _org(n, c, "高校") for n, c in (
    ("广西大学", "南宁"), ("桂林电子科技大学", "桂林"), ("广西科技大学", "柳州"), ("广西医科大学", "南宁"),
    ("桂林理工大学", "桂林"), ("广西民族大学", "南宁"), ("广西师范大学", "桂林"), ("广西中医药大学", "南宁"),
    ("北部湾大学", "钦州"), ("桂林航天工业学院", "桂林"), ("梧州学院", "梧州"), ("贺州学院", "贺州"),
    ("玉林师范学院", "玉林"), ("广西财经学院", "南宁"), ("百色学院", "百色"), ("河池学院", "河池"),
    ("右江民族医学院", "百色"))}
_INSTITUTES = {n: _org(n, c, t, kind=k) for n, c, t, k in (
    ("广西科学院", "南宁", "科研院所", "12"), ("广西机械工业研究院有限责任公司", "南宁", "科研院所", "91"),
    ("广西壮族自治区林业科学研究院", "南宁", "科研院所", "12"), ("广西壮族自治区中医药研究院", "南宁", "科研院所", "12"),
    ("广西化工研究院有限公司", "南宁", "科研院所", "91"), ("中国有色桂林矿产地质研究院有限公司", "桂林", "科研院所", "91"),
    ("广西计量检测研究院", "南宁", "科研院所", "12"), ("广西社会科学院", "南宁", "科研院所", "12"))}
_OUTSIDE_ORGS = {n: _org(n, OUTSIDE, t, d, k) for n, t, d, k in (
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
_FINANCE = {n: _org(n, c, "金融机构", d) for n, c, d in (
    ("广西北部湾银行股份有限公司", "南宁", "450100"), ("国海证券股份有限公司", "南宁", "450100"),
    ("广西投资集团有限公司", "南宁", "450000"), ("广西金融投资集团有限公司", "南宁", "450000"),
    ("桂林银行股份有限公司", "桂林", "450300"), ("柳州银行股份有限公司", "柳州", "450200"),
    ("中国工商银行股份有限公司广西壮族自治区分行", "南宁", "450100"), ("国家开发银行广西壮族自治区分行", "南宁", "450100"),
    ("广西桂盛产业投资基金管理有限公司", "南宁", "450100"), ("广西鼎信创业投资有限公司", "南宁", "450100"),
    ("广西融桂融资担保有限公司", "南宁", "450100"))}
_ADVISORY = {n: _org(n, c, "其他", kind="91") for n, c in (
    ("广西正衡会计师事务所（特殊普通合伙）", "南宁"), ("广西信达联合会计师事务所有限公司", "南宁"),
    ("广西中和资产评估有限公司", "南宁"), ("广西华智工程咨询有限公司", "南宁"), ("广西博睿管理咨询有限公司", "南宁"),
    ("柳州明诚会计师事务所有限公司", "柳州"), ("桂林致远企业管理咨询有限公司", "桂林"), ("广西税通税务师事务所有限公司", "南宁"))}
_ASSOCIATIONS = {n: _org(n, "南宁", "其他") for n in (
    "广西汽车行业协会", "广西机械工业联合会", "广西电子信息行业协会", "广西有色金属行业协会", "广西碳酸钙行业协会",
    "广西石油和化学工业协会", "广西家具行业协会", "广西医药行业协会", "广西通信行业协会", "广西新材料产业协会")}
_DEPARTMENT = _org("广西壮族自治区工业和信息化厅", "南宁", "政府部门", "450000")
_CITY_DEPTS = {c: _org(f"{c}市工业和信息化局", c, "政府部门") for c in CITY_DIVISION}
_INFO_CENTRE = _org("广西壮族自治区信息中心", "南宁", "科研院所", "450000", "12")
_ALL_NAMED = {**_UNIVERSITIES, **_INSTITUTES, **_OUTSIDE_ORGS}


def _named(name: str) -> Org:
    return _ALL_NAMED[name]


# ----------------------------------------------------------------------------- fields
_FIELD_KEYWORDS = {
    "汽车": ("轻量化车身", "高强钢热成形", "铝合金压铸", "智能网联", "汽车动力总成", "底盘系统", "汽车电子", "NVH控制",
           "碰撞安全", "热管理系统", "线控底盘", "车身焊装工艺"),
    "机械": ("工程机械", "内燃机", "液压传动", "数字化设计", "故障诊断", "精密加工", "农业机械", "糖业机械",
           "机械可靠性", "齿轮传动", "智能控制"),
    "电子信息": ("集成电路封装", "智能终端", "光电子器件", "嵌入式系统", "印制电路板", "传感器", "工业互联网",
             "人工智能", "电子元器件可靠性", "电磁兼容"),
    "高端有色金属新材料": ("铝合金熔铸", "高性能铝合金", "铝板带箔轧制", "锡锑冶炼", "铟提纯", "稀贵金属", "有色金属冶金",
                  "再生铝", "电解铝节能", "粉末冶金"),
    "精品碳酸钙": ("超细重质碳酸钙", "表面改性", "纳米碳酸钙", "粉体工程", "碳酸钙填充改性", "钙基新材料", "矿物加工",
              "超细研磨分级"),
    "绿色高端石化": ("炼化一体化", "催化裂化", "精细化工", "聚烯烃", "化工过程强化", "催化剂", "绿色化工", "化工安全",
               "高分子合成", "电子化学品"),
    "高端绿色家居": ("人造板", "无醛胶黏剂", "木材改性", "定制家居", "智能家居", "家具设计", "木材干燥", "竹材加工",
               "红木家具工艺"),
    "生物医药": ("中药配方颗粒", "壮瑶药", "生物发酵", "中药质量控制", "药物制剂", "生物制药", "天然药物化学", "药物分析",
             "疫苗", "医疗器械"),
    "新能源汽车": ("动力电池", "电池管理系统", "电驱动系统", "燃料电池", "充换电", "整车控制", "电池热管理", "轮毂电机",
              "储能系统"),
    "新一代通信设备": ("5G通信", "光通信", "射频器件", "天线设计", "北斗导航", "物联网", "无线传感网络", "通信协议",
                "微波技术"),
    "高端装备制造": ("数控机床", "工业机器人", "海洋工程装备", "轨道交通装备", "智能制造装备", "增材制造", "精密仪器",
               "港口机械", "激光加工"),
    "前沿新材料": ("石墨烯", "稀土功能材料", "锰系电池材料", "3D打印材料", "高分子复合材料", "纳米材料", "锡基新材料",
              "溅射靶材", "先进陶瓷"),
}
_RELATED = {
    "汽车": ("新能源汽车", "机械", "高端装备制造"), "机械": ("高端装备制造", "汽车"),
    "电子信息": ("新一代通信设备", "高端装备制造"), "高端有色金属新材料": ("前沿新材料", "精品碳酸钙"),
    "精品碳酸钙": ("前沿新材料", "绿色高端石化"), "绿色高端石化": ("前沿新材料", "精品碳酸钙"),
    "高端绿色家居": ("前沿新材料", "机械"), "生物医药": ("绿色高端石化", "前沿新材料"),
    "新能源汽车": ("汽车", "电子信息", "前沿新材料"), "新一代通信设备": ("电子信息",),
    "高端装备制造": ("机械", "汽车", "电子信息"), "前沿新材料": ("高端有色金属新材料", "精品碳酸钙", "绿色高端石化"),
}
# Cities where firms of a field sit (members and other firms).
_FIELD_CITIES = {
    "汽车": ("柳州", "柳州", "柳州", "南宁", "桂林", "玉林"), "机械": ("玉林", "柳州", "南宁", "梧州", "桂林"),
    "电子信息": ("北海", "桂林", "南宁", "梧州"), "高端有色金属新材料": ("百色", "河池", "来宾", "南宁", "贺州"),
    "精品碳酸钙": ("贺州", "贺州", "来宾", "梧州", "桂林"), "绿色高端石化": ("钦州", "北海", "防城港", "南宁"),
    "高端绿色家居": ("贵港", "崇左", "梧州", "南宁", "玉林"), "生物医药": ("南宁", "桂林", "玉林", "梧州", "百色"),
    "新能源汽车": ("柳州", "南宁", "贵港", "桂林"), "新一代通信设备": ("南宁", "桂林", "北海"),
    "高端装备制造": ("柳州", "桂林", "钦州", "玉林", "南宁"), "前沿新材料": ("南宁", "崇左", "河池", "桂林", "贺州"),
}
_FIELD_FIRM_SUFFIX = {
    "汽车": ("汽车零部件股份有限公司", "汽车部件有限公司", "车身系统有限公司", "汽车科技有限公司", "汽车配件制造有限公司"),
    "机械": ("机械股份有限公司", "工程机械有限公司", "动力机械有限公司", "重工有限公司", "液压件有限公司", "农业机械有限公司"),
    "电子信息": ("电子科技有限公司", "信息技术股份有限公司", "微电子有限公司", "光电科技股份有限公司", "智能科技有限公司"),
    "高端有色金属新材料": ("铝业有限公司", "有色金属有限公司", "铝材股份有限公司", "冶炼有限公司", "金属材料有限公司"),
    "精品碳酸钙": ("钙业有限公司", "粉体材料有限公司", "新材料科技有限公司", "矿业有限公司"),
    "绿色高端石化": ("石化有限公司", "化工股份有限公司", "化工科技有限公司", "石油化工有限公司"),
    "高端绿色家居": ("木业有限公司", "家居股份有限公司", "人造板有限公司", "家具制造有限公司", "林产工业有限公司"),
    "生物医药": ("生物制药有限公司", "药业有限公司", "制药股份有限公司", "生物技术有限公司", "医疗器械有限公司"),
    "新能源汽车": ("新能源科技有限公司", "动力电池有限公司", "电驱动系统有限公司", "电动车有限公司", "储能科技有限公司"),
    "新一代通信设备": ("通信技术股份有限公司", "光通信有限公司", "网络设备有限公司", "射频科技有限公司"),
    "高端装备制造": ("智能装备股份有限公司", "装备制造有限公司", "数控机床有限公司", "机器人科技有限公司", "精密机械有限公司"),
    "前沿新材料": ("新材料科技有限公司", "先进材料股份有限公司", "功能材料有限公司", "碳材料科技有限公司"),
}
# Member universities and institutes per field (who joins the consortia of that field).
_FIELD_UNIVERSITIES = {
    "汽车": ("广西科技大学", "桂林航天工业学院"), "机械": ("广西科技大学", "玉林师范学院", "梧州学院"),
    "电子信息": ("桂林电子科技大学", "梧州学院"), "高端有色金属新材料": ("桂林理工大学", "中南大学", "百色学院", "河池学院"),
    "精品碳酸钙": ("贺州学院", "桂林理工大学"), "绿色高端石化": ("北部湾大学", "广西民族大学", "华南理工大学"),
    "高端绿色家居": ("广西大学", "梧州学院"), "生物医药": ("广西医科大学", "广西中医药大学", "右江民族医学院"),
    "新能源汽车": ("广西科技大学", "广西大学"), "新一代通信设备": ("桂林电子科技大学", "北京邮电大学"),
    "高端装备制造": ("广西大学", "桂林电子科技大学", "北部湾大学"), "前沿新材料": ("广西大学", "广西民族大学", "河池学院"),
}
_FIELD_INSTITUTES = {
    "汽车": ("广西机械工业研究院有限责任公司",), "机械": ("广西机械工业研究院有限责任公司",), "电子信息": (),
    "高端有色金属新材料": ("中国有色桂林矿产地质研究院有限公司",), "精品碳酸钙": ("广西科学院",),
    "绿色高端石化": ("广西化工研究院有限公司",), "高端绿色家居": ("广西壮族自治区林业科学研究院",),
    "生物医药": ("广西壮族自治区中医药研究院",), "新能源汽车": (), "新一代通信设备": (),
    "高端装备制造": ("广西计量检测研究院",), "前沿新材料": ("广西科学院",),
}
# Where technical experts of a field work (besides firms).
_FIELD_EXPERT_ORGS = {
    "汽车": ("广西大学", "桂林电子科技大学", "广西科技大学", "桂林航天工业学院", "广西机械工业研究院有限责任公司",
           "华南理工大学", "湖南大学", "吉林大学", "中国汽车技术研究中心有限公司"),
    "机械": ("广西大学", "广西科技大学", "桂林电子科技大学", "玉林师范学院", "梧州学院", "广西机械工业研究院有限责任公司",
           "华南理工大学", "中南大学", "上海交通大学"),
    "电子信息": ("桂林电子科技大学", "广西大学", "广西师范大学", "北部湾大学", "梧州学院", "广西科学院", "华南理工大学",
             "电子科技大学", "中国信息通信研究院"),
    "高端有色金属新材料": ("桂林理工大学", "广西大学", "百色学院", "河池学院", "中国有色桂林矿产地质研究院有限公司",
                  "广西科学院", "中南大学", "北京科技大学"),
    "精品碳酸钙": ("贺州学院", "桂林理工大学", "广西大学", "广西科学院", "广西民族大学", "中南大学", "武汉理工大学"),
    "绿色高端石化": ("北部湾大学", "广西大学", "广西民族大学", "广西化工研究院有限公司", "华南理工大学", "中国石油大学（华东）"),
    "高端绿色家居": ("广西大学", "梧州学院", "广西壮族自治区林业科学研究院", "南京林业大学", "中南林业科技大学", "广西科技大学"),
    "生物医药": ("广西医科大学", "广西中医药大学", "广西民族大学", "广西师范大学", "右江民族医学院",
             "广西壮族自治区中医药研究院", "广西科学院", "中国药科大学", "中山大学"),
    "新能源汽车": ("广西科技大学", "广西大学", "桂林电子科技大学", "华南理工大学", "湖南大学", "北京理工大学"),
    "新一代通信设备": ("桂林电子科技大学", "广西大学", "广西师范大学", "北京邮电大学", "中国信息通信研究院", "电子科技大学"),
    "高端装备制造": ("广西大学", "桂林电子科技大学", "广西科技大学", "北部湾大学", "桂林航天工业学院", "广西计量检测研究院",
               "广西机械工业研究院有限责任公司", "华中科技大学", "哈尔滨工业大学"),
    "前沿新材料": ("广西大学", "广西民族大学", "桂林理工大学", "河池学院", "广西科学院", "北京科技大学",
              "中国科学院宁波材料技术与工程研究所"),
}
_FIELD_ASSOCIATION = {
    "汽车": "广西汽车行业协会", "新能源汽车": "广西汽车行业协会", "机械": "广西机械工业联合会", "高端装备制造": "广西机械工业联合会",
    "电子信息": "广西电子信息行业协会", "新一代通信设备": "广西通信行业协会", "高端有色金属新材料": "广西有色金属行业协会",
    "精品碳酸钙": "广西碳酸钙行业协会", "绿色高端石化": "广西石油和化学工业协会", "高端绿色家居": "广西家具行业协会",
    "生物医药": "广西医药行业协会", "前沿新材料": "广西新材料产业协会",
}
# (median 3-year average revenue in yuan, R&D ratio range in percent) of lead units per field.
_FIELD_SCALE = {
    "汽车": (3.0e9, (3.0, 5.5)), "机械": (2.5e9, (3.0, 5.0)), "电子信息": (1.2e9, (4.0, 7.5)),
    "高端有色金属新材料": (5.0e9, (2.4, 3.5)), "精品碳酸钙": (3.0e8, (2.6, 4.0)), "绿色高端石化": (8.0e9, (2.4, 3.2)),
    "高端绿色家居": (5.0e8, (2.6, 4.0)), "生物医药": (8.0e8, (5.0, 8.0)), "新能源汽车": (2.0e9, (4.0, 7.0)),
    "新一代通信设备": (6.0e8, (5.0, 8.0)), "高端装备制造": (8.0e8, (4.0, 7.0)), "前沿新材料": (4.0e8, (4.0, 7.5)),
}

# Brands of the fictional firms: two syllables, none a well-known real company.
_BRAND_A = "恒桂联鸿鑫嘉瑞德金海宏睿博凯晟裕鼎翔昊聚锐宝卓佳启荣永铭星众弘凌益澜峰诚信广邕漓邦拓锦润"
_BRAND_B = "驰拓创泰锐源盛丰润川远达越晟翔宇能业元明昌固扬航云禾康宏辰嘉欣湾岭舟"
_BRAND_BLACKLIST = {"华润", "中通", "联通", "正泰", "天能", "海康", "金川", "中航", "海航", "凯盛", "泰康", "德邦", "金科",
                    "宝钢", "恒源", "联创", "永达", "鸿达", "荣盛", "恒盛", "信达", "广汇", "广宇", "金达", "瑞康", "恒康",
                    "宏达", "卓越", "锦江", "众泰", "金龙", "宝丰", "诚达", "启明", "弘扬", "信元", "恒润", "宏源", "鑫源",
                    "恒达", "星宇", "瑞丰", "广盛", "金明", "海欣", "锦欣", "宝能", "金宇", "恒远", "德昌", "联明", "凌云",
                    "聚能", "卓创", "金固", "锐明", "德润", "盛能", "宏昌"}


@dataclass(frozen=True)
class _Plan:
    field: str
    city: str            # recommending city (and the lead unit's city unless lead_city is given)
    topic: str           # the centre name: 广西{topic}制造业创新中心
    suffix: str          # lead firm name ending
    tech: str            # 技术方向
    flag: str = ""       # planted case, see _FLAGS
    lead_city: str = ""
    regional: bool = False  # lead unit is an autonomous-region group (code division 450000, name 广西...)


# Planted screening cases (SPEC §3), rule id -> expected outcome under the default policy.
_FLAGS = {
    "E1_fail": {"E1": "fail"}, "E1_relaxed": {}, "E1_exact": {}, "E1E2_fail": {"E1": "fail", "E2": "fail"},
    "E2_fail": {"E2": "fail"}, "E2_fail2": {"E2": "fail"}, "E2_exact": {}, "E3_fail": {"E3": "fail"},
    "E3_review": {"E3": "needs-review"}, "E4_fail": {"E4": "fail"}, "E5_fail": {"E5": "fail"}, "E5_old": {},
    "E6_fail": {"E6": "fail"}, "E7_fail": {"E7": "fail"}, "E7_review": {"E7": "needs-review"}, "weakB": {},
}

_PLANS = (
    _Plan("汽车", "柳州", "汽车轻量化", "汽车零部件股份有限公司",
          "聚焦高强钢热成形、铝合金高压压铸和碳纤维复合材料车身等轻量化关键共性技术，开展轻量化车身结构拓扑优化、异种材料连接与成形仿真研究。"
          "建设轻量化零部件中试线和整车碰撞安全检测平台，面向区内整车及零部件企业提供工艺验证与检测服务。"),
    _Plan("汽车", "柳州", "智能网联汽车", "汽车科技有限公司",
          "围绕智能网联汽车环境感知、决策控制、线控底盘和车路协同（V2X）等关键技术，开展L2+级辅助驾驶系统、车载域控制器和车规级通信模组研发。"
          "建设封闭场地测试与仿真测试平台，推动智能网联技术在商用车和乘用车上的首次商业化应用。"),
    _Plan("汽车", "柳州", "汽车动力总成", "汽车动力系统有限公司",
          "面向乘用车和轻型商用车动力总成，攻关高效燃烧、混合动力专用发动机、多挡变速器匹配标定和NVH控制等共性技术。"
          "建设发动机与变速器台架试验室和排放检测中心，支撑满足国六b及后续排放标准的产品开发。", flag="E5_old"),
    _Plan("汽车", "桂林", "汽车热管理系统", "汽车部件有限公司",
          "聚焦汽车热管理系统、电动压缩机、热泵空调和电池液冷板等关键部件，开展系统集成仿真、高效换热器设计和钎焊工艺研究。"
          "建设热管理系统性能试验台架和环境模拟舱，提升区内汽车零部件本地配套能力。"),
    _Plan("汽车", "南宁", "汽车精密铸锻件", "汽车零部件有限公司",
          "围绕汽车底盘与传动系统关键铸锻件，开展铝合金低压铸造、精密模锻和近净成形工艺研究，突破缸体缸盖、转向节等零件的缺陷控制与在线检测技术。"
          "建设铸锻工艺中试平台，服务区内汽车零部件企业转型升级。", flag="E2_fail2"),
    _Plan("机械", "玉林", "内燃机与动力装备", "动力机械股份有限公司",
          "面向商用车、工程机械和船舶动力需求，攻关高效清洁燃烧、电控高压共轨、后处理系统集成和内燃机可靠性评价等关键共性技术。"
          "推进甲醇、氢等低碳燃料发动机研发和台架验证，建设动力装备检测与试验公共服务平台。"),
    _Plan("机械", "柳州", "智能工程机械", "工程机械股份有限公司",
          "聚焦工程机械电动化、智能化，开展电液控制系统、远程运维与故障诊断、无人化施工作业等关键技术研究。"
          "建设整机可靠性试验场和液压元件测试平台，突破高端液压件和智能控制器依赖进口的短板。", flag="weakB"),
    _Plan("机械", "梧州", "再生资源装备", "机械设备有限公司",
          "围绕再生金属回收利用，开展废旧金属智能分选、破碎与打包装备、熔炼烟气净化等技术研究，研制基于机器视觉和光谱识别的智能分选设备。"
          "建设再生资源装备中试基地，推动装备国产化替代。", flag="E1_fail"),
    _Plan("机械", "南宁", "糖业装备", "糖业装备有限公司",
          "面向广西甘蔗糖业，攻关甘蔗收获机械化、压榨与澄清工艺装备、糖厂智能控制等关键技术。"
          "研制中小型甘蔗联合收获机和智能化压榨机组，建设糖业装备试验示范线，提升蔗糖全产业链机械化水平。", flag="E7_fail"),
    _Plan("电子信息", "北海", "智能终端", "电子科技有限公司",
          "聚焦智能终端整机制造，开展高密度印制电路板组装、精密结构件成型、整机自动化测试与工业互联网质量追溯等共性技术研究。"
          "建设电子产品可靠性检测与电磁兼容测试平台，服务北海电子信息产业集群。", flag="E7_review"),
    _Plan("电子信息", "桂林", "光电子器件", "光电科技股份有限公司",
          "围绕光电子器件与光模块，开展激光器芯片封装、光学设计与精密耦合、高速光模块测试等关键技术攻关。"
          "建设光电器件中试线和可靠性实验室，推动产品在数据中心和光纤传感领域的首次商业化应用。"),
    _Plan("电子信息", "南宁", "工业互联网与智能传感", "信息技术股份有限公司",
          "面向制造业数字化转型，开展工业互联网平台、边缘计算网关和智能传感器研发，攻关多源数据采集、设备健康管理和工业APP开发等共性技术。"
          "建设工业互联网测试验证平台，为区内制造企业提供数字化改造解决方案。"),
    _Plan("电子信息", "梧州", "电子元器件", "电子元件有限公司",
          "聚焦片式电子元器件和人工宝石晶体元件，开展精密陶瓷基板制备、薄膜电阻工艺和元器件可靠性评价技术研究。"
          "建设电子元器件检测中心，提升元器件国产化配套能力。", flag="E2_fail"),
    _Plan("高端有色金属新材料", "百色", "高性能铝合金", "铝业集团有限公司",
          "依托百色铝土矿资源，攻关高性能铝合金熔铸、汽车用铝合金板带材轧制与热处理、再生铝保级利用等关键共性技术。"
          "建设铝合金新材料中试基地和材料检测平台，延伸“煤-电-铝-材”一体化产业链。", lead_city="南宁", regional=True),
    _Plan("高端有色金属新材料", "河池", "锡锑铟稀贵金属", "有色金属集团有限公司",
          "围绕锡、锑、铟等稀贵金属，开展复杂多金属矿绿色冶炼、高纯铟提纯和锑系阻燃材料制备等关键技术研究。"
          "建设稀贵金属分析检测平台，推动有色金属资源高值化利用。"),
    _Plan("高端有色金属新材料", "来宾", "再生铝与铝型材", "铝材股份有限公司",
          "面向建筑与交通用铝型材，开展再生铝精炼除杂、大断面铝型材挤压、表面处理和节能熔铝炉等技术研究。"
          "建设铝型材质量检测与工艺验证平台，提升再生铝保级利用水平。"),
    _Plan("精品碳酸钙", "贺州", "超细重质碳酸钙", "钙业有限公司",
          "依托贺州优质大理石资源，攻关超细重质碳酸钙干法研磨与精密分级、表面改性和高白度控制等关键技术，开发塑料、涂料和造纸用高端碳酸钙产品。"
          "建设碳酸钙粉体中试线和应用评价实验室。"),
    _Plan("精品碳酸钙", "贺州", "纳米碳酸钙", "纳米材料科技有限公司",
          "聚焦纳米碳酸钙碳化法合成、晶形调控和表面包覆技术，开发汽车密封胶、高端油墨和医药食品级纳米碳酸钙产品。"
          "建设纳米碳酸钙中试装置和粒径形貌检测平台，推动碳酸钙产业由“粉”向“材”转变。", flag="E1_relaxed"),
    _Plan("精品碳酸钙", "来宾", "碳酸钙填充改性材料", "新材料股份有限公司",
          "围绕碳酸钙在塑料、橡胶中的填充改性应用，开展高填充母粒配方、偶联剂改性和可降解复合材料研究，开发碳酸钙基PBAT可降解膜料。"
          "建设改性材料加工中试线和力学性能检测平台。", flag="E5_fail"),
    _Plan("绿色高端石化", "钦州", "炼化一体化", "石化有限公司",
          "围绕炼化一体化和“减油增化”，攻关原油催化裂解、芳烃联合装置节能和高端聚烯烃牌号开发等关键共性技术。"
          "建设催化剂评价和聚合物中试平台，推动石化产业向下游高端化学品延伸。"),
    _Plan("绿色高端石化", "北海", "精细化工与电子化学品", "化工股份有限公司",
          "聚焦电子化学品和功能性精细化学品，开展高纯湿电子化学品提纯、特种环氧树脂合成和连续流微反应工艺研究。"
          "建设精细化工中试基地和安全评价实验室，推动绿色工艺替代。"),
    _Plan("绿色高端石化", "防城港", "绿色化工过程", "石油化工有限公司",
          "面向油脂化工与石化下游，开展生物基化学品合成、加氢精制催化剂和化工过程节能减碳技术研究，突破二氧化碳捕集与资源化利用工艺。"
          "建设化工过程强化与催化剂中试平台。", flag="E2_exact"),
    _Plan("高端绿色家居", "贵港", "绿色人造板", "木业股份有限公司",
          "依托广西速生桉木资源，攻关无醛胶黏剂、超强刨花板和定向结构板连续平压工艺等关键技术，开发低碳环保人造板产品。"
          "建设人造板中试线和甲醛释放量检测平台，推动人造板产业绿色化、智能化升级。"),
    _Plan("高端绿色家居", "崇左", "红木家具", "家具有限公司",
          "围绕红木家具传统工艺传承与现代制造结合，开展红木材质鉴定、木材干燥与改性、数控雕刻和榫卯结构优化等技术研究。"
          "建设家具设计与检测中心，推动红木家居产业标准化、品牌化发展。", flag="E1E2_fail"),
    _Plan("高端绿色家居", "梧州", "定制智能家居", "家居股份有限公司",
          "面向全屋定制与智能家居，开展板式家具柔性生产线、数字化设计与拆单系统、智能家居互联控制等关键技术研究。"
          "建设定制家居工业互联网平台和产品检测实验室，提升区内家居企业智能制造水平。"),
    _Plan("生物医药", "南宁", "生物制药与疫苗", "生物制药有限公司",
          "聚焦基因工程药物、疫苗和体外诊断试剂，开展高密度细胞培养、蛋白纯化和制剂稳定性等关键共性技术研究。"
          "建设符合GMP要求的生物药中试车间和质量检测平台，服务区内生物医药企业创新药研发。"),
    _Plan("生物医药", "桂林", "现代中药", "药业集团有限公司",
          "围绕中药配方颗粒和经典名方，开展中药质量标准、指纹图谱与全过程质量控制、提取浓缩与干燥制粒工艺研究。"
          "建设现代中药制剂中试平台，推动桂产道地药材高值化利用。"),
    _Plan("生物医药", "玉林", "壮瑶药", "制药股份有限公司",
          "依托玉林中药材专业市场，开展壮瑶药药效物质基础、炮制工艺规范化和中药饮片智能化生产技术研究，攻关壮瑶药质量标准体系。"
          "建设壮瑶药研发与检测公共服务平台。"),
    _Plan("生物医药", "百色", "三七与天然药物", "生物科技有限公司",
          "依托百色三七（田七）等特色资源，开展三七皂苷提取纯化、生物发酵转化和功能性产品开发等技术研究。"
          "建设天然药物提取中试线，推动特色资源向高附加值产品转化。", flag="E3_fail"),
    _Plan("新能源汽车", "柳州", "新能源汽车电驱动", "电驱动系统有限公司",
          "聚焦新能源汽车电驱动系统，开展高功率密度永磁同步电机、碳化硅电机控制器和多合一电驱总成集成技术研究。"
          "建设电驱动系统台架测试和电磁兼容实验室，支撑微型及紧凑型新能源汽车平台化开发。"),
    _Plan("新能源汽车", "贵港", "轻型电动车", "电动车有限公司",
          "面向电动两轮车和轻型电动车产业集群，开展轮毂电机、锂电池成组与电池管理系统、整车轻量化和智能控制器等共性技术研究。"
          "建设整车与关键部件检测中心，推动电动车产业提档升级。"),
    _Plan("新能源汽车", "南宁", "动力电池与储能", "动力电池有限公司",
          "围绕动力电池与储能系统，攻关磷酸铁锂和钠离子电池材料改性、电芯制造工艺、电池管理与热管理、梯次利用与回收等关键技术。"
          "建设电池安全测试与中试验证平台。"),
    _Plan("新一代通信设备", "南宁", "5G通信与物联网", "通信技术股份有限公司",
          "围绕5G行业专网和物联网终端，开展5G工业模组、边缘计算设备和低功耗广域网通信协议研发，攻关射频前端与天线小型化设计。"
          "建设5G应用测试验证平台，推动5G在港口、工厂等场景的规模化应用。"),
    _Plan("新一代通信设备", "桂林", "北斗导航与微波通信", "通信设备有限公司",
          "聚焦北斗卫星导航与微波通信设备，开展北斗高精度定位模块、相控阵天线和微波射频器件的设计与制造工艺研究。"
          "建设微波暗室和导航设备检测平台，推动北斗应用在交通、电力等行业的首次商业化。", flag="E1_exact"),
    _Plan("高端装备制造", "柳州", "工业机器人与智能产线", "智能装备股份有限公司",
          "面向汽车与工程机械制造，开展工业机器人本体、精密减速器、机器视觉引导和柔性焊装产线集成等关键技术研究。"
          "建设智能制造装备中试验证平台，推动机器人在区内制造企业的规模化应用。"),
    _Plan("高端装备制造", "钦州", "港口与海洋工程装备", "海洋工程装备有限公司",
          "依托西部陆海新通道和钦州港，开展自动化集装箱码头装卸设备、海洋工程结构件焊接与防腐、港机远程运维等技术研究。"
          "建设港口装备测试与检测平台。", flag="E6_fail"),
    _Plan("高端装备制造", "桂林", "精密数控装备", "数控装备有限公司",
          "围绕精密数控机床和增材制造装备，开展高速电主轴、数控系统误差补偿、激光增材制造工艺与装备集成等技术研究。"
          "建设精密加工与检测中试平台，提升高端装备核心部件自主配套能力。", flag="E3_review"),
    _Plan("前沿新材料", "崇左", "稀土功能材料", "稀土新材料有限公司",
          "依托崇左离子型稀土资源，开展稀土绿色分离提纯、高性能稀土永磁和稀土发光材料制备技术研究。"
          "建设稀土功能材料中试线和分析检测平台，推动稀土资源就地转化和高值化应用。"),
    _Plan("前沿新材料", "南宁", "石墨烯与先进碳材料", "碳材料科技有限公司",
          "聚焦石墨烯及先进碳材料规模化制备，开展石墨烯导电浆料、导热膜和复合改性材料研究，推动其在动力电池、电子散热等领域的应用。"
          "建设碳材料中试线和性能检测平台。"),
    _Plan("前沿新材料", "河池", "锡铟靶材", "先进材料有限公司",
          "围绕锡、铟资源，开展ITO靶材、高纯金属溅射靶材和锡基无铅焊料的制备与成形技术研究，突破靶材高致密化烧结和绑定工艺。"
          "建设靶材中试线和材料表征平台。", flag="E4_fail"),
)

# Past (2022) round: pilot centres whose annual indicators 2023-2025 are emitted. case: normal /
# fail_twice (two consecutive failing years) / overrun (build period passed, targets not met) /
# fail_apart (two failing years that are not consecutive).
_PAST = (
    ("汽车", "柳州", "智能汽车零部件", "汽车零部件股份有限公司", dt.date(2023, 1, 16), "normal"),
    ("机械", "玉林", "绿色动力装备", "动力机械有限公司", dt.date(2023, 2, 20), "normal"),
    ("高端有色金属新材料", "百色", "铝基新材料", "铝业有限公司", dt.date(2022, 12, 28), "normal"),
    ("生物医药", "南宁", "中药现代化", "药业有限公司", dt.date(2022, 9, 1), "overrun"),
    ("电子信息", "桂林", "智能传感器", "电子科技有限公司", dt.date(2023, 4, 10), "fail_apart"),
    ("精品碳酸钙", "贺州", "碳酸钙新材料", "钙业有限公司", dt.date(2023, 6, 30), "normal"),
    ("绿色高端石化", "钦州", "化工新材料", "石化有限公司", dt.date(2023, 3, 1), "fail_twice"),
)


# ----------------------------------------------------------------------------- helpers
def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _rand_date(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _round_to(x: float, step: int) -> int:
    return int(round(x / step)) * step


def _three_years(rng: random.Random, avg: float, step: int = 10_000) -> list[int]:
    """Three yearly values (oldest first) growing a little, whose mean is `avg` (to `step`)."""
    g1, g2 = rng.uniform(-0.03, 0.15), rng.uniform(-0.03, 0.15)
    base = 3 * avg / (1 + (1 + g1) + (1 + g1) * (1 + g2))
    y1, y2 = _round_to(base, step), _round_to(base * (1 + g1), step)
    y3 = _round_to(3 * avg, step) - y1 - y2
    return [y1, y2, y3]


class _Firms:
    """Fictional firm names with unique brands; the same firm keeps its code and field rank."""

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
        suffix = suffix or self.rng.choice(_FIELD_FIRM_SUFFIX[field])
        prefix = "广西" if regional or self.rng.random() < 0.3 else city
        name = f"{prefix}{self.brand()}{suffix}"
        org = _org(name, city, "企业", "450000" if regional else CITY_DIVISION[city])
        self.orgs[name] = org
        return org


# ----------------------------------------------------------------------------- applications
@dataclass
class _App:
    app_id: str
    plan: _Plan
    lead: Org
    lead_rank: int | None
    members: list[dict]      # member rows (keys of schema MEMBERS)
    row: dict                # application row (keys of schema APPLICATIONS)

    @property
    def unit_codes(self) -> list[str]:
        return [self.lead.code] + [m["credit_code"] for m in self.members]


def _lab_name(holder: str, field: str) -> tuple[str, str, int]:
    r = random.Random(f"lab:{holder}:{field}")
    kw = r.choice(_FIELD_KEYWORDS[field])
    major = holder in ("广西大学", "桂林电子科技大学", "桂林理工大学", "广西医科大学") or holder in _OUTSIDE_ORGS
    if major and r.random() < 0.3:
        return f"{kw}国家地方联合工程研究中心（{holder}）", "国家级", r.randint(2011, 2019)
    return f"广西{kw}重点实验室（{holder}）", "自治区级", r.randint(2009, 2022)


def _build_applications(rng: random.Random, policy: Policy, names: _Names, firms: _Firms) -> tuple[list[_App], list[dict], dict]:
    el = policy.eligibility
    fields = policy.fields.all
    cities = policy.cities.names
    for p in _PLANS:
        if p.field not in fields or p.city not in cities:
            raise ValueError(f"demo plan names field {p.field!r} / city {p.city!r} the policy does not know")
    order = sorted(_PLANS, key=lambda p: (cities.index(p.city), fields.index(p.field), p.topic))
    top = el.top_rank
    need_top = max(2, el.min_top_ranked_members)

    # Field rank registry: per field, top ranks handed to leads first, the rest to member firms.
    by_field: dict[str, list[_Plan]] = {f: [p for p in order if p.field == f] for f in fields}
    lead_rank: dict[_Plan, int | None] = {}
    member_pool: dict[str, list[tuple[Org, int]]] = {}
    used_ranks: dict[str, set[int]] = {f: set() for f in fields}
    leads: dict[_Plan, Org] = {}
    for f in fields:
        ranks = list(range(1, top + 1))
        rng.shuffle(ranks)
        plans = by_field[f]
        n_top_leads = min(len(plans), max(0, top - 4))
        for i, p in enumerate(plans):
            lead_city = p.lead_city or p.city
            leads[p] = firms.new(f, lead_city, p.suffix, regional=p.regional)
            if p.flag in ("E7_fail",):
                r: int | None = top + 8 + i
            elif p.flag == "E7_review":
                r = None
            elif p.flag == "E6_fail" or (i < n_top_leads and rng.random() < 0.75):
                r = ranks.pop()
            else:
                r = rng.choice([None, rng.randint(top + 1, top + 15)])
            if r is not None and r in used_ranks[f]:
                r = None
            if r is not None:
                used_ranks[f].add(r)
            lead_rank[p] = r
        pool = []
        for r in sorted(ranks):
            if r not in used_ranks[f]:
                used_ranks[f].add(r)
                pool.append((firms.new(f, rng.choice(_FIELD_CITIES[f])), r))
        member_pool[f] = pool

    def fresh_rank(f: str, lo: int, hi: int) -> int | None:
        for _ in range(200):
            r = rng.randint(lo, hi)
            if r not in used_ranks[f]:
                used_ranks[f].add(r)
                return r
        return None

    def other_rank(f: str) -> int | None:
        return None if rng.random() < 0.35 else fresh_rank(f, top + 1, top + 40)

    apps: list[_App] = []
    platforms: list[dict] = []
    info: dict[str, Any] = {}
    for i, p in enumerate(order, start=1):
        app_id = f"GX{policy.meta.year}-{i:03d}"
        f = p.field
        lead = leads[p]
        info[p.flag or app_id] = app_id
        members: list[dict] = []

        def add(org: Org, role: str, rank: int | None, shareholder: str | None) -> None:
            members.append(dict(application_id=app_id, unit_name=org.name, credit_code=org.code, role=role,
                                unit_type=org.domain, field_rank=rank, is_shareholder=shareholder,
                                city=org.city))

        unis = list(_FIELD_UNIVERSITIES[f])
        insts = list(_FIELD_INSTITUTES[f])
        if p.flag == "E6_fail":
            org, r = rng.choice(member_pool[f])
            add(org, "核心成员", r, "是")
        elif p.flag == "E7_fail":
            for _ in range(2):
                add(firms.new(f, rng.choice(_FIELD_CITIES[f])), "核心成员", fresh_rank(f, top + 4, top + 25), "是")
            add(firms.new(f, rng.choice(_FIELD_CITIES[f])), "一般成员", None, "是")
            add(_named(unis[0]), "核心成员", None, "否")
            if insts:
                add(_named(insts[0]), "一般成员", None, "否")
        elif p.flag == "E7_review":
            for k in range(2):
                add(firms.new(f, rng.choice(_FIELD_CITIES[f])), "核心成员" if k == 0 else "一般成员", None, "是")
            add(_named(unis[0]), "核心成员", None, None)
            add(_named(unis[-1]), "一般成员", None, "是")
        else:
            n_top = need_top if rng.random() < 0.6 else need_top + 1
            chosen = rng.sample(member_pool[f], min(n_top, len(member_pool[f])))
            for k, (org, r) in enumerate(sorted(chosen, key=lambda t: t[1])):
                add(org, "核心成员" if k < 2 else "一般成员", r, "是")
            if rng.random() < 0.45:
                add(firms.new(f, rng.choice(_FIELD_CITIES[f])), "一般成员", other_rank(f), "是")
            n_uni = 1 if rng.random() < 0.6 or len(unis) == 1 else 2
            for k, u in enumerate(rng.sample(unis, n_uni)):
                core = k == 0 and p.flag != "E3_review"
                add(_named(u), "核心成员" if core else "一般成员", None, rng.choice(["是", "是", "否", None]))
            if insts and rng.random() < 0.5 and len(members) < 6:
                add(_named(insts[0]), "一般成员", None, rng.choice(["是", "否"]))
        assert len(members) <= 6

        # --- money (yuan)
        median, (rd_lo, rd_hi) = _FIELD_SCALE[f]
        thr = el.revenue_threshold(f)
        if p.flag == "E1_fail":
            avg = 0.685 * thr
        elif p.flag == "E1_relaxed":
            avg = el.relaxed_avg_revenue.get(f, 0.5 * el.min_avg_revenue)
            avg = avg + 0.45 * (el.min_avg_revenue - avg)
        elif p.flag == "E1_exact":
            avg = thr
        elif p.flag == "E1E2_fail":
            avg = 0.78 * thr
        else:
            strong = lead_rank[p] is not None and lead_rank[p] <= top
            avg = float(np.clip(median * (1.0 if strong else 0.35) * math.exp(rng.gauss(0, 0.6)),
                                1.3 * max(thr, el.min_avg_revenue), 4.8e10))
        step = 10_000 if avg < 1e9 else 1_000_000
        if p.flag in ("E1_fail", "E1_relaxed", "E1_exact", "E1E2_fail"):
            step = 10_000
        revenue = _three_years(rng, avg, step)
        assert sum(revenue) == _round_to(3 * avg, step)
        rd_ratio = rng.uniform(rd_lo, rd_hi)
        main: list[int | None]
        if p.flag == "E2_exact":
            rd_ratio = el.min_rd_ratio_percent
            main = [_round_to(r * rng.uniform(0.9, 0.97), 1_000_000) for r in revenue]
            rd = [int(round(m * rd_ratio / 100)) for m in main]
            assert all(abs(r * 100 - m * rd_ratio) < 1e-6 for r, m in zip(rd, main))
        else:
            if p.flag in ("E2_fail", "E2_fail2", "E1E2_fail"):
                rd_ratio = {"E2_fail": 1.45, "E2_fail2": 1.88, "E1E2_fail": 1.6}[p.flag] * el.min_rd_ratio_percent / 2.0
            main = [_round_to(r * rng.uniform(0.86, 0.99), step) for r in revenue] if rng.random() < 0.7 else [None] * 3
            base = [m if m is not None else r for m, r in zip(main, revenue)]
            jit = 0.0 if p.flag in ("E2_fail", "E2_fail2", "E1E2_fail") else 0.06
            rd = [_round_to(b * rd_ratio / 100 * rng.uniform(1 - jit, 1 + jit), 1_000) for b in base]
        patents = 0 if p.flag == "E4_fail" else max(2, int(round(math.exp(rng.gauss(3.0, 0.8)))))
        violations, vnote = 0, None
        if p.flag == "E5_fail":
            violations = 1
            vnote = f"2025年3月因大气污染防治设施未正常运行被{p.city}市生态环境局行政处罚（罚款12万元），已整改"
        elif p.flag == "E5_old":
            vnote = "2021年5月曾因安全生产管理问题受到行政处罚，已整改完毕（不在近三年内）"
        legal_rep, head = names.new(), names.new()
        row = dict(application_id=app_id, name=f"广西{p.topic}制造业创新中心", field=f, recommending_city=p.city,
                   lead_unit=lead.name, lead_credit_code=lead.code, lead_city=lead.city, lead_unit_type="企业",
                   lead_field_rank=lead_rank[p],
                   legal_representative=legal_rep, centre_head=head,
                   revenue_y1=revenue[0], revenue_y2=revenue[1], revenue_y3=revenue[2],
                   rd_spend_y1=rd[0], rd_spend_y2=rd[1], rd_spend_y3=rd[2],
                   main_revenue_y1=main[0], main_revenue_y2=main[1], main_revenue_y3=main[2],
                   invention_patents_valid=patents, violations_3y=violations, violation_notes=vnote,
                   tech_description=p.tech,
                   submitted_on=_rand_date(rng, dt.date(policy.meta.year, 5, 20), dt.date(policy.meta.year, 6, 30)))
        apps.append(_App(app_id, p, lead, lead_rank[p], members, row))

        # --- platforms
        short_topic = p.topic
        if p.flag in ("E3_fail", "E3_review"):
            platforms.append(dict(application_id=app_id, holder_credit_code=lead.code,
                                  platform_name=f"{p.city}市{short_topic}工程技术研究中心", level="市级",
                                  year=rng.randint(2016, 2023)))
            platforms.append(dict(application_id=app_id, holder_credit_code=lead.code,
                                  platform_name=f"{lead.name}技术中心（市级企业技术中心）", level="市级",
                                  year=rng.randint(2012, 2020)))
            if p.flag == "E3_review":
                u = next(m for m in members if m["unit_type"] == "高校")
                name, level, year = _lab_name(u["unit_name"], f)
                platforms.append(dict(application_id=app_id, holder_credit_code=u["credit_code"],
                                      platform_name=name, level=level, year=year))
        else:
            national = avg > 4e9 and rng.random() < 0.6
            platforms.append(dict(application_id=app_id, holder_credit_code=lead.code,
                                  platform_name=f"{lead.name}技术中心（{'国家' if national else '自治区'}企业技术中心）",
                                  level="国家级" if national else "自治区级", year=rng.randint(2006, 2021)))
            if rng.random() < 0.55:
                platforms.append(dict(application_id=app_id, holder_credit_code=lead.code,
                                      platform_name=f"广西{short_topic}工程技术研究中心", level="自治区级",
                                      year=rng.randint(2012, 2023)))
            if rng.random() < 0.3:
                platforms.append(dict(application_id=app_id, holder_credit_code=lead.code,
                                      platform_name=f"{lead.city}市{short_topic}工程技术研究中心", level="市级",
                                      year=rng.randint(2010, 2020)))
            for m in members:
                if m["role"] == "核心成员" and m["unit_type"] == "高校" and rng.random() < 0.7:
                    name, level, year = _lab_name(m["unit_name"], f)
                    platforms.append(dict(application_id=app_id, holder_credit_code=m["credit_code"],
                                          platform_name=name, level=level, year=year))
    return apps, platforms, info


# ----------------------------------------------------------------------------- experts
_TITLES = {  # (employer kind, level) -> titles
    ("高校", "正高级"): ("教授",), ("高校", "副高级"): ("副教授",), ("高校", "中级"): ("讲师",),
    ("科研院所", "正高级"): ("研究员", "正高级工程师"), ("科研院所", "副高级"): ("副研究员", "高级工程师"),
    ("科研院所", "中级"): ("助理研究员", "工程师"),
    ("企业", "正高级"): ("教授级高级工程师", "正高级工程师"), ("企业", "副高级"): ("高级工程师",), ("企业", "中级"): ("工程师",),
}
_ECON_TITLES = {"正高级": ("正高级经济师",), "副高级": ("高级经济师", "高级会计师"), "中级": ("经济师", "会计师")}
_JOB = {
    "高校": ("教授、博士生导师", "副院长", "学院院长", "教授、硕士生导师", "系主任", "研究所所长", "副教授"),
    "科研院所": ("研究员", "副所长", "研究室主任", "总工程师", "首席专家"),
    "企业": ("总工程师", "技术总监", "副总经理", "研发中心主任", "首席技术官", "技术部部长"),
    "金融机构": ("投资总监", "副行长", "风险管理部总经理", "公司业务部总经理", "投资经理", "董事总经理"),
    "其他": ("合伙人", "首席咨询师", "总经理", "副会长兼秘书长", "项目总监"),
    "政府部门": ("科技处处长", "副处长", "一级主任科员", "副局长", "科长"),
}
_SPEC_ECON = ("产业经济", "区域经济", "技术经济", "投资分析", "财务分析", "项目可行性评估", "产业政策", "工业经济运行")
_SPEC_MGMT = ("企业管理", "科技管理", "项目管理", "知识产权管理", "战略管理", "质量管理", "公司治理", "人力资源管理",
              "技术转移与成果转化")
_SPEC_FIN = ("股权投资", "产业基金", "科技金融", "风险投资", "信贷管理", "审计", "财务会计", "资产评估", "融资租赁", "企业上市辅导")
_SPEC_IND = ("产业链分析", "市场研究", "生产组织", "供应链管理", "质量管理体系", "标准化", "产业规划")
_EMAIL_DOMAINS = ("163.com", "126.com", "qq.com", "foxmail.com", "sina.com")


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + rng.choice("0123456789") + "".join(rng.choice("0123456789") for _ in range(8))


def _build_experts(rng: random.Random, policy: Policy, names: _Names, firms: _Firms, apps: list[_App]) -> tuple[list[dict], list[dict]]:
    fields = policy.fields.all
    year = policy.meta.year
    field_units: dict[str, set[str]] = {f: set() for f in fields}
    applicant_firms: dict[str, list[Org]] = {f: [] for f in fields}
    seen_firm: set[str] = set()
    for a in apps:
        field_units[a.plan.field].update(a.unit_codes)
        orgs = [a.lead] + [firms.orgs[m["unit_name"]] for m in a.members if m["unit_name"] in firms.orgs]
        for o in orgs:
            if o.code not in seen_firm:
                seen_firm.add(o.code)
                applicant_firms[a.plan.field].append(o)
    other_firms = {f: [firms.new(f, rng.choice(_FIELD_CITIES[f])) for _ in range(5)] for f in fields}

    experts: list[dict] = []

    def add(category: str, org: Org, level: str, title: str | None, flds: list[str], specialties: list[str],
            department: str | None = None) -> dict:
        e = dict(expert_id="", name=names.new(), category=category, title=title, title_level=level,
                 employer=org.name, employer_credit_code=org.code, employer_type=org.org_type, department=department,
                 city=org.city, fields="、".join(dict.fromkeys(flds)), specialties="、".join(dict.fromkeys(specialties)),
                 status="可用", available_from=None, available_until=None, max_load=None, phone=_phone(rng), email=None,
                 _field=flds[0], _org=org)
        experts.append(e)
        return e

    def level_of(p_senior: float) -> str:
        x = rng.random()
        return "正高级" if x < p_senior else ("副高级" if x < p_senior + (1 - p_senior) * 0.85 else "中级")

    def kw(field: str, k: int) -> list[str]:
        return rng.sample(_FIELD_KEYWORDS[field], k)

    def weighted_org(cands: list[Org], field: str) -> Org:
        w = [0.2 if o.code in field_units[field] else 1.0 for o in cands]
        return rng.choices(cands, w)[0]

    # 技术 (~40%): 12 primaries per field, more where consortia hold most of the field's specialists
    # (their staff are conflicted); the first 7 of each field are 正高级.
    extra = {"高端绿色家居": 7, "生物医药": 5, "高端有色金属新材料": 2, "新一代通信设备": 2}
    tech_fields = [f for k in range(12) for f in fields] + [f for f in fields for _ in range(extra.get(f, 0))]
    per_field: dict[str, int] = {}
    for f in tech_fields:
        k_in_field = per_field.get(f, 0)
        per_field[f] = k_in_field + 1
        level = "正高级" if k_in_field < 7 + extra.get(f, 0) // 2 else level_of(0.35)
        x = rng.random()
        if x < 0.14 and applicant_firms[f]:
            org = rng.choice(applicant_firms[f])
        elif x < 0.24:
            org = rng.choice(other_firms[f])
        else:
            org = weighted_org([_named(n) for n in _FIELD_EXPERT_ORGS[f]], f)
        kind = org.org_type if org.org_type in ("高校", "科研院所") else "企业"
        title = rng.choice(_TITLES[(kind, level)])
        flds = [f] + rng.sample(_RELATED[f], rng.choice([0, 1, 1, 2]) if len(_RELATED[f]) > 1 else rng.choice([0, 1]))
        spec = kw(f, rng.randint(2, 3)) + ([rng.choice(_FIELD_KEYWORDS[flds[1]])] if len(flds) > 1 else [])
        add("技术", org, level, title, flds, spec)
    # 产业 (~20%): industry people, mostly from firms and associations.
    for i in range(80):
        f = fields[i % len(fields)]
        level = level_of(0.45)
        x = rng.random()
        if x < 0.25 and applicant_firms[f]:
            org = rng.choice(applicant_firms[f])
        elif x < 0.7:
            org = rng.choice(other_firms[f])
        elif x < 0.85:
            org = _ASSOCIATIONS[_FIELD_ASSOCIATION[f]]
        else:
            org = weighted_org([_named(n) for n in _FIELD_EXPERT_ORGS[f]], f)
        kind = org.org_type if org.org_type in ("高校", "科研院所") else "企业"
        title = rng.choice(_TITLES[(kind, level)] + (_ECON_TITLES[level][:1] if kind == "企业" else ()))
        flds = [f] + rng.sample(_RELATED[f], rng.choice([0, 1]))
        add("产业", org, level, title, flds, kw(f, 2) + rng.sample(_SPEC_IND, 1))
    # 经济, 管理, 金融
    econ_orgs = [_UNIVERSITIES["广西大学"], _UNIVERSITIES["广西财经学院"], _UNIVERSITIES["广西民族大学"],
                 _INSTITUTES["广西社会科学院"], _INFO_CENTRE, _OUTSIDE_ORGS["中国人民大学"],
                 *(_ADVISORY[n] for n in sorted(_ADVISORY))]
    mgmt_orgs = [_UNIVERSITIES["广西大学"], _UNIVERSITIES["广西财经学院"], _UNIVERSITIES["桂林电子科技大学"],
                 _UNIVERSITIES["广西科技大学"], _UNIVERSITIES["桂林理工大学"], _UNIVERSITIES["广西师范大学"],
                 _OUTSIDE_ORGS["清华大学"], _ADVISORY["广西博睿管理咨询有限公司"],
                 _ADVISORY["桂林致远企业管理咨询有限公司"], _ADVISORY["广西华智工程咨询有限公司"], _INFO_CENTRE]
    fin_orgs = [*(_FINANCE[n] for n in sorted(_FINANCE)), _OUTSIDE_ORGS["深圳前海弘远创业投资管理有限公司"],
                _ADVISORY["广西正衡会计师事务所（特殊普通合伙）"], _ADVISORY["广西信达联合会计师事务所有限公司"],
                _ADVISORY["广西中和资产评估有限公司"]]

    def soft_title(org: Org, level: str, category: str) -> str | None:
        if org.org_type == "高校":
            return _TITLES[("高校", level)][0]
        if org.org_type == "科研院所":
            return _TITLES[("科研院所", level)][0]
        if org.org_type == "其他" and "会计师" in org.name and rng.random() < 0.4:
            return "注册会计师"
        return rng.choice(_ECON_TITLES[level])

    def rand_fields() -> list[str]:
        return rng.sample(fields, rng.choice([1, 2, 2, 3]))

    for category, n, orgs, pool in (("经济", 56, econ_orgs, _SPEC_ECON), ("管理", 56, mgmt_orgs, _SPEC_MGMT),
                                     ("金融", 48, fin_orgs, _SPEC_FIN)):
        for i in range(n):
            dept = None
            if category == "管理" and i < 2 or category == "经济" and i < 1:
                org, dept = _DEPARTMENT, "自治区"
            elif category == "管理" and 2 <= i < 4:
                c = ("柳州", "贺州")[i - 2]
                org, dept = _CITY_DEPTS[c], c
            elif category == "经济" and i == 1:
                org, dept = _CITY_DEPTS["南宁"], "南宁"
            elif category == "管理" and 4 <= i < 10:
                f = fields[(i * 5) % len(fields)]
                org = rng.choice(applicant_firms[f] or other_firms[f])   # a manager at an applicant firm
            else:
                org = rng.choices(orgs, [1.0 if o.org_type in ("高校", "科研院所", "金融机构") else 0.45 for o in orgs])[0]
            level = level_of(0.4)
            title = None if org.org_type == "政府部门" else soft_title(org, level, category)
            if org.org_type == "政府部门":
                level = "其他"
            elif title == "注册会计师":
                level = "其他"
            flds = rand_fields()
            add(category, org, level, title, flds, rng.sample(pool, rng.randint(2, 3)), dept)

    # A few employer records without a credit code (name only), one of them at an applicant unit.
    order = list(range(len(experts)))
    rng.shuffle(order)
    experts = [experts[i] for i in order]
    for k, e in enumerate(experts, start=1):
        e["expert_id"] = f"ZJ{k:04d}"
        py = _pinyin(e["name"])
        dom = rng.choice(_EMAIL_DOMAINS)
        e["email"] = (f"{rng.randint(10_000_000, 2_999_999_999)}@qq.com" if dom == "qq.com"
                      else f"{py}{rng.randint(1, 99) if rng.random() < 0.6 else ''}@{dom}")
    # History: current employment of everyone, past jobs for some (never at applicant units here).
    history: list[dict] = []
    all_units = set().union(*field_units.values())
    past_pool = [o for o in (*_UNIVERSITIES.values(), *_INSTITUTES.values(), *_OUTSIDE_ORGS.values(),
                             *(o for f in fields for o in other_firms[f])) if o.code not in all_units]
    for e in experts:
        org: Org = e["_org"]
        start = _rand_date(rng, dt.date(1996, 7, 1), dt.date(year - 2, 12, 31))
        job = rng.choice(_JOB[org.org_type if org.org_type in _JOB else "其他"])
        history.append(dict(expert_id=e["expert_id"], kind="任职", org_name=org.name, org_credit_code=org.code,
                            person=None, role=job, start=start, end=None, note=None))
        e["_start"] = start
        if rng.random() < 0.3 and start.year > 2000:
            prev = rng.choice([o for o in past_pool if o.code != org.code])
            p_start = _rand_date(rng, dt.date(1990, 7, 1), start - dt.timedelta(days=800))
            history.append(dict(expert_id=e["expert_id"], kind="任职", org_name=prev.name, org_credit_code=prev.code,
                                person=None, role=rng.choice(_JOB[prev.org_type if prev.org_type in _JOB else "其他"]),
                                start=p_start, end=start - dt.timedelta(days=rng.randint(1, 60)), note=None))
    return experts, history


# ----------------------------------------------------------------------------- planting conflicts
class _Planter:
    """Picks experts for planted cases and writes their history / declarations; records each case."""

    def __init__(self, rng: random.Random, apps: list[_App], experts: list[dict], history: list[dict],
                 policy: Policy, as_of: dt.date):
        self.rng, self.apps, self.experts, self.history = rng, apps, experts, history
        self.policy, self.as_of = policy, as_of
        self.taken: set[str] = set()
        self.cases: list[dict] = []
        self.declared: list[dict] = []
        self.field_units: dict[str, set[str]] = {}
        for a in apps:
            self.field_units.setdefault(a.plan.field, set()).update(a.unit_codes)
        self.all_units = set().union(*self.field_units.values())
        self.by_id = {e["expert_id"]: e for e in experts}

    def pick(self, category: str | None = None, field: str | None = None, level: str | None = None,
             clean: bool = True, not_city: str | None = None, not_employer: str | None = None) -> dict:
        def cands(level: str | None, field: str | None, clean: bool) -> list[dict]:
            return [e for e in self.experts if e["expert_id"] not in self.taken and e["status"] == "可用"
                    and (category is None or e["category"] == category)
                    and (field is None or field in e["fields"].split("、"))
                    and (level is None or e["title_level"] == level)
                    and (not clean or (e["employer_credit_code"] not in self.all_units and not e["department"]))
                    and (not_city is None or e["city"] != not_city)
                    and (not_employer is None or e["employer"] != not_employer)]
        # relax the wish list step by step rather than fail (other seeds, other policies)
        found = (cands(level, field, clean) or cands(None, field, clean) or cands(None, None, clean)
                 or cands(None, None, False))
        e = self.rng.choice(found)
        self.taken.add(e["expert_id"])
        return e

    def case(self, e: dict, app: _App | None, rule: str, expected: str, note: str) -> None:
        self.cases.append(dict(expert_id=e["expert_id"], application_id=app.app_id if app else "*", rule=rule,
                               expected=expected, note=note))

    def hist(self, e: dict, **kw: Any) -> None:
        row = dict(expert_id=e["expert_id"], kind="任职", org_name=None, org_credit_code=None, person=None,
                   role=None, start=None, end=None, note=None)
        row.update(kw)
        self.history.append(row)

    def app(self, flag_free: bool = True, field: str | None = None, exclude: Iterable[str] = ()) -> _App:
        ex = set(exclude)
        cands = [a for a in self.apps if (not flag_free or a.plan.flag in ("", "weakB", "E5_old", "E1_relaxed",
                                                                            "E1_exact", "E2_exact"))
                 and (field is None or a.plan.field == field) and a.app_id not in ex]
        return self.rng.choice(cands)

    def current_job(self, e: dict) -> dict:
        return next(h for h in self.history if h["expert_id"] == e["expert_id"] and h["end"] is None and h["kind"] == "任职")

    def member_firm(self, a: _App) -> dict:
        firms_ = [m for m in a.members if m["unit_type"] == "企业"]
        return self.rng.choice(firms_)

    def run(self) -> None:
        ref = self.as_of
        y3 = _years_before(ref, self.policy.conflicts.employment_window_years)
        used_apps: list[str] = []

        def next_app() -> _App:
            a = self.app(exclude=used_apps)
            used_apps.append(a.app_id)
            return a

        # C1: past employment at applicant units (ended ~1.6 and 2 years ago: conflict; 4 years: none;
        # exactly 3 years before the reference date: the boundary, counted as within).
        for label, end, unit, expected in (
                ("lead", dt.date(ref.year - 1, 3, 31), "lead", "excluded"),
                ("member", _years_before(ref, 2) - dt.timedelta(days=1), "member", "excluded"),
                ("member", _years_before(ref, 4) - dt.timedelta(days=1), "member", "not excluded"),
                ("lead", y3, "lead", "excluded (boundary: ended exactly 3 years before the reference date)")):
            a = next_app()
            e = self.pick("技术", a.plan.field)
            if unit == "lead":
                name, code = a.lead.name, a.lead.code
            else:
                m = self.member_firm(a)
                name, code = m["unit_name"], m["credit_code"]
            start = _rand_date(self.rng, dt.date(2008, 7, 1), dt.date(2016, 12, 31))
            # this past job replaces any other past job; the current one starts the day after it ended
            self.history[:] = [h for h in self.history if not (h["expert_id"] == e["expert_id"]
                                                               and h["kind"] == "任职" and h["end"] is not None)]
            self.hist(e, kind="任职", org_name=name, org_credit_code=code, role=self.rng.choice(("总工程师", "研发中心主任", "技术部部长")),
                      start=start, end=end)
            cur = self.current_job(e)
            cur["start"] = end + dt.timedelta(days=1)
            self.case(e, a, "C1", expected, f"曾任职于{'牵头单位' if unit == 'lead' else '成员单位'}{name}，{end.isoformat()}离职")
        # C2: board roles and shareholding.
        for kind, role, start, end, unit, expected in (
                ("董监高", "独立董事", dt.date(2022, 5, 1), None, "lead", "excluded"),
                ("董监高", "监事", dt.date(2019, 1, 1), dt.date(ref.year - 3, 12, 31) + dt.timedelta(days=182),
                 "member", "excluded"),
                ("董监高", "董事", dt.date(2016, 6, 1), dt.date(ref.year - 4, 12, 31), "lead", "not excluded"),
                ("股东", "股东（持股12%）", dt.date(2020, 3, 1), None, "member", "excluded")):
            a = next_app()
            e = self.pick(self.rng.choice(("技术", "产业", "金融")))
            if unit == "lead":
                name, code = a.lead.name, a.lead.code
            else:
                m = self.member_firm(a)
                name, code = m["unit_name"], m["credit_code"]
            self.hist(e, kind=kind, org_name=name, org_credit_code=code, role=role, start=start, end=end)
            self.case(e, a, "C2", expected, f"{role} of {name} {start.isoformat()}–{end.isoformat() if end else '至今'}")
        # C3: relations.
        a = next_app()
        e = self.pick("产业")
        self.hist(e, kind="亲属", org_name=a.lead.name, org_credit_code=a.lead.code, person=a.row["legal_representative"],
                  role="兄弟", note="与牵头单位法定代表人为兄弟关系")
        self.case(e, a, "C3", "excluded", "亲属: brother of the legal representative")
        a = next_app()
        e = self.pick("技术", a.plan.field, "正高级")
        self.hist(e, kind="师生", org_name=a.lead.name, org_credit_code=a.lead.code, person=a.row["centre_head"],
                  role="博士生导师", start=dt.date(2008, 9, 1), end=dt.date(2012, 6, 30),
                  note="中心负责人攻读博士学位期间的导师")
        self.case(e, a, "C3", "excluded", "师生: doctoral advisor of the centre head (ended 2012; advisor ties have no window)")
        a = next_app()
        m = self.member_firm(a)
        e = self.pick("技术", a.plan.field)
        self.hist(e, kind="合作", org_name=m["unit_name"], org_credit_code=m["credit_code"], role="项目负责人",
                  start=dt.date(ref.year - 3, 1, 1), end=dt.date(ref.year - 1, 12, 31),
                  note="共同承担自治区科技重大专项（桂科AA23xxxxxx）")
        self.case(e, a, "C3", "excluded", f"合作 co-project with member {m['unit_name']} until {ref.year - 1}-12-31")
        a = next_app()
        m = self.member_firm(a)
        e = self.pick("技术", a.plan.field)
        self.hist(e, kind="合作", org_name=m["unit_name"], org_credit_code=m["credit_code"], role="课题参与人",
                  start=dt.date(ref.year - 7, 1, 1), end=dt.date(ref.year - 4, 6, 30),
                  note="共同承担国家重点研发计划课题（已结题）")
        self.case(e, a, "C3", "not excluded", f"合作 co-project ended {ref.year - 4}-06-30, outside the 3-year window")
        a = next_app()
        e = self.pick("技术", a.plan.field)
        d = dt.date(ref.year - 2, 9, 15)
        self.hist(e, kind="合作", org_name=a.lead.name, org_credit_code=a.lead.code, person=a.row["centre_head"],
                  role="合著者", start=d, end=d, note="与中心负责人合著期刊论文")
        self.case(e, a, "C3", "excluded", f"合作 co-author with the centre head, published {d.isoformat()}")
        # C4 + C1: an expert at a lead unit who is also that application's centre head.
        a = self.app(field="汽车", exclude=used_apps)
        used_apps.append(a.app_id)
        e = self.pick("技术", a.plan.field, clean=False)
        e.update(employer=a.lead.name, employer_credit_code=a.lead.code, employer_type="企业", city=a.lead.city,
                 title="教授级高级工程师", title_level="正高级")
        cur = self.current_job(e)
        cur.update(org_name=a.lead.name, org_credit_code=a.lead.code, role="副总经理、总工程师")
        a.row["centre_head"] = e["name"]
        self.case(e, a, "C1", "excluded", "works for the lead unit and is the proposed centre head")
        for b in self.apps:
            if b.plan.field == a.plan.field and b is not a:
                self.case(e, b, "C4", "excluded", f"own unit applies in the same field ({a.app_id})")
        # An expert at an applicant member unit recorded without a credit code (matched by name).
        b = next_app()
        m = self.member_firm(b)
        e = self.pick("产业", clean=True)
        e.update(employer=m["unit_name"], employer_credit_code=None, employer_type="企业", city=m["city"])
        cur = self.current_job(e)
        cur.update(org_name=m["unit_name"], org_credit_code=None)
        self.case(e, b, "C1", "excluded", "employer given by name only (no credit code), a member unit")
        # C5: department staff.
        for e in self.experts:
            if e["department"] == "自治区":
                self.case(e, None, "C5", "excluded", "supervising department staff: all applications")
            elif e["department"]:
                for b in self.apps:
                    if b.plan.city == e["department"]:
                        self.case(e, b, "C5", "excluded", f"{e['department']} city department staff")
        # C7: unavailable and credit-banned experts; availability windows; explicit max loads.
        for status, n in (("不可用", 6), ("信用惩戒", 2)):
            for _ in range(n):
                e = self.pick(clean=False)
                e["status"] = status
                self.case(e, None, "C7", "excluded", f"status {status}")
        windows = ((dt.date(ref.year, 11, 25), None), (None, dt.date(ref.year, 11, 30)),
                   (dt.date(ref.year, 11, 1), dt.date(ref.year, 12, 31)), (dt.date(ref.year, 12, 1), None),
                   (None, dt.date(ref.year, 12, 5)), (dt.date(ref.year, 11, 10), dt.date(ref.year, 11, 28)),
                   (dt.date(ref.year, 11, 1), dt.date(ref.year + 1, 1, 31)), (None, dt.date(ref.year, 11, 20)))
        for frm, until in windows:
            e = self.pick(clean=False)
            e["available_from"], e["available_until"] = frm, until
        for load in (3, 3, 4, 4, 2, 8):
            self.pick(clean=False)["max_load"] = load
        # Two different experts who share a name.
        e1 = self.pick("技术", clean=False)
        e2 = self.pick("经济", clean=False, not_employer=e1["employer"])
        e2["name"] = e1["name"]
        e2["email"] = f"{_pinyin(e1['name'])}{self.rng.randint(100, 999)}@126.com"
        self.cases.append(dict(expert_id=f"{e1['expert_id']},{e2['expert_id']}", application_id="*", rule="-",
                               expected="-", note=f"two different experts share the name {e1['name']}"))
        # C6 / C3 declarations, and a staff waiver of one C6.
        date = lambda m, d: dt.date(ref.year, m, d)  # noqa: E731
        reasons = ("该专家所在单位与我单位存在直接同业竞争关系", "该专家曾公开发表对我单位技术路线的否定性意见，可能影响评审公正",
                   "该专家与我单位存在未了结的技术合同纠纷")
        unsuitable: list[tuple[_App, dict, dict]] = []
        for n in (2, 3, 1):
            a = next_app()
            for k in range(n):
                e = self.pick("技术" if k != 1 else "产业", a.plan.field)
                self.declared.append(dict(application_id=a.app_id, expert_id=e["expert_id"], kind="不适宜",
                                          declared_by="申报单位", reason=reasons[k], rule=None,
                                          date=a.row["submitted_on"]))
                self.case(e, a, "C6", "excluded", "named unsuitable by the applicant")
                unsuitable.append((a, e, self.cases[-1]))
        a, e, waived_case = unsuitable[2]
        waived_case["expected"] = "not excluded (C6 waived by staff)"
        self.declared.append(dict(application_id=a.app_id, expert_id=e["expert_id"], kind="豁免", declared_by="工作人员",
                                  reason="经核查，该专家所在单位与申报单位无竞争和业务往来，申报单位所列理由不成立，经处务会研究同意豁免",
                                  rule="C6", date=date(10, 20)))
        for reason, who in (("本人曾为牵头单位提供技术咨询服务（2025年）", "专家"), ("本人近亲属在成员单位任职", "专家"),
                            ("本人参与了该中心组建方案的前期论证", "专家"), ("该专家与牵头单位负责人存在经济往来，经核实应予回避", "工作人员")):
            a = next_app()
            e = self.pick("技术", a.plan.field)
            self.declared.append(dict(application_id=a.app_id, expert_id=e["expert_id"], kind="回避", declared_by=who,
                                      reason=reason, rule=None, date=date(10, self.rng.randint(8, 28))))
            self.case(e, a, "C3", "excluded", f"declared recusal ({who})")


# ----------------------------------------------------------------------------- conflicts (for the demo draw)
def _excluded(apps: list[_App], experts: list[dict], history: list[dict], declared: list[dict],
              policy: Policy, as_of: dt.date) -> dict[str, set[str]]:
    """application id -> expert ids a hard rule excludes (our own reading of SPEC §4, for the demo draw only)."""
    c = policy.conflicts
    apps_by_code: dict[str, list[_App]] = {}
    apps_by_name: dict[str, list[_App]] = {}
    for a in apps:
        for code in a.unit_codes:
            apps_by_code.setdefault(code, []).append(a)
        for n in [a.lead.name] + [m["unit_name"] for m in a.members]:
            apps_by_name.setdefault(n, []).append(a)

    def units(code: str | None, name: str | None) -> list[_App]:
        return apps_by_code.get(code, []) if code else apps_by_name.get(name or "", [])

    out: dict[str, set[str]] = {a.app_id: set() for a in apps}
    by_expert: dict[str, list[dict]] = {}
    for h in history:
        by_expert.setdefault(h["expert_id"], []).append(h)
    for e in experts:
        eid = e["expert_id"]
        if e["status"] != "可用" or e["department"] == "自治区":
            for a in apps:
                out[a.app_id].add(eid)
            continue
        own = units(e["employer_credit_code"], e["employer"])
        for a in own:
            out[a.app_id].add(eid)
            for b in apps:
                if b.plan.field == a.plan.field:
                    out[b.app_id].add(eid)
        if e["department"]:
            for a in apps:
                if a.plan.city == e["department"]:
                    out[a.app_id].add(eid)
        for h in by_expert.get(eid, []):
            window = {"任职": c.employment_window_years, "董监高": c.board_role_window_years,
                      "股东": c.board_role_window_years, "合作": c.relation_window_years}.get(h["kind"])
            if window is not None and h["end"] is not None and h["end"] < _years_before(as_of, window):
                continue
            if h["kind"] in ("任职", "董监高", "股东", "合作"):
                for a in units(h["org_credit_code"], h["org_name"]):
                    out[a.app_id].add(eid)
            if h["person"]:
                for a in apps:
                    if h["person"] in (a.row["legal_representative"], a.row["centre_head"]):
                        out[a.app_id].add(eid)
    waived = {(d["application_id"], d["expert_id"]) for d in declared if d["kind"] == "豁免"}
    for d in declared:
        if d["kind"] == "回避" or (d["kind"] == "不适宜" and (d["application_id"], d["expert_id"]) not in waived):
            out[d["application_id"]].add(d["expert_id"])
    return out


def _stage_rules(policy: Policy, stage: str) -> dict:
    """Panel rules for a stage (per-stage overrides when the policy has them)."""
    if hasattr(policy, "stage_rules"):
        return policy.stage_rules(stage)
    pr = policy.panel_rules
    return {"min_per_category": pr.min_per_category, "tech_industry_share": pr.tech_industry_share,
            "min_field_matched_technical": pr.min_field_matched_technical, "chair_required": pr.chair_required}


def _stage_date(policy: Policy, stage: str) -> dt.date:
    """The policy's date for the stage, else the demo's (the policy's dates are blank by default)."""
    d = policy.stages.date_of(stage) if hasattr(policy.stages, "date_of") else None
    return d or STAGE_DATES.get(stage, REFERENCE_DATE)


def _available(e: dict, day: dt.date) -> bool:
    return (e["available_from"] is None or e["available_from"] <= day) and \
           (e["available_until"] is None or day <= e["available_until"])


def draw_demo_panels(apps: list[_App], experts: list[dict], excluded: dict[str, set[str]], policy: Policy,
                     seed: int, stages: Iterable[str] = DEMO_STAGES) -> pd.DataFrame:
    """A simple random draw for the demo scores (not the optimiser): per application and stage the
    policy's panel size, every category, a senior field-matched 技术 chair, a second field-matched
    技术/产业 expert, technical + industry experts filling the rest, one expert per employer, loads
    within the per-stage maximum, no expert twice on one application, nobody a hard rule excludes."""
    rng = random.Random(f"panels:{seed}")
    pr = policy.panel_rules
    cats = pr.categories
    rows: list[dict] = []
    seen: dict[str, set[str]] = {a.app_id: set() for a in apps}
    for stage in stages:
        n = policy.panel_size(stage)
        rules = _stage_rules(policy, stage)
        day = _stage_date(policy, stage)
        load: dict[str, int] = {}
        order = list(apps)
        rng.shuffle(order)
        for a in order:
            f = a.plan.field
            for attempt in range(200):
                pool = [e for e in experts if e["expert_id"] not in excluded[a.app_id]
                        and e["expert_id"] not in seen[a.app_id] and _available(e, day)
                        and load.get(e["expert_id"], 0) < (e["max_load"] or pr.max_load_per_stage)]
                rng.shuffle(pool)
                pool.sort(key=lambda e: load.get(e["expert_id"], 0))   # least loaded first, random among equals
                panel: list[dict] = []
                employers: set[str] = set()

                def take(pred) -> bool:
                    for e in pool:
                        key = e["employer_credit_code"] or e["employer"]
                        if e in panel or key in employers or not pred(e):
                            continue
                        panel.append(e)
                        employers.add(key)
                        return True
                    return False

                matched = lambda e: f in e["fields"].split("、")  # noqa: E731
                ti = pr.tech_industry_categories
                ok = take(lambda e: e["category"] == "技术" and matched(e) and e["title_level"] in pr.chair_title_levels)
                # the second field-matched expert: 技术 when the panel has room, else the one 产业 seat
                second = "技术" if rules["min_field_matched_technical"] >= 2 and n > len(cats) else "产业"
                ok = ok and take(lambda e: e["category"] == second and matched(e))
                for cat in cats:
                    if not any(e["category"] == cat for e in panel):
                        ok = ok and (take(lambda e, cat=cat: e["category"] == cat and matched(e))
                                     or take(lambda e, cat=cat: e["category"] == cat))
                n_ti = math.ceil(n * rules["tech_industry_share"] - 1e-9)
                while ok and len(panel) < n and sum(e["category"] in ti for e in panel) < n_ti:
                    ok = take(lambda e: e["category"] in ti and matched(e)) or take(lambda e: e["category"] in ti)
                while ok and len(panel) < n:
                    ok = take(lambda e: True)
                if ok and len(panel) == n:
                    break
                rng.shuffle(pool)
            else:
                raise RuntimeError(f"demo draw: no panel for {a.app_id} at {stage}")
            for k, e in enumerate(panel):
                load[e["expert_id"]] = load.get(e["expert_id"], 0) + 1
                seen[a.app_id].add(e["expert_id"])
                rows.append(dict(stage=stage, application_id=a.app_id, expert_id=e["expert_id"],
                                 role="组长" if k == 0 else "成员"))
    df = pd.DataFrame(rows, columns=[k for k, _ in PANEL_COLUMNS])
    stage_rank = {s: i for i, s in enumerate(policy.stages.order)}
    df["_s"] = df["stage"].map(stage_rank)
    df["_r"] = (df["role"] != "组长").astype(int)
    return df.sort_values(["_s", "application_id", "_r", "expert_id"]).drop(columns=["_s", "_r"]).reset_index(drop=True)


# ----------------------------------------------------------------------------- scores
def _keyed(df: pd.DataFrame, columns: Iterable[tuple[str, str]]) -> pd.DataFrame:
    return df.rename(columns={zh: key for key, zh in columns})


def simulate_scores(assignments: pd.DataFrame, applications: pd.DataFrame, experts: pd.DataFrame,
                    policy: Policy, seed: int, quality: dict[str, dict] | None = None) -> pd.DataFrame:
    """Rubric scores, long format (stage, application_id, expert_id, criterion, score), for a panel plan.

    Each application has a planted true quality (about 74 of 100, sd 7, from the seed and its id;
    `quality` may override it: {application_id: {"total": 82, "families": {"B": -0.25}}}); each
    expert a leniency (small, with a few harsh and lenient experts and one erratic); plus noise.
    Planted quirks (listed in `.attrs["planted"]`): one sheet whose total is more than the policy's
    outlier distance below its panel median, one sheet not returned (its rows absent), and one
    criterion left blank (score NaN). Headers may be the English keys or the Chinese ones.
    """
    a = _keyed(assignments, SCORE_COLUMNS)[["stage", "application_id", "expert_id"]].copy()
    apps = _keyed(applications, [(c.key, c.zh) for c in schema.APPLICATIONS.columns])
    exps = _keyed(experts, [(c.key, c.zh) for c in schema.EXPERTS.columns])
    known_apps = set(apps["application_id"])
    missing = sorted(set(a["application_id"]) - known_apps)
    if missing:
        raise ValueError(f"assignments name applications not in the applications table: {missing[:5]}")
    criteria = policy.rubric.criteria
    fam = {c.id: policy.rubric.family_of(c.id) for c in criteria}
    quality = quality or {}

    def app_profile(app_id: str) -> tuple[float, dict[str, float]]:
        r = random.Random(f"quality:{seed}:{app_id}")
        q = min(93.0, max(52.0, r.gauss(74, 7)))
        dev = {c.id: r.gauss(0, 0.05) for c in criteria}
        over = quality.get(app_id, {})
        q = float(over.get("total", q))
        for c in criteria:
            dev[c.id] += float(over.get("families", {}).get(fam[c.id], 0.0))
        return q / 100, dev

    experts_in = sorted(set(a["expert_id"]))
    counts = a.groupby("expert_id").size()
    rng = random.Random(f"scores:{seed}")
    # the quirky raters are drawn among the busiest experts, so their effect shows across panels
    regulars = sorted(experts_in, key=lambda e: (-int(counts.get(e, 0)), e))[:max(7, len(experts_in) // 10)]
    special = rng.sample(regulars, min(len(regulars), 7))
    harsh, lenient, erratic = sorted(special[:3]), sorted(special[3:6]), special[6:7]
    lean: dict[str, tuple[float, float, bool]] = {}
    for e in experts_in:
        r = random.Random(f"leniency:{seed}:{e}")
        bias = r.gauss(0, 0.025)
        sd = 0.045
        if e in harsh:
            bias = -0.09 - r.random() * 0.03
        elif e in lenient:
            bias = 0.07 + r.random() * 0.03
        elif e in erratic:
            sd = 0.2
        lean[e] = (bias, sd, r.random() < 0.4)   # (bias, noise sd, scores in whole points)
    unknown = sorted(set(experts_in) - set(exps["expert_id"]))
    if unknown:
        raise ValueError(f"assignments name experts not in the experts table: {unknown[:5]}")

    rows = []
    for st, app_id, eid in a.itertuples(index=False):
        q, dev = app_profile(app_id)
        bias, sd, whole = lean[eid]
        r = random.Random(f"sheet:{seed}:{st}:{app_id}:{eid}")
        for c in criteria:
            x = min(1.0, max(0.0, q + dev[c.id] + bias + r.gauss(0, sd)))
            s = c.max * x
            s = float(round(s)) if whole else round(s, 1)
            rows.append((st, app_id, eid, c.id, s))
    df = pd.DataFrame(rows, columns=[k for k, _ in SCORE_COLUMNS])

    planted: dict[str, Any] = {"harsh": harsh, "lenient": lenient, "erratic": erratic}
    sheets = a.drop_duplicates().reset_index(drop=True)
    candidates = [tuple(s) for s in sheets.itertuples(index=False) if s.expert_id not in special]
    if len(candidates) >= 3:
        out_sheet, absent_sheet, blank_sheet = rng.sample(candidates, 3)
        st, app_id, eid = out_sheet
        tot = df.groupby(["stage", "application_id", "expert_id"])["score"].sum()
        panel = tot.loc[(st, app_id)].drop(eid)
        target = max(20.0, float(panel.median()) - policy.aggregation.outlier_points - 7.0)
        frac = target / policy.rubric.total
        m = (df["stage"] == st) & (df["application_id"] == app_id) & (df["expert_id"] == eid)
        maxes = {c.id: c.max for c in criteria}
        df.loc[m, "score"] = [round(maxes[cid] * frac, 1) for cid in df.loc[m, "criterion"]]
        planted["outlier"] = {"stage": st, "application_id": app_id, "expert_id": eid,
                              "total": round(float(df.loc[m, "score"].sum()), 1), "panel_median": float(panel.median())}
        st, app_id, eid = absent_sheet
        df = df[~((df["stage"] == st) & (df["application_id"] == app_id) & (df["expert_id"] == eid))]
        planted["absent_sheet"] = {"stage": st, "application_id": app_id, "expert_id": eid}
        st, app_id, eid = blank_sheet
        crit = rng.choice(criteria).id
        m = (df["stage"] == st) & (df["application_id"] == app_id) & (df["expert_id"] == eid) & (df["criterion"] == crit)
        df.loc[m, "score"] = np.nan
        planted["blank_score"] = {"stage": st, "application_id": app_id, "expert_id": eid, "criterion": crit}
    planted["quality"] = {app_id: round(app_profile(app_id)[0] * 100, 1) for app_id in sorted(set(a["application_id"]))}
    df = df.reset_index(drop=True)
    df.attrs["planted"] = planted
    return df


# ----------------------------------------------------------------------------- past centres
def _build_past(rng: random.Random, names: _Names, firms: _Firms) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    centres, rows, cases = [], [], {}
    for i, (f, city, topic, suffix, start, case) in enumerate(_PAST, start=1):
        cid = f"GXMIC-2022-{i:02d}"
        lead = firms.new(f, city, suffix)
        centres.append(dict(centre_id=cid, name=f"广西{topic}制造业创新中心", field=f, city=city, lead_unit=lead.name,
                            lead_credit_code=lead.code, approval_year=2022, build_start=start, state="试点"))
        cases[cid] = case
        scale = rng.uniform(0.7, 1.5)
        t = dict(contract_count=int(round(12 * scale)), contract_amount=_round_to(8_000_000 * scale, 100_000),
                 invention_grants=int(round(8 * scale)), standards=max(1, int(round(2 * scale))),
                 industrialised_count=int(round(5 * scale)), industrialised_rate=0.6,
                 rd_input=_round_to(30_000_000 * scale, 1_000_000), rd_staff=int(round(60 * scale)),
                 collaboration_services=int(round(40 * scale)))
        ratios = {"normal": (rng.uniform(0.85, 1.0), rng.uniform(0.95, 1.15), rng.uniform(1.0, 1.25)),
                  "fail_twice": (0.78, 0.38, 0.31), "overrun": (0.72, 0.7, 0.74),
                  "fail_apart": (0.42, 0.97, 0.4)}[case]
        completion = {"normal": (0.4, 0.72, 1.0), "fail_twice": (0.3, 0.42, 0.5), "overrun": (0.3, 0.55, 0.78),
                      "fail_apart": (0.25, 0.6, 0.82)}[case]
        for year, ratio, done in zip((2023, 2024, 2025), ratios, completion):
            def v(k: str, step: int = 1) -> int:
                return _round_to(t[k] * ratio * rng.uniform(0.92, 1.08), step)
            grants = v("invention_grants")
            ind = v("industrialised_count")
            rate = round(min(0.95, t["industrialised_rate"] * min(1.3, ratio) * rng.uniform(0.92, 1.08)), 4)
            row = dict(centre_id=cid, year=year, contract_count=v("contract_count"),
                       contract_amount=v("contract_amount", 10_000),
                       invention_applications=int(round(grants * rng.uniform(2.0, 3.0))) + 1, invention_grants=grants,
                       standards=max(0, v("standards")), industrialised_count=ind, industrialised_rate=rate,
                       rd_input=v("rd_input", 10_000), rd_staff=v("rd_staff"),
                       collaboration_services=v("collaboration_services"), build_completion=done)
            row.update({f"target_{k}": t[k] for k in _TARGETED})
            rows.append(row)
    past = pd.DataFrame(centres, columns=[k for k, _ in PAST_CENTRE_COLUMNS])
    past["build_start"] = pd.to_datetime(past["build_start"]).astype("datetime64[ns]")
    ind = pd.DataFrame(rows, columns=[k for k, _ in INDICATOR_COLUMNS])
    return past, ind, cases


# ----------------------------------------------------------------------------- assembly
def _frame(rows: list[dict], table: schema.Table) -> pd.DataFrame:
    cols = [c.key for c in table.columns]
    df = pd.DataFrame([{k: r.get(k) for k in cols} for r in rows], columns=cols)
    for c in table.columns:
        if c.type in ("int",):
            df[c.key] = pd.array(df[c.key].tolist(), dtype="Int64")
        elif c.type == "money":
            df[c.key] = pd.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v)
                                  for v in df[c.key]], dtype="Int64")
        elif c.type == "date":
            df[c.key] = pd.to_datetime(pd.Series(df[c.key], dtype=object), errors="raise").astype("datetime64[ns]")
        else:
            df[c.key] = df[c.key].astype(object).where(df[c.key].notna(), None)
    return df


def build_round(seed: int = DEFAULT_SEED, policy: Policy | None = None) -> tuple[dict[str, pd.DataFrame], dict]:
    """All demo tables (English keys) and the planted-cases record, without writing anything."""
    policy = policy or load_policy()
    as_of = dt.date.fromisoformat(policy.meta.as_of) if policy.meta.as_of else REFERENCE_DATE
    rng = random.Random(seed)
    names = _Names(random.Random(f"names:{seed}"))
    firms = _Firms(random.Random(f"firms:{seed}"))
    apps, platforms, flags = _build_applications(random.Random(f"apps:{seed}"), policy, names, firms)
    experts, history = _build_experts(random.Random(f"experts:{seed}"), policy, names, firms, apps)
    planter = _Planter(random.Random(f"plant:{seed}"), apps, experts, history, policy, as_of)
    planter.run()
    declared = planter.declared

    excluded = _excluded(apps, experts, history, declared, policy, as_of)
    drawn = [a for a in apps if not _FLAGS.get(a.plan.flag)]
    panels = draw_demo_panels(drawn, experts, excluded, policy, seed)

    tables = {
        "applications": _frame([a.row for a in apps], schema.APPLICATIONS),
        "members": _frame([m for a in apps for m in a.members], schema.MEMBERS),
        "platforms": _frame(platforms, schema.PLATFORMS),
        "experts": _frame(sorted(experts, key=lambda e: e["expert_id"]), schema.EXPERTS),
        "expert_history": _frame(sorted(history, key=lambda h: (h["expert_id"], h["start"] or dt.date.min,
                                                                h["kind"], h["org_name"] or "")),
                                 schema.EXPERT_HISTORY),
        "declared_conflicts": _frame(sorted(declared, key=lambda d: (d["application_id"], d["expert_id"], d["kind"])),
                                     schema.DECLARED_CONFLICTS),
    }
    weak_b = flags.get("weakB")
    quality = {weak_b: {"total": 87, "families": {"B": -0.32}}} if weak_b else {}
    scores = simulate_scores(panels, tables["applications"], tables["experts"], policy, seed, quality)
    past, indicators, past_cases = _build_past(rng, names, firms)
    tables.update(panels=panels, scores=scores, past_centres=past, indicators=indicators)

    expected = {}
    for a in apps:
        exp = _FLAGS.get(a.plan.flag, {})
        outcome = "fail" if "fail" in exp.values() else ("needs-review" if exp else "pass")
        expected[a.app_id] = {"outcome": outcome, "rules": exp, "case": a.plan.flag or "normal",
                              "field": a.plan.field, "city": a.plan.city}
    planted = {"reference_date": as_of.isoformat(), "seed": seed, "screening": expected,
               "conflicts": planter.cases, "scores": scores.attrs.get("planted", {}),
               "weak_family_B": weak_b, "past_centres": past_cases}
    return tables, planted


_FILES = (("applications", schema.APPLICATIONS), ("members", schema.MEMBERS), ("platforms", schema.PLATFORMS),
          ("experts", schema.EXPERTS), ("expert_history", schema.EXPERT_HISTORY),
          ("declared_conflicts", schema.DECLARED_CONFLICTS))


def to_zh(df: pd.DataFrame, columns: Iterable[tuple[str, str]]) -> pd.DataFrame:
    cols = list(columns)
    return df[[k for k, _ in cols]].rename(columns=dict(cols))


def _schema_cols(table: schema.Table) -> list[tuple[str, str]]:
    return [(c.key, c.zh) for c in table.columns]


def _write_xlsx(path: Path, sheets: dict[str, pd.DataFrame]) -> None:
    with pd.ExcelWriter(path, engine="openpyxl", date_format="YYYY-MM-DD", datetime_format="YYYY-MM-DD") as xw:
        for sheet, df in sheets.items():
            df.to_excel(xw, sheet_name=sheet, index=False)
            ws = xw.sheets[sheet]
            ws.freeze_panes = "A2"
            for j, col in enumerate(df.columns, start=1):
                if pd.api.types.is_datetime64_any_dtype(df[col]):
                    for row in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        row[0].number_format = "yyyy-mm-dd"
            for j, col in enumerate(df.columns, start=1):
                sample = [str(v) for v in df[col].head(200).tolist() if v is not None and not pd.isna(v)]
                width = max([len(str(col)) * 2] + [min(60, len(s) * (2 if any(ord(ch) > 127 for ch in s) else 1))
                                                   for s in sample[:200]]) + 2
                ws.column_dimensions[ws.cell(row=1, column=j).column_letter].width = min(62, width)
    _normalise_xlsx(path)


_FIXED_STAMP = "2026-11-01T00:00:00Z"


def _normalise_xlsx(path: Path) -> None:
    """Make the workbook's bytes depend on its content only: fixed document timestamps and zip
    entry times (openpyxl stamps 'now'), so regenerating the demo leaves git clean."""
    with zipfile.ZipFile(path) as zin:
        entries = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in entries:
            if name == "docProps/core.xml":
                text = data.decode("utf-8")
                text = re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", rf"\g<1>{_FIXED_STAMP}\g<3>", text)
                data = text.encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zout.writestr(info, data)


def _csv(df: pd.DataFrame, path: Path) -> None:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    out.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\n")


def write_demo(tables: dict[str, pd.DataFrame], planted: dict, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    (out / "csv").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    book: dict[str, pd.DataFrame] = {}
    for name, table in _FILES:
        df = to_zh(tables[name], _schema_cols(table))
        _write_xlsx(out / f"{name}.xlsx", {table.zh: df})
        _csv(df, out / "csv" / f"{name}.csv")
        book[table.zh] = df
        written += [out / f"{name}.xlsx", out / "csv" / f"{name}.csv"]
    _write_xlsx(out / "round2026.xlsx", book)
    panels = to_zh(tables["panels"], PANEL_COLUMNS)
    _csv(panels, out / "demo_panels.csv")
    scores = to_zh(tables["scores"], SCORE_COLUMNS)
    _csv(scores, out / "scores.csv")
    _write_xlsx(out / "scores.xlsx", {"评分": scores})
    past = to_zh(tables["past_centres"], PAST_CENTRE_COLUMNS)
    ind = to_zh(tables["indicators"], INDICATOR_COLUMNS)
    _write_xlsx(out / "past_centres.xlsx", {"试点中心": past})
    _write_xlsx(out / "indicators.xlsx", {"年度指标": ind})
    _csv(past, out / "csv" / "past_centres.csv")
    _csv(ind, out / "csv" / "indicators.csv")
    (out / "planted.json").write_text(json.dumps(planted, ensure_ascii=False, indent=1, sort_keys=True, default=str)
                                      + "\n", encoding="utf-8")
    written += [out / "round2026.xlsx", out / "demo_panels.csv", out / "scores.csv", out / "scores.xlsx",
                out / "past_centres.xlsx", out / "indicators.xlsx", out / "csv" / "past_centres.csv",
                out / "csv" / "indicators.csv", out / "planted.json"]
    return written


def generate_demo(out_dir: str | Path = DEFAULT_OUT, seed: int = DEFAULT_SEED,
                  policy: Policy | None = None) -> dict[str, pd.DataFrame]:
    """Generate the demo round and write its files to `out_dir`; returns the tables (English keys)."""
    tables, planted = build_round(seed, policy)
    write_demo(tables, planted, out_dir)
    return tables


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reviewer.demo.generate",
                                 description="Write the synthetic demo round (2026) and past-centre indicators.")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: reviewer/data/demo)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    ap.add_argument("--policy", default=None, help="policy file (default: reviewer/data/policy.toml)")
    args = ap.parse_args(argv)
    tables = generate_demo(args.out, args.seed, load_policy(args.policy) if args.policy else None)
    for name, df in tables.items():
        print(f"{name:20s} {len(df):6d} rows")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
