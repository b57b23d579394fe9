"""The demo pipeline: the whole round on the bundled demo data, writing every output.

Import, screening, conflicts; then stage by stage (reviewer.demo.gating): plan 初审评估 → its returned
scores → advance → plan 现场考察 for what advanced → its checklist scores → advance → plan 认定评审; score
sheets of the recognition stage, aggregation and the recognition list; each step prints what it did.
"""
from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Callable

import pandas as pd

from reviewer.conflicts.detector import ConflictSet, detect_conflicts
from reviewer.centres.ledger import Ledger
from reviewer.demo.gating import Stages, run_stages
from reviewer.demo.reference import DEMO_AS_OF, demo_policy
from reviewer.demo.registers import demo_register, demo_replay
from reviewer.errors import UserError
from reviewer.exports import run_record, write_run_record, write_table
from reviewer.intake.io import load_round_from
from reviewer.intake.model import RoundData
from reviewer.panels.site.outputs import outcome_lines as site_outcome_lines
from reviewer.panels.site.outputs import write_site_plan
from reviewer.panels.site.planner import SitePlan, SitePlanParams, plan_sites
from reviewer.policy import Policy
from reviewer.scoring.ranking import recognition_ranking
from reviewer.scoring.reliability import expert_deviation, flag_outliers
from reviewer.scoring.scoresheets import write_score_sheet
from reviewer.scoring.scoretable import aggregate_scores, read_table, validate_scores
from reviewer.screening.eligibility import ScreeningResult, screen

__all__ = ["DEMO_AS_OF", "demo_policy", "run_demo"]

Echo = Callable[[str], None]


def _screening(data: RoundData, policy: Policy, out: Path, echo: Echo) -> ScreeningResult:
    echo("== 2 形式审查 Screening")
    screening = screen(data, policy)
    for line in screening.report_lines():
        echo("  " + line)
    screening.write(out)
    return screening


def _conflicts(data: RoundData, policy: Policy, out: Path, echo: Echo) -> ConflictSet:
    echo("== 3 回避 Conflicts")
    cs = detect_conflicts(data, policy)
    table = cs.table()
    echo(f"  {len(table)} hits, {int(cs.excluded_matrix().sum())} excluded pairs; by rule: "
         + ", ".join(f"{k} {v}" for k, v in table.groupby("rule").size().items()))
    write_table(table, out, "conflicts", "回避明细")
    write_table(cs.per_application(), out, "conflicts_per_application", "各申报可用专家")
    return cs


# The demo's 现场考察 window (10 working days) and the CP-SAT work limit of each of its two steps
# (the benchmark runs the policy's default; a smaller limit keeps the demo quick, see README).
SITE_WINDOW = (dt.date(2026, 12, 7), dt.date(2026, 12, 18))
SITE_WORK_LIMIT = 5.0


def _site_plan(data: RoundData, policy: Policy, panels: pd.DataFrame, screening: ScreeningResult, cs: ConflictSet,
               out: Path, echo: Echo, seed: int) -> SitePlan:
    """现场考察 visiting teams and routes, independent of the other stages' planned seats."""
    stage = policy.stages.site
    echo(f"== 4b 现场考察 Site visits: visiting teams and routes ({SITE_WINDOW[0]}–{SITE_WINDOW[1]}); "
         f"the per-application {stage} panels of panels.csv are today's baseline, site_plan/ the plan")
    other = panels[panels["stage"] != stage]
    fixed = tuple(zip(other["stage"], other["expert_id"], other["application_id"]))
    sp = plan_sites(data, policy, SitePlanParams(*SITE_WINDOW, seed=seed, work_limit=SITE_WORK_LIMIT, fixed=fixed),
                    conflicts=cs, screening=screening)
    for line in site_outcome_lines(sp):
        echo(line)
    write_site_plan(sp, out / "site_plan", policy.meta.name)
    return sp


def _write_plans(stages: Stages, out: Path) -> None:
    """The plans of every stage as one set of tables (panels.csv holds every stage's seats)."""
    plans = list(stages.plans.items())
    write_table(stages.panels, out, "panels", "专家组")
    # a stage's plan lists the earlier stages' fixed seats too: each stage's own rows
    write_table(pd.concat([p.loads[p.loads["stage"] == st] if "stage" in p.loads else p.loads for st, p in plans],
                          ignore_index=True), out, "expert_load", "专家负载")
    write_table(pd.concat([p.coverage[p.coverage["stage"] == st] if "stage" in p.coverage else p.coverage
                           for st, p in plans], ignore_index=True), out, "panel_coverage", "类别覆盖")
    write_table(pd.concat([p.summary.assign(stage=st) for st, p in plans], ignore_index=True), out,
                "plan_summary", "求解概况")


