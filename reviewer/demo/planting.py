"""Planted conflicts (SPEC §4): experts picked on purpose and given the history or declarations
that make a conflict rule apply (or, at a window's edge, not apply), each recorded as a case
(expert, application, rule, expected outcome) in ``planted.json`` for the tests to check against
the real conflict detector. Also: unavailable and credit-banned experts, availability windows,
explicit maximum loads and two namesakes."""
from __future__ import annotations

import datetime as dt
import random
from typing import Any, Iterable

from reviewer.conflicts.detector import years_before
from reviewer.demo.applications import DemoApp
from reviewer.demo.draws import rand_date
from reviewer.demo.names import pinyin
from reviewer.policy import Policy

# Planted screening flags of applications that pass screening: they may carry a planted conflict.
_PASSING_FLAGS = ("", "weakB", "E5_old", "E1_relaxed", "E1_exact", "E2_exact")
_UNSUITABLE_REASONS = ("该专家所在单位与我单位存在直接同业竞争关系", "该专家曾公开发表对我单位技术路线的否定性意见，可能影响评审公正",
                       "该专家与我单位存在未了结的技术合同纠纷")
_RECUSALS = (("本人曾为牵头单位提供技术咨询服务（2025年）", "专家"), ("本人近亲属在成员单位任职", "专家"),
             ("本人参与了该中心组建方案的前期论证", "专家"), ("该专家与牵头单位负责人存在经济往来，经核实应予回避", "工作人员"))


