"""制造业创新中心试点 专家评审 — the staff app (`reviewer app`, or `streamlit run app.py` in a checkout).

A thin view: the pages in views/ call reviewer.app's service modules (and through them reviewer/ and
solver/). This file only does sign-in, the expert link, the sidebar (round, language) and navigation.

Access (issue 13): every run ends in `st.navigation` with only the pages this visitor may open —
the expert page for a valid personal link, the sign-in page for nobody, the staff pages for a signed-in
user. The page files are in `views/`, not in a folder named `pages/` beside this script, so Streamlit's
automatic multipage navigation never lists or serves them; every staff view also checks the signed-in
user itself (`common.header`). The session id lives only in this browser's Streamlit session, never in
the URL: a copied address, a refresh or a new tab signs in again.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from reviewer.app import auth
from reviewer.app import rounds
from reviewer.app.text import page_title
from reviewer.app.ui import chart_preload, page_style
from reviewer.app.ui.common import T, current_user, role_label, show_error, warm_up
from reviewer.errors import UserError

VIEWS = Path(__file__).resolve().parent / "views"
# URL parameters the app understands; everything else (an old ?sid=..., expert_id=...) is dropped
KNOWN_PARAMS = ("lang", "token")


def page(name: str, key: str, **kw) -> st.Page:
    return st.Page(str(VIEWS / f"{name}.py"), title=page_title(key), **kw)


def _page_not_found(ctx=None) -> None:
    """Streamlit answers an address that is no page of the navigation with an English "Page not found"
    dialog (streamlit.commands.navigation.send_page_not_found) and then runs the default page. The app
    notes it instead and says so in Chinese; signed out, the sign-in page is the answer."""
    st.session_state["page_not_found"] = True


try:   # a Streamlit without this hook keeps its own dialog; nothing else depends on it
    import streamlit.commands.navigation as _st_navigation
    if hasattr(_st_navigation, "send_page_not_found"):
        _st_navigation.send_page_not_found = _page_not_found
except ImportError:  # pragma: no cover
    pass


def client_address() -> str:
    """The browser's address as the server sees it (for the per-client wrong-password limit)."""
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - not available outside a browser session
        return ""
    return ip if isinstance(ip, str) else ""


st.set_page_config(page_title="制造业创新中心试点 专家评审", layout="wide")
warm = warm_up()   # the page services, Altair and the Styler in the background while staff sign in (once per server)
page_style.inject()     # Chinese file uploader, wrapped static tables (every page, the expert's too)

qp = st.query_params
for k in [k for k in qp.keys() if k not in KNOWN_PARAMS]:
    del qp[k]
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
    for k in ("user", "sid"):
        st.session_state.pop(k, None)
    warm.join()   # no page imports a module the warm-up may be importing (a concurrent import cycle can fail)
    st.navigation([page("expert", "expert")], position="hidden").run()
    st.stop()
st.session_state.pop("expert_token", None)


# ---------------------------------------------------------------- staff sign-in
def sign_in_form() -> None:
    st.title("制造业创新中心试点 专家评审系统")
    st.caption("MIC pilot expert review · 广西壮族自治区工业和信息化厅 科技处")
    why = st.session_state.pop("signed_out_why", None)
    if why:
        st.warning(why)
    if not auth.has_users():
        st.warning(T("尚未创建任何账户，系统不能登录。请管理员在服务器上运行一次以下命令创建第一个管理员账户"
                     "（会提示输入两次密码）：", "No account exists yet, so nobody can sign in. An administrator "
                     "creates the first admin account once, on the server (the password is asked twice):"))
        st.code("reviewer user add 用户名 --role admin", language="bash")
        st.caption(T("仅用于试用：`reviewer app --demo` 在没有账户的数据目录上以演示模式启动（无需登录）。",
                     "For a trial only: `reviewer app --demo` starts demo mode (no sign-in) on a home without accounts."))
        return
    with st.form("login"):
        name = st.text_input(T("用户名", "User name"))
        pw = st.text_input(T("密码", "Password"), type="password")
        ok = st.form_submit_button(T("登录", "Sign in"), type="primary")
    if ok:
        try:
            u = auth.sign_in(name, pw, client=client_address())
        except UserError as e:
            show_error(e)
        else:
            st.session_state["sid"] = auth.start_session(u)
            st.rerun()
    st.caption(T("专家请使用通知中的个人链接访问。账户由管理员创建（管理员页面或命令 `reviewer user add`）。",
                 "Experts: use the personal link from your notice. Accounts are made by an admin "
                 "(the Accounts page or `reviewer user add`)."))