def _returned(data_dir: Path, policy: Policy, echo: Echo) -> pd.DataFrame:
    """The demo round's returned scores of every stage (reviewer/data/demo/scores.csv, column panel), each
    stage's rows checked against its own instrument."""
    score_file = data_dir / "scores.csv"
    scores, errors = validate_scores(read_table(score_file), score_file, policy)
    for e in errors:
        echo(f"  {e}")
    echo(f"  {len(scores)} returned criterion scores read from {score_file}: "
         + ", ".join(f"{st} {n}" for st, n in scores.groupby("panel", sort=False).size().items()))
    return scores


def _score_sheets(policy: Policy, seats: pd.DataFrame, out: Path, echo: Echo) -> None:
    """Score sheets of the recognition stage's planned panels."""
    final = policy.stages.order[-1]
    sheets = out / "score_sheets" / final
    for expert_id, mine in seats.groupby("expert_id"):
        write_score_sheet(sheets / f"{expert_id}.xlsx", policy, expert_id, mine["expert_name"].iloc[0], final,
                          mine.rename(columns={"application_name": "name"})[["application_id", "name", "field"]])
    echo(f"== 5 评分表 Score sheets ({final}): {seats['expert_id'].nunique()} written to {sheets}")


def _ranking(scores: pd.DataFrame, fields: pd.Series, screening: ScreeningResult, policy: Policy, out: Path,
             echo: Echo, panels: dict[str, list[str]], registers: tuple[dict[str, str], Ledger],
             left: dict[str, str]) -> pd.DataFrame:
    """Aggregate the returned scores (quorum against the planned `panels`: application -> its experts),
    flag outliers and rank against the centre register and the subsidy ledger (`registers`)."""
    echo("== 6 汇总与排名 Aggregation and ranking")
    long = scores[["expert_id", "application_id", "criterion", "score"]]
    agg, notes = aggregate_scores(long.assign(field=long["application_id"].map(fields)), policy,
                                  policy.aggregation.method, panels=panels)
    for n in notes:
        echo(f"  note: {n}")
    outliers = flag_outliers(long, policy)
    flagged = outliers[outliers["flagged"]]
    echo(f"  {len(agg)} applications aggregated ({policy.aggregation.method}); {len(flagged)} outlier scores flagged")
    # Applications that failed screening stay in the list with their reasons (never silently dropped).
    failed = screening.summary[~screening.summary["application_id"].isin([*agg["application_id"], *left])]
    gone = pd.DataFrame({"application_id": list(left), "field": [fields.get(a) for a in left], "eligible": True,
                         "stage_exclusion": list(left.values())})   # out at an earlier stage, with its reason
    # An undecided needs-review application is 待复核, never 形式审查未通过 (column screening).
    ranking_input = pd.concat([agg.assign(field=agg["application_id"].map(fields), eligible=True),
                               pd.DataFrame({"application_id": failed["application_id"], "field": failed["field"],
                                             "eligible": False, "ineligible_reason": failed["reasons"],
                                             "screening": failed["outcome"]}), gone],
                              ignore_index=True)
    register, ledger = registers
    ranking = recognition_ranking(ranking_input, policy, register=register, ledger=ledger)
    write_table(ledger.frame(), out, "subsidy_ledger", "补助台账")
    write_table(agg, out, "aggregated_scores", "汇总得分")
    write_table(outliers, out, "score_outliers", "异常评分")
    for r in flagged.itertuples():
        echo(f"  outlier: {r.expert_id} on {r.application_id}: {r.reason}")
    deviation = expert_deviation(long, alpha=policy.aggregation.expert_bias_alpha,
                                 min_groups=policy.aggregation.expert_bias_min_panels)
    write_table(deviation, out, "expert_deviation", "专家评分偏差")
    for r in deviation[deviation["flagged"]].itertuples():
        echo(f"  systematic: {r.expert_id}: {r.reason}")
    write_table(ranking, out, "recognition_ranking", "认定排名")
    for f, g in ranking[ranking["decision"] == "field_has_centre"].groupby("field", sort=True):
        echo(f"  一领域一中心 field taken: {f} ({'、'.join(g['application_id'])} not recommended): {register.get(f, '')}")
    echo(f"  补助台账 subsidy ledger: {ledger.total() / 10_000:g}万元 granted in {len(ledger.entries)} entries "
         "(life cycle and this ranking; never twice per centre and kind)")
    for label, code in (("建议认定 recommended", "recommend"), ("培育 cultivation", "cultivation")):
        rows = ranking[ranking["decision"] == code]
        echo(f"  {label}: " + ("、".join(f"{r.application_id}({r.field} {r.score:.2f})" for r in rows.itertuples())
                                   or "无 none"))
    return ranking


