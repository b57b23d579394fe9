"""Conflict rules C1..C9 evaluated over the whole round at once (SPEC §4), by joins on keys.

Each rule is one function that returns the rule's hits as arrays (`Part`): for every expert-side
record (an employer, a history record, a department, a city, a status) the applications it meets,
found through an index from a key (unit credit code, unit name, person, field, city) to the
applications that carry it. The cost grows with the number of records and of hits, never with
experts x applications, and no Python object is made per hit: the rules that hit whole rows of
the grid (C5 supervising staff, C7 not drawable, C9 same city) are array expansions.

Order keys: `major` (expert, rule step, history record) and `minor` (place in the index's list)
put the hits in the order a pair-by-pair reading reports them (by expert: C1 current, C1 past, C2,
C3, C4, C5, C7, C9; then the declarations), so `pair()` lists a pair's hits in that order.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from reviewer.conflicts.basics import RULE_IDS, Interner, month, norm, within_window
from reviewer.intake.model import DeclarationKind, HistoryKind, RoundData
from reviewer.policy import Policy

# Rule steps within one expert, in the order a pair-by-pair reading reports them.
STEP_C1_NOW, STEP_C1_PAST, STEP_C2, STEP_C3, STEP_C4, STEP_C5, STEP_C7, STEP_C9 = range(8)
_RULE = {r: np.int8(k) for k, r in enumerate(RULE_IDS)}
_I32 = np.int32


def major_key(block: int | np.ndarray, owner: np.ndarray, step: int, record: np.ndarray | int) -> np.ndarray:
    """(block: 0 rules, 1 declarations; expert or declaration number; step; history record) as one int64."""
    return ((np.int64(block) * 2**31 + np.asarray(owner, dtype=np.int64)) * 8 + step) * 2**20 + record


@dataclass
class Part:
    """One rule's hits as arrays, with their order keys."""
    e: np.ndarray
    a: np.ndarray
    rule: np.ndarray
    hard: np.ndarray
    ev: np.ndarray
    major: np.ndarray
    minor: np.ndarray


def part(e, a, rule: str, hard: bool | np.ndarray, ev, major, minor) -> Part:
    n = len(e)
    return Part(np.asarray(e, dtype=_I32), np.asarray(a, dtype=_I32), np.full(n, _RULE[rule], dtype=np.int8),
                np.broadcast_to(np.asarray(hard, dtype=bool), (n,)).copy(),
                np.broadcast_to(np.asarray(ev, dtype=_I32), (n,)).copy(),
                np.broadcast_to(np.asarray(major, dtype=np.int64), (n,)).copy(),
                np.broadcast_to(np.asarray(minor, dtype=np.int64), (n,)).copy())


