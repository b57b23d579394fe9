"""Every page of the staff app through streamlit.testing (AppTest): main path and an error path."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from reviewer.app import expert_view as svc_expert_view
from reviewer.app import imports as svc_imports
from reviewer.app import panels as svc_panels
from reviewer.app import rounds as svc_rounds
from reviewer.app import scores as svc_scores
from reviewer.app import screening as svc_screening
from reviewer.resources import DEMO_DIR
from reviewer.app import auth
from reviewer.app.ui import MAIN

APP = str(MAIN)   # the packaged entry script (reviewer/app/ui/main.py); pages are relative to it
TIMEOUT = 120


@pytest.fixture()
def appdata(tmp_path, monkeypatch):
    """A fresh home in demo mode (`reviewer app --demo`: no accounts, no sign-in); the access tests
    below switch demo mode off."""
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    return tmp_path


def start(page_file: str | None = None, **query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if page_file:
        at.switch_page(page_file).run()
        assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "markdown", "caption", "error", "warning", "info", "success", "subheader")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def shown_tables(at: AppTest) -> list[pd.DataFrame]:
    """The static tables (st.table: long text read whole) as staff see them: Chinese headers, values in
    words; the text is escaped for Markdown, so a "\\" before a markup character is dropped here."""
    out = []
    for t in at.table:
        df = t.value.copy()
        for c in df.columns:
            if df[c].dtype == object:
                df[c] = df[c].map(lambda v: re.sub(r"\\(.)", r"\1", v) if isinstance(v, str) else v)
        out.append(df)
    return out


def button(at: AppTest, label: str):
    for b in at.button:
        if b.label == label:
            return b
    raise AssertionError(f"no button {label!r}: {[b.label for b in at.button]}")


def charts(at: AppTest) -> list:
    return at.get("vega_lite_chart")


def open_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Open a lazy tab (st.tabs with on_change="rerun"), as a click on it does: only its content is made."""
    at.session_state[key] = label
    return at.run()


# ---------------------------------------------------------------- round

def test_round_page_opens_on_the_demo_round(appdata):
    at = start()
    assert at.title[0].value == "轮次 Round"
    vals = [m.value for m in at.metric]
    assert "40" in vals and "400 (392)" in vals
    assert "2026年度制造业创新中心试点（演示）" in texts(at)
    state = frames(at)[0]
    assert list(state["stage"]) == ["初审评估", "现场考察", "认定评审"]


def test_round_page_creates_a_round_and_rejects_a_blank_name(appdata):
    at = start()
    form_btn = [b for b in at.button if b.label == "创建"][0]
    form_btn.click().run()
    assert "round name" in texts(at)                        # error path: no name
    at.text_input[0].input("2027年度试点")  # a form: the value goes with the submit
    [b for b in at.button if b.label == "创建"][0].click().run()
    assert "已创建轮次 2027年度试点" in texts(at)
    assert at.session_state["round_id"] != svc_rounds.DEMO_ROUND_ID
    assert any(r.name == "2027年度试点" for r in svc_rounds.list_rounds())


def test_language_switch(appdata):
    # (AppTest drops the entry script's sidebar widgets on a rerun under st.navigation, so the switch is
    # driven by the URL parameter the radio keeps; the browser test clicks the radio itself.)
    at = start()
    assert at.radio(key="lang_radio").value == "中文"
    at = start(lang="en")
    assert at.session_state["lang"] == "en"
    assert "Stages" in [s.value for s in at.subheader]
    assert at.title[0].value == "轮次 Round"                # titles stay bilingual


# ---------------------------------------------------------------- import

