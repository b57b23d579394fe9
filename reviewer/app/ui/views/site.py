import datetime as dt

import streamlit as st

from reviewer.app import site as svc_site
from reviewer.app.ui.common import T, can_edit, editor_name, flash, guard, header, lang, read_only_note, round_id, table

header("site", "现场考察：若干考察组按路线在工作日走访各考察点（每组对所到每个考察点都是合规的专家组），专家人·天与行程最少；"
               "考察组 × 日期日程、14个设区市路线示意图、每组行程与每位专家日程；可锁定考察点或考察组的日期后重新规划；"
               "发布即发布该方案的专家组与路线。与命令 `reviewer site-plan --round` 相同。",
       "Site inspection: a few visiting teams travel routes over working days (each team a valid panel for every site "
       "it visits), fewest expert-days and travel; a team x day timeline, a schematic map of the 14 cities with the "
       "routes, per-team itineraries and per-expert days; lock a site's or a team's dates and re-plan; publishing "
       "publishes the plan's panels and routes. The same run as `reviewer site-plan --round`.")
rid = round_id()
stage = guard(svc_site.stage, rid)
if not stage:
    st.info(T("本轮政策未设现场考察阶段。", "The round's policy has no site-inspection stage."))
    st.stop()
runs = guard(svc_site.runs, rid)
if runs is None:
    st.stop()
locks = st.session_state.setdefault("site_locks", {})   # application_id -> YYYY-MM-DD, for the next plan

# ---------------------------------------------------------------- stored inputs
stored = guard(svc_site.inputs_overview, rid) or {"overview": None, "tables": {}}
n_kinds = 0 if stored["overview"] is None else len(stored["overview"])
with st.expander(T(f"现场考察输入（已存 {n_kinds} 类）：专家不可用日期、考察点、专家出行限制、节假日",
                   f"Site inputs ({n_kinds} kinds stored): unavailable dates, sites, travel limits, holidays"),
                 expanded=False):
    st.caption(T("上传后经校验存入本轮（任一行有误则整批不存，并指出文件、行、列、值与应填内容）；同类再次上传即替换（记入审计日志）。"
                 "规划时使用已存的输入；模板：reviewer site-templates。",
                 "Uploaded files are checked and stored for the round (any bad row refuses the upload, naming file, "
                 "row, column, value and what was expected); uploading a kind again replaces it (audited). Planning "
                 "uses what is stored; templates: reviewer site-templates."))
    up_cols = st.columns(4)
    picked = {}
    for col, (kind, (zh, _)) in zip(up_cols, svc_site.INPUT_KINDS.items()):
        f = col.file_uploader(T(zh, kind), type=["xlsx", "csv"], key=f"site_in_{kind}")
        if f is not None:
            picked[kind] = (f.name, f.getvalue())
    in_reason = st.text_input(T("说明（记入审计日志，可空）", "Note (audit log, optional)"), key="site_in_reason")
    if st.button(T("校验并存入", "Check and store"), disabled=not can_edit() or not picked, key="site_in_go"):
        done = guard(svc_site.import_inputs, rid, picked, user=editor_name(), reason=in_reason)
        if done:
            flash("；".join(f"{x['kind_zh']} {x['file_name']}：{x['rows']} 条" + (
                f"（替换：新增 {x['added']}、删除 {x['removed']}、变更 {x['changed']}）" if x["replaces"] else "")
                for x in done))
            st.rerun()
    if n_kinds:
        table(stored["overview"], ["kind_zh", "file_name", "rows", "created_by", "created_at", "sha256"], height=180)
        tabs = st.tabs([svc_site.INPUT_KINDS[k][0] for k in stored["tables"]])
        for tab, (kind, frame) in zip(tabs, stored["tables"].items()):
            with tab:
                table(frame, list(frame.columns), height=240)

