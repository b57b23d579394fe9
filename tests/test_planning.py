"""Planning glue: domain records -> solver arrays -> tables with ids, all hard rules checked."""
import numpy as np
import pytest

from reviewer.conflicts.detector import detect_conflicts
from reviewer.panels.problem import build_problem
from reviewer.panels.service import solve_round
from reviewer.panels.tables import coverage_table, diagnostics_table, loads_table, panels_table
from solver.check import check_plan
from tests.factories import CODES, application, expert, member, platform, policy, round_data

P = policy()
CATS = ["经济", "技术", "产业", "管理", "金融"]


def small_round(n_apps=4, per_cat=6, drop_finance=False):
    apps = []
    for j in range(n_apps):
        lead = CODES[10 + 3 * j]
        apps.append(application(f"A{j}", lead_code=lead, field="汽车" if j % 2 == 0 else "生物医药",
                                lead_city="柳州" if j % 2 == 0 else "南宁",
                                members=[member(f"A{j}", CODES[11 + 3 * j]), member(f"A{j}", CODES[12 + 3 * j])],
                                platforms=[platform(f"A{j}", lead)]))
    experts = []
    k = 0
    for c in CATS:
        if drop_finance and c == "金融":
            continue
        n = per_cat * 2 if c == "技术" else per_cat
        for i in range(n):
            f = ("汽车",) if i % 2 == 0 else ("生物医药",)
            experts.append(expert(f"X{k:03d}", category=c, fields=f, title_level="正高级" if i % 3 != 2 else "副高级",
                                  employer=f"单位{k % 17}", employer_credit_code=CODES[100 + k % 17],
                                  city="桂林" if k % 5 else "柳州", specialties="汽车轻量化" if f == ("汽车",) else "中药"))
            k += 1
    # one expert works for A0's lead unit: must never sit on A0
    experts[0] = experts[0].model_copy(update={"employer_credit_code": CODES[10], "employer": "A0牵头"})
    return round_data(apps, experts)


def test_three_stages_all_rules_hold():
    data = small_round()
    cs = detect_conflicts(data, P)
    inp = build_problem(data, cs, P)
    plan = solve_round(inp, time_limit=20)
    assert plan.feasible, plan.diagnostics
    assert check_plan(inp.problem, plan) == []
    panels = panels_table(inp, plan)
    sizes = panels.groupby(["stage", "application_id"]).size()
    for (stage, _), n in sizes.items():
        assert n == P.panel_size(stage)
    assert not ((panels["expert_id"] == "X000") & (panels["application_id"] == "A0")).any()
    cov = coverage_table(panels, CATS)
    assert (cov[CATS] >= 1).all().all()
    chairs = panels[panels["role"] == "chair"]
    assert len(chairs) == len(sizes) and (chairs["category"] == "技术").all() and chairs["field_match"].all()
    assert (loads_table(inp, plan)["load"] <= 6).all()
    # stage independence: no expert on the same application twice
    assert not panels.duplicated(["application_id", "expert_id"]).any()


def test_infeasible_round_is_explained_in_words():
    data = small_round(drop_finance=True)
    inp = build_problem(data, detect_conflicts(data, P), P)
    plan = solve_round(inp, time_limit=10)
    assert not plan.feasible
    d = diagnostics_table(inp, plan)
    assert len(d) and (d["category"] == "金融").any()
    assert d["message_zh"].str.contains("金融").any() and d["message_en"].str.len().gt(10).all()


def test_locks_and_unknown_ids():
    from reviewer.errors import UserError
    data = small_round()
    cs = detect_conflicts(data, P)
    inp = build_problem(data, cs, P, locks=[("初审评估", "X005", "A1")])
    plan = solve_round(inp, stages=["初审评估"], time_limit=10)
    panels = panels_table(inp, plan)
    assert ((panels["expert_id"] == "X005") & (panels["application_id"] == "A1")).any()
    with pytest.raises(UserError, match="unknown expert"):
        build_problem(data, cs, P, locks=[("初审评估", "NOPE", "A1")])


