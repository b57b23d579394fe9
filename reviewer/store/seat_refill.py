"""补抽 Refilling a seat whose expert declined, recused (accepted) or did not answer, or that a moved
meeting date (日期冲突) or rule P1 专家库资格 (a credit penalty recorded after publication) made
impossible (reviewer.store.seat_obstacles marks those seats).

    propose(s, round, stage, application, expert)      who would take the seat, and how (no change)
    refill(s, round, stage, application, expert, ...)  the replacement, through the one checked path
    refill_open(store, code, stage, user=...)          every seat of a stage waiting for 补抽, one transaction each
    draw_order(derived_seed, population)               the redraw's order of candidates (reproducible anywhere)

Every refill is a replacement of `reviewer.store.replacement.replace_seats` (the whole round checked
by the independent checker, audited, chair handed over when needed); the new seat is invited.

How the replacement is chosen:

* a stage published from an optimised plan: the solver's minimal-change repair
  (`replacement.pick_replacement`: its pick, then the panel's alternates 候补, the first the checker accepts);
* a stage published from a random draw (the run has `randomize`): a redraw that keeps the draw's cap.
  The population is the pool's experts of the leaving expert's category (同类别补抽) who are not on the
  panel, did not decline / fail to answer this stage and did not ask to recuse from this application. A
  seed is derived from the publication run's seed and the seat: SHA-256 of canonical JSON {run id, run
  seed, stage, application, leaving expert, panel version} (the panel version grows with every change,
  so a second redraw of the same panel is a new, equally reproducible draw). The population is ordered
  by SHA-256(derived seed | expert id) — a uniformly random order — and put through the checker in that
  order until `m = ceil(1/q)` candidates are accepted (q: the run's per-pair cap, [random_draw]
  max_pair_probability). The first accepted one takes the seat. The first accepted expert of a
  uniformly random order is uniformly distributed over ALL checker-valid experts of the population
  (checking stops early, but which valid expert comes first does not depend on where the invalid ones
  lie), so each valid expert gets the seat with probability 1/|valid| ≤ 1/m ≤ q: the redraw's own
  probability for any one expert-seat pair is capped by q, as in the draw. When fewer than m are valid
  among the first [responses] redraw_check_limit candidates, the cap cannot be shown to hold: nothing is
  drawn and staff decide (a manual pick needs a reason: `reviewer replace --new`). Every redraw is an
  audit entry (seat.redraw) with the seed, its derivation, the population size, each candidate checked
  and the pick, so anyone can re-derive it (`draw_order`).
  A seat of a published 现场考察 team (reviewer.store.site_repair) keeps the team: the expert already drawn
  for the leaving expert's earlier seat of the same team takes this one too (their probability of the
  seat is that draw's, so the cap holds); else the draw's valid set is first "valid for the team's whole
  trip" (free every day of it, no other team, no conflict with its sites, accepted on all of the leaving
  expert's seats of the team) and only when fewer than m are, "valid for the day" — in each phase the pick
  is the first valid one of the same random order, uniform over that phase's valid set (≤ 1/m ≤ q).
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from reviewer.conflicts.detector import detect_conflicts
from reviewer.errors import UserError
from reviewer.intake.model import RoundData
from reviewer.store import audit, replacement, repo, seat_responses, site_repair
from reviewer.store.engine import Store
from reviewer.store.facts import canonical
from reviewer.store.models import Round, Run

AUTO_USER = "系统补抽 auto-refill"
DRAW, REPAIR = "draw", "repair"


@dataclass
class Proposal:
    """Who would take a seat and how it was found (`record`: what a seat.redraw entry records)."""
    stage: str
    application_id: str
    leaving: str
    candidate: str
    how: str                          # draw / repair
    record: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        way = ("随机补抽 redrawn (cap kept)" if self.how == DRAW else "最小变动修复 minimal-change repair")
        return f"{self.stage} {self.application_id}: {self.leaving} → {self.candidate} ({way})"


def draw_order(derived_seed: str, population: list[str]) -> list[str]:
    """The redraw's order: the population sorted by SHA-256(derived seed | expert id)."""
    return sorted(population, key=lambda e: hashlib.sha256(f"{derived_seed}|{e}".encode("utf-8")).hexdigest())


def derived_seed(run: Run, stage: str, application_id: str, leaving: str, panel_version: int) -> str:
    return hashlib.sha256(canonical({"run_id": run.id, "run_seed": run.seed, "stage": stage,
                                     "application_id": application_id, "leaving": leaving,
                                     "panel_version": int(panel_version)}).encode("utf-8")).hexdigest()


