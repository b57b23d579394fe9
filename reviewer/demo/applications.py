"""The demo round's applications: lead units and their field ranks, member units, three years of
revenue and R&D spend, patents, violations and innovation platforms, one application per proposal
(`reviewer.demo.proposals`), with the planted screening cases built into the raw numbers."""
from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np

from reviewer.demo.draws import rand_date, round_to, three_years
from reviewer.demo.fields import FIELD_CITIES, FIELD_INSTITUTES, FIELD_KEYWORDS, FIELD_SCALE, FIELD_UNIVERSITIES
from reviewer.demo.names import OUTSIDE_ORGS, Firms, Names, Org, named_org
from reviewer.demo.proposals import PROPOSALS, Proposal
from reviewer.policy import Policy

# Flags whose average revenue is set exactly by the planted E1 case (counted in 10 000 yuan).
_E1_FLAGS = ("E1_fail", "E1_relaxed", "E1_exact", "E1E2_fail")
_E2_FAIL_RATIO = {"E2_fail": 1.45, "E2_fail2": 1.88, "E1E2_fail": 1.6}   # x min_rd_ratio_percent / 2


@dataclass
class DemoApp:
    app_id: str
    proposal: Proposal
    lead: Org
    lead_rank: int | None
    members: list[dict]      # member rows (keys of schema MEMBERS)
    row: dict                # application row (keys of schema APPLICATIONS)

    @property
    def unit_codes(self) -> list[str]:
        return [self.lead.code] + [m["credit_code"] for m in self.members]


def _lab_name(holder: str, field: str) -> tuple[str, str, int]:
    r = random.Random(f"lab:{holder}:{field}")
    kw = r.choice(FIELD_KEYWORDS[field])
    major = holder in ("广西大学", "桂林电子科技大学", "桂林理工大学", "广西医科大学") or holder in OUTSIDE_ORGS
    if major and r.random() < 0.3:
        return f"{kw}国家地方联合工程研究中心（{holder}）", "国家级", r.randint(2011, 2019)
    return f"广西{kw}重点实验室（{holder}）", "自治区级", r.randint(2009, 2022)


