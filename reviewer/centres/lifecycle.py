"""A centre's life (SPEC §7, seed §三(三)-(五)): a state machine with dated, reasoned transitions.

States: 申报 applied -> 试点 pilot (build period at most ``build_period_years``, DEFAULT 3) ->
认定 recognised after passing the final assessment, or 撤销 revoked; 认定 -> 国家级 when approved as a
national centre.  Allowed transitions (everything else is refused with a message, see
:data:`ALLOWED`)::

    申报 -> 试点            approved as a pilot (the build period starts)
    试点 -> 认定            final assessment passed (试点建设任务和运行发展指标完成后 ... 考核合格)
    试点 -> 撤销            two consecutive failed evaluations, or the build period passed without
                           meeting the targets (连续两次评价不合格或超过建设期限仍未能达到考核要求)
    认定 -> 国家级          approved as a national manufacturing innovation centre
    认定 -> 撤销            two consecutive failed annual evaluations after recognition
    撤销, 国家级            final

Revocation rules (pure functions, tested at their boundaries):

* :func:`consecutive_fails` — the evaluation at which ``consecutive_fails_to_revoke`` (DEFAULT 2)
  evaluations in a row have failed ("consecutive" = consecutive evaluations held, in year order).
* :func:`build_period_overrun` — the build period runs from the start date up to and including the
  same calendar day ``build_period_years`` later; on that day the centre is still within it, from
  the next day on it has overrun unless the targets were met by then.  Annual data have year
  resolution: the evaluation of the year in which the build period ends shows whether the targets
  were met within it; the revocation takes effect the day after the build period ended.

:func:`replay` runs every centre through its evaluations and explicit events (a history file)
up to an ``as_of`` date, deriving the transitions the rules imply, and keeps the subsidy ledger
(:mod:`reviewer.centres.ledger`).  Everything serialises to plain dicts (`as_dict`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from reviewer.centres.evaluation import Evaluated, EvaluationResult, build_deadline
from reviewer.centres.ledger import Ledger, SubsidyKind
from reviewer.centres.states import ALLOWED, IllegalTransition, State, parse_state
from reviewer.centres.tables import Loaded, as_date, load_rows, table_column
from reviewer.errors import UserError
from reviewer.evaluation_scheme import Scheme
from reviewer.intake.schema import Table
from reviewer.policy import Policy

__all__ = ["ALLOWED", "CAUSES", "HISTORY", "CentreLife", "Event", "IllegalTransition", "Replay", "State", "Transition",
           "build_period_overrun", "consecutive_fails", "load_history", "parse_event", "parse_state", "replay",
           "replay_centre"]


# Causes of transitions (machine-readable) with their Chinese names.
CAUSES = {
    "approved": "批复为试点",
    "final_assessment": "终期考核合格",
    "consecutive_fails": "连续两次考核不合格",
    "build_overrun": "超过建设期限未达到考核要求",
    "national": "获批国家制造业创新中心",
    "manual": "人工登记",
}


@dataclass(frozen=True)
class Transition:
    centre_id: str
    from_state: str
    to_state: str
    date: dt.date
    cause: str                 # one of CAUSES
    reason: str                # plain words, with the evidence
    evidence: tuple[tuple[str, Any], ...] = ()

    def document_no(self) -> str:
        """The transition as the register's document reference: the cause in words (终期考核合格), not its code."""
        return f"生命周期：{CAUSES.get(self.cause, self.cause)}"

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat()
        d["evidence"] = dict(self.evidence)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Transition":
        d = dict(d)
        d["date"] = dt.date.fromisoformat(d["date"]) if isinstance(d["date"], str) else d["date"]
        d["evidence"] = tuple(dict(d.get("evidence") or {}).items())
        return cls(**d)


