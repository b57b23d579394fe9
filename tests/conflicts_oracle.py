"""Test oracle: the pair-by-pair conflicts detector as it was before the rules were vectorised
(issue 14), kept verbatim (but for the hit record, imported) so `tests/test_conflicts_vectorised.py` can check that the vectorised
detector reports the same hits, in the same order, with the same evidence. Not used by the program.

Rules C1..C9 as in `reviewer/conflicts/detector.py`.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reviewer.conflicts.basics import ConflictHit  # the same record, so hits compare equal
from reviewer.intake.model import Application, DeclarationKind, Expert, HistoryKind, RoundData
from reviewer.policy import Policy

RULES: dict[str, tuple[str, str]] = {
    "C1": ("任职回避", "works or worked for an applicant unit"),
    "C2": ("董监高/股东回避", "director, supervisor or controlling shareholder of an applicant unit"),
    "C3": ("利害关系回避", "personal relation or declared recusal"),
    "C4": ("同领域申报回避", "own unit applies in the same field"),
    "C5": ("主管部门人员回避", "staff of the supervising or recommending department"),
    "C6": ("申报单位提出不适宜", "named unsuitable by the applicant"),
    "C7": ("不可抽取", "credit ban or unavailable"),
    "C8": ("同单位限一人", "at most one expert per employer in a panel"),
    "C9": ("同城回避", "same city as the lead unit"),
}


def years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def within_window(end: dt.date | None, years: int, as_of: dt.date) -> bool:
    """A relation that ended on or after the date `years` before `as_of` is within the window;
    one still ongoing (no end date) always is. Ending exactly 3 years ago counts as within."""
    return end is None or end >= years_before(as_of, years)


def _norm(name: str | None) -> str:
    return "".join((name or "").split())


def _month(d: dt.date | None) -> str:
    return d.strftime("%Y-%m") if d else "至今 ongoing"


@dataclass
class ConflictSet:
    expert_ids: list[str]
    application_ids: list[str]
    hits: list[ConflictHit]
    employer_group: dict[str, int] = field(default_factory=dict)   # C8: expert id -> employer group
    employer_label: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._e = {e: i for i, e in enumerate(self.expert_ids)}
        self._a = {a: j for j, a in enumerate(self.application_ids)}
        self._by_pair: dict[tuple[str, str], list[ConflictHit]] = defaultdict(list)
        for h in self.hits:
            self._by_pair[(h.expert_id, h.application_id)].append(h)

    def pair(self, expert_id: str, application_id: str) -> list[ConflictHit]:
        return list(self._by_pair.get((expert_id, application_id), ()))

    def is_excluded(self, expert_id: str, application_id: str) -> bool:
        return any(h.excludes for h in self._by_pair.get((expert_id, application_id), ()))

    def excluded_matrix(self) -> np.ndarray:
        """bool[E, A]: pairs a hard, unwaived rule excludes."""
        m = np.zeros((len(self.expert_ids), len(self.application_ids)), dtype=bool)
        for h in self.hits:
            if h.excludes:
                m[self._e[h.expert_id], self._a[h.application_id]] = True
        return m

    def soft_matrix(self, penalties: dict[str, float]) -> np.ndarray:
        """float[E, A]: the sum of soft-rule penalties per pair (unwaived)."""
        m = np.zeros((len(self.expert_ids), len(self.application_ids)))
        for h in self.hits:
            if h.severity == "soft" and not h.waived:
                m[self._e[h.expert_id], self._a[h.application_id]] += penalties.get(h.rule, 0.0)
        return m

    def employer_groups(self) -> np.ndarray:
        """int[E]: experts with the same employer share a group id (C8)."""
        return np.array([self.employer_group[e] for e in self.expert_ids], dtype=np.int64)

    def table(self) -> pd.DataFrame:
        rows = [{"expert_id": h.expert_id, "application_id": h.application_id, "rule": h.rule,
                 "rule_zh": RULES[h.rule][0], "rule_en": RULES[h.rule][1], "severity": h.severity,
                 "excludes": h.excludes, "waived": h.waived, "waiver_reason": h.waiver_reason,
                 "evidence": h.evidence} for h in self.hits]
        cols = ["expert_id", "application_id", "rule", "rule_zh", "rule_en", "severity", "excludes",
                "waived", "waiver_reason", "evidence"]
        return pd.DataFrame(rows, columns=cols).sort_values(["application_id", "expert_id", "rule"],
                                                            ignore_index=True)

    def per_application(self, drawable: set[str] | None = None) -> pd.DataFrame:
        """Per application: how many experts are excluded and how many remain."""
        ex = self.excluded_matrix()
        pool = len(self.expert_ids)
        return pd.DataFrame({"application_id": self.application_ids,
                             "excluded_experts": ex.sum(axis=0),
                             "eligible_experts": pool - ex.sum(axis=0)})


class _Detector:
    """Builds the hits; one method per rule so each stays small and testable."""

    def __init__(self, data: RoundData, policy: Policy, as_of: dt.date | None = None):
        self.data, self.policy = data, policy
        self.c = policy.conflicts
        self.as_of = as_of or policy.as_of_date()
        self.hits: list[ConflictHit] = []
        self.apps_by_code: dict[str, list[Application]] = defaultdict(list)
        self.apps_by_name: dict[str, list[Application]] = defaultdict(list)
        self.apps_by_person: dict[str, list[tuple[Application, str]]] = defaultdict(list)
        self.apps_by_field: dict[str, list[Application]] = defaultdict(list)
        self.apps_by_city: dict[str, list[Application]] = defaultdict(list)
        for a in data.applications:
            self.apps_by_field[a.field].append(a)
            if a.recommending_city:
                self.apps_by_city[a.recommending_city].append(a)
            for code in a.unit_codes:
                self.apps_by_code[code].append(a)
            self.apps_by_name[_norm(a.lead_unit)].append(a)
            for m in a.members:
                self.apps_by_name[_norm(m.unit_name)].append(a)
            if a.legal_representative:
                self.apps_by_person[_norm(a.legal_representative)].append((a, "法定代表人 legal representative"))
            if a.centre_head:
                self.apps_by_person[_norm(a.centre_head)].append((a, "中心负责人 centre head"))

    def add(self, e: Expert, a: Application, rule: str, evidence: str, severity: str = "hard") -> None:
        self.hits.append(ConflictHit(e.expert_id, a.application_id, rule, severity, evidence))

    def units_of(self, code: str | None, name: str | None) -> list[Application]:
        if code:
            return self.apps_by_code.get(code, [])
        return self.apps_by_name.get(_norm(name), []) if name else []

    # C1 -------------------------------------------------------------------------------
    def employment(self, e: Expert) -> None:
        years = self.c.employment_window_years
        for a in self.units_of(e.employer_credit_code, e.employer):
            code = e.employer_credit_code or ""
            self.add(e, a, "C1", f"现任职于组建单位 works for {a.unit_name(code) if code else e.employer} {code}".strip())
        for h in e.history:
            if h.kind != HistoryKind.EMPLOYMENT or not within_window(h.end, years, self.as_of):
                continue
            for a in self.units_of(h.org_credit_code, h.org_name):
                self.add(e, a, "C1", f"曾任职于组建单位 worked for {h.org_name or ''} {h.org_credit_code or ''} "
                                     f"until {_month(h.end)}, within {years} years".replace("  ", " "))

    # C2 -------------------------------------------------------------------------------
    def board_roles(self, e: Expert) -> None:
        years = self.c.board_role_window_years
        for h in e.history:
            if h.kind not in (HistoryKind.BOARD, HistoryKind.SHAREHOLDER):
                continue
            if not within_window(h.end, years, self.as_of):
                continue
            for a in self.units_of(h.org_credit_code, h.org_name):
                self.add(e, a, "C2", f"{h.kind.value}{'(' + h.role + ')' if h.role else ''} of {h.org_name or h.org_credit_code} "
                                     f"until {_month(h.end)}, within {years} years")

    # C3 -------------------------------------------------------------------------------
    def relations(self, e: Expert) -> None:
        years = self.c.relation_window_years
        for h in e.history:
            if h.kind not in (HistoryKind.RELATIVE, HistoryKind.ADVISOR, HistoryKind.COOPERATION):
                continue
            if h.kind == HistoryKind.COOPERATION and not within_window(h.end, years, self.as_of):
                continue
            targets: dict[str, tuple[Application, str]] = {}
            if h.person:
                for a, role in self.apps_by_person.get(_norm(h.person), []):
                    # A name alone may be shared; when the record names the unit too, it must match.
                    if h.org_credit_code and h.org_credit_code not in a.unit_codes:
                        continue
                    targets[a.application_id] = (a, f"{h.kind.value} of {h.person} ({role})")
            if h.kind == HistoryKind.COOPERATION and (h.org_credit_code or h.org_name):
                for a in self.units_of(h.org_credit_code, h.org_name):
                    targets.setdefault(a.application_id, (a, f"合作 co-project/co-author with {h.org_name or h.org_credit_code}"))
            for a, what in targets.values():
                suffix = f" until {_month(h.end)}, within {years} years" if h.kind == HistoryKind.COOPERATION else ""
                self.add(e, a, "C3", what + suffix)

    # C4 -------------------------------------------------------------------------------
    def own_application(self, e: Expert) -> None:
        own = self.units_of(e.employer_credit_code, e.employer)
        for field_name in sorted({a.field for a in own}):
            mine = sorted(a.application_id for a in own if a.field == field_name)
            for a in self.apps_by_field[field_name]:
                if a.application_id in mine:
                    continue  # C1 covers the own application itself
                self.add(e, a, "C4", f"本人单位 {e.employer} 参与同领域({field_name})申报 {', '.join(mine)}")

    # C5 -------------------------------------------------------------------------------
    def department_staff(self, e: Expert) -> None:
        if e.department == "自治区":
            for a in self.data.applications:
                self.add(e, a, "C5", "自治区主管部门工作人员 staff of the supervising department")
        elif e.department:
            for a in self.apps_by_city.get(e.department, []):
                self.add(e, a, "C5", f"{e.department}市推荐部门工作人员 staff of the recommending city department")

    # C7 -------------------------------------------------------------------------------
    def not_drawable(self, e: Expert) -> None:
        if not e.drawable:
            for a in self.data.applications:
                self.add(e, a, "C7", f"专家状态 status: {e.status}")

    # C9 -------------------------------------------------------------------------------
    def same_city(self, e: Expert, apps_by_lead_city: dict[str, list[Application]]) -> None:
        severity = "hard" if self.c.same_city_hard else "soft"
        for a in apps_by_lead_city.get(e.city, []):
            self.add(e, a, self.c.same_city_rule, f"专家与牵头单位同在{e.city} same city as the lead unit", severity)

    # C3 / C6 declarations and waivers ----------------------------------------------------
    def declarations(self) -> None:
        experts = {e.expert_id: e for e in self.data.experts}
        apps = {a.application_id: a for a in self.data.applications}
        for d in self.data.declarations:
            e, a = experts.get(d.expert_id), apps.get(d.application_id)
            if e is None or a is None:
                continue
            if d.kind == DeclarationKind.UNSUITABLE:
                sev = "hard" if self.c.applicant_declared_hard else "soft"
                self.add(e, a, self.c.unsuitable_rule, f"申报单位提出不适宜 named unsuitable by the applicant"
                                     f"{': ' + d.reason if d.reason else ''}", sev)
            elif d.kind == DeclarationKind.RECUSAL:
                self.add(e, a, "C3", f"主动回避 declared recusal ({d.declared_by or '专家'})"
                                     f"{': ' + d.reason if d.reason else ''}")

    def apply_waivers(self) -> None:
        waivers = {(d.expert_id, d.application_id, d.rule): d for d in self.data.declarations
                   if d.kind == DeclarationKind.WAIVER and d.rule in self.c.waivable_rules}
        out = []
        for h in self.hits:
            w = waivers.get((h.expert_id, h.application_id, h.rule))
            if w is not None:
                h = ConflictHit(h.expert_id, h.application_id, h.rule, h.severity, h.evidence, True,
                                f"{w.reason} ({w.declared_by or '工作人员'}{', ' + w.date.isoformat() if w.date else ''})")
            out.append(h)
        self.hits = out

    def run(self) -> ConflictSet:
        by_lead_city: dict[str, list[Application]] = defaultdict(list)
        for a in self.data.applications:
            by_lead_city[a.lead_city].append(a)
        for e in self.data.experts:
            self.employment(e)
            self.board_roles(e)
            self.relations(e)
            self.own_application(e)
            self.department_staff(e)
            self.not_drawable(e)
            self.same_city(e, by_lead_city)
        self.declarations()
        # One hit per (pair, rule, evidence): the same fact found twice is one fact.
        self.hits = list(dict.fromkeys(self.hits))
        self.apply_waivers()
        groups: dict[str, int] = {}
        labels: dict[int, str] = {}
        employer_group = {}
        for e in self.data.experts:
            g = groups.setdefault(e.employer_key, len(groups))
            labels.setdefault(g, e.employer)
            employer_group[e.expert_id] = g
        return ConflictSet([e.expert_id for e in self.data.experts],
                           [a.application_id for a in self.data.applications], self.hits, employer_group, labels)


def detect_conflicts(data: RoundData, policy: Policy, as_of: dt.date | None = None) -> ConflictSet:
    """Every conflict hit of the round, with rule ids, evidence, severity and waivers applied."""
    return _Detector(data, policy, as_of).run()