def test_import_page_bad_upload_shows_row_errors(appdata):
    at = start("views/import_data.py")
    assert at.title[0].value == "导入 Import"
    assert any("模板" in d.label for d in at.get("download_button"))
    apps = pd.read_excel(DEMO_DIR / "round2026.xlsx", sheet_name="申报书", dtype=str)
    apps.loc[2, "牵头单位统一社会信用代码"] = "NOT-A-CODE"
    apps.loc[4, "领域"] = "造船"
    at.file_uploader[0].set_value(("申报书.csv", apps.to_csv(index=False).encode("utf-8"), "text/csv"))
    at.run()
    button(at, "导入").click().run()
    assert not at.exception
    assert "处错误" in texts(at)  # the two bad rows, and the members and platforms of those applications
    issues = [f for f in frames(at) if "expected_zh" in f.columns][0]   # 应为 in Chinese
    assert set(issues["row"].dropna().astype(int)) >= {4, 6}
    assert issues["value"].astype(str).str.contains("NOT-A-CODE").any()


def test_import_page_good_upload(appdata):
    at = start("views/import_data.py")
    data = (DEMO_DIR / "round2026.xlsx").read_bytes()
    at.file_uploader[0].set_value(("round2026.xlsx", data, "application/octet-stream"))
    at.run()
    button(at, "导入").click().run()
    assert "导入成功" in texts(at)


# ---------------------------------------------------------------- screening

def test_screening_page_and_review_decision(appdata):
    at = start("views/screening.py")
    summary = [f for f in shown_tables(at) if "原因" in f.columns][0]
    assert set(summary["审查结果"]) == {"通过", "不通过", "需人工复核"}
    assert summary.loc[summary["审查结果"] == "不通过", "原因"].str.len().min() > 0
    assert charts(at)
    save = button(at, "保存结论")
    save.click().run()
    assert "needs a reason" in texts(at)                    # error path
    at.text_area[0].input("已补充证明材料，核实无误")
    button(at, "保存结论").click().run()
    assert "已保存" in texts(at)
    assert svc_rounds.audit_log(svc_rounds.DEMO_ROUND_ID).iloc[0]["action"] == "review_decision"


# ---------------------------------------------------------------- experts and conflicts

def test_experts_page_charts_conflicts_and_waiver(appdata):
    at = start("views/experts.py")
    assert len(charts(at)) >= 2                       # the pool tab (only the open tab is made: lazy tabs)
    at.session_state["experts_tab"] = "回避"           # as a click on the tab
    at.run()
    assert len(charts(at)) >= 1
    hits = [f for f in shown_tables(at) if "依据" in f.columns][0]
    assert hits["规则"].str.match(r"C\d").all()
    at.session_state["experts_tab"] = "豁免"
    at.run()
    waive = [b for b in at.button if b.label == "豁免"]
    assert waive
    if waive:
        waive[0].click().run()
        assert "needs a reason" in texts(at)
        at.text_area[0].input("经核实无利害关系")
        [b for b in at.button if b.label == "豁免"][0].click().run()
        assert "已豁免" in texts(at)


# ---------------------------------------------------------------- panels

def test_panels_page_solves_and_publishes(appdata):
    at = start("views/panels.py")
    assert "本阶段尚无方案" in texts(at)
    at.number_input[0].set_value(7).run()                   # the seed
    button(at, "求解").click().run()
    assert not at.exception
    assert "随机种子 **7**" in texts(at)
    panels = [f for f in shown_tables(at) if "专家姓名" in f.columns][0]
    assert panels["申报编号"].nunique() == 29
    assert not charts(at)                                    # lazy tabs: only the open one is made
    for tab in ("类别覆盖", "负载", "匹配度", "目标分解"):        # coverage, load, affinity, objective
        assert len(charts(open_tab(at, "panels_tab", tab))) == 1, tab
    open_tab(at, "panels_tab", "发布")
    sure = [c for c in at.checkbox if "确认发布" in c.label][0]
    sure.check().run()
    button(at, "发布").click().run()
    assert "已发布" in texts(at)
    assert button(at, "求解").disabled
    done = [x.value for x in at.success if "方案不可更改" in x.value][0]
    assert "北京时间" in done and not re.search(r"\d{4}-\d\d-\d\dT\d", done), done   # not the stored UTC stamp


