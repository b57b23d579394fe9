"""The demo expert pool (专家库) and the experts' history (专家履历).

About 400 experts in the policy's five categories: 技术 (~40%, per field, more where the consortia
employ most of the field's specialists), 产业 (~20%, firms and associations), 经济, 管理 and 金融
(universities, advisory firms, banks, departments). Some work at applicant units (so the conflict
rules have work to do); everyone's current job is in the history, with a past job for some.
"""
from __future__ import annotations

import datetime as dt
import random

from reviewer.demo.applications import DemoApp
from reviewer.demo.draws import rand_date
from reviewer.demo.fields import (FIELD_ASSOCIATION, FIELD_CITIES, FIELD_EXPERT_ORGS, FIELD_KEYWORDS,
                                  RELATED_FIELDS)
from reviewer.demo.names import (ADVISORY, ASSOCIATIONS, CITY_DEPTS, DEPARTMENT, FINANCE, INFO_CENTRE, INSTITUTES,
                                 OUTSIDE_ORGS, UNIVERSITIES, Firms, Names, Org, named_org, pinyin)
from reviewer.policy import Policy

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

# Employers of the 经济, 管理 and 金融 experts (besides the departments and applicant firms).
_ECON_ORGS = [UNIVERSITIES["广西大学"], UNIVERSITIES["广西财经学院"], UNIVERSITIES["广西民族大学"],
              INSTITUTES["广西社会科学院"], INFO_CENTRE, OUTSIDE_ORGS["中国人民大学"],
              *(ADVISORY[n] for n in sorted(ADVISORY))]
_MGMT_ORGS = [UNIVERSITIES["广西大学"], UNIVERSITIES["广西财经学院"], UNIVERSITIES["桂林电子科技大学"],
              UNIVERSITIES["广西科技大学"], UNIVERSITIES["桂林理工大学"], UNIVERSITIES["广西师范大学"],
              OUTSIDE_ORGS["清华大学"], ADVISORY["广西博睿管理咨询有限公司"],
              ADVISORY["桂林致远企业管理咨询有限公司"], ADVISORY["广西华智工程咨询有限公司"], INFO_CENTRE]
_FIN_ORGS = [*(FINANCE[n] for n in sorted(FINANCE)), OUTSIDE_ORGS["深圳前海弘远创业投资管理有限公司"],
             ADVISORY["广西正衡会计师事务所（特殊普通合伙）"], ADVISORY["广西信达联合会计师事务所有限公司"],
             ADVISORY["广西中和资产评估有限公司"]]
# Extra 技术 experts per field where consortia hold most of the field's specialists (their staff are conflicted).
_EXTRA_TECH = {"高端绿色家居": 7, "生物医药": 5, "高端有色金属新材料": 2, "新一代通信设备": 2}