@dataclass
class CentreLife:
    """One centre's state and history.  `transition` refuses what :data:`ALLOWED` does not allow."""
    centre_id: str
    field: str = ""
    name: str = ""
    build_start: dt.date | None = None
    build_years: int = 3
    state: State = State.APPLIED
    history: list[Transition] = dc_field(default_factory=list)
    notes: list[str] = dc_field(default_factory=list)

    @property
    def deadline(self) -> dt.date | None:
        """Last day of the build period (inclusive)."""
        return None if self.build_start is None else build_deadline(self.build_start, self.build_years)

    def can(self, to: State | str) -> bool:
        return parse_state(to) in ALLOWED[self.state]

    def transition(self, to: State | str, date: dt.date, reason: str, cause: str = "manual",
                   evidence: Mapping[str, Any] | None = None) -> Transition:
        to = parse_state(to)
        if cause not in CAUSES:
            raise UserError(f"transition cause {cause!r}: expected one of {sorted(CAUSES)}")
        if not reason or not str(reason).strip():
            raise IllegalTransition(f"{self.centre_id}: {self.state.label} -> {to.label} on {date.isoformat()} "
                                    "needs a reason")
        if to not in ALLOWED[self.state]:
            allowed = ", ".join(s.label for s in sorted(ALLOWED[self.state], key=lambda s: list(State).index(s)))
            why = "it is final" if not allowed else f"allowed from {self.state.value}: {allowed}"
            raise IllegalTransition(f"{self.centre_id}: {self.state.label} -> {to.label} on {date.isoformat()} "
                                    f"is not allowed ({why})")
        if self.history and date < self.history[-1].date:
            raise IllegalTransition(f"{self.centre_id}: {self.state.label} -> {to.label} dated {date.isoformat()}, "
                                    f"before the previous transition ({self.history[-1].date.isoformat()})")
        if to == State.PILOT and self.build_start is None:
            self.build_start = date
        t = Transition(self.centre_id, self.state.value, to.value, date, cause, str(reason).strip(),
                       tuple((evidence or {}).items()))
        self.history.append(t)
        self.state = to
        return t

    def state_on(self, day: dt.date) -> State:
        s = State.APPLIED
        for t in self.history:
            if t.date <= day:
                s = State(t.to_state)
        return s

    def as_dict(self) -> dict[str, Any]:
        return {"centre_id": self.centre_id, "field": self.field, "name": self.name,
                "build_start": self.build_start.isoformat() if self.build_start else None,
                "build_years": self.build_years, "deadline": self.deadline.isoformat() if self.deadline else None,
                "state": self.state.value, "history": [t.as_dict() for t in self.history], "notes": list(self.notes)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CentreLife":
        b = d.get("build_start")
        return cls(centre_id=d["centre_id"], field=d.get("field", ""), name=d.get("name", ""),
                   build_start=dt.date.fromisoformat(b) if isinstance(b, str) else b,
                   build_years=int(d.get("build_years", 3)), state=parse_state(d.get("state", "申报")),
                   history=[Transition.from_dict(t) for t in d.get("history", ())], notes=list(d.get("notes", ())))


# ----------------------------------------------------------------------------- the two revocation rules

def _failed(e: Any) -> bool:
    return bool(e["failed"] if isinstance(e, Mapping) else e.failed)


def _year(e: Any) -> int:
    return int(e["year"] if isinstance(e, Mapping) else e.year)


def consecutive_fails(evaluations: Sequence[Any], n: int = 2) -> Any | None:
    """The evaluation at which `n` evaluations in a row (in year order) have failed, else None.
    Accepts :class:`EvaluationResult` records or dicts with ``year`` and ``failed``."""
    run = 0
    for e in sorted(evaluations, key=_year):
        run = run + 1 if _failed(e) else 0
        if run >= n:
            return e
    return None


def build_period_overrun(build_start: dt.date, on: dt.date, years: int = 3,
                         targets_met_on: dt.date | None = None) -> bool:
    """True when on day `on` the build period (from `build_start`, `years` calendar years, last day
    inclusive) has passed without the targets having been met within it."""
    deadline = build_deadline(build_start, years)
    if on <= deadline:
        return False
    return targets_met_on is None or targets_met_on > deadline


# ----------------------------------------------------------------------------- history file

HISTORY = Table(
    name="centre_history", zh="状态变更", key=(), sheet_names=("状态变更", "history", "events"),
    doc="Explicit events of the centres' lives: one row per event.",
    columns=(
        table_column("centre_id", "中心编号", "str", ("centre",), required=True),
        table_column("date", "日期", "date", ("event_date", "变更日期"), required=True),
        table_column("to_state", "状态", "str", ("state", "事件", "event", "新状态"), "申报/试点/认定/撤销/国家级",
                     required=True),
        table_column("reason", "原因", "str", ("说明", "依据"), "why (批复文号, 考核结论 ...)", required=True),
        table_column("amount", "补助金额", "money", ("subsidy",), "subsidy granted with this event (default: the cap)"),
    ))


@dataclass(frozen=True)
class Event:
    centre_id: str
    date: dt.date
    to_state: State
    reason: str
    amount: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"centre_id": self.centre_id, "date": self.date.isoformat(), "to_state": self.to_state.value,
                "reason": self.reason, "amount": self.amount}