# ---------------------------------------------------------------- plan
with st.container(border=True):
    read_only_note()
    first, last = svc_site.default_window(rid)
    c = st.columns([1, 1, 1, 1, 1])
    work = c[4].number_input(T("求解工作量上限", "Work limit"), min_value=0.5, max_value=600.0, step=1.0,
                             value=float(svc_site.work_limit(rid)), key="site_work",
                             help=T("CP-SAT 确定性工作量（约等于单核秒数），结果不随机器快慢变化。",
                                    "CP-SAT deterministic work units (about seconds on one core); the result does not "
                                    "depend on the machine's speed."))
    start = c[0].date_input(T("考察窗口起", "Window from"), value=first, key="site_start")
    end = c[1].date_input(T("考察窗口止", "Window to"), value=last, key="site_end")
    seed = c[2].number_input(T("随机种子", "Seed"), min_value=0, max_value=2**31 - 1, step=1, value=0, key="site_seed")
    draw = c[3].checkbox(T("随机抽取（概率上限）", "Random draw (capped)"), key="site_draw",
                         help=T("每位专家以政策的单席位概率上限成为各考察组候选，任何席位的概率都不超过该上限。",
                                "Each expert is a candidate of each team with the policy's per-seat cap, so no "
                                "seat's probability exceeds it."))
    if locks:
        st.caption(T("下次规划的锁定：", "Locked for the next plan: ") + "；".join(f"{a} → {d}" for a, d in sorted(locks.items())))
    b = st.columns([1, 1, 3])
    go = b[0].button(T("规划", "Plan") if runs.empty else T("重新规划", "Re-plan"), type="primary",
                     disabled=not can_edit(), key="site_plan")
    if locks and b[1].button(T("清除锁定", "Clear locks"), key="site_clear"):
        st.session_state["site_locks"] = {}
        st.rerun()
    if go:
        with st.spinner(T("正在规划考察路线与考察组……", "Planning routes and teams…")):
            run_id = guard(svc_site.plan, rid, start, end, seed=int(seed), randomize=bool(draw),
                           locks=sorted(locks.items()), work_limit=float(work), user=editor_name())
        if run_id is not None:
            st.session_state["site_run"] = run_id
            flash(T(f"已记录现场考察方案 run #{run_id}", f"Site plan recorded: run #{run_id}"))
            st.rerun()

if runs.empty:
    st.info(T("本轮尚无现场考察方案：选择考察窗口后点击“规划”。", "No site plan yet: choose the window and Plan."))
    st.stop()
table(runs, svc_site.RUN_COLUMNS, height=180,
      config={"run_id": st.column_config.Column(T("运行", "Run")), "teams": st.column_config.Column(T("考察组", "Teams")),
              "sites": st.column_config.Column(T("考察点", "Sites")), "window": st.column_config.Column(T("窗口", "Window")),
              "randomize": st.column_config.CheckboxColumn(T("随机抽取", "Draw")),
              "locks": st.column_config.Column(T("锁定", "Locks")),
              "published": st.column_config.CheckboxColumn(T("已发布", "Published"))})
ids = runs["run_id"].tolist()
chosen = st.session_state.get("site_run")
run_id = st.selectbox(T("查看方案", "Plan to show"), ids, index=ids.index(chosen) if chosen in ids else 0,
                      format_func=lambda i: f"#{i}" + (T("（已发布）", " (published)")
                                                       if bool(runs.loc[runs['run_id'] == i, 'published'].iloc[0]) else ""))
view = guard(svc_site.load, rid, int(run_id))
if view is None:
    st.stop()
if view["plan"] is None:
    st.error(T(f"run #{run_id} 没有可行方案（{view['status']}）。原因：", f"Run #{run_id} found no plan ({view['status']}). Why:"))
    st.markdown("\n".join(f"- [{r[0]}] {r[3]} / {r[4]}" for r in view["summary"].get("reasons", [])))
    st.stop()

