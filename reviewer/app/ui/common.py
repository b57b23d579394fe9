"""Shared view helpers of the app pages (Streamlit only; every computation is in reviewer.app's modules)."""
from __future__ import annotations

from typing import Iterable

import pandas as pd
import streamlit as st

from reviewer.app import auth
from reviewer.app import rounds
from reviewer.app.auth import ROLE_ZH, User
from reviewer.app.text import COLUMNS, page_title
from reviewer.errors import UserError

DEMO_USER = User("demo", "staff", "演示用户 demo")


def lang() -> str:
    return st.session_state.get("lang", "zh")


def T(zh: str, en: str) -> str:
    return zh if lang() == "zh" else en


def current_user() -> User | None:
    """Who is signed in on this browser session: the demo user while there are no accounts, else the
    user of the session id kept in the session or the URL (so a refresh stays signed in), else None.
    The entry script calls it once per run and keeps the answer as st.session_state["user"]."""
    if not auth.has_users():
        return DEMO_USER
    sid = st.session_state.get("sid") or st.query_params.get("sid")
    u = auth.session_user(sid)
    if u is not None:
        st.session_state["sid"] = sid
    return u


def user() -> User | None:
    """The signed-in user of this run (see `current_user`)."""
    return st.session_state.get("user")


def user_name() -> str:
    return user().username


def can_edit() -> bool:
    u = user()
    return bool(u and u.can_edit)


def round_id() -> str:
    rid = st.session_state.get("round_id")
    if not rid:
        rid = rounds.last_round()
        st.session_state["round_id"] = rid
    return rid


def header(key: str, intro_zh: str = "", intro_en: str = "") -> None:
    st.title(page_title(key))
    info = rounds.round_info(round_id())
    st.caption(f"{T('当前轮次', 'Round')}: **{info.name}** · {T('基准日', 'reference date')} "
               f"{rounds.policy_for(round_id()).as_of_date().isoformat()}"
               + ("" if can_edit() else " · " + T("只读（分析人员）", "read-only (analyst)")))
    if intro_zh:
        st.markdown(T(intro_zh, intro_en))
    msg = st.session_state.pop("flash", None)
    if msg:
        st.success(msg)


def flash(msg: str) -> None:
    """A success message shown after the next rerun."""
    st.session_state["flash"] = msg


def read_only_note() -> None:
    if not can_edit():
        st.info(T("您是分析人员（只读），不能修改本轮数据。", "Analyst role: read-only, changes are disabled."))


def table(df: pd.DataFrame, cols: Iterable[str] | None = None, height: int | str = "auto",
          config: dict | None = None, key: str | None = None) -> None:
    """A table that fits the page: chosen columns, labelled in the current language, no index."""
    cols = [c for c in (cols or df.columns) if c in df.columns]
    cc = {}
    for c in cols:
        label = COLUMNS.get(c, (c, c))[0 if lang() == "zh" else 1]
        if c in ("affinity", "mean_affinity", "score", "ci_low", "ci_high", "low", "high", "deviation",
                 "mean_deviation", "panel_median", "A", "B", "C", "D", "E", "F") or c.startswith(("score_trimmed", "score_calibrated", "score_bayes", "low_", "high_")):
            cc[c] = st.column_config.NumberColumn(label, format="%.2f")
        elif c == "subsidy":
            cc[c] = st.column_config.NumberColumn(label, format="localized")
        elif c in ("reasons", "reason_zh", "reason_en", "evidence", "expected", "message_zh", "message_en",
                   "waiver_reason", "name", "application_name"):
            cc[c] = st.column_config.TextColumn(label, width="large" if c not in ("name", "application_name") else "medium")
        else:
            cc[c] = st.column_config.Column(label)
    cc.update(config or {})
    st.dataframe(df[cols], hide_index=True, column_config=cc, height=height, key=key, width="stretch")


def show_error(e: Exception) -> None:
    st.error(f"{T('错误', 'Error')}: {e}")


def guard(fn, *args, **kw):
    """Run a service call; a user mistake becomes a red message, not a traceback.
    Returns None after an error, else the result (True when the call returns None)."""
    try:
        out = fn(*args, **kw)
        return True if out is None else out
    except UserError as e:
        show_error(e)
        return None


def role_label(u: User) -> str:
    return f"{u.display_name or u.username} · {ROLE_ZH.get(u.role, u.role)}"
