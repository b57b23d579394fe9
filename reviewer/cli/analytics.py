"""`reviewer bias`, `reviewer whatif`, `reviewer validity`: the analysts' commands (issue 18).

    reviewer bias SCORES.csv|.xlsx [--relations RELATIONS.csv] [--out FOLDER]      any long table
    reviewer bias --round R [--stage S ...] [--db URL] [--out FOLDER]              a stored round
    reviewer whatif --round R [--stage S] [--method M] [--trim K] [--recommend-min 75]
                    [--cultivation-min 60] [--family-min B=15] [--one-per-field/--no-one-per-field]
                    [--budget YUAN] [--min-scores N] [--quorum-share X] [--out FILE.xlsx]
    reviewer whatif --reproduce RUN_ID
    (--method calibrated_pooled borrows the experts' scores of the other stages / rounds on the same
    instrument; the run records their ids so --reproduce uses exactly them)
    reviewer validity [--scores PAST_SCORES.csv --evaluations EVALUATIONS.csv | --demo] [--out FOLDER]

Nothing here changes a recorded ranking, score or decision; a what-if is recorded as an analyst run.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import pandas as pd
import typer

from reviewer.analytics.bias import SCHEME, SCHEME_ZH, BiasAudit, audit_bias
from reviewer.analytics.stored import reproduce_whatif, round_bias, run_whatif, stored_validity_tables
from reviewer.analytics.tables import read_long
from reviewer.analytics.validity import VALIDITY_SCHEME, ValidityReport, read_validity_tables, validity_report
from reviewer.analytics.whatif import Scenario, comparison_sheets
from reviewer.demo.past_rounds import demo_validity_tables
from reviewer.cli.common import DbOpt, UserOpt, current_user, echo, echo_wrote, open_store
from reviewer.errors import UserError
from reviewer.exports import write_xlsx


def register(app: typer.Typer) -> None:
    """Add `bias`, `whatif` and `validity` to the main `reviewer` app."""
    app.command("bias")(bias)
    app.command("whatif")(whatif)
    app.command("validity")(validity)


BIAS_ZH = {"relation": "关系", "relation_zh": "关系名称", "n_seats": "评分份数", "n_experts": "专家数",
           "n_panels": "专家组数", "effect": "效应(分)", "se": "标准误", "ci_low": "区间下限", "ci_high": "区间上限",
           "p_perm": "置换p值", "q_bh": "BH q值", "flagged": "标记"}


def bias_sheets(a: BiasAudit) -> dict[str, pd.DataFrame]:
    rel = a.relations.rename(columns=BIAS_ZH)
    seats = a.seats.assign(relations=a.seats["relations"].map("、".join))
    method = pd.DataFrame({"项目": ["方法", "method", "置信水平", "alpha", "置换次数", "随机种子"],
                           "内容": [SCHEME_ZH, SCHEME, a.level, a.alpha, a.n_permutations, a.seed]})
    return {"关系效应": rel, "专家个人效应": a.experts, "评分偏离": seats, "方法说明": method}


def bias_lines(a: BiasAudit) -> list[str]:
    out = [f"方法 method: {SCHEME}"]
    for x in a.relations.itertuples():
        ci = "—" if pd.isna(x.ci_low) else f"[{x.ci_low:+.2f}, {x.ci_high:+.2f}]"
        out.append(f"{x.relation} {x.relation_zh}: {x.n_seats} 份评分 seats, 效应 effect {x.effect:+.2f} 分, "
                   f"{a.level:.0%} 区间 {ci}, 置换 p = {x.p_perm:.4f}, BH q = {x.q_bh:.4f}"
                   + ("  ⚑ 标记 flagged" if x.flagged else ""))
    flagged = a.experts[a.experts["flagged"]] if not a.experts.empty else a.experts
    out.append(f"专家个人效应 per expert: {len(a.experts)} 个可估计, {len(flagged)} 个标记 flagged "
               "(仅供专家库记录参考，不自动扣分 a flag with its evidence, never an automatic penalty)")
    out += [f"  ⚑ {x.expert_id}: {x.evidence}" for x in flagged.itertuples()]
    return out + a.notes


def bias(scores: Optional[Path] = typer.Argument(None, help="Long score table: 专家编号, 申报编号, 得分 "
                                                               "(评分项, 阶段, 关系 optional)."),
         relations: Optional[Path] = typer.Option(None, "--relations", help="专家编号, 申报编号, 关系 (one label a row, "
                                                                             "or several separated by ; 、)."),
         round_: Optional[str] = typer.Option(None, "--round", "-r", help="A stored round instead of a file."),
         stage: List[str] = typer.Option([], "--stage", "-s", help="Stages of the stored round (default: all scored)."),
         permutations: int = typer.Option(4999, "--permutations"), seed: int = typer.Option(0, "--seed"),
         level: float = typer.Option(0.95, "--level"), alpha: float = typer.Option(0.05, "--alpha"),
         out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for bias_audit.xlsx."),
         db: Optional[str] = DbOpt) -> None:
    """关系偏差审计 Relation-bias audit: does a (soft) relation lift an expert's score above the panel's?"""
    if (scores is None) == (round_ is None):
        raise UserError("give a score table (reviewer bias SCORES.csv --relations R.csv) or --round R, not both")
    kw = dict(n_permutations=permutations, seed=seed, level=level, alpha=alpha)
    if round_:
        a = round_bias(open_store(db), round_, list(stage) or None, **kw)
    else:
        totals, rel = read_long(scores, relations)
        a = audit_bias(totals, rel, **kw)
    for line in bias_lines(a):
        echo(line)
    if out:
        echo_wrote([write_xlsx(bias_sheets(a), Path(out) / "bias_audit.xlsx")])


def _family_min(items: List[str]) -> dict[str, float] | None:
    if not items:
        return None
    fm = {}
    for it in items:
        k, sep, v = it.partition("=")
        try:
            fm[k.strip()] = float(v)
        except ValueError:
            raise UserError(f"--family-min {it!r}: expected FAMILY=POINTS, e.g. B=15") from None
        if not sep or not k.strip():
            raise UserError(f"--family-min {it!r}: expected FAMILY=POINTS, e.g. B=15")
    return fm


def whatif(round_: Optional[str] = typer.Option(None, "--round", "-r"),
           stage: Optional[str] = typer.Option(None, "--stage", "-s", help="Default: the last stage (认定评审)."),
           method: Optional[str] = typer.Option(None, "--method", "-m", help="trimmed, median, mean, winsorized, "
                                                "huber, calibrated (本阶段校准: this stage only), calibrated_pooled "
                                                "(跨阶段校准: leniency from the experts' other stages and rounds on the "
                                                "same instrument, recorded by score ids), bayes."),
           trim: Optional[int] = typer.Option(None, "--trim"),
           recommend_min: Optional[float] = typer.Option(None, "--recommend-min", "--threshold",
                                                         help="推荐线 (policy: 75)."),
           cultivation_min: Optional[float] = typer.Option(None, "--cultivation-min", help="培育线."),
           family_min: List[str] = typer.Option([], "--family-min", help="Family minimum, e.g. B=15 (repeat; "
                                                                        "replaces the policy's minima)."),
           one_per_field: Optional[bool] = typer.Option(None, "--one-per-field/--no-one-per-field"),
           budget: Optional[float] = typer.Option(None, "--budget", help="Total budget in yuan (0 = no limit)."),
           min_scores: Optional[int] = typer.Option(None, "--min-scores", help="Quorum: valid totals needed."),
           quorum_share: Optional[float] = typer.Option(None, "--quorum-share", help="Quorum: share of the seats."),
           resamples: int = typer.Option(400, "--resamples"), seed: Optional[int] = typer.Option(None, "--seed"),
           reproduce: Optional[int] = typer.Option(None, "--reproduce", help="Redo a recorded what-if run."),
           out: Optional[Path] = typer.Option(None, "--out", "-o", help="The one-page comparison (.xlsx)."),
           db: Optional[str] = DbOpt, user: Optional[str] = UserOpt) -> None:
    """如果…会怎样 What-if re-ranking: the stage ranked under other rules, side by side; recorded, never applied."""
    if reproduce is not None:
        same, _cmp, diffs = reproduce_whatif(open_store(db), reproduce)
        echo(f"what-if run #{reproduce}: " + ("IDENTICAL 结果一致" if same else "DIFFERENT 结果不同"))
        for d in diffs:
            echo("  " + d)
        raise typer.Exit(0 if same else 1)
    if not round_:
        raise UserError("--round R is needed (or --reproduce RUN_ID)")
    if out is not None and out.suffix.lower() != ".xlsx":
        raise UserError(f"--out {out}: expected an .xlsx file (the one-page comparison)")
    sc = Scenario(method=method, trim=trim, recommend_min=recommend_min, cultivation_min=cultivation_min,
                  family_min=_family_min(family_min), one_per_field=one_per_field, budget=budget,
                  min_scores=min_scores, quorum_share=quorum_share)
    run, cmp_, notes = run_whatif(open_store(db), round_, stage, sc, user=current_user(user), resamples=resamples,
                                  seed=seed)
    p = run.parameters
    echo(f"what-if run #{run.id} ({p['stage']}): {p['label']} — 记录的排名不变 the recorded ranking is unchanged")
    for n in notes[:3]:
        echo(f"  note: {n}")
    changed = cmp_[cmp_["changed"]]
    echo(f"结论变化 changed decisions: {len(changed)}")
    for x in changed.itertuples():
        echo(f"  {x.application_id} {x.name or ''}: {x.why_zh}")
    if out:
        title = f"批次 {round_} {p['stage']}：{p['label']}（分析运行 #{run.id}）"
        echo_wrote([write_xlsx(comparison_sheets(cmp_, title, {"run": run.id, "seed": p["seed"],
                                                                "resamples": p["resamples"], **p["scenario"]}), out)])


def validity_lines(v: ValidityReport) -> list[str]:
    out = [f"方法 method: {VALIDITY_SCHEME}", f"{v.n_centres} 个中心 centres with a recognition score and a later "
                                             f"evaluation ({v.outcome_label})"]
    for x in v.methods.itertuples():
        out.append(f"  方法 {x.method}: Spearman rho = {x.rho:+.3f}, {v.level:.0%} bootstrap [{x.rho_low:+.3f}, "
                   f"{x.rho_high:+.3f}]")
    for x in v.families.itertuples():
        out.append(f"  分项 family {x.family} {x.family_name}: rho = {x.rho:+.3f} [{x.rho_low:+.3f}, {x.rho_high:+.3f}]"
                   + ("  ← 有预测信号 carries signal" if x.rho_low > 0 else ""))
    ex = v.experts.dropna(subset=["diff"])
    for x in ex[(ex["diff_high"] < 0) | (ex["diff_low"] > 0)].itertuples():
        out.append(f"  专家 expert {x.expert_id}: {x.n_centres} 个中心 centres, rho = {x.rho:+.3f} "
                   f"[{x.rho_low:+.3f}, {x.rho_high:+.3f}], 与共识之差 vs consensus {x.diff:+.3f} "
                   f"[{x.diff_low:+.3f}, {x.diff_high:+.3f}] (收缩 shrunk {x.diff_shrunk:+.3f}): {x.assessment}")
    return out + v.notes


def validity(scores: Optional[Path] = typer.Option(None, "--scores", help="Past recognition scores (long): 批次/round, "
                                                                           "申报编号, 专家编号, 评分项, 得分."),
             evaluations: Optional[Path] = typer.Option(None, "--evaluations", help="Later annual evaluations: "
                                                                                     "中心编号/申报编号, 年度, 总分, 等次."),
             demo: bool = typer.Option(False, "--demo", help="The demo's past rounds (reviewer.demo.past_rounds)."),
             db: Optional[str] = DbOpt, resamples: int = typer.Option(2000, "--resamples"),
             seed: int = typer.Option(0, "--seed"),
             out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for validity.xlsx.")) -> None:
    """预测效度 Did the recognition scores predict the centres' later annual evaluations? (files, --demo, or
    the store: every round's recognition scores linked to the stored annual evaluations)"""
    if demo and scores is not None:
        raise UserError("give --scores S.csv --evaluations E.csv, or --demo, not both")
    if demo:
        sc, ev, pol = demo_validity_tables()
    elif scores is None:
        sc, ev, pol = stored_validity_tables(open_store(db))
    else:
        if evaluations is None:
            raise UserError("--scores needs --evaluations (the centres' later annual evaluations)")
        sc, ev, pol = read_validity_tables(scores, evaluations)
    v = validity_report(sc, ev, pol, n_resamples=resamples, seed=seed)
    for line in validity_lines(v):
        echo(line)
    if out:
        echo_wrote([write_xlsx(v.sheets(), Path(out) / "validity.xlsx")])