def run_demo(data_dir: Path, out: Path, policy: Policy, echo: Echo = print, seed: int = 0,
             time_limit: float = 30.0) -> dict:
    """Run the whole round on the demo data in `data_dir`, writing every output to `out`; returns
    each step's result (import report, screening, conflicts, plan, scores, ranking)."""
    started = time.time()
    data_dir, out = Path(data_dir), Path(out)
    if not data_dir.exists():
        raise UserError(f"{data_dir}: demo data folder not found")
    policy = demo_policy(policy)
    echo(f"== 1 导入 Import ({data_dir}, reference date {policy.as_of_date()})")
    data, report = load_round_from(data_dir / "applications.xlsx", policy)
    for line in report.summary_lines():
        echo("  " + line)
    for issue in report.all_issues:
        echo("  " + str(issue))
    results: dict = {"import": report}
    screening = results["screening"] = _screening(data, policy, out, echo)
    cs = results["conflicts"] = _conflicts(data, policy, out, echo)

    echo("== 4 专家组、评分与晋级 Panels, scores and advancement, stage by stage (policy [stages.gates])")
    # The demo round's returned scores were simulated on the panels this loop plans (reviewer.demo.panels),
    # so the CLI, the app and an analyst's `reviewer aggregate` all rank the same scores, given by the
    # experts the score sheets name.
    returned = _returned(data_dir, policy, echo)

    def scores_of(stage: str, seats: pd.DataFrame, _plant: str | None) -> pd.DataFrame:
        mine = set(seats.loc[seats["stage"] == stage, "application_id"])
        got = returned[(returned["panel"] == stage) & returned["application_id"].isin(mine)]
        return got[["expert_id", "application_id", "criterion", "score"]]

    try:
        stages = run_stages(data, policy, scores_of, screening=screening, conflicts=cs, out=out, echo=echo,
                            time_limit=time_limit, plan_echo=echo)
    except RuntimeError as e:
        raise UserError(f"the demo round has no feasible plan: {e}") from None
    _write_plans(stages, out)
    results["plan"], results["stages"] = stages, stages.summary
    if policy.stages.site:
        results["site_plan"] = _site_plan(data, policy, stages.panels, screening, cs, out, echo, seed)
    final_stage = policy.stages.order[-1]
    final = stages.panels[stages.panels["stage"] == final_stage]
    _score_sheets(policy, final, out, echo)
    reached, left = stages.reached, stages.left
    scores = results["scores"] = stages.scores[final_stage]
    apps_df = pd.DataFrame([a.model_dump(exclude={"members", "platforms"}) for a in data.applications])
    fields = apps_df.set_index("application_id")["field"]
    panels = final[final["application_id"].isin(set(reached))].groupby("application_id")["expert_id"].apply(list).to_dict()
    rp = demo_replay(data_dir, policy)    # the past centres' life cycle up to the round date: register and ledger
    results["register"] = demo_register(rp, policy)
    ranking = results["ranking"] = _ranking(scores, fields, screening, policy, out, echo, panels,
                                            (results["register"], rp.ledger), left)
    results["ledger"] = rp.ledger

    write_run_record(run_record("demo", report.inputs(), policy, {"data": str(data_dir), "seed": seed}, started,
                                extra={"screening": screening.counts(),
                                       "plans": {st: p.record() for st, p in stages.plans.items()},
                                       "stages": stages.summary,
                                       "recommended": ranking.loc[ranking["decision"] == "recommend",
                                                                  "application_id"].tolist()}), out)
    echo("== 各阶段 Per stage: " + " → ".join(f"{g['stage']} {g['in']}" for g in stages.summary)
         + f" → 建议认定 recommended {int((ranking['decision'] == 'recommend').sum())}")
    echo(f"== 完成 Done: outputs in {out}/")
    return results
