"""Synthetic demo data for one review round (2026) of 广西制造业创新中心试点, and past-centre indicators.

Everything here is fictional: firm names, people, phone numbers and figures are invented
(universities, research institutes and banks are real Guangxi institutions, their codes are not).
The generator is deterministic: the same seed gives the same tables, whatever today's date is.
The round is dated on `reviewer.demo.reference.REFERENCE_DATE` (2026-11-01), the day conflict windows are judged on
(unless the policy given names its own meta.as_of).

    python -m reviewer.demo.generate [--out reviewer/data/demo] [--seed 2026]

Files written to the output folder
----------------------------------
Input tables (headers = the `zh` names of `reviewer.intake.schema`, in schema order):
``applications.xlsx`` (sheet 申报书), ``members.xlsx`` (成员单位), ``platforms.xlsx`` (创新平台),
``experts.xlsx`` (专家库), ``expert_history.xlsx`` (专家履历), ``declared_conflicts.xlsx`` (回避申报);
``round2026.xlsx`` holds the same six sheets in one workbook; ``csv/<table>.csv`` are UTF-8-with-BOM
copies (``utf-8-sig``, so Excel shows the Chinese correctly).

Demo panels and scores:
``demo_panels.csv`` — 阶段 stage, 申报编号 application_id, 专家编号 expert_id, 角色 role (组长 chair / 成员 member):
  the 初审评估 (5), 现场考察 (5) and 认定评审 (7) panels, planned stage by stage by the real planner on the
  generated round (imported, screened and conflict-checked by the product's own code) for the applications
  that reached each stage (see `reviewer.demo.panels`, `reviewer.demo.gating`), so they are the panels
  `reviewer demo` plans;
``scores.csv`` / ``scores.xlsx`` (sheet 评分) — long format, one row per expert, application and criterion:
  阶段 stage, 申报编号 application_id, 专家编号 expert_id, 评分项 criterion (初审评估 and 认定评审: A1..F3 of
  the policy rubric; 现场考察: V1..V4, S1..S3 of the verification checklist 现场考察核查表, a veto item 0 =
  不属实), 得分 score (0..criterion max; one decimal, or whole points for experts who score that way;
  blank = not scored). Planted: the best application of 初审评估 is found 材料不实 by a majority of its
  现场考察 panel (planted.json scores.veto) and does not reach 认定评审.

Past round (2022) pilot centres, for the annual evaluation (考核评估):
``past_centres.xlsx`` (sheet 试点中心) — 中心编号 centre_id, 中心名称 name, 领域 field, 所在市 city,
  牵头单位 lead_unit, 牵头单位统一社会信用代码 lead_credit_code, 批复年度 approval_year,
  建设期起始日期 build_start (date), 状态 state (as recorded: 试点).
``indicators.xlsx`` (sheet 年度指标) — one row per centre and year (2023-2025):
  中心编号 centre_id, 年度 year, 委托研发合同数 contract_count, 委托研发合同金额(元) contract_amount,
  发明专利申请数 invention_applications, 发明专利授权数 invention_grants, 标准数 standards,
  产业化成果数 industrialised_count, 产业化成功率 industrialised_rate (ratio 0..1),
  研发投入(元) rd_input, 研发人员数 rd_staff, 合作与服务次数 collaboration_services,
  建设任务完成率 build_completion (cumulative share of the build tasks done, ratio 0..1),
  and the annual build targets declared at approval: 目标_委托研发合同数, 目标_委托研发合同金额(元),
  目标_发明专利授权数, 目标_标准数, 目标_产业化成果数, 目标_产业化成功率, 目标_研发投入(元),
  目标_研发人员数, 目标_合作与服务次数.

``planted.json`` lists what was planted on purpose (expected screening outcomes, conflicts with
their rule, scoring quirks, centre life-cycle cases), so tests and reviewers can check the pipeline.

In memory, `generate_demo` returns DataFrames with the internal (English) column keys."""
from __future__ import annotations

import argparse
import datetime as dt
import random
import tempfile
from pathlib import Path

import pandas as pd

from reviewer.demo.applications import DemoApp, build_applications
from reviewer.demo.centres import build_past_centres
from reviewer.demo.experts import build_experts
from reviewer.demo.names import Firms, Names
from reviewer.demo.panels import plan_demo_round
from reviewer.demo.planting import Planter
from reviewer.demo.proposals import PLANTED_SCREENING
from reviewer.demo.reference import demo_policy
from reviewer.demo.scores import simulate_stages
from reviewer.demo.writer import schema_frame, write_demo, write_input_csv
from reviewer.intake import schema
from reviewer.policy import Policy, load_policy
from reviewer.resources import DEMO_DIR as DEFAULT_OUT