def load_history(path: str | Path, sheet: str | None = None) -> tuple[Loaded, list[Event]]:
    def check(r: dict[str, Any]) -> list[tuple[str | None, Any, str]]:
        try:
            parse_state(r["to_state"])
        except UserError:
            return [("to_state", r["to_state"], "a state: 申报, 试点, 认定, 撤销 or 国家级")]
        return []

    loaded = load_rows(path, HISTORY, check=check, sheet=sheet)
    events = [Event(r.centre_id, as_date(r.date), parse_state(r.to_state), r.reason,
                    None if pd.isna(r.amount) else float(r.amount)) for r in loaded.frame.itertuples(index=False)]
    return loaded, events


def parse_event(text: str) -> Event:
    """CENTRE_ID,YYYY-MM-DD,STATE,REASON[,AMOUNT] (the CLI's --event)."""
    parts = [p.strip() for p in text.replace("，", ",").split(",")]
    if len(parts) < 4 or not all(parts[:4]):
        raise UserError(f"--event {text!r}: expected CENTRE_ID,YYYY-MM-DD,STATE,REASON[,AMOUNT] "
                        "(e.g. GXMIC-2022-01,2026-06-30,国家级,工信部批复)")
    try:
        day = dt.date.fromisoformat(parts[1])
    except ValueError:
        raise UserError(f"--event {text!r}: date {parts[1]!r}: expected YYYY-MM-DD") from None
    amount = None
    if len(parts) >= 5 and parts[4]:
        try:
            amount = float(parts[4])
        except ValueError:
            raise UserError(f"--event {text!r}: amount {parts[4]!r}: expected a number of yuan") from None
    return Event(parts[0], day, parse_state(parts[2]), ",".join(parts[3:4]), amount)


# ----------------------------------------------------------------------------- replay

@dataclass
class Replay:
    lives: dict[str, CentreLife]
    ledger: Ledger
    refused: list[str] = dc_field(default_factory=list)   # illegal explicit events, one line each
    as_of: dt.date = dc_field(default_factory=dt.date.today)

    def states(self) -> pd.DataFrame:
        rows = []
        for c in self.lives.values():
            last = c.history[-1] if c.history else None
            rows.append({"centre_id": c.centre_id, "name": c.name, "field": c.field, "state": c.state.value,
                         "state_en": c.state.en,
                         "build_start": c.build_start.isoformat() if c.build_start else "",
                         "build_deadline": c.deadline.isoformat() if c.deadline else "",
                         "since": last.date.isoformat() if last else "", "cause": last.cause if last else "",
                         "reason": last.reason if last else "", "notes": " | ".join(c.notes)})
        return pd.DataFrame(rows, columns=["centre_id", "name", "field", "state", "state_en", "build_start",
                                           "build_deadline", "since", "cause", "reason", "notes"])

    def transitions(self) -> pd.DataFrame:
        rows = [{**{k: v for k, v in t.as_dict().items() if k != "evidence"}, "cause_zh": CAUSES[t.cause]}
                for c in self.lives.values() for t in c.history]
        return pd.DataFrame(rows, columns=["centre_id", "from_state", "to_state", "date", "cause", "cause_zh", "reason"])

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "centres": [c.as_dict() for c in self.lives.values()],
                "ledger": self.ledger.to_records(), "refused": list(self.refused)}