def test_panels_page_infeasible_shows_reasons(appdata):
    rid = svc_rounds.ensure_demo_round()
    a = svc_screening.screening(rid).eligible_ids()[0]
    fin = [x.expert_id for x in svc_imports.load_bundle(rid).data.experts if x.category == "金融"]
    for x in fin:
        svc_panels.set_constraint(rid, "初审评估", "forbid", x, a, "测试：排除全部金融专家")
    at = start("views/panels.py")
    button(at, "求解").click().run()
    t = texts(at)
    assert "无法组成符合规则的专家组" in t
    assert "金融" in t and a in t


def test_panels_page_replace_declining_expert(appdata):
    rid = svc_rounds.ensure_demo_round()
    p = svc_panels.plan_stage(rid, "初审评估", time_limit=20)
    svc_panels.publish(rid, "初审评估")
    at = open_tab(start("views/panels.py"), "panels_tab", "替换专家")
    e = p.panels.expert_id.iloc[0]
    sel = [s for s in at.selectbox if s.label == "请辞专家"][0]
    sel.set_value(e)
    button(at, "替换").click().run()
    assert "needs a reason" in texts(at)                     # error path
    [t for t in at.text_input if t.label == "理由"][-1].input("专家因病无法参加")
    button(at, "替换").click().run()
    assert "其余不变" in texts(at)
    ch = [f for f in frames(at) if "change_zh" in f.columns][0]
    assert set(ch["change_zh"]) == {"移出", "补入"}
    assert (ch.loc[ch.change_zh == "移出", "expert_id"] == e).all()


def test_panels_page_marks_a_stale_plan_and_offers_a_pair_forbid(appdata):
    rid = svc_rounds.ensure_demo_round()
    p = svc_panels.plan_stage(rid, "认定评审", time_limit=20)
    e, a = p.panels.expert_id.iloc[0], p.panels.application_id.iloc[0]
    at = start("views/panels.py")
    [r for r in at.radio if r.label == "评审阶段"][0].set_value("认定评审").run()
    assert "方案已过期" not in texts(at)
    open_tab(at, "panels_tab", "锁定与排除")
    kind = [s for s in at.selectbox if s.label == "类型"][0]
    assert "回避（全部阶段，新发现关系）" in kind.options
    kind.set_value("forbid_pair")
    [t for t in at.text_input if t.label == "专家编号"][0].input(e)
    [s for s in at.selectbox if s.label == "申报编号"][0].set_value(a)
    [t for t in at.text_input if t.label == "理由 / 依据"][0].input("与申报单位有合作项目")
    button(at, "添加").click().run()
    assert not at.exception, [x.value for x in at.exception]
    assert "方案已过期" in texts(at) and e in texts(at)
    c = svc_panels.constraints(rid)
    assert set(c.loc[(c.expert_id == e) & (c.application_id == a), "stage"]) == set(svc_rounds.policy_for(rid).stages.order)
    open_tab(at, "panels_tab", "发布")
    [x for x in at.checkbox if "我已核对专家组" in x.label][0].check().run()
    assert button(at, "发布").disabled                         # stale: no publication without a reason


# ---------------------------------------------------------------- packs (expert links)

