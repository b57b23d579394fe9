"""制造业创新中心试点 专家评审 — the staff app (`reviewer app`, or `streamlit run app.py` in a checkout).

A thin view: the pages in pages/ call reviewer.app's service modules (and through them reviewer/ and
solver/). This file only does sign-in, the expert link, the sidebar (round, language) and navigation.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from reviewer.app import auth
from reviewer.app import rounds
from reviewer.app.text import page_title
from reviewer.app.ui.common import T, current_user, role_label

PAGES = Path(__file__).resolve().parent / "pages"


def page(name: str, key: str, **kw) -> st.Page:
    return st.Page(str(PAGES / f"{name}.py"), title=page_title(key), **kw)


st.set_page_config(page_title="制造业创新中心试点 专家评审", layout="wide")

qp = st.query_params
if "lang_radio" not in st.session_state:
    st.session_state["lang_radio"] = "English" if qp.get("lang") == "en" else "中文"
with st.sidebar:
    st.markdown("### 创新中心试点评审  \nMIC pilot review")
    st.radio("语言 Language", ["中文", "English"], horizontal=True, key="lang_radio")
st.session_state["lang"] = "zh" if st.session_state["lang_radio"] == "中文" else "en"


# ---------------------------------------------------------------- expert personal link
token = qp.get("token")
if token:
    # The expert id comes from the token alone; any other parameter in the URL is ignored.
    st.session_state["expert_token"] = auth.resolve_token(token)
    st.session_state.pop("user", None)
    st.navigation([page("expert", "expert")], position="hidden").run()
    st.stop()
st.session_state.pop("expert_token", None)


# ---------------------------------------------------------------- staff sign-in
def sign_in_form() -> None:
    st.title("制造业创新中心试点 专家评审系统")
    st.caption("MIC pilot expert review · 广西壮族自治区工业和信息化厅 科技处")
    with st.form("login"):
        name = st.text_input(T("用户名", "User name"))
        pw = st.text_input(T("密码", "Password"), type="password")
        ok = st.form_submit_button(T("登录", "Sign in"), type="primary")
    if ok:
        u = auth.verify(name, pw)
        if u is None:
            st.error(T("用户名或密码不正确。", "Wrong user name or password."))
        else:
            st.session_state["sid"] = auth.start_session(u)
            st.rerun()
    st.caption(T("专家请使用通知中的个人链接访问。账户由管理员用命令 `reviewer user add` 创建。",
                 "Experts: use the personal link from your notice. Accounts: `reviewer user add`."))


user = current_user()
if user is None:
    sign_in_form()
    st.stop()
st.session_state["user"] = user

# state kept in the URL survives a browser refresh; the round is kept in the home folder
if st.session_state.get("sid") and qp.get("sid") != st.session_state["sid"]:
    qp["sid"] = st.session_state["sid"]
if qp.get("lang") != st.session_state["lang"]:
    qp["lang"] = st.session_state["lang"]

# ---------------------------------------------------------------- sidebar
with st.sidebar:
    all_rounds = rounds.list_rounds()
    ids = [r.round_id for r in all_rounds]
    if st.session_state.get("round_id") not in ids:
        st.session_state["round_id"] = rounds.last_round()
    rid = st.selectbox(T("评审轮次", "Round"), ids, index=ids.index(st.session_state["round_id"]),
                       format_func=lambda i: next(r.name for r in all_rounds if r.round_id == i))
    if rid != st.session_state["round_id"]:
        st.session_state["round_id"] = rid
        rounds.remember_round(rid)
    st.caption(f"{T('用户', 'User')}: {role_label(user)}")
    if not auth.has_users():
        st.caption(T("尚未创建账户：演示模式，无需登录。用 `reviewer user add` 创建账户后需登录。",
                     "No accounts yet: demo mode, no sign-in. After `reviewer user add`, sign-in is required."))
    elif st.button(T("退出登录", "Sign out")):
        auth.end_session(st.session_state.pop("sid", None))
        st.session_state.pop("user", None)
        qp.pop("sid", None)
        st.rerun()

pages = {
    T("准备", "Prepare"): [
        page("round", "round", default=True),
        page("import_data", "import", url_path="import"),
        page("screening", "screening", url_path="screening"),
        page("experts", "experts", url_path="experts"),
    ],
    T("评审", "Review"): [
        page("panels", "panels", url_path="panels"),
        page("packs", "packs", url_path="packs"),
        page("scores", "scores", url_path="scores"),
        page("ranking", "ranking", url_path="ranking"),
    ],
    T("考核", "Evaluation"): [
        page("evaluation", "evaluation", url_path="evaluation"),
    ],
}
st.navigation(pages).run()