DEFAULT_SEED = 2026


def _input_frames(apps: list[DemoApp], platforms: list[dict], experts: list[dict], history: list[dict],
                  declared: list[dict]) -> dict[str, pd.DataFrame]:
    return {
        "applications": schema_frame([a.row for a in apps], schema.APPLICATIONS),
        "members": schema_frame([m for a in apps for m in a.members], schema.MEMBERS),
        "platforms": schema_frame(platforms, schema.PLATFORMS),
        "experts": schema_frame(sorted(experts, key=lambda e: e["expert_id"]), schema.EXPERTS),
        "expert_history": schema_frame(sorted(history, key=lambda h: (h["expert_id"], h["start"] or dt.date.min,
                                                                      h["kind"], h["org_name"] or "")),
                                       schema.EXPERT_HISTORY),
        "declared_conflicts": schema_frame(sorted(declared, key=lambda d: (d["application_id"], d["expert_id"],
                                                                           d["kind"])), schema.DECLARED_CONFLICTS),
    }


def _expected_screening(apps: list[DemoApp]) -> dict[str, dict]:
    """Application id -> the screening outcome its planted case expects under the default policy."""
    expected = {}
    for a in apps:
        p = a.proposal
        exp = PLANTED_SCREENING.get(p.flag, {})
        outcome = "fail" if "fail" in exp.values() else ("needs-review" if exp else "pass")
        expected[a.app_id] = {"outcome": outcome, "rules": exp, "case": p.flag or "normal", "field": p.field,
                              "city": p.city}
    return expected


def build_round(seed: int, policy: Policy) -> tuple[dict[str, pd.DataFrame], dict]:
    """All demo tables (English keys) and the planted-cases record. Nothing is written to the output
    folder: the input tables pass through a temporary folder only, for the importer (the panels are
    planned on the round as the importer reads it)."""
    policy = demo_policy(policy)
    as_of = dt.date.fromisoformat(policy.meta.as_of)
    rng = random.Random(seed)
    names = Names(random.Random(f"names:{seed}"))
    firms = Firms(random.Random(f"firms:{seed}"))
    apps, platforms, flags = build_applications(random.Random(f"apps:{seed}"), policy, names, firms)
    experts, history = build_experts(random.Random(f"experts:{seed}"), policy, names, firms, apps)
    planter = Planter(random.Random(f"plant:{seed}"), apps, experts, history, policy, as_of)
    planter.run()
    declared = planter.declared

    tables = _input_frames(apps, platforms, experts, history, declared)
    weak_b = flags.get("weakB")
    quality = {weak_b: {"total": 87, "families": {"B": -0.32}}} if weak_b else {}

    def simulate(seats: pd.DataFrame, veto: tuple[str, str] | None) -> pd.DataFrame:
        return simulate_stages(seats, tables["applications"], tables["experts"], policy, seed, quality, veto=veto)

    with tempfile.TemporaryDirectory(prefix="reviewer-demo-") as tmp:   # the round as the importer reads it
        write_input_csv(tables, Path(tmp))
        panels, scores, stages = plan_demo_round(Path(tmp), policy, simulate)
    past, indicators, past_cases = build_past_centres(rng, firms)
    tables.update(panels=panels, scores=scores, past_centres=past, indicators=indicators)
    planted = {"reference_date": as_of.isoformat(), "seed": seed, "screening": _expected_screening(apps),
               "conflicts": planter.cases, "scores": scores.attrs.get("planted", {}),
               "weak_family_B": weak_b, "past_centres": past_cases,
               "stages": [{k: v for k, v in g.items()} for g in stages.summary]}
    return tables, planted


def generate_demo(out_dir: str | Path, seed: int, policy: Policy) -> dict[str, pd.DataFrame]:
    """Generate the demo round and write its files to `out_dir`; returns the tables (English keys)."""
    tables, planted = build_round(seed, policy)
    write_demo(tables, planted, out_dir)
    return tables


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m reviewer.demo.generate",
                                 description="Write the synthetic demo round (2026) and past-centre indicators.")
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="output folder (default: reviewer/data/demo)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    ap.add_argument("--policy", default=None, help="policy file (default: the bundled policy)")
    args = ap.parse_args(argv)
    tables = generate_demo(args.out, args.seed, load_policy(args.policy))
    for name, df in tables.items():
        print(f"{name:20s} {len(df):6d} rows")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