m = view["metrics"]
k = st.columns(5)
k[0].metric(T("考察组", "Teams"), m["teams"])
k[1].metric(T("考察点", "Sites"), m["sites"])
k[2].metric(T("专家人数", "Distinct experts"), m["distinct_experts"])
k[3].metric(T("专家人·天", "Expert-days"), m["expert_days"], help=T(f"下界 {m['expert_days_lower_bound']}",
                                                                  f"lower bound {m['expert_days_lower_bound']}"))
k[4].metric(T("行程（小时）", "Travel (h)"), m["travel_hours"])
checked = m["hard_rule_violations"] == 0 and m["day_rule_violations"] == 0
(st.success if checked else st.error)(
    T("独立检查：每个考察点的专家组满足全部硬性规则，专家同日不分身、不在不可用日期出行、不超过连续出行天数。",
      "Independent checker: every site's panel keeps every hard rule; no expert in two places a day, on an "
      "unavailable date, or over the consecutive-days limit.") if checked else
    T(f"独立检查发现 {m['hard_rule_violations']} 项专家组问题、{m['day_rule_violations']} 项日程问题。",
      f"The checker found {m['hard_rule_violations']} panel and {m['day_rule_violations']} day problem(s)."))

it = view["itinerary"]
tab_time, tab_map, tab_team, tab_expert = st.tabs([T("日程", "Timeline"), T("路线图", "Map"), T("各组行程", "Teams"),
                                                   T("专家日程", "Experts")])
with tab_time:
    timeline = svc_site.timeline_chart(it, lang())
    st.altair_chart(timeline, width="stretch", height=int(timeline.height) + 90)
with tab_map:
    st.altair_chart(svc_site.route_map(view["plan"], lang()))
with tab_team:
    table(it, ["team", "date", "time", "end_time", "city", "application_id", "application_name", "address", "contact",
               "travel_leg", "chair", "members"], height=380)
with tab_expert:
    table(view["experts"], ["expert_id", "expert_name", "category", "expert_city", "team", "date", "time", "city",
                            "application_id", "role_zh", "seat_zh"], height=380)

# ---------------------------------------------------------------- locks and publish
with st.container(border=True):
    st.markdown(T("**锁定日期**（用于下次规划）", "**Lock dates** (for the next plan)"))
    c = st.columns([2, 1, 1, 1])
    site = c[0].selectbox(T("考察点", "Site"), it["application_id"].tolist(), key="site_lock_site")
    default_day = dt.date.fromisoformat(it.loc[it["application_id"] == site, "date"].iloc[0])
    day = c[1].date_input(T("日期", "Day"), value=default_day, key="site_lock_day")
    if c[1].button(T("锁定考察点日期", "Lock the site's day"), disabled=not can_edit(), key="site_lock_one"):
        locks[site] = day.isoformat()
        st.rerun()
    team = c[2].selectbox(T("考察组", "Team"), sorted(set(it["team"])), key="site_lock_team")
    if c[3].button(T("锁定该组全部日期", "Lock the team's dates"), disabled=not can_edit(), key="site_lock_team_btn"):
        for a, d in svc_site.team_locks(view, int(team)):
            locks[a] = d
        st.rerun()

with st.container(border=True):
    if view["published"]:
        st.success(T(f"已发布：本轮现场考察按 run #{run_id} 的专家组与路线执行。",
                     f"Published: the site stage follows run #{run_id}'s panels and routes."))
    else:
        reason = st.text_input(T("发布理由（记入审计日志）", "Reason for publishing (audit log)"), key="site_reason")
        stale_ok = st.text_input(T("如方案已过期仍要发布，请说明理由", "If the plan is out of date, why publish it anyway"),
                                 key="site_stale")
        if st.button(T("发布现场考察方案", "Publish the site plan"), type="primary", disabled=not can_edit(),
                     key="site_publish"):
            if guard(svc_site.publish, rid, int(run_id), user=editor_name(), reason=reason, confirm_stale=stale_ok):
                flash(T(f"已发布现场考察方案 run #{run_id}（专家组与路线）", f"Published run #{run_id} (panels and routes)"))
                st.rerun()