class KeyIndex:
    """key -> the applications that carry it, in round order (a list per key, as compressed rows)."""

    def __init__(self, keys: list[str], apps: list[int], payload: list[int] | None = None):
        self.ids: dict[str, int] = {}
        kid = np.array([self.ids.setdefault(k, len(self.ids)) for k in keys], dtype=np.int64)
        order = np.argsort(kid, kind="stable")
        self.app = np.asarray(apps, dtype=_I32)[order]
        self.payload = np.asarray(payload if payload is not None else [0] * len(keys), dtype=_I32)[order]
        counts = np.bincount(kid, minlength=len(self.ids)) if len(kid) else np.zeros(0, dtype=np.int64)
        self.count = np.append(counts, 0)                                    # key -1 (absent): nothing
        self.start = np.append(np.concatenate(([0], np.cumsum(counts)[:-1])) if len(counts) else [], 0)
        self.start = self.start.astype(np.int64)

    def key(self, k: str | None) -> int:
        return self.ids.get(k, -1) if k is not None else -1

    def expand(self, query_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For query q with key k: one row per application in k's list.
        Returns (query number, entry number, place in the list)."""
        qk = np.asarray(query_keys, dtype=np.int64)
        n = self.count[qk]
        q = np.repeat(np.arange(len(qk)), n)
        first = np.repeat(np.cumsum(n) - n, n)
        place = np.arange(len(q)) - first
        return q, self.start[qk][q] + place, place


class Indexes:
    """The round's application-side keys: unit credit code, unit name, person, field, lead city,
    recommending city."""

    def __init__(self, data: RoundData, texts: Interner):
        apps = data.applications
        code_keys, code_apps, code_ev = [], [], []
        name_keys, name_apps = [], []
        person_keys, person_apps, person_role = [], [], []
        for j, a in enumerate(apps):
            for code in a.unit_codes:
                code_keys.append(code)
                code_apps.append(j)
                # C1 evidence names the unit as the application lists it under that code
                code_ev.append(texts(f"现任职于组建单位 works for {a.unit_name(code)} {code}".strip()))
            for name in (a.lead_unit, *(m.unit_name for m in a.members)):
                name_keys.append(norm(name))
                name_apps.append(j)
            rep, head = a.legal_representative, a.centre_head
            if rep and head and norm(rep) == norm(head):
                # one person in both roles: one target, named by the later role (centre head)
                person_keys.append(norm(head))
                person_apps.append(j)
                person_role.append(1)
                continue
            for who, role in ((rep, 0), (head, 1)):
                if who:
                    person_keys.append(norm(who))
                    person_apps.append(j)
                    person_role.append(role)
        n = len(apps)
        self.n_apps = n
        self.by_code = KeyIndex(code_keys, code_apps, code_ev)
        self.by_name = KeyIndex(name_keys, name_apps)
        self.by_person = KeyIndex(person_keys, person_apps, person_role)
        self.by_field = KeyIndex([a.field for a in apps], list(range(n)))
        self.by_lead_city = KeyIndex([a.lead_city for a in apps], list(range(n)))
        rec = [(a.recommending_city, j) for j, a in enumerate(apps) if a.recommending_city]
        self.by_rec_city = KeyIndex([c for c, _ in rec], [j for _, j in rec])
        # (code, application) pairs: "does this application list this unit code"
        self.code_app = np.unique(self.by_code.app.astype(np.int64)
                                  + n * np.repeat(np.arange(len(self.by_code.ids)), self.by_code.count[:-1]))

    def units_of(self, codes: list[str | None], names: list[str | None]):
        """Per query (a code, else a name): the applications with that unit. A query with a code is
        matched by code only (names differ in spelling; codes do not). Returns (query, app, place,
        code entry or -1)."""
        code_q = [i for i, c in enumerate(codes) if c]
        name_q = [i for i, c in enumerate(codes) if not c and names[i]]
        q1, ent1, pl1 = self.by_code.expand(np.array([self.by_code.key(codes[i]) for i in code_q], dtype=np.int64))
        q2, ent2, pl2 = self.by_name.expand(np.array([self.by_name.key(norm(names[i])) for i in name_q],
                                                     dtype=np.int64))
        q = np.concatenate((np.asarray(code_q, dtype=np.int64)[q1], np.asarray(name_q, dtype=np.int64)[q2]))
        app = np.concatenate((self.by_code.app[ent1], self.by_name.app[ent2]))
        ent = np.concatenate((ent1, np.full(len(ent2), -1, dtype=np.int64)))
        return q, app, np.concatenate((pl1, pl2)), ent


class Experts:
    """The pool's side of the joins: experts, and their history records flattened (record r belongs
    to expert `rec_expert[r]` and is its `rec_place[r]`-th record)."""

    def __init__(self, data: RoundData):
        self.experts = list(data.experts)
        self.records = [h for e in self.experts for h in e.history]
        self.rec_expert = np.array([i for i, e in enumerate(self.experts) for _ in e.history], dtype=np.int64)
        self.rec_place = np.array([k for e in self.experts for k in range(len(e.history))], dtype=np.int64)
        if len(self.rec_place) and self.rec_place.max() >= 2**20:
            raise ValueError("专家履历记录过多 an expert has more than 1,048,575 history records")


def employer_units(ix: Indexes, ex: Experts):
    """Every expert's own units' applications (C1 now, C4): (expert, app, place, code entry)."""
    return ix.units_of([e.employer_credit_code for e in ex.experts], [e.employer for e in ex.experts])


def c1_now(ix: Indexes, ex: Experts, texts: Interner, own) -> Part:
    """C1 (任职回避): the expert works for the lead or a member unit now, by credit code, else by name."""
    q, app, place, ent = own
    # without a credit code the expert's own spelling of the employer is the evidence
    by_name = np.array([texts(f"现任职于组建单位 works for {e.employer}") if not e.employer_credit_code else -1
                        for e in ex.experts], dtype=_I32)
    ev = np.where(ent >= 0, ix.by_code.payload[np.maximum(ent, 0)], by_name[q] if len(q) else by_name[:0])
    return part(q, app, "C1", True, ev, major_key(0, q, STEP_C1_NOW, 0), place)


def _history_units(ix: Indexes, ex: Experts, rows: list[int]):
    recs = [ex.records[r] for r in rows]
    q, app, place, _ = ix.units_of([h.org_credit_code for h in recs], [h.org_name for h in recs])
    return np.asarray(rows, dtype=np.int64)[q], app, place


def c1_past(ix: Indexes, ex: Experts, texts: Interner, years: int, as_of: dt.date) -> Part:
    """C1: the expert worked for an applicant unit within the employment window (ended on or after
    the date `years` before the reference date, or still ongoing)."""
    rows = [r for r, h in enumerate(ex.records)
            if h.kind == HistoryKind.EMPLOYMENT and within_window(h.end, years, as_of)]
    ev = {r: texts(f"曾任职于组建单位 worked for {ex.records[r].org_name or ''} {ex.records[r].org_credit_code or ''} "
                   f"until {month(ex.records[r].end)}, within {years} years".replace("  ", " ")) for r in rows}
    rec, app, place = _history_units(ix, ex, rows)
    evs = np.array([ev[r] for r in rec.tolist()], dtype=_I32)
    return part(ex.rec_expert[rec], app, "C1", True, evs,
                major_key(0, ex.rec_expert[rec], STEP_C1_PAST, ex.rec_place[rec]), place)


def c2(ix: Indexes, ex: Experts, texts: Interner, years: int, as_of: dt.date) -> Part:
    """C2 (董监高/股东回避): director, supervisor, officer or shareholder of an applicant unit within
    the board-role window."""
    rows = [r for r, h in enumerate(ex.records)
            if h.kind in (HistoryKind.BOARD, HistoryKind.SHAREHOLDER) and within_window(h.end, years, as_of)]
    ev = {}
    for r in rows:
        h = ex.records[r]
        ev[r] = texts(f"{h.kind.value}{'(' + h.role + ')' if h.role else ''} of {h.org_name or h.org_credit_code} "
                      f"until {month(h.end)}, within {years} years")
    rec, app, place = _history_units(ix, ex, rows)
    evs = np.array([ev[r] for r in rec.tolist()], dtype=_I32)
    return part(ex.rec_expert[rec], app, "C2", True, evs,
                major_key(0, ex.rec_expert[rec], STEP_C2, ex.rec_place[rec]), place)


_ROLES = ("法定代表人 legal representative", "中心负责人 centre head")


def c3(ix: Indexes, ex: Experts, texts: Interner, years: int, as_of: dt.date) -> Part:
    """Relatives, advisors/students (no window) and co-projects/co-authors (within the window):
    the person's applications (as legal representative or centre head; when the record names the
    unit too, the application must list it), and for a co-project the unit's applications. One hit
    per record and application: a person target wins over the same application found by unit."""
    coop = HistoryKind.COOPERATION
    rows = [r for r, h in enumerate(ex.records)
            if h.kind in (HistoryKind.RELATIVE, HistoryKind.ADVISOR, coop)
            and (h.kind != coop or within_window(h.end, years, as_of))]
    recs = [ex.records[r] for r in rows]
    n = ix.n_apps
    suffix = [f" until {month(h.end)}, within {years} years" if h.kind == coop else "" for h in recs]
    # by person
    pq = [k for k, h in enumerate(recs) if h.person]
    q, ent, place1 = ix.by_person.expand(np.array([ix.by_person.key(norm(recs[k].person)) for k in pq],
                                                  dtype=np.int64))
    q1 = np.asarray(pq, dtype=np.int64)[q]
    app1 = ix.by_person.app[ent]
    code_id = np.array([ix.by_code.key(h.org_credit_code) if h.org_credit_code else -2 for h in recs], dtype=np.int64)
    cq = code_id[q1] if len(q1) else code_id[:0]
    keep = (cq == -2) | np.isin(cq * n + app1, ix.code_app) & (cq >= 0)
    q1, app1, place1, role = q1[keep], app1[keep], place1[keep], ix.by_person.payload[ent][keep]
    ev_person = np.array([[texts(f"{h.kind.value} of {h.person} ({_ROLES[k]})" + s) if h.person else -1
                           for k in (0, 1)] for h, s in zip(recs, suffix)], dtype=_I32).reshape(-1, 2)
    ev1 = ev_person[q1, role] if len(q1) else np.zeros(0, dtype=_I32)
    # by unit (co-projects)
    uq = [k for k, h in enumerate(recs) if h.kind == coop and (h.org_credit_code or h.org_name)]
    qu, app2, place2, _ = ix.units_of([recs[k].org_credit_code for k in uq], [recs[k].org_name for k in uq])
    q2 = np.asarray(uq, dtype=np.int64)[qu]
    ev_unit = {k: texts(f"合作 co-project/co-author with {recs[k].org_name or recs[k].org_credit_code}" + suffix[k])
               for k in uq}
    ev2 = np.array([ev_unit[k] for k in q2.tolist()], dtype=_I32)
    # one hit per (record, application): the first found, persons before units
    qq, app = np.concatenate((q1, q2)), np.concatenate((app1, app2)).astype(np.int64)
    src = np.concatenate((np.zeros(len(q1), dtype=np.int64), np.ones(len(q2), dtype=np.int64)))
    place, ev = np.concatenate((place1, place2)), np.concatenate((ev1, ev2))
    order = np.lexsort((place, src, qq))
    _, first = np.unique((qq * n + app)[order], return_index=True)
    k = order[np.sort(first)]
    r = np.asarray(rows, dtype=np.int64)[qq[k]]
    return part(ex.rec_expert[r], app[k], "C3", True, ev[k],
                major_key(0, ex.rec_expert[r], STEP_C3, ex.rec_place[r]), src[k] * 2**32 + place[k])


def c4(ix: Indexes, ex: Experts, data: RoundData, texts: Interner, own) -> Part:
    """The expert's own unit applies in a field: every other application of that field."""
    q, app, _, _ = own
    apps = data.applications
    mine: dict[tuple[int, str], list[str]] = {}
    for i, j in zip(q.tolist(), app.tolist()):
        mine.setdefault((i, apps[j].field), []).append(apps[j].application_id)
    combos = sorted(mine)                       # by expert, then field name (the order of the reading)
    rank: dict[tuple[int, str], int] = {}
    seen: dict[int, int] = {}
    for i, f in combos:
        rank[(i, f)] = seen[i] = seen.get(i, -1) + 1
    ce = np.array([i for i, _ in combos], dtype=np.int64)
    cr = np.array([rank[c] for c in combos], dtype=np.int64)
    cev = np.array([texts(f"本人单位 {ex.experts[i].employer} 参与同领域({f})申报 {', '.join(sorted(mine[(i, f)]))}")
                    for i, f in combos], dtype=_I32)
    k, ent, place = ix.by_field.expand(np.array([ix.by_field.key(f) for _, f in combos], dtype=np.int64))
    e, a = ce[k], ix.by_field.app[ent]
    n = ix.n_apps
    keep = ~np.isin(e * n + a, q * n + app)     # the own applications themselves are C1's
    e, a, k, place = e[keep], a[keep], k[keep], place[keep]
    return part(e, a, "C4", True, cev[k], major_key(0, e, STEP_C4, cr[k]), place)