def _eval_text(e: EvaluationResult) -> str:
    s = "incomplete" if e.score is None else f"{e.score:g}"
    return f"{e.year} {e.band or '未完成'} {s}"


def replay_centre(centre: Mapping[str, Any], evaluations: Iterable[EvaluationResult], scheme: Scheme,
                  ledger: Ledger, as_of: dt.date, events: Iterable[Event] = (), auto_recognise: bool = True,
                  refused: list[str] | None = None) -> CentreLife:
    """Run one centre (a mapping with centre_id, field, name, build_start, optional state) through its
    evaluations and explicit events up to `as_of`, applying the rules and recording subsidies.

    * 申报 -> 试点 on the build start date (unless an explicit 试点 event gives the date, or the
      recorded state is 申报);
    * each evaluation dated on or before `as_of`: revoke at the `consecutive_fails_to_revoke`-th
      failed evaluation in a row; else, with `auto_recognise`, a pilot whose evaluation of a year up
      to the build deadline's year passes with the build targets met is recognised (the evaluation
      is taken as the final assessment);
    * the day after the build deadline: revoke a pilot that has not met the targets (evidence:
      evaluations of years up to the deadline's year); while that year's evaluation is not yet due
      the decision waits (a note says so);
    * explicit events apply as given; illegal ones are refused (listed in `refused`), never applied.
    """
    refused = refused if refused is not None else []
    cid = str(centre["centre_id"])
    life = CentreLife(cid, str(centre.get("field") or ""), str(centre.get("name") or ""),
                      as_date(centre.get("build_start")), scheme.build_period_years)
    evs = sorted((e for e in evaluations if e.date <= as_of), key=lambda e: (e.date, e.year))
    later = [e for e in evaluations if e.date > as_of]
    if later:
        life.notes.append(f"{len(later)} evaluation(s) dated after {as_of.isoformat()} not used")
    events = sorted((e for e in events if e.date <= as_of), key=lambda e: e.date)
    recorded = centre.get("state")
    recorded = None if recorded is None or (isinstance(recorded, float) and pd.isna(recorded)) else parse_state(recorded)
    items = _timeline(life, evs, events, recorded, as_of)
    run = _Replay(life, life.deadline, scheme, ledger, as_of, list(evaluations), auto_recognise, refused)
    for day, _prio, kind, obj in items:
        run.step(day, kind, obj)
    if recorded is not None and recorded != life.state:
        life.notes.append(f"recorded state {recorded.value}, replay gives {life.state.value}")
    return life


def _timeline(life: CentreLife, evs: list[EvaluationResult], events: list[Event], recorded: State | None,
              as_of: dt.date) -> list[tuple[dt.date, int, str, Any]]:
    """What happens to a centre, in date order: approval, evaluations, explicit events, the day
    after the build deadline (same-day order: approval, evaluation, event, deadline)."""
    items: list[tuple[dt.date, int, str, Any]] = []
    explicit_pilot = any(e.to_state == State.PILOT for e in events)
    if life.build_start is None and explicit_pilot:
        life.build_start = min(e.date for e in events if e.to_state == State.PILOT)
    if not explicit_pilot and recorded != State.APPLIED and life.build_start:
        items.append((life.build_start, 0, "approve", None))
    elif not explicit_pilot and recorded != State.APPLIED and evs:
        # Build start unknown: a centre with evaluations is a pilot from the start of its first evaluated year.
        items.append((dt.date(min(e.year for e in evs), 1, 1), 0, "approve_unknown", None))
    for e in evs:
        items.append((e.date, 1, "evaluation", e))
    for e in events:
        items.append((e.date, 2, "event", e))
    deadline = life.deadline
    if deadline is not None:
        check_day = deadline + dt.timedelta(days=1)
        if check_day <= as_of:
            items.append((check_day, 3, "deadline", None))
    items.sort(key=lambda x: (x[0], x[1]))
    return items