def test_packs_page_needs_a_published_stage_then_makes_links(appdata):
    at = start("views/packs.py")
    assert "尚无已发布的专家组" in texts(at)
    rid = svc_rounds.ensure_demo_round()
    svc_panels.plan_stage(rid, "初审评估", time_limit=20)
    svc_panels.publish(rid, "初审评估")
    at = start("views/packs.py")
    button(at, "生成通知包").click().run()
    assert not at.exception
    assert "通知包" in texts(at)
    labels = [d.label for d in at.get("download_button")]
    assert any("zip" in l for l in labels) and any("汇总" in l for l in labels)
    got = [f for f in frames(at) if "file_names" in f.columns][0]
    assert got["file_names"].str.contains("评分表").all()
    addr = [t for t in at.text_input if t.label == "系统地址（专家访问用）"][0]
    addr.input("").run()
    button(at, "生成个人链接").click().run()
    assert "http://" in texts(at) and not [f for f in frames(at) if "link" in f.columns]   # no address, no links
    addr.input("https://review.gxgxt.example:8443").run()
    [n for n in at.number_input if n.label == "有效天数"][0].set_value(30).run()
    button(at, "生成个人链接").click().run()
    links = [f for f in frames(at) if "link" in f.columns][0]
    assert links["link"].str.startswith("https://review.gxgxt.example:8443/?token=").all()
    tok = links["link"].iloc[0].split("token=")[1]
    who = links["expert_id"].iloc[0]
    assert auth.resolve_token(tok).expert_id == who
    # revoke that expert's link, with a reason
    [s for s in at.selectbox if s.label == "专家"][0].set_value(who)
    [t for t in at.text_input if t.label == "理由"][-1].input("链接误发")
    button(at, "撤销").click().run()
    assert not at.exception
    assert auth.resolve_token(tok) is None
    assert f"已撤销 {who}" in texts(at)


# ---------------------------------------------------------------- scores

def test_scores_page_shows_checks_and_rejects_bad_rows(appdata):
    at = start("views/scores.py")
    assert len(charts(at)) >= 1
    assert any("krippendorff_alpha" in f.columns for f in frames(at))
    bad = "阶段,申报编号,专家编号,评分项,得分\n认定评审,GX2026-004,ZJ0001,A1,九十\n".encode("utf-8")
    at.file_uploader[0].set_value(("scores.csv", bad, "text/csv")).run()
    button(at, "导入评分").click().run()
    assert "1 处错误" in texts(at) or "错误" in texts(at)
    issues = [f for f in frames(at) if "expected" in f.columns][0]
    assert (issues["row"] == 2).any()


# ---------------------------------------------------------------- ranking

def test_ranking_page_lists_methods_and_exports(appdata):
    at = start("views/ranking.py")
    assert not at.exception
    rec = shown_tables(at)[0]
    assert len(rec) >= 1 and (rec["结论"] == "推荐认定").all()
    assert rec["理由"].str.len().min() > 0
    assert not charts(at)                                    # lazy tabs: only the open one is made
    assert len(charts(open_tab(at, "ranking_tab", "各领域得分区间"))) >= 1
    cmp_ = [f for f in shown_tables(open_tab(at, "ranking_tab", "方法对比")) if "贝叶斯 得分" in f.columns][0]
    assert {"去高低分平均 得分", "本阶段校准 得分", "跨阶段校准 得分", "贝叶斯 排名"} <= set(cmp_.columns)
    assert cmp_["贝叶斯 排名"].notna().all()
    labels = [d.label for d in open_tab(at, "ranking_tab", "导出").get("download_button")]
    assert any("Excel" in l for l in labels) and any("HTML" in l for l in labels)
    at.radio(key="rank_method").set_value("bayes").run()
    assert not at.exception


def test_ranking_page_without_scores(appdata):
    info = svc_rounds.create_round("空轮次")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["round_id"] = info.round_id
    at.run()
    at.switch_page("views/ranking.py").run()
    assert "尚无评分" in texts(at)


def test_evaluation_page(appdata):
    at = start("views/evaluation.py")
    assert at.title[0].value == "考核 Evaluation"
    assert "2025 年度考核名单" in texts(at)
    lst = [f for f in frames(at) if "band" in f.columns][0]
    assert set(lst["band"]) <= {"优秀", "良好", "合格", "不合格"} and len(lst) >= 5
    assert charts(at)