user = current_user()
if user is None:
    st.session_state.pop("user", None)
    st.session_state.pop("page_not_found", None)
    st.navigation([st.Page(sign_in_form, title=T("登录", "Sign in"), url_path="signin")], position="hidden").run()
    st.session_state.pop("page_not_found", None)
    st.stop()
st.session_state["user"] = user

# the language is kept in the URL (it reveals nothing); the session never is
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
    chart_preload.preload_once(st, st.session_state)   # the chart code, while staff read their first page
    if auth.demo_mode():
        st.caption(T("演示模式（`reviewer app --demo`）：无需登录。", "Demo mode (`reviewer app --demo`): no sign-in."))
    else:
        c = st.columns(2)
        if c[0].button(T("退出登录", "Sign out")):
            auth.end_session(st.session_state.pop("sid", None))
            st.session_state.pop("user", None)
            st.rerun()
        if c[1].button(T("全部退出", "Sign out everywhere"), help=T("结束本账户在所有浏览器上的登录。",
                                                                 "End this account's sessions in every browser.")):
            auth.end_all_sessions(user.username)
            st.session_state.pop("sid", None)
            st.session_state.pop("user", None)
            st.rerun()

pages = {
    T("准备", "Prepare"): [
        page("round", "round", default=True),
        page("import_data", "import", url_path="import"),
        page("screening", "screening", url_path="screening"),
        page("experts", "experts", url_path="experts"),
        page("pool", "pool", url_path="pool"),   # the expert pool across rounds (issue 16 item 6)
    ],
    T("评审", "Review"): [
        page("panels", "panels", url_path="panels"),
        page("site", "site", url_path="site"),   # 现场考察 routes and teams (issue 15)
        page("packs", "packs", url_path="packs"),
        page("responses", "responses", url_path="responses"),
        page("notify", "notify", url_path="notify"),   # the outbox: invitations, notices, reminders (issue 16)
        page("scores", "scores", url_path="scores"),
        page("reminders", "reminders", url_path="reminders"),
        page("stages", "stages", url_path="stages"),         # issue 17: advancement between stages
        page("defence", "defence", url_path="defence"),      # the 认定评审 答辩 order, slots and notices
        page("ranking", "ranking", url_path="ranking"),
        page("registers", "registers", url_path="registers"),  # centre / technology centre registers, ledger
        page("documents", "documents", url_path="documents"),
        page("analysis", "analysis", url_path="analysis"),   # issue 18: analysts' tools (read-only)
        page("draws", "draws", url_path="draws"),
    ],
    T("考核", "Evaluation"): [
        page("evaluation", "evaluation", url_path="evaluation"),
    ],
}
if user.role == "admin":    # the accounts page exists for admins only
    pages[T("管理", "Admin")] = [st.Page(str(VIEWS / "accounts.py"), title=T("账户 Accounts", "Accounts"),
                                         url_path="accounts")]
# every page in view: with the collapsed default Streamlit hides pages after the tenth behind "View more"
st.session_state.pop("page_not_found", None)
chosen = st.navigation(pages, expanded=True)
if st.session_state.pop("page_not_found", False):
    st.warning(T("页面不存在：您打开的地址不是本系统的页面，已转到首页（轮次）。请从左侧菜单选择页面。",
                 "Page not found: that address is not a page of this app; the first page (Round) is shown. "
                 "Choose a page from the menu on the left."))
warm.join()   # usually long done (sign-in takes longer); see the expert page above
chosen.run()