@dataclass
class _Replay:
    """One centre's replay in progress: applies each dated item of its timeline to `life`."""
    life: CentreLife
    build_deadline: dt.date | None     # fixed when the timeline is made
    scheme: Scheme
    ledger: Ledger
    as_of: dt.date
    evaluations: list[EvaluationResult]
    auto_recognise: bool
    refused: list[str]
    seen: list[EvaluationResult] = dc_field(default_factory=list)

    def grant(self, kind: SubsidyKind, day: dt.date, amount: float | None, why: str) -> None:
        self.ledger.decide(self.life.centre_id, self.life.field, kind, day, amount, why)

    def step(self, day: dt.date, kind: str, obj: Any) -> None:
        life, scheme, deadline = self.life, self.scheme, self.build_deadline
        if kind == "approve":
            life.transition(State.PILOT, day, f"批复为自治区制造业创新中心试点，建设期 {day.isoformat()} 至 "
                            f"{deadline.isoformat() if deadline else '?'} / approved as a pilot; the build period "
                            f"({scheme.build_period_years} years) starts", "approved",
                            {"build_start": day.isoformat(), "build_deadline": deadline.isoformat() if deadline else None})
        elif kind == "approve_unknown":
            life.transition(State.PILOT, day, "建设期起始日期未知，按首个考核年度视为试点 / build start unknown: taken as a "
                            "pilot from its first evaluated year (the build-period rule needs the start date)", "approved",
                            {"build_start": None})
            life.build_start = None
        elif kind == "evaluation":
            self.evaluation(obj)
        elif kind == "event":
            self.event(obj)
        elif kind == "deadline":
            self.deadline(day)

    def evaluation(self, e: EvaluationResult) -> None:
        """Revoke at the n-th failed evaluation in a row; recognise a pilot whose passing evaluation
        shows the build targets met (with `auto_recognise`)."""
        life, scheme, deadline, seen = self.life, self.scheme, self.build_deadline, self.seen
        n_fail = scheme.consecutive_fails_to_revoke
        seen.append(e)
        if life.state not in (State.PILOT, State.RECOGNISED):
            if life.state in (State.REVOKED,):
                life.notes.append(f"evaluation {_eval_text(e)} after revocation: no effect")
            return
        hit = consecutive_fails([x for x in seen if x.complete], n_fail)
        if hit is e:
            run = [x for x in sorted(seen, key=lambda x: x.year) if x.complete][-n_fail:]
            life.transition(
                State.REVOKED, e.date,
                f"连续 {n_fail} 次考核不合格 ({'; '.join(_eval_text(x) for x in run)})，取消资格 / "
                f"{n_fail} consecutive failed annual evaluations", "consecutive_fails",
                {"evaluations": [x.year for x in run], "scores": [x.score for x in run]})
            return
        if (life.state == State.PILOT and self.auto_recognise and e.complete and not e.failed and e.targets_met
                and (deadline is None or e.year <= deadline.year)):
            t = life.transition(
                State.RECOGNISED, e.date,
                f"建设任务完成 {e.build_completion:.0%}，{e.year} 年度考核 {e.band} {e.score:g}，视为终期考核合格，正式认定 / "
                f"build tasks complete and the {e.year} evaluation passed ({e.band} {e.score:g}): taken as the "
                "final assessment", "final_assessment",
                {"year": e.year, "score": e.score, "band": e.band, "build_completion": e.build_completion})
            self.grant(SubsidyKind.NEW_CENTRE, t.date, None, "新认定自治区制造业创新中心一次性补助 / newly recognised centre")

    def event(self, ev: Event) -> None:
        """An explicit event, applied as given; an illegal one is refused (listed), never applied."""
        life = self.life
        if ev.to_state == State.APPLIED and life.state == State.APPLIED and not life.history:
            return  # the initial state, nothing to do
        cause = {State.PILOT: "approved", State.RECOGNISED: "final_assessment", State.NATIONAL: "national"}.get(
            ev.to_state, "manual")
        try:
            t = life.transition(ev.to_state, ev.date, ev.reason, cause, {"source": "history"})
        except IllegalTransition as err:
            self.refused.append(str(err))
            return
        if ev.to_state == State.RECOGNISED:
            self.grant(SubsidyKind.NEW_CENTRE, t.date, ev.amount, ev.reason)
        elif ev.to_state == State.NATIONAL:
            self.grant(SubsidyKind.NATIONAL, t.date, ev.amount, ev.reason)

    def deadline(self, day: dt.date) -> None:
        """The day after the build deadline: revoke a pilot that has not met the targets, unless the
        evaluation of the deadline's year is still to come."""
        life, scheme, deadline, as_of = self.life, self.scheme, self.build_deadline, self.as_of
        evaluations, auto_recognise = self.evaluations, self.auto_recognise
        if life.state != State.PILOT:
            return
        within = [x for x in evaluations if x.year <= deadline.year and x.date <= as_of]
        met = [x for x in within if x.complete and not x.failed and x.targets_met]
        if met:
            if not auto_recognise:
                life.notes.append(f"build period ended {deadline.isoformat()}; targets met in {met[0].year}: "
                                  "awaiting the final assessment")
            return
        due = scheme.evaluation_date(deadline.year)
        has_final_year = any(x.year == deadline.year for x in within)
        if not has_final_year and as_of < due:
            life.notes.append(f"build period ended {deadline.isoformat()}; targets not met so far — the "
                              f"{deadline.year} evaluation (due {due.isoformat()}) decides")
            return
        last = max(within, key=lambda x: x.year) if within else None
        shown = (f"latest evaluation {_eval_text(last)}, build tasks "
                 f"{'?' if last.build_completion is None else f'{last.build_completion:.0%}'}"
                 if last else "no evaluation")
        life.transition(
            State.REVOKED, day,
            f"建设期 {life.build_start.isoformat()} 至 {deadline.isoformat()} ({scheme.build_period_years} 年) 已过，"
            f"仍未达到考核要求 ({shown})，取消试点资格 / the build period passed without meeting the targets",
            "build_overrun",
            {"build_start": life.build_start.isoformat(), "build_deadline": deadline.isoformat(),
             "latest_year": last.year if last else None,
             "build_completion": last.build_completion if last else None})