class _Builder:
    """Builds the applications in a fixed order; every random draw comes from `rng` (and the
    person names from `names`), so one seed gives one round."""

    def __init__(self, rng: random.Random, policy: Policy, names: Names, firms: Firms):
        self.rng, self.policy, self.names, self.firms = rng, policy, names, firms
        self.el = policy.eligibility
        self.fields = policy.fields.all
        self.top = self.el.top_rank
        self.need_top = max(2, self.el.min_top_ranked_members)
        self.used_ranks: dict[str, set[int]] = {f: set() for f in self.fields}
        self.lead_rank: dict[Proposal, int | None] = {}
        self.leads: dict[Proposal, Org] = {}
        self.member_pool: dict[str, list[tuple[Org, int]]] = {}

    def order(self) -> list[Proposal]:
        cities = self.policy.cities.names
        for p in PROPOSALS:
            if p.field not in self.fields or p.city not in cities:
                raise ValueError(f"demo plan names field {p.field!r} / city {p.city!r} the policy does not know")
        return sorted(PROPOSALS, key=lambda p: (cities.index(p.city), self.fields.index(p.field), p.topic))

    def rank_leads(self, order: list[Proposal]) -> None:
        """Field rank registry: per field, top ranks handed to leads first, the rest to member firms."""
        rng, top = self.rng, self.top
        for f in self.fields:
            ranks = list(range(1, top + 1))
            rng.shuffle(ranks)
            plans = [p for p in order if p.field == f]
            n_top_leads = min(len(plans), max(0, top - 4))
            for i, p in enumerate(plans):
                self.leads[p] = self.firms.new(f, p.lead_city or p.city, p.suffix, regional=p.regional)
                if p.flag == "E7_fail":
                    r: int | None = top + 8 + i
                elif p.flag == "E7_review":
                    r = None
                elif p.flag == "E6_fail" or (i < n_top_leads and rng.random() < 0.75):
                    r = ranks.pop()
                else:
                    r = rng.choice([None, rng.randint(top + 1, top + 15)])
                if r is not None and r in self.used_ranks[f]:
                    r = None
                if r is not None:
                    self.used_ranks[f].add(r)
                self.lead_rank[p] = r
            pool = []
            for r in sorted(ranks):
                if r not in self.used_ranks[f]:
                    self.used_ranks[f].add(r)
                    pool.append((self.firms.new(f, rng.choice(FIELD_CITIES[f])), r))
            self.member_pool[f] = pool

    def fresh_rank(self, f: str, lo: int, hi: int) -> int | None:
        for _ in range(200):
            r = self.rng.randint(lo, hi)
            if r not in self.used_ranks[f]:
                self.used_ranks[f].add(r)
                return r
        return None

    def other_rank(self, f: str) -> int | None:
        return None if self.rng.random() < 0.35 else self.fresh_rank(f, self.top + 1, self.top + 40)

    def members(self, app_id: str, p: Proposal) -> list[dict]:
        rng, firms, f, top = self.rng, self.firms, p.field, self.top
        members: list[dict] = []

        def add(org: Org, role: str, rank: int | None, shareholder: str | None) -> None:
            members.append(dict(application_id=app_id, unit_name=org.name, credit_code=org.code, role=role,
                                unit_type=org.domain, field_rank=rank, is_shareholder=shareholder,
                                city=org.city))

        def new_firm() -> Org:
            return firms.new(f, rng.choice(FIELD_CITIES[f]))

        unis = list(FIELD_UNIVERSITIES[f])
        insts = list(FIELD_INSTITUTES[f])
        if p.flag == "E6_fail":
            org, r = rng.choice(self.member_pool[f])
            add(org, "核心成员", r, "是")
        elif p.flag == "E7_fail":
            for _ in range(2):
                add(new_firm(), "核心成员", self.fresh_rank(f, top + 4, top + 25), "是")
            add(new_firm(), "一般成员", None, "是")
            add(named_org(unis[0]), "核心成员", None, "否")
            if insts:
                add(named_org(insts[0]), "一般成员", None, "否")
        elif p.flag == "E7_review":
            for k in range(2):
                add(new_firm(), "核心成员" if k == 0 else "一般成员", None, "是")
            add(named_org(unis[0]), "核心成员", None, None)
            add(named_org(unis[-1]), "一般成员", None, "是")
        else:
            n_top = self.need_top if rng.random() < 0.6 else self.need_top + 1
            chosen = rng.sample(self.member_pool[f], min(n_top, len(self.member_pool[f])))
            for k, (org, r) in enumerate(sorted(chosen, key=lambda t: t[1])):
                add(org, "核心成员" if k < 2 else "一般成员", r, "是")
            if rng.random() < 0.45:
                add(new_firm(), "一般成员", self.other_rank(f), "是")
            n_uni = 1 if rng.random() < 0.6 or len(unis) == 1 else 2
            for k, u in enumerate(rng.sample(unis, n_uni)):
                core = k == 0 and p.flag != "E3_review"
                add(named_org(u), "核心成员" if core else "一般成员", None, rng.choice(["是", "是", "否", None]))
            if insts and rng.random() < 0.5 and len(members) < 6:
                add(named_org(insts[0]), "一般成员", None, rng.choice(["是", "否"]))
        assert len(members) <= 6
        return members

    def average_revenue(self, p: Proposal) -> float:
        el, f = self.el, p.field
        thr = el.revenue_threshold(f)
        if p.flag == "E1_fail":
            return 0.685 * thr
        if p.flag == "E1_relaxed":
            avg = el.relaxed_avg_revenue.get(f, 0.5 * el.min_avg_revenue)
            return avg + 0.45 * (el.min_avg_revenue - avg)
        if p.flag == "E1_exact":
            return thr
        if p.flag == "E1E2_fail":
            return 0.78 * thr
        median = FIELD_SCALE[f][0]
        strong = self.lead_rank[p] is not None and self.lead_rank[p] <= self.top
        return float(np.clip(median * (1.0 if strong else 0.35) * math.exp(self.rng.gauss(0, 0.6)),
                             1.3 * max(thr, el.min_avg_revenue), 4.8e10))

    def money(self, p: Proposal, avg: float) -> tuple[list[int], list[int], list[int | None]]:
        """(revenue, R&D spend, main-business revenue) of three years, in yuan."""
        rng, el = self.rng, self.el
        rd_lo, rd_hi = FIELD_SCALE[p.field][1]
        step = 10_000 if avg < 1e9 or p.flag in _E1_FLAGS else 1_000_000
        revenue = three_years(rng, avg, step)
        assert sum(revenue) == round_to(3 * avg, step)
        rd_ratio = rng.uniform(rd_lo, rd_hi)
        main: list[int | None]
        if p.flag == "E2_exact":
            rd_ratio = el.min_rd_ratio_percent
            main = [round_to(r * rng.uniform(0.9, 0.97), 1_000_000) for r in revenue]
            rd = [int(round(m * rd_ratio / 100)) for m in main]
            assert all(abs(r * 100 - m * rd_ratio) < 1e-6 for r, m in zip(rd, main))
            return revenue, rd, main
        if p.flag in _E2_FAIL_RATIO:
            rd_ratio = _E2_FAIL_RATIO[p.flag] * el.min_rd_ratio_percent / 2.0
        main = [round_to(r * rng.uniform(0.86, 0.99), step) for r in revenue] if rng.random() < 0.7 else [None] * 3
        base = [m if m is not None else r for m, r in zip(main, revenue)]
        jit = 0.0 if p.flag in _E2_FAIL_RATIO else 0.06
        rd = [round_to(b * rd_ratio / 100 * rng.uniform(1 - jit, 1 + jit), 1_000) for b in base]
        return revenue, rd, main

    def row(self, app_id: str, p: Proposal, avg: float) -> dict:
        lead, rng, year = self.leads[p], self.rng, self.policy.meta.year
        revenue, rd, main = self.money(p, avg)
        patents = 0 if p.flag == "E4_fail" else max(2, int(round(math.exp(rng.gauss(3.0, 0.8)))))
        violations, vnote = 0, None
        if p.flag == "E5_fail":
            violations = 1
            vnote = f"2025年3月因大气污染防治设施未正常运行被{p.city}市生态环境局行政处罚（罚款12万元），已整改"
        elif p.flag == "E5_old":
            vnote = "2021年5月曾因安全生产管理问题受到行政处罚，已整改完毕（不在近三年内）"
        legal_rep, head = self.names.new(), self.names.new()
        return dict(application_id=app_id, name=f"广西{p.topic}制造业创新中心", field=p.field, recommending_city=p.city,
                    lead_unit=lead.name, lead_credit_code=lead.code, lead_city=lead.city, lead_unit_type="企业",
                    lead_field_rank=self.lead_rank[p],
                    legal_representative=legal_rep, centre_head=head,
                    revenue_y1=revenue[0], revenue_y2=revenue[1], revenue_y3=revenue[2],
                    rd_spend_y1=rd[0], rd_spend_y2=rd[1], rd_spend_y3=rd[2],
                    main_revenue_y1=main[0], main_revenue_y2=main[1], main_revenue_y3=main[2],
                    invention_patents_valid=patents, violations_3y=violations, violation_notes=vnote,
                    tech_description=p.tech,
                    submitted_on=rand_date(rng, dt.date(year, 5, 20), dt.date(year, 6, 30)))

    def platforms(self, app: DemoApp, avg: float) -> list[dict]:
        rng, p, lead, app_id = self.rng, app.proposal, app.lead, app.app_id
        out: list[dict] = []

        def add(holder: str, name: str, level: str, year: int) -> None:
            out.append(dict(application_id=app_id, holder_credit_code=holder, platform_name=name, level=level,
                            year=year))

        def add_lab(m: dict) -> None:
            name, level, year = _lab_name(m["unit_name"], p.field)
            add(m["credit_code"], name, level, year)

        if p.flag in ("E3_fail", "E3_review"):   # only 市级 platforms held by the lead unit
            add(lead.code, f"{p.city}市{p.topic}工程技术研究中心", "市级", rng.randint(2016, 2023))
            add(lead.code, f"{lead.name}技术中心（市级企业技术中心）", "市级", rng.randint(2012, 2020))
            if p.flag == "E3_review":   # a counted platform held by a non-core member
                add_lab(next(m for m in app.members if m["unit_type"] == "高校"))
            return out
        national = avg > 4e9 and rng.random() < 0.6
        add(lead.code, f"{lead.name}技术中心（{'国家' if national else '自治区'}企业技术中心）",
            "国家级" if national else "自治区级", rng.randint(2006, 2021))
        if rng.random() < 0.55:
            add(lead.code, f"广西{p.topic}工程技术研究中心", "自治区级", rng.randint(2012, 2023))
        if rng.random() < 0.3:
            add(lead.code, f"{lead.city}市{p.topic}工程技术研究中心", "市级", rng.randint(2010, 2020))
        for m in app.members:
            if m["role"] == "核心成员" and m["unit_type"] == "高校" and rng.random() < 0.7:
                add_lab(m)
        return out


def build_applications(rng: random.Random, policy: Policy, names: Names,
                       firms: Firms) -> tuple[list[DemoApp], list[dict], dict[str, Any]]:
    """(applications, platform rows, planted flag (or application id) -> application id)."""
    b = _Builder(rng, policy, names, firms)
    order = b.order()
    b.rank_leads(order)
    apps: list[DemoApp] = []
    platforms: list[dict] = []
    info: dict[str, Any] = {}
    for i, p in enumerate(order, start=1):
        app_id = f"GX{policy.meta.year}-{i:03d}"
        info[p.flag or app_id] = app_id
        members = b.members(app_id, p)
        avg = b.average_revenue(p)
        app = DemoApp(app_id, p, b.leads[p], b.lead_rank[p], members, b.row(app_id, p, avg))
        apps.append(app)
        platforms += b.platforms(app, avg)
    return apps, platforms, info