def test_evaluation_page_bad_upload_shows_row_errors(appdata):
    ind = pd.read_excel(DEMO_DIR / "indicators.xlsx", dtype=str)
    ind.iloc[1, 1] = "明年"                                       # the year column of Excel row 3
    at = start("views/evaluation.py")
    at.file_uploader(key="ev_ind").set_value(("indicators.csv", ind.to_csv(index=False).encode("utf-8"), "text/csv"))
    at.run()
    assert not at.exception
    assert "行数据有问题" in texts(at)
    issues = [f for f in frames(at) if "expected" in f.columns][0]
    assert (issues["row"] == 3).any()


# ---------------------------------------------------------------- roles

def _signed_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    return button(at, "登录").click().run()


def test_sign_in_required_once_accounts_exist(appdata):
    auth.add_user("zhang", "secret-pass-1", role="staff")
    at = start()
    assert "制造业创新中心试点 专家评审系统" in texts(at)
    assert not [t for t in at.title if t.value == "轮次 Round"]
    _signed_in(at, "zhang", "wrong-password")
    assert "不正确" in texts(at)
    _signed_in(at, "zhang", "secret-pass-1")
    assert at.title[0].value == "轮次 Round"
    # the session id never goes into the URL: a copied address (a new session) signs in again
    assert "sid" not in at.query_params
    again = start()
    assert "制造业创新中心试点 专家评审系统" in texts(again)
    assert not [t for t in again.title if t.value == "轮次 Round"]


def test_an_old_sid_in_the_url_signs_nobody_in(appdata):
    auth.add_user("zhang", "secret-pass-1", role="staff")
    sid = auth.start_session(auth.verify("zhang", "secret-pass-1"))
    at = start(sid=sid)
    assert not [t for t in at.title if t.value == "轮次 Round"]
    assert "sid" not in at.query_params


def test_no_account_means_no_rights_without_demo(appdata, monkeypatch):
    """Issue 12 item 14: no active account (none made, or all deactivated) is not demo mode."""
    monkeypatch.delenv(auth.DEMO_ENV)
    at = start()
    assert "reviewer user add 用户名 --role admin" in "\n".join(c.value for c in at.code)
    assert "尚未创建任何账户" in texts(at)
    assert not at.dataframe and not [x for x in at.title if x.value == "轮次 Round"]
    auth.add_user("admin1", "secret-pass-1", role="admin")
    auth.set_active("admin1", False)
    at = start()
    assert not at.dataframe and not [x for x in at.title if x.value == "轮次 Round"]
    assert "reviewer user add 用户名 --role admin" in "\n".join(c.value for c in at.code)


def test_demo_flag_is_ignored_once_accounts_exist(appdata):
    auth.add_user("zhang", "secret-pass-1", role="staff")
    at = start()
    assert not [t for t in at.title if t.value == "轮次 Round"]


def test_analyst_is_read_only(appdata):
    auth.add_user("li", "secret-pass-1", role="analyst")
    at = _signed_in(start(), "li", "secret-pass-1")
    at.switch_page("views/panels.py").run()
    assert button(at, "求解").disabled
    assert "只读" in texts(at)
    at.switch_page("views/import_data.py").run()
    assert at.file_uploader[0].disabled


# ---------------------------------------------------------------- the expert link (URL tampering)

def _published_two_experts():
    rid = svc_rounds.ensure_demo_round()
    p = svc_panels.plan_stage(rid, "初审评估", time_limit=20)
    svc_panels.publish(rid, "初审评估")
    load = p.panels.groupby("expert_id")["application_id"].apply(set)
    a, b = load.index[0], next(e for e in load.index[1:] if load[e] != load[load.index[0]])
    return rid, p.panels, a, b, load