def test_repair_keeps_every_unaffected_seat():
    from reviewer.panels.service import repair_round
    data = small_round()
    inp = build_problem(data, detect_conflicts(data, P), P)
    plan = solve_round(inp, time_limit=20)
    before = panels_table(inp, plan)
    seat = before[(before["stage"] == "认定评审") & (before["role"] == "member")].iloc[0]
    res = repair_round(inp, plan, [("认定评审", seat["expert_id"], seat["application_id"])])
    assert check_plan(inp.problem, res.plan) == []
    after = res.panels
    key = ["stage", "application_id", "expert_id"]
    lost = before.merge(after, on=key, how="left", indicator=True)
    lost = lost[lost["_merge"] == "left_only"][key]
    assert len(lost) == 1 and lost.iloc[0]["expert_id"] == seat["expert_id"]   # only the declined seat left
    assert res.changed_seats == 1
    assert set(res.changes["change"]) == {"dropped", "added"}
    assert not ((after["expert_id"] == seat["expert_id"]) & (after["application_id"] == seat["application_id"])
                & (after["stage"] == "认定评审")).any()
    assert len(res.alternates) > 0


def test_affinity_is_cached_as_a_sparse_matrix(tmp_path):
    import scipy.sparse as sp
    from reviewer.panels.affinity import affinity_matrix
    data = small_round()
    a = affinity_matrix(list(data.experts), list(data.applications), cache_dir=tmp_path)
    files = list(tmp_path.glob("affinity_*.npz"))
    assert len(files) == 1 and sp.issparse(sp.load_npz(files[0]))
    b = affinity_matrix(list(data.experts), list(data.applications), cache_dir=tmp_path)
    assert (a != b).nnz == 0
    # field match and specialty text: an 汽车 expert is closer to an 汽车 application than a 生物医药 one
    car = [i for i, e in enumerate(data.experts) if e.fields == ("汽车",)]
    assert data.applications[0].field == "汽车" and data.applications[1].field == "生物医药"
    assert all(a[i, 0] > a[i, 1] for i in car) and len(car) > 5


def test_random_draw_keeps_every_rule_and_reproduces_from_its_seed(tmp_path):
    from reviewer.panels.service import draw_round
    data = small_round()
    inp = build_problem(data, detect_conflicts(data, P), P, cache_dir=tmp_path)
    a = draw_round(inp, ["认定评审"], seed=3, q=0.5, time_limit=60, cache_dir=tmp_path)
    b = draw_round(inp, ["认定评审"], seed=3, q=0.5, time_limit=60, cache_dir=tmp_path)
    assert a.feasible and a.path == "lp_randomized"
    assert check_plan(inp.problem, a, stages=[2]) == []
    assert panels_table(inp, a).equals(panels_table(inp, b))
    assert a.info["q"] == 0.5 and a.info.get("max_marginal", 0.0) <= 0.5 + 1e-9


def test_a_draw_out_of_time_is_a_clear_error_never_another_lottery(tmp_path, monkeypatch):
    """A lottery cut short by the clock would depend on the machine's load: the draw aborts instead,
    saying so in Chinese and English, and names what to try."""
    from reviewer.errors import UserError
    from reviewer.panels import service
    from reviewer.panels.lottery_cache import clear_cache
    data = small_round()
    inp = build_problem(data, detect_conflicts(data, P), P, cache_dir=tmp_path)
    assert service.draw_safety_seconds(30) == 300 and service.draw_safety_seconds(60) == 600
    clear_cache()
    monkeypatch.setattr(service, "draw_safety_seconds", lambda t: 1e-6)
    with pytest.raises(UserError) as e:
        service.draw_round(inp, ["认定评审"], seed=3, q=0.5, time_limit=60, cache_dir=tmp_path)
    msg = str(e.value)
    assert msg.startswith("随机抽取未完成") and "No draw was made" in msg and "--time-limit" in msg
    assert "认定评审" in msg and not list(tmp_path.glob("lottery-*.npz"))