class Planter:
    """Picks experts for planted cases and writes their history / declarations; records each case."""

    def __init__(self, rng: random.Random, apps: list[DemoApp], experts: list[dict], history: list[dict],
                 policy: Policy, as_of: dt.date):
        self.rng, self.apps, self.experts, self.history = rng, apps, experts, history
        self.policy, self.as_of = policy, as_of
        self.tech = policy.panel_rules.technical_category   # the policy names the technical category
        self.taken: set[str] = set()
        self.cases: list[dict] = []
        self.declared: list[dict] = []
        self.field_units: dict[str, set[str]] = {}
        for a in apps:
            self.field_units.setdefault(a.proposal.field, set()).update(a.unit_codes)
        self.all_units = set().union(*self.field_units.values())
        self.used_apps: list[str] = []   # applications that already carry a planted case

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

    def case(self, e: dict, app: DemoApp | None, rule: str, expected: str, note: str) -> None:
        self.cases.append(dict(expert_id=e["expert_id"], application_id=app.app_id if app else "*", rule=rule,
                               expected=expected, note=note))

    def hist(self, e: dict, **kw: Any) -> None:
        row = dict(expert_id=e["expert_id"], kind="任职", org_name=None, org_credit_code=None, person=None,
                   role=None, start=None, end=None, note=None)
        row.update(kw)
        self.history.append(row)

    def app(self, flag_free: bool = True, field: str | None = None, exclude: Iterable[str] = ()) -> DemoApp:
        ex = set(exclude)
        cands = [a for a in self.apps if (not flag_free or a.proposal.flag in _PASSING_FLAGS)
                 and (field is None or a.proposal.field == field) and a.app_id not in ex]
        return self.rng.choice(cands)

    def current_job(self, e: dict) -> dict:
        return next(h for h in self.history if h["expert_id"] == e["expert_id"] and h["end"] is None and h["kind"] == "任职")

    def member_firm(self, a: DemoApp) -> dict:
        firms_ = [m for m in a.members if m["unit_type"] == "企业"]
        return self.rng.choice(firms_)

    def next_app(self) -> DemoApp:
        """A passing application not used by an earlier planted case."""
        a = self.app(exclude=self.used_apps)
        self.used_apps.append(a.app_id)
        return a

    def unit_of(self, a: DemoApp, unit: str) -> tuple[str, str]:
        """(name, credit code) of the lead unit or of a member firm."""
        if unit == "lead":
            return a.lead.name, a.lead.code
        m = self.member_firm(a)
        return m["unit_name"], m["credit_code"]

    def run(self) -> None:
        self.employment()
        self.board_roles()
        self.relations()
        self.own_unit()
        self.department_staff()
        self.availability()
        self.namesakes()
        self.declarations()

    def employment(self) -> None:
        """C1: past employment at applicant units (ended ~1.6 and 2 years ago: conflict; 4 years:
        none; exactly 3 years before the reference date: the boundary, counted as within)."""
        ref = self.as_of
        y3 = years_before(ref, self.policy.conflicts.employment_window_years)
        for end, unit, expected in (
                (dt.date(ref.year - 1, 3, 31), "lead", "excluded"),
                (years_before(ref, 2) - dt.timedelta(days=1), "member", "excluded"),
                (years_before(ref, 4) - dt.timedelta(days=1), "member", "not excluded"),
                (y3, "lead", "excluded (boundary: ended exactly 3 years before the reference date)")):
            a = self.next_app()
            e = self.pick(self.tech, a.proposal.field)
            name, code = self.unit_of(a, unit)
            start = rand_date(self.rng, dt.date(2008, 7, 1), dt.date(2016, 12, 31))
            # this past job replaces any other past job; the current one starts the day after it ended
            self.history[:] = [h for h in self.history if not (h["expert_id"] == e["expert_id"]
                                                               and h["kind"] == "任职" and h["end"] is not None)]
            self.hist(e, kind="任职", org_name=name, org_credit_code=code,
                      role=self.rng.choice(("总工程师", "研发中心主任", "技术部部长")), start=start, end=end)
            cur = self.current_job(e)
            cur["start"] = end + dt.timedelta(days=1)
            self.case(e, a, "C1", expected, f"曾任职于{'牵头单位' if unit == 'lead' else '成员单位'}{name}，{end.isoformat()}离职")

    def board_roles(self) -> None:
        """C2: board roles and shareholding."""
        ref = self.as_of
        for kind, role, start, end, unit, expected in (
                ("董监高", "独立董事", dt.date(2022, 5, 1), None, "lead", "excluded"),
                ("董监高", "监事", dt.date(2019, 1, 1), dt.date(ref.year - 3, 12, 31) + dt.timedelta(days=182),
                 "member", "excluded"),
                ("董监高", "董事", dt.date(2016, 6, 1), dt.date(ref.year - 4, 12, 31), "lead", "not excluded"),
                ("股东", "股东（持股12%）", dt.date(2020, 3, 1), None, "member", "excluded")):
            a = self.next_app()
            e = self.pick(self.rng.choice((self.tech, "产业", "金融")))
            name, code = self.unit_of(a, unit)
            self.hist(e, kind=kind, org_name=name, org_credit_code=code, role=role, start=start, end=end)
            self.case(e, a, "C2", expected, f"{role} of {name} {start.isoformat()}–{end.isoformat() if end else '至今'}")

    def relations(self) -> None:
        """C3: a relative, a doctoral advisor, co-projects inside and outside the window, a co-author."""
        ref = self.as_of
        a = self.next_app()
        e = self.pick("产业")
        self.hist(e, kind="亲属", org_name=a.lead.name, org_credit_code=a.lead.code, person=a.row["legal_representative"],
                  role="兄弟", note="与牵头单位法定代表人为兄弟关系")
        self.case(e, a, "C3", "excluded", "亲属: brother of the legal representative")
        a = self.next_app()
        e = self.pick(self.tech, a.proposal.field, "正高级")
        self.hist(e, kind="师生", org_name=a.lead.name, org_credit_code=a.lead.code, person=a.row["centre_head"],
                  role="博士生导师", start=dt.date(2008, 9, 1), end=dt.date(2012, 6, 30),
                  note="中心负责人攻读博士学位期间的导师")
        self.case(e, a, "C3", "excluded", "师生: doctoral advisor of the centre head (ended 2012; advisor ties have no window)")
        a = self.next_app()
        m = self.member_firm(a)
        e = self.pick(self.tech, a.proposal.field)
        self.hist(e, kind="合作", org_name=m["unit_name"], org_credit_code=m["credit_code"], role="项目负责人",
                  start=dt.date(ref.year - 3, 1, 1), end=dt.date(ref.year - 1, 12, 31),
                  note="共同承担自治区科技重大专项（桂科AA23xxxxxx）")
        self.case(e, a, "C3", "excluded", f"合作 co-project with member {m['unit_name']} until {ref.year - 1}-12-31")
        a = self.next_app()
        m = self.member_firm(a)
        e = self.pick(self.tech, a.proposal.field)
        self.hist(e, kind="合作", org_name=m["unit_name"], org_credit_code=m["credit_code"], role="课题参与人",
                  start=dt.date(ref.year - 7, 1, 1), end=dt.date(ref.year - 4, 6, 30),
                  note="共同承担国家重点研发计划课题（已结题）")
        self.case(e, a, "C3", "not excluded", f"合作 co-project ended {ref.year - 4}-06-30, outside the 3-year window")
        a = self.next_app()
        e = self.pick(self.tech, a.proposal.field)
        d = dt.date(ref.year - 2, 9, 15)
        self.hist(e, kind="合作", org_name=a.lead.name, org_credit_code=a.lead.code, person=a.row["centre_head"],
                  role="合著者", start=d, end=d, note="与中心负责人合著期刊论文")
        self.case(e, a, "C3", "excluded", f"合作 co-author with the centre head, published {d.isoformat()}")

    def own_unit(self) -> None:
        """C4 + C1: an expert at a lead unit who is also that application's centre head; and an
        expert at an applicant member unit recorded without a credit code (matched by name)."""
        a = self.app(field="汽车", exclude=self.used_apps)
        self.used_apps.append(a.app_id)
        e = self.pick(self.tech, a.proposal.field, clean=False)
        e.update(employer=a.lead.name, employer_credit_code=a.lead.code, employer_type="企业", city=a.lead.city,
                 title="教授级高级工程师", title_level="正高级")
        cur = self.current_job(e)
        cur.update(org_name=a.lead.name, org_credit_code=a.lead.code, role="副总经理、总工程师")
        a.row["centre_head"] = e["name"]
        self.case(e, a, "C1", "excluded", "works for the lead unit and is the proposed centre head")
        for b in self.apps:
            if b.proposal.field == a.proposal.field and b is not a:
                self.case(e, b, "C4", "excluded", f"own unit applies in the same field ({a.app_id})")
        b = self.next_app()
        m = self.member_firm(b)
        e = self.pick("产业", clean=True)
        e.update(employer=m["unit_name"], employer_credit_code=None, employer_type="企业", city=m["city"])
        cur = self.current_job(e)
        cur.update(org_name=m["unit_name"], org_credit_code=None)
        self.case(e, b, "C1", "excluded", "employer given by name only (no credit code), a member unit")

    def department_staff(self) -> None:
        """C5: staff of the supervising department (every application) and of city departments."""
        for e in self.experts:
            if e["department"] == "自治区":
                self.case(e, None, "C5", "excluded", "supervising department staff: all applications")
            elif e["department"]:
                for b in self.apps:
                    if b.proposal.city == e["department"]:
                        self.case(e, b, "C5", "excluded", f"{e['department']} city department staff")

    def availability(self) -> None:
        """C7: unavailable and credit-banned experts; availability windows; explicit max loads."""
        ref = self.as_of
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

    def namesakes(self) -> None:
        """Two different experts who share a name."""
        e1 = self.pick(self.tech, clean=False)
        e2 = self.pick("经济", clean=False, not_employer=e1["employer"])
        e2["name"] = e1["name"]
        e2["email"] = f"{pinyin(e1['name'])}{self.rng.randint(100, 999)}@126.com"
        self.cases.append(dict(expert_id=f"{e1['expert_id']},{e2['expert_id']}", application_id="*", rule="-",
                               expected="-", note=f"two different experts share the name {e1['name']}"))

    def declarations(self) -> None:
        """C6 / C3 declarations: experts named unsuitable by applicants (one waived by staff) and
        declared recusals."""
        ref = self.as_of
        unsuitable: list[tuple[DemoApp, dict, dict]] = []
        for n in (2, 3, 1):
            a = self.next_app()
            for k in range(n):
                e = self.pick(self.tech if k != 1 else "产业", a.proposal.field)
                self.declared.append(dict(application_id=a.app_id, expert_id=e["expert_id"], kind="不适宜",
                                          declared_by="申报单位", reason=_UNSUITABLE_REASONS[k], rule=None,
                                          date=a.row["submitted_on"]))
                self.case(e, a, self.policy.conflicts.unsuitable_rule, "excluded", "named unsuitable by the applicant")
                unsuitable.append((a, e, self.cases[-1]))
        a, e, waived_case = unsuitable[2]
        waived_case["expected"] = "not excluded (C6 waived by staff)"
        self.declared.append(dict(application_id=a.app_id, expert_id=e["expert_id"], kind="豁免", declared_by="工作人员",
                                  reason="经核查，该专家所在单位与申报单位无竞争和业务往来，申报单位所列理由不成立，经处务会研究同意豁免",
                                  rule=self.policy.conflicts.unsuitable_rule, date=dt.date(ref.year, 10, 20)))
        for reason, who in _RECUSALS:
            a = self.next_app()
            e = self.pick(self.tech, a.proposal.field)
            self.declared.append(dict(application_id=a.app_id, expert_id=e["expert_id"], kind="回避", declared_by=who,
                                      reason=reason, rule=None, date=dt.date(ref.year, 10, self.rng.randint(8, 28))))
            self.case(e, a, "C3", "excluded", f"declared recusal ({who})")
