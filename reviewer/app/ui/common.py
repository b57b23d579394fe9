"""Shared view helpers of the app pages (Streamlit only; every computation is in reviewer.app's modules)."""
from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from typing import Iterable
from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from reviewer.app import auth
from reviewer.app import rounds
from reviewer.app.auth import ROLE_ZH, User
from reviewer.app.base import memo, user_text
from reviewer.app.text import page_title
from reviewer.app.ui import formatting as fmt
from reviewer.errors import UserError

DEMO_USER = User("demo", "staff", "演示用户 demo")
LOG = logging.getLogger("reviewer.app")
_WARM_LOCK = threading.Lock()
_WARM: list[threading.Thread] = []


def warm_up() -> threading.Thread:
    """Once per server process, in the background while staff sign in: import the page services and the
    table and chart renderers, build one chart and one wrapped table, then freeze what is loaded (`_warm`).
    Otherwise the first page with a chart or a wrapped table pays the imports in the staff member's page
    switch. A page that needs a module before the thread is done waits on Python's import lock for the
    rest of it."""
    with _WARM_LOCK:
        if not _WARM:
            t = threading.Thread(target=_warm, name="reviewer-app-warm-up", daemon=True)
            _WARM.append(t)
            t.start()
        return _WARM[0]


# the service modules behind the pages (reviewer.app's), imported by the warm-up
_PAGE_SERVICES = ("analysis", "charts", "conflicts", "documents", "draws", "evaluation", "expert_view", "imports",
                  "notify", "overview", "packs", "panels", "pool", "ranking", "registers", "reminders",
                  "responses", "round_settings", "rounds", "scores", "screening", "signoff", "site", "stages")


def _warm() -> None:
    import gc
    import importlib

    try:
        for name in _PAGE_SERVICES:
            importlib.import_module(f"reviewer.app.{name}")
        from reviewer.app import charts
        charts.screening_outcomes(pd.DataFrame({"outcome_zh": ["通过"]}), "zh").to_dict()
        # the Styler of `text_table`: its module and its Jinja templates are compiled on first use
        fmt.styled(fmt.present(pd.DataFrame({"reason": ["一"], "n": [1]}), None, "zh", wrap=False)).to_html()
    except Exception:  # noqa: BLE001 - only a head start; the page imports and reports it itself
        LOG.debug("warm-up failed", exc_info=True)
    # Streamlit runs a full garbage collection after every script run, holding the GIL while the
    # run's last message waits to be sent: with ortools, pandas and altair loaded that is ~0.15 s added
    # to every click. The modules and their objects live as long as the server, so they are moved out
    # of the collector's sight once; the collection then only walks what later runs allocate.
    gc.collect()
    gc.freeze()


def lang() -> str:
    return st.session_state.get("lang", "zh")


def T(zh: str, en: str) -> str:
    return zh if lang() == "zh" else en


def current_user() -> User | None:
    """Who is signed in on this browser session: in demo mode (`reviewer app --demo` on a home without
    accounts) the demo user, else the user of the session id kept in this Streamlit session (never
    read from the URL), else None. A session that ended (idle, too old, signed out everywhere, account
    deactivated) is dropped with a note for the sign-in page.
    The entry script calls it once per run and keeps the answer as st.session_state["user"]."""
    if auth.demo_mode():
        return DEMO_USER
    sid = st.session_state.get("sid")
    if not sid:
        return None
    u = auth.session_user(sid)
    if u is None:
        st.session_state.pop("sid", None)
        st.session_state["signed_out_why"] = T("登录已过期或已退出，请重新登录。",
                                               "Your session has ended; please sign in again.")
    return u


def user() -> User | None:
    """The signed-in user of this run (see `current_user`)."""
    return st.session_state.get("user")


def editor_name() -> str:
    """The signed-in user's name for an act that changes the round; an analyst (or nobody) is stopped
    here with a message, whatever the browser sent (a disabled button is not a permission)."""
    u = user()
    if u is None or not u.can_edit:
        st.error(T("您的账户只读，不能修改本轮数据。", "Your account is read-only: changes are not allowed."))
        st.stop()
    return u.username


