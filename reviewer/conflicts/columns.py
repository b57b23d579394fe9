"""The round's conflict hits as columns (one numpy array per field), not one Python object per hit:
a round of 1 M expert-application pairs can have a million hits (every pair in one city is a C9 hit),
and a million small objects cost seconds and over a gigabyte. `ConflictHit` records are made only
for what a caller asks for (one pair, a selection, or all of `hits`)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reviewer.conflicts.basics import RULE_IDS, RULES, ConflictHit, Interner

_SEVERITY = np.array(["soft", "hard"], dtype=object)   # shared texts: no new string per hit
TABLE_COLUMNS = ["expert_id", "application_id", "rule", "rule_zh", "rule_en", "severity", "excludes",
                 "waived", "waiver_reason", "evidence"]


@dataclass(eq=False)   # arrays: compare hits with `hits`, not the containers
class HitColumns:
    """Hit k: expert index `e[k]`, application index `a[k]`, rule RULE_IDS[rule[k]], hard or soft,
    evidence texts[ev[k]], waived, waiver reason texts[reason[k]] (-1: none). Hits are in the order
    the rules report them (by expert, rule, history record, then application; declarations last)."""
    e: np.ndarray
    a: np.ndarray
    rule: np.ndarray
    hard: np.ndarray
    ev: np.ndarray
    waived: np.ndarray
    reason: np.ndarray
    texts: list[str]

    @classmethod
    def empty(cls) -> "HitColumns":
        z = np.zeros(0, dtype=np.int32)
        return cls(z, z, np.zeros(0, dtype=np.int8), np.zeros(0, dtype=bool), z, np.zeros(0, dtype=bool), z, [])

    def __len__(self) -> int:
        return len(self.e)


@dataclass(eq=False)
class ConflictSet:
    expert_ids: list[str]
    application_ids: list[str]
    columns: HitColumns
    employer_group: dict[str, int] = field(default_factory=dict)   # C8: expert id -> employer group
    employer_label: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._e = {e: i for i, e in enumerate(self.expert_ids)}
        self._a = {a: j for j, a in enumerate(self.application_ids)}
        self._hits: list[ConflictHit] | None = None
        self._pair: tuple[np.ndarray, np.ndarray] | None = None   # pair-sorted hit numbers, their keys

    @classmethod
    def from_hits(cls, expert_ids: list[str], application_ids: list[str], hits: Iterable[ConflictHit],
                  employer_group: dict[str, int] | None = None,
                  employer_label: dict[int, str] | None = None) -> "ConflictSet":
        """A set from hit records (tests, and hits made elsewhere); ids must be in the lists."""
        hits = list(hits)
        texts = Interner()
        ei = {e: i for i, e in enumerate(expert_ids)}
        ai = {a: j for j, a in enumerate(application_ids)}
        rule_ix = {r: k for k, r in enumerate(RULE_IDS)}
        cols = HitColumns(
            np.array([ei[h.expert_id] for h in hits], dtype=np.int32),
            np.array([ai[h.application_id] for h in hits], dtype=np.int32),
            np.array([rule_ix[h.rule] for h in hits], dtype=np.int8),
            np.array([h.severity == "hard" for h in hits], dtype=bool),
            np.array([texts(h.evidence) for h in hits], dtype=np.int32),
            np.array([h.waived for h in hits], dtype=bool),
            np.array([texts(h.waiver_reason) if h.waived else -1 for h in hits], dtype=np.int32), texts.texts)
        return cls(list(expert_ids), list(application_ids), cols, dict(employer_group or {}),
                   dict(employer_label or {}))

    # hit records, made on demand ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self.columns)

    def hits_at(self, rows: np.ndarray | Iterable[int]) -> list[ConflictHit]:
        c = self.columns
        out = []
        for k in np.asarray(rows, dtype=np.int64).tolist():
            r = int(c.reason[k])
            out.append(ConflictHit(self.expert_ids[c.e[k]], self.application_ids[c.a[k]], RULE_IDS[c.rule[k]],
                                   "hard" if c.hard[k] else "soft", c.texts[c.ev[k]], bool(c.waived[k]),
                                   c.texts[r] if r >= 0 else ""))
        return out

    @property
    def hits(self) -> list[ConflictHit]:
        """Every hit as a record (made once, on first use; callers that need a subset use
        `hits_at(mask.nonzero()[0])` or `pair`)."""
        if self._hits is None:
            self._hits = self.hits_at(np.arange(len(self.columns)))
        return self._hits

    def excludes_mask(self) -> np.ndarray:
        return self.columns.hard & ~self.columns.waived

    def soft_mask(self) -> np.ndarray:
        return ~self.columns.hard

    def waived_mask(self) -> np.ndarray:
        return self.columns.waived

    def _pair_index(self) -> tuple[np.ndarray, np.ndarray]:
        if self._pair is None:
            keys = self.columns.e.astype(np.int64) * max(len(self.application_ids), 1) + self.columns.a
            order = np.argsort(keys, kind="stable")    # stable: a pair's hits keep their order
            # one assignment: the app shares a cached set between sessions' threads
            self._pair = (order, keys[order])
        return self._pair

    def pair(self, expert_id: str, application_id: str) -> list[ConflictHit]:
        i, j = self._e.get(expert_id), self._a.get(application_id)
        if i is None or j is None:
            return []
        order, keys = self._pair_index()
        key = i * max(len(self.application_ids), 1) + j
        lo, hi = np.searchsorted(keys, key, "left"), np.searchsorted(keys, key, "right")
        return self.hits_at(order[lo:hi])

    def is_excluded(self, expert_id: str, application_id: str) -> bool:
        return any(h.excludes for h in self.pair(expert_id, application_id))

    # matrices and tables ------------------------------------------------------------------
    def excluded_matrix(self) -> np.ndarray:
        """bool[E, A]: pairs a hard, unwaived rule excludes."""
        m = np.zeros((len(self.expert_ids), len(self.application_ids)), dtype=bool)
        x = self.excludes_mask()
        m[self.columns.e[x], self.columns.a[x]] = True
        return m

    def soft_matrix(self, penalties: dict[str, float]) -> np.ndarray:
        """float[E, A]: the sum of soft-rule penalties per pair (unwaived)."""
        m = np.zeros((len(self.expert_ids), len(self.application_ids)))
        c = self.columns
        s = ~c.hard & ~c.waived
        per_rule = np.array([penalties.get(r, 0.0) for r in RULE_IDS])
        np.add.at(m, (c.e[s], c.a[s]), per_rule[c.rule[s]])   # unbuffered: a pair hit twice adds twice
        return m

    def employer_groups(self) -> np.ndarray:
        """int[E]: experts with the same employer share a group id (C8)."""
        return np.array([self.employer_group[e] for e in self.expert_ids], dtype=np.int64)

    def table(self) -> pd.DataFrame:
        c = self.columns
        if not len(c):
            return pd.DataFrame([], columns=TABLE_COLUMNS)
        texts = np.array(c.texts + [""], dtype=object)      # index -1: no waiver reason
        rules = np.array(RULE_IDS, dtype=object)
        zh = np.array([RULES[r][0] for r in RULE_IDS], dtype=object)
        en = np.array([RULES[r][1] for r in RULE_IDS], dtype=object)
        eids = np.array(self.expert_ids, dtype=object)
        aids = np.array(self.application_ids, dtype=object)
        # Sorted by application, expert, rule id (as text), ties in hit order: one stable sort on
        # integer ranks instead of a sort on three text columns of a million rows.
        e_rank, a_rank = _text_rank(eids), _text_rank(aids)
        r_rank = _text_rank(rules)
        o = np.lexsort((r_rank[c.rule], e_rank[c.e], a_rank[c.a]))
        e, a, rule = c.e[o], c.a[o], c.rule[o]
        hard, waived = c.hard[o], c.waived[o]
        # One column at a time, each made a pandas column at once: the object array it came from
        # is freed before the next one is made (a million rows: some 9 MB each).
        text_columns = {"expert_id": lambda: eids[e], "application_id": lambda: aids[a],
                        "rule": lambda: rules[rule], "rule_zh": lambda: zh[rule], "rule_en": lambda: en[rule],
                        "severity": lambda: _SEVERITY[hard.view(np.int8)],
                        "waiver_reason": lambda: texts[c.reason[o]], "evidence": lambda: texts[c.ev[o]]}
        cols = {k: pd.Series(make(), copy=False) for k, make in text_columns.items()}
        cols.update(excludes=pd.Series(hard & ~waived), waived=pd.Series(waived))
        return pd.DataFrame({k: cols[k] for k in TABLE_COLUMNS})

    def per_application(self, drawable: set[str] | None = None) -> pd.DataFrame:
        """Per application: how many experts are excluded and how many remain."""
        ex = self.excluded_matrix()
        pool = len(self.expert_ids)
        return pd.DataFrame({"application_id": self.application_ids,
                             "excluded_experts": ex.sum(axis=0),
                             "eligible_experts": pool - ex.sum(axis=0)})


def _text_rank(values: np.ndarray) -> np.ndarray:
    """Position of each text in sorted order (equal texts share a rank)."""
    _, inverse = np.unique(values.astype(str), return_inverse=True)
    return inverse.reshape(-1)
