"""`reviewer reproduce RUN_ID`: rerun a recorded run from what the store holds (the imported rows,
the policy text, the seed and the recorded parameters, never the original files or today's
settings) and compare the result with the recorded one: the same seats for a planning run, the
same scores and ranks for an aggregation run, the same outcomes for a screening run. An imported
run (a panels file published with `reviewer publish --from-file`) is checked again by the
independent checker against its recorded import, policy and rules, and must give the same seats.
Planning goes through the planning service (`reviewer.panels.service`), like the run itself."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from reviewer.errors import UserError
from reviewer.panels.service import check_seats
from reviewer.panels.tables import plan_seats
from reviewer.store.borrow import borrowed_scores
from reviewer.store import facts, repo, site_visits
from reviewer.store.engine import Store
from reviewer.store.models import RankingRow, Round, ScreeningResult
from reviewer.store import site_inputs
from reviewer.store.publishing import violation_lines
from reviewer.store.runs import (
    compute_aggregation,
    compute_plan,
    compute_screening,
    ranking_rows,
    recorded_scores,
)


@dataclass
class Reproduction:
    run_id: int
    kind: str
    identical: bool
    recorded: int                      # number of items compared (seats, rows)
    differences: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = (f"运行 run #{self.run_id} ({self.kind}): " +
                ("结果一致 IDENTICAL — the rerun gives the recorded result "
                 f"({self.recorded} {'seats' if self.kind in ('planning', 'imported', 'site_plan') else 'rows'} compared)" if self.identical else
                 f"结果不一致 DIFFERENT — {len(self.differences)} differences"))
        return [head, *("  " + n for n in self.notes), *("  " + d for d in self.differences[:50]),
                *(["  …"] if len(self.differences) > 50 else [])]


def _diff(recorded: list[tuple], rerun: list[tuple], what: str) -> list[str]:
    a, b = set(recorded), set(rerun)
    out = [f"recorded {what} missing in the rerun: {' '.join(map(str, x))}" for x in sorted(a - b)]
    out += [f"rerun {what} not in the record: {' '.join(map(str, x))}" for x in sorted(b - a)]
    return out


def recheck_imported(data, pol, run, seats, recorded: list[tuple], notes: list[str]):
    """An imported run: its stored seats against its result hash, and checked again by the
    independent checker with what the run recorded. Returns (differences, notes)."""
    params = run.parameters or {}
    check = check_seats(data, pol, seats, locks=[tuple(x) for x in params.get("locks", [])],
                        forbids=[tuple(x) for x in params.get("forbids", [])],
                        fixed=[tuple(x) for x in params.get("fixed", [])])
    diffs = _diff(recorded, plan_seats(check.result.panels), "seat")
    diffs += [f"hard rule broken: {line}" for line in violation_lines(check, limit=50)]
    if repo.seats_digest(recorded) != run.result_sha256:
        diffs.append("the stored seats do not match the result hash recorded when the run was made")
    note = (f"file {params.get('file', '?')} sha256 {str(params.get('file_sha256', '?'))[:12]}…, "
            "checked by solver.check_plan")
    return diffs, [*notes, note]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_inputs(store: Store, run_id: int, folder: str | Path) -> tuple[bool, list[str]]:
    """`reviewer verify-inputs RUN_ID DIR` / `reproduce --files DIR`: re-hash the files the run
    recorded (by name, in `folder`) and name each changed or missing one. (ok, lines)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--files {folder}: 文件夹不存在 not a folder")
    with store.read() as s:
        inputs = list(repo.get_run(s, run_id).inputs or [])
    by_file: dict[str, tuple[str, list[str]]] = {}
    for x in inputs:
        name = Path(str(x.get("file", ""))).name
        by_file.setdefault(name, (str(x.get("sha256", "")), []))[1].append(str(x.get("table", "")))
    ok, lines = True, []
    for name, (want, tables) in sorted(by_file.items()):
        p = folder / name
        what = f"{name} ({', '.join(tables)})"
        if not p.is_file():
            ok = False
            lines.append(f"缺失 MISSING {what}: not in {folder}")
            continue
        have = file_sha256(p)
        if have != want:
            ok = False
            lines.append(f"已改变 CHANGED {what}: sha256 recorded {want[:12]}…, the file now {have[:12]}… — it is "
                         f"not the file run #{run_id} read")
        else:
            lines.append(f"一致 unchanged {what} (sha256 {have[:12]}…)")
    if not by_file:
        lines.append(f"run #{run_id} recorded no input files")
    return ok, lines


def _rows_changed(s, run, run_id: int) -> Reproduction | None:
    """A Reproduction that says the run's stored input rows were changed (instead of a long diff)."""
    if run.import_id is None:
        return None
    changed = facts.changed_import_rows(s, run.import_id)
    if not changed:
        return None
    what = (f"运行所用的导入数据已被修改 the stored input rows of import #{run.import_id} no longer match the hashes "
            f"recorded when they were imported ({len(changed)}: {'; '.join(changed[:10])}"
            f"{' …' if len(changed) > 10 else ''}); a rerun from them would not be the recorded run (reviewer audit "
            "verify names every change)")
    return Reproduction(run_id, run.kind, False, 0, [what])