def test_expert_link_shows_only_own_assignments_even_when_the_url_is_tampered(appdata):
    rid, panels, a, b, load = _published_two_experts()
    tok, _ = auth.issue_token(a, days=7, round_id=rid)
    for extra in ({}, {"expert_id": b}, {"expert": b, "expert_id": b, "page": "panels"}):
        at = start(token=tok, **extra)
        t = texts(at)
        shown = frames(at)[0]
        assert set(shown["application_id"]) == load[a]
        assert not (load[b] - load[a]) & set(shown["application_id"])
        assert a in t and b not in t
        names = dict(zip(panels.expert_id, panels.expert_name))
        assert names[b] not in t
        # nothing about other experts or any scores
        assert not any(c in shown.columns for c in ("expert_id", "expert_name", "score"))
        assert len(at.dataframe) == 1
        assert not [x for x in at.title if x.value == "轮次 Round"]       # no staff pages


def test_expert_link_invalid_or_expired(appdata):
    at = start(token="forged-token")
    assert "链接无效或已过期" in texts(at)
    assert len(at.dataframe) == 0
    import sqlite3
    tok, _ = auth.issue_token("ZJ0001", days=1)
    con = sqlite3.connect(appdata / "auth.sqlite")
    con.execute("UPDATE expert_tokens SET expires='2000-01-01T00:00:00+00:00'")
    con.commit()
    at = start(token=tok)
    assert "链接无效或已过期" in texts(at)


def test_expert_can_download_and_upload_own_sheet(appdata):
    rid, panels, a, b, load = _published_two_experts()
    tok, _ = auth.issue_token(a, days=7, round_id=rid)
    at = start(token=tok)
    assert any("评分表" in d.label for d in at.get("download_button"))
    # fill the expert's own sheet and upload it
    from openpyxl import load_workbook
    wb = load_workbook(io.BytesIO(svc_expert_view.expert_score_sheet(rid, a, "初审评估")))
    ws = wb["评分表"]
    crit = svc_rounds.policy_for(rid).rubric.criteria
    for r in range(3, 3 + len(load[a])):
        for k, c in enumerate(crit):
            ws.cell(r, 4 + k, c.max * 0.8)
    buf = io.BytesIO()
    wb.save(buf)
    at.file_uploader[0].set_value(("mine.xlsx", buf.getvalue(), "application/octet-stream")).run()
    button(at, "提交评分").click().run()
    assert "已提交" in texts(at)
    sc = svc_scores.scores(rid)
    mine = sc[(sc.panel == "初审评估")]
    assert set(mine["expert_id"]) == {a}


def test_the_checkout_launcher_runs_the_packaged_app(appdata):
    """`streamlit run app.py` in a source checkout is the packaged app (reviewer/app/ui/main.py)."""
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "轮次 Round"
    at.switch_page(str(MAIN.parent / "views" / "ranking.py")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "排名 Ranking"


def test_accounts_page_for_admins_only(appdata, monkeypatch):
    monkeypatch.delenv(auth.DEMO_ENV)
    auth.add_user("boss", "admin-pass-123", role="admin")
    auth.add_user("li", "secret-pass-1", role="analyst")
    at = _signed_in(start(), "li", "secret-pass-1")
    assert at.title[0].value == "轮次 Round"
    try:
        at.switch_page("views/accounts.py").run()
    except Exception:  # noqa: BLE001 - not a page of the analyst's navigation at all
        pass
    assert not [t for t in at.text_input if t.label == "初始密码"]      # no account form for an analyst
    at = _signed_in(start(), "boss", "admin-pass-123")
    at.switch_page("views/accounts.py").run()
    assert not at.exception, [e.value for e in at.exception]
    [t for t in at.text_input if t.label == "用户名"][0].input("wang")
    [t for t in at.text_input if t.label == "显示名"][0].input("王工作")
    [t for t in at.text_input if t.label == "初始密码"][0].input("wang-pass-123")
    [t for t in at.text_input if t.label == "再次输入"][0].input("wang-pass-123")
    button(at, "添加").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert auth.verify("wang", "wang-pass-123").role == "staff"
    assert "已添加账户 wang" in texts(at)