def replay(centres: pd.DataFrame, evaluated: Evaluated | Sequence[EvaluationResult] | None, policy: Policy,
           as_of: dt.date | None = None, events: Iterable[Event] = (), auto_recognise: bool = True,
           scheme: Scheme | None = None, ledger: Ledger | None = None) -> Replay:
    """Replay every centre of `centres` (canonical columns: centre_id, name, field, build_start,
    optional state) with its evaluations and events up to `as_of` (default: policy as_of / today)."""
    if isinstance(evaluated, Evaluated):
        scheme = scheme or evaluated.scheme
        records = evaluated.records
    else:
        records = list(evaluated or [])
    scheme = scheme or Scheme.from_policy(policy)
    as_of = as_of or policy.as_of_date()
    ledger = ledger if ledger is not None else Ledger(policy)
    events = list(events)
    known = set(centres["centre_id"].astype(str))
    out = Replay({}, ledger, [], as_of)
    for e in events:
        if e.centre_id not in known:
            out.refused.append(f"{e.centre_id}: event {e.to_state.value} on {e.date.isoformat()} names an unknown centre")
    for c in centres.to_dict("records"):
        cid = str(c["centre_id"])
        out.lives[cid] = replay_centre(c, [r for r in records if r.centre_id == cid], scheme, ledger, as_of,
                                       [e for e in events if e.centre_id == cid], auto_recognise, out.refused)
    return out