def require_user() -> User:
    """The signed-in staff user; anyone else sees nothing of this page."""
    u = user()
    if u is None or st.session_state.get("expert_token") is not None:
        st.error(T("请先登录。", "Please sign in."))
        st.stop()
    return u


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
    """Every staff page starts here: nothing is shown unless a staff user is signed in."""
    require_user()
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
          config: dict | None = None, key: str | None = None, width_px: int = fmt.MAIN_WIDTH) -> None:
    """A table that reads well at 1440 px (`formatting.present`): chosen columns with Chinese labels, codes in
    words, numbers rounded per column kind and right-aligned, missing values as "—", times in Beijing time,
    widths fitted to `width_px` (pass the column's width for a table inside st.columns) with long text wrapped."""
    cols = None if cols is None else tuple(cols)
    # formatting a table (values in words, widths, wrapped text) costs ~40 ms for 400 rows, on every rerun:
    # kept by the table's content (its fingerprint), so a changed table is formatted again, never stale
    shown, data = memo(("table", _fingerprint(df), cols, lang(), width_px),
                       lambda: (lambda sh: (sh, arrow_safe(sh.data)))(fmt.present(df, cols, lang(), width_px)))
    cc = {}
    for c in shown.data.columns:
        lab, kind, w = shown.labels[c], shown.kinds[c], shown.widths.get(c)
        if kind == "int":
            cc[c] = st.column_config.NumberColumn(lab, format="%d", width=w)
        elif kind in ("float", "prob"):
            cc[c] = st.column_config.NumberColumn(lab, format="%.3f" if kind == "prob" else "%.2f", width=w)
        elif kind == "money":
            cc[c] = st.column_config.NumberColumn(lab, format="localized", width=w)
        else:
            cc[c] = st.column_config.TextColumn(lab, width=w)
    for c, given in (config or {}).items():
        if isinstance(given, dict) and c in cc:
            # the page's label (and its own type and format, if it gives one) over the fitted column;
            # named widths become the fitted width, so the table stays within its place
            given = {**cc[c], **{k: v for k, v in given.items() if v is not None and v != {}}}
            if given.get("width") in ("small", "medium", "large") or given.get("width") is None:
                given["width"] = cc[c].get("width")
        cc[c] = given
    st.dataframe(data, hide_index=True, column_config=cc, height=height, key=key, width="stretch",
                 row_height=shown.row_height, placeholder=fmt.MISSING)


def text_table(df: pd.DataFrame, cols: Iterable[str] | None = None, height: int | str = "content",
               labels: dict[str, str] | None = None) -> None:
    """A table whose point is long free text (reasons, evidence, decisions, opinions), read whole at 1440 px
    without scrolling sideways: the values and labels of `table` (`formatting.present`) in a static HTML table
    (st.table) that the browser wraps. The data grid of `table` draws on a canvas, which neither wraps long
    text reliably nor lets the browser find or copy it; it stays for tables of short values, where sorting
    helps. `height` in px makes a long table scroll down inside its box (with the header kept); `labels`
    gives a column the page's own header."""
    if df.empty:     # st.table would draw its headers over the English word "empty"
        st.caption(T("（暂无记录）", "(none)"))
        return
    shown = fmt.present(df, cols, lang(), wrap=False)
    shown.labels.update({c: v for c, v in (labels or {}).items() if c in shown.labels})
    st.table(fmt.styled(shown, fmt.MAIN_WIDTH), hide_index=True, height=height, border="horizontal")