class _Pool:
    """The pool being drawn: experts in the order made, from one random stream."""

    def __init__(self, rng: random.Random, policy: Policy, names: Names, firms: Firms, apps: list[DemoApp]):
        self.rng, self.names, self.fields = rng, names, policy.fields.all
        self.tech = policy.panel_rules.technical_category
        self.field_units: dict[str, set[str]] = {f: set() for f in self.fields}
        self.applicant_firms: dict[str, list[Org]] = {f: [] for f in self.fields}
        seen_firm: set[str] = set()
        for a in apps:
            self.field_units[a.proposal.field].update(a.unit_codes)
            orgs = [a.lead] + [firms.orgs[m["unit_name"]] for m in a.members if m["unit_name"] in firms.orgs]
            for o in orgs:
                if o.code not in seen_firm:
                    seen_firm.add(o.code)
                    self.applicant_firms[a.proposal.field].append(o)
        self.other_firms = {f: [firms.new(f, rng.choice(FIELD_CITIES[f])) for _ in range(5)] for f in self.fields}
        self.experts: list[dict] = []

    def add(self, category: str, org: Org, level: str, title: str | None, flds: list[str], specialties: list[str],
            department: str | None = None) -> dict:
        e = dict(expert_id="", name=self.names.new(), category=category, title=title, title_level=level,
                 employer=org.name, employer_credit_code=org.code, employer_type=org.org_type, department=department,
                 city=org.city, fields="、".join(dict.fromkeys(flds)), specialties="、".join(dict.fromkeys(specialties)),
                 status="可用", available_from=None, available_until=None, max_load=None, phone=_phone(self.rng),
                 email=None, _field=flds[0], _org=org)
        self.experts.append(e)
        return e

    def level_of(self, p_senior: float) -> str:
        x = self.rng.random()
        return "正高级" if x < p_senior else ("副高级" if x < p_senior + (1 - p_senior) * 0.85 else "中级")

    def kw(self, field: str, k: int) -> list[str]:
        return self.rng.sample(FIELD_KEYWORDS[field], k)

    def weighted_org(self, field: str) -> Org:
        """A university or institute of the field, those in the field's consortia less often."""
        cands = [named_org(n) for n in FIELD_EXPERT_ORGS[field]]
        w = [0.2 if o.code in self.field_units[field] else 1.0 for o in cands]
        return self.rng.choices(cands, w)[0]

    def technical(self) -> None:
        """技术 (~40%): 12 primaries per field and the extras; the first 7 of each field are 正高级."""
        rng, fields = self.rng, self.fields
        tech_fields = [f for k in range(12) for f in fields] + [f for f in fields for _ in range(_EXTRA_TECH.get(f, 0))]
        per_field: dict[str, int] = {}
        for f in tech_fields:
            k_in_field = per_field.get(f, 0)
            per_field[f] = k_in_field + 1
            level = "正高级" if k_in_field < 7 + _EXTRA_TECH.get(f, 0) // 2 else self.level_of(0.35)
            x = rng.random()
            if x < 0.14 and self.applicant_firms[f]:
                org = rng.choice(self.applicant_firms[f])
            elif x < 0.24:
                org = rng.choice(self.other_firms[f])
            else:
                org = self.weighted_org(f)
            kind = org.org_type if org.org_type in ("高校", "科研院所") else "企业"
            title = rng.choice(_TITLES[(kind, level)])
            related = RELATED_FIELDS[f]
            flds = [f] + rng.sample(related, rng.choice([0, 1, 1, 2]) if len(related) > 1 else rng.choice([0, 1]))
            spec = self.kw(f, rng.randint(2, 3)) + ([rng.choice(FIELD_KEYWORDS[flds[1]])] if len(flds) > 1 else [])
            self.add(self.tech, org, level, title, flds, spec)

    def industry(self) -> None:
        """产业 (~20%): industry people, mostly from firms and associations."""
        rng = self.rng
        for i in range(80):
            f = self.fields[i % len(self.fields)]
            level = self.level_of(0.45)
            x = rng.random()
            if x < 0.25 and self.applicant_firms[f]:
                org = rng.choice(self.applicant_firms[f])
            elif x < 0.7:
                org = rng.choice(self.other_firms[f])
            elif x < 0.85:
                org = ASSOCIATIONS[FIELD_ASSOCIATION[f]]
            else:
                org = self.weighted_org(f)
            kind = org.org_type if org.org_type in ("高校", "科研院所") else "企业"
            title = rng.choice(_TITLES[(kind, level)] + (_ECON_TITLES[level][:1] if kind == "企业" else ()))
            flds = [f] + rng.sample(RELATED_FIELDS[f], rng.choice([0, 1]))
            self.add("产业", org, level, title, flds, self.kw(f, 2) + rng.sample(_SPEC_IND, 1))

    def soft_title(self, org: Org, level: str) -> str | None:
        if org.org_type == "高校":
            return _TITLES[("高校", level)][0]
        if org.org_type == "科研院所":
            return _TITLES[("科研院所", level)][0]
        if org.org_type == "其他" and "会计师" in org.name and self.rng.random() < 0.4:
            return "注册会计师"
        return self.rng.choice(_ECON_TITLES[level])

    def soft_employer(self, category: str, i: int, orgs: list[Org]) -> tuple[Org, str | None]:
        """(employer, department) of the i-th expert of a category: department staff come first."""
        if category == "管理" and i < 2 or category == "经济" and i < 1:
            return DEPARTMENT, "自治区"
        if category == "管理" and 2 <= i < 4:
            c = ("柳州", "贺州")[i - 2]
            return CITY_DEPTS[c], c
        if category == "经济" and i == 1:
            return CITY_DEPTS["南宁"], "南宁"
        if category == "管理" and 4 <= i < 10:
            f = self.fields[(i * 5) % len(self.fields)]
            return self.rng.choice(self.applicant_firms[f] or self.other_firms[f]), None   # a manager at an applicant firm
        w = [1.0 if o.org_type in ("高校", "科研院所", "金融机构") else 0.45 for o in orgs]
        return self.rng.choices(orgs, w)[0], None

    def economic_management_finance(self) -> None:
        """经济, 管理, 金融."""
        rng = self.rng
        for category, n, orgs, pool in (("经济", 56, _ECON_ORGS, _SPEC_ECON), ("管理", 56, _MGMT_ORGS, _SPEC_MGMT),
                                         ("金融", 48, _FIN_ORGS, _SPEC_FIN)):
            for i in range(n):
                org, dept = self.soft_employer(category, i, orgs)
                level = self.level_of(0.4)
                title = None if org.org_type == "政府部门" else self.soft_title(org, level)
                if org.org_type == "政府部门" or title == "注册会计师":
                    level = "其他"
                flds = rng.sample(self.fields, rng.choice([1, 2, 2, 3]))
                self.add(category, org, level, title, flds, rng.sample(pool, rng.randint(2, 3)), dept)

    def number(self) -> None:
        """Shuffle (ids do not follow the categories), then give ids and e-mail addresses."""
        rng = self.rng
        order = list(range(len(self.experts)))
        rng.shuffle(order)
        self.experts = [self.experts[i] for i in order]
        for k, e in enumerate(self.experts, start=1):
            e["expert_id"] = f"ZJ{k:04d}"
            py = pinyin(e["name"])
            dom = rng.choice(_EMAIL_DOMAINS)
            e["email"] = (f"{rng.randint(10_000_000, 2_999_999_999)}@qq.com" if dom == "qq.com"
                          else f"{py}{rng.randint(1, 99) if rng.random() < 0.6 else ''}@{dom}")

    def history(self, year: int) -> list[dict]:
        """Current employment of everyone, past jobs for some (never at applicant units here)."""
        rng = self.rng
        history: list[dict] = []
        all_units = set().union(*self.field_units.values())
        past_pool = [o for o in (*UNIVERSITIES.values(), *INSTITUTES.values(), *OUTSIDE_ORGS.values(),
                                 *(o for f in self.fields for o in self.other_firms[f])) if o.code not in all_units]
        for e in self.experts:
            org: Org = e["_org"]
            start = rand_date(rng, dt.date(1996, 7, 1), dt.date(year - 2, 12, 31))
            job = rng.choice(_JOB[org.org_type if org.org_type in _JOB else "其他"])
            history.append(dict(expert_id=e["expert_id"], kind="任职", org_name=org.name, org_credit_code=org.code,
                                person=None, role=job, start=start, end=None, note=None))
            e["_start"] = start
            if rng.random() < 0.3 and start.year > 2000:
                prev = rng.choice([o for o in past_pool if o.code != org.code])
                p_start = rand_date(rng, dt.date(1990, 7, 1), start - dt.timedelta(days=800))
                history.append(dict(expert_id=e["expert_id"], kind="任职", org_name=prev.name,
                                    org_credit_code=prev.code, person=None,
                                    role=rng.choice(_JOB[prev.org_type if prev.org_type in _JOB else "其他"]),
                                    start=p_start, end=start - dt.timedelta(days=rng.randint(1, 60)), note=None))
        return history


def build_experts(rng: random.Random, policy: Policy, names: Names, firms: Firms,
                  apps: list[DemoApp]) -> tuple[list[dict], list[dict]]:
    """(experts, history rows), keys of the schema's EXPERTS and EXPERT_HISTORY (experts also carry
    `_field`, `_org` and `_start` for the planting step)."""
    pool = _Pool(rng, policy, names, firms, apps)
    pool.technical()
    pool.industry()
    pool.economic_management_finance()
    pool.number()
    return pool.experts, pool.history(policy.meta.year)
