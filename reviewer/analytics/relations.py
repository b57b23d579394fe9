"""Expert-application relations for the relation-bias audit (issue 18 part 1).

Hard conflicts keep an expert off a panel; what remains on a panel may still carry a relation that
could bend a score. One row per (expert, application, relation) with a domain name for each kind:

* every hit of the conflict detector (:mod:`reviewer.conflicts.detector`): the soft ones (C9 同城,
  C6 when soft) and any hard one that staff waived (``C6 waived`` ...) — named by the rule id;
* ``expired_C1`` / ``expired_C2`` / ``expired_C3`` — employment, a board role or a co-project with an
  applicant unit that ended *before* the rule's window (so the detector does not count it), from
  the expert's history;
* ``member_city`` — the expert lives in the city of a member unit (not the lead unit's city, which
  is C9).

Nothing here excludes anyone: these are the labels the audit compares scores across.
"""
from __future__ import annotations

from collections import defaultdict

import pandas as pd

from reviewer.conflicts.detector import RULES, ConflictSet, within_window
from reviewer.intake.model import HistoryKind, RoundData
from reviewer.policy import Policy

__all__ = ["RELATION_COLUMNS", "RELATION_NAMES", "round_relations"]

RELATION_COLUMNS = ["expert_id", "application_id", "relation", "relation_zh", "evidence"]
RELATION_NAMES: dict[str, str] = {
    **{rule: zh for rule, (zh, _en) in RULES.items()},
    "expired_C1": "曾任职(已过回避期)",
    "expired_C2": "曾任董监高/股东(已过回避期)",
    "expired_C3": "曾合作(已过回避期)",
    "member_city": "与成员单位同城",
}
_EXPIRED_KIND = {HistoryKind.EMPLOYMENT: "expired_C1", HistoryKind.BOARD: "expired_C2",
                 HistoryKind.SHAREHOLDER: "expired_C2", HistoryKind.COOPERATION: "expired_C3"}


def relation_name(relation: str) -> str:
    """Chinese name of a relation label (a rule id, a derived relation, or the label itself)."""
    base = relation.split(" ")[0]
    zh = RELATION_NAMES.get(base, relation)
    return zh + ("(已豁免)" if relation.endswith(" waived") else "")


def _detector_rows(cs: ConflictSet) -> list[dict]:
    """Soft hits, and hard hits staff waived: the detector's relations that can sit on a panel."""
    rows = []
    # only these hits become records (a round's hits are columns; most are hard and unwaived)
    for h in cs.hits_at((cs.soft_mask() | cs.waived_mask()).nonzero()[0]):
        if h.severity == "soft" or h.waived:
            label = h.rule if h.severity == "soft" else f"{h.rule} waived"
            rows.append(dict(expert_id=h.expert_id, application_id=h.application_id, relation=label,
                             relation_zh=relation_name(label), evidence=h.evidence))
    return rows


def _window(policy: Policy, kind: HistoryKind) -> int:
    c = policy.conflicts
    if kind == HistoryKind.EMPLOYMENT:
        return c.employment_window_years
    if kind in (HistoryKind.BOARD, HistoryKind.SHAREHOLDER):
        return c.board_role_window_years
    return c.relation_window_years


def _expired_rows(data: RoundData, policy: Policy) -> list[dict]:
    """History with an applicant unit that ended before its rule's window (not a conflict any more)."""
    as_of = policy.as_of_date()
    by_code: dict[str, list[str]] = defaultdict(list)
    by_name: dict[str, list[str]] = defaultdict(list)
    for a in data.applications:
        for code in a.unit_codes:
            by_code[code].append(a.application_id)
        by_name["".join(a.lead_unit.split())].append(a.application_id)
        for m in a.members:
            by_name["".join(m.unit_name.split())].append(a.application_id)
    rows = []
    for e in data.experts:
        for h in e.history:
            label = _EXPIRED_KIND.get(h.kind)
            if label is None or h.end is None or within_window(h.end, _window(policy, h.kind), as_of):
                continue
            apps = by_code.get(h.org_credit_code or "", []) or by_name.get("".join((h.org_name or "").split()), [])
            for app_id in dict.fromkeys(apps):
                rows.append(dict(expert_id=e.expert_id, application_id=app_id, relation=label,
                                 relation_zh=RELATION_NAMES[label],
                                 evidence=f"{h.kind.value} {h.org_name or h.org_credit_code} 止于 until {h.end.isoformat()}"))
    return rows


def _member_city_rows(data: RoundData) -> list[dict]:
    """Expert in the city of a member unit, where that is not the lead unit's city (C9 covers that)."""
    rows = []
    by_city: dict[str, list] = defaultdict(list)
    for a in data.applications:
        for city in sorted({m.city for m in a.members if m.city and m.city != a.lead_city}):
            by_city[city].append(a)
    for e in data.experts:
        for a in by_city.get(e.city, []):
            rows.append(dict(expert_id=e.expert_id, application_id=a.application_id, relation="member_city",
                             relation_zh=RELATION_NAMES["member_city"],
                             evidence=f"专家与成员单位同在{e.city} same city as a member unit"))
    return rows


def round_relations(data: RoundData, policy: Policy, conflicts: ConflictSet) -> pd.DataFrame:
    """Every relation of the round that may sit on a panel (see the module doc), one row per
    (expert, application, relation)."""
    rows = _detector_rows(conflicts) + _expired_rows(data, policy) + _member_city_rows(data)
    df = pd.DataFrame(rows, columns=RELATION_COLUMNS)
    return df.drop_duplicates(["expert_id", "application_id", "relation"]).sort_values(
        ["relation", "application_id", "expert_id"], ignore_index=True)