def arrow_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Columns that mix text and numbers (a summary's "value") shown as text: otherwise Streamlit's Arrow
    conversion fails, logs a traceback and retries the whole table on every rerun (slow and noisy)."""
    mixed = [c for c in df.columns if pd.api.types.is_object_dtype(df[c])
             and len({type(v) for v in df[c] if v is not None and v == v}) > 1]
    if not mixed:
        return df
    out = df.copy()
    for c in mixed:
        out[c] = [("" if v is None or v != v else str(v)) for v in out[c]]
    return out


def show_error(e: BaseException, uploads: dict[str, str] | None = None) -> None:
    """The one way the app shows an error: Chinese first, the uploaded files by their upload names,
    never a server path or an exception class. A UserError is the user's to fix; anything else is
    logged on the server with a reference number that the message shows."""
    if isinstance(e, UserError):
        st.error(T("错误：", "Error: ") + user_text(str(e), uploads))
        return
    ref = secrets.token_hex(4)
    LOG.error("internal error %s", ref, exc_info=e)
    st.error(T(f"系统内部错误，操作未完成（编号 {ref}）。请联系管理员。",
               f"Internal error, nothing was changed (reference {ref}); please tell the administrator."))


def guard(fn, *args, **kw):
    """Run a service call; a mistake becomes one clear message (`show_error`), never a traceback.
    Returns None after an error, else the result (True when the call returns None)."""
    try:
        out = fn(*args, **kw)
        return True if out is None else out
    except Exception as e:  # noqa: BLE001 - shown by show_error, logged when internal
        show_error(e)
        return None


def app_address() -> str:
    """The app's address for expert links (`auth.app_url`: $REVIEWER_APP_URL, the policy's [access]
    app_url, else the address this staff browser reached the app by; never a guessed localhost)."""
    try:
        u = urlsplit(str(st.context.url or ""))
        seen = f"{u.scheme}://{u.netloc}" if u.scheme and u.netloc else ""
    except Exception:  # noqa: BLE001 - no browser context (tests)
        seen = ""
    return auth.app_url(seen)


def role_label(u: User) -> str:
    return f"{u.display_name or u.username} · {ROLE_ZH.get(u.role, u.role)}"


def _fingerprint(x):
    """A hashable stand-in for a chart function's or a table's argument: a table by its content, row order
    included (a table sorted otherwise is another table)."""
    if isinstance(x, (pd.DataFrame, pd.Series)):
        try:
            h = hashlib.blake2b(pd.util.hash_pandas_object(x, index=True).to_numpy().tobytes(), digest_size=16).digest()
        except TypeError:   # unhashable cells (lists): their text
            h = hash(x.to_json(force_ascii=False))
        cols = tuple(map(str, x.columns)) if isinstance(x, pd.DataFrame) else (str(x.name),)
        return (type(x).__name__, cols, tuple(map(str, x.dtypes)) if isinstance(x, pd.DataFrame) else str(x.dtype),
                len(x), h)
    if isinstance(x, (list, tuple)):
        return tuple(_fingerprint(v) for v in x)
    if isinstance(x, dict):
        return tuple(sorted((str(k), _fingerprint(v)) for k, v in x.items()))
    return repr(x)


def chart(slot, make, *args, width: str | None = None, height: int | None = None) -> None:
    """Show the Altair chart `make(*args)` in `slot` (st, a column …). Its Vega-Lite spec is built once
    per content of the arguments (the memo's key is their fingerprint, so new data makes a new chart and
    a cached one is never stale): building an Altair chart costs ~0.1 s, and a page such as 排名 draws a
    dozen on every rerun. Not validated against the Vega-Lite schema here (a third of the time, the same
    spec): the tests validate every chart function's spec (test_app_service, test_app_finish)."""
    kw = {k: v for k, v in (("width", width), ("height", height)) if v is not None}
    slot.vega_lite_chart(spec=chart_spec(make, *args), **kw)


def chart_spec(make, *args) -> dict:
    """The Vega-Lite spec of `make(*args)`, kept by the arguments' content (see `chart`)."""
    return memo(("chart", make.__module__, make.__qualname__, *map(_fingerprint, args)),
                lambda: make(*args).to_dict(validate=False))


def prefetch_after_import(rid: str, lng: str):
    """After an import, in the background: what 形式审查 and 专家与回避 show first (screening, conflicts,
    their tables and charts), so that opening them right after is quick (each ~0.1–0.3 s on the demo round
    otherwise). Every result is memoised under the store's version and the inputs, as the pages ask for
    it, so nothing made here can be stale; a page that asks meanwhile waits for it (base.memo)."""
    from reviewer.app import charts
    from reviewer.app import conflicts as svc_conflicts
    from reviewer.app import screening as svc_screening
    from reviewer.app.base import prefetch
    return prefetch("import", [
        lambda: chart_spec(charts.screening_outcomes, svc_screening.screening(rid).summary, lng),
        lambda: svc_screening.review_items(rid),
        lambda: chart_spec(charts.pool_by_category, svc_conflicts.pool_tables(rid)[0], lng),
        lambda: chart_spec(charts.pool_by_field, svc_conflicts.pool_tables(rid)[1], lng),
        lambda: chart_spec(charts.conflicts_by_rule, svc_conflicts.conflicts_table(rid), lng),
        lambda: svc_conflicts.conflicts_overview(rid),
    ], delay=0.5)   # after the import page's own run (the report) is over


def prefetch_after_scores(rid: str):
    """After a score import, in the background: the ranking 排名 opens with (the last scored stage, the first
    method) and its other tabs' tables, made while staff read the import report (~1–3 s on the demo round
    otherwise, in the first visit to 排名). Memoised under the store's version, as the page asks for them, so
    nothing made here can be stale; a page that asks meanwhile waits for the job (base.memo)."""
    from reviewer.app import ranking as svc_ranking
    from reviewer.app import scores as svc_scores
    from reviewer.app.base import prefetch

    def stage() -> str:
        return svc_scores.scored_stages(rid)[-1]

    first = next(iter(svc_ranking.RANK_METHODS))
    return prefetch("scores", [
        lambda: svc_ranking.ranking(rid, stage(), first),
        lambda: svc_ranking.compare_methods(rid, stage()),
        lambda: svc_ranking.intervals_long(rid, stage()),
    ], delay=0.5)   # after the score page's own run (the per-file report) is over