def reproduce(store: Store, run_id: int) -> Reproduction:
    with store.read() as s:
        run = repo.get_run(s, run_id)
        r = s.get(Round, run.round_id)
        pol = repo.policy_from_text(run.policy_text, run.as_of, f"run #{run_id} policy")
        if pol.sha256 != run.policy_sha256:
            raise UserError(f"run #{run_id}: the stored policy text does not match its recorded sha256")
        if (changed := _rows_changed(s, run, run_id)) is not None:
            return changed
        params = dict(run.parameters or {})
        kind = run.kind
        if kind in ("planning", "imported", "screening", "conflicts", site_visits.KIND):
            data = repo.load_data(s, run.import_id, params.get("waivers", []))
        if kind == site_visits.KIND:
            recorded = plan_seats(repo.run_seats(s, run_id))
            routes = site_visits.run_visits(s, run_id)
            recorded_routes = sorted(zip(routes["team"].astype(str), routes["application_id"],
                                         routes["visit_date"].astype(str)))
            status = run.status
            site_in = site_inputs.from_refs(s, params.get("site_inputs"))
        elif kind in ("planning", "imported"):
            seats = repo.run_seats(s, run_id)
            recorded = plan_seats(seats)
            status = run.status
        elif kind == "aggregation":
            # the store's scores by id; scores it does not hold (the app's demo round) the run recorded itself
            scores = recorded_scores(params) if "score_rows" in params else \
                repo.scores_frame(s, r, include_void=True, ids=params["score_ids"])
            borrow = None
            if params.get("borrow_ids") is not None:      # calibrated_pooled: exactly the scores it borrowed
                borrow, got = borrowed_scores(s, r, params["stage"], params["borrow_ids"])
                if len(got) != len(params["borrow_ids"]):
                    raise UserError(f"run #{run_id}: {len(params['borrow_ids']) - len(got)} of its borrowed scores "
                                    "(other stages / rounds) are missing from the store")
            rows = s.execute(select(RankingRow).where(RankingRow.run_id == run_id)).scalars().all()
            recorded = sorted((str(x.data.get("panel", "")), x.application_id,
                               None if x.score is None else round(float(x.score), 6), x.rank) for x in rows)
        elif kind == "screening":
            recorded = sorted((x.application_id, x.outcome) for x in s.execute(
                select(ScreeningResult).where(ScreeningResult.run_id == run_id)).scalars())
        else:
            raise UserError(f"run #{run_id} is a {kind} run; reproduce handles planning, imported, aggregation and "
                            "screening runs")
    notes = [f"policy sha256 {pol.sha256[:12]}…, reference date {pol.as_of_date()}, seed {run.seed}"]
    if kind == "planning":
        res = compute_plan(data, pol, params)
        rerun = plan_seats(res.panels)
        diffs = _diff(recorded, rerun, "seat")
        if res.plan.status != status and not diffs:
            notes.append(f"solver status {res.plan.status} (recorded {status})")
        notes.append(f"solver {res.plan.path}, objective {res.plan.objective:.3f} (recorded "
                     f"{run.objective if run.objective is not None else 'n/a'}), {res.plan.wall_time:.1f}s")
    elif kind == site_visits.KIND:
        sp = site_visits.compute_site_plan(data, pol, params, site_in)
        rerun = plan_seats(sp.panels) if sp.feasible else []
        rows = site_visits.visit_rows(sp) if sp.feasible else []
        diffs = _diff(recorded, rerun, "seat")
        diffs += _diff(recorded_routes, sorted((str(x["team"]), x["application_id"], str(x["visit_date"]))
                                               for x in rows), "visit (team, site, day)")
        notes.append(f"现场考察 {len(rows)} visits by {len(sp.routes.routes)} teams, status "
                     f"{sp.teams.status if sp.teams else sp.routes.status} (recorded {status})")
    elif kind == "imported":
        diffs, notes = recheck_imported(data, pol, run, seats, recorded, notes)
    elif kind == "aggregation":
        if "score_ids" in params and len(scores) != len(params["score_ids"]):
            raise UserError(f"run #{run_id}: {len(params['score_ids']) - len(scores)} of its scores are missing "
                            "from the store")
        res = compute_aggregation(scores, params.get("fields", {}), pol, params, borrow)
        rerun = ranking_rows(res)
        diffs = _diff(recorded, rerun, "row (stage, application, score, rank)")
        notes.append(f"method {params['method']}, {len(scores)} scores")
    else:
        res = compute_screening(data, pol, params)
        rerun = sorted((x.application_id, x.outcome) for x in res.summary.itertuples(index=False))
        diffs = _diff(recorded, rerun, "outcome")
    return Reproduction(run_id, kind, not diffs, len(recorded), diffs, notes)
