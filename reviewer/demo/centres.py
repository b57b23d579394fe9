"""Past (2022) round pilot centres and their annual indicators 2023-2025, for the annual evaluation
(考核评估). Each centre has a planted life-cycle case: normal, fail_twice (two consecutive failing
years), overrun (build period passed, targets not met) or fail_apart (two failing years that are
not consecutive)."""
from __future__ import annotations

import datetime as dt
import random

import pandas as pd

from reviewer.demo.draws import round_to
from reviewer.demo.names import Firms

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

# (field, city, topic, lead firm ending, build start, life-cycle case)
_PAST = (
    ("汽车", "柳州", "智能汽车零部件", "汽车零部件股份有限公司", dt.date(2023, 1, 16), "normal"),
    ("机械", "玉林", "绿色动力装备", "动力机械有限公司", dt.date(2023, 2, 20), "normal"),
    ("高端有色金属新材料", "百色", "铝基新材料", "铝业有限公司", dt.date(2022, 12, 28), "normal"),
    ("生物医药", "南宁", "中药现代化", "药业有限公司", dt.date(2022, 9, 1), "overrun"),
    ("电子信息", "桂林", "智能传感器", "电子科技有限公司", dt.date(2023, 4, 10), "fail_apart"),
    ("精品碳酸钙", "贺州", "碳酸钙新材料", "钙业有限公司", dt.date(2023, 6, 30), "normal"),
    ("绿色高端石化", "钦州", "化工新材料", "石化有限公司", dt.date(2023, 3, 1), "fail_twice"),
)
# Share of the annual targets reached (2023, 2024, 2025) and cumulative build completion per case.
_FIXED_RATIOS = {"fail_twice": (0.78, 0.38, 0.31), "overrun": (0.72, 0.7, 0.74), "fail_apart": (0.42, 0.97, 0.4)}
_COMPLETION = {"normal": (0.4, 0.72, 1.0), "fail_twice": (0.3, 0.42, 0.5), "overrun": (0.3, 0.55, 0.78),
               "fail_apart": (0.25, 0.6, 0.82)}


def _targets(scale: float) -> dict:
    """The annual build targets declared at approval, for a centre of the given scale."""
    return dict(contract_count=int(round(12 * scale)), contract_amount=round_to(8_000_000 * scale, 100_000),
                invention_grants=int(round(8 * scale)), standards=max(1, int(round(2 * scale))),
                industrialised_count=int(round(5 * scale)), industrialised_rate=0.6,
                rd_input=round_to(30_000_000 * scale, 1_000_000), rd_staff=int(round(60 * scale)),
                collaboration_services=int(round(40 * scale)))


def _indicator_row(rng: random.Random, cid: str, year: int, t: dict, ratio: float, done: float) -> dict:
    def v(k: str, step: int = 1) -> int:
        return round_to(t[k] * ratio * rng.uniform(0.92, 1.08), step)
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
    return row


def build_past_centres(rng: random.Random, firms: Firms) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(past centres, indicators, centre id -> planted case); English column keys."""
    centres, rows, cases = [], [], {}
    for i, (f, city, topic, suffix, start, case) in enumerate(_PAST, start=1):
        cid = f"GXMIC-2022-{i:02d}"
        lead = firms.new(f, city, suffix)
        centres.append(dict(centre_id=cid, name=f"广西{topic}制造业创新中心", field=f, city=city, lead_unit=lead.name,
                            lead_credit_code=lead.code, approval_year=2022, build_start=start, state="试点"))
        cases[cid] = case
        t = _targets(rng.uniform(0.7, 1.5))
        # drawn for every centre (the random stream does not depend on the case), used by normal ones
        normal = (rng.uniform(0.85, 1.0), rng.uniform(0.95, 1.15), rng.uniform(1.0, 1.25))
        ratios = normal if case == "normal" else _FIXED_RATIOS[case]
        for year, ratio, done in zip((2023, 2024, 2025), ratios, _COMPLETION[case]):
            rows.append(_indicator_row(rng, cid, year, t, ratio, done))
    past = pd.DataFrame(centres, columns=[k for k, _ in PAST_CENTRE_COLUMNS])
    past["build_start"] = pd.to_datetime(past["build_start"]).astype("datetime64[ns]")
    ind = pd.DataFrame(rows, columns=[k for k, _ in INDICATOR_COLUMNS])
    return past, ind, cases
