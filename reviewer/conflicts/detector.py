"""Conflicts of interest (回避, SPEC §4).

Every excluded expert-application pair records the rule(s) that excluded it and the evidence,
so staff can see why an expert was not drawn. Rules C1..C9:

C1 employment at the lead or a member unit now or within the window (by credit code, else name);
C2 director/supervisor/officer or controlling shareholder of an applicant unit within the window;
C3 declared personal relations (relative of the legal representative or centre head;
   advisor/student; co-project/co-author within the window) and the expert's own recusal;
C4 the expert's own unit applies in the same field this round;
C5 staff of the supervising department (自治区) or of the recommending city's department;
C6 named unsuitable by the applicant (hard by default; staff may waive with a reason);
C7 expert under a credit ban or marked unavailable (never drawn);
C8 at most one expert per employer in a panel (a panel rule: exposed as employer groups);
C9 same city as the lead unit (soft by default).

The two rules that may be soft are identified by the policy ([conflicts] unsuitable_rule = "C6",
same_city_rule = "C9"), which the planner reads too (`Conflicts.soft_penalties`).

The rules are evaluated over the whole round at once (`rules`: joins from the experts' records to
indexes of the applications' keys, array expansions for the whole-row rules), and the hits are kept
as columns (`columns.ConflictSet`), so 1 M expert-application pairs take well under a second and a
million hits a few tens of megabytes. The hits, their order and their evidence are those of the
pair-by-pair reading (kept as the test oracle `tests/conflicts_oracle.py`).
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from reviewer.conflicts import rules as r
from reviewer.conflicts.basics import (RULE_IDS, RULES, ConflictHit, Interner, years_before,  # noqa: F401
                                       within_window)
from reviewer.conflicts.columns import ConflictSet, HitColumns  # noqa: F401
from reviewer.intake.model import DeclarationKind, RoundData
from reviewer.policy import Policy

__all__ = ["RULES", "ConflictHit", "ConflictSet", "detect_conflicts", "within_window", "years_before"]


def _collect(data: RoundData, policy: Policy, as_of: dt.date, texts: Interner) -> list[r.Part]:
    c = policy.conflicts
    ix, ex = r.Indexes(data, texts), r.Experts(data)
    own = r.employer_units(ix, ex)
    return [r.c1_now(ix, ex, texts, own),
            r.c1_past(ix, ex, texts, c.employment_window_years, as_of),
            r.c2(ix, ex, texts, c.board_role_window_years, as_of),
            r.c3(ix, ex, texts, c.relation_window_years, as_of),
            r.c4(ix, ex, data, texts, own),
            *r.c5(ix, ex, texts),
            r.c7(ix, ex, texts),
            r.c9(ix, ex, texts, policy),
            r.declared(data, policy, texts)]


def _ordered_unique(parts: list[r.Part]) -> tuple[np.ndarray, ...]:
    """The hits in reading order, one per (pair, rule, severity, evidence): the same fact found
    twice (a unit listed twice, a record repeated) is one fact, reported where first found."""
    cat = [np.concatenate([getattr(p, f) for p in parts]) for f in ("e", "a", "rule", "hard", "ev", "major", "minor")]
    e, a, rule, hard, ev, major, minor = cat
    order = np.lexsort((minor, major))
    e, a, rule, hard, ev = e[order], a[order], rule[order], hard[order], ev[order]
    what = ((e.astype(np.int64) * (a.max(initial=0) + 1) + a) * len(RULE_IDS) + rule) * 2 + hard
    pos = np.arange(len(e))
    s = np.lexsort((pos, ev, what))
    dup = np.zeros(len(e), dtype=bool)
    dup[1:] = (what[s][1:] == what[s][:-1]) & (ev[s][1:] == ev[s][:-1])
    keep = np.sort(s[~dup])
    return e[keep], a[keep], rule[keep], hard[keep], ev[keep]


def _waivers(data: RoundData, policy: Policy, e: np.ndarray, a: np.ndarray, rule: np.ndarray,
             texts: Interner) -> tuple[np.ndarray, np.ndarray]:
    """Staff waivers of a waivable rule on a pair (the last one recorded counts): (waived, reason)."""
    ei = {x.expert_id: i for i, x in enumerate(data.experts)}
    ai = {x.application_id: j for j, x in enumerate(data.applications)}
    rule_ix = {x: k for k, x in enumerate(RULE_IDS)}
    n, nr = max(len(ai), 1), len(RULE_IDS)
    by_key: dict[int, int] = {}
    for d in data.declarations:
        if d.kind != DeclarationKind.WAIVER or d.rule not in policy.conflicts.waivable_rules:
            continue
        i, j = ei.get(d.expert_id), ai.get(d.application_id)
        if i is None or j is None:
            continue     # a waiver of a pair outside the round waives nothing here
        by_key[(i * n + j) * nr + rule_ix[d.rule]] = texts(
            f"{d.reason} ({d.declared_by or '工作人员'}{', ' + d.date.isoformat() if d.date else ''})")
    reason = np.full(len(e), -1, dtype=np.int32)
    if by_key:
        keys = np.fromiter(by_key, dtype=np.int64, count=len(by_key))
        vals = np.fromiter(by_key.values(), dtype=np.int32, count=len(by_key))
        srt = np.argsort(keys)
        keys, vals = keys[srt], vals[srt]
        hk = (e.astype(np.int64) * n + a) * nr + rule
        at = np.minimum(np.searchsorted(keys, hk), len(keys) - 1)
        hit = keys[at] == hk
        reason[hit] = vals[at[hit]]
    return reason >= 0, reason


def detect_conflicts(data: RoundData, policy: Policy, as_of: dt.date | None = None) -> ConflictSet:
    """Every conflict hit of the round, with rule ids, evidence, severity and waivers applied."""
    as_of = as_of or policy.as_of_date()
    texts = Interner()
    e, a, rule, hard, ev = _ordered_unique(_collect(data, policy, as_of, texts))
    waived, reason = _waivers(data, policy, e, a, rule, texts)
    groups: dict[str, int] = {}
    labels: dict[int, str] = {}
    employer_group = {}
    for x in data.experts:
        g = groups.setdefault(x.employer_key, len(groups))
        labels.setdefault(g, x.employer)
        employer_group[x.expert_id] = g
    return ConflictSet([x.expert_id for x in data.experts], [x.application_id for x in data.applications],
                       HitColumns(e, a, rule, hard, ev, waived, reason, texts.texts), employer_group, labels)