def drawn_run(s: Session, r: Round, stage: str) -> Run | None:
    """The random-draw run `stage` was published from, or None (an optimised or imported plan)."""
    pub = repo.publication(s, r, stage)
    if pub is None or pub.run_id is None:
        return None
    run = repo.get_run(s, pub.run_id)
    return run if (run.parameters or {}).get("randomize") else None


def _population(s: Session, r: Round, data: RoundData, stage: str, application_id: str, leaving: str) -> list[str]:
    seats = repo.published_seats(s, r, stage, include_replaced=True)
    panel = seats[seats["application_id"] == application_id]
    board = seat_responses.board(s, r, stage)
    # experts who said no to this stage, or whom a moved date or rule P1 keeps off it, are not drawn again
    away = set(board.loc[board["status"].isin([seat_responses.DECLINED, seat_responses.NO_REPLY,
                                               seat_responses.DATE_CONFLICT, seat_responses.BARRED]), "expert_id"])
    mine = board[board["application_id"] == application_id]
    away |= set(mine.loc[mine["status"].isin([seat_responses.RECUSAL, seat_responses.RECUSED]) | (mine["relation"] != ""),
                         "expert_id"])
    category = data.expert(leaving).category
    out = set(panel["expert_id"]) | away | {leaving}
    return sorted(e.expert_id for e in data.experts if e.category == category and e.expert_id not in out)


def _redraw(s: Session, r: Round, data: RoundData, run: Run, stage: str, application_id: str,
            leaving: str) -> Proposal:
    pol = repo.round_policy(r)
    q = float((run.parameters or {}).get("q") or pol.random_draw.max_pair_probability)
    need = max(1, math.ceil(1 / q - 1e-9))
    version = repo.get_panel(s, r, stage, application_id).version
    seed = derived_seed(run, stage, application_id, leaving, version)
    population = _population(s, r, data, stage, application_id, leaving)
    seats, conflicts = replacement.round_seats(s, r), detect_conflicts(data, pol)
    base = {"stage": stage, "application_id": application_id, "leaving": leaving, "run_id": run.id,
            "run_seed": run.seed, "panel_version": version, "derived_seed": seed, "q": q, "needed": need,
            "population": len(population), "category": data.expert(leaving).category}

    def passes(cand: str, where) -> str:
        after = seats.copy()
        for a in sorted(where):
            replacement.seat_change(after, data, r, stage, a, leaving, cand, conflicts)
        try:
            replacement.check_change(s, r, data, after, leaving=[(stage, application_id, leaving)])
        except UserError as e:
            return str(e).splitlines()[-1].strip()[:200]
        return "ok"
    team = site_repair.team_of_seat(s, r, stage, application_id, leaving, seats, data, conflicts)
    if team is not None:   # a published site team: whoever was drawn for leaving's earlier seat of it carries on
        held, trip_ok, heirs = team
        for heir in heirs:   # (P(heir on this seat) <= P(heir drawn for that seat) <= 1/m <= q: the cap holds)
            if heir in population and passes(heir, {application_id}) == "ok":
                return Proposal(stage, application_id, leaving, heir, DRAW, {
                    **base, "checked": [[heir, "ok"]], "pick": heir, "kept_team": True,
                    "rule": "the expert drawn for the leaving expert's earlier seat of the same team keeps the team "
                            "whole (their probability is that draw's, capped by q)"})
    # the team's whole trip first (a valid set of its own: the pick is still uniform over >= m valid), then the day
    phases = [("team", held)] if team is not None else []
    for phase, where in phases + [("day", {application_id})]:
        checked, valid = [], []
        for cand in draw_order(seed, population)[:pol.responses.redraw_check_limit]:
            why = "not free for the team's whole trip" if phase == "team" and not trip_ok(cand) else passes(cand, where)
            checked.append([cand, why])
            if why == "ok":
                valid.append(cand)
                if len(valid) >= need:
                    break
        if len(valid) >= need:
            break
    record = {**base, "checked": checked, "phase": phase, "pick": valid[0] if len(valid) >= need else None,
              "rule": "order = sort by SHA-256(derived_seed|expert_id); pick = first checker-valid (a site team's "
                      "seat: first valid for the team's whole trip, else for the day); drawn only when >= ceil(1/q) "
                      "are valid"}
    if len(valid) < need:
        raise UserError(f"无法在保持随机抽取概率上限的前提下补抽 {stage} {application_id} 的席位（{leaving}）：同类别可用专家中"
                        f"仅 {len(valid)} 人通过检查，至少需要 {need} 人（q = {q:g}）。请工作人员说明理由后指定替换专家 / "
                        f"cannot redraw the seat keeping the draw's cap: {len(valid)} of the first {len(checked)} "
                        f"candidates pass the checker, {need} needed; staff pick with a reason (reviewer replace --new)")
    return Proposal(stage, application_id, leaving, valid[0], DRAW, record)