def _whole_rows(rows: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every application for each expert in `rows`: (expert, application), expert-major."""
    r = np.asarray(rows, dtype=np.int64)
    return np.repeat(r, n), np.tile(np.arange(n, dtype=np.int64), len(r))


def c5(ix: Indexes, ex: Experts, texts: Interner) -> list[Part]:
    """Supervising-department staff (自治区): every application; a city department's staff: the
    applications that city recommends."""
    n = ix.n_apps
    region = [i for i, e in enumerate(ex.experts) if e.department == "自治区"]
    e1, a1 = _whole_rows(region, n)
    p1 = part(e1, a1, "C5", True, texts("自治区主管部门工作人员 staff of the supervising department"),
              major_key(0, e1, STEP_C5, 0), a1)
    city = [i for i, e in enumerate(ex.experts) if e.department and e.department != "自治区"]
    q, ent, place = ix.by_rec_city.expand(np.array([ix.by_rec_city.key(ex.experts[i].department) for i in city],
                                                   dtype=np.int64))
    e2 = np.asarray(city, dtype=np.int64)[q]
    ev = np.array([texts(f"{ex.experts[i].department}市推荐部门工作人员 staff of the recommending city department")
                   for i in city], dtype=_I32)
    return [p1, part(e2, ix.by_rec_city.app[ent], "C5", True, ev[q] if len(q) else ev[:0],
                     major_key(0, e2, STEP_C5, 0), place)]


def c7(ix: Indexes, ex: Experts, texts: Interner) -> Part:
    """C7 (不可抽取): an expert under a credit ban or marked unavailable is kept off every application."""
    rows = [i for i, e in enumerate(ex.experts) if not e.drawable]
    ev = np.array([texts(f"专家状态 status: {ex.experts[i].status}") for i in rows], dtype=_I32)
    e, a = _whole_rows(rows, ix.n_apps)
    return part(e, a, "C7", True, np.repeat(ev, ix.n_apps), major_key(0, e, STEP_C7, 0), a)


def c9(ix: Indexes, ex: Experts, texts: Interner, policy: Policy) -> Part:
    """C9 (同城回避): the expert lives in the lead unit's city; soft by default (a penalty in the
    planner's objective), hard when the policy says so; its rule id is the policy's same_city_rule."""
    c = policy.conflicts
    q, ent, place = ix.by_lead_city.expand(np.array([ix.by_lead_city.key(e.city) for e in ex.experts],
                                                    dtype=np.int64))
    ev = np.array([texts(f"专家与牵头单位同在{e.city} same city as the lead unit") for e in ex.experts], dtype=_I32)
    return part(q, ix.by_lead_city.app[ent], c.same_city_rule, c.same_city_hard, ev[q] if len(q) else ev[:0],
                major_key(0, q, STEP_C9, 0), place)


def declared(data: RoundData, policy: Policy, texts: Interner) -> Part:
    """C6 named unsuitable by the applicant, C3 declared recusal: one hit per declaration, after
    every rule's hits, in the file's order."""
    c = policy.conflicts
    ei = {e.expert_id: i for i, e in enumerate(data.experts)}
    ai = {a.application_id: j for j, a in enumerate(data.applications)}
    rows: list[tuple[int, int, int, bool, int, int]] = []
    for k, d in enumerate(data.declarations):
        i, j = ei.get(d.expert_id), ai.get(d.application_id)
        if i is None or j is None:
            continue
        reason = f"{': ' + d.reason if d.reason else ''}"
        if d.kind == DeclarationKind.UNSUITABLE:
            rows.append((i, j, _RULE[c.unsuitable_rule], c.applicant_declared_hard,
                         texts(f"申报单位提出不适宜 named unsuitable by the applicant{reason}"), k))
        elif d.kind == DeclarationKind.RECUSAL:
            rows.append((i, j, _RULE["C3"], True, texts(f"主动回避 declared recusal ({d.declared_by or '专家'}){reason}"), k))
    e, a, rule, hard, ev, k = (list(col) for col in zip(*rows)) if rows else ([], [], [], [], [], [])
    return Part(np.array(e, dtype=_I32), np.array(a, dtype=_I32), np.array(rule, dtype=np.int8),
                np.array(hard, dtype=bool), np.array(ev, dtype=_I32),
                major_key(1, np.array(k, dtype=np.int64), 0, 0), np.zeros(len(rows), dtype=np.int64))