def propose(s: Session, r: Round, stage: str, application_id: str, leaving: str,
            data: RoundData | None = None) -> Proposal:
    """Who would take `leaving`'s seat (UserError when nobody can automatically); changes nothing."""
    if data is None:
        data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
    run = drawn_run(s, r, stage)
    if run is not None:
        return _redraw(s, r, data, run, stage, application_id, leaving)
    cand, _ = replacement.pick_replacement(s, r, stage, application_id, leaving, data)
    return Proposal(stage, application_id, leaving, cand, REPAIR, {"stage": stage, "application_id": application_id,
                                                                  "leaving": leaving, "pick": cand})


def _waiting(s: Session, r: Round, stage: str, application_id: str, leaving: str):
    rows = [x for x in seat_responses.stage_responses(s, r, stage) if x.application_id == application_id
            and x.expert_id == leaving and x.status != seat_responses.REPLACED]
    if not rows or rows[0].status not in seat_responses.NEEDS_REFILL:
        state = seat_responses.STATUS_ZH[rows[0].status] if rows else "无有效席位 no active seat"
        raise UserError(f"{stage} {application_id} {leaving}: 当前为“{state}”，不需要补抽 the seat does not wait for a "
                        "replacement (only declines, accepted recusals, no-replies, date conflicts and seats "
                        "rule P1 bars are refilled)")
    return rows[0]


def refill(s: Session, r: Round, stage: str, application_id: str, leaving: str, *, user: str,
           approved: str | None = None) -> Proposal:
    """补抽 one seat waiting for it, in the caller's transaction: the proposal is applied through
    `replacement.replace_seats` (checked, audited; the new seat invited). `approved`: the candidate a
    staff member approved on the board: refused if the proposal is no longer that expert."""
    x = _waiting(s, r, stage, application_id, leaving)
    data = repo.load_data(s, repo.latest_import(s, r).id, repo.waivers(s, r))
    p = propose(s, r, stage, application_id, leaving, data)
    if approved is not None and approved != p.candidate:
        raise UserError(f"补抽建议已变化（现为 {p.candidate}，您批准的是 {approved}），请刷新后重新审核 / the proposal "
                        f"changed ({p.candidate}, you approved {approved}): reload and review it again")
    why = {seat_responses.DECLINED: "请假", seat_responses.RECUSED: "回避", seat_responses.NO_REPLY: "未答复",
           seat_responses.DATE_CONFLICT: "日期冲突", seat_responses.BARRED: "专家库资格受限"}[x.status]
    reason = f"补抽：{leaving} {why}{'（' + x.reason + '）' if x.reason else ''} refill after {x.status}"
    if p.how == DRAW:
        audit.record(s, user=user, action="seat.redraw", reason=reason, round_code=r.code,
                     entity=f"{stage} {application_id}: {leaving} -> {p.candidate}", after=p.record)
    replacement.replace_seats(s, r, stage, [(application_id, leaving, p.candidate)], reason=reason, user=user,
                              data=data)
    return p


@dataclass
class RefillReport:
    done: list[Proposal] = field(default_factory=list)
    pending: list[tuple[str, str, str]] = field(default_factory=list)   # (application, expert, why not)


def refill_open(store: Store, code: str, stage: str, *, user: str = AUTO_USER) -> RefillReport:
    """Every seat of `stage` waiting for 补抽, each in its own transaction; a seat nobody can take
    automatically keeps its state with the reason noted on the board (audited) for staff."""
    out = RefillReport()
    with store.read() as s:
        r = repo.get_round(s, code)
        todo = [(x.application_id, x.expert_id, x.id) for x in seat_responses.stage_responses(s, r, stage)
                if x.status in seat_responses.NEEDS_REFILL]
    for app_id, expert, rid in todo:
        try:
            with store.write() as s:
                out.done.append(refill(s, repo.get_round(s, code), stage, app_id, expert, user=user))
        except UserError as e:
            out.pending.append((app_id, expert, str(e)))
            with store.write() as s:
                seat_responses.note_refill(s, repo.get_round(s, code), rid, str(e), user=user)
    return out


def auto_refill(store: Store, code: str, stage: str) -> RefillReport | None:
    """After answers or `expire`: refill the stage's waiting seats when the round's policy says
    [responses] refill = "automatic"; None under "approve" (staff approve each proposal on the board)."""
    with store.read() as s:
        mode = repo.round_policy(repo.get_round(s, code)).responses.refill
    return refill_open(store, code, stage) if mode == "automatic" else None
